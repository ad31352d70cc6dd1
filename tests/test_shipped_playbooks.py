"""Every shipped playbook is valid, and every parameter it passes is declared by its notebooks."""

from __future__ import annotations

import subprocess
import sys

import pytest

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


@pytest.mark.notebook
@pytest.mark.parametrize("stem", ["member-segments", "type-comparison"])
def test_sample_playbooks_run(tmp_path, stem):
    """The sample playbooks not covered by the demo-report tests run end to end with `commlab run`."""
    run = subprocess.run(
        [sys.executable, "-m", "commlab", "run", str(REPO / "playbooks" / f"{stem}.yaml"),
         "--runs-dir", str(tmp_path / "runs"), "-q"],
        capture_output=True, text=True, timeout=1200, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = tmp_path / run.stdout.strip().splitlines()[-1]
    assert report.exists() and (tmp_path / "runs" / stem / "latest" / "report.html").exists()
