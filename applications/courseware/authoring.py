"""Writing a lesson one section at a time: each section's JSON schema and prompt, the structural
repairs allowed on an answer, and the checks it must pass."""

import re
from dataclasses import dataclass, field

import textstat

from applications.moderation import content_filter_check
from applications.writing import LANGUAGES, content_tokens
from tools_layer.quality import checks as quality

SYSTEM = "You are an experienced teacher who writes clear, correct classroom material. You answer in JSON only."

# Character limits the grammar enforces while the generator writes (so each answer's length is bounded).
TITLE_CHARS = (3, 60)
BULLET_CHARS = (15, 80)
BULLETS_PER_SLIDE = 3
NOTES_CHARS = (40, 200)
OVERVIEW_CHARS = (30, 160)
ACTIVITY_NAME_CHARS = (3, 40)
ACTIVITY_CHARS = (20, 100)
ACTIVITIES = 3
ACTIVITY_MINUTES = (5, 30)
LESSON_MINUTES = (20, 90)
QUESTION_CHARS = (10, 120)
CHOICE_CHARS = (1, 40)
CHOICES = 4
EXPLANATION_CHARS = (20, 150)
# Tokens of JSON syntax around a section's content (applications.writing.content_tokens budgets the content).
JSON_OVERHEAD_TOKENS = 40
# Two questions whose words overlap this much (Jaccard) ask the same thing.
SAME_QUESTION_OVERLAP = 0.7
# Words an objective shares with every lesson, which say nothing about whether a slide covers it.
OBJECTIVE_STOPWORD_LIST = """
able about after also analyse analyze apply basic between can compare create define demonstrate describe different
discuss each evaluate example explain from give have how identify into know learn learners list make name pupils
recognise recognize show simple some state student students that their them these they this those understand use using
what when where which while will with within work write
"""
OBJECTIVE_STOPWORDS = frozenset(OBJECTIVE_STOPWORD_LIST.split())


@dataclass
class Brief:
    topic: str
    grade_level: int
    objectives: list[str]
    language: str
    slide_count: int
    quiz_questions: int
    earlier: list[str] = field(default_factory=list)


def reading_band(grade_level: int) -> tuple[float, float]:
    """The Flesch-Kincaid grades that students of this school grade (13 is college) may read: text
    easier than their grade is fine down to a floor eight grades below it (none up to grade 8: short
    plain sentences such as "What is a switch?" score below 0); text harder by more than five grades
    is not."""
    return (float(grade_level - 8) if grade_level > 8 else float("-inf")), float(max(8, grade_level + 5))


def grade_name(grade_level: int) -> str:
    return "college" if grade_level >= 13 else f"grade {grade_level}"


# Every value is text that opens with a letter or digit and holds no JSON brackets, quotes or
# backslashes: without that, the small model wrote choices such as "][" and "}, {" and titles such as
# ".pdf" (13 of 160 first tries over bench/applications.py's 20 lessons had such a choice). The
# pattern carries the length limits too: xgrammar ignores minLength and maxLength beside a pattern
# (with a warning at each compile), so the schema has the pattern alone.
TEXT_START = r'[^\s{}\[\]"\\.,;:!?()/#*_|<>=+\-]'
TEXT_BODY = r'[^{}\[\]"\\]'
QUESTION_END = "[?？]"


def _string(low_high: tuple[int, int], *, end: str = "") -> dict:
    """A text value of `low_high` characters; `end`, a character class its last character is in."""
    low, high = low_high
    tail = 1 if end else 0
    body = f"{TEXT_BODY}{{{max(low - 1 - tail, 0)},{high - 1 - tail}}}"
    return {"type": "string", "pattern": f"^{TEXT_START}{body}{end}$"}


def _strings(low_high: tuple[int, int], count: int) -> dict:
    return {"type": "array", "items": _string(low_high), "minItems": count, "maxItems": count}


def _object(properties: dict) -> dict:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


