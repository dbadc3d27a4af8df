"""llama.cpp as the batching engine's decoder for GGUF files on a CPU (models_layer/runtime/llamacpp.py),
and the choice between it and the torch runtime. Where llama-cpp-python is not installed (a machine with
no compiler), the tests that need it are skipped and say so; the choice's fallback is tested everywhere."""

import importlib.util
import json

import pytest

from aigc_platform.core.errors import ApplicationError
from models_layer.registry import services
from models_layer.runtime.inspect import served_by
from models_layer.runtime.llamacpp import THREAD_TRY_EVERY, ThreadTuner, decoder_choice, machine_choice
from tests.conftest import MODEL_FOLDERS
from tests.processes import wait_for

AVX2 = frozenset({"avx", "avx2", "fma", "f16c"})
AVX512_BF16 = AVX2 | {"avx512f", "avx512_vnni", "avx512_bf16"}
SLUG = "smollm2-135m-instruct"
QUEUE = "llamacpp-test"
# Not installed (no compiler here), or built for instructions this CPU lacks: the choice falls back (tested
# below), and there is no llama.cpp to serve with
runs_llama_cpp = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None
    or machine_choice(format="gguf", setting="llama.cpp").engine != "llama.cpp",
    reason="llama-cpp-python is not installed, or was built for instructions this CPU lacks",
)


def _choice(**facts):
    given = {"format": "gguf", "device_type": "cpu", "setting": "auto", "llama_cpp_installed": True, "flags": AVX2}
    return decoder_choice(**{**given, **facts})


def test_without_llama_cpp_the_torch_runtime_serves_gguf_and_the_card_says_so():
    # Given a machine where llama-cpp-python could not be built (no compiler)
    choice = _choice(llama_cpp_installed=False)
    # then the torch runtime's fast decoder serves the GGUF, and the model card names it and says why
    assert choice.engine == "torch"
    card = served_by(architecture="llama", format="gguf", choice=choice)
    assert card.startswith("the runtime's fast slot decoder for Llama"), card
    assert "not llama.cpp, because llama-cpp-python is not installed" in card


def test_llama_cpp_is_chosen_for_gguf_on_a_cpu_and_only_there():
    assert _choice().engine == "llama.cpp"
    assert "on a CPU, llama.cpp" in served_by(architecture="llama", format="gguf", choice=_choice())
    # it measured faster with AVX2 only and with AVX-512 BF16 alike; a GPU, a safetensors folder and the
    # setting keep the torch runtime
    assert _choice(flags=AVX512_BF16).engine == "llama.cpp"
    assert _choice(device_type="cuda").engine == "torch"
    assert _choice(format="hf").engine == "torch"
    assert _choice(setting="torch").engine == "torch"
    assert _choice(setting="llama.cpp", flags=AVX512_BF16).engine == "llama.cpp"
    with pytest.raises(ApplicationError, match="AIGC_INFERENCE_GGUF_ENGINE"):
        _choice(setting="fastest")


def test_a_llama_cpp_built_for_another_cpu_is_not_used_and_the_card_says_why():
    # A llama-cpp-python compiled with -march=native on an AVX-512 machine, on a disk now running on an
    # AVX2-only CPU (pip's wheel cache reuses the build), would die with SIGILL in the worker
    native_elsewhere = AVX2 | {"avx512f", "avx512_vnni"}
    choice = _choice(flags=AVX2, built_for=native_elsewhere)
    assert choice.engine == "torch" and "avx512_vnni, avx512f" in choice.reason
    assert _choice(unusable="loading it failed (exit status -4)").engine == "torch"
    # even when the setting asks for llama.cpp; a build for this CPU's own instructions is used
    assert _choice(setting="llama.cpp", built_for=native_elsewhere).engine == "torch"
    assert _choice(built_for=AVX2).engine == "llama.cpp"


@runs_llama_cpp
def test_the_thread_tuner_runs_each_size_of_call_on_the_faster_count_and_follows_a_change():
    # Seconds a llama.cpp call takes, by (tokens, threads): on idle cores two threads win, the more so
    # for a batch (measured on 2 Zen 5 cores for SmolLM2); then other processes take a core, and one wins.
    idle = {(1, 2): 0.0068, (1, 1): 0.0092, (16, 2): 0.054, (16, 1): 0.093}
    busy = {(1, 2): 0.060, (1, 1): 0.011, (16, 2): 0.400, (16, 1): 0.120}
    tuner, now = ThreadTuner((2, 1)), {"threads": 2}

    def call(tokens: int, seconds: dict) -> int:
        threads = tuner.pick(tokens)
        switched, now["threads"] = threads != now["threads"], threads
        # the first call after a change pays for the new team of threads; it must not be counted
        tuner.record(tokens, threads, seconds[(tokens, threads)] * (5 if switched else 1), switched=switched)
        return threads

    # Given calls of one token and of sixteen on idle cores
    runs = [call(tokens, idle) for _ in range(3 * THREAD_TRY_EVERY) for tokens in (1, 16)]
    # then, once each count was tried, the faster one runs nearly every call
    assert runs[-THREAD_TRY_EVERY:].count(2) >= 0.9 * THREAD_TRY_EVERY
    assert tuner.best(tuner.size_class(16)) == 2 and tuner.best(tuner.size_class(1)) == 2
    # and when other work arrives, its later tries find that one thread is faster now, and it switches
    runs = [call(tokens, busy) for _ in range(3 * THREAD_TRY_EVERY) for tokens in (1, 16)]
    assert runs[-THREAD_TRY_EVERY:].count(1) >= 0.9 * THREAD_TRY_EVERY
    assert tuner.best(tuner.size_class(16)) == 1


