"""llama.cpp as a decoder of the batching engine: GGUF files on a CPU, where it measures faster than torch.

Measured on both kinds of CPU (bench/generation.py prints each decoder against llama.cpp direct, with
the CPU's vector extensions; bench/README): with AVX2 only, the runtime's own int4 kernels reach 0.5
to 0.65 of llama.cpp's speed on the same GGUF; with AVX-512 BF16 they come close on SmolLM2 (0.84 to
0.89) but fall behind on a Qwen2.5-0.5B-shaped model (71 against 121 tokens/s, single stream), and the
llama.cpp decoder leads on both. So `decoder_choice` picks llama.cpp for a GGUF on a CPU wherever the
installed llama-cpp-python runs, unless AIGC_INFERENCE_GGUF_ENGINE says otherwise. llama-cpp-python
builds from source where no wheel fits; on a machine that had no compiler at install time it is
missing, and the torch runtime serves the file (the model card says which decoder serves it).

`LlamaCppDecoder` speaks the engine's Decoder interface (decoder.py) through llama.cpp's low-level
batch API: each engine slot is a llama.cpp sequence, a prompt is one batch of its tokens, and a decode
step is one `llama_decode` with a token of every active sequence (each call on as many threads as
`ThreadTuner` has seen run it fastest). So requests stay continuously batched by the runtime's
scheduler (engine.py), and sampling, seeds, stop strings, penalties, token counts and
JSON schemas (xgrammar's masks over these logits) work as with every other decoder: one behaviour
whichever decoder serves the file.

This module is the one door to llama-cpp-python's ctypes API (written for 0.3.36: `llama_memory_*`,
`kv_unified`, `llama_model_load_from_file`); tests/models_layer/test_runtime_llamacpp.py fails naming
it when that API moves. Nothing here imports torch or llama_cpp at import time: the web process reads
`served_by` for model cards.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from aigc_platform.core.errors import ApplicationError

logger = logging.getLogger(__name__)

ENGINE_CHOICES = ("auto", "llama.cpp", "torch")
# A prompt goes into llama.cpp in batches of at most this many tokens (its n_batch).
PREFILL_BATCH = 512

# llama.cpp's threads spin at each of a step's barriers. On idle cores all of them win, the more so the
# larger the batch (SmolLM2 on 2 idle Zen 5 cores, per step: batch 1, 6.8 ms with 2 threads and 9.2 with
# 1; batch 16, 54 and 93 ms); on cores that other processes share, one thread can beat two many times
# over (load average 8: 17.8 tokens/s with 1 thread, 1.5 with 2). Which count wins also changes while a
# model is served, as other work comes and goes. So `ThreadTuner` keeps, for each size of call (powers
# of two), a moving average of each count's seconds per call, runs each call on the faster one, and
# every THREAD_TRY_EVERY calls of a size tries the other count for THREAD_TRY_CALLS calls (the first
# call after a change is not timed: the team of threads changes with it).
THREAD_TRY_EVERY = 64
THREAD_TRY_CALLS = 3
THREAD_AVERAGE_WEIGHT = 0.3  # of the newest timing in the moving average


class ThreadTuner:
    """Which of `counts` threads runs a llama.cpp call of a given size (tokens) faster, learnt from the
    calls' own timings and kept up to date."""

    def __init__(self, counts: tuple[int, ...]):
        self.counts = tuple(dict.fromkeys(counts))
        self.seconds: dict[tuple[int, int], float] = {}  # (size class, threads) -> average seconds a call
        self.calls: dict[int, int] = {}  # size class -> calls since its last try
        self.trying: tuple[int, int, int] | None = None  # (size class, threads, calls left)

    @staticmethod
    def size_class(tokens: int) -> int:
        return max(1, tokens).bit_length()

    def pick(self, tokens: int) -> int:
        """The thread count for the next call of `tokens` tokens."""
        size = self.size_class(tokens)
        if self.trying and self.trying[0] == size:
            return self.trying[1]
        untimed = [count for count in self.counts if (size, count) not in self.seconds]
        best = self.best(size)
        if untimed:
            chosen = untimed[0]
        elif len(self.counts) > 1 and self.calls.get(size, 0) >= THREAD_TRY_EVERY:
            chosen = next(count for count in self.counts if count != best)
        else:
            return best
        self.trying = (size, chosen, THREAD_TRY_CALLS)
        self.calls[size] = 0
        return chosen

    def best(self, size: int) -> int:
        timed = [(self.seconds[(size, count)], count) for count in self.counts if (size, count) in self.seconds]
        return min(timed)[1] if timed else self.counts[0]

    def record(self, tokens: int, threads: int, seconds: float, *, switched: bool) -> None:
        """A call of `tokens` tokens took `seconds` on `threads` threads (`switched`: the count had just changed)."""
        size = self.size_class(tokens)
        self.calls[size] = self.calls.get(size, 0) + 1
        if self.trying and self.trying[0] == size and self.trying[1] == threads:
            left = self.trying[2] - 1
            self.trying = (size, threads, left) if left > 0 else None
        if switched:
            return
        key = (size, threads)
        previous = self.seconds.get(key)
        self.seconds[key] = seconds if previous is None else previous + THREAD_AVERAGE_WEIGHT * (seconds - previous)


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags, from /proc/cpuinfo (empty where it cannot be read)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith(("flags", "Features")):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def llama_cpp_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


