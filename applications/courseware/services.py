"""Writes for courseware: lesson requests (as jobs) and the job's work, one slide written again (as a
job), and a creator's edits to a slide or a quiz question."""

import json
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext

from aigc_platform.core.errors import ApplicationError, NotFound
from applications.courseware import authoring
from applications.courseware.authoring import Brief
from applications.courseware.models import Lesson
from applications.moderation import ContentBlocked, moderate_inputs, moderation_record
from applications.review import judgement_record, verdict_clean
from applications.writing import generator_version_for, version_label, write_json, writing_job_submit
from infrastructure.compute.lifecycle import JobCancelled
from infrastructure.provenance.models import ArtifactKind, ProvenanceRecord
from infrastructure.provenance.selectors import provenance_latest
from infrastructure.provenance.services import provenance_record, provenance_record_derived
from infrastructure.usage.services import usage_request_record
from tools_layer.quality import fluency, judge

JOB_KIND = "courseware-generate"
REGENERATE_SLIDE_KIND = "courseware-regenerate-slide"
REGENERATE_QUESTION_KIND = "courseware-regenerate-question"
MAX_SLIDES = 20
MAX_QUIZ_QUESTIONS = 20
MAX_OBJECTIVES = 8
# Slides written at the same time; the runtime batches them (AIGC_INFERENCE_MAX_BATCH caps a batch).
SLIDES_AT_ONCE = 8
# Randomness keeps a small model from looping; too much and it drifts into other languages and
# strings of numbers. A retry differs from the try before by its seed and its feedback, and samples a
# little more tightly. Measured with bench/applications.py over 20 lessons (160 items): first tries
# passed 77% at 0.3, 80-83% at 0.5 and 84-86% at 0.7; retries at 0.8 still failed 1-3 items after
# five tries (they wrote more junk), at 0.6 none.
FIRST_TEMPERATURE = 0.7
RETRY_TEMPERATURE = 0.6
# A small model loops (a bullet written three times, four equal choices); words it already wrote in
# an answer are made less likely (models_layer.runtime.requests.TextRequest). Measured with
# bench/applications.py over 6 lessons (48 items, same seeds): first-try passes 10/48 with no
# penalty, 18/48 at 0.8/0.4, 26/48 at 1.5/0.5.
PRESENCE_PENALTY = 1.5
FREQUENCY_PENALTY = 0.5


def _brief(lesson: Lesson) -> Brief:
    return Brief(
        topic=lesson.topic,
        grade_level=lesson.grade_level,
        objectives=list(lesson.objectives),
        language=lesson.language,
        slide_count=lesson.slide_count,
        quiz_questions=lesson.quiz_questions,
    )


def lesson_submit(
    *,
    user,
    topic: str,
    grade_level: int,
    objectives: list[str],
    slide_count: int,
    quiz_questions: int,
    language: str,
    generator: str | None = None,
    generator_version: int | None = None,
    api_key_prefix: str | None = None,
) -> Lesson:
    """Check the request (content filter, a generator for the language), record it, and queue its job.
    The checks run outside the transaction, so that a blocked request's audit event is kept."""
    objectives = [objective.strip() for objective in objectives if objective.strip()]
    if not 1 <= len(objectives) <= MAX_OBJECTIVES:
        raise ApplicationError(
            gettext("Give 1 to %(most)s learning objectives.") % {"most": MAX_OBJECTIVES},
            fields={"objectives": [gettext("Out of range.")]},
        )
    if not 1 <= slide_count <= MAX_SLIDES:
        raise ApplicationError(
            gettext("Ask for 1 to %(most)s slides.") % {"most": MAX_SLIDES},
            fields={"slide_count": [gettext("Out of range.")]},
        )
    if not 1 <= quiz_questions <= MAX_QUIZ_QUESTIONS:
        raise ApplicationError(
            gettext("Ask for 1 to %(most)s quiz questions.") % {"most": MAX_QUIZ_QUESTIONS},
            fields={"quiz_questions": [gettext("Out of range.")]},
        )
    usage_request_record(user=user, api_key_prefix=api_key_prefix)
    moderate_inputs(user=user, language=language, where="courseware", fields={"topic": topic, "objectives": objectives})
    version = generator_version_for(user=user, language=language, generator=generator, version=generator_version)
    with transaction.atomic():
        lesson = Lesson.objects.create(
            owner=user,
            topic=topic.strip(),
            grade_level=grade_level,
            objectives=objectives,
            slide_count=slide_count,
            quiz_questions=quiz_questions,
            language=language,
            generator=version_label(version),
        )
        lesson.job = writing_job_submit(
            user=user,
            kind=JOB_KIND,
            params={"lesson_id": lesson.pk, "version_id": version.pk, "seed": secrets.randbelow(2**31)},
            tokens=_lesson_tokens(language=language, slide_count=slide_count, quiz_questions=quiz_questions),
            api_key_prefix=api_key_prefix,
        )
        lesson.save(update_fields=["job"])
    return lesson


