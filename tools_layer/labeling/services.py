"""Writes for labeling: projects and members, handing out tasks (next-task), annotations, review,
proposals, generated outputs sent for rating, and exports (Jobs).

How `next-task` keeps two people off one task. Each task has `overlap` slots. Handing out a task
locks one open slot (or one whose lock expired) for the asker, in one UPDATE whose subquery picks
the candidate with SELECT ... FOR UPDATE SKIP LOCKED: two annotators asking at once never get the
same slot, and neither waits for the other. A person never holds two slots of one task, so with overlap
1 a task is with at most one person at a time, and with overlap N with N different people.
"""

import functools
import json
import tempfile
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from aigc_platform.accounts.roles import OPERATOR, user_has_role
from aigc_platform.core.db import analyze
from aigc_platform.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from aigc_platform.core.spreadsheets import SafeCsvWriter
from infrastructure.compute.models import Job
from infrastructure.compute.services import job_submit
from infrastructure.storage.services import file_store_path
from infrastructure.usage.services import usage_request_record, usage_tokens_record, usage_tokens_reserve
from models_layer.registry import selectors as registry_selectors
from tools_layer.datasets import selectors as dataset_selectors
from tools_layer.datasets import services as dataset_services
from tools_layer.datasets.models import DatasetKind, DatasetVersion
from tools_layer.datasets.services import RawItem
from tools_layer.labeling import preannotate, selectors
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
from tools_layer.labeling.values import category, clean_value

EXPORT_JOB_KIND = "labeling-export"
PREANNOTATE_JOB_KIND = "labeling-preannotate"
EXPORT_FORMATS = ("jsonl", "csv", "dataset")
# Tasks a pre-annotation job asks the generator about at once: the inference worker's engine decodes
# them in one batch (INFERENCE_MAX_BATCH sequences), and progress and cancel are checked between them.
PREANNOTATE_BATCH = 8
PREANNOTATE_MAX_TASKS = 10_000
CREATE_BATCH = 5000
# What showing a reserved task reads besides the task row.
TASK_CONTENT = ("item__dataset", "item__blob")
LABEL_TYPES = (TaskType.SINGLE_LABEL, TaskType.MULTI_LABEL)
# Which dataset kinds each task type can label.
KINDS_BY_TYPE = {
    TaskType.SINGLE_LABEL: {DatasetKind.TEXT, DatasetKind.IMAGE},
    TaskType.MULTI_LABEL: {DatasetKind.TEXT, DatasetKind.IMAGE},
    TaskType.RATING: {DatasetKind.TEXT, DatasetKind.IMAGE},
    TaskType.PAIRWISE: {DatasetKind.PREFERENCE},
    TaskType.CORRECTION: {DatasetKind.TEXT},
}
MAX_LABELS = 36  # one keyboard shortcut each: 1-9, 0, then a-z


def _check_labels(task_type: str, labels: list[str]) -> list[str]:
    if task_type not in LABEL_TYPES:
        if labels:
            raise ApplicationError(
                gettext("A %(task_type)s project has no labels.") % {"task_type": task_type},
                fields={"labels": [gettext("Leave empty.")]},
            )
        return []
    labels = [str(label).strip() for label in labels]
    if len(labels) < 2 or len(set(labels)) != len(labels) or not all(labels) or len(labels) > MAX_LABELS:
        raise ApplicationError(
            gettext("A classification needs 2 to %(MAX_LABELS)s different, non-empty labels.")
            % {"MAX_LABELS": MAX_LABELS},
            fields={"labels": [gettext("2 to 36 different labels.")]},
        )
    return labels


def _users_by_name(usernames: Iterable[str]) -> list:
    usernames = list(dict.fromkeys(usernames))
    users = list(get_user_model().objects.filter(username__in=usernames, is_active=True))
    missing = set(usernames) - {user.username for user in users}
    if missing:
        raise ApplicationError(
            gettext("No such users: %(names)s.") % {"names": ", ".join(sorted(missing))},
            fields={"annotators": [gettext("Unknown users.")]},
        )
    return users


def _create_tasks(project: LabelingProject, tasks: list[LabelingTask]) -> list[LabelingTask]:
    created = LabelingTask.objects.bulk_create(tasks, batch_size=CREATE_BATCH)
    TaskSlot.objects.bulk_create(
        (TaskSlot(project=project, task=task) for task in created for _ in range(project.overlap)),
        batch_size=CREATE_BATCH,
    )
    analyze(LabelingTask, TaskSlot, rows=len(created) * project.overlap)
    return created


