"""Writes for marketing copy: brand voices, generation requests (as jobs) and the job's work,
variant edits and favourites, and sending variants to a labeling project for rating."""
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from aigc_platform.core.errors import ApplicationError, Conflict, NotFound
from applications.marketing import copywriting
from applications.marketing.models import BrandVoice, Generation, Template, Variant
from applications.moderation import blocked_terms, moderate_inputs, moderation_record
from applications.writing import generator_version_for, version_label, write_json
from infrastructure.compute.services import job_submit
from infrastructure.usage.services import usage_request_record

JOB_KIND = "marketing-generate"
MAX_VARIANTS = 10


def brand_voice_create(*, owner, name: str, description: str = "", audience: str = "", words_to_use: list[str] = (),
                       banned_words: list[str] = (), sample_copy: str = "") -> BrandVoice:
    # The content filter runs outside any transaction, so that the audit record of a block stays.
    moderate_inputs(user=owner, fields={"name": name, "description": description, "audience": audience,
                                        "words_to_use": list(words_to_use), "sample_copy": sample_copy},
                    language="en", where="brand voice")
    if BrandVoice.objects.filter(owner=owner, name=name).exists():
        raise Conflict(f"You have a brand voice named {name!r} already.", fields={"name": ["Taken."]})
    return BrandVoice.objects.create(owner=owner, name=name, description=description, audience=audience,
                                     words_to_use=list(words_to_use), banned_words=list(banned_words), sample_copy=sample_copy)


def brand_voice_update(*, voice: BrandVoice, **changes: Any) -> BrandVoice:
    moderate_inputs(user=voice.owner, language="en", where="brand voice", fields={
        k: v for k, v in changes.items() if k in ("name", "description", "audience", "words_to_use", "sample_copy")})
    if "name" in changes and BrandVoice.objects.filter(owner=voice.owner, name=changes["name"]).exclude(pk=voice.pk).exists():
        raise Conflict(f"You have a brand voice named {changes['name']!r} already.", fields={"name": ["Taken."]})
    for name, value in changes.items():
        setattr(voice, name, value)
    voice.save()
    return voice


def brand_voice_delete(*, voice: BrandVoice) -> None:
    voice.delete()


def _voice_text(voice: BrandVoice | None) -> str:
    if voice is None:
        return ""
    parts = [voice.name, voice.description]
    if voice.words_to_use:
        parts.append("favour the words " + ", ".join(voice.words_to_use))
    return "; ".join(part for part in parts if part)


def generation_submit(
    *,
    user,
    template: Template,
    product: str,
    audience: str,
    tone: str,
    language: str,
    variants: int,
    length: str = "medium",
    keywords: list[str] = (),
    brand_voice: BrandVoice | None = None,
    generator: str | None = None,
    generator_version: int | None = None,
    seed: int | None = None,
) -> Generation:
    """Check the request (content filter, a generator for the language), record it, and queue its job.
    A given `seed` makes the generation repeatable on the same generator version and hardware."""
    usage_request_record(user=user)
    if not template.active:
        raise ApplicationError(f"The template {template.slug} is switched off.", fields={"template": ["Inactive."]})
    if not 1 <= variants <= MAX_VARIANTS:
        raise ApplicationError(f"Ask for 1 to {MAX_VARIANTS} variants.", fields={"variants": ["Out of range."]})
    moderate_inputs(user=user, language=language, where="marketing",
                    fields={"product": product, "audience": audience, "tone": tone, "keywords": list(keywords)})
    banned = {word.strip().lower() for word in (brand_voice.banned_words if brand_voice else [])}
    clashes = [word for word in keywords if word.strip().lower() in banned]
    if clashes:
        raise ApplicationError(f"The brand voice {brand_voice.name!r} bans {', '.join(clashes)}, which the request requires.",
                               code="keyword_banned", fields={"keywords": [f"Banned by the brand voice: {', '.join(clashes)}."]})
    version = generator_version_for(user=user, language=language, generator=generator, version=generator_version)
    with transaction.atomic():
        generation = Generation.objects.create(
            owner=user, template=template, brand_voice=brand_voice, product=product, audience=audience, tone=tone,
            language=language, length=length, keywords=list(keywords), variant_count=variants, generator=version_label(version),
        )
        generation.job = job_submit(owner=user, kind=JOB_KIND, params={
            "generation_id": str(generation.pk), "version_id": version.pk, "seed": secrets.randbelow(2**31) if seed is None else seed})
        generation.save(update_fields=["job"])
    return generation


