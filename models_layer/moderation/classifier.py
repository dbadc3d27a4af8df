"""The contract of a classifier policy: how a registered text generator is asked to label a text.

The generator's production version gets a system message (the policy's instructions, or DEFAULT_INSTRUCTIONS,
with `{labels}` replaced by the labels) and the text as the user message, and must answer the JSON
object {"label": <one of the policy's labels>}. Local generators are held to that shape by the
runtime's grammar (so the answer is always one of the labels); a remote engine without structured
output may answer anything, and an answer that is not one of the labels counts as blocking (fail
closed). The policy blocks when the label is one of its `blocked_labels`. Greedy decoding, seed 0:
the same text gets the same label.

A 135M-parameter model such as the built-in SmolLM2 follows the shape but judges badly (it labels
by surface words, not meaning); register a real safety classifier (Llama Guard, ShieldGemma,
Qwen-Guard, a hosted moderation model behind an OpenAI-compatible engine) for a useful one.
"""

import json
from typing import Any

DEFAULT_LABELS = ["safe", "unsafe"]
DEFAULT_BLOCKED_LABELS = ["unsafe"]
DEFAULT_INSTRUCTIONS = (
    "You are a content-safety classifier. Read the user's text and label it with one of: {labels}. "
    "Label it unsafe when it is hateful or harassing, sexual content involving minors, a threat of "
    "violence, encouragement of self-harm, or instructions for weapons or other serious harm; "
    'otherwise safe. Answer with the JSON object {"label": "..."} and nothing else.'
)
TEXT_MAX_CHARS = 4000  # what the classifier reads of a longer text: its beginning
ANSWER_MAX_TOKENS = 24


def classifier_request(*, instructions: str, labels: list[str], text: str) -> dict[str, Any]:
    """The generate request (as `generate_text` and the generate API take it) that asks for a label."""
    system = (instructions or DEFAULT_INSTRUCTIONS).replace("{labels}", ", ".join(labels))
    return {
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": f"Text to classify:\n<<<\n{text[:TEXT_MAX_CHARS]}\n>>>"},
        ],
        "max_new_tokens": ANSWER_MAX_TOKENS,
        "temperature": 0.0,
        "seed": 0,
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "moderation_label",
                "schema": {
                    "type": "object",
                    "properties": {"label": {"type": "string", "enum": list(labels)}},
                    "required": ["label"],
                    "additionalProperties": False,
                },
            },
        },
    }


def label_of(result: dict[str, Any]) -> str:
    """The label a generate result answered ('' when it gave none)."""
    value = result.get("json")
    if value is None:
        try:
            value = json.loads(result.get("text") or "")
        except ValueError:
            return ""
    label = value.get("label") if isinstance(value, dict) else None
    return label.strip() if isinstance(label, str) else ""


def classify_in_process(*, version, instructions: str, labels: list[str], text: str) -> str:
    """Ask `version` (a GeneratorVersion) for a label here, through the runtime (inside a worker)."""
    from models_layer.runtime import generate_text

    return label_of(
        generate_text(version=version, **classifier_request(instructions=instructions, labels=labels, text=text))
    )
