// The jobs list refreshes itself every second while any job on it is still queued or running.
(() => {
  const {el} = aigc;

  async function refreshJobs() {
    const page = await aigc.api("GET", "/api/v1/jobs/?page_size=50");
    const body = document.getElementById("jobs");
    if (!page.results.length) return false;
    body.replaceChildren(...page.results.map((job) => {
      const bar = el("div", {class: "progress"}, [el("div", {class: "fill"}), el("div", {class: "label"})]);
      aigc.setProgress(bar, job);
      return el("tr", {"data-job": job.id}, [
        el("td", {}, [el("a", {href: `/jobs/${job.id}/`}, [el("code", {}, [job.id.slice(0, 8) + "…"])])]),
        el("td", {}, [job.kind]),
        el("td", {}, [el("span", {class: `status ${job.status}`}, [aigc.statusLabel(job.status)])]),
        el("td", {}, [bar]),
        el("td", {class: "muted"}, [job.message]),
        el("td", {}, [job.owner]),
        el("td", {}, [aigc.when(job.created_at)]),
      ]);
    }));
    return page.results.some((job) => !aigc.TERMINAL.includes(job.status));
  }

  (async function loop() {
    const active = await refreshJobs().catch(() => true);
    setTimeout(loop, active ? 1000 : 5000);
  })();
})();
