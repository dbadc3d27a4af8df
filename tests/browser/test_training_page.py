"""An operator submits a training job from the form and watches its loss curve grow live; then
compares two runs."""

import re

import pytest
from playwright.sync_api import expect

from infrastructure.compute.models import Job, JobStatus
from tests.processes import wait_for
from tests.tools_layer.training_data import text_version
from tools_layer.training.models import TrainingRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_operator_submits_a_run_from_the_form_and_sees_its_curve(sign_in, operator, start_worker, web):
    version = text_version(operator, count=10)
    start_worker(queues="default", concurrency=1, AIGC_TRAINING_CPU_THREADS="1")
    page = sign_in(operator)
    page.click("nav >> text=Training")
    page.get_by_role("link", name="New training job").click()
    page.select_option("#recipe", "lm-scratch")
    page.select_option("#dataset-version", str(version.pk))
    # Defaults and help come from the recipe's serializer
    expect(page.locator("#hp-vocab_size")).to_have_value("1024")
    expect(page.locator("label", has=page.locator("#hp-seed"))).to_contain_text("repeats a CPU run exactly")
    for name, value in {
        "steps": "24",
        "eval_every": "4",
        "vocab_size": "300",
        "context": "32",
        "batch_size": "8",
        "n_embd": "32",
        "n_layer": "1",
        "sample_every": "12",
        "checkpoint_every": "12",
    }.items():
        page.fill(f"#hp-{name}", value)
    page.get_by_role("button", name="Start training").click()
    page.wait_for_url(re.compile(r"/training/[0-9a-f-]{36}/$"))
    run = TrainingRun.objects.get(pk=page.url.rstrip("/").rsplit("/", 1)[-1])
    assert (
        run.hyperparameters["steps"] == 24
        and run.hyperparameters["vocab_size"] == 300
        and run.hyperparameters["seed"] == 0
    )
    # The loss curve is drawn from the live metric events, point by point
    loss_line = page.locator('#curves svg[data-metric="loss"] polyline')
    expect(loss_line).to_have_attribute("data-points", "6", timeout=120_000)
    expect(page.locator('#curves svg[data-metric="val_loss"] polyline')).to_have_count(1)
    # (every point also came as a server-sent `metrics` event: a stream replays from its start)
    expect(page.get_by_test_id("curves")).to_have_attribute("data-live-events", "6")
    expect(page.get_by_test_id("job-status")).to_have_text("succeeded", timeout=60_000)
    expect(page.get_by_test_id("sample-text")).to_contain_text("The")
    expect(page.locator("#result")).to_contain_text(f"{run.generator_slug} v1")
    wait_for(lambda: Job.objects.get(pk=run.pk).status == JobStatus.SUCCEEDED, what="the job")

    # Comparing it with another (queued) run overlays both and tables their final metrics
    page.goto(f"{web}/training/")
    page.check(f'input[value="{run.pk}"]')
    page.click("#compare-button")
    expect(page.get_by_test_id("final-metrics")).to_contain_text("loss")
    expect(page.locator('#curves svg[data-metric="loss"] polyline')).to_have_attribute("data-points", "6")
