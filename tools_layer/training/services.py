"""Writes for training: submit a run (a `training` Job routed to a worker that can hold it), run it
inside the job (metrics, samples, checkpoints, resume), and register its result as a generator version."""

import base64
import io
import json
import os
import shutil
import tempfile
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext

from aigc_platform.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from infrastructure.compute.lifecycle import JobLost
from infrastructure.compute.selectors import workers_all
from infrastructure.compute.services import job_renew_lease, job_submit
from infrastructure.storage.selectors import file_local_copy, file_open
from infrastructure.storage.services import file_delete, file_store, file_store_path
from models_layer.registry import selectors as registry_selectors
from models_layer.registry import services as registry_services
from models_layer.registry.models import GeneratorVersion
from tools_layer.datasets.selectors import dataset_version_get
from tools_layer.datasets.services import dataset_licence_check
from tools_layer.labeling import selectors as labeling_selectors
from tools_layer.labeling import services as labeling_services
from tools_layer.training import cards
from tools_layer.training.models import TrainingMetric, TrainingRun
from tools_layer.training.serializers import HYPERPARAMETERS

TRAINING_JOB_KIND = "training"
DEFAULT_BASE_GENERATOR = registry_services.BUILTIN_SLUG
# Which kind of dataset and generator each recipe works with (the trainers say the same; they are
# not imported here because the web process never imports torch).
RECIPE_KINDS = {
    "lm-scratch": {"dataset": "text", "generator": "text", "needs_base": False},
    "lm-finetune": {"dataset": "text", "generator": "text", "needs_base": True},
    "lm-dpo": {"dataset": "preference", "generator": "text", "needs_base": True},
    "dcgan": {"dataset": "image", "generator": "image", "needs_base": False},
    "vae": {"dataset": "image", "generator": "image", "needs_base": False},
}
BACKEND_FOR_KIND = {"text": "transformers", "image": "torch"}


def hyperparameters_validate(*, recipe: str, hyperparameters: dict) -> dict:
    """The recipe's hyperparameters with defaults filled in; unknown names and bad values are errors."""
    serializer = HYPERPARAMETERS[recipe](data=hyperparameters or {})
    if not serializer.is_valid():
        raise ApplicationError(
            gettext("The hyperparameters of %(recipe)s are invalid.") % {"recipe": recipe},
            fields={"hyperparameters": serializer.errors},
        )
    return json.loads(json.dumps(serializer.validated_data))


def _base_version(*, user, recipe: str, base_generator: str | None) -> GeneratorVersion | None:
    if not RECIPE_KINDS[recipe]["needs_base"]:
        if base_generator:
            raise ApplicationError(
                gettext("%(recipe)s trains from scratch; it takes no base generator.") % {"recipe": recipe},
                fields={"base_generator": [gettext("Leave empty for this recipe.")]},
            )
        return None
    generator = registry_selectors.generator_get(user=user, slug=base_generator or DEFAULT_BASE_GENERATOR)
    if generator.kind != "text" or generator.backend != "transformers":
        raise ApplicationError(
            gettext("%(slug)s is not a causal language model.") % {"slug": generator.slug},
            fields={"base_generator": [gettext("Pick a text generator.")]},
        )
    version = registry_selectors.generator_production_version(generator=generator)
    if version.format not in ("gguf", "hf"):
        raise ApplicationError(
            gettext("%(slug)s's production version is not a GGUF or Hugging Face checkpoint.")
            % {"slug": generator.slug},
            fields={"base_generator": [gettext("Unsupported format.")]},
        )
    return version


