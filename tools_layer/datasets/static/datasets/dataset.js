// A dataset's page: its items (search, filter by label, pages), imports followed live, versions.
(() => {
  const {el, _, fill} = aigc;
  const root = document.getElementById("dataset-page");
  const datasetId = root.dataset.datasetId;
  const isImage = root.dataset.kind === "image";
  let page = 1, search = "", label = null;

  async function loadItems() {
    const params = new URLSearchParams({page, page_size: 25});
    if (search) params.set("search", search);
    if (label !== null) params.set("label", label);
    const data = await aigc.api("GET", `/api/v1/datasets/${datasetId}/items/?${params}`);
    document.getElementById("items").replaceChildren(...data.results.map((item) => el("tr", {}, [
      el("td", {class: "muted"}, [`#${item.id}`]),
      isImage ? el("td", {}, [el("img", {class: "thumb", loading: "lazy", alt: item.preview, src: `${item.content_url}?thumbnail=96`})])
              : el("td", {class: "text"}, [item.preview]),
      el("td", {}, [item.label ? el("span", {class: "badge status"}, [item.label]) : ""]),
    ])));
    if (!data.results.length) document.getElementById("items").replaceChildren(el("tr", {}, [el("td", {class: "muted"}, [_("No items.")])]));
    document.getElementById("page-info").textContent = fill(ngettext("page %(page)s · %(count)s item", "page %(page)s · %(count)s items", data.count), {page, count: aigc.number(data.count)});
    document.getElementById("prev").disabled = !data.previous;
    document.getElementById("next").disabled = !data.next;
  }
  document.getElementById("prev").onclick = () => { page -= 1; loadItems(); };
  document.getElementById("next").onclick = () => { page += 1; loadItems(); };
  document.getElementById("search").addEventListener("submit", (event) => {
    event.preventDefault(); search = new FormData(event.target).get("search").trim(); label = null; page = 1; loadItems();
  });
  document.getElementById("labels").addEventListener("click", (event) => {
    const button = event.target.closest("[data-label]");
    if (!button) return;
    label = button.dataset.label; search = ""; page = 1; loadItems();
  });

  document.getElementById("import").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    for (const [key, value] of [...form.entries()]) if (value === "" && key !== "file") form.delete(key);
    const bar = document.getElementById("import-progress"), message = document.getElementById("import-message");
    const error = document.getElementById("import-error");
    error.textContent = ""; message.textContent = _("Uploading…"); bar.hidden = false;
    aigc.setProgress(bar, {progress: 0, status: "queued"});
    const response = await fetch(`/api/v1/datasets/${datasetId}/import/`, {
      method: "POST", body: form, credentials: "same-origin",
      headers: {"X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content, Accept: "application/json", "Accept-Language": aigc.lang()},
    });
    const job = await response.json();
    if (!response.ok) { error.textContent = job.error.message; message.textContent = ""; return; }
    aigc.followJob(job.id, {
      progress: (data) => { aigc.setProgress(bar, {progress: data.progress, status: "running"}); message.textContent = data.message; },
      snapshot: (data) => data && aigc.setProgress(bar, data),
      status: (data) => data && aigc.setProgress(bar, data),
      end: async (data) => {
        if (!data) return;
        if (data.status === "failed") { error.textContent = data.error || data.message; message.textContent = _("Nothing was imported."); }
        if (data.status !== "succeeded") return;
        const done = await aigc.api("GET", `/api/v1/jobs/${job.id}/`);
        const r = done.result;
        message.textContent = fill(_("Imported %(added)s items; dropped %(duplicates)s duplicates, %(empty)s empty, %(too_long)s too long."), r);
        setTimeout(() => location.reload(), 1500);
      },
    });
  });

  document.getElementById("version").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = Object.fromEntries(new FormData(event.target));
    try {
      await aigc.api("POST", `/api/v1/datasets/${datasetId}/versions/`, {seed: Number(form.seed), validation_fraction: Number(form.validation_fraction)});
      location.reload();
    } catch (error) { document.getElementById("version-error").textContent = error.message; }
  });
  loadItems();
})();
