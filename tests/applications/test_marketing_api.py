"""Marketing copy through the REST API and a real worker with the built-in SmolLM2: a generation
streams and returns checked variants; history, edit in place, favourites, exports, labeling, the
rewrite of a variant that breaks a check, the per-language generator, and the refusals (unknown
fields, a language without a generator, blocked content, other people's things)."""

import csv
import io
import json

import pytest
import requests
from django.conf import settings
from rest_framework.authtoken.models import Token

from aigc_platform.audit.models import AuditEvent
from applications.marketing.models import Template
from infrastructure.compute.models import JobStatus
from tests.infrastructure.provenance_helpers import assert_record_served, front_matter
from tests.processes import wait_for
from tools_layer.labeling.models import LabelingTask

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("marketing_templates")]

BOOTS = {
    "template": "ad-headline",
    "product": "Trailblazer leather hiking boots that keep feet dry",
    "audience": "weekend hikers",
    "tone": "bold",
    "language": "en",
    "variants": 2,
    "length": "short",
    "keywords": ["waterproof"],
}
CHECKS = {
    "length",
    "banned_words",
    "required_keywords",
    "content_filter",
    "language",
    "real_words",
    "on_subject",
    "fluency",
    "task_talk",
    "repetition",
    "complete_sentences",
    "shouting",
}


def _finished(client, job_id):
    def done():
        job = client.get(f"/api/v1/jobs/{job_id}/").json()
        return job if job["status"] in ("succeeded", "failed", "cancelled") else None

    return wait_for(done, timeout=240, interval=0.5, what="the marketing job")


