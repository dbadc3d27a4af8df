// A labeling project's page: progress, agreement, exports followed live, and the review queue
// (a: accept, r: reject the first row).
(() => {
  const {el, _, fill} = aigc;
  const root = document.getElementById("project-page");
  const projectId = root.dataset.projectId;
  aigc.setProgress(document.getElementById("progress"), {progress: Number(root.dataset.progress), status: "running"});
  const fmt = (x) => (x === null || x === undefined ? "—" : aigc.number(Number(x), {minimumFractionDigits: 3, maximumFractionDigits: 3}));

  aigc.api("GET", `/api/v1/labeling/projects/${projectId}/agreement/`).then((a) => {
    document.getElementById("agreement").replaceChildren(...[
      [_("Tasks with overlap"), aigc.number(a.tasks_with_overlap)],
      [_("Percent agreement"), a.percent_agreement === null ? "—" : aigc.number(a.percent_agreement, {style: "percent", maximumFractionDigits: 1})],
      [_("Fleiss' kappa"), fmt(a.fleiss_kappa)], [_("Cohen's kappa (mean)"), fmt(a.cohen_kappa)],
    ].flatMap(([k, v]) => [el("dt", {}, [k]), el("dd", {}, [v])]));
  });

  for (const button of document.querySelectorAll("[data-format]")) {
    button.addEventListener("click", async () => {
      const bar = document.getElementById("export-progress"), out = document.getElementById("export-result");
      bar.hidden = false;
      const job = await aigc.api("POST", `/api/v1/labeling/projects/${projectId}/export/`,
                                 {format: button.dataset.format, only_accepted: document.getElementById("only-accepted").checked});
      aigc.followJob(job.id, {
        progress: (data) => aigc.setProgress(bar, {progress: data.progress, status: "running"}),
        snapshot: (data) => data && aigc.setProgress(bar, data),
        status: (data) => data && aigc.setProgress(bar, data),
        end: async (data) => {
          if (!data) return;
          if (data.status === "failed") out.textContent = data.error;
          if (data.status !== "succeeded") return;
          const r = (await aigc.api("GET", `/api/v1/jobs/${job.id}/`)).result;
          out.replaceChildren(r.file ? el("a", {href: r.download_url}, [fill(ngettext("Download %(count)s row", "Download %(count)s rows", r.rows), {count: r.rows})])
                                     : el("a", {href: `/datasets/${r.dataset}/`}, [fill(_("Dataset version %(number)s: %(added)s items"), {number: r.version_number, added: r.added})]));
        },
      });
    });
  }

  const preannotate = document.getElementById("preannotate");
  if (preannotate) preannotate.addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = Object.fromEntries(new FormData(preannotate));
    const bar = document.getElementById("preannotate-progress"), out = document.getElementById("preannotate-result");
    out.textContent = "";
    let job;
    try { job = await aigc.api("POST", `/api/v1/labeling/projects/${projectId}/pre-annotate/`, {generator: form.generator, max_tasks: Number(form.max_tasks) || 200}); }
    catch (failure) { out.textContent = failure.message; return; }
    bar.hidden = false;
    aigc.followJob(job.id, {
      progress: (data) => { aigc.setProgress(bar, {progress: data.progress, status: "running"}); out.textContent = data.message; },
      snapshot: (data) => data && aigc.setProgress(bar, data),
      status: (data) => data && aigc.setProgress(bar, data),
      end: async (data) => {
        if (!data) return;
        if (data.status === "failed") out.textContent = data.error;
        if (data.status !== "succeeded") return;
        const r = (await aigc.api("GET", `/api/v1/jobs/${job.id}/`)).result;
        out.textContent = fill(_("Proposed answers for %(proposed)s of %(tasks)s tasks."), {proposed: r.proposed, tasks: r.tasks});
      },
    });
  });

  const review = document.getElementById("review");
  async function loadReview() {
    const page = await aigc.api("GET", `/api/v1/labeling/projects/${projectId}/annotations/?status=submitted&page_size=50`);
    review.replaceChildren(...page.results.map((a) => el("tr", {"data-annotation": a.id}, [
      el("td", {}, [`#${a.task}`]), el("td", {}, [a.annotator]), el("td", {}, [JSON.stringify(a.value)]),
      el("td", {}, [el("button", {"data-decision": "accept"}, [_("Accept")]), " ", el("button", {"data-decision": "reject", class: "danger"}, [_("Reject")])]),
    ])));
  }
  async function decide(row, decision) {
    await aigc.api("POST", `/api/v1/labeling/annotations/${row.dataset.annotation}/review/`, {decision});
    row.remove();
  }
  if (review) {
    review.addEventListener("click", (event) => { const d = event.target.dataset.decision; if (d) decide(event.target.closest("tr"), d); });
    document.addEventListener("keydown", (event) => {
      if (event.target.closest("input, textarea, select")) return;
      const row = review.querySelector("tr");
      if (row && (event.key === "a" || event.key === "r")) decide(row, event.key === "a" ? "accept" : "reject");
    });
    loadReview();
  }
})();
