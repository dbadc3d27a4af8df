// The labeling projects page: create a project, then go to it.
(() => {
  const create = document.getElementById("create");
  if (!create) return;
  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = Object.fromEntries(new FormData(event.target));
    const list = (text) => text.split(/[,，]/).map((s) => s.trim()).filter(Boolean);
    try {
      const project = await aigc.api("POST", "/api/v1/labeling/projects/", {
        name: form.name, task_type: form.task_type, dataset_version: form.dataset_version || null, labels: list(form.labels),
        overlap: Number(form.overlap), annotators: list(form.annotators), instructions: form.instructions,
      });
      location.href = `/labeling/${project.id}/`;
    } catch (error) { document.getElementById("create-error").textContent = error.message; }
  });
})();
