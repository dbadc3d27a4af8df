"""`lm-dpo`: Direct Preference Optimization with LoRA adapters on a registered causal LM (SmolLM2 by
default), from preference pairs: {prompt, chosen, rejected}, as a pairwise labelling project's (or
ratings') judgements become in a preference dataset version.

Our own loop rather than trl's DPOTrainer: the platform's loop calls one optimizer step at a time
(curves, checkpoints, cancel between steps, exact resume), which trl's Trainer-owned loop does not
give without callbacks around it; measured on two CPU cores it was also faster per pair (see the
commit and bench/training.py). The reference model is the base itself, with the adapters switched
off, so no second copy of the weights is held; its log-probabilities are computed once per pair.
"""

from pathlib import Path

import torch

from tools_layer.training.recipes import register_recipe
from tools_layer.training.recipes.base import Export, World, unwrap
from tools_layer.training.recipes.language import LanguageModelTrainer

# Validation metrics are measured on at most this many fixed pairs.
VALIDATION_PAIRS = 16
# A prompt keeps at most this share of the `context` tokens; the rest is left to the response.
PROMPT_SHARE = 0.5


class EncodedPair:
    """A pair as token ids: the prompt's, then each response's (ending with the end-of-turn token)."""

    def __init__(self, prompt: list[int], chosen: list[int], rejected: list[int]):
        self.prompt, self.chosen, self.rejected = prompt, chosen, rejected


def encode_pair(tokenizer, pair: dict, context: int) -> EncodedPair:
    """The prompt as the chat template puts a user's turn (when the tokenizer has one), each response
    as the assistant's answer; the prompt is cut from the left and the responses from the right to fit."""
    prompt = pair.get("prompt", "")
    if getattr(tokenizer, "chat_template", None):
        prompt_ids = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True
        )
        if isinstance(prompt_ids, dict) or hasattr(prompt_ids, "input_ids"):
            prompt_ids = prompt_ids["input_ids"]
    else:
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"] if prompt else []
    prompt_ids = list(prompt_ids)[-int(context * PROMPT_SHARE) :]
    room = max(1, context - len(prompt_ids))
    eos = tokenizer.eos_token_id

    def response(text: str) -> list[int]:
        return (tokenizer(text, add_special_tokens=False)["input_ids"] + [eos])[:room]

    return EncodedPair(prompt_ids, response(pair["chosen"]), response(pair["rejected"]))