def _write_checked(
    *,
    version,
    brief: Brief,
    section: str,
    schema: dict | Callable[[], dict],
    prompt: Callable[[list[str]], str],
    shape: Callable[[dict, int], dict],
    check: Callable[[dict], dict[str, dict]],
    seed: int,
    ctx=None,
    tags: dict[str, Any],
    revise: Callable[[dict[str, dict]], None] | None = None,
) -> dict[str, Any]:
    """Write one item, check it, and write it again (with what failed in the prompt) while a check
    fails, up to settings.APPLICATIONS_MAX_ATTEMPTS times. Returns {"item", "checks", "passed",
    "attempts", "tries"}: the first passing try, else the try that failed the fewest checks; `tries`
    names the checks each attempt failed (as a marketing variant's do). `schema` may be a function,
    asked before each try; `revise` hears a failed try's checks before the next try."""
    feedback: list[str] = []
    best: dict[str, Any] | None = None
    tries: list[dict[str, Any]] = []
    for attempt in range(1, settings.APPLICATIONS_MAX_ATTEMPTS + 1):
        attempt_seed = seed + attempt
        if ctx is not None:  # the page counts items and attempts ("slide 2 of 5, attempt 2 of 5")
            ctx.emit("attempt", {**tags, "attempt": attempt, "max_attempts": settings.APPLICATIONS_MAX_ATTEMPTS})
        value, why = write_json(
            version=version,
            system=authoring.SYSTEM,
            prompt=prompt(feedback),
            schema=schema() if callable(schema) else schema,
            max_new_tokens=authoring.max_tokens(section, brief.language, slide_count=brief.slide_count),
            seed=attempt_seed,
            ctx=ctx,
            tags={**tags, "attempt": attempt},
            temperature=FIRST_TEMPERATURE if attempt == 1 else RETRY_TEMPERATURE,
            presence_penalty=PRESENCE_PENALTY,
            frequency_penalty=FREQUENCY_PENALTY,
            surface="courseware",
        )
        if value is None:
            checks = {"complete": {"passed": False, "detail": why}}
            tries.append({"attempt": attempt, "failed": ["complete"]})
            feedback = authoring.feedback_for(checks, brief)
            continue
        item = shape(value, attempt_seed)
        checks = {"complete": {"passed": True, "detail": "the JSON closed"}, **check(item)}
        failed = [name for name, entry in checks.items() if not entry["passed"]]
        tries.append({"attempt": attempt, "failed": failed})
        if best is None or len(failed) < best["failing"]:
            best = {"item": item, "checks": checks, "passed": not failed, "failing": len(failed)}
        if not failed:
            break
        feedback = authoring.feedback_for(checks, brief)
        if revise is not None:
            revise(checks)
    if best is None:
        raise ApplicationError(
            f"The generator could not finish a {section.replace('_', ' ')} in "
            f"{settings.APPLICATIONS_MAX_ATTEMPTS} tries; try again or ask for fewer items."
        )
    best.pop("failing")
    judgement = judge.judge_item(
        rubric="courseware",
        seed=seed,
        text=_as_text(best["item"]),
        request=(
            f"The {section.replace('_', ' ')} of a lesson on {brief.topic} for {authoring.grade_name(brief.grade_level)} students; "
            f"objectives: {'; '.join(brief.objectives)}"
        ),
    )
    return {**best, "attempts": len(tries), "tries": tries, **({"judgement": judgement} if judgement else {})}


