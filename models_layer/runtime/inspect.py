"""Checking an uploaded text model at once, and reading its model card from its own metadata.

A GGUF file is read from its header only (key/values and the table of tensors): a file cut short is
found by comparing where its last tensor ends with its size. A zip or tar of a safetensors folder
is read from its member list and each weight file's header: the config, the tokenizer and chat
template, every shard the index names, every layer the config counts, and each shard's length
against what its header promises. Neither reads the weights themselves, so a multi-GB upload is
checked in about a second. No torch and no transformers here: this runs in the web process.
"""

from __future__ import annotations

import io
import json
import re
import struct
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from typing import BinaryIO, Self

from django.utils.translation import gettext, ngettext

from aigc_platform.core.errors import ApplicationError
from models_layer.runtime.families import fast_family
from models_layer.runtime.llamacpp import DecoderChoice, llama_cpp_description, machine_choice

# GGUF's tensor types that transformers' GGUF loader de-quantizes (gguf-py's dequantize): name,
# elements per block, bytes per block.
GGUF_TENSOR_TYPES = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    30: ("BF16", 1, 2),
}
# GGUF architectures that transformers' GGUF loader reads (transformers.integrations.ggml), and the
# model type each becomes.
GGUF_ARCHITECTURES = {
    "llama": "llama",
    "mistral": "mistral",
    "qwen2": "qwen2",
    "qwen2moe": "qwen2_moe",
    "qwen3": "qwen3",
    "qwen3moe": "qwen3_moe",
    "phi3": "phi3",
    "gemma2": "gemma2",
    "gemma3": "gemma3_text",
    "falcon": "falcon",
    "bloom": "bloom",
    "gpt2": "gpt2",
    "starcoder2": "starcoder2",
    "stablelm": "stablelm",
    "nemotron": "nemotron",
    "mamba": "mamba",
    "lfm2": "lfm2",
    "deci": "deci",
}
# A config's model type that the transformers backend loads as a causal LM without remote code; the
# families of the fast decoder, and others that the generic decoder serves.
CAUSAL_LM_TYPES = {
    "llama",
    "mistral",
    "mixtral",
    "qwen2",
    "qwen2_moe",
    "qwen3",
    "qwen3_moe",
    "gemma",
    "gemma2",
    "gemma3_text",
    "phi",
    "phi3",
    "gpt2",
    "gpt_neox",
    "gptj",
    "falcon",
    "bloom",
    "opt",
    "starcoder2",
    "stablelm",
    "olmo",
    "olmo2",
    "cohere",
    "granite",
    "internlm2",
    "deepseek_v2",
    "deepseek_v3",
    "glm",
    "glm4",
    "smollm3",
    "exaone",
    "nemotron",
}
_GGUF_VALUE_FORMATS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
# Key/values longer than this (a tokenizer's token list or merges) are skipped, not kept.
_KEEP_ARRAY_ITEMS = 64


@dataclass
class ModelInspection:
    """What an uploaded text model is, read from its own metadata."""

    format: str  # "gguf" or "hf"
    architecture: str  # the transformers model type
    parameters: int
    context_length: int | None
    name: str = ""
    languages: list[str] = field(default_factory=list)
    licence: str = ""
    weight_types: dict[str, int] = field(default_factory=dict)  # tensor type -> tensors of it
    layers: int | None = None
    hidden_size: int | None = None

    @property
    def served_by(self) -> str:
        """Which decoder serves the model on this machine (a GGUF's choice, llamacpp.machine_choice, looks
        at whether llama-cpp-python is installed and at the CPU's vector extensions)."""
        return served_by(
            architecture=self.architecture,
            format=self.format,
            choice=machine_choice(format=self.format) if self.format == "gguf" else None,
        )

    def as_dict(self) -> dict:
        return {
            "format": self.format,
            "architecture": self.architecture,
            "parameters": self.parameters,
            "context_length": self.context_length,
            "name": self.name,
            "languages": self.languages,
            "licence": self.licence,
            "weight_types": self.weight_types,
            "layers": self.layers,
            "hidden_size": self.hidden_size,
            "served_by": self.served_by,
        }

    def model_card(self) -> str:
        """The facts of the file as a Markdown model card (or a section of one)."""
        size = f"{self.parameters / 1e9:.2f} B" if self.parameters >= 1e9 else f"{self.parameters / 1e6:.1f} M"
        shape = f" ({self.layers} layers, hidden size {self.hidden_size})" if self.layers and self.hidden_size else ""
        weights = ", ".join(
            f"{kind} x{count}" for kind, count in sorted(self.weight_types.items(), key=lambda kv: -kv[1])
        )
        lines = [
            f"- **Architecture**: {self.architecture}{shape}",
            f"- **Parameters**: {size} ({self.parameters:,})",
            f"- **Context length**: {f'{self.context_length:,} tokens' if self.context_length else 'not stated in the file'}",
            f"- **Languages**: {', '.join(self.languages) if self.languages else 'not stated in the file'}",
            f"- **Licence**: {self.licence or 'not stated in the file'}",
            f"- **Format**: {'GGUF' if self.format == 'gguf' else 'safetensors'}{f' ({weights})' if weights else ''}",
            f"- **Served by**: {self.served_by}",
        ]
        return "\n".join(lines)


