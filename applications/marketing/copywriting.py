"""Writing one variant: its limits, its JSON schema, its prompt, and the checks it must pass."""

import json
import re
from dataclasses import dataclass, field

from applications.moderation import content_filter_check
from applications.writing import LANGUAGES, content_tokens
from tools_layer.quality import checks as quality

# The share of a field's maximum length each requested length may use (never below its minimum).
LENGTH_SHARE = {"short": 0.5, "medium": 0.75, "long": 1.0}
SYSTEM = "You are a marketing copywriter. Reply with one JSON object and nothing else: short, concrete copy."
# Sampling temperature per attempt: the first try stays close to the likeliest words (a 135M model
# rambles when it samples freely); each rewrite after a failed check samples more widely to get out of it.
TEMPERATURES = (0.5, 0.7, 0.9)


def temperature_for(attempt: int) -> float:
    return TEMPERATURES[min(attempt, len(TEMPERATURES)) - 1]


@dataclass
class Brief:
    product: str
    audience: str
    tone: str
    language: str
    length: str
    keywords: list[str] = field(default_factory=list)
    banned_words: list[str] = field(default_factory=list)
    voice: str = ""


def field_limits(fields: list[dict], length: str) -> list[dict]:
    """The template's fields with the character limits this request's length allows."""
    share = LENGTH_SHARE.get(length, 1.0)
    limited = []
    for spec in fields:
        low, high = int(spec.get("min_chars", 1)), int(spec["max_chars"])
        limited.append({**spec, "min_chars": low, "max_chars": max(low + 10, int(high * share)) if share < 1 else high})
    return limited


