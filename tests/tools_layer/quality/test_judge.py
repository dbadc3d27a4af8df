"""The judge: off by default; when AIGC_JUDGE_GENERATOR names a generator, it scores an item against its
application's rubric through structured output (the built-in model here: it writes the JSON, though
its scores mean little), and the scores and reason come back in the rubric's shape."""

import pytest

from tools_layer.quality import judge

pytestmark = pytest.mark.django_db


def test_the_judge_is_off_unless_a_generator_is_named(builtin, settings):
    settings.APPLICATIONS_JUDGE_GENERATOR = None
    assert judge.judge_version() is None
    assert judge.judge_item(rubric="marketing", request="A slogan for boots", text="Dry feet on every trail.") is None


def test_a_named_judge_scores_each_criterion_of_the_rubric_with_a_reason(builtin, settings):
    settings.APPLICATIONS_JUDGE_GENERATOR = builtin.generator.slug
    found = judge.judge_item(
        rubric="courseware",
        request="A slide of a lesson on volcanoes for grade 6 students",
        text="title: Why volcanoes erupt\nbullets: Magma rises through a vent",
    )
    assert found is not None, "the built-in model did not close its JSON"
    assert found["judge"] == f"{builtin.generator.slug} v{builtin.number}"
    assert set(found["scores"]) == {"accuracy", "grade_fit", "alignment"}
    assert all(judge.SCORE_RANGE[0] <= score <= judge.SCORE_RANGE[1] for score in found["scores"].values())
    assert 5 <= len(found["reason"]) <= judge.REASON_CHARS
