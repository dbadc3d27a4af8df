"""The image architectures the recipes train, registered with the runtime's torch backend so that
their versions load and generate like any other generator.

Registered when a worker starts (not at Django start-up: the web process never imports torch).
"""

import threading

_registered = threading.Event()


def _build_dcgan(config: dict):
    from tools_layer.training.recipes.dcgan import build_generator

    return build_generator(config)


def _sample_dcgan(module, count, generator, device):
    from tools_layer.training.recipes.dcgan import sample_generator

    return sample_generator(module, count, generator, device)


def _build_vae(config: dict):
    from tools_layer.training.recipes.vae import build_vae

    return build_vae(config)


def _sample_vae(module, count, generator, device):
    from tools_layer.training.recipes.vae import sample_vae

    return sample_vae(module, count, generator, device)


def register_architectures(**signal_kwargs) -> None:
    """Idempotent; connected to Celery's worker_init (pool processes are forked after it)."""
    if _registered.is_set():
        return
    from models_layer.runtime import TorchArchitecture, register_torch_architecture

    register_torch_architecture(TorchArchitecture(name="dcgan", kind="image", build=_build_dcgan, sample=_sample_dcgan))
    register_torch_architecture(TorchArchitecture(name="vae", kind="image", build=_build_vae, sample=_sample_vae))
    _registered.set()