def _check_target(*, user, slug: str, recipe: str) -> None:
    existing = registry_selectors.generators_visible_to(user=user).filter(slug=slug).first()
    if existing is None:
        from models_layer.registry.models import Generator

        if Generator.objects.filter(slug=slug).exists():
            raise Conflict(
                gettext("A generator named %(slug)r exists already.") % {"slug": slug},
                code="slug_taken",
                fields={"generator": [gettext("Taken.")]},
            )
        return
    if not registry_selectors.generator_can_manage(user=user, generator=existing):
        raise ApplicationError(
            gettext("You may not add versions to %(slug)s.") % {"slug": slug},
            code="permission_denied",
            fields={"generator": [gettext("Not yours: pick a new name.")]},
        )
    if existing.kind != RECIPE_KINDS[recipe]["generator"]:
        raise ApplicationError(
            gettext("%(slug)s is a %(kind)s generator; %(recipe)s makes %(generator)s ones.")
            % {"slug": slug, "kind": existing.kind, "recipe": recipe, "generator": RECIPE_KINDS[recipe]["generator"]},
            fields={"generator": [gettext("Kind does not match the recipe.")]},
        )


def _label_filter(label_filter: dict | None, labeling_project) -> dict:
    filters = {key: value for key, value in (label_filter or {}).items() if value not in (None, False)}
    if filters and labeling_project is None:
        raise ApplicationError(
            gettext("A label filter picks judgements of a labelling project; name the project."),
            fields={"labeling_project": [gettext("Required with label_filter.")]},
        )
    return filters


def _labels_export(*, user, recipe: str, project_id, filters: dict):
    """(project, dataset version): the judgements of a labelling project `user` manages, exported for the recipe."""
    purpose = {"preference": "preferences", "text": "texts"}.get(RECIPE_KINDS[recipe]["dataset"])
    if purpose is None:
        raise ApplicationError(
            gettext("%(recipe)s trains on images; labelling projects feed the language recipes.") % {"recipe": recipe},
            fields={"labeling_project": [gettext("Pick a dataset version for this recipe.")]},
        )
    project = labeling_selectors.project_get_managed(user=user, pk=project_id)
    version = labeling_services.project_training_set_create(
        project=project,
        user=user,
        purpose=purpose,
        only_accepted=bool(filters.get("only_accepted")),
        min_rating=filters.get("min_rating"),
    )
    return project, version


@transaction.atomic
def training_job_submit(
    *,
    user,
    recipe: str,
    dataset_version=None,
    labeling_project=None,
    label_filter: dict | None = None,
    hyperparameters: dict | None = None,
    base_generator: str | None = None,
    generator: str | None = None,
    gpus: int = 0,
    min_gpu_memory_mb: int = 0,
    queue: str = "default",
    licence_override: bool = False,
    request=None,
) -> TrainingRun:
    """Validate a training request and queue it as a `training` Job. A job that asks for GPUs is
    routed by the worker registry to a worker whose GPUs can hold it; it waits while none can. A
    dataset whose licence forbids training is refused unless an admin overrides (audited).

    Instead of a dataset version, a run may name a labelling project (`labeling_project`) whose
    judgements it trains on, filtered by `label_filter` ({only_accepted, min_rating}): they are
    exported now into a frozen dataset version (pairs for lm-dpo, texts for the other text recipes),
    which the run keeps as its lineage with the project."""
    if recipe not in RECIPE_KINDS:
        raise ApplicationError(
            gettext("Unknown recipe %(recipe)r.") % {"recipe": recipe},
            fields={"recipe": [gettext("One of %(names)s.") % {"names": ", ".join(RECIPE_KINDS)}]},
        )
    hp = hyperparameters_validate(recipe=recipe, hyperparameters=hyperparameters or {})
    # The base and the target are checked before a labelling project's judgements are exported.
    base = _base_version(user=user, recipe=recipe, base_generator=base_generator)
    if generator:
        _check_target(user=user, slug=generator, recipe=recipe)
    filters = _label_filter(label_filter, labeling_project)
    project = None
    if labeling_project is not None:
        if dataset_version is not None:
            raise ApplicationError(
                gettext("Give a dataset version or a labelling project, not both."),
                fields={"labeling_project": [gettext("Leave empty when training on a dataset version.")]},
            )
        project, version = _labels_export(user=user, recipe=recipe, project_id=labeling_project, filters=filters)
    elif dataset_version is None:
        raise ApplicationError(
            gettext("Give the dataset version to train on, or a labelling project whose judgements to train on."),
            fields={"dataset_version": [gettext("This field is required.")]},
        )
    else:
        version = dataset_version_get(user=user, pk=dataset_version)
    dataset_licence_check(version=version, user=user, override=licence_override, request=request)
    wanted = RECIPE_KINDS[recipe]["dataset"]
    if version.dataset.kind != wanted:
        raise ApplicationError(
            gettext("%(recipe)s trains on %(wanted)s datasets; %(version)s is %(kind)s.")
            % {"recipe": recipe, "wanted": wanted, "version": version, "kind": version.dataset.kind},
            fields={"dataset_version": [gettext("Pick a version of a %(wanted)s dataset.") % {"wanted": wanted}]},
        )
    if version.train_count < 1:
        raise ApplicationError(
            gettext("%(version)s has no training examples.") % {"version": version},
            fields={"dataset_version": [gettext("Empty train split.")]},
        )
    processes = hp["cpu_processes"] or max(gpus, 1)
    slug = generator or f"{recipe}-{uuid.uuid4().hex[:8]}"
    params = {
        "recipe": recipe,
        "dataset_version": str(version.pk),
        "base_version_id": base.pk if base else None,
        "generator": slug,
        "hyperparameters": hp,
    }
    job = job_submit(
        owner=user, kind=TRAINING_JOB_KIND, params=params, queue=queue, gpus=gpus, min_gpu_memory_mb=min_gpu_memory_mb
    )
    return TrainingRun.objects.create(
        job=job,
        owner=user,
        recipe=recipe,
        dataset_version=version,
        labeling_project=project,
        label_filter=filters,
        base_version=base,
        generator_slug=slug,
        hyperparameters=hp,
        processes=processes,
        total_steps=hp["steps"],
    )


