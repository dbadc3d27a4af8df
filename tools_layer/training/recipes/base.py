"""What every recipe's trainer offers the training loop, and helpers they share."""

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch


@dataclass(frozen=True)
class World:
    """This process's place in a (possibly one-process) distributed run."""

    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


@dataclass
class Export:
    """A trained model written for the runtime: the file, its registry format and version parameters."""

    path: Path
    format: str
    parameters: dict = field(default_factory=dict)


class Trainer:
    """One recipe's model, optimizer and data. The loop calls `step` once per optimizer step.

    `state()` holds everything a resumed run needs to continue exactly where the checkpoint was
    taken (weights, optimizer, random generators); `Trainer(..., state=...)` restores it.
    """

    name: str = ""
    dataset_kind: str = "text"
    generator_kind: str = "text"
    needs_base: bool = False
    unit: str = "tokens"

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
        self.hp = hyperparameters
        self.device = device
        self.world = world
        self.batch_generator = torch.Generator().manual_seed(int(hyperparameters["seed"]))
        torch.manual_seed(int(hyperparameters["seed"]))

    def step(self, step: int) -> dict:
        """One optimizer step; returns {"loss": float, "units": items processed (tokens or images), …}."""
        raise NotImplementedError

    def evaluate(self) -> dict:
        """Metrics on the validation split, e.g. {"val_loss": float}."""
        raise NotImplementedError

    def sample(self) -> dict:
        """A sample of what it generates now: {"text": str} or {"png": bytes}."""
        raise NotImplementedError

    def state(self) -> dict:
        raise NotImplementedError

    def export(self, folder: Path) -> Export:
        raise NotImplementedError

    # Shared pieces

    def learning_rate(self, step: int) -> float:
        """Linear warm-up, then cosine decay to a tenth of the peak over the run."""
        peak, warmup, total = float(self.hp["learning_rate"]), int(self.hp["warmup_steps"]), int(self.hp["steps"])
        if warmup and step <= warmup:
            return peak * step / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))

    @staticmethod
    def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
        for group in optimizer.param_groups:
            group["lr"] = lr

    def rng_state(self) -> dict:
        return {"batches": self.batch_generator.get_state(), "torch": torch.get_rng_state()}

    def restore_rng(self, state: dict) -> None:
        self.batch_generator.set_state(state["batches"])
        torch.set_rng_state(state["torch"])

    def global_indices(self, count: int, high: int) -> torch.Tensor:
        """This rank's share of a global batch drawn by the seeded generator every rank shares, so
        ranks see different examples and the generator's state is the same on all of them."""
        drawn = torch.randint(high, (count * self.world.size,), generator=self.batch_generator)
        return drawn[self.world.rank * count : (self.world.rank + 1) * count]


def wrap_distributed(module: torch.nn.Module, world: World, device: torch.device) -> torch.nn.Module:
    """DDP around the module when the run has more than one process; the module itself otherwise."""
    if world.size == 1:
        return module
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)


def unwrap(module: torch.nn.Module) -> torch.nn.Module:
    return getattr(module, "module", module)


def image_grid_png(images: torch.Tensor, *, columns: int = 8, scale: int = 4) -> bytes:
    """Images [n, channels, h, w] in 0..1 as one PNG grid, each pixel `scale` pixels wide."""
    from PIL import Image

    images = images.detach().float().clamp(0, 1).cpu()
    count, channels, height, width = images.shape
    rows = math.ceil(count / columns)
    grid = torch.zeros(channels, rows * (height + 1) + 1, columns * (width + 1) + 1)
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = 1 + row * (height + 1), 1 + column * (width + 1)
        grid[:, top : top + height, left : left + width] = images[index]
    array = (grid * 255).round().to(torch.uint8)
    array = array.repeat_interleave(scale, dim=1).repeat_interleave(scale, dim=2)
    picture = Image.fromarray(array[0].numpy() if channels == 1 else array.permute(1, 2, 0).numpy())
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()
