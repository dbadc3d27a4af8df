"""Training benchmark. Part 1 (GPU only): lm-finetune of SmolLM2-135M through the platform against
the same steps in a bare torch loop, measured in one run. Part 2 (CPU or GPU): the preference loop.

    .venv/bin/python bench/training.py [--part all|finetune|preferences] [--steps 60] [--batch-size 8]
        [--context 512] [--method full|lora] [--pairs-per-prompt 5] [--held-out-samples 2] [--epochs 1]

Starts the embedded platform (`aigc up` in a temporary data directory; its worker registers the GPU),
imports Python's own `pydoc_data.topics` prose as a text dataset, freezes a version and submits an
`lm-finetune` training job asking for one GPU (so the worker registry routes it to the GPU worker).
The platform's tokens/s are the job's own metric points (training steps only, the first point left
out as warm-up). The baseline is the same model, optimizer, batch and window length in a plain loop
in this process on the same GPU. It prints both, their ratio (goal >= 0.9) and the model FLOPs
utilisation of each (6·N FLOPs per token for a full fine-tune, 4·N with LoRA: forward and input
gradients, no weight gradients for the frozen base), against the GPU's dense peak for float32, the
precision both train in.

Where there is no CUDA device part 1 prints one line saying so and measures nothing.

Part 2 shows that people's preferences reach the model. For 74 made-up products, templated taglines
are paired (`--pairs-per-prompt` each, 370 by default): the line naming the product against the same
line without the name. (Sampling the pairs from the built-in model was the first design; on this
2-core machine under the other sessions' load it wrote about 5 variants a minute, too slow for 300
pairs.) The pairs go to a pairwise labelling project through the API, where an annotator (this
script, as admin) picks the variant that names the product, sides shuffled; an `lm-dpo` job trains
on the project's judgements, and the built-in model and the new version each write sampled
taglines for 30 held-out products. It prints the share of those held-out variants that name their
product, before and after, with the same prompts, seeds and sampling, and the time each stage took.
"Names the product" means the made-up name appears as a word: it is what the preferences reward,
not a judgement of quality.
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
    dataset = requests.post(
        f"{base}/api/v1/datasets/",
        json={"name": f"pydoc-{time.time_ns()}", "kind": "text"},
        headers=headers,
        timeout=30,
    ).json()
    lines = "".join(json.dumps({"text": text}) + "\n" for text in topic_texts()).encode()
    imported = requests.post(
        f"{base}/api/v1/datasets/{dataset['id']}/import/",
        headers=headers,
        timeout=60,
        files={"file": ("topics.jsonl", io.BytesIO(lines), "application/x-ndjson")},
    ).json()
    wait_job(base, headers, imported["id"])
    version = requests.post(
        f"{base}/api/v1/datasets/{dataset['id']}/versions/",
        json={"seed": 0, "validation_fraction": 0.1},
        headers=headers,
        timeout=60,
    ).json()
    body = {
        "recipe": "lm-finetune",
        "dataset_version": version["id"],
        "hyperparameters": hyperparameters,
        "resources": {"gpus": 1, "min_gpu_memory_mb": 0},
    }
    run = requests.post(f"{base}/api/v1/training-jobs/", json=body, headers=headers, timeout=60).json()
    if "id" not in run:
        raise RuntimeError(f"the training job was refused: {run}")
    job = wait_job(base, headers, run["id"])
    metrics = requests.get(f"{base}/api/v1/training-jobs/{run['id']}/metrics/", headers=headers, timeout=30).json()[
        "metrics"
    ]
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

        model = get_peft_model(
            model,
            LoraConfig(
                r=hyperparameters["lora_r"],
                lora_alpha=hyperparameters["lora_alpha"],
                target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
            ),
        )
    model.to(device).train()
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=hyperparameters["learning_rate"], weight_decay=0.01
    )
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
        window = torch.stack([stream[s : s + context + 1] for s in starts.tolist()]).to(device)
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


# Part 2 (CPU or GPU): the preference loop on the built-in model.
# Made-up product names (no model has seen them as brands) and what each is; the first ones train,
# the last HELD_OUT are only ever asked about before and after.
BRANDS = (
    "Aurora Bravado Cobalt Dunmore Ember Fennick Galloway Hartwell Isolde Juniper Kestrel Larkspur Mirabel "
    "Norwood Orrin Pemberly Quillon Rowan Solvane Tamsin Umbrel Verity Wexley Yarrow Zephra Alder Brisket "
    "Calloway Dashiel Elowen Farrow Glimmer Holloway Ivory Jasper Kelby Lumen Marlow Nettle Oakhurst Pippin "
    "Quarry Ridley Saffron Thistle Upton Vesper Willow Xandor Yelena Zinnia Ashby Bellamy Corin Delphine "
    "Esker Fable Garnet Halcyon Indigo Jovian Kinsey Linden Meridian Nimbus Ostara Pryor Quenby Rookwood "
    "Sorrel Talon Ulric Valen Wren Yardley Zale Amberly Birchwood Cinder Dorian Evander Fenwick Gideon "
    "Hazel Ingram Juno Kipling Lorcan Maddox Novak Orla Pascal Quade Riven Sable Tobin Ursa Vance Wilder"
).split()
ITEMS = (
    "a desk lamp|a pair of hiking boots|an umbrella|a lemon soda|wireless earbuds|a coffee grinder|a yoga mat|"
    "a backpack|a scented candle|a bicycle helmet|a water bottle|a notebook|a phone case|a rain jacket|"
    "a tea kettle|a travel mug|a board game|a sunscreen|a running shoe|a wall clock"
).split("|")
HELD_OUT = 30
TAGLINE = "Write one short advertising tagline for {name}, {item}. Answer with the tagline only."


def products() -> list[tuple[str, str]]:
    return [(brand, ITEMS[index % len(ITEMS)]) for index, brand in enumerate(BRANDS)]


def names_product(text: str, brand: str) -> bool:
    """What the preferences reward and the figure counts: the product's own name appears, as a word."""
    import re

    return re.search(rf"\b{re.escape(brand)}\b", text, flags=re.IGNORECASE) is not None


