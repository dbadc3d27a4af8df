"""Inter-annotator agreement over categorical answers: percent agreement, Cohen's kappa (two
annotators) and Fleiss' kappa (any fixed number of annotators per task). Pure functions."""

from collections import Counter
from collections.abc import Sequence
from itertools import combinations


def percent_agreement(ratings: Sequence[Sequence[str]]) -> float | None:
    """Mean over tasks (with at least two answers) of the share of answer pairs that agree."""
    shares = []
    for answers in ratings:
        if len(answers) < 2:
            continue
        pairs = list(combinations(answers, 2))
        shares.append(sum(a == b for a, b in pairs) / len(pairs))
    return sum(shares) / len(shares) if shares else None


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Two annotators' answers on the same tasks: (observed - chance) / (1 - chance) agreement."""
    if len(pairs) < 2:
        return None
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    chance = sum(first[c] * second[c] for c in set(first) | set(second)) / (n * n)
    if chance == 1:
        return 1.0 if observed == 1 else None
    return (observed - chance) / (1 - chance)


def fleiss_kappa(ratings: Sequence[Sequence[str]]) -> float | None:
    """Tasks each answered by the same number n >= 2 of annotators (not always the same people)."""
    rows = [Counter(answers) for answers in ratings]
    if len(rows) < 2:
        return None
    n = len(ratings[0])
    if n < 2 or any(len(answers) != n for answers in ratings):
        raise ValueError("Fleiss' kappa needs the same number (at least two) of answers on every task.")
    tasks = len(rows)
    per_task = [(sum(count * count for count in row.values()) - n) / (n * (n - 1)) for row in rows]
    observed = sum(per_task) / tasks
    totals = Counter()
    for row in rows:
        totals.update(row)
    chance = sum((count / (tasks * n)) ** 2 for count in totals.values())
    if chance == 1:
        return 1.0 if observed == 1 else None
    return (observed - chance) / (1 - chance)
