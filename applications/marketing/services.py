"""Writes for marketing copy: brand voices, generation requests (as jobs) and the job's work,
variant edits and favourites, and sending variants to a labeling project for rating."""

import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext

from aigc_platform.core.errors import ApplicationError, Conflict, NotFound
from applications.marketing import copywriting
from applications.marketing.models import BrandVoice, Generation, Template, Variant
from applications.moderation import moderate_inputs, moderation_record
from applications.review import judgement_record, verdict_clean
from applications.writing import generator_version_for, version_label, write_json, writing_job_submit
from infrastructure.compute.lifecycle import JobCancelled
from infrastructure.provenance.models import ArtifactKind
from infrastructure.provenance.selectors import provenance_latest_many
from infrastructure.provenance.services import provenance_record, provenance_record_derived
from infrastructure.usage.services import usage_request_record
from tools_layer.quality import fluency, judge

JOB_KIND = "marketing-generate"
REGENERATE_VARIANT_KIND = "marketing-regenerate-variant"
MAX_VARIANTS = 10


def brand_voice_create(
    *,
    owner,
    name: str,
    description: str = "",
    audience: str = "",
    words_to_use: list[str] = (),
    banned_words: list[str] = (),
    sample_copy: str = "",
) -> BrandVoice:
    # The content filter runs outside any transaction, so that the audit record of a block stays.
    moderate_inputs(
        user=owner,
        fields={
            "name": name,
            "description": description,
            "audience": audience,
            "words_to_use": list(words_to_use),
            "sample_copy": sample_copy,
        },
        language="en",
        where="brand voice",
    )
    if BrandVoice.objects.filter(owner=owner, name=name).exists():
        raise Conflict(
            gettext("You have a brand voice named %(name)s already.") % {"name": name},
            fields={"name": [gettext("Taken.")]},
        )
    return BrandVoice.objects.create(
        owner=owner,
        name=name,
        description=description,
        audience=audience,
        words_to_use=list(words_to_use),
        banned_words=list(banned_words),
        sample_copy=sample_copy,
    )


def brand_voice_update(*, voice: BrandVoice, **changes: Any) -> BrandVoice:
    moderate_inputs(
        user=voice.owner,
        language="en",
        where="brand voice",
        fields={
            k: v for k, v in changes.items() if k in ("name", "description", "audience", "words_to_use", "sample_copy")
        },
    )
    if (
        "name" in changes
        and BrandVoice.objects.filter(owner=voice.owner, name=changes["name"]).exclude(pk=voice.pk).exists()
    ):
        raise Conflict(
            gettext("You have a brand voice named %(name)s already.") % {"name": changes["name"]},
            fields={"name": [gettext("Taken.")]},
        )
    for name, value in changes.items():
        setattr(voice, name, value)
    voice.save()
    return voice


def brand_voice_delete(*, voice: BrandVoice) -> None:
    voice.delete()


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
    api_key_prefix: str | None = None,
) -> Generation:
    """Check the request (content filter, a generator for the language), record it, and queue its job.
    A given `seed` makes the generation repeatable on the same generator version and hardware. The
    variants' most tokens are reserved against the user's and `api_key_prefix`'s daily quotas."""
    usage_request_record(user=user, api_key_prefix=api_key_prefix)
    if not template.active:
        raise ApplicationError(
            gettext("The template %(slug)s is switched off.") % {"slug": template.slug},
            fields={"template": [gettext("Inactive.")]},
        )
    if not 1 <= variants <= MAX_VARIANTS:
        raise ApplicationError(
            gettext("Ask for 1 to %(most)s variants.") % {"most": MAX_VARIANTS},
            fields={"variants": [gettext("Out of range.")]},
        )
    moderate_inputs(
        user=user,
        language=language,
        where="marketing",
        fields={"product": product, "audience": audience, "tone": tone, "keywords": list(keywords)},
    )
    banned = {word.strip().lower() for word in (brand_voice.banned_words if brand_voice else [])}
    clashes = [word for word in keywords if word.strip().lower() in banned]
    if clashes:
        raise ApplicationError(
            gettext("The brand voice %(voice)s bans %(words)s, which the request requires.")
            % {"voice": brand_voice.name, "words": ", ".join(clashes)},
            code="keyword_banned",
            fields={"keywords": [f"Banned by the brand voice: {', '.join(clashes)}."]},
        )
    version = generator_version_for(user=user, language=language, generator=generator, version=generator_version)
    with transaction.atomic():
        generation = Generation.objects.create(
            owner=user,
            template=template,
            brand_voice=brand_voice,
            product=product,
            audience=audience,
            tone=tone,
            language=language,
            length=length,
            keywords=list(keywords),
            variant_count=variants,
            generator=version_label(version),
        )
        generation.job = writing_job_submit(
            user=user,
            kind=JOB_KIND,
            params={
                "generation_id": str(generation.pk),
                "version_id": version.pk,
                "seed": secrets.randbelow(2**31) if seed is None else seed,
            },
            tokens=variants * _variant_tokens(template=template, length=length, language=language),
            api_key_prefix=api_key_prefix,
        )
        generation.save(update_fields=["job"])
    return generation


