"""Writes for blind comparisons (an arena): start one (a Job), and run it inside that job.

Two or more text generator versions answer the same prompts; a `comparison-generate` job writes every
answer, then makes a pairwise labelling project (tools_layer.labeling) with one task per prompt and
pair of versions. Each task holds the prompt and the two answers, as A and B in a random order, and
nothing else: which version wrote A is kept in ComparisonPair, which no labelling page or API reads.
People judge A, B or a tie; selectors.comparison_results turns the judgements into Bradley–Terry
ratings with bootstrap intervals (ratings.py), and a promotion in the registry may cite the comparison
(selectors.comparison_citation, registered with the registry at app ready).

Entry points for other code (the preference-training loop's test among them):
- comparison_submit(user=, versions=[{"generator", "version"}], prompt_source=, ...) -> Comparison
  (its `job` writes the answers and makes `project`);
- comparison_run(comparison=, progress=): the job's body;
- selectors.comparison_results(comparison=): ratings, intervals, win rates and judgement counts;
- selectors.comparison_get / comparisons_visible_to, and comparison_citation for the registry.

Where the arena lives, and why: in the tools layer, as an app of its own beside evaluation and
labelling. It needs the registry and the runtime (below), the labelling app (beside it), and nothing
of the applications' code. The one thing it wants from the applications, the prompts of their recent
requests, they offer from above: an application declares `arena_prompt_label` and
`arena_prompts(*, user, limit)` on its AppConfig, and selectors.arena_prompt_sources finds them in
Django's app registry, as the navigation finds each app's `nav_items`. So imports keep pointing down
(the application knows this interface; this layer names no application), and an installation without
an application simply offers one source fewer. The registry below learns to cite comparisons the same
way the runtime learns to find versions: a function registered at app ready
(models_layer.registry.services.promotion_citation_source_register), the citation kept on the version as data.
"""

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.utils import timezone

from aigc_platform.core.errors import ApplicationError, Conflict, NotFound
from infrastructure.compute.services import job_submit
from models_layer.registry import selectors as registry_selectors
from models_layer.registry.models import GeneratorKind, GeneratorVersion
from tools_layer.arena.models import DATASET_PROMPTS, Comparison, ComparisonEntrant, ComparisonPair
from tools_layer.arena.selectors import arena_prompts
from tools_layer.datasets.models import DatasetKind
from tools_layer.datasets.selectors import dataset_version_get
from tools_layer.labeling.models import TaskType
from tools_layer.labeling.services import outputs_send_for_rating, project_create

Progress = Callable[[float, str], None]

COMPARISON_JOB_KIND = "comparison-generate"
MAX_COMPARISON_VERSIONS = 8
MAX_COMPARISON_PROMPTS = 200
DEFAULT_COMPARISON_PROMPTS = 20
# A prompt longer than this is cut: the arena compares answers, and a few paragraphs make a request.
MAX_PROMPT_CHARS = 4000
# Answers written at once: the inference worker's engine decodes them in one batch; progress and the
# cancel check come between batches.
COMPARISON_BATCH = 8
ARENA_SOURCE = {"app": "arena"}


def _comparison_versions(*, user, versions: list[dict]) -> list[GeneratorVersion]:
    """Each {generator, version} as a text version `user` may generate with (the generate API's rule),
    or a 400 naming the entry that is not."""
    if not 2 <= len(versions) <= MAX_COMPARISON_VERSIONS:
        raise ApplicationError(
            f"Compare 2 to {MAX_COMPARISON_VERSIONS} versions.",
            fields={"versions": [f"Give 2 to {MAX_COMPARISON_VERSIONS} versions."]},
        )
    chosen: list[GeneratorVersion] = []
    for index, entry in enumerate(versions):
        try:
            found = registry_selectors.generator_get(user=user, slug=entry["generator"])
        except NotFound as error:
            raise ApplicationError(
                error.message, code="unknown_generator", fields={"versions": [f"Entry {index + 1}: {error.message}"]}
            ) from None
        if found.kind != GeneratorKind.TEXT:
            raise ApplicationError(
                f"{found.slug} is not a text generator.", fields={"versions": [f"Entry {index + 1}: not text."]}
            )
        try:
            version = registry_selectors.generator_version_usable(
                user=user, generator=found, number=entry.get("version")
            )
        except (NotFound, Conflict) as error:
            raise ApplicationError(
                error.message, code=error.code, fields={"versions": [f"Entry {index + 1}: {error.message}"]}
            ) from None
        if any(other.pk == version.pk for other in chosen):
            raise ApplicationError(
                f"{found.slug} v{version.number} is listed twice.",
                fields={"versions": [f"Entry {index + 1} repeats an earlier one."]},
            )
        chosen.append(version)
    return chosen