def _brief(generation: Generation) -> copywriting.Brief:
    voice = generation.brand_voice
    return copywriting.Brief(
        product=generation.product, audience=generation.audience, tone=generation.tone, language=generation.language,
        length=generation.length, keywords=list(generation.keywords), banned_words=list(voice.banned_words) if voice else [],
        voice=_voice_text(voice),
    )


def variant_write(*, version, template: Template, brief: copywriting.Brief, index: int, seed: int, ctx=None,
                  max_attempts: int | None = None) -> dict[str, Any]:
    """Write one variant, check it, and write it again (a bounded number of times) while a check fails.
    Returns {"text", "fields", "checks", "passed", "attempts", "tries"}: the first try that passed, else
    the one that failed the fewest checks (the latest of equals); `tries` lists each attempt's text and
    the checks it failed."""
    max_attempts = max_attempts or settings.APPLICATIONS_MAX_ATTEMPTS
    fields = copywriting.field_limits(template.fields, brief.length)
    feedback: list[str] = []
    force_keywords: list[str] = []
    best: dict[str, Any] | None = None
    tries: list[dict[str, Any]] = []
    for attempt in range(1, max_attempts + 1):
        prompt = copywriting.variant_prompt(template.prompt, fields, brief, feedback=feedback)
        values, why = write_json(
            version=version, system=copywriting.SYSTEM, prompt=prompt,
            schema=copywriting.variant_schema(fields, force_keywords=force_keywords),
            max_new_tokens=copywriting.max_tokens_for(fields, brief.language), seed=seed + attempt, ctx=ctx,
            temperature=copywriting.temperature_for(attempt),
            tags={"section": "variant", "variant": index, "attempt": attempt},
        )
        if values is None:
            checks = {"complete": {"passed": False, "detail": why}}
            values = {}
        else:
            values = copywriting.trim_cut_words(fields, values)
            checks = copywriting.variant_checks(fields, values, brief, prompt=prompt)
        passed = all(check["passed"] for check in checks.values())
        text = copywriting.render(fields, values)
        failed = [name for name, check in checks.items() if not check["passed"]]
        # What the content filter blocked is not kept, not even in the record of tries.
        tries.append({"attempt": attempt, "text": "" if "content_filter" in failed else text, "failed": failed})
        if best is None or len(failed) <= best["failing"]:
            best = {"text": text, "fields": values, "checks": checks, "passed": passed, "failing": len(failed)}
        if passed:
            break
        feedback = copywriting.feedback_for(checks, brief) if "length" in checks else ["Keep it shorter."]
        # A variant that left out a required keyword is written again under a grammar that keeps them.
        if "required_keywords" in checks and not checks["required_keywords"]["passed"]:
            force_keywords = [word for word in brief.keywords if word.strip()]
    best.pop("failing")
    return {**best, "attempts": len(tries), "tries": tries}


def generation_run(*, generation_id, version_id: int, seed: int, ctx=None) -> dict[str, Any]:
    """The job's work: write every variant (each streams its tokens, then a `variant` event), store them."""
    from models_layer.registry.selectors import generator_version_by_id

    generation = Generation.objects.select_related("template", "brand_voice", "owner").filter(pk=generation_id).first()
    if generation is None:
        raise NotFound(f"No marketing generation {generation_id}.")
    version = generator_version_by_id(pk=version_id)
    brief = _brief(generation)
    variants = []
    for index in range(generation.variant_count):
        if ctx is not None:
            ctx.progress(index / generation.variant_count, f"Writing variant {index + 1} of {generation.variant_count}")
        variant = variant_write(version=version, template=generation.template, brief=brief, index=index,
                                seed=seed + 1000 * index, ctx=ctx)
        if not variant["checks"].get("content_filter", {"passed": True})["passed"]:
            moderation_record(user=generation.owner, where="marketing output", terms=blocked_terms(text=variant["text"]),
                              language=generation.language, target=generation)
            variant = {**variant, "text": "", "fields": {}, "blocked": True}
        variants.append(variant)
        if ctx is not None:
            ctx.emit("variant", {"index": index, **variant})
    rows = generation_store_variants(generation=generation, variants=variants)
    return {
        "generation_id": str(generation.pk), "template": generation.template.slug, "generator": generation.generator,
        "variants": [{"id": row.pk, **variant} for row, variant in zip(rows, variants)],
    }