def served_by(*, architecture: str, format: str, choice: DecoderChoice | None) -> str:
    """The model card's "Served by": the torch runtime's decoder for `architecture`, or llama.cpp on a CPU
    where `choice` (a GGUF's, llamacpp.decoder_choice) picked it, and why."""
    family = fast_family(SimpleNamespace(model_type=architecture))
    if family is None:
        runtime = "the runtime's generic decoder (transformers' forward, one sequence at a time): no fast path for this architecture"
    else:
        runtime = (
            f"the runtime's fast slot decoder for {family.name} (continuous batching; on a CPU 4-bit layers where "
            "they run faster than float32, bfloat16 on a GPU)"
        )
    if format != "gguf" or choice is None:
        return runtime
    if choice.engine == "llama.cpp":
        return f"on a CPU, {llama_cpp_description()}, because {choice.reason}; on a GPU, {runtime}"
    return f"{runtime}; not llama.cpp, because {choice.reason}"


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid_model", fields={"file": [message]})


def _missing(template: str, problems: list[str]) -> ApplicationError:
    """One refusal naming every problem; `template` is a translated sentence with %(problems)s."""
    return _invalid(template % {"problems": gettext("; ").join(problems)})


def inspect_model_file(*, path: Path, format: str, chat_template_required: bool = True) -> ModelInspection:
    """Check an uploaded text model ("gguf": a GGUF file; "hf": a zip or tar of a safetensors folder)
    and read its metadata. A broken upload is an ApplicationError (code "invalid_model") naming
    everything that is missing. A model trained on the platform from scratch has no chat template (it
    completes prompts): loading it reads its size with `chat_template_required=False`."""
    if format == "gguf":
        return inspect_gguf(path, chat_template_required=chat_template_required)
    if format == "hf":
        return inspect_archive(path, chat_template_required=chat_template_required)
    raise ApplicationError(
        gettext("Text models are GGUF files or zipped safetensors folders, not %(format)r.") % {"format": format},
        code="invalid_model",
    )


# GGUF -------------------------------------------------------------------------------------------------


class _Reader:
    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.offset = 0

    def read(self, size: int) -> bytes:
        data = self.stream.read(size)
        if len(data) != size:
            raise _invalid(gettext("The GGUF file ends inside its header: the upload is incomplete."))
        self.offset += size
        return data

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        length = self.unpack("<Q")
        if length > 1 << 26:
            raise _invalid(gettext("The GGUF header is damaged (a string of more than 64 MiB)."))
        return self.read(length).decode("utf-8", errors="replace")

    def value(self, kind: int):
        if kind == 8:
            return self.string()
        if kind == 9:
            item_kind, count = self.unpack("<I"), self.unpack("<Q")
            if item_kind in _GGUF_VALUE_FORMATS:  # numbers: read as one block, keep the first few
                code = _GGUF_VALUE_FORMATS[item_kind][1]
                data = self.read(struct.calcsize("<" + code) * count)
                kept = min(count, _KEEP_ARRAY_ITEMS)
                items = list(struct.unpack(f"<{kept}{code}", data[: struct.calcsize("<" + code) * kept]))
                return items if count == kept else items + [...]
            items = [self.value(item_kind) for _ in range(count)]
            return items if count <= _KEEP_ARRAY_ITEMS else items[:_KEEP_ARRAY_ITEMS] + [...]
        if kind not in _GGUF_VALUE_FORMATS:
            raise _invalid(gettext("The GGUF header is damaged (an unknown value type %(kind)s).") % {"kind": kind})
        return self.unpack(_GGUF_VALUE_FORMATS[kind])


