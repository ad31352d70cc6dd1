"""Running playbooks for real: papermill with the ``commlab`` kernel, nbconvert reports, run folders."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from commlab.errors import NotebookExecutionError, ParameterError, UsageError
from commlab.runner import RunResult, latest_run, list_runs, run_playbook
from runs_helpers import ONE_STEP, make_project, write_playbook

pytestmark = pytest.mark.notebook


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run_cli(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "commlab", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunResult, Path]:
    """One successful two-step run; the first cell of overview.ipynb writes a marker file."""
    root = make_project(tmp_path_factory.mktemp("good"))
    marker = root / "marker.txt"
    os.environ["COMMLAB_TEST_MARKER"] = str(marker)
    try:
        result = run_playbook(write_playbook(root), runs_dir=root / "runs")
    finally:
        del os.environ["COMMLAB_TEST_MARKER"]
    return root, result, marker


def test_run_folder_layout(good: tuple[Path, RunResult, Path]) -> None:
    root, result, marker = good
    assert marker.read_text(encoding="utf-8") == "ran"  # the marker check below can fail
    run = result.run_dir
    assert run.parent == (root / "runs" / "demo").resolve()
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", run.name)
    for name in ["manifest.json", "summary.json", "report.html", "overview.ipynb", "followup.ipynb",
                 "overview/summary.json", "followup/summary.json", "overview.kernel.log"]:
        assert (run / name).is_file(), name
    assert result.report == run / "report.html"
    assert result.status == "succeeded"


def test_latest_is_a_relative_symlink_to_the_run(good: tuple[Path, RunResult, Path]) -> None:
    root, result, _ = good
    link = root / "runs" / "demo" / "latest"
    assert link.is_symlink() and os.readlink(link) == result.run_dir.name
    assert latest_run(root / "runs", "demo") == result.run_dir


def test_manifest_contents(good: tuple[Path, RunResult, Path]) -> None:
    root, result, _ = good
    m = json.loads((result.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "succeeded" and m["as_of"] == "2024-06-30" and m["playbook"] == "demo"
    assert m["started"] <= m["ended"] and m["error"] is None
    nbs = root / "notebooks"
    expected = {str((root / "playbooks" / "demo.yaml").resolve()), str((nbs / "overview.ipynb").resolve()),
                str((nbs / "followup.ipynb").resolve())}
    expected |= {str((root / "data" / f).resolve()) for f in ("communities.csv", "members.csv", "events.csv")}
    assert set(m["sha256"]) == expected
    for path, digest in m["sha256"].items():
        assert digest == _sha(Path(path)), path
    assert set(m["versions"]) >= {"python", "commlab", "pandas", "numpy", "scikit-learn", "papermill", "nbconvert",
                                  "duckdb"}
    assert m["versions"]["papermill"] and m["versions"]["python"].count(".") == 2
    assert m["git"] == {"commit": None, "dirty": None}  # tmp is not a git repository
    s0, s1 = m["steps"]
    assert s0["name"] == "overview" and s0["status"] == "succeeded"
    assert s0["parameters"] == {
        "as_of": "2024-06-30", "lang": "zh", "communities": [], "min_size": 5,
        "output_dir": str(result.run_dir / "overview"), "data_dir": str((root / "data").resolve()),
    }
    assert s0["defaults"]["ratio"] == 0.5
    assert "prev_output_dirs" not in s0["parameters"]  # overview does not declare it
    assert s1["parameters"]["prev_output_dirs"] == {"overview": str(result.run_dir / "overview")}


def test_summary_json_collects_step_summaries(good: tuple[Path, RunResult, Path]) -> None:
    root, result, _ = good
    summary = json.loads((result.run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary == result.summary
    assert summary["overview"]["communities"] == 2 and summary["overview"]["events"] == 5
    assert summary["overview"]["min_size"] == 5
    assert summary["overview"]["cwd"] == str(result.run_dir / "overview")  # cwd is the step folder
    assert summary["followup"] == {"prev_communities": 2, "steps_before": ["overview"],
                                   "cache_entries": summary["followup"]["cache_entries"]}


def test_steps_share_a_data_cache_that_the_run_removes(good: tuple[Path, RunResult, Path]) -> None:
    from commlab.data.cache import TABLES_DIR, cache_key
    from commlab.data.io import sha256_file

    root, result, _ = good
    summary = result.summary
    folder = Path(summary["overview"]["data_cache"])
    assert not folder.exists()  # removed when the steps ended
    assert result.run_dir not in folder.parents  # never a copy of the data in the run folder
    # the first step's load_dataset stored the validated data; the next kernel saw exactly that entry
    data = root / "data"
    files = {t: str(data / f"{t}.csv") for t in ("communities", "members", "events")}
    key = cache_key(files, {f: sha256_file(f) for f in files.values()}, "Asia/Shanghai")
    # beside it only the engines' tables folder (engines.runcache: the run's declared period sets, its tables)
    assert [e for e in summary["followup"]["cache_entries"] if e != TABLES_DIR] == [key]


def test_report_is_self_contained_without_code(good: tuple[Path, RunResult, Path]) -> None:
    _, result, _ = good
    page = result.report.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "<title>测试演示</title>" in page
    assert '<div class="jp-InputArea' not in page
    for source in ["SOURCE_MARKER", "pd.read_csv", "plt.subplots", "min_size = 5", "sleep_s ="]:
        assert source not in page, source
    assert "REMOVED_CELL_OUTPUT" not in page  # cell tagged 'remove'
    assert "stderr noise" not in page and "Traceback" not in page
    assert "injected-parameters" not in page
    assert re.search(r'<img[^>]+src="data:image/png;base64,', page)
    assert not re.search(r"""<(script|link)\b[^>]*(src|href)\s*=\s*["']?(https?:)?//""", page, re.I)
    assert "mathjax" not in page.lower() and "require.min.js" not in page
    # one section per step (the notebook's title; open: this playbook has no executive summary), the
    # notebook's own headings below it
    assert re.search(r"<summary>测试概览", page) and re.search(r"<summary>后续分析", page)
    assert re.search(r"<h3[^>]*>活跃度", page)
    assert "A fixture notebook for the runner tests." in page and "某客户" in page


