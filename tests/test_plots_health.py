"""Figures with a row or bar per community stay readable and bounded with many communities."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from commlab.plots.health import (  # noqa: E402
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
def test_few_communities_get_their_values_in_the_cells(lang):
    norm, values = frames(MANY_COMMUNITIES)
    ax = plot_metric_heatmap(norm, values=values, lang=lang)
    assert len(ax.texts) == values.size - 1
    assert "\n" not in ax.get_title()
    assert ax.figure.get_size_inches()[1] == pytest.approx(0.45 * MANY_COMMUNITIES + 2)
    plt.close(ax.figure)


@pytest.mark.parametrize(("rows", "lang", "says"), [(MANY_COMMUNITIES + 1, "en", "41 communities"),
                                                     (200, "zh", "200 个社群"), (1000, "en", "1000 communities")])
def test_many_communities_leave_the_values_out_and_keep_the_figure_bounded(rows, lang, says):
    norm, values = frames(rows)
    ax = plot_metric_heatmap(norm, values=values, lang=lang)
    assert len(ax.texts) == 0 and says in ax.get_title()
    height = ax.figure.get_size_inches()[1]
    assert height <= MAX_LENGTH and height < 0.45 * rows + 2
    assert len(ax.get_yticklabels()) == rows  # every community is still named
    plt.close(ax.figure)
    # without values there is nothing to leave out, so the title says nothing of it
    ax = plot_metric_heatmap(norm, lang=lang)
    assert "\n" not in ax.get_title()
    plt.close(ax.figure)


@pytest.mark.parametrize("rows", [MANY_COMMUNITIES, MANY_COMMUNITIES + 1, 200, 1000])
def test_economy_bars_and_high_value_bars_are_bounded(rows):
    rng = np.random.default_rng(rows)
    names = [f"社群{i}" for i in range(rows)]
    economy = pd.DataFrame({"economy_index": rng.random(rows), "economy": "fan"}, index=names)
    ax = plot_economy_index(economy, lang="zh")
    height = ax.figure.get_size_inches()[1]
    assert len(ax.patches) == rows and len(ax.get_yticklabels()) == rows
    assert height == pytest.approx(0.35 * rows + 1.5) if rows <= MANY_COMMUNITIES else height <= MAX_LENGTH
    plt.close(ax.figure)
    profile = pd.DataFrame(rng.random((rows, 3)), index=names,
                           columns=["vertical_focus", "problem_solving", "trust_ties"])
    ax = plot_high_value(profile, lang="en")
    width = ax.figure.get_size_inches()[0]
    assert len(ax.patches) == 3 * rows and len(ax.get_xticklabels()) == rows
    assert width == pytest.approx(0.6 * rows + 2) if rows <= MANY_COMMUNITIES else width <= MAX_LENGTH
    plt.close(ax.figure)