def _as_text(item: dict) -> str:
    """An item's values as lines of text, for the judge to read."""
    lines = []
    for name, value in item.items():
        if isinstance(value, list):
            lines += [
                f"{name}: {entry if isinstance(entry, str) else ', '.join(f'{k}: {v}' for k, v in entry.items())}"
                for entry in value
            ]
        else:
            lines.append(f"{name}: {value}")
    return "\n".join(lines)


def _refuse_blocked(written: dict, *, lesson: Lesson, section: str) -> None:
    """Output the content filter still blocks after every try is not kept: the job fails, and admins see it."""
    if written["checks"].get("content_filter", {"passed": True})["passed"]:
        return
    text = " ".join(str(value) for value in written["item"].values())
    moderation_record(
        user=lesson.owner,
        where="courseware",
        text=text,
        language=lesson.language,
        target=lesson,
    )
    raise ContentBlocked(f"The generated {section.replace('_', ' ')} was blocked by the content filter.")


def lesson_plan_write(*, version, brief: Brief, seed: int, ctx=None) -> dict[str, Any]:
    written = _write_checked(
        version=version,
        brief=brief,
        section="lesson_plan",
        schema=authoring.LESSON_PLAN_SCHEMA,
        prompt=lambda feedback: authoring.lesson_plan_prompt(brief, feedback=feedback),
        shape=lambda value, _seed: authoring.repair_lesson_plan(value),
        check=lambda plan: authoring.lesson_plan_checks(plan, brief, scorer=fluency.scorer_for(brief.language)),
        seed=seed,
        ctx=ctx,
        tags={"section": "lesson_plan", "index": 0},
    )
    plan = written["item"]
    written["item"] = {
        "objectives": list(brief.objectives),
        "overview": plan["overview"],
        "activities": plan["activities"],
        "total_minutes": sum(activity["minutes"] for activity in plan["activities"]),
    }
    return written


def outline_write(*, version, brief: Brief, seed: int, ctx=None) -> dict[str, Any]:
    """The slides' titles, written together so that the slides can then be written side by side."""
    return _write_checked(
        version=version,
        brief=brief,
        section="outline",
        schema=authoring.outline_schema(brief.slide_count),
        prompt=lambda feedback: authoring.outline_prompt(brief, feedback=feedback),
        shape=lambda value, _seed: {
            "titles": authoring.order_titles(
                [authoring.trim_cut_word(t, authoring.TITLE_CHARS[1]).rstrip(".") for t in value["titles"]], brief
            )
        },
        check=lambda outline: authoring.outline_checks(outline, brief),
        seed=seed,
        ctx=ctx,
        tags={"section": "outline", "index": 0},
    )


def slide_write(
    *, version, brief: Brief, index: int, titles: list[str], keep_title: bool, seed: int, ctx=None
) -> dict[str, Any]:
    """Slide `index`: its body under the outline's title (`keep_title`), or the whole slide anew. A
    slide whose outline title is only a number ("Slide 2") writes its own title, and so does, from its
    next try on, a slide that missed its objective under the outline's title: the title may be what led
    it away ("Understanding Recycling" over "Sort waste into groups")."""
    under_outline = [keep_title and authoring.names_content(titles[index])]

    def revise(checks: dict[str, dict]) -> None:
        if not checks.get("objective_covered", {"passed": True})["passed"]:
            under_outline[0] = False

    return _write_checked(
        version=version,
        brief=brief,
        section="slide",
        schema=lambda: authoring.slide_body_schema(titles[index]) if under_outline[0] else authoring.SLIDE_SCHEMA,
        prompt=lambda feedback: authoring.slide_prompt(
            brief, index=index, titles=titles, keep_title=under_outline[0], feedback=feedback
        ),
        shape=lambda value, _seed: authoring.repair_slide(value, title=titles[index] if under_outline[0] else None),
        check=lambda slide: authoring.slide_checks(
            slide, brief, index=index, scorer=fluency.scorer_for(brief.language)
        ),
        seed=seed,
        ctx=ctx,
        tags={"section": "slide", "index": index},
        revise=revise,
    )


