"""Soak and faults: 500 jobs of mixed kinds on the full stack on loopback (PostgreSQL, Redis,
SeaweedFS, three Celery workers, the scheduler and the ASGI server, all real processes) while two
workers are killed with SIGKILL, Redis restarts and SeaweedFS is stopped for 10 s.

Then every job has ended, none ran to completion twice, no result is lost and no File row lacks its
object. The fault moments are drawn from a seeded random, so a failure replays the same schedule.
"""

import json
import os
import random
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from django.db import connection
from rest_framework.authtoken.models import Token

from aigc_platform import embedded
from infrastructure.compute.models import TERMINAL_STATUSES, Job, JobLog, JobStatus
from infrastructure.storage.backends import get_backend
from infrastructure.storage.models import File
from infrastructure.storage.seaweedfs import SeaweedFS, seaweedfs_start
from tests import processes
from tools_layer.datasets.models import Dataset, DatasetItem

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.timeout(420)]

SEED = 8
JOBS = 500
IMPORTS = 40  # dataset imports among the jobs: each stores its upload and a shard in SeaweedFS
LINES_PER_IMPORT = 12
SUBMIT_SECONDS = 40.0  # jobs are submitted evenly over this long, so every fault meets a loaded stack
S3_DOWN_SECONDS = 10.0
REDIS_DOWN_SECONDS = 3.0
DRAIN_TIMEOUT = 150.0  # after the last submission, every job must have ended within this
WORKERS = 3
CANCEL_AFTER_SUBMISSIONS = 15  # about 1.2 s at the submission rate
BUCKET = "soak"


@dataclass
class Restartable:
    """A server process that the test stops and starts again on the same ports and data."""

    popen: subprocess.Popen
    log_path: Path
    cwd: Path | None = None

    def stop(self, timeout: float = 15) -> None:
        embedded.stop_process_group(self.popen, timeout)

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.popen.args, stdout=log, stderr=subprocess.STDOUT, cwd=self.cwd, start_new_session=True
            )


@pytest.fixture
def soak_redis(tmp_path):
    """A Redis of this test's own (append-only file), so restarting it leaves the suite's Redis alone."""
    group = embedded.ProcessGroup(log_dir=tmp_path)
    url = embedded.redis_start(group, data_dir=tmp_path, env=dict(os.environ))
    server = Restartable(group.processes[0].popen, tmp_path / "redis.log")
    yield url, server
    server.stop()
    group.stop()


@pytest.fixture
def soak_s3(tmp_path, settings):
    server = seaweedfs_start(tmp_path / "seaweedfs")
    for name, value in server.settings(bucket=BUCKET).items():
        setattr(settings, name, value)
    restartable = Restartable(server.popen, server.log_path, cwd=tmp_path / "seaweedfs")
    yield server, restartable
    restartable.stop()


def _s3_answers(server: SeaweedFS) -> bool:
    from minio import Minio

    try:
        Minio(server.endpoint, access_key=server.access_key, secret_key=server.secret_key, secure=False).list_buckets()
        return True
    except Exception:
        return False


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@dataclass
class Plan:
    """What the test asked for, by job id, to compare with what the platform did."""

    echo: dict[str, dict] = field(default_factory=dict)  # job id → params
    imports: dict[str, str] = field(default_factory=dict)  # job id → dataset id
    cancel_asked: set[str] = field(default_factory=set)
    refused: Counter = field(default_factory=Counter)  # HTTP status of submissions that were refused, retried


def _echo_params(rng: random.Random, index: int) -> dict:
    roll = rng.random()
    if roll < 0.06:
        return {"message": f"fail {index}", "steps": 3, "delay": 0.05, "fail_at_step": 2}
    if roll < 0.16:
        # Long enough that a kill or a cancel finds it running.
        return {"message": f"long {index}", "steps": 12, "delay": 0.25}
    return {"message": f"echo {index}", "steps": rng.randint(1, 4), "delay": rng.choice([0.02, 0.05, 0.1])}


def _import_lines(index: int) -> bytes:
    return "".join(
        json.dumps({"text": f"soak import {index} line {line}", "label": "soak"}) + "\n"
        for line in range(LINES_PER_IMPORT)
    ).encode()


