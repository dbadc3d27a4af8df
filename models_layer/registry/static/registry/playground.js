// The playground: any generator and version, a prompt (or an image count), the answer as it streams.
(() => {
  const {el, _, fill} = aigc;
  const choices = JSON.parse(document.getElementById("generator-choices").textContent);
  const $ = (id) => document.getElementById(id);
  let currentJob = null, followed = null;

  function fillGenerators() {
    const select = $("generator");
    select.replaceChildren(...choices.map((g) => el("option", {value: g.slug}, [`${g.name} (${g.kind})`])));
    if (select.dataset.selected) select.value = select.dataset.selected;
    fillVersions();
  }
  const chosen = () => choices.find((g) => g.slug === $("generator").value);
  function fillVersions() {
    const generator = chosen();
    if (!generator) return;
    $("version").replaceChildren(el("option", {value: ""}, [_("production (default)")]),
      ...generator.versions.map((v) => el("option", {value: v.number}, [`v${v.number} (${v.stage})`])));
    $("text-fields").hidden = generator.kind !== "text";
    $("prompt").required = generator.kind === "text";
    $("image-fields").hidden = generator.kind !== "image";
  }
  $("generator").addEventListener("change", fillVersions);

  function body() {
    const generator = chosen(), data = {};
    if ($("version").value) data.version = Number($("version").value);
    if ($("seed").value !== "") data.seed = Number($("seed").value);
    if (generator.kind === "image") { data.count = Number($("count").value); return data; }
    if ($("chat").checked) data.messages = [{role: "user", content: $("prompt").value}];
    else data.prompt = $("prompt").value;
    data.max_new_tokens = Number($("max_new_tokens").value);
    data.temperature = Number($("temperature").value);
    data.top_p = Number($("top_p").value);
    const stop = $("stop").value.split(",").map((s) => s.trim()).filter(Boolean);
    if (stop.length) data.stop = stop;
    if ($("schema").value.trim()) data.response_format = {type: "json_schema", json_schema: {schema: JSON.parse($("schema").value)}};
    return data;
  }

  async function finish() {
    const job = await aigc.api("GET", `/api/v1/jobs/${currentJob}/`);
    aigc.setStatus($("job-status"), job.status);
    $("go").disabled = false; $("stop-job").disabled = true;
    if (job.status === "failed") $("form-error").textContent = job.error;
    const result = job.result || {};
    if (result.finish_reason === "content_filter") {
      $("form-error").textContent = fill(_("The content filter stopped the answer (policy %(policy)s)."), {policy: result.moderation.policy});
    }
    if (result.images) $("images").replaceChildren(...result.images.map((image) => el("img", {src: image.url, alt: _("generated image")})));
    if (result.text !== undefined) $("answer").textContent = result.text;
    if (result.usage) {
      $("stats").textContent = fill(_("%(tokens)s tokens in %(seconds)s s (%(speed)s tokens/s), %(reason)s, seed %(seed)s"),
        {tokens: result.usage.completion_tokens, seconds: result.seconds, speed: result.tokens_per_second, reason: result.finish_reason, seed: result.seed});
    } else if (result.images) {
      $("stats").textContent = fill(_("%(count)s images in %(seconds)s s, seed %(seed)s"), {count: result.images.length, seconds: result.seconds, seed: result.seed});
    }
  }

  $("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("form-error").textContent = ""; $("answer").textContent = ""; $("images").replaceChildren(); $("stats").textContent = "";
    let job;
    try {
      job = await aigc.api("POST", `/api/v1/generators/${$("generator").value}/generate/?via=playground`, body());
    } catch (error) { $("form-error").textContent = error.message; return; }
    currentJob = job.id;
    $("go").disabled = true; $("stop-job").disabled = false;
    aigc.setStatus($("job-status"), job.status);
    if (followed) followed.close();
    followed = aigc.followJob(job.id, {
      token: (data) => $("answer").append(data.text),
      snapshot: (data) => data && aigc.setStatus($("job-status"), data.status),
      status: (data) => data && aigc.setStatus($("job-status"), data.status),
      end: finish,
    });
  });
  $("stop-job").addEventListener("click", () => currentJob && aigc.api("POST", `/api/v1/jobs/${currentJob}/cancel/`).catch(() => {}));
  fillGenerators();
})();
