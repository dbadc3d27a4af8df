"""From a version's stored artifact to something a loader opens: a Hugging Face checkpoint folder.

A GGUF file is converted once (de-quantized by transformers, tokenizer included) into a folder of
safetensors, so later loads take about a second instead of the conversion's many; a zipped
checkpoint is unpacked once. Both live under MODEL_FOLDERS_DIR/<sha256>, made in a
temporary folder and renamed into place, so concurrent workers never see half a folder.

The folders are evicted by age and size with the worker's other local copies, never while in use
(infrastructure.storage.local_cache): `checkpoint_folder_held` holds one for as long as a loader or
a training run reads it.
"""

import logging
import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from aigc_platform.core.errors import ApplicationError
from infrastructure.storage.selectors import local_path_pinned
from infrastructure.storage.services import local_copies_make_room

logger = logging.getLogger(__name__)

# A zipped checkpoint unpacks to at most this much; more is refused as a likely ZIP bomb.
MAX_UNPACKED_BYTES = 20 * 1024**3


def _models_dir() -> Path:
    path = settings.MODEL_FOLDERS_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def _build_once(target: Path, build) -> Path:
    """Run `build(folder)` into a temporary folder and move it to `target`, unless it exists. Old
    local copies are evicted first, to make room."""
    with local_path_pinned(target):
        if target.is_dir():
            return target
        local_copies_make_room()
        scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            build(scratch)
            try:
                os.rename(scratch, target)
            except OSError:
                if not target.is_dir():
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return target


@contextmanager
def checkpoint_folder_held(path: Path, sha256: str, format: str) -> Iterator[Path]:
    """The checkpoint folder of a "gguf" or "hf" (zipped) artifact at `path`, made once, and held in use
    (not evicted) until the block ends."""
    with local_path_pinned(_models_dir() / f"{sha256}-{'hf' if format == 'gguf' else 'zip'}"):
        yield hf_folder_from_gguf(path, sha256) if format == "gguf" else hf_folder_from_zip(path, sha256)


def load_hf_causal_lm(path: Path, sha256: str, format: str, device) -> tuple:
    """(model, tokenizer) of a "gguf" or "hf" (zipped) checkpoint, in eval mode on `device`: float32
    on a CPU, bfloat16 on a GPU. A checkpoint that does not load is an ApplicationError."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with checkpoint_folder_held(path, sha256, format) as folder:
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            dtype = torch.float32 if device.type == "cpu" else torch.bfloat16
            model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, local_files_only=True).to(device).eval()
        except Exception as error:
            raise ApplicationError(f"The checkpoint does not load: {error}", code="invalid_model") from None
    return model, tokenizer


def hf_folder_from_gguf(path: Path, sha256: str) -> Path:
    def convert(folder: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        # transformers wants the GGUF by name inside a folder; a link gives it one whatever the object is called.
        source = folder / "source"
        source.mkdir()
        (source / "model.gguf").symlink_to(path.resolve())
        logger.info("Converting GGUF %s into a checkpoint folder (once)", sha256[:12])
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, gguf_file="model.gguf")
            model = AutoModelForCausalLM.from_pretrained(source, gguf_file="model.gguf")
        except Exception as error:
            raise ApplicationError(f"The GGUF file does not load: {error}", code="invalid_model") from None
        # The de-quantized weights are plain tensors now; the GGUF marker would stop save_pretrained.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        shutil.rmtree(source)

    return _build_once(_models_dir() / f"{sha256}-hf", convert)


def tokenizer_from_gguf(path: Path, sha256: str):
    """The transformers tokenizer (chat template included) of a GGUF file, for a decoder that reads the
    weights from the file itself (llamacpp.py). Reading it from the GGUF takes some 20 s for a 49k
    vocabulary, so it is saved once as a folder beside the checkpoint folders; a folder converted
    earlier for the torch runtime serves as well."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    def convert(folder: Path) -> None:
        source = folder / "source"
        source.mkdir()
        (source / "model.gguf").symlink_to(path.resolve())
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, gguf_file="model.gguf")
        except Exception as error:
            raise ApplicationError(f"The GGUF file's tokenizer does not load: {error}", code="invalid_model") from None
        tokenizer.save_pretrained(folder)
        shutil.rmtree(source)

    converted = _models_dir() / f"{sha256}-hf"
    with local_path_pinned(converted):
        if converted.is_dir():
            return AutoTokenizer.from_pretrained(converted, local_files_only=True)
    folder = _models_dir() / f"{sha256}-tokenizer"
    with local_path_pinned(folder):
        return AutoTokenizer.from_pretrained(_build_once(folder, convert), local_files_only=True)


def hf_folder_from_zip(path: Path, sha256: str) -> Path:
    def unpack(folder: Path) -> None:
        if not zipfile.is_zipfile(path) and tarfile.is_tarfile(path):
            _unpack_tar(path, folder)
            return
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            raise ApplicationError("The checkpoint is not a ZIP file.", code="invalid_model") from None
        with archive:
            total = 0
            for member in archive.infolist():
                total += member.file_size
                name = Path(member.filename)
                if name.is_absolute() or ".." in name.parts:
                    raise ApplicationError(f"The ZIP has an unsafe path: {member.filename}", code="invalid_model")
            if total > MAX_UNPACKED_BYTES:
                raise ApplicationError("The ZIP unpacks to more than 20 GiB.", code="invalid_model")
            archive.extractall(folder)

    unpacked = _build_once(_models_dir() / f"{sha256}-zip", unpack)
    configs = sorted(unpacked.rglob("config.json"), key=lambda p: len(p.parts))
    if not configs:
        raise ApplicationError(
            "The ZIP holds no config.json: it is not a Hugging Face checkpoint.", code="invalid_model"
        )
    return configs[0].parent


def _unpack_tar(path: Path, folder: Path) -> None:
    """A tar (plain or compressed) of a checkpoint folder: regular files and folders only, inside `folder`."""
    with tarfile.open(path) as archive:
        members = archive.getmembers()
        for member in members:
            name = Path(member.name)
            if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
                raise ApplicationError(f"The tar has an unsafe or linked path: {member.name}", code="invalid_model")
        if sum(member.size for member in members) > MAX_UNPACKED_BYTES:
            raise ApplicationError("The tar unpacks to more than 20 GiB.", code="invalid_model")
        archive.extractall(folder, filter="data")
