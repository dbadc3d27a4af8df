"""The evaluations page: a generator's versions side by side with their latest evaluation's metrics
(and image grids), the evaluations run on it, and a form to start one (operators and admins)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from aigc_platform.accounts.roles import OPERATOR, user_has_role
from models_layer.registry import selectors as registry_selectors
from tools_layer.arena import selectors as arena_selectors
from tools_layer.evaluation import selectors

# The rows of the comparison: (label, metric key, digits shown).
METRIC_ROWS = [
    ("Perplexity (lower is better)", "perplexity", 3),
    ("BLEU (0–100)", "bleu", 2),
    ("ROUGE-1", "rouge1", 4),
    ("ROUGE-2", "rouge2", 4),
    ("ROUGE-L", "rougeL", 4),
    ("Diversity of samples", "diversity", 4),
    ("Diversity of validation images", "dataset_diversity", 4),
    ("Items scored", "scored_items", 0),
    ("Samples drawn", "samples", 0),
]


def _cell(value, digits: int) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


@login_required
def evaluations_page(request):
    generators = list(registry_selectors.generators_visible_to(user=request.user).order_by("slug"))
    selected = next(
        (g for g in generators if g.slug == request.GET.get("generator")), generators[0] if generators else None
    )
    columns, rows, evaluations, evaluated_on, on, comparisons = [], [], [], [], None, []
    if selected is not None:
        evaluated_on = selectors.generator_evaluated_dataset_versions(user=request.user, generator=selected)
        on = next((v for v in evaluated_on if str(v.pk) == request.GET.get("dataset_version")), None)
        columns = selectors.generator_comparison(user=request.user, generator=selected, dataset_version=on)
        shown = [
            (label, key, digits)
            for label, key, digits in METRIC_ROWS
            if any(c.evaluation and c.evaluation.metrics.get(key) is not None for c in columns)
        ]
        rows = [
            (label, [_cell(c.evaluation.metrics.get(key) if c.evaluation else None, digits) for c in columns])
            for label, key, digits in shown
        ]
        evaluations = selectors.evaluations_filtered(user=request.user, generator=selected.slug)[:20]
        comparisons = arena_selectors.comparisons_of_generator(user=request.user, generator=selected)
    can_start = user_has_role(request.user, OPERATOR)
    return render(
        request,
        "evaluation/evaluations.html",
        {
            "generators": generators,
            "selected": selected,
            "columns": columns,
            "rows": rows,
            "evaluations": evaluations,
            "comparisons": comparisons,
            "evaluated_on": evaluated_on,
            "on": on,
            "can_start": can_start,
            "has_production": any(c.version.stage == "production" for c in columns),
            "dataset_versions": selectors.dataset_versions_for_evaluation(user=request.user) if can_start else [],
        },
    )
