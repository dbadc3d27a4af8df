"""Training pages: runs (with a comparison of chosen runs), the submit form, one run's live curves."""

import uuid

from django.http import Http404
from django.shortcuts import render

from aigc_platform.accounts.permissions import operator_required
from aigc_platform.core.errors import NotFound
from tools_layer.datasets.models import DatasetVersion
from tools_layer.datasets.selectors import datasets_visible_to
from tools_layer.labeling import selectors as labeling_selectors
from tools_layer.training import recipes_info, selectors


@operator_required
def training_page(request):
    return render(request, "training/runs.html", {"runs": selectors.training_runs_visible_to(user=request.user)[:200]})


@operator_required
def training_submit_page(request):
    datasets = datasets_visible_to(user=request.user)
    versions = (
        DatasetVersion.objects.filter(dataset__in=datasets)
        .select_related("dataset")
        .order_by("dataset__name", "-number")
    )
    choices = [
        {
            "id": str(v.pk),
            "label": f"{v.dataset.name} v{v.number} ({v.dataset.kind}, {v.item_count} items)",
            "kind": v.dataset.kind,
        }
        for v in versions[:500]
    ]
    # Projects whose judgements a run may train on: those the operator manages (text and pairs only).
    projects = [
        {"id": str(project.pk), "label": f"{project.name} ({project.task_type})", "task_type": project.task_type}
        for project in labeling_selectors.projects_visible_to(user=request.user)[:200]
        if labeling_selectors.can_manage(project=project, user=request.user)
        and (project.dataset_version_id is None or project.dataset_version.dataset.kind != "image")
    ]
    return render(
        request,
        "training/submit.html",
        {"recipes": recipes_info.recipes(), "versions": choices, "projects": projects},
    )


@operator_required
def training_run_page(request, pk):
    try:
        run = selectors.training_run_get(user=request.user, pk=pk)
    except NotFound:
        raise Http404("No such training job.") from None
    return render(request, "training/run.html", {"run": run, "job": run.job})


@operator_required
def training_compare_page(request):
    ids = []
    for value in request.GET.getlist("run"):
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    runs = [run for run in selectors.training_runs_visible_to(user=request.user).filter(pk__in=ids)] if ids else []
    return render(request, "training/compare.html", {"runs": runs, "run_ids": [str(run.job_id) for run in runs]})
