"""Pre-annotation: a text generator of the model layer proposes an answer for each task nobody has
answered yet, which annotators then see highlighted, accept (Enter) or correct.

The generator answers under a JSON schema built from the project (structured output, enforced while
sampling), so a proposal is always a value of the project's type: one of its labels, a rating from 1
to 5, a choice between a and b, or a corrected text. Greedy decoding: the same generator version
proposes the same answers again.
"""

from typing import Any

from tools_layer.labeling.models import LabelingProject, TaskType

# Task types a text generator can answer, and what it is asked.
INSTRUCTIONS = {
    TaskType.SINGLE_LABEL: "Classify the text as exactly one of these labels: {labels}.",
    TaskType.MULTI_LABEL: "Which of these labels apply to the text? Labels: {labels}.",
    TaskType.RATING: "Rate the quality of the text from 1 (poor) to 5 (excellent).",
    TaskType.CORRECTION: "Correct the spelling and grammar of the text. Change nothing else.",
    TaskType.PAIRWISE: "Which response answers the prompt better: a or b? Say tie when neither is better.",
}
SYSTEM = "You label data for a labeling team. Answer in JSON only."
# Tokens of a label, a list of labels, a rating or a choice, with the JSON around them.
SHORT_ANSWER_TOKENS = 48
# A corrected text is about as long as the text: tokens per character at worst, plus the JSON.
CORRECTION_TOKENS_PER_CHAR = 1.0
CORRECTION_MAX_TOKENS = 1024


def supported(task_type: str) -> bool:
    return task_type in INSTRUCTIONS


def most_tokens(task_type: str) -> int:
    """The most tokens one proposal of this task type takes."""
    return CORRECTION_MAX_TOKENS if task_type == TaskType.CORRECTION else SHORT_ANSWER_TOKENS


def answer_schema(project: LabelingProject, content: dict) -> dict[str, Any]:
    """The JSON schema whose every instance is a value of the project's type (values.clean_value)."""
    kind = project.task_type
    if kind == TaskType.SINGLE_LABEL:
        field = {"enum": list(project.labels)}
        name = "label"
    elif kind == TaskType.MULTI_LABEL:
        field = {"type": "array", "items": {"enum": list(project.labels)}, "maxItems": len(project.labels)}
        name = "labels"
    elif kind == TaskType.RATING:
        field = {"type": "integer", "enum": [1, 2, 3, 4, 5]}
        name = "rating"
    elif kind == TaskType.PAIRWISE:
        field = {"enum": ["a", "b", "tie"]}
        name = "choice"
    else:
        field = {"type": "string", "minLength": 1, "maxLength": 2 * len(content.get("text", "")) + 20}
        name = "text"
    return {"type": "object", "properties": {name: field}, "required": [name], "additionalProperties": False}


def request_for(project: LabelingProject, content: dict, *, chat: bool) -> dict[str, Any] | None:
    """generate_text's keyword arguments for one task's content (a chat for a chat model, else a plain
    prompt), or None when the task holds nothing a text generator can read (an image, an empty text)."""
    instruction = INSTRUCTIONS.get(project.task_type)
    if instruction is None:
        return None
    if content["kind"] == "pair":
        if project.task_type != TaskType.PAIRWISE:
            return None
        shown = f"Prompt: {content.get('prompt', '')}\n\nResponse a: {content['a']}\n\nResponse b: {content['b']}"
    elif content["kind"] == "text" and content.get("text", "").strip() and project.task_type != TaskType.PAIRWISE:
        shown = f"Text: {content['text']}"
    else:
        return None
    guide = f"\nGuidelines: {project.instructions.strip()}" if project.instructions.strip() else ""
    tokens = SHORT_ANSWER_TOKENS
    if project.task_type == TaskType.CORRECTION:
        tokens = min(
            CORRECTION_MAX_TOKENS, SHORT_ANSWER_TOKENS + int(len(content["text"]) * CORRECTION_TOKENS_PER_CHAR)
        )
    question = f"{instruction.format(labels=', '.join(project.labels))}{guide}\n\n{shown}"
    asked = (
        {"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]}
        if chat
        else {"prompt": f"{SYSTEM}\n\n{question}\n\nAnswer: "}
    )
    return {
        **asked,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "proposal", "schema": answer_schema(project, content)},
        },
        "max_new_tokens": tokens,
        "temperature": 0.0,
    }
