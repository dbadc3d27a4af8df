// The workers page refreshes every three seconds: heartbeats, GPU memory and running jobs move.
(() => {
  const {el, _, fill, number} = aigc;

  function gpuBar(gpu) {
    const used = gpu.total_mb ? 1 - (gpu.free_mb ?? gpu.total_mb) / gpu.total_mb : 0;
    const bar = el("div", {class: "progress"}, [el("div", {class: "fill"}), el("div", {class: "label"})]);
    bar.querySelector(".fill").style.width = `${Math.round(used * 100)}%`;
    bar.querySelector(".label").textContent = fill(_("%(used)s / %(total)s MB"), {used: number(gpu.total_mb - (gpu.free_mb ?? gpu.total_mb)), total: number(gpu.total_mb)});
    return el("div", {class: "gpu"}, [
      el("div", {}, [fill(_("GPU %(index)s: %(name)s (sm %(capability)s)"), {index: gpu.index, name: gpu.name, capability: gpu.compute_capability ?? "?"}),
        gpu.utilization != null ? ` · ${fill(_("%(percent)s busy"), {percent: number(gpu.utilization / 100, {style: "percent"})})}` : ""]), bar]);
  }

  function workerCard(worker) {
    const action = worker.status === "draining" ? "resume" : "drain";
    const button = el("button", {class: action === "drain" ? "danger" : ""}, [action === "drain" ? _("Drain") : _("Resume")]);
    button.disabled = worker.status === "offline";
    button.addEventListener("click", async () => { await aigc.api("POST", `/api/v1/workers/${worker.id}/${action}/`); refresh(); });
    const state = worker.status === "online" ? "succeeded" : worker.status === "offline" ? "failed" : "running";
    return el("section", {class: "card", "data-worker": worker.name}, [
      el("h2", {}, [worker.name, " ", el("span", {class: `status ${state}`}, [aigc.statusLabel(worker.status)])]),
      el("dl", {class: "kv"}, [
        el("dt", {}, [_("Host")]), el("dd", {}, [`${worker.hostname} · pid ${worker.pid}`]),
        el("dt", {}, [_("CPU / RAM")]), el("dd", {}, [fill(_("%(cores)s cores · %(ram)s GiB · %(slots)s slots"), {cores: worker.cpu_count, ram: number(Math.round(worker.ram_mb / 1024)), slots: worker.concurrency})]),
        el("dt", {}, [_("Queues")]), el("dd", {}, [worker.queues.join(", ")]),
        el("dt", {}, [_("Heartbeat")]), el("dd", {}, [aigc.when(worker.last_heartbeat_at)]),
        el("dt", {}, [_("Running")]), el("dd", {}, worker.running_jobs.length
          ? worker.running_jobs.map((job) => el("div", {}, [el("a", {href: `/jobs/${job.id}/`}, [job.kind]), ` ${number(job.progress, {style: "percent"})}`]))
          : ["—"]),
      ]),
      ...(worker.gpus.length ? worker.gpus.map(gpuBar) : [el("p", {class: "muted"}, [_("No GPU: runs on CPU.")])]),
      el("div", {class: "actions"}, [button]),
    ]);
  }

  async function refresh() {
    const [workers, queues] = await Promise.all([aigc.api("GET", "/api/v1/workers/?page_size=100"), aigc.api("GET", "/api/v1/queues/")]);
    const grid = document.getElementById("workers");
    grid.replaceChildren(...(workers.results.length ? workers.results.map(workerCard) : [el("p", {class: "muted"}, [_("No worker has registered yet.")])]));
    document.getElementById("queues").replaceChildren(...Object.entries(queues.queues).map(([name, n]) =>
      el("li", {}, [el("code", {}, [name]), " ", fill(ngettext("%(count)s waiting", "%(count)s waiting", n), {count: n})])));
  }

  (async function loop() { await refresh().catch(() => {}); setTimeout(loop, 3000); })();
})();
