"""Writes for evaluations: submit one (a Job on the inference queue) and run it inside that job.

A text version is scored on a dataset version's test split, or its validation split when it has no test split:
- every item: perplexity of its text (a text dataset), or of the reference answer after its prompt (a
  preference dataset, whose prompt is read through the model's chat template when it has one);
- items with a reference: BLEU and ROUGE of a greedy answer (temperature 0, the evaluation's seed)
  against it. A preference dataset holds references: each pair's prompt, with the winning response as
  its reference (`a` unless labelled `b`; both for a `tie`). A plain text dataset has none.
An image version draws `max_items` samples: a PNG grid of the first 64 and their pairwise diversity
(metrics.py), beside the same measure of the dataset version's validation images when one is given.

Results are stored on the Evaluation and merged into the version's metrics (the latest evaluation's
keys replace the previous evaluation's), so the registry shows them too.
"""

import io
import logging
import time
from collections.abc import Callable
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from aigc_platform.core.errors import ApplicationError, NotFound
from infrastructure.compute.services import job_submit
from infrastructure.storage.services import file_store
from models_layer.registry import selectors as registry_selectors
from models_layer.registry.models import Generator, GeneratorKind, GeneratorVersion
from models_layer.registry.services import generator_version_metrics_update
from tools_layer.datasets.models import DatasetKind, DatasetVersion
from tools_layer.datasets.selectors import dataset_version_evaluation_split, dataset_version_get, dataset_version_items
from tools_layer.evaluation import metrics as measures
from tools_layer.evaluation.models import Evaluation

logger = logging.getLogger(__name__)

EVALUATION_JOB_KIND = "evaluation"
DEFAULT_TEXT_ITEMS = 64
DEFAULT_IMAGE_SAMPLES = 64
MAX_ITEMS = 1000
# A text longer than this many tokens is scored on its first this-many: the cost of one forward pass
# grows with the square of its length, and 512 tokens hold several paragraphs.
MAX_SCORED_TOKENS = 512
# Images are drawn this many per request: one forward pass each, progress and a cancel check between.
IMAGE_CHUNK = 16
GRID_CELLS = 64
# Enough of the generated answers are kept to read beside the scores, not all of them.
KEPT_SAMPLES = 8
# Every key an evaluation writes into a version's metrics, removed before the next one's are merged.
VERSION_METRIC_KEYS = (
    "perplexity",
    "bleu",
    "rouge1",
    "rouge2",
    "rougeL",
    "diversity",
    "dataset_diversity",
    "evaluation",
)

Progress = Callable[[float, str], None]


def _no_progress(fraction: float, message: str) -> None:
    return None


def _resolve_generator(*, user, slug: str) -> Generator:
    try:
        return registry_selectors.generator_get(user=user, slug=slug)
    except NotFound as error:
        raise ApplicationError(
            error.message, code="unknown_generator", fields={"generator": [gettext("Unknown generator.")]}
        ) from None


def _resolve_version(*, generator: Generator, number: int | None) -> GeneratorVersion:
    try:
        if number is None:
            return registry_selectors.generator_production_version(generator=generator)
        return registry_selectors.generator_version_get(generator=generator, number=number)
    except NotFound as error:
        raise ApplicationError(error.message, code="unknown_version", fields={"version": [error.message]}) from None


def _resolve_dataset_version(*, user, pk, generator: Generator) -> DatasetVersion | None:
    if pk is None:
        if generator.kind == GeneratorKind.TEXT:
            raise ApplicationError(
                gettext("A text generator is evaluated on a dataset version's validation split: give dataset_version."),
                fields={"dataset_version": [gettext("Required for a text generator.")]},
            )
        return None
    try:
        dataset_version = dataset_version_get(user=user, pk=pk)
    except NotFound as error:
        raise ApplicationError(
            error.message, code="unknown_dataset_version", fields={"dataset_version": [error.message]}
        ) from None
    fits = {DatasetKind.TEXT, DatasetKind.PREFERENCE} if generator.kind == GeneratorKind.TEXT else {DatasetKind.IMAGE}
    if dataset_version.dataset.kind not in fits:
        raise ApplicationError(
            gettext("A %(kind)s generator cannot be evaluated on a %(kind2)s dataset.")
            % {"kind": generator.kind, "kind2": dataset_version.dataset.kind},
            fields={"dataset_version": [gettext("Needs a %(names)s dataset.") % {"names": " or ".join(sorted(fits))}]},
        )
    if dataset_version.validation_count == 0 and dataset_version.test_count == 0:
        raise ApplicationError(
            gettext(
                "%(dataset_version)s has no test or validation items; split it, or freeze a version with a validation fraction above 0."
            )
            % {"dataset_version": dataset_version},
            code="no_validation_items",
            fields={"dataset_version": [gettext("Its validation split is empty.")]},
        )
    return dataset_version