@transaction.atomic
def project_create(
    *,
    owner,
    name: str,
    task_type: str,
    dataset_version: DatasetVersion | None = None,
    labels: list[str] = (),
    instructions: str = "",
    overlap: int = 1,
    lock_seconds: int = 600,
    annotators: Iterable[str] = (),
) -> LabelingProject:
    """A project with one task per item of the dataset version (none without a version: such a
    project is fed generated outputs through `outputs_send_for_rating`)."""
    if task_type not in TaskType.values:
        raise ApplicationError(
            gettext("Unknown task type %(task_type)r.") % {"task_type": task_type},
            fields={"task_type": [gettext("One of %(names)s.") % {"names": ", ".join(TaskType.values)}]},
        )
    labels = _check_labels(task_type, list(labels))
    if dataset_version is not None and dataset_version.dataset.kind not in KINDS_BY_TYPE[task_type]:
        raise ApplicationError(
            gettext("A %(task_type)s project cannot label a %(kind)s dataset.")
            % {"task_type": task_type, "kind": dataset_version.dataset.kind},
            fields={"dataset_version": [gettext("Wrong kind of dataset for this task type.")]},
        )
    members = _users_by_name(annotators)
    project = LabelingProject.objects.create(
        owner=owner,
        name=name,
        task_type=task_type,
        dataset_version=dataset_version,
        labels=labels,
        instructions=instructions,
        overlap=overlap,
        lock_seconds=lock_seconds,
    )
    ProjectMember.objects.bulk_create(ProjectMember(project=project, user=user) for user in members)
    if dataset_version is not None:
        item_ids = dataset_version.entries.order_by("item_id").values_list("item_id", flat=True)
        _create_tasks(project, [LabelingTask(project=project, item_id=item_id) for item_id in item_ids])
    return project


@transaction.atomic
def project_member_set(*, project: LabelingProject, username: str, role: str = MemberRole.ANNOTATOR) -> ProjectMember:
    if role not in MemberRole.values:
        raise ApplicationError(
            gettext("Unknown role %(role)r.") % {"role": role},
            fields={"role": [gettext("One of %(names)s.") % {"names": ", ".join(MemberRole.values)}]},
        )
    (user,) = _users_by_name([username])
    member, _ = ProjectMember.objects.update_or_create(project=project, user=user, defaults={"role": role})
    return member


@transaction.atomic
def project_member_remove(*, project: LabelingProject, username: str) -> None:
    removed, _ = ProjectMember.objects.filter(project=project, user__username=username).delete()
    if not removed:
        raise NotFound(gettext("%(username)s is not a member of this project.") % {"username": username})
    # Their reservations go back to the queue at once.
    TaskSlot.objects.filter(project=project, annotator__username=username, status=SlotStatus.LOCKED).update(
        status=SlotStatus.OPEN, annotator=None, locked_until=None
    )


def _lock_until(project: LabelingProject):
    return timezone.now() + timedelta(seconds=project.lock_seconds)


# next-task and submitting write their slot with one UPDATE ... RETURNING each, written out: the ORM
# cannot read back the rows an UPDATE changed, and building the equivalent SELECT ... FOR UPDATE and
# UPDATE with it took more of the web process's CPU than PostgreSQL took to run them (next-task and
# its answer are most of a labeling team's requests). Each subquery locks the row it picks, so the
# UPDATE changes the row as the subquery saw it; {lock} is empty on SQLite, which has no row locks
# (a write there takes the whole database).
#
# next-task: the slot the user holds (its lock renewed), else the first slot still to do (open, or
# its lock expired) of a task the user has no slot of, skipping slots that others' transactions are
# locking right now rather than waiting for them. COALESCE runs the second subquery only when the
# first finds nothing (PostgreSQL runs such a subquery when its value is first needed).
RESERVE_SQL = """
    UPDATE labeling_taskslot SET annotator_id = %(user)s, status = %(locked)s, locked_until = %(until)s
    WHERE id = COALESCE(
        (SELECT id FROM labeling_taskslot
         WHERE project_id = %(project)s AND annotator_id = %(user)s AND status = %(locked)s
         ORDER BY task_id LIMIT 1 {lock}),
        (SELECT slot.id FROM labeling_taskslot slot
         WHERE slot.project_id = %(project)s AND NOT (slot.status = %(submitted)s)
           AND (slot.status = %(open)s OR slot.locked_until < %(now)s)
           AND NOT EXISTS (SELECT 1 FROM labeling_taskslot mine WHERE mine.task_id = slot.task_id AND mine.annotator_id = %(user)s)
         ORDER BY slot.task_id, slot.id LIMIT 1 {lock_skip}))
    RETURNING *"""
