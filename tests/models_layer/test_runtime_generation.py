"""The runtime in this process, with the real SmolLM2: determinism, stop sequences, JSON schemas, batching."""
import threading

import pytest

from models_layer.runtime import TextRequest, generate_text, load_version
from models_layer.runtime.text import TextAssembler

pytestmark = pytest.mark.django_db

HAIKU = [{"role": "user", "content": "Write a haiku about the sea."}]


def test_same_seed_and_parameters_give_the_same_text(builtin):
    first = generate_text(version=builtin, messages=HAIKU, max_new_tokens=12, temperature=0.9, seed=7)
    again = generate_text(version=builtin, messages=HAIKU, max_new_tokens=12, temperature=0.9, seed=7)
    assert first["text"] == again["text"]
    assert 1 <= first["usage"]["completion_tokens"] <= 12
    assert first["seed"] == 7


def test_json_schema_output_parses_and_fits(builtin):
    schema = {
        "type": "object",
        "properties": {"product": {"type": "string"}, "price": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["product", "price", "tags"],
    }
    result = generate_text(
        version=builtin, max_new_tokens=60, temperature=0.7, seed=1,
        messages=[{"role": "user", "content": "Describe a water bottle as JSON with product, price and tags."}],
        response_format={"type": "json_schema", "json_schema": {"schema": schema}},
    )
    value = result["json"]
    assert set(value) == {"product", "price", "tags"}
    assert isinstance(value["product"], str) and isinstance(value["price"], int)
    assert all(isinstance(tag, str) for tag in value["tags"])


def test_stop_sequence_ends_the_text_before_it(builtin):
    free = generate_text(version=builtin, messages=HAIKU, max_new_tokens=16, temperature=0.0)
    assert "," in free["text"]
    stopped = generate_text(version=builtin, messages=HAIKU, max_new_tokens=16, temperature=0.0, stop=[","])
    assert stopped["text"] == free["text"].split(",")[0]
    assert stopped["finish_reason"] == "stop"


def test_concurrent_requests_share_decode_steps(builtin):
    model = load_version(builtin)
    steps_before = model.engine.steps
    results = {}

    def ask(seed):
        results[seed] = model.generate(TextRequest(messages=HAIKU, max_new_tokens=8, temperature=0.8, seed=seed))

    threads = [threading.Thread(target=ask, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result.completion_tokens == 8 for result in results.values())
    # Four sequences of 8 tokens one after another would take 4 x 7 decode steps; batched, far fewer.
    assert model.engine.steps - steps_before < 4 * 7
    assert model.engine.max_batch_seen >= 2


class _CharTokenizer:
    def decode(self, ids, skip_special_tokens=True):
        return "".join(chr(i) for i in ids)


def test_text_that_may_start_a_stop_sequence_is_held_back():
    assembler = TextAssembler(_CharTokenizer(), stop=["END"])
    shown = [assembler.add(ord(c)) for c in "abcEN"]
    assert "".join(shown) == "abc"  # "EN" could still become "END"
    assert assembler.add(ord("X")) == "ENX"
    assembler.add(ord("E")), assembler.add(ord("N")), assembler.add(ord("D"))
    assert assembler.stopped and assembler.text == "abcENX"
