"""`vae`: a variational autoencoder for small grayscale images; its decoder generates new ones."""

from pathlib import Path

import torch
from torch import nn

from tools_layer.training.recipes import register_recipe
from tools_layer.training.recipes.base import World, unwrap, wrap_distributed
from tools_layer.training.recipes.images import ImageTrainer


class Vae(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        size, width, latent = int(config["image_size"]), int(config["width"]), int(config["latent_dim"])
        self.shape = (int(config.get("channels", 1)), size, size)
        pixels = self.shape[0] * size * size
        self.encoder = nn.Sequential(nn.Linear(pixels, width), nn.ReLU(True), nn.Linear(width, width), nn.ReLU(True))
        self.mean, self.log_var = nn.Linear(width, latent), nn.Linear(width, latent)
        self.decoder = nn.Sequential(
            nn.Linear(latent, width), nn.ReLU(True), nn.Linear(width, width), nn.ReLU(True), nn.Linear(width, pixels)
        )

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Logits of the pixels, shaped as images."""
        return self.decoder(latent).view(-1, *self.shape)

    def forward(self, images: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        hidden = self.encoder(images.flatten(1))
        mean, log_var = self.mean(hidden), self.log_var(hidden)
        return self.decode(mean + noise * torch.exp(0.5 * log_var)), mean, log_var


def negative_elbo(model: nn.Module, images: torch.Tensor, noise: torch.Tensor, beta: float) -> torch.Tensor:
    """Per-image loss: reconstruction (Bernoulli likelihood of the pixels) plus beta times the KL term."""
    logits, mean, log_var = model(images, noise)
    reconstruction = nn.functional.binary_cross_entropy_with_logits(logits, images, reduction="sum")
    kl = -0.5 * torch.sum(1 + log_var - mean.pow(2) - log_var.exp())
    return (reconstruction + beta * kl) / len(images)


def build_vae(config: dict) -> nn.Module:
    return Vae(config)


def sample_vae(module: nn.Module, count: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    latent = module.mean.out_features
    return torch.sigmoid(module.decode(torch.randn(count, latent, generator=generator).to(device)))


@register_recipe
class VaeTrainer(ImageTrainer):
    name = "vae"
    architecture = "vae"

    def __init__(
        self,
        *,
        hyperparameters: dict,
        data: dict,
        device: torch.device,
        world: World = World(),
        base_folder: Path | None = None,
        state: dict | None = None,
    ):
        super().__init__(hyperparameters=hyperparameters, data=data, device=device, world=world, state=state)
        self._images(data)
        model = Vae(self.model_config()).to(device)
        if state:
            model.load_state_dict(state["model"])
        self.model = wrap_distributed(model, world, device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=float(self.hp["learning_rate"]))
        if state:
            self.optimizer.load_state_dict(state["optimizer"])
            self.restore_rng(state["rng"])
        self.val_noise = torch.randn(
            len(self.val_images), int(self.hp["latent_dim"]), generator=torch.Generator().manual_seed(7)
        )

    def step(self, step: int) -> dict:
        lr = self.learning_rate(step)
        self.set_learning_rate(self.optimizer, lr)
        self.model.train()
        images = self.batch()
        noise = torch.randn(len(images), int(self.hp["latent_dim"]), generator=self.batch_generator).to(self.device)
        loss = negative_elbo(self.model, images, noise, float(self.hp["beta"]))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.item(), "lr": lr, "units": len(images)}

    @torch.no_grad()
    def evaluate(self) -> dict:
        model = unwrap(self.model)
        model.eval()
        images = self.val_images.to(self.device)
        return {"val_loss": negative_elbo(model, images, self.val_noise.to(self.device), float(self.hp["beta"])).item()}

    def generate(self, noise: torch.Tensor) -> torch.Tensor:
        module = unwrap(self.model)
        module.eval()
        return torch.sigmoid(module.decode(noise))

    def runtime_module(self) -> nn.Module:
        return self.model

    def state(self) -> dict:
        return {
            "model": unwrap(self.model).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": self.rng_state(),
        }