# The user's reserved slot of the task becomes submitted, unless they already have a live answer
# there (which a second submit replaces instead).
SUBMIT_RESERVED_SQL = """
    UPDATE labeling_taskslot SET status = %(submitted)s, locked_until = NULL
    WHERE id = (SELECT id FROM labeling_taskslot
                WHERE task_id = %(task)s AND annotator_id = %(user)s AND status = %(locked)s
                ORDER BY id LIMIT 1 {lock})
      AND NOT EXISTS (SELECT 1 FROM labeling_annotation
                      WHERE task_id = %(task)s AND annotator_id = %(user)s AND NOT (status = %(rejected)s))
    RETURNING *"""


def _slot_update(sql: str, **params) -> TaskSlot | None:
    features = connection.features
    sql = sql.format(
        lock="FOR UPDATE" if features.has_select_for_update else "",
        lock_skip="FOR UPDATE SKIP LOCKED" if features.has_select_for_update_skip_locked else "",
    )
    params = {
        "locked": SlotStatus.LOCKED,
        "open": SlotStatus.OPEN,
        "submitted": SlotStatus.SUBMITTED,
        "rejected": AnnotationStatus.REJECTED,
        **params,
    }
    if "project" in params:
        params["project"] = LabelingProject._meta.pk.get_db_prep_value(params["project"], connection)
    # raw() turns the returned columns into a TaskSlot, timestamps converted as a SELECT would.
    return next(iter(TaskSlot.objects.raw(sql, params)), None)


def task_next(*, project: LabelingProject, user) -> TaskSlot | None:
    """Reserve the next task for `user` (see the module docstring); None when nothing is left for them.
    A task they already hold (a reload, an undone annotation) comes back first, its lock renewed.
    One statement, a transaction of its own (RESERVE_SQL)."""
    reserve = functools.partial(
        _slot_update, RESERVE_SQL, project=project.pk, user=user.pk, now=timezone.now(), until=_lock_until(project)
    )
    try:
        slot = reserve()
    except IntegrityError:
        # Their other request of this moment took a place in the same task: that task is theirs now.
        slot = reserve()
    if slot is None:
        return None
    slot.task = LabelingTask.objects.select_related(*TASK_CONTENT).get(pk=slot.task_id)
    slot.task.project = slot.project = project
    return slot


@transaction.atomic
def task_release(*, task: LabelingTask, user) -> None:
    """Give a reserved task back (skip it) so someone else can take it."""
    TaskSlot.objects.filter(task=task, annotator=user, status=SlotStatus.LOCKED).update(
        status=SlotStatus.OPEN, annotator=None, locked_until=None
    )


def annotation_submit(*, task: LabelingTask, user, value: dict, seconds_spent: float | None = None) -> Annotation:
    """Record `user`'s answer. A second submit replaces their earlier answer until it is reviewed."""
    value = clean_value(task.project, value)
    try:
        return _annotation_write(task=task, user=user, value=value, seconds_spent=seconds_spent)
    except IntegrityError:
        # Two submits of one person at the same moment: the first is stored now, so this one replaces it.
        return _annotation_write(task=task, user=user, value=value, seconds_spent=seconds_spent)


@transaction.atomic
def _annotation_write(*, task: LabelingTask, user, value: dict, seconds_spent: float | None) -> Annotation:
    slot = _slot_update(SUBMIT_RESERVED_SQL, task=task.pk, user=user.pk)
    if slot is None:
        existing = (
            Annotation.objects.select_for_update()
            .filter(task=task, annotator=user)
            .exclude(status=AnnotationStatus.REJECTED)
            .first()
        )
        if existing is not None:
            if existing.status == AnnotationStatus.ACCEPTED:
                raise Conflict(
                    gettext("Your annotation of this task was accepted in review; it cannot change."),
                    code="annotation_reviewed",
                )
            existing.value, existing.seconds_spent = value, seconds_spent
            existing.save(update_fields=["value", "seconds_spent", "updated_at"])
            return existing
        # Not reserved for them (never asked, or the lock ran out): a free slot will do.
        slot = (
            TaskSlot.objects.filter(task=task)
            .filter(Q(status=SlotStatus.OPEN) | Q(status=SlotStatus.LOCKED, locked_until__lt=timezone.now()))
            .select_for_update(skip_locked=True)
            .first()
        )
        if slot is None:
            raise Conflict(
                gettext(
                    "This task is not reserved for you: your lock ran out and someone else took it, or it has "
                    "all the annotations it needs. Ask for the next task."
                ),
                code="task_not_reserved",
            )
        slot.annotator, slot.status, slot.locked_until = user, SlotStatus.SUBMITTED, None
        slot.save(update_fields=["annotator", "status", "locked_until"])
    return Annotation.objects.create(task=task, slot=slot, annotator=user, value=value, seconds_spent=seconds_spent)