def variants(version, asks: list[tuple[str, str, int]], *, new_tokens: int = 32) -> list[str]:
    """The model's answers to (brand, item, seed) asks, sampled as a creator's page samples them,
    several at once so that the runtime decodes them in one batch."""
    from concurrent.futures import ThreadPoolExecutor

    from models_layer.runtime import generate_text

    def ask(one: tuple[str, str, int]) -> str:
        brand, item, seed = one
        messages = [{"role": "user", "content": TAGLINE.format(name=brand, item=item)}]
        answer = generate_text(
            version=version, messages=messages, max_new_tokens=new_tokens, temperature=1.0, seed=seed
        )
        return answer["text"].strip()

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(ask, asks))


def naming_share(version, held_out: list[tuple[str, str]], samples: int) -> tuple[float, int]:
    asks = [(brand, item, 1000 + seed) for brand, item in held_out for seed in range(samples)]
    texts = variants(version, asks)
    named = sum(names_product(text, brand) for (brand, _, _), text in zip(asks, texts))
    return named / len(texts), len(texts)


# Templated copy for the training pairs: the same line with the product's name and without it.
BENEFITS = (
    "made for long days and late nights|built to last, priced to love|small in size, big on comfort|"
    "the easy upgrade you deserve|quality you can feel every day|designed for the way you live|"
    "simple, smart and ready when you are|your new everyday favourite"
).split("|")


def preference_pairs(train: list[tuple[str, str]], per_prompt: int) -> list[dict]:
    """For each training product, `per_prompt` pairs of a templated tagline: the one that names the
    product against the same line without the name (so the pairs differ only in naming it)."""
    pairs = []
    for index, (brand, item) in enumerate(train):
        prompt = TAGLINE.format(name=brand, item=item)
        for offset in range(per_prompt):
            benefit = BENEFITS[(index + offset) % len(BENEFITS)]
            good = f"{brand}: {benefit}." if offset % 2 == 0 else f"{benefit[0].upper() + benefit[1:]}: that's {brand}."
            bad = f"{benefit[0].upper() + benefit[1:]}."
            pairs.append({"prompt": prompt, "good": good, "bad": bad})
    return pairs