def question_write(
    *, version, brief: Brief, index: int, titles: list[str], earlier_questions: list[str], seed: int, ctx=None
) -> dict[str, Any]:
    return _write_checked(
        version=version,
        brief=brief,
        section="question",
        schema=authoring.QUESTION_SCHEMA,
        prompt=lambda feedback: authoring.question_prompt(brief, index=index, titles=titles, feedback=feedback),
        shape=lambda value, item_seed: authoring.assemble_question(value, seed=item_seed),
        check=lambda item: authoring.question_checks(
            item, brief, earlier_questions=earlier_questions, scorer=fluency.scorer_for(brief.language)
        ),
        seed=seed,
        ctx=ctx,
        tags={"section": "quiz", "index": index},
    )


def _entry(written: dict) -> dict[str, Any]:
    return {
        "checks": written["checks"],
        "passed": written["passed"],
        "attempts": written["attempts"],
        "tries": written["tries"],
        **({"judgement": written["judgement"]} if written.get("judgement") else {}),
    }


def _announce(ctx, section: str, index: int, written: dict) -> None:
    if ctx is not None:
        ctx.emit("section", {"section": section, "index": index, "item": written["item"], **_entry(written)})


def lesson_run(*, lesson_id: int, version_id: int, seed: int, ctx=None) -> dict[str, Any]:
    """The job's work, written side by side (the runtime batches the tokens of parallel requests):
    the lesson plan; the slides (an outline of their titles first, then every slide at once); the quiz
    questions one after another, each checked against the earlier ones. Every finished item is stored
    at once and announced as a `section` event; tokens stream as `token` events tagged with their
    section, item and attempt."""
    from models_layer.registry.selectors import generator_version_by_id

    lesson = Lesson.objects.select_related("owner").filter(pk=lesson_id).first()
    if lesson is None:
        raise NotFound(f"No lesson {lesson_id}.")
    version = generator_version_by_id(pk=version_id)
    brief = _brief(lesson)
    written: dict[str, Any] = {"lesson_plan": None, "outline": None, "slides": {}, "quiz": []}
    total = 2 + lesson.slide_count + lesson.quiz_questions
    finished = 0
    lock = threading.Lock()
    stop = threading.Event()
    outlined = threading.Event()  # the quiz asks about the outline's slides, one after another
    Lesson.objects.filter(pk=lesson.pk).update(lesson_plan={}, slides=[], quiz=[], checks={})

    def record(section: str, index: int, item: dict) -> None:
        """Keep a finished item: the lesson row shows it (a page reloaded mid-job sees it), the stream announces it."""
        nonlocal finished
        _refuse_blocked(item, lesson=lesson, section=section)
        with lock:
            if section in ("lesson_plan", "outline"):
                written[section] = item
            elif section == "slide":
                written["slides"][index] = item
            elif section == "quiz":
                written["quiz"].append(item)
            Lesson.objects.filter(pk=lesson.pk).update(**_content(written))
            finished += 1
            if ctx is not None:
                _announce(ctx, section, index, item)
                ctx.progress(finished / total, f"{finished} of {total} sections written")

    def plan_chain() -> None:
        record("lesson_plan", 0, lesson_plan_write(version=version, brief=brief, seed=seed, ctx=ctx))

    def slides_chain() -> None:
        outline = outline_write(version=version, brief=brief, seed=seed + 500, ctx=ctx)
        record("outline", 0, outline)
        outlined.set()
        titles = outline["item"]["titles"]

        def one_slide(index: int) -> Callable[[], None]:
            return lambda: record(
                "slide",
                index,
                slide_write(
                    version=version,
                    brief=brief,
                    index=index,
                    titles=titles,
                    keep_title=True,
                    seed=seed + 1000 * (index + 1),
                    ctx=ctx,
                ),
            )

        _run_side_by_side([one_slide(index) for index in range(lesson.slide_count)], stop=stop, at_once=SLIDES_AT_ONCE)

    def quiz_chain() -> None:
        while not (outlined.wait(0.5) or stop.is_set()):
            pass
        for index in range(lesson.quiz_questions):
            if stop.is_set():
                return
            asked = [question["item"]["question"] for question in written["quiz"]]
            record(
                "quiz",
                index,
                question_write(
                    version=version,
                    brief=brief,
                    index=index,
                    titles=written["outline"]["item"]["titles"],
                    earlier_questions=asked,
                    seed=seed + 100_000 + 1000 * index,
                    ctx=ctx,
                ),
            )

    if ctx is not None:
        ctx.progress(0.0, f"Writing {total} sections")
    try:
        _run_side_by_side([plan_chain, slides_chain, quiz_chain], stop=stop)
    except JobCancelled:
        # Stopped: what is done stays; the lesson says which items were not written.
        titles = written["outline"]["item"]["titles"] if written["outline"] else []
        missing = [
            titles[index] if index < len(titles) else str(index + 1)
            for index in range(lesson.slide_count)
            if index not in written["slides"]
        ]
        content = _content(written)
        content["checks"]["not_written"] = {
            "lesson_plan": written["lesson_plan"] is None,
            "slides": missing,
            "quiz": lesson.quiz_questions - len(written["quiz"]),
        }
        Lesson.objects.filter(pk=lesson.pk).update(**content)
        raise
    with transaction.atomic():
        lesson = Lesson.objects.select_for_update().get(pk=lesson.pk)
        record = _lesson_provenance(lesson=lesson, version=version, ctx=ctx)
    return {**lesson_result(lesson=lesson), "provenance_id": str(record.pk)}