LESSON_PLAN_SCHEMA = _object(
    {
        "overview": _string(OVERVIEW_CHARS),
        "activities": {
            "type": "array",
            "minItems": ACTIVITIES,
            "maxItems": ACTIVITIES,
            "items": _object(
                {
                    "name": _string(ACTIVITY_NAME_CHARS),
                    "minutes": {"type": "integer", "minimum": ACTIVITY_MINUTES[0], "maximum": ACTIVITY_MINUTES[1]},
                    "description": _string(ACTIVITY_CHARS),
                }
            ),
        },
    }
)
SLIDE_SCHEMA = _object(
    {"title": _string(TITLE_CHARS), "bullets": _strings(BULLET_CHARS, BULLETS_PER_SLIDE), "notes": _string(NOTES_CHARS)}
)


# A title that is only a number ("Slide 2", "Part 3") names nothing its slide teaches.
NUMBER_TITLE = re.compile(r"(?:slide|part|section|lesson|topic|title)?\s*\d+", re.IGNORECASE)


def names_content(title: str) -> bool:
    return not NUMBER_TITLE.fullmatch(title.strip(" .:"))


def slide_body_schema(title: str) -> dict:
    """A slide whose title the outline already holds: the answer opens with that title, fixed by the
    grammar, and the generator writes the body after it. Written in the answer, the title's words
    fall under the repetition penalties, which keeps the bullets from copying it."""
    return _object(
        {
            "title": {"type": "string", "const": title},
            "bullets": _strings(BULLET_CHARS, BULLETS_PER_SLIDE),
            "notes": _string(NOTES_CHARS),
        }
    )


# The generator writes the right answer first, then the wrong ones; the four choices are assembled from them.
QUESTION_SCHEMA = _object(
    {
        "question": _string(QUESTION_CHARS, end=QUESTION_END),
        "answer": _string(CHOICE_CHARS),
        "wrong_answers": _strings(CHOICE_CHARS, CHOICES - 1),
        "explanation": _string(EXPLANATION_CHARS),
    }
)


def outline_schema(slide_count: int) -> dict:
    return _object({"titles": _strings(TITLE_CHARS, slide_count)})


def max_tokens(section: str, language: str, *, slide_count: int = 1) -> int:
    chars = {
        "outline": slide_count * (TITLE_CHARS[1] + 3),
        "lesson_plan": OVERVIEW_CHARS[1] + ACTIVITIES * (ACTIVITY_NAME_CHARS[1] + ACTIVITY_CHARS[1] + 2),
        "slide": TITLE_CHARS[1] + BULLETS_PER_SLIDE * BULLET_CHARS[1] + NOTES_CHARS[1],
        "question": QUESTION_CHARS[1] + CHOICES * CHOICE_CHARS[1] + EXPLANATION_CHARS[1],
    }[section]
    return content_tokens(chars, language) + JSON_OVERHEAD_TOKENS


def _language_line(brief: Brief) -> str:
    return "" if brief.language == "en" else f"Write every value in {LANGUAGES.get(brief.language, brief.language)}.\n"


