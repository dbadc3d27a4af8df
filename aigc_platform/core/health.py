"""Health checks. The spine checks the database and the broker; lower layers add theirs (storage,
workers) with `register`, so this module never imports from the layers above it."""
import logging
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


def check_database() -> CheckResult:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    pending = MigrationExecutor(connection).migration_plan(MigrationExecutor(connection).loader.graph.leaf_nodes())
    if pending:
        return CheckResult(False, f"{connection.vendor}: {len(pending)} migrations not applied; run `aigc migrate`.")
    return CheckResult(True, f"{connection.vendor}, migrations applied")


def check_broker() -> CheckResult:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
        return CheckResult(True, f"redis {client.info('server').get('redis_version', '?')}")
    finally:
        client.close()


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
