// The moderation page: add, enable/disable and delete policies through the API, and try a text.
(() => {
  const {_} = aigc;
  const form = document.getElementById("policy-form");
  const field = (name) => form.elements[name].value;
  const list = (text, separator) => text.split(separator).map((item) => item.trim()).filter(Boolean);

  function showKind() {
    for (const part of form.querySelectorAll("[data-kind]")) part.hidden = part.dataset.kind !== field("kind");
  }
  form.elements.kind.addEventListener("change", showKind);
  showKind();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {name: field("name"), kind: field("kind"), applies_to: field("applies_to"), description: field("description")};
    if (body.kind === "words") Object.assign(body, {language: field("language"), terms: list(field("terms"), "\n")});
    if (body.kind === "regex") body.pattern = field("pattern");
    if (body.kind === "classifier") {
      Object.assign(body, {classifier: field("classifier"), labels: list(field("labels"), ","), blocked_labels: list(field("blocked_labels"), ",")});
    }
    try {
      await aigc.api("POST", "/api/v1/moderation/policies/", body);
      window.location.reload();
    } catch (error) { document.getElementById("policy-error").textContent = error.message; }
  });

  document.getElementById("policies").addEventListener("click", async (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const url = `/api/v1/moderation/policies/${button.dataset.name}/`;
    try {
      if (button.classList.contains("toggle")) await aigc.api("PATCH", url, {enabled: button.dataset.enabled !== "true"});
      else if (button.classList.contains("delete") && window.confirm(_("Delete this policy?"))) await aigc.api("DELETE", url);
      else return;
      window.location.reload();
    } catch (error) { document.getElementById("policy-error").textContent = error.message; }
  });

  const check = document.getElementById("check-form");
  check.addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = document.getElementById("check-result");
    try {
      const answer = await aigc.api("POST", "/api/v1/moderation/check/", {text: check.elements.text.value, direction: check.elements.direction.value});
      out.textContent = answer.blocked
        ? _("Blocked by %(policies)s.", {policies: answer.policies.map((p) => `${p.name} (${p.matches.join(", ") || p.note || ""})`).join("; ")})
        : _("Passes the word lists and patterns.") + (answer.classifiers_skipped ? " " + _("Classifier policies were not run.") : "");
    } catch (error) { out.textContent = error.message; }
  });
})();
