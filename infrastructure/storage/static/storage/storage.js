// The storage page: uploads with a progress bar, deletes.
(() => {
  const {_, fill} = aigc;

  // XMLHttpRequest rather than fetch: only it reports upload progress.
  document.getElementById("upload").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const bar = document.getElementById("upload-progress");
    const error = document.getElementById("upload-error");
    const request = new XMLHttpRequest();
    error.textContent = "";
    bar.hidden = false;
    aigc.setProgress(bar, {progress: 0, status: "running"});
    request.upload.addEventListener("progress", (progress) => {
      if (!progress.lengthComputable) return;
      aigc.setProgress(bar, {progress: progress.loaded / progress.total, status: "running"});
    });
    request.addEventListener("load", () => {
      if (request.status === 201) { window.location.reload(); return; }
      let message = request.statusText;
      try { message = JSON.parse(request.responseText).error.message; } catch (ignored) { /* not JSON: the status text says it */ }
      bar.dataset.status = "failed";
      error.textContent = message;
    });
    request.addEventListener("error", () => { bar.dataset.status = "failed"; error.textContent = _("The upload failed (network error)."); });
    request.open("POST", "/api/v1/files/");
    request.setRequestHeader("X-CSRFToken", document.querySelector('meta[name="csrf-token"]').content);
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("Accept-Language", aigc.lang());
    request.send(new FormData(form));
  });

  for (const button of document.querySelectorAll("#files .delete")) {
    button.addEventListener("click", async () => {
      const row = button.closest("tr");
      if (!confirm(fill(_("Delete %(name)s?"), {name: row.querySelector("a").textContent}))) return;
      try {
        await aigc.api("DELETE", `/api/v1/files/${row.dataset.id}/`);
        window.location.reload();
      } catch (failure) { document.getElementById("upload-error").textContent = failure.message; }
    });
  }
})();
