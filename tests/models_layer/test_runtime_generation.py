"""The runtime in this process, with the real SmolLM2: determinism, stop sequences, JSON schemas, batching."""

import threading

import pytest
import torch
from PIL import Image

from infrastructure.storage.models import File
from infrastructure.storage.selectors import file_local_path
from infrastructure.storage.services import file_store
from models_layer.registry import services
from models_layer.runtime import (
    TextRequest,
    TorchArchitecture,
    generate_images,
    generate_text,
    load_version,
    register_torch_architecture,
)
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
        "properties": {
            "product": {"type": "string", "maxLength": 40},
            "price": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 3},
        },
        "required": ["product", "price", "tags"],
    }
    # Bounded strings and arrays, so that a sampled answer always closes within the budget (an unbounded
    # list of tags ran past 60 tokens on one build of llama.cpp and not on another)
    result = generate_text(
        version=builtin,
        max_new_tokens=160,
        temperature=0.7,
        seed=1,
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


def test_penalties_keep_a_looping_answer_from_repeating_its_words(builtin):
    # Given a request that makes the small model loop when it decodes greedily
    loop = [{"role": "user", "content": "Write the word apple twenty times."}]
    free = generate_text(version=builtin, messages=loop, max_new_tokens=40, temperature=0.0)
    words = free["text"].lower().split()
    assert len(words) - len(set(words)) >= 5, free["text"]
    # When the same request comes with a frequency penalty
    penalised = generate_text(
        version=builtin, messages=loop, max_new_tokens=40, temperature=0.0, frequency_penalty=2.0, presence_penalty=2.0
    )
    # Then it repeats far fewer words
    repeated = penalised["text"].lower().split()
    assert len(repeated) - len(set(repeated)) < (len(words) - len(set(words))) / 2, (free["text"], penalised["text"])


def test_the_penalties_count_a_word_in_any_case_with_or_without_a_leading_space(builtin):
    engine = load_version(builtin).engine
    tokenizer = engine.tokenizer
    forms = engine._word_forms()
    (yes,) = tokenizer.encode("yes", add_special_tokens=False)
    assert {tokenizer.convert_ids_to_tokens(token) for token in forms[yes]} >= {"yes", "Yes", "\u0120yes", "\u0120Yes"}
    assert all(forms[token] == forms[yes] for token in forms[yes])
    (brace,) = tokenizer.encode("{", add_special_tokens=False)
    assert forms[brace] == ()  # JSON syntax stays free


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


class _Pixels(torch.nn.Module):
    """A generator of 8x8 grey images from noise: one linear layer, enough to exercise the image path."""

    def __init__(self, latent: int):
        super().__init__()
        self.latent = latent
        self.out = torch.nn.Linear(latent, 64)


def _sample_pixels(module, count, generator, device):
    noise = torch.randn(count, module.latent, generator=generator).to(device)
    return torch.sigmoid(module.out(noise)).view(count, 1, 8, 8)


def test_an_image_version_makes_pngs_stored_as_files_and_repeats_with_its_seed(operator, tmp_path):
    # Given an image generator whose torch checkpoint names a registered architecture
    register_torch_architecture(
        TorchArchitecture(
            name="test-pixels", kind="image", build=lambda config: _Pixels(**config), sample=_sample_pixels
        )
    )
    path = tmp_path / "pixels.pt"
    torch.save({"architecture": "test-pixels", "config": {"latent": 4}, "state_dict": _Pixels(4).state_dict()}, path)
    with path.open("rb") as stream:
        artifact = file_store(owner=operator, stream=stream, filename="pixels.pt")
    generator = services.generator_create(owner=operator, slug="pixels", name="Pixels", kind="image", backend="torch")
    version = services.generator_version_create(
        generator=generator, artifact=artifact, format="torch", created_by=operator
    )
    # when its validation runs and it generates three images twice with one seed
    assert services.generator_version_validate(version_id=version.pk)["validated"]
    first = generate_images(version=version, owner=operator, count=3, seed=5)
    again = generate_images(version=version, owner=operator, count=3, seed=5)
    # then each image is a stored 8x8 PNG with a download link, the same for the same seed
    assert len(first["images"]) == 3 and first["seed"] == 5
    assert all(image["url"] == f"/api/v1/files/{image['file_id']}/download/" for image in first["images"])
    stored = [File.objects.get(pk=image["file_id"]) for image in first["images"] + again["images"]]
    assert all(f.content_type == "image/png" and f.owner == operator for f in stored)
    # the same pixels for the same seed; each file its own, since it carries its own provenance record's id
    pixels = [Image.open(file_local_path(file=f)).tobytes() for f in stored]
    assert pixels[:3] == pixels[3:] and len(set(pixels[:3])) == 3
    assert len({f.sha256 for f in stored}) == 6
    assert Image.open(file_local_path(file=stored[0])).size == (8, 8)
