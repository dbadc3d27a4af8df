"""Training benchmark (GPU only): lm-finetune of SmolLM2-135M through the platform against the same
steps in a bare torch loop, measured in one run.

    .venv/bin/python bench/training.py [--steps 60] [--batch-size 8] [--context 512] [--method full|lora]

Starts the embedded platform (`aigc up` in a temporary data directory; its worker registers the GPU),
imports Python's own `pydoc_data.topics` prose as a text dataset, freezes a version and submits an
`lm-finetune` training job asking for one GPU (so the worker registry routes it to the GPU worker).
The platform's tokens/s are the job's own metric points (training steps only, the first point left
out as warm-up). The baseline is the same model, optimizer, batch and window length in a plain loop
in this process on the same GPU. It prints both, their ratio (goal >= 0.9) and the model FLOPs
utilisation of each (6·N FLOPs per token for a full fine-tune, 4·N with LoRA: forward and input
gradients, no weight gradients for the frozen base), against the GPU's dense peak for float32, the
precision both train in.

Where there is no CUDA device it prints one line saying so and measures nothing.
"""
import argparse
import hashlib
import io
import json
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from generation import running_platform  # noqa: E402  (the generation benchmark's `aigc up` in a temporary directory)

# Dense float32 peaks (no tensor cores; PyTorch keeps TF32 off for matmuls by default), by GPU name.
FP32_PEAK_FLOPS = {"H100": 67e12, "H200": 67e12, "A100": 19.5e12, "L4": 30.3e12, "A10": 31.2e12}
WARMUP_STEPS = 5


