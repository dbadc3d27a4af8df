"""The PII finder against a labelled set of 250 English and Chinese lines (tests/tools_layer/data):
precision and recall of each kind, and redaction that keeps the type."""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tools_layer.datasets.pii import card_valid, find_pii, id_number_valid, redact

LABELLED = Path(__file__).parent / "data" / "pii_labelled.jsonl"
HELD_KINDS = ("email", "phone", "id_number", "card")


def normalised(kind: str, value: str) -> str:
    # A phone or card number is the same number whatever its spaces, dashes and brackets.
    return re.sub(r"\D", "", value) if kind in ("phone", "card") else value


def scores() -> dict[str, tuple[float, float]]:
    true_pos, false_pos, false_neg = Counter(), Counter(), Counter()
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        wanted = Counter((e["kind"], normalised(e["kind"], e["value"])) for e in row["entities"])
        found = Counter((f.kind, normalised(f.kind, f.value)) for f in find_pii(row["text"]))
        for key in wanted | found:
            hit = min(wanted[key], found[key])
            true_pos[key[0]] += hit
            false_pos[key[0]] += found[key] - hit
            false_neg[key[0]] += wanted[key] - hit
    return {
        kind: (
            true_pos[kind] / max(true_pos[kind] + false_pos[kind], 1),
            true_pos[kind] / max(true_pos[kind] + false_neg[kind], 1),
        )
        for kind in set(true_pos) | set(false_pos) | set(false_neg)
    }


def test_the_labelled_set_is_large_enough_and_bilingual():
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 200
    assert Counter(row["lang"] for row in rows).keys() == {"en", "zh"}
    kinds = Counter(e["kind"] for row in rows for e in row["entities"])
    assert all(kinds[kind] >= 30 for kind in HELD_KINDS)
    assert sum(1 for row in rows if not row["entities"]) >= 50  # lines with look-alikes and nothing personal


@pytest.mark.parametrize("kind", HELD_KINDS)
def test_precision_and_recall_are_at_least_095(kind):
    precision, recall = scores()[kind]
    assert precision >= 0.95, f"{kind} precision {precision:.3f}"
    assert recall >= 0.95, f"{kind} recall {recall:.3f}"


def test_redaction_keeps_the_type_and_the_rest_of_the_text():
    text = "写信给 li.wei@example.com 或拨打 138 0013 8000；卡号 4111 1111 1111 1111，来自 192.168.3.7。"
    findings = find_pii(text)
    assert [f.kind for f in findings] == ["email", "phone", "card", "ip"]
    assert redact(text, findings) == "写信给 <EMAIL> 或拨打 <PHONE>；卡号 <CARD>，来自 <IP>。"


def test_check_digits_decide():
    # Given the GB 11643 sample number and a Luhn-valid test card, when one digit changes, then neither passes.
    assert id_number_valid("11010519491231002X") and not id_number_valid("110105194912310021")
    assert card_valid("4111 1111 1111 1111") and not card_valid("4111 1111 1111 1112")
    assert (
        find_pii("url: https://deploy:hunter2@db.example.com/prod.")[0].value
        == "https://deploy:hunter2@db.example.com/prod"
    )
