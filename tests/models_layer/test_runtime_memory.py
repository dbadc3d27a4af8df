"""A model that does not fit the worker is refused before it loads, with both sizes named."""

import hashlib
import os

import gguf
import numpy as np
import pytest
import torch

from aigc_platform.core.errors import ApplicationError
from models_layer.runtime import get_backend
from models_layer.runtime.backends import RuntimeOptions, free_memory_bytes
from models_layer.runtime.inspect import inspect_model_file
from tests.models_layer.tiny_models import smollm2_gguf

HIDDEN = 8192


def _sparse_gguf(path, parameters: int):
    """A complete-looking GGUF of `parameters` float16 weights whose data is a hole in the file (sparse:
    it takes no disk), with SmolLM2's tokenizer and chat template."""
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("huge")
    writer.add_block_count(1)
    writer.add_context_length(4096)
    writer.add_embedding_length(HIDDEN)
    fields = gguf.GGUFReader(str(smollm2_gguf())).fields
    writer.add_tokenizer_model(fields["tokenizer.ggml.model"].contents())
    writer.add_token_list(fields["tokenizer.ggml.tokens"].contents())
    writer.add_chat_template(fields["tokenizer.chat_template"].contents())
    rows = parameters // HIDDEN
    writer.add_tensor_info(
        "token_embd.weight",
        (rows, HIDDEN),
        np.dtype(np.float16),
        rows * HIDDEN * 2,
        raw_dtype=gguf.GGMLQuantizationType.F16,
    )
    writer.add_tensor_info("blk.0.attn_norm.weight", (HIDDEN,), np.dtype(np.float32), HIDDEN * 4)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    header = path.stat().st_size
    alignment = 32
    os.truncate(path, -(-header // alignment) * alignment + rows * HIDDEN * 2 + HIDDEN * 4)
    return path


def test_a_model_larger_than_the_free_memory_is_refused_naming_both_sizes(tmp_path):
    # Given a GGUF of more parameters than this worker's free RAM holds in float32
    parameters = (free_memory_bytes(torch.device("cpu")) // 4 // HIDDEN + 1) * HIDDEN
    path = _sparse_gguf(tmp_path / "huge.gguf", parameters)
    assert inspect_model_file(path=path, format="gguf").parameters >= parameters  # complete to the upload check
    # (the torch runtime, which holds it in float32; llama.cpp maps the file's own quantized weights)
    options = RuntimeOptions(
        device=torch.device("cpu"), max_batch=1, max_context=256, quantize="auto", gguf_engine="torch"
    )
    # When the transformers backend is asked to load it
    with pytest.raises(ApplicationError) as refused:
        get_backend("transformers").load(
            path=path, format="gguf", sha256=hashlib.sha256(b"huge").hexdigest(), parameters={}, options=options
        )
    # Then it refuses before loading, naming what the model needs and what the worker has
    assert refused.value.code == "model_too_large"
    assert "does not fit this worker: it needs about" in refused.value.message
    assert "GB of RAM available" in refused.value.message
