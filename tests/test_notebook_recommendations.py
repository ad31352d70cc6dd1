"""Execute the executive summary (05) with papermill: values standing for fewer than k members are hidden."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO, SAMPLES

NOTEBOOKS = REPO / "notebooks"
AS_OF = "2024-07-01"
pytestmark = pytest.mark.notebook


def test_member_shares_and_small_groups_are_hidden_in_the_executive_summary(tmp_path: Path) -> None:
    import papermill as pm

    from commlab.data import load_dataset

    # c11 (150+ members) had 4 buyers in the 30 days before as_of: its buyer share (4 / 154) stands for
    # fewer than 5 people, and so does its repeat purchase rate (computed over those 4 buyers)
    ds = load_dataset(SAMPLES, tz="Asia/Shanghai")
    end = pd.Timestamp(AS_OF, tz="UTC")
    staff = ds.members.loc[ds.members["role"].isin(["owner", "staff", "bot"]), "member_id"]
    e = ds.events
    buys = e[(e["community_id"] == "c11") & (e["event_type"] == "purchase") & (e["ts"] > end - pd.Timedelta(days=30))
             & (e["ts"] <= end) & ~e["member_id"].isin(staff)]
    assert buys["member_id"].nunique() == 4

    out = tmp_path / "05.ipynb"
    pm.execute_notebook(str(NOTEBOOKS / "05_recommendations.ipynb"), str(out), kernel_name="commlab",
                        cwd=str(NOTEBOOKS), progress_bar=False,
                        parameters={"output_dir": str(tmp_path), "as_of": AS_OF, "lang": "en",
                                    "communities": ["c06", "c10", "c11"]})
    s = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert s["k_min_group"] == 5 and s["suppressed_communities"] == []
    facts = pd.DataFrame(s["facts"]).set_index(["community_id", "metric_id"])["value"]
    assert facts[("c11", "members")] >= 150
    for hidden in ("buyer_share", "repeat_purchase_rate", "content_share_top1"):
        assert pd.isna(facts[("c11", hidden)]), hidden
    assert facts[("c10", "buyer_share")] > 0  # 13 buyers of 245: shown
    assert pd.isna(facts[("c06", "recently_inactive_top_members")])  # one quiet top member: a count below 5
    # recommendations fired from those values keep their title but not the value
    recs = {(r["community_id"], r["rule_id"]): r for r in s["recommendations"]}
    quiet = recs[("c06", "recently_inactive_top_members")]
    assert quiet["evidence_text"] == "top members gone quiet = <5"
    assert quiet["evidence"] == [{"metric": "recently_inactive_top_members", "op": ">=", "suppressed": True}]
    shares = [ev for r in recs.values() if r["community_id"] == "c11" for ev in r["evidence"]
              if ev.get("metric") in ("buyer_share", "repeat_purchase_rate")]
    assert shares and all(ev.get("suppressed") and "value" not in ev for ev in shares)
    # the rendered scorecard says what it hid
    import nbformat

    nb = nbformat.read(out, as_version=4)
    html = "\n".join(o["data"].get("text/html", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                     if o.get("output_type") == "display_data")
    assert "value(s) standing for fewer than 5 members shown as —" in html
