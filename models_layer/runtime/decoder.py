"""Decoders: the step functions the batching engine drives, one sequence slot per concurrent request.

`SlotDecoder` is the fast path for the open families (FAMILIES: Llama 1/2/3 with SmolLM2 among them,
Mistral, Qwen2/2.5, Qwen3, Gemma 2 and 3, Phi-3): one forward pass, written once, whose departures
from Llama's (biases, q/k norms, sandwich norms, GeGLU, soft-capping, sliding windows, scaled
embeddings, fused projections, RoPE scalings) come from the checkpoint's config. It runs
over the checkpoint's weights with a static KV cache of `slots` x `max_len` positions,
fused QKV and gate/up projections, and (on CPU) quantized weights: a decode step at batch 1 is
bound by its matrix products, so the layers keep 4 bits per weight in groups of 32 (the Q4_1 layout
of SmolLM2's GGUF file) and the output projection 8 (the file's Q8_0 embedding) where that is
faster than float32 ("auto" times both, kernels.py). One step reads each weight once for the
whole batch. Active sequences
always occupy slots 0..B-1 (the engine compacts them), so attention reads views, never gathers.
At batch 1 a step is also some 600 small operations, so queries and keys rotate together, in
three operations.

`GenericDecoder` serves any other causal LM through its own forward and a cache per sequence.
"""

import functools
import logging

import torch
import torch.nn.functional as F

from models_layer.runtime.families import fast_family
from models_layer.runtime.kernels import (
    QUANTIZE_CHOICES,
    Biased,
    DenseLinear,
    Int4Linear,
    Int8Linear,
    fastest_quantize,
)

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

    def close(self) -> None:
        """Free what the decoder holds outside Python's memory (llamacpp.LlamaCppDecoder), once the engine stops."""


def decoder_description(decoder: "Decoder") -> str:
    """Which decoder serves a model, in words (for its model card and the load log)."""
    if isinstance(decoder, SlotDecoder):
        weights = {
            "int4": "4-bit layers, 8-bit output",
            "int8": "8-bit weights",
            "none": str(decoder.dtype).split(".")[-1],
        }
        return f"the runtime's fast slot decoder for {decoder.family.name} (continuous batching; {weights[decoder.quantize]})"
    return "the runtime's generic decoder (transformers' forward, one sequence at a time)"


