"""`dcgan`: a deep convolutional GAN for small grayscale images (8x8 or 16x16, such as digits)."""

from pathlib import Path

import torch
from torch import nn

from tools_layer.training.recipes import register_recipe
from tools_layer.training.recipes.base import World, unwrap, wrap_distributed
from tools_layer.training.recipes.images import ImageTrainer, mmd_rbf


class DcganGenerator(nn.Module):
    """Noise → a quarter-size feature map → two stride-2 transposed convolutions → the image in 0..1."""

    def __init__(self, config: dict):
        super().__init__()
        size, width, latent = int(config["image_size"]), int(config["width"]), int(config["latent_dim"])
        self.start, self.width = size // 4, width
        self.project = nn.Sequential(
            nn.Linear(latent, 2 * width * self.start * self.start),
            nn.BatchNorm1d(2 * width * self.start * self.start),
            nn.ReLU(True),
        )
        self.up = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
            nn.ConvTranspose2d(width, int(config.get("channels", 1)), 4, 2, 1),
            nn.Sigmoid(),
        )

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return self.up(self.project(noise).view(-1, 2 * self.width, self.start, self.start))


class DcganDiscriminator(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        size, width = int(config["image_size"]), int(config["width"])
        self.features = nn.Sequential(
            nn.Conv2d(int(config.get("channels", 1)), width, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(width, 2 * width, 4, 2, 1),
            nn.BatchNorm2d(2 * width),
            nn.LeakyReLU(0.2, True),
        )
        self.classify = nn.Linear(2 * width * (size // 4) ** 2, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(images).flatten(1)).squeeze(1)


def build_generator(config: dict) -> nn.Module:
    return DcganGenerator(config)


def sample_generator(module: nn.Module, count: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    latent = module.project[0].in_features
    return module(torch.randn(count, latent, generator=generator).to(device))


@register_recipe
class Dcgan(ImageTrainer):
    name = "dcgan"
    architecture = "dcgan"

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
        config, hp = self.model_config(), self.hp
        generator, discriminator = DcganGenerator(config).to(device), DcganDiscriminator(config).to(device)
        if state:
            generator.load_state_dict(state["generator"])
            discriminator.load_state_dict(state["discriminator"])
        if world.size > 1:
            generator = nn.SyncBatchNorm.convert_sync_batchnorm(generator) if device.type == "cuda" else generator
        self.generator = wrap_distributed(generator, world, device)
        self.discriminator = wrap_distributed(discriminator, world, device)
        betas = (float(hp["beta1"]), 0.999)
        self.g_optimizer = torch.optim.Adam(self.generator.parameters(), lr=float(hp["learning_rate"]), betas=betas)
        self.d_optimizer = torch.optim.Adam(self.discriminator.parameters(), lr=float(hp["learning_rate"]), betas=betas)
        if state:
            self.g_optimizer.load_state_dict(state["g_optimizer"])
            self.d_optimizer.load_state_dict(state["d_optimizer"])
            self.restore_rng(state["rng"])

    def step(self, step: int) -> dict:
        lr = self.learning_rate(step)
        self.set_learning_rate(self.g_optimizer, lr)
        self.set_learning_rate(self.d_optimizer, lr)
        self.generator.train()
        self.discriminator.train()
        real = self.batch()
        noise = torch.randn(len(real), int(self.hp["latent_dim"]), generator=self.batch_generator).to(self.device)
        bce = nn.functional.binary_cross_entropy_with_logits
        fake = self.generator(noise)
        # Real and fake in one forward pass: under DDP a module may run forward only once per backward.
        logits = self.discriminator(torch.cat([real, fake.detach()]))
        labels = torch.cat([torch.ones(len(real), device=self.device), torch.zeros(len(real), device=self.device)])
        d_loss = 2 * bce(logits, labels)
        self.d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        self.d_optimizer.step()
        g_loss = bce(self.discriminator(fake), torch.ones(len(real), device=self.device))
        self.g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        self.g_optimizer.step()
        return {"loss": g_loss.item(), "d_loss": d_loss.item(), "lr": lr, "units": len(real)}

    def generate(self, noise: torch.Tensor) -> torch.Tensor:
        module = unwrap(self.generator)
        module.eval()
        return module(noise)

    @torch.no_grad()
    def evaluate(self) -> dict:
        """A GAN's own losses do not show progress; the distance of its images to held-out real ones does."""
        generated = self.generate(self.fixed_noise.to(self.device))
        real = self.val_images[: len(generated)].to(self.device)
        return {"val_loss": mmd_rbf(generated, real)}

    def runtime_module(self) -> nn.Module:
        return self.generator

    def state(self) -> dict:
        return {
            "generator": unwrap(self.generator).state_dict(),
            "discriminator": unwrap(self.discriminator).state_dict(),
            "g_optimizer": self.g_optimizer.state_dict(),
            "d_optimizer": self.d_optimizer.state_dict(),
            "rng": self.rng_state(),
        }
