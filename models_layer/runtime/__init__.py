"""The inference runtime: backends, a memory-bounded model cache, continuous batching, streaming.

Plain Python (not a Django app); it runs inside workers. Entry points: `generate_text`,
`generate_images`, `load_version`; extension points: `register_backend`, `register_torch_architecture`.
"""
from models_layer.runtime.backends import (
    Backend,
    TorchArchitecture,
    backend_names,
    get_backend,
    register_backend,
    register_torch_architecture,
)
from models_layer.runtime.requests import ImageRequest, TextRequest, TextResult
from models_layer.runtime.service import generate_images, generate_text, inference_device, load_version

__all__ = [
    "Backend", "ImageRequest", "TextRequest", "TextResult", "TorchArchitecture", "backend_names", "generate_images",
    "generate_text", "get_backend", "inference_device", "load_version", "register_backend", "register_torch_architecture",
]