@transaction.atomic
def annotation_withdraw(*, annotation: Annotation, user) -> LabelingTask:
    """Undo: delete one's own unreviewed answer; the task is reserved for them again."""
    annotation = Annotation.objects.select_for_update().select_related("task__project").get(pk=annotation.pk)
    if annotation.annotator_id != user.pk:
        raise PermissionDenied(gettext("Only its author can undo an annotation."))
    if annotation.status != AnnotationStatus.SUBMITTED:
        raise Conflict(
            gettext("The annotation was already %(status)s in review; it cannot be undone.")
            % {"status": annotation.status},
            code="annotation_reviewed",
        )
    slot_id = annotation.slot_id
    annotation.delete()
    if slot_id is not None:
        TaskSlot.objects.filter(pk=slot_id).update(
            status=SlotStatus.LOCKED, annotator=user, locked_until=_lock_until(annotation.task.project)
        )
    return annotation.task


@transaction.atomic
def annotation_review(*, annotation: Annotation, reviewer, decision: str, comment: str = "") -> Annotation:
    """Accept, or reject: a rejected annotation's slot goes back to the queue for anyone to redo."""
    annotation = Annotation.objects.select_for_update().select_related("task__project").get(pk=annotation.pk)
    if not selectors.can_review(project=annotation.task.project, user=reviewer):
        raise PermissionDenied(gettext("Only the project's owner and reviewers review annotations."))
    if decision not in ("accept", "reject"):
        raise ApplicationError(
            gettext("decision must be accept or reject."), fields={"decision": [gettext("accept or reject")]}
        )
    if annotation.status != AnnotationStatus.SUBMITTED:
        raise Conflict(
            gettext("The annotation was already %(status)s.") % {"status": annotation.status},
            code="annotation_reviewed",
        )
    annotation.status = AnnotationStatus.ACCEPTED if decision == "accept" else AnnotationStatus.REJECTED
    annotation.reviewed_by, annotation.reviewed_at, annotation.review_comment = reviewer, timezone.now(), comment
    if decision == "reject" and annotation.slot_id is not None:
        TaskSlot.objects.filter(pk=annotation.slot_id).update(status=SlotStatus.OPEN, annotator=None, locked_until=None)
        annotation.slot = None
    annotation.save()
    return annotation


@transaction.atomic
def task_proposals_set(*, project: LabelingProject, proposals: dict[int, dict]) -> int:
    """Pre-annotations (from a generator, or any outside tool) that annotators see and correct."""
    tasks = {task.pk: task for task in LabelingTask.objects.filter(project=project, pk__in=list(proposals))}
    missing = set(proposals) - set(tasks)
    if missing:
        raise NotFound(gettext("No tasks %(value)s in this project.") % {"value": sorted(missing)[:10]})
    for task_id, value in proposals.items():
        tasks[task_id].proposal = clean_value(project, value)
    LabelingTask.objects.bulk_update(tasks.values(), ["proposal"], batch_size=CREATE_BATCH)
    return len(tasks)


def _output_payload(project: LabelingProject, output: dict) -> dict:
    if project.task_type == TaskType.PAIRWISE:
        if not all(isinstance(output.get(key), str) and output[key].strip() for key in ("a", "b")):
            raise ApplicationError(
                gettext("A pairwise project takes outputs {prompt, a, b}."),
                fields={"outputs": [gettext("Give a and b.")]},
            )
        return {"prompt": str(output.get("prompt", "")), "a": output["a"], "b": output["b"]}
    if project.task_type in (TaskType.RATING, TaskType.CORRECTION, *LABEL_TYPES):
        if not isinstance(output.get("text"), str) or not output["text"].strip():
            raise ApplicationError(gettext("Each output needs its text."), fields={"outputs": [gettext("Give text.")]})
        return {"text": output["text"], "prompt": str(output.get("prompt", ""))}
    raise ApplicationError(
        gettext("A %(task_type)s project does not take generated outputs.") % {"task_type": project.task_type}
    )


@transaction.atomic
def outputs_send_for_rating(
    *, project: LabelingProject, outputs: list[dict], source: dict | None = None
) -> list[LabelingTask]:
    """What the applications call to close the loop: generated outputs become tasks of a labeling
    project (a rating project, a pairwise one for {prompt, a, b}, or any text project).
    `source` says where they came from (for example {"app": "marketing", "job": "<id>"})."""
    if project.dataset_version_id is not None and project.dataset_version.dataset.kind == DatasetKind.IMAGE:
        raise ApplicationError(gettext("An image project cannot take text outputs."))
    tasks = [
        LabelingTask(project=project, payload=_output_payload(project, output), source=source or {})
        for output in outputs
    ]
    return _create_tasks(project, tasks)