def _comparison_prompts(*, user, prompt_source: str, dataset_version, max_prompts: int) -> tuple[list[str], Any]:
    data = None
    if prompt_source == DATASET_PROMPTS:
        if dataset_version is None:
            raise ApplicationError(
                "Prompts from a dataset need dataset_version.", fields={"dataset_version": ["Required."]}
            )
        try:
            data = dataset_version_get(user=user, pk=dataset_version)
        except NotFound as error:
            raise ApplicationError(
                error.message, code="unknown_dataset_version", fields={"dataset_version": [error.message]}
            ) from None
        if data.dataset.kind not in (DatasetKind.TEXT, DatasetKind.PREFERENCE):
            raise ApplicationError(
                "Prompts come from a text or preference dataset.",
                fields={"dataset_version": ["Needs a text or preference dataset."]},
            )
    prompts = arena_prompts(user=user, source=prompt_source, dataset_version=data, limit=max_prompts)
    prompts = list(dict.fromkeys(p.strip()[:MAX_PROMPT_CHARS] for p in prompts if p and p.strip()))
    if not prompts:
        raise ApplicationError(
            "The prompt set is empty: no prompts to compare the versions on.",
            code="no_prompts",
            fields={"prompt_source": ["No prompts found."]},
        )
    return prompts, data


def _annotators_known(usernames: list[str]) -> list[str]:
    usernames = list(dict.fromkeys(name.strip() for name in usernames if name.strip()))
    known = set(
        get_user_model().objects.filter(username__in=usernames, is_active=True).values_list("username", flat=True)
    )
    missing = [name for name in usernames if name not in known]
    if missing:
        raise ApplicationError(
            f"No such users: {', '.join(missing)}.", fields={"annotators": [f"Unknown: {', '.join(missing)}."]}
        )
    return usernames


@transaction.atomic
def comparison_submit(
    *,
    user,
    versions: list[dict],
    prompt_source: str,
    name: str = "",
    dataset_version=None,
    max_prompts: int = DEFAULT_COMPARISON_PROMPTS,
    max_new_tokens: int = 128,
    temperature: float = 0.7,
    seed: int = 0,
    annotators: list[str] = (),
    overlap: int = 1,
) -> Comparison:
    """Start a blind comparison: `versions` are [{"generator": slug, "version": number or None (its
    production version)}], two or more; the prompts are fixed now, from `prompt_source` ("dataset" with
    `dataset_version`, or an application's recent requests: selectors.arena_prompt_sources) and at most
    `max_prompts` of them. Queues a `comparison-generate` job (Comparison.job, on the inference queue)
    that answers every prompt with every version and then makes the pairwise labelling project
    (Comparison.project) whose members are `annotators`. Bad input raises ApplicationError (400)."""
    if not 1 <= max_prompts <= MAX_COMPARISON_PROMPTS:
        raise ApplicationError(
            f"Ask for 1 to {MAX_COMPARISON_PROMPTS} prompts.", fields={"max_prompts": ["Out of range."]}
        )
    chosen = _comparison_versions(user=user, versions=versions)
    prompts, data = _comparison_prompts(
        user=user, prompt_source=prompt_source, dataset_version=dataset_version, max_prompts=max_prompts
    )
    comparison = Comparison.objects.create(
        owner=user,
        name=name.strip() or f"Comparison of {len(chosen)} versions, {timezone.now():%Y-%m-%d %H:%M}",
        prompt_source=prompt_source,
        dataset_version=data,
        prompts=prompts,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        seed=seed,
        annotators=_annotators_known(list(annotators)),
        overlap=overlap,
    )
    ComparisonEntrant.objects.bulk_create(
        ComparisonEntrant(comparison=comparison, version=version, position=position)
        for position, version in enumerate(chosen)
    )
    job = job_submit(
        owner=user,
        kind=COMPARISON_JOB_KIND,
        queue=settings.GENERATION_QUEUE,
        params={"comparison": str(comparison.pk)},
    )
    comparison.job = job
    comparison.save(update_fields=["job"])
    return comparison


