"""Every example that ``commlab --help`` prints runs as written (from the repository root)."""

from __future__ import annotations

import shlex
import subprocess
import sys

import pytest

from conftest import REPO


def _examples() -> list[str]:
    from commlab.cli import EPILOG

    block = EPILOG.split("examples:", 1)[1]
    return [line.strip() for line in block.splitlines() if line.strip().startswith("commlab ")]


EXAMPLES = _examples()


def test_help_shows_the_examples():
    out = subprocess.run([sys.executable, "-m", "commlab", "--help"], capture_output=True, text=True, check=True)
    assert len(EXAMPLES) >= 4
    for example in EXAMPLES:
        assert example in out.stdout


def _run(example: str, tmp_path) -> subprocess.CompletedProcess:
    argv = shlex.split(example)
    assert argv[0] == "commlab"
    if argv[1] == "run":  # keep the run folders out of the repository
        argv += ["--runs-dir", str(tmp_path / "runs")]
    out = subprocess.run([sys.executable, "-m", "commlab", *argv[1:]], cwd=REPO, capture_output=True, text=True,
                         timeout=1200)
    assert out.returncode == 0, f"{example}: exit {out.returncode}\n{out.stderr[-2000:]}"
    return out


@pytest.mark.parametrize("example", [e for e in EXAMPLES if not e.startswith("commlab run ")])
def test_help_example_runs_as_written(example, tmp_path):
    _run(example, tmp_path)


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.startswith("commlab run ")])
def test_help_run_example_runs_as_written(example, tmp_path):
    out = _run(example, tmp_path)
    report = out.stdout.strip().splitlines()[-1]
    assert report.endswith("report.html") and (tmp_path / "runs").is_dir()
