"""Bradley–Terry ratings with bootstrap intervals (tools_layer/arena/ratings.py), against answers known
in advance: a closed-form two-version case, and judgements drawn from known strengths."""

import math

import numpy as np

from tools_layer.arena.ratings import ELO_SCALE, Judgement, bradley_terry, ratings, win_matrix

TRUE_STRENGTHS = (1.0, 2.0, 4.0)


def drawn(count: int, *, seed: int, tie_share: float = 0.1) -> list[Judgement]:
    """`count` judgements between random pairs of three versions whose strengths are TRUE_STRENGTHS:
    a share of them ties, the rest won by i with probability p_i / (p_i + p_j)."""
    rng = np.random.default_rng(seed)
    found = []
    for _ in range(count):
        i, j = (int(k) for k in rng.choice(len(TRUE_STRENGTHS), size=2, replace=False))
        if rng.random() < tie_share:
            found.append(Judgement(a=i, b=j, score=0.5))
            continue
        wins = rng.random() < TRUE_STRENGTHS[i] / (TRUE_STRENGTHS[i] + TRUE_STRENGTHS[j])
        found.append(Judgement(a=i, b=j, score=1.0 if wins else 0.0))
    return found


def test_two_versions_fit_the_closed_form_maximum_likelihood():
    # Given 30 wins of version 0 over version 1 and 10 losses: the likelihood peaks at p0 / p1 = 3.
    judgements = [Judgement(0, 1, 1.0)] * 30 + [Judgement(0, 1, 0.0)] * 10
    log_strength = bradley_terry(win_matrix(judgements, 2), prior=0.0)
    assert abs(math.exp(log_strength[0] - log_strength[1]) - 3.0) < 1e-9
    # On the Elo scale 3:1 odds are 400 * log10(3) = 190.8 points apart, around the mean of 1000.
    found = ratings(judgements, 2, prior=0.0, samples=0)
    assert abs((found.rating[0] - found.rating[1]) - ELO_SCALE * math.log(3.0)) < 1e-6
    assert abs(sum(found.rating) / 2 - 1000.0) < 1e-6


def test_a_tie_counts_half_a_win_to_each_side():
    # Given one win each way and two ties: the record is 2-2, so the versions are equal.
    judgements = [Judgement(0, 1, 1.0), Judgement(0, 1, 0.0), Judgement(0, 1, 0.5), Judgement(1, 0, 0.5)]
    found = ratings(judgements, 2, prior=0.0, samples=0)
    assert abs(found.rating[0] - found.rating[1]) < 1e-9
    assert found.wins == [2.0, 2.0] and found.judgements == [4, 4]
    assert found.pairs == [{"first": 0, "second": 1, "judgements": 4, "first_win_rate": 0.5}]


def test_a_version_that_never_won_still_gets_a_finite_rating_below_the_others():
    judgements = [Judgement(0, 1, 1.0)] * 5 + [Judgement(2, 1, 1.0)] * 5 + [Judgement(0, 2, 0.5)] * 2
    found = ratings(judgements, 3, samples=200)
    assert all(math.isfinite(value) for value in found.rating + found.low + found.high)
    assert found.rating[1] < min(found.rating[0], found.rating[2])


def test_known_strengths_are_recovered_and_intervals_narrow_with_more_judgements():
    # Given judgements drawn from strengths 1:2:4 (Elo 880, 1000, 1120 around their mean), without ties
    # (ties drawn at random pull the fitted strengths together: that model is not Bradley–Terry's).
    truth = [1000.0 + ELO_SCALE * (math.log(p) - np.mean(np.log(TRUE_STRENGTHS))) for p in TRUE_STRENGTHS]
    few = ratings(drawn(150, seed=3, tie_share=0.0), 3, seed=1)
    many = ratings(drawn(2400, seed=4, tie_share=0.0), 3, seed=1)

    # Then both recover the order, the larger set within 30 points of every true rating, and each
    # interval holds its estimate; with 16 times the judgements the intervals are about 4 times narrower.
    for found in (few, many):
        assert found.rating[0] < found.rating[1] < found.rating[2]
        assert all(low <= rating <= high for low, rating, high in zip(found.low, found.rating, found.high))
    assert all(abs(estimate - true) < 30 for estimate, true in zip(many.rating, truth))
    assert all(low <= true <= high for low, true, high in zip(many.low, truth, many.high))
    few_width = np.array(few.high) - np.array(few.low)
    many_width = np.array(many.high) - np.array(many.low)
    assert np.all(many_width < few_width / 2.5)
    assert sum(few.judgements) == 2 * 150


def test_the_bootstrap_is_reproducible_from_its_seed():
    judgements = drawn(60, seed=5)
    assert ratings(judgements, 3, seed=7).low == ratings(judgements, 3, seed=7).low