def _preannotate_version(*, user, generator: str, version: int | None):
    """The text generator version that proposes answers: one `user` may generate with (the generate
    API's rule), as a 400 naming the field when it is not."""
    try:
        found = registry_selectors.generator_get(user=user, slug=generator)
    except NotFound as error:
        raise ApplicationError(
            error.message, code="unknown_generator", fields={"generator": [gettext("Unknown generator.")]}
        ) from None
    if found.kind != "text":
        raise ApplicationError(
            gettext("%(generator)s is not a text generator.") % {"generator": generator},
            fields={"generator": [gettext("Pick a text generator.")]},
        )
    try:
        return registry_selectors.generator_version_usable(user=user, generator=found, number=version)
    except (NotFound, Conflict) as error:
        # No production version (none asked for), or the version asked for is not one to use.
        field = "generator" if version is None else "version"
        raise ApplicationError(error.message, code=error.code, fields={field: [error.message]}) from None


def project_preannotate_submit(
    *,
    project: LabelingProject,
    user,
    generator: str,
    version: int | None = None,
    max_tasks: int = 200,
    api_key_prefix: str | None = None,
) -> Job:
    """Queue a `labeling-preannotate` job (on the inference queue, where the models are loaded) in which
    a text generator proposes answers for up to `max_tasks` tasks that have neither a proposal nor an
    answer. Checks the project (text, pairs) and the generator now, so a bad request is a 400."""
    if not preannotate.supported(project.task_type):
        raise ApplicationError(
            gettext("A generator cannot propose answers for a %(task_type)s project.")
            % {"task_type": project.task_type},
            code="preannotate_unsupported",
        )
    if project.dataset_version_id is not None and project.dataset_version.dataset.kind == DatasetKind.IMAGE:
        raise ApplicationError(
            gettext("Pre-annotation proposes answers for text; this project labels images."),
            code="preannotate_unsupported",
        )
    if not 1 <= max_tasks <= PREANNOTATE_MAX_TASKS:
        raise ApplicationError(
            gettext("Ask for 1 to %(PREANNOTATE_MAX_TASKS)s tasks.") % {"PREANNOTATE_MAX_TASKS": PREANNOTATE_MAX_TASKS},
            fields={"max_tasks": [gettext("Out of range.")]},
        )
    chosen = _preannotate_version(user=user, generator=generator, version=version)
    usage_request_record(user=user, api_key_prefix=api_key_prefix)
    params = {"project": str(project.pk), "version_id": chosen.pk, "max_tasks": max_tasks}
    if api_key_prefix:
        params["api_key_prefix"] = api_key_prefix
    waiting = LabelingTask.objects.filter(project=project, proposal__isnull=True, annotations__isnull=True)[
        :max_tasks
    ].count()
    with transaction.atomic():
        job = job_submit(owner=user, kind=PREANNOTATE_JOB_KIND, params=params)
        # The most tokens its answers take are set aside against the daily quota until it ends.
        usage_tokens_reserve(
            user=user,
            job_id=job.pk,
            api_key_prefix=api_key_prefix,
            tokens=waiting * preannotate.most_tokens(project.task_type),
        )
    return job


def _proposals_generated(project: LabelingProject, version, tasks: list[LabelingTask]) -> tuple[dict[int, dict], int]:
    """({task id: proposal}, completion tokens) for a batch of tasks, generated at once: one thread per
    task, so that the runtime's engine decodes them in one batch."""
    from models_layer.runtime import generate_text

    chat = bool((version.parameters or {}).get("chat"))
    requests = {
        task.pk: preannotate.request_for(project, selectors.task_content(task=task), chat=chat) for task in tasks
    }

    def ask(request: dict) -> dict | None:
        try:
            return generate_text(version=version, seed=0, **request)
        except ApplicationError as error:
            # A text longer than the model reads, or an answer cut off: no proposal for that task.
            if error.code in ("prompt_too_long", "incomplete_json"):
                return None
            raise
        finally:
            connections.close_all()  # this thread's, if the runtime opened one

    asked = {task_id: request for task_id, request in requests.items() if request is not None}
    with ThreadPoolExecutor(max_workers=PREANNOTATE_BATCH, thread_name_prefix="preannotate") as pool:
        answers = dict(zip(asked, pool.map(ask, asked.values())))
    proposals, tokens = {}, 0
    for task_id, answer in answers.items():
        if answer is None:
            continue
        tokens += answer["usage"]["completion_tokens"]
        try:
            proposals[task_id] = clean_value(project, answer.get("json"))
        except ApplicationError:
            continue
    return proposals, tokens


