"""Decoders: the step functions the batching engine drives, one sequence slot per concurrent request.

`LlamaSlotDecoder` is the fast path for Llama-family checkpoints (SmolLM2 among them): its own
forward pass over the checkpoint's weights with a static KV cache of `slots` x `max_len` positions,
fused QKV and gate/up projections, and (on CPU) quantized weights: a decode step at batch 1 is
bound by the bytes of weight it reads, so the layers keep 4 bits per weight in groups of 32 (the
Q4_1 layout of SmolLM2's GGUF file) and the output projection 8 (the file's Q8_0 embedding), an
eighth and a quarter of float32. One step reads each weight once for the whole batch. Active sequences
always occupy slots 0..B-1 (the engine compacts them), so attention reads views, never gathers.
At batch 1 a step is also some 600 small operations, so queries and keys rotate together, in
three operations.

`GenericDecoder` serves any other causal LM through its own forward and a cache per sequence.
"""
import functools
import logging
import time

import torch
import torch.nn.functional as F

logger = logging.getLogger(__name__)


class Decoder:
    """What the engine needs from a model: prefill one sequence into a slot, decode slots 0..B-1."""

    slots: int
    max_len: int
    vocab_size: int
    memory_bytes: int

    def prefill(self, slot: int, ids: list[int]) -> torch.Tensor:
        """Run the prompt into `slot`; returns the logits of the next token, shape [vocab]."""
        raise NotImplementedError

    def decode(self, tokens: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """One step for slots 0..B-1: token b goes at position b; returns logits [B, vocab]."""
        raise NotImplementedError

    def move(self, source: int, target: int, length: int) -> None:
        """Move a sequence's cache from one slot to another (compaction after a sequence ends)."""
        raise NotImplementedError

    def release(self, slot: int) -> None:
        """Forget what a slot holds."""


class _Int8Linear:
    """Weight-only int8 with a scale per output row: y = (x @ w_int8.T) * scale. The activations go in
    as bfloat16: torch's CPU kernel for bfloat16 activations is vectorised (AVX-512) and about six
    times faster than its float32 one, which is slower than a float32 matmul."""

    def __init__(self, weight: torch.Tensor):
        weight = weight.float()
        scale = weight.abs().amax(dim=1).clamp(min=1e-8) / 127.0
        self.weight = torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8).contiguous()
        self.scale = scale.to(torch.bfloat16).contiguous()
        self.bytes = self.weight.numel() + self.scale.numel() * 2

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch._weight_int8pack_mm(x.to(torch.bfloat16), self.weight, self.scale).to(x.dtype)


class _Int4Linear:
    """4-bit weights in groups of 32 inputs, each group with its own scale and minimum (GGUF's Q4_1,
    so SmolLM2's de-quantized weights quantize back to nearly the file's own values): torch's CPU
    kernel for them (bfloat16 activations) reads half the bytes of the int8 one."""

    GROUP = 32

    def __init__(self, weight: torch.Tensor):
        rows, columns = weight.shape
        groups = weight.float().view(rows, columns // self.GROUP, self.GROUP)
        low, high = groups.amin(-1, keepdim=True), groups.amax(-1, keepdim=True)
        scale = ((high - low) / 15).clamp(min=1e-8)
        levels = torch.round((groups - low) / scale).clamp(0, 15).to(torch.int32).view(rows, columns)
        self.weight = torch._convert_weight_to_int4pack_for_cpu(levels, 2)
        # The kernel computes (level - 8) * scale + zero.
        self.scales = torch.cat([scale, low + 8 * scale], dim=-1).transpose(0, 1).contiguous().to(torch.bfloat16)
        self.bytes = self.weight.numel() * self.weight.element_size() + self.scales.numel() * 2

    @classmethod
    def fits(cls, weight: torch.Tensor) -> bool:
        return weight.dim() == 2 and weight.shape[1] % cls.GROUP == 0 and weight.shape[0] % 16 == 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch._weight_int4pack_mm_for_cpu(x.to(torch.bfloat16), self.weight, self.GROUP, self.scales).to(x.dtype)


class _DenseLinear:
    def __init__(self, weight: torch.Tensor, dtype: torch.dtype):
        self.weight = weight.to(dtype).contiguous()
        self.bytes = self.weight.numel() * self.weight.element_size()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight)


QUANTIZE_CHOICES = ("auto", "int4", "int8", "none")