def judged_project(base: str, headers: dict, pairs: list[dict]) -> str:
    """A pairwise labelling project fed the pairs (sides shuffled), judged through the API by an
    annotator who prefers the variant that names the product."""
    import random

    shuffle = random.Random(0)
    project = requests.post(
        f"{base}/api/v1/labeling/projects/",
        json={"name": f"taglines-{time.time_ns()}", "task_type": "pairwise", "annotators": ["admin"]},
        headers=headers,
        timeout=30,
    ).json()
    outputs, winners = [], []
    for pair in pairs:
        good_first = shuffle.random() < 0.5
        a, b = (pair["good"], pair["bad"]) if good_first else (pair["bad"], pair["good"])
        outputs.append({"prompt": pair["prompt"], "a": a, "b": b})
    response = requests.post(
        f"{base}/api/v1/labeling/projects/{project['id']}/outputs/",
        json={"outputs": outputs, "source": {"bench": "training"}},
        headers=headers,
        timeout=120,
    )
    response.raise_for_status()
    good = {(pair["prompt"], pair["good"]) for pair in pairs}
    while True:
        task = requests.post(f"{base}/api/v1/labeling/projects/{project['id']}/next-task/", headers=headers, timeout=30)
        if task.status_code == 204:
            break
        content = task.json()["content"]
        choice = "a" if (content["prompt"], content["a"]) in good else "b"
        winners.append(choice)
        requests.post(
            f"{base}/api/v1/labeling/tasks/{task.json()['id']}/annotations/",
            json={"value": {"choice": choice}},
            headers=headers,
            timeout=30,
        ).raise_for_status()
    return project["id"]