def _lesson_provenance(*, lesson: Lesson, version, ctx) -> ProvenanceRecord:
    """The lesson's provenance record as it stands now (call it in the transaction that stores it): a
    lesson written, or with one item written again, by `version` in the job of `ctx`."""
    job_id = ctx.job_id if ctx is not None else None
    return provenance_record(
        key=f"lesson:{lesson.pk}@job:{job_id}",
        kind=ArtifactKind.LESSON,
        artifact_ref=f"lesson:{lesson.pk}",
        artifact_url=f"/api/v1/courseware/{lesson.pk}/",
        owner_id=lesson.owner_id,
        request={
            "topic": lesson.topic,
            "grade_level": lesson.grade_level,
            "objectives": lesson.objectives,
            "slide_count": lesson.slide_count,
            "quiz_questions": lesson.quiz_questions,
            "language": lesson.language,
            "job": ctx.params if ctx is not None else None,
        },
        generator_slug=version.generator.slug,
        generator_version=version.number,
        generator_version_pk=version.pk,
        job_id=job_id,
        content=json.dumps(
            {"lesson_plan": lesson.lesson_plan, "slides": lesson.slides, "quiz": lesson.quiz},
            sort_keys=True,
            ensure_ascii=False,
        ),
        media_type="application/json",
    )


def lesson_export_record(*, lesson: Lesson, fmt: str, media_type: str) -> ProvenanceRecord:
    """The provenance record of an export of `lesson` in `fmt`, made from the lesson's latest record
    (none for a lesson written before records were kept): the same record for every download of
    the same lesson in the same format."""
    source = provenance_latest(artifact_ref=f"lesson:{lesson.pk}")
    return provenance_record_derived(
        sources=[source] if source else [],
        kind=ArtifactKind.EXPORT,
        artifact_ref=f"lesson:{lesson.pk}:{fmt}",
        owner_id=lesson.owner_id,
        media_type=media_type,
        request={"lesson": lesson.pk, "format": fmt},
        detail={"format": fmt, "generator": lesson.generator},
    )


