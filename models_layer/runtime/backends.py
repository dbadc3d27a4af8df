"""Backends: how a version's artifact becomes a loaded model with one small interface.

A text model offers `generate`, `stream` and `batch`; an image model `generate` and `batch`.
Backends are registered by name (`Generator.backend` names one):
- `transformers`: GGUF files and Hugging Face checkpoints of causal LMs, served by the batching
  engine (the fast slot decoder for the families in families.py, a generic one otherwise; a GGUF
  file on a CPU through llama.cpp where llamacpp.decoder_choice says it is faster); a model
  that would not fit the worker's memory is refused before it loads;
- `torch`: models trained on the platform, saved as `{"architecture", "config", "state_dict"}`;
  the layer that trains them registers each architecture with `register_torch_architecture`.

This module imports torch only when a model loads: the web process reads the registry (names,
formats) to validate uploads, and must stay light.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aigc_platform.core.errors import ApplicationError
from models_layer.runtime.requests import ImageRequest, TextRequest, TextResult

if TYPE_CHECKING:
    import torch

    from models_layer.runtime.engine import BatchingEngine, Generation

logger = logging.getLogger(__name__)


@dataclass
class RuntimeOptions:
    device: torch.device
    max_batch: int
    max_context: int
    quantize: str  # models_layer.runtime.decoder.make_decoder
    gguf_engine: str = "auto"  # models_layer.runtime.llamacpp.decoder_choice


class LoadedModel:
    kind: str
    memory_bytes: int

    def close(self) -> None:
        """Release what the model holds once its requests in flight have finished."""


class TextModel(LoadedModel):
    kind = "text"

    def __init__(self, *, engine: BatchingEngine, memory_bytes: int):
        self.engine = engine
        self.memory_bytes = memory_bytes

    def stream(self, request: TextRequest) -> Generation:
        return self.engine.submit(request)

    def generate(self, request: TextRequest) -> TextResult:
        return self.stream(request).wait()

    def batch(self, requests: list[TextRequest]) -> list[TextResult]:
        generations = [self.stream(request) for request in requests]
        return [generation.wait() for generation in generations]

    def close(self) -> None:
        self.engine.close()


class ImageModel(LoadedModel):
    kind = "image"

    def __init__(self, *, module: torch.nn.Module, architecture: TorchArchitecture, config: dict, device: torch.device):
        self.module = module
        self.architecture = architecture
        self.config = config
        self.device = device
        self.memory_bytes = sum(p.numel() * p.element_size() for p in module.parameters())

    def generate(self, request: ImageRequest) -> list:
        """`count` images as uint8 arrays [height, width, channels]."""
        import torch

        generator = torch.Generator(device="cpu").manual_seed(int(request.seed))
        with torch.inference_mode():
            images = self.architecture.sample(self.module, request.count, generator, self.device)
            images = (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu()
        return [image.permute(1, 2, 0).numpy() for image in images]

    def batch(self, requests: list[ImageRequest]) -> list[list]:
        return [self.generate(request) for request in requests]


class Backend:
    name: str
    formats: tuple[str, ...]

    def load(self, *, path: Path, format: str, sha256: str, parameters: dict, options: RuntimeOptions) -> LoadedModel:
        raise NotImplementedError


_BACKENDS: dict[str, Backend] = {}


def register_backend(backend: Backend) -> Backend:
    _BACKENDS[backend.name] = backend
    return backend


def get_backend(name: str) -> Backend:
    try:
        return _BACKENDS[name]
    except KeyError:
        raise ApplicationError(f"No runtime backend named {name!r}; known: {', '.join(sorted(_BACKENDS))}.") from None


def backend_names() -> list[str]:
    return sorted(_BACKENDS)


class TransformersBackend(Backend):
    name = "transformers"
    formats = ("gguf", "hf")

    def load(self, *, path: Path, format: str, sha256: str, parameters: dict, options: RuntimeOptions) -> TextModel:
        from models_layer.runtime import llamacpp
        from models_layer.runtime.artifacts import load_hf_causal_lm
        from models_layer.runtime.decoder import decoder_description, make_decoder
        from models_layer.runtime.engine import BatchingEngine

        choice = llamacpp.machine_choice(
            format=format,
            device_type=options.device.type,
            setting=str(parameters.get("gguf_engine", options.gguf_engine)),
        )
        if choice.engine == "llama.cpp":
            return llamacpp.load_text_model(
                path=path, sha256=sha256, parameters=parameters, options=options, reason=choice.reason
            )

        def build():  # in the engine's thread, which does all of this model's torch work (engine.py says why)
            refuse_unless_fits(path=path, format=format, device=options.device)
            model, tokenizer = load_hf_causal_lm(path, sha256, format, options.device)
            decoder = make_decoder(
                model,
                slots=options.max_batch,
                max_len=int(parameters.get("max_context", options.max_context)),
                device=options.device,
                quantize=str(parameters.get("quantize", options.quantize)),
            )
            eos_ids = _eos_ids(tokenizer, model.config, model.generation_config)
            if not eos_ids:
                raise ApplicationError("The tokenizer has no end-of-text token.", code="invalid_model")
            return decoder, tokenizer, eos_ids

        engine = BatchingEngine(build=build, name=sha256[:12])
        logger.info("%s is served by %s: %s", sha256[:12], decoder_description(engine.decoder), choice.reason)
        return TextModel(engine=engine, memory_bytes=engine.decoder.memory_bytes)


# Bytes a loaded parameter takes while a model loads: float32 on a CPU (the quantized copies are made
# from it), bfloat16 on a GPU; and a tenth more for activations, caches and the loader's own copies.
LOAD_BYTES_PER_PARAMETER = {"cpu": 4, "cuda": 2}
LOAD_MARGIN = 1.1


def free_memory_bytes(device) -> int:
    """What this worker has free for a model: available RAM (the kernel's MemAvailable) on a CPU, free
    memory on the GPU otherwise."""
    if device.type == "cuda":
        import torch

        return int(torch.cuda.mem_get_info(device)[0])
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def refuse_unless_fits(*, path: Path, format: str, device, needed_bytes: int | None = None) -> None:
    """An ApplicationError naming both sizes when the model would not fit this worker, before loading
    it (an out-of-memory kill would take the worker and every request in it). `needed_bytes` is what
    a loader that keeps the file's own weights needs before the margin (llama.cpp: the file's size);
    by default, LOAD_BYTES_PER_PARAMETER."""
    from models_layer.runtime.inspect import inspect_model_file

    parameters = inspect_model_file(path=path, format=format, chat_template_required=False).parameters
    if needed_bytes is None:
        needed_bytes = parameters * LOAD_BYTES_PER_PARAMETER.get(device.type, 4)
    needed = int(needed_bytes * LOAD_MARGIN)
    free = free_memory_bytes(device)
    if needed > free:
        where = "GPU memory free" if device.type == "cuda" else "RAM available"
        raise ApplicationError(
            f"The model does not fit this worker: it needs about {needed / 1e9:.1f} GB to load "
            f"({parameters / 1e9:.2f} B parameters on {device.type}), and the worker has {free / 1e9:.1f} GB of {where}.",
            code="model_too_large",
        )


def _eos_ids(tokenizer, *configs) -> set[int]:
    ids: set[int] = set()
    for source in (tokenizer, *configs):
        value = getattr(source, "eos_token_id", None)
        ids.update(value if isinstance(value, (list, tuple)) else [value] if value is not None else [])
    for token in ("<|im_end|>", "<|endoftext|>", "<|eot_id|>"):
        token_id = tokenizer.convert_tokens_to_ids(token) if token in tokenizer.get_vocab() else None
        if token_id is not None:
            ids.add(token_id)
    return ids


@dataclass(frozen=True)
class TorchArchitecture:
    """A model family trained on the platform. `build(config)` makes the module; `sample(module,
    count, generator, device)` returns images [count, channels, height, width] in 0..1."""

    name: str
    kind: str
    build: Callable[[dict], torch.nn.Module]
    sample: Callable[[torch.nn.Module, int, torch.Generator, torch.device], torch.Tensor]


_ARCHITECTURES: dict[str, TorchArchitecture] = {}


def register_torch_architecture(architecture: TorchArchitecture) -> TorchArchitecture:
    _ARCHITECTURES[architecture.name] = architecture
    return architecture


def torch_architectures() -> list[str]:
    return sorted(_ARCHITECTURES)


class TorchBackend(Backend):
    name = "torch"
    formats = ("torch",)

    def load(self, *, path: Path, format: str, sha256: str, parameters: dict, options: RuntimeOptions) -> ImageModel:
        import torch

        try:
            bundle = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:
            raise ApplicationError(f"The file is not a PyTorch checkpoint: {error}", code="invalid_model") from None
        if not isinstance(bundle, dict) or not {"architecture", "config", "state_dict"} <= set(bundle):
            raise ApplicationError(
                "A torch checkpoint must hold architecture, config and state_dict.", code="invalid_model"
            )
        architecture = _ARCHITECTURES.get(bundle["architecture"])
        if architecture is None:
            raise ApplicationError(
                f"Unknown architecture {bundle['architecture']!r}; registered: {', '.join(torch_architectures()) or 'none'}.",
                code="invalid_model",
            )
        module = architecture.build(dict(bundle["config"]))
        try:
            module.load_state_dict(bundle["state_dict"])
        except RuntimeError as error:
            raise ApplicationError(f"The weights do not fit the architecture: {error}", code="invalid_model") from None
        return ImageModel(
            module=module.to(options.device).eval(),
            architecture=architecture,
            config=bundle["config"],
            device=options.device,
        )


register_backend(TransformersBackend())
register_backend(TorchBackend())
import models_layer.runtime.remote  # noqa: E402,F401  (registers the openai-compatible backend)
