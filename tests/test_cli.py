"""The command line: one-line errors, stable exit codes, the report path as the last line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from commlab.cli import main
from runs_helpers import ONE_STEP, make_data, make_project, write_playbook


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m commlab`` as a user would (a real process, real stdout/stderr)."""
    return subprocess.run([sys.executable, "-m", "commlab", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)


def one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.startswith("commlab: error:")]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    return lines[0]


def test_help_documents_exit_codes() -> None:
    res = cli("--help")
    assert res.returncode == 0
    for word in ["run", "validate", "schema", "playbooks", "params", "generate", "exit codes", "5  a notebook failed"]:
        assert word in res.stdout


def test_argparse_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["run", "x.yaml", "--timeout", "soon"])
    assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_missing_playbook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "playbook not found" in line and "nope.yaml" in line


def test_bad_playbook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path)
    path = write_playbook(root, steps=[{"notebook": "../notebooks/overview.ipynb", "parameters": "oops"}])
    assert main(["run", str(path), "--runs-dir", str(tmp_path / "runs")]) == 4
    line = one_error_line(capsys.readouterr().err)
    assert f"{path}: steps.0.parameters: expected a mapping, given str" in line


def test_bad_parameter_exits_4_before_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path)
    path = write_playbook(root, steps=ONE_STEP)
    assert main(["run", str(path), "--runs-dir", str(tmp_path / "runs"), "-p", "min_size", "many"]) == 4
    line = one_error_line(capsys.readouterr().err)
    assert "'min_size' expects int" in line and "given str 'many'" in line
    assert not (tmp_path / "runs").exists()


def test_missing_kernel_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path)
    assert main(["run", str(write_playbook(root)), "--kernel", "no-such-kernel"]) == 2
    assert "is not installed" in one_error_line(capsys.readouterr().err)


def test_validate_good_bad_and_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = make_data(tmp_path / "good")
    assert main(["validate", str(good)]) == 0
    assert capsys.readouterr().out.startswith("2 communities, 4 members, 5 events")

    bad = make_data(tmp_path / "bad", bad=True)
    assert main(["validate", str(bad), "--tz", "UTC"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("commlab: error: 1 problem(s)") and "teleport" in err and "event_type" in err
    assert "Traceback" not in err

    assert main(["validate", str(tmp_path / "none")]) == 2
    assert "data folder not found" in one_error_line(capsys.readouterr().err)
    assert main(["validate", str(good), "--tz", "Mars/Olympus"]) == 2
    assert "unknown time zone" in one_error_line(capsys.readouterr().err)


def test_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert "### communities" in out and "`event_type`" in out


def test_playbooks_lists_titles_and_invalid_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path)
    write_playbook(root)
    assert main(["playbooks", str(root / "playbooks")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("demo ") and "测试演示 / Test demo" in out and "(2 step(s);" in out
    (root / "playbooks" / "broken.yaml").write_text("name: x\n", encoding="utf-8")
    assert main(["playbooks", str(root / "playbooks")]) == 4
    out = capsys.readouterr().out
    assert "broken.yaml  INVALID:" in out and "测试演示 / Test demo" in out
    assert main(["playbooks", str(tmp_path / "none")]) == 2


def test_a_playbook_whose_data_folder_is_absent_is_listed_and_runs_with_data(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """On a fresh clone ``../shared/data`` may be absent: ``commlab playbooks`` still lists the playbook
    (exit 0, saying so), a run without ``--data`` is refused naming the folder, and ``--data`` replaces it."""
    root = make_project(tmp_path)
    write_playbook(root, data="../elsewhere")
    assert main(["playbooks", str(root / "playbooks")]) == 0
    out = capsys.readouterr().out
    assert "INVALID" not in out and f"its data folder {root / 'elsewhere'} is absent: run it with --data DIR" in out
    pb = str(root / "playbooks" / "demo.yaml")
    runs = str(tmp_path / "runs")
    assert main(["run", pb, "--runs-dir", runs]) == 4
    assert "data: data folder not found" in one_error_line(capsys.readouterr().err)
    bad = make_data(tmp_path / "bad", bad=True)  # validated before any notebook runs: exit 3, not 'not found'
    assert main(["run", pb, "--data", str(bad), "--runs-dir", runs]) == 3
    err = capsys.readouterr().err
    assert f"1 problem(s) in {bad}" in one_error_line(err) and "teleport" in err


def test_params(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = make_project(tmp_path)
    assert main(["params", str(root / "notebooks" / "overview.ipynb")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["name", "type", "default", "help"]
    rows = {ln.split()[0]: ln.split()[1:3] for ln in out[1:]}
    assert rows["min_size"] == ["int", "3"] and rows["communities"] == ["list", "[]"]
    assert main(["params", str(tmp_path / "none.ipynb")]) == 2
    assert "notebook not found" in one_error_line(capsys.readouterr().err)


@pytest.mark.notebook
def test_run_prints_report_path_last(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    pb = write_playbook(root, steps=ONE_STEP)
    res = cli("run", str(pb), "--runs-dir", "runs", "--as-of", "2024-06-20", cwd=root)
    assert res.returncode == 0, res.stderr
    report = Path(root, res.stdout.strip().splitlines()[-1])
    assert report.name == "report.html" and report.is_file()
    assert (root / "runs" / "demo" / "latest" / "report.html").samefile(report)
    assert '"as_of": "2024-06-20"' in (report.parent / "overview" / "summary.json").read_text(encoding="utf-8")
    assert "Traceback" not in res.stderr


@pytest.mark.notebook
def test_failing_notebook_exits_5_with_one_line(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    pb = write_playbook(root, steps=ONE_STEP)
    res = cli("run", str(pb), "--runs-dir", "runs", "-p", "fail", "true", cwd=root)
    assert res.returncode == 5
    line = one_error_line(res.stderr)
    assert "overview.ipynb: cell" in line and "failed: ValueError: boom on demand" in line
    kept = Path(line.rsplit("executed notebook kept at ", 1)[1])
    assert kept.is_file() and kept.parent.parent == (root / "runs" / "demo").resolve()
    assert not (root / "runs" / "demo" / "latest").exists()
    assert res.stdout.strip() == ""


def test_generate_writes_a_valid_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "samples"
    assert main(["generate", str(out), "--seed", "7", "--scale", "0.02"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out)
    assert main(["validate", str(out)]) == 0
