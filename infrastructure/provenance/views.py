"""The provenance page: one record, readable, with links to its job, its generator and what it was made from."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from aigc_platform.core.errors import NotFound
from infrastructure.provenance.models import TRAINED_ALGORITHMIC_MEDIA
from infrastructure.provenance.selectors import provenance_get


@login_required
def record_page(request, pk):
    try:
        record = provenance_get(user=request.user, record_id=pk)
    except NotFound:
        raise Http404("No such provenance record.") from None
    return render(
        request, "provenance/record.html", {"record": record, "digital_source_type": TRAINED_ALGORITHMIC_MEDIA}
    )
