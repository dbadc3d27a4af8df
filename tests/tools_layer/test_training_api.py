"""The training API: who may use it, how requests are validated (per recipe), GPU-aware routing, and
what a run looks like before a worker takes it (the runs themselves: test_training_jobs.py)."""

import pytest

from infrastructure.compute import services as compute
from infrastructure.compute.models import Job
from models_layer.registry.services import generators_bootstrap
from tests.tools_layer.training_data import image_version, text_version

pytestmark = pytest.mark.django_db

GPU_80G = {
    "index": 0,
    "name": "NVIDIA H100 80GB HBM3",
    "total_mb": 81559,
    "free_mb": 80000,
    "utilization": 0,
    "compute_capability": "9.0",
}


def register_gpu_worker(name: str, gpus: list[dict]):
    return compute.worker_register(
        name=name,
        hostname="gpu",
        queues=["default", f"worker.{name}"],
        own_queue=f"worker.{name}",
        concurrency=1,
        pid=1,
        inventory={"cpu_count": 16, "ram_mb": 131072, "gpus": gpus},
    )


@pytest.fixture
def texts(operator):
    return text_version(operator, count=6)


def run_submitted(client, body) -> dict:
    """The run a submission started, read back as the runs API shows it."""
    started = client.post("/api/v1/training-jobs/", body, format="json")
    assert started.status_code == 202, started.json()
    return client.get(f"/api/v1/training-jobs/{started.json()['id']}/").json()


def test_only_operators_and_admins_may_train(creator, operator, admin_user, client_for, texts):
    body = {"recipe": "lm-scratch", "dataset_version": str(texts.pk)}
    assert client_for(creator).get("/api/v1/training-jobs/").status_code == 403
    assert client_for(creator).post("/api/v1/training-jobs/", body, format="json").status_code == 403
    assert client_for(creator).get("/api/v1/training-recipes/").status_code == 403
    assert client_for(admin_user).get("/api/v1/training-jobs/").status_code == 200
    created = client_for(operator).post("/api/v1/training-jobs/", body, format="json")
    assert created.status_code == 202, created.json()


def test_a_submitted_run_is_a_queued_training_job_with_every_default_filled_in(operator, client_for, texts):
    client = client_for(operator)
    body = {"recipe": "lm-scratch", "dataset_version": str(texts.pk), "hyperparameters": {"steps": 7, "n_layer": 1}}
    started = client.post("/api/v1/training-jobs/", body, format="json")
    # (the answer is the started job, the run in `object`: a run's id is its job's)
    assert started.status_code == 202 and started.json()["object"] == {
        "type": "training_run",
        "id": started.json()["id"],
    }
    run = client.get(f"/api/v1/training-jobs/{started.json()['id']}/").json()
    assert run["status"] == "queued" and run["recipe"] == "lm-scratch" and run["total_steps"] == 7
    assert run["hyperparameters"]["n_layer"] == 1 and run["hyperparameters"]["vocab_size"] == 1024  # a default
    assert run["generator_slug"].startswith("lm-scratch-") and run["result_version"] is None
    job = Job.objects.get(pk=run["id"])
    assert job.kind == "training" and job.queue == "default" and job.params["hyperparameters"]["steps"] == 7
    assert client.get(f"/api/v1/training-jobs/{run['id']}/metrics/").json() == {
        "id": run["id"],
        "recipe": "lm-scratch",
        "status": "queued",
        "total_steps": 7,
        "metrics": [],
    }
    assert [r["id"] for r in client.get("/api/v1/training-jobs/?recipe=lm-scratch").json()["results"]] == [run["id"]]
    assert client.get("/api/v1/training-jobs/?recipe=vae").json()["count"] == 0


@pytest.mark.parametrize(
    "body, field",
    [
        ({"recipe": "lm-scratch", "hyperparameters": {"stepz": 10}}, "hyperparameters"),
        ({"recipe": "lm-scratch", "hyperparameters": {"steps": 0}}, "hyperparameters"),
        ({"recipe": "lm-scratch", "hyperparameters": {"n_embd": 30, "n_head": 4}}, "hyperparameters"),
        ({"recipe": "lm-finetune", "hyperparameters": {"method": "qlora"}}, "hyperparameters"),
        ({"recipe": "dcgan"}, "dataset_version"),  # a text dataset for an image recipe
        ({"recipe": "lm-scratch", "base_generator": "smollm2-135m-instruct"}, "base_generator"),
        ({"recipe": "gpt-5"}, "recipe"),
        ({"recipe": "lm-scratch", "resources": {"gpus": -1}}, "resources"),
        ({"recipe": "lm-scratch", "colour": "blue"}, "colour"),
    ],
)
def test_invalid_requests_are_400_with_the_field_named(operator, client_for, texts, body, field):
    response = client_for(operator).post(
        "/api/v1/training-jobs/", {"dataset_version": str(texts.pk), **body}, format="json"
    )
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert Job.objects.filter(kind="training").count() == 0


