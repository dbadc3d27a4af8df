"""Reads for blind comparisons: what a user may see, the prompt sources on offer, the ratings the
judgements give (Bradley–Terry with bootstrap intervals, ratings.py), and the citation a registry
promotion keeps.

Nothing read here for annotators: the labelling API shows them the tasks (prompt, A, B) and never
which version wrote which answer; only the comparison's owner (and staff) read the results."""

from dataclasses import dataclass
from itertools import islice

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from aigc_platform.core.api import owned_by
from aigc_platform.core.errors import ApplicationError, Conflict, NotFound
from tools_layer.arena import ratings
from tools_layer.arena.models import DATASET_PROMPTS, Comparison, ComparisonEntrant, ComparisonPair
from tools_layer.datasets.models import DatasetVersion
from tools_layer.datasets.selectors import dataset_version_evaluation_split, dataset_version_items
from tools_layer.labeling.models import Annotation, AnnotationStatus

# The bootstrap's resamples: enough for stable 95% percentile bounds (their Monte Carlo error is about
# a rating point with a few hundred judgements), few enough to fit a page's request (milliseconds).
BOOTSTRAP_SAMPLES = 1000
CONFIDENCE = 0.95
SCORES = {"a": 1.0, "b": 0.0, "tie": 0.5}
# A dataset may hold many items without a prompt (empty texts): read at most this many per prompt asked.
ITEMS_READ_PER_PROMPT = 4


@dataclass(frozen=True)
class PromptSource:
    key: str
    label: str


def arena_prompt_sources() -> list[PromptSource]:
    """Where a comparison's prompts may come from: a dataset version, and every installed app that
    offers its recent requests by declaring `arena_prompts(*, user, limit)` and `arena_prompt_label`
    on its AppConfig (the applications do: they sit above this layer, which cannot import them)."""
    sources = [PromptSource(DATASET_PROMPTS, gettext_lazy("A dataset version"))]
    for config in apps.get_app_configs():
        if callable(getattr(config, "arena_prompts", None)):
            sources.append(PromptSource(config.label, getattr(config, "arena_prompt_label", config.verbose_name)))
    return sources


def _dataset_prompts(*, version: DatasetVersion, limit: int) -> list[str]:
    """The prompts of a text dataset (each item's text) or a preference dataset (each pair's prompt),
    from the split an evaluation reads (test, else validation) when it has one, else from every item."""
    split = (
        dataset_version_evaluation_split(version=version) if version.test_count or version.validation_count else None
    )
    prompts = []
    for example in islice(dataset_version_items(version=version, split=split), limit * ITEMS_READ_PER_PROMPT):
        text = (example.pair or {}).get("prompt") if example.pair is not None else example.text
        if text and text.strip():
            prompts.append(text.strip())
        if len(prompts) >= limit:
            break
    return prompts


def arena_prompts(*, user, source: str, dataset_version: DatasetVersion | None = None, limit: int) -> list[str]:
    """Up to `limit` prompts from `source` (arena_prompt_sources' keys) as `user` may read them."""
    if source == DATASET_PROMPTS:
        return _dataset_prompts(version=dataset_version, limit=limit) if dataset_version is not None else []
    config = next((c for c in apps.get_app_configs() if c.label == source), None)
    if config is None or not callable(getattr(config, "arena_prompts", None)):
        keys = ", ".join(s.key for s in arena_prompt_sources())
        raise ApplicationError(
            gettext("Unknown prompt source %(source)r.") % {"source": source},
            code="unknown_prompt_source",
            fields={"prompt_source": [gettext("One of %(keys)s.") % {"keys": keys}]},
        )
    return list(config.arena_prompts(user=user, limit=limit))


def comparisons_visible_to(*, user) -> QuerySet[Comparison]:
    """A user's own comparisons (everyone's for staff), newest first."""
    return owned_by(Comparison.objects.select_related("owner", "job", "project", "dataset_version__dataset"), user)


def comparison_get(*, user, pk) -> Comparison:
    try:
        comparison = comparisons_visible_to(user=user).filter(pk=pk).first()
    except (ValidationError, ValueError, TypeError):
        comparison = None
    if comparison is None:
        raise NotFound(gettext("No comparison with id %(pk)s.") % {"pk": pk})
    return comparison


def comparison_entrants(*, comparison: Comparison) -> list[ComparisonEntrant]:
    return list(comparison.entrants.select_related("version__generator").order_by("position"))


