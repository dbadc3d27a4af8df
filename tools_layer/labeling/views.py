"""Labeling pages: the projects, one project (progress, agreement, review, export), and the fast
one-task-at-a-time labeling page."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from aigc_platform.accounts.roles import OPERATOR, user_has_role
from aigc_platform.core.errors import NotFound
from models_layer.registry import selectors as registry_selectors
from tools_layer.datasets.models import DatasetVersion
from tools_layer.labeling import preannotate, selectors
from tools_layer.labeling.models import TaskType

SHORTCUT_KEYS = "1234567890abcdefghijklmnopqrstuvwxyz"


def _project(request, pk):
    try:
        return selectors.project_get(user=request.user, pk=pk)
    except NotFound:
        raise Http404("No such project.") from None


@login_required
def projects_page(request):
    versions = []
    if user_has_role(request.user, OPERATOR):
        versions = (
            DatasetVersion.objects.filter(dataset__owner=request.user)
            .select_related("dataset")
            .order_by("-created_at")[:100]
        )
    return render(
        request,
        "labeling/projects.html",
        {
            "projects": selectors.projects_visible_to(user=request.user)[:200],
            "versions": versions,
            "task_types": TaskType.values,
        },
    )


@login_required
def project_page(request, pk):
    project = _project(request, pk)
    can_manage = selectors.can_manage(project=project, user=request.user)
    preannotate_with = []
    if (
        can_manage
        and preannotate.supported(project.task_type)
        and (project.dataset_version_id is None or project.dataset_version.dataset.kind != "image")
    ):
        preannotate_with = (
            registry_selectors.generators_visible_to(user=request.user).filter(kind="text").order_by("slug")
        )
    return render(
        request,
        "labeling/project.html",
        {
            "project": project,
            "progress": selectors.project_progress(project=project, user=request.user),
            "can_manage": can_manage,
            "preannotate_with": preannotate_with,
            "can_review": selectors.can_review(project=project, user=request.user),
        },
    )


@login_required
def label_page(request, pk):
    project = _project(request, pk)
    shortcuts = [{"key": key, "label": label} for key, label in zip(SHORTCUT_KEYS, project.labels)]
    return render(request, "labeling/label.html", {"project": project, "shortcuts": shortcuts})