def _events(web: str, user, job_id) -> list[tuple[str, dict]]:
    """Every server-sent event of the job's stream (an ended job's stream is replayed from its start)."""
    token, _ = Token.objects.get_or_create(user=user)
    received, event_type = [], None
    with requests.get(
        f"{web}/api/v1/jobs/{job_id}/events/", headers={"Authorization": f"Token {token.key}"}, stream=True, timeout=30
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                event_type = line.removeprefix("event: ")
            elif line.startswith("data: "):
                received.append((event_type, json.loads(line.removeprefix("data: "))))
    return received


def test_a_creator_generates_checked_variants_edits_one_and_exports_them(
    builtin, creator, other_creator, client_for, worker
):
    client = client_for(creator)
    # Given a brand voice that bans a word
    voice = client.post(
        "/api/v1/marketing/brand-voices/", {"name": "Outdoorsy", "banned_words": ["cheap"]}, format="json"
    )
    assert voice.status_code == 201, voice.content
    # When they ask for two headlines that must say "waterproof"
    answer = client.post("/api/v1/marketing/generations/", {**BOOTS, "brand_voice": voice.json()["id"]}, format="json")
    assert answer.status_code == 202, answer.content
    assert answer.json()["object"] == {"type": "generation", "id": str(answer.json()["generation_id"])}
    job = _finished(client, answer.json()["id"])
    # then the job returns two variants, each with the checks it passed, within the bounded attempts
    assert job["status"] == JobStatus.SUCCEEDED, job["error"]
    variants = job["result"]["variants"]
    assert len(variants) == 2
    for variant in variants:
        # every check ran, unless the copy is in another language (then the rest cannot read it)
        assert set(variant["checks"]) == CHECKS or not variant["checks"]["language"]["passed"]
        assert (
            1 <= variant["attempts"] <= settings.APPLICATIONS_MAX_ATTEMPTS
            and len(variant["tries"]) == variant["attempts"]
        )
        assert variant["passed"] == all(check["passed"] for check in variant["checks"].values())
        if variant["passed"]:
            assert "waterproof" in variant["text"].lower() and len(variant["text"]) <= 60
            assert "cheap" not in variant["text"].lower()

    # The history shows the generation; an edit re-runs the checks; a favourite sticks
    history = client.get("/api/v1/marketing/generations/").json()
    assert history["count"] == 1
    generation = history["results"][0]
    assert generation["generator"] == "smollm2-135m-instruct v1" and generation["brand_voice"] == voice.json()["id"]
    first = generation["variants"][0]
    edited = client.patch(
        f"/api/v1/marketing/variants/{first['id']}/", {"text": "Cheap boots for everyone"}, format="json"
    ).json()
    assert edited["edited"] and not edited["passed"]
    assert not edited["checks"]["banned_words"]["passed"] and not edited["checks"]["required_keywords"]["passed"]
    client.patch(f"/api/v1/marketing/variants/{first['id']}/", {"favourite": True}, format="json")
    favourites = client.get("/api/v1/marketing/generations/?favourites=true").json()
    assert favourites["count"] == 1 and favourites["results"][0]["variants"][0]["favourite"]

    # Exports: CSV with a disclosure column, Markdown with front matter and a closing disclosure
    exported = client.get(f"/api/v1/marketing/generations/{generation['id']}/export/?format=csv")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    assert f"marketing-{generation['id']}.csv" in exported["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [row["text"] for row in rows] == ["Cheap boots for everyone", variants[1]["text"]]
    assert {row["ai_generated"] for row in rows} == {"true"} and rows[0]["favourite"] == "True"
    markdown = client.get(f"/api/v1/marketing/generations/{generation['id']}/export/?format=md").content.decode()
    assert markdown.startswith("---\n") and "ai_generated: true" in markdown and "## Variant 1 ★" in markdown
    assert "Cheap boots for everyone" in markdown and markdown.rstrip().endswith("review before publishing._")
    assert client.get(f"/api/v1/marketing/generations/{generation['id']}/export/?format=docx").status_code == 400
    # Provenance: each variant's record, and the Markdown export's (made from both), for the creator only
    for variant in variants:
        assert_record_served(
            owner=creator,
            other=other_creator,
            record_id=variant["provenance_id"],
            kind="marketing_variant",
            generator="smollm2-135m-instruct v1",
        )
    export_record = assert_record_served(
        owner=creator,
        other=other_creator,
        record_id=front_matter(markdown)["provenance_id"],
        kind="export",
        generator="smollm2-135m-instruct v1",
    )
    assert sorted(export_record["detail"]["sources"]) == sorted(variant["provenance_id"] for variant in variants)
    assert exported["X-Provenance-Id"] != export_record["id"]  # the CSV is an artifact of its own

    # Send to labeling: a rating project gets one task per variant, with the text and where it came from
    sent = client.post(f"/api/v1/marketing/generations/{generation['id']}/send-to-labeling/", {}, format="json")
    assert sent.status_code == 201, sent.content
    tasks = LabelingTask.objects.filter(pk__in=sent.json()["tasks"], project_id=sent.json()["project"])
    assert sorted(task.payload["text"] for task in tasks) == sorted(["Cheap boots for everyone", variants[1]["text"]])
    assert {task.source["generation"] for task in tasks} == {str(generation["id"])}
    project = client.get(f"/api/v1/labeling/projects/{sent.json()['project']}/").json()
    assert project["task_type"] == "rating" and sent.json()["project_url"] == f"/labeling/{project['id']}/"
    # and a later send goes to the same project when asked, with only the chosen variant
    again = client.post(
        f"/api/v1/marketing/generations/{generation['id']}/send-to-labeling/",
        {"project": sent.json()["project"], "variants": [first["id"]]},
        format="json",
    )
    assert (
        again.status_code == 201
        and again.json()["project"] == sent.json()["project"]
        and len(again.json()["tasks"]) == 1
    )
    assert LabelingTask.objects.filter(project_id=sent.json()["project"]).count() == 3

    # Nobody else sees or touches any of it
    other = client_for(other_creator)
    assert other.get("/api/v1/marketing/generations/").json()["count"] == 0
    for path in (
        f"/api/v1/marketing/generations/{generation['id']}/",
        f"/api/v1/marketing/generations/{generation['id']}/export/?format=csv",
        f"/api/v1/marketing/variants/{first['id']}/",
        f"/api/v1/marketing/brand-voices/{voice.json()['id']}/",
    ):
        assert other.get(path).status_code == 404, path
    assert (
        other.patch(f"/api/v1/marketing/variants/{first['id']}/", {"favourite": False}, format="json").status_code
        == 404
    )
    assert (
        other.post(f"/api/v1/marketing/generations/{generation['id']}/send-to-labeling/", {}, format="json").status_code
        == 404
    )
    assert other.delete(f"/api/v1/marketing/brand-voices/{voice.json()['id']}/").status_code == 404


def test_a_variant_that_uses_a_banned_word_is_rewritten_a_bounded_number_of_times(
    builtin, creator, client_for, worker, web
):
    client = client_for(creator)
    # Given a brand voice that bans the product's own name (which the small model loves to repeat)
    voice = client.post(
        "/api/v1/marketing/brand-voices/", {"name": "Nameless", "banned_words": ["Trailblazer"]}, format="json"
    ).json()
    request = {**BOOTS, "keywords": [], "brand_voice": voice["id"], "seed": 7}
    # When they generate two headlines
    answer = client.post("/api/v1/marketing/generations/", request, format="json")
    assert answer.status_code == 202, answer.content
    job = _finished(client, answer.json()["id"])
    assert job["status"] == JobStatus.SUCCEEDED, job["error"]
    # Then a first try that used the word failed its check and was written again, at most APPLICATIONS_MAX_ATTEMPTS times in all
    variants = job["result"]["variants"]
    rewritten = [variant for variant in variants if "banned_words" in variant["tries"][0]["failed"]]
    assert rewritten, [variant["tries"] for variant in variants]
    for variant in variants:
        assert 1 <= variant["attempts"] <= settings.APPLICATIONS_MAX_ATTEMPTS and [
            t["attempt"] for t in variant["tries"]
        ] == list(range(1, variant["attempts"] + 1))
        assert all(try_["failed"] for try_ in variant["tries"][:-1])  # only a failed try is followed by another
        if variant["passed"]:
            assert "trailblazer" not in variant["text"].lower() and variant["checks"]["banned_words"]["passed"]
        else:
            assert variant["attempts"] == settings.APPLICATIONS_MAX_ATTEMPTS
    for variant in rewritten:
        assert variant["attempts"] >= 2
    # and the job's event stream carried every try's tokens, tagged, and one `variant` event per variant
    received = _events(web, creator, job["id"])
    tokens = [data for kind, data in received if kind == "token"]
    assert {(t["variant"], t["attempt"]) for t in tokens} == {
        (index, attempt) for index, variant in enumerate(variants) for attempt in range(1, variant["attempts"] + 1)
    }
    streamed = [data for kind, data in received if kind == "variant"]
    assert [(v["index"], v["text"], v["passed"]) for v in streamed] == [
        (index, v["text"], v["passed"]) for index, v in enumerate(variants)
    ]


def test_chinese_goes_through_the_generator_its_setting_names(builtin, creator, client_for, worker, settings):
    # Given an operator who names a generator version for Chinese
    settings.APPLICATIONS_GENERATORS = {
        **settings.APPLICATIONS_GENERATORS,
        "zh": f"{builtin.generator.slug}:{builtin.number}",
    }
    client = client_for(creator)
    # When a creator asks for a Chinese slogan
    answer = client.post(
        "/api/v1/marketing/generations/",
        {
            "template": "slogan",
            "product": "山地徒步鞋",
            "audience": "周末徒步者",
            "tone": "活泼",
            "language": "zh",
            "variants": 1,
            "length": "short",
        },
        format="json",
    )
    assert answer.status_code == 202, answer.content
    job = _finished(client, answer.json()["id"])
    # Then that version wrote it through the same checked path
    assert job["status"] == JobStatus.SUCCEEDED, job["error"]
    generation = client.get(f"/api/v1/marketing/generations/{answer.json()['generation_id']}/").json()
    assert generation["language"] == "zh" and generation["generator"] == f"{builtin.generator.slug} v{builtin.number}"
    [variant] = job["result"]["variants"]
    # (the built-in model writes English: the language check fails it, and no other content check reads it as Chinese)
    assert {"length", "content_filter", "language"} <= set(variant["checks"]) and "fluency" not in variant["checks"]
    assert variant["passed"] == all(c["passed"] for c in variant["checks"].values())
    # A setting that names no such generator is refused, not crashed on
    settings.APPLICATIONS_GENERATORS = {**settings.APPLICATIONS_GENERATORS, "zh": "no-such-generator"}
    missing = client.post("/api/v1/marketing/generations/", {**BOOTS, "language": "zh"}, format="json")
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "no_generator_for_language", (
        missing.content
    )
    assert "no-such-generator" in missing.json()["error"]["message"]


def test_requests_that_cannot_be_served_are_refused_with_reasons(creator, other_creator, client_for, builtin):
    client = client_for(creator)
    unknown = client.post("/api/v1/marketing/generations/", {**BOOTS, "colour": "red"}, format="json")
    assert unknown.status_code == 400 and "colour" in unknown.json()["error"]["fields"]
    # Chinese without a generator for it: a 400 that names the setting to change
    chinese = client.post("/api/v1/marketing/generations/", {**BOOTS, "language": "zh"}, format="json")
    assert chinese.status_code == 400, chinese.content
    assert chinese.json()["error"]["code"] == "no_generator_for_language", chinese.content
    assert "APPLICATIONS_GENERATORS" in chinese.json()["error"]["message"]
    # Blocked content, in English or Chinese, is refused field by field and logged for admins
    blocked = client.post("/api/v1/marketing/generations/", {**BOOTS, "product": "boots, kill yourself"}, format="json")
    assert blocked.status_code == 400 and blocked.json()["error"]["code"] == "content_blocked"
    assert "product" in blocked.json()["error"]["fields"] and "rephrase" in blocked.json()["error"]["message"]
    blocked = client.post("/api/v1/marketing/generations/", {**BOOTS, "audience": "你们去死吧"}, format="json")
    assert blocked.status_code == 400 and set(blocked.json()["error"]["fields"]) == {"audience"}
    events = AuditEvent.objects.filter(action="content.blocked", actor=creator).order_by("created_at")
    assert [event.detail["terms"] for event in events] == [["kill yourself"], ["去死吧"]]
    assert {event.detail["where"] for event in events} == {"marketing input"}
    templates = client.get("/api/v1/marketing/templates/").json()
    assert {
        "product-description",
        "ad-headline",
        "social-post",
        "email-subject",
        "slogan",
        "landing-hero",
        "aida",
        "pas",
    } <= {t["slug"] for t in templates}
    assert all(field["max_chars"] >= field["min_chars"] for t in templates for field in t["fields"])
    for template in Template.objects.all():
        template.clean()  # the seeded templates are what an admin could save
    assert (
        client.post("/api/v1/marketing/generations/", {**BOOTS, "template": "sonnet"}, format="json").status_code == 400
    )
    # Another creator's brand voice is not theirs to use, see, change or delete
    voice = client_for(other_creator).post("/api/v1/marketing/brand-voices/", {"name": "Theirs"}, format="json").json()
    assert (
        client.post("/api/v1/marketing/generations/", {**BOOTS, "brand_voice": voice["id"]}, format="json").status_code
        == 400
    )
    assert client.get(f"/api/v1/marketing/brand-voices/{voice['id']}/").status_code == 404
    assert (
        client.patch(f"/api/v1/marketing/brand-voices/{voice['id']}/", {"name": "Mine"}, format="json").status_code
        == 404
    )
    assert client.get("/api/v1/marketing/brand-voices/").json()["count"] == 0


def test_a_keyword_the_brand_voice_bans_is_refused_before_any_writing(creator, client_for, builtin):
    client = client_for(creator)
    voice = client.post(
        "/api/v1/marketing/brand-voices/", {"name": "Plain", "banned_words": ["Waterproof"]}, format="json"
    ).json()
    clash = client.post("/api/v1/marketing/generations/", {**BOOTS, "brand_voice": voice["id"]}, format="json")
    assert clash.status_code == 400 and clash.json()["error"]["code"] == "keyword_banned"
    assert "waterproof" in clash.json()["error"]["fields"]["keywords"][0]
    blocked = client.post(
        "/api/v1/marketing/brand-voices/", {"name": "Edgy", "sample_copy": "Heil Hitler!"}, format="json"
    )
    assert blocked.status_code == 400 and "sample_copy" in blocked.json()["error"]["fields"]
    assert AuditEvent.objects.get(action="content.blocked", actor=creator).detail["where"] == "brand voice input"


# Words no social post does without, and the product's name, which the small model always repeats.
COMMON_WORDS = [
    "the",
    "a",
    "an",
    "and",
    "or",
    "your",
    "you",
    "for",
    "to",
    "of",
    "with",
    "in",
    "on",
    "is",
    "it",
    "our",
    "at",
    "trailblazer",
]


def test_written_copy_that_the_filter_blocks_is_not_kept_and_is_logged(builtin, creator, settings):
    # Given a generation accepted before an admin added words to the filter that its copy cannot avoid
    from applications.marketing.models import Generation
    from applications.marketing.services import generation_run

    generation = Generation.objects.create(
        owner=creator,
        template=Template.objects.get(slug="social-post"),
        product="Trailblazer boots",
        audience="hikers",
        tone="bold",
        language="en",
        length="short",
        variant_count=1,
        generator="smollm2-135m-instruct v1",
    )
    settings.MODERATION_BLOCKED_TERMS = {"en": COMMON_WORDS}
    settings.APPLICATIONS_MAX_ATTEMPTS = 1  # a rewrite told to avoid them sometimes writes only dates and codes
    # When the generator writes the variant (here, in this process)
    result = generation_run(generation_id=generation.pk, version_id=builtin.pk, seed=3)
    # Then the try failed the filter, its text is dropped everywhere, and admins see the event
    [variant] = result["variants"]
    assert variant.get("blocked") and variant["text"] == "" and variant["attempts"] == 1, variant
    assert all("content_filter" in try_["failed"] and try_["text"] == "" for try_ in variant["tries"])
    assert generation.variants.get().text == ""
    event = AuditEvent.objects.get(action="content.blocked", actor=creator)
    assert event.detail["where"] == "marketing output" and set(event.detail["terms"]) <= set(COMMON_WORDS)
    assert (event.target_type, event.target_id) == ("marketing.generation", str(generation.pk))


def test_admins_edit_templates_in_the_admin_and_creators_get_the_change(admin_user, creator, client_for):
    from django.test import Client

    browser = Client()
    browser.force_login(admin_user)
    template = Template.objects.get(slug="slogan")
    for path in (
        "/admin/marketing/template/",
        f"/admin/marketing/template/{template.pk}/change/",
        "/admin/marketing/brandvoice/",
        "/admin/marketing/generation/",
        "/admin/audit/auditevent/?action=content.blocked",
    ):
        assert browser.get(path).status_code == 200, path
    # When an admin shortens the slogan's limit and rewords its prompt
    form = {
        "slug": "slogan",
        "name": "Slogan",
        "description": template.description,
        "active": "on",
        "fields": '[{"name": "slogan", "label": "Slogan", "min_chars": 10, "max_chars": 32}]',
        "prompt": "Write one short slogan for {product}, for {audience}. {voice}{keywords}In {language}.",
    }
    assert browser.post(f"/admin/marketing/template/{template.pk}/change/", form).status_code == 302
    # then the API shows it, and a prompt with an unknown placeholder is refused on the form
    slogan = next(t for t in client_for(creator).get("/api/v1/marketing/templates/").json() if t["slug"] == "slogan")
    assert slogan["fields"][0]["max_chars"] == 32 and slogan["prompt"].startswith("Write one short slogan")
    refused = browser.post(f"/admin/marketing/template/{template.pk}/change/", {**form, "prompt": "For {colour}."})
    assert refused.status_code == 200 and "Use only the placeholders" in refused.content.decode()
