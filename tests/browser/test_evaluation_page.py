"""An operator evaluates an image generator's version from the evaluations page and sees its metrics
and sample grid side by side with the other versions."""

import io

import pytest
import torch
from playwright.sync_api import expect

from infrastructure.storage.services import file_store
from models_layer.registry.services import generator_create, generator_version_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_starts_an_evaluation_and_sees_the_grid(sign_in, operator, inference_worker, web):
    from tools_layer.training.recipes.vae import build_vae

    # Given an image generator with two versions (small untrained VAEs), neither evaluated yet.
    generator = generator_create(owner=operator, slug="page-vae", name="Page VAE", kind="image", backend="torch")
    config = {"image_size": 8, "width": 16, "latent_dim": 4, "channels": 1}
    for seed in (0, 1):
        torch.manual_seed(seed)
        buffer = io.BytesIO()
        torch.save({"architecture": "vae", "config": config, "state_dict": build_vae(config).state_dict()}, buffer)
        buffer.seek(0)
        generator_version_create(
            generator=generator,
            artifact=file_store(owner=operator, stream=buffer, filename="vae.pt"),
            format="torch",
            created_by=operator,
        )
    page = sign_in(operator)
    page.click("nav >> text=Evaluations")
    comparison = page.locator('[data-testid="comparison"]')
    expect(comparison).to_contain_text("v2")
    expect(comparison).to_contain_text("not evaluated")

    # When they evaluate version 1 on 16 samples.
    expect(page.locator('#start select[name="version"]')).not_to_contain_text("production")  # it has none
    page.select_option('#start select[name="version"]', "1")
    page.fill('#start input[name="max_items"]', "16")
    page.get_by_role("button", name="Evaluate").click()

    # Then the page follows the job and, once it has finished, shows v1's diversity and grid beside v2.
    expect(page.get_by_alt_text("Samples of v1")).to_be_visible(timeout=90_000)
    expect(comparison).to_contain_text("Diversity of samples")
    expect(page.locator('[data-testid="evaluations"]')).to_contain_text("succeeded")
    assert page.get_by_alt_text("Samples of v1").evaluate("image => image.naturalWidth") > 0
