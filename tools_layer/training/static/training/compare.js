// Training runs side by side: their curves on shared charts and their final metrics in one table.
(async () => {
  const {el, _} = aigc;
  const runIds = JSON.parse(document.getElementById("run-ids").textContent);
  if (!runIds.length) return;
  const runs = await Promise.all(runIds.map(async (id) => {
    const [run, series] = await Promise.all([aigc.api("GET", `/api/v1/training-jobs/${id}/`), aigc.api("GET", `/api/v1/training-jobs/${id}/metrics/`)]);
    return {run, label: `${run.recipe} ${id.slice(0, 8)}`, metrics: series.metrics};
  }));
  curves.draw(document.getElementById("curves"), runs);
  const names = [...new Set(runs.flatMap((r) => r.metrics.flatMap((m) => Object.keys(m.values))))].filter((n) => n !== "attempt");
  const table = document.getElementById("final");
  table.tHead.replaceChildren(el("tr", {}, [_("run"), _("status"), _("steps"), ...names].map((n) => el("th", {scope: "col"}, [n]))));
  table.tBodies[0].replaceChildren(...runs.map((r) => {
    const last = r.metrics.length ? r.metrics[r.metrics.length - 1] : {step: 0, values: {}};
    const cells = names.map((n) => (typeof last.values[n] === "number" ? aigc.number(+last.values[n].toPrecision(4)) : "—"));
    return el("tr", {}, [el("td", {}, [el("a", {href: `/training/${r.run.id}/`}, [r.label])]), aigc.statusLabel(r.run.status), aigc.number(last.step), ...cells]
      .map((c) => (c instanceof Node && c.tagName === "TD" ? c : el("td", {}, [c]))));
  }));
})();
