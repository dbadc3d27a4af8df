"""Health checks. The spine checks the database and the broker; lower layers add theirs (storage,
workers) with `register`, so this module never imports from the layers above it."""
import functools
import logging
import time
from dataclasses import dataclass
from typing import Callable

import redis
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

logger = logging.getLogger(__name__)


@dataclass
class CheckResult:
    ok: bool
    detail: str
    critical: bool = True


_CHECKS: dict[str, Callable[[], CheckResult]] = {}


def register(name: str, check: Callable[[], CheckResult]) -> None:
    _CHECKS[name] = check


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
            return CheckResult(False, f"{connection.vendor}: {len(pending)} migrations not applied; run `aigc migrate`.")
        _migrations_applied_until = time.monotonic() + MIGRATIONS_RECHECK_SECONDS
    return CheckResult(True, f"{connection.vendor}, migrations applied")


@functools.lru_cache(maxsize=4)
def _broker_client(url: str) -> redis.Redis:
    """One client (and connection pool) per broker URL, so a check does not connect anew each time."""
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def check_broker() -> CheckResult:
    client = _broker_client(settings.CELERY_BROKER_URL)
    client.ping()
    return CheckResult(True, f"redis {client.info('server').get('redis_version', '?')}")


register("database", check_database)
register("broker", check_broker)


def run_checks() -> dict[str, CheckResult]:
    results = {}
    for name, check in _CHECKS.items():
        try:
            results[name] = check()
        except Exception as error:  # a health check reports every failure rather than raising it
            logger.warning("Health check %s failed: %s", name, error)
            results[name] = CheckResult(False, f"{type(error).__name__}: {error}")
    return results
