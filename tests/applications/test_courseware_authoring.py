"""The checks and structural repairs a courseware section goes through, on hand-written answers."""

import pytest

from applications.courseware import authoring
from applications.courseware.authoring import Brief

# The content filter check reads the deployment's moderation policies.
pytestmark = pytest.mark.django_db

WATER = Brief(
    topic="The water cycle",
    grade_level=5,
    objectives=["Describe evaporation", "Explain how rain forms"],
    language="en",
    slide_count=2,
    quiz_questions=2,
)
GOOD_SLIDE = {
    "title": "Water goes up",
    "notes": "Boil a kettle and point at the steam. Ask where puddles go on a sunny day.",
    "bullets": [
        "The sun warms water in seas and lakes.",
        "Warm water turns into a gas we cannot see.",
        "This change is called evaporation.",
    ],
}


def test_a_clear_slide_passes_every_check():
    checks = authoring.slide_checks(GOOD_SLIDE, WATER, index=0)
    assert authoring.passed(checks), checks


def test_a_slide_that_repeats_itself_or_misses_its_objective_fails_with_reasons():
    slide = {
        **GOOD_SLIDE,
        "bullets": ["Water goes up", "Clouds are white.", "Clouds are white."],
        "notes": "Clouds are white. Clouds are white.",
    }
    checks = authoring.slide_checks(slide, WATER, index=0)
    assert not checks["distinct_bullets"]["passed"] and not checks["no_repetition"]["passed"]
    assert not checks["objective_covered"]["passed"] and "Describe evaporation" in checks["objective_covered"]["detail"]
    assert "Make the title and every bullet point different." in authoring.feedback_for(checks, WATER)


def test_reading_level_is_held_to_the_grades_band():
    hard = {
        **GOOD_SLIDE,
        "bullets": [
            "Thermodynamically, evaporation constitutes an endothermic phase transition characterised by molecular liberation.",
            "Atmospheric condensation subsequently necessitates nucleation upon microscopic aerosol particulates.",
            "Precipitation mechanisms incorporate collision-coalescence alongside Bergeron ice-crystal processes.",
        ],
    }
    first_grade = Brief(**{**WATER.__dict__, "grade_level": 1})
    assert not authoring.slide_checks(hard, first_grade, index=0)["reading_level"]["passed"]
    assert authoring.slide_checks(GOOD_SLIDE, first_grade, index=0)["reading_level"]["passed"]
    assert authoring.reading_band(13)[1] > authoring.reading_band(5)[1]
    # Chinese: measured from characters per sentence and the share of uncommon words
    chinese = authoring.reading_level(["水从海洋蒸发到空中", "水蒸气遇冷变成云"], grade_level=3, language="zh")
    assert chinese["passed"] and chinese["detail"].startswith("Chinese reading grade")
    dense = ["在大气环流与地形抬升的共同作用下，饱和水汽经绝热冷却凝结为云滴并通过碰并增长机制形成降水粒子"]
    assert not authoring.reading_level(dense, grade_level=2, language="zh")["passed"]
    assert authoring.reading_level(dense, grade_level=12, language="zh")["passed"]


def test_a_question_is_assembled_from_the_answer_and_the_wrong_answers_and_checked():
    written = {
        "question": "What is it called when water turns into a gas?",
        "answer": "Evaporation",
        "wrong_answers": ["Freezing", "Melting", "Erosion"],
        "explanation": "Heat turns liquid water into vapour.",
    }
    item = authoring.assemble_question(written, seed=6)
    assert item["choices"][6 % 4] == "Evaporation" and sorted(item["choices"]) == [
        "Erosion",
        "Evaporation",
        "Freezing",
        "Melting",
    ]
    assert authoring.passed(authoring.question_checks(item, WATER, earlier_questions=["How do clouds form?"]))
    repeated = authoring.question_checks(
        {**item, "choices": ["Evaporation", "evaporation", "Melting", "Erosion"]},
        WATER,
        earlier_questions=["What is it called when water turns into gas?"],
    )
    assert not repeated["distinct_choices"]["passed"] and not repeated["distinct_question"]["passed"]
    # the prompt does not list the earlier questions, so a repair's feedback names the one repeated
    assert any(
        "'What is it called when water turns into gas?'" in note for note in authoring.feedback_for(repeated, WATER)
    )
    assert "Do not ask" not in authoring.question_prompt(WATER, index=1, titles=["Evaporation", "Rain"])
    stray = authoring.question_checks({**item, "answer": "Boiling"}, WATER, earlier_questions=[])
    assert not stray["answer_in_choices"]["passed"]


