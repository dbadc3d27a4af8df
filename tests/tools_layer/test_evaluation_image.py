"""Evaluation of an image generator: a sample grid stored as a PNG and a diversity number. In this
process against tiny architectures registered here (a varied one and a collapsed one), and as a Job
on the inference worker against the `vae` architecture the training layer registers there."""

import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits

from infrastructure.storage.selectors import file_open
from infrastructure.storage.services import file_store
from models_layer.registry.models import GeneratorVersion
from models_layer.registry.services import generator_create, generator_version_create
from models_layer.runtime import TorchArchitecture, register_torch_architecture
from tests.processes import wait_for
from tools_layer.datasets import services as datasets
from tools_layer.evaluation import services
from tools_layer.evaluation.metrics import GRID_GAP, pairwise_diversity

pytestmark = pytest.mark.django_db

SIDE = 8


class TinyDecoder(torch.nn.Module):
    """Latent noise through one linear layer to an 8x8 grey image."""

    def __init__(self, latent: int):
        super().__init__()
        self.latent = latent
        self.out = torch.nn.Linear(latent, SIDE * SIDE)


def _sample(module: TinyDecoder, count: int, generator: torch.Generator, device) -> torch.Tensor:
    noise = torch.randn(count, module.latent, generator=generator).to(device)
    return torch.sigmoid(module.out(noise)).view(count, 1, SIDE, SIDE)


register_torch_architecture(
    TorchArchitecture(
        name="evaluation-test-tiny", kind="image", build=lambda config: TinyDecoder(config["latent"]), sample=_sample
    )
)


def image_version(owner, slug: str, *, collapsed: bool) -> GeneratorVersion:
    module = TinyDecoder(4)
    torch.manual_seed(0)
    if collapsed:
        # Zero weights: every sample is the same grey picture, whatever the noise.
        torch.nn.init.zeros_(module.out.weight)
    buffer = io.BytesIO()
    torch.save(
        {"architecture": "evaluation-test-tiny", "config": {"latent": 4}, "state_dict": module.state_dict()}, buffer
    )
    buffer.seek(0)
    artifact = file_store(owner=owner, stream=buffer, filename=f"{slug}.pt")
    generator = generator_create(owner=owner, slug=slug, name=slug, kind="image", backend="torch")
    return generator_version_create(generator=generator, artifact=artifact, format="torch", created_by=owner)


