"""Dataset pages: the list (with a create form), one dataset (items, labels, versions, import), and its
Prepare tab (preparation steps, previews, reports, comparing versions)."""

from django.http import Http404
from django.shortcuts import render

from aigc_platform.accounts.permissions import operator_required
from aigc_platform.core.errors import NotFound
from tools_layer.datasets import selectors
from tools_layer.datasets.models import DatasetKind


@operator_required
def datasets_page(request):
    datasets = selectors.datasets_visible_to(user=request.user)[:200]
    return render(request, "datasets/datasets.html", {"datasets": datasets, "kinds": DatasetKind.values})


@operator_required
def dataset_page(request, pk):
    try:
        dataset = selectors.dataset_get(user=request.user, pk=pk)
    except NotFound:
        raise Http404("No such dataset.") from None
    return render(
        request,
        "datasets/dataset.html",
        {
            "dataset": dataset,
            "label_counts": selectors.dataset_label_counts(dataset=dataset),
            "versions": selectors.dataset_versions(dataset=dataset),
            "item_count": selectors.dataset_items(dataset=dataset).count(),
        },
    )


@operator_required
def dataset_prepare_page(request, pk):
    try:
        dataset = selectors.dataset_get(user=request.user, pk=pk)
    except NotFound:
        raise Http404("No such dataset.") from None
    versions = selectors.dataset_versions(dataset=dataset).select_related("parent")
    return render(request, "datasets/prepare.html", {"dataset": dataset, "versions": versions})
