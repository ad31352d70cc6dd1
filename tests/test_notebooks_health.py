"""Execute the health (03) and type-comparison (04) notebooks with papermill, on the samples and on Stack Exchange."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import REPO, SAMPLES, require_shared_data
from health_data import SAMPLES_AS_OF
from test_notebooks_language import assert_reads_as_report

NOTEBOOKS = REPO / "notebooks"
pytestmark = pytest.mark.notebook


def run(name: str, tmp_path: Path, **params) -> dict:
    import papermill as pm

    out = tmp_path / name
    pm.execute_notebook(str(NOTEBOOKS / name), str(out), parameters={"output_dir": str(tmp_path), **params},
                        kernel_name="commlab", cwd=str(NOTEBOOKS), progress_bar=False)
    return json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))


def no_member_ids(tmp_path: Path, ids: set[str]) -> None:
    text = (tmp_path / "summary.json").read_text(encoding="utf-8")
    tokens = set(re.findall(r'"([^"]+)"', text))
    leaked = tokens & ids
    assert not leaked, f"member ids in summary.json: {sorted(leaked)[:5]}"


def rendered_text(notebook: Path) -> str:
    """The text/html and text/markdown outputs of an executed notebook, HTML entities undone."""
    import html

    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    parts = [o["data"].get(mime, "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
             if o.get("output_type") in ("display_data", "execute_result") for mime in ("text/html", "text/markdown")]
    return html.unescape("\n".join(parts))


def test_notebooks_are_committed_clean_with_the_parameters():
    import nbformat

    for name in ("03_community_health.ipynb", "04_compare_types.ipynb"):
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        assert nb.metadata["kernelspec"]["name"] == "commlab"
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
        params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1 and nb.cells[1] is params[0]
        names = [line.split(":")[0] for line in params[0].source.splitlines()]
        mixed = ["mixed"] if name.startswith("04") else []  # how the type comparison counts mixed communities
        assert names == ["data_dir", "source", "as_of", "communities", "window", "type_axis", *mixed, "lang", "tz",
                         "output_dir", "seed", "k_min_group", "engine", "engine_options"]
        assert all("  # " in line for line in params[0].source.splitlines())
        for c in nb.cells:
            if c.cell_type == "code":
                assert not c.outputs and c.execution_count is None


def test_health_notebook_on_samples(tmp_path):
    import pandas as pd

    # the small communities keep this test quick; 04 below runs on all eleven. A high k stands in for
    # a client's tiny groups: c08 and c09 (under 150 members at as_of) fall below it; c05, c10, c11 (154+) do not.
    picked = ["c05", "c08", "c09", "c10", "c11"]
    s = run("03_community_health.ipynb", tmp_path, as_of=SAMPLES_AS_OF, window="none", lang="en", communities=picked,
            k_min_group=150, engine="duckdb", engine_options={"memory_limit": "1GB", "threads": 1})
    table = pd.DataFrame(s["metric_table"]).set_index("community_id")
    assert sorted(table.index) == picked
    assert s["k_min_group"] == 150 and s["suppressed_communities"] == ["c08", "c09"]
    assert table.loc[["c08", "c09"]].drop(columns="period", errors="ignore").isna().all().all()
    assert table.loc[["c05", "c10", "c11"], "members"].ge(150).all()
    econ = pd.DataFrame(s["economy"]).set_index("community_id")
    assert econ.loc["c05", "economy_measured"] == "fan" and econ.loc["c10", "economy_measured"] == "community"
    assert econ.loc["c08", ["economy_index", "economy_measured"]].isna().all()
    # the rendered tables show the suppression and say so
    shown = rendered_text(tmp_path / "03_community_health.ipynb")
    assert "<150" in shown and "group(s) with fewer than 150 members suppressed" in shown
    assert_reads_as_report(tmp_path / "03_community_health.ipynb", "en")
    assert "synthetic" in s["attribution"]
    members = pd.read_csv(SAMPLES / "members.csv", dtype=str)
    no_member_ids(tmp_path, set(members["member_id"]) | set(members["display_name"].dropna()))


def test_compare_notebook_on_samples(tmp_path):
    # mixed="each": the three mixed samples (c06 industry;knowledge, c08 knowledge;interest, c12 brand;product)
    # count in each of their types' groups; the default ("primary") is what the demo runs
    s = run("04_compare_types.ipynb", tmp_path, as_of=SAMPLES_AS_OF, lang="zh", mixed="each")
    got = {h["hypothesis_id"]: h for h in s["hypotheses"]}
    for hid in ("knowledge_completion", "fan_economy_hub", "industry_ties", "consumption_buyers", "startup_small",
                "early_death", "event_lift"):
        assert got[hid]["p_value"] < 0.05, hid  # found; supported only if still so after the adjustment:
        assert got[hid]["supported"] == (got[hid]["p_adjusted"] < 0.05), hid
    assert got["knowledge_completion"]["supported"] and got["fan_economy_hub"]["supported"]
    assert not got["platform_activity"]["supported"] and not got["monetization_interaction"]["supported"]
    # planted both ways (c12 is a peer-driven brand community): open questions, not findings
    assert not got["brand_product_hub"]["supported"] and not got["interest_peer"]["supported"]
    assert all(h["sentence_zh"] and h["sentence_en"] for h in s["hypotheses"])
    # generated data: demonstrations, never "数据支持"
    assert all(h["sentence_zh"].startswith(("合成数据演示", "无法判断")) for h in s["hypotheses"])
    assert {g["group"] for g in s["groups"]} == {"brand", "consumption", "industry", "interest", "knowledge", "product"}
    assert s["mixed"] == "each" and {g["mixed"] for g in s["groups"]} == {"each"}
    n = {g["group"]: g["n"] for g in s["groups"] if g["metric_id"] == "members"}
    assert n == {"brand": 2, "consumption": 1, "industry": 2, "interest": 5, "knowledge": 3, "product": 2}
    shown = rendered_text(tmp_path / "04_compare_types.ipynb")
    assert "有多个类型的社群（主题类型）：3 个，计入其每个类型的组" in shown
    assert_reads_as_report(tmp_path / "04_compare_types.ipynb", "zh")  # all twelve communities, in Chinese


@pytest.mark.shared_data
def test_both_notebooks_on_stack_exchange(tmp_path):
    root = require_shared_data("se_communities_180d")
    common = {"data_dir": str(root), "source": "se_180d", "as_of": "created+180d", "tz": "UTC", "lang": "en"}
    s3 = run("03_community_health.ipynb", tmp_path, window="none", **common)
    assert len(s3["metric_table"]) == 12
    assert s3["attribution"].startswith("Data: Stack Exchange (content by its users, CC BY-SA); sites: ")
    assert "Physics Stack Exchange" in s3["attribution"]
    s4 = run("04_compare_types.ipynb", tmp_path, type_axis="theme", **common)
    assert {r["community_id"] for r in s4["metric_table"]} == {
        "literature", "astronomy", "mathematica", "economics", "math", "physics", "startups",
        "122013-answers-onstartups", "052012-literature", "052012astronomy", "052012economics",
        "052012-theoretical-physics"}
    assert len(s4["hypotheses"]) >= 12 and s4["attribution"] == s3["attribution"]
    for name in ("03_community_health.ipynb", "04_compare_types.ipynb"):  # real sites' names, in English
        assert_reads_as_report(tmp_path / name, "en")


def test_health_notebook_hides_the_retention_of_a_small_join_cohort(tmp_path):
    """c02 (150+ members) had only 4 newcomers in the cohort behind retention_30d: with k = 5 that rate is hidden."""
    import pandas as pd

    from commlab.data import load_dataset

    # the cohort, counted from the members table: non-staff members who joined in (as_of − 60 d, as_of − 30 d]
    end = pd.Timestamp(SAMPLES_AS_OF).tz_convert("UTC")
    m = load_dataset(SAMPLES, tz="Asia/Shanghai").members
    joined = m["joined_at"]
    cohort = m[(joined > end - pd.Timedelta(days=60)) & (joined <= end - pd.Timedelta(days=30))
               & ~m["role"].isin(["owner", "staff", "bot"])].groupby("community_id").size()
    assert cohort["c02"] == 4 and cohort["c08"] >= 5

    s = run("03_community_health.ipynb", tmp_path, as_of=SAMPLES_AS_OF, window="none", lang="en",
            communities=["c02", "c08"])
    assert s["k_min_group"] == 5 and s["suppressed_communities"] == []
    table = pd.DataFrame(s["metric_table"]).set_index("community_id")
    assert table.loc["c02", "members"] >= 150
    assert pd.isna(table.loc["c02", "retention_30d"])  # 4 newcomers
    assert table.loc["c08", "retention_30d"] >= 0 and table.loc["c02", "retention_60d"] >= 0  # 5+ newcomers each
    assert table[["content_share_top1"]].isna().all().all()  # the top 1 % of < 400 members is < 5 people
    assert table.loc["c02", "response_rate"] >= 0
    shown = rendered_text(tmp_path / "03_community_health.ipynb")
    assert "group(s) with fewer than 5 members suppressed" in shown


def test_health_notebook_when_every_group_is_below_k(tmp_path):
    """Every community and every cohort suppressed: the network and cohort figures give way to a note."""
    import pandas as pd

    s = run("03_community_health.ipynb", tmp_path, as_of=SAMPLES_AS_OF, window="none", lang="en",
            communities=["c08", "c09"], k_min_group=100_000)
    assert s["suppressed_communities"] == ["c08", "c09"]
    table = pd.DataFrame(s["metric_table"]).set_index("community_id")
    assert table.drop(columns="period", errors="ignore").isna().all().all()
    shown = rendered_text(tmp_path / "03_community_health.ipynb")
    assert "No interaction network to draw" in shown
    assert "no join cohort has 100000 or more members: no cohort figure" in shown