def batch_tensors(pairs: list[EncodedPair], pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(ids, attention mask, response mask) of the chosen sequences of `pairs`, then their rejected
    ones, right-padded to one length: one forward pass scores both halves."""
    sequences = [(p.prompt, p.chosen) for p in pairs] + [(p.prompt, p.rejected) for p in pairs]
    length = max(len(prompt) + len(answer) for prompt, answer in sequences)
    ids = torch.full((len(sequences), length), pad_id, dtype=torch.long)
    attention = torch.zeros((len(sequences), length), dtype=torch.long)
    scored = torch.zeros((len(sequences), length), dtype=torch.bool)
    for row, (prompt, answer) in enumerate(sequences):
        end = len(prompt) + len(answer)
        ids[row, :end] = torch.tensor(prompt + answer)
        attention[row, :end] = 1
        scored[row, len(prompt) : end] = True
    return ids, attention, scored


def sequence_log_probs(model, ids: torch.Tensor, attention: torch.Tensor, scored: torch.Tensor) -> torch.Tensor:
    """Sum of the log-probabilities of each sequence's response tokens."""
    logits = model(input_ids=ids, attention_mask=attention).logits[:, :-1].float()
    targets = ids[:, 1:]
    token_log_probs = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return (token_log_probs * scored[:, 1:]).sum(-1)


def dpo_loss(policy: torch.Tensor, reference: torch.Tensor, beta: float) -> tuple[torch.Tensor, dict]:
    """DPO's loss over a batch whose first half is chosen and second half rejected, and its rewards
    (beta times the policy's log-probability gain over the reference)."""
    half = len(policy) // 2
    rewards = beta * (policy - reference)
    chosen, rejected = rewards[:half], rewards[half:]
    margin = chosen - rejected
    loss = -torch.nn.functional.logsigmoid(margin).mean()
    return loss, {
        "reward_margin": margin.mean().item(),
        "reward_accuracy": (margin > 0).float().mean().item(),
        "chosen_reward": chosen.mean().item(),
        "rejected_reward": rejected.mean().item(),
    }


@register_recipe
class DpoLanguageModel(LanguageModelTrainer):
    name = "lm-dpo"
    needs_base = True
    dataset_kind = "preference"
    unit = "pairs"

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
            raise ValueError("lm-dpo needs a base model folder.")
        hp = self.hp
        if not data["train"]:
            raise ValueError("lm-dpo needs at least one preference pair (ties are skipped).")
        self.tokenizer = AutoTokenizer.from_pretrained(base_folder, local_files_only=True)
        context = int(hp["context"])
        self.train_pairs = [encode_pair(self.tokenizer, pair, context) for pair in data["train"]]
        validation = data.get("validation") or data["train"][-VALIDATION_PAIRS:]
        self.val_pairs = [encode_pair(self.tokenizer, pair, context) for pair in validation[:VALIDATION_PAIRS]]
        self.sample_prompt = validation[0].get("prompt") or hp.get("sample_prompt") or "The"
        # LoRA always: the reference is the same base with its adapters switched off
        self._train_base(base_folder, lora=True, world=world, state=state)
        # The reference's log-probabilities never change: computed the first time a pair is drawn.
        self._reference: dict[tuple[str, int], tuple[float, float]] = {}

    def _batch(self, pairs: list[EncodedPair]):
        ids, attention, scored = batch_tensors(pairs, self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
        return ids.to(self.device), attention.to(self.device), scored.to(self.device)

    @torch.no_grad()
    def _reference_log_probs(self, split: str, indices: list[int], pairs: list[EncodedPair]) -> torch.Tensor:
        missing = [i for i in indices if (split, i) not in self._reference]
        if missing:
            model = unwrap(self.model)
            was_training = model.training
            model.eval()
            with model.disable_adapter():
                scores = sequence_log_probs(model, *self._batch([pairs[i] for i in missing])).tolist()
            model.train(was_training)
            half = len(missing)
            for offset, index in enumerate(missing):
                self._reference[(split, index)] = (scores[offset], scores[half + offset])
        values = [self._reference[(split, i)] for i in indices]
        return torch.tensor([c for c, _ in values] + [r for _, r in values], device=self.device)

    def step(self, step: int) -> dict:
        lr = self.learning_rate(step)
        self.set_learning_rate(self.optimizer, lr)
        indices = self.global_indices(int(self.hp["batch_size"]), len(self.train_pairs)).tolist()
        reference = self._reference_log_probs("train", indices, self.train_pairs)
        self.model.train()
        policy = sequence_log_probs(self.model, *self._batch([self.train_pairs[i] for i in indices]))
        loss, rewards = dpo_loss(policy, reference, float(self.hp["beta"]))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], 1.0)
        self.optimizer.step()
        return {"loss": loss.item(), "lr": lr, "units": len(indices), **rewards}

    @torch.no_grad()
    def evaluate(self) -> dict:
        model = unwrap(self.model)
        model.eval()
        indices = list(range(len(self.val_pairs)))
        reference = self._reference_log_probs("validation", indices, self.val_pairs)
        policy = sequence_log_probs(model, *self._batch(self.val_pairs))
        loss, rewards = dpo_loss(policy, reference, float(self.hp["beta"]))
        return {
            "val_loss": loss.item(),
            "val_reward_accuracy": rewards["reward_accuracy"],
            "val_reward_margin": rewards["reward_margin"],
        }

    @torch.no_grad()
    def sample(self) -> dict:
        """The answer to the first validation prompt, greedy, as the chat template asks it."""
        model = unwrap(self.model)
        model.eval()
        encoded = encode_pair(self.tokenizer, {"prompt": self.sample_prompt, "chosen": "", "rejected": ""}, 10**6)
        prompt = torch.tensor([encoded.prompt], device=self.device)
        output = model.generate(
            prompt,
            attention_mask=torch.ones_like(prompt),
            max_new_tokens=int(self.hp["sample_tokens"]),
            do_sample=False,
            pad_token_id=self.tokenizer.eos_token_id,
        )
        return {"text": self.tokenizer.decode(output[0, prompt.shape[1] :], skip_special_tokens=True)}

    def export(self, folder: Path) -> Export:
        """The adapters merged into the base weights: a plain Hugging Face checkpoint, with the base's
        tokenizer and chat template, that the runtime loads like any other."""
        chat = bool(getattr(self.tokenizer, "chat_template", None))
        return self._save_hf(unwrap(self.model).merge_and_unload(), folder, {"chat": True} if chat else {})
