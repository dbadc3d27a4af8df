"""The loop that makes a generator better, end to end through the REST API with real workers and the
built-in SmolLM2 weights: marketing posts, sent to a pairwise labelling project, judged by an
annotator, an lm-dpo training job on those judgements, the new version, a blind comparison of it
against the built-in model, a promotion that cites the comparison, and marketing writing with the
promoted version. Tiny sizes throughout (two posts, two DPO steps, one arena prompt): it shows the
parts connect, not that the model improved (bench/training.py measures that)."""

import pytest

from models_layer.registry.models import GeneratorVersion, Stage
from tests.conftest import MODEL_FOLDERS
from tests.processes import wait_for
from tools_layer.arena.models import ComparisonPair
from tools_layer.training.models import TrainingRun

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.usefixtures("marketing_templates")]

JOB_TIMEOUT = 300
SLUG = "taglines-tuned"
LAMP = {
    "template": "social-post",
    "product": "Aurora desk lamp",
    "audience": "students",
    "tone": "friendly",
    "language": "en",
    "length": "short",
}


@pytest.fixture
def default_worker(start_worker):
    """Training and version validation run on the default queue (one torch thread: the suite shares two cores)."""
    return start_worker(
        queues="default", concurrency=2, AIGC_TRAINING_CPU_THREADS="1", AIGC_MODEL_FOLDERS_DIR=str(MODEL_FOLDERS)
    )


def finished(client, job_id: str) -> dict:
    def done():
        job = client.get(f"/api/v1/jobs/{job_id}/").json()
        assert job["status"] not in ("failed", "cancelled"), job["error"]
        return job if job["status"] == "succeeded" else None

    return wait_for(done, timeout=JOB_TIMEOUT, interval=0.5, what=f"job {job_id}")


def judge_all(client, project: str, choose) -> int:
    count = 0
    while (response := client.post(f"/api/v1/labeling/projects/{project}/next-task/")).status_code != 204:
        task = response.json()
        answered = client.post(
            f"/api/v1/labeling/tasks/{task['id']}/annotations/", {"value": {"choice": choose(task)}}, format="json"
        )
        assert answered.status_code == 201, answered.json()
        count += 1
    return count