def test_the_installed_llama_cpp_is_probed_in_a_child_process_and_runs_here():
    from models_layer.runtime.llamacpp import cpu_flags, llama_cpp_build

    built_for, why = llama_cpp_build()
    assert not why, why
    assert "avx" in built_for or not cpu_flags() & {"avx"}, built_for
    assert machine_choice(format="gguf", setting="llama.cpp").engine == "llama.cpp"


@pytest.fixture
def builtin_live(transactional_db):
    return services.generators_bootstrap()


@pytest.fixture
def llama_cpp_worker(start_worker, settings):
    """A threads-pool generation worker of its own whose GGUF decoder is llama.cpp."""
    settings.GENERATION_QUEUE = QUEUE
    return start_worker(
        queues=QUEUE,
        concurrency=8,
        pool="threads",
        AIGC_GENERATION_QUEUE=QUEUE,
        AIGC_INFERENCE_GGUF_ENGINE="llama.cpp",
        AIGC_MODEL_FOLDERS_DIR=str(MODEL_FOLDERS),
    )


def _finished(client, ids: list[str]) -> list[dict]:
    return wait_for(
        lambda: (
            (jobs := [client.get(f"/api/v1/jobs/{pk}/").json() for pk in ids])
            and all(job["status"] in ("succeeded", "failed") for job in jobs)
            and jobs
        ),
        timeout=180,
        what="the generation jobs",
    )


@runs_llama_cpp
@pytest.mark.django_db(transaction=True)
def test_llama_cpp_serves_the_builtin_batched_greedy_as_alone_and_json_by_its_schema(
    builtin_live, creator, client_for, llama_cpp_worker
):
    client = client_for(creator)
    # Given the built-in GGUF's model card, which names the decoder that serves it on this machine
    card = client.get(f"/api/v1/generators/{SLUG}/").json()["versions"][0]["model_card"]
    assert served_by(architecture="llama", format="gguf", choice=machine_choice(format="gguf")) in card
    questions = ["Name a colour.", "What is the sea?", "Say hello in French.", "Count to five."]
    bodies = [
        {"messages": [{"role": "user", "content": question}], "max_new_tokens": 16, "temperature": 0}
        for question in questions
    ]
    # When each greedy request runs alone through the generate API
    alone = []
    for body in bodies:
        job = client.post(f"/api/v1/generators/{SLUG}/generate/?wait=120", body, format="json").json()
        assert job["status"] == "succeeded", job
        alone.append(job["result"])
    # then llama.cpp served them (the worker says so when it loads the model)
    assert "is served by llama.cpp" in llama_cpp_worker.log()
    # and when the same requests come at once, they share decode steps and give the same text as alone
    ids = [client.post(f"/api/v1/generators/{SLUG}/generate/", body, format="json").json()["id"] for body in bodies]
    together = [job["result"] for job in _finished(client, ids)]
    assert max(result["peak_batch"] for result in together) >= 2, together
    assert [r["text"] for r in together] == [r["text"] for r in alone]
    assert all(1 <= r["usage"]["completion_tokens"] <= 16 for r in together)
    # and a JSON schema is enforced on llama.cpp's logits: the answer parses and fits
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "colours": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        },
        "required": ["name", "colours"],
    }
    body = {
        "messages": [{"role": "user", "content": "Describe a parrot as JSON with its name and colours."}],
        "max_new_tokens": 120,
        "temperature": 0.7,
        "seed": 3,
        "response_format": {"type": "json_schema", "json_schema": {"name": "parrot", "schema": schema}},
    }
    job = client.post(f"/api/v1/generators/{SLUG}/generate/?wait=120", body, format="json").json()
    assert job["status"] == "succeeded", (job.get("error"), job.get("message"))
    value = json.loads(job["result"]["text"])
    assert set(value) == {"name", "colours"} and isinstance(value["name"], str)
    assert all(isinstance(colour, str) for colour in value["colours"])
