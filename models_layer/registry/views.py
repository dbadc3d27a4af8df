"""Pages: the generator list with model cards and versions, and the playground."""

import re
from urllib.parse import urlsplit

import markdown
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.safestring import mark_safe

from models_layer.registry import selectors
from models_layer.registry.models import GeneratorVersion, Stage

# Links in a model card may only point at the web or within the site (no javascript: URLs).
_UNSAFE_LINK = re.compile(r'(href|src)="(?!https?:|/|#|mailto:)[^"]*"', re.IGNORECASE)


def model_card_html(text: str) -> str:
    """A model card's Markdown as HTML; raw HTML in the card is shown as text, never run."""
    renderer = markdown.Markdown(extensions=["tables", "fenced_code"])
    renderer.preprocessors.deregister("html_block")
    renderer.inlinePatterns.deregister("html")
    return mark_safe(_UNSAFE_LINK.sub(r'\1="#"', renderer.convert(text)))


@login_required
def generators_page(request):
    generators = list(
        selectors.generators_visible_to(user=request.user).prefetch_related(
            "versions__artifact", "versions__remote_endpoint"
        )
    )
    for generator in generators:
        generator.version_list = sorted(generator.versions.all(), key=lambda v: -v.number)
        shown: GeneratorVersion | None = next((v for v in generator.version_list if v.stage == Stage.PRODUCTION), None)
        shown = shown or (generator.version_list[0] if generator.version_list else None)
        generator.card_html = model_card_html(shown.model_card) if shown and shown.model_card else ""
        generator.shown_version = shown
        generator.citation = shown.promotion_citation if shown else {}
        generator.can_manage = selectors.generator_can_manage(user=request.user, generator=generator)
        endpoints = {v.remote_endpoint_id: v.remote_endpoint for v in generator.version_list if v.remote_endpoint_id}
        generator.endpoints = [
            {
                "name": e.name,
                "host": urlsplit(e.base_url).netloc,
                "health": selectors.remote_endpoint_health(endpoint=e),
            }
            for e in endpoints.values()
        ]
    return render(request, "registry/generators.html", {"generators": generators})


@login_required
def playground_page(request):
    generators = selectors.generators_visible_to(user=request.user).prefetch_related("versions")
    choices = [
        {
            "slug": g.slug,
            "name": g.name,
            "kind": g.kind,
            "versions": [
                {"number": v.number, "stage": v.stage}
                for v in sorted(g.versions.all(), key=lambda v: -v.number)
                if v.is_validated
            ],
        }
        for g in generators
    ]
    return render(
        request, "registry/playground.html", {"choices": choices, "selected": request.GET.get("generator", "")}
    )
