"""Small groups are suppressed in shared figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from commlab.plots import setup_fonts  # noqa: E402

setup_fonts()  # as a notebook does (importing commlab.plots changes no matplotlib setting)

import pandas as pd  # noqa: E402

from commlab.plots.segments import plot_crosstab  # noqa: E402


def test_crosstab_cells_below_k_are_blank_and_labelled():
    table = pd.DataFrame({"s1": [120, 3], "s2": [0, 40]}, index=["core", "lurker"])
    ax = plot_crosstab(table, k=5)
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == sorted(["120", "<5", "0", "40"])
    assert "3" not in texts
    mesh = ax.collections[0].get_array()
    assert mesh.mask.sum() == 1  # only the suppressed cell is masked
    ax_all = plot_crosstab(table, k=0)
    assert "3" in [t.get_text() for t in ax_all.texts]


def test_segment_sizes_and_profiles_hide_small_segments():
    from commlab.plots.segments import plot_profile_heatmap, plot_segment_sizes

    profile = pd.DataFrame({"size": [400, 3], "share": [0.99, 0.01], "z_ugc": [0.5, 2.5]}, index=[0, 1])
    ax = plot_segment_sizes(profile, k=5)
    assert [t.get_text().strip() for t in ax.texts] == ["400 (99%)", "<5"]
    assert [p.get_width() for p in ax.patches] == [400, 0]
    ax = plot_profile_heatmap(profile, k=5)
    texts = [t.get_text() for t in ax.texts]
    assert "<5" in texts and "2.5" not in texts and "0.5" in texts


def test_transition_cells_and_rows_below_k_are_blank():
    from commlab.plots.segments import plot_transition_heatmap

    matrix = pd.DataFrame({"core": [50, 2, 1], "zombie": [3, 20, 2]}, index=["core", "zombie", "joined"])
    ax = plot_transition_heatmap(matrix, k=5)
    texts = [t.get_text() for t in ax.texts]
    # core→zombie (3), zombie→core (2) and both cells of the "joined" row are below k
    assert texts.count("<5") == 4
    assert "94%" in texts and "91%" in texts  # 50/53 and 20/22 stay
    ax_all = plot_transition_heatmap(matrix)
    assert "<5" not in [t.get_text() for t in ax_all.texts]
