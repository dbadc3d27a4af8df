// Labeling by keyboard: the next task, an answer per key press, undo (Backspace / Ctrl+Z).
(() => {
  const {el, _, fill} = aigc;
  const root = document.getElementById("labeler");
  const projectId = root.dataset.projectId, taskType = root.dataset.taskType;
  const shortcuts = JSON.parse(document.getElementById("shortcuts").textContent);
  const PAIR = [{key: "1", alt: "a", choice: "a", text: _("A is better")}, {key: "2", alt: "b", choice: "b", text: _("B is better")},
                {key: "3", alt: "t", choice: "tie", text: _("Tie")}];
  const history = [];  // {annotation, value} of this session's answers, newest last: what undo takes back
  let task = null, shownAt = 0, selected = new Set(), busy = false;
  const $ = (id) => document.getElementById(id);

  function showError(error) { $("error").textContent = error ? error.message || String(error) : ""; }

  async function refreshProgress() {
    const p = await aigc.api("GET", `/api/v1/labeling/projects/${projectId}/progress/`);
    aigc.setProgress($("progress"), {progress: p.fraction, status: "running"});
    $("progress-count").textContent = fill(_("%(done)s / %(needed)s · yours: %(mine)s"), {done: p.annotations_done, needed: p.annotations_needed, mine: p.mine});
  }

  function button(key, text, onClick, extra = {}) {
    const node = el("button", {type: "button", "data-key": key, ...extra}, [el("kbd", {}, [key]), text]);
    node.addEventListener("click", onClick);
    return node;
  }

  let toggle = () => {};

  function render(body, previous) {
    task = body; shownAt = performance.now(); selected = new Set();
    $("done").hidden = true; $("task-card").hidden = false;
    $("task-id").textContent = `#${task.id}`;
    $("task-note").textContent = task.proposal ? _("· a proposal is highlighted (Enter accepts it)") : "";
    const c = task.content, bodyNode = $("task-body"), choices = $("choices");
    if (c.kind === "image") bodyNode.replaceChildren(el("img", {class: "task-image", src: c.image_url, alt: c.filename}));
    else if (c.kind === "pair") bodyNode.replaceChildren(
      el("p", {class: "task-text"}, [c.prompt || ""]),
      el("div", {class: "pair"}, [el("div", {"data-testid": "option-a"}, [el("strong", {}, ["A  "]), c.a]), el("div", {"data-testid": "option-b"}, [el("strong", {}, ["B  "]), c.b])]));
    else bodyNode.replaceChildren(el("div", {class: "task-text", "data-testid": "task-text", tabindex: "0"}, [c.text]));
    const value = previous || (task.my_annotation && task.my_annotation.value) || task.proposal;
    if (taskType === "single_label") {
      choices.replaceChildren(...shortcuts.map((s) => button(s.key, s.label, () => submit({label: s.label}),
        value && value.label === s.label ? {class: previous || task.my_annotation ? "on" : "proposed"} : {})));
      $("help").textContent = _("Press a label's key to answer. Backspace / Ctrl+Z: undo.");
    } else if (taskType === "multi_label") {
      (value ? value.labels : []).forEach((l) => selected.add(l));
      const draw = () => choices.replaceChildren(...shortcuts.map((s) => button(s.key, s.label, () => toggle(s.label),
        selected.has(s.label) ? {class: "on", "aria-pressed": "true"} : {"aria-pressed": "false"})),
        el("button", {type: "button", class: "primary", id: "multi-submit"}, [_("Enter: save")]));
      toggle = (label) => { selected.has(label) ? selected.delete(label) : selected.add(label); draw(); };
      draw();
      choices.addEventListener("click", (e) => { if (e.target.id === "multi-submit") submit({labels: [...selected]}); }, {once: true});
      $("help").textContent = _("Keys toggle labels; Enter saves. Backspace / Ctrl+Z: undo.");
    } else if (taskType === "rating") {
      choices.replaceChildren(...[1, 2, 3, 4, 5].map((n) => button(String(n), "★".repeat(n), () => submit({rating: n}),
        value && value.rating === n ? {class: "on", "aria-label": fill(_("%(count)s stars"), {count: n})} : {"aria-label": fill(_("%(count)s stars"), {count: n})})));
      $("help").textContent = _("Press 1 to 5. Backspace / Ctrl+Z: undo.");
    } else if (taskType === "pairwise") {
      choices.replaceChildren(...PAIR.map((p) => button(p.key, p.text, () => submit({choice: p.choice}), value && value.choice === p.choice ? {class: "on"} : {})));
      $("help").textContent = _("1 or A, 2 or B, 3 or T for a tie. Backspace / Ctrl+Z: undo.");
    } else {
      const area = el("textarea", {rows: 6, id: "correction", "data-testid": "correction", "aria-label": _("Corrected text")});
      area.value = value && value.text ? value.text : c.text;
      choices.replaceChildren(area, el("button", {type: "button", class: "primary", id: "correction-submit"}, [_("Ctrl+Enter: save")]));
      $("correction-submit").addEventListener("click", () => submit({text: area.value}));
      area.focus();
      $("help").textContent = _("Edit the text; Ctrl+Enter saves. Ctrl+Z inside the box edits; Escape then Ctrl+Z undoes the last answer.");
    }
  }

  async function next() {
    const response = await fetch(`/api/v1/labeling/projects/${projectId}/next-task/`, {
      method: "POST", credentials: "same-origin",
      headers: {"X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content, Accept: "application/json", "Accept-Language": aigc.lang()},
    });
    if (response.status === 204) { task = null; $("task-card").hidden = true; $("done").hidden = false; return; }
    const body = await response.json();
    if (!response.ok) throw new Error(body.error.message);
    render(body);
  }

  async function act(work) {
    if (busy) return;
    busy = true; showError(null);
    try { await work(); } catch (error) { showError(error); } finally { busy = false; }
    refreshProgress().catch(() => {});
  }

  function submit(value) {
    if (!task) return undefined;
    return act(async () => {
      const annotation = await aigc.api("POST", `/api/v1/labeling/tasks/${task.id}/annotations/`,
                                        {value, seconds_spent: (performance.now() - shownAt) / 1000});
      if (!history.length || history[history.length - 1].annotation !== annotation.id) history.push({annotation: annotation.id, value});
      await next();
    });
  }

  function undo() {
    const last = history.pop();
    if (!last) return undefined;
    return act(async () => render(await aigc.api("DELETE", `/api/v1/labeling/annotations/${last.annotation}/`), last.value));
  }

  document.addEventListener("keydown", (event) => {
    const inText = event.target.tagName === "TEXTAREA" || event.target.tagName === "INPUT" || event.target.tagName === "SELECT";
    if ((event.key === "z" && (event.ctrlKey || event.metaKey) && !inText) || (event.key === "Backspace" && !inText)) {
      event.preventDefault(); undo(); return;
    }
    if (event.key === "Escape" && inText) { event.target.blur(); return; }
    if (inText && taskType !== "correction") return;
    if (!task || (event.ctrlKey && event.key !== "Enter") || event.metaKey || event.altKey) return;
    if (taskType === "correction") {
      if (event.key === "Enter" && event.ctrlKey) { event.preventDefault(); submit({text: $("correction").value}); }
      return;
    }
    const key = event.key.toLowerCase();
    if (event.key === "Enter") {
      if (event.target.tagName === "BUTTON") return;  // Enter on a focused button presses it
      event.preventDefault();
      if (taskType === "multi_label") submit({labels: [...selected]});
      else if (task.proposal) submit(task.proposal);
      return;
    }
    if (taskType === "pairwise") { const p = PAIR.find((p) => p.key === key || p.alt === key); if (p) submit({choice: p.choice}); return; }
    if (taskType === "rating") { if ("12345".includes(key) && key) submit({rating: Number(key)}); return; }
    const shortcut = shortcuts.find((s) => s.key === key);
    if (!shortcut) return;
    if (taskType === "multi_label") toggle(shortcut.label); else submit({label: shortcut.label});
  });

  act(next);
})();