@transaction.atomic
def evaluation_submit(
    *,
    user,
    generator: str,
    version: int | None = None,
    dataset_version=None,
    max_items: int | None = None,
    max_new_tokens: int = 64,
    seed: int = 0,
) -> Evaluation:
    """Check the request and queue an `evaluation` job for a version (default: production) of a
    generator the user may see. Bad input raises ApplicationError (400) naming the field."""
    found = _resolve_generator(user=user, slug=generator)
    chosen = _resolve_version(generator=found, number=version)
    data = _resolve_dataset_version(user=user, pk=dataset_version, generator=found)
    if max_items is None:
        max_items = DEFAULT_TEXT_ITEMS if found.kind == GeneratorKind.TEXT else DEFAULT_IMAGE_SAMPLES
    if found.kind == GeneratorKind.IMAGE and max_items < 2:
        raise ApplicationError(
            gettext("Diversity needs at least two samples."),
            fields={"max_items": [gettext("At least 2 for an image generator.")]},
        )
    evaluation = Evaluation.objects.create(
        owner=user,
        version=chosen,
        dataset_version=data,
        max_items=min(max_items, MAX_ITEMS),
        max_new_tokens=max_new_tokens,
        seed=seed,
    )
    # On the inference queue: the worker there holds the loaded models, and its batching engine serves
    # the evaluation's generations beside everyone else's.
    job = job_submit(
        owner=user, kind=EVALUATION_JOB_KIND, queue=settings.GENERATION_QUEUE, params={"evaluation": str(evaluation.pk)}
    )
    evaluation.job = job
    evaluation.save(update_fields=["job"])
    return evaluation


def evaluation_run(*, evaluation: Evaluation, progress: Progress = _no_progress) -> dict[str, Any]:
    """Measure the evaluation's version (inside its job), store the results on the evaluation and merge
    them into the version's metrics. `progress` is called between items (the job's cancel check)."""
    version = registry_selectors.generator_version_by_id(pk=evaluation.version_id)
    started = time.perf_counter()
    if version.generator.kind == GeneratorKind.TEXT:
        (found, samples), grid = _evaluate_text(evaluation=evaluation, version=version, progress=progress), None
    else:
        (found, grid), samples = _evaluate_image(evaluation=evaluation, version=version, progress=progress), []
    found["seconds"] = round(time.perf_counter() - started, 3)
    # The last cancel check: once the results are stored, the evaluation has happened.
    progress(0.98, "Storing the results…")
    with transaction.atomic():
        Evaluation.objects.filter(pk=evaluation.pk).update(
            metrics=found, samples=samples, grid=grid, finished_at=timezone.now()
        )
        summary = {key: found.get(key) for key in VERSION_METRIC_KEYS if key != "evaluation"}
        summary["evaluation"] = {
            "id": str(evaluation.pk),
            "dataset_version": str(evaluation.dataset_version_id) if evaluation.dataset_version_id else None,
            "finished_at": timezone.now().isoformat(),
        }
        generator_version_metrics_update(version=version, metrics=summary)
    return {
        "evaluation": str(evaluation.pk),
        "generator": version.generator.slug,
        "version": version.number,
        "metrics": found,
        "grid": str(grid.pk) if grid else None,
    }


def _references(example) -> tuple[str, list[str]] | None:
    """A preference pair's prompt and its reference answers (the winner; both for a tie)."""
    pair = example.pair
    if not pair or not pair.get("prompt"):
        return None
    winners = {"b": ["b"], "tie": ["a", "b"]}.get(example.label, ["a"])
    references = [pair[side] for side in winners if pair.get(side, "").strip()]
    return (pair["prompt"], references) if references else None


