"""`aigc doctor`: checks every service a deployment needs and says, in words a person can act on,
what is wrong and how to fix it. Exit status 1 when anything is wrong.

It is the deployment's own entry point, like `aigc up`, so it reaches into each layer's storage
and compute selectors directly rather than through the health registry: it runs deeper checks
than the health endpoint (a probe object written, read back and deleted; migrations listed).
"""
import hashlib
import io
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import redis
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from rich.console import Console
from rich.table import Table

PROBE_BYTES = b"aigc doctor probe\n" * 64


@dataclass
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def redact(url: str) -> str:
    """A service URL without its password, fit to print."""
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}{f':{parts.port}' if parts.port else ''}"
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def database_where() -> str:
    db = connections[DEFAULT_DB_ALIAS].settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"SQLite file {db['NAME']}"
    return f"{db['ENGINE'].rsplit('.', 1)[-1]} at {db.get('HOST') or 'localhost'}:{db.get('PORT') or 'default port'}/{db['NAME']}"


def check_database() -> list[Finding]:
    connection = connections[DEFAULT_DB_ALIAS]
    where = database_where()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return [Finding("database", False, f"Cannot connect to the {where}: {str(error).strip() or type(error).__name__}",
                        "Check DATABASE_URL (host, port, user, password, database name) and that the server is running.")]
    found = [Finding("database", True, f"connected to the {where}")]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    unapplied = [f"{migration.app_label}.{migration.name}" for migration, backwards in plan if not backwards]
    if unapplied:
        shown = ", ".join(unapplied[:10]) + (f" and {len(unapplied) - 10} more" if len(unapplied) > 10 else "")
        found.append(Finding("migrations", False, f"{len(unapplied)} not applied: {shown}",
                             "Run `aigc migrate` (with this DATABASE_URL) before starting the web server and workers."))
    else:
        found.append(Finding("migrations", True, f"all {len(executor.loader.applied_migrations)} applied"))
    return found


def check_broker() -> list[Finding]:
    url = settings.CELERY_BROKER_URL
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
        version = client.info("server").get("redis_version", "?")
    except redis.RedisError as error:
        return [Finding("broker", False, f"Cannot reach Redis at {redact(url)}: {error}",
                        "Check CELERY_BROKER_URL and that Redis is running there (`redis-cli -u <url> ping` answers PONG); "
                        "on one machine, `aigc up` starts an embedded Redis when CELERY_BROKER_URL is unset.")]
    finally:
        client.close()
    return [Finding("broker", True, f"Redis {version} at {redact(url)}")]


def check_storage() -> list[Finding]:
    from infrastructure.storage.backends import get_backend

    # Bytes of this run alone, so the probe's object (named by its hash) is never a user's file.
    probe = PROBE_BYTES + uuid.uuid4().hex.encode()
    try:
        backend = get_backend()
        where = backend.check()
    except Exception as error:
        return [Finding("storage", False, f"Object storage cannot be used: {getattr(error, 'message', error)}", _storage_fix())]
    step = "write"
    upload = None
    try:
        upload = backend.upload(content_type="application/octet-stream")
        upload.write(probe)
        key, _ = upload.save(hashlib.sha256(probe).hexdigest())
        step = "read back"
        with backend.open(key) as source:
            read = source.read()
        if read != probe:
            return [Finding("storage", False, f"{where}: a probe object read back {len(read)} bytes that differ from the "
                                              f"{len(probe)} written", "The storage server returns corrupt data; check its disks.")]
        step = "delete"
        backend.delete(key)
        if backend.exists(key):
            return [Finding("storage", False, f"{where}: a deleted probe object is still there",
                            "Check that the storage credentials may delete objects.")]
    except Exception as error:
        return [Finding("storage", False, f"{where}: could not {step} a probe object: {getattr(error, 'message', error)}",
                        _storage_fix())]
    finally:
        if upload is not None:
            upload.discard()
    return [Finding("storage", True, f"{where}: a probe object was written, read back and deleted")]


def _storage_fix() -> str:
    if settings.STORAGE_BACKEND == "s3":
        return ("Check S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY and S3_BUCKET, and that the S3 server (MinIO) is running "
                "and these credentials may write to the bucket.")
    return f"Check that the directory {settings.STORAGE_LOCAL_ROOT} (AIGC_STORAGE_DIR) exists and is writable by this user."


def check_workers() -> list[Finding]:
    from infrastructure.compute.selectors import queue_lengths, workers_online

    online = list(workers_online())
    try:
        waiting = {queue: n for queue, n in queue_lengths().items() if n}
    except Exception:  # the broker finding already says why the queues cannot be read
        waiting = {}
    backlog = f"; waiting: {', '.join(f'{queue} {n}' for queue, n in sorted(waiting.items()))}" if waiting else ""
    if not online:
        return [Finding("workers", False, f"No worker is online: jobs wait in their queues{backlog}",
                        "Start one with `aigc worker` on a machine that has DATABASE_URL and CELERY_BROKER_URL set to this "
                        "deployment's (`aigc worker --queues inference --pool threads` serves generation; see deploy/README.md).")]
    served = sorted({queue for worker in online for queue in worker.queues})
    gpus = sum(len(worker.gpus or []) for worker in online)
    names = ", ".join(worker.name for worker in online[:5]) + (" …" if len(online) > 5 else "")
    found = [Finding("workers", True, f"{len(online)} online ({names}); queues {', '.join(served)}; {gpus} GPUs{backlog}")]
    unserved = sorted(queue for queue in waiting if queue not in served)
    if unserved:
        found.append(Finding("queues", False, f"Jobs wait in {', '.join(unserved)}, which no online worker consumes",
                             f"Start a worker for it: `aigc worker --queues {','.join(unserved)}`."))
    return found


CHECKS = {"database": check_database, "broker": check_broker, "storage": check_storage, "workers": check_workers}


def run_checks() -> list[Finding]:
    findings = []
    for name, check in CHECKS.items():
        if name == "workers" and any(not f.ok for f in findings if f.name in ("database", "migrations")):
            findings.append(Finding(name, False, "Not checked: the worker registry lives in the database, which is not ready.",
                                    "Fix the database first (above)."))
            continue
        try:
            findings.extend(check())
        except Exception as error:  # a doctor reports every failure rather than stopping at the first
            findings.append(Finding(name, False, f"The check itself failed: {type(error).__name__}: {error}"))
    return findings


class Command(BaseCommand):
    help = "Check the database, migrations, broker, object storage and workers; say what is wrong and how to fix it."

    def handle(self, *args, **options):
        findings = run_checks()
        buffer = io.StringIO()
        tty = self.stdout.isatty()
        console = Console(file=buffer, force_terminal=tty, width=None if tty else 160, highlight=False)
        table = Table(title="AIGC Platform doctor", show_lines=True)
        table.add_column("check", style="bold")
        table.add_column("", justify="center")
        table.add_column("what it found")
        for finding in findings:
            table.add_row(finding.name, "[green]ok[/]" if finding.ok else "[red]FAIL[/]", finding.detail)
        console.print(table)
        problems = [finding for finding in findings if not finding.ok]
        if problems:
            console.print(f"\n[bold red]{len(problems)} problem{'s' if len(problems) > 1 else ''} to fix:[/]")
            for finding in problems:
                console.print(f"  [bold]{finding.name}[/] → {finding.fix or 'see above.'}")
        else:
            console.print("\n[bold green]Everything is working.[/]")
        self.stdout.write(buffer.getvalue(), ending="")
        if problems:
            raise SystemExit(1)
