"""The slot decoder serves each open family: tiny random-weight checkpoints of each (tiny_models.py),
loaded by the transformers backend from a zipped safetensors folder and from GGUF, against
transformers' own greedy generation over the same file."""

import hashlib
import threading

import pytest
import torch

from models_layer.runtime import TextRequest, get_backend
from models_layer.runtime.backends import RuntimeOptions
from models_layer.runtime.decoder import SlotDecoder, decoder_description
from tests.models_layer.tiny_models import (
    FAMILIES,
    GGUF_FAMILIES,
    build_tiny_model,
    tiny_model,
    tiny_tokenizer,
    write_gguf,
    zip_folder,
)

NEW_TOKENS = 32
CONVERSATIONS = [
    [{"role": "user", "content": "Write a slogan for noise-cancelling earbuds with a 40-hour battery."}],
    [{"role": "user", "content": "Hi"}],
    [
        {"role": "system", "content": "You answer in one line."},
        {"role": "user", "content": "What is a lighthouse for?"},
    ],
]


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _artifact(family: str, fmt: str, folder) -> tuple:
    """(path, format, transformers model) of a tiny `family` checkpoint written as `fmt`, the model as
    transformers reads it from that file."""
    from transformers import AutoModelForCausalLM

    if fmt.startswith("gguf"):  # "gguf" (float32 weights) or "gguf-<type>": F16, Q8_0, Q4_0 or Q4_1 weights
        path = folder / f"{family}.gguf"
        write_gguf(tiny_model(family), family, path, weight_type=fmt.partition("-")[2] or "F32")
        reference = AutoModelForCausalLM.from_pretrained(folder, gguf_file=path.name, dtype=torch.float32)
        return path, "gguf", reference.eval()
    checkpoint = build_tiny_model(family, folder / family)
    reference = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32).eval()
    return zip_folder(checkpoint, folder / f"{family}.zip"), "hf", reference


def _expected(reference, tokenizer, eos_ids: set[int]) -> list[tuple[str, int]]:
    """transformers' greedy text and token count for each conversation, one at a time (an explicit
    attention mask: SmolLM2's padding token is its end of turn)."""
    answers = []
    for messages in CONVERSATIONS:
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        with torch.inference_mode():
            out = reference.generate(
                input_ids=ids["input_ids"],
                attention_mask=torch.ones_like(ids["input_ids"]),
                max_new_tokens=NEW_TOKENS,
                do_sample=False,
                eos_token_id=sorted(eos_ids),
                pad_token_id=tokenizer.pad_token_id,
            )
        new = [token for token in out[0, ids["input_ids"].shape[1] :].tolist() if token not in eos_ids]
        answers.append((tokenizer.decode(new, skip_special_tokens=True), len(new)))
    return answers


# Each family as a zipped safetensors folder and as GGUF (float32), and GGUF's quantized weight types
# that the gguf package writes (it reads the K-quants but does not write them; the built-in SmolLM2
# file, Q4_1 and Q8_0, is tested in test_runtime_decoder.py).
CHECKPOINTS = (
    [(family, "safetensors") for family in FAMILIES]
    + [(family, "gguf") for family in GGUF_FAMILIES]
    + [("qwen2", "gguf-F16"), ("llama", "gguf-Q8_0"), ("gemma2", "gguf-Q4_0"), ("phi3", "gguf-Q4_1")]
)


@pytest.mark.parametrize(("family", "fmt"), CHECKPOINTS)
def test_greedy_output_equals_transformers_while_batched(family, fmt, tmp_path):
    # Given a tiny random-weight checkpoint of the family, uploaded as a zipped folder or a GGUF file
    path, format, reference = _artifact(family, fmt, tmp_path)
    # The torch runtime's slot decoder is what this holds to transformers (llama.cpp, which serves GGUF on
    # most CPUs where it is installed, has its own tests in test_runtime_llamacpp.py)
    options = RuntimeOptions(
        device=torch.device("cpu"), max_batch=4, max_context=256, quantize="none", gguf_engine="torch"
    )
    model = get_backend("transformers").load(
        path=path, format=format, sha256=_sha256(path), parameters={}, options=options
    )
    try:
        decoder = model.engine.decoder
        assert isinstance(decoder, SlotDecoder), decoder_description(decoder)
        # When three conversations are submitted together and decoded greedily side by side
        barrier = threading.Barrier(len(CONVERSATIONS))
        results = [None] * len(CONVERSATIONS)

        def ask(index: int) -> None:
            barrier.wait()
            request = TextRequest(messages=CONVERSATIONS[index], max_new_tokens=NEW_TOKENS, temperature=0.0, seed=index)
            results[index] = model.generate(request)

        threads = [threading.Thread(target=ask, args=(index,)) for index in range(len(CONVERSATIONS))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        # Then they shared decode steps, and each answer is transformers' own, token for token
        assert max(result.peak_batch for result in results) >= 2
        # The reference reads the runtime's own tokenizer: the prompts are the same token ids. (For a
        # Gemma GGUF, transformers reads the tokenizer as SentencePiece, and with the BPE vocabulary
        # these tiny models borrow it does not survive save_pretrained: spaces become unknown tokens.)
        expected = _expected(reference, model.engine.tokenizer, model.engine.eos_ids)
        assert [(result.text, result.completion_tokens) for result in results] == expected
        assert any(count == NEW_TOKENS for _, count in expected)  # not a test of empty answers
    finally:
        model.close()
        model.engine.join(30)


def _next_tokens(decoder: SlotDecoder, prompts: list[list[int]], continuation: list[list[int]]) -> torch.Tensor:
    """The decoder's most likely next token at every position of each prompt's continuation, teacher-forced."""
    picks = [[int(decoder.prefill(slot, ids).argmax())] for slot, ids in enumerate(prompts)]
    lengths = [len(ids) for ids in prompts]
    for step in range(len(continuation[0])):
        logits = decoder.decode(torch.tensor([tokens[step] for tokens in continuation]), torch.tensor(lengths))
        for slot, row in enumerate(logits):
            picks[slot].append(int(row.argmax()))
        lengths = [length + 1 for length in lengths]
    return torch.tensor(picks)


@pytest.mark.parametrize("family", FAMILIES)
def test_int4_agrees_with_float32_on_the_next_token(family):
    # Given a tiny checkpoint of the family, four prompts and 24 tokens of text after each
    tokenizer = tiny_tokenizer()
    model = tiny_model(family)
    prompts = [
        tokenizer.encode(text)
        for text in (
            "The lighthouse keeper climbed the stairs at dusk,",
            "Earbuds: 40 hours",
            "Write a slogan",
            "Quarterly report, section 3:",
        )
    ]
    text = "and the sea below was calm and dark; the lamp turned slowly, throwing its long beam over the water while the gulls slept"
    continuation = [
        tokenizer.encode(variant)[:24] for variant in (text, text[::-1], text.upper(), text[40:] + text[:40])
    ]
    # When the float32 decoder and the 4-bit one read them, batched
    device = torch.device("cpu")
    exact = _next_tokens(
        SlotDecoder(model, slots=4, max_len=128, device=device, quantize="none"), prompts, continuation
    )
    quantized_decoder = SlotDecoder(model, slots=4, max_len=128, device=device, quantize="int4")
    assert quantized_decoder.quantize == "int4"
    quantized = _next_tokens(quantized_decoder, prompts, continuation)
    # Then they pick the same next token at 95% of the 100 positions or more (seen: 0.95 to 1.0)
    agreement = (exact == quantized).float().mean().item()
    assert agreement >= 0.95, (family, agreement)
