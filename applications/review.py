"""A creator's verdict on one generated item (a variant, a slide, a question), kept as a judgement in
labelling: a task of the creator's "Creator judgements" project, answered `accepted` or `rejected`
by them, with the reason on the task. Such judgements are labelled data for the checks and for training."""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from aigc_platform.core.errors import ApplicationError

ACCEPTED = "accepted"
REJECTED = "rejected"
VERDICTS = (ACCEPTED, REJECTED)
PROJECT_NAME = "Creator judgements"
MAX_REASON_CHARS = 1000


def _judgements_project(*, user):
    from tools_layer.labeling import selectors as labeling_selectors
    from tools_layer.labeling import services as labeling_services

    project = (
        labeling_selectors.projects_visible_to(user=user)
        .filter(owner=user, name=PROJECT_NAME, task_type="single_label")
        .order_by("created_at")
        .first()
    )
    if project is None:
        project = labeling_services.project_create(
            owner=user,
            name=PROJECT_NAME,
            task_type="single_label",
            labels=list(VERDICTS),
            instructions="A creator's verdict on a generated item, made on the creator's page; the task's source holds the reason.",
        )
    return project


def verdict_clean(*, verdict: str, reason: str = "") -> tuple[str, str]:
    """The verdict and its reason as stored: a rejection says why."""
    reason = (reason or "").strip()
    if verdict not in VERDICTS:
        raise ApplicationError(
            _("The verdict is accepted or rejected."), fields={"verdict": [_("accepted or rejected")]}
        )
    if verdict == REJECTED and not reason:
        raise ApplicationError(_("Say why you reject it."), fields={"reason": [_("A rejection needs a reason.")]})
    if len(reason) > MAX_REASON_CHARS:
        raise ApplicationError(_("The reason is too long."), fields={"reason": [_("At most 1000 characters.")]})
    return verdict, reason


@transaction.atomic
def judgement_record(
    *, user, verdict: str, reason: str, text: str, prompt: str, source: dict[str, Any]
) -> dict[str, Any]:
    """Record the verdict in labelling: one task (the item's text) answered with the verdict by `user`."""
    from tools_layer.labeling import services as labeling_services

    project = _judgements_project(user=user)
    task = labeling_services.outputs_send_for_rating(
        project=project, outputs=[{"text": text or "(empty)", "prompt": prompt}], source={**source, "reason": reason}
    )[0]
    labeling_services.annotation_submit(task=task, user=user, value={"label": verdict})
    return {"verdict": verdict, "reason": reason, "labeling_project": str(project.pk), "labeling_task": task.pk}
