"""Writes for the OpenAI-compatible API: its requests become `generate` jobs, exactly as the generate
API's do (quotas, usage, the inference queue and its batching engine), one job per choice."""

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from aigc_platform.core.errors import ApplicationError, Conflict, NotFound
from infrastructure.compute.models import Job
from infrastructure.compute.services import job_cancel
from models_layer.moderation.services import moderation_inputs_check
from models_layer.registry import selectors as registry_selectors
from models_layer.registry import services as registry_services
from models_layer.registry.models import GeneratorKind

logger = logging.getLogger(__name__)


class ModelNotFound(NotFound):
    code = "model_not_found"


@dataclass
class Submitted:
    model: str  # as the caller named it
    jobs: list[Job]

    @property
    def fingerprint(self) -> str:
        """Which generator version answered (OpenAI's system_fingerprint): with the seed, what makes an answer repeatable."""
        params = self.jobs[0].params
        return f"{params['generator']}-v{params['version']}"


def model_parse(*, user, model: str):
    """The text generator and version number (None: its production version) a model id names."""
    slug, _, number = model.partition(":")
    if number and not number.isdigit():
        raise ModelNotFound(f"The model {model!r} does not exist: use a generator's slug or slug:version.")
    try:
        generator = registry_selectors.generator_get(user=user, slug=slug)
    except NotFound:
        raise ModelNotFound(f"The model {model!r} does not exist or you do not have access to it.") from None
    if generator.kind != GeneratorKind.TEXT:
        raise ApplicationError(
            f"The model {model!r} is an image generator; it has no completions.",
            fields={"model": ["Not a text generator."]},
        )
    return generator, int(number) if number else None


def completions_submit(*, user, model: str, requests: list[dict[str, Any]], api_key_prefix: str | None) -> Submitted:
    """Queue one `generate` job per answer asked for; all or none (a quota reached halfway queues none).
    The prompts or messages pass the content filter once, before any job (and outside the transaction,
    so that a block's audit record stays)."""
    generator, version = model_parse(user=user, model=model)
    prompts = list(dict.fromkeys(params["prompt"] for params in requests if "prompt" in params))
    messages = next((params["messages"] for params in requests if "messages" in params), None)
    moderation_inputs_check(
        user=user, surface="v1", fields={"messages": messages} if messages is not None else {"prompt": prompts}
    )
    with transaction.atomic():
        jobs = [
            registry_services.generation_submit(
                user=user,
                generator=generator,
                params=params,
                version=version,
                api_key_prefix=api_key_prefix,
                surface="v1",
                inputs_checked=True,
            )
            for params in requests
        ]
    return Submitted(model=model, jobs=jobs)


def completions_abandon(*, jobs: list[Job]) -> None:
    """Cancel the jobs of a request whose caller went away (or waited too long): no one reads their answers."""
    for job in jobs:
        try:
            job_cancel(job=job)
        except Conflict:
            pass  # it ended meanwhile
