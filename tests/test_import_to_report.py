"""Real platform exports, imported with `commlab import`, run through the demo playbook end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO, require_shared_data

CLI = [sys.executable, "-m", "commlab"]


@pytest.mark.notebook
@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("fmt", "source", "as_of", "events"),
    [
        ("snap", ("snap_collegemsg", "CollegeMsg.txt.gz"), "2004-10-27", 59835),
        ("stackexchange_xml", ("se_cardano_xml",), "2022-01-01", None),
    ],
    ids=["collegemsg", "cardano"],
)
def test_imported_real_data_runs_through_the_demo_playbook(tmp_path, fmt, source, as_of, events):
    src = require_shared_data(*source)
    out = tmp_path / "imported"
    imp = subprocess.run([*CLI, "import", fmt, str(src), "--out", str(out)], capture_output=True, text=True,
                         timeout=300)
    assert imp.returncode == 0, imp.stderr
    assert {p.name for p in out.iterdir()} >= {"communities.parquet", "members.parquet", "events.parquet"}
    run = subprocess.run(
        [*CLI, "run", str(REPO / "playbooks" / "demo.yaml"), "--data", str(out), "--as-of", as_of,
         "--runs-dir", str(tmp_path / "runs"), "-p", "lang", "en"],
        capture_output=True, text=True, timeout=1200, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = tmp_path / run.stdout.strip().splitlines()[-1]
    assert report.name == "report.html" and report.exists()
    summary = json.loads((report.parent / "summary.json").read_text(encoding="utf-8"))
    overview = summary["01_overview"]
    if events is not None:
        assert f"{events} events" in overview["data"]
    manifest = json.loads((report.parent / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "succeeded"
