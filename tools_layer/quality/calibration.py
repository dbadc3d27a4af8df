"""Scoring the content checks against a hand-labelled set (tests/tools_layer/quality/calibration.jsonl):
per check, and for all checks together, the precision and recall of finding the failures a person
labelled. Shared by the calibration test and bench/applications.py."""

import json
from pathlib import Path

from tools_layer.quality.checks import item_checks

CALIBRATION_SET = Path(__file__).resolve().parents[2] / "tests" / "tools_layer" / "quality" / "calibration.jsonl"


def load_items(path: Path = CALIBRATION_SET) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def verdicts_of(items: list[dict], *, scorer=None) -> dict[str, dict[str, dict]]:
    """Every item's checks; `scorer` (tools_layer.quality.fluency) scores the English items' fluency."""
    return {item["id"]: item_checks(item, scorer=scorer if item["language"] == "en" else None) for item in items}


def score(items: list[dict], verdicts: dict[str, dict[str, dict]]) -> dict[str, dict]:
    """Per check, and "all" (an item fails when any check fails): tp/fp/fn/tn of finding a labelled
    failure, precision and recall. A check is scored on the items it ran on."""
    tallies: dict[str, dict] = {}

    def count(name: str, expected: bool, found: bool) -> None:
        tally = tallies.setdefault(name, {"tp": 0, "fp": 0, "fn": 0, "tn": 0})
        tally["tp" if expected and found else "fp" if found else "fn" if expected else "tn"] += 1

    for item in items:
        checks = verdicts[item["id"]]
        for name, check in checks.items():
            count(name, name in item["fails"], not check["passed"])
        count("all", bool(item["fails"]), any(not check["passed"] for check in checks.values()))
    for tally in tallies.values():
        found, expected = tally["tp"] + tally["fp"], tally["tp"] + tally["fn"]
        tally["precision"] = tally["tp"] / found if found else 1.0
        tally["recall"] = tally["tp"] / expected if expected else 1.0
    return tallies


def table(title: str, tallies: dict[str, dict]) -> str:
    lines = [title, f"  {'check':20} {'precision':>9} {'recall':>7}   tp fp fn tn"]
    for name, t in sorted(tallies.items(), key=lambda pair: (pair[0] == "all", pair[0])):
        lines.append(
            f"  {name:20} {t['precision']:9.0%} {t['recall']:7.0%}   {t['tp']:2} {t['fp']:2} {t['fn']:2} {t['tn']:2}"
        )
    return "\n".join(lines)
