"""Reads for marketing copy."""
from django.db.models import Prefetch, QuerySet

from aigc_platform.core.api import owned_by
from aigc_platform.core.errors import NotFound
from applications.marketing.models import BrandVoice, Generation, Template, Variant


def templates_active() -> QuerySet[Template]:
    return Template.objects.filter(active=True)


def template_get(*, slug: str) -> Template:
    template = templates_active().filter(slug=slug).first()
    if template is None:
        raise NotFound(f"No template {slug!r}.")
    return template


def brand_voices_visible_to(*, user) -> QuerySet[BrandVoice]:
    return owned_by(BrandVoice.objects.all(), user)


def brand_voice_get(*, user, pk) -> BrandVoice:
    voice = brand_voices_visible_to(user=user).filter(pk=pk).first()
    if voice is None:
        raise NotFound(f"No brand voice with id {pk}.")
    return voice


def generations_visible_to(*, user, favourites_only: bool = False) -> QuerySet[Generation]:
    """A creator's history, newest first, with the variants and the job's state."""
    generations = owned_by(Generation.objects.select_related("template", "brand_voice", "job"), user)
    if favourites_only:
        generations = generations.filter(variants__favourite=True).distinct()
    return generations.prefetch_related(Prefetch("variants", queryset=Variant.objects.order_by("index")))


def generation_get(*, user, pk) -> Generation:
    generation = generations_visible_to(user=user).filter(pk=pk).first()
    if generation is None:
        raise NotFound(f"No marketing generation with id {pk}.")
    return generation


def variant_get(*, user, pk) -> Variant:
    variant = owned_by(Variant.objects.select_related("generation__template", "generation__brand_voice"), user,
                       owner_field="generation__owner").filter(pk=pk).first()
    if variant is None:
        raise NotFound(f"No variant with id {pk}.")
    return variant
