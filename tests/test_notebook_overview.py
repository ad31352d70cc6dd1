"""Execute notebook 01 (overview) with papermill on the samples, with a k that suppresses small communities."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import REPO
from test_notebooks_health import rendered_text
from test_notebooks_language import assert_reads_as_report

NOTEBOOK = REPO / "notebooks" / "01_overview.ipynb"


def test_notebook_is_committed_clean_with_typed_parameters():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and nb.cells[1] is params[0]
    lines = params[0].source.splitlines()
    assert [line.split(":")[0] for line in lines] == ["data_dir", "as_of", "communities", "lang", "tz", "output_dir",
                                                      "k_min_group"]
    assert all("  # " in line and "=" not in line.split("  # ", 1)[1] for line in lines)
    assert "k_min_group: int = 5  #" in params[0].source
    for c in nb.cells:
        if c.cell_type == "code":
            assert not c.outputs and c.execution_count is None


@pytest.mark.notebook
def test_overview_suppresses_communities_and_counts_below_k(tmp_path: Path):
    import papermill as pm

    out = tmp_path / "01_overview.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(out), parameters={
        "output_dir": str(tmp_path), "lang": "en", "as_of": "2024-06-30T16:00:00Z", "k_min_group": 150,
        "communities": ["c02", "c08", "c10"]}, kernel_name="commlab", cwd=str(NOTEBOOK.parent), progress_bar=False)
    s = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    activity = {row["community_id"]: row for row in s["activity"]}
    assert s["k_min_group"] == 150 and s["suppressed_communities"] == ["c08"]
    # c08 (118 members): every value blank; c10 (245): shown, but counts below k (staff, 7-day actives) blank
    assert all(v is None for key, v in activity["c08"].items() if key != "community_id")
    assert activity["c10"]["members"] >= 150 and activity["c10"]["events"] > 0
    assert activity["c10"]["staff"] is None
    for row in activity.values():
        if row["active_30d"] is None:
            assert row["active_share_30d"] is None  # the share would give the count back
    shown = rendered_text(out)
    assert "<150" in shown and "group(s) with fewer than 150 members suppressed" in shown
    assert_reads_as_report(out, "en")  # one language, formatted numbers, figures readable with alt text
