"""Reads for marketing copy."""

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext

from aigc_platform.core.api import owned_by
from aigc_platform.core.errors import NotFound
from applications.marketing import copywriting
from applications.marketing.models import BrandVoice, Generation, Template, Variant


def templates_active() -> QuerySet[Template]:
    return Template.objects.filter(active=True)


def template_get(*, slug: str) -> Template:
    template = templates_active().filter(slug=slug).first()
    if template is None:
        raise NotFound(gettext("No template %(slug)s.") % {"slug": slug})
    return template


def brand_voices_visible_to(*, user) -> QuerySet[BrandVoice]:
    return owned_by(BrandVoice.objects.all(), user)


def brand_voice_get(*, user, pk) -> BrandVoice:
    voice = brand_voices_visible_to(user=user).filter(pk=pk).first()
    if voice is None:
        raise NotFound(gettext("No brand voice with id %(id)s.") % {"id": pk})
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
        raise NotFound(gettext("No marketing generation with id %(id)s.") % {"id": pk})
    return generation


def variant_get(*, user, pk) -> Variant:
    variant = (
        owned_by(
            Variant.objects.select_related("generation__template", "generation__brand_voice"),
            user,
            owner_field="generation__owner",
        )
        .filter(pk=pk)
        .first()
    )
    if variant is None:
        raise NotFound(gettext("No variant with id %(id)s.") % {"id": pk})
    return variant


def generation_prompts_recent(*, user, limit: int) -> list[str]:
    """The requests of `user`'s latest marketing generations (everyone's for staff), newest first, each
    in its template's words (copywriting.request_prompt): the prompts a blind comparison of generators
    answers (tools_layer.arena reads them through MarketingConfig.arena_prompts)."""
    generations = owned_by(Generation.objects.select_related("template", "brand_voice"), user).order_by("-created_at")
    return [
        copywriting.request_prompt(
            generation.template.prompt,
            copywriting.Brief(
                product=generation.product,
                audience=generation.audience,
                tone=generation.tone,
                language=generation.language,
                length=generation.length,
                keywords=list(generation.keywords),
                voice=copywriting.voice_text(generation.brand_voice),
            ),
        ).strip()
        for generation in generations[:limit]
    ]