# Running inside the job


def _rounded(values: dict) -> dict:
    return {name: (round(value, 6) if isinstance(value, float) else value) for name, value in values.items()}


class JobReporter:
    """Where the training loop's measurements go: metric rows and `metrics` events, `sample`
    events, checkpoints in object storage. Cancel and a lost lease stop the loop before a step."""

    def __init__(self, *, ctx, run: TrainingRun):
        self.ctx, self.run = ctx, run

    def check_stop(self, step: int) -> None:
        self.ctx.check_cancelled()

    def metrics(self, step: int, values: dict) -> None:
        values = _rounded(values)
        TrainingMetric.objects.update_or_create(
            run=self.run, step=step, defaults={"values": values, "attempt": self.ctx.attempt}
        )
        self.ctx.emit("metrics", {"step": step, "attempt": self.ctx.attempt, **values})
        shown = ", ".join(f"{name} {values[name]:.4g}" for name in ("loss", "val_loss") if name in values)
        self.ctx.progress(step / self.run.total_steps, f"Step {step} of {self.run.total_steps}: {shown}")

    def sample(self, step: int, sample: dict) -> None:
        if "png" in sample:
            image = "data:image/png;base64," + base64.b64encode(sample["png"]).decode()
            self.ctx.emit("sample", {"step": step, "image": image})
        else:
            self.ctx.emit("sample", {"step": step, "text": sample["text"]})
            self.ctx.log(f"Sample at step {step}: {sample['text'][:300]}")

    def checkpoint(self, step: int, state: dict) -> None:
        import torch

        buffer = io.BytesIO()
        torch.save({"step": step, "recipe": self.run.recipe, "trainer": state}, buffer)
        self.checkpoint_bytes(step, buffer)

    def checkpoint_bytes(self, step: int, stream) -> None:
        stream.seek(0)
        stored = file_store(
            owner=self.run.owner,
            stream=stream,
            filename=f"training-{self.run.job_id}-step{step}.pt",
            content_type="application/octet-stream",
        )
        previous = self.run.checkpoint
        TrainingRun.objects.filter(pk=self.run.pk).update(checkpoint=stored, checkpoint_step=step)
        self.run.checkpoint, self.run.checkpoint_step = stored, step
        if previous is not None:
            file_delete(file=previous)
        self.ctx.log(f"Checkpoint at step {step} stored ({stored.size} bytes).")