def _lowered(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def objectives_for_slide(objectives: list[str], index: int, slide_count: int) -> list[str]:
    """The objectives slide `index` teaches: each objective gets a slide (in order, shared when there
    are more objectives than slides); slides beyond them go round the objectives again."""
    if not objectives:
        return []
    mine = [objective for position, objective in enumerate(objectives) if position % slide_count == index]
    return mine or [objectives[index % len(objectives)]]


def lesson_plan_prompt(brief: Brief, *, feedback: list[str] = ()) -> str:
    lines = [
        f"Plan a lesson on {brief.topic} for {grade_name(brief.grade_level)} students.",
        "Its objectives: " + "; ".join(brief.objectives) + ".",
        (
            f"Write a two-sentence overview, then {ACTIVITIES} classroom activities in order (a warm-up, the main activity, "
            f"a wrap-up), each with a short name, its minutes ({ACTIVITY_MINUTES[0]} to {ACTIVITY_MINUTES[1]}) and one "
            "sentence on what students do."
        ),
    ]
    return _with_feedback(_language_line(brief) + "\n".join(lines), feedback)


def outline_prompt(brief: Brief, *, feedback: list[str] = ()) -> str:
    lines = [
        f"Plan the {brief.slide_count} slides of a lesson on {brief.topic} for {grade_name(brief.grade_level)} students."
    ]
    lines += [
        f"Slide {index + 1} teaches students to "
        + " and ".join(_lowered(goal) for goal in objectives_for_slide(brief.objectives, index, brief.slide_count))
        + "."
        for index in range(brief.slide_count)
    ]
    lines.append("Give each slide a short title; every title is different.")
    return _with_feedback(_language_line(brief) + "\n".join(lines), feedback)


def slide_prompt(brief: Brief, *, index: int, titles: list[str], keep_title: bool, feedback: list[str] = ()) -> str:
    """Slide `index`, titled in the outline `titles` (kept, or written anew). The other slides' titles
    are not in the prompt: the small model copies what a prompt lists (bench/applications.py: 58% of
    items passed on the first try without the lists, 54% with them)."""
    goals = objectives_for_slide(brief.objectives, index, brief.slide_count)
    lines = [
        f"Write slide {index + 1} of {brief.slide_count} of a lesson on {brief.topic} for {grade_name(brief.grade_level)} students.",
        f"Its title: {titles[index]}." if keep_title and index < len(titles) else "",
        "This slide teaches students to " + " and ".join(_lowered(goal) for goal in goals) + ".",
    ]
    lines.append(
        f"Give it {'' if keep_title else 'a short new title, '}{BULLETS_PER_SLIDE} bullet points (each a short, simple sentence that teaches "
        "one different fact) and speaker notes for the teacher (two or three sentences)."
    )
    return _with_feedback(_language_line(brief) + "\n".join(line for line in lines if line), feedback)


def question_prompt(brief: Brief, *, index: int, titles: list[str], feedback: list[str] = ()) -> str:
    """Question `index` asks about one slide of the outline (in turn), so that questions differ. The
    earlier questions are not in the prompt (the model asked them again when they were: 9 of 18
    first tries against 1); `question_checks` compares with them, and a repair's feedback names them."""
    goal = brief.objectives[index % len(brief.objectives)] if brief.objectives else brief.topic
    lines = [
        f"Write one multiple-choice quiz question for {grade_name(brief.grade_level)} students after a lesson on {brief.topic}.",
        f"Ask about the part of the lesson called {titles[index % len(titles)]}." if titles else "",
        f"It checks whether students can {_lowered(goal)}.",
    ]
    lines.append(
        f"Give the question, its correct answer, {CHOICES - 1} wrong answers that differ from it and from "
        "each other, and one sentence that explains why the answer is right."
    )
    return _with_feedback(_language_line(brief) + "\n".join(line for line in lines if line), feedback)


def _with_feedback(prompt: str, feedback: list[str]) -> str:
    return prompt + ("\nBe careful: " + " ".join(feedback) if feedback else "")


# Structural repairs: they move, trim or assemble what the generator wrote and never add a word.


def trim_cut_word(text: str, limit: int) -> str:
    """A value the grammar cut at its maximum length loses its last, unfinished word."""
    text = " ".join(str(text).split())
    if len(text) >= limit and " " in text and text[-1] not in ".!?。！？":
        text = text[: text.rfind(" ")].rstrip(" ,;:-")
    return text


def repair_lesson_plan(value: dict) -> dict:
    return {
        "overview": trim_cut_word(value["overview"], OVERVIEW_CHARS[1]),
        "activities": [
            {
                "name": trim_cut_word(a["name"], ACTIVITY_NAME_CHARS[1]),
                "minutes": int(a["minutes"]),
                "description": trim_cut_word(a["description"], ACTIVITY_CHARS[1]),
            }
            for a in value["activities"]
        ],
    }


# "1. ", "b) ", "IV. " at the start of a bullet: the slide's own bullets number nothing.
LIST_MARKER = re.compile(r"^(?:\d{1,2}|[A-Za-z]|[IVXivx]{1,4})[.)]\s+(?=\S)")


def repair_slide(value: dict, *, title: str | None = None) -> dict:
    """The slide's fields tidied (cut words, list numbers before bullets); `title` (from the outline)
    where the generator wrote only the body."""
    return {
        "title": title if title is not None else trim_cut_word(value["title"], TITLE_CHARS[1]).rstrip("."),
        "bullets": [LIST_MARKER.sub("", trim_cut_word(bullet, BULLET_CHARS[1])) for bullet in value["bullets"]],
        "notes": trim_cut_word(value["notes"], NOTES_CHARS[1]),
    }


def order_titles(titles: list[str], brief: Brief) -> list[str]:
    """The outline's titles moved so that each stands over the slide whose objectives it names, where
    the generator wrote them in another order (slide 1 teaching the war's causes under "Life in the
    Trenches" and slide 2 the trenches under "The Causes of World War I"): two titles swap places
    while that covers more slides' objectives. The titles themselves are kept word for word."""
    ordered = list(titles)
    count = min(len(ordered), brief.slide_count)

    def fits(index: int, title: str) -> int:
        goals = objectives_for_slide(brief.objectives, index, brief.slide_count)
        return sum(bool(_stems(goal) & _stems(title)) for goal in goals)

    swapped = True
    while swapped:
        swapped = False
        for i in range(count):
            for j in range(i + 1, count):
                if fits(i, ordered[j]) + fits(j, ordered[i]) > fits(i, ordered[i]) + fits(j, ordered[j]):
                    ordered[i], ordered[j] = ordered[j], ordered[i]
                    swapped = True
    return ordered


def assemble_question(value: dict, *, seed: int) -> dict:
    """{question, choices, answer, explanation}: the right answer placed among the wrong ones at a
    position the seed picks (so it is not always first)."""
    answer = trim_cut_word(value["answer"], CHOICE_CHARS[1])
    choices = [trim_cut_word(choice, CHOICE_CHARS[1]) for choice in value["wrong_answers"]]
    choices.insert(seed % CHOICES, answer)
    return {
        "question": trim_cut_word(value["question"], QUESTION_CHARS[1]),
        "choices": choices,
        "answer": answer,
        "explanation": trim_cut_word(value["explanation"], EXPLANATION_CHARS[1]),
    }


# Checks: each {"passed", "detail"}.


def _check(passed: bool, detail: str) -> dict:
    return {"passed": bool(passed), "detail": detail}


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _sentences(text: str) -> list[str]:
    """The text's sentences, normalised; list numbers ("1.", "c.", "ii.") are not sentences."""
    parts = (_normal(piece) for piece in re.split(r"(?<=[.!?。！？])\s*", text))
    return [part for part in parts if part and not re.fullmatch(r"\d+|[a-z]|[ivx]+", part)]


def _repeats(texts: list[str]) -> list[str]:
    seen, repeated = set(), []
    for sentence in (sentence for text in texts for sentence in _sentences(text)):
        if sentence in seen and sentence not in repeated:
            repeated.append(sentence)
        seen.add(sentence)
    return repeated


def _duplicates(values: list[str]) -> list[str]:
    normal = [_normal(value) for value in values]
    return sorted({values[i] for i, value in enumerate(normal) if normal.count(value) > 1 or not value})


def reading_level(texts: list[str], *, grade_level: int, language: str) -> dict:
    """The reading grade of the texts (bullets and fragments read as sentences) within the grade's band:
    Flesch-Kincaid for English; for Chinese, tools_layer.quality's grade from characters per sentence
    and the share of uncommon words."""
    low, high = reading_band(grade_level)
    if language == "zh":
        prose = "".join(text.strip().rstrip("。！？.!?；;，,") + "。" for text in texts if text.strip())
        score = quality.chinese_reading_grade(prose)
        return _check(low <= score <= high, f"Chinese reading grade {score:.1f} (band {low:.0f}-{high:.0f})")
    if language != "en":
        return _check(True, f"not measured for {LANGUAGES.get(language, language)} (no reading measure for it)")
    prose = " ".join(text.strip().rstrip(".!?:;,") + "." for text in texts if text.strip())
    score = textstat.flesch_kincaid_grade(prose)
    return _check(low <= score <= high, f"Flesch-Kincaid grade {score:.1f} (band {low:.0f}-{high:.0f})")


def _stems(text: str) -> set[str]:
    """Crude stems: the first five letters of each content word (evaporation ~ evaporate); CJK text by character pairs."""
    lowered = text.lower()
    words = {
        word[:5] for word in re.findall(r"[^\W\d_]{4,}", lowered) if word.isascii() and word not in OBJECTIVE_STOPWORDS
    }
    cjk = re.sub(r"[\x00-\u2fff]", "", lowered)
    return words | {cjk[i : i + 2] for i in range(len(cjk) - 1)}


def objective_covered(objective: str, text: str) -> bool:
    wanted = _stems(objective)
    return not wanted or bool(wanted & _stems(text))


def _safety(texts: list[str], *, scorer=None) -> dict:
    # A scorer means a worker, where a model runs: the deployment's classifier policies judge the item too
    return content_filter_check(text=" ".join(texts), classify=scorer is not None)


def outline_checks(outline: dict, brief: Brief) -> dict[str, dict]:
    titles = outline["titles"]
    duplicates = _duplicates(titles)
    found = {
        "title_count": _check(len(titles) == brief.slide_count, f"{len(titles)} of {brief.slide_count} titles"),
        "distinct_titles": _check(
            not duplicates, f"repeated: {', '.join(duplicates)}" if duplicates else "all different"
        ),
        "content_filter": _safety(titles),
        "language": quality.in_requested_language("\n".join(titles), brief.language),
    }
    if found["language"]["passed"]:
        found["real_words"] = quality.made_of_real_words(titles, brief.language, known=[brief.topic, *brief.objectives])
        found["task_talk"] = quality.no_task_talk(titles)
    return found


def lesson_plan_checks(plan: dict, brief: Brief, *, scorer=None) -> dict[str, dict]:
    activities = plan["activities"]
    minutes = sum(activity["minutes"] for activity in activities)
    texts = [plan["overview"]] + [activity["description"] for activity in activities]
    repeated = _repeats(texts)
    duplicate_names = _duplicates([activity["name"] for activity in activities])
    return {
        "activity_count": _check(len(activities) == ACTIVITIES, f"{len(activities)} of {ACTIVITIES} activities"),
        "timing": _check(
            LESSON_MINUTES[0] <= minutes <= LESSON_MINUTES[1],
            f"{minutes} minutes in all (allowed {LESSON_MINUTES[0]}-{LESSON_MINUTES[1]})",
        ),
        "distinct_activities": _check(
            not duplicate_names, f"repeated: {', '.join(duplicate_names)}" if duplicate_names else "all different"
        ),
        "no_repetition": _check(not repeated, f"repeats: {repeated[0]!r}" if repeated else "no sentence repeated"),
        "content_filter": _safety(texts + [activity["name"] for activity in activities], scorer=scorer),
        **quality.copy_checks(
            {"overview": plan["overview"], **{f"activity_{i + 1}": a["description"] for i, a in enumerate(activities)}},
            subject=brief.topic,
            language=brief.language,
            known=list(brief.objectives),
            also=list(brief.objectives),
            scorer=scorer,
        ),
    }


def slide_checks(slide: dict, brief: Brief, *, index: int, scorer=None) -> dict[str, dict]:
    bullets = slide["bullets"]
    duplicates = _duplicates([slide["title"]] + bullets)
    repeated = _repeats(bullets + [slide["notes"]])
    text = " ".join([slide["title"], *bullets, slide["notes"]])
    missing = [
        goal
        for goal in objectives_for_slide(brief.objectives, index, brief.slide_count)
        if not objective_covered(goal, text)
    ]
    return {
        "bullet_count": _check(
            len(bullets) == BULLETS_PER_SLIDE and all(b.strip() for b in bullets),
            f"{len(bullets)} of {BULLETS_PER_SLIDE} bullets",
        ),
        "distinct_bullets": _check(
            not duplicates, f"repeated: {', '.join(duplicates)}" if duplicates else "title and bullets all different"
        ),
        "no_repetition": _check(not repeated, f"repeats: {repeated[0]!r}" if repeated else "no sentence repeated"),
        "objective_covered": _check(
            not missing, f"does not cover: {'; '.join(missing)}" if missing else "covers its objectives"
        ),
        "reading_level": reading_level(bullets, grade_level=brief.grade_level, language=brief.language),
        "content_filter": _safety([text], scorer=scorer),
        **quality.slide_content_checks(
            title=slide["title"],
            bullets=bullets,
            notes=slide["notes"],
            subject=brief.topic,
            objectives=objectives_for_slide(brief.objectives, index, brief.slide_count),
            language=brief.language,
            scorer=scorer,
        ),
    }


def same_question(first: str, second: str) -> bool:
    a, b = set(_normal(first).split()), set(_normal(second).split())
    if not a or not b:
        return a == b
    return a <= b or b <= a or len(a & b) / len(a | b) >= SAME_QUESTION_OVERLAP


def question_checks(item: dict, brief: Brief, *, earlier_questions: list[str], scorer=None) -> dict[str, dict]:
    choices = item["choices"]
    duplicates = _duplicates(choices)
    repeats = [earlier for earlier in earlier_questions if same_question(item["question"], earlier)]
    return {
        "choice_count": _check(len(choices) == CHOICES, f"{len(choices)} of {CHOICES} choices"),
        "answer_in_choices": _check(
            item["answer"] in choices,
            "the answer is a choice" if item["answer"] in choices else "the answer is not a choice",
        ),
        "distinct_choices": _check(
            not duplicates, f"repeated: {', '.join(duplicates)}" if duplicates else "all different"
        ),
        "distinct_question": _check(
            not repeats, f"repeats: {repeats[0]!r}" if repeats else "differs from the earlier questions"
        ),
        "reading_level": reading_level(
            [item["question"], item["explanation"]], grade_level=brief.grade_level, language=brief.language
        ),
        "content_filter": _safety([item["question"], *choices, item["explanation"]], scorer=scorer),
        **quality.quiz_content_checks(
            question=item["question"],
            choices=choices,
            answer=item["answer"],
            explanation=item["explanation"],
            subject=brief.topic,
            language=brief.language,
            scorer=scorer,
        ),
    }


FEEDBACK = {
    "activity_count": f"Write exactly {ACTIVITIES} activities.",
    "timing": f"The activities' minutes must add up to {LESSON_MINUTES[0]}-{LESSON_MINUTES[1]}.",
    "distinct_activities": "Give each activity a different name.",
    "no_repetition": "Do not repeat a sentence.",
    "title_count": "Give one title per slide.",
    "distinct_titles": "Give every slide a different title.",
    "bullet_count": f"Write exactly {BULLETS_PER_SLIDE} bullet points.",
    "distinct_bullets": "Make the title and every bullet point different.",
    "objective_covered": "Teach the slide's objective, using its words.",
    "choice_count": f"Give exactly {CHOICES} choices.",
    "answer_in_choices": "The answer must be one of the choices.",
    "distinct_choices": "Make the wrong answers different from the answer and from each other.",
    "distinct_question": "Ask about something that the earlier questions did not.",
    "content_filter": "Keep the language clean and suitable for a classroom.",
    "language": "Write every value in the lesson's language.",
    "real_words": "Use only real, everyday words.",
    "on_subject": "Write about the lesson's topic and name it.",
    "fluency": "Write plain, natural sentences.",
    "task_talk": "Write the material itself; do not talk about the task.",
    "repetition": "Do not repeat words.",
    "shouting": "Do not write in capitals.",
    "choices": "Give four different, real answers (not letters, not True or False).",
    "gives_away": "Do not put the answer in the question.",
    "explanation": "Explain why the correct answer is right, naming it.",
}


def feedback_for(checks: dict[str, dict], brief: Brief) -> list[str]:
    notes = []
    for name, check in checks.items():
        if check["passed"]:
            continue
        if name == "reading_level":
            too_hard = _score(check) > reading_band(brief.grade_level)[1]
            notes.append(
                f"Use {'shorter sentences and simpler words' if too_hard else 'fuller sentences'} "
                f"for {grade_name(brief.grade_level)} students."
            )
        elif name == "objective_covered":  # name the objective the slide missed, in its own words
            missing = check["detail"].removeprefix("does not cover: ").split("; ")
            notes.append(
                f"This slide must teach students to {' and '.join(_lowered(goal) for goal in missing)}; use those words."
            )
        elif name == "distinct_question":  # the prompt does not list the earlier questions: name the one it repeats
            notes.append(f"{FEEDBACK[name]} Do not ask again: {check['detail'].removeprefix('repeats: ')}")
        elif name in FEEDBACK:
            notes.append(FEEDBACK[name])
    return notes


def _score(check: dict) -> float:
    found = re.search(r"grade (-?[\d.]+)", check["detail"])
    return float(found.group(1)) if found else 0.0


def passed(checks: dict[str, dict]) -> bool:
    return all(check["passed"] for check in checks.values())
