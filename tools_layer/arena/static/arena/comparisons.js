// The comparisons pages: start a comparison and follow its job; on a comparison's page, follow the job
// that writes the answers, and promote a version citing the comparison.
(() => {
  const follow = (jobId, bar, message, error) => {
    bar.hidden = false;
    const showState = (data) => {
      if (!data) return;
      aigc.setProgress(bar, data);
      if (data.message) message.textContent = data.message;
    };
    aigc.followJob(jobId, {
      progress: (data) => { aigc.setProgress(bar, {progress: data.progress, status: "running"}); message.textContent = data.message; },
      snapshot: showState,
      status: showState,
      end: (data) => {
        if (!data) return;
        if (data.status === "failed" && error) error.textContent = data.error || data.message;
        if (data.status === "succeeded") setTimeout(() => location.reload(), 800);
      },
    });
  };

  const start = document.getElementById("start-comparison");
  if (start) {
    start.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(start);
      const versions = data.getAll("version").map((value) => {
        const [generator, version] = value.split(":");
        return {generator, version: Number(version)};
      });
      const body = {
        name: data.get("name"),
        versions,
        prompt_source: data.get("prompt_source"),
        max_prompts: Number(data.get("max_prompts")),
        max_new_tokens: Number(data.get("max_new_tokens")),
        overlap: Number(data.get("overlap")),
        annotators: String(data.get("annotators") || "").split(",").map((name) => name.trim()).filter(Boolean),
      };
      if (data.get("dataset_version")) body.dataset_version = data.get("dataset_version");
      const bar = document.getElementById("start-progress"), message = document.getElementById("start-message");
      const error = document.getElementById("start-error");
      error.textContent = ""; message.textContent = "";
      let job;
      try { job = await aigc.api("POST", "/api/v1/comparisons/", body); } catch (failure) { error.textContent = failure.message; return; }
      follow(job.id, bar, message, error);
    });
  }

  const running = document.getElementById("job-progress");
  if (running) follow(running.dataset.job, running, document.getElementById("job-message"), document.getElementById("action-error"));

  document.addEventListener("click", async (event) => {
    const promote = event.target.dataset.promote;
    if (!promote) return;
    const [slug, number] = promote.split("/");
    try {
      await aigc.api("POST", `/api/v1/generators/${slug}/versions/${number}/promote/`, {stage: "production", comparison: event.target.dataset.comparison});
      location.href = `/generators/#${slug}`;
    } catch (error) {
      document.getElementById("action-error").textContent = error.message;
    }
  });
})();
