"""Uploading a text model: a GGUF file or a zip/tar of a safetensors folder, checked at once, its model
card read from the file; a broken upload is refused with what it lacks, and nothing of it is kept."""

import json
import struct
import tarfile
import zipfile

import pytest

from aigc_platform.core.errors import ApplicationError
from infrastructure.storage.models import File
from models_layer.registry.models import GeneratorVersion
from models_layer.runtime.inspect import inspect_model_file
from tests.models_layer.tiny_models import (
    build_tiny_model,
    smollm2_gguf,
    tiny_model,
    write_gguf,
    zip_folder,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(operator, client_for):
    client = client_for(operator)
    created = client.post("/api/v1/generators/", {"slug": "mine", "name": "Mine", "kind": "text"}, format="json")
    assert created.status_code == 201, created.json()
    return client


def _upload(client, path, format: str, **fields):
    with path.open("rb") as upload:
        return client.post(
            "/api/v1/generators/mine/versions/", {"file": upload, "format": format, **fields}, format="multipart"
        )


def test_a_gguf_upload_gets_its_model_card_from_the_file(operator_client, tmp_path):
    # Given a Qwen2 GGUF file (tied embeddings, q/k/v biases)
    gguf = build_tiny_model("qwen2", tmp_path / "qwen2.gguf", fmt="gguf")
    # When an operator uploads it with a card of their own
    created = _upload(operator_client, gguf, "gguf", model_card="# Mine\n\nOur copywriter.")
    # Then it is a draft whose card keeps theirs and adds what the file says of itself
    assert created.status_code == 201, created.json()
    card = GeneratorVersion.objects.get(generator__slug="mine", number=1).model_card
    assert card.startswith("# Mine\n\nOur copywriter.\n\n## From the file")
    assert "**Architecture**: qwen2 (2 layers, hidden size 64)" in card
    assert "**Context length**: 512 tokens" in card
    assert "fast slot decoder for Qwen2" in card
    assert f"({inspect_model_file(path=gguf, format='gguf').parameters:,})" in card


def test_a_tar_of_a_safetensors_folder_is_accepted(operator_client, tmp_path):
    # Given a Gemma 2 safetensors folder with a model card saying its languages and licence, as a .tar.gz
    folder = build_tiny_model("gemma2", tmp_path / "gemma2")
    (folder / "README.md").write_text("---\nlicense: gemma\nlanguage:\n- en\n- zh\n---\n# Tiny Gemma\n")
    archive = tmp_path / "gemma2.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="gemma2")
    # When it is uploaded
    created = _upload(operator_client, archive, "hf")
    # Then the card is filled from the folder: architecture, parameters, context, languages, licence
    assert created.status_code == 201, created.json()
    card = GeneratorVersion.objects.get(generator__slug="mine", number=1).model_card
    assert card.startswith("# Mine\n")
    assert (
        "**Architecture**: gemma2 (4 layers" in card
        and "**Languages**: en, zh" in card
        and "**Licence**: gemma" in card
    )
    assert "fast slot decoder for Gemma 2" in card


def test_the_built_in_gguf_reads_as_smollm2():
    # Given the built-in SmolLM2 GGUF; when it is inspected; then its header's facts come out
    facts = inspect_model_file(path=smollm2_gguf(), format="gguf")
    assert (facts.architecture, facts.layers, facts.hidden_size, facts.context_length) == ("llama", 30, 576, 8192)
    assert facts.licence == "apache-2.0" and facts.languages == ["en"]
    assert 134_000_000 < facts.parameters < 135_000_000 and facts.weight_types["Q4_1"] > 200


def _assert_refused(response, *phrases: str) -> None:
    assert response.status_code == 400, response.content
    body = json.dumps(response.json())
    for phrase in phrases:
        assert phrase in body, (phrase, body)


def test_a_cut_short_gguf_is_refused_and_nothing_is_kept(operator_client, tmp_path):
    # Given a GGUF file whose last megabyte never arrived
    whole = build_tiny_model("llama", tmp_path / "llama.gguf", fmt="gguf")
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size - 1_000_000])
    files_before = File.objects.count()
    # When it is uploaded, then it is refused at once, saying the weights are cut short
    _assert_refused(_upload(operator_client, cut, "gguf"), "cut short", f"the file has {cut.stat().st_size:,}")
    # and neither a version nor the file is kept
    assert not GeneratorVersion.objects.filter(generator__slug="mine").exists()
    assert File.objects.count() == files_before


def test_a_gguf_without_a_chat_template_is_refused(operator_client, tmp_path):
    # Given a GGUF written without its chat template
    write_gguf(tiny_model("phi3"), "phi3", tmp_path / "bare.gguf", leave_out=("tokenizer.chat_template",))
    # When it is uploaded, then the refusal names the chat template
    _assert_refused(
        _upload(operator_client, tmp_path / "bare.gguf", "gguf"), "the chat template (tokenizer.chat_template)"
    )


def test_a_zip_without_tokenizer_or_a_shard_names_each_missing_part(operator_client, tmp_path):
    # Given a sharded Llama checkpoint zipped without its tokenizer files and without one shard
    from transformers import AutoModelForCausalLM

    folder = build_tiny_model("llama", tmp_path / "llama")
    AutoModelForCausalLM.from_pretrained(folder).save_pretrained(tmp_path / "sharded", max_shard_size="2MB")
    sharded = tmp_path / "sharded"
    shards = sorted(path.name for path in sharded.glob("*.safetensors"))
    assert len(shards) >= 3
    (sharded / shards[1]).unlink()
    archive = zip_folder(sharded, tmp_path / "broken.zip")
    # When it is uploaded, then the refusal names the tokenizer, the chat template and the lost shard
    _assert_refused(
        _upload(operator_client, archive, "hf"),
        "the tokenizer",
        "the chat template",
        shards[1],
        f"1 of the {len(shards)} shards",
    )


def test_a_truncated_safetensors_file_and_a_missing_layer_are_named(tmp_path):
    # Given a checkpoint whose weights file lost its end, and another that lacks its second layer
    folder = build_tiny_model("qwen3", tmp_path / "qwen3")
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    cut = zip_folder(folder, tmp_path / "cut.zip")
    weights.write_bytes(data)
    length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + length])
    kept = {key: value for key, value in header.items() if ".layers.1." not in key}
    body = json.dumps(kept).encode()
    weights.write_bytes(struct.pack("<Q", len(body)) + body + data[8 + length :])
    no_layer = zip_folder(folder, tmp_path / "no-layer.zip")
    # When they are inspected; then each error names what is wrong
    with pytest.raises(ApplicationError, match="model.safetensors is cut short"):
        inspect_model_file(path=cut, format="hf")
    with pytest.raises(ApplicationError, match="the tensors of layer 1 of 2"):
        inspect_model_file(path=no_layer, format="hf")


def test_an_archive_that_is_not_a_checkpoint_is_refused(operator_client, tmp_path):
    # Given a zip of documents with no config.json
    archive = tmp_path / "docs.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("notes/readme.txt", "not a model")
    # When it is uploaded as a checkpoint, then it is refused saying why
    _assert_refused(_upload(operator_client, archive, "hf"), "no config.json")
