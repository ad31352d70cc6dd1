"""Errors that reach a user from the importers, forecast, plots, goals and the CSV readers are CommlabErrors
that say what is wrong, where, and how to fix it (issue 23: the last bare ValueError/KeyError raises)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from commlab.errors import CommlabError, InvalidArgument, MalformedFile, NotFound  # noqa: E402


def test_a_cut_short_outcomes_file_names_the_file_the_row_and_the_fix(tmp_path):
    from commlab.forecast.outcomes import read_outcomes

    path = tmp_path / "outcomes.csv"
    path.write_text("community_id,outcome,note\nc1,died,x\nc2,surv", encoding="utf-8")
    with pytest.raises(MalformedFile) as info:
        read_outcomes(path)
    exc = info.value
    assert exc.file == str(path) and exc.row == 3 and exc.exit_code == 3 and isinstance(exc, ValueError)
    assert str(path) in str(exc) and "2 of the header's 3 fields" in str(exc) and "fix: " in str(exc)


def test_a_row_with_too_many_fields_is_named(tmp_path):
    from commlab.data.io import read_raw_table

    path = tmp_path / "members.csv"
    path.write_text("member_id,role\nm1,owner\nm2,member,extra\n", encoding="utf-8")
    with pytest.raises(MalformedFile, match=r"members.csv: not a readable CSV file \(.*line 3.*\); fix: quote") as info:
        read_raw_table(path)
    assert info.value.row == 3


def test_the_forecast_refuses_bad_arguments_with_commlab_errors():
    from commlab.forecast.features import horizon_features
    from commlab.forecast.model import CommunityForecaster

    panel = pd.DataFrame({"community_id": ["a", "a", "b", "b"], "period": [1, 2, 1, 2],
                          "members": [10.0, 12.0, 5.0, 4.0]})
    with pytest.raises(InvalidArgument, match="horizon must be a whole number from 1"):
        horizon_features(panel, 0)
    with pytest.raises(InvalidArgument, match="not in the panel: nope; the panel has: members"):
        horizon_features(panel, 1, metrics=["nope"])
    with pytest.raises(InvalidArgument, match="one class only"):
        CommunityForecaster(horizon=1).fit(panel, pd.Series([1, 1], index=["a", "b"]))
    with pytest.raises(InvalidArgument, match="calibration must be one of"):
        CommunityForecaster(horizon=1, calibration="magic").fit(panel, pd.Series([0, 1], index=["a", "b"]))


def test_an_unknown_goal_is_not_found_naming_the_goals():
    from commlab.data.schema import GOAL
    from commlab.goals import scorecard_metrics

    with pytest.raises(NotFound) as info:
        scorecard_metrics("world_domination")
    assert isinstance(info.value, KeyError) and "unknown goal 'world_domination'; known: " in str(info.value)
    assert all(code in str(info.value) for code in GOAL.codes)


def test_a_report_figure_without_alt_text_is_refused():
    from commlab.plots.show import show

    fig, ax = plt.subplots()
    ax.plot(np.arange(3))
    try:
        with pytest.raises(InvalidArgument, match="needs alt text"):
            show(fig, alt=" ")
    finally:
        plt.close(fig)


def test_a_format_name_that_is_not_a_word_is_refused():
    from commlab.importers import register

    with pytest.raises(CommlabError, match="format names are letters, digits and '_'"):
        register("bad name!", lambda *a, **k: None)