@transaction.atomic
def generation_store_variants(*, generation: Generation, variants: list[dict]) -> list[Variant]:
    """Replace the generation's variants (a retried job writes them afresh)."""
    generation.variants.all().delete()
    return Variant.objects.bulk_create(
        Variant(generation=generation, index=index, text=variant["text"], fields=variant["fields"], checks=variant["checks"],
                passed=variant["passed"], attempts=variant["attempts"])
        for index, variant in enumerate(variants)
    )


def variant_update(*, variant: Variant, user, text: str | None = None, favourite: bool | None = None) -> Variant:
    """Edit the text in place (its checks run again on the new text) or mark it a favourite."""
    if text is not None and text != variant.text:
        generation = variant.generation
        moderate_inputs(user=user, fields={"text": text}, language=generation.language, where="marketing edit")
        fields = copywriting.field_limits(generation.template.fields, generation.length)
        values = _split_fields(fields, text)
        variant.text, variant.fields, variant.edited = text, values, True
        brief = _brief(generation)
        variant.checks = copywriting.variant_checks(
            fields, values, brief, prompt=copywriting.variant_prompt(generation.template.prompt, fields, brief))
        variant.passed = all(check["passed"] for check in variant.checks.values())
    if favourite is not None:
        variant.favourite = favourite
    variant.save()
    return variant


def _split_fields(fields: list[dict], text: str) -> dict[str, str]:
    """The field values of an edited text, read back from its labelled lines."""
    if len(fields) == 1:
        return {fields[0]["name"]: text.strip()}
    values = {spec["name"]: "" for spec in fields}
    labels = {spec.get("label", spec["name"]).lower(): spec["name"] for spec in fields}
    current = None
    for line in text.splitlines():
        head, _, rest = line.partition(":")
        if head.strip().lower() in labels:
            current = labels[head.strip().lower()]
            values[current] = rest.strip()
        elif current:
            values[current] = f"{values[current]} {line.strip()}".strip()
    return values


def generation_send_to_labeling(*, generation: Generation, user, project_id=None,
                                variant_ids: list[int] | None = None) -> dict[str, Any]:
    """Send variants to a rating project of the labeling tool (one of the user's, or a new one)."""
    from tools_layer.labeling import selectors as labeling_selectors
    from tools_layer.labeling import services as labeling_services

    variants = list(generation.variants.exclude(text=""))
    if variant_ids:
        variants = [variant for variant in variants if variant.pk in set(variant_ids)]
    if not variants:
        raise ApplicationError("There are no variants to send.", fields={"variants": ["None written yet."]})
    with transaction.atomic():
        if project_id is None:
            project = labeling_services.project_create(owner=user, name=f"Rate marketing copy: {generation.template.name}",
                                                       task_type="rating",
                                                       instructions="Rate each piece of marketing copy from 1 (poor) to 5 (ready to publish).")
        else:
            project = labeling_selectors.project_get_managed(user=user, pk=project_id)
        prompt = f"{generation.template.name} for {generation.product} ({generation.audience}, {generation.tone})"
        tasks = labeling_services.outputs_send_for_rating(
            project=project, outputs=[{"text": variant.text, "prompt": prompt} for variant in variants],
            source={"app": "marketing", "generation": str(generation.pk), "generator": generation.generator},
        )
    return {"project": project.pk, "project_url": reverse("labeling-project-page", args=[project.pk]), "tasks": [task.pk for task in tasks]}
