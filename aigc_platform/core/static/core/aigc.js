// Small helpers every page uses: the JSON API with CSRF, element building, job progress bars.
const aigc = (() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  async function api(method, url, body) {
    const options = {method, headers: {"X-CSRFToken": csrf(), Accept: "application/json"}, credentials: "same-origin"};
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    if (response.status === 204) return null;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = data.error || {message: response.statusText};
      const fields = error.fields ? " " + JSON.stringify(error.fields) : "";
      throw new Error(`${error.message}${fields}`);
    }
    return data;
  }

  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
    return node;
  }

  const TERMINAL = ["succeeded", "failed", "cancelled"];
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

  function setProgress(bar, job) {
    const percent = Math.round((job.progress || 0) * 100);
    bar.querySelector(".fill").style.width = `${percent}%`;
    bar.dataset.status = job.status;
    bar.querySelector(".label").textContent = `${percent}%`;
  }

  // The job panel of a job's page (jobs, training runs): progress bar, status, message, worker,
  // attempt, error, and which of cancel and retry apply. Elements are found by their ids.
  function showJob(bar, job) {
    setProgress(bar, job);
    const status = document.getElementById("status");
    status.textContent = job.status;
    status.className = `status ${job.status}`;
    if (job.message) document.getElementById("message").textContent = job.message;
    if (job.worker) document.getElementById("worker").textContent = job.worker;
    if (job.attempt !== undefined) document.getElementById("attempt").textContent = `${job.attempt}${job.max_attempts ? " of " + job.max_attempts : ""}`;
    if (job.error) document.getElementById("error").textContent = job.error;
    document.getElementById("cancel").disabled = TERMINAL.includes(job.status);
    document.getElementById("retry").disabled = !["failed", "cancelled"].includes(job.status);
  }

  async function loadHealth(list) {
    const response = await fetch("/api/v1/health/");
    const health = await response.json();
    list.replaceChildren(...Object.entries(health.checks).map(([name, check]) =>
      el("li", {class: check.ok ? "ok" : "bad"}, [el("strong", {}, [name]), " ", check.detail])));
  }

  async function loadJobCounts(list) {
    const statuses = ["queued", "running", "succeeded", "failed", "cancelled"];
    const counts = await Promise.all(statuses.map((s) => api("GET", `/api/v1/jobs/?status=${s}&page_size=1`)));
    list.replaceChildren(...statuses.map((s, i) => el("li", {}, [el("span", {class: `status ${s}`}, [s]), " ", counts[i].count])));
  }

  async function loadWorkersSummary(workerList, queueList) {
    const [workers, queues] = await Promise.all([api("GET", "/api/v1/workers/?page_size=100"), api("GET", "/api/v1/queues/")]);
    const shown = workers.results.filter((w) => w.status !== "offline");
    workerList.replaceChildren(...(shown.length ? shown.map((w) => el("li", {class: w.status === "online" ? "ok" : "bad"}, [
      el("strong", {}, [w.name]), ` ${w.status} · ${w.gpus.length ? w.gpus.length + " GPU" : "CPU"} · ${w.running_jobs.length} running`]))
      : [el("li", {class: "bad"}, ["No worker online: jobs wait in their queues."])]));
    queueList.replaceChildren(...Object.entries(queues.queues).map(([name, n]) => el("li", {}, [el("code", {}, [name]), ` ${n} waiting`])));
  }

  // Follows a job's server-sent events; calls onEvent(type, data) for each, until the job ends.
  function followJob(jobId, onEvent) {
    const source = new EventSource(`/api/v1/jobs/${jobId}/events/`);
    for (const type of ["snapshot", "status", "progress", "log", "token", "metrics", "sample"]) {
      source.addEventListener(type, (event) => {
        const data = JSON.parse(event.data);
        onEvent(type, data);
        if (type === "status" && data && TERMINAL.includes(data.status)) source.close();
      });
    }
    source.onerror = () => { if (source.readyState === EventSource.CLOSED) onEvent("closed", {}); };
    return source;
  }

  return {api, el, when, TERMINAL, setProgress, showJob, loadHealth, loadJobCounts, loadWorkersSummary, followJob};
})();
