"""Turning tokens into text as they come: stop sequences, incomplete characters, and sampling."""

import torch

# Nucleus sampling looks at this many most likely tokens only: a sort over the whole vocabulary
# (49k for SmolLM2) for every sequence at every step would cost more than the decode step itself.
TOP_K_CANDIDATES = 256


class TextAssembler:
    """Decodes a growing list of token ids into text and says what may be shown yet.

    Text that could still turn out to be the start of a stop sequence is held back, and so is a
    trailing incomplete UTF-8 character (the tokenizer renders it as U+FFFD).
    """

    def __init__(self, tokenizer, stop: list[str]):
        self.tokenizer = tokenizer
        self.stop = [s for s in stop if s]
        self.ids: list[int] = []
        self.text = ""
        self.shown = 0
        self.stopped = False

    def add(self, token: int) -> str:
        """Add a token; returns the newly showable text ('' when nothing new may be shown)."""
        self.ids.append(token)
        self.text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if self.stop:
            window_start = max(0, self.shown - max(len(s) for s in self.stop))
            hits = [i for i in (self.text.find(s, window_start) for s in self.stop) if i >= 0]
            if hits:
                self.text = self.text[: min(hits)]
                self.stopped = True
                return self._release(len(self.text))
        showable = len(self.text)
        if self.text.endswith("\ufffd"):
            showable -= 1
        held = 0
        for s in self.stop:
            for size in range(min(len(s) - 1, showable), 0, -1):
                if self.text[showable - size : showable] == s[:size]:
                    held = max(held, size)
                    break
        return self._release(showable - held)

    def finish(self) -> str:
        """Whatever was held back, at the end."""
        return self._release(len(self.text.rstrip("\ufffd")))

    def _release(self, upto: int) -> str:
        if upto <= self.shown:
            return ""
        piece = self.text[self.shown : upto]
        self.shown = upto
        return piece


def sample_rows(
    logits: torch.Tensor, temperatures: list[float], top_ps: list[float], generators: list[torch.Generator]
) -> list[int]:
    """One token per row of `logits` [B, vocab]; each row draws from its own seeded generator, so a
    sequence's tokens do not depend on what else is in the batch."""
    tokens: list[int] = [0] * logits.shape[0]
    greedy = [row for row, t in enumerate(temperatures) if t <= 0]
    if greedy:
        picked = logits[greedy].argmax(dim=-1).tolist()
        for row, token in zip(greedy, picked):
            tokens[row] = token
    sampled = [row for row, t in enumerate(temperatures) if t > 0]
    if not sampled:
        return tokens
    k = min(TOP_K_CANDIDATES, logits.shape[-1])
    temps = torch.tensor([temperatures[row] for row in sampled], dtype=torch.float32).unsqueeze(1)
    values, indices = (logits[sampled].float().cpu() / temps).topk(k, dim=-1)
    probs = values.softmax(dim=-1)
    cumulative = probs.cumsum(dim=-1)
    top_p = torch.tensor([top_ps[row] for row in sampled]).unsqueeze(1)
    # Keep the smallest prefix whose mass reaches top_p (the first token always stays).
    probs = probs.masked_fill((cumulative - probs) >= top_p, 0.0)
    for position, row in enumerate(sampled):
        choice = torch.multinomial(probs[position], 1, generator=generators[row])
        tokens[row] = int(indices[position, choice])
    return tokens
