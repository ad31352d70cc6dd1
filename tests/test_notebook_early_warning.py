"""Execute the early-warning notebook (06) with papermill on a small planted-fates data set."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from commlab.data.generate_fates import write_fates
from commlab.rules import default_rules
from conftest import REPO
from language import foreign, visible_text

pytestmark = pytest.mark.notebook
HOSTILE = "<script>alert(1)</script>群"


def _outputs(nb) -> tuple[str, int]:
    """The visible text of the cells a report shows, and the number of figures."""
    parts, figures = [], 0
    for cell in nb.cells:
        if cell.cell_type != "code" or {"remove", "parameters"} & set(cell.metadata.get("tags", [])):
            continue
        for out in cell.outputs:
            data = out.get("data", {})
            figures += "image/png" in data
            if "text/html" in data:
                parts.append(data["text/html"])
            elif "text/markdown" in data:
                parts.append(data["text/markdown"])
            else:
                parts.append(out.get("text", ""))
    return "\n".join(parts), figures


def test_early_warning_ranks_the_young_communities_with_their_plays(tmp_path: Path) -> None:
    import nbformat
    import papermill as pm

    data = tmp_path / "fates"
    write_fates(data, n_communities=60, young=6, members=(5, 9), seed=21)
    communities = pd.read_csv(data / "communities.csv", dtype=str)
    young = pd.read_csv(data / "truth" / "fates.csv", dtype=str).query("cohort == 'young'")["community_id"].tolist()
    communities.loc[communities["community_id"] == young[0], "name"] = HOSTILE
    communities.to_csv(data / "communities.csv", index=False)
    as_of = json.loads((data / "truth" / "assumptions.json").read_text(encoding="utf-8"))["as_of"]
    out = tmp_path / "06.ipynb"
    pm.execute_notebook(str(REPO / "notebooks" / "06_early_warning.ipynb"), str(out), kernel_name="commlab",
                        cwd=str(REPO / "notebooks"), progress_bar=False,
                        parameters={"data_dir": str(data), "as_of": as_of, "lang": "en", "tz": "UTC",
                                    "output_dir": str(tmp_path), "horizons": [1, 2], "max_periods": 4,
                                    "n_repeats": 2, "n_boot": 200})
    s = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert [h["horizon"] for h in s["evaluation"]["horizons"]] == [1, 2]
    assert s["evaluation"]["horizons"][0]["n"] == 60 and s["horizon"] == 2
    assert {r["community_id"] for r in s["ranking"]} == set(young)  # today's young communities, nothing else
    rules = {r.id for r in default_rules()}
    shown = [r for r in s["ranking"] if not r.get("suppressed")]
    assert shown and all(0 <= r["p_die"] <= 1 and r["basis"] == "forecast" for r in shown)
    assert all(set(r["plays"]) <= rules for r in shown) and any(r["plays"] for r in shown)
    for r in s["ranking"]:
        if r["community_id"] in s["suppressed_communities"]:
            assert set(r) == {"community_id", "rank", "suppressed"}  # no value of a community under k members

    nb = nbformat.read(out, as_version=4)
    html, figures = _outputs(nb)
    assert figures == 2  # AUC by horizon, calibration
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    text = visible_text(html)
    assert "communities scored (died)" in text and "what drives it" in text and "recommended play" in text
    names = communities["name"].tolist() + communities["community_id"].tolist()
    practices = [r.practice for r in default_rules()]  # the practice quotes DOMAIN.md's Chinese terms
    assert foreign(text, "en", names=names + practices) == []
