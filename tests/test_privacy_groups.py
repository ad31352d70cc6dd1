"""Small-group suppression of report tables (``commlab.privacy.suppress_table`` and friends)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from commlab.analysis.metrics import get_metric
from commlab.errors import ParameterError
from commlab.privacy import (
    MEMBER_COUNT_METRICS,
    MEMBER_SHARE_METRICS,
    SUPPRESSED,
    format_count,
    small_groups,
    suppress_count,
    suppress_metrics,
    suppress_small_groups,
    suppress_table,
    suppression_note,
    without_small_groups,
)


@pytest.fixture
def activity() -> pd.DataFrame:
    return pd.DataFrame({
        "name": ["big", "tiny", "empty", "few active"],
        "members": [200, 3, 0, 50],
        "active_30d": [120, 3, 0, 2],
        "active_share_30d": [0.6, 1.0, np.nan, 0.04],
        "events": [9000, 40, 0, 300],
        "label": ["mesh", "fan", "", "mixed"],
    }, index=pd.Index(["c1", "c2", "c3", "c4"], name="community_id"))


def test_rows_and_cells_below_k_are_shown_as_suppressed(activity: pd.DataFrame) -> None:
    shown, n = suppress_table(activity, 5, size="members", counts=["active_30d"],
                              linked={"active_30d": ["active_share_30d"]}, derived=["label"])
    assert n == 2  # the tiny community, and the 2 active members of c4
    assert shown.loc["c2"].tolist() == ["tiny", "<5", "<5", SUPPRESSED, SUPPRESSED, SUPPRESSED]
    assert shown.loc["c4", "active_30d"] == "<5" and shown.loc["c4", "active_share_30d"] == SUPPRESSED
    assert shown.loc["c4", "members"] == 50 and shown.loc["c4", "events"] == 300 and shown.loc["c4", "label"] == "mixed"
    # an empty group singles out nobody; a big one is untouched
    assert shown.loc["c3", "members"] == 0 and shown.loc["c1"].tolist() == activity.loc["c1"].tolist()
    # the input is not modified
    assert activity.loc["c2", "members"] == 3


def test_numeric_mode_blanks_values_and_keeps_numbers(activity: pd.DataFrame) -> None:
    out, n = suppress_table(activity, 5, size="members", counts=["active_30d"],
                            linked={"active_30d": ["active_share_30d"]}, derived=["label"], numeric=True)
    assert n == 2
    assert out.loc["c2", ["members", "active_30d", "events"]].isna().all() and out.loc["c2", "label"] is None
    assert np.isnan(out.loc["c4", "active_share_30d"]) and out.loc["c4", "members"] == 50
    assert out["members"].dtype == "float64" and out.loc["c1", "events"] == 9000
    same = suppress_small_groups(activity, "members", 5, counts=["active_30d"],
                                 linked={"active_30d": ["active_share_30d"]})
    assert same["active_share_30d"].isna().tolist() == [False, True, True, True]


def test_k_below_the_floor_is_refused_and_k_is_configurable(activity: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="at least 2"):  # k = 1 would switch suppression off
        suppress_table(activity, 1, size="members")
    _, n60 = suppress_table(activity, 60, size="members")
    assert n60 == 2 and small_groups(activity["members"], 60) == ["c2", "c4"]


def test_crosstab_cells_and_label_columns() -> None:
    cross = pd.DataFrame({"s1": [120, 3], "s2": [0, 40]}, index=["core", "lurker"])
    shown, n = suppress_table(cross, 5, counts=cross.columns)
    assert n == 1 and shown.loc["lurker", "s1"] == "<5" and shown.loc["core", "s2"] == 0
    segments = pd.DataFrame({"segment": [0, 1], "name_en": ["core", "lurker"], "rule": ["a", "b"],
                             "size": [400, 2], "share": [0.995, 0.005]})
    shown, n = suppress_table(segments, 5, size="size", derived=["rule"], keep=["segment"])
    assert n == 1 and shown.loc[1].tolist() == [1, "lurker", SUPPRESSED, "<5", SUPPRESSED]


def test_a_share_standing_for_few_members_is_hidden() -> None:
    table = pd.DataFrame({"members": [100, 100, 3], "core_share": [0.02, 0.3, 0.5], "kcore_size": [4, 12, 2],
                          "response_rate": [0.9, 0.8, 0.7]}, index=["a", "b", "c"])
    shown, n = suppress_metrics(table, 5)
    assert shown.loc["a", "core_share"] == SUPPRESSED and shown.loc["a", "kcore_size"] == "<5"
    assert shown.loc["a", "response_rate"] == 0.9 and shown.loc["b"].tolist() == [100, 0.3, 12, 0.8]
    assert shown.loc["c"].tolist() == ["<5", SUPPRESSED, "<5", SUPPRESSED]
    assert n == 3


def test_the_member_metrics_named_for_suppression_are_registered() -> None:
    for metric_id in (*MEMBER_SHARE_METRICS, *MEMBER_COUNT_METRICS):
        metric = get_metric(metric_id)
        assert metric.unit == ("count" if metric_id in MEMBER_COUNT_METRICS else "share"), metric_id


def test_counts_in_text_notes_and_figures() -> None:
    assert format_count(3, 5) == "<5" and format_count(0, 5) == "0" and format_count(1234, 5) == "1,234"
    assert suppress_count(3, 5) is None and suppress_count(7, 5) == 7 and suppress_count(0, 5) == 0
    assert suppression_note(0, 5, "en") == ""
    assert "2" in suppression_note(2, 5, "en") and "<5" in suppression_note(2, 5, "en")
    assert "少于 5 人" in suppression_note(1, 5, "zh") and "left out" in suppression_note(1, 5, "en", left_out=True)
    daily = pd.DataFrame({"community_id": ["c1", "c2", "c1"], "active_members": [4, 1, 6]})
    kept = without_small_groups(daily, pd.Series({"c1": 200, "c2": 3}), 5, on="community_id")
    assert kept["community_id"].tolist() == ["c1", "c1"]
    counts = suppress_small_groups(pd.Series({"core": 310, "staff": 3}), k=5)
    assert counts.isna().tolist() == [False, True]


def test_a_value_computed_over_few_members_is_hidden() -> None:
    table = pd.DataFrame({"members": [100, 100, 3], "retention_30d": [0.5, 0.25, 1.0],
                          "response_rate": [0.9, 0.8, 0.7], "gini_content": [0.4, 0.5, 0.6]}, index=["a", "b", "c"])
    n = pd.DataFrame({"retention_30d": [2, 40, 1], "response_rate": [30, 0, 2],
                      "gini_content": [float("nan")] * 3}, index=["a", "b", "c"])
    shown, hidden = suppress_metrics(table, 5, n=n)
    assert shown.loc["a"].tolist() == [100, SUPPRESSED, 0.9, 0.4]  # a cohort of 2 joiners
    assert shown.loc["b"].tolist() == [100, 0.25, 0.8, 0.5]  # n = 0 singles out nobody; NaN n = not applicable
    assert shown.loc["c"].tolist() == ["<5", SUPPRESSED, SUPPRESSED, SUPPRESSED]
    assert hidden == 2  # community c and a's cohort
    safe, _ = suppress_metrics(table, 5, n=n, numeric=True)
    assert pd.isna(safe.loc["a", "retention_30d"]) and safe.loc["a", "response_rate"] == 0.9
    assert suppress_metrics(table, 5)[0].loc["a", "retention_30d"] == 0.5  # without n nothing is known
    # a long table (community ids in a column, as the type comparison uses) is aligned by id
    long = table.reset_index(names="community_id").iloc[::-1].reset_index(drop=True)
    out, _ = suppress_metrics(long, 5, n=n, numeric=True)
    assert out.set_index("community_id")["retention_30d"].isna().to_dict() == {"c": True, "b": False, "a": True}
