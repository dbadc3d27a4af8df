// The dashboard: health, the caller's job counts, workers and queues (operators), a demo job.
aigc.loadHealth(document.getElementById("health"));
aigc.loadJobCounts(document.getElementById("job-counts"));
if (document.getElementById("workers-summary")) aigc.loadWorkersSummary(document.getElementById("workers-summary"), document.getElementById("queue-summary"));
document.getElementById("demo-job").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    const job = await aigc.api("POST", "/api/v1/jobs/", {
      kind: "echo", params: {message: form.get("message"), steps: Number(form.get("steps")), delay: 0.5},
    });
    window.location = `/jobs/${job.id}/`;
  } catch (error) {
    document.getElementById("demo-error").textContent = error.message;
  }
});
