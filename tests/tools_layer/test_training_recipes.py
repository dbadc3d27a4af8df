"""Each recipe learns on small real data (loss goes down), repeats exactly with the same seed, and a
run resumed from its checkpoint state continues exactly as if it had not stopped. Plain torch, in
this process: the job around the loop is tested in test_training_jobs.py."""

import io

import pytest
import torch

from tests.tools_layer.training_data import digit_pngs, topic_texts
from tools_layer.training import loop
from tools_layer.training.recipes import recipe_trainer
from tools_layer.training.serializers import HYPERPARAMETERS

CPU = torch.device("cpu")


class Recorder:
    def __init__(self):
        self.points, self.samples, self.states = {}, {}, {}

    def check_stop(self, step):
        pass

    def metrics(self, step, values):
        self.points[step] = values

    def sample(self, step, sample):
        self.samples[step] = sample

    def checkpoint(self, step, state):
        buffer = io.BytesIO()
        torch.save(state, buffer)  # as the job stores it: it must survive a round trip through bytes
        buffer.seek(0)
        self.states[step] = torch.load(buffer, weights_only=True)


def hyperparameters(recipe: str, **values) -> dict:
    serializer = HYPERPARAMETERS[recipe](data=values)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Two cores are shared by the whole suite: more torch threads than cores only slow each other down."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def texts() -> dict:
    topics = topic_texts(16)
    return {"train": topics[:13], "validation": topics[13:]}


@pytest.fixture(scope="module")
def digits() -> dict:
    from tools_layer.training.data import _image_tensor

    images = torch.stack([_image_tensor(png, 8) for png in digit_pngs(600)])
    return {"train": images[:500], "validation": images[500:]}


LM_SMALL = dict(
    vocab_size=300,
    context=32,
    batch_size=8,
    n_embd=32,
    n_layer=1,
    n_head=2,
    learning_rate=1e-2,
    warmup_steps=2,
    sample_tokens=8,
)


def run(recipe: str, data: dict, hp: dict, *, start: int = 0, state=None, device=CPU) -> Recorder:
    torch.manual_seed(hp["seed"])
    trainer = recipe_trainer(recipe)(hyperparameters=hp, data=data, device=device, state=state)
    recorder = Recorder()
    loop.train(trainer, start_step=start, reporter=recorder)
    return recorder


def falls(recorder: Recorder, name: str) -> tuple[float, float]:
    steps = sorted(recorder.points)
    return recorder.points[steps[0]][name], recorder.points[steps[-1]][name]


def test_lm_scratch_learns_the_prose_and_samples_text(texts):
    hp = hyperparameters("lm-scratch", steps=30, eval_every=5, sample_every=30, checkpoint_every=30, **LM_SMALL)
    recorder = run("lm-scratch", texts, hp)
    first, last = falls(recorder, "loss")
    assert last < first - 0.5, (first, last)
    first_val, last_val = falls(recorder, "val_loss")
    assert last_val < first_val
    assert recorder.points[30]["tokens_per_second"] > 0 and 0 < recorder.points[30]["lr"] <= 1e-2
    assert isinstance(recorder.samples[30]["text"], str) and recorder.samples[30]["text"].startswith("The")


def test_lm_scratch_repeats_exactly_and_resumes_exactly(texts):
    hp = hyperparameters("lm-scratch", steps=12, eval_every=2, sample_every=6, checkpoint_every=6, **LM_SMALL)
    whole = run("lm-scratch", texts, hp)
    again = run("lm-scratch", texts, hp)
    assert again.points.keys() == whole.points.keys()
    assert all(again.points[s]["loss"] == whole.points[s]["loss"] for s in whole.points)
    # A run stopped after its checkpoint at step 6 and resumed from that state in a fresh trainer
    resumed = run("lm-scratch", texts, hp, start=6, state=whole.states[6])
    assert sorted(resumed.points) == [8, 10, 12]
    for step in (8, 10, 12):
        assert resumed.points[step]["loss"] == pytest.approx(whole.points[step]["loss"], rel=1e-5)
        assert resumed.points[step]["val_loss"] == pytest.approx(whole.points[step]["val_loss"], rel=1e-5)


