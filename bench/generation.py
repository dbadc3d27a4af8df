"""Generation benchmark: the platform's text generation against its baselines, measured in one run.

    .venv/bin/python bench/generation.py [--requests 16] [--new-tokens 128]

Starts the embedded platform (`aigc up` in a temporary data directory), then prints, for SmolLM2
and `--new-tokens` new tokens per request:
1. single stream through the full path (API -> queue -> worker -> result) / plain transformers
   `generate` in this process (goal >= 0.9);
2. aggregate tokens/s of `--requests` concurrent API requests / the same number of sequential plain
   `generate` calls (goal >= 4);
3. single-stream tokens/s of the platform runtime / llama.cpp on the same GGUF and the same cores
   (`pip install llama-cpp-python`; skipped, and said so, where it is missing), each in a fresh
   process of its own: in this one, the plain `generate` runs of 1 and 2 would slow the runtime's
   engine thread (models_layer/runtime/engine.py says why).
On a CUDA machine it also prints the GPU figures: runtime at batch 1 against plain `generate` and
`generate` with a static KV cache (bf16), and 128 concurrent requests against plain `generate` at
batch 128.
"""
import argparse
import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PROMPT = [{"role": "user", "content": "Tell me a long story about a lighthouse keeper and the sea."}]
PASSWORD = "bench-password-not-secret"


