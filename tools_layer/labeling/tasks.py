"""Labeling jobs: export (JSONL, CSV or a new dataset version) and pre-annotation by a generator."""
from django.contrib.auth import get_user_model
from rest_framework import serializers

from aigc_platform.core.errors import ApplicationError, NotFound
from aigc_platform.core.serializers import StrictSerializer
from infrastructure.compute.lifecycle import JobContext, job_task
from tools_layer.labeling import preannotate, selectors, services
from tools_layer.labeling.models import LabelingProject, LabelingTask


# Ids as strings: a job's params are stored as JSON.
class ExportParams(StrictSerializer):
    project = serializers.CharField(max_length=36)
    format = serializers.ChoiceField(choices=services.EXPORT_FORMATS)
    only_accepted = serializers.BooleanField(default=False)
    target_dataset = serializers.CharField(max_length=36, required=False, allow_null=True)


class PreannotateParams(StrictSerializer):
    project = serializers.CharField(max_length=36)
    generator = serializers.CharField(max_length=200)
    max_tasks = serializers.IntegerField(min_value=1, max_value=100_000, default=200)


def _project(ctx: JobContext) -> LabelingProject:
    project = LabelingProject.objects.filter(pk=ctx.params["project"]).select_related("dataset_version__dataset").first()
    if project is None:
        raise NotFound("The labeling project was deleted before the job ran.")
    return project


@job_task(services.EXPORT_JOB_KIND, params=ExportParams, soft_time_limit=3600)
def labeling_export(ctx: JobContext) -> dict:
    owner = get_user_model().objects.get(pk=ctx.owner_id)
    return services.project_export_run(project=_project(ctx), owner=owner, options=ctx.params, job_id=ctx.job_id,
                                       progress=ctx.progress)


@job_task(services.PREANNOTATE_JOB_KIND, params=PreannotateParams, soft_time_limit=3600)
def labeling_preannotate(ctx: JobContext) -> dict:
    """Ask the generator about each task without a proposal or an answer; keep what parses."""
    project = _project(ctx)
    tasks = list(LabelingTask.objects.filter(project=project, proposal__isnull=True, annotations__isnull=True)
                 .select_related("item__dataset", "item__blob").order_by("id")[: ctx.params["max_tasks"]])
    proposed = 0
    for index, task in enumerate(tasks, start=1):
        content = selectors.task_content(task=task)
        prompt = preannotate.prompt_for(project, content.get("text", ""))
        if prompt is None or content["kind"] != "text":
            raise ApplicationError(f"Pre-annotation proposes answers for text tasks; this project's are {content['kind']}.")
        answer = preannotate.generate_text(generator=ctx.params["generator"], prompt=prompt, max_new_tokens=64)
        value = preannotate.proposal_from_text(project, answer)
        if value is not None:
            services.task_proposals_set(project=project, proposals={task.pk: value})
            proposed += 1
        ctx.progress(index / len(tasks), f"Proposed answers for {proposed} of {index} tasks")
    return {"tasks": len(tasks), "proposed": proposed}
