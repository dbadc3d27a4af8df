// The evaluations page: its choices submit the filter form; an evaluation started here is followed live.
(() => {
  for (const select of document.querySelectorAll("[data-autosubmit]")) select.addEventListener("change", () => select.form.submit());
  const start = document.getElementById("start");
  if (!start) return;
  start.addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = Object.fromEntries(new FormData(event.target));
    const body = {generator: form.generator};
    if (form.version) body.version = Number(form.version);
    if (form.dataset_version) body.dataset_version = form.dataset_version;
    if (form.max_items) body.max_items = Number(form.max_items);
    const bar = document.getElementById("start-progress"), message = document.getElementById("start-message");
    const error = document.getElementById("start-error");
    error.textContent = ""; message.textContent = "";
    let job;  // the evaluation's job (the evaluation itself is job.object)
    try { job = await aigc.api("POST", "/api/v1/evaluations/", body); } catch (failure) { error.textContent = failure.message; return; }
    bar.hidden = false;
    aigc.setProgress(bar, {progress: 0, status: "queued"});
    const showState = (data) => {
      if (!data) return;
      aigc.setProgress(bar, data);
      if (data.message) message.textContent = data.message;
    };
    aigc.followJob(job.id, {
      progress: (data) => { aigc.setProgress(bar, {progress: data.progress, status: "running"}); message.textContent = data.message; },
      snapshot: showState,
      status: showState,
      end: (data) => {
        if (!data) return;
        if (data.status === "failed") error.textContent = data.error || data.message;
        if (data.status === "succeeded") setTimeout(() => location.reload(), 800);
      },
    });
  });
})();
