"""The model families the runtime's fast slot decoder serves, and how each departs from Llama.

No torch here: the web process reads this table to say, at upload, which decoder will serve a model.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    """How one family's forward pass departs from Llama's. Everything else (sizes, biases, fused or
    separate projections, q/k norms, RoPE and its scaling, sliding windows, soft-capping) is read
    from the checkpoint's config and modules, so a family is a line here, not a decoder of its own."""

    name: str
    activation: str = "silu"  # of the gated MLP: "silu" (SwiGLU) or "gelu_tanh" (GeGLU)
    norm_offset: float = 0.0  # Gemma's norms multiply by 1 + w
    sandwich_norms: bool = False  # Gemma: norms after attention and after the MLP too
    sliding_everywhere: bool = False  # config.sliding_window applies to every layer (no layer_types)


FAMILIES = {
    "llama": Family("Llama"),
    "mistral": Family("Mistral", sliding_everywhere=True),
    "qwen2": Family("Qwen2"),
    "qwen3": Family("Qwen3"),
    "gemma2": Family("Gemma 2", activation="gelu_tanh", norm_offset=1.0, sandwich_norms=True),
    "gemma3_text": Family("Gemma 3", activation="gelu_tanh", norm_offset=1.0, sandwich_norms=True),
    "phi3": Family("Phi-3", sliding_everywhere=True),
}
_ACTIVATIONS = {"silu": ("silu",), "gelu_tanh": ("gelu_pytorch_tanh", "gelu_tanh", "gelu_new")}


def fast_family(config) -> Family | None:
    """The family whose fast path serves this config, or None (the generic decoder serves it)."""
    family = FAMILIES.get(getattr(config, "model_type", ""))
    if family is None:
        return None
    activation = getattr(config, "hidden_activation", None) or getattr(config, "hidden_act", None)
    if activation is not None and activation not in _ACTIVATIONS[family.activation]:
        return None
    if getattr(config, "use_bidirectional_attention", False):
        return None
    return family