def _brief(generation: Generation) -> copywriting.Brief:
    voice = generation.brand_voice
    return copywriting.Brief(
        product=generation.product,
        audience=generation.audience,
        tone=generation.tone,
        language=generation.language,
        length=generation.length,
        keywords=list(generation.keywords),
        banned_words=list(voice.banned_words) if voice else [],
        voice=copywriting.voice_text(voice),
    )


def variant_write(
    *,
    version,
    template: Template,
    brief: copywriting.Brief,
    index: int,
    seed: int,
    ctx=None,
    max_attempts: int | None = None,
) -> dict[str, Any]:
    """Write one variant, check it, and write it again (a bounded number of times) while a check fails.
    Returns {"text", "fields", "checks", "passed", "attempts", "tries"}: the first try that passed, else
    the one that failed the fewest checks (the latest of equals); `tries` lists each attempt's text and
    the checks it failed."""
    max_attempts = max_attempts or settings.APPLICATIONS_MAX_ATTEMPTS
    fields = copywriting.field_limits(template.fields, brief.length)
    scorer = fluency.scorer_for(brief.language)  # None where no reference model reads the language
    feedback: list[str] = []
    force_keywords: list[str] = []
    best: dict[str, Any] | None = None
    tries: list[dict[str, Any]] = []
    for attempt in range(1, max_attempts + 1):
        if ctx is not None:  # the page counts items and attempts ("variant 2 of 3, attempt 2 of 5")
            ctx.emit(
                "attempt", {"section": "variant", "index": index, "attempt": attempt, "max_attempts": max_attempts}
            )
        prompt = copywriting.variant_prompt(template.prompt, fields, brief, feedback=feedback)
        values, why = write_json(
            version=version,
            system=copywriting.SYSTEM,
            prompt=prompt,
            schema=copywriting.variant_schema(fields, force_keywords=force_keywords),
            max_new_tokens=copywriting.max_tokens_for(fields, brief.language),
            seed=seed + attempt,
            ctx=ctx,
            temperature=copywriting.temperature_for(attempt),
            tags={"section": "variant", "variant": index, "attempt": attempt},
            surface="marketing",
        )
        if values is None:
            checks = {"complete": {"passed": False, "detail": why}}
            values = {}
        else:
            values = copywriting.trim_cut_words(fields, values)
            checks = copywriting.variant_checks(fields, values, brief, prompt=prompt, scorer=scorer)
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
    judgement = judge.judge_item(
        rubric="marketing",
        text=best["text"],
        seed=seed,
        request=(
            f"{template.name} for {brief.product}, for {brief.audience}, in a {brief.tone} tone"
            + (f"; brand voice: {brief.voice}" if brief.voice else "")
        ),
    )
    return {**best, "attempts": len(tries), "tries": tries, "judgement": judgement or {}}


def generation_run(*, generation_id, version_id: int, seed: int, ctx=None) -> dict[str, Any]:
    """The job's work: write every variant (each streams its tokens, then a `variant` event), storing
    each as it is done. A cancel keeps the variants done and stores the rest as not written."""
    from models_layer.registry.selectors import generator_version_by_id

    generation = Generation.objects.select_related("template", "brand_voice", "owner").filter(pk=generation_id).first()
    if generation is None:
        raise NotFound(f"No marketing generation {generation_id}.")
    version = generator_version_by_id(pk=version_id)
    brief = _brief(generation)
    variants = []
    generation.variants.all().delete()  # a retried job writes them afresh
    rows = []
    try:
        for index in range(generation.variant_count):
            if ctx is not None:
                ctx.progress(
                    index / generation.variant_count, f"Writing variant {index + 1} of {generation.variant_count}"
                )
            variant = _variant_unblocked(
                generation,
                variant_write(
                    version=version,
                    template=generation.template,
                    brief=brief,
                    index=index,
                    seed=seed + 1000 * index,
                    ctx=ctx,
                ),
            )
            variants.append(variant)
            rows.append(
                _variant_store(
                    generation=generation, index=index, variant=variant, version=version, job_id=_job_id(ctx)
                )
            )
            if ctx is not None:
                ctx.emit(
                    "variant", {"index": index, "id": rows[-1].pk, "provenance_id": rows[-1].provenance_id, **variant}
                )
    except JobCancelled:
        for index in range(len(rows), generation.variant_count):
            _variant_store(generation=generation, index=index, variant=NOT_WRITTEN)
        raise
    return {
        "generation_id": str(generation.pk),
        "template": generation.template.slug,
        "generator": generation.generator,
        "variants": [
            {"id": row.pk, "provenance_id": row.provenance_id, **variant} for row, variant in zip(rows, variants)
        ],
    }