class Submitter(threading.Thread):
    """Submits every job over HTTP, evenly spread over SUBMIT_SECONDS, as a client would: a refused
    request (the web server's broker or storage is down) is sent again a moment later."""

    def __init__(self, *, url: str, token: str, rng: random.Random):
        super().__init__(name="soak-submitter", daemon=True)
        self.url, self.rng = url, rng
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.plan = Plan()
        self.error: BaseException | None = None
        kinds = ["import"] * IMPORTS + ["echo"] * (JOBS - IMPORTS)
        rng.shuffle(kinds)
        self.kinds = kinds
        self.cancel_at: list[tuple[int, str]] = []

    def _post(self, path: str, deadline: float, **kwargs) -> dict:
        while True:
            try:
                response = self.session.post(f"{self.url}{path}", timeout=30, **kwargs)
            except requests.ConnectionError:
                response = None
            if response is not None and response.status_code in (200, 201, 202):
                return response.json()
            if response is not None and response.status_code < 500:
                raise AssertionError(f"POST {path} was refused: {response.status_code} {response.text[:500]}")
            self.plan.refused[response.status_code if response is not None else "connection"] += 1
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"POST {path} kept failing: {response.text[:500] if response is not None else 'no answer'}"
                )
            time.sleep(0.5)

    def run(self) -> None:
        try:
            start = time.monotonic()
            for index, kind in enumerate(self.kinds):
                time.sleep(max(0.0, start + index * SUBMIT_SECONDS / JOBS - time.monotonic()))
                deadline = time.monotonic() + 60
                if kind == "echo":
                    params = _echo_params(self.rng, index)
                    job = self._post("/api/v1/jobs/", deadline, json={"kind": "echo", "params": params})
                    self.plan.echo[job["id"]] = params
                    if params["message"].startswith("long") and self.rng.random() < 0.3:
                        self.cancel_at.append((index + CANCEL_AFTER_SUBMISSIONS, job["id"]))
                else:
                    dataset = self._post("/api/v1/datasets/", deadline, json={"name": f"soak {index}", "kind": "text"})
                    data = _import_lines(index)
                    job = self._post(
                        f"/api/v1/datasets/{dataset['id']}/import/",
                        deadline,
                        files={"file": (f"soak-{index}.jsonl", data, "application/x-ndjson")},
                    )
                    self.plan.imports[job["id"]] = dataset["id"]
                while self.cancel_at and self.cancel_at[0][0] <= index:
                    self._cancel(self.cancel_at.pop(0)[1], deadline)
        except BaseException as error:  # reported by the test's main thread
            self.error = error

    def _cancel(self, job_id: str, deadline: float) -> None:
        """Cancel a long job about a second after it was submitted: running by then, or still queued."""
        while True:
            response = self.session.post(f"{self.url}/api/v1/jobs/{job_id}/cancel/", timeout=30)
            if response.status_code in (200, 409):  # 409: it had already ended
                self.plan.cancel_asked.add(job_id)
                return
            if response.status_code < 500 or time.monotonic() > deadline:
                raise AssertionError(f"Cancel of {job_id} failed: {response.status_code} {response.text[:500]}")
            self.plan.refused[response.status_code] += 1
            time.sleep(0.5)


def _wait_until_ended(jobs, timeout: float, after: str) -> None:
    deadline = time.monotonic() + timeout
    while jobs.exclude(status__in=TERMINAL_STATUSES).exists():
        if time.monotonic() > deadline:
            pytest.fail(f"Jobs still not ended {timeout:.0f} s after {after}:\n{_stuck_report(jobs)}")
        time.sleep(0.5)


def _stuck_report(jobs) -> str:
    lines = []
    for job in jobs.exclude(status__in=TERMINAL_STATUSES):
        lines.append(
            f"{job.id} {job.kind} {job.status} attempt={job.attempt}/{job.max_attempts} worker={job.worker!r} "
            f"queue={job.queue!r} heartbeat={job.heartbeat_at} message={job.message!r}"
        )
    return "\n".join(lines)


def _start_worker(log_dir: Path, env: dict[str, str]) -> processes.Service:
    """Start a worker from a helper thread (starting takes seconds), closing that thread's connection."""
    try:
        return processes.start_worker(log_dir, queues="default", concurrency=2, **env)
    finally:
        connection.close()


