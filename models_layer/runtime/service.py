"""The runtime's entry points inside a worker: load a version (cached), generate text or images.

Applications that run inside their own job call `generate_text` directly (passing their `ctx` to
stream tokens into their own job's events); everything else submits a `generate` job through
`models_layer.registry.services.generation_submit`.

The runtime sits below the registry and never imports it: the registry registers, when its app is ready,
how the runtime finds the default text version and a remote version's connection (`version_source_register`).
"""

import io
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction

from aigc_platform.core.errors import ApplicationError
from infrastructure.provenance.models import ArtifactKind
from infrastructure.provenance.services import png_with_provenance, provenance_id_new, provenance_record
from infrastructure.storage.selectors import file_local_copy
from infrastructure.storage.services import file_store
from infrastructure.usage.services import usage_tokens_record
from models_layer.runtime.backends import ImageModel, LoadedModel, RuntimeOptions, TextModel, get_backend
from models_layer.runtime.cache import ModelCache
from models_layer.runtime.requests import ImageRequest, TextRequest

logger = logging.getLogger(__name__)

# How often a streaming job looks at its cancel flag (a database read) while tokens flow.
CANCEL_CHECK_SECONDS = 0.5

_cache: ModelCache | None = None
_cache_lock = threading.Lock()

# Set by the registry (its AppConfig.ready): the default text version, and how to call a remote version.
_default_text_version: Callable[[], Any] | None = None
_remote_config: Callable[[Any], Any] | None = None


def version_source_register(*, default_text_version: Callable[[], Any], remote_config: Callable[[Any], Any]) -> None:
    """Tell the runtime how to find versions: `default_text_version()` is the version used when none is given,
    `remote_config(version)` a remote version's RemoteConfig (its key decrypted)."""
    global _default_text_version, _remote_config
    _default_text_version, _remote_config = default_text_version, remote_config


def _version_source(provider):
    if provider is None:
        raise RuntimeError("No version source registered: the runtime needs the generator registry app installed.")
    return provider


def inference_device():
    """CUDA when this worker has a GPU (unless AIGC_INFERENCE_DEVICE says otherwise), else the CPU (a torch.device)."""
    import torch

    wanted = settings.INFERENCE_DEVICE
    if wanted == "auto":
        wanted = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(wanted)


def runtime_options() -> RuntimeOptions:
    return RuntimeOptions(
        device=inference_device(),
        max_batch=settings.INFERENCE_MAX_BATCH,
        max_context=settings.INFERENCE_MAX_CONTEXT,
        quantize=settings.INFERENCE_QUANTIZE,
        gguf_engine=settings.INFERENCE_GGUF_ENGINE,
    )


def model_cache() -> ModelCache:
    global _cache
    with _cache_lock:
        if _cache is None:
            _cache = ModelCache(settings.MODEL_CACHE_MAX_BYTES)
        return _cache


def load_version(version) -> LoadedModel:
    """The loaded model of a GeneratorVersion, from this process's cache or loaded now (a remote
    version is connected to its endpoint instead: nothing to load or cache)."""
    if version.generator.backend == "openai-compatible":
        return get_backend(version.generator.backend).connect(_version_source(_remote_config)(version))
    options = runtime_options()
    artifact = version.artifact
    key = f"{artifact.sha256}:{version.format}:{version.generator.backend}:{options.device}:{options.gguf_engine}"

    def load() -> LoadedModel:
        started = time.perf_counter()
        # The local copy is held while the backend reads it (it is not evicted meanwhile).
        with file_local_copy(file=artifact) as path:
            model = get_backend(version.generator.backend).load(
                path=path,
                format=version.format,
                sha256=artifact.sha256,
                parameters=version.parameters or {},
                options=options,
            )
        logger.info("Loaded %s in %.1f s (%.0f MB)", version, time.perf_counter() - started, model.memory_bytes / 1e6)
        return model

    return model_cache().get(key, load)


def _default_version():
    return _version_source(_default_text_version)()


