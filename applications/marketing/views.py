"""The creator page: the form, variants streaming in, history with favourites, edits and exports."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from applications.marketing import selectors
from applications.marketing.serializers import TemplateSerializer
from applications.writing import LANGUAGES


@login_required
def creator_page(request):
    return render(
        request,
        "marketing/creator.html",
        {
            "templates": TemplateSerializer(selectors.templates_active(), many=True).data,
            "voices": list(selectors.brand_voices_visible_to(user=request.user).values("id", "name")),
            "languages": LANGUAGES,
        },
    )