# llama.cpp's names for the instruction sets it was compiled with (llama_print_system_info) -> /proc/cpuinfo's.
BUILD_FEATURE_FLAGS = {
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "AVX": "avx",
    "AVX2": "avx2",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
    "AVX_VNNI": "avx_vnni",
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
    "AMX_INT8": "amx_int8",
}


@functools.cache
def llama_cpp_build() -> tuple[frozenset[str], str]:
    """The instruction sets the installed llama-cpp-python was compiled for, and why it does not load
    here ("" when it does).

    It builds with -march=native; a wheel built on one CPU and reused on another (pip's wheel cache on a
    disk that moved hosts) dies with SIGILL. So it is probed once in a child process, never in ours."""
    probe = "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"
    try:
        answer = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return frozenset(), f"loading it failed ({exc})"
    if answer.returncode != 0:
        return frozenset(), f"loading it failed (exit status {answer.returncode})"
    # "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | ... | AVX512 = 1 | LLAMAFILE = 1 | ..."
    compiled = set()
    for part in answer.stdout.split("|"):
        name, _, value = part.rpartition("=")
        if value.strip() == "1":
            compiled.add(name.split(":")[-1].strip())
    return frozenset(BUILD_FEATURE_FLAGS[name] for name in compiled if name in BUILD_FEATURE_FLAGS), ""


@dataclass(frozen=True)
class DecoderChoice:
    engine: str  # "llama.cpp" or "torch"
    reason: str


def decoder_choice(
    *,
    format: str,
    device_type: str,
    setting: str,
    llama_cpp_installed: bool,
    flags: frozenset[str],
    built_for: frozenset[str] = frozenset(),
    unusable: str = "",
) -> DecoderChoice:
    """Which decoder serves a text model, and why: llama.cpp or the torch runtime. `built_for`: the
    instruction sets the installed llama.cpp was compiled for; `unusable`: why it does not load here."""
    if setting not in ENGINE_CHOICES:
        raise ApplicationError(
            f"AIGC_INFERENCE_GGUF_ENGINE must be one of {', '.join(ENGINE_CHOICES)}, not {setting!r}.",
            code="invalid_setting",
        )
    if format != "gguf":
        return DecoderChoice("torch", "llama.cpp reads GGUF files only")
    if device_type != "cpu":
        return DecoderChoice("torch", "on a GPU the runtime decodes in bfloat16")
    if setting == "torch":
        return DecoderChoice("torch", "AIGC_INFERENCE_GGUF_ENGINE is torch")
    if not llama_cpp_installed:
        return DecoderChoice(
            "torch",
            "llama-cpp-python is not installed on this machine (it builds from source, and `make install` "
            "found no compiler); install it to serve GGUF files faster",
        )
    missing = sorted(built_for - flags) if flags else []
    if unusable or missing:
        why = unusable or f"it was compiled for instructions this CPU lacks ({', '.join(missing)})"
        return DecoderChoice(
            "torch", f"the installed llama-cpp-python cannot run on this CPU: {why}; reinstall it to build it here"
        )
    if setting == "llama.cpp":
        return DecoderChoice("llama.cpp", "AIGC_INFERENCE_GGUF_ENGINE is llama.cpp")
    return DecoderChoice(
        "llama.cpp",
        "on a CPU llama.cpp measured faster than the runtime's int4 kernels on GGUF (1.35 to 3 times with "
        "AVX2 only; 1.03 to 1.7 times with AVX-512 BF16)",
    )


