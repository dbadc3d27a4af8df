"""Continuous batching: one thread per loaded text model steps every active sequence together.

Requests arrive from any thread (each job of a threads-pool worker, or an application's own job) and
wait in a queue; between two decode steps the engine admits as many as it has free slots (running
their prompts), then one step advances every active sequence by a token. A sequence leaves when it
ends, and a waiting one takes its slot at the next step, so a late request never waits for a whole
batch to finish. Each sequence samples from its own seeded generator, so the same request and seed
give the same text whatever else runs beside it.

The engine's thread also loads the model: it does all of the model's torch work. Each thread that
runs torch's parallel operations keeps a team of OpenMP threads, and once a process holds more such
threads than cores, libgomp stops letting them spin between operations; a decode step is hundreds of
small parallel operations, and waking sleeping threads for each halved single-stream speed (SmolLM2
on 2 cores: 85 tokens/s when one thread loads and decodes, 45 when another thread had loaded).
"""

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from aigc_platform.core.errors import ApplicationError
from models_layer.runtime.decoder import Decoder
from models_layer.runtime.requests import Generation, TextRequest, TextResult
from models_layer.runtime.structured import GrammarCompiler, schema_of
from models_layer.runtime.text import TextAssembler, sample_rows

logger = logging.getLogger(__name__)

# How long a waiting consumer sleeps before it may look at its job's cancel flag again.


@dataclass
class _Sequence:
    request: TextRequest
    prompt: list[int]
    max_new_tokens: int
    generation: Generation
    assembler: TextAssembler
    generator: torch.Generator
    matcher: object | None
    submitted: float
    slot: int = -1
    position: int = 0
    last: int = 0
    produced: int = 0
    finish_reason: str = ""
    peak_batch: int = 1
    written: dict[int, int] = field(
        default_factory=dict
    )  # word token -> times its word was written (for the penalties)

    @property
    def counts_words(self) -> bool:
        """Whether this request asked for repetition penalties, so its written words are counted."""
        return bool(self.request.presence_penalty or self.request.frequency_penalty)


def _penalise(row: torch.Tensor, sequence: _Sequence) -> None:
    """Lower, in place, the logits of the words this sequence already wrote (OpenAI's penalties)."""
    ids = torch.tensor(list(sequence.written), device=row.device)
    counts = torch.tensor(list(sequence.written.values()), dtype=row.dtype, device=row.device)
    row[ids] -= sequence.request.presence_penalty + sequence.request.frequency_penalty * counts


