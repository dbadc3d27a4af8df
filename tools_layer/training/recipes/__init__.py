"""Training recipes: one module each, plain torch (no Django), so that `torchrun` ranks import them too.

A recipe is a `Trainer` subclass registered under its name; the hyperparameters it takes are
validated by its serializer in `tools_layer.training.serializers` before it runs.
"""

from tools_layer.training.recipes.base import Export, Trainer, World

_RECIPES: dict[str, type[Trainer]] = {}


def register_recipe(trainer: type[Trainer]) -> type[Trainer]:
    _RECIPES[trainer.name] = trainer
    return trainer


def recipe_trainer(name: str) -> type[Trainer]:
    _load()
    return _RECIPES[name]


def recipe_names() -> list[str]:
    _load()
    return list(_RECIPES)


def _load() -> None:
    from tools_layer.training.recipes import dcgan, lm_dpo, lm_finetune, lm_scratch, vae  # noqa: F401


__all__ = ["Export", "Trainer", "World", "recipe_names", "recipe_trainer", "register_recipe"]
