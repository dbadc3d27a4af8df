"""An operator prepares a dataset version from its Prepare tab: previews the PII redaction, runs it with
a split, reads the new version's report and compares it with its parent."""

import io
import json

import pytest
from playwright.sync_api import expect

from infrastructure.storage.services import file_store
from tools_layer.datasets import services
from tools_layer.datasets.models import DatasetVersion

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_operator_previews_runs_and_reads_the_report(sign_in, operator, start_worker, web):
    dataset = services.dataset_create(owner=operator, name="crm notes", kind="text")
    lines = [{"text": f"Ticket {n}: call back on +86 138 0013 {8000 + n} about the refund."} for n in range(6)]
    lines += [{"text": f"Ticket {n}: the customer liked the new kettle very much."} for n in range(10, 20)]
    file = file_store(
        owner=operator, stream=io.BytesIO("\n".join(json.dumps(line) for line in lines).encode()), filename="crm.jsonl"
    )
    services.dataset_import_file(dataset=dataset, file=file, options={}, owner=operator)
    parent = services.dataset_version_create(dataset=dataset, user=operator, validation_fraction=0.0)
    start_worker(queues="default", concurrency=1)
    page = sign_in(operator)
    page.goto(f"{web}/datasets/{dataset.pk}/")
    page.get_by_test_id("prepare-tab").click()

    # Preview: the before/after pairs of the redaction, and nothing written yet.
    page.locator('fieldset[data-step="pii"] [data-preview="pii"]').click()
    pairs = page.get_by_test_id("preview-pairs")
    expect(pairs.locator("tr")).to_have_count(6, timeout=60_000)
    expect(pairs).to_contain_text("call back on <PHONE> about the refund.")
    assert DatasetVersion.objects.filter(dataset=dataset).count() == 1

    # Run PII redaction and a split; the page reloads with the two new versions.
    page.check('input[name="step"][value="pii"]')
    page.check('input[name="step"][value="split"]')
    page.fill('input[name="test_fraction"]', "0.25")
    page.get_by_role("button", name="Run the checked steps").click()
    rows = page.get_by_test_id("prepare-versions").locator("tbody tr")
    expect(rows).to_have_count(3, timeout=60_000)
    expect(rows.first.get_by_test_id("pii-scanned")).to_have_text("yes")

    # The PII step's report counts what it changed; comparing the split version with v1 lists the changes.
    scanned = DatasetVersion.objects.get(dataset=dataset, step="pii")
    page.locator(f'[data-report="{scanned.pk}"]').click()
    expect(page.get_by_test_id("report")).to_contain_text("redacted")
    expect(page.get_by_test_id("report")).to_contain_text("phone 6")
    page.check(f'input[name="compare"][value="{parent.pk}"]')
    page.check(f'input[name="compare"][value="{DatasetVersion.objects.get(dataset=dataset, step="split").pk}"]')
    page.click("#compare")
    expect(page.get_by_test_id("compare-result")).to_contain_text("6 items only here", timeout=10_000)
