"""Real data for the training tests, frozen as dataset versions: prose from Python's own
`pydoc_data.topics`, and scikit-learn's bundled 8x8 digits as PNG images."""

import io

import numpy as np
from PIL import Image

from tools_layer.datasets import services as datasets
from tools_layer.datasets.parsers import RawItem


def topic_texts(count: int) -> list[str]:
    from pydoc_data.topics import topics

    return [topics[name] for name in sorted(topics)[:count]]


def digit_pngs(count: int) -> list[bytes]:
    from sklearn.datasets import load_digits

    images = []
    for array in load_digits().images[:count]:
        buffer = io.BytesIO()
        Image.fromarray((np.asarray(array) * (255 / 16)).round().astype(np.uint8), mode="L").save(buffer, format="PNG")
        images.append(buffer.getvalue())
    return images


def text_version(owner, *, count: int = 24, name: str = "pydoc topics"):
    dataset = datasets.dataset_create(owner=owner, name=name, kind="text")
    raws = [RawItem(where=f"topic {index}", text=text) for index, text in enumerate(topic_texts(count))]
    datasets.dataset_items_append(dataset=dataset, owner=owner, texts=raws, max_chars=1_000_000)
    return datasets.dataset_version_create(dataset=dataset, user=owner, seed=1, validation_fraction=0.2)


def image_version(owner, *, count: int = 300, name: str = "digits"):
    dataset = datasets.dataset_create(owner=owner, name=name, kind="image")
    raws = [
        RawItem(where=f"digit {index}", image=png, image_format="PNG", filename=f"digit-{index}.png", width=8, height=8)
        for index, png in enumerate(digit_pngs(count))
    ]
    datasets.dataset_items_append(dataset=dataset, owner=owner, texts=raws)
    return datasets.dataset_version_create(dataset=dataset, user=owner, seed=1, validation_fraction=0.2)
