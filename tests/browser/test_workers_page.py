"""An operator sees the workers (dashboard and workers page) and drains and resumes one."""

import pytest
from playwright.sync_api import expect

from infrastructure.compute.models import Worker, WorkerStatus
from tests.processes import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_watches_and_drains_a_worker(sign_in, operator, start_worker, web):
    service = start_worker(queues="browser-drain-q", concurrency=1)
    worker = wait_for(lambda: Worker.objects.filter(name__startswith=service.name).first(), what="registration")
    page = sign_in(operator)
    expect(page.locator("#workers-summary")).to_contain_text(worker.name)
    page.click("nav >> text=Workers")
    card = page.locator(f'[data-worker="{worker.name}"]')
    expect(card).to_contain_text("No GPU: runs on CPU.")
    expect(card).to_contain_text("browser-drain-q")
    card.get_by_role("button", name="Drain").click()
    expect(card.locator(".status")).to_have_text("draining")
    assert Worker.objects.get(pk=worker.pk).status == WorkerStatus.DRAINING
    card.get_by_role("button", name="Resume").click()
    expect(card.locator(".status")).to_have_text("online")


def test_creators_do_not_see_workers(sign_in, creator):
    page = sign_in(creator)
    expect(page.locator("nav")).not_to_contain_text("Workers")
    expect(page.locator("#workers-summary")).to_have_count(0)
