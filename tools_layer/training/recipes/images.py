"""What the two image recipes share: batches of the version's images, sample grids, and the torch
checkpoint {architecture, config, state_dict} that the runtime's torch backend loads."""

from pathlib import Path

import torch

from tools_layer.training.recipes.base import Export, Trainer, image_grid_png, unwrap

SAMPLE_COUNT = 32
# A fixed batch of noise for validation and samples, so curves and grids compare across steps.
FIXED_NOISE_SEED = 1234


def mmd_rbf(x: torch.Tensor, y: torch.Tensor) -> float:
    """Squared maximum mean discrepancy between two sets of images (RBF kernels at several widths):
    0 when they are drawn from the same distribution; it falls as generated images approach real ones."""
    x, y = x.flatten(1).float(), y.flatten(1).float()
    points = torch.cat([x, y])
    distances = torch.cdist(points, points).pow(2)
    scale = distances.mean().clamp_min(1e-6)
    kernel = sum(torch.exp(-distances / (scale * width)) for width in (0.25, 1.0, 4.0))
    n = len(x)
    return (kernel[:n, :n].mean() + kernel[n:, n:].mean() - 2 * kernel[:n, n:].mean()).item()


class ImageTrainer(Trainer):
    dataset_kind = "image"
    generator_kind = "image"
    unit = "images"
    architecture = ""

    def _images(self, data: dict) -> None:
        self.train_images = data["train"]
        validation = data.get("validation")
        self.val_images = validation if validation is not None and len(validation) else self.train_images[:256]
        if len(self.train_images) < 2:
            raise ValueError("An image recipe needs at least two training images.")
        self.fixed_noise = torch.randn(
            SAMPLE_COUNT, int(self.hp["latent_dim"]), generator=torch.Generator().manual_seed(FIXED_NOISE_SEED)
        )

    def batch(self) -> torch.Tensor:
        indices = self.global_indices(int(self.hp["batch_size"]), len(self.train_images))
        return self.train_images[indices].to(self.device)

    def generate(self, noise: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def sample(self) -> dict:
        return {"png": image_grid_png(self.generate(self.fixed_noise.to(self.device)))}

    def model_config(self) -> dict:
        return {
            "image_size": int(self.hp["image_size"]),
            "latent_dim": int(self.hp["latent_dim"]),
            "channels": 1,
            "width": int(self.hp["width"]),
        }

    def runtime_module(self) -> torch.nn.Module:
        raise NotImplementedError

    def export(self, folder: Path) -> Export:
        path = folder / f"{self.architecture}.pt"
        module = unwrap(self.runtime_module())
        state = {name: value.detach().cpu() for name, value in module.state_dict().items()}
        torch.save({"architecture": self.architecture, "config": self.model_config(), "state_dict": state}, path)
        return Export(path=path, format="torch", parameters={})
