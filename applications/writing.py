"""How both applications write with a generator: the version chosen per language, and JSON written
through the model layer's structured output while its tokens stream into the calling job's events."""

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext

from aigc_platform.core.errors import ApplicationError, Conflict, NotFound
from infrastructure.compute.services import job_submit
from infrastructure.usage.services import usage_tokens_reserve
from models_layer.moderation.services import output_guard
from models_layer.registry import selectors as registry

LANGUAGES = {"en": "English", "zh": "Chinese"}
# Tokens per character of content at worst (English averages about 0.25, but a looping small model
# writes brackets and digits a token each; a Chinese character may take two byte tokens). With every
# string's length capped by the grammar, a budget of this many tokens per character lets the JSON close.
TOKENS_PER_CHAR = {"en": 1.0, "zh": 2.0}


def content_tokens(chars: int, language: str) -> int:
    """The most tokens `chars` characters of content in `language` can take."""
    return int(chars * TOKENS_PER_CHAR.get(language, max(TOKENS_PER_CHAR.values())))


def generator_version_for(*, user, language: str, generator: str | None = None, version: int | None = None):
    """The GeneratorVersion that writes `language`: a chosen generator (and version), else what
    settings.APPLICATIONS_GENERATORS names for it: `slug` (its production version) or `slug:number`."""
    if language not in LANGUAGES:
        raise ApplicationError(
            gettext("Unknown language %(language)r.") % {"language": language},
            fields={"language": [gettext("One of %(names)s.") % {"names": ", ".join(LANGUAGES)}]},
        )
    slug, configured_version = generator, False
    if not slug:
        configured = (settings.APPLICATIONS_GENERATORS.get(language) or "").strip()
        slug, _, number = configured.partition(":")
        if number and version is None:
            if not number.isdigit():
                raise ApplicationError(
                    gettext("APPLICATIONS_GENERATORS[%(language)r] = %(configured)r is not `slug` or `slug:number`.")
                    % {"language": language, "configured": configured},
                    code="misconfigured",
                )
            version, configured_version = int(number), True
    if not slug:
        raise ApplicationError(
            gettext(
                "No text generator is set for %(value)s (%(language)s). An operator registers a generator that writes %(value)s and names it in the APPLICATIONS_GENERATORS setting (environment AIGC_GENERATOR_%(value2)s)."
            )
            % {"value": LANGUAGES[language], "language": language, "value2": language.upper()},
            code="no_generator_for_language",
            fields={
                "language": [gettext("APPLICATIONS_GENERATORS[%(language)r] is not set.") % {"language": language}]
            },
        )
    try:
        chosen = registry.generator_get(user=user, slug=slug)
    except NotFound:
        if generator:
            raise
        raise ApplicationError(
            gettext(
                "APPLICATIONS_GENERATORS names %(slug)r for %(value)s (%(language)s), but no such generator is registered and public. An operator registers it (or fixes the setting)."
            )
            % {"slug": slug, "value": LANGUAGES[language], "language": language},
            code="no_generator_for_language",
            fields={
                "language": [
                    gettext("APPLICATIONS_GENERATORS[%(language)r] names an unknown generator.")
                    % {"language": language}
                ]
            },
        ) from None
    if chosen.kind != "text":
        raise ApplicationError(
            gettext("%(slug)s is not a text generator.") % {"slug": slug},
            fields={"generator": [gettext("Not a text generator.")]},
        )
    if not configured_version:
        # What a user picks obeys the generate API's rule: someone else's generator in production only.
        return registry.generator_version_usable(user=user, generator=chosen, number=version)
    # A version named by APPLICATIONS_GENERATORS is the operators' choice for everyone: validated is enough.
    picked = registry.generator_version_get(generator=chosen, number=version)
    if not picked.is_validated:
        raise Conflict(
            gettext("Version %(version)s of %(slug)s has not passed validation.") % {"version": version, "slug": slug},
            code="not_validated",
        )
    return picked


def writing_job_submit(*, user, kind: str, params: dict[str, Any], tokens: int, api_key_prefix: str | None = None):
    """Queue a job that writes with a generator, its most `tokens` reserved against the user's (and the API
    key's) daily quota in the same transaction: a refusal (429) leaves no job. The API key goes in the
    job's params, so the tokens the job generates count for the key too."""
    with transaction.atomic():
        job = job_submit(
            owner=user, kind=kind, params={**params, **({"api_key_prefix": api_key_prefix} if api_key_prefix else {})}
        )
        usage_tokens_reserve(user=user, job_id=job.pk, tokens=tokens, api_key_prefix=api_key_prefix)
    return job


