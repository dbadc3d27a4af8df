// A job's page: its panel follows the job's events (progress, log lines, tokens), cancel and retry.
(() => {
  const panel = document.getElementById("job-panel");
  const jobId = panel.dataset.jobId;
  const bar = document.getElementById("progress");
  const show = (job) => aigc.showJob(bar, job);

  async function refreshResult() {
    const job = await aigc.api("GET", `/api/v1/jobs/${jobId}/`);
    show(job);
    document.getElementById("result").textContent = job.result === null ? "—" : JSON.stringify(job.result, null, 2);
  }

  let followed;
  function follow() {
    followed = aigc.followJob(jobId, {
      snapshot: show,
      status: (data) => { show(data); if (aigc.TERMINAL.includes(data.status)) refreshResult(); },
      progress: (data) => {
        aigc.setProgress(bar, {progress: data.progress, status: "running"});
        if (data.message) document.getElementById("message").textContent = data.message;
      },
      log: (data) => {
        const log = document.getElementById("log");
        log.append(data.line + "\n");
        log.scrollTop = log.scrollHeight;
      },
      token: (data) => {
        document.getElementById("output-card").hidden = false;
        document.getElementById("tokens").append(data.text);
      },
    });
  }

  for (const action of ["cancel", "retry"]) {
    document.getElementById(action).addEventListener("click", async () => {
      try {
        const job = await aigc.api("POST", `/api/v1/jobs/${jobId}/${action}/`);
        show(job);
        if (action === "retry") { document.getElementById("log").textContent = ""; followed.close(); follow(); }
      } catch (error) { document.getElementById("action-error").textContent = error.message; }
    });
  }
  show({status: panel.dataset.status, progress: Number(panel.dataset.progress)});
  follow();
})();
