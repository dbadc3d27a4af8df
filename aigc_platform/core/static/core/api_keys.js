// The API keys page: list, create with scopes and an optional expiry (the key is shown once), revoke.
(() => {
  const {el, _} = aigc;

  async function loadKeys() {
    const page = await aigc.api("GET", "/api/v1/api-keys/?page_size=100");
    document.getElementById("keys").replaceChildren(...page.results.map((key) => {
      const row = el("tr", {}, [
        el("td", {}, [key.name]), el("td", {}, [el("code", {}, [key.prefix])]),
        el("td", {}, [key.scopes.join(", ")]), el("td", {}, [key.expires_at ? aigc.when(key.expires_at) : _("never")]),
        el("td", {}, [aigc.when(key.created_at)]), el("td", {}, [aigc.when(key.last_used_at)]),
        el("td", {}, [key.is_active ? _("active") : key.revoked_at ? _("revoked") : _("expired")]), el("td"),
      ]);
      if (key.is_active) {
        const revoke = el("button", {class: "link"}, [_("Revoke")]);
        revoke.addEventListener("click", async () => { await aigc.api("DELETE", `/api/v1/api-keys/${key.id}/`); loadKeys(); });
        row.lastChild.append(revoke);
      }
      return row;
    }));
  }

  document.getElementById("new-key").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const form = new FormData(event.target);
      const expires = form.get("expires");  // the end of that day, in the browser's time zone
      const key = await aigc.api("POST", "/api/v1/api-keys/", {
        name: form.get("name"), scopes: form.getAll("scopes"),
        ...(expires ? {expires_at: new Date(`${expires}T23:59:59`).toISOString()} : {}),
      });
      document.getElementById("key-value").textContent = key.key;
      document.getElementById("new-key-value").hidden = false;
      event.target.reset();
      loadKeys();
    } catch (error) { document.getElementById("key-error").textContent = error.message; }
  });
  loadKeys();
})();
