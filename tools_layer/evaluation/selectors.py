"""Reads for evaluations: what a user may see (the evaluations of generators they can see), and each
version of a generator beside its latest finished evaluation.

An evaluation's samples quote its dataset (prompts and references), so every evaluation read here
carries `dataset_readable`: whether the reader may read that dataset (dataset_version_get's rule).
Its samples and its dataset's name are shown only where it is true; the metrics are shown to all."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.utils.translation import gettext

from aigc_platform.core.api import owned_by
from aigc_platform.core.errors import ApplicationError, NotFound
from infrastructure.compute.models import JobStatus
from models_layer.registry import selectors as registry_selectors
from models_layer.registry.models import Generator, GeneratorVersion
from tools_layer.datasets.models import DatasetVersion
from tools_layer.datasets.selectors import datasets_visible_to
from tools_layer.evaluation.models import Evaluation


@dataclass
class VersionColumn:
    """One version in the side-by-side comparison, with its latest succeeded evaluation (or None)."""

    version: GeneratorVersion
    evaluation: Evaluation | None


def with_dataset_readable(evaluations: QuerySet[Evaluation], *, user) -> QuerySet[Evaluation]:
    """The evaluations, each annotated with `dataset_readable`: it has no dataset, or `user` may read
    its dataset (the rule of tools_layer.datasets.selectors.dataset_version_get)."""
    if user.is_staff:
        return evaluations.annotate(dataset_readable=Value(True, output_field=BooleanField()))
    readable = owned_by(DatasetVersion.objects.all(), user, owner_field="dataset__owner").values("pk")
    return evaluations.annotate(
        dataset_readable=Case(
            When(Q(dataset_version__isnull=True) | Q(dataset_version__in=readable), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def evaluations_visible_to(*, user) -> QuerySet[Evaluation]:
    generators = registry_selectors.generators_visible_to(user=user).values("pk")
    evaluations = Evaluation.objects.filter(version__generator__in=generators).select_related(
        "owner", "version__generator", "dataset_version__dataset", "job", "grid"
    )
    return with_dataset_readable(evaluations, user=user)


def evaluation_get(*, user, pk) -> Evaluation:
    try:
        return evaluations_visible_to(user=user).get(pk=pk)
    except (Evaluation.DoesNotExist, ValidationError, ValueError, TypeError):
        raise NotFound(gettext("No evaluation with id %(pk)s.") % {"pk": pk}) from None


def evaluations_filtered(
    *, user, generator: str | None = None, dataset_version: str | None = None
) -> QuerySet[Evaluation]:
    """Newest first; `generator` (a slug the user may see) and `dataset_version` (an id) narrow it."""
    evaluations = evaluations_visible_to(user=user)
    if generator:
        try:
            found = registry_selectors.generator_get(user=user, slug=generator)
        except NotFound as error:
            raise ApplicationError(
                error.message, code="unknown_generator", fields={"generator": [gettext("Unknown generator.")]}
            ) from None
        evaluations = evaluations.filter(version__generator=found)
    if dataset_version:
        try:
            evaluations = evaluations.filter(dataset_version_id=DatasetVersion._meta.pk.to_python(dataset_version))
        except ValidationError:
            raise ApplicationError(
                gettext("dataset_version must be a dataset version's id."),
                fields={"dataset_version": [gettext("Not a UUID.")]},
            ) from None
    return evaluations.order_by("-created_at")


def generator_comparison(
    *, user, generator: Generator, dataset_version: DatasetVersion | None = None
) -> list[VersionColumn]:
    """Every version of the generator, newest first, each with its latest succeeded evaluation (on
    `dataset_version` only, when given: figures on different data do not compare), as `user` reads it."""
    latest: dict[int, Evaluation] = {}
    finished = (
        Evaluation.objects.filter(version__generator=generator, job__status=JobStatus.SUCCEEDED)
        .select_related("dataset_version__dataset", "grid")
        .order_by("-finished_at")
    )
    finished = with_dataset_readable(finished, user=user)
    if dataset_version is not None:
        finished = finished.filter(dataset_version=dataset_version)
    for evaluation in finished:
        latest.setdefault(evaluation.version_id, evaluation)
    return [
        VersionColumn(version=v, evaluation=latest.get(v.pk))
        for v in registry_selectors.generator_versions(generator=generator)
    ]


def dataset_versions_for_evaluation(*, user) -> QuerySet[DatasetVersion]:
    """The dataset versions the user may evaluate on (their datasets', or all for staff) with a validation split."""
    datasets = datasets_visible_to(user=user).values("pk")
    return (
        DatasetVersion.objects.filter(dataset__in=datasets, validation_count__gt=0)
        .select_related("dataset")
        .order_by("dataset__name", "-number")
    )


def generator_evaluated_dataset_versions(*, user, generator: Generator) -> list[DatasetVersion]:
    """The dataset versions the generator's versions were evaluated on that `user` may read, newest first."""
    ids = (
        Evaluation.objects.filter(version__generator=generator, dataset_version__isnull=False)
        .values_list("dataset_version_id", flat=True)
        .distinct()
    )
    readable = owned_by(DatasetVersion.objects.filter(pk__in=ids), user, owner_field="dataset__owner")
    return list(readable.select_related("dataset").order_by("-created_at"))
