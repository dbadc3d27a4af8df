"""Read-only scoring of text by a text version: the log-likelihood of tokens, for perplexity.

The serving path hands a checkpoint's weights to a decoder that only ever computes the next token's
logits; scoring needs every position's, so here the checkpoint is loaded as transformers loads it,
kept in the same per-process model cache under its own key (it never changes what generation serves).
"""

import math

from aigc_platform.core.errors import ApplicationError
from infrastructure.storage.selectors import file_local_copy
from models_layer.runtime.backends import LoadedModel
from models_layer.runtime.service import model_cache, runtime_options


class CausalLM(LoadedModel):
    """A text checkpoint's transformers model and tokenizer, for scoring only."""

    kind = "causal-lm"

    def __init__(self, *, model, tokenizer, device):
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.memory_bytes = sum(p.numel() * p.element_size() for p in model.parameters())

    @property
    def chat(self) -> bool:
        """Whether the tokenizer has a chat template (an instruct model wants its prompts in it)."""
        return bool(getattr(self.tokenizer, "chat_template", None))

    def encode(self, text: str, *, special: bool = True) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=special))

    def encode_prompt(self, prompt: str) -> list[int]:
        """A prompt as generation reads it: in the chat template when there is one."""
        if not self.chat:
            return self.encode(prompt)
        ids = self.tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True
        )
        return list(ids["input_ids"] if hasattr(ids, "keys") else ids)

    def negative_log_likelihood(self, *, context: list[int], target: list[int]) -> tuple[float, int]:
        """The summed negative log-likelihood (nats) of `target` following `context`, and how many
        target tokens it covers. The first token of a text without context has nothing to be
        predicted from, so it is not counted."""
        import torch
        import torch.nn.functional as F

        ids = context + target
        if len(ids) < 2 or not target:
            return 0.0, 0
        first = max(len(context), 1)
        with torch.inference_mode():
            logits = self.model(input_ids=torch.tensor([ids], device=self.device)).logits[0].float()
            predicted = logits[first - 1 : len(ids) - 1]
            labels = torch.tensor(ids[first:], device=self.device)
            nll = F.cross_entropy(predicted, labels, reduction="sum").item()
        if not math.isfinite(nll):
            raise ApplicationError("The model's log-likelihood is not a finite number.", code="invalid_model")
        return nll, len(labels)


def load_causal_lm(version) -> CausalLM:
    """The version's checkpoint (a `transformers` backend generator) loaded for scoring, cached."""
    if version.generator.backend != "transformers":
        raise ApplicationError(f"{version.generator.slug} is not a transformers text model; its text cannot be scored.")
    options = runtime_options()
    artifact = version.artifact
    key = f"{artifact.sha256}:{version.format}:causal-lm:{options.device}"

    def load() -> CausalLM:
        from models_layer.runtime.artifacts import load_hf_causal_lm

        with file_local_copy(file=artifact) as path:
            model, tokenizer = load_hf_causal_lm(path, artifact.sha256, version.format, options.device)
        return CausalLM(model=model, tokenizer=tokenizer, device=options.device)

    return model_cache().get(key, load)
