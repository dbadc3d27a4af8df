"""Agreement statistics against worked examples with published answers."""

import pytest

from tools_layer.labeling.agreement import cohen_kappa, fleiss_kappa, percent_agreement


def test_cohen_kappa_of_the_textbook_yes_no_example():
    # 50 proposals, two readers: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> kappa 0.4.
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    assert cohen_kappa(pairs) == pytest.approx(0.4)
    assert percent_agreement(pairs) == pytest.approx(0.7)


def test_fleiss_kappa_of_the_fleiss_1971_style_example():
    # The 10 subjects x 14 raters x 5 categories table (Wikipedia, "Fleiss' kappa"): kappa = 0.210.
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    ratings = [[str(category) for category, count in enumerate(row) for _ in range(count)] for row in table]
    assert fleiss_kappa(ratings) == pytest.approx(0.210, abs=0.0005)


def test_degenerate_inputs_have_no_statistic():
    assert cohen_kappa([("a", "a")]) is None
    assert percent_agreement([["a"], ["b"]]) is None
    assert cohen_kappa([("a", "a"), ("a", "a")]) == 1.0
    with pytest.raises(ValueError):
        fleiss_kappa([["a", "b"], ["a", "b", "c"]])
