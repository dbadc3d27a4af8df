"""A creator opens the playground, picks the built-in generator, types a prompt and watches the answer
arrive token by token (server-sent events from the job), then sees the generator list with its card."""

import pytest
from playwright.sync_api import expect

from infrastructure.compute.models import Job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Records each piece of text added to the answer while the job is still running.
WATCH_ANSWER = """() => {
  window.streamed = [];
  new MutationObserver((changes) => {
    const status = document.getElementById("job-status").textContent;
    if (["succeeded", "failed", "cancelled"].includes(status)) return;
    for (const change of changes) for (const node of change.addedNodes) window.streamed.push(node.textContent);
  }).observe(document.getElementById("answer"), {childList: true});
}"""


@pytest.fixture
def builtin_live(transactional_db):
    from models_layer.registry.services import generators_bootstrap

    return generators_bootstrap()


def test_prompt_streams_tokens_into_the_answer(builtin_live, sign_in, creator, inference_worker, web):
    page = sign_in(creator)
    # Given the playground, with the built-in generator and its production version to pick
    page.click("nav >> text=Playground")
    expect(page.locator("#generator")).to_have_value("smollm2-135m-instruct")
    expect(page.locator("#version option")).to_contain_text(["production (default)", "v1 (production)"])
    page.select_option("#version", "1")
    # when they type a prompt and generate
    page.fill("#prompt", "Write one sentence about lighthouses.")
    page.fill("#max_new_tokens", "24")
    page.fill("#temperature", "0")
    page.evaluate(WATCH_ANSWER)
    page.click("#go")
    # then the answer streams in piece by piece while the job runs, and the job ends succeeded
    expect(page.locator("#job-status")).to_have_text("succeeded", timeout=90_000)
    streamed = page.evaluate("window.streamed")
    assert len(streamed) >= 3, streamed
    job = Job.objects.get(kind="generate", owner=creator)
    assert "".join(streamed) == job.result["text"]
    expect(page.locator("#answer")).to_have_text(job.result["text"])
    expect(page.locator("#stats")).to_contain_text("tokens/s")
    # and the generator list shows its model card rendered from Markdown
    page.click("nav >> text=Generators")
    card = page.locator("#smollm2-135m-instruct")
    expect(card.locator(".model-card h1")).to_have_text("SmolLM2-135M-Instruct (Q4_1 GGUF)")
    expect(card.locator(".model-card strong").first).to_have_text("Architecture")
    expect(card.locator(".stage.production")).to_have_text("production")


def test_parameters_the_server_refuses_are_shown_and_start_no_job(builtin_live, sign_in, creator, web):
    page = sign_in(creator)
    page.goto(f"{web}/playground/")
    page.fill("#prompt", "A title, please.")
    # Nine stop sequences: the form lets them through, the API allows eight
    page.fill("#stop", "a,b,c,d,e,f,g,h,i")
    page.click("#go")
    expect(page.locator("#form-error")).to_contain_text("stop")
    assert not Job.objects.filter(kind="generate", owner=creator).exists()