def project_preannotate_run(
    *,
    project: LabelingProject,
    version_id: int,
    max_tasks: int,
    owner_id: int,
    api_key_prefix: str | None = None,
    job_id=None,
    progress: Callable[[float, str], None] = lambda fraction, message: None,
) -> dict:
    """Inside the job: propose answers for the tasks without a proposal or an answer, in task order,
    PREANNOTATE_BATCH at a time; each batch's proposals are stored (and its tokens counted) before the
    next starts, so a cancelled job keeps what it proposed."""
    from models_layer.runtime import load_version

    version = registry_selectors.generator_version_by_id(pk=version_id)
    tasks = list(
        LabelingTask.objects.filter(project=project, proposal__isnull=True, annotations__isnull=True)
        .select_related(*TASK_CONTENT)
        .order_by("id")[:max_tasks]
    )
    progress(0.0, f"Loading {version.generator.slug} v{version.number}…")
    load_version(version)  # once, here, before the batch's threads ask for it
    proposed = 0
    for start in range(0, len(tasks), PREANNOTATE_BATCH):
        batch = tasks[start : start + PREANNOTATE_BATCH]
        proposals, tokens = _proposals_generated(project, version, batch)
        if proposals:
            task_proposals_set(project=project, proposals=proposals)
        usage_tokens_record(user_id=owner_id, tokens=tokens, api_key_prefix=api_key_prefix, job_id=job_id)
        proposed += len(proposals)
        done = start + len(batch)
        progress(done / len(tasks), f"Proposed answers for {proposed} of {done} tasks")
    return {"tasks": len(tasks), "proposed": proposed, "generator": version.generator.slug, "version": version.number}


def project_export_submit(
    *, project: LabelingProject, user, format: str, only_accepted: bool = False, target_dataset=None
) -> Job:
    if format not in EXPORT_FORMATS:
        raise ApplicationError(
            gettext("Unknown export format %(format)r.") % {"format": format},
            fields={"format": [gettext("One of %(names)s.") % {"names": ", ".join(EXPORT_FORMATS)}]},
        )
    if format == "dataset":
        _require_dataset_writer(user)
    params = {
        "project": str(project.pk),
        "format": format,
        "only_accepted": only_accepted,
        "target_dataset": str(target_dataset.pk) if target_dataset else None,
    }
    return job_submit(owner=user, kind=EXPORT_JOB_KIND, params=params)


def _export_rows(project: LabelingProject, *, only_accepted: bool) -> Iterable[tuple[LabelingTask, dict, list]]:
    """(task, consensus value, annotations) for each task with an answer, in task order."""
    live = (AnnotationStatus.ACCEPTED,) if only_accepted else (AnnotationStatus.ACCEPTED, AnnotationStatus.SUBMITTED)
    tasks = (
        LabelingTask.objects.filter(project=project, annotations__status__in=live)
        .distinct()
        .select_related("item__dataset", "item__blob")
        .order_by("id")
    )
    for task in tasks.iterator(chunk_size=1000):
        annotations = list(task.annotations.filter(status__in=live).select_related("annotator").order_by("id"))
        consensus = selectors.task_consensus(
            task_type=project.task_type, annotations=[(a.status, a.value) for a in annotations]
        )
        yield task, consensus, annotations


def _label_of(project: LabelingProject, task: LabelingTask, value: dict) -> str:
    if project.task_type == TaskType.CORRECTION:
        return task.item.label if task.item_id else ""
    return category(project.task_type, value)


