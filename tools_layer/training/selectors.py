"""Reads for training runs and their metric series."""

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext

from aigc_platform.core.api import owned_by
from aigc_platform.core.errors import NotFound
from tools_layer.training.models import TrainingMetric, TrainingRun


def training_runs_visible_to(*, user) -> QuerySet[TrainingRun]:
    runs = TrainingRun.objects.select_related(
        "job", "owner", "dataset_version__dataset", "base_version__generator", "result_version__generator"
    )
    return owned_by(runs, user)


def training_run_get(*, user, pk) -> TrainingRun:
    try:
        return training_runs_visible_to(user=user).get(pk=pk)
    except (TrainingRun.DoesNotExist, ValidationError, ValueError, TypeError):
        raise NotFound(gettext("No training job with id %(pk)s.") % {"pk": pk}) from None


def training_metrics(*, run: TrainingRun) -> QuerySet[TrainingMetric]:
    return TrainingMetric.objects.filter(run=run).order_by("step")
