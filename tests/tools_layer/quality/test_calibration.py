"""Every content check, and all of them together, against the hand-labelled set in calibration.jsonl.

The set (English and Chinese marketing copy, slides and quiz questions) holds copy a copywriter would
accept; real failures of the built-in SmolLM2 (quoted in issue 20, and saved from its runs through the
runtime); and off-topic text, word salad, made-up words, the wrong language, talk about the task,
repetition, cut-off sentences and shouting. Each item lists the checks it must fail (`fails`). A check
is scored on the items it reads: an item in the wrong language is scored by the language check alone
(the other measures read a text as the requested language). Fluency reads English only (the built-in
reference model reads no other language).

Three splits. `calibration`: the checks and their thresholds were written and tuned on it (MIN_ORDER_GAIN
among them); here every check, and all together, is held to 95% precision and 95% recall. `held_out`:
labelled by hand before any check ran on it and never used to tune a threshold; its misses showed four
general weaknesses, fixed in the checks (see the commit after its first scoring), so it is no longer
unseen. `held_out_2`: new products and topics, half in Chinese (accepted copy; the built-in SmolLM2's
own outputs for new products, saved verbatim; off-topic text, word salad, made-up words, the wrong
language, talk about the task, repetition, shouting, cut-off sentences, give-away quizzes), labelled by
a reader's judgement and committed before any check ran on it, then scored; its misses led to three
general fixes (see FLOORS_2), so it is no longer unseen either; `held_out_3` likewise (FLOORS_3).
`held_out_4`: 72 items, half Chinese, written and labelled by a helper that never read the checks
(see FLOORS_4). The held-out splits' figures are printed and held to floors (SPLITS), so that they are
reported, not hidden, and cannot silently fall.
"""

import pytest

from tools_layer.quality.calibration import load_items, score, table, verdicts_of
from tools_layer.quality.fluency import FluencyScorer

ITEMS = load_items()
TARGET = 0.95


def test_the_labelled_set_is_large_and_covers_both_languages_and_every_failure():
    assert len(ITEMS) >= 80 and len({item["id"] for item in ITEMS}) == len(ITEMS)
    for language in ("en", "zh"):
        mine = [item for item in ITEMS if item["language"] == language]
        assert len(mine) >= 30 and any(not item["fails"] for item in mine)
    failures = {name for item in ITEMS for name in item["fails"]}
    assert {
        "language",
        "real_words",
        "on_subject",
        "fluency",
        "task_talk",
        "repetition",
        "complete_sentences",
        "shouting",
        "choices",
        "gives_away",
        "explanation",
    } <= failures
    assert sum(item["source"] != "hand-written" for item in ITEMS) >= 15  # real outputs of the built-in model
    for split in ("held_out_2", "held_out_4"):
        found = [item for item in ITEMS if item["split"] == split]
        assert len(found) >= 60 and 2 * sum(item["language"] == "zh" for item in found) >= len(found)


