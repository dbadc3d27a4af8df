"""The inference runtime: backends, a memory-bounded model cache, continuous batching, streaming.

Plain Python (not a Django app); it runs inside workers. Entry points: `generate_text`,
`generate_images`, `load_version`; extension points: `register_backend`, `register_torch_architecture`.

Names are imported on first use (PEP 562), and the backend registry itself does not import torch:
the web process reads backend names and the JSON-schema helper without paying ~250 MB for torch.
"""

import importlib

_EXPORTS = {
    "Backend": "backends",
    "ImageModel": "backends",
    "TorchArchitecture": "backends",
    "backend_names": "backends",
    "get_backend": "backends",
    "register_backend": "backends",
    "register_torch_architecture": "backends",
    "hf_folder_from_gguf": "artifacts",
    "hf_folder_from_zip": "artifacts",
    "checkpoint_folder_held": "artifacts",
    "inspect_model_file": "inspect",
    "served_by": "inspect",
    "machine_choice": "llamacpp",
    "load_causal_lm": "scoring",
    "schema_of": "structured",
    "RemoteConfig": "remote",
    "endpoint_health": "remote",
    "endpoint_health_reset": "remote",
    "ImageRequest": "requests",
    "TextRequest": "requests",
    "TextResult": "requests",
    "generate_images": "service",
    "generate_text": "service",
    "inference_device": "service",
    "load_version": "service",
    "version_source_register": "service",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
