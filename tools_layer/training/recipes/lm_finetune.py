"""`lm-finetune`: continue training a registered causal LM (SmolLM2-135M-Instruct by default) on the
texts of a dataset version, fully or with LoRA adapters (merged into the weights before saving)."""

from pathlib import Path

import torch

from tools_layer.training.recipes import register_recipe
from tools_layer.training.recipes.base import Export, World, unwrap
from tools_layer.training.recipes.language import LanguageModelTrainer


@register_recipe
class FinetuneLanguageModel(LanguageModelTrainer):
    name = "lm-finetune"
    needs_base = True

    def __init__(
        self,
        *,
        hyperparameters: dict,
        data: dict,
        device: torch.device,
        world: World = World(),
        base_folder: Path | None = None,
        state: dict | None = None,
    ):
        super().__init__(hyperparameters=hyperparameters, data=data, device=device, world=world, state=state)
        from transformers import AutoTokenizer

        if base_folder is None:
            raise ValueError("lm-finetune needs a base model folder.")
        self.tokenizer = AutoTokenizer.from_pretrained(base_folder, local_files_only=True)
        self._streams(data)
        self._train_base(base_folder, lora=self.hp["method"] == "lora", world=world, state=state)

    def export(self, folder: Path) -> Export:
        model = unwrap(self.model)
        if self.lora:
            model = model.merge_and_unload()
        return self._save_hf(model, folder, {})