def _evaluate_text(*, evaluation: Evaluation, version: GeneratorVersion, progress: Progress) -> tuple[dict, list]:
    from models_layer.runtime import generate_text, load_causal_lm

    progress(0.02, "Loading the model…")
    # A remote generator (an engine elsewhere, backend openai-compatible) has no weights here to score
    # text with: it is judged on its answers against the references only.
    model = None if version.is_remote else load_causal_lm(version)
    split = dataset_version_evaluation_split(version=evaluation.dataset_version)
    examples = list(
        islice(dataset_version_items(version=evaluation.dataset_version, split=split), evaluation.max_items)
    )
    referenced = [(example, refs) for example in examples if (refs := _references(example)) is not None]
    # Scoring is one forward pass per item; generating is up to max_new_tokens decode steps each.
    work = len(examples) + len(referenced) * 4 or 1
    nll, tokens, truncated, scored = 0.0, 0, 0, 0
    if model is None and not referenced:
        raise ApplicationError(
            gettext(
                "A remote generator is evaluated on reference answers (preference pairs), and this "
                "dataset version's evaluation split has none."
            ),
            code="nothing_to_score",
        )
    for index, example in enumerate(examples if model is not None else []):
        if example.pair is not None:
            prompt_refs = _references(example)
            if prompt_refs is None:
                continue
            context = model.encode_prompt(prompt_refs[0])[-MAX_SCORED_TOKENS:]
            target = model.encode(prompt_refs[1][0], special=False)
        else:
            context, target = [], model.encode(example.text or "")
        truncated += len(target) > MAX_SCORED_TOKENS
        item_nll, item_tokens = model.negative_log_likelihood(context=context, target=target[:MAX_SCORED_TOKENS])
        nll, tokens, scored = nll + item_nll, tokens + item_tokens, scored + (item_tokens > 0)
        progress(0.05 + 0.9 * (index + 1) / work, f"Scored {index + 1} of {len(examples)} validation items")
    if tokens == 0 and model is not None:
        raise ApplicationError(gettext("The validation items hold no text to score."), code="nothing_to_score")
    found: dict[str, Any] = (
        {"reference_items": len(referenced)}
        if model is None
        else {
            "perplexity": round(measures.perplexity(nll=nll, tokens=tokens), 4),
            "mean_nll": round(nll / tokens, 6),
            "scored_items": scored,
            "scored_tokens": tokens,
            "truncated_items": truncated,
            "reference_items": len(referenced),
        }
    )
    outputs, references, samples, too_long = [], [], [], 0
    for index, (example, (prompt, refs)) in enumerate(referenced):
        request = (
            {"messages": [{"role": "user", "content": prompt}]} if model is None or model.chat else {"prompt": prompt}
        )
        try:
            answer = generate_text(
                version=version,
                max_new_tokens=evaluation.max_new_tokens,
                temperature=0.0,
                seed=evaluation.seed,
                **request,
            )
        except ApplicationError as error:
            if error.code != "prompt_too_long":
                raise
            # A prompt longer than the model reads has no answer to compare; it is counted, not fatal.
            too_long += 1
            continue
        outputs.append(answer["text"].strip())
        references.append(refs)
        if len(samples) < KEPT_SAMPLES:
            samples.append({"item": example.item_id, "prompt": prompt, "references": refs, "output": outputs[-1]})
        progress(
            0.05 + 0.9 * (len(examples) + 4 * (index + 1)) / work, f"Generated {index + 1} of {len(referenced)} answers"
        )
    if outputs:
        found.update(measures.bleu_and_rouge(outputs=outputs, references=references))
    if too_long:
        found["prompts_too_long"] = too_long
    return found, samples


def _evaluate_image(*, evaluation: Evaluation, version: GeneratorVersion, progress: Progress):
    from models_layer.runtime import ImageModel, ImageRequest, load_version

    progress(0.02, "Loading the model…")
    model = load_version(version)
    if not isinstance(model, ImageModel):
        raise ApplicationError(gettext("%(slug)s is not an image generator.") % {"slug": version.generator.slug})
    count = evaluation.max_items
    images = []
    for start in range(0, count, IMAGE_CHUNK):
        # Each chunk has its own seed derived from the evaluation's, so the samples repeat exactly.
        images += model.generate(ImageRequest(count=min(IMAGE_CHUNK, count - start), seed=evaluation.seed + start))
        progress(0.05 + 0.7 * len(images) / count, f"Drew {len(images)} of {count} samples")
    height, width, channels = images[0].shape
    found: dict[str, Any] = {
        "samples": len(images),
        "width": width,
        "height": height,
        "channels": channels,
        "diversity": measures.pairwise_diversity(images),
    }
    if evaluation.dataset_version is not None:
        real = [
            measures.fit_to(example.image, width=width, height=height, channels=channels)
            for example in islice(
                dataset_version_items(
                    version=evaluation.dataset_version,
                    split=dataset_version_evaluation_split(version=evaluation.dataset_version),
                ),
                count,
            )
        ]
        found["dataset_diversity"] = measures.pairwise_diversity(real)
        found["dataset_samples"] = len(real)
        progress(0.9, f"Measured {len(real)} validation images")
    png = measures.grid_png(images[:GRID_CELLS], scale=max(1, 64 // max(width, height)))
    grid = file_store(
        owner=evaluation.owner,
        stream=io.BytesIO(png),
        filename=f"{version.generator.slug}-v{version.number}-evaluation-grid.png",
    )
    return found, grid