def version_label(version) -> str:
    return f"{version.generator.slug} v{version.number}"


def generator_advice(*, failed: int, total: int, generator: str) -> str | None:
    """What the page says when the generator failed more than half of a request's items after every
    try: the share, and that a larger generator is the remedy (None otherwise)."""
    if not total or failed * 2 <= total:
        return None
    return (
        f"{generator or 'The generator'} failed {failed} of {total} items even after rewriting them: it is too small "
        'for this request. Choose a larger generator (an operator can register one: README, "Use your own model"), '
        "or ask for less."
    )


class ArrayItems:
    """Finds, in JSON text arriving piece by piece, each object inside the first array as it closes."""

    def __init__(self, on_item: Callable[[int, dict], None]):
        self.on_item = on_item
        self.text = ""
        self.depth = 0
        self.in_string = False
        self.escaped = False
        self.array_depth: int | None = None
        self.start = -1
        self.count = 0

    def feed(self, piece: str) -> None:
        for char in piece:
            self.text += char
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif char == "\\":
                    self.escaped = True
                elif char == '"':
                    self.in_string = False
                continue
            if char == '"':
                self.in_string = True
            elif char in "[{":
                self.depth += 1
                if char == "[" and self.array_depth is None:
                    self.array_depth = self.depth
                elif char == "{" and self.array_depth is not None and self.depth == self.array_depth + 1:
                    self.start = len(self.text) - 1
            elif char in "]}":
                if (
                    char == "}"
                    and self.array_depth is not None
                    and self.depth == self.array_depth + 1
                    and self.start >= 0
                ):
                    try:
                        self.on_item(self.count, json.loads(self.text[self.start :]))
                    except ValueError:
                        pass
                    self.count += 1
                    self.start = -1
                self.depth -= 1


class SectionStream:
    """Stands in for a JobContext inside `generate_text`: each token event is tagged with what is
    being written (section, item, attempt), and whole array items are announced as they close."""

    def __init__(self, ctx, tags: dict[str, Any], on_item: Callable[[int, dict], None] | None = None):
        self.ctx = ctx
        self.tags = tags
        self.items = ArrayItems(on_item) if on_item else None

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        if event_type == "token" and self.items is not None:
            self.items.feed(data.get("text", ""))
        self.ctx.emit(event_type, {**data, **self.tags})

    def check_cancelled(self) -> None:
        self.ctx.check_cancelled()

    def __getattr__(self, name: str) -> Any:
        # Everything else a JobContext offers (owner_id, params, log…) is the job's own.
        return getattr(self.ctx, name)


def write_json(
    *,
    version,
    system: str,
    prompt: str,
    schema: dict[str, Any],
    max_new_tokens: int,
    seed: int,
    ctx=None,
    tags: dict[str, Any] | None = None,
    on_item: Callable[[int, dict], None] | None = None,
    temperature: float = 0.7,
    presence_penalty: float = 0.0,
    frequency_penalty: float = 0.0,
    surface: str = "applications",
) -> tuple[Any | None, str]:
    """One structured answer: (the parsed JSON, "") or (None, why it failed) when the generator ran
    out of tokens before the JSON closed. Other errors (cancel, a broken model) propagate.

    The tokens reach the job's stream (the page's live preview) through the content filter's output
    guard, as every generator's answer does (models_layer.moderation): a blocked word or pattern never
    shows, even for the moment before the finished item is checked. The application's checks judge the
    finished item (content_filter among them) and record a block, so the guard does not stop the writing."""
    from models_layer.runtime import generate_text

    stream = None
    if ctx is not None:
        stream = output_guard(ctx=SectionStream(ctx, tags or {}, on_item), surface=surface, stops=False)
    try:
        result = generate_text(
            version=version,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": prompt}],
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            seed=seed,
            presence_penalty=presence_penalty,
            frequency_penalty=frequency_penalty,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": (tags or {}).get("section", "answer"), "schema": schema},
            },
            ctx=stream,
        )
    except ApplicationError as error:
        if error.code == "incomplete_json":
            return None, error.message
        raise
    if stream is not None:
        stream.release_rest()
    return result.get("json"), ""
