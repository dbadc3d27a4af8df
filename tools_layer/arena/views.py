"""The comparisons pages: start a blind comparison and list one's comparisons; one comparison's
results (ratings with intervals, win rates, judgements), its labelling project, and promotion citing it."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from aigc_platform.accounts.roles import OPERATOR, user_has_role
from aigc_platform.core.errors import NotFound
from models_layer.registry import selectors as registry_selectors
from models_layer.registry.models import GeneratorKind
from tools_layer.arena import selectors
from tools_layer.arena.serializers import ComparisonSerializer
from tools_layer.datasets.models import DatasetKind
from tools_layer.datasets.selectors import datasets_visible_to

SHOWN_COMPARISONS = 50


def _text_versions(user) -> list[dict]:
    """The validated text versions the user may pick, newest first within each generator."""
    generators = (
        registry_selectors.generators_visible_to(user=user).filter(kind=GeneratorKind.TEXT).prefetch_related("versions")
    )
    return [
        {"generator": g.slug, "version": v.number, "stage": v.stage}
        for g in generators.order_by("slug")
        for v in sorted(g.versions.all(), key=lambda v: -v.number)
        if v.is_validated
    ]


@login_required
def comparisons_page(request):
    can_start = user_has_role(request.user, OPERATOR)
    comparisons = selectors.comparisons_visible_to(user=request.user)[:SHOWN_COMPARISONS]
    datasets = datasets_visible_to(user=request.user).filter(kind__in=(DatasetKind.TEXT, DatasetKind.PREFERENCE))
    return render(
        request,
        "arena/comparisons.html",
        {
            "can_start": can_start,
            "comparisons": [ComparisonSerializer(c).data for c in comparisons],
            "versions": _text_versions(request.user) if can_start else [],
            "sources": selectors.arena_prompt_sources(),
            "dataset_versions": [
                {"id": str(v.pk), "label": f"{d.name} v{v.number}"}
                for d in datasets.prefetch_related("versions").order_by("name")
                for v in sorted(d.versions.all(), key=lambda v: -v.number)
            ]
            if can_start
            else [],
        },
    )


@login_required
def comparison_page(request, pk):
    try:
        comparison = selectors.comparison_get(user=request.user, pk=pk)
    except NotFound:
        return render(request, "arena/comparison.html", {"missing": True}, status=404)
    results = selectors.comparison_results(comparison=comparison)
    visible = {g.slug: g for g in registry_selectors.generators_visible_to(user=request.user)}
    for row in results["versions"]:
        generator = visible.get(row["generator"])
        row["can_promote"] = (
            results["judgements"] > 0
            and generator is not None
            and registry_selectors.generator_can_manage(user=request.user, generator=generator)
        )
    return render(
        request,
        "arena/comparison.html",
        {"comparison": ComparisonSerializer(comparison).data, "results": results, "missing": False},
    )