# The held-out split's figures when first scored (precision, recall): what the checks really do on
# text they were not tuned on. A change that lowers one fails here; one that raises it updates it.
# Scored 2026-12-07 (28 items): all checks together 94% precision and 94% recall; fluency found
# neither of its 2 failures and flagged 1 good item; real_words missed its 1; task_talk 1 of 2;
# language flagged 1 of 27 English items as Dutch. After the four general fixes those misses showed
# (language, repetition, complete_sentences, task_talk; calibration split still 100%/100% for every
# check), the split reads 94% / 100%: the made-up words the detector had called Dutch now reach
# on_subject, which finds no product named in them (the item's label did not list on_subject: 86%
# precision). Fluency's misses are parts of fewer than four words, which it does not read.
FLOORS: dict[str, tuple[float, float]] = {
    "all": (0.94, 1.0),
    "on_subject": (0.85, 1.0),
    "shouting": (1.0, 1.0),
    "choices": (1.0, 1.0),
    "repetition": (1.0, 1.0),
    "task_talk": (1.0, 1.0),
    "complete_sentences": (1.0, 1.0),
    "language": (1.0, 1.0),
    "real_words": (1.0, 0.5),
    "fluency": (0.5, 0.33),
}
# The second held-out split's figures when scored once, 2026-12-07 (84 items, 42 English and 42
# Chinese): all checks together 98% precision (42 of 43) and 88% recall (42 of 48); English 95% / 82%,
# Chinese 100% / 92%. What it found: English prose that the built-in model's token limit cuts off
# without a final stop ("...a sleek and modern design that is perfect", "...not only delicious but
# also") passes complete_sentences (4 of 6 missed; Chinese prose must end with 。！？, English need
# not); Chinese word salad passes (no Chinese fluency reference), and so do Chinese made-up strings of
# common characters; one- and two-word slide bullets a reader accepts fail on_subject ("not a
# phrase"); made-up words that begin like the product's ("bambolo", "cuttify") name it; a cutting
# board described as food is not seen as off-topic; an assistant's letter ("Dear [Your Name]… I'm here
# to assist") and 这是一个…社交媒体帖子 are not seen as talk about the task.
# Those misses showed three general weaknesses, fixed in the checks on 2026-12-07 (a later session;
# the calibration split still 100% / 100% for every check): prose whose last line runs on past a
# finished sentence, or twelve words, without a stop is cut off (`prose_cut_off`); a template's blanks
# ("[Your Name]", 【您的姓名】) and text that names its own kind ("这是一个…帖子") are talk about the
# task; a one- or two-word bullet of real words is a label, not a failed phrase. After them the split
# reads 100% / 96% (46 of 48; complete_sentences 100% / 100%, task_talk 100% / 100%), so it is no
# longer unseen either. Still missed: Chinese word salad of real words and a made-up string of common
# characters (no Chinese fluency reference ships offline).
FLOORS_2: dict[str, tuple[float, float]] = {
    "all": (1.0, 0.95),
    "choices": (1.0, 1.0),
    "complete_sentences": (1.0, 1.0),
    "explanation": (1.0, 1.0),
    "fluency": (0.75, 1.0),
    "gives_away": (1.0, 1.0),
    "language": (1.0, 1.0),
    "on_subject": (0.85, 0.75),
    "real_words": (1.0, 0.5),
    "repetition": (1.0, 0.8),
    "shouting": (1.0, 1.0),
    "task_talk": (1.0, 1.0),
}


# The third held-out split (51 items: 43 hand-written, 18 of them Chinese, and 8 outputs of the built-in
# SmolLM2 saved verbatim), labelled and committed before any check ran on it, scored once on
# 2026-12-07: all checks together 77% precision (27 of 35) and 93% recall (27 of 29). Most of what the
# checks flag wrongly is good copy: on_subject 46% precision (seven good items that do not name the
# product in its own words: "Fill it, carry it, skip the plastic." for a water bottle, "asleep" for
# sleep, 孩子 for 儿童), fluency 40% (three good English items), real_words on single Chinese characters
# (衣, 爽), German read into a quiz of four one-word choices, and prose without a final stop after a
# finished sentence taken for cut off. Missed: an assistant introducing itself ("I'm an AI assistant"
# inside a sentence), instructions echoed in Title Case ("in a Calm Tone"), repetition across lines of
# a spec sheet, an emoji-only post. Two of those misreadings were general faults, fixed after that
# score (so the split is no longer unseen): a quiz's language is read from its question and explanation,
# not its one-word choices; a lone Han character that makes a known word with its neighbour (冲锋 衣,
# 干 爽) is a word. After them: 79% precision (27 of 34), 93% recall; language 100% / 100%, real_words
# 50% / 50%. Then two more, on talk about the task: an assistant introducing itself anywhere ("I'm an AI
# assistant"), and any "in a … tone" as an echoed instruction: 80% / 97% (28 of 29), task_talk 100% /
# 100%, and no other split moved.
FLOORS_3: dict[str, tuple[float, float]] = {
    "all": (0.8, 0.96),
    "choices": (1.0, 1.0),
    "complete_sentences": (0.66, 1.0),
    "explanation": (0.5, 1.0),
    "fluency": (0.4, 1.0),
    "gives_away": (1.0, 1.0),
    "language": (1.0, 1.0),
    "on_subject": (0.46, 0.85),
    "real_words": (0.5, 0.5),
    "repetition": (1.0, 0.5),
    "shouting": (1.0, 0.5),
    "task_talk": (1.0, 1.0),
}


