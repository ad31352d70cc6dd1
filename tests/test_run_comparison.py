"""A run compares itself only with a run of the same playbook on the same data (issue 21, points 7 and 8).

The executive summary (notebook 05) runs on the samples, then on a second data set (three sample
communities under other ids and names, given with ``--data``), then on the samples again: the second
run has nothing to compare with, the third compares with the first, and neither report nor summary
names the other data set's communities. ~45 s (three runs of one notebook).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from commlab.errors import ParameterError
from commlab.runner import run_playbook
from commlab.runs import list_runs
from conftest import REPO, SAMPLES

pytestmark = pytest.mark.notebook

#: The second data set: sample communities renamed (ids, member ids, names).
OTHER = {"c02": ("z1", "远山读书会"), "c05": ("z2", "Harbor Makers Club"), "c10": ("z3", "星河羽毛球群")}


def _other_data(folder: Path) -> Path:
    folder.mkdir(parents=True)
    c = pd.read_csv(SAMPLES / "communities.csv", dtype=str)
    m = pd.read_csv(SAMPLES / "members.csv", dtype=str)
    e = pd.read_parquet(SAMPLES / "events.parquet")
    keep = list(OTHER)
    c, m, e = (t[t["community_id"].isin(keep)].copy() for t in (c, m, e))
    for old, (_, name) in OTHER.items():
        c.loc[c["community_id"] == old, "name"] = name
    for t in (c, m, e):
        for col in t.columns:
            if pd.api.types.is_string_dtype(t[col]) or t[col].dtype == object:
                for old, (new, _) in OTHER.items():
                    t[col] = t[col].str.replace(rf"\b{old}(?=_|\b)", new, regex=True)
    c.to_csv(folder / "communities.csv", index=False)
    m.to_csv(folder / "members.csv", index=False)
    e.to_parquet(folder / "events.parquet", index=False)
    return folder


def _playbook(root: Path) -> Path:
    (root / "playbooks").mkdir(parents=True)
    path = root / "playbooks" / "recs.yaml"
    notebook = os.path.relpath(REPO / "notebooks" / "05_recommendations.ipynb", path.parent)
    path.write_text(yaml.safe_dump({
        "name": "recs", "title": {"zh": "执行摘要", "en": "Executive summary"},
        "data": os.path.relpath(SAMPLES, path.parent),
        "parameters": {"as_of": "2024-06-30T16:00:00Z", "lang": "en"},
        "steps": [{"notebook": notebook, "name": "recommendations"}],
        "report": {"lang": "en"},
    }, allow_unicode=True), encoding="utf-8")
    return path


def _texts(run_dir: Path) -> str:
    return (run_dir / "report.html").read_text(encoding="utf-8") + (run_dir / "summary.json").read_text(
        encoding="utf-8")


def test_samples_then_other_data_then_samples(tmp_path: Path) -> None:
    other = _other_data(tmp_path / "other")
    pb = _playbook(tmp_path)
    runs = tmp_path / "runs"
    first = run_playbook(pb, runs_dir=runs)
    second = run_playbook(pb, runs_dir=runs, data_dir=other)
    third = run_playbook(pb, runs_dir=runs, overrides={"k_min_group": "7"})

    m1, m2, m3 = first.manifest, second.manifest, third.manifest
    assert m1["data_source"]["fingerprint"] == m3["data_source"]["fingerprint"] != m2["data_source"]["fingerprint"]
    assert m2["data_source"]["communities"] == ["z1", "z2", "z3"] and m2["data_source"]["data_dir"] == str(other)
    assert m1["previous_run"] is None
    assert m2["previous_run"] is None  # before: the samples run, through `latest`
    assert m3["previous_run"] == first.run_dir.name  # not the other data's run, although it is `latest`' previous
    assert third.summary["recommendations"]["previous"] is not None

    sample_names = pd.read_csv(SAMPLES / "communities.csv")["name"].tolist()
    page_2 = _texts(second.run_dir)
    assert not [n for n in sample_names if n in page_2]
    assert '"c01"' not in page_2 and "c01_" not in page_2 and "first run of this playbook" in page_2
    page_3 = _texts(third.run_dir)
    assert not [name for _, name in OTHER.values() if name in page_3]
    assert '"z1"' not in page_3

    # 21.8: on --data without --as-of, the end of the data's last day, said in the manifest and the report
    assert m2["as_of"] == "2024-06-30T16:00:00Z" and m2["as_of_source"] == "data"
    assert m2["data_source"]["first_event"] < m2["data_source"]["last_event"] <= "2024-06-30T16:00:00Z"
    assert second.summary["recommendations"]["as_of"].startswith("2024-06-30T16:00:00")
    assert "no as-of given: the end of the data&#39;s last day" in page_2 or \
        "no as-of given: the end of the data's last day" in page_2
    assert m1["as_of_source"] == "playbook"

    # the effective k is what the manifest and the appendix state
    assert m3["privacy"]["k_anonymity"] == 7 and m3["steps"][0]["parameters"]["k_min_group"] == 7
    assert "fewer than 7 members" in page_3 and m1["privacy"]["k_anonymity"] == 5

    # --compare-with: a run of other data is refused before any run folder, a run of the same data accepted
    before = len(list_runs(runs))
    with pytest.raises(ParameterError, match=r"--compare-with .* analysed other data \(data folder .*other, "
                                             r"communities z1, z2, z3\) than this run"):
        run_playbook(pb, runs_dir=runs, compare_with=second.run_dir)
    assert len(list_runs(runs)) == before
    from commlab.runner import _comparison

    loaded = third.playbook
    assert _comparison(runs, loaded, m1["data_source"]["fingerprint"], first.run_dir) == first.run_dir / "summary.json"
    manifest = json.loads((third.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "succeeded" and manifest["previous_run_dir"] == str(first.run_dir)
