// What both creator pages show for one generated item: its checks, its verdict and the one-click
// actions on it (accept, reject with a reason, regenerate), and the live preview that turns the
// JSON being written into readable text, field by field.
const items = (() => {
  const {el, _, fill} = aigc;

  // The checks' names in the page's language (the check library's own details come as written).
  const CHECK_NAMES = {
    length: _("length"), banned_words: _("banned words"), required_keywords: _("required keywords"),
    content_filter: _("content filter"), readable: _("reads as copy"), complete: _("complete"),
    activity_count: _("number of activities"), timing: _("timing"), distinct_activities: _("distinct activities"),
    no_repetition: _("no repetition"), title_count: _("number of titles"), distinct_titles: _("distinct titles"),
    bullet_count: _("number of bullets"), distinct_bullets: _("distinct bullets"), objective_covered: _("covers its objective"),
    choice_count: _("number of choices"), distinct_choices: _("distinct choices"), answer_in_choices: _("answer among the choices"),
    distinct_question: _("a new question"), language: _("in the requested language"),
    real_words: _("made of real words"), on_subject: _("names its subject"), fluency: _("reads fluently"),
    task_talk: _("no talk about the task"), repetition: _("no repeated words"), complete_sentences: _("complete sentences"),
    shouting: _("no shouting"), choices: _("distinct, real choices"), gives_away: _("does not give the answer away"),
    explanation: _("explanation fits the answer"),
  };
  // What each content check can see, in one line (tools_layer/quality/checks.py EXPLANATIONS).
  const CHECK_HELP = {
    language: _("Written in the requested language (a language detector; Chinese by its script)."),
    real_words: _("Most words are real words of the language (word-frequency lists; Chinese segmented first)."),
    on_subject: _("Names the product or topic, or one of its key words."),
    fluency: _("Reads as prose: its perplexity under a reference language model is below a calibrated limit."),
    task_talk: _("Does the task instead of talking about it (no \"As an AI…\", no \"Here is the attention part\")."),
    repetition: _("Does not say the same words twice, within a part or across parts."),
    complete_sentences: _("Every part ends complete (not on \"by\", \"with\", \"is\" or a comma)."),
    shouting: _("Not written in capitals."),
    choices: _("The choices are distinct, real answers (not \"A\", \"B\", not \"True\" beside other answers)."),
    gives_away: _("The question does not give its answer away."),
    explanation: _("The explanation speaks of the right answer, not of a wrong one."),
  };
  const checkName = (name) => CHECK_NAMES[name] || name.replace(/_/g, " ");

  // The checks, each with what it can see; and, when a judge scored the item, its scores and reason.
  function checksList(checks, judgement) {
    const rows = Object.entries(checks || {}).map(([name, check]) =>
      el("li", {class: check.passed ? "ok" : "bad", title: CHECK_HELP[name] || ""}, [
        el("span", {class: "sr-only"}, [check.passed ? _("passed:") : _("failed:")]), `${checkName(name)}: ${check.detail}`,
        CHECK_HELP[name] ? el("span", {class: "muted check-help"}, [` — ${CHECK_HELP[name]}`]) : ""]));
    if (judgement && judgement.scores) {
      const scores = Object.entries(judgement.scores).map(([name, score]) => `${name.replace(/_/g, " ")} ${score}/5`).join(", ");
      rows.push(el("li", {class: "judge", "data-testid": "judgement"}, [
        fill(_("judge %(judge)s: %(scores)s. %(reason)s"), {judge: judgement.judge, scores, reason: judgement.reason})]));
    }
    return el("ul", {class: "checks", "data-testid": "checks"}, rows);
  }

  function passedBadge(passed) {
    return el("span", {class: passed ? "badge ok" : "badge bad", "data-testid": "item-passed"}, [passed ? _("passed its checks") : _("a check failed")]);
  }

  function verdictBadge(verdict, reason) {
    if (!verdict) return el("span", {class: "verdict", "data-testid": "verdict"});
    const text = verdict === "accepted" ? _("accepted") : fill(_("rejected: %(reason)s"), {reason});
    return el("span", {class: `verdict ${verdict}`, "data-testid": "verdict"}, [text]);
  }

  // Accept, Reject (asks why, inline), and Regenerate. Each handler is async and returns nothing;
  // an error shows next to the buttons.
  function actions({label, verdict, reason, onReview, onRegenerate, extra = []}) {
    const note = el("span", {class: "muted", "aria-live": "polite", "data-testid": "item-note"});
    let badge = verdictBadge(verdict, reason);
    const accept = el("button", {type: "button", "data-testid": "accept", "aria-label": fill(_("Accept %(item)s"), {item: label})}, [_("Accept")]);
    const reject = el("button", {type: "button", "data-testid": "reject", "aria-expanded": "false", "aria-label": fill(_("Reject %(item)s"), {item: label})}, [_("Reject")]);
    const why = el("input", {name: "reason", maxlength: "1000", "data-testid": "reject-reason", "aria-label": fill(_("Why reject %(item)s?"), {item: label})});
    const confirm = el("button", {type: "button", class: "danger", "data-testid": "reject-confirm"}, [_("Reject with this reason")]);
    const reasonBox = el("div", {class: "reason", hidden: "hidden"}, [why, confirm]);
    const row = [accept, reject];
    let again = null;
    if (onRegenerate) {
      again = el("button", {type: "button", "data-testid": "regenerate", "aria-label": fill(_("Regenerate %(item)s"), {item: label})}, [_("Regenerate")]);
      row.push(again);
    }
    const run = (button, work) => async () => {
      note.textContent = "";
      button.disabled = true;
      try { await work(); } catch (error) { note.textContent = error.message; } finally { button.disabled = false; }
    };
    const review = async (verdictNow, reasonNow) => {
      const stored = await onReview(verdictNow, reasonNow);
      const fresh = verdictBadge(stored.verdict, stored.reason);
      badge.replaceWith(fresh);
      badge = fresh;
    };
    accept.addEventListener("click", run(accept, () => review("accepted", "")));
    reject.addEventListener("click", () => {
      const open = reasonBox.hidden;
      reasonBox.hidden = !open;
      reject.setAttribute("aria-expanded", String(open));
      if (open) why.focus();
    });
    const confirmReject = run(confirm, async () => {
      if (!why.value.trim()) { note.textContent = _("Say why you reject it."); why.focus(); return; }
      await review("rejected", why.value.trim());
      reasonBox.hidden = true;
      reject.setAttribute("aria-expanded", "false");
    });
    confirm.addEventListener("click", confirmReject);
    why.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); confirmReject(); }
      if (event.key === "Escape") { event.preventDefault(); reasonBox.hidden = true; reject.setAttribute("aria-expanded", "false"); reject.focus(); }
    });
    if (again) again.addEventListener("click", run(again, onRegenerate));
    return el("div", {class: "item-actions"}, [el("div", {class: "actions"}, [...row, ...extra, badge, note]), reasonBox]);
  }

  // Focus for a keyboard user when the control that held it went away (a card written again, Stop
  // hidden, an item opened from the history): they carry on from there, not from the top of the page.
  // A heading or card takes focus without joining the Tab order.
  function focusOn(node) {
    if (!node) return;
    if (!node.matches("a[href], button, input, select, textarea, [tabindex]")) node.setAttribute("tabindex", "-1");
    node.focus();
  }

  // An editor that Escape closes, giving focus back to the button that opened it.
  function closesOnEscape(editor, close) {
    editor.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !editor.hidden) { event.preventDefault(); close(); }
    });
  }

  // The readable form of what is being written, from the JSON so far.
  function previewFields(value, fields) {
    const shown = fields.filter((spec) => value && typeof value[spec.name] === "string");
    if (fields.length === 1) return shown.length ? [el("p", {class: "field-value"}, [value[fields[0].name]])] : [];
    return [el("dl", {class: "fields"}, shown.flatMap((spec) => [el("dt", {}, [spec.label || spec.name]), el("dd", {}, [value[spec.name]])]))];
  }

  const strings = (list) => (Array.isArray(list) ? list.filter((item) => typeof item === "string" && item) : []);

  function previewSlide(value) {
    if (!value || typeof value !== "object") return [];
    const parts = [];
    if (value.title) parts.push(el("h4", {class: "slide-title"}, [value.title]));
    if (strings(value.bullets).length) parts.push(el("ul", {}, strings(value.bullets).map((bullet) => el("li", {}, [bullet]))));
    if (value.notes) parts.push(el("p", {class: "muted"}, [fill(_("Notes: %(notes)s"), {notes: value.notes})]));
    return parts;
  }

  function previewQuestion(value) {
    if (!value || typeof value !== "object") return [];
    const parts = [];
    if (value.question) parts.push(el("p", {class: "question-text"}, [value.question]));
    const choices = [...(value.answer ? [value.answer] : []), ...strings(value.wrong_answers)];
    if (choices.length) parts.push(el("ul", {}, choices.map((choice) => el("li", {}, [choice]))));
    if (value.explanation) parts.push(el("p", {class: "muted"}, [value.explanation]));
    return parts;
  }

  function previewPlan(value) {
    if (!value || typeof value !== "object") return [];
    const parts = [];
    if (value.overview) parts.push(el("p", {}, [value.overview]));
    const activities = Array.isArray(value.activities) ? value.activities.filter((a) => a && typeof a === "object") : [];
    if (activities.length) {
      parts.push(el("ol", {}, activities.map((a) => el("li", {}, [
        el("strong", {}, [a.name || ""]), typeof a.minutes === "number" ? ` (${fill(_("%(minutes)s min"), {minutes: a.minutes})})` : "",
        a.description ? `: ${a.description}` : ""]))));
    }
    return parts;
  }

  function previewOutline(value) {
    return value && strings(value.titles).length ? [el("ol", {}, strings(value.titles).map((title) => el("li", {}, [title])))] : [];
  }

  // One live preview: feed it token text; it re-renders into `box` (an attempt starts it afresh).
  class LivePreview {
    constructor(box, render) { this.box = box; this.render = render; this.attempt = null; this.tokens = 0; this.parser = new aigc.PartialJson(); }
    feed(text, attempt) {
      if (attempt !== undefined && attempt !== this.attempt) {
        this.attempt = attempt;
        this.parser = new aigc.PartialJson();
      }
      this.tokens += 1;
      this.box.replaceChildren(...this.render(this.parser.feed(text)));
    }
  }

  return {checksList, checkName, passedBadge, verdictBadge, actions, focusOn, closesOnEscape, previewFields, previewSlide,
          previewQuestion, previewPlan, previewOutline, LivePreview};
})();
