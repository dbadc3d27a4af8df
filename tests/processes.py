"""The platform's own processes for tests: Celery workers, the scheduler and the ASGI server,
started as real subprocesses against the test database and the test Redis."""

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import requests
from django.db import connection

from aigc_platform import embedded
from aigc_platform.celery import app


def test_database_url() -> str:
    """The URL of the database this test run uses (the test database, not the configured one)."""
    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings['NAME']}"
    host = settings["HOST"] or ""
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    query = f"?{urlencode(settings['OPTIONS'])}" if settings.get("OPTIONS") else ""
    return f"postgresql://{settings['USER']}:{settings['PASSWORD']}@{host}{port}/{settings['NAME']}{query}"


def process_env(**extra: str) -> dict[str, str]:
    return dict(os.environ, DATABASE_URL=test_database_url(), PYTHONUNBUFFERED="1", **extra)


@dataclass
class Service:
    name: str
    popen: subprocess.Popen
    log_path: Path

    def kill(self) -> None:
        """SIGKILL the whole process group: the worker and its pool children die at once."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()

    def stop(self, timeout: float = 15) -> None:
        embedded.stop_process_group(self.popen, timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _spawn(name: str, argv: list[str], log_dir: Path, env: dict[str, str]) -> Service:
    log_path = log_dir / f"{name}.log"
    out = open(log_path, "ab")
    popen = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return Service(name, popen, log_path)


def _is_ready(node: str, broker_url: str | None) -> bool:
    """Whether the worker answers a ping; one on a broker of its own (which the control commands of
    this process cannot reach: Celery takes CELERY_BROKER_URL from the environment) once it has
    registered itself, which it does when it is ready and consuming."""
    if broker_url is None:
        return bool(app.control.ping(destination=[node], timeout=0.5))
    from infrastructure.compute.models import Worker, WorkerStatus

    time.sleep(0.2)
    return Worker.objects.filter(name=node, status=WorkerStatus.ONLINE).exists()


def start_worker(
    log_dir: Path, *, queues: str = "default", concurrency: int = 2, pool: str = "prefork", **env: str
) -> Service:
    node = f"test-{uuid.uuid4().hex[:8]}@localhost"
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "aigc_platform",
        "worker",
        "-Q",
        queues,
        "--concurrency",
        str(concurrency),
        "--pool",
        pool,
        "--hostname",
        node,
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
    ]
    service = _spawn(node.split("@")[0], argv, log_dir, process_env(**env))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if service.popen.poll() is not None:
            raise RuntimeError(f"Worker exited at start:\n{service.log()}")
        if _is_ready(node, env.get("CELERY_BROKER_URL")):
            return service
    service.kill()
    raise TimeoutError(f"Worker {node} did not answer within 60 s:\n{service.log()}")


def start_scheduler(log_dir: Path, **env: str) -> Service:
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "aigc_platform",
        "beat",
        "--loglevel",
        "INFO",
        "--schedule",
        str(log_dir / f"beat-{uuid.uuid4().hex[:6]}"),
    ]
    return _spawn("scheduler", argv, log_dir, process_env(**env))


def start_web(log_dir: Path, **env: str) -> tuple[Service, str]:
    port = embedded.free_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "aigc_platform.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-proxy-headers",
    ]
    service = _spawn("web", argv, log_dir, process_env(DATABASE_POOL="true", **env))
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if service.popen.poll() is not None:
            raise RuntimeError(f"Web server exited at start:\n{service.log()}")
        try:
            return requests.get(f"{url}/api/v1/health/", timeout=1).status_code in (200, 503)
        except (requests.ConnectionError, requests.Timeout):  # a loaded machine may answer late
            return False

    embedded.wait_until(answers, timeout=60, what="The web server")
    return service, url


def wait_for(predicate, *, timeout: float = 30, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout} s waiting for {what}")