def _run_side_by_side(chains: list[Callable[[], None]], *, stop: threading.Event, at_once: int | None = None) -> None:
    """Run the chains in threads. After an error (a cancel, a blocked output) in one, `stop` tells the
    others to end after their current item; the first error is raised once all have stopped."""

    def run(chain: Callable[[], None]) -> None:
        if stop.is_set():
            return
        try:
            chain()
        except BaseException:
            stop.set()
            raise
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=at_once or len(chains), thread_name_prefix="courseware") as pool:
        futures = [pool.submit(run, chain) for chain in chains]
    for future in futures:
        future.result()


def _content(written: dict[str, Any]) -> dict[str, Any]:
    """The lesson row's fields from what is written so far (slides in their order, however they finished)."""
    plan = written["lesson_plan"]
    slides = [written["slides"][index] for index in sorted(written["slides"])]
    return {
        "lesson_plan": plan["item"] if plan else {},
        "slides": [slide["item"] for slide in slides],
        "quiz": [question["item"] for question in written["quiz"]],
        "checks": {
            "lesson_plan": _entry(plan) if plan else None,
            "outline": _entry(written["outline"]) if written["outline"] else None,
            "slides": [_entry(slide) for slide in slides],
            "quiz": [_entry(question) for question in written["quiz"]],
        },
    }


def lesson_result(*, lesson: Lesson) -> dict[str, Any]:
    """The job's result: the lesson's content, with the checks each item passed."""
    return {
        "lesson_id": lesson.pk,
        "generator": lesson.generator,
        "lesson_plan": lesson.lesson_plan,
        "slides": lesson.slides,
        "quiz": lesson.quiz,
        "checks": lesson.checks,
        "passed": lesson.passed,
    }


def _lesson_tokens(*, language: str, slide_count: int, quiz_questions: int) -> int:
    """The most tokens one try of every part of a lesson takes (what its job reserves)."""
    return (
        authoring.max_tokens("outline", language, slide_count=slide_count)
        + authoring.max_tokens("lesson_plan", language)
        + slide_count * authoring.max_tokens("slide", language)
        + quiz_questions * authoring.max_tokens("question", language)
    )


def slide_regenerate_submit(*, lesson: Lesson, user, index: int, api_key_prefix: str | None = None):
    """Queue a job that writes slide `index` again (the other slides stay as they are)."""
    if not 0 <= index < len(lesson.slides):
        raise NotFound(gettext("Lesson %(lesson)s has no slide %(index)s.") % {"lesson": lesson.pk, "index": index})
    return _item_rewrite_submit(
        lesson=lesson, user=user, index=index, kind=REGENERATE_SLIDE_KIND, item="slide", api_key_prefix=api_key_prefix
    )


def slide_regenerate_run(*, lesson_id: int, index: int, version_id: int, seed: int, ctx=None) -> dict[str, Any]:
    from models_layer.registry.selectors import generator_version_by_id

    lesson = Lesson.objects.select_related("owner").filter(pk=lesson_id).first()
    if lesson is None or not 0 <= index < len(lesson.slides):
        raise NotFound(f"No slide {index} in lesson {lesson_id}.")
    version = generator_version_by_id(pk=version_id)
    if ctx is not None:
        ctx.progress(0.0, f"Writing slide {index + 1} again")
    titles = [slide["title"] for slide in lesson.slides]
    slide = slide_write(
        version=version, brief=_brief(lesson), index=index, titles=titles, keep_title=False, seed=seed, ctx=ctx
    )
    _refuse_blocked(slide, lesson=lesson, section="slide")
    with transaction.atomic():
        lesson = Lesson.objects.select_for_update().get(pk=lesson.pk)
        lesson.slides[index] = slide["item"]
        lesson.checks.setdefault("slides", [{}] * len(lesson.slides))[index] = _entry(slide)
        lesson.save(update_fields=["slides", "checks", "updated_at"])
        record = _lesson_provenance(lesson=lesson, version=version, ctx=ctx)
    _announce(ctx, "slide", index, slide)
    return {
        "lesson_id": lesson.pk,
        "index": index,
        "slide": slide["item"],
        **_entry(slide),
        "provenance_id": str(record.pk),
    }