def test_index_lists_the_run(good: tuple[Path, RunResult, Path]) -> None:
    root, result, _ = good
    index = (root / "runs" / "index.html").read_text(encoding="utf-8")
    assert f"demo/{result.run_dir.name}/report.html" in index
    assert "succeeded" in index


def test_bad_parameters_fail_before_any_cell_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path)
    marker = tmp_path / "marker.txt"
    monkeypatch.setenv("COMMLAB_TEST_MARKER", str(marker))
    wrong_type = write_playbook(root, "wrong.yaml", steps=[{"notebook": "../notebooks/overview.ipynb",
                                                            "parameters": {"min_size": "5"}}])
    with pytest.raises(ParameterError, match=r"'min_size' expects int .*given str"):
        run_playbook(wrong_type, runs_dir=root / "runs")
    unknown = write_playbook(root, "unknown.yaml", steps=[ONE_STEP[0], {"notebook": "../notebooks/followup.ipynb",
                                                                         "parameters": {"min_size": 5}}])
    with pytest.raises(ParameterError, match=r"steps\.1 'followup'.*'min_size' is not declared"):
        run_playbook(unknown, runs_dir=root / "runs")  # step 0 is fine, and still must not run
    assert not marker.exists()
    assert not (root / "runs" / "demo").exists()  # no run folder either


