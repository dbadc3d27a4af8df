"""Decoders: the step functions the batching engine drives, one sequence slot per concurrent request.

`LlamaSlotDecoder` is the fast path for Llama-family checkpoints (SmolLM2 among them): its own
forward pass over the checkpoint's weights with a static KV cache of `slots` x `max_len` positions,
fused QKV and gate/up projections, and (on CPU) int8 weight-only matmuls, so one decode step reads
each weight once for the whole batch and a quarter as many bytes as float32. Active sequences
always occupy slots 0..B-1 (the engine compacts them), so attention reads views, never gathers.

`GenericDecoder` serves any other causal LM through its own forward and a cache per sequence.
"""
import logging

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
    """Weight-only int8 with a scale per output row: y = (x @ w_int8.T) * scale."""

    def __init__(self, weight: torch.Tensor):
        weight = weight.float()
        scale = weight.abs().amax(dim=1).clamp(min=1e-8) / 127.0
        self.weight = torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8).contiguous()
        self.scale = scale.contiguous()
        self.bytes = self.weight.numel() + self.scale.numel() * 4

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch._weight_int8pack_mm(x, self.weight, self.scale)


class _DenseLinear:
    def __init__(self, weight: torch.Tensor, dtype: torch.dtype):
        self.weight = weight.to(dtype).contiguous()
        self.bytes = self.weight.numel() * self.weight.element_size()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight)


def llama_supported(config) -> bool:
    return (
        getattr(config, "model_type", "") == "llama"
        and not getattr(config, "attention_bias", False)
        and not getattr(config, "mlp_bias", False)
        and getattr(config, "hidden_act", "silu") == "silu"
    )


class LlamaSlotDecoder(Decoder):
    def __init__(self, model, *, slots: int, max_len: int, device: torch.device, int8: bool):
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

        def linear(weight: torch.Tensor):
            # int8 weight-only is the CPU decode path (memory-bound); on a GPU bf16 tensor cores win.
            return _Int8Linear(weight) if int8 and device.type == "cpu" else _DenseLinear(weight.to(device), compute)

        inner = model.model
        self.embed = inner.embed_tokens.weight.detach().to(device, compute).contiguous()
        self.layers = []
        for layer in inner.layers:
            attn, mlp = layer.self_attn, layer.mlp
            self.layers.append({
                "norm1": layer.input_layernorm.weight.detach().to(device, compute),
                "qkv": linear(torch.cat([attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight]).detach()),
                "o": linear(attn.o_proj.weight.detach()),
                "norm2": layer.post_attention_layernorm.weight.detach().to(device, compute),
                "gate_up": linear(torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight]).detach()),
                "down": linear(mlp.down_proj.weight.detach()),
            })
        self.norm = inner.norm.weight.detach().to(device, compute)
        self.lm_head = linear(model.lm_head.weight.detach())
        self.intermediate = config.intermediate_size

        rotary = inner.rotary_emb
        inv_freq = rotary.inv_freq.detach().float().to(device)
        scaling = float(getattr(rotary, "attention_scaling", 1.0))
        angles = torch.outer(torch.arange(self.max_len, device=device, dtype=torch.float32), inv_freq)
        angles = torch.cat([angles, angles], dim=-1)
        self.cos = (angles.cos() * scaling).to(compute)
        self.sin = (angles.sin() * scaling).to(compute)

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
        return F.rms_norm(x, (x.shape[-1],), weight, self.eps)

    @staticmethod
    def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
        return x * cos + rotated * sin

    def _layers(self, x: torch.Tensor, cos, sin, write, attend) -> torch.Tensor:
        """x: [B, T, hidden]. `write(index, k, v)` stores keys and values; `attend(index, q)` reads them."""
        batch, steps, _ = x.shape
        for index, layer in enumerate(self.layers):
            h = self._rms(x, layer["norm1"])
            qkv = layer["qkv"](h.view(batch * steps, -1)).view(batch, steps, -1)
            q, k, v = qkv.split([self.q_size, self.kv_size, self.kv_size], dim=-1)
            q = self._rotate(q.view(batch, steps, self.heads, self.head_dim).transpose(1, 2), cos, sin)
            k = self._rotate(k.view(batch, steps, self.kv_heads, self.head_dim).transpose(1, 2), cos, sin)
            v = v.view(batch, steps, self.kv_heads, self.head_dim).transpose(1, 2)
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
        cos, sin = self.cos[:length].view(1, 1, length, -1), self.sin[:length].view(1, 1, length, -1)

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
        rows = torch.arange(batch, device=self.device)
        # Each row sees its own positions 0..p; the rest of the span belongs to longer neighbours.
        mask = (self.positions[:span].unsqueeze(0) <= positions.unsqueeze(1)).view(batch, 1, 1, span)

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


def make_decoder(model, *, slots: int, max_len: int, device: torch.device, int8: bool) -> Decoder:
    if llama_supported(model.config):
        return LlamaSlotDecoder(model, slots=slots, max_len=max_len, device=device, int8=int8)
    logger.info("No fast decoder for %s; using the generic one.", type(model).__name__)
    return GenericDecoder(model, slots=slots, max_len=max_len, device=device)

