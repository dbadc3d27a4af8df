// Small helpers every page uses: the JSON API with CSRF, element building, translated words, dates
// and numbers in the page's language, job progress, and the one helper that follows a job's events.
// The page loads Django's JavaScript catalogue first (gettext, ngettext, interpolate).
const aigc = (() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  const lang = () => document.documentElement.lang || "en";
  // `_` and ngettext are the names the message extraction looks for; `fill` puts named values in.
  const fill = (text, values) => interpolate(text, values, true);
  const _ = (text, values) => (values ? fill(gettext(text), values) : gettext(text));

  async function api(method, url, body) {
    // The API answers errors in the page's language.
    const options = {method, headers: {"X-CSRFToken": csrf(), Accept: "application/json", "Accept-Language": lang()}, credentials: "same-origin"};
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    if (response.status === 204) return null;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = data.error || {message: response.statusText};
      const fields = error.fields ? " " + Object.entries(error.fields).map(([name, why]) => `${name}: ${[].concat(why).join(" ")}`).join("; ") : "";
      throw new Error(`${error.message}${fields}`);
    }
    return data;
  }

  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
    for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
    return node;
  }

  const TERMINAL = ["succeeded", "failed", "cancelled"];
  // A job's (or worker's) status in the page's language; the CSS class keeps the English name.
  const STATUS = {queued: pgettext("status", "queued"), running: pgettext("status", "running"), succeeded: pgettext("status", "succeeded"),
                  failed: pgettext("status", "failed"), cancelled: pgettext("status", "cancelled"), online: pgettext("status", "online"),
                  offline: pgettext("status", "offline"), draining: pgettext("status", "draining"), ok: pgettext("status", "ok"),
                  degraded: pgettext("status", "degraded")};
  const statusLabel = (status) => STATUS[status] || status || "—";
  const when = (iso) => (iso ? new Date(iso).toLocaleString(lang()) : "—");
  const number = (value, options) => (value === null || value === undefined ? "—" : new Intl.NumberFormat(lang(), options).format(value));

  function setProgress(bar, job) {
    const fraction = Math.min(Math.max(job.progress || 0, 0), 1);
    bar.querySelector(".fill").style.width = `${Math.round(fraction * 100)}%`;
    bar.dataset.status = job.status;
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    bar.setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
    bar.querySelector(".label").textContent = number(fraction, {style: "percent"});
  }

  function setStatus(badge, status) {
    badge.textContent = statusLabel(status);
    badge.className = `status ${status || ""}`;
  }

  // The job panel of a job's page (jobs, training runs): progress bar, status, message, worker,
  // attempt, error, and which of cancel and retry apply. Elements are found by their ids.
  function showJob(bar, job) {
    setProgress(bar, job);
    setStatus(document.getElementById("status"), job.status);
    if (job.message) document.getElementById("message").textContent = job.message;
    if (job.worker) document.getElementById("worker").textContent = job.worker;
    if (job.attempt !== undefined) {
      document.getElementById("attempt").textContent = job.max_attempts
        ? _("%(attempt)s of %(max)s", {attempt: job.attempt, max: job.max_attempts}) : String(job.attempt);
    }
    if (job.error) document.getElementById("error").textContent = job.error;
    document.getElementById("cancel").disabled = TERMINAL.includes(job.status);
    document.getElementById("retry").disabled = !["failed", "cancelled"].includes(job.status);
  }

  async function loadHealth(list) {
    const health = await api("GET", "/api/v1/health/");
    // Each check's detail is for operators and admins; everyone else sees the overall state.
    const checks = health.checks || {[_("platform")]: {ok: health.status === "ok", detail: statusLabel(health.status)}};
    list.replaceChildren(...Object.entries(checks).map(([name, check]) =>
      el("li", {class: check.ok ? "ok" : "bad"}, [el("strong", {}, [name]), " ", check.detail])));
  }

  async function loadJobCounts(list) {
    const statuses = ["queued", "running", "succeeded", "failed", "cancelled"];
    const counts = await Promise.all(statuses.map((s) => api("GET", `/api/v1/jobs/?status=${s}&page_size=1`)));
    list.replaceChildren(...statuses.map((s, i) => el("li", {}, [el("span", {class: `status ${s}`}, [statusLabel(s)]), " ", number(counts[i].count)])));
  }

  async function loadWorkersSummary(workerList, queueList) {
    const [workers, queues] = await Promise.all([api("GET", "/api/v1/workers/?page_size=100"), api("GET", "/api/v1/queues/")]);
    const shown = workers.results.filter((w) => w.status !== "offline");
    workerList.replaceChildren(...(shown.length ? shown.map((w) => el("li", {class: w.status === "online" ? "ok" : "bad"}, [
      el("strong", {}, [w.name]), " ", statusLabel(w.status), " · ", w.gpus.length ? fill(ngettext("%(count)s GPU", "%(count)s GPUs", w.gpus.length), {count: w.gpus.length}) : _("CPU"),
      " · ", fill(ngettext("%(count)s running", "%(count)s running", w.running_jobs.length), {count: w.running_jobs.length})]))
      : [el("li", {class: "bad"}, [_("No worker online: jobs wait in their queues.")])]));
    queueList.replaceChildren(...Object.entries(queues.queues).map(([name, n]) => el("li", {}, [el("code", {}, [name]), " ", fill(ngettext("%(count)s waiting", "%(count)s waiting", n), {count: n})])));
  }

  const EVENT_TYPES = ["snapshot", "status", "progress", "log", "token", "attempt", "variant", "section", "metrics", "sample"];

  // The one way a page follows a job: its server-sent events, each handed to handlers[type](data)
  // (or to handlers(type, data) when handlers is one function), until the job ends; then "end" with
  // the job, once. Returns a handle whose close() stops following.
  function followJob(jobId, handlers) {
    const call = (type, data) => (typeof handlers === "function" ? handlers(type, data) : handlers[type] && handlers[type](data));
    const source = new EventSource(`/api/v1/jobs/${jobId}/events/`);
    let ended = false;
    const end = (job) => {
      if (ended) return;
      ended = true;
      source.close();
      call("end", job);
    };
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (event) => {
        const data = JSON.parse(event.data);
        call(type, data);
        if (type === "status" && data && TERMINAL.includes(data.status)) end(data);
      });
    }
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED && !ended) api("GET", `/api/v1/jobs/${jobId}/`).then(end, () => end(null));
    };
    return {close: () => { ended = true; source.close(); }};
  }

  // Reads JSON as it arrives, character by character, and keeps the value it describes so far: open
  // strings hold their text up to now, open arrays and objects what they hold. No syntax ever shows.
  class PartialJson {
    constructor() { this.root = undefined; this.stack = []; this.text = null; this.isKey = false; this.escape = ""; this.literal = ""; }

    feed(piece) {
      for (const char of piece) this.read(char);
      return this.root;
    }

    place(value) {
      const top = this.stack[this.stack.length - 1];
      if (!top) { this.root = value; return; }
      if (Array.isArray(top.value)) { top.slot = top.value.length; top.value.push(value); } else { top.slot = top.key; top.value[top.key] = value; }
    }

    replace(value) {
      const top = this.stack[this.stack.length - 1];
      if (!top) this.root = value; else top.value[top.slot] = value;
    }

    endLiteral() {
      if (!this.literal) return;
      const word = this.literal;
      this.literal = "";
      const value = word === "true" ? true : word === "false" ? false : word === "null" ? null : Number(word);
      this.place(Number.isNaN(value) ? word : value);
    }

    read(char) {
      if (this.text !== null) return this.readString(char);
      const top = this.stack[this.stack.length - 1];
      if (char === '"') {
        this.endLiteral();
        this.text = "";
        this.isKey = Boolean(top && !Array.isArray(top.value) && top.wantKey);
        if (!this.isKey) this.place("");
      } else if (char === "{" || char === "[") {
        this.endLiteral();
        const value = char === "{" ? {} : [];
        this.place(value);
        this.stack.push({value, key: null, slot: null, wantKey: char === "{"});
      } else if (char === "}" || char === "]") {
        this.endLiteral();
        this.stack.pop();
      } else if (char === ":") {
        this.endLiteral();
        if (top) top.wantKey = false;
      } else if (char === ",") {
        this.endLiteral();
        if (top && !Array.isArray(top.value)) top.wantKey = true;
      } else if (/\s/.test(char)) {
        this.endLiteral();
      } else {
        this.literal += char;
      }
      return undefined;
    }

    readString(char) {
      if (this.escape) {
        this.escape += char;
        if (this.escape.length === 2 && this.escape[1] !== "u") {
          this.append({n: "\n", t: "\t", r: "\r", b: "\b", f: "\f"}[char] ?? char);
          this.escape = "";
        } else if (this.escape.length === 6) {
          this.append(String.fromCharCode(parseInt(this.escape.slice(2), 16)));
          this.escape = "";
        }
      } else if (char === "\\") {
        this.escape = "\\";
      } else if (char === '"') {
        if (this.isKey) this.stack[this.stack.length - 1].key = this.text;
        this.text = null;
      } else {
        this.append(char);
      }
    }

    append(text) {
      this.text += text;
      if (!this.isKey) this.replace(this.text);
    }
  }

  // Speed and time left, from the tokens that arrived so far: tokens per second over the job's
  // writing time, and the tokens a finished item took on average.
  class Pace {
    constructor() { this.tokens = 0; this.started = null; this.itemTokens = []; }
    token() { if (this.started === null) this.started = performance.now(); this.tokens += 1; }
    itemDone(tokens) { if (tokens > 0) this.itemTokens.push(tokens); }
    perSecond() {
      const seconds = this.started === null ? 0 : (performance.now() - this.started) / 1000;
      return seconds > 1 ? this.tokens / seconds : null;
    }
    secondsLeft(itemsLeft, tokensIntoCurrent = 0) {
      const speed = this.perSecond();
      if (!speed || !this.itemTokens.length) return null;
      const average = this.itemTokens.reduce((a, b) => a + b, 0) / this.itemTokens.length;
      return Math.max(itemsLeft * average - tokensIntoCurrent, 0) / speed;
    }
    describe(itemsLeft, tokensIntoCurrent) {
      const speed = this.perSecond();
      if (!speed) return "";
      const parts = [_("%(speed)s tokens/s", {speed: number(speed, {maximumFractionDigits: 1})})];
      const left = this.secondsLeft(itemsLeft, tokensIntoCurrent);
      if (left !== null) {
        parts.push(left < 60 ? _("about %(seconds)s s left", {seconds: number(Math.ceil(left))})
          : _("about %(minutes)s min left", {minutes: number(Math.ceil(left / 60))}));
      }
      return parts.join(" · ");
    }
  }

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return;
    }
    // Plain http off localhost has no clipboard API.
    const area = el("textarea", {"aria-hidden": "true", style: "position:fixed;left:-9999px"});
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }

  // Every progress bar is announced as one, whether or not its template says so.
  for (const bar of document.querySelectorAll(".progress:not([role])")) {
    for (const [name, value] of [["role", "progressbar"], ["aria-valuemin", "0"], ["aria-valuemax", "100"]]) bar.setAttribute(name, value);
  }

  return {api, el, _, fill, when, number, lang, TERMINAL, statusLabel, setStatus, setProgress, showJob, loadHealth, loadJobCounts,
          loadWorkersSummary, followJob, PartialJson, Pace, copyText};
})();
