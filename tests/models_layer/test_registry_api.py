"""The generators API end to end: real web server, real workers (threads pool for generation)."""

import json
from pathlib import Path

import pytest
import requests
from rest_framework.authtoken.models import Token

from models_layer.registry import services
from models_layer.registry.models import GeneratorVersion, Stage
from tests.models_layer.tiny_models import tiny_model, write_gguf
from tests.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def builtin_live(transactional_db):
    return services.generators_bootstrap()


def test_list_and_detail_show_the_builtin_with_its_model_card(builtin_live, creator, client_for):
    client = client_for(creator)
    listed = client.get("/api/v1/generators/").json()["results"]
    assert {"slug": "smollm2-135m-instruct", "production_version": 1} == {
        k: listed[0][k] for k in ("slug", "production_version")
    }
    detail = client.get("/api/v1/generators/smollm2-135m-instruct/").json()
    assert detail["versions"][0]["stage"] == "production" and "SmolLM2" in detail["versions"][0]["model_card"]


def test_generate_waits_streams_tokens_and_repeats_with_the_same_seed(
    builtin_live, creator, client_for, inference_worker, web
):
    # Given a creator, when they generate with ?wait
    client = client_for(creator)
    body = {
        "messages": [{"role": "user", "content": "Name three colours."}],
        "max_new_tokens": 10,
        "temperature": 0.8,
        "seed": 11,
        "presence_penalty": 0.5,
        "frequency_penalty": 0.3,
    }
    job = client.post("/api/v1/generators/smollm2-135m-instruct/generate/?wait=120", body, format="json").json()
    # then the finished job comes back with its text inline
    assert job["status"] == "succeeded", job
    assert job["result"]["generator"] == "smollm2-135m-instruct" and job["result"]["usage"]["completion_tokens"] <= 10
    # and the job's event stream carried the text token by token
    token = Token.objects.get(user=creator).key
    stream = requests.get(
        f"{web}/api/v1/jobs/{job['id']}/events/", headers={"Authorization": f"Token {token}"}, timeout=30
    )
    pieces = [
        json.loads(line[6:])["text"]
        for event in stream.text.split("\n\n")
        if "event: token" in event
        for line in event.splitlines()
        if line.startswith("data: ")
    ]
    assert len(pieces) >= 2 and "".join(pieces) == job["result"]["text"]
    # and the same seed and parameters give the same text again
    again = client.post("/api/v1/generators/smollm2-135m-instruct/generate/?wait=120", body, format="json").json()
    assert again["result"]["text"] == job["result"]["text"]


def test_concurrent_generate_jobs_are_batched_by_the_inference_worker(
    builtin_live, creator, client_for, inference_worker
):
    # Given four requests queued at once
    client = client_for(creator)
    body = {"messages": [{"role": "user", "content": "Describe the sea."}], "max_new_tokens": 24, "temperature": 0.7}
    ids = [
        client.post("/api/v1/generators/smollm2-135m-instruct/generate/", {**body, "seed": seed}, format="json").json()[
            "id"
        ]
        for seed in range(4)
    ]
    # when the threads-pool worker runs them
    jobs = wait_for(
        lambda: (
            (found := [client.get(f"/api/v1/jobs/{pk}/").json() for pk in ids])
            and all(j["status"] in ("succeeded", "failed") for j in found)
            and found
        ),
        timeout=120,
        what="the jobs",
    )
    assert [j["status"] for j in jobs] == ["succeeded"] * 4, jobs
    # then their sequences shared decode steps instead of running one after another
    assert max(j["result"]["peak_batch"] for j in jobs) >= 2, [j["result"] for j in jobs]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"prompt": "hi", "temperature": 5}, "temperature"),
        ({"prompt": "hi", "frequency_penalty": 3}, "frequency_penalty"),
        ({"prompt": "hi", "presence_penalty": -2.5}, "presence_penalty"),
        ({"prompt": "hi", "messages": [{"role": "user", "content": "hi"}]}, "prompt"),
        ({"prompt": "hi", "colour": "red"}, "colour"),
        ({"prompt": "hi", "response_format": {"type": "yaml"}}, "response_format"),
        ({"count": 4}, "count"),
    ],
)
def test_bad_parameters_are_400_with_the_field(builtin_live, creator, client_for, body, field):
    response = client_for(creator).post("/api/v1/generators/smollm2-135m-instruct/generate/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_another_users_private_generator_is_404(builtin_live, operator, other_creator, client_for):
    services.generator_create(owner=operator, slug="secret-style", name="Secret", kind="text")
    client = client_for(other_creator)
    assert client.get("/api/v1/generators/secret-style/").status_code == 404
    assert client.post("/api/v1/generators/secret-style/generate/", {"prompt": "hi"}, format="json").status_code == 404
    assert "secret-style" not in [g["slug"] for g in client.get("/api/v1/generators/").json()["results"]]


def test_a_broken_upload_fails_its_validation_job_and_never_reaches_production(operator, client_for, worker, tmp_path):
    client = client_for(operator)
    assert (
        client.post(
            "/api/v1/generators/", {"slug": "uploaded", "name": "Uploaded", "kind": "text"}, format="json"
        ).status_code
        == 201
    )
    # A GGUF whose header is complete but disagrees with its weights: only loading it finds that out
    broken = write_gguf(tiny_model("llama"), "llama", tmp_path / "model.gguf", feed_forward_length=96)
    with broken.open("rb") as upload:
        created = client.post(
            "/api/v1/generators/uploaded/versions/", {"file": upload, "format": "gguf"}, format="multipart"
        )
    assert created.status_code == 201, created.json()
    version = created.json()
    assert version["stage"] == "draft"
    job = wait_for(
        lambda: (
            (j := client.get(f"/api/v1/jobs/{version['validation_job']}/").json())["status"] in ("succeeded", "failed")
            and j
        ),
        timeout=120,
        what="the validation job",
    )
    assert job["status"] == "failed" and "failed validation" in job["error"]
    row = GeneratorVersion.objects.get(generator__slug="uploaded", number=1)
    assert row.stage == Stage.DRAFT and row.validation_error
    promote = client.post("/api/v1/generators/uploaded/versions/1/promote/", {"stage": "production"}, format="json")
    assert promote.status_code == 409


def _tiny_llama_checkpoint_zip(builtin, folder) -> "Path":
    """A real (if untrained) two-layer Llama with SmolLM2's tokenizer, zipped as an HF checkpoint folder."""
    import shutil

    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from infrastructure.storage.selectors import file_local_path
    from models_layer.runtime.artifacts import hf_folder_from_gguf

    source = hf_folder_from_gguf(file_local_path(file=builtin.artifact), builtin.artifact.sha256)
    tokenizer = AutoTokenizer.from_pretrained(source)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
    )
    checkpoint = folder / "tiny-llama"
    LlamaForCausalLM(config).save_pretrained(checkpoint)
    tokenizer.save_pretrained(checkpoint)
    return Path(shutil.make_archive(str(folder / "tiny-llama"), "zip", folder, "tiny-llama"))


