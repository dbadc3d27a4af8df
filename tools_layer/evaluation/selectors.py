"""Reads for evaluations: what a user may see (the evaluations of generators they can see), and each
version of a generator beside its latest finished evaluation."""
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

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


def evaluations_visible_to(*, user) -> QuerySet[Evaluation]:
    generators = registry_selectors.generators_visible_to(user=user).values("pk")
    return (Evaluation.objects.filter(version__generator__in=generators)
            .select_related("owner", "version__generator", "dataset_version__dataset", "job", "grid"))


def evaluation_get(*, user, pk) -> Evaluation:
    try:
        return evaluations_visible_to(user=user).get(pk=pk)
    except (Evaluation.DoesNotExist, ValidationError, ValueError, TypeError):
        raise NotFound(f"No evaluation with id {pk}.") from None


def evaluations_filtered(*, user, generator: str | None = None, dataset_version: str | None = None) -> QuerySet[Evaluation]:
    """Newest first; `generator` (a slug the user may see) and `dataset_version` (an id) narrow it."""
    evaluations = evaluations_visible_to(user=user)
    if generator:
        try:
            found = registry_selectors.generator_get(user=user, slug=generator)
        except NotFound as error:
            raise ApplicationError(error.message, code="unknown_generator", fields={"generator": ["Unknown generator."]}) from None
        evaluations = evaluations.filter(version__generator=found)
    if dataset_version:
        try:
            evaluations = evaluations.filter(dataset_version_id=DatasetVersion._meta.pk.to_python(dataset_version))
        except ValidationError:
            raise ApplicationError("dataset_version must be a dataset version's id.", fields={"dataset_version": ["Not a UUID."]}) from None
    return evaluations.order_by("-created_at")


def generator_comparison(*, generator: Generator, dataset_version: DatasetVersion | None = None) -> list[VersionColumn]:
    """Every version of the generator, newest first, each with its latest succeeded evaluation (on
    `dataset_version` only, when given: figures on different data do not compare)."""
    latest: dict[int, Evaluation] = {}
    finished = (Evaluation.objects.filter(version__generator=generator, job__status=JobStatus.SUCCEEDED)
                .select_related("dataset_version__dataset", "grid").order_by("-finished_at"))
    if dataset_version is not None:
        finished = finished.filter(dataset_version=dataset_version)
    for evaluation in finished:
        latest.setdefault(evaluation.version_id, evaluation)
    return [VersionColumn(version=v, evaluation=latest.get(v.pk)) for v in registry_selectors.generator_versions(generator=generator)]


def dataset_versions_for_evaluation(*, user) -> QuerySet[DatasetVersion]:
    """The dataset versions the user may evaluate on (their datasets', or all for staff) with a validation split."""
    datasets = datasets_visible_to(user=user).values("pk")
    return (DatasetVersion.objects.filter(dataset__in=datasets, validation_count__gt=0)
            .select_related("dataset").order_by("dataset__name", "-number"))


def generator_evaluated_dataset_versions(*, generator: Generator) -> list[DatasetVersion]:
    """The dataset versions the generator's versions were evaluated on, newest first."""
    ids = (Evaluation.objects.filter(version__generator=generator, dataset_version__isnull=False)
           .values_list("dataset_version_id", flat=True).distinct())
    return list(DatasetVersion.objects.filter(pk__in=ids).select_related("dataset").order_by("-created_at"))