def _checkpoint_load(run: TrainingRun) -> dict | None:
    import torch

    if run.checkpoint is None:
        return None
    with file_open(file=run.checkpoint) as stream:
        data = io.BytesIO(stream.read())
    return torch.load(data, map_location="cpu", weights_only=True)


def _base_folder(run: TrainingRun, held: ExitStack) -> Path | None:
    """The base version's checkpoint folder, held in use with its local copy until `held` closes (the
    worker's disk eviction leaves them alone while the run reads them)."""
    from models_layer.runtime import checkpoint_folder_held

    version = run.base_version
    if version is None:
        return None
    path = held.enter_context(file_local_copy(file=version.artifact))
    return held.enter_context(checkpoint_folder_held(path, version.artifact.sha256, version.format))


def training_device(run: TrainingRun):
    import torch

    return torch.device("cuda" if run.job.gpus and torch.cuda.is_available() else "cpu")


def training_cpu_threads(run: TrainingRun) -> int:
    """TRAINING_CPU_THREADS, or this machine's cores shared among the jobs its worker runs at once:
    more torch threads than cores only slow each other down (tenfold, measured on two busy cores)."""
    if settings.TRAINING_CPU_THREADS:
        return settings.TRAINING_CPU_THREADS
    worker = workers_all().filter(name=run.job.worker).first()
    return max(1, (os.cpu_count() or 1) // max(1, worker.concurrency if worker else 1))


def training_run_execute(*, ctx) -> dict[str, Any]:
    """The `training` job: train (resuming from the run's last checkpoint when there is one), then
    register the result as a draft version and queue its validation."""
    import torch

    from tools_layer.training import distributed, loop
    from tools_layer.training.architectures import register_architectures
    from tools_layer.training.data import training_data
    from tools_layer.training.recipes import recipe_trainer

    register_architectures()
    run = TrainingRun.objects.select_related(
        "job", "dataset_version__dataset", "base_version__artifact", "checkpoint", "owner"
    ).get(pk=ctx.job_id)
    if run.result_version_id:
        return _result(run)
    hp = run.hyperparameters
    checkpoint = _checkpoint_load(run)
    start = checkpoint["step"] if checkpoint else 0
    # The curve stays one curve: points after the checkpoint are trained again, so they are recorded again.
    TrainingMetric.objects.filter(run=run, step__gt=start).delete()
    if start:
        ctx.log(f"Attempt {ctx.attempt}: resuming from the checkpoint at step {start}.")
    ctx.progress(start / run.total_steps, "Reading the dataset version…")
    data = training_data(
        version=run.dataset_version, kind=RECIPE_KINDS[run.recipe]["dataset"], image_size=int(hp.get("image_size", 8))
    )
    held = ExitStack()
    base_folder = _base_folder(run, held)
    reporter = JobReporter(ctx=ctx, run=run)
    device = training_device(run)
    if device.type == "cpu":
        torch.set_num_threads(training_cpu_threads(run))
    workdir = Path(tempfile.mkdtemp(prefix=f"training-{run.job_id}-"))
    try:
        if run.processes > 1:
            export = distributed.train_distributed(
                run=run,
                ctx=ctx,
                reporter=reporter,
                data=data,
                base_folder=base_folder,
                workdir=workdir,
                start_step=start,
                checkpoint=checkpoint,
                device_type=device.type,
            )
        else:
            torch.manual_seed(int(hp["seed"]))
            try:
                trainer = recipe_trainer(run.recipe)(
                    hyperparameters=hp,
                    data=data,
                    device=device,
                    base_folder=base_folder,
                    state=checkpoint["trainer"] if checkpoint else None,
                )
            except ValueError as error:
                raise ApplicationError(str(error)) from None
            ctx.progress(start / run.total_steps, f"Training from step {start}.")
            loop.train(trainer, start_step=start, reporter=reporter)
            ctx.progress(1.0, "Saving the model…")
            export = loop.export(trainer, workdir / "export")
        ctx.check_cancelled()
        training_version_register(run=run, export=export, attempt=ctx.attempt)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        held.close()
    return _result(run)


def _result(run: TrainingRun) -> dict[str, Any]:
    run.refresh_from_db()
    version = run.result_version
    last = TrainingMetric.objects.filter(run=run).order_by("-step").first()
    return {
        "generator": version.generator.slug,
        "version": version.number,
        "stage": version.stage,
        "validation_job": str(version.validation_job_id) if version.validation_job_id else None,
        "steps": run.total_steps,
        "final_metrics": last.values if last else {},
    }


def _target_generator(*, run: TrainingRun, kind: str):
    """The generator the run adds a version to: the one named by its slug, if the run's owner may manage
    it (it may have appeared, or changed hands, since the run was submitted), else a new one of theirs."""
    try:
        generator = registry_selectors.generator_get(user=run.owner, slug=run.generator_slug)
    except NotFound:
        # Nobody's generator, or one the owner may not see: generator_create refuses a taken slug.
        return registry_services.generator_create(
            owner=run.owner,
            slug=run.generator_slug,
            name=f"{run.generator_slug}",
            kind=kind,
            backend=BACKEND_FOR_KIND[kind],
            description=f"Trained on the platform with the {run.recipe} recipe on {run.dataset_version}.",
        )
    if not registry_selectors.generator_can_manage(user=run.owner, generator=generator):
        raise PermissionDenied(
            gettext(
                "%(slug)s belongs to someone else now: the trained model is not added to it. Its last checkpoint is kept; retry the run under a new generator name."
            )
            % {"slug": generator.slug}
        )
    if generator.kind != kind:
        raise ApplicationError(
            gettext("%(slug)s is a %(kind)s generator; %(recipe)s makes %(kind2)s ones.")
            % {"slug": generator.slug, "kind": generator.kind, "recipe": run.recipe, "kind2": kind}
        )
    return generator


@transaction.atomic
def training_version_register(*, run: TrainingRun, export, attempt: int) -> GeneratorVersion:
    """The trained model as a new draft version (of a new generator when the run names none that
    exists), with its lineage and model card; its validation job then moves it to staging.

    Only the attempt that holds the job's lease registers, once: the run's row is locked, an attempt
    that lost its lease (another attempt runs the job now) stops here with JobLost, and a run that has
    its version already returns it. Renewing the lease inside this transaction keeps the job's row
    locked until the version is committed, so the sweep cannot hand the job on meanwhile."""
    locked = TrainingRun.objects.select_for_update().get(pk=run.pk)
    if locked.result_version_id:
        return registry_selectors.generator_version_by_id(pk=locked.result_version_id)
    if job_renew_lease(job_id=run.job_id, attempt=attempt) is None:
        raise JobLost()
    kind = RECIPE_KINDS[run.recipe]["generator"]
    generator = _target_generator(run=run, kind=kind)
    metrics = list(TrainingMetric.objects.filter(run=run).order_by("step"))
    final = metrics[-1].values if metrics else {}
    suffix = ".zip" if export.format == "hf" else ".pt"
    artifact = file_store_path(owner=run.owner, path=export.path, filename=f"{generator.slug}-{run.job_id}{suffix}")
    version = registry_services.generator_version_create(
        generator=generator,
        artifact=artifact,
        format=export.format,
        parameters=export.parameters,
        metrics={name: value for name, value in final.items() if isinstance(value, (int, float))},
        model_card=cards.model_card(run=run, generator=generator, metrics=metrics),
        base_version=run.base_version,
        training_job=run.job,
        dataset_version_ref=str(run.dataset_version_id),
        created_by=run.owner,
    )
    TrainingRun.objects.filter(pk=run.pk).update(result_version=version)
    return registry_services.generator_version_validation_submit(user=run.owner, version=version)
