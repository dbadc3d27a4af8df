// The marketing creator page: the request form, variants previewed as they are written, progress by
// variant and attempt with an estimate, Stop, one-click actions per variant, compare, exports, history.
(() => {
  const {api, el, _, fill} = aigc;
  const templates = JSON.parse(document.getElementById("template-data").textContent);
  const form = document.getElementById("generate");
  const box = document.getElementById("variants");
  const statusBadge = document.getElementById("job-status");
  const progress = document.getElementById("progress");
  const progressText = document.getElementById("progress-text");
  const stopButton = document.getElementById("stop");
  const error = document.getElementById("form-error");
  const compareBox = document.getElementById("compare");
  const compareToggle = document.getElementById("compare-toggle");
  const variantsHeading = document.getElementById("variants-heading");
  const BLOCKED = _("Blocked by the content filter: this variant was not kept (the event is logged for admins).");
  let current = null; // the generation shown
  let running = null; // {job, followed, total, done, attempt, pace}

  const field = (owner, name) => owner.elements.namedItem(name).value;
  const templateOf = (slug) => templates.find((x) => x.slug === slug);
  const words = (value) => value.split(/[,，]/).map((k) => k.trim()).filter(Boolean);
  const variantLabel = (index) => fill(_("Variant %(number)s"), {number: index + 1});

  function describeTemplate() {
    const t = templateOf(field(form, "template"));
    document.getElementById("template-help").textContent = t ? `${t.description} ${fill(_("Fields: %(fields)s"), {
      fields: t.fields.map((f) => fill(_("%(label)s (%(min)s–%(max)s chars)"), {label: f.label, min: f.min_chars, max: f.max_chars})).join(", ")})}` : "";
  }
  form.elements.namedItem("template").addEventListener("change", describeTemplate);
  describeTemplate();

  function setJob(job) {
    aigc.setStatus(statusBadge, job.status);
    aigc.setProgress(progress, job);
    stopButton.hidden = aigc.TERMINAL.includes(job.status);
  }

  function describeProgress() {
    if (!running) return;
    const {total, done, attempt} = running;
    const parts = [];
    if (attempt && running.single) {  // one variant written again
      parts.push(fill(_("%(item)s, attempt %(attempt)s of %(max)s"), {item: variantLabel(attempt.index), attempt: attempt.attempt, max: attempt.max_attempts}));
    } else if (attempt) {
      parts.push(fill(_("variant %(number)s of %(total)s, attempt %(attempt)s of %(max)s"),
        {number: attempt.index + 1, total, attempt: attempt.attempt, max: attempt.max_attempts}));
    }
    const card = attempt ? running.previews[attempt.index] : null;
    const pace = running.pace.describe(total - done, card ? card.tokens : 0);
    if (pace) parts.push(pace);
    progressText.textContent = parts.join(" · ");
  }

  // A card being written: its number, its attempt, and the readable preview.
  function liveCard(index, fields) {
    let card = box.querySelector(`[data-index="${index}"]`);
    if (!card || !card.querySelector(".live")) {
      const fresh = el("article", {class: "variant writing", "data-index": index, "aria-busy": "true"}, [
        el("h3", {}, [variantLabel(index)]), el("span", {class: "muted attempt"}), el("div", {class: "live", "data-testid": "live-variant"})]);
      if (card) card.replaceWith(fresh); else box.append(fresh);
      card = fresh;
      running.previews[index] = new items.LivePreview(card.querySelector(".live"), (value) => items.previewFields(value, fields));
    }
    return card;
  }

  // `focusAfter` names where focus goes when the job ends if it was on Stop (which hides) or lost.
  function followGeneration(job, {total, fields, onEnd, single = false, focusAfter = () => variantsHeading}) {
    running = {job, total, single, done: 0, attempt: null, pace: new aigc.Pace(), previews: {}};
    setJob(job);
    describeProgress();
    stopButton.onclick = async () => {
      stopButton.disabled = true;
      try { await api("POST", `/api/v1/jobs/${job.id}/cancel/`); } catch (e) { error.textContent = e.message; } finally { stopButton.disabled = false; }
    };
    box.dataset.streamed = box.dataset.streamed || "0";
    running.followed = aigc.followJob(job.id, {
      snapshot: (state) => state && setJob(state),
      progress: (data) => aigc.setProgress(progress, {progress: data.progress, status: "running"}),
      attempt: (data) => {
        running.attempt = data;
        const card = liveCard(data.index, fields);
        card.querySelector(".attempt").textContent = data.attempt > 1
          ? fill(_("rewriting (attempt %(attempt)s of %(max)s): a check failed"), {attempt: data.attempt, max: data.max_attempts})
          : _("writing…");
        describeProgress();
      },
      token: (data) => {
        if (data.variant === undefined) return;
        liveCard(data.variant, fields);
        running.previews[data.variant].feed(data.text, data.attempt);
        running.pace.token();
        box.dataset.streamed = String(Number(box.dataset.streamed) + 1);
        describeProgress();
      },
      variant: (variant) => {
        const card = liveCard(variant.index, fields);
        running.pace.itemDone(running.previews[variant.index].tokens);
        running.done += 1;
        card.setAttribute("aria-busy", "false");
        card.querySelector(".attempt").textContent = variant.blocked ? "" : variant.passed ? _("✓ passed its checks") : _("✗ a check failed");
        if (variant.blocked) card.querySelector(".live").textContent = BLOCKED;
        describeProgress();
      },
      status: (state) => state && setJob(state),
      end: async (state) => {
        const refocus = document.activeElement === stopButton || document.activeElement === document.body;
        stopButton.hidden = true;
        if (state) setJob(state);
        if (state && state.status === "failed") error.textContent = state.error || state.message || aigc.statusLabel(state.status);
        progressText.textContent = state && state.status === "cancelled" ? _("Stopped: what was done is kept; the rest is marked not written.") : "";
        running = null;
        await onEnd(state);
        if (refocus) items.focusOn(focusAfter());
      },
    });
  }

  function variantCard(variant, generation) {
    const label = variantLabel(variant.index);
    if (!variant.text) {
      const blocked = variant.checks && variant.checks.content_filter && !variant.checks.content_filter.passed;
      const stopped = variant.attempts === 0;
      const why = blocked ? BLOCKED : stopped ? _("Not written: the request was stopped.")
        : fill(_("Not written: %(why)s."), {why: (variant.checks.complete || {}).detail || _("the generator gave up")});
      const card = el("article", {class: "variant not-written", "data-variant-id": variant.id, "data-index": variant.index, "data-testid": "variant-not-written"}, [
        el("h3", {}, [label]), el("span", {class: "badge bad"}, [why])]);
      card.append(items.actions({label, onReview: (verdict, reason) => review(variant, verdict, reason), onRegenerate: () => regenerate(variant, generation)}));
      return card;
    }
    const text = el("textarea", {"data-testid": "variant-text", "aria-label": fill(_("Text of %(item)s"), {item: label})});
    text.value = variant.text;
    const fav = el("button", {type: "button", class: "fav", "aria-pressed": String(variant.favourite), "aria-label": _("Favourite"), title: _("Favourite"), "data-testid": "favourite"}, ["★"]);
    const save = el("button", {type: "button", "data-testid": "save-edit"}, [_("Save edit")]);
    const copy = el("button", {type: "button", "data-testid": "copy"}, [_("Copy")]);
    const note = el("span", {class: "muted", "data-testid": "variant-note", "aria-live": "polite"});
    const badge = items.passedBadge(variant.passed);
    const checks = items.checksList(variant.checks, variant.judgement);
    const meta = el("span", {class: "muted"}, [variant.edited ? _("edited") : fill(ngettext("%(count)s attempt", "%(count)s attempts", variant.attempts), {count: variant.attempts})]);
    fav.addEventListener("click", async () => {
      const updated = await api("PATCH", `/api/v1/marketing/variants/${variant.id}/`, {favourite: fav.getAttribute("aria-pressed") !== "true"});
      fav.setAttribute("aria-pressed", String(updated.favourite));
    });
    save.addEventListener("click", async () => {
      try {
        const updated = await api("PATCH", `/api/v1/marketing/variants/${variant.id}/`, {text: text.value});
        Object.assign(variant, updated);
        // The card again, from the edited variant: its checks, its badge, and no verdict (an edit clears it)
        const fresh = variantCard(variant, generation);
        card.replaceWith(fresh);
        fresh.querySelector('[data-testid="variant-note"]').textContent = _("Saved; its checks ran again.");
        fresh.querySelector('[data-testid="save-edit"]').focus();
        renderCompare();
      } catch (e) { note.textContent = e.message; }
    });
    copy.addEventListener("click", async () => {
      try { await aigc.copyText(text.value); note.textContent = _("Copied."); } catch (e) { note.textContent = fill(_("Copy failed: %(why)s"), {why: e.message}); }
    });
    const card = el("article", {class: "variant", "data-variant-id": variant.id, "data-index": variant.index, "data-testid": "variant"}, [
      el("h3", {}, [label]), " ", meta, " ", badge, text,
      el("div", {class: "actions"}, [fav, save, copy, note]),
      items.actions({label, verdict: variant.review, reason: variant.review_reason,
                     onReview: (verdict, reason) => review(variant, verdict, reason), onRegenerate: () => regenerate(variant, generation)}),
      checks]);
    return card;
  }

  async function review(variant, verdict, reason) {
    const updated = await api("POST", `/api/v1/marketing/variants/${variant.id}/review/`, {verdict, reason});
    Object.assign(variant, updated);
    renderCompare();
    return {verdict: updated.review, reason: updated.review_reason};
  }

  async function regenerate(variant, generation) {
    const job = await api("POST", `/api/v1/marketing/variants/${variant.id}/regenerate/`);
    const old = box.querySelector(`[data-variant-id="${variant.id}"]`);
    if (old) old.replaceChildren();
    // Focus waits on Stop while the variant is written, then goes to its new text.
    const written = () => {
      const card = box.querySelector(`[data-index="${variant.index}"]`);
      return card && (card.querySelector('[data-testid="variant-text"]') || card.querySelector('[data-testid="regenerate"]'));
    };
    followGeneration(job, {total: 1, single: true, fields: fieldsOf(generation), onEnd: () => showGeneration(generation.id), focusAfter: written});
    items.focusOn(stopButton);
  }

  const fieldsOf = (generation) => (templateOf(generation.template) || {fields: [{name: "text", label: ""}]}).fields;

  function renderCompare() {
    if (!current || compareBox.hidden) return;
    const written = current.variants.filter((v) => v.text);
    compareBox.replaceChildren(...written.map((variant) => {
      const copy = el("button", {type: "button", "data-testid": "compare-copy", "aria-label": fill(_("Copy %(item)s"), {item: variantLabel(variant.index)})}, [_("Copy")]);
      const note = el("span", {class: "muted", "aria-live": "polite"});
      copy.addEventListener("click", async () => {
        try { await aigc.copyText(variant.text); note.textContent = _("Copied."); } catch (e) { note.textContent = fill(_("Copy failed: %(why)s"), {why: e.message}); }
      });
      return el("section", {class: "compare-column", "data-testid": "compare-column"}, [
        el("h3", {}, [variantLabel(variant.index)]), items.passedBadge(variant.passed), " ", items.verdictBadge(variant.review, variant.review_reason),
        el("p", {class: "compare-text"}, [variant.text]), el("div", {class: "actions"}, [copy, note]), items.checksList(variant.checks, variant.judgement)]);
    }));
  }
  compareToggle.addEventListener("click", () => {
    const open = compareBox.hidden;
    compareBox.hidden = !open;
    compareToggle.setAttribute("aria-pressed", String(open));
    renderCompare();
  });

  async function showGeneration(id) {
    const generation = await api("GET", `/api/v1/marketing/generations/${id}/`);
    current = generation;
    if (generation.job) setJob(generation.job);
    box.replaceChildren(...generation.variants.map((variant) => variantCard(variant, generation)));
    const advice = document.getElementById("generator-advice");
    advice.textContent = generation.generator_advice || "";
    advice.hidden = !generation.generator_advice;
    document.getElementById("result-actions").hidden = !generation.variants.length;
    document.getElementById("export-csv").href = `/api/v1/marketing/generations/${id}/export/?format=csv`;
    document.getElementById("export-md").href = `/api/v1/marketing/generations/${id}/export/?format=md`;
    document.getElementById("labeling-result").replaceChildren();
    renderCompare();
    loadHistory();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    box.replaceChildren();
    box.dataset.streamed = "0";
    compareBox.replaceChildren();
    document.getElementById("result-actions").hidden = true;
    const body = {
      template: field(form, "template"), product: field(form, "product"), audience: field(form, "audience"), tone: field(form, "tone"),
      language: field(form, "language"), variants: Number(field(form, "variants")), length: field(form, "length"),
      keywords: words(field(form, "keywords")),
    };
    if (field(form, "brand_voice")) body.brand_voice = Number(field(form, "brand_voice"));
    try {
      const job = await api("POST", "/api/v1/marketing/generations/", body);
      followGeneration(job, {total: body.variants, fields: templateOf(body.template).fields,
                             onEnd: (state) => (state && state.status !== "failed" ? showGeneration(Number(job.object.id)) : loadHistory())});
    } catch (e) { error.textContent = e.message; }
  });

  document.getElementById("send-labeling").addEventListener("click", async () => {
    if (!current) return;
    const result = document.getElementById("labeling-result");
    try {
      const sent = await api("POST", `/api/v1/marketing/generations/${current.id}/send-to-labeling/`, {});
      result.replaceChildren(fill(ngettext("Sent %(count)s variant for rating: ", "Sent %(count)s variants for rating: ", sent.tasks.length), {count: sent.tasks.length}),
        el("a", {href: sent.project_url}, [_("open the labeling project")]));
    } catch (e) { result.textContent = e.message; }
  });

  async function loadHistory() {
    const only = document.getElementById("favourites-only").checked ? "&favourites=true" : "";
    const page = await api("GET", `/api/v1/marketing/generations/?page_size=20${only}`);
    document.getElementById("history").replaceChildren(...page.results.map((g) => {
      const link = el("a", {href: "#"}, [g.product.slice(0, 60)]);
      link.addEventListener("click", async (event) => {
        event.preventDefault();
        await showGeneration(g.id);
        items.focusOn(variantsHeading);  // the history is drawn again, the link with it
      });
      const favourites = g.variants.filter((v) => v.favourite).length;
      return el("tr", {"data-testid": "history-row"}, [el("td", {}, [aigc.when(g.created_at)]), el("td", {}, [g.template]), el("td", {}, [link]),
        el("td", {}, [`${aigc.number(g.variants.length)}${favourites ? ` (${aigc.number(favourites)} ★)` : ""}`]),
        el("td", {}, [el("span", {class: `status ${g.job ? g.job.status : ""}`}, [g.job ? aigc.statusLabel(g.job.status) : "—"])])]);
    }));
  }
  document.getElementById("favourites-only").addEventListener("change", loadHistory);
  loadHistory();

  // Brand voices: made here, chosen per generation above.
  const voiceForm = document.getElementById("voice-form");
  const voiceSelect = document.getElementById("brand-voice");
  async function loadVoices() {
    const page = await api("GET", "/api/v1/marketing/brand-voices/?page_size=100");
    document.getElementById("voice-list").replaceChildren(...page.results.map((voice) => {
      const remove = el("button", {type: "button", "aria-label": fill(_("Delete %(name)s"), {name: voice.name})}, [_("Delete")]);
      remove.addEventListener("click", async () => {
        await api("DELETE", `/api/v1/marketing/brand-voices/${voice.id}/`);
        voiceSelect.querySelector(`option[value="${voice.id}"]`)?.remove();
        loadVoices();
      });
      const banned = voice.banned_words.length ? ` · ${fill(_("never: %(words)s"), {words: voice.banned_words.join(", ")})}` : "";
      return el("li", {}, [el("strong", {}, [voice.name]), ` ${voice.description}${banned} `, remove]);
    }));
  }
  voiceForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = document.getElementById("voice-error");
    message.textContent = "";
    try {
      const voice = await api("POST", "/api/v1/marketing/brand-voices/", {
        name: field(voiceForm, "name"), audience: field(voiceForm, "audience"), description: field(voiceForm, "description"),
        words_to_use: words(field(voiceForm, "words_to_use")), banned_words: words(field(voiceForm, "banned_words")),
        sample_copy: field(voiceForm, "sample_copy"),
      });
      voiceSelect.append(el("option", {value: voice.id}, [voice.name]));
      voiceSelect.value = String(voice.id);
      voiceForm.reset();
      loadVoices();
    } catch (e) { message.textContent = e.message; }
  });
  loadVoices();
})();
