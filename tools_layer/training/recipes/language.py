"""What the two causal-LM recipes share: a token stream from the texts, batches of random windows
of it, validation loss, text samples, and saving a Hugging Face folder zipped for the runtime."""

import json
import time
import zipfile
from pathlib import Path

import torch

from tools_layer.training.recipes.base import Export, Trainer, World, unwrap, wrap_distributed

# Validation loss is the mean over this many fixed windows of the validation stream.
VALIDATION_WINDOWS = 16


LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "c_attn", "c_proj"]


def with_lora(model, hp: dict):
    """The model with LoRA adapters (rank, alpha, dropout from `hp`) on its attention projections."""
    from peft import LoraConfig, get_peft_model

    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    targets = [target for target in LORA_TARGETS if target in names]
    config = LoraConfig(
        r=int(hp["lora_r"]),
        lora_alpha=int(hp["lora_alpha"]),
        lora_dropout=float(hp["lora_dropout"]),
        target_modules=targets,
    )
    return get_peft_model(model, config)


def token_stream(tokenizer, texts: list[str], eos_id: int) -> torch.Tensor:
    ids: list[int] = []
    for text in texts:
        ids.extend(tokenizer(text, add_special_tokens=False)["input_ids"])
        ids.append(eos_id)
    return torch.tensor(ids, dtype=torch.long)


def zip_folder(folder: Path, target: Path) -> Path:
    # Stored, not deflated: weights hardly compress, and the runtime unpacks it once per content hash.
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
    return target


class LanguageModelTrainer(Trainer):
    dataset_kind = "text"
    generator_kind = "text"
    unit = "tokens"

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    tokenizer = None

    lora = False  # LoRA adapters on a base (_train_base): a checkpoint then keeps only the adapters

    def _train_base(self, base_folder: Path, *, lora: bool, world: World, state: dict | None) -> None:
        """The registered base checkpoint as `self.model` (with LoRA adapters when `lora`), an AdamW over
        what trains, and on a resume the checkpoint's weights, optimizer and random state. A LoRA
        checkpoint holds only the adapters; the base weights come from the base version again."""
        from transformers import AutoModelForCausalLM

        hp = self.hp
        model = AutoModelForCausalLM.from_pretrained(base_folder, dtype=torch.float32, local_files_only=True)
        self.lora = lora
        if lora:
            model = with_lora(model, hp)
        model.to(self.device)
        if state:
            model.load_state_dict(state["model"], strict=not lora)
        self.model = wrap_distributed(model, world, self.device)
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            trainable, lr=float(hp["learning_rate"]), weight_decay=float(hp["weight_decay"])
        )
        if state:
            self.optimizer.load_state_dict(state["optimizer"])
            self.restore_rng(state["rng"])

    def state(self) -> dict:
        weights = unwrap(self.model).state_dict()
        if self.lora:
            weights = {name: value for name, value in weights.items() if "lora_" in name}
        return {"model": weights, "optimizer": self.optimizer.state_dict(), "rng": self.rng_state()}

    def _streams(self, data: dict) -> None:
        context = int(self.hp["context"])
        eos = self.tokenizer.eos_token_id
        self.train_ids = token_stream(self.tokenizer, data["train"], eos)
        validation = data.get("validation") or []
        self.val_ids = (
            token_stream(self.tokenizer, validation, eos)
            if validation
            else self.train_ids[-(context + 1) * VALIDATION_WINDOWS :]
        )
        if len(self.train_ids) <= context + 1:
            raise ValueError(
                f"The training texts hold {len(self.train_ids)} tokens; at least {context + 2} are needed."
            )

    def _windows(self, stream: torch.Tensor, starts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        context = int(self.hp["context"])
        batch = torch.stack([stream[start : start + context + 1] for start in starts.tolist()]).to(self.device)
        return batch[:, :-1], batch[:, 1:]

    def _loss(self, model, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits = model(input_ids=inputs).logits
        return torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1))

    def step(self, step: int) -> dict:
        context = int(self.hp["context"])
        self.model.train()
        lr = self.learning_rate(step)
        self.set_learning_rate(self.optimizer, lr)
        starts = self.global_indices(int(self.hp["batch_size"]), len(self.train_ids) - context - 1)
        inputs, targets = self._windows(self.train_ids, starts)
        loss = self._loss(self.model, inputs, targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], 1.0)
        self.optimizer.step()
        return {"loss": loss.item(), "lr": lr, "units": inputs.numel()}

    @torch.no_grad()
    def evaluate(self) -> dict:
        context = int(self.hp["context"])
        model = unwrap(self.model)
        model.eval()
        span = max(1, len(self.val_ids) - context - 1)
        starts = torch.linspace(0, span - 1, min(VALIDATION_WINDOWS, span)).long()
        if len(self.val_ids) <= context + 1:
            return {}
        inputs, targets = self._windows(self.val_ids, starts)
        return {"val_loss": self._loss(model, inputs, targets).item()}

    @torch.no_grad()
    def sample(self) -> dict:
        model = unwrap(self.model)
        model.eval()
        prompt = self.tokenizer(self.hp.get("sample_prompt") or "The", return_tensors="pt")["input_ids"].to(self.device)
        generator_state = torch.get_rng_state()
        torch.manual_seed(int(self.hp["seed"]))
        room = max(1, getattr(model.config, "n_positions", 10**9) - prompt.shape[1])
        output = model.generate(
            prompt,
            max_new_tokens=min(int(self.hp["sample_tokens"]), room),
            do_sample=True,
            top_k=40,
            temperature=0.8,
            pad_token_id=self.tokenizer.eos_token_id,
        )
        # Sampling must not move the training run's random stream, or a resumed run would diverge.
        torch.set_rng_state(generator_state)
        return {"text": self.tokenizer.decode(output[0], skip_special_tokens=True)}

    def _save_hf(self, model, folder: Path, parameters: dict) -> Export:
        checkpoint = folder / "checkpoint"
        model.save_pretrained(checkpoint)
        self.tokenizer.save_pretrained(checkpoint)
        (checkpoint / "training.json").write_text(json.dumps({"recipe": self.name, "saved_at": time.time()}))
        return Export(path=zip_folder(checkpoint, folder / "model.zip"), format="hf", parameters=parameters)