# The fourth held-out split (72 items: 36 English, 36 Chinese; 28 good, 44 failing, covering every
# check), written and labelled by a helper that was not shown the checks' code, and scored once on
# 2026-12-07 (fluency included): all checks together 84% precision (42 of 50) and 95% recall (42 of 44).
# Its misses were mostly faults of the checks on good quizzes and slides, not of judgement: a number
# choice ("17", "1789") taken for a label; "10厘米" and "14厘米" taken for the same choice, and "10厘米"
# as given away by a question on 6厘米 and 8厘米 (numbers were dropped before comparing); a formula
# ("a² + b² = c²") taken for "not words"; a slide title that is a question ("Who eats whom?") or ends on
# a year ("…in 1789") taken for cut off; a Chinese post ending on hashtags taken for an unfinished
# sentence; "Is it true that…" taken to give away "True"; and a number the question states (2 in
# "2是唯一的偶数质数…") not seen as given away. Fixed in general (the earlier splits did not move, except
# held_out_2's explanation check, whose one catch had come from a segmentation accident and now comes
# from the question: 对 cannot answer a question that asks which): 93% (42 of 45) / 95% (42 of 44).
# Still flagged wrongly: good copy that names its product only by what it does ("A full phone charge in
# your pocket", 它 for a robot vacuum; on_subject 67%), "Your lawn, mowed while you sleep" (fluency: a
# short headline gains little from its word order), made-up words in a grammatical sentence (fluency,
# labelled real_words only), and an explanation beside label choices ("A", "B"): the calibration split
# labels that an explanation failure too, this split's writer did not. Missed: two off-topic slides whose
# objectives are off-topic as well (the product's objectives are the creator's, so they stay trusted).
FLOORS_4: dict[str, tuple[float, float]] = {
    "all": (0.93, 0.95),
    "choices": (1.0, 1.0),
    "complete_sentences": (0.88, 1.0),
    "explanation": (0.66, 1.0),
    "fluency": (0.6, 1.0),
    "gives_away": (1.0, 1.0),
    "language": (1.0, 1.0),
    "on_subject": (0.66, 0.66),
    "real_words": (1.0, 1.0),
    "repetition": (1.0, 1.0),
    "shouting": (1.0, 1.0),
    "task_talk": (1.0, 1.0),
}


# Each split's title in the printed tables, and its floors (the calibration split is held to TARGET).
SPLITS: dict[str, tuple[str, dict[str, tuple[float, float]]]] = {
    "calibration": ("calibration split", {}),
    "held_out": ("held-out split (its misses led to four general fixes)", FLOORS),
    "held_out_2": ("held-out split 2 (labelled before it was scored; its misses led to three general fixes)", FLOORS_2),
    "held_out_3": ("held-out split 3 (labelled and committed before it was scored; then four general fixes)", FLOORS_3),
    "held_out_4": (
        "held-out split 4 (written by a helper that never saw the checks; then six general fixes)",
        FLOORS_4,
    ),
}


@pytest.mark.slow
@pytest.mark.django_db
def test_every_check_and_all_together_on_the_calibration_split_and_the_held_out_splits(builtin):
    # Fluency is scored by the built-in model through the runtime (one model load for the whole set).
    verdicts = verdicts_of(ITEMS, scorer=FluencyScorer(builtin))
    tallies = {split: score([item for item in ITEMS if item["split"] == split], verdicts) for split in SPLITS}
    print("\n" + "\n".join(table(title, tallies[split]) for split, (title, _) in SPLITS.items()))
    short = {
        name: (round(t["precision"], 3), round(t["recall"], 3))
        for name, t in tallies["calibration"].items()
        if t["precision"] < TARGET or t["recall"] < TARGET
    }
    assert not short, short
    for split, (_, floors) in SPLITS.items():
        for name, (precision, recall) in floors.items():
            found = tallies[split][name]
            assert found["precision"] >= precision and found["recall"] >= recall, (split, name, found)
