"""The statistics of the hypothesis tests: scipy's Wilcoxon signed-rank test against a threshold (two-sided
where the claim is), and the Benjamini-Hochberg adjustment across the hypotheses of one run."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from commlab.analysis.hypotheses import Hypothesis, adjust_p_values, test_hypotheses

VALUES = [1.0, 2, 3, 4, 5, 6, 7, 8]


def _table(values=VALUES) -> pd.DataFrame:
    return pd.DataFrame({"community_id": [f"c{i}" for i in range(len(values))], "theme": ["x"] * len(values),
                         "members": values})


def _threshold(direction: str, threshold: float) -> Hypothesis:
    return Hypothesis(f"t_{direction}", "", f"members vs {threshold}", "members", "theme", (), kind="threshold",
                      threshold=threshold, direction=direction)


@pytest.mark.parametrize("direction", ["greater", "less", "two-sided"])
def test_threshold_test_is_scipys_wilcoxon_in_the_claimed_direction(direction):
    row = test_hypotheses(_table(), hypotheses=[_threshold(direction, 3.5)]).iloc[0]
    d = np.array(VALUES) - 3.5
    assert row["p_value"] == pytest.approx(stats.wilcoxon(d, alternative=direction).pvalue)
    assert row["statistic"] == pytest.approx(25.5)  # the positive ranks 1.5 + 3.5 + 5.5 + 7 + 8, whatever the side
    assert row["test"] == "Wilcoxon signed-rank vs threshold"
    assert row["min_p"] == pytest.approx(0.5 ** 8 * (2 if direction == "two-sided" else 1))


def test_a_two_sided_threshold_claim_is_tested_two_sided_not_as_less():
    """All eight values lie far above the threshold: 'the metric differs from 0' must be supported (it was run
    as a one-sided 'less' test before, p = 1)."""
    row = test_hypotheses(_table(), hypotheses=[_threshold("two-sided", 0.0)]).iloc[0]
    assert row["p_value"] == pytest.approx(2 * 0.5 ** 8)  # exact: every difference positive, doubled
    assert row["supported"] and row["effect"] > 0
    below = test_hypotheses(_table([-v for v in VALUES]), hypotheses=[_threshold("two-sided", 0.0)]).iloc[0]
    assert below["p_value"] == pytest.approx(2 * 0.5 ** 8) and below["supported"]


def test_zero_differences_are_dropped():
    row = test_hypotheses(_table([3.5, 3.5, *VALUES]), hypotheses=[_threshold("greater", 3.5)]).iloc[0]
    assert row["p_value"] == pytest.approx(stats.wilcoxon(np.array(VALUES) - 3.5, alternative="greater").pvalue)


def test_benjamini_hochberg_by_hand():
    p = [0.01, 0.04, 0.03, 0.20]
    # sorted 0.01, 0.03, 0.04, 0.20 -> ×4/1, ×4/2, ×4/3, ×4/4 = 0.04, 0.06, 0.0533, 0.20; then the running
    # minimum from the largest: 0.04, 0.0533, 0.0533, 0.20
    got = adjust_p_values(p)
    assert got == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.20])
    nan = adjust_p_values([0.01, math.nan, 0.04])  # a hypothesis not tested is not in the family
    assert nan[0] == pytest.approx(0.02) and math.isnan(nan[1]) and nan[2] == pytest.approx(0.04)
    assert adjust_p_values([]).size == 0 and math.isnan(adjust_p_values([math.nan])[0])


def test_a_run_adjusts_its_hypotheses_together_and_judges_on_the_adjusted_p():
    table = pd.DataFrame({"community_id": list("abcdefgh"), "theme": list("xxxxxyyy"),
                          "members": [1.0, 2, 3, 4, 5, 6, 7, 8], "size": [8.0, 7, 6, 5, 4, 3, 2, 1]})
    big = Hypothesis("big_y", "", "y bigger", "members", "theme", ("y",))
    small = Hypothesis("small_y", "", "y smaller", "members", "theme", ("y",), direction="less")
    untested = Hypothesis("none", "", "no such group", "members", "theme", ("z",))
    alone = test_hypotheses(table, hypotheses=[big]).iloc[0]
    both = test_hypotheses(table, hypotheses=[big, small, untested]).set_index("hypothesis_id")
    assert alone["supported"] and alone["p_adjusted"] == pytest.approx(1 / 56)
    assert both.loc["big_y", "p_value"] == pytest.approx(1 / 56)
    assert both.loc["big_y", "p_adjusted"] == pytest.approx(2 / 56)  # a family of two: "none" was not tested
    assert both.loc["big_y", "supported"] and not both.loc["small_y", "supported"]
    assert math.isnan(both.loc["none", "p_adjusted"]) and both.loc["none", "note"] == "no data"
    assert "校正后" in both.loc["big_y", "sentence_zh"]