class SlotDecoder(Decoder):
    def __init__(self, model, *, slots: int, max_len: int, device: torch.device, quantize: str = "auto"):
        config = model.config
        self.family = fast_family(config)
        if self.family is None:
            raise ValueError(f"No fast decoder for {getattr(config, 'model_type', '?')}.")
        family = self.family
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
            q_size, kv_size = self.heads * self.head_dim, self.kv_heads * self.head_dim
            intermediate, hidden = config.intermediate_size, config.hidden_size
            quantize = fastest_quantize(
                ((q_size + 2 * kv_size, hidden), (hidden, q_size), (2 * intermediate, hidden), (hidden, intermediate))
            )
        self.quantize = quantize

        def linear(
            module, *, output: bool = False, weight: torch.Tensor | None = None, bias: torch.Tensor | None = None
        ):
            weight = (module.weight if weight is None else weight).detach()
            if bias is None and module is not None:
                bias = getattr(module, "bias", None)
            built = None
            if quantize == "int4" and not output and Int4Linear.fits(weight):
                try:
                    built = Int4Linear(weight)
                except RuntimeError:  # a shape torch's 4-bit packing refuses: that matrix stays int8
                    logger.info(
                        "A %s weight stays int8: the 4-bit kernel does not take it.", tuple(weight.shape), exc_info=True
                    )
            if built is None:
                built = Int8Linear(weight) if quantize in ("int4", "int8") else DenseLinear(weight.to(device), compute)
            return built if bias is None else Biased(built, bias.detach().to(device, compute))

        def fused(modules) -> tuple[torch.Tensor, torch.Tensor | None]:
            """One projection from several (q, k, v or gate, up); missing biases are zeros."""
            weight = torch.cat([m.weight.detach() for m in modules])
            if all(getattr(m, "bias", None) is None for m in modules):
                return weight, None
            return weight, torch.cat(
                [m.bias.detach() if m.bias is not None else torch.zeros(m.weight.shape[0]) for m in modules]
            )

        # RMS norm, x * w / sqrt(mean(x^2) + eps), is x * (w * sqrt(D)) / hypot(|x|, sqrt(D * eps)): three
        # operations instead of F.rms_norm's seven on a CPU. A GPU (bfloat16) keeps F.rms_norm's kernel.
        self._hypot_rms = compute == torch.float32
        hidden = config.hidden_size

        def norm(weight: torch.Tensor) -> torch.Tensor:
            weight = weight.detach().to(device, compute) + family.norm_offset
            return weight * weight.shape[-1] ** 0.5 if self._hypot_rms else weight

        inner = model.model
        self.embed = inner.embed_tokens.weight.detach().to(device, compute).contiguous()
        self.embed_scale = float(getattr(inner.embed_tokens, "scalar_embed_scale", 1.0))
        layer_types = getattr(config, "layer_types", None)
        window = getattr(config, "sliding_window", None)
        self.layers = []
        for index, layer in enumerate(inner.layers):
            attn, mlp = layer.self_attn, layer.mlp
            qkv = (
                (attn.qkv_proj.weight.detach(), getattr(attn.qkv_proj, "bias", None))
                if hasattr(attn, "qkv_proj")
                else fused([attn.q_proj, attn.k_proj, attn.v_proj])
            )
            gate_up = (
                (mlp.gate_up_proj.weight.detach(), getattr(mlp.gate_up_proj, "bias", None))
                if hasattr(mlp, "gate_up_proj")
                else fused([mlp.gate_proj, mlp.up_proj])
            )
            layer_type = layer_types[index] if layer_types else "full_attention"
            sliding = layer_type == "sliding_attention" or (not layer_types and family.sliding_everywhere)
            entry = {
                "norm1": norm(layer.input_layernorm.weight),
                "qkv": linear(None, weight=qkv[0], bias=qkv[1]),
                "o": linear(attn.o_proj),
                "norm2": norm(layer.post_attention_layernorm.weight),
                "gate_up": linear(None, weight=gate_up[0], bias=gate_up[1]),
                "down": linear(mlp.down_proj),
                "window": int(window) if sliding and window else None,
                "rope": layer_type if layer_type in getattr(inner.rotary_emb, "layer_types", ()) else "default",
            }
            if hasattr(attn, "q_norm"):  # Qwen3, Gemma 3: each head's queries and keys are normalised
                entry["qk_norm"] = torch.cat(
                    [
                        norm(attn.q_norm.weight).expand(self.heads, -1),
                        norm(attn.k_norm.weight).expand(self.kv_heads, -1),
                    ]
                ).contiguous()
            if family.sandwich_norms:
                entry["norm_ff"] = norm(layer.pre_feedforward_layernorm.weight)
                entry["norm_ff_out"] = norm(layer.post_feedforward_layernorm.weight)
            self.layers.append(entry)
        self.norm = norm(inner.norm.weight)
        self.lm_head = linear(model.lm_head, output=True)
        self.intermediate = gate_up[0].shape[0] // 2
        self._activation = F.silu if family.activation == "silu" else functools.partial(F.gelu, approximate="tanh")
        scalar = getattr(config, "query_pre_attn_scalar", None)
        self.scale = scalar**-0.5 if scalar else None  # None: SDPA's own 1 / sqrt(head_dim)
        self.attn_softcap = getattr(config, "attn_logit_softcapping", None)
        self.final_softcap = getattr(config, "final_logit_softcapping", None)
        self._rms_floors = {
            size: torch.tensor((size * self.eps) ** 0.5, device=device, dtype=compute)
            for size in (hidden, self.head_dim)
        }

        # RoPE tables from the checkpoint's own rotary module, so every scaling it knows (Llama 3's,
        # YaRN, Phi-3's long RoPE) is honoured; Gemma 3 has one table for local and one for global layers.
        rotary = inner.rotary_emb
        probe = torch.zeros(1, device=device, dtype=torch.float32)
        positions = torch.arange(self.max_len, device=device).unsqueeze(0)
        rotary = rotary.to(device)
        self.rope = {}
        for name in {entry["rope"] for entry in self.layers}:
            cos, sin = rotary(probe, positions, name) if name != "default" else rotary(probe, positions)
            cos, sin = cos[0].float(), sin[0].float()
            # rotate_half(x) * sin == roll(x, half) * (sin with its first half negated): see _rotate.
            half = cos.shape[-1] // 2
            sign = torch.cat([-torch.ones(half, device=device), torch.ones(half, device=device)])
            self.rope[name] = (cos.to(compute), (sin * sign).to(compute))
        self.rotary_dim = next(iter(self.rope.values()))[0].shape[-1]  # Phi-3's partial rotary: fewer than head_dim

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
            norms = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
            return torch.div(x, torch.hypot(norms, self._rms_floors[x.shape[-1]])).mul_(weight)
        if weight.dim() == 1:
            return F.rms_norm(x, (x.shape[-1],), weight, self.eps)
        return F.rms_norm(x, (x.shape[-1],), None, self.eps) * weight  # per-head weights (q/k norms)

    def _rotate(self, x: torch.Tensor, cos: torch.Tensor, signed_sin: torch.Tensor) -> torch.Tensor:
        """Rotary embedding, x * cos + rotate_half(x) * sin, in three operations (on the first
        rotary_dim features of each head; the rest pass through)."""
        if self.rotary_dim == x.shape[-1]:
            return torch.addcmul(x * cos, x.roll(x.shape[-1] // 2, dims=-1), signed_sin)
        part, rest = x[..., : self.rotary_dim], x[..., self.rotary_dim :]
        return torch.cat(
            [torch.addcmul(part * cos, part.roll(self.rotary_dim // 2, dims=-1), signed_sin), rest], dim=-1
        )

    def _attention(self, q, keys, values, mask, causal: bool) -> torch.Tensor:
        if self.attn_softcap is None:
            return F.scaled_dot_product_attention(
                q, keys, values, attn_mask=mask, is_causal=causal and mask is None, scale=self.scale, enable_gqa=True
            )
        # Soft-capped scores (Gemma 2): SDPA has no such option, so attention is written out.
        groups = self.heads // self.kv_heads
        keys, values = keys.repeat_interleave(groups, dim=1), values.repeat_interleave(groups, dim=1)
        scores = q @ keys.transpose(-1, -2) * (self.scale or self.head_dim**-0.5)
        scores = torch.tanh(scores / self.attn_softcap) * self.attn_softcap
        if causal and mask is None:
            steps = q.shape[-2]
            mask = torch.ones(steps, keys.shape[-2], dtype=torch.bool, device=q.device).tril(keys.shape[-2] - steps)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return torch.softmax(scores, dim=-1) @ values

    def _layers(self, x: torch.Tensor, rope, write, attend) -> torch.Tensor:
        """x: [B, T, hidden]; rope[name] = (cos, sin) broadcasting over [B, T, heads, head_dim].
        `write(index, k, v)` stores keys and values; `attend(index, layer, q)` reads them."""
        batch, steps, _ = x.shape
        rotated = self.q_size + self.kv_size
        for index, layer in enumerate(self.layers):
            h = self._rms(x, layer["norm1"])
            qkv = layer["qkv"](h.view(batch * steps, -1)).view(batch, steps, -1)
            # Queries and keys are normalised and rotated as one tensor: they are neighbours in the fused projection.
            qk = qkv[..., :rotated].view(batch, steps, self.heads + self.kv_heads, self.head_dim)
            if "qk_norm" in layer:
                qk = self._rms(qk, layer["qk_norm"])
            qk = self._rotate(qk, *rope[layer["rope"]])
            q, k = (part.transpose(1, 2) for part in qk.split([self.heads, self.kv_heads], dim=2))
            v = qkv[..., rotated:].view(batch, steps, self.kv_heads, self.head_dim).transpose(1, 2)
            write(index, k, v)
            out = attend(index, layer, q).transpose(1, 2).reshape(batch * steps, self.q_size)
            out = layer["o"](out).view(batch, steps, -1)
            if "norm_ff" in layer:  # Gemma's sandwich: norm the attention's output, and the MLP's in and out
                x = x + self._rms(out, layer["norm2"])
                h = self._rms(x, layer["norm_ff"]).view(batch * steps, -1)
            else:
                x = x + out
                h = self._rms(x, layer["norm2"]).view(batch * steps, -1)
            gate, up = layer["gate_up"](h).split([self.intermediate, self.intermediate], dim=-1)
            out = layer["down"](self._activation(gate) * up).view(batch, steps, -1)
            x = x + (self._rms(out, layer["norm_ff_out"]) if "norm_ff_out" in layer else out)
        return x

    def _embed(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed[tokens]
        return x * self.embed_scale if self.embed_scale != 1.0 else x

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.lm_head(self._rms(x, self.norm)).float()
        if self.final_softcap:
            logits = torch.tanh(logits / self.final_softcap) * self.final_softcap
        return logits

    @torch.inference_mode()
    def prefill(self, slot: int, ids: list[int]) -> torch.Tensor:
        self._grow(slot + 1)
        length = len(ids)
        tokens = torch.tensor(ids, device=self.device)
        x = self._embed(tokens).unsqueeze(0)
        rope = {
            name: (cos[:length].view(1, length, 1, -1), sin[:length].view(1, length, 1, -1))
            for name, (cos, sin) in self.rope.items()
        }
        masks = {}

        def window_mask(window: int):  # key j is seen from position i when i - window < j <= i
            if window not in masks:
                rows, columns = self.positions[:length].unsqueeze(1), self.positions[:length].unsqueeze(0)
                masks[window] = ((columns <= rows) & (columns > rows - window)).view(1, 1, length, length)
            return masks[window]

        def write(index, k, v):
            self.k_cache[index, slot, :, :length] = k[0]
            self.v_cache[index, slot, :, :length] = v[0]

        def attend(index, layer, q):
            keys = self.k_cache[index, slot : slot + 1, :, :length]
            values = self.v_cache[index, slot : slot + 1, :, :length]
            window = layer["window"]
            mask = window_mask(window) if window is not None and window < length else None
            return self._attention(q, keys, values, mask, causal=True)

        x = self._layers(x, rope, write, attend)
        return self._logits(x[0, -1:])[0]

    @torch.inference_mode()
    def decode(self, tokens: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        batch = tokens.shape[0]
        tokens, positions = tokens.to(self.device), positions.to(self.device)
        span = int(positions.max()) + 1
        x = self._embed(tokens).unsqueeze(1)
        rope = {
            name: (cos[positions].view(batch, 1, 1, -1), sin[positions].view(batch, 1, 1, -1))
            for name, (cos, sin) in self.rope.items()
        }
        # Each row sees its own positions 0..p; the rest of the span belongs to longer neighbours. A
        # lone sequence sees the whole span, and attention without a mask takes a faster kernel.
        seen = self.positions[:span].unsqueeze(0) <= positions.unsqueeze(1)
        masks = {None: None if batch == 1 else seen.view(batch, 1, 1, span)}

        def mask_for(window):
            if window not in masks:  # a sliding window also hides what lies window or more behind
                masks[window] = (seen & (self.positions[:span].unsqueeze(0) > (positions - window).unsqueeze(1))).view(
                    batch, 1, 1, span
                )
            return masks[window]

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

        def attend(index, layer, q):
            keys = self.k_cache[index, :batch, :, :span]
            values = self.v_cache[index, :batch, :, :span]
            window = layer["window"] if layer["window"] is not None and layer["window"] < span else None
            return self._attention(q, keys, values, mask_for(window), causal=False)

        x = self._layers(x, rope, write, attend)
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
                past_key_values=self.caches[slot],
                use_cache=True,
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
    """`quantize` (the slot decoder on a CPU): "int4" layers with an int8 output projection, "int8"
    everywhere, "none" (float32), or "auto": int4 where this CPU runs it faster than float32."""
    if fast_family(model.config) is not None:
        return SlotDecoder(model, slots=slots, max_len=max_len, device=device, quantize=quantize)
    logger.info("No fast decoder for %s; using the generic one.", type(model).__name__)
    return GenericDecoder(model, slots=slots, max_len=max_len, device=device)
