"""Marketing copy through the REST API and a real worker with the built-in SmolLM2: a generation
streams and returns checked variants; history, edit in place, favourites, exports, labeling, and
the refusals (unknown fields, a language without a generator, blocked content)."""
import csv
import io

import pytest

from aigc_platform.audit.models import AuditEvent
from infrastructure.compute.models import JobStatus
from tests.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

BOOTS = {"template": "ad-headline", "product": "Trailblazer leather hiking boots that keep feet dry",
         "audience": "weekend hikers", "tone": "bold", "language": "en", "variants": 2, "length": "short",
         "keywords": ["waterproof"]}


def _finished(client, job_id):
    def done():
        job = client.get(f"/api/v1/jobs/{job_id}/").json()
        return job if job["status"] in ("succeeded", "failed", "cancelled") else None
    return wait_for(done, timeout=240, interval=0.5, what="the marketing job")


def test_a_creator_generates_checked_variants_edits_one_and_exports_them(builtin, creator, client_for, worker):
    client = client_for(creator)
    # Given a brand voice that bans a word
    voice = client.post("/api/v1/marketing/brand-voices/", {"name": "Outdoorsy", "banned_words": ["cheap"]}, format="json")
    assert voice.status_code == 201, voice.content
    # When they ask for two headlines that must say "waterproof"
    answer = client.post("/api/v1/marketing/generations/", {**BOOTS, "brand_voice": voice.json()["id"]}, format="json")
    assert answer.status_code == 201, answer.content
    job = _finished(client, answer.json()["id"])
    # then the job returns two variants, each with the checks it passed, within the bounded attempts
    assert job["status"] == JobStatus.SUCCEEDED, job["error"]
    variants = job["result"]["variants"]
    assert len(variants) == 2
    for variant in variants:
        assert set(variant["checks"]) == {"length", "banned_words", "required_keywords", "content_filter"}
        assert 1 <= variant["attempts"] <= 3
        assert variant["passed"] == all(check["passed"] for check in variant["checks"].values())
        if variant["passed"]:
            assert "waterproof" in variant["text"].lower() and len(variant["text"]) <= 60

    # The history shows the generation; an edit re-runs the checks; a favourite sticks
    history = client.get("/api/v1/marketing/generations/").json()
    assert history["count"] == 1
    generation = history["results"][0]
    first = generation["variants"][0]
    edited = client.patch(f"/api/v1/marketing/variants/{first['id']}/", {"text": "Cheap boots for everyone"}, format="json").json()
    assert edited["edited"] and not edited["passed"]
    assert not edited["checks"]["banned_words"]["passed"] and not edited["checks"]["required_keywords"]["passed"]
    client.patch(f"/api/v1/marketing/variants/{first['id']}/", {"favourite": True}, format="json")
    assert client.get("/api/v1/marketing/generations/?favourites=true").json()["count"] == 1

    # Exports: CSV with a disclosure column, Markdown with front matter
    exported = client.get(f"/api/v1/marketing/generations/{generation['id']}/export/?format=csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert [row["text"] for row in rows][0] == "Cheap boots for everyone" and rows[0]["ai_generated"] == "true"
    markdown = client.get(f"/api/v1/marketing/generations/{generation['id']}/export/?format=md").content.decode()
    assert "ai_generated: true" in markdown and "Cheap boots for everyone" in markdown

    # Send to labeling: a rating project gets one task per variant
    sent = client.post(f"/api/v1/marketing/generations/{generation['id']}/send-to-labeling/", {}, format="json")
    assert sent.status_code == 201, sent.content
    assert len(sent.json()["tasks"]) == 2


def test_requests_that_cannot_be_served_are_refused_with_reasons(creator, other_creator, client_for, builtin):
    client = client_for(creator)
    unknown = client.post("/api/v1/marketing/generations/", {**BOOTS, "colour": "red"}, format="json")
    assert unknown.status_code == 400 and "colour" in unknown.json()["error"]["fields"]
    chinese = client.post("/api/v1/marketing/generations/", {**BOOTS, "language": "zh"}, format="json")
    assert chinese.status_code == 400
    assert chinese.json()["error"]["code"] == "no_generator_for_language"
    assert "APPLICATIONS_GENERATORS" in chinese.json()["error"]["message"]
    blocked = client.post("/api/v1/marketing/generations/", {**BOOTS, "product": "boots, kill yourself"}, format="json")
    assert blocked.status_code == 400 and blocked.json()["error"]["code"] == "content_blocked"
    assert "product" in blocked.json()["error"]["fields"]
    assert AuditEvent.objects.filter(action="content.blocked", actor=creator).exists()
    templates = client.get("/api/v1/marketing/templates/").json()
    assert {"product-description", "ad-headline", "social-post", "email-subject", "slogan", "landing-hero", "aida", "pas"} <= {
        t["slug"] for t in templates}
    # Another creator's brand voice is not theirs to use
    voice = client_for(other_creator).post("/api/v1/marketing/brand-voices/", {"name": "Theirs"}, format="json").json()
    assert client.post("/api/v1/marketing/generations/", {**BOOTS, "brand_voice": voice["id"]}, format="json").status_code == 400
    assert client.get(f"/api/v1/marketing/brand-voices/{voice['id']}/").status_code == 404
