// A training run's page: the job panel, live curves from `metrics` events, the latest sample, the log.
(() => {
  const {el, _, fill} = aigc;
  const panel = document.getElementById("job-panel");
  const jobId = panel.dataset.jobId;
  const bar = document.getElementById("progress");
  const points = new Map();  // step → values: a resumed attempt's points replace those it trains again

  function redraw() {
    const metrics = [...points.entries()].sort((a, b) => a[0] - b[0]).map(([step, values]) => ({step, values}));
    curves.draw(document.getElementById("curves"), [{label: _("this run"), metrics}]);
  }
  const show = (job) => aigc.showJob(bar, job);

  async function refresh() {
    const run = await aigc.api("GET", `/api/v1/training-jobs/${jobId}/`);
    if (run.result_version) document.getElementById("result").textContent = `${run.result_version.generator} v${run.result_version.number} (${run.result_version.stage})`;
    const series = await aigc.api("GET", `/api/v1/training-jobs/${jobId}/metrics/`);
    for (const point of series.metrics) points.set(point.step, point.values);
    redraw();
  }

  let followed;
  function follow() {
    followed = aigc.followJob(jobId, {
      snapshot: show,
      status: (data) => { show(data); if (aigc.TERMINAL.includes(data.status)) refresh(); },
      progress: (data) => {
        aigc.setProgress(bar, {progress: data.progress, status: "running"});
        if (data.message) document.getElementById("message").textContent = data.message;
      },
      metrics: (data) => {
        const {step, ...values} = data;
        for (const key of [...points.keys()]) if (key > step && values.attempt > (points.get(key).attempt || 0)) points.delete(key);
        points.set(step, values);
        const box = document.getElementById("curves");
        box.dataset.liveEvents = Number(box.dataset.liveEvents || 0) + 1;
        redraw();
      },
      sample: (data) => {
        document.getElementById("sample-step").textContent = fill(_("(step %(step)s)"), {step: data.step});
        document.getElementById("sample").replaceChildren(data.image
          ? el("img", {src: data.image, alt: fill(_("sample at step %(step)s"), {step: data.step}), "data-testid": "sample-image"})
          : el("pre", {"data-testid": "sample-text"}, [data.text]));
      },
      log: (data) => {
        const log = document.getElementById("log");
        log.append(data.line + "\n");
        log.scrollTop = log.scrollHeight;
      },
    });
  }

  for (const action of ["cancel", "retry"]) {
    document.getElementById(action).addEventListener("click", async () => {
      try {
        const job = await aigc.api("POST", `/api/v1/jobs/${jobId}/${action}/`);
        show(job);
        if (action === "retry") { followed.close(); follow(); }
      } catch (error) { document.getElementById("action-error").textContent = error.message; }
    });
  }
  show({status: panel.dataset.status, progress: Number(panel.dataset.progress)});
  refresh().then(follow);
})();