def test_an_uploaded_hf_checkpoint_is_validated_promoted_and_generates(
    builtin_live, operator, client_for, worker, inference_worker, tmp_path
):
    # Given an operator's generator and a zipped Hugging Face checkpoint
    client = client_for(operator)
    client.post("/api/v1/generators/", {"slug": "tiny", "name": "Tiny", "kind": "text"}, format="json")
    archive = _tiny_llama_checkpoint_zip(builtin_live, tmp_path)
    # when they upload it, it starts in draft with a validation job
    with archive.open("rb") as upload:
        version = client.post(
            "/api/v1/generators/tiny/versions/",
            {"file": upload, "format": "hf", "model_card": "# Tiny\n"},
            format="multipart",
        ).json()
    assert version["stage"] == "draft" and version["validation_job"]
    job = wait_for(
        lambda: (
            (j := client.get(f"/api/v1/jobs/{version['validation_job']}/").json())["status"] in ("succeeded", "failed")
            and j
        ),
        timeout=120,
        what="the validation job",
    )
    # then the job proves it loads and generates, and the version moves to staging
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["validated"] is True
    detail = client.get("/api/v1/generators/tiny/").json()
    assert detail["versions"][0]["stage"] == "staging" and detail["versions"][0]["validated"] is True
    # and once promoted it is what generate uses by default
    promoted = client.post("/api/v1/generators/tiny/versions/1/promote/", {"stage": "production"}, format="json")
    assert promoted.status_code == 200 and promoted.json()["stage"] == "production"
    answer = client.post(
        "/api/v1/generators/tiny/generate/?wait=120", {"prompt": "Hello", "max_new_tokens": 5, "seed": 3}, format="json"
    ).json()
    assert answer["status"] == "succeeded", answer
    assert answer["result"]["version"] == 1 and answer["result"]["usage"]["completion_tokens"] >= 1


def test_pages_show_model_cards_and_the_playground(builtin_live, creator, client):
    client.force_login(creator)
    page = client.get("/generators/").content.decode()
    assert "<h1>SmolLM2-135M-Instruct (Q4_1 GGUF)</h1>" in page
    playground = client.get("/playground/?generator=smollm2-135m-instruct").content.decode()
    assert '"slug": "smollm2-135m-instruct"' in playground and 'id="answer"' in playground


def test_raw_html_in_a_model_card_is_shown_as_text():
    from models_layer.registry.views import model_card_html

    html = model_card_html("<script>alert(1)</script> [x](javascript:alert(1)) **bold**")
    assert "<script>" not in html and 'href="#"' in html and "<strong>bold</strong>" in html