def start_platform(data_dir: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, AIGC_ADMIN_PASSWORD=PASSWORD, AIGC_DATA_DIR=str(data_dir))
    up = subprocess.Popen([sys.executable, "-m", "aigc_platform.cli", "up", "--port", str(port), "--data-dir", str(data_dir)],
                          cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    for line in up.stdout:
        if "is running at" in line:
            break
        if time.monotonic() > deadline or up.poll() is not None:
            raise RuntimeError(f"aigc up did not start: {line}")
    threading.Thread(target=lambda: [None for _ in up.stdout], daemon=True).start()
    return up


@contextlib.contextmanager
def running_platform(prefix: str):
    """`aigc up` in a new temporary data directory, with Django set up in this process against the same
    settings; yields the base URL and the admin's auth headers, and stops the platform after."""
    sys.path.insert(0, str(ROOT))
    from aigc_platform import embedded

    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["AIGC_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("AIGC_MODEL_FOLDERS_DIR", str(Path.home() / ".cache" / "aigc-platform" / "model-folders"))
    os.environ["HF_HUB_OFFLINE"] = "1"
    port = embedded.free_port()
    print(f"Starting the embedded platform on port {port} (data in {data_dir})…", flush=True)
    up = start_platform(data_dir, port)
    try:
        os.environ["DJANGO_SETTINGS_MODULE"] = "aigc_platform.settings"
        import django

        django.setup()
        base = f"http://127.0.0.1:{port}"
        token = requests.post(f"{base}/api/v1/auth/token/", json={"username": "admin", "password": PASSWORD}, timeout=30).json()["token"]
        yield base, {"Authorization": f"Token {token}"}
    finally:
        up.send_signal(2)
        up.wait(60)


def api_generate(base: str, headers: dict, new_tokens: int, seed: int) -> tuple[int, float]:
    body = {"messages": PROMPT, "max_new_tokens": new_tokens, "temperature": 0.0, "seed": seed}
    started = time.perf_counter()
    job = requests.post(f"{base}/api/v1/generators/smollm2-135m-instruct/generate/?wait=600", json=body, headers=headers,
                        timeout=700).json()
    elapsed = time.perf_counter() - started
    if job.get("status") != "succeeded":
        raise RuntimeError(f"generation failed: {job}")
    return job["result"]["usage"]["completion_tokens"], elapsed


def plain_generate(model, tokenizer, new_tokens: int, batch: int = 1, **options) -> tuple[int, float]:
    import torch

    inputs = tokenizer.apply_chat_template(PROMPT, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    inputs = {k: v.repeat(batch, 1).to(model.device) for k, v in inputs.items()}
    started = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=new_tokens, do_sample=False, pad_token_id=tokenizer.eos_token_id, **options)
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - started
    new = out[:, inputs["input_ids"].shape[1]:]
    produced = int((new != tokenizer.eos_token_id).sum())
    return produced, elapsed


def single_stream_apart(side: str, new_tokens: int, repeat: int) -> float | None:
    """Best single-stream tokens/s of "runtime" or "llama.cpp" (None: not installed), measured by this
    script again in a fresh process (`--single`), with this process's environment and settings."""
    measured = subprocess.run(
        [sys.executable, __file__, "--single", side, "--new-tokens", str(new_tokens), "--repeat", str(repeat)],
        cwd=ROOT, env=os.environ, capture_output=True, text=True,
    )
    last = (measured.stdout.strip().splitlines() or [""])[-1]
    if last == "missing":
        return None
    try:
        return float(last)
    except ValueError:
        raise RuntimeError(f"measuring {side} failed (exit {measured.returncode}):\n{measured.stderr[-3000:]}") from None


def single_stream(side: str, new_tokens: int, repeat: int) -> float | None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from models_layer.registry.services import builtin_gguf_path

    gguf = builtin_gguf_path()
    if side == "llama.cpp":
        return llama_cpp_tokens_per_second(gguf, new_tokens, repeat)
    from models_layer.runtime import TextRequest, get_backend
    from models_layer.runtime.service import runtime_options

    sha = hashlib.sha256(gguf.read_bytes()).hexdigest()
    model = get_backend("transformers").load(path=gguf, format="gguf", sha256=sha, parameters={}, options=runtime_options())
    model.generate(TextRequest(messages=PROMPT, max_new_tokens=4, temperature=0.0))
    rate = 0.0
    for _ in range(repeat):
        result = model.generate(TextRequest(messages=PROMPT, max_new_tokens=new_tokens, temperature=0.0))
        rate = max(rate, result.completion_tokens / result.seconds)
    model.close()
    model.engine.join(30)
    return rate


def llama_cpp_tokens_per_second(gguf: Path, new_tokens: int, repeat: int) -> float | None:
    try:
        from llama_cpp import Llama
    except ImportError:
        return None
    import torch

    llm = Llama(model_path=str(gguf), n_ctx=2048, n_threads=torch.get_num_threads(), verbose=False)
    llm.create_chat_completion(messages=PROMPT, max_tokens=8, temperature=0.0)
    best = 0.0
    for attempt in range(repeat):
        started = time.perf_counter()
        answer = llm.create_chat_completion(messages=PROMPT, max_tokens=new_tokens, temperature=0.0)
        best = max(best, answer["usage"]["completion_tokens"] / (time.perf_counter() - started))
    return best


def load_average() -> str:
    """Other work on the machine skews every figure; the benchmark says how busy it was."""
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def line(label: str, value: float, unit: str = "tokens/s") -> None:
    print(f"  {label:<58} {value:8.2f} {unit}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=3, help="Single-stream figures: best of this many runs, each side.")
    parser.add_argument("--single", choices=["runtime", "llama.cpp"], help=argparse.SUPPRESS)  # one side of 3, for single_stream_apart
    args = parser.parse_args()
    n, new_tokens, repeat = args.requests, args.new_tokens, args.repeat
    if args.single:
        rate = single_stream(args.single, new_tokens, repeat)
        print("missing" if rate is None else rate, flush=True)
        return 0

    with running_platform("aigc-bench-") as (base, headers):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from models_layer.registry.services import builtin_gguf_path
        from models_layer.runtime.artifacts import hf_folder_from_gguf

        print("Warming up the inference worker (model load)…", flush=True)
        api_generate(base, headers, 4, seed=0)

        gguf = builtin_gguf_path()
        sha = hashlib.sha256(gguf.read_bytes()).hexdigest()
        folder = hf_folder_from_gguf(gguf, sha)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        plain = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
        plain_generate(plain, tokenizer, 4)

        print(f"\nSmolLM2-135M-Instruct, {new_tokens} new tokens per request, {os.cpu_count()} CPU cores, "
              f"{torch.get_num_threads()} torch threads, torch {torch.__version__}, load average {load_average()}")
        # 1. single stream: full path against plain generate, alternated, best of `repeat` each
        plain_rate = api_rate = 0.0
        for attempt in range(repeat):
            plain_tokens, plain_seconds = plain_generate(plain, tokenizer, new_tokens)
            plain_rate = max(plain_rate, plain_tokens / plain_seconds)
            api_tokens, api_seconds = api_generate(base, headers, new_tokens, seed=1)
            api_rate = max(api_rate, api_tokens / api_seconds)
        print(f"1. single stream (best of {repeat})")
        line("plain transformers generate (one process)", plain_rate)
        line("full path: API -> queue -> worker -> result (client clock)", api_rate)
        print(f"  ratio full path / plain generate: {api_rate / plain_rate:.2f}   (goal >= 0.9)")

        # 2. concurrent API requests against sequential plain generate
        sequential = [plain_generate(plain, tokenizer, new_tokens) for _ in range(n)]
        sequential_rate = sum(t for t, _ in sequential) / sum(s for _, s in sequential)
        results: list[tuple[int, float]] = []
        started = time.perf_counter()
        threads = [threading.Thread(target=lambda seed=seed: results.append(api_generate(base, headers, new_tokens, seed)))
                   for seed in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        concurrent_rate = sum(t for t, _ in results) / (time.perf_counter() - started)
        print(f"2. {n} requests")
        line(f"{n} sequential plain generate calls, aggregate", sequential_rate)
        line(f"{n} concurrent API requests, aggregate", concurrent_rate)
        print(f"  ratio concurrent / sequential: {concurrent_rate / sequential_rate:.2f}   (goal >= 4)")

        # 3. the runtime against llama.cpp, each in a process of its own
        runtime_rate = single_stream_apart("runtime", new_tokens, repeat)
        print(f"3. single stream, same GGUF, same cores (best of {repeat})")
        line("platform runtime (a process of its own)", runtime_rate)
        llama_rate = single_stream_apart("llama.cpp", new_tokens, repeat)
        if llama_rate is None:
            print("  llama.cpp: llama-cpp-python is not installed (pip install '.[bench]'; it builds from source); no ratio")
        else:
            line("llama.cpp (llama-cpp-python)", llama_rate)
            print(f"  ratio runtime / llama.cpp: {runtime_rate / llama_rate:.2f}   (goal >= 0.8)")

        if torch.cuda.is_available():
            gpu_figures(folder, gguf, sha, new_tokens)
        else:
            print("GPU: no CUDA device here; the GPU figures were not measured.")
        print(f"load average at the end: {load_average()}")
    return 0


def gpu_figures(folder: Path, gguf: Path, sha: str, new_tokens: int) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from models_layer.runtime import TextRequest, get_backend
    from models_layer.runtime.backends import RuntimeOptions

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16).to("cuda").eval()
    print(f"GPU: {torch.cuda.get_device_name()} (bf16)")
    plain_generate(model, tokenizer, 8)
    tokens, seconds = plain_generate(model, tokenizer, new_tokens)
    line("plain generate, batch 1", tokens / seconds)
    plain_generate(model, tokenizer, 8, cache_implementation="static")
    tokens, seconds = plain_generate(model, tokenizer, new_tokens, cache_implementation="static")
    static_rate = tokens / seconds
    line("generate with a static KV cache, batch 1", static_rate)
    tokens, seconds = plain_generate(model, tokenizer, new_tokens, batch=128)
    plain_batch_rate = tokens / seconds
    line("plain generate, batch 128", plain_batch_rate)

    options = RuntimeOptions(device=torch.device("cuda"), max_batch=128, max_context=1024, quantize="none")
    runtime = get_backend("transformers").load(path=gguf, format="gguf", sha256=sha, parameters={}, options=options)
    runtime.generate(TextRequest(messages=PROMPT, max_new_tokens=8, temperature=0.0))
    single = runtime.generate(TextRequest(messages=PROMPT, max_new_tokens=new_tokens, temperature=0.0))
    single_rate = single.completion_tokens / single.seconds
    line("platform runtime, batch 1", single_rate)
    print(f"  ratio runtime / static-cache generate: {single_rate / static_rate:.2f}   (goal >= 400 tokens/s and ahead)")
    started = time.perf_counter()
    results = runtime.batch([TextRequest(messages=PROMPT, max_new_tokens=new_tokens, temperature=0.0, seed=s) for s in range(128)])
    batch_rate = sum(r.completion_tokens for r in results) / (time.perf_counter() - started)
    line("platform runtime, 128 concurrent requests", batch_rate)
    print(f"  ratio runtime / plain generate at batch 128: {batch_rate / plain_batch_rate:.2f}   (goal >= 1,100 tokens/s)")
    runtime.close()


if __name__ == "__main__":
    sys.exit(main())
