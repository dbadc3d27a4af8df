"""Multi-process training: the job starts `torchrun`, whose ranks train one model with DDP (NCCL
across the worker's GPUs, or gloo across CPU processes), and relays what rank 0 reports.

The ranks import no Django: the job hands them a work folder (the spec, the examples, the
checkpoint to resume from) and rank 0 answers on stdout with one `@@training {json}` line per
report: metrics, samples, checkpoints (written into the folder, stored by the job) and the export.
The job stops the whole process group on cancel; a rank dies with its parent if the worker is killed.

    python -m tools_layer.training.distributed WORKDIR      (run by torchrun, once per rank)
"""

import base64
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path

PREFIX = "@@training "
# Seconds between cancel checks while the ranks are quiet.
POLL_SECONDS = 0.5


def _die_with_parent() -> None:
    """Linux: this process gets SIGKILL when its parent dies, so no rank outlives a killed worker."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# In the job


def train_distributed(
    *,
    run,
    ctx,
    reporter,
    data: dict,
    base_folder: Path | None,
    workdir: Path,
    start_step: int,
    checkpoint: dict | None,
    device_type: str,
):
    import torch

    from aigc_platform.core.errors import ApplicationError
    from aigc_platform.embedded import free_port
    from tools_layer.training.recipes import Export

    processes = run.processes
    use_cuda = device_type == "cuda" and not run.hyperparameters.get("cpu_processes")
    torch.save(data, workdir / "data.pt")
    if checkpoint:
        torch.save(checkpoint["trainer"], workdir / "resume.pt")
    spec = {
        "recipe": run.recipe,
        "hyperparameters": run.hyperparameters,
        "start_step": start_step,
        "base_folder": str(base_folder) if base_folder else None,
        "backend": "nccl" if use_cuda else "gloo",
    }
    (workdir / "spec.json").write_text(json.dumps(spec))
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes=1",
        f"--nproc-per-node={processes}",
        "--master-addr=127.0.0.1",
        f"--master-port={free_port()}",
        "-m",
        "tools_layer.training.distributed",
        str(workdir),
    ]
    from django.conf import settings

    threads = settings.TRAINING_CPU_THREADS or max(1, (os.cpu_count() or 1) // processes)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONUNBUFFERED="1")
    ctx.log(f"Starting {processes} DDP processes ({spec['backend']}).")
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, name=f"ranks-{run.job_id}", daemon=True).start()
    tail: deque[str] = deque(maxlen=40)
    export = None
    try:
        while True:
            try:
                line = lines.get(timeout=POLL_SECONDS)
            except queue.Empty:
                ctx.check_cancelled()
                continue
            if line is None:
                break
            if not line.startswith(PREFIX):
                tail.append(line.rstrip())
                continue
            event = json.loads(line[len(PREFIX) :])
            kind, step = event.pop("type"), event.pop("step", 0)
            if kind == "metrics":
                reporter.metrics(step, event["values"])
            elif kind == "sample":
                reporter.sample(
                    step, {"png": base64.b64decode(event["png"])} if "png" in event else {"text": event["text"]}
                )
            elif kind == "checkpoint":
                path = Path(event["path"])
                with path.open("rb") as stream:
                    reporter.checkpoint_bytes(step, stream)
                path.unlink()
            elif kind == "export":
                export = Export(path=Path(event["path"]), format=event["format"], parameters=event["parameters"])
            ctx.check_cancelled()
        code = process.wait()
    except BaseException:
        _stop(process)
        raise
    if code != 0 or export is None:
        detail = "\n".join(tail)[-2000:]
        raise ApplicationError(f"The distributed training exited with code {code}.\n{detail}")
    return export


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


# In each rank


class PipeReporter:
    """Rank 0's reports, as lines on stdout that the job reads."""

    def __init__(self, workdir: Path, recipe: str):
        self.workdir, self.recipe = workdir, recipe

    @staticmethod
    def _send(event: dict) -> None:
        print(PREFIX + json.dumps(event), flush=True)

    def check_stop(self, step: int) -> None:
        """The job stops the ranks itself, by signal."""

    def metrics(self, step: int, values: dict) -> None:
        self._send({"type": "metrics", "step": step, "values": values})

    def sample(self, step: int, sample: dict) -> None:
        if "png" in sample:
            self._send({"type": "sample", "step": step, "png": base64.b64encode(sample["png"]).decode()})
        else:
            self._send({"type": "sample", "step": step, "text": sample["text"]})

    def checkpoint(self, step: int, state: dict) -> None:
        import torch

        path = self.workdir / f"checkpoint-{step}.pt"
        torch.save({"step": step, "recipe": self.recipe, "trainer": state}, path)
        self._send({"type": "checkpoint", "step": step, "path": str(path)})


def main(workdir: Path) -> None:
    _die_with_parent()
    import torch
    import torch.distributed as dist

    from tools_layer.training import loop
    from tools_layer.training.recipes import World, recipe_trainer

    spec = json.loads((workdir / "spec.json").read_text())
    world = World(rank=int(os.environ["RANK"]), size=int(os.environ["WORLD_SIZE"]))
    if spec["backend"] == "nccl":
        local_rank = int(os.environ["LOCAL_RANK"])
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    dist.init_process_group(spec["backend"])
    try:
        data = torch.load(workdir / "data.pt", weights_only=True)
        resume = workdir / "resume.pt"
        state = torch.load(resume, map_location="cpu", weights_only=True) if resume.exists() else None
        trainer = recipe_trainer(spec["recipe"])(
            hyperparameters=spec["hyperparameters"],
            data=data,
            device=device,
            world=world,
            base_folder=Path(spec["base_folder"]) if spec["base_folder"] else None,
            state=state,
        )
        reporter = PipeReporter(workdir, spec["recipe"])
        loop.train(trainer, start_step=spec["start_step"], reporter=reporter, is_main=world.is_main)
        if world.is_main:
            export = loop.export(trainer, workdir / "export")
            reporter._send(
                {"type": "export", "path": str(export.path), "format": export.format, "parameters": export.parameters}
            )
        dist.barrier()
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
