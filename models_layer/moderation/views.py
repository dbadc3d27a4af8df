"""The moderation page (operators and admins): the policies, a form to add one, a dry run, the recent blocks."""

from django.shortcuts import render

from aigc_platform.accounts.permissions import operator_required
from models_layer.moderation import selectors
from models_layer.moderation.matching import DEFAULT_WORDS
from models_layer.moderation.models import AppliesTo, PolicyKind
from models_layer.registry.models import GeneratorKind
from models_layer.registry.selectors import generators_visible_to


@operator_required
def moderation_page(request):
    return render(
        request,
        "moderation/moderation.html",
        {
            "policies": selectors.policies_all(),
            "default_name": DEFAULT_WORDS,
            "default_lists": selectors.default_word_lists(),
            "blocks": selectors.blocks_recent(),
            "kinds": PolicyKind.choices,
            "applies": AppliesTo.choices,
            "classifiers": generators_visible_to(user=request.user).filter(kind=GeneratorKind.TEXT),
        },
    )
