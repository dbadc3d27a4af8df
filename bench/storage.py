"""Storage benchmark: a 256 MB upload and download through the platform's API (uvicorn, S3 backend)
against the same transfers straight through the minio SDK to the same SeaweedFS, in one run.

Prints both ratios (platform throughput / direct throughput; goal >= 0.8) and the peak RSS growth of
the web process during the upload (goal < 100 MB). Run: `.venv/bin/python bench/storage.py [--mb 256]`.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MB = 1024 * 1024
CHUNK = MB


class MultipartBody:
    """A multipart/form-data body streamed from a file (requests would otherwise read it all into memory)."""

    def __init__(self, path: Path, field: str = "file"):
        self.boundary = uuid.uuid4().hex
        self.head = (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.path = path
        self.len = len(self.head) + path.stat().st_size + len(self.tail)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __iter__(self):
        yield self.head
        with self.path.open("rb") as stream:
            while chunk := stream.read(CHUNK):
                yield chunk
        yield self.tail


class PeakRss:
    """The peak RSS growth of a web server while in use, from the kernel's own high-water mark (Linux:
    /proc/PID/status VmHWM, reset through clear_refs), so nothing samples it and takes CPU from the
    transfer being timed; over the largest of its processes (a uvicorn with --workers is a supervisor
    and its worker processes); `growth` is peak minus the start."""

    def __init__(self, pid: int):
        self.process = psutil.Process(pid)
        self.start = self.peak = 0

    @staticmethod
    def _largest(field: str, pids: list[int]) -> int:
        """The largest value of a /proc/PID/status memory field among `pids`, in bytes."""
        sizes = []
        for pid in pids:
            with open(f"/proc/{pid}/status") as status:
                sizes += [int(line.split()[1]) * 1024 for line in status if line.startswith(f"{field}:")]
        return max(sizes)

    def _pids(self) -> list[int]:
        return [process.pid for process in [self.process, *self.process.children(recursive=True)]]

    def rss(self) -> int:
        """The RSS now (of the largest process)."""
        return self._largest("VmRSS", self._pids())

    def __enter__(self):
        self.pids = self._pids()
        for pid in self.pids:
            with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
                clear_refs.write("5")  # the high-water mark starts again from the RSS now
        self.start = self._largest("VmRSS", self.pids)
        return self

    def __exit__(self, *exc):
        self.peak = self._largest("VmHWM", self.pids)

    @property
    def growth(self) -> int:
        return self.peak - self.start


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def make_payload(path: Path, size: int) -> None:
    with path.open("wb") as sink:
        for _ in range(size // CHUNK):
            sink.write(os.urandom(CHUNK))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=256, help="payload size in MiB")
    parser.add_argument("--runs", type=int, default=3, help="repetitions; the median of each figure is reported")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="aigc-bench-storage-"))
    os.environ["AIGC_DATA_DIR"] = str(work / "data")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789-0123456789-0123456789")
    os.environ["DJANGO_SETTINGS_MODULE"] = "aigc_platform.settings"

    from aigc_platform.embedded import free_port, wait_until
    from infrastructure.storage.backends import S3_PARALLEL_PARTS, S3_PART_SIZE
    from infrastructure.storage.seaweedfs import seaweedfs_start

    seaweed = seaweedfs_start(work / "seaweedfs")
    web = None
    try:
        os.environ.update(seaweed.env("bench-platform"))
        os.environ["AIGC_STORAGE_MAX_UPLOAD_BYTES"] = str(4 * args.mb * MB)
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from minio import Minio
        from rest_framework.authtoken.models import Token

        call_command("migrate", verbosity=0)
        user = get_user_model().objects.create_user("bench", password=uuid.uuid4().hex)
        token = Token.objects.create(user=user).key

        port = free_port()
        log = open(work / "web.log", "wb")
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "aigc_platform.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
            ],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"

        def web_answers() -> bool:
            try:
                return requests.get(f"{base}/accounts/login/", timeout=5).status_code == 200
            except requests.ConnectionError:
                return False

        wait_until(web_answers, timeout=60, what="The web server")
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"

        minio = Minio(seaweed.endpoint, access_key=seaweed.access_key, secret_key=seaweed.secret_key, secure=False)
        minio.make_bucket("bench-direct")
        payload = work / "payload.bin"
        make_payload(payload, args.mb * MB)

        def platform_upload() -> dict:
            body = MultipartBody(payload)
            response = session.post(f"{base}/api/v1/files/", data=body, headers={"Content-Type": body.content_type})
            response.raise_for_status()
            return response.json()

        def platform_download(file: dict) -> None:
            with session.get(file["download_url"], stream=True) as response:
                response.raise_for_status()
                received = sum(len(chunk) for chunk in response.iter_content(CHUNK))
            assert received == file["size"], (received, file["size"])

        def direct_upload(key: str) -> None:
            # The same multipart settings as the platform's S3 backend: the ratio measures only the platform's own cost.
            minio.fput_object(
                "bench-direct", key, str(payload), part_size=S3_PART_SIZE, num_parallel_uploads=S3_PARALLEL_PARTS
            )

        def direct_download(key: str) -> None:
            response = minio.get_object("bench-direct", key)
            try:
                for _ in response.stream(CHUNK):
                    pass
            finally:
                response.close()
                response.release_conn()

        # Warm both paths (imports, connections, the bucket) on a small file.
        warm = work / "warm.bin"
        warm.write_bytes(os.urandom(MB))
        body = MultipartBody(warm)
        session.post(f"{base}/api/v1/files/", data=body, headers={"Content-Type": body.content_type}).raise_for_status()
        minio.fput_object("bench-direct", "warm", str(warm))

        figures = {"direct_up": [], "platform_up": [], "direct_down": [], "platform_down": [], "rss": []}
        # The lambdas below are timed where they are made, within their own iteration.
        for run in range(args.runs):
            key = f"payload-{run}"
            figures["direct_up"].append(timed(lambda: direct_upload(key)))  # noqa: B023
            with PeakRss(web.pid) as rss:
                started = time.perf_counter()
                file = platform_upload()
                figures["platform_up"].append(time.perf_counter() - started)
            figures["rss"].append(rss.growth)
            figures["direct_down"].append(timed(lambda: direct_download(key)))  # noqa: B023
            figures["platform_down"].append(timed(lambda: platform_download(file)))  # noqa: B023
            minio.remove_object("bench-direct", key)
            with payload.open("r+b") as stream:  # new bytes for the next run, so the platform cannot deduplicate
                stream.write(os.urandom(64))

        median = {name: statistics.median(values) for name, values in figures.items()}
        size_mb = args.mb * MB / 1e6
        up_ratio = median["direct_up"] / median["platform_up"]
        down_ratio = median["direct_down"] / median["platform_down"]
        print(f"payload {args.mb} MiB, {args.runs} runs, medians; SeaweedFS {seaweed.endpoint}, uvicorn {base}")
        print(
            f"upload    direct {size_mb / median['direct_up']:8.1f} MB/s   platform {size_mb / median['platform_up']:8.1f} MB/s"
            f"   ratio {up_ratio:.2f} (goal >= 0.8)"
        )
        print(
            f"download  direct {size_mb / median['direct_down']:8.1f} MB/s   platform {size_mb / median['platform_down']:8.1f} MB/s"
            f"   ratio {down_ratio:.2f} (goal >= 0.8)"
        )
        print(
            f"web process peak RSS growth during upload: {median['rss'] / MB:.1f} MiB (max {max(figures['rss']) / MB:.1f}; goal < 100)"
        )
        print(
            "per run (s): "
            + ", ".join(
                f"{name} " + "/".join(f"{value:.2f}" for value in values)
                for name, values in figures.items()
                if name != "rss"
            )
        )
    finally:
        if web is not None:
            web.terminate()
            web.wait(15)
        seaweed.stop()
        if os.environ.get("BENCH_KEEP"):
            print(f"kept {work}")
        else:
            subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
