"""A dataset version's examples as a recipe takes them: texts as strings, images as a float tensor
[n, 1, size, size] in 0..1 (grayscale, resized), each split on its own."""
import io

import torch
from PIL import Image

from aigc_platform.core.errors import ApplicationError
from tools_layer.datasets.models import DatasetVersion, Split
from tools_layer.datasets.selectors import dataset_version_items


def _image_tensor(data: bytes, size: int) -> torch.Tensor:
    with Image.open(io.BytesIO(data)) as image:
        gray = image.convert("L").resize((size, size), Image.Resampling.BILINEAR)
        return torch.frombuffer(bytearray(gray.tobytes()), dtype=torch.uint8).view(1, size, size).float() / 255


def training_data(*, version: DatasetVersion, kind: str, image_size: int = 8) -> dict:
    """{"train": …, "validation": …} of the version; ApplicationError when its kind does not fit the recipe."""
    if version.dataset.kind != kind:
        raise ApplicationError(f"This recipe trains on {kind} datasets; {version} is a {version.dataset.kind} dataset.",
                               fields={"dataset_version": [f"Pick a {kind} dataset version."]})
    splits: dict = {}
    for split in Split.values:
        examples = dataset_version_items(version=version, split=split)
        if kind == "image":
            images = [_image_tensor(example.image, image_size) for example in examples]
            splits[split] = torch.stack(images) if images else torch.zeros(0, 1, image_size, image_size)
        else:
            splits[split] = [example.text for example in examples]
    if not len(splits[Split.TRAIN]):
        raise ApplicationError(f"{version} has no training examples.", code="empty_dataset")
    return splits
