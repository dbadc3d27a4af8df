"""The fast slot decoder against transformers' own forward pass over the same SmolLM2 checkpoint."""

import pytest
import torch

from models_layer.registry.services import builtin_gguf_path
from models_layer.runtime.decoder import SlotDecoder
from models_layer.runtime.kernels import Int4Linear

PROMPTS = ["The capital of France is", "Once upon a time, a small robot wanted to learn how to paint the sea at night"]


@pytest.fixture(scope="module")
def reference():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = builtin_gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32).eval()
    return tokenizer, model


def _decoder_logits(decoder: SlotDecoder, prompts: list[list[int]], steps: list[list[int]]) -> list[torch.Tensor]:
    """Prefill each prompt in its own slot, then decode `steps` (a token per prompt per step) side by side."""
    rows = [[decoder.prefill(slot, ids)] for slot, ids in enumerate(prompts)]
    lengths = [len(ids) for ids in prompts]
    for tokens in steps:
        logits = decoder.decode(torch.tensor(tokens), torch.tensor(lengths))
        for slot, row in enumerate(logits):
            rows[slot].append(row)
        lengths = [length + 1 for length in lengths]
    return [torch.stack(slot_rows) for slot_rows in rows]


@pytest.mark.parametrize("quantize, count", [("none", 2), ("int8", 2), ("int4", 2), ("int4", 1)])
def test_the_decoder_agrees_with_transformers_on_a_batch_of_unequal_prompts(reference, quantize, count):
    # Given prompts of different lengths (or one alone) and four tokens to append to each
    tokenizer, model = reference
    prompts = [tokenizer(text)["input_ids"] for text in PROMPTS][:count]
    steps = [
        tokens[:count]
        for tokens in [[tokenizer(" and")["input_ids"][0], tokenizer(" the")["input_ids"][0]]] * 2
        + [[17, 300], [4000, 12]]
    ]
    # When the decoder runs them side by side in its slots
    decoder = SlotDecoder(model, slots=count, max_len=256, device=torch.device("cpu"), quantize=quantize)
    assert decoder.quantize == quantize
    got = _decoder_logits(decoder, prompts, steps)
    # Then every position's logits match transformers' forward over the whole sequence
    for slot, ids in enumerate(prompts):
        full = ids + [tokens[slot] for tokens in steps]
        with torch.inference_mode():
            expected = model(torch.tensor([full])).logits[0, len(ids) - 1 :]
        mine = got[slot]
        cosine = torch.nn.functional.cosine_similarity(mine, expected, dim=-1)
        # float32 is exact up to rounding; the quantized paths (bfloat16 activations) stay close, int4
        # closer than int8 since its groups of 32 hold the file's own Q4_1 grid (seen: 0.9992 and 0.997)
        least_cosine, least_agreement = {"none": (0.9999, 1.0), "int4": (0.998, 0.8), "int8": (0.99, 0.6)}[quantize]
        assert cosine.min() > least_cosine, (quantize, cosine)
        agree = (mine.argmax(-1) == expected.argmax(-1)).float().mean()
        assert agree >= least_agreement, (quantize, mine.argmax(-1), expected.argmax(-1))


def test_int4_weights_hold_a_q4_1_grid_exactly():
    # Given weights that are already 4-bit levels times a scale plus a minimum per group of 32 (GGUF's Q4_1)
    generator = torch.Generator().manual_seed(0)
    levels = torch.randint(0, 16, (64, 128), generator=generator).float()
    levels[:, ::32] = 0  # every group spans 0..15, as a Q4_1 block does after quantization
    levels[:, 1::32] = 15
    scale = torch.tensor([0.5, 0.25]).repeat_interleave(32).view(64, 1)
    weight = levels * scale - 1.0
    # When they are packed for the 4-bit kernel and multiplied
    x = torch.randn(3, 128, generator=generator)
    got = Int4Linear(weight)(x)
    # Then the product is the float one but for the activations' bfloat16 rounding
    expected = x @ weight.T
    assert torch.allclose(got, expected, rtol=0.02, atol=0.3), (got - expected).abs().max()
