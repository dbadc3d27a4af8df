"""The training loop every recipe runs, in a job or in each `torchrun` rank. It knows nothing of
Django: what it measures and saves goes to a `Reporter` (the job's own, or the ranks' pipe)."""

import time
from pathlib import Path
from typing import Protocol

import torch

from tools_layer.training.recipes import Trainer


class Reporter(Protocol):
    def check_stop(self, step: int) -> None:
        """Raise to stop the run before `step` (cancel, or the job lost to another attempt)."""

    def metrics(self, step: int, values: dict) -> None: ...

    def sample(self, step: int, sample: dict) -> None: ...

    def checkpoint(self, step: int, state: dict) -> None: ...


def _gpu_memory_mb(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    return round(torch.cuda.max_memory_allocated(device) / 2**20, 1)


def train(trainer: Trainer, *, start_step: int, reporter: Reporter, is_main: bool = True) -> dict:
    """Steps `start_step + 1 … steps`. Every `eval_every` steps (and at the end) the mean training
    loss since the last report, the validation metrics, the learning rate and the throughput (of the
    training steps alone, all ranks together) are
    reported; samples every `sample_every`; the full state every `checkpoint_every` and at the end.
    Returns the last metrics reported."""
    hp = trainer.hp
    total, eval_every = int(hp["steps"]), int(hp["eval_every"])
    sample_every, checkpoint_every = int(hp["sample_every"]), int(hp["checkpoint_every"])
    losses: list[float] = []
    extra: dict[str, list[float]] = {}
    units, seconds = 0, 0.0
    last: dict = {}
    for step in range(start_step + 1, total + 1):
        reporter.check_stop(step)
        started = time.perf_counter()
        result = trainer.step(step)
        seconds += time.perf_counter() - started
        losses.append(result["loss"])
        for name, value in result.items():
            if name not in ("loss", "units", "lr"):
                extra.setdefault(name, []).append(value)
        units += int(result["units"]) * trainer.world.size
        final = step == total
        if step % eval_every == 0 or final:
            values = {
                "loss": sum(losses) / len(losses),
                "lr": result["lr"],
                f"{trainer.unit}_per_second": units / max(seconds, 1e-9),
                **{k: sum(v) / len(v) for k, v in extra.items()},
            }
            if is_main:
                values.update(trainer.evaluate())
                memory = _gpu_memory_mb(trainer.device)
                if memory is not None:
                    values["gpu_memory_mb"] = memory
                reporter.metrics(step, values)
            last = values
            losses, extra, units, seconds = [], {}, 0, 0.0
        if is_main and (step % sample_every == 0 or final):
            reporter.sample(step, trainer.sample())
        if step % checkpoint_every == 0 or final:
            if is_main:
                reporter.checkpoint(step, trainer.state())
    return last


def export(trainer: Trainer, folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    return trainer.export(folder)
