"""A dataset version's examples as a recipe takes them: texts as strings, images as a float tensor
[n, 1, size, size] in 0..1 (grayscale, resized), each split on its own."""

import io

import torch
from django.utils.translation import gettext
from PIL import Image

from aigc_platform.core.errors import ApplicationError
from tools_layer.datasets.models import DatasetVersion, Split
from tools_layer.datasets.selectors import dataset_version_items


def _image_tensor(data: bytes, size: int) -> torch.Tensor:
    with Image.open(io.BytesIO(data)) as image:
        gray = image.convert("L").resize((size, size), Image.Resampling.BILINEAR)
        return torch.frombuffer(bytearray(gray.tobytes()), dtype=torch.uint8).view(1, size, size).float() / 255


def preference_pair(example) -> dict | None:
    """A preference item as {prompt, chosen, rejected}; None for a tie or an unjudged pair (nothing to learn)."""
    pair, winner = example.pair or {}, example.label
    if winner not in ("a", "b"):
        return None
    loser = "b" if winner == "a" else "a"
    return {"prompt": pair.get("prompt", ""), "chosen": pair[winner], "rejected": pair[loser]}


def training_data(*, version: DatasetVersion, kind: str, image_size: int = 8) -> dict:
    """{"train": …, "validation": …} of the version (texts, image tensors, or preference pairs);
    ApplicationError when its kind does not fit the recipe."""
    if version.dataset.kind != kind:
        raise ApplicationError(
            gettext("This recipe trains on %(kind)s datasets; %(version)s is a %(kind2)s dataset.")
            % {"kind": kind, "version": version, "kind2": version.dataset.kind},
            fields={"dataset_version": [gettext("Pick a %(kind)s dataset version.") % {"kind": kind}]},
        )
    splits: dict = {}
    for split in (Split.TRAIN, Split.VALIDATION):
        examples = dataset_version_items(version=version, split=split)
        if kind == "image":
            images = [_image_tensor(example.image, image_size) for example in examples]
            splits[split.value] = torch.stack(images) if images else torch.zeros(0, 1, image_size, image_size)
        elif kind == "preference":
            splits[split.value] = [pair for example in examples if (pair := preference_pair(example)) is not None]
        else:
            # Plain str keys: the DDP ranks read this with torch.load(weights_only=True), which refuses enums.
            splits[split.value] = [example.text for example in examples]
    if not len(splits[Split.TRAIN]):
        raise ApplicationError(
            gettext("%(version)s has no training examples.") % {"version": version}, code="empty_dataset"
        )
    return splits
