"""Steps run at once (``jobs`` above 1): real papermill runs of the fixture notebooks in processes of their own."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from commlab.errors import NotebookExecutionError, PlaybookError
from commlab.plan import StepPlan
from commlab.playbook import Step, load_playbook
from commlab.runner import latest_run, list_runs, run_playbook
from commlab.step_pool import step_needs
from runs_helpers import make_project, write_playbook

pytestmark = pytest.mark.notebook


def _steps(overview: dict, other: dict) -> list[dict]:
    """A sleeping ``overview``, a second step ``other`` beside it, and ``followup`` after both."""
    return [
        {"notebook": "../notebooks/overview.ipynb", "parameters": overview, "after": []},
        {"notebook": "../notebooks/overview.ipynb", "name": "other", "parameters": other, "after": []},
        {"notebook": "../notebooks/followup.ipynb", "after": ["overview"]},
    ]


def _kernels_in(folder: Path) -> list[int]:
    """Live processes (kernels) working in ``folder`` or below."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if Path(proc.cwd()).is_relative_to(folder):
                found.append(proc.pid)
        except (psutil.Error, OSError):
            continue
    return found


def test_after_must_name_an_earlier_step(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    steps = [{"notebook": "../notebooks/overview.ipynb", "after": ["followup"]},
             {"notebook": "../notebooks/followup.ipynb"}]
    with pytest.raises(PlaybookError, match=r"step 'overview': 'after' names \['followup'\], which is not an earlier"):
        load_playbook(write_playbook(root, steps=steps, jobs=2))
    with pytest.raises(PlaybookError, match="jobs"):
        load_playbook(write_playbook(root, jobs=0))


def test_a_step_needs_its_after_or_every_earlier_step() -> None:
    plans = [StepPlan(Step(notebook="a.ipynb"), {}), StepPlan(Step(notebook="b.ipynb", after=[]), {}),
             StepPlan(Step(notebook="c.ipynb", after=["a"]), {}), StepPlan(Step(notebook="d.ipynb"), {}),
             StepPlan(Step(notebook="e.ipynb", after=["x"]), {})]
    assert step_needs(plans) == {"a": [], "b": [], "c": ["a"], "d": ["a", "b", "c"], "e": []}
    # a step reading every earlier step's folder waits for all of them, whatever its `after`
    reads_all = StepPlan(Step(notebook="f.ipynb", after=[]), {"prev_output_dirs": object()})
    assert step_needs(plans + [reads_all])["f"] == ["a", "b", "c", "d", "e"]


def test_a_notebook_failure_crosses_processes_whole() -> None:
    exc = NotebookExecutionError("runs/x/02.ipynb", 7, "KeyError", "'members'", source="nb/02.ipynb",
                                 exec_count=8, run_dir="runs/x", hint="raise it")
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is NotebookExecutionError and str(back) == str(exc)
    assert (back.cell_index, back.ename, back.exec_count, back.run_dir, back.hint) == (7, "KeyError", 8, "runs/x",
                                                                                       "raise it")


def test_steps_run_at_once_and_give_the_summary_of_a_run_one_at_a_time(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    steps = _steps({"sleep_s": 6}, {"sleep_s": 6})
    pb = write_playbook(root, steps=steps, jobs=2)
    at_once = run_playbook(pb, runs_dir=root / "runs")
    one = run_playbook(pb, runs_dir=root / "runs1", jobs=1)  # --jobs 1
    m = at_once.manifest
    assert (m["jobs"], one.manifest["jobs"]) == (2, 1)
    by = {s["name"]: s for s in m["steps"]}
    assert [s["status"] for s in m["steps"]] == ["succeeded"] * 3
    # both sleeping steps ran together (each sleeps 6 s), and followup only after overview
    assert by["other"]["started"] < by["overview"]["ended"] and by["overview"]["started"] < by["other"]["ended"]
    assert by["followup"]["started"] >= by["overview"]["ended"]
    one_by = {s["name"]: s for s in one.manifest["steps"]}
    assert one_by["other"]["started"] >= one_by["overview"]["ended"]  # jobs 1: one after another

    def plain(summary: dict) -> dict:  # the run's folders differ, nothing else may
        text = json.dumps(summary, sort_keys=True)
        for run in (at_once.run_dir, one.run_dir):
            text = text.replace(str(run), "RUN")
        for step in ("overview", "other"):
            text = text.replace(summary[step]["data_cache"], "CACHE")
        return json.loads(text)

    assert list(at_once.summary) == ["overview", "other", "followup"]  # playbook order, not finishing order
    assert plain(at_once.summary) == plain(one.summary)
    assert at_once.summary["overview"]["cwd"] == str(at_once.run_dir / "overview")  # each its own folder
    assert at_once.summary["other"]["cwd"] == str(at_once.run_dir / "other")
    assert at_once.summary["overview"]["data_cache"]  # the kernels got the run's data cache
    assert at_once.report.is_file() and latest_run(root / "runs", "demo") == at_once.run_dir


def test_a_failing_step_stops_the_running_one_and_starts_nothing(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    pb = write_playbook(root, steps=_steps({"sleep_s": 300}, {"fail": True}), jobs=2)
    began = time.monotonic()
    with pytest.raises(NotebookExecutionError) as info:
        run_playbook(pb, runs_dir=root / "runs")
    assert time.monotonic() - began < 240  # the sleeping step was stopped, not waited for
    exc = info.value
    assert exc.ename == "ValueError" and exc.evalue == "boom on demand" and exc.exit_code == 5
    assert Path(exc.notebook).name == "other.ipynb"
    run = Path(exc.run_dir)
    m = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "failed" and "boom on demand" in m["error"]
    assert [s["status"] for s in m["steps"]] == ["interrupted", "failed", "pending"]
    assert not (run / "report.html").exists() and not (run / "followup").exists()
    assert _kernels_in(run) == []  # the stopped step's kernel is gone too
    assert latest_run(root / "runs", "demo") is None


def test_sigterm_stops_every_running_step(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    pb = write_playbook(root, steps=_steps({"sleep_s": 300}, {"sleep_s": 300}), jobs=2)
    proc = subprocess.Popen([sys.executable, "-m", "commlab", "run", str(pb), "--runs-dir", "runs"], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while len(list((root / "runs" / "demo").glob("*/*/sleeping"))) < 2:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the sleeping cells never started"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=120)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == 143
    (run,) = list_runs(root / "runs")
    m = json.loads((run["path"] / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "interrupted" and "SIGTERM" in m["error"]
    assert [s["status"] for s in m["steps"]] == ["interrupted", "interrupted", "pending"]
    assert _kernels_in(run["path"]) == []


def test_jobs_out_of_range_on_the_command_line_is_a_usage_error(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    pb = write_playbook(root)
    for bad in ("0", "9"):
        out = subprocess.run([sys.executable, "-m", "commlab", "run", str(pb), "--runs-dir", "runs", "--jobs", bad],
                             cwd=root, capture_output=True, text=True, timeout=120)
        assert out.returncode == 2 and f"--jobs {bad}: run 1 to 8 steps at once" in out.stderr, out.stderr
    assert not (root / "runs" / "demo").exists()
