"""Figures with a row or bar per community stay readable and bounded with many communities."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from commlab.plots import setup_fonts  # noqa: E402

setup_fonts()  # as a notebook does (importing commlab.plots changes no matplotlib setting)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from commlab.plots.health import (  # noqa: E402
    COLUMNS_MAX,
    MANY_COMMUNITIES,
    MAX_LENGTH,
    plot_economy_index,
    plot_high_value,
    plot_metric_heatmap,
)


def frames(rows: int, cols: int = 12) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(rows)
    values = pd.DataFrame(rng.random((rows, cols)), index=[f"社群{i}" for i in range(rows)],
                          columns=[f"m{j}" for j in range(cols)])
    values.iloc[0, 0] = np.nan  # a suppressed or undefined value: no label
    return values.rank(pct=True), values


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_few_communities_are_columns_with_their_values_in_the_cells(lang):
    norm, values = frames(COLUMNS_MAX)
    ax = plot_metric_heatmap(norm, values=values, lang=lang)
    assert len(ax.texts) == values.size - 1
    assert "\n" not in ax.get_title()
    # metrics are rows, named horizontally; communities are columns
    assert [t.get_text() for t in ax.get_xticklabels()] == list(values.index)
    assert len(ax.get_yticklabels()) == values.shape[1]
    assert all(t.get_rotation() == 0 for t in ax.get_yticklabels())
    plt.close(ax.figure)


@pytest.mark.parametrize(("rows", "lang", "says"), [(COLUMNS_MAX + 1, "en", "17 communities"),
                                                     (MANY_COMMUNITIES + 1, "en", "41 communities"),
                                                     (200, "zh", "200 个社群"), (1000, "en", "1000 communities")])
def test_many_communities_leave_the_values_out_and_keep_the_figure_bounded(rows, lang, says):
    norm, values = frames(rows)
    ax = plot_metric_heatmap(norm, values=values, lang=lang)
    assert len(ax.texts) == 0 and says in ax.get_title()
    height = ax.figure.get_size_inches()[1]
    assert height <= MAX_LENGTH and height < 0.45 * rows + 2
    named = len(ax.get_yticklabels())
    # every community is named while a 7-point label fits its row; beyond, every n-th and the title says so
    assert named == rows if rows <= 300 else (named < rows and ("every" in ax.get_title() or "每" in ax.get_title()))
    plt.close(ax.figure)
    # without values there is nothing to leave out, so the title says nothing of it
    ax = plot_metric_heatmap(norm, lang=lang)
    assert "communities:" not in ax.get_title() and "格中不标数值" not in ax.get_title()
    plt.close(ax.figure)


@pytest.mark.parametrize("rows", [MANY_COMMUNITIES, MANY_COMMUNITIES + 1, 200, 1000])
def test_economy_bars_and_high_value_bars_are_bounded(rows):
    rng = np.random.default_rng(rows)
    names = [f"社群{i}" for i in range(rows)]
    economy = pd.DataFrame({"economy_index": rng.random(rows), "economy": "fan"}, index=names)
    ax = plot_economy_index(economy, lang="zh")
    height = ax.figure.get_size_inches()[1]
    assert len(ax.patches) == rows and len(ax.get_yticklabels()) == rows
    assert height == pytest.approx(0.32 * rows + 1.9) if rows <= MANY_COMMUNITIES else height <= MAX_LENGTH
    plt.close(ax.figure)
    profile = pd.DataFrame(rng.random((rows, 3)), index=names,
                           columns=["vertical_focus", "problem_solving", "trust_ties"])
    ax = plot_high_value(profile, lang="en")
    height = ax.figure.get_size_inches()[1]
    assert len(ax.patches) == 3 * rows and len(ax.get_yticklabels()) == rows  # bars run sideways, names level
    assert height == pytest.approx(0.42 * rows + 1.6) if rows <= MANY_COMMUNITIES else height <= MAX_LENGTH
    plt.close(ax.figure)