def generate_text(
    *,
    version=None,
    messages: list[dict[str, str]] | None = None,
    prompt: str | None = None,
    max_new_tokens: int = 256,
    temperature: float = 0.7,
    top_p: float = 0.95,
    presence_penalty: float = 0.0,
    frequency_penalty: float = 0.0,
    seed: int | None = None,
    stop: list[str] | None = None,
    response_format: dict[str, Any] | None = None,
    ctx=None,
) -> dict[str, Any]:
    """Generate text with a GeneratorVersion (default: the built-in text generator's production
    version) in this process. With a JobContext `ctx`, each piece of text is emitted as a `token`
    event of that job as it is produced, and the job's cancel flag is honoured; a `ctx` whose
    `stop_early` turns true ends the generation there (finish_reason "cancelled").

    Returns {"text", "finish_reason", "seed", "usage": {...}, "seconds", "tokens_per_second"} and
    "json" (the parsed value) when `response_format` asked for JSON.
    """
    version = version or _default_version()
    if messages is None and prompt is None:
        raise ApplicationError("Give a prompt or messages.", fields={"prompt": ["Required without messages."]})
    model = load_version(version)
    if not isinstance(model, TextModel):
        raise ApplicationError(f"{version.generator.slug} is not a text generator.")
    request = TextRequest(
        messages=messages,
        prompt=prompt,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        presence_penalty=presence_penalty,
        frequency_penalty=frequency_penalty,
        seed=secrets.randbelow(2**31) if seed is None else seed,
        stop=list(stop or []),
        response_format=response_format,
    )
    generation = model.stream(request)
    checked = time.monotonic()
    try:
        for piece in generation:
            if ctx is None:
                continue
            if piece:
                ctx.emit("token", {"text": piece})
                if getattr(ctx, "stop_early", False) and not generation.cancelled:
                    # The consumer has what it needs (a content filter fired): stop generating, and
                    # still return the result, its usage counted.
                    generation.cancel()
            if time.monotonic() - checked > CANCEL_CHECK_SECONDS:
                checked = time.monotonic()
                ctx.check_cancelled()
    finally:
        # A cancelled job, or any error in the consumer, frees the sequence's slot at the next step.
        if generation.result is None:
            generation.cancel()
    result = generation.result.as_dict()
    if ctx is not None:
        usage_tokens_record(
            user_id=ctx.owner_id,
            tokens=result["usage"]["completion_tokens"],
            api_key_prefix=ctx.params.get("api_key_prefix"),
            job_id=ctx.job_id,
        )
    return result


def generate_images(
    *, version, owner, count: int = 4, seed: int | None = None, job_id=None, request: dict | None = None
) -> dict[str, Any]:
    """`count` images from an image GeneratorVersion, stored as PNG files of `owner`. Each carries its
    provenance record's id (XMP with IPTC's digital source type, and a signed C2PA manifest), and the
    record is written in the transaction that stores the file. `request` is what was asked (hashed into
    the record; default: count and seed), `job_id` the job that asked."""
    from PIL import Image

    model = load_version(version)
    if not isinstance(model, ImageModel):
        raise ApplicationError(f"{version.generator.slug} is not an image generator.")
    seed = secrets.randbelow(2**31) if seed is None else seed
    request = request or {"count": count, "seed": seed}
    label = f"{version.generator.slug} v{version.number}"
    started = time.perf_counter()
    images = []
    for index, array in enumerate(model.generate(ImageRequest(count=count, seed=seed))):
        picture = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
        filename = f"{version.generator.slug}-v{version.number}-{seed}-{index}.png"
        record_id = provenance_id_new()
        png = png_with_provenance(picture, record_id=record_id, generator=label, title=filename)
        with transaction.atomic():
            stored = file_store(owner=owner, stream=io.BytesIO(png), filename=filename, content_type="image/png")
            record = provenance_record(
                key=f"file:{stored.id}",
                record_id=record_id,
                kind=ArtifactKind.IMAGE,
                artifact_ref=f"file:{stored.id}",
                artifact_url=f"/api/v1/files/{stored.id}/download/",
                owner_id=owner.pk,
                request={"generator": version.generator.slug, "version": version.number, "request": request},
                generator_slug=version.generator.slug,
                generator_version=version.number,
                generator_version_pk=version.pk,
                job_id=job_id,
                content=png,
                media_type="image/png",
                detail={"index": index, "seed": seed},
            )
        images.append(
            {
                "file_id": str(stored.id),
                "url": f"/api/v1/files/{stored.id}/download/",
                "width": picture.width,
                "height": picture.height,
                "provenance_id": str(record.id),
            }
        )
    return {"images": images, "seed": seed, "seconds": round(time.perf_counter() - started, 3)}
