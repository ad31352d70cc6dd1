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

import nbformat
import psutil
import pytest

from commlab.errors import NotebookExecutionError, PlaybookError
from commlab.notebook_exec import READY_TAG
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


def _step_processes() -> list[int]:
    """Step processes (running or spare) this test process still has."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "commlab.step_pool" in " ".join(child.cmdline()):
                found.append(child.pid)
        except psutil.Error:
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
    assert _step_processes() == []  # the spare started for a later step ended with the run


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
    assert _step_processes() == []  # and the spare process waiting for followup
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


def _tagged_copy(root: Path, marker: str) -> str:
    """``overview.ipynb`` copied to ``tagged.ipynb`` with its cell holding ``marker`` tagged ``tables-stored``."""
    nb = nbformat.read(root / "notebooks" / "overview.ipynb", as_version=4)
    (cell,) = [c for c in nb.cells if marker in c.source]
    cell.metadata["tags"] = [READY_TAG]
    nbformat.write(nb, root / "notebooks" / "tagged.ipynb")
    return "../notebooks/tagged.ipynb"


def test_steps_after_a_step_start_once_its_tagged_cell_succeeded(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    steps = [
        {"notebook": _tagged_copy(root, "SOURCE_MARKER_LOAD"), "name": "overview", "parameters": {"sleep_s": 8},
         "after": []},
        {"notebook": "../notebooks/overview.ipynb", "name": "other", "parameters": {"sleep_s": 8}, "after": []},
        {"notebook": "../notebooks/overview.ipynb", "name": "dependent", "after": ["overview"]},
        {"notebook": "../notebooks/followup.ipynb", "after": ["overview"]},  # reads overview's folder
    ]
    run = run_playbook(write_playbook(root, steps=steps, jobs=2), runs_dir=root / "runs")
    by = {s["name"]: s for s in run.manifest["steps"]}
    assert [s["status"] for s in run.manifest["steps"]] == ["succeeded"] * 4
    # dependent started while overview slept after its tagged cell, and beside `other` (overview no longer
    # counted against jobs 2)
    assert by["dependent"]["started"] < by["overview"]["ended"] and by["dependent"]["started"] < by["other"]["ended"]
    executed = nbformat.read(run.run_dir / "overview.ipynb", as_version=4)
    (tagged,) = [c for c in executed.cells if READY_TAG in c.metadata.get("tags", [])]
    assert by["dependent"]["started"][:19] >= tagged.metadata.papermill["end_time"][:19]
    # a step reading earlier steps' folders waits for their end
    assert by["followup"]["started"] >= by["overview"]["ended"]
    assert run.summary["followup"]["prev_communities"] == run.summary["overview"]["communities"]


def test_a_step_failing_after_its_tagged_cell_stops_the_steps_started_early(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    steps = [
        {"notebook": _tagged_copy(root, "SOURCE_MARKER_LOAD"), "name": "overview",
         "parameters": {"sleep_s": 6, "fail": True}, "after": []},
        {"notebook": "../notebooks/overview.ipynb", "name": "dependent", "parameters": {"sleep_s": 300},
         "after": ["overview"]},
        {"notebook": "../notebooks/followup.ipynb", "after": ["overview"]},
    ]
    began = time.monotonic()
    with pytest.raises(NotebookExecutionError, match="boom on demand") as info:
        run_playbook(write_playbook(root, steps=steps, jobs=2), runs_dir=root / "runs")
    assert time.monotonic() - began < 240  # the early step was stopped, not waited for
    run = Path(info.value.run_dir)
    m = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert [s["status"] for s in m["steps"]] == ["failed", "interrupted", "pending"]
    assert (run / "dependent" / "sleeping").is_file()  # it had started
    assert not (run / "report.html").exists() and _kernels_in(run) == []


def _engine_run(tmp_path: Path, cells: list[tuple[str, list[str]]]) -> tuple[list[bool], Exception | None]:
    """Run a notebook of ``(source, tags)`` cells with papermill on the runner's engine; for each call of
    ``on_ready``, whether the cell after the tagged one had already written its file ``after``."""
    import papermill

    from commlab.notebook_exec import ENGINE, _register_engine

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src, metadata={"tags": tags}) for src, tags in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "in.ipynb")
    calls: list[bool] = []
    _register_engine()
    try:
        papermill.execute_notebook(str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"), engine_name=ENGINE,
                                   cwd=str(tmp_path), progress_bar=False, kernel_name="python3",
                                   on_ready=lambda: calls.append((tmp_path / "after").exists()))
    except Exception as exc:  # noqa: BLE001 - the test looks at it
        return calls, exc
    return calls, None


def test_the_engine_signals_once_the_tagged_cell_succeeded_and_never_when_it_failed(tmp_path: Path) -> None:
    after = "open('after', 'w').write('1')"
    calls, exc = _engine_run(tmp_path, [("x = 1", []), ("y = 2", [READY_TAG]), (after, []), ("z = 3", [READY_TAG])])
    assert exc is None and calls == [False]  # once, before the next cell ran
    calls, exc = _engine_run(tmp_path, [("x = 1", []), ("1 / 0", [READY_TAG]), (after, [])])
    assert type(exc).__name__ == "PapermillExecutionError" and calls == []
    calls, exc = _engine_run(tmp_path, [("x = 1", []), (after, [])])
    assert exc is None and calls == []


def test_the_step_that_took_longest_last_time_starts_first(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    steps = [{"notebook": "../notebooks/overview.ipynb", "name": name, "after": []} for name in "abc"]
    pb = write_playbook(root, steps=steps, jobs=2)
    first = run_playbook(pb, runs_dir=root / "runs")
    by = {s["name"]: s for s in first.manifest["steps"]}
    assert by["c"]["started"] > by["b"]["started"]  # no history: playbook order, c waits for a slot
    # the previous run says c took longest (its times rewritten: the machine's load must not decide)
    manifest = first.run_dir / "manifest.json"
    record = json.loads(manifest.read_text(encoding="utf-8"))
    for step in record["steps"]:
        step.update(started="2026-01-01T00:00:00Z", ended="2026-01-01T00:01:40Z" if step["name"] == "c"
                    else "2026-01-01T00:00:05Z")
    manifest.write_text(json.dumps(record), encoding="utf-8")
    again = run_playbook(pb, runs_dir=root / "runs")
    assert again.manifest["previous_run"] == first.run_dir.name
    by = {s["name"]: s for s in again.manifest["steps"]}
    assert by["c"]["started"] < by["b"]["started"]  # c first (beside a), b waits for a slot


def test_step_seconds_come_from_the_steps_that_succeeded(tmp_path: Path) -> None:
    from commlab.runner import _step_seconds

    (tmp_path / "manifest.json").write_text(json.dumps({"steps": [
        {"name": "a", "status": "succeeded", "started": "2026-01-01T00:00:00Z", "ended": "2026-01-01T00:01:30Z"},
        {"name": "b", "status": "failed", "started": "2026-01-01T00:00:00Z", "ended": "2026-01-01T00:00:05Z"},
        {"name": "c", "status": "succeeded", "started": "2026-01-01T00:00:00Z"},
    ]}), encoding="utf-8")
    assert _step_seconds(tmp_path) == {"a": 90.0}
    assert _step_seconds(None) == {} and _step_seconds(tmp_path / "missing") == {}
