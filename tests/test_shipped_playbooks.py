"""Every shipped playbook is valid, and every parameter it passes is declared by its notebooks."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from commlab.plan import plan_run
from commlab.playbook import load_playbook
from conftest import REPO, require_shared_data

PLAYBOOKS = sorted((REPO / "playbooks").glob("*.yaml"))


def test_there_are_shipped_playbooks():
    assert {p.stem for p in PLAYBOOKS} >= {"demo", "member-segments", "type-comparison", "stackexchange-types"}


@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda p: p.stem)
def test_playbook_loads_and_plans(path):
    if path.stem == "stackexchange-types":
        require_shared_data("se_communities_180d")
    pb = load_playbook(path)
    steps = plan_run(pb)
    assert steps, path
    for step in steps:
        assert "output_dir" in step.declared and "data_dir" in step.declared
        assert set(step.parameters) <= set(step.declared), set(step.parameters) - set(step.declared)


def _with_k(stem: str, folder: Path, k: int) -> Path:
    """A copy of a shipped playbook with ``report.k_anonymity: k`` (paths relative to the copy: the kit's
    notebooks may be run from anywhere, absolute paths may not)."""
    pb = yaml.safe_load((REPO / "playbooks" / f"{stem}.yaml").read_text(encoding="utf-8"))
    pb["data"] = str((REPO / "playbooks" / pb["data"]).resolve())
    for step in pb["steps"]:
        step["notebook"] = os.path.relpath((REPO / "playbooks" / step["notebook"]).resolve(), folder)
    pb["report"] = {**pb.get("report", {}), "k_anonymity": k, "lang": "en"}
    pb["parameters"]["lang"] = "en"
    path = folder / f"{stem}.yaml"
    path.write_text(yaml.safe_dump(pb, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.notebook
@pytest.mark.parametrize("stem", ["member-segments", "type-comparison"])
def test_sample_playbooks_run(tmp_path, stem):
    """The sample playbooks not covered by the demo-report tests run end to end with `commlab run`.

    type-comparison runs with ``report.k_anonymity: 150``: the runner hands it to both steps as
    ``k_min_group``, and the two sample communities under 150 members are suppressed in the report.
    """
    k = 150 if stem == "type-comparison" else None
    playbook = _with_k(stem, tmp_path, k) if k else REPO / "playbooks" / f"{stem}.yaml"
    run = subprocess.run(
        [sys.executable, "-m", "commlab", "run", str(playbook), "--runs-dir", str(tmp_path / "runs"), "-q"],
        capture_output=True, text=True, timeout=1200, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = tmp_path / run.stdout.strip().splitlines()[-1]
    assert report.exists() and (tmp_path / "runs" / stem / "latest" / "report.html").exists()
    if k:
        manifest = json.loads((report.parent / "manifest.json").read_text(encoding="utf-8"))
        assert [step["parameters"]["k_min_group"] for step in manifest["steps"]] == [k, k]
        summary = json.loads((report.parent / "summary.json").read_text(encoding="utf-8"))
        assert [part["suppressed_communities"] for part in summary.values()] == [["c08", "c09"]] * 2
        page = html.unescape(report.read_text(encoding="utf-8"))
        assert f"<{k}" in page and f"group(s) with fewer than {k} members suppressed" in page
        assert f"group(s) with fewer than {k} members left out of the comparison" in page
        # the CSV download of the metric table repeats the suppression (a hidden value in words, as the page)
        links = re.findall(r"data:text/csv;charset=utf-8;base64,([^\"]+)", page)
        csvs = [base64.b64decode(m).decode("utf-8-sig") for m in links]
        assert any(f"<{k}" in c and "hidden" in c for c in csvs)


@pytest.mark.notebook
@pytest.mark.shared_data
def test_stack_exchange_playbook_runs_with_its_executive_summary(tmp_path):
    """stackexchange-types runs end to end (~1.5 min): 03, 04 and the executive summary, each site at its day 180."""
    require_shared_data("se_communities_180d")
    run = subprocess.run(
        [sys.executable, "-m", "commlab", "run", str(REPO / "playbooks" / "stackexchange-types.yaml"),
         "--runs-dir", str(tmp_path / "runs"), "-q"],
        capture_output=True, text=True, timeout=1200, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = tmp_path / run.stdout.strip().splitlines()[-1]
    summary = json.loads((report.parent / "summary.json").read_text(encoding="utf-8"))
    recs = summary["recommendations"]
    assert recs["as_of"] == "created+180d" and recs["suppressed_communities"] == []
    assert {r["community_id"] for r in recs["recommendations"]} == {
        r["community_id"] for r in summary["04_compare_types"]["metric_table"]}
    page = html.unescape(report.read_text(encoding="utf-8"))
    assert page.index("计分卡") < page.index("社群健康度")  # the executive summary (client part) comes first
    assert "cl-scorecard" in page and "各社群建群后 180 天（" in page