def test_the_lesson_plan_timing_and_repairs_change_structure_only():
    plan = authoring.repair_lesson_plan(
        {
            "overview": "We watch water move.",
            "activities": [
                {"name": "Warm-up", "minutes": 5, "description": "Students name places they see water."},
                {"name": "Warm-up", "minutes": 5, "description": "Students draw the water cycle."},
                {"name": "Wrap-up", "minutes": 5, "description": "Students share one new fact."},
            ],
        }
    )
    checks = authoring.lesson_plan_checks(plan, WATER)
    assert not checks["timing"]["passed"] and "15 minutes" in checks["timing"]["detail"]
    assert not checks["distinct_activities"]["passed"]
    # A value the grammar cut at its limit loses its unfinished last word, and nothing is added
    assert authoring.trim_cut_word("Warm water turns into a gas we cann", 35) == "Warm water turns into a gas we"
    assert authoring.trim_cut_word("Short and done.", 15) == "Short and done."


def test_objectives_are_shared_out_over_the_slides():
    objectives = ["a", "b", "c"]
    assert [authoring.objectives_for_slide(objectives, i, 2) for i in range(2)] == [["a", "c"], ["b"]]
    assert [authoring.objectives_for_slide(objectives, i, 5) for i in range(5)] == [["a"], ["b"], ["c"], ["a"], ["b"]]


def test_a_slide_under_an_outline_title_opens_its_answer_with_that_title():
    # The grammar writes the title into the answer, where the repetition penalties see its words
    schema = authoring.slide_body_schema("Why volcanoes erupt")
    assert schema["properties"]["title"] == {"type": "string", "const": "Why volcanoes erupt"}
    assert list(schema["properties"]) == ["title", "bullets", "notes"] and schema["required"] == [
        "title",
        "bullets",
        "notes",
    ]


def test_outline_titles_move_over_the_slides_whose_objectives_they_name():
    war = Brief(
        topic="World War I",
        grade_level=10,
        objectives=["Explain the causes of the war", "Describe life in the trenches"],
        language="en",
        slide_count=3,
        quiz_questions=1,
    )
    titles = ["Life in the Trenches", "The Causes of World War I", "How the War Ended"]
    assert authoring.order_titles(titles, war) == [
        "The Causes of World War I",
        "Life in the Trenches",
        "How the War Ended",
    ]
    # titles already in place, or naming no objective, stay where they are
    assert authoring.order_titles(titles[1::-1] + titles[2:], war) == [
        "The Causes of World War I",
        "Life in the Trenches",
        "How the War Ended",
    ]
    assert authoring.order_titles(["Alpha", "Beta", "Gamma"], war) == ["Alpha", "Beta", "Gamma"]


def test_list_numbers_are_neither_kept_before_bullets_nor_counted_as_repeated_sentences():
    slide = authoring.repair_slide(
        {
            "title": "Rhyme",
            "bullets": ["1. Rhyme links words.", "2. Cat rhymes with hat.", "iv) Clap each beat."],
            "notes": "2. Read the poem aloud. 3. Ask for rhyming pairs.",
        }
    )
    assert slide["bullets"] == ["Rhyme links words.", "Cat rhymes with hat.", "Clap each beat."]
    assert authoring.slide_checks(slide, WATER, index=0)["no_repetition"]["passed"]
    assert authoring.trim_cut_word("3 planets are gas giants.", 80) == "3 planets are gas giants."
    assert authoring.repair_slide({"title": "T", "bullets": ["3 planets are gas giants."], "notes": "n"})[
        "bullets"
    ] == ["3 planets are gas giants."]


def test_plain_short_sentences_are_not_too_easy_for_young_grades_but_are_for_older_ones():
    easy = ["What is a switch?", "How does it work?", "It can stop the flow."]
    assert authoring.reading_level(easy, grade_level=8, language="en")["passed"]
    assert not authoring.reading_level(easy, grade_level=13, language="en")["passed"]


def test_the_grammar_keeps_json_syntax_out_of_values_and_ends_a_question_with_a_question_mark():
    import json

    import xgrammar
    from xgrammar.testing import _is_grammar_accept_string

    grammar = xgrammar.Grammar.from_json_schema(json.dumps(authoring.QUESTION_SCHEMA), any_whitespace=False)
    good = {
        "question": "What is it called when water turns into a gas?",
        "answer": "Evaporation",
        "wrong_answers": ["Freezing", "Melting", "Erosion"],
        "explanation": "Heat turns liquid water into vapour.",
    }
    assert _is_grammar_accept_string(grammar, json.dumps(good))
    for field, value in [
        ("wrong_answers", ["][", "Melting", "Erosion"]),
        ("answer", ".pdf"),
        ("answer", "A" * 41),
        ("question", "The water cycle"),
        ("explanation", 'It is "vapour" now, not water.'),
    ]:
        assert not _is_grammar_accept_string(grammar, json.dumps({**good, field: value})), field


def test_a_title_that_is_only_a_number_names_nothing():
    assert not any(authoring.names_content(title) for title in ["Slide 2", "part 3:", "  Section 10.", "4"])
    assert all(authoring.names_content(title) for title in ["Slide 2: Series circuits", "3 states of water", "Rain"])