def test_missing_kernel_is_a_usage_error(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    with pytest.raises(UsageError, match="kernel 'no-such-kernel' is not installed"):
        run_playbook(write_playbook(root), runs_dir=root / "runs", kernel_name="no-such-kernel")


def test_failing_notebook_keeps_it_and_leaves_latest(good: tuple[Path, RunResult, Path]) -> None:
    root, result, _ = good
    with pytest.raises(NotebookExecutionError) as info:
        run_playbook(root / "playbooks" / "demo.yaml", runs_dir=root / "runs", overrides={"fail": True})
    exc = info.value
    assert exc.exit_code == 5
    assert exc.ename == "ValueError" and exc.evalue == "boom on demand"
    src = nbformat.read(root / "notebooks" / "overview.ipynb", as_version=4)
    assert "SOURCE_MARKER_FAIL" in src.cells[exc.cell_index].source  # index in the notebook as written
    line = exc.one_line()
    assert "overview.ipynb: cell" in line and "ValueError: boom on demand" in line and "\n" not in str(exc)
    failed_dir = Path(exc.run_dir)
    assert failed_dir != result.run_dir and Path(exc.notebook) == failed_dir / "overview.ipynb"
    kept = nbformat.read(exc.notebook, as_version=4)
    assert any(o.get("output_type") == "error" for c in kept.cells for o in c.get("outputs", []))
    m = json.loads((failed_dir / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "failed" and "boom on demand" in m["error"]
    assert m["steps"][0]["status"] == "failed" and m["steps"][1]["status"] == "pending"
    assert not (failed_dir / "report.html").exists() and not (failed_dir / "followup.ipynb").exists()
    assert latest_run(root / "runs", "demo") == result.run_dir
    statuses = {r["run_id"]: r["status"] for r in list_runs(root / "runs")}
    assert statuses[failed_dir.name] == "failed" and statuses[result.run_dir.name] == "succeeded"


def _wait_for_sleeping_cell(root: Path, proc: subprocess.Popen) -> Path:
    """The run folder of ``proc`` once its overview cell sleeps."""
    deadline = time.monotonic() + 120
    while not (found := list((root / "runs" / "demo").glob("*/overview/sleeping"))):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the sleeping cell never started"
        time.sleep(0.2)
    return found[0].parents[1]


def test_a_second_run_on_the_same_data_exits_6_naming_the_holder_or_waits(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    pb = write_playbook(root, steps=ONE_STEP)
    first = _run_cli("-q", "run", str(pb), "--runs-dir", "runs", "-p", "sleep_s", "25", cwd=root)
    holder = _wait_for_sleeping_cell(root, first)
    began = time.monotonic()
    second = subprocess.run([sys.executable, "-m", "commlab", "-q", "run", str(pb), "--runs-dir", "runs"], cwd=root,
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 6, second.stderr
    assert time.monotonic() - began < 30  # at once: no data loaded, no notebook started
    assert f"run {holder.name}" in second.stderr and "--wait" in second.stderr
    queued = _run_cli("-q", "run", str(pb), "--runs-dir", "runs", "--wait", cwd=root)
    outs = [p.communicate(timeout=300) for p in (first, queued)]
    assert [first.returncode, queued.returncode] == [0, 0], outs
    runs = [Path(root, out.strip().splitlines()[-1]).parent.resolve() for out, _ in outs]
    assert runs[0] == holder.resolve() and runs[1] != runs[0]
    m0, m1 = (json.loads((r / "manifest.json").read_text(encoding="utf-8")) for r in runs)
    assert m0["status"] == m1["status"] == "succeeded" and m1["started"] >= m0["ended"]  # queued behind it
    assert m1["previous_run"] == m0["run_id"]  # and compares with it
    assert len(list_runs(root / "runs")) == 2  # the refused run left no folder
    assert latest_run(root / "runs", "demo") == runs[1]


def _kill_while_sleeping(root: Path, pb: Path, sig: int) -> subprocess.Popen:
    """Start ``commlab run`` with a sleeping cell, send ``sig`` once the cell sleeps, wait for the end."""
    proc = _run_cli("run", str(pb), "--runs-dir", "runs", "-p", "sleep_s", "120", cwd=root)
    try:
        _wait_for_sleeping_cell(root, proc)
        os.kill(proc.pid, sig)
        proc.communicate(timeout=60)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left, the kernel included
        except ProcessLookupError:
            pass
    return proc


def test_sigkill_mid_run_leaves_latest_at_previous_good_run(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    pb = write_playbook(root, steps=ONE_STEP)
    good = run_playbook(pb, runs_dir=root / "runs")
    proc = _kill_while_sleeping(root, pb, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    assert latest_run(root / "runs", "demo") == good.run_dir
    killed = [r for r in list_runs(root / "runs") if r["run_id"] != good.run_dir.name]
    assert len(killed) == 1 and killed[0]["status"] == "interrupted"  # manifest says running; pid is gone
    assert not (killed[0]["path"] / "report.html").exists()


def test_cell_timeout_is_a_notebook_failure(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    pb = write_playbook(root, steps=ONE_STEP)
    with pytest.raises(NotebookExecutionError) as info:
        run_playbook(pb, runs_dir=root / "runs", timeout=15, overrides={"sleep_s": 60})
    src = nbformat.read(root / "notebooks" / "overview.ipynb", as_version=4)
    assert info.value.ename == "CellTimeoutError" and "15 s" in info.value.evalue
    assert "SOURCE_MARKER_SLEEP" in src.cells[info.value.cell_index].source
    m = json.loads((Path(info.value.run_dir) / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "failed"
    assert latest_run(root / "runs", "demo") is None


def test_sigterm_marks_the_run_interrupted(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    pb = write_playbook(root, steps=ONE_STEP)
    proc = _kill_while_sleeping(root, pb, signal.SIGTERM)
    assert proc.returncode == 143
    (run,) = list_runs(root / "runs")
    m = json.loads((run["path"] / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "interrupted" and "SIGTERM" in m["error"] and m["steps"][0]["status"] == "interrupted"
    assert latest_run(root / "runs", "demo") is None
    assert "interrupted" in (root / "runs" / "index.html").read_text(encoding="utf-8")
