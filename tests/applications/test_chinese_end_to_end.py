"""Chinese from the form to the exports, with a generator registered for zh: a tiny random-weight Qwen2
(a multilingual architecture; tests/models_layer/tiny_models.py), because no multilingual instruct
weights ship offline. The request goes through the API, the job's work (the service a worker runs)
writes through the real runtime, and the page's API and the exports are read back. A random model
writes no Chinese: the checks must say so (never a passed badge), the page must point to a larger
generator, and the exports must keep the Chinese the creator gave. Without a Chinese generator the
request keeps its 400 naming AIGC_GENERATOR_ZH."""

import csv
import io

import pytest

from applications.marketing import services as marketing_services
from applications.marketing.models import Generation
from infrastructure.storage.services import file_store
from models_layer.registry import services as registry
from models_layer.registry.models import Stage, Visibility
from tests.models_layer.tiny_models import build_tiny_model

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("marketing_templates")]

REQUEST = {
    "template": "slogan",
    "product": "山地徒步鞋",
    "audience": "周末徒步者",
    "tone": "活泼",
    "language": "zh",
    "variants": 2,
    "length": "short",
}


@pytest.fixture
def tiny_chinese_generator(operator, tmp_path, settings):
    """A public tiny Qwen2 GGUF, validated and in production, named for zh."""
    path = build_tiny_model("qwen2", tmp_path / "qwen2.gguf", fmt="gguf")
    with path.open("rb") as stream:
        artifact = file_store(owner=operator, stream=stream, filename="qwen2.gguf")
    generator = registry.generator_create(
        owner=operator,
        slug="tiny-qwen2-zh",
        name="Tiny Qwen2 (random weights)",
        kind="text",
        visibility=Visibility.PUBLIC,
    )
    version = registry.generator_version_create(
        generator=generator, artifact=artifact, format="gguf", created_by=operator
    )
    registry.generator_version_validate(version_id=version.pk)
    version.refresh_from_db()
    registry.generator_version_promote(user=operator, version=version, stage=Stage.PRODUCTION)
    settings.APPLICATIONS_GENERATORS = {**settings.APPLICATIONS_GENERATORS, "zh": generator.slug}
    settings.APPLICATIONS_MAX_ATTEMPTS = 2
    return version


def test_without_a_chinese_generator_the_request_is_refused_naming_the_setting(creator, client_for, settings):
    settings.APPLICATIONS_GENERATORS = {**settings.APPLICATIONS_GENERATORS, "zh": None}
    refused = client_for(creator).post("/api/v1/marketing/generations/", REQUEST, format="json")
    error = refused.json()["error"]
    assert (
        refused.status_code == 400
        and error["code"] == "no_generator_for_language"
        and "AIGC_GENERATOR_ZH" in error["message"]
    )


def test_a_chinese_request_runs_through_a_zh_generator_and_its_output_is_checked_to_be_chinese(
    tiny_chinese_generator, creator, client_for
):
    client = client_for(creator)
    # Given a creator who asks, in the form's API, for two Chinese slogans
    answer = client.post("/api/v1/marketing/generations/", REQUEST, format="json")
    assert answer.status_code in (201, 202), answer.content
    generation_id = Generation.objects.filter(owner=creator).latest("created_at").pk
    # When the job's work runs (what the worker calls), through the runtime and the tiny model
    result = marketing_services.generation_run(
        generation_id=generation_id, version_id=tiny_chinese_generator.pk, seed=7
    )
    # Then each variant was judged by the content checks: random tokens are not Chinese copy
    assert len(result["variants"]) == 2
    for variant in result["variants"]:
        checks = variant["checks"]
        assert not variant["passed"], checks
        read = checks.get("language", {}).get("passed") is False or any(
            not checks[name]["passed"] for name in ("real_words", "on_subject", "repetition") if name in checks
        )
        assert read or not checks.get("length", {"passed": True})["passed"] or "complete" in checks, checks
    # and the page shows them failed, with reasons, and says a larger generator is needed
    shown = client.get(f"/api/v1/marketing/generations/{generation_id}/").json()
    assert shown["generator"] == "tiny-qwen2-zh v1"
    assert [variant["passed"] for variant in shown["variants"]] == [False, False]
    assert (
        shown["generator_advice"]
        and "failed 2 of 2" in shown["generator_advice"]
        and "larger generator" in shown["generator_advice"]
    )
    # and the exports keep the Chinese the creator gave and mark each variant failed, with its reasons
    exported = client.get(f"/api/v1/marketing/generations/{generation_id}/export/?format=csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [row["product"] for row in rows] == ["山地徒步鞋", "山地徒步鞋"]
    assert all(row["passed"] == "False" and row["failed_checks"] for row in rows)
    markdown = client.get(f"/api/v1/marketing/generations/{generation_id}/export/?format=md").content.decode()
    assert "山地徒步鞋" in markdown and "周末徒步者" in markdown and markdown.count("**未通过的检查：") == 2