def _answers(version: GeneratorVersion, comparison: Comparison, indexes: list[int]) -> list[str]:
    """The version's answers to the prompts at `indexes`, written at once (one thread each, so that the
    runtime's engine decodes them in one batch). Each prompt has its own seed, the same for every
    version: the versions differ by their weights, not by their luck."""
    from models_layer.runtime import generate_text

    chat = bool((version.parameters or {}).get("chat"))

    def ask(index: int) -> str:
        prompt = comparison.prompts[index]
        request = {"messages": [{"role": "user", "content": prompt}]} if chat else {"prompt": prompt}
        try:
            return generate_text(
                version=version,
                max_new_tokens=comparison.max_new_tokens,
                temperature=comparison.temperature,
                seed=comparison.seed + index,
                **request,
            )["text"].strip()
        except ApplicationError as error:
            # A prompt longer than this model reads has no answer; its pairs are left out.
            if error.code != "prompt_too_long":
                raise
            return ""
        finally:
            connections.close_all()  # this thread's, if the runtime opened one

    with ThreadPoolExecutor(max_workers=COMPARISON_BATCH, thread_name_prefix="arena") as pool:
        return list(pool.map(ask, indexes))


def comparison_run(*, comparison: Comparison, progress: Progress = lambda fraction, message: None) -> dict[str, Any]:
    """Inside the job: answer every prompt with every version (answers already stored are kept: a
    redelivered job resumes), then make the pairwise labelling project once."""
    from models_layer.runtime import load_version

    entrants = list(comparison.entrants.select_related("version__generator").order_by("position"))
    total = len(entrants) * len(comparison.prompts) or 1
    done = sum(len(entrant.outputs) for entrant in entrants)
    for number, entrant in enumerate(entrants, start=1):
        version = registry_selectors.generator_version_by_id(pk=entrant.version_id)
        if len(entrant.outputs) >= len(comparison.prompts):
            continue
        progress(done / total * 0.95, f"Loading version {number} of {len(entrants)}…")
        load_version(version)  # once, here, before the batch's threads ask for it
        for start in range(len(entrant.outputs), len(comparison.prompts), COMPARISON_BATCH):
            indexes = list(range(start, min(start + COMPARISON_BATCH, len(comparison.prompts))))
            entrant.outputs = entrant.outputs + _answers(version, comparison, indexes)
            ComparisonEntrant.objects.filter(pk=entrant.pk).update(outputs=entrant.outputs)
            done += len(indexes)
            progress(
                done / total * 0.95,
                f"Version {number} of {len(entrants)}: answered {len(entrant.outputs)} of {len(comparison.prompts)} prompts",
            )
    progress(0.96, "Making the labelling project…")
    project = _comparison_project(comparison=comparison, entrants=entrants)
    return {
        "comparison": str(comparison.pk),
        "project": str(project.pk),
        "tasks": ComparisonPair.objects.filter(comparison=comparison).count(),
        "versions": [f"{e.version.generator.slug} v{e.version.number}" for e in entrants],
    }


ARENA_INSTRUCTIONS = (
    "Two answers to the same request. Which is better: more helpful, correct and well written? "
    "Choose A, B, or a tie when neither is better. Where the answers come from is hidden on purpose."
)


@transaction.atomic
def _comparison_project(*, comparison: Comparison, entrants: list[ComparisonEntrant]):
    """The pairwise project (once: the comparison's row is locked, and a project already made is kept).
    One task per prompt and pair of versions, A and B drawn at random for each task, the tasks in a
    random order; the task's source says only that it is an arena task."""
    locked = Comparison.objects.select_for_update().get(pk=comparison.pk)
    if locked.project_id is not None:
        return locked.project
    # The order must not be guessable by annotators, so it is not drawn from the comparison's seed.
    draw = random.SystemRandom()
    planned = []
    for index in range(len(locked.prompts)):
        for left, right in combinations(entrants, 2):
            if not (left.outputs[index] and right.outputs[index]):
                continue
            planned.append((index, *((right, left) if draw.random() < 0.5 else (left, right))))
    draw.shuffle(planned)
    if not planned:
        raise ApplicationError("No prompt was answered by two versions: nothing to compare.", code="no_answers")
    project = project_create(
        owner=locked.owner,
        name=f"Blind comparison {str(locked.pk)[:8]}",
        task_type=TaskType.PAIRWISE,
        instructions=ARENA_INSTRUCTIONS,
        overlap=locked.overlap,
        annotators=locked.annotators,
    )
    tasks = outputs_send_for_rating(
        project=project,
        outputs=[
            {"prompt": locked.prompts[index], "a": first.outputs[index], "b": second.outputs[index]}
            for index, first, second in planned
        ],
        source=ARENA_SOURCE,
    )
    ComparisonPair.objects.bulk_create(
        ComparisonPair(comparison=locked, task=task, prompt_index=index, first=first, second=second)
        for task, (index, first, second) in zip(tasks, planned, strict=True)
    )
    locked.project = project
    locked.save(update_fields=["project"])
    return project