def question_regenerate_submit(*, lesson: Lesson, user, index: int, api_key_prefix: str | None = None):
    """Queue a job that writes quiz question `index` again (the other questions stay as they are)."""
    if not 0 <= index < len(lesson.quiz):
        raise NotFound(
            gettext("Lesson %(lesson)s has no quiz question %(index)s.") % {"lesson": lesson.pk, "index": index}
        )
    return _item_rewrite_submit(
        lesson=lesson,
        user=user,
        index=index,
        kind=REGENERATE_QUESTION_KIND,
        item="question",
        api_key_prefix=api_key_prefix,
    )


def _item_rewrite_submit(*, lesson: Lesson, user, index: int, kind: str, item: str, api_key_prefix: str | None):
    """Queue the job that writes one slide or question of a lesson again, with the lesson's generator."""
    usage_request_record(user=user, api_key_prefix=api_key_prefix)
    version = generator_version_for(user=user, language=lesson.language)
    return writing_job_submit(
        user=user,
        kind=kind,
        params={"lesson_id": lesson.pk, "index": index, "version_id": version.pk, "seed": secrets.randbelow(2**31)},
        tokens=authoring.max_tokens(item, lesson.language),
        api_key_prefix=api_key_prefix,
    )


def question_regenerate_run(*, lesson_id: int, index: int, version_id: int, seed: int, ctx=None) -> dict[str, Any]:
    from models_layer.registry.selectors import generator_version_by_id

    lesson = Lesson.objects.select_related("owner").filter(pk=lesson_id).first()
    if lesson is None or not 0 <= index < len(lesson.quiz):
        raise NotFound(f"No quiz question {index} in lesson {lesson_id}.")
    version = generator_version_by_id(pk=version_id)
    if ctx is not None:
        ctx.progress(0.0, f"Writing question {index + 1} again")
    titles = [slide["title"] for slide in lesson.slides]
    others = [item["question"] for position, item in enumerate(lesson.quiz) if position != index]
    question = question_write(
        version=version, brief=_brief(lesson), index=index, titles=titles, earlier_questions=others, seed=seed, ctx=ctx
    )
    _refuse_blocked(question, lesson=lesson, section="quiz")
    with transaction.atomic():
        lesson = Lesson.objects.select_for_update().get(pk=lesson.pk)
        lesson.quiz[index] = question["item"]
        lesson.checks.setdefault("quiz", [{}] * len(lesson.quiz))[index] = _entry(question)
        lesson.save(update_fields=["quiz", "checks", "updated_at"])
        record = _lesson_provenance(lesson=lesson, version=version, ctx=ctx)
    _announce(ctx, "quiz", index, question)
    return {
        "lesson_id": lesson.pk,
        "index": index,
        "question": question["item"],
        **_entry(question),
        "provenance_id": str(record.pk),
    }


REVIEWABLE = {"slides": "slide", "quiz": "quiz question"}


def item_review(*, lesson: Lesson, user, section: str, index: int, verdict: str, reason: str = "") -> Lesson:
    """Accept or reject slide or quiz question `index`; the verdict (with a rejection's reason) goes to
    labelling as a judgement, and stays on the item's checks entry until the item is edited or rewritten."""
    verdict, reason = verdict_clean(verdict=verdict, reason=reason)
    with transaction.atomic():
        lesson = Lesson.objects.select_for_update().get(pk=lesson.pk)
        items = getattr(lesson, section)
        if section not in REVIEWABLE or not 0 <= index < len(items):
            raise NotFound(
                gettext("Lesson %(lesson)s has no item %(index)s there.") % {"lesson": lesson.pk, "index": index}
            )
        item = items[index]
        text = (
            f"{item['title']}\n" + "\n".join(f"- {bullet}" for bullet in item.get("bullets", []))
            if section == "slides"
            else f"{item['question']}\n" + "\n".join(f"- {choice}" for choice in item.get("choices", []))
        )
        judgement = judgement_record(
            user=user,
            verdict=verdict,
            reason=reason,
            text=text,
            prompt=f"{lesson.topic} (grade {lesson.grade_level})",
            source={
                "app": "courseware",
                "lesson": lesson.pk,
                "section": section,
                "index": index,
                "generator": lesson.generator,
            },
        )
        entries = lesson.checks.setdefault(section, [{} for _item in items])
        entries[index] = {
            **entries[index],
            "review": {"verdict": verdict, "reason": reason, "labeling_task": judgement["labeling_task"]},
        }
        lesson.save(update_fields=["checks", "updated_at"])
    return lesson