def _deaths_report(workers: list[processes.Service], killed: list[processes.Service]) -> str:
    """The workers that exited though the test did not kill them, with the end of their logs."""
    dead = [w for w in workers if w not in killed and w.popen.poll() is not None]
    return "\n".join(f"{w.name} exited ({w.popen.returncode}):\n{w.log()[-3000:]}" for w in dead)


def _failed_on_storage(job: Job) -> bool:
    """Failed saying storage was unreachable (or, while it restarts, that an object was missing)."""
    return job.status == JobStatus.FAILED and "storage" in job.error.lower()


def test_soak_with_worker_kills_redis_restart_and_storage_outage(tmp_path, soak_redis, soak_s3, operator):
    rng = random.Random(SEED)
    broker_url, redis_server = soak_redis
    s3, s3_server = soak_s3
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    env = {"CELERY_BROKER_URL": broker_url, **s3.env(bucket=BUCKET)}
    started = time.monotonic()
    services: list[processes.Service] = []
    starter = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="soak-start")
    faults: list[str] = []
    try:
        # Given the full stack, with three workers on the default queue and the scheduler that sweeps
        web_service, url = processes.start_web(log_dir, **env)
        services.append(web_service)
        services.append(processes.start_scheduler(log_dir, **env))
        starting = [starter.submit(_start_worker, log_dir, env) for _ in range(WORKERS)]
        workers = [future.result() for future in starting]
        services.extend(workers)
        token = Token.objects.create(user=operator).key
        submitter = Submitter(url=url, token=token, rng=random.Random(SEED + 1))

        # When 500 jobs are submitted over 40 s, and meanwhile the faults strike at seeded moments
        schedule = sorted(
            [
                (rng.uniform(4, 10), "kill"),
                (rng.uniform(12, 16), "redis"),
                (rng.uniform(18, 22), "s3"),
                (rng.uniform(33, 38), "kill"),
            ]
        )
        t0 = time.monotonic()
        submitter.start()
        replacements = []
        killed: list[processes.Service] = []
        for at, fault in schedule:
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            moment = time.monotonic() - t0
            if fault == "kill":
                busy = set(Job.objects.filter(status=JobStatus.RUNNING).values_list("worker", flat=True))
                live = [w for w in workers if w.popen.poll() is None]
                assert live, f"every worker died on its own (faults: {faults}):\n{_deaths_report(workers, killed)}"
                victims = [w for w in live if f"{w.name}@localhost" in busy] or live
                victim = rng.choice(victims)
                victim.kill()
                killed.append(victim)
                faults.append(
                    f"{moment:.1f}s SIGKILL {victim.name} (running jobs: {f'{victim.name}@localhost' in busy})"
                )
                # A supervisor starts a fresh worker in its place.
                replacements.append(starter.submit(_start_worker, log_dir, env))
            elif fault == "redis":
                redis_server.stop()
                time.sleep(REDIS_DOWN_SECONDS)
                redis_server.start()
                embedded.wait_until(lambda: _redis_answers(broker_url), timeout=15, what="Redis after its restart")
                faults.append(f"{moment:.1f}s Redis restarted ({time.monotonic() - t0 - moment:.1f}s down)")
            else:
                s3_server.stop()
                time.sleep(S3_DOWN_SECONDS)
                s3_server.start()
                embedded.wait_until(lambda: _s3_answers(s3), timeout=30, what="SeaweedFS after its outage")
                faults.append(f"{moment:.1f}s SeaweedFS stopped ({time.monotonic() - t0 - moment:.1f}s down)")
        started_late = [future.result() for future in replacements]
        services.extend(started_late)
        workers.extend(started_late)
        submitter.join(timeout=SUBMIT_SECONDS + 120)
        assert not submitter.is_alive(), "the submitter did not finish"
        if submitter.error:
            raise submitter.error
        plan = submitter.plan
        submitted = set(plan.echo) | set(plan.imports)
        assert len(submitted) == JOBS

        # Then every job ends, within a bounded time
        drain_started = time.monotonic()
        _wait_until_ended(Job.objects.filter(owner=operator), DRAIN_TIMEOUT, f"the last submission (faults: {faults})")
        drained_in = time.monotonic() - drain_started

        # (imports that met the storage outage failed saying so, and kept nothing; as an operator
        # would, retry them now that storage is back)
        retried = [job_id for job_id in plan.imports if _failed_on_storage(Job.objects.get(pk=job_id))]
        for job_id in retried:
            assert not DatasetItem.objects.filter(dataset_id=plan.imports[job_id]).exists(), job_id
            response = submitter.session.post(f"{url}/api/v1/jobs/{job_id}/retry/", timeout=30)
            assert response.status_code == 202, response.text
        _wait_until_ended(Job.objects.filter(pk__in=retried), 60, "the retry of the imports")

        # and no worker died but those the test killed: a worker rides out the Redis restart and the
        # storage outage
        assert not _deaths_report(workers, killed), _deaths_report(workers, killed)
    finally:
        starter.shutdown(wait=True)
        for service in reversed(services):
            service.stop()

    jobs = {str(job.id): job for job in Job.objects.filter(owner=operator)}
    # (a submission the server refused left no job behind: it answers 202 even while Redis is down)
    assert set(jobs) == submitted
    statuses = Counter(job.status for job in jobs.values())
    attempts = Counter(job.attempt for job in jobs.values())
    logs: dict[tuple[str, int], list[str]] = {}
    for job_id, attempt, line in JobLog.objects.filter(job__owner=operator).values_list("job_id", "attempt", "line"):
        logs.setdefault((str(job_id), attempt), []).append(line)

    # and none ran to completion twice: the attempt that finished a job is its last one (no attempt
    # started after it ended), and its result names that attempt
    for job_id, job in jobs.items():
        assert job.attempt <= job.max_attempts, job_id
        later = [attempt for (logged, attempt) in logs if logged == job_id and attempt > job.attempt]
        assert not later, f"job {job_id} ({job.status} at attempt {job.attempt}) logged from later attempts {later}"

    # and no result is lost: every echo job has the outcome it asked for
    for job_id, params in plan.echo.items():
        job = jobs[job_id]
        if params.get("fail_at_step"):
            assert job.status == JobStatus.FAILED and job.error == "Failed on purpose at step 2.", (
                job_id,
                job.status,
                job.error,
            )
        elif job_id in plan.cancel_asked and job.status == JobStatus.CANCELLED:
            assert job.result is None
        else:
            assert job.status == JobStatus.SUCCEEDED, (job_id, job.status, job.message, job.error)
            assert job.result == {"echo": params["message"], "steps": params["steps"], "attempt": job.attempt}
            steps = params["steps"]
            assert logs[(job_id, job.attempt)] == [f"step {n} of {steps}" for n in range(1, steps + 1)], job_id

    # and every import stored its items exactly once (those that met the outage, on their retry)
    for job_id, dataset_id in plan.imports.items():
        job = Job.objects.get(pk=job_id)
        assert job.status == JobStatus.SUCCEEDED, (job_id, job.status, job.message, job.error)
        assert job.result["added"] == LINES_PER_IMPORT or job.result.get("already_imported"), job.result
        assert DatasetItem.objects.filter(dataset_id=dataset_id).count() == LINES_PER_IMPORT, job_id
    assert Dataset.objects.filter(owner=operator).count() == IMPORTS

    # and no File row lacks its object
    backend = get_backend()
    files = list(File.objects.filter(owner=operator).values_list("id", "key"))
    assert len(files) >= 2 * IMPORTS  # each import: its upload and at least one shard
    missing = [(file_id, key) for file_id, key in files if not backend.exists(key)]
    assert not missing, f"File rows without their object: {missing}"

    elapsed = time.monotonic() - started
    refused_finishes = sum(
        path.read_text(errors="replace").count("could not be marked") for path in log_dir.glob("*.log")
    )
    print(
        f"\nsoak: {len(jobs)} jobs {dict(statuses)}; attempts {dict(sorted(attempts.items()))}; "
        f"refused submissions {dict(plan.refused)}; imports retried after the outage {len(retried)}; "
        f"finishes refused to a stale attempt {refused_finishes}; "
        f"drained {drained_in:.1f}s after the last submission; {elapsed:.0f}s in all\nfaults: {faults}"
    )