def comparison_judgements(*, comparison: Comparison) -> list[ratings.Judgement]:
    """Every live (submitted or accepted) annotation of the comparison's tasks as one judgement between
    the two versions behind A and B: each annotator's answer counts, so overlap adds judgements."""
    if comparison.project_id is None:
        return []
    sides = {
        task: (first, second)
        for task, first, second in ComparisonPair.objects.filter(comparison=comparison).values_list(
            "task_id", "first__position", "second__position"
        )
    }
    answers = Annotation.objects.filter(
        task__project_id=comparison.project_id,
        status__in=(AnnotationStatus.SUBMITTED, AnnotationStatus.ACCEPTED),
    ).values_list("task_id", "value")
    judgements = []
    for task, value in answers.order_by("id").iterator(chunk_size=2000):
        if task in sides and (value or {}).get("choice") in SCORES:
            first, second = sides[task]
            judgements.append(ratings.Judgement(a=first, b=second, score=SCORES[value["choice"]]))
    return judgements


def _label(entrant: ComparisonEntrant) -> dict:
    version = entrant.version
    return {"generator": version.generator.slug, "version": version.number, "stage": version.stage}


def comparison_results(*, comparison: Comparison, samples: int = BOOTSTRAP_SAMPLES) -> dict:
    """The comparison's standing: each version's Bradley–Terry rating on Elo's scale (the versions
    average 1000) with its bootstrap interval at CONFIDENCE, its judgements and wins (a tie counts
    half), best first; each pair of versions with its judgements and win rates; the totals. The
    bootstrap is seeded by the comparison's seed, so a page shows the same bounds on every reload."""
    entrants = comparison_entrants(comparison=comparison)
    judgements = comparison_judgements(comparison=comparison)
    found = ratings.ratings(
        judgements, len(entrants), samples=samples, confidence=CONFIDENCE, seed=comparison.seed & 0xFFFFFFFF
    )
    versions = [
        {
            **_label(entrant),
            "position": entrant.position,
            "rating": round(found.rating[i], 1),
            "low": round(found.low[i], 1),
            "high": round(found.high[i], 1),
            "judgements": found.judgements[i],
            "wins": found.wins[i],
            "win_rate": round(found.wins[i] / found.judgements[i], 4) if found.judgements[i] else None,
        }
        for i, entrant in enumerate(entrants)
    ]
    versions.sort(key=lambda row: -row["rating"])
    pairs = []
    for pair in found.pairs:
        first_rate = pair["first_win_rate"]
        pairs.append(
            {
                "first": _label(entrants[pair["first"]]),
                "second": _label(entrants[pair["second"]]),
                "judgements": pair["judgements"],
                "first_win_rate": round(first_rate, 4) if first_rate is not None else None,
                "second_win_rate": round(1.0 - first_rate, 4) if first_rate is not None else None,
            }
        )
    tasks = ComparisonPair.objects.filter(comparison=comparison).count()
    return {
        "judgements": len(judgements),
        "tasks": tasks,
        "confidence": CONFIDENCE,
        "bootstrap_samples": found.samples,
        "versions": versions,
        "pairs": pairs,
    }


def comparison_url(comparison: Comparison) -> str:
    return f"/evaluations/comparisons/{comparison.pk}/"


def comparison_citation(*, user, reference: str, version) -> dict:
    """What a registry promotion of `version` keeps when it cites comparison `reference`: its id, name,
    link and figures now. The comparison must be one `user` may read, include the version, and hold
    judgements; otherwise an ApplicationError that names the `comparison` field."""
    try:
        comparison = comparison_get(user=user, pk=reference)
    except NotFound as error:
        raise ApplicationError(
            error.message, code="unknown_comparison", fields={"comparison": [error.message]}
        ) from None
    if not comparison.entrants.filter(version_id=version.pk).exists():
        message = gettext("%(slug)s v%(number)s was not in comparison %(name)s.") % {
            "slug": version.generator.slug,
            "number": version.number,
            "name": comparison.name,
        }
        raise ApplicationError(message, code="not_in_comparison", fields={"comparison": [message]})
    results = comparison_results(comparison=comparison)
    if not results["judgements"]:
        message = gettext("Comparison %(name)s has no judgements yet.") % {"name": comparison.name}
        raise Conflict(message, code="comparison_not_judged")
    return {
        "comparison": str(comparison.pk),
        "name": comparison.name,
        "url": comparison_url(comparison),
        "judgements": results["judgements"],
        "confidence": results["confidence"],
        "ratings": [
            {key: row[key] for key in ("generator", "version", "rating", "low", "high", "judgements", "win_rate")}
            for row in results["versions"]
        ],
        "cited_at": timezone.now().isoformat(),
    }


def comparisons_of_generator(*, user, generator, limit: int = 5) -> list[dict]:
    """The latest comparisons `user` may read that included a version of `generator`, each with its
    results (comparison_results): what the evaluations page shows beside the automatic measures."""
    comparisons = comparisons_visible_to(user=user).filter(entrants__version__generator=generator).distinct()[:limit]
    return [
        {
            "comparison": comparison,
            "url": comparison_url(comparison),
            "results": comparison_results(comparison=comparison),
        }
        for comparison in comparisons
    ]
