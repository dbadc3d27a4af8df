"""What an annotation's value looks like per task type, its checks, and the category it counts as
for agreement and consensus."""

from typing import Any

from aigc_platform.core.errors import ApplicationError
from tools_layer.labeling.models import LabelingProject, TaskType

PAIR_CHOICES = ("a", "b", "tie")
CORRECTION_MAX_CHARS = 100_000


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid_annotation", fields={"value": [message]})


def clean_value(project: LabelingProject, value: Any) -> dict:
    """The value in its one accepted shape, or an error saying what the project expects."""
    if not isinstance(value, dict):
        raise _invalid("The value must be a JSON object.")
    kind = project.task_type
    if kind == TaskType.SINGLE_LABEL:
        if set(value) != {"label"} or value["label"] not in project.labels:
            raise _invalid(f'Expected {{"label": one of {project.labels}}}.')
        return {"label": value["label"]}
    if kind == TaskType.MULTI_LABEL:
        labels = value.get("labels")
        if (
            set(value) != {"labels"}
            or not isinstance(labels, list)
            or any(label not in project.labels for label in labels)
        ):
            raise _invalid(f'Expected {{"labels": a list drawn from {project.labels}}}.')
        return {"labels": sorted(set(labels), key=project.labels.index)}
    if kind == TaskType.RATING:
        rating = value.get("rating")
        if set(value) != {"rating"} or not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            raise _invalid('Expected {"rating": a whole number from 1 to 5}.')
        return {"rating": rating}
    if kind == TaskType.PAIRWISE:
        if set(value) != {"choice"} or value["choice"] not in PAIR_CHOICES:
            raise _invalid('Expected {"choice": "a", "b" or "tie"}.')
        return {"choice": value["choice"]}
    text = value.get("text")
    if set(value) != {"text"} or not isinstance(text, str) or not text.strip() or len(text) > CORRECTION_MAX_CHARS:
        raise _invalid(
            f'Expected {{"text": the corrected text, not empty, at most {CORRECTION_MAX_CHARS} characters}}.'
        )
    return {"text": text.strip()}


def category(task_type: str, value: dict) -> str:
    """The answer as one comparable string: what agreement and majority votes count."""
    if task_type == TaskType.SINGLE_LABEL:
        return value["label"]
    if task_type == TaskType.MULTI_LABEL:
        return "|".join(value["labels"])
    if task_type == TaskType.RATING:
        return str(value["rating"])
    if task_type == TaskType.PAIRWISE:
        return value["choice"]
    return " ".join(value["text"].split())