def preference_loop(base: str, headers: dict, args) -> None:
    import torch

    from models_layer.registry import selectors as registry_selectors

    threads = torch.get_num_threads()
    builtin = registry_selectors.generator_production_version(generator="smollm2-135m-instruct")
    catalogue = products()
    train, held_out = catalogue[:-HELD_OUT], catalogue[-HELD_OUT:]
    started = time.perf_counter()
    before, asked = naming_share(builtin, held_out, args.held_out_samples)
    seconds_before = time.perf_counter() - started
    print(
        f"  held-out variants naming their product, built-in model: {before:.1%} of {asked} "
        f"({len(held_out)} products x {args.held_out_samples}, {seconds_before:.0f} s)",
        flush=True,
    )
    pairs = preference_pairs(train, args.pairs_per_prompt)
    print(
        f"  {len(pairs)} preference pairs: {len(train)} training products x {args.pairs_per_prompt} templated "
        "taglines, each with the product's name against the same line without it",
        flush=True,
    )
    started = time.perf_counter()
    project = judged_project(base, headers, pairs)
    print(f"  pairwise project {project}: judged through the API ({time.perf_counter() - started:.0f} s)", flush=True)
    steps = max(1, -(-len(pairs) * args.epochs // args.dpo_batch_size))
    body = {
        "recipe": "lm-dpo",
        "labeling_project": project,
        "hyperparameters": {
            "steps": steps,
            "batch_size": args.dpo_batch_size,
            "learning_rate": args.dpo_learning_rate,
            "beta": args.beta,
            "context": 128,
            "warmup_steps": max(1, steps // 10),
            "eval_every": max(1, steps // 10),
            "sample_every": steps,
            "checkpoint_every": max(1, steps // 4),
        },
    }
    started = time.perf_counter()
    submitted = requests.post(f"{base}/api/v1/training-jobs/", json=body, headers=headers, timeout=120)
    if submitted.status_code != 202:
        raise RuntimeError(f"lm-dpo submit failed: {submitted.status_code} {submitted.text}")
    job = wait_job(base, headers, submitted.json()["id"], timeout=6 * 3600)
    seconds_training = time.perf_counter() - started
    metrics = requests.get(f"{base}/api/v1/training-jobs/{job['id']}/metrics/", headers=headers, timeout=30).json()[
        "metrics"
    ]
    last = metrics[-1]["values"]
    print(
        f"  lm-dpo: {steps} steps of {args.dpo_batch_size} pairs ({args.epochs} epoch(s)) in {seconds_training:.0f} s; "
        f"last loss {last['loss']:.3f}, reward accuracy {last.get('reward_accuracy', 0):.2f}, "
        f"held-out pairs' reward accuracy {last.get('val_reward_accuracy', 0):.2f}",
        flush=True,
    )
    from models_layer.registry.models import GeneratorVersion

    result = job["result"]
    trained = GeneratorVersion.objects.get(generator__slug=result["generator"], number=result["version"])
    torch.set_num_threads(threads)
    started = time.perf_counter()
    after, asked = naming_share(trained, held_out, args.held_out_samples)
    print(
        f"  held-out variants naming their product, after DPO:      {after:.1%} of {asked} "
        f"({time.perf_counter() - started:.0f} s)"
    )
    print(f"  change: {after - before:+.1%} (same held-out products, prompts, seeds and sampling)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--context", type=int, default=512)
    parser.add_argument("--method", choices=["full", "lora"], default="full")
    parser.add_argument("--part", choices=["all", "finetune", "preferences"], default="all")
    parser.add_argument("--pairs-per-prompt", type=int, default=5, help="Templated pairs per training product.")
    parser.add_argument("--held-out-samples", type=int, default=2, help="Sampled variants per held-out product.")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--dpo-batch-size", type=int, default=4)
    parser.add_argument("--dpo-learning-rate", type=float, default=5e-4)
    parser.add_argument("--beta", type=float, default=0.1)
    args = parser.parse_args()

    import torch

    if args.part in ("all", "preferences"):
        with running_platform("aigc-bench-preferences-") as (base, headers):
            print(f"Preference loop on SmolLM2-135M-Instruct ({torch.get_num_threads()} CPU threads here)", flush=True)
            preference_loop(base, headers, args)
    if args.part == "preferences":
        return 0
    if not torch.cuda.is_available():
        print("SKIP bench/training.py part 1: no CUDA device here; the fine-tune figures were not measured.")
        return 0
    hyperparameters = {
        "method": args.method,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "context": args.context,
        "learning_rate": 1e-4 if args.method == "full" else 5e-4,
        "warmup_steps": 0,
        "lora_r": 8,
        "lora_alpha": 16,
        "eval_every": WARMUP_STEPS,
        "sample_every": args.steps,
        "checkpoint_every": args.steps,
    }
    with running_platform("aigc-bench-training-") as (base, headers):
        from models_layer.registry.services import builtin_gguf_path
        from models_layer.runtime.artifacts import hf_folder_from_gguf

        print(
            f"lm-finetune ({args.method}) of SmolLM2-135M, batch {args.batch_size} x {args.context} tokens, {args.steps} steps, "
            f"{torch.cuda.get_device_name(0)}",
            flush=True,
        )
        platform = platform_run(base, headers, hyperparameters)
        points = [point["values"] for point in platform["metrics"]][1:]  # the first point holds the warm-up steps
        platform_rate = sum(p["tokens_per_second"] for p in points) / len(points)
        platform_memory = max(p.get("gpu_memory_mb", 0) for p in points)

        gguf = builtin_gguf_path()
        folder = hf_folder_from_gguf(gguf, hashlib.sha256(gguf.read_bytes()).hexdigest())
        bare_rate, parameters, bare_memory = bare_loop(folder, hyperparameters, args.steps)

        flops_per_token = (6 if args.method == "full" else 4) * parameters
        peak = fp32_peak()
        print(
            f"  platform (API -> job on the GPU worker): {platform_rate:10.0f} tokens/s, peak {platform_memory:.0f} MB"
        )
        print(f"  bare torch loop (this process):          {bare_rate:10.0f} tokens/s, peak {bare_memory:.0f} MB")
        print(f"  ratio platform / bare: {platform_rate / bare_rate:.2f}   (goal >= 0.9)")
        if peak:
            print(
                f"  MFU (float32 dense peak {peak / 1e12:.1f} TFLOP/s, {flops_per_token / 1e9:.2f} GFLOP/token): "
                f"platform {platform_rate * flops_per_token / peak:.1%}, bare {bare_rate * flops_per_token / peak:.1%}"
            )
        else:
            print(
                f"  MFU: the float32 peak of {torch.cuda.get_device_name(0)} is not in the table; "
                f"achieved {platform_rate * flops_per_token / 1e12:.1f} TFLOP/s (platform), {bare_rate * flops_per_token / 1e12:.1f} (bare)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