def project_export_run(
    *,
    project: LabelingProject,
    owner,
    options: dict,
    job_id=None,
    progress: Callable[[float, str], None] = lambda fraction, message: None,
) -> dict:
    total = LabelingTask.objects.filter(project=project).count() or 1
    rows = _export_rows(project, only_accepted=options.get("only_accepted", False))
    if options["format"] == "dataset":
        return _export_to_dataset(project, owner, rows, options, job_id, progress, total)
    # CSV starts with a byte-order mark (utf-8-sig), which spreadsheets need to read Chinese text.
    encoding = "utf-8-sig" if options["format"] == "csv" else "utf-8"
    with tempfile.NamedTemporaryFile("w+", suffix=f".{options['format']}", encoding=encoding, newline="") as out:
        # Texts and labels come from other users: cells that would run as formulas are escaped.
        writer = SafeCsvWriter(out) if options["format"] == "csv" else None
        if writer:
            writer.writerow(["task", "item", "text", "label", "annotations"])
        count = 0
        for task, consensus, annotations in rows:
            content = selectors.task_content(task=task)
            label = _label_of(project, task, consensus)
            text = consensus["text"] if project.task_type == TaskType.CORRECTION else content.get("text", "")
            if writer:
                writer.writerow(
                    [
                        task.pk,
                        task.item_id or "",
                        text
                        or json.dumps({k: content.get(k) for k in ("prompt", "a", "b", "filename") if k in content}),
                        label,
                        len(annotations),
                    ]
                )
            else:
                record = {
                    "task": task.pk,
                    "item": task.item_id,
                    "content": {k: v for k, v in content.items() if k != "image_url"},
                    "label": label,
                    "value": consensus,
                    "source": task.source,
                    "annotations": [
                        {"annotator": a.annotator.username, "value": a.value, "status": a.status} for a in annotations
                    ],
                }
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
            if count % 500 == 0:
                progress(min(count / total, 0.99), f"Exported {count} tasks")
        out.flush()
        file = file_store_path(owner=owner, path=out.name, filename=f"{project.name}-labels.{options['format']}")
    return {
        "file": str(file.pk),
        "rows": count,
        "download_url": f"/api/v1/files/{file.pk}/download/",
        "format": options["format"],
    }


def _require_dataset_writer(user) -> None:
    """Labels exported into a dataset make or change a dataset: operators' work, as in the datasets API
    (a project's owner may be a creator: an operator's project handed over, or a demoted operator)."""
    if not user_has_role(user, OPERATOR):
        raise PermissionDenied(
            gettext("Only operators and admins create or change datasets; export the labels as JSONL or CSV.")
        )


def _export_to_dataset(project, owner, rows, options, job_id, progress, total) -> dict:
    # Checked again when the job runs: the owner's role may have changed while it was queued.
    _require_dataset_writer(owner)
    kind = (
        project.dataset_version.dataset.kind
        if project.dataset_version_id
        else DatasetKind.PREFERENCE
        if project.task_type == TaskType.PAIRWISE
        else DatasetKind.TEXT
    )
    if options.get("target_dataset"):
        dataset = dataset_selectors.dataset_get(user=owner, pk=options["target_dataset"])
        if dataset.kind != kind:
            raise ApplicationError(
                gettext("The labels make %(kind)s items; the dataset %(name)r holds %(kind2)s items.")
                % {"kind": kind, "name": dataset.name, "kind2": dataset.kind}
            )
    else:
        dataset = dataset_services.dataset_create(
            owner=owner, name=f"{project.name} labels {str(project.pk)[:8]}-{timezone.now():%Y%m%d%H%M%S}", kind=kind
        )
    texts, copies = [], []
    for task, consensus, _ in rows:
        label = _label_of(project, task, consensus)
        if project.task_type == TaskType.CORRECTION:
            texts.append(RawItem(where=f"task {task.pk}", text=consensus["text"], label=label))
        elif task.item_id is not None:
            copies.append((task.item, label))
        elif "a" in task.payload:
            texts.append(
                RawItem(
                    where=f"task {task.pk}",
                    pair={k: task.payload.get(k, "") for k in ("prompt", "a", "b")},
                    label=label,
                )
            )
        else:
            texts.append(RawItem(where=f"task {task.pk}", text=task.payload["text"], label=label))
    progress(0.5, f"Saving {len(texts) + len(copies)} labelled items")
    counts = dataset_services.dataset_items_append(
        dataset=dataset, owner=dataset.owner, texts=texts, copies=copies, job_id=job_id
    )
    version = dataset_services.dataset_version_create(
        dataset=dataset, user=owner, note=f"Labels from project {project.name}"
    )
    return {"dataset": str(dataset.pk), "version": str(version.pk), "version_number": version.number, **counts}


TRAINING_SET_PURPOSES = ("preferences", "texts")
# Ratings become pairs within one prompt's outputs: at most this many pairs per prompt, the widest
# rating gaps first (a prompt with n rated outputs would otherwise give n²/2 of them).
MAX_PAIRS_PER_PROMPT = 20


def _task_text(task: LabelingTask, consensus: dict) -> str:
    if "text" in consensus:  # a correction: the corrected text
        return consensus["text"]
    return selectors.task_content(task=task).get("text", "")


def _pairs_from_pairwise(rows) -> list[RawItem]:
    """Each judged pair as it was judged (label: the winner); a tie is skipped: it prefers nothing."""
    raws = []
    for task, consensus, _ in rows:
        if consensus["choice"] == "tie":
            continue
        content = selectors.task_content(task=task)
        pair = {key: content.get(key, "") for key in ("prompt", "a", "b")}
        raws.append(RawItem(where=f"task {task.pk}", pair=pair, label=consensus["choice"]))
    return raws


