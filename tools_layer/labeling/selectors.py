"""Reads for labeling: projects a user may work on, task content, progress, agreement, consensus."""

from collections import Counter, defaultdict
from itertools import combinations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from aigc_platform.core.errors import NotFound, PermissionDenied
from tools_layer.datasets.selectors import dataset_item_content
from tools_layer.labeling.agreement import cohen_kappa, fleiss_kappa, percent_agreement
from tools_layer.labeling.models import (
    Annotation,
    AnnotationStatus,
    LabelingProject,
    LabelingTask,
    MemberRole,
    ProjectMember,
    SlotStatus,
    TaskSlot,
    TaskType,
)
from tools_layer.labeling.values import category

LIVE = (AnnotationStatus.SUBMITTED, AnnotationStatus.ACCEPTED)


def projects_visible_to(*, user) -> QuerySet[LabelingProject]:
    """Projects a user owns or is a member of (all of them for staff)."""
    projects = LabelingProject.objects.select_related("owner", "dataset_version__dataset")
    if not user.is_staff:
        # EXISTS rather than a join on members: no duplicate rows, so no DISTINCT over every column.
        projects = projects.filter(
            Q(owner=user) | Exists(ProjectMember.objects.filter(project=OuterRef("pk"), user=user))
        )
    return projects.order_by("-created_at")


def _may_see(*, project: LabelingProject, user) -> bool:
    """projects_visible_to's rule for one project in hand. A member's check is a query of its own:
    the EXISTS filter of projects_visible_to took more CPU to build than both queries take to run,
    and these lookups open every request of an annotator."""
    return (
        user.is_staff
        or project.owner_id == user.pk
        or ProjectMember.objects.filter(project_id=project.pk, user_id=user.pk).exists()
    )


def project_get(*, user, pk, related: bool = True) -> LabelingProject:
    """The project, its owner and dataset with it unless `related` is False (the row alone is enough
    to hand out and take in tasks)."""
    projects = (
        LabelingProject.objects.select_related("owner", "dataset_version__dataset")
        if related
        else LabelingProject.objects
    )
    try:
        project = projects.filter(pk=pk).first()
    except (ValidationError, ValueError, TypeError):
        project = None
    if project is None or not _may_see(project=project, user=user):
        raise NotFound(gettext("No labeling project with id %(pk)s.") % {"pk": pk})
    return project


def can_manage(*, project: LabelingProject, user) -> bool:
    return user.is_staff or project.owner_id == user.pk


def can_review(*, project: LabelingProject, user) -> bool:
    return (
        can_manage(project=project, user=user) or project.members.filter(user=user, role=MemberRole.REVIEWER).exists()
    )


def project_get_managed(*, user, pk) -> LabelingProject:
    project = project_get(user=user, pk=pk)
    if not can_manage(project=project, user=user):
        raise PermissionDenied(gettext("Only the project's owner can do this."))
    return project


def task_get(*, user, pk, content: bool = False) -> LabelingTask:
    """The task and its project; with `content`, also what task_content reads (its item and dataset)."""
    tasks = LabelingTask.objects.select_related("project", *(("item__dataset", "item__blob") if content else ()))
    task = tasks.filter(pk=pk).first()
    if task is None or not _may_see(project=task.project, user=user):
        raise NotFound(gettext("No labeling task with id %(pk)s.") % {"pk": pk})
    return task


def annotation_get(*, user, pk) -> Annotation:
    annotation = Annotation.objects.select_related("task__project").filter(pk=pk).first()
    if annotation is None or not _may_see(project=annotation.task.project, user=user):
        raise NotFound(gettext("No annotation with id %(pk)s.") % {"pk": pk})
    return annotation


def task_content(*, task: LabelingTask) -> dict:
    """What the annotator sees: {"kind": "text", "text"}, {"kind": "pair", "prompt", "a", "b"} or
    {"kind": "image", "image_url", "filename"}; the item's label, if it has one."""
    if task.item_id is None:
        payload = task.payload or {}
        if "a" in payload:
            return {"kind": "pair", "prompt": payload.get("prompt", ""), "a": payload["a"], "b": payload["b"]}
        return {"kind": "text", "text": payload.get("text", ""), "prompt": payload.get("prompt", "")}
    kind = task.item.dataset.kind
    if kind == "image":
        return {
            "kind": "image",
            "image_url": f"/api/v1/labeling/tasks/{task.pk}/image/",
            "filename": task.item.meta.get("filename", ""),
            "label": task.item.label,
        }
    content = dataset_item_content(item=task.item, kind=kind)
    if "pair" in content:
        return {"kind": "pair", **content["pair"], "label": task.item.label}
    return {"kind": "text", "text": content["text"], "label": task.item.label}


