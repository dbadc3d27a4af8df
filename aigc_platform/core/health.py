"""Health checks, one registry for the health endpoint, the dashboard and `aigc doctor`. The spine
checks the database, the broker and the deployment's secrets; lower layers add theirs (storage,
workers) with `register`, so this module never imports from the layers above it.

A check has a light form (`check`: one CheckResult, cheap enough for probes every few seconds) and
may have a deep one (`deep`: the findings `aigc doctor` prints, each with what to do about it)."""

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.migrations.executor import MigrationExecutor

from aigc_platform.core import broker

logger = logging.getLogger(__name__)


@dataclass
class CheckResult:
    ok: bool
    detail: str
    critical: bool = True


@dataclass
class Finding:
    """One line of `aigc doctor`: what a deep check found, and how to fix it when it is wrong."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Check:
    name: str
    light: Callable[[], CheckResult] | None
    deep: Callable[[], list[Finding]] | None
    repair: Callable[[], list[Finding]] | None
    needs: tuple[str, ...]


_CHECKS: dict[str, Check] = {}


def register(
    name: str,
    check: Callable[[], CheckResult] | None,
    *,
    deep: Callable[[], list[Finding]] | None = None,
    repair: Callable[[], list[Finding]] | None = None,
    needs: tuple[str, ...] = (),
) -> None:
    """`check` runs for the health endpoint (None: doctor only); `deep` for `aigc doctor`, after the
    checks it `needs` have passed; `repair`, where given, for `aigc doctor --repair` in its place."""
    _CHECKS[name] = Check(name, check, deep, repair, needs)


# Building the migration graph costs more than the rest of a health check together (~17 ms of CPU
# per request, measured by bench/api.py), and probes call this every few seconds: once every
# migration is applied, a process looks again only after this long. Pending migrations are
# looked for on every call until they are applied.
MIGRATIONS_RECHECK_SECONDS = 30.0
_migrations_applied_until = 0.0


def check_database() -> CheckResult:
    global _migrations_applied_until
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    if time.monotonic() >= _migrations_applied_until:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            return CheckResult(
                False, f"{connection.vendor}: {len(pending)} migrations not applied; run `aigc migrate`."
            )
        _migrations_applied_until = time.monotonic() + MIGRATIONS_RECHECK_SECONDS
    return CheckResult(True, f"{connection.vendor}, migrations applied")


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


def database_findings() -> list[Finding]:
    db = connections[DEFAULT_DB_ALIAS]
    where = database_where()
    try:
        with db.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return [
            Finding(
                "database",
                False,
                f"Cannot connect to the {where}: {str(error).strip() or type(error).__name__}",
                "Check DATABASE_URL (host, port, user, password, database name) and that the server is running.",
            )
        ]
    found = [Finding("database", True, f"connected to the {where}")]
    executor = MigrationExecutor(db)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    unapplied = [f"{migration.app_label}.{migration.name}" for migration, backwards in plan if not backwards]
    if unapplied:
        shown = ", ".join(unapplied[:10]) + (f" and {len(unapplied) - 10} more" if len(unapplied) > 10 else "")
        found.append(
            Finding(
                "migrations",
                False,
                f"{len(unapplied)} not applied: {shown}",
                "Run `aigc migrate` (with this DATABASE_URL) before starting the web server and workers.",
            )
        )
    else:
        found.append(Finding("migrations", True, f"all {len(executor.loader.applied_migrations)} applied"))
    return found


@functools.lru_cache(maxsize=4)
def _broker_client(url: str) -> redis.Redis:
    """One client (and connection pool) per broker URL, so a check does not connect anew each time."""
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def broker_queue_names() -> set[str]:
    """The queues the platform itself names (workers' own queues are found through the transport's bindings)."""
    return {settings.CELERY_TASK_DEFAULT_QUEUE, settings.GENERATION_QUEUE}


def check_broker() -> CheckResult:
    client = _broker_client(settings.CELERY_BROKER_URL)
    pipe = client.pipeline(transaction=False)
    for key in broker.BOOKKEEPING_KEY_TYPES:
        pipe.type(key)
    wrong = [
        f"{key!r} is a {found.decode()}"
        for key, found in zip(broker.BOOKKEEPING_KEY_TYPES, pipe.execute(), strict=True)
        if found.decode() not in ("none", broker.BOOKKEEPING_KEY_TYPES[key])
    ]
    version = client.info("server").get("redis_version", "?")
    if wrong:
        return CheckResult(
            False,
            f"redis {version}: the transport's keys have the wrong type ({'; '.join(wrong)}); "
            "workers stop on it. Run `aigc doctor --repair`.",
        )
    return CheckResult(True, f"redis {version}")


BROKER_REPAIR_FIX = (
    "Run `aigc doctor --repair` to rename these keys aside (nothing is deleted; `aigc up` does it at start), "
    "then restart the workers."
)


def broker_findings(*, repair: bool = False) -> list[Finding]:
    url = settings.CELERY_BROKER_URL
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
        version = client.info("server").get("redis_version", "?")
        wrong = broker.broker_keys_of_wrong_type(client, queues=broker_queue_names())
        moved = broker.broker_keys_set_aside(client, wrong) if repair and wrong else []
    except redis.RedisError as error:
        return [
            Finding(
                "broker",
                False,
                f"Cannot reach Redis at {redact(url)}: {error}",
                "Check CELERY_BROKER_URL and that Redis is running there (`redis-cli -u <url> ping` answers PONG); "
                "on one machine, `aigc up` starts an embedded Redis when CELERY_BROKER_URL is unset.",
            )
        ]
    finally:
        client.close()
    found = [Finding("broker", True, f"Redis {version} at {redact(url)}")]
    if moved:
        found.append(
            Finding(
                "broker keys", True, "repaired: " + "; ".join(f"{key!r} renamed to {target!r}" for key, target in moved)
            )
        )
    elif wrong:
        found.append(
            Finding(
                "broker keys",
                False,
                "The Celery transport's keys hold the wrong type, which stops every worker: "
                + "; ".join(key.describe() for key in wrong),
                BROKER_REPAIR_FIX,
            )
        )
    else:
        found.append(Finding("broker keys", True, "the transport's bookkeeping keys and queues have their types"))
    return found


# Values that deploy/k8s/config.yaml and deploy/env.example ship as placeholders: a deployment that
# still has one of them has a secret anybody can read in this repository.
PLACEHOLDER_MARKERS = ("change-me", "changeme", "replace-me", "not-for-production")
SECRET_SETTINGS = ("SECRET_KEY", "S3_SECRET_KEY", "S3_ACCESS_KEY")
# Django's own deploy check (security.W009) asks this much of SECRET_KEY.
SECRET_KEY_MIN_LENGTH, SECRET_KEY_MIN_UNIQUE = 50, 5


def secret_problems() -> list[str]:
    """What is wrong with the deployment's secrets: placeholders, or a SECRET_KEY too weak to sign sessions."""
    problems = []
    values = {name: str(getattr(settings, name, "") or "") for name in SECRET_SETTINGS}
    database_password = str(settings.DATABASES["default"].get("PASSWORD") or "")
    values["the DATABASE_URL password"] = database_password
    values["CELERY_BROKER_URL's password"] = urlsplit(settings.CELERY_BROKER_URL).password or ""
    for name, value in values.items():
        if any(marker in value.lower() for marker in PLACEHOLDER_MARKERS):
            problems.append(f"{name} is still the placeholder {value[:12]!r}…")
    key = settings.SECRET_KEY
    if len(key) < SECRET_KEY_MIN_LENGTH or len(set(key)) < SECRET_KEY_MIN_UNIQUE:
        problems.append(
            f"SECRET_KEY has {len(key)} characters ({len(set(key))} different); it needs at least "
            f"{SECRET_KEY_MIN_LENGTH} random ones"
        )
    return problems