def machine_choice(*, format: str, device_type: str = "cpu", setting: str | None = None) -> DecoderChoice:
    """`decoder_choice` with this machine's facts (the setting from Django's settings unless given)."""
    if setting is None:
        from django.conf import settings

        setting = settings.INFERENCE_GGUF_ENGINE
    installed = llama_cpp_installed()
    built_for, unusable = llama_cpp_build() if installed and format == "gguf" else (frozenset(), "")
    return decoder_choice(
        format=format,
        device_type=device_type,
        setting=setting,
        llama_cpp_installed=installed,
        flags=cpu_flags(),
        built_for=built_for,
        unusable=unusable,
    )


def llama_cpp_description() -> str:
    return "llama.cpp through llama-cpp-python (the file's own quantized weights; continuous batching in the runtime's slot scheduler)"


# The decoder ----------------------------------------------------------------------------------------

_backend_ready = False


def _llama_cpp():
    """llama_cpp, its backend initialised once per process and llama.cpp's own log (printed to stderr
    by llama-cpp-python, line by line as it loads) quiet below errors."""
    global _backend_ready
    import llama_cpp

    if not _backend_ready:
        logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
        llama_cpp.llama_backend_init()
        _backend_ready = True
    return llama_cpp


class LlamaCppDecoder:
    """The engine's Decoder interface (decoder.Decoder) over a llama.cpp context of `slots` sequences,
    each up to `max_len` tokens. Engine slots map to llama.cpp sequence ids; compaction swaps the map."""

    def __init__(self, path: Path, *, slots: int, max_len: int, threads: int):
        llama = _llama_cpp()
        self._llama = llama
        model_params = llama.llama_model_default_params()
        self._model = llama.llama_model_load_from_file(str(path).encode(), model_params)
        if not self._model:
            raise ApplicationError("llama.cpp could not load the GGUF file.", code="invalid_model")
        vocab = llama.llama_model_get_vocab(self._model)
        self.vocab_size = int(llama.llama_vocab_n_tokens(vocab))
        self.eos_ids = {int(t) for t in (llama.llama_vocab_eos(vocab), llama.llama_vocab_eot(vocab)) if t >= 0}
        self.slots = slots
        self.max_len = min(max_len, int(llama.llama_model_n_ctx_train(self._model)) or max_len)
        self.threads = threads
        params = llama.llama_context_default_params()
        # Each sequence has a KV cache of its own (kv_unified off): n_ctx is split evenly between them.
        params.n_ctx = slots * self.max_len
        params.n_seq_max = slots
        params.kv_unified = False
        params.n_batch = params.n_ubatch = max(PREFILL_BATCH, slots)
        params.n_threads = params.n_threads_batch = threads
        params.no_perf = True
        self._context = llama.llama_init_from_model(self._model, params)
        if not self._context:
            llama.llama_model_free(self._model)
            raise ApplicationError("llama.cpp could not make a context for the model.", code="invalid_model")
        self._memory = llama.llama_get_memory(self._context)
        self._batch_size = int(params.n_batch)
        self._batch = llama.llama_batch_init(self._batch_size, 0, 1)
        self._sequence = list(range(slots))  # engine slot -> llama.cpp sequence id
        layers, kv_heads = llama.llama_model_n_layer(self._model), llama.llama_model_n_head_kv(self._model)
        head_dim = llama.llama_model_n_embd(self._model) // max(1, llama.llama_model_n_head(self._model))
        kv_bytes = 2 * layers * kv_heads * head_dim * 2 * params.n_ctx  # keys and values in float16
        self.memory_bytes = int(llama.llama_model_size(self._model)) + kv_bytes
        self.tuner = ThreadTuner((threads, 1))
        self._threads_now = threads

    def _run(self, tokens: list[int], positions: list[int], sequences: list[int], outputs: list[bool]) -> None:
        threads = self.tuner.pick(len(tokens))
        switched = threads != self._threads_now
        if switched:
            self._llama.llama_set_n_threads(self._context, threads, threads)
            self._threads_now = threads
        batch = self._batch
        for index, (token, position, sequence, output) in enumerate(zip(tokens, positions, sequences, outputs)):
            batch.token[index] = token
            batch.pos[index] = position
            batch.n_seq_id[index] = 1
            batch.seq_id[index][0] = sequence
            batch.logits[index] = output
        batch.n_tokens = len(tokens)
        started = time.perf_counter()
        status = self._llama.llama_decode(self._context, batch)
        if status != 0:
            raise RuntimeError(f"llama_decode failed with status {status} for a batch of {len(tokens)} tokens.")
        self.tuner.record(len(tokens), threads, time.perf_counter() - started, switched=switched)

    def _logits(self, rows: int):
        import numpy
        import torch

        pointer = self._llama.llama_get_logits(self._context)
        array = numpy.ctypeslib.as_array(pointer, shape=(rows, self.vocab_size))
        return torch.from_numpy(array.copy())

    def prefill(self, slot: int, ids: list[int]):
        sequence = self._sequence[slot]
        self._llama.llama_memory_seq_rm(self._memory, sequence, -1, -1)
        for start in range(0, len(ids), self._batch_size):
            chunk = ids[start : start + self._batch_size]
            last = start + len(chunk) == len(ids)
            self._run(
                chunk,
                list(range(start, start + len(chunk))),
                [sequence] * len(chunk),
                [last and index == len(chunk) - 1 for index in range(len(chunk))],
            )
        return self._logits(1)[0]

    def decode(self, tokens, positions):
        count = int(tokens.shape[0])
        self._run(tokens.tolist(), positions.tolist(), self._sequence[:count], [True] * count)
        return self._logits(count)

    def move(self, source: int, target: int, length: int) -> None:
        self._sequence[source], self._sequence[target] = self._sequence[target], self._sequence[source]

    def release(self, slot: int) -> None:
        self._llama.llama_memory_seq_rm(self._memory, self._sequence[slot], -1, -1)

    def close(self) -> None:
        """Free the context and the weights (C memory that Python's collector does not see)."""
        if self._context:
            self._llama.llama_batch_free(self._batch)
            self._llama.llama_free(self._context)
            self._llama.llama_model_free(self._model)
            self._context = self._model = None


