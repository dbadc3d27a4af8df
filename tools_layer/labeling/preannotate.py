"""Pre-annotation: a generator of the model layer proposes an answer for each unanswered task,
which annotators then see highlighted and correct. The generator is reached only through the
model layer's services; proposals are stored with `task_proposals_set` like any other source's."""
import importlib

from aigc_platform.core.errors import ApplicationError
from tools_layer.labeling.models import LabelingProject, TaskType

PROMPTS = {
    TaskType.SINGLE_LABEL: "Classify the text as exactly one of: {labels}. Answer with the label only.\n\nText: {text}\nLabel:",
    TaskType.MULTI_LABEL: "Which of these labels apply to the text: {labels}? Answer with the labels, comma-separated.\n\nText: {text}\nLabels:",
    TaskType.RATING: "Rate the quality of this text from 1 (poor) to 5 (excellent). Answer with one digit.\n\nText: {text}\nRating:",
    TaskType.CORRECTION: "Correct the spelling and grammar of this text. Answer with the corrected text only.\n\nText: {text}\nCorrected:",
}


def generate_text(*, generator: str, prompt: str, max_new_tokens: int) -> str:
    """One completion from the model layer's generation service."""
    try:
        registry = importlib.import_module("models_layer.registry.services")
        generate = registry.generator_generate
    except (ImportError, AttributeError):
        raise ApplicationError("Pre-annotation needs the model layer's generation service "
                               "(models_layer.registry.services.generator_generate), which is not installed.",
                               code="generator_unavailable") from None
    return str(generate(slug=generator, prompt=prompt, max_new_tokens=max_new_tokens))


def proposal_from_text(project: LabelingProject, answer: str) -> dict | None:
    """The generator's answer as a value of the project's type, or None when it says nothing usable."""
    answer = answer.strip()
    if project.task_type == TaskType.SINGLE_LABEL:
        lowered = answer.lower()
        return next(({"label": label} for label in project.labels if lowered.startswith(label.lower())), None)
    if project.task_type == TaskType.MULTI_LABEL:
        said = {part.strip().lower() for part in answer.split(",")}
        return {"labels": [label for label in project.labels if label.lower() in said]}
    if project.task_type == TaskType.RATING:
        digit = next((int(char) for char in answer if char in "12345"), None)
        return {"rating": digit} if digit else None
    if project.task_type == TaskType.CORRECTION:
        return {"text": answer} if answer else None
    return None


def prompt_for(project: LabelingProject, text: str) -> str | None:
    template = PROMPTS.get(project.task_type)
    return template.format(labels=", ".join(project.labels), text=text) if template else None