def project_progress(*, project: LabelingProject, user=None) -> dict:
    now = timezone.now()
    slots = TaskSlot.objects.filter(project=project).aggregate(
        total=Count("id"),
        submitted=Count("id", filter=Q(status=SlotStatus.SUBMITTED)),
        locked=Count("id", filter=Q(status=SlotStatus.LOCKED, locked_until__gte=now)),
    )
    tasks = LabelingTask.objects.filter(project=project).count()
    unfinished = (
        TaskSlot.objects.filter(project=project).exclude(status=SlotStatus.SUBMITTED).values("task").distinct().count()
    )
    reviews = Annotation.objects.filter(task__project=project).aggregate(
        accepted=Count("id", filter=Q(status=AnnotationStatus.ACCEPTED)),
        rejected=Count("id", filter=Q(status=AnnotationStatus.REJECTED)),
        to_review=Count("id", filter=Q(status=AnnotationStatus.SUBMITTED)),
    )
    progress = {
        "tasks": tasks,
        "tasks_done": tasks - unfinished,
        "annotations_needed": slots["total"],
        "annotations_done": slots["submitted"],
        "in_progress": slots["locked"],
        **reviews,
        "fraction": slots["submitted"] / slots["total"] if slots["total"] else 0.0,
    }
    if user is not None:
        progress["mine"] = Annotation.objects.filter(task__project=project, annotator=user, status__in=LIVE).count()
    return progress


def _live_answers(project: LabelingProject) -> dict[int, list[tuple[int, str]]]:
    answers: dict[int, list[tuple[int, str]]] = defaultdict(list)
    rows = Annotation.objects.filter(task__project=project, status__in=LIVE).order_by("task_id", "id")
    for task_id, annotator_id, value in rows.values_list("task_id", "annotator_id", "value").iterator(chunk_size=5000):
        answers[task_id].append((annotator_id, category(project.task_type, value)))
    return answers


def proposal_agreement(*, project: LabelingProject) -> dict:
    """How annotators met the proposals (pre-annotations): of the live answers to tasks that had one, how
    many gave the proposed answer (accepted it as it was)."""
    rows = Annotation.objects.filter(task__project=project, task__proposal__isnull=False, status__in=LIVE).values_list(
        "value", "task__proposal"
    )
    answers = accepted = 0
    for value, proposal in rows.iterator(chunk_size=5000):
        answers += 1
        accepted += category(project.task_type, value) == category(project.task_type, proposal)
    return {"answers": answers, "accepted": accepted, "acceptance": accepted / answers if answers else None}


def project_agreement(*, project: LabelingProject) -> dict:
    """Over tasks answered by two or more people: percent agreement; Fleiss' kappa over the tasks
    with the most common number of answers; Cohen's kappa for each pair of annotators who share at
    least two tasks, and their mean. Free-text corrections get percent agreement only. `proposals`:
    how often annotators gave the proposed answer (proposal_agreement)."""
    overlapping = {task: answers for task, answers in _live_answers(project).items() if len(answers) >= 2}
    result = {
        "tasks_with_overlap": len(overlapping),
        "percent_agreement": None,
        "fleiss_kappa": None,
        "fleiss_tasks": 0,
        "cohen_kappa": None,
        "cohen_pairs": [],
        "proposals": proposal_agreement(project=project),
    }
    if not overlapping:
        return result
    ratings = [[answer for _, answer in answers] for answers in overlapping.values()]
    result["percent_agreement"] = percent_agreement(ratings)
    if project.task_type == TaskType.CORRECTION:
        return result
    n = Counter(len(r) for r in ratings).most_common(1)[0][0]
    same_n = [r for r in ratings if len(r) == n]
    result["fleiss_kappa"], result["fleiss_tasks"] = fleiss_kappa(same_n), len(same_n)
    by_pair: dict[tuple[int, int], list[tuple[str, str]]] = defaultdict(list)
    for answers in overlapping.values():
        for (first, a), (second, b) in combinations(sorted(answers), 2):
            by_pair[(first, second)].append((a, b))
    names = dict(
        get_user_model().objects.filter(pk__in={p for pair in by_pair for p in pair}).values_list("pk", "username")
    )
    kappas = []
    for (first, second), pairs in sorted(by_pair.items()):
        kappa = cohen_kappa(pairs)
        result["cohen_pairs"].append({"annotators": [names[first], names[second]], "tasks": len(pairs), "kappa": kappa})
        if kappa is not None:
            kappas.append(kappa)
    result["cohen_kappa"] = sum(kappas) / len(kappas) if kappas else None
    return result


def task_consensus(*, task_type: str, annotations: list[tuple[str, dict]]) -> dict | None:
    """The majority answer among (status, value) pairs, accepted ones only when there are any; a tie
    goes to the earliest answer."""
    accepted = [value for status, value in annotations if status == AnnotationStatus.ACCEPTED]
    values = accepted or [value for status, value in annotations if status in LIVE]
    if not values:
        return None
    counts = Counter(category(task_type, value) for value in values)
    best = max(counts.values())
    return next(value for value in values if counts[category(task_type, value)] == best)


def review_queue(*, project: LabelingProject, status: str | None = AnnotationStatus.SUBMITTED) -> QuerySet[Annotation]:
    annotations = Annotation.objects.filter(task__project=project).select_related("annotator", "task").order_by("id")
    return annotations.filter(status=status) if status else annotations
