"""`lm-finetune`: continue training a registered causal LM (SmolLM2-135M-Instruct by default) on the
texts of a dataset version, fully or with LoRA adapters (merged into the weights before saving)."""
from pathlib import Path

import torch

from tools_layer.training.recipes import register_recipe
from tools_layer.training.recipes.base import Export, World, unwrap, wrap_distributed
from tools_layer.training.recipes.language import LanguageModelTrainer

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "c_attn", "c_proj"]


@register_recipe
class FinetuneLanguageModel(LanguageModelTrainer):
    name = "lm-finetune"
    needs_base = True

    def __init__(self, *, hyperparameters: dict, data: dict, device: torch.device, world: World = World(),
                 base_folder: Path | None = None, state: dict | None = None):
        super().__init__(hyperparameters=hyperparameters, data=data, device=device, world=world, state=state)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if base_folder is None:
            raise ValueError("lm-finetune needs a base model folder.")
        hp = self.hp
        self.tokenizer = AutoTokenizer.from_pretrained(base_folder, local_files_only=True)
        self._streams(data)
        model = AutoModelForCausalLM.from_pretrained(base_folder, dtype=torch.float32, local_files_only=True)
        self.lora = hp["method"] == "lora"
        if self.lora:
            from peft import LoraConfig, get_peft_model

            names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
            targets = [target for target in LORA_TARGETS if target in names]
            model = get_peft_model(model, LoraConfig(r=int(hp["lora_r"]), lora_alpha=int(hp["lora_alpha"]),
                                                     lora_dropout=float(hp["lora_dropout"]), target_modules=targets))
        model.to(device)
        if state:
            # A LoRA checkpoint holds only the adapters; the base weights come from the base version again.
            model.load_state_dict(state["model"], strict=not self.lora)
        self.model = wrap_distributed(model, world, device)
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trainable, lr=float(hp["learning_rate"]), weight_decay=float(hp["weight_decay"]))
        if state:
            self.optimizer.load_state_dict(state["optimizer"])
            self.restore_rng(state["rng"])

    def state(self) -> dict:
        model = unwrap(self.model)
        weights = model.state_dict()
        if self.lora:
            weights = {name: value for name, value in weights.items() if "lora_" in name}
        return {"model": weights, "optimizer": self.optimizer.state_dict(), "rng": self.rng_state()}

    def export(self, folder: Path) -> Export:
        model = unwrap(self.model)
        if self.lora:
            model = model.merge_and_unload()
        return self._save_hf(model, folder, {})