def test_vae_learns_the_digits_and_samples_a_grid(digits):
    hp = hyperparameters("vae", steps=80, eval_every=10, sample_every=80, checkpoint_every=80, batch_size=64)
    recorder = run("vae", digits, hp)
    first, last = falls(recorder, "val_loss")
    assert last < first * 0.9, (first, last)
    assert recorder.samples[80]["png"].startswith(b"\x89PNG")
    assert recorder.points[80]["images_per_second"] > 0


def test_dcgan_images_come_closer_to_real_digits(digits):
    hp = hyperparameters(
        "dcgan", steps=60, eval_every=10, sample_every=60, checkpoint_every=60, batch_size=32, width=16
    )
    recorder = run("dcgan", digits, hp)
    # The GAN's curve is the distance (MMD) of its images to held-out real digits
    first, last = falls(recorder, "val_loss")
    assert last < first * 0.7, (first, last)
    assert {"loss", "d_loss", "val_loss"} <= set(recorder.points[60])
    assert recorder.samples[60]["png"].startswith(b"\x89PNG")


def test_image_checkpoint_state_resumes_exactly(digits):
    hp = hyperparameters("vae", steps=10, eval_every=2, sample_every=10, checkpoint_every=4, batch_size=32)
    whole = run("vae", digits, hp)
    resumed = run("vae", digits, hp, start=4, state=whole.states[4])
    assert [round(resumed.points[s]["loss"], 4) for s in (6, 8, 10)] == [
        round(whole.points[s]["loss"], 4) for s in (6, 8, 10)
    ]


def test_lm_finetune_with_lora_lowers_the_loss_of_smollm2_and_exports_merged_weights(texts, settings, tmp_path):
    import hashlib
    import os
    import zipfile
    from pathlib import Path

    from models_layer.registry.services import builtin_gguf_path
    from models_layer.runtime.artifacts import hf_folder_from_gguf

    # The GGUF's conversion into a checkpoint folder is shared with the model layer's tests (by content hash).
    settings.MODEL_FOLDERS_DIR = Path(
        os.environ.get("AIGC_TEST_MODEL_FOLDERS_DIR", Path.home() / ".cache" / "aigc-platform" / "model-folders")
    )
    gguf = builtin_gguf_path()
    base = hf_folder_from_gguf(gguf, hashlib.sha256(gguf.read_bytes()).hexdigest())
    hp = hyperparameters(
        "lm-finetune",
        steps=4,
        eval_every=2,
        sample_every=4,
        checkpoint_every=4,
        batch_size=2,
        context=24,
        learning_rate=3e-3,
        warmup_steps=0,
        sample_tokens=4,
    )
    torch.manual_seed(0)
    trainer = recipe_trainer("lm-finetune")(hyperparameters=hp, data=texts, device=CPU, base_folder=base)
    recorder = Recorder()
    loop.train(trainer, start_step=0, reporter=recorder)
    assert recorder.points[4]["val_loss"] < recorder.points[2]["val_loss"]
    # A LoRA checkpoint holds the adapters only, not the 135M base weights
    assert recorder.states[4]["model"] and all("lora_" in name for name in recorder.states[4]["model"])
    export = loop.export(trainer, tmp_path / "export")
    names = zipfile.ZipFile(export.path).namelist()
    assert export.format == "hf" and "config.json" in names and "model.safetensors" in names
    assert not any("adapter" in name for name in names)  # merged: a plain checkpoint the runtime loads


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("recipe", ["lm-scratch", "dcgan", "vae"])
def test_recipes_train_on_a_gpu_and_report_its_memory(recipe, texts, digits):
    data = texts if recipe == "lm-scratch" else digits
    extra = LM_SMALL if recipe == "lm-scratch" else {"batch_size": 32}
    hp = hyperparameters(recipe, steps=20, eval_every=10, sample_every=20, checkpoint_every=20, **extra)
    recorder = run(recipe, data, hp, device=torch.device("cuda"))
    assert recorder.points[20]["gpu_memory_mb"] > 0
    assert recorder.points[20]["val_loss"] < recorder.points[10]["val_loss"] * 1.5