def digits_version(owner):
    """A real image dataset: 60 of scikit-learn's 8x8 digits, imported as a ZIP of PNGs."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        digits = load_digits()
        for index in range(60):
            picture = Image.fromarray((digits.images[index] * 255 / 16).astype(np.uint8))
            png = io.BytesIO()
            picture.save(png, format="PNG")
            zipped.writestr(f"{digits.target[index]}/{index}.png", png.getvalue())
    archive.seek(0)
    dataset = datasets.dataset_create(owner=owner, name="digits", kind="image")
    file = file_store(owner=owner, stream=archive, filename="digits.zip")
    datasets.dataset_import_file(dataset=dataset, file=file, options={}, owner=owner)
    return datasets.dataset_version_create(dataset=dataset, user=owner, validation_fraction=0.5)


def test_image_evaluation_stores_a_grid_and_measures_diversity(operator):
    version = image_version(operator, "tiny-images", collapsed=False)
    image_version(operator, "tiny-collapsed", collapsed=True)
    digits = digits_version(operator)
    reported = []

    # When a generator is evaluated on 20 samples, next to the digits' validation images.
    evaluation = services.evaluation_submit(
        user=operator, generator="tiny-images", version=1, dataset_version=digits.pk, max_items=20
    )
    result = services.evaluation_run(
        evaluation=evaluation, progress=lambda fraction, message: reported.append(fraction)
    )
    evaluation.refresh_from_db()

    # Then the grid is a PNG of 8 x 3 tiles (20 samples), each scaled up to 64 pixels.
    assert evaluation.grid is not None and result["grid"] == str(evaluation.grid.pk)
    with file_open(file=evaluation.grid) as stream:
        grid = Image.open(io.BytesIO(stream.read()))
    cell = SIDE + GRID_GAP
    assert grid.format == "PNG" and grid.size == ((8 * cell + GRID_GAP) * 8, (3 * cell + GRID_GAP) * 8)

    # And the diversity is a number between that of identical pictures (0) and of pure noise (~0.41).
    metrics = evaluation.metrics
    assert metrics["samples"] == 20 and (metrics["width"], metrics["height"], metrics["channels"]) == (SIDE, SIDE, 1)
    assert 0.01 < metrics["diversity"] < 0.41
    assert 0.1 < metrics["dataset_diversity"] < 0.6 and metrics["dataset_samples"] == 20
    assert reported == sorted(reported) and reported[-1] == 0.98 and len(reported) >= 3
    # The version's metrics carry it too.
    assert GeneratorVersion.objects.get(pk=version.pk).metrics["diversity"] == metrics["diversity"]

    # The same evaluation again draws the same samples; a collapsed generator scores 0.
    again = services.evaluation_submit(user=operator, generator="tiny-images", version=1, max_items=20)
    assert services.evaluation_run(evaluation=again)["metrics"]["diversity"] == metrics["diversity"]
    flat = services.evaluation_submit(user=operator, generator="tiny-collapsed", version=1, max_items=20)
    assert services.evaluation_run(evaluation=flat)["metrics"]["diversity"] == 0.0


def test_pairwise_diversity_of_known_pictures():
    black, white = np.zeros((4, 4, 1), np.uint8), np.full((4, 4, 1), 255, np.uint8)
    assert pairwise_diversity([black, black]) == 0.0
    assert pairwise_diversity([black, white]) == 1.0
    # Three pictures: pairs (b, b) = 0, (b, w) = 1, (b, w) = 1.
    assert pairwise_diversity([black, black, white]) == pytest.approx(2 / 3)
    assert pairwise_diversity([black]) is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_trained_architectures_version_is_evaluated_by_a_job_on_the_inference_worker(
    inference_worker, operator, client_for
):
    """Through the API and a real worker, with the `vae` architecture the training layer registers there."""
    from tools_layer.training.recipes.vae import build_vae

    # Given a small untrained VAE saved as the torch backend loads it.
    torch.manual_seed(0)
    config = {"image_size": SIDE, "width": 16, "latent_dim": 4, "channels": 1}
    buffer = io.BytesIO()
    torch.save({"architecture": "vae", "config": config, "state_dict": build_vae(config).state_dict()}, buffer)
    buffer.seek(0)
    generator = generator_create(owner=operator, slug="tiny-vae", name="Tiny VAE", kind="image", backend="torch")
    generator_version_create(
        generator=generator,
        artifact=file_store(owner=operator, stream=buffer, filename="vae.pt"),
        format="torch",
        created_by=operator,
    )
    client = client_for(operator)

    # When an evaluation of its version 1 is started.
    response = client.post(
        "/api/v1/evaluations/", {"generator": "tiny-vae", "version": 1, "max_items": 16}, format="json"
    )
    assert response.status_code == 202, response.json()

    # Then the job finishes with a diversity number and a grid anyone who sees the generator can fetch.
    done = wait_for(
        lambda: (
            (e := client.get(f"/api/v1/evaluations/{response.json()['object']['id']}/").json())["status"]
            in ("succeeded", "failed")
            and e
        ),
        timeout=120,
        interval=0.5,
        what="the evaluation",
    )
    assert done["status"] == "succeeded", done["error"]
    assert 0 < done["metrics"]["diversity"] < 1 and done["metrics"]["samples"] == 16
    grid = client.get(done["grid_url"])
    assert grid.status_code == 200 and grid["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(grid.content)).size == (
        (8 * (SIDE + GRID_GAP) + GRID_GAP) * 8,
        (2 * (SIDE + GRID_GAP) + GRID_GAP) * 8,
    )
    assert (
        GeneratorVersion.objects.get(generator=generator, number=1).metrics["diversity"] == done["metrics"]["diversity"]
    )
