"""Execute notebook 02 (member segments) with papermill on the samples."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO, SAMPLES
from test_notebooks_health import rendered_text
from test_notebooks_language import assert_reads_as_report

NOTEBOOK = REPO / "notebooks" / "02_member_segments.ipynb"
K = 300  # high enough that one segment of the samples and the staff role fall below it


def test_notebook_is_committed_clean_with_typed_parameters():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "commlab"
    assert nb.metadata["kernelspec"]["display_name"] == "Python (commlab)"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and nb.cells[1] is params[0]
    lines = params[0].source.splitlines()
    names = [line.split(":")[0] for line in lines]
    assert names[:6] == ["data_dir", "as_of", "communities", "lang", "tz", "output_dir"]
    assert {"method", "n_clusters", "k_min", "k_max", "seed"} <= set(names)
    assert all("  # " in line for line in lines)
    assert names[-3:] == ["k_min_group", "engine", "engine_options"] and "k_min_group: int = 5  #" in params[0].source
    for c in nb.cells:
        if c.cell_type == "code":
            assert not c.outputs and c.execution_count is None


def test_playbook_names_the_notebook_and_the_sample_window():
    import yaml

    pb = yaml.safe_load((REPO / "playbooks" / "member-segments.yaml").read_text(encoding="utf-8"))
    assert pb["name"] == "member-segments" and pb["steps"][0]["notebook"] == "../notebooks/02_member_segments.ipynb"
    events = pd.read_parquet(SAMPLES / "events.parquet", columns=["ts"])
    as_of = pd.Timestamp(pb["parameters"]["as_of"])
    assert events["ts"].max() <= as_of < events["ts"].max() + pd.Timedelta(days=1)


@pytest.mark.notebook
def test_member_segments_notebook_on_samples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import papermill as pm

    from commlab.privacy import pseudonymize
    from commlab.settings import KEY_ENV

    key = "key-" + secrets.token_hex(16)
    monkeypatch.setenv(KEY_ENV, key)  # the kernel inherits it, as from the runner; the notebook reads it first
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"),
                        parameters={"output_dir": str(tmp_path), "lang": "zh", "n_resamples": 3, "n_boot": 3,
                                    "k_min_group": K},
                        kernel_name="commlab", cwd=str(NOTEBOOK.parent), progress_bar=False)
    s = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert s["k"] == len(s["segments"]) and 3 <= s["k"] <= 8
    assert all(seg["name_zh"] and seg["name_en"] for seg in s["segments"])
    # small groups: segments and rule roles of fewer than K members are blank in summary.json and the tables
    table = pd.read_parquet(tmp_path / "member_segments.parquet")  # a working file: the true sizes
    true_sizes = table["segment"].value_counts()
    assert sum(true_sizes) == s["members_clustered"] and s["k_min_group"] == K
    for seg in s["segments"]:
        small = true_sizes[seg["segment"]] < K
        assert (seg["size"] is None) == small and (seg["rule"] is None) == small, seg
        assert small or seg["size"] == true_sizes[seg["segment"]]
    assert any(seg["size"] is None for seg in s["segments"]) and s["rule_roles"]["staff"] is None
    assert all(n is None or n >= K for n in s["rule_roles"].values())
    shown = rendered_text(tmp_path / "out.ipynb")
    assert f"<{K}" in shown and f"少于 {K} 人的分组不显示" in shown
    assert_reads_as_report(tmp_path / "out.ipynb", "zh")  # one language, formatted numbers, readable figures
    assert s["stability_ari"]["median"] >= 0.8
    assert s["truth"]["ari_clusters_vs_planted"] >= 0.6
    assert s["truth"]["rule_role_accuracy_all"] >= 0.9
    z = s["zombie_share"]
    assert z["lower"] <= z["upper"] and 0 < z["share"] < 1
    # privacy: no member id or display name in anything written
    members = pd.read_csv(SAMPLES / "members.csv", dtype=str)
    ids = set(members["member_id"]) | set(members["display_name"].dropna())
    text = (tmp_path / "summary.json").read_text(encoding="utf-8")
    assert not set(re.findall(r'"([^"]+)"', text)) & ids
    assert "member_id" not in table.columns and "display_name" not in table.columns
    assert not set(table["member"]) & ids and table["member"].str.startswith("m_").all()
    assert len(table) == s["members_clustered"]
    # the pseudonyms are keyed with the environment's key (settings_from_env -> member_segments_table(key=)),
    # and the key is written nowhere
    keyed = set(pseudonymize(members["community_id"] + ":" + members["member_id"], key))
    assert set(table["member"]) <= keyed
    assert not any(key in f.read_text(encoding="utf-8", errors="replace") for f in tmp_path.rglob("*")
                   if f.is_file() and f.suffix != ".parquet")
