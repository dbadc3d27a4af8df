"""Bradley–Terry ratings of versions from pairwise judgements, with bootstrap confidence intervals.

The model: version i beats version j with probability p_i / (p_i + p_j). A tie counts as half a win
for each side (the convention of Elo and of Chatbot Arena's Bradley–Terry fit).

The fit is Hunter's MM algorithm (Hunter 2004, "MM algorithms for generalized Bradley–Terry models"):
p_i <- W_i / sum_j N_ij / (p_i + p_j), with W_i the (half-)wins of i and N_ij the games of i and j,
rescaled after each step so that the strengths' geometric mean is 1. It converges to the maximum
likelihood whenever every version has won and lost something. A version that never won (or never
lost) has no finite estimate, so `prior` adds that many virtual tied games to every pair: a small pull
towards equal strengths that keeps every rating finite (one game per pair by default; its weight
fades as judgements accumulate). Pass prior=0 for the plain maximum likelihood.

Ratings are shown on Elo's scale: 1000 + 400 * log10(p_i), so the versions average 1000 and a
difference of 400 means 10:1 odds. Confidence intervals are percentile bootstrap intervals: the
judgements are resampled with replacement `samples` times and each resample is fitted again (all
resamples at once, as one array: a few milliseconds for a handful of versions).
"""

from dataclasses import dataclass

import numpy as np

ELO_BASE = 1000.0
ELO_SCALE = 400.0 / np.log(10.0)
DEFAULT_PRIOR = 1.0
BOOTSTRAP_SAMPLES = 1000
MAX_ITERATIONS = 10_000
TOLERANCE = 1e-10


@dataclass(frozen=True)
class Judgement:
    """One pairwise judgement between versions `a` and `b` (their indexes): `score` is 1 when a won,
    0 when b won, 0.5 for a tie."""

    a: int
    b: int
    score: float


def win_matrix(judgements: list[Judgement], count: int) -> np.ndarray:
    """wins[i, j]: the wins of i over j, a tie counting half to each."""
    wins = np.zeros((count, count))
    for judgement in judgements:
        wins[judgement.a, judgement.b] += judgement.score
        wins[judgement.b, judgement.a] += 1.0 - judgement.score
    return wins


def bradley_terry(wins: np.ndarray, *, prior: float = DEFAULT_PRIOR) -> np.ndarray:
    """The log-strengths (natural log, mean 0) fitted to `wins`, a (count, count) matrix or a stack of
    them (samples, count, count), each fitted on its own."""
    wins = np.asarray(wins, dtype=float)
    stacked = wins.ndim == 3
    wins = wins if stacked else wins[None]
    count = wins.shape[-1]
    off_diagonal = 1.0 - np.eye(count)
    wins = wins + off_diagonal * (prior / 2.0)
    games = wins + np.swapaxes(wins, 1, 2)
    won = wins.sum(axis=2)
    strength = np.ones(wins.shape[:2])
    for _ in range(MAX_ITERATIONS):
        together = strength[:, :, None] + strength[:, None, :]
        denominator = (games / together).sum(axis=2)
        updated = np.where(denominator > 0, won / np.where(denominator > 0, denominator, 1.0), strength)
        # A version with no win at all (prior 0) heads to strength 0; the floor keeps the logarithm finite.
        updated = np.maximum(updated, 1e-300)
        updated /= np.exp(np.log(updated).mean(axis=1, keepdims=True))
        change = np.abs(np.log(updated) - np.log(strength)).max()
        strength = updated
        if change < TOLERANCE:
            break
    log_strength = np.log(strength)
    log_strength -= log_strength.mean(axis=1, keepdims=True)
    return log_strength if stacked else log_strength[0]


def elo(log_strength: np.ndarray) -> np.ndarray:
    return ELO_BASE + ELO_SCALE * np.asarray(log_strength)


@dataclass(frozen=True)
class Ratings:
    """Per version (by index): its rating, the bounds of its confidence interval, its judgements and
    its record; and per pair of versions (i < j) the judgements between them and i's win rate."""

    rating: list[float]
    low: list[float]
    high: list[float]
    judgements: list[int]
    wins: list[float]
    pairs: list[dict]
    confidence: float
    samples: int


def ratings(
    judgements: list[Judgement],
    count: int,
    *,
    prior: float = DEFAULT_PRIOR,
    samples: int = BOOTSTRAP_SAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
) -> Ratings:
    """Bradley–Terry ratings of `count` versions (Elo scale) with percentile bootstrap intervals at
    `confidence`, resampling the judgements `samples` times with a generator seeded by `seed`."""
    wins = win_matrix(judgements, count)
    rating = elo(bradley_terry(wins, prior=prior))
    if judgements and samples > 0:
        a = np.array([j.a for j in judgements])
        b = np.array([j.b for j in judgements])
        score = np.array([j.score for j in judgements])
        picks = np.random.default_rng(seed).integers(0, len(judgements), size=(samples, len(judgements)))
        stack = np.zeros((samples, count, count))
        rows = np.repeat(np.arange(samples), len(judgements))
        np.add.at(stack, (rows, a[picks].ravel(), b[picks].ravel()), score[picks].ravel())
        np.add.at(stack, (rows, b[picks].ravel(), a[picks].ravel()), 1.0 - score[picks].ravel())
        resampled = elo(bradley_terry(stack, prior=prior))
        tail = (1.0 - confidence) / 2.0 * 100.0
        low, high = np.percentile(resampled, [tail, 100.0 - tail], axis=0)
    else:
        low, high = rating.copy(), rating.copy()
    games = wins + wins.T
    pairs = [
        {
            "first": i,
            "second": j,
            "judgements": int(round(games[i, j])),
            "first_win_rate": float(wins[i, j] / games[i, j]) if games[i, j] else None,
        }
        for i in range(count)
        for j in range(i + 1, count)
    ]
    return Ratings(
        rating=[float(value) for value in rating],
        low=[float(value) for value in low],
        high=[float(value) for value in high],
        judgements=[int(round(value)) for value in games.sum(axis=1)],
        wins=[float(value) for value in wins.sum(axis=1)],
        pairs=pairs,
        confidence=confidence,
        samples=samples if judgements else 0,
    )