class BatchingEngine:
    decoder: Decoder
    tokenizer: object  # a transformers tokenizer
    eos_ids: set[int]

    def __init__(self, *, build: Callable[[], tuple[Decoder, object, set[int]]], name: str):
        """`build()` returns (decoder, tokenizer, end-of-text ids); it runs in the engine's thread, and
        what it raises is raised here."""
        self.name = name
        self._grammar: GrammarCompiler | None = None
        self._grammar_lock = threading.Lock()
        self._forms: list[tuple[int, ...]] | None = None  # per token id: the ids of the same word (_word_forms)
        self._pending: deque[_Sequence] = deque()
        self._active: list[_Sequence] = []
        self._wake = threading.Condition()
        self._closing = False
        self.steps = 0
        self.max_batch_seen = 0
        self._built = threading.Event()
        self._build_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(build,), name=f"engine-{name}", daemon=True)
        self._thread.start()
        self._built.wait()
        if self._build_error is not None:
            raise self._build_error

    # Requests -----------------------------------------------------------------------------------

    def encode(self, request: TextRequest) -> list[int]:
        if request.messages:
            ids = self.tokenizer.apply_chat_template(request.messages, add_generation_prompt=True, tokenize=True)
            if hasattr(ids, "keys"):
                ids = ids["input_ids"]
            return list(ids)
        return self.tokenizer.encode(request.prompt or "", add_special_tokens=True)

    def _grammar_compiler(self) -> GrammarCompiler:
        with self._grammar_lock:
            if self._grammar is None:
                self._grammar = GrammarCompiler(self.tokenizer, self.decoder.vocab_size, sorted(self.eos_ids))
            return self._grammar

    def _word_forms(self) -> list[tuple[int, ...]]:
        """Per token id, the ids of the same word in any (ASCII) case, with or without a leading space,
        or () for a token without a letter or digit. The repetition penalties count a word once it is
        written in any of its forms: a JSON value's first word has no leading space, and the small model
        wrote "Yes" and "yes", "The answer" and "the answer" as two quiz choices."""
        if self._forms is None:
            pieces = self.tokenizer.convert_ids_to_tokens(list(range(len(self.tokenizer))))
            keys: list[str | None] = []
            for piece in pieces:
                piece = piece or ""
                if not any(char.isalnum() for char in piece):
                    keys.append(None)
                    continue
                word = piece.lstrip("\u0120\u2581 ")  # byte-level BPE's and SentencePiece's space marks
                keys.append(word.lower() if word.isascii() else word)
            ids: dict[str, list[int]] = {}
            for token, key in enumerate(keys):
                if key is not None:
                    ids.setdefault(key, []).append(token)
            forms = [tuple(ids[key]) if key is not None else () for key in keys]
            self._forms = forms + [()] * max(0, self.decoder.vocab_size - len(forms))
        return self._forms

    def submit(self, request: TextRequest) -> Generation:
        prompt = self.encode(request)
        if not prompt:
            raise ApplicationError("The prompt is empty.", fields={"prompt": ["Empty."]})
        room = self.decoder.max_len - len(prompt)
        if room < 1:
            raise ApplicationError(
                f"The prompt is {len(prompt)} tokens; this generator reads at most {self.decoder.max_len - 1}.",
                code="prompt_too_long",
                fields={"prompt": ["Too long."]},
            )
        schema = schema_of(request.response_format)
        matcher = self._grammar_compiler().matcher(schema) if schema is not None else None
        generator = torch.Generator().manual_seed(int(request.seed))
        generation = Generation()
        sequence = _Sequence(
            request=request,
            prompt=prompt,
            max_new_tokens=min(request.max_new_tokens, room),
            generation=generation,
            assembler=TextAssembler(self.tokenizer, request.stop),
            generator=generator,
            matcher=matcher,
            submitted=time.perf_counter(),
        )
        with self._wake:
            if self._closing:
                raise ApplicationError("This model is being unloaded; try again.", code="model_unloading")
            self._pending.append(sequence)
            self._wake.notify()
        return generation

    def close(self) -> None:
        """Stop once the requests already accepted have finished."""
        with self._wake:
            self._closing = True
            self._wake.notify()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end after `close`: a process that exits while the thread is still
        tearing down its torch state can abort ("terminate called without an active exception")."""
        self._thread.join(timeout)

    # The loop -----------------------------------------------------------------------------------

    def _run(self, build: Callable[[], tuple[Decoder, object, set[int]]]) -> None:
        try:
            self.decoder, self.tokenizer, self.eos_ids = build()
        except BaseException as error:
            self._build_error = error
            return
        finally:
            self._built.set()
        while True:
            with self._wake:
                while not self._pending and not self._active:
                    if self._closing:
                        self.decoder.close()
                        return
                    self._wake.wait()
            try:
                with torch.inference_mode():
                    self._admit()
                    if self._active:
                        self._step()
            except Exception as error:
                logger.exception(
                    "Engine %s failed a step; failing its %d active requests", self.name, len(self._active)
                )
                for sequence in self._active:
                    sequence.generation._events.put(("error", error))
                    self.decoder.release(sequence.slot)
                self._active.clear()

    def _admit(self) -> None:
        while len(self._active) < self.decoder.slots:
            with self._wake:
                if not self._pending:
                    return
                sequence = self._pending.popleft()
            if sequence.generation.cancelled:
                self._finish(sequence, "cancelled")
                continue
            sequence.slot = len(self._active)
            self._active.append(sequence)
            logits = self.decoder.prefill(sequence.slot, sequence.prompt)
            sequence.position = len(sequence.prompt)
            self._advance([sequence], logits.unsqueeze(0))
            self._retire()

    def _step(self) -> None:
        batch = self._active
        tokens = torch.tensor([s.last for s in batch])
        positions = torch.tensor([s.position for s in batch])
        logits = self.decoder.decode(tokens, positions)
        for sequence in batch:
            sequence.position += 1
            sequence.peak_batch = max(sequence.peak_batch, len(batch))
        self.steps += 1
        self.max_batch_seen = max(self.max_batch_seen, len(batch))
        self._advance(batch, logits)
        self._retire()

    def _advance(self, sequences: list[_Sequence], logits: torch.Tensor) -> None:
        """Sample each sequence's next token from its row of `logits` and pass on the new text."""
        for row, sequence in enumerate(sequences):
            if sequence.counts_words and sequence.written:
                _penalise(logits[row], sequence)
        constrained = [row for row, s in enumerate(sequences) if s.matcher is not None]
        if constrained:
            self._grammar_compiler().mask(logits, constrained, [sequences[row].matcher for row in constrained])
        tokens = sample_rows(
            logits,
            [s.request.temperature for s in sequences],
            [s.request.top_p for s in sequences],
            [s.generator for s in sequences],
        )
        for sequence, token in zip(sequences, tokens):
            if sequence.generation.cancelled:
                sequence.finish_reason = "cancelled"
                continue
            if sequence.matcher is not None:
                sequence.matcher.accept_token(token)
            if token in self.eos_ids:
                sequence.finish_reason = "stop"
                continue
            sequence.produced += 1
            sequence.last = token
            if sequence.counts_words:
                for form in self._word_forms()[token]:
                    sequence.written[form] = sequence.written.get(form, 0) + 1
            piece = sequence.assembler.add(token)
            if piece:
                sequence.generation._events.put(("text", piece))
            if sequence.assembler.stopped or (sequence.matcher is not None and sequence.matcher.is_terminated()):
                sequence.finish_reason = "stop"
            elif sequence.produced >= sequence.max_new_tokens or sequence.position + 1 >= self.decoder.max_len:
                sequence.finish_reason = "length"

    def _retire(self) -> None:
        """Finished sequences leave; the last active one moves into each freed slot (slots stay 0..B-1)."""
        index = 0
        while index < len(self._active):
            sequence = self._active[index]
            if not sequence.finish_reason:
                index += 1
                continue
            last = self._active.pop()
            if last is not sequence:
                self.decoder.move(last.slot, sequence.slot, last.position)
                last.slot = sequence.slot
                self._active[index] = last
            self.decoder.release(len(self._active))
            self._finish(sequence, sequence.finish_reason)

    def _finish(self, sequence: _Sequence, reason: str) -> None:
        tail = sequence.assembler.finish() if reason != "cancelled" else ""
        if tail:
            sequence.generation._events.put(("text", tail))
        text = sequence.assembler.text
        json_value = None
        if sequence.matcher is not None and reason != "cancelled":
            try:
                json_value = json.loads(text)
            except ValueError:
                error = ApplicationError(
                    f"The answer ran out of tokens ({sequence.max_new_tokens}) before its JSON was complete; "
                    "raise max_new_tokens.",
                    code="incomplete_json",
                )
                sequence.generation._events.put(("error", error))
                return
        sequence.generation._events.put(
            (
                "done",
                TextResult(
                    text=text,
                    finish_reason=reason,
                    prompt_tokens=len(sequence.prompt),
                    completion_tokens=sequence.produced,
                    seed=int(sequence.request.seed),
                    seconds=time.perf_counter() - sequence.submitted,
                    json=json_value,
                    peak_batch=sequence.peak_batch,
                ),
            )
        )