# Preferences that favour copy naming its product over the same copy without the name.
PRODUCTS = ["the Aurora desk lamp", "Trailblazer boots", "the Nimbus umbrella", "Zest lemon soda", "Pixel earbuds"]
PAIRS = [
    {
        "prompt": f"Write a tagline for {product}.",
        "chosen": f"{product[0].upper() + product[1:]}: made for every day.",
        "rejected": "Made for every day.",
    }
    for product in PRODUCTS
]


@pytest.fixture(scope="module")
def smollm2_folder(tmp_path_factory):
    import hashlib
    import os
    from pathlib import Path

    from django.conf import settings

    from models_layer.registry.services import builtin_gguf_path
    from models_layer.runtime.artifacts import hf_folder_from_gguf

    # The GGUF's conversion into a checkpoint folder is shared with the model layer's tests (by content hash).
    previous = settings.MODEL_FOLDERS_DIR
    settings.MODEL_FOLDERS_DIR = Path(
        os.environ.get("AIGC_TEST_MODEL_FOLDERS_DIR", Path.home() / ".cache" / "aigc-platform" / "model-folders")
    )
    gguf = builtin_gguf_path()
    yield hf_folder_from_gguf(gguf, hashlib.sha256(gguf.read_bytes()).hexdigest())
    settings.MODEL_FOLDERS_DIR = previous


def test_lm_dpo_learns_the_preferences_resumes_exactly_and_exports_merged_weights(smollm2_folder, tmp_path):
    import zipfile

    hp = hyperparameters(
        "lm-dpo",
        steps=3,
        eval_every=1,
        sample_every=3,
        checkpoint_every=2,
        batch_size=1,
        context=48,
        learning_rate=2e-3,
        warmup_steps=0,
        sample_tokens=2,
        beta=0.5,
    )
    data = {"train": PAIRS[:4], "validation": PAIRS[4:]}  # one held-out pair

    def trainer(state=None):
        torch.manual_seed(0)
        return recipe_trainer("lm-dpo")(
            hyperparameters=hp, data=data, device=CPU, base_folder=smollm2_folder, state=state
        )

    whole_trainer, whole = trainer(), Recorder()
    loop.train(whole_trainer, start_step=0, reporter=whole)
    # Given pairs whose chosen copy names the product, the held-out pair's reward margin grows from zero
    assert whole.points[3]["val_reward_margin"] > whole.points[1]["val_reward_margin"] > 0
    assert whole.points[3]["val_loss"] < whole.points[1]["val_loss"] < 0.6932  # ln 2: where DPO starts
    assert {"reward_margin", "reward_accuracy", "pairs_per_second"} <= set(whole.points[3])
    assert isinstance(whole.samples[3]["text"], str)
    # A LoRA checkpoint holds the adapters only; a fresh trainer resumed from step 2 continues exactly
    assert all("lora_" in name for name in whole.states[2]["model"])
    resumed = Recorder()
    loop.train(trainer(state=whole.states[2]), start_step=2, reporter=resumed)
    assert resumed.points[3]["loss"] == pytest.approx(whole.points[3]["loss"], rel=1e-4)
    assert resumed.points[3]["val_loss"] == pytest.approx(whole.points[3]["val_loss"], rel=1e-4)
    export = loop.export(whole_trainer, tmp_path / "export")
    names = zipfile.ZipFile(export.path).namelist()
    assert export.format == "hf" and export.parameters == {"chat": True}
    assert "model.safetensors" in names and not any("adapter" in name for name in names)
