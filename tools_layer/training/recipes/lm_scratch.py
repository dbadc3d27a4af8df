"""`lm-scratch`: a small GPT-2-style model and its own byte-level BPE tokenizer, trained from the
texts of a dataset version; saved as a Hugging Face checkpoint the runtime's transformers backend loads."""

from pathlib import Path

import torch

from tools_layer.training.recipes import register_recipe
from tools_layer.training.recipes.base import Export, World, unwrap, wrap_distributed
from tools_layer.training.recipes.language import LanguageModelTrainer

END_OF_TEXT = "<|endoftext|>"


def train_tokenizer(texts: list[str], vocab_size: int):
    """A byte-level BPE (every byte has a token, so no text is out of vocabulary), as a transformers tokenizer."""
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        texts, vocab_size=vocab_size, min_frequency=2, special_tokens=[END_OF_TEXT], show_progress=False
    )
    return tokenizer_from_json(bpe._tokenizer.to_str())


def tokenizer_from_json(serialized: str):
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(serialized),
        bos_token=END_OF_TEXT,
        eos_token=END_OF_TEXT,
        unk_token=END_OF_TEXT,
        pad_token=END_OF_TEXT,
    )


@register_recipe
class ScratchLanguageModel(LanguageModelTrainer):
    name = "lm-scratch"

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
        from transformers import GPT2Config, GPT2LMHeadModel

        hp = self.hp
        # The tokenizer is trained once; a resumed run takes it from its checkpoint, byte for byte.
        self.tokenizer = (
            tokenizer_from_json(state["tokenizer"]) if state else train_tokenizer(data["train"], int(hp["vocab_size"]))
        )
        self._streams(data)
        eos = self.tokenizer.eos_token_id
        config = GPT2Config(
            vocab_size=len(self.tokenizer),
            n_positions=int(hp["context"]),
            n_embd=int(hp["n_embd"]),
            n_layer=int(hp["n_layer"]),
            n_head=int(hp["n_head"]),
            resid_pdrop=float(hp["dropout"]),
            embd_pdrop=float(hp["dropout"]),
            attn_pdrop=float(hp["dropout"]),
            bos_token_id=eos,
            eos_token_id=eos,
            pad_token_id=eos,
        )
        model = GPT2LMHeadModel(config).to(device)
        if state:
            model.load_state_dict(state["model"])
        self.model = wrap_distributed(model, world, device)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(),
            lr=float(hp["learning_rate"]),
            weight_decay=float(hp["weight_decay"]),
            betas=(0.9, 0.95),
        )
        if state:
            self.optimizer.load_state_dict(state["optimizer"])
            self.restore_rng(state["rng"])

    def state(self) -> dict:
        return {
            "tokenizer": self.tokenizer.backend_tokenizer.to_str(),
            "model": unwrap(self.model).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": self.rng_state(),
        }

    def export(self, folder: Path) -> Export:
        model = unwrap(self.model)
        model.generation_config.eos_token_id = self.tokenizer.eos_token_id
        model.generation_config.pad_token_id = self.tokenizer.eos_token_id
        return self._save_hf(model, folder, {"max_context": int(self.hp["context"])})
