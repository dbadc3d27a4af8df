"""A judge: a generator that scores one written item against a rubric, through structured output (the
runtime's JSON-schema grammar), with a one-line reason. Off unless settings.APPLICATIONS_JUDGE_GENERATOR
(environment AIGC_JUDGE_GENERATOR) names a generator: the built-in 135M model writes the JSON but cannot
judge, so a judge worth reading is a larger generator an operator registers.
"""

from typing import Any

from django.conf import settings

from aigc_platform.core.errors import ApplicationError

# The criteria per application, each scored 1 (poor) to 5 (excellent).
RUBRICS = {
    "marketing": {
        "relevance": "it is about the product and speaks to the audience",
        "clarity": "it is easy to read and understand",
        "persuasion": "it makes the reader want to act",
        "brand_voice": "it matches the requested tone and brand voice",
    },
    "courseware": {
        "accuracy": "every statement is factually correct",
        "grade_fit": "it suits students of the given grade",
        "alignment": "it serves the lesson's learning objectives",
    },
}
SCORE_RANGE = (1, 5)
REASON_CHARS = 160
SYSTEM = "You are a strict reviewer. You score text against a rubric and answer in JSON only."


def judge_version():
    """The production version of the configured judge, or None when no judge is configured."""
    from models_layer.registry.selectors import generator_production_version

    slug = getattr(settings, "APPLICATIONS_JUDGE_GENERATOR", None)
    return generator_production_version(generator=slug) if slug else None


def rubric_schema(rubric: str) -> dict:
    criteria = RUBRICS[rubric]
    low, high = SCORE_RANGE
    return {
        "type": "object",
        "properties": {
            "scores": {
                "type": "object",
                "properties": {name: {"type": "integer", "minimum": low, "maximum": high} for name in criteria},
                "required": list(criteria),
                "additionalProperties": False,
            },
            "reason": {"type": "string", "minLength": 5, "maxLength": REASON_CHARS},
        },
        "required": ["scores", "reason"],
        "additionalProperties": False,
    }


def judge_prompt(rubric: str, *, request: str, text: str) -> str:
    criteria = "\n".join(f"- {name}: {meaning}" for name, meaning in RUBRICS[rubric].items())
    low, high = SCORE_RANGE
    return (
        f"The request: {request}\nThe text written for it:\n{text}\n\nScore the text from {low} (poor) to {high} "
        f"(excellent) on each criterion:\n{criteria}\nThen give one sentence on its biggest weakness."
    )


def judge_item(*, rubric: str, request: str, text: str, version=None, seed: int = 0) -> dict[str, Any] | None:
    """{"judge", "scores": {criterion: 1-5}, "reason"} for `text` written for `request`, by the
    configured judge (or `version`); None when no judge is configured or it could not finish its JSON."""
    from models_layer.runtime import generate_text

    version = version or judge_version()
    if version is None or not text.strip():
        return None
    try:
        result = generate_text(
            version=version,
            messages=[
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": judge_prompt(rubric, request=request, text=text)},
            ],
            max_new_tokens=24 * len(RUBRICS[rubric]) + 2 * REASON_CHARS,
            temperature=0.0,
            seed=seed,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "judgement", "schema": rubric_schema(rubric)},
            },
        )
    except ApplicationError as error:
        if error.code == "incomplete_json":
            return None
        raise
    answer = result.get("json")
    if not answer:
        return None
    return {
        "judge": f"{version.generator.slug} v{version.number}",
        "scores": answer["scores"],
        "reason": " ".join(str(answer["reason"]).split()),
    }