def wait_job(base: str, headers: dict, job_id: str, timeout: float = 3600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = requests.get(f"{base}/api/v1/jobs/{job_id}/", headers=headers, timeout=30).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            if job["status"] != "succeeded":
                raise RuntimeError(f"job {job_id} {job['status']}: {job['error']}")
            return job
        time.sleep(1)
    raise TimeoutError(f"job {job_id} did not finish in {timeout} s")


def topic_texts() -> list[str]:
    from pydoc_data.topics import topics

    return [topics[name] for name in sorted(topics)]


def platform_run(base: str, headers: dict, hyperparameters: dict) -> dict:
    """The fine-tune as an operator runs it: dataset import, version, training job on one GPU."""
    dataset = requests.post(f"{base}/api/v1/datasets/", json={"name": f"pydoc-{time.time_ns()}", "kind": "text"},
                            headers=headers, timeout=30).json()
    lines = "".join(json.dumps({"text": text}) + "\n" for text in topic_texts()).encode()
    imported = requests.post(f"{base}/api/v1/datasets/{dataset['id']}/import/", headers=headers, timeout=60,
                             files={"file": ("topics.jsonl", io.BytesIO(lines), "application/x-ndjson")}).json()
    wait_job(base, headers, imported["id"])
    version = requests.post(f"{base}/api/v1/datasets/{dataset['id']}/versions/", json={"seed": 0, "validation_fraction": 0.1},
                            headers=headers, timeout=60).json()
    body = {"recipe": "lm-finetune", "dataset_version": version["id"], "hyperparameters": hyperparameters,
            "resources": {"gpus": 1, "min_gpu_memory_mb": 0}}
    run = requests.post(f"{base}/api/v1/training-jobs/", json=body, headers=headers, timeout=60).json()
    if "id" not in run:
        raise RuntimeError(f"the training job was refused: {run}")
    job = wait_job(base, headers, run["id"])
    metrics = requests.get(f"{base}/api/v1/training-jobs/{run['id']}/metrics/", headers=headers, timeout=30).json()["metrics"]
    return {"job": job, "metrics": metrics}


def bare_loop(folder: Path, hyperparameters: dict, steps: int) -> tuple[float, int, float]:
    """The same fine-tune in a plain torch loop: (tokens/s after warm-up, parameters, peak GPU MB)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = torch.device("cuda")
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, local_files_only=True)
    parameters = sum(p.numel() for p in model.parameters())
    if hyperparameters["method"] == "lora":
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=hyperparameters["lora_r"], lora_alpha=hyperparameters["lora_alpha"],
                                                 target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    model.to(device).train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=hyperparameters["learning_rate"],
                                  weight_decay=0.01)
    ids = []
    for text in topic_texts():
        ids.extend(tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id])
    stream = torch.tensor(ids)
    batch, context = hyperparameters["batch_size"], hyperparameters["context"]
    generator = torch.Generator().manual_seed(0)
    torch.cuda.reset_peak_memory_stats(device)
    tokens, seconds = 0, 0.0
    for step in range(steps):
        starts = torch.randint(len(stream) - context - 1, (batch,), generator=generator)
        window = torch.stack([stream[s:s + context + 1] for s in starts.tolist()]).to(device)
        torch.cuda.synchronize()
        started = time.perf_counter()
        logits = model(input_ids=window[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.size(-1)), window[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        optimizer.step()
        torch.cuda.synchronize()
        if step >= WARMUP_STEPS:
            tokens += batch * context
            seconds += time.perf_counter() - started
    return tokens / seconds, parameters, torch.cuda.max_memory_allocated(device) / 2**20


def fp32_peak() -> float | None:
    import torch

    name = torch.cuda.get_device_name(0)
    return next((peak for key, peak in FP32_PEAK_FLOPS.items() if key in name), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--context", type=int, default=512)
    parser.add_argument("--method", choices=["full", "lora"], default="full")
    args = parser.parse_args()

    import torch

    if not torch.cuda.is_available():
        print("SKIP bench/training.py: no CUDA device here; the training figures were not measured.")
        return 0
    hyperparameters = {"method": args.method, "steps": args.steps, "batch_size": args.batch_size, "context": args.context,
                       "learning_rate": 1e-4 if args.method == "full" else 5e-4, "warmup_steps": 0, "lora_r": 8, "lora_alpha": 16,
                       "eval_every": WARMUP_STEPS, "sample_every": args.steps, "checkpoint_every": args.steps}
    with running_platform("aigc-bench-training-") as (base, headers):
        from models_layer.registry.services import builtin_gguf_path
        from models_layer.runtime.artifacts import hf_folder_from_gguf

        print(f"lm-finetune ({args.method}) of SmolLM2-135M, batch {args.batch_size} x {args.context} tokens, {args.steps} steps, "
              f"{torch.cuda.get_device_name(0)}", flush=True)
        platform = platform_run(base, headers, hyperparameters)
        points = [point["values"] for point in platform["metrics"]][1:]  # the first point holds the warm-up steps
        platform_rate = sum(p["tokens_per_second"] for p in points) / len(points)
        platform_memory = max(p.get("gpu_memory_mb", 0) for p in points)

        gguf = builtin_gguf_path()
        folder = hf_folder_from_gguf(gguf, hashlib.sha256(gguf.read_bytes()).hexdigest())
        bare_rate, parameters, bare_memory = bare_loop(folder, hyperparameters, args.steps)

        flops_per_token = (6 if args.method == "full" else 4) * parameters
        peak = fp32_peak()
        print(f"  platform (API -> job on the GPU worker): {platform_rate:10.0f} tokens/s, peak {platform_memory:.0f} MB")
        print(f"  bare torch loop (this process):          {bare_rate:10.0f} tokens/s, peak {bare_memory:.0f} MB")
        print(f"  ratio platform / bare: {platform_rate / bare_rate:.2f}   (goal >= 0.9)")
        if peak:
            print(f"  MFU (float32 dense peak {peak / 1e12:.1f} TFLOP/s, {flops_per_token / 1e9:.2f} GFLOP/token): "
                  f"platform {platform_rate * flops_per_token / peak:.1%}, bare {bare_rate * flops_per_token / peak:.1%}")
        else:
            print(f"  MFU: the float32 peak of {torch.cuda.get_device_name(0)} is not in the table; "
                  f"achieved {platform_rate * flops_per_token / 1e12:.1f} TFLOP/s (platform), {bare_rate * flops_per_token / 1e12:.1f} (bare)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