def read_gguf_header(stream: BinaryIO) -> tuple[dict, list[tuple[str, list[int], int, int]], int]:
    """(key/values, tensors as (name, shape, type, offset), where the tensor data starts) of a GGUF stream."""
    reader = _Reader(stream)
    if reader.read(4) != b"GGUF":
        raise _invalid(gettext("The file is not GGUF (it does not start with the GGUF magic bytes)."))
    version = reader.unpack("<I")
    if version not in (2, 3):
        raise _invalid(gettext("GGUF version %(version)s is not supported (2 and 3 are).") % {"version": version})
    tensor_count, kv_count = reader.unpack("<Q"), reader.unpack("<Q")
    if tensor_count > 1 << 20 or kv_count > 1 << 20:
        raise _invalid(gettext("The GGUF header is damaged (impossible counts of tensors or keys)."))
    metadata = {}
    for _ in range(kv_count):
        key = reader.string()
        metadata[key] = reader.value(reader.unpack("<I"))
    tensors = []
    for _ in range(tensor_count):
        name = reader.string()
        dims = [reader.unpack("<Q") for _ in range(reader.unpack("<I"))]
        tensors.append((name, dims, reader.unpack("<I"), reader.unpack("<Q")))
    alignment = int(metadata.get("general.alignment", 32)) or 32
    data_start = -(-reader.offset // alignment) * alignment
    return metadata, tensors, data_start


def inspect_gguf(path: Path, *, chat_template_required: bool = True) -> ModelInspection:
    with open(path, "rb") as stream:
        metadata, tensors, data_start = read_gguf_header(io.BufferedReader(stream, 1 << 20))
    size = path.stat().st_size
    problems = []
    arch = str(metadata.get("general.architecture", ""))
    name = str(metadata.get("general.name", ""))
    architecture = GGUF_ARCHITECTURES.get(arch)
    if arch == "llama" and "mistral" in name.lower():
        architecture = "mistral"
    if not arch:
        problems.append(gettext("the architecture (general.architecture)"))
    elif architecture is None:
        raise _invalid(
            gettext("The GGUF architecture %(architecture)r is not one the runtime loads; known: %(names)s.")
            % {"architecture": arch, "names": ", ".join(sorted(GGUF_ARCHITECTURES))}
        )
    if "tokenizer.ggml.model" not in metadata or "tokenizer.ggml.tokens" not in metadata:
        problems.append(gettext("the tokenizer (tokenizer.ggml.model and tokenizer.ggml.tokens)"))
    if chat_template_required and not metadata.get("tokenizer.chat_template"):
        problems.append(gettext("the chat template (tokenizer.chat_template)"))

    parameters, end, kinds = 0, data_start, {}
    unknown = set()
    for tensor_name, dims, kind, offset in tensors:
        count = 1
        for dim in dims:
            count *= dim
        parameters += count
        if kind not in GGUF_TENSOR_TYPES:
            unknown.add(gettext("%(name)s (type %(kind)s)") % {"name": tensor_name, "kind": kind})
            continue
        type_name, block, block_bytes = GGUF_TENSOR_TYPES[kind]
        kinds[type_name] = kinds.get(type_name, 0) + 1
        end = max(end, data_start + offset + count // block * block_bytes)
    if unknown:
        raise _invalid(
            gettext("The GGUF file has tensors of types the loader cannot de-quantize: %(tensors)s.")
            % {"tensors": ", ".join(sorted(unknown)[:5])}
        )
    if end > size:
        problems.append(
            gettext("weights: the tensors end at byte %(end)s but the file has %(size)s (cut short)")
            % {"end": f"{end:,}", "size": f"{size:,}"}
        )
    names = {tensor[0] for tensor in tensors}
    blocks = metadata.get(f"{arch}.block_count")
    if "token_embd.weight" not in names:
        problems.append(gettext("weights: token_embd.weight (the embeddings)"))
    if isinstance(blocks, int):
        missing = [str(index) for index in range(blocks) if not any(n.startswith(f"blk.{index}.") for n in names)]
        if missing:
            problems.append(
                ngettext(
                    "weights: the tensors of block %(numbers)s of %(total)s",
                    "weights: the tensors of blocks %(numbers)s of %(total)s",
                    len(missing),
                )
                % {"numbers": ", ".join(missing[:8]), "total": blocks}
            )
    if problems:
        raise _missing(gettext("The GGUF file is missing %(problems)s."), problems)
    languages = metadata.get("general.languages") or []
    return ModelInspection(
        format="gguf",
        architecture=architecture,
        parameters=parameters,
        name=name,
        context_length=_int(metadata.get(f"{arch}.context_length")),
        languages=[str(language) for language in languages if language is not ...]
        if isinstance(languages, list)
        else [str(languages)],
        licence=str(metadata.get("general.license", "") or metadata.get("general.license.name", "")),
        weight_types=kinds,
        layers=_int(blocks),
        hidden_size=_int(metadata.get(f"{arch}.embedding_length")),
    )


def _int(value) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# A zip or tar of a safetensors folder ----------------------------------------------------------------


class _Archive:
    """The members of a zip or tar as {path inside the checkpoint folder: size}, and a way to read one."""

    def __init__(self, path: Path):
        self._zip: zipfile.ZipFile | None = None
        self._tar: tarfile.TarFile | None = None
        try:
            self.members = self._list(path)
        except BaseException:
            self.close()
            raise

    def _list(self, path: Path) -> dict:
        if zipfile.is_zipfile(path):
            self._zip = zipfile.ZipFile(path)
            entries = {info.filename: (info.file_size, info) for info in self._zip.infolist() if not info.is_dir()}
        elif tarfile.is_tarfile(path):
            self._tar = tarfile.open(path)  # noqa: SIM115 (open for the archive's life; close() closes it)
            entries = {member.name: (member.size, member) for member in self._tar.getmembers() if member.isfile()}
        else:
            raise _invalid(gettext("The checkpoint is neither a zip nor a tar archive."))
        for name in entries:
            pure = PurePosixPath(name)
            if pure.is_absolute() or ".." in pure.parts:
                raise _invalid(gettext("The archive has an unsafe path: %(name)s") % {"name": name})
        configs = sorted((n for n in entries if PurePosixPath(n).name == "config.json"), key=lambda n: n.count("/"))
        if not configs:
            raise _invalid(gettext("The archive holds no config.json: it is not a Hugging Face checkpoint folder."))
        root = str(PurePosixPath(configs[0]).parent)
        prefix = "" if root == "." else root + "/"
        return {name[len(prefix) :]: entry for name, entry in entries.items() if name.startswith(prefix)}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def read(self, name: str, limit: int | None = None) -> bytes:
        member = self.members[name][1]
        stream = self._zip.open(member) if self._zip is not None else self._tar.extractfile(member)
        with stream:
            return stream.read() if limit is None else stream.read(limit)

    def size(self, name: str) -> int:
        return self.members[name][0]

    def json(self, name: str) -> dict:
        try:
            return json.loads(self.read(name))
        except ValueError as error:
            raise _invalid(gettext("%(name)s is not valid JSON: %(error)s") % {"name": name, "error": error}) from None

    def close(self) -> None:
        for archive in (self._zip, self._tar):
            if archive is not None:
                archive.close()


def _safetensors_header(archive: _Archive, name: str) -> tuple[dict, list[str]]:
    """(tensors as {name: (dtype, shape)}, problems) of one safetensors member, from its header."""
    head = archive.read(name, 8)
    if len(head) < 8:
        return {}, [gettext("%(name)s is empty") % {"name": name}]
    length = struct.unpack("<Q", head)[0]
    if length > 100 * 1024**2 or 8 + length > archive.size(name):
        return {}, [
            gettext("%(name)s is cut short (its header says %(length)s bytes)")
            % {"name": name, "length": f"{length:,}"}
        ]
    try:
        header = json.loads(archive.read(name, 8 + length)[8:])
    except ValueError:
        return {}, [gettext("%(name)s has a damaged header") % {"name": name}]
    header.pop("__metadata__", None)
    end = max((entry["data_offsets"][1] for entry in header.values()), default=0)
    if 8 + length + end > archive.size(name):
        return {}, [
            gettext("%(name)s is cut short: its tensors need %(needed)s bytes, the file has %(size)s")
            % {"name": name, "needed": f"{8 + length + end:,}", "size": f"{archive.size(name):,}"}
        ]
    return {key: (entry["dtype"], entry["shape"]) for key, entry in header.items()}, []


def _front_matter(text: str) -> dict[str, list[str]]:
    """language: and license: of a model card's YAML front matter (the Hugging Face model card convention)."""
    match = re.match(r"^---\s*\n(.*?)\n---", text, re.DOTALL)
    found: dict[str, list[str]] = {}
    if not match:
        return found
    key = None
    for line in match.group(1).splitlines():
        item = re.match(r"^\s*-\s*(.+)$", line)
        if item and key:
            found[key].append(item.group(1).strip().strip("'\""))
            continue
        pair = re.match(r"^([A-Za-z_]+):\s*(.*)$", line)
        key = pair.group(1) if pair and pair.group(1) in ("language", "license", "license_name") else None
        if key:
            found[key] = [v.strip().strip("'\"") for v in pair.group(2).strip("[]").split(",") if v.strip()]
    return found


def inspect_archive(path: Path, *, chat_template_required: bool = True) -> ModelInspection:
    with _Archive(path) as archive:
        return _inspect_archive(archive, chat_template_required=chat_template_required)


def _inspect_archive(archive: _Archive, *, chat_template_required: bool = True) -> ModelInspection:
    members = archive.members
    config = archive.json("config.json")
    config = config.get("text_config", config) if config.get("model_type") == "gemma3" else config
    architecture = str(config.get("model_type", ""))
    if not architecture:
        raise _invalid(gettext("config.json has no model_type: the architecture is unknown."))
    if architecture not in CAUSAL_LM_TYPES:
        raise _invalid(
            gettext(
                "The architecture %(architecture)r is not a causal language model the runtime loads; known: %(names)s."
            )
            % {"architecture": architecture, "names": ", ".join(sorted(CAUSAL_LM_TYPES))}
        )
    problems = []
    if not ({"tokenizer.json", "tokenizer.model"} & set(members) or {"vocab.json", "merges.txt"} <= set(members)):
        problems.append(gettext("the tokenizer (tokenizer.json, tokenizer.model, or vocab.json with merges.txt)"))
    tokenizer_config = archive.json("tokenizer_config.json") if "tokenizer_config.json" in members else {}
    has_template = tokenizer_config.get("chat_template") or {"chat_template.jinja", "chat_template.json"} & set(members)
    if chat_template_required and not has_template:
        problems.append(gettext("the chat template (chat_template in tokenizer_config.json, or chat_template.jinja)"))

    shards = sorted(name for name in members if name.endswith(".safetensors") and "/" not in name)
    index_name = "model.safetensors.index.json"
    if index_name in members:
        named = sorted(set(archive.json(index_name).get("weight_map", {}).values()))
        absent = [shard for shard in named if shard not in members]
        if absent:
            shown = ", ".join(absent[:6])
            if len(absent) > 6:
                shown = gettext("%(names)s and more") % {"names": shown}
            problems.append(
                gettext("weights: %(shards)s (%(absent)s of the %(named)s shards the index names)")
                % {"shards": shown, "absent": len(absent), "named": len(named)}
            )
        shards = [shard for shard in named if shard in members]
    if not shards and index_name not in members:
        problems.append(gettext("weights (no .safetensors file)"))
    tensors: dict = {}
    for shard in shards:
        found, shard_problems = _safetensors_header(archive, shard)
        tensors.update(found)
        problems += [gettext("weights: %(problem)s") % {"problem": problem} for problem in shard_problems]
    layers = _int(config.get("num_hidden_layers"))
    if tensors and layers:
        present = {int(match.group(1)) for key in tensors if (match := re.search(r"\.layers\.(\d+)\.", key))}
        missing = [str(index) for index in range(layers) if index not in present]
        if missing:
            problems.append(
                ngettext(
                    "weights: the tensors of layer %(numbers)s of %(total)s",
                    "weights: the tensors of layers %(numbers)s of %(total)s",
                    len(missing),
                )
                % {"numbers": ", ".join(missing[:8]), "total": layers}
            )
    if tensors and not any("embed_tokens" in key or "wte" in key or "word_embeddings" in key for key in tensors):
        problems.append(gettext("weights: the token embeddings"))
    if problems:
        raise _missing(gettext("The checkpoint is missing %(problems)s."), problems)

    parameters, kinds = 0, {}
    for dtype, shape in tensors.values():
        count = 1
        for dim in shape:
            count *= dim
        parameters += count
        kinds[dtype] = kinds.get(dtype, 0) + 1
    readme = next((name for name in members if name.lower() == "readme.md"), None)
    card = _front_matter(archive.read(readme, 1 << 20).decode("utf-8", errors="replace")) if readme else {}
    licence = ", ".join(card.get("license", [])) or ", ".join(card.get("license_name", []))
    if not licence:
        licence = next(
            (f"see {name} in the checkpoint" for name in members if name.upper().startswith(("LICENSE", "LICENCE"))), ""
        )
    return ModelInspection(
        format="hf",
        architecture=architecture,
        parameters=parameters,
        name=str(config.get("_name_or_path", "") or ""),
        context_length=_int(config.get("max_position_embeddings")),
        languages=card.get("language", []),
        licence=licence,
        weight_types=kinds,
        layers=layers,
        hidden_size=_int(config.get("hidden_size")),
    )
