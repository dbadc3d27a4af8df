"""Applications benchmark: how often courseware and marketing copy pass their checks, measured in one run.

    .venv/bin/python bench/applications.py [--limit N] [--slides 3] [--questions 3] [--variants 2] [--only ...]

Runs the applications' own services in this process with the built-in SmolLM2 (in a temporary data
directory: SQLite, local storage), over 20 lesson topics and 20 products chosen here (none of them
used by the tests), and prints:
1. courseware: the share of items (lesson plan, slide outline, slides, quiz questions) and of whole
   lessons that pass every check on the first try (the baseline: what the generator writes with no
   repair) and after the bounded rewrites (goals: >= 80% first try, 100% after repair);
2. marketing: the share of variants that pass their checks on the first try and after regeneration
   (goal: 100% after regeneration), through `applications.marketing.services.variant_write`;
3. the share of items shown failed (they failed every try: the page and the exports mark them);
4. the content checks' precision and recall on the hand-labelled set (tests/tools_layer/quality/
   calibration.jsonl), on its calibration split (where the thresholds were tuned) and its two held-out splits;
5. when AIGC_JUDGE_GENERATOR names a judge, its mean score per criterion;
with the seconds per lesson, per courseware item and per variant. It is slow on a CPU: `--limit N`
takes the first N topics and N products. The checks are tools_layer/quality's (the language, real
words, naming the subject, fluency under the built-in model, no talk about the task, no repetition,
complete sentences, no shouting, and the quiz's choices, give-aways and explanations) beside each
application's own (length, keywords, structure).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TOPICS = [
    ("Volcanoes", 6, ["Explain why volcanoes erupt", "Name the parts of a volcano"]),
    ("The solar system", 4, ["Name the planets in order", "Describe what an orbit is"]),
    ("Multiplying decimals", 6, ["Multiply a decimal by a whole number", "Place the decimal point in a product"]),
    ("The Roman Empire", 7, ["Describe how Rome was governed", "Explain why the empire split"]),
    ("Healthy eating", 3, ["Name the main food groups", "Choose a balanced lunch"]),
    ("Electric circuits", 8, ["Draw a simple series circuit", "Explain what a switch does"]),
    ("Persuasive writing", 9, ["Write a clear claim", "Support a claim with evidence"]),
    ("The human heart", 7, ["Describe how blood flows through the heart", "Name the four chambers"]),
    ("Ecosystems", 5, ["Explain a food chain", "Describe what producers do"]),
    ("Simple machines", 4, ["Name six simple machines", "Explain how a lever lifts a load"]),
    ("World War I", 10, ["Explain the causes of the war", "Describe life in the trenches"]),
    ("Probability", 8, ["Find the probability of a simple event", "Compare likely and unlikely events"]),
    ("Weather and climate", 5, ["Tell weather from climate", "Read a weather map"]),
    ("Poetry and rhyme", 3, ["Find rhyming words", "Clap the rhythm of a poem"]),
    ("Supply and demand", 11, ["Explain how prices are set", "Draw a demand curve"]),
    ("Cells", 7, ["Name the parts of a cell", "Compare plant and animal cells"]),
    ("Ancient Egypt", 5, ["Describe why the Nile mattered", "Explain how pyramids were built"]),
    ("Linear equations", 9, ["Solve a one-step equation", "Graph a straight line"]),
    ("Recycling", 2, ["Sort waste into groups", "Explain why we recycle"]),
    ("Magnetism", 3, ["Say what magnets attract", "Describe the poles of a magnet"]),
]

PRODUCTS = [
    ("ad-headline", "Solar-powered camping lantern that charges phones", "campers"),
    ("product-description", "Stainless steel insulated water bottle, keeps drinks cold 24 hours", "commuters"),
    ("social-post", "Weekend pottery class for beginners", "young professionals"),
    ("email-subject", "Spring sale on running shoes, 30% off", "runners"),
    ("slogan", "Organic dog food made with fresh vegetables", "dog owners"),
    ("ad-headline", "Noise-cancelling headphones with 40-hour battery", "students"),
    ("product-description", "Ergonomic office chair with lumbar support", "remote workers"),
    ("social-post", "New vegan bakery opening downtown", "food lovers"),
    ("email-subject", "Free shipping on all board games this week", "families"),
    ("slogan", "Electric cargo bike for city deliveries", "small businesses"),
    ("ad-headline", "Smart thermostat that learns your schedule", "homeowners"),
    ("product-description", "Hand-knitted wool scarf in five colours", "gift shoppers"),
    ("social-post", "Online course on personal budgeting", "recent graduates"),
    ("email-subject", "Last chance: early-bird tickets for the jazz festival", "music fans"),
    ("slogan", "Reusable beeswax food wraps", "eco-conscious cooks"),
    ("ad-headline", "Waterproof fitness tracker with heart-rate monitor", "swimmers"),
    ("product-description", "Cast-iron skillet, pre-seasoned, 30 cm", "home cooks"),
    ("social-post", "Community garden volunteer day", "neighbours"),
    ("email-subject", "Your coffee subscription now ships every two weeks", "coffee drinkers"),
    ("slogan", "Children's bicycle helmet with built-in lights", "parents"),
]


def setup_django(data_dir: Path) -> None:
    os.environ.update(AIGC_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="aigc_platform.settings")
    os.environ.setdefault("AIGC_MODEL_FOLDERS_DIR", str(Path.home() / ".cache" / "aigc-platform" / "model-folders"))
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def share(part: int, whole: int) -> str:
    return f"{part}/{whole} = {100 * part / whole:.0f}%" if whole else "n/a"


def judge_means(judgements: list[dict]) -> str:
    """The judge's mean score per criterion over the items it scored."""
    scored = [judgement for judgement in judgements if judgement and judgement.get("scores")]
    if not scored:
        return "none scored"
    names = list(scored[0]["scores"])
    means = ", ".join(
        f"{name} {statistics.mean(j['scores'][name] for j in scored if name in j['scores']):.2f}" for name in names
    )
    return f"{means} (of 5, over {len(scored)} items, judge {scored[0]['judge']})"


