"""Issue 21, finding 7 (stages), as the attack: creator Bob picks a version of operator Alice's public
generator that is not in production (staging: validated, not released) in marketing and in
courseware. The generate API already refuses it; the applications now use the same rule
(models_layer.registry.selectors.generator_version_usable), so Bob gets a 404 and nothing is queued."""

import pytest
from django.utils import timezone

from applications.courseware.models import Lesson
from applications.marketing.models import Generation
from infrastructure.compute.models import Job
from models_layer.registry.models import Stage, Visibility
from models_layer.registry.services import generator_create, generator_version_create
from tests.applications.conftest import marketing_templates  # noqa: F401 (the applications' fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("marketing_templates")]
HEADLINE = {
    "template": "ad-headline",
    "product": "Trail boots",
    "audience": "hikers",
    "tone": "bold",
    "language": "en",
    "variants": 1,
    "length": "short",
}
LESSON = {
    "topic": "Fractions",
    "grade_level": 4,
    "objectives": ["Add fractions"],
    "slide_count": 1,
    "quiz_questions": 1,
}


@pytest.fixture
def alices_generator(builtin, make_user):
    """Alice's public text generator: v1 in production, v2 validated and in staging (not released)."""
    alice = make_user("operator", username="alice")
    generator = generator_create(
        owner=alice, slug="alice-writer", name="Alice's writer", kind="text", visibility=Visibility.PUBLIC
    )
    for stage in (Stage.PRODUCTION, Stage.STAGING):
        version = generator_version_create(
            generator=generator,
            artifact=builtin.artifact,
            format=builtin.format,
            parameters=builtin.parameters,
            created_by=alice,
        )
        version.stage, version.validated_at = stage, timezone.now()
        version.save(update_fields=["stage", "validated_at"])
    return alice, generator


@pytest.mark.parametrize("path, body", [("/api/v1/marketing/generations/", HEADLINE), ("/api/v1/courseware/", LESSON)])
def test_bob_cannot_use_the_staging_version_of_alices_public_generator(
    alices_generator, creator, client_for, path, body
):
    alice, generator = alices_generator
    jobs = Job.objects.count()
    # The generate API's own answer to the same request: 404.
    generate = client_for(creator).post(
        f"/api/v1/generators/{generator.slug}/generate/", {"prompt": "Hi", "version": 2}, format="json"
    )
    assert generate.status_code == 404, generate.content

    # When Bob asks marketing or courseware for Alice's staging version.
    refused = client_for(creator).post(
        path, {**body, "generator": generator.slug, "generator_version": 2}, format="json"
    )

    # Then it is the same 404, and nothing was recorded or queued.
    assert refused.status_code == 404, refused.content
    assert refused.json()["error"]["code"] == "not_found"
    assert Job.objects.count() == jobs
    assert not Generation.objects.filter(owner=creator).exists() and not Lesson.objects.filter(owner=creator).exists()

    # Her production version is Bob's to use, and her staging version is hers.
    assert (
        client_for(creator)
        .post(path, {**body, "generator": generator.slug, "generator_version": 1}, format="json")
        .status_code
        == 202
    )
    assert (
        client_for(alice)
        .post(path, {**body, "generator": generator.slug, "generator_version": 2}, format="json")
        .status_code
        == 202
    )
