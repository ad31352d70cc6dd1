"""Small groups are suppressed in shared figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

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
