// The courseware creator page: the lesson form, the plan, slides and questions previewed as they are
// written, progress by item and attempt with an estimate, Stop, edits in place, one-click actions
// per slide and question, downloads, and the creator's lessons.
(() => {
  const {api, el, _, fill} = aigc;
  const form = document.getElementById("lesson-form");
  const slidesBox = document.getElementById("slides");
  const quizBox = document.getElementById("quiz");
  const planBox = document.getElementById("plan");
  const statusBadge = document.getElementById("job-status");
  const progress = document.getElementById("progress");
  const progressText = document.getElementById("progress-text");
  const stopButton = document.getElementById("stop");
  const notWritten = document.getElementById("not-written");
  const error = document.getElementById("form-error");
  const lessonHeading = document.getElementById("lesson-heading");
  let lessonId = null;
  let running = null; // {total, done, attempts: {key: event}, pace, previews: {key: LivePreview}}

  const SECTION_NAMES = {lesson_plan: () => _("lesson plan"), outline: () => _("outline"), slide: () => _("slide"), quiz: () => _("question")};
  const slideLabel = (index) => fill(_("Slide %(number)s"), {number: index + 1});
  const questionLabel = (index) => fill(_("Question %(number)s"), {number: index + 1});

  function setJob(job) {
    aigc.setStatus(statusBadge, job.status);
    aigc.setProgress(progress, job);
    stopButton.hidden = aigc.TERMINAL.includes(job.status);
  }

  const summary = (entry) => {
    if (!entry) return "";
    const how = entry.edited ? _("edited") : fill(ngettext("%(count)s attempt", "%(count)s attempts", entry.attempts), {count: entry.attempts});
    return `${how} · ${entry.passed ? _("passed its checks") : _("a check failed")}`;
  };

  function card(box, cls, index) {
    let node = box.querySelector(`[data-index="${index}"]`);
    if (!node) {
      node = el("article", {class: cls, "data-index": index});
      const after = [...box.children].find((other) => Number(other.dataset.index) > index);
      box.insertBefore(node, after || null);
    }
    return node;
  }

  // Where a section's item is previewed while it is written, and how its JSON reads.
  function liveTarget(section, index) {
    if (section === "lesson_plan") {
      let node = planBox.querySelector(".plan");
      if (!node || !node.querySelector(".live")) {
        node = el("article", {class: "plan writing", "aria-busy": "true"}, [el("h3", {}, [_("Lesson plan")]), el("span", {class: "muted attempt"}), el("div", {class: "live", "data-testid": "live-item"})]);
        planBox.replaceChildren(node);
      }
      return {node, render: items.previewPlan};
    }
    if (section === "outline") return null;  // the slides' titles show on the slide cards when the outline is done
    const [box, cls, label, render] = section === "slide" ? [slidesBox, "slide", slideLabel, items.previewSlide] : [quizBox, "question", questionLabel, items.previewQuestion];
    const node = card(box, cls, index);
    if (!node.querySelector(".live")) {
      node.setAttribute("aria-busy", "true");
      node.classList.add("writing");
      const heading = node.dataset.title ? `${label(index)}: ${node.dataset.title}` : label(index);
      node.replaceChildren(el("h3", {}, [heading]), el("span", {class: "muted attempt"}), el("div", {class: "live", "data-testid": "live-item"}));
    }
    return {node, render};
  }

  function preview(section, index) {
    const key = `${section}:${index}`;
    const target = liveTarget(section, index);
    if (!target) return null;
    const live = target.node.querySelector(".live");
    if (!running.previews[key] || running.previews[key].box !== live) running.previews[key] = new items.LivePreview(live, target.render);
    return {preview: running.previews[key], node: target.node};
  }

  function describeProgress() {
    if (!running) return;
    const open = Object.values(running.attempts).filter((a) => !running.finished.has(`${a.section}:${a.index}`));
    const parts = [fill(_("%(done)s of %(total)s items written"), {done: running.done, total: running.total})];
    for (const a of open.slice(0, 3)) {
      const what = a.section === "slide" ? slideLabel(a.index) : a.section === "quiz" ? questionLabel(a.index) : SECTION_NAMES[a.section]();
      parts.push(fill(_("%(item)s, attempt %(attempt)s of %(max)s"), {item: what, attempt: a.attempt, max: a.max_attempts}));
    }
    const into = open.reduce((sum, a) => sum + ((running.previews[`${a.section}:${a.index}`] || {}).tokens || 0), 0);
    const pace = running.pace.describe(running.total - running.done, into);
    if (pace) parts.push(pace);
    progressText.textContent = parts.join(" · ");
  }

  const checksOf = (entry) => items.checksList(entry && entry.checks, entry && entry.judgement);

  function showPlan(plan, entry) {
    if (!plan || !plan.activities) return planBox.replaceChildren();
    planBox.replaceChildren(el("article", {class: "plan", "data-testid": "lesson-plan"}, [
      el("h3", {}, [fill(_("Lesson plan · %(minutes)s minutes"), {minutes: aigc.number(plan.total_minutes)})]), el("p", {}, [plan.overview]),
      el("ul", {}, plan.objectives.map((o) => el("li", {}, [fill(_("Objective: %(objective)s"), {objective: o})]))),
      el("ol", {}, plan.activities.map((a) => el("li", {}, [fill(_("%(name)s (%(minutes)s min): %(description)s"), a)]))),
      el("span", {class: "muted"}, [summary(entry)]), checksOf(entry)]));
  }

  function reviewHandler(section, index) {
    return async (verdict, reason) => {
      const lesson = await api("POST", `/api/v1/courseware/${lessonId}/${section}/${index}/review/`, {verdict, reason});
      return lesson.checks[section][index].review;
    };
  }

  function regenerateHandler(kind, index, node) {
    return async () => {
      const job = await api("POST", `/api/v1/courseware/${lessonId}/${kind}/${index}/regenerate/`);
      node.replaceChildren();
      node.dataset.title = "";
      // Focus waits on Stop while the item is written, then goes to the new item's card.
      const box = kind === "slides" ? slidesBox : quizBox;
      follow(job, {total: 1, onEnd: () => showLesson(lessonId), focusAfter: () => box.querySelector(`[data-index="${index}"]`)});
      items.focusOn(stopButton);
    };
  }

  function slideView(index, slide) {
    return [el("h3", {}, [`${slideLabel(index)}: ${slide.title}`]), el("ul", {}, slide.bullets.map((b) => el("li", {}, [b]))),
      el("p", {class: "muted"}, [fill(_("Notes: %(notes)s"), {notes: slide.notes})])];
  }

  function showSlide(index, slide, entry, editable) {
    const node = card(slidesBox, "slide", index);
    node.setAttribute("data-testid", "slide");
    node.setAttribute("aria-busy", "false");
    node.classList.remove("writing");
    if (!editable) {
      node.replaceChildren(...slideView(index, slide), el("span", {class: "muted"}, [summary(entry)]));
      return;
    }
    const label = slideLabel(index);
    const title = el("input", {name: "title", "aria-label": fill(_("%(item)s title"), {item: label})}); title.value = slide.title;
    const bullets = el("textarea", {name: "bullets", rows: 3, "aria-label": fill(_("%(item)s bullets, one a line"), {item: label})}); bullets.value = slide.bullets.join("\n");
    const notes = el("textarea", {name: "notes", rows: 2, "aria-label": fill(_("%(item)s notes"), {item: label})}); notes.value = slide.notes;
    const edit = el("button", {type: "button", "data-testid": "edit", "aria-expanded": "false"}, [_("Edit")]);
    const save = el("button", {type: "button", "data-testid": "save-slide"}, [_("Save slide")]);
    const editor = el("div", {class: "editor", hidden: "hidden"}, [title, bullets, notes, el("div", {class: "actions"}, [save])]);
    const view = el("div", {class: "view"}, slideView(index, slide));
    const toggle = (open) => {
      editor.hidden = !open;
      view.hidden = open;
      edit.setAttribute("aria-expanded", String(open));
      if (open) title.focus(); else edit.focus();
    };
    edit.addEventListener("click", () => toggle(editor.hidden));
    items.closesOnEscape(editor, () => toggle(false));
    save.addEventListener("click", async () => {
      try {
        const lesson = await api("PATCH", `/api/v1/courseware/${lessonId}/slides/${index}/`,
          {title: title.value, notes: notes.value, bullets: bullets.value.split("\n").map((b) => b.trim()).filter(Boolean)});
        showSlide(index, lesson.slides[index], lesson.checks.slides[index], true);
        node.querySelector('[data-testid="edit"]').focus();
      } catch (e) { error.textContent = e.message; }
    });
    node.replaceChildren(view, el("span", {class: "muted"}, [summary(entry)]), " ", items.passedBadge(entry ? entry.passed : false), editor,
      items.actions({label, verdict: entry && entry.review ? entry.review.verdict : "", reason: entry && entry.review ? entry.review.reason : "",
                     onReview: reviewHandler("slides", index), onRegenerate: regenerateHandler("slides", index, node), extra: [edit]}),
      checksOf(entry));
  }

  function questionView(index, item) {
    return [el("h3", {}, [`${questionLabel(index)}: ${item.question}`]),
      el("ol", {type: "A"}, item.choices.map((c) => el("li", {class: c === item.answer ? "answer" : ""}, [c === item.answer ? fill(_("%(choice)s (the answer)"), {choice: c}) : c]))),
      el("p", {class: "muted"}, [item.explanation])];
  }

  function showQuestion(index, item, entry, editable) {
    const node = card(quizBox, "question", index);
    node.setAttribute("data-testid", "question");
    node.setAttribute("aria-busy", "false");
    node.classList.remove("writing");
    if (!editable) {
      node.replaceChildren(...questionView(index, item), el("span", {class: "muted"}, [summary(entry)]));
      return;
    }
    const label = questionLabel(index);
    const question = el("input", {name: "question", "aria-label": label}); question.value = item.question;
    const choices = item.choices.map((c, i) => { const input = el("input", {name: `choice-${i}`, "aria-label": fill(_("%(item)s choice %(number)s"), {item: label, number: i + 1})}); input.value = c; return input; });
    const answer = el("select", {name: "answer", "aria-label": fill(_("%(item)s answer"), {item: label})}, item.choices.map((c, i) => el("option", {value: i}, [fill(_("Answer: choice %(number)s"), {number: i + 1})])));
    answer.value = String(item.choices.indexOf(item.answer));
    const explanation = el("textarea", {name: "explanation", rows: 2, "aria-label": fill(_("%(item)s explanation"), {item: label})}); explanation.value = item.explanation;
    const edit = el("button", {type: "button", "data-testid": "edit", "aria-expanded": "false"}, [_("Edit")]);
    const save = el("button", {type: "button", "data-testid": "save-question"}, [_("Save question")]);
    const editor = el("div", {class: "editor", hidden: "hidden"}, [question, ...choices, answer, explanation, el("div", {class: "actions"}, [save])]);
    const view = el("div", {class: "view"}, questionView(index, item));
    const toggle = (open) => {
      editor.hidden = !open;
      view.hidden = open;
      edit.setAttribute("aria-expanded", String(open));
      if (open) question.focus(); else edit.focus();
    };
    edit.addEventListener("click", () => toggle(editor.hidden));
    items.closesOnEscape(editor, () => toggle(false));
    save.addEventListener("click", async () => {
      try {
        const values = choices.map((c) => c.value);
        const lesson = await api("PATCH", `/api/v1/courseware/${lessonId}/quiz/${index}/`,
          {question: question.value, choices: values, answer: values[Number(answer.value)], explanation: explanation.value});
        showQuestion(index, lesson.quiz[index], lesson.checks.quiz[index], true);
        node.querySelector('[data-testid="edit"]').focus();
      } catch (e) { error.textContent = e.message; }
    });
    node.replaceChildren(view, el("span", {class: "muted"}, [summary(entry)]), " ", items.passedBadge(entry ? entry.passed : false), editor,
      items.actions({label, verdict: entry && entry.review ? entry.review.verdict : "", reason: entry && entry.review ? entry.review.reason : "",
                     onReview: reviewHandler("quiz", index), onRegenerate: regenerateHandler("quiz", index, node), extra: [edit]}),
      checksOf(entry));
  }

  function showNotWritten(missing) {
    if (!missing) { notWritten.hidden = true; return; }
    const parts = [];
    if (missing.lesson_plan) parts.push(_("the lesson plan"));
    if (missing.slides && missing.slides.length) parts.push(fill(ngettext("%(count)s slide (%(titles)s)", "%(count)s slides (%(titles)s)", missing.slides.length), {count: missing.slides.length, titles: missing.slides.join(", ")}));
    if (missing.quiz) parts.push(fill(ngettext("%(count)s quiz question", "%(count)s quiz questions", missing.quiz), {count: missing.quiz}));
    notWritten.hidden = !parts.length;
    notWritten.textContent = fill(_("Stopped before it was done. Not written: %(items)s."), {items: parts.join("; ")});
  }

  async function showLesson(id) {
    const lesson = await api("GET", `/api/v1/courseware/${id}/`);
    lessonId = lesson.id;
    if (lesson.job) setJob(lesson.job);
    const advice = document.getElementById("generator-advice");
    advice.textContent = lesson.generator_advice || "";
    advice.hidden = !lesson.generator_advice;
    const checks = lesson.checks || {};
    showPlan(lesson.lesson_plan, checks.lesson_plan);
    slidesBox.replaceChildren(); quizBox.replaceChildren();
    lesson.slides.forEach((s, i) => showSlide(i, s, (checks.slides || [])[i], true));
    lesson.quiz.forEach((q, i) => showQuestion(i, q, (checks.quiz || [])[i], true));
    showNotWritten(checks.not_written);
    const downloads = document.getElementById("downloads");
    downloads.hidden = !lesson.slides.length;
    for (const link of downloads.querySelectorAll("a")) link.href = `/api/v1/courseware/${id}/export/?format=${link.dataset.format}`;
  }

  // `focusAfter` names where focus goes when the job ends if it was on Stop (which hides) or lost.
  function follow(job, {total, onEnd, focusAfter = () => lessonHeading}) {
    running = {total, done: 0, attempts: {}, finished: new Set(), pace: new aigc.Pace(), previews: {}};
    setJob(job);
    stopButton.onclick = async () => {
      stopButton.disabled = true;
      try { await api("POST", `/api/v1/jobs/${job.id}/cancel/`); } catch (e) { error.textContent = e.message; } finally { stopButton.disabled = false; }
    };
    aigc.followJob(job.id, {
      snapshot: (state) => state && setJob(state),
      progress: (data) => aigc.setProgress(progress, {progress: data.progress, status: "running"}),
      attempt: (data) => {
        const key = `${data.section}:${data.index}`;
        running.attempts[key] = data;
        const target = preview(data.section, data.index);
        if (target) {
          target.node.querySelector(".attempt").textContent = data.attempt > 1
            ? fill(_("rewriting (attempt %(attempt)s of %(max)s): a check failed"), {attempt: data.attempt, max: data.max_attempts}) : _("writing…");
        }
        describeProgress();
      },
      token: (data) => {
        running.pace.token();
        const target = preview(data.section, data.index);
        if (target) target.preview.feed(data.text, data.attempt);
        describeProgress();
      },
      section: (data) => {
        const key = `${data.section}:${data.index}`;
        running.finished.add(key);
        running.done += 1;
        running.pace.itemDone((running.previews[key] || {}).tokens || 0);
        if (data.section === "outline") {
          data.item.titles.forEach((title, index) => {
            const node = card(slidesBox, "slide", index);
            node.dataset.title = title;
            const heading = node.querySelector("h3");
            if (heading) heading.textContent = `${slideLabel(index)}: ${title}`;
            else node.replaceChildren(el("h3", {}, [`${slideLabel(index)}: ${title}`]), el("span", {class: "muted"}, [_("waiting to be written")]));
          });
        } else if (data.section === "lesson_plan") showPlan(data.item, data);
        else if (data.section === "slide") showSlide(data.index, data.item, data, false);
        else if (data.section === "quiz") showQuestion(data.index, data.item, data, false);
        describeProgress();
      },
      status: (state) => state && setJob(state),
      end: async (state) => {
        const refocus = document.activeElement === stopButton || document.activeElement === document.body;
        stopButton.hidden = true;
        if (state) setJob(state);
        if (state && state.status === "failed") error.textContent = state.error || state.message || aigc.statusLabel(state.status);
        progressText.textContent = "";
        running = null;
        await onEnd(state);
        if (refocus) items.focusOn(focusAfter());
      },
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    planBox.replaceChildren(); slidesBox.replaceChildren(); quizBox.replaceChildren();
    showNotWritten(null);
    document.getElementById("downloads").hidden = true;
    const value = (name) => form.elements.namedItem(name).value;
    const body = {
      topic: value("topic"), grade_level: Number(value("grade_level")), language: value("language"),
      objectives: value("objectives").split("\n").map((o) => o.trim()).filter(Boolean),
      slide_count: Number(value("slide_count")), quiz_questions: Number(value("quiz_questions")),
    };
    try {
      const job = await api("POST", "/api/v1/courseware/", body);
      lessonId = Number(job.object.id);  // a started job names the lesson it writes
      // The plan, the outline, each slide and each question.
      follow(job, {total: 2 + body.slide_count + body.quiz_questions, onEnd: async () => { await showLesson(lessonId); loadHistory(); }});
    } catch (e) { error.textContent = e.message; }
  });

  async function loadHistory() {
    const page = await api("GET", "/api/v1/courseware/?page_size=20");
    document.getElementById("history").replaceChildren(...page.results.map((lesson) => {
      const link = el("a", {href: "#"}, [lesson.topic]);
      link.addEventListener("click", async (event) => {
        event.preventDefault();
        await showLesson(lesson.id);
        items.focusOn(lessonHeading);
      });
      return el("tr", {}, [el("td", {}, [aigc.when(lesson.created_at)]), el("td", {}, [link]), el("td", {}, [aigc.number(lesson.grade_level)]),
        el("td", {}, [aigc.number(lesson.slides.length)]), el("td", {}, [el("span", {class: `status ${lesson.job ? lesson.job.status : ""}`}, [lesson.job ? aigc.statusLabel(lesson.job.status) : "—"])])]);
    }));
  }
  loadHistory();
})();