@functools.cache
def quantized_is_faster(rows: int, columns: int) -> bool:
    """Whether the 4-bit matmul beats float32 for one decode row of this shape on this CPU, timed here
    (some milliseconds, once per shape): it depends on the instruction set (AVX-512 BF16 or not)."""
    weight = torch.randn(rows, columns)
    x = torch.randn(1, columns)
    try:
        quantized, dense = _Int4Linear(weight), _DenseLinear(weight, torch.float32)
    except RuntimeError:  # no 4-bit kernel in this torch build
        logger.info("torch has no 4-bit CPU matmul here; decoding in float32.", exc_info=True)
        return False

    def best(linear) -> float:
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(10):
                linear(x)
            timings.append(time.perf_counter() - started)
        return min(timings)

    with torch.inference_mode():
        quantized(x), dense(x)
        return best(quantized) < best(dense)


def llama_supported(config) -> bool:
    return (
        getattr(config, "model_type", "") == "llama"
        and not getattr(config, "attention_bias", False)
        and not getattr(config, "mlp_bias", False)
        and getattr(config, "hidden_act", "silu") == "silu"
    )


class LlamaSlotDecoder(Decoder):
    def __init__(self, model, *, slots: int, max_len: int, device: torch.device, quantize: str = "auto"):
        config = model.config
        self.device = device
        self.slots = slots
        self.max_len = min(max_len, getattr(config, "max_position_embeddings", max_len))
        self.vocab_size = config.vocab_size
        self.heads = config.num_attention_heads
        self.kv_heads = getattr(config, "num_key_value_heads", None) or self.heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.eps = config.rms_norm_eps
        self.dtype = torch.float32 if device.type == "cpu" else torch.bfloat16
        compute = self.dtype

        if quantize not in QUANTIZE_CHOICES:
            raise ValueError(f"quantize must be one of {', '.join(QUANTIZE_CHOICES)}, not {quantize!r}.")
        if device.type != "cpu":
            quantize = "none"  # on a GPU, bfloat16 tensor cores win
        elif quantize == "auto":
            quantize = "int4" if quantized_is_faster(2 * config.intermediate_size, config.hidden_size) else "none"
        self.quantize = quantize

        def linear(weight: torch.Tensor, *, output: bool = False):
            if quantize == "int4" and not output and _Int4Linear.fits(weight):
                try:
                    return _Int4Linear(weight)
                except RuntimeError:  # a shape torch's 4-bit packing refuses: that matrix stays int8
                    logger.info("A %s weight stays int8: the 4-bit kernel does not take it.", tuple(weight.shape), exc_info=True)
            if quantize in ("int4", "int8"):
                return _Int8Linear(weight)
            return _DenseLinear(weight.to(device), compute)

        # RMS norm, x * w / sqrt(mean(x^2) + eps), is x * (w * sqrt(D)) / hypot(|x|, sqrt(D * eps)): three
        # operations instead of F.rms_norm's seven on a CPU. A GPU (bfloat16) keeps F.rms_norm's kernel.
        self._hypot_rms = compute == torch.float32
        hidden = config.hidden_size
        self._rms_floor = torch.tensor((hidden * self.eps) ** 0.5, device=device, dtype=compute)

        def norm(weight: torch.Tensor) -> torch.Tensor:
            weight = weight.detach().to(device, compute)
            return weight * hidden**0.5 if self._hypot_rms else weight

        inner = model.model
        self.embed = inner.embed_tokens.weight.detach().to(device, compute).contiguous()
        self.layers = []
        for layer in inner.layers:
            attn, mlp = layer.self_attn, layer.mlp
            self.layers.append({
                "norm1": norm(layer.input_layernorm.weight),
                "qkv": linear(torch.cat([attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight]).detach()),
                "o": linear(attn.o_proj.weight.detach()),
                "norm2": norm(layer.post_attention_layernorm.weight),
                "gate_up": linear(torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight]).detach()),
                "down": linear(mlp.down_proj.weight.detach()),
            })
        self.norm = norm(inner.norm.weight)
        self.lm_head = linear(model.lm_head.weight.detach(), output=True)
        self.intermediate = config.intermediate_size

        rotary = inner.rotary_emb
        inv_freq = rotary.inv_freq.detach().float().to(device)
        scaling = float(getattr(rotary, "attention_scaling", 1.0))
        angles = torch.outer(torch.arange(self.max_len, device=device, dtype=torch.float32), inv_freq)
        angles = torch.cat([angles, angles], dim=-1)
        self.cos = (angles.cos() * scaling).to(compute)
        # rotate_half(x) * sin == roll(x, half) * (sin with its first half negated): see _rotate.
        half = angles.shape[-1] // 2
        sign = torch.cat([-torch.ones(half, device=device), torch.ones(half, device=device)])
        self.sin = (angles.sin() * scaling * sign).to(compute)

        # The KV cache grows by doubling up to `slots`, so a process that only ever serves one
        # request at a time (an application's own job) never holds room for sixteen.
        self.k_cache = self.v_cache = torch.zeros(0)
        self._grow(1)
        self.positions = torch.arange(self.max_len, device=device)
        weight_bytes = sum(part.bytes for layer in self.layers for part in layer.values() if hasattr(part, "bytes"))
        weight_bytes += self.lm_head.bytes + self.embed.numel() * self.embed.element_size()
        slot_bytes = 2 * len(self.layers) * self.kv_heads * self.max_len * self.head_dim * self.embed.element_size()
        self.memory_bytes = weight_bytes + slots * slot_bytes
        self.q_size = self.heads * self.head_dim
        self.kv_size = self.kv_heads * self.head_dim

    def _grow(self, needed: int) -> None:
        have = self.k_cache.shape[1] if self.k_cache.dim() == 5 else 0
        if needed <= have:
            return
        size = min(self.slots, max(needed, 2 * have))
        shape = (len(self.layers), size, self.kv_heads, self.max_len, self.head_dim)
        k_cache = torch.zeros(shape, dtype=self.embed.dtype, device=self.device)
        v_cache = torch.zeros(shape, dtype=self.embed.dtype, device=self.device)
        if have:
            k_cache[:, :have], v_cache[:, :have] = self.k_cache, self.v_cache
        self.k_cache, self.v_cache = k_cache, v_cache

    def _rms(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        if self._hypot_rms:
            return torch.div(x, torch.hypot(torch.linalg.vector_norm(x, dim=-1, keepdim=True), self._rms_floor)).mul_(weight)
        return F.rms_norm(x, (x.shape[-1],), weight, self.eps)

    @staticmethod
    def _rotate(x: torch.Tensor, cos: torch.Tensor, signed_sin: torch.Tensor) -> torch.Tensor:
        """Rotary embedding, x * cos + rotate_half(x) * sin, in three operations."""
        return torch.addcmul(x * cos, x.roll(x.shape[-1] // 2, dims=-1), signed_sin)

    def _layers(self, x: torch.Tensor, cos, sin, write, attend) -> torch.Tensor:
        """x: [B, T, hidden]; cos and sin broadcast over [B, T, heads, head_dim]. `write(index, k, v)`
        stores keys and values; `attend(index, q)` reads them."""
        batch, steps, _ = x.shape
        rotated = self.q_size + self.kv_size
        for index, layer in enumerate(self.layers):
            h = self._rms(x, layer["norm1"])
            qkv = layer["qkv"](h.view(batch * steps, -1)).view(batch, steps, -1)
            # Queries and keys rotate as one tensor: they are neighbours in the fused projection's output.
            qk = self._rotate(qkv[..., :rotated].view(batch, steps, self.heads + self.kv_heads, self.head_dim), cos, sin)
            q, k = (part.transpose(1, 2) for part in qk.split([self.heads, self.kv_heads], dim=2))
            v = qkv[..., rotated:].view(batch, steps, self.kv_heads, self.head_dim).transpose(1, 2)
            write(index, k, v)
            out = attend(index, q).transpose(1, 2).reshape(batch * steps, self.q_size)
            x = x + layer["o"](out).view(batch, steps, -1)
            h = self._rms(x, layer["norm2"]).view(batch * steps, -1)
            gate, up = layer["gate_up"](h).split([self.intermediate, self.intermediate], dim=-1)
            x = x + layer["down"](F.silu(gate) * up).view(batch, steps, -1)
        return x

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.lm_head(self._rms(x, self.norm)).float()

    @torch.inference_mode()
    def prefill(self, slot: int, ids: list[int]) -> torch.Tensor:
        self._grow(slot + 1)
        length = len(ids)
        tokens = torch.tensor(ids, device=self.device)
        x = self.embed[tokens].unsqueeze(0)
        cos, sin = self.cos[:length].view(1, length, 1, -1), self.sin[:length].view(1, length, 1, -1)

        def write(index, k, v):
            self.k_cache[index, slot, :, :length] = k[0]
            self.v_cache[index, slot, :, :length] = v[0]

        def attend(index, q):
            keys = self.k_cache[index, slot : slot + 1, :, :length]
            values = self.v_cache[index, slot : slot + 1, :, :length]
            return F.scaled_dot_product_attention(q, keys, values, is_causal=True, enable_gqa=True)

        x = self._layers(x, cos, sin, write, attend)
        return self._logits(x[0, -1:])[0]

    @torch.inference_mode()
    def decode(self, tokens: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        batch = tokens.shape[0]
        tokens, positions = tokens.to(self.device), positions.to(self.device)
        span = int(positions.max()) + 1
        x = self.embed[tokens].unsqueeze(1)
        cos, sin = self.cos[positions].view(batch, 1, 1, -1), self.sin[positions].view(batch, 1, 1, -1)
        # Each row sees its own positions 0..p; the rest of the span belongs to longer neighbours. A
        # lone sequence sees the whole span, and attention without a mask takes a faster kernel.
        mask = None if batch == 1 else (self.positions[:span].unsqueeze(0) <= positions.unsqueeze(1)).view(batch, 1, 1, span)

        if batch == 1:  # a plain slice assignment, a third of the indexed one's cost
            at = int(positions[0])

            def write(index, k, v):
                self.k_cache[index, 0, :, at] = k[0, :, 0]
                self.v_cache[index, 0, :, at] = v[0, :, 0]
        else:
            rows = torch.arange(batch, device=self.device)

            def write(index, k, v):
                self.k_cache[index, rows, :, positions] = k[:, :, 0]
                self.v_cache[index, rows, :, positions] = v[:, :, 0]

        def attend(index, q):
            keys = self.k_cache[index, :batch, :, :span]
            values = self.v_cache[index, :batch, :, :span]
            return F.scaled_dot_product_attention(q, keys, values, attn_mask=mask, enable_gqa=True)

        x = self._layers(x, cos, sin, write, attend)
        return self._logits(x[:, 0])

    @torch.inference_mode()
    def move(self, source: int, target: int, length: int) -> None:
        self.k_cache[:, target, :, :length] = self.k_cache[:, source, :, :length]
        self.v_cache[:, target, :, :length] = self.v_cache[:, source, :, :length]


class GenericDecoder(Decoder):
    """Any transformers causal LM: a cache per slot, stepped one sequence at a time."""

    def __init__(self, model, *, slots: int, max_len: int, device: torch.device):
        self.model = model
        self.device = device
        self.slots = slots
        self.max_len = min(max_len, getattr(model.config, "max_position_embeddings", None) or max_len)
        self.vocab_size = model.config.vocab_size
        self.caches: list = [None] * slots
        self.memory_bytes = sum(p.numel() * p.element_size() for p in model.parameters())

    @torch.inference_mode()
    def prefill(self, slot: int, ids: list[int]) -> torch.Tensor:
        out = self.model(input_ids=torch.tensor([ids], device=self.device), use_cache=True)
        self.caches[slot] = out.past_key_values
        return out.logits[0, -1].float()

    @torch.inference_mode()
    def decode(self, tokens: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        rows = []
        for slot in range(tokens.shape[0]):
            out = self.model(
                input_ids=tokens[slot : slot + 1].view(1, 1).to(self.device),
                past_key_values=self.caches[slot], use_cache=True,
            )
            self.caches[slot] = out.past_key_values
            rows.append(out.logits[0, -1].float())
        return torch.stack(rows)

    def move(self, source: int, target: int, length: int) -> None:
        self.caches[target] = self.caches[source]
        self.caches[source] = None

    def release(self, slot: int) -> None:
        self.caches[slot] = None


def make_decoder(model, *, slots: int, max_len: int, device: torch.device, quantize: str = "auto") -> Decoder:
    """`quantize` (the Llama decoder on a CPU): "int4" layers with an int8 output projection, "int8"
    everywhere, "none" (float32), or "auto": int4 where this CPU runs it faster than float32."""
    if llama_supported(model.config):
        return LlamaSlotDecoder(model, slots=slots, max_len=max_len, device=device, quantize=quantize)
    logger.info("No fast decoder for %s; using the generic one.", type(model).__name__)
    return GenericDecoder(model, slots=slots, max_len=max_len, device=device)

