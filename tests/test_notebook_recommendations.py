"""Execute the executive summary (05) with papermill: every recommendation, in one language, small groups hidden."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO, SAMPLES
from language import foreign, visible_text

NOTEBOOKS = REPO / "notebooks"
AS_OF = "2024-07-01"
pytestmark = pytest.mark.notebook


def _visible_outputs(nb) -> str:
    """What a reader of the executed notebook (and of the report) sees: the outputs of the cells not removed."""
    parts = []
    for cell in nb.cells:
        if cell.cell_type != "code" or {"remove", "parameters"} & set(cell.metadata.get("tags", [])):
            continue
        for out in cell.outputs:
            data = out.get("data", {})
            if "text/html" in data:
                parts.append(visible_text(data["text/html"]))
            elif "text/markdown" in data:
                parts.append(data["text/markdown"].replace("**", ""))
            else:
                parts.append(data.get("text/plain", "") or out.get("text", ""))
    return "\n".join(parts)


def test_executive_summary_shows_every_recommendation_in_one_language_and_hides_small_groups(tmp_path: Path) -> None:
    import nbformat
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
                        parameters={"output_dir": str(tmp_path), "as_of": AS_OF, "lang": "zh",
                                    "communities": ["c04", "c06", "c10", "c11"]})
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
    assert quiet["evidence_text"] == "近期沉默的头部成员数少于 5 人"
    assert quiet["evidence"] == [{"metric": "recently_inactive_top_members", "op": ">=", "threshold": 1.0,
                                  "suppressed": True}]
    shares = [ev for r in recs.values() if r["community_id"] == "c11" for ev in r["evidence"]
              if ev.get("metric") in ("buyer_share", "repeat_purchase_rate")]
    assert shares and all(ev.get("suppressed") and "value" not in ev for ev in shares)
    # the rules that did not apply are listed once each, with the reason: no previous run, no course in c06
    na = {(e["rule_id"], e["reason"]): e["community_ids"] for e in s["not_applicable"]}
    assert na[("activity_dropped_since_last_run", "没有可比较的上次运行")] == ["c04", "c06", "c10", "c11"]
    assert na[("low_completion", "只适用于知识型/学习型社群")] == ["c06", "c10", "c11"]

    nb = nbformat.read(out, as_version=4)
    text = _visible_outputs(nb)
    names = {"c04": "Python数据分析学习营", "c06": "跨境电商从业者交流会", "c10": "独立开发者俱乐部",
             "c11": "城市骑行同好群"}
    # every recommendation is shown: its community, title, evidence in plain words and rule threshold
    assert len(s["recommendations"]) >= 10
    for r in s["recommendations"]:
        for field in ("title", "evidence_text", "threshold_text"):
            assert r[field] in text, (r["community_id"], r["rule_id"], field)
    for entry in s["not_applicable"]:
        assert entry["reason"] in text
    # one language: no English word but the names of the communities (a product name here) and UTC
    assert foreign(text, "zh", names=list(names) + list(names.values())) == []
    assert "Python" in text  # the community name c04 is shown as it is
    # no file names, object reprs, metric ids or numbers in scientific notation
    assert "summary.json" not in text and ".json" not in text and ".ipynb" not in text
    assert not re.search(r"[a-z]+_[a-z_]+|object at 0x|\d[eE][+-]?\d", text), text
    # the rendered scorecard says what it hid
    assert "个数值代表的成员少于 5 人，记作 —" in text