def secrets_findings() -> list[Finding]:
    problems = secret_problems()
    if problems:
        return [
            Finding(
                "secrets",
                False,
                "; ".join(problems),
                "Set each to a new random value in the aigc-secrets Secret (or the environment), e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`; see deploy/README.md.",
            )
        ]
    return [Finding("secrets", True, "no placeholder secret; SECRET_KEY is long and random enough")]


register("database", check_database, deep=database_findings)
register("broker", check_broker, deep=broker_findings, repair=functools.partial(broker_findings, repair=True))
register("secrets", None, deep=secrets_findings)


def run_checks() -> dict[str, CheckResult]:
    """The light checks, for the health endpoint and the dashboard."""
    results = {}
    for name, check in _CHECKS.items():
        if check.light is None:
            continue
        try:
            results[name] = check.light()
        except Exception as error:  # a health check reports every failure rather than raising it
            logger.warning("Health check %s failed: %s", name, error)
            results[name] = CheckResult(False, f"{type(error).__name__}: {error}")
    return results


def run_deep_checks(*, repair: bool = False) -> list[Finding]:
    """Every check in its deep form (its light form where it has none), for `aigc doctor`. A check
    whose needs failed is not run; `repair` lets the broker check set wrong-typed keys aside."""
    findings: list[Finding] = []
    failed: set[str] = set()
    for name, check in _CHECKS.items():
        if unmet := [need for need in check.needs if need in failed]:
            findings.append(
                Finding(
                    name,
                    False,
                    f"Not checked: it needs {', '.join(unmet)}, which is not ready.",
                    f"Fix {', '.join(unmet)} first (above).",
                )
            )
            failed.add(name)
            continue
        try:
            if repair and check.repair is not None:
                found = check.repair()
            elif check.deep is not None:
                found = check.deep()
            else:
                result = check.light()
                found = [Finding(name, result.ok, result.detail)]
        except Exception as error:  # a doctor reports every failure rather than stopping at the first
            found = [Finding(name, False, f"The check itself failed: {type(error).__name__}: {error}")]
        if not all(finding.ok for finding in found):
            failed.add(name)
        findings.extend(found)
    return findings
