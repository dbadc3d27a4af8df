"""Shared fixtures: users, API clients, real worker and web processes, and the built-in generator."""

import os
import shutil
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests import processes
from tests.factories import PASSWORD, UserFactory

# Converting the built-in GGUF into a checkpoint folder takes most of a minute; the folders are keyed
# by content hash, so test runs share them here instead of converting again in each fresh data dir.
# Set in the environment before any worker process starts, so the session's workers use them too.
MODEL_FOLDERS = Path(
    os.environ.setdefault("AIGC_MODEL_FOLDERS_DIR", str(Path.home() / ".cache" / "aigc-platform" / "model-folders"))
)


@pytest.fixture(scope="session", autouse=True)
def shared_model_folders():
    MODEL_FOLDERS.mkdir(parents=True, exist_ok=True)
    settings.MODEL_FOLDERS_DIR = MODEL_FOLDERS


@pytest.fixture
def builtin(db):
    """The built-in SmolLM2 generator's production version (its GGUF stored in object storage)."""
    from models_layer.registry.services import generators_bootstrap

    return generators_bootstrap()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def make_user(db):
    def make(role: str = "creator", **fields):
        return UserFactory(role=role, **fields)

    return make


@pytest.fixture
def creator(make_user):
    return make_user("creator")


@pytest.fixture
def other_creator(make_user):
    return make_user("creator")


@pytest.fixture
def operator(make_user):
    return make_user("operator")


@pytest.fixture
def admin_user(make_user):
    return make_user("admin")


@pytest.fixture
def client_for():
    """An API client signed in as the given user by token."""
    from rest_framework.authtoken.models import Token

    def make(user) -> APIClient:
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def log_dir(tmp_path) -> Path:
    return tmp_path


@pytest.fixture(scope="session")
def session_log_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def worker(django_db_setup, django_db_blocker, session_log_dir):
    """One real Celery worker on the `default` queue for the whole run."""
    with django_db_blocker.unblock():
        service = processes.start_worker(session_log_dir, queues="default")
    yield service
    service.stop()


@pytest.fixture(scope="session")
def inference_worker(django_db_setup, django_db_blocker, session_log_dir):
    """One worker on the generation queue, as `aigc up` runs it: threads share one batching engine.
    GGUF conversions are kept across runs in MODEL_FOLDERS (AIGC_MODEL_FOLDERS_DIR)."""
    with django_db_blocker.unblock():
        service = processes.start_worker(
            session_log_dir,
            queues=settings.GENERATION_QUEUE,
            concurrency=16,
            pool="threads",
            AIGC_MODEL_FOLDERS_DIR=str(MODEL_FOLDERS),
        )
    yield service
    service.stop()


@pytest.fixture(scope="session")
def web(django_db_setup, django_db_blocker, session_log_dir):
    """The ASGI web server (uvicorn) as a real process; yields its base URL."""
    with django_db_blocker.unblock():
        service, url = processes.start_web(session_log_dir)
    yield url
    service.stop()


@pytest.fixture
def start_worker(log_dir):
    """Start extra workers (on their own queues) that are stopped after the test."""
    started = []

    def start(**kwargs):
        service = processes.start_worker(log_dir, **kwargs)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real SeaweedFS S3 server (`weed mini`, free ports, its own credentials) for the whole run."""
    from infrastructure.storage.seaweedfs import seaweedfs_start

    server = seaweedfs_start(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture
def s3_storage(s3_server, settings):
    """Switch this test to the S3 backend, in a bucket of its own (created by the backend on first use)."""
    for name, value in s3_server.settings(bucket=f"test-{uuid.uuid4().hex[:12]}").items():
        setattr(settings, name, value)
    return s3_server


# Browser fixtures: Debian's Chromium, driven headless by Playwright, against the real ASGI server.
# One session-wide Playwright for every test that asks for a page (a second one cannot start while
# the first keeps its event loop running in this thread).
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the test's own database
    # calls (factories, assertions) are synchronous and safe, so Django may allow them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def sign_in(page, web, password):
    """Signs a user in through the login form; returns the page on the dashboard."""

    def sign_in_as(user):
        page.goto(f"{web}/accounts/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{web}/")
        return page

    return sign_in_as