def _job_id(ctx):
    return ctx.job_id if ctx is not None else None


# What a variant that a stop left unwritten is stored as.
NOT_WRITTEN = {
    "text": "",
    "fields": {},
    "passed": False,
    "attempts": 0,
    "checks": {"complete": {"passed": False, "detail": "not written: the request was stopped"}},
}


def _variant_unblocked(generation: Generation, variant: dict[str, Any]) -> dict[str, Any]:
    """What the content filter blocked is not kept (admins see the event)."""
    if variant["checks"].get("content_filter", {"passed": True})["passed"]:
        return variant
    moderation_record(
        user=generation.owner,
        where="marketing",
        text=variant["text"],
        language=generation.language,
        target=generation,
    )
    return {**variant, "text": "", "fields": {}, "blocked": True}


def _variant_store(
    *, generation: Generation, index: int, variant: dict[str, Any], version=None, job_id=None
) -> Variant:
    """Store variant `index` as written (a rewrite replaces it, and clears its verdict). A written
    variant's provenance record (`version` wrote it in the job `job_id`) is kept in the same
    transaction; its id is on the row as `provenance_id` (None when nothing was written)."""
    with transaction.atomic():
        row, _created = Variant.objects.update_or_create(
            generation=generation,
            index=index,
            defaults={
                "text": variant["text"],
                "fields": variant["fields"],
                "checks": variant["checks"],
                "passed": variant["passed"],
                "attempts": variant["attempts"],
                "edited": False,
                "review": "",
                "review_reason": "",
                "judgement": variant.get("judgement") or {},
            },
        )
        row.provenance_id = None
        if version is not None and variant["text"]:
            row.provenance_id = str(
                provenance_record(
                    key=f"marketing-variant:{row.pk}@job:{job_id}",
                    kind=ArtifactKind.MARKETING_VARIANT,
                    artifact_ref=f"marketing-variant:{row.pk}",
                    artifact_url=f"/api/v1/marketing/generations/{generation.pk}/",
                    owner_id=generation.owner_id,
                    request=_provenance_request(generation, index=index),
                    generator_slug=version.generator.slug,
                    generator_version=version.number,
                    generator_version_pk=version.pk,
                    job_id=job_id,
                    content=variant["text"],
                    media_type="text/plain; charset=utf-8",
                    detail={"generation": str(generation.pk), "index": index},
                ).pk
            )
    return row


def _provenance_request(generation: Generation, *, index: int) -> dict[str, Any]:
    """What was asked for, as the provenance record hashes it."""
    return {
        "template": generation.template.slug,
        "product": generation.product,
        "audience": generation.audience,
        "tone": generation.tone,
        "language": generation.language,
        "length": generation.length,
        "keywords": list(generation.keywords),
        "brand_voice": generation.brand_voice_id,
        "variants": generation.variant_count,
        "variant": index,
    }


def generation_export_record(*, generation: Generation, fmt: str):
    """The provenance record of an export of `generation`'s variants in `fmt`, made from each written
    variant's latest record: the same record for every download while the variants stay as they are."""
    refs = [f"marketing-variant:{pk}" for pk in generation.variants.values_list("pk", flat=True)]
    return provenance_record_derived(
        sources=provenance_latest_many(artifact_refs=refs),
        kind=ArtifactKind.EXPORT,
        artifact_ref=f"marketing-generation:{generation.pk}:{fmt}",
        owner_id=generation.owner_id,
        media_type={"csv": "text/csv", "md": "text/markdown"}.get(fmt, ""),
        request={"generation": str(generation.pk), "format": fmt},
        job_id=generation.job_id,
        detail={"format": fmt, "generator": generation.generator},
    )


def _variant_tokens(*, template: Template, length: str, language: str) -> int:
    """The most tokens one try of one variant takes (what a job reserves per variant)."""
    return copywriting.max_tokens_for(copywriting.field_limits(template.fields, length), language)


def variant_regenerate_submit(*, variant: Variant, user, api_key_prefix: str | None = None):
    """Queue a job that writes this variant again (the other variants stay as they are)."""
    generation = variant.generation
    if generation.job is not None and generation.job.status in ("queued", "running"):
        raise Conflict(
            gettext("The generation is still being written; regenerate a variant once it is done."), code="job_running"
        )
    usage_request_record(user=user, api_key_prefix=api_key_prefix)
    version = generator_version_for(user=user, language=generation.language)
    return writing_job_submit(
        user=user,
        kind=REGENERATE_VARIANT_KIND,
        params={"variant_id": variant.pk, "version_id": version.pk, "seed": secrets.randbelow(2**31)},
        tokens=_variant_tokens(template=generation.template, length=generation.length, language=generation.language),
        api_key_prefix=api_key_prefix,
    )