def bench_courseware(version, owner, topics, *, slides: int, questions: int) -> None:
    from django.conf import settings

    from applications.courseware import services
    from applications.courseware.models import Lesson

    first = passed = items = whole_first = whole_passed = 0
    judgements: list[dict] = []
    lesson_seconds = []
    failures: dict[str, int] = {}
    first_failures: dict[str, int] = {}
    for number, (topic, grade, objectives) in enumerate(topics, start=1):
        lesson = Lesson.objects.create(
            owner=owner,
            topic=topic,
            grade_level=grade,
            objectives=objectives,
            slide_count=slides,
            quiz_questions=questions,
            language="en",
            generator="bench",
        )
        started = time.perf_counter()
        result = services.lesson_run(lesson_id=lesson.pk, version_id=version.pk, seed=1000 + number)
        lesson_seconds.append(time.perf_counter() - started)
        checks = result["checks"]
        entries = [checks["lesson_plan"], checks["outline"], *checks["slides"], *checks["quiz"]]
        judgements += [entry.get("judgement") for entry in entries]
        items += len(entries)
        first += sum(entry["passed"] and entry["attempts"] == 1 for entry in entries)
        passed += sum(entry["passed"] for entry in entries)
        whole_first += all(entry["passed"] and entry["attempts"] == 1 for entry in entries)
        whole_passed += all(entry["passed"] for entry in entries)
        for section, entry in zip(
            ["lesson_plan", "outline"] + ["slide"] * len(checks["slides"]) + ["quiz"] * len(checks["quiz"]), entries
        ):
            for name in entry["tries"][0]["failed"]:
                first_failures[f"{section}.{name}"] = first_failures.get(f"{section}.{name}", 0) + 1
            for name, check in entry["checks"].items():
                if not check["passed"] and not entry["passed"]:
                    failures[f"{section}.{name}"] = failures.get(f"{section}.{name}", 0) + 1
        print(
            f"  lesson {number:2d} {topic!r:28} {lesson_seconds[-1]:6.1f} s  "
            f"items first try {sum(e['passed'] and e['attempts'] == 1 for e in entries)}/{len(entries)}, "
            f"after repair {sum(e['passed'] for e in entries)}/{len(entries)}",
            flush=True,
        )
    count = len(topics)
    print(f"courseware ({count} lessons of {slides} slides and {questions} questions, {items} items):")
    print(f"  items passing every check, first try (baseline, no repair): {share(first, items)}")
    print(f"  items passing every check, after repair:                    {share(passed, items)}")
    print(f"  items shown failed (failed every try):                      {share(items - passed, items)}")
    print(
        f"  whole lessons passing, first try: {share(whole_first, count)}; after repair: {share(whole_passed, count)}"
    )
    print(
        f"  seconds per lesson: median {statistics.median(lesson_seconds):.1f}, per item {sum(lesson_seconds) / items:.1f}"
    )
    if first_failures:
        print(
            "  checks failing on the first try: "
            + ", ".join(f"{name} x{n}" for name, n in sorted(first_failures.items()))
        )
    if failures:
        print(
            "  checks still failing after repair: " + ", ".join(f"{name} x{n}" for name, n in sorted(failures.items()))
        )
    if settings.APPLICATIONS_JUDGE_GENERATOR:
        print(f"  judge: {judge_means(judgements)}")


