// A dataset's Prepare tab: pick steps, preview one (10 before/after pairs), run them as a job followed
// live, read a version's report, and compare two versions side by side.
(() => {
  const {el, _, fill} = aigc;
  const root = document.getElementById("prepare-page");
  const datasetId = root.dataset.datasetId;
  const form = document.getElementById("prepare");
  const number = (value) => (value === "" || value === null || value === undefined ? null : Number(value));

  function stepParams(name, data) {
    if (name === "clean") {
      const params = {near_duplicates: {enabled: data.has("near_enabled")}};
      if (root.dataset.kind === "image") {
        params.near_duplicates.max_distance = number(data.get("max_distance")) ?? 4;
        params.min_width = number(data.get("min_width")) ?? 0;
        params.min_height = number(data.get("min_height")) ?? 0;
        return params;
      }
      params.near_duplicates.threshold = number(data.get("threshold")) ?? 0.8;
      const low = number(data.get("length_min")), high = number(data.get("length_max"));
      if (low !== null || high !== null) params.length = {min: low, max: high, unit: data.get("length_unit")};
      const languages = (data.get("languages") || "").split(",").map((code) => code.trim()).filter(Boolean);
      if (languages.length) params.languages = languages;
      const quality = {min_real_word_share: number(data.get("min_real_word_share")),
                       max_repeated_ngram_share: number(data.get("max_repeated_ngram_share")), task_talk: data.has("task_talk")};
      if (quality.min_real_word_share !== null || quality.max_repeated_ngram_share !== null || quality.task_talk) params.quality = quality;
      params.blocked_terms = data.has("blocked_terms");
      return params;
    }
    if (name === "pii") return {action: data.get("pii_action")};
    if (name === "augment") {
      const params = {method: data.get("method"), per_item: number(data.get("per_item")) ?? 1, seed: number(data.get("augment_seed")) ?? 0};
      if (data.get("generator")) params.generator = data.get("generator");
      return params;
    }
    return {validation_fraction: number(data.get("validation_fraction")) ?? 0.1, test_fraction: number(data.get("test_fraction")) ?? 0.1,
            seed: number(data.get("split_seed")) ?? 0, stratify: data.has("stratify")};
  }

  const versionUrl = (versionId) => `/api/v1/datasets/${datasetId}/versions/${versionId}/`;
  const bar = document.getElementById("prepare-progress");
  const message = document.getElementById("prepare-message");
  const error = document.getElementById("prepare-error");

  function follow(job, done) {
    bar.hidden = false;
    aigc.setProgress(bar, {progress: 0, status: "queued"});
    aigc.followJob(job.id, {
      progress: (data) => { aigc.setProgress(bar, {progress: data.progress, status: "running"}); message.textContent = data.message; },
      snapshot: (data) => data && aigc.setProgress(bar, data),
      status: (data) => data && aigc.setProgress(bar, data),
      end: async (data) => {
        if (!data) return;
        if (data.status !== "succeeded") { error.textContent = data.error || data.message || _("The job did not finish."); return; }
        done((await aigc.api("GET", `/api/v1/jobs/${job.id}/`)).result);
      },
    });
  }

  function cell(value) {
    if (typeof value === "string" && value.startsWith("data:image/")) return el("td", {}, [el("img", {src: value, alt: ""})]);
    if (value === null || value === undefined) return el("td", {class: "muted"}, [_("(removed)")]);
    return el("td", {}, [typeof value === "string" ? value : JSON.stringify(value, null, 1)]);
  }

  function showPairs(result) {
    const rows = result.pairs.map((pair) => el("tr", {}, [
      el("td", {class: "muted"}, [`#${pair.item}`]), cell(pair.before), cell(pair.after),
      el("td", {}, [pair.detail === undefined ? "" : typeof pair.detail === "string" ? pair.detail : JSON.stringify(pair.detail)]),
    ]));
    document.getElementById("pairs").replaceChildren(...(rows.length ? rows : [el("tr", {}, [el("td", {colspan: 4, class: "muted"},
      [fill(_("Nothing to show in the first %(read)s items."), {read: result.read})])])]));
    message.textContent = fill(_("Preview of %(step)s on the first %(read)s items."), result);
  }

  if (form) {
    form.addEventListener("click", async (event) => {
      const button = event.target.closest("[data-preview]");
      if (!button) return;
      const data = new FormData(form);
      error.textContent = "";
      message.textContent = _("Preparing the preview…");
      try {
        const job = await aigc.api("POST", `${versionUrl(data.get("version"))}preview/`,
                                   {step: button.dataset.preview, params: stepParams(button.dataset.preview, data)});
        follow(job, showPairs);
      } catch (problem) { error.textContent = problem.message; message.textContent = ""; }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const steps = data.getAll("step").map((name) => ({step: name, params: stepParams(name, data)}));
      error.textContent = "";
      if (!steps.length) { error.textContent = _("Check at least one step."); return; }
      try {
        const job = await aigc.api("POST", `${versionUrl(data.get("version"))}prepare/`, {steps});
        message.textContent = _("Queued.");
        follow(job, (result) => {
          message.textContent = fill(ngettext("Wrote %(count)s version.", "Wrote %(count)s versions.", result.versions.length), {count: result.versions.length});
          setTimeout(() => location.reload(), 1200);
        });
      } catch (problem) { error.textContent = problem.message; }
    });
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-report]");
    if (!button) return;
    const version = await aigc.api("GET", versionUrl(button.dataset.report));
    const report = version.report || {};
    const rows = Object.entries(report.rules || {}).map(([rule, body]) => el("tr", {}, [
      el("th", {scope: "row"}, [rule]), el("td", {}, [aigc.number(body.count)]),
      el("td", {}, body.examples.map((example) => el("div", {}, [`#${example.item} ${example.preview}${example.detail ? " — " + example.detail : ""}`]))),
    ]));
    const summary = fill(_("v%(number)s (%(step)s): read %(read)s, kept %(kept)s."), {number: version.number, step: version.step,
                                                                                       read: report.read ?? "—", kept: report.kept ?? "—"});
    const extra = [];
    if (report.found) extra.push(el("p", {}, [_("Personal data found: ") + Object.entries(report.found).map(([kind, count]) => `${kind} ${count}`).join(", ")]));
    if (report.splits) extra.push(el("p", {}, [_("Splits: ") + Object.entries(report.splits).map(([name, count]) => `${name} ${count}`).join(", ")]));
    document.getElementById("report").replaceChildren(
      el("h3", {}, [_("Report")]), el("p", {}, [summary]), ...extra,
      el("p", {class: "muted"}, [_("Parameters: ") + JSON.stringify(version.parameters)]),
      el("table", {class: "table report"}, [el("thead", {}, [el("tr", {}, [el("th", {scope: "col"}, [_("Rule")]), el("th", {scope: "col"}, [_("Removed or changed")]),
                                                                          el("th", {scope: "col"}, [_("Examples")])])]),
                                             el("tbody", {}, rows.length ? rows : [el("tr", {}, [el("td", {colspan: 3, class: "muted"}, [_("No item was removed or changed.")])])])]),
    );
  });

  document.getElementById("compare").addEventListener("click", async () => {
    const checked = [...document.querySelectorAll('input[name="compare"]:checked')].map((box) => box.value);
    const problem = document.getElementById("compare-error");
    problem.textContent = "";
    if (checked.length !== 2) { problem.textContent = _("Check exactly two versions."); return; }
    try {
      const data = await aigc.api("GET", `${versionUrl(checked[0])}compare/?right=${checked[1]}`);
      const side = (version, count, items) => el("div", {}, [
        el("h3", {}, [`v${version.number} ${version.step || _("freeze")}`]),
        el("p", {}, [fill(_("%(items)s items: %(train)s train, %(validation)s validation, %(test)s test; %(augmented)s augmented; PII scanned: %(scanned)s."),
                          {items: version.item_count, train: version.train_count, validation: version.validation_count, test: version.test_count,
                           augmented: version.augmented_count, scanned: version.pii_scanned ? _("yes") : _("no")})]),
        el("p", {}, [fill(_("%(count)s items only here:"), {count})]),
        el("ul", {}, items.map((item) => el("li", {}, [`#${item.item} (${item.split}) ${item.preview}`]))),
      ]);
      document.getElementById("compare-result").replaceChildren(side(data.left, data.only_left_count, data.only_left),
                                                                side(data.right, data.only_right_count, data.only_right));
    } catch (failure) { problem.textContent = failure.message; }
  });
})();
