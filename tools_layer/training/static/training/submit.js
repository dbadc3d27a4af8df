// The training form: the recipe's fitting dataset versions and its hyperparameters, then submit.
(() => {
  const {el} = aigc;
  const recipes = JSON.parse(document.getElementById("recipes-data").textContent);
  const versions = JSON.parse(document.getElementById("versions-data").textContent);
  const projects = JSON.parse(document.getElementById("projects-data").textContent);
  const recipeSelect = document.getElementById("recipe");
  const projectSelect = document.getElementById("labeling-project");
  const versionSelect = document.getElementById("dataset-version");
  // Which labelling projects feed which recipes: preferences come from pairs or ratings, texts from the rest.
  const feeds = (recipe, project) => recipe.dataset_kind === "preference"
    ? ["pairwise", "rating"].includes(project.task_type)
    : recipe.dataset_kind === "text" && project.task_type !== "pairwise";

  function showProjects(recipe) {
    const none = projectSelect.options[0];
    const fitting = projects.filter((p) => feeds(recipe, p));
    projectSelect.replaceChildren(none, ...fitting.map((p) => el("option", {value: p.id}, [p.label])));
    document.getElementById("labels-box").hidden = !fitting.length;
    showSource();
  }

  function showSource() {
    const project = projects.find((p) => p.id === projectSelect.value);
    versionSelect.disabled = Boolean(project);
    versionSelect.required = !project;
    document.getElementById("min-rating-label").hidden = !project || project.task_type !== "rating";
  }
  projectSelect.addEventListener("change", showSource);

  function showRecipe() {
    const recipe = recipes.find((r) => r.name === recipeSelect.value);
    const select = document.getElementById("dataset-version");
    const fitting = versions.filter((v) => v.kind === recipe.dataset_kind);
    select.replaceChildren(...fitting.map((v) => el("option", {value: v.id}, [v.label])));
    document.getElementById("base-label").hidden = !recipe.needs_base;
    showProjects(recipe);
    const box = document.getElementById("hyperparameters");
    box.replaceChildren(...recipe.hyperparameters.map((field) => {
      let input;
      if (field.type === "choice") {
        input = el("select", {name: field.name}, field.choices.map((c) => el("option", {value: c}, [c])));
        input.value = field.default;
      } else {
        const attrs = {name: field.name, "data-type": field.type, value: field.default ?? ""};
        if (field.type === "integer" || field.type === "number") {
          attrs.type = "number";
          attrs.step = field.type === "integer" ? "1" : "any";
          if (field.min_value !== null) attrs.min = field.min_value;
          if (field.max_value !== null) attrs.max = field.max_value;
        }
        input = el("input", attrs);
      }
      input.id = `hp-${field.name}`;
      input.dataset.default = field.default;
      return el("label", {title: field.help_text}, [field.name, input, el("small", {class: "muted"}, [field.help_text])]);
    }));
  }
  recipeSelect.addEventListener("change", showRecipe);
  showRecipe();

  document.getElementById("submit").addEventListener("submit", async (event) => {
    event.preventDefault();
    const recipe = recipes.find((r) => r.name === recipeSelect.value);
    const hyperparameters = {};
    for (const field of recipe.hyperparameters) {
      const input = document.getElementById(`hp-${field.name}`);
      if (input.value === String(field.default ?? "")) continue;  // defaults are the server's to fill in
      hyperparameters[field.name] = field.type === "integer" ? parseInt(input.value, 10)
        : field.type === "number" ? parseFloat(input.value)
        : field.type === "choice" && typeof field.default === "number" ? Number(input.value) : input.value;
    }
    const body = {
      recipe: recipe.name, hyperparameters,
      resources: {gpus: parseInt(document.getElementById("gpus").value || "0", 10),
                  min_gpu_memory_mb: parseInt(document.getElementById("min-gpu-memory").value || "0", 10)},
    };
    if (projectSelect.value) {
      body.labeling_project = projectSelect.value;
      const minRating = document.getElementById("min-rating");
      body.label_filter = {only_accepted: document.getElementById("only-accepted").checked,
                           min_rating: minRating.closest("label").hidden || !minRating.value ? null : parseInt(minRating.value, 10)};
    } else {
      body.dataset_version = versionSelect.value;
    }
    const generator = document.getElementById("generator").value.trim();
    if (generator) body.generator = generator;
    const base = document.getElementById("base-generator").value.trim();
    if (recipe.needs_base && base) body.base_generator = base;
    try {
      const run = await aigc.api("POST", "/api/v1/training-jobs/", body);
      location.href = `/training/${run.id}/`;
    } catch (error) { document.getElementById("submit-error").textContent = error.message; }
  });
})();