def bench_marketing(version, products, *, variants: int, show: bool = False) -> None:
    from django.conf import settings

    from applications.marketing import copywriting, services
    from applications.marketing.models import Template

    first = passed = total = 0
    seconds = []
    judgements: list[dict] = []
    first_failures: dict[str, int] = {}
    for number, (slug, product, audience) in enumerate(products, start=1):
        template = Template.objects.get(slug=slug)
        brief = copywriting.Brief(product=product, audience=audience, tone="friendly", language="en", length="medium")
        for index in range(variants):
            started = time.perf_counter()
            variant = services.variant_write(
                version=version, template=template, brief=brief, index=index, seed=5000 + 100 * number + index
            )
            seconds.append(time.perf_counter() - started)
            total += 1
            first += variant["passed"] and variant["attempts"] == 1
            passed += variant["passed"]
            judgements.append(variant.get("judgement"))
            for name in variant["tries"][0]["failed"]:
                first_failures[name] = first_failures.get(name, 0) + 1
            if show:  # what passed (or failed every try), for a reader to judge the checks by
                verdict = "passed" if variant["passed"] else "FAILED " + ", ".join(variant["tries"][-1]["failed"])
                print(f"    variant {index + 1}, try {variant['attempts']}, {verdict}: {variant['text']!r}")
        print(f"  product {number:2d} {slug:20} {product[:40]!r:44} done", flush=True)
    print(f"marketing ({len(products)} products x {variants} variants):")
    print(f"  variants passing their checks, first try (baseline, no regeneration): {share(first, total)}")
    print(f"  variants passing their checks, after regeneration:                    {share(passed, total)}")
    print(f"  variants shown failed (failed every try):                             {share(total - passed, total)}")
    print(f"  seconds per variant: median {statistics.median(seconds):.1f}")
    if first_failures:
        print(
            "  checks failing on the first try: "
            + ", ".join(f"{name} x{n}" for name, n in sorted(first_failures.items()))
        )
    if settings.APPLICATIONS_JUDGE_GENERATOR:
        print(f"  judge: {judge_means(judgements)}")


def bench_checks(version) -> None:
    """The content checks against the hand-labelled set, fluency scored by `version` (the built-in model)."""
    from tools_layer.quality.calibration import load_items, score, table, verdicts_of
    from tools_layer.quality.fluency import FluencyScorer

    items = load_items()
    started = time.perf_counter()
    verdicts = verdicts_of(items, scorer=FluencyScorer(version))
    print(f"content checks on the labelled set ({len(items)} items, {time.perf_counter() - started:.0f} s):")
    for split in dict.fromkeys(item["split"] for item in items):
        print(table(f"  {split} split:", score([item for item in items if item["split"] == split], verdicts)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=20, help="the first N topics and N products (of 20 each)")
    parser.add_argument("--slides", type=int, default=3)
    parser.add_argument("--questions", type=int, default=3)
    parser.add_argument("--variants", type=int, default=2)
    parser.add_argument("--only", choices=["courseware", "marketing", "checks"], default=None)
    parser.add_argument("--show", action="store_true", help="Print each marketing variant's text and verdict.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aigc-bench-applications-") as data_dir:
        setup_django(Path(data_dir))
        from django.contrib.auth import get_user_model

        from models_layer.registry.services import generators_bootstrap

        version = generators_bootstrap()
        owner = get_user_model().objects.create_user(username="bench-teacher")
        if args.only in (None, "checks"):
            bench_checks(version)
        if args.only in (None, "courseware"):
            bench_courseware(version, owner, TOPICS[: args.limit], slides=args.slides, questions=args.questions)
        if args.only in (None, "marketing"):
            bench_marketing(version, PRODUCTS[: args.limit], variants=args.variants, show=args.show)


if __name__ == "__main__":
    main()