def variant_regenerate_run(*, variant_id: int, version_id: int, seed: int, ctx=None) -> dict[str, Any]:
    """The job's work: write one variant again (its tokens stream tagged with its index), then store it."""
    from models_layer.registry.selectors import generator_version_by_id

    variant = (
        Variant.objects.select_related("generation__template", "generation__brand_voice", "generation__owner")
        .filter(pk=variant_id)
        .first()
    )
    if variant is None:
        raise NotFound(f"No marketing variant {variant_id}.")
    generation = variant.generation
    version = generator_version_by_id(pk=version_id)
    if ctx is not None:
        ctx.progress(0.0, f"Writing variant {variant.index + 1} again")
    written = _variant_unblocked(
        generation,
        variant_write(
            version=version,
            template=generation.template,
            brief=_brief(generation),
            index=variant.index,
            seed=seed,
            ctx=ctx,
        ),
    )
    row = _variant_store(
        generation=generation, index=variant.index, variant=written, version=version, job_id=_job_id(ctx)
    )
    written = {**written, "provenance_id": row.provenance_id}
    if ctx is not None:
        ctx.emit("variant", {"index": variant.index, "id": row.pk, **written})
    return {"generation_id": str(generation.pk), "variant": {"id": row.pk, "index": variant.index, **written}}


def variant_review(*, variant: Variant, user, verdict: str, reason: str = "") -> Variant:
    """Accept or reject a variant; the verdict (with a rejection's reason) goes to labelling as a judgement."""
    verdict, reason = verdict_clean(verdict=verdict, reason=reason)
    generation = variant.generation
    with transaction.atomic():
        judgement_record(
            user=user,
            verdict=verdict,
            reason=reason,
            text=variant.text,
            prompt=f"{generation.template.name} for {generation.product} ({generation.audience}, {generation.tone})",
            source={
                "app": "marketing",
                "generation": str(generation.pk),
                "variant": variant.pk,
                "generator": generation.generator,
            },
        )
        variant.review, variant.review_reason = verdict, reason
        variant.save(update_fields=["review", "review_reason", "updated_at"])
    return variant


def variant_update(*, variant: Variant, user, text: str | None = None, favourite: bool | None = None) -> Variant:
    """Edit the text in place (its checks run again on the new text) or mark it a favourite."""
    if text is not None and text != variant.text:
        generation = variant.generation
        moderate_inputs(user=user, fields={"text": text}, language=generation.language, where="marketing edit")
        fields = copywriting.field_limits(generation.template.fields, generation.length)
        values = _split_fields(fields, text)
        variant.text, variant.fields, variant.edited = text, values, True
        variant.review, variant.review_reason = "", ""
        brief = _brief(generation)
        variant.checks = copywriting.variant_checks(
            fields, values, brief, prompt=copywriting.variant_prompt(generation.template.prompt, fields, brief)
        )
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


def generation_send_to_labeling(
    *, generation: Generation, user, project_id=None, variant_ids: list[int] | None = None
) -> dict[str, Any]:
    """Send variants to a rating project of the labeling tool (one of the user's, or a new one)."""
    from tools_layer.labeling import selectors as labeling_selectors
    from tools_layer.labeling import services as labeling_services

    variants = list(generation.variants.exclude(text=""))
    if variant_ids:
        variants = [variant for variant in variants if variant.pk in set(variant_ids)]
    if not variants:
        raise ApplicationError(
            gettext("There are no variants to send."), fields={"variants": [gettext("None written yet.")]}
        )
    with transaction.atomic():
        if project_id is None:
            project = labeling_services.project_create(
                owner=user,
                name=f"Rate marketing copy: {generation.template.name}",
                task_type="rating",
                instructions="Rate each piece of marketing copy from 1 (poor) to 5 (ready to publish).",
            )
        else:
            project = labeling_selectors.project_get_managed(user=user, pk=project_id)
        prompt = f"{generation.template.name} for {generation.product} ({generation.audience}, {generation.tone})"
        tasks = labeling_services.outputs_send_for_rating(
            project=project,
            outputs=[{"text": variant.text, "prompt": prompt} for variant in variants],
            source={"app": "marketing", "generation": str(generation.pk), "generator": generation.generator},
        )
    return {
        "project": project.pk,
        "project_url": reverse("labeling-project-page", args=[project.pk]),
        "tasks": [task.pk for task in tasks],
    }