def test_an_unknown_or_foreign_dataset_version_is_not_found(operator, make_user, client_for, texts):
    other = make_user("operator")
    response = client_for(other).post(
        "/api/v1/training-jobs/", {"recipe": "lm-scratch", "dataset_version": str(texts.pk)}, format="json"
    )
    assert response.status_code == 404
    assert client_for(other).get("/api/v1/training-jobs/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_finetune_starts_from_the_builtin_production_version_by_default(operator, client_for, texts):
    builtin = generators_bootstrap()
    started = (
        client_for(operator)
        .post("/api/v1/training-jobs/", {"recipe": "lm-finetune", "dataset_version": str(texts.pk)}, format="json")
        .json()
    )
    run = client_for(operator).get(f"/api/v1/training-jobs/{started['id']}/").json()
    assert run["base_version"] == {"generator": builtin.generator.slug, "number": builtin.number}
    assert run["hyperparameters"]["method"] == "lora"


def test_gpu_runs_are_routed_to_a_worker_whose_gpus_can_hold_them(operator, client_for, texts):
    single = register_gpu_worker("one@gpu", [GPU_80G])
    body = {
        "recipe": "lm-scratch",
        "dataset_version": str(texts.pk),
        "resources": {"gpus": 1, "min_gpu_memory_mb": 40_000},
    }
    run = run_submitted(client_for(operator), body)
    assert Job.objects.get(pk=run["id"]).queue == single.own_queue and run["processes"] == 1
    # Two GPUs: no worker has them, so it waits, saying why; DDP over both once a machine with two comes
    body["resources"]["gpus"] = 2
    waiting = run_submitted(client_for(operator), body)
    job = Job.objects.get(pk=waiting["id"])
    assert job.queue == "" and "no online worker has 2 GPU(s)" in job.message and waiting["processes"] == 2
    double = register_gpu_worker("two@gpu", [GPU_80G, dict(GPU_80G, index=1)])
    compute.jobs_route_waiting()
    assert Job.objects.get(pk=waiting["id"]).queue == double.own_queue


def test_recipes_describe_their_hyperparameters(operator, client_for):
    recipes = {r["name"]: r for r in client_for(operator).get("/api/v1/training-recipes/").json()}
    assert set(recipes) == {"lm-scratch", "lm-finetune", "lm-dpo", "dcgan", "vae"}
    assert recipes["lm-dpo"]["dataset_kind"] == "preference" and recipes["lm-dpo"]["needs_base"]
    assert "beta" in {f["name"] for f in recipes["lm-dpo"]["hyperparameters"]}
    steps = next(f for f in recipes["vae"]["hyperparameters"] if f["name"] == "steps")
    assert steps["type"] == "integer" and steps["default"] == 300 and steps["min_value"] == 1 and steps["help_text"]
    assert recipes["lm-finetune"]["needs_base"] and recipes["dcgan"]["dataset_kind"] == "image"


def test_an_image_recipe_takes_an_image_dataset(operator, client_for):
    digits = image_version(operator, count=12)
    assert (
        run_submitted(client_for(operator), {"recipe": "vae", "dataset_version": str(digits.pk)})["dataset"] == "digits"
    )


def test_training_pages_are_for_operators(client, creator, operator, password, texts):
    client.login(username=creator.username, password=password)
    assert client.get("/training/").status_code == 403
    client.login(username=operator.username, password=password)
    assert client.get("/training/").status_code == 200
    page = client.get("/training/new/")
    assert page.status_code == 200 and b"pydoc topics v1" in page.content
    assert client.get("/training/compare/?run=not-a-uuid").status_code == 200


def test_a_cpu_run_shares_the_cores_among_the_jobs_its_worker_runs_at_once(operator, texts, settings):
    import os

    from tools_layer.training import services

    run = services.training_job_submit(user=operator, recipe="lm-scratch", dataset_version=texts.pk)
    compute.worker_register(
        name="cpu@box",
        hostname="box",
        queues=["default"],
        own_queue="worker.cpu@box",
        concurrency=2,
        pid=1,
        inventory={"cpu_count": 2, "ram_mb": 4096, "gpus": []},
    )
    Job.objects.filter(pk=run.pk).update(worker="cpu@box")
    run.job.refresh_from_db()
    settings.TRAINING_CPU_THREADS = 0
    assert services.training_cpu_threads(run) == max(1, (os.cpu_count() or 1) // 2)
    settings.TRAINING_CPU_THREADS = 3
    assert services.training_cpu_threads(run) == 3
