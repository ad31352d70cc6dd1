"""benchmarks/ab.py: the same step on two versions of the package, back to back, results compared."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
AB = REPO / "benchmarks" / "ab.py"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from commlab.data.generate_large import generate_large

    out = tmp_path_factory.mktemp("tiny")
    generate_large(out, n_members=1500, n_events=30_000, seed=3, chunk_events=15_000)
    return out


def _ab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(AB), *args], capture_output=True, text=True, timeout=600)


def test_a_git_ref_against_this_checkout(tiny, tmp_path):
    """The base is a commit in a temporary worktree (removed afterwards); the children import each side's source."""
    if subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        pytest.skip("not a git checkout: the base cannot be a git ref")
    before = subprocess.run(["git", "-C", str(REPO), "worktree", "list"], capture_output=True, text=True).stdout
    p = _ab("--base", "HEAD", "--data", str(tiny), "--steps", "features_duckdb,transitions", "--rounds", "1",
            "--json", str(tmp_path / "ab.json"))
    assert p.returncode == 0, p.stderr
    r = json.loads((tmp_path / "ab.json").read_text())
    assert r["base"].startswith("HEAD (") and f"{REPO} (checkout at " in r["head"]
    base_src = {x["commlab"] for x in r["steps"]["features_duckdb"]["runs"]["base"]}
    head_src = {x["commlab"] for x in r["steps"]["features_duckdb"]["runs"]["head"]}
    assert head_src == {str(REPO / "src" / "commlab")} and base_src.isdisjoint(head_src)
    # the same code on both sides: equal, exactly or (float sums in DuckDB's thread order) to 1e-9
    assert all(v["results"] in ("identical", "equal to 1e-9") for v in r["steps"].values()), r["steps"]
    assert "| features_duckdb |" in p.stdout and "| transitions |" in p.stdout
    after = subprocess.run(["git", "-C", str(REPO), "worktree", "list"], capture_output=True, text=True).stdout
    assert after == before


def test_a_changed_result_is_reported_and_fails(tiny, tmp_path):
    """A head whose feature SQL counts one event too many: the tables differ, named by column; exit 1."""
    mutant = tmp_path / "mutant"
    shutil.copytree(REPO / "src", mutant / "src")
    f = mutant / "src" / "commlab" / "analysis" / "features_sql.py"  # the feature SQL
    text = f.read_text()
    counted = "CAST(sum(n_events) AS BIGINT) AS n_events"
    assert counted in text
    f.write_text(text.replace(counted, "CAST(sum(n_events) + 1 AS BIGINT) AS n_events"))
    p = _ab("--base", str(REPO), "--head", str(mutant), "--data", str(tiny), "--rounds", "1")
    assert p.returncode == 1, p.stderr
    assert "DIFFERENT: column 'n_events'" in p.stdout


def test_unknown_base_is_a_clear_error(tiny):
    p = _ab("--base", "no-such-ref-or-folder", "--data", str(tiny))
    assert p.returncode != 0 and "neither a checkout" in p.stderr and "Traceback" not in p.stderr