def _keyword_pattern(keywords: list[str], low: int, high: int) -> str:
    """A regex for a JSON string that holds every keyword (in order, each a word of its own) within
    the length limits: the generator still writes every other word; the grammar only keeps the keywords."""
    free = r'[^"\\\n]'
    room = max(high - sum(len(k) for k in keywords) - 2 * len(keywords), len(keywords) + 1)
    each = max(room // (len(keywords) + 1), 1)

    def literal(word: str) -> str:
        head = f"[{word[0].upper()}{word[0].lower()}]" if word[0].isalpha() else "\\" + word[0]
        return head + "".join(ch if ch.isalnum() or ch == " " else "\\" + ch for ch in word[1:])

    pattern = f"({free}{{0,{each}}} )?"
    for position, keyword in enumerate(keywords):
        pattern += literal(keyword)
        if position < len(keywords) - 1:
            pattern += f"[ ,;:]({free}{{0,{each}}} )?"
    pattern += f"([ ,.!?;:]{free}{{0,{each}}})?"
    return "^" + pattern + "$"


def variant_schema(fields: list[dict], *, force_keywords: list[str] = ()) -> dict:
    """Every field a string within its limits; with `force_keywords`, the longest field must hold them."""
    longest = max(fields, key=lambda spec: spec["max_chars"])["name"]
    properties = {}
    for spec in fields:
        if force_keywords and spec["name"] == longest:
            properties[spec["name"]] = {
                "type": "string",
                "pattern": _keyword_pattern(list(force_keywords), spec["min_chars"], spec["max_chars"]),
            }
        else:
            properties[spec["name"]] = {
                "type": "string",
                "minLength": spec["min_chars"],
                "maxLength": spec["max_chars"],
            }
    return {
        "type": "object",
        "properties": properties,
        "required": [spec["name"] for spec in fields],
        "additionalProperties": False,
    }


def max_tokens_for(fields: list[dict], language: str) -> int:
    """Enough tokens for every field at its longest in `language`, and the JSON around them. (A flat 0.45
    tokens per character ran out before a Chinese answer's JSON closed: a character may take two tokens.)"""
    return content_tokens(sum(spec["max_chars"] for spec in fields), language) + 12 * len(fields) + 16


def voice_text(voice) -> str:
    """A brand voice (models.BrandVoice, or None) as the words a prompt gives it."""
    if voice is None:
        return ""
    parts = [voice.name, voice.description]
    if voice.words_to_use:
        parts.append("favour the words " + ", ".join(voice.words_to_use))
    return "; ".join(part for part in parts if part)


def request_prompt(template_prompt: str, brief: Brief) -> str:
    """The request in the template's words: what the copy is asked for, before the answer's JSON shape."""
    values = {
        "product": brief.product,
        "audience": brief.audience,
        "tone": brief.tone,
        "language": LANGUAGES.get(brief.language, brief.language),
        "voice": f"Brand voice: {brief.voice}. " if brief.voice else "",
        "keywords": f"Use the words: {', '.join(brief.keywords)}. " if brief.keywords else "",
    }
    return template_prompt.format_map(values)


def variant_prompt(template_prompt: str, fields: list[dict], brief: Brief, *, feedback: list[str] = ()) -> str:
    text = request_prompt(template_prompt, brief)
    # The grammar holds the answer to this shape; saying it names each field for the model.
    shape = json.dumps(
        {
            spec["name"]: f"<{spec.get('label', spec['name']).lower()}, under {max(2, spec['max_chars'] // 7)} words>"
            for spec in fields
        },
        ensure_ascii=False,
    )
    lines = [text, f"Reply as JSON: {shape}"]
    if brief.banned_words:
        lines.append(f"Never use these words: {', '.join(brief.banned_words)}.")
    if feedback:
        lines.append("Fix this from the last try: " + " ".join(feedback))
    return "\n".join(lines)


def trim_cut_words(fields: list[dict], values: dict[str, str]) -> dict[str, str]:
    """A value the grammar cut at its maximum length loses its last, unfinished word (a repair of the
    structure: no word is added, and the length check still judges what is left)."""
    trimmed = {}
    for spec in fields:
        value = str(values.get(spec["name"], "")).strip()
        if len(value) >= spec["max_chars"] and " " in value and value[-1] not in ".!?":
            value = value[: value.rstrip().rfind(" ")].rstrip(" ,;:-")
        trimmed[spec["name"]] = value
    return trimmed


def render(fields: list[dict], values: dict[str, str]) -> str:
    """The variant as one text: the value alone for a one-field template, labelled lines otherwise."""
    if len(fields) == 1:
        return values.get(fields[0]["name"], "").strip()
    return "\n".join(f"{spec.get('label', spec['name'])}: {values.get(spec['name'], '').strip()}" for spec in fields)


def _contains_word(text: str, word: str) -> bool:
    if not word.isascii():
        return word.lower() in text.lower()
    return re.search(rf"(?<!\w){re.escape(word.lower())}(?!\w)", text.lower()) is not None


def variant_checks(
    fields: list[dict], values: dict[str, str], brief: Brief, *, prompt: str = "", scorer=None
) -> dict[str, dict]:
    """Each check: {"passed", "detail"}. Length per field, the brand voice's banned words, the required
    keywords and the content filter; then what a reader sees (tools_layer.quality): the requested
    language, real words, naming the product, fluency (with a `scorer` for the language), no talk about
    the task (nor the `prompt`'s instructions repeated), no repetition, complete parts, no shouting."""
    too = []
    for spec in fields:
        size = len(values.get(spec["name"], "").strip())
        if not spec["min_chars"] <= size <= spec["max_chars"]:
            too.append(f"{spec['name']} has {size} characters (allowed {spec['min_chars']}-{spec['max_chars']})")
    text = " ".join(values.values())
    banned = [word for word in brief.banned_words if word.strip() and _contains_word(text, word.strip())]
    missing = [word for word in brief.keywords if word.strip() and not _contains_word(text, word.strip())]
    found = {
        "length": {"passed": not too, "detail": "; ".join(too) or "within the template's limits"},
        "banned_words": {"passed": not banned, "detail": f"uses {', '.join(banned)}" if banned else "none used"},
        "required_keywords": {
            "passed": not missing,
            "detail": f"missing {', '.join(missing)}" if missing else "all present",
        },
        # A scorer means a worker, where a model runs: the deployment's classifier policies judge it too
        "content_filter": content_filter_check(text=text, classify=scorer is not None),
    }
    named = {spec["name"]: values.get(spec["name"], "") for spec in fields}
    found.update(
        quality.copy_checks(
            named,
            subject=brief.product,
            language=brief.language,
            known=[brief.audience, *brief.keywords],
            also=list(brief.keywords),
            scorer=scorer,
        )
    )
    echo = _echoed_instruction(text, prompt, brief) if prompt else ""
    if echo and found.get("task_talk", {"passed": False})["passed"]:
        found["task_talk"] = quality.check(False, f"repeats the instructions ({echo!r})")
    return found


# A run of this many words taken from the prompt, with at least ECHO_OWN_WORDS of them the prompt's
# own (not the product, audience, tone or keywords the person gave), is the model parroting its instructions.
ECHO_WORDS = 4
ECHO_OWN_WORDS = 2


def _echoed_instruction(text: str, prompt: str, brief: Brief) -> str:
    given = set(re.findall(r"\w+", " ".join([brief.product, brief.audience, brief.tone, *brief.keywords]).lower()))
    prompt_words = re.findall(r"\w+", prompt.lower())
    runs = {tuple(prompt_words[i : i + ECHO_WORDS]) for i in range(len(prompt_words) - ECHO_WORDS + 1)}
    words = re.findall(r"\w+", text.lower())
    for i in range(len(words) - ECHO_WORDS + 1):
        run = tuple(words[i : i + ECHO_WORDS])
        if run in runs and sum(word not in given for word in run) >= ECHO_OWN_WORDS:
            return " ".join(run)
    return ""


# What a rewrite is told when a reader's check failed.
QUALITY_FEEDBACK = {
    "language": "Write in {language} only.",
    "real_words": "Use only real, everyday words.",
    "on_subject": "Write about {product} and name it.",
    "fluency": "Write plain, natural sentences.",
    "task_talk": "Write the copy itself; do not talk about the task or repeat these instructions.",
    "repetition": "Do not repeat words or parts.",
    "complete": "Finish every part with a complete phrase.",
    "shouting": "Do not write in capitals.",
}


def feedback_for(checks: dict[str, dict], brief: Brief) -> list[str]:
    notes = []
    if not checks["length"]["passed"]:
        notes.append(f"Respect the limits ({checks['length']['detail']}).")
    if not checks["banned_words"]["passed"]:
        notes.append(f"Do not use: {', '.join(brief.banned_words)}.")
    if not checks["required_keywords"]["passed"]:
        notes.append(f"Include: {', '.join(brief.keywords)}.")
    if not checks["content_filter"]["passed"]:
        notes.append("Keep the language clean and friendly.")
    for name, note in QUALITY_FEEDBACK.items():
        if not checks.get(name, {"passed": True})["passed"]:
            notes.append(note.format(language=LANGUAGES.get(brief.language, brief.language), product=brief.product))
    return notes