def _pairs_from_ratings(rows) -> list[RawItem]:
    """Outputs of the same prompt, two by two: the higher-rated one is chosen ("a"); equal ratings are skipped."""
    by_prompt: dict[str, list[tuple[int, str, int]]] = {}
    for task, consensus, _ in rows:
        content = selectors.task_content(task=task)
        by_prompt.setdefault(content.get("prompt", ""), []).append((consensus["rating"], content["text"], task.pk))
    raws = []
    for prompt, rated in by_prompt.items():
        pairs = [
            (high, low) for high in rated for low in rated if high[0] > low[0] and high[1].strip() != low[1].strip()
        ]
        pairs.sort(key=lambda pair: (pair[1][0] - pair[0][0], pair[0][2], pair[1][2]))
        for high, low in pairs[:MAX_PAIRS_PER_PROMPT]:
            raws.append(
                RawItem(
                    where=f"tasks {high[2]} > {low[2]}",
                    pair={"prompt": prompt, "a": high[1], "b": low[1]},
                    label="a",
                )
            )
    return raws


@transaction.atomic
def project_training_set_create(
    *, project: LabelingProject, user, purpose: str, only_accepted: bool = False, min_rating: int | None = None
) -> DatasetVersion:
    """The project's judgements frozen as a dataset version that a training recipe reads: its export
    for training. `preferences`: pairs {prompt, a, b} labelled with the winner, from a pairwise
    project (ties skipped) or from ratings (same prompt, higher rating chosen, equal ones skipped).
    `texts`: the answered texts (corrected ones as corrected; with `min_rating`, those rated at
    least that). `only_accepted` keeps the annotations a reviewer accepted, as the export does."""
    _require_dataset_writer(user)
    if purpose not in TRAINING_SET_PURPOSES:
        raise ApplicationError(gettext("Unknown purpose %(purpose)r.") % {"purpose": purpose})
    if project.dataset_version_id is not None and project.dataset_version.dataset.kind == DatasetKind.IMAGE:
        raise ApplicationError(
            gettext("This project labels images; a language model trains on text."),
            fields={"labeling_project": [gettext("Pick a project of texts or pairs.")]},
        )
    if min_rating is not None and project.task_type != TaskType.RATING:
        raise ApplicationError(
            gettext("Only a rating project has ratings to filter by."),
            fields={"min_rating": [gettext("Leave empty for this project.")]},
        )
    rows = [row for row in _export_rows(project, only_accepted=only_accepted) if row[1] is not None]
    if purpose == "preferences":
        if project.task_type == TaskType.PAIRWISE:
            raws = _pairs_from_pairwise(rows)
        elif project.task_type == TaskType.RATING:
            raws = _pairs_from_ratings(rows)
        else:
            raise ApplicationError(
                gettext("Preferences come from a pairwise or a rating project; this is a %(task_type)s project.")
                % {"task_type": project.task_type},
                fields={"labeling_project": [gettext("Pick a pairwise or a rating project.")]},
            )
        kind = DatasetKind.PREFERENCE
    else:
        if project.task_type == TaskType.PAIRWISE:
            raise ApplicationError(
                gettext("A pairwise project's judgements train preferences (lm-dpo), not texts."),
                fields={"labeling_project": [gettext("Pick a project of texts.")]},
            )
        if min_rating is not None:
            rows = [row for row in rows if row[1]["rating"] >= min_rating]
        raws = [RawItem(where=f"task {task.pk}", text=_task_text(task, consensus)) for task, consensus, _ in rows]
        raws = [raw for raw in raws if raw.text.strip()]
        kind = DatasetKind.TEXT
    if not raws:
        raise ApplicationError(
            gettext("No judgements of %(project)s fit the filter: nothing to train on.") % {"project": project.name},
            code="no_training_examples",
            fields={"labeling_project": [gettext("No judged items fit the filter.")]},
        )
    filters = [name for name, on in (("accepted only", only_accepted), (f"rated {min_rating}+", min_rating)) if on]
    dataset = dataset_services.dataset_create(
        owner=user,
        name=f"{project.name[:150]} {purpose} {timezone.now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}",
        kind=kind,
        source=f"Labelling project {project.name} ({project.pk}){': ' + ', '.join(filters) if filters else ''}",
    )
    dataset_services.dataset_items_append(dataset=dataset, owner=user, texts=raws)
    return dataset_services.dataset_version_create(
        dataset=dataset, user=user, note=f"Judgements of labelling project {project.name} ({project.pk}) for training"
    )