def test_judged_marketing_variants_train_a_version_that_wins_promotion_and_writes_marketing_copy(
    builtin, inference_worker, default_worker, operator, make_user, client_for
):
    client, annotator = client_for(operator), make_user("creator")

    # 1. Marketing writes a post about the lamp in two tones.
    variants = []
    for tone in ("friendly", "formal"):
        started = client.post("/api/v1/marketing/generations/", {**LAMP, "tone": tone, "variants": 1}, format="json")
        assert started.status_code == 202, started.json()
        variants += [v["text"] for v in finished(client, started.json()["id"])["result"]["variants"]]
    assert len(variants) == 2 and all(variants) and variants[0] != variants[1]

    # 2. The operator sends them as a pair to a pairwise labelling project that the annotator judges.
    project = client.post(
        "/api/v1/labeling/projects/",
        {"name": "Lamp taglines", "task_type": "pairwise", "annotators": [annotator.username]},
        format="json",
    ).json()["id"]
    prompt = f"Write a social media post about the {LAMP['product']} for {LAMP['audience']}."
    sent = client.post(
        f"/api/v1/labeling/projects/{project}/outputs/",
        {
            "outputs": [
                {"prompt": prompt, "a": variants[0], "b": variants[1]},
                {"prompt": prompt, "a": variants[1], "b": variants[0]},
                {"prompt": prompt, "a": variants[0], "b": variants[0] + " Really."},
            ],
            "source": {"app": "marketing"},
        },
        format="json",
    )
    assert sent.status_code == 201, sent.json()

    # 3. The annotator prefers the first variant both ways round, and calls the third pair a tie.
    def prefer_first(task):
        content = task["content"]
        if content["b"].endswith(" Really."):
            return "tie"
        return "a" if content["a"] == variants[0] else "b"

    assert judge_all(client_for(annotator), project, prefer_first) == 3

    # 4. An lm-dpo job trains on the project's judgements (the tie is skipped), from the built-in model.
    submitted = client.post(
        "/api/v1/training-jobs/",
        {
            "recipe": "lm-dpo",
            "labeling_project": project,
            "generator": SLUG,
            "hyperparameters": {
                "steps": 2,
                "batch_size": 2,
                "context": 64,
                "warmup_steps": 0,
                "eval_every": 1,
                "sample_every": 2,
                "checkpoint_every": 2,
                "sample_tokens": 4,
            },
        },
        format="json",
    )
    assert submitted.status_code == 202, submitted.json()
    job = finished(client, submitted.json()["id"])
    run = client.get(f"/api/v1/training-jobs/{job['id']}/").json()
    assert run["labeling_project"] == project and run["recipe"] == "lm-dpo"
    training = TrainingRun.objects.get(pk=job["id"])
    assert training.dataset_version.train_count + training.dataset_version.validation_count == 2  # tie skipped
    points = client.get(f"/api/v1/training-jobs/{job['id']}/metrics/").json()["metrics"]
    assert [point["step"] for point in points] == [1, 2] and "reward_margin" in points[-1]["values"]

    # 5. The result is a new version of the operator's generator, validated, with its lineage.
    version = GeneratorVersion.objects.get(generator__slug=SLUG, number=job["result"]["version"])
    wait_for(
        lambda: GeneratorVersion.objects.get(pk=version.pk).stage == Stage.STAGING,
        timeout=JOB_TIMEOUT,
        interval=0.5,
        what="the new version's validation",
    )
    card = client.get(f"/api/v1/generators/{SLUG}/").json()
    assert "Lamp taglines" in str(card) and project in str(card)

    # 6. A blind comparison of the new version against the built-in one, over marketing's recent request.
    compared = client.post(
        "/api/v1/comparisons/",
        {
            "versions": [
                {"generator": builtin.generator.slug, "version": builtin.number},
                {"generator": SLUG, "version": version.number},
            ],
            "prompt_source": "marketing",
            "max_prompts": 1,
            "max_new_tokens": 8,
            "annotators": [annotator.username],
        },
        format="json",
    )
    assert compared.status_code == 202, compared.json()
    comparison = compared.json()["object"]["id"]

    def judging():
        found = client.get(f"/api/v1/comparisons/{comparison}/").json()
        assert found["status"] not in ("failed", "cancelled"), found["error"]
        return found if found["status"] == "judging" else None

    arena_project = wait_for(judging, timeout=JOB_TIMEOUT, interval=0.5, what="the comparison's answers")["project"]
    sides = {pair.task_id: pair for pair in ComparisonPair.objects.select_related("first")}
    assert (
        judge_all(
            client_for(annotator),
            arena_project,
            lambda task: "a" if sides[task["id"]].first.version_id == version.pk else "b",
        )
        == 1
    )
    results = client.get(f"/api/v1/comparisons/{comparison}/").json()["results"]
    assert results["versions"][0]["generator"] == SLUG and results["judgements"] == 1

    # 7. Promoted to production, citing the comparison.
    promoted = client.post(
        f"/api/v1/generators/{SLUG}/versions/{version.number}/promote/",
        {"stage": "production", "comparison": comparison},
        format="json",
    )
    assert promoted.status_code == 200, promoted.json()
    assert promoted.json()["promotion_citation"]["comparison"] == comparison

    # 8. Marketing writes with the promoted version when the request names the generator.
    again = client.post("/api/v1/marketing/generations/", {**LAMP, "variants": 1, "generator": SLUG}, format="json")
    assert again.status_code == 202, again.json()
    written = finished(client, again.json()["id"])
    generation = client.get(f"/api/v1/marketing/generations/{again.json()['object']['id']}/").json()
    assert generation["generator"] == f"{SLUG} v{version.number}"
    assert written["result"]["variants"][0]["text"]