def decoder_threads() -> int:
    """llama.cpp's threads: the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_text_model(*, path: Path, sha256: str, parameters: dict, options, reason: str):
    """A TextModel whose batching engine steps a LlamaCppDecoder over the GGUF at `path`."""
    from models_layer.runtime.artifacts import tokenizer_from_gguf
    from models_layer.runtime.backends import TextModel, _eos_ids, refuse_unless_fits
    from models_layer.runtime.engine import BatchingEngine

    def build():  # in the engine's thread, like every decoder's
        # llama.cpp maps the file as it is (no float32 copy) and adds its KV cache (LlamaCppDecoder.memory_bytes).
        refuse_unless_fits(path=path, format="gguf", device=options.device, needed_bytes=path.stat().st_size)
        tokenizer = tokenizer_from_gguf(path, sha256)
        decoder = LlamaCppDecoder(
            path,
            slots=options.max_batch,
            max_len=int(parameters.get("max_context", options.max_context)),
            threads=decoder_threads(),
        )
        eos_ids = _eos_ids(tokenizer) | decoder.eos_ids
        return decoder, tokenizer, eos_ids

    engine = BatchingEngine(build=build, name=sha256[:12])
    logger.info("%s is served by %s: %s", sha256[:12], llama_cpp_description(), reason)
    return TextModel(engine=engine, memory_bytes=engine.decoder.memory_bytes)