def _edited_entry(checks: dict[str, dict]) -> dict[str, Any]:
    return {"checks": checks, "passed": authoring.passed(checks), "attempts": 0, "tries": [], "edited": True}


def slide_update(
    *,
    lesson: Lesson,
    user,
    index: int,
    title: str | None = None,
    bullets: list[str] | None = None,
    notes: str | None = None,
) -> Lesson:
    """Edit a slide in place; its checks run again on the new text. (The content filter runs first,
    outside the transaction, so that a blocked edit's audit event is kept.)"""
    changes = {
        name: value for name, value in {"title": title, "bullets": bullets, "notes": notes}.items() if value is not None
    }
    moderate_inputs(user=user, fields=changes, language=lesson.language, where="courseware edit")
    with transaction.atomic():
        lesson = Lesson.objects.select_for_update().get(pk=lesson.pk)
        if not 0 <= index < len(lesson.slides):
            raise NotFound(gettext("Lesson %(lesson)s has no slide %(index)s.") % {"lesson": lesson.pk, "index": index})
        slide = {**lesson.slides[index], **changes}
        lesson.slides[index] = slide
        lesson.checks.setdefault("slides", [{}] * len(lesson.slides))[index] = _edited_entry(
            authoring.slide_checks(slide, _brief(lesson), index=index)
        )  # no fluency here: it needs torch in the web process
        lesson.save(update_fields=["slides", "checks", "updated_at"])
    return lesson


def question_update(
    *,
    lesson: Lesson,
    user,
    index: int,
    question: str | None = None,
    choices: list[str] | None = None,
    answer: str | None = None,
    explanation: str | None = None,
) -> Lesson:
    """Edit a quiz question in place. Its structure must stay valid (four different choices, the
    answer one of them); its checks run again on the new text."""
    changes = {
        name: value
        for name, value in {
            "question": question,
            "choices": choices,
            "answer": answer,
            "explanation": explanation,
        }.items()
        if value is not None
    }
    moderate_inputs(user=user, fields=changes, language=lesson.language, where="courseware edit")
    with transaction.atomic():
        lesson = Lesson.objects.select_for_update().get(pk=lesson.pk)
        if not 0 <= index < len(lesson.quiz):
            raise NotFound(
                gettext("Lesson %(lesson)s has no quiz question %(index)s.") % {"lesson": lesson.pk, "index": index}
            )
        item = {**lesson.quiz[index], **changes}
        if (
            len(item["choices"]) != authoring.CHOICES
            or len({c.strip().lower() for c in item["choices"]}) != authoring.CHOICES
        ):
            raise ApplicationError(
                gettext("A question has %(count)s different choices.") % {"count": authoring.CHOICES},
                fields={"choices": [gettext("Give four different choices.")]},
            )
        if item["answer"] not in item["choices"]:
            raise ApplicationError(
                gettext("The answer must be one of the choices."),
                fields={"answer": [gettext("Not one of the choices.")]},
            )
        lesson.quiz[index] = item
        earlier = [other["question"] for position, other in enumerate(lesson.quiz) if position != index]
        lesson.checks.setdefault("quiz", [{}] * len(lesson.quiz))[index] = _edited_entry(
            authoring.question_checks(item, _brief(lesson), earlier_questions=earlier)
        )
        lesson.save(update_fields=["quiz", "checks", "updated_at"])
    return lesson
