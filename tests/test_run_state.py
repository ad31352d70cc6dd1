"""Run state and exit codes (issue 22, points 3 and 4; issue 21, point 8).

Bad data, bad parameter values and an as-of outside the data stop a run before any run folder
exists, with the exit code of their kind; a report becomes visible only once scanned; a run killed
at any moment leaves nothing unscanned behind, and the next run marks it and removes its data from
``TMPDIR``; a run that could not be published never says ``succeeded``; a disk error names the path.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from commlab.cli import main
from commlab.errors import PublishError
from commlab.runner import run_playbook
from commlab.runs import list_runs, write_index
from conftest import REPO, SAMPLES
from runs_helpers import ONE_STEP, make_data, make_project, write_playbook


def _run_folders(root: Path) -> list[Path]:
    folder = root / "runs" / "demo"
    return [p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "latest"] if folder.is_dir() else []


def _error_lines(err: str) -> str:
    return err[err.index("commlab: error:"):] if "commlab: error:" in err else err


# --- bad data and bad values: refused before a run folder exists -------------------------------------


def test_bad_data_during_run_exits_3_with_the_problem_list_validate_prints(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path)
    bad = make_data(tmp_path / "bad", bad=True)
    (bad / "members.csv").write_text((bad / "members.csv").read_text(encoding="utf-8").replace(
        "2024-01-02 10:00:00", "yesterday"), encoding="utf-8")
    pb = write_playbook(root, steps=ONE_STEP)
    assert main(["validate", str(bad)]) == 3
    validate = _error_lines(capsys.readouterr().err)
    assert main(["run", str(pb), "--runs-dir", str(root / "runs"), "--data", str(bad)]) == 3
    run = _error_lines(capsys.readouterr().err)
    assert run == validate  # the same full list, not cut at the first line
    assert "2 problem(s)" in run and "'teleport'" in run and "'yesterday'" in run and "fix:" in run
    assert _run_folders(root) == []


@pytest.mark.parametrize(("param", "value", "message"), [
    ("lang", "fr", "'lang' must be one of zh, en; given 'fr'"),
    ("tz", "Mars/Olympus", "'tz' must name a time zone, e.g. Asia/Shanghai or UTC; given 'Mars/Olympus'"),
    ("communities", "[c01, nope]", "'communities' names 'nope', not in the data"),
    ("period_days", "-1", "'period_days' must be at least 1; given -1"),
])
def test_bad_parameter_values_exit_4_before_any_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           param: str, value: str, message: str) -> None:
    code = main(["run", str(REPO / "playbooks" / "demo.yaml"), "--runs-dir", str(tmp_path / "runs"),
                 "-p", param, value])
    err = capsys.readouterr().err
    assert code == 4, err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _run_folders(tmp_path) == []


@pytest.mark.parametrize("k", ["0", "1", "-5"])
def test_k_min_group_below_two_exits_4_before_any_run_folder(k: str, capsys: pytest.CaptureFixture[str],
                                                             tmp_path: Path) -> None:
    code = main(["run", str(REPO / "playbooks" / "demo.yaml"), "--runs-dir", str(tmp_path / "runs"),
                 "-p", "k_min_group", k])
    err = capsys.readouterr().err
    assert code == 4 and "'k_min_group' must be at least 2 (the privacy floor" in err
    assert _run_folders(tmp_path) == []


def test_notebook_outside_the_project_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "project")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.ipynb").write_bytes((root / "notebooks" / "overview.ipynb").read_bytes())
    pb = write_playbook(root, steps=[{"notebook": "../../elsewhere/x.ipynb"}])
    assert main(["run", str(pb), "--runs-dir", str(root / "runs")]) == 4
    assert "outside the folders a playbook may use" in capsys.readouterr().err
    # --notebooks-dir names the folder: the playbook loads (and fails later, on its missing kernel here)
    assert main(["run", str(pb), "--runs-dir", str(root / "runs"), "--notebooks-dir", str(tmp_path / "elsewhere"),
                 "--kernel", "no-such-kernel"]) == 2


# --- the as-of against the data (21.8) ---------------------------------------------------------------


def test_as_of_outside_the_data_exits_4_unless_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path)  # the data span 2024-06-01 - 2024-06-12 (Asia/Shanghai)
    pb = write_playbook(root, steps=ONE_STEP)
    for as_of, what in [("2024-07-13", "31.0 days after the data's last event"),
                        ("2024-05-01", "before the data's first event")]:
        assert main(["run", str(pb), "--runs-dir", str(root / "runs"), "--as-of", as_of]) == 4
        err = capsys.readouterr().err
        assert what in err and "2024-06-01 02:00 – 2024-06-12 01:00 UTC" in err and "--allow-stale-as-of" in err
    # -p as_of is as explicit as --as-of: with --data it is kept (and checked), not replaced by the data's end
    assert main(["run", str(pb), "--runs-dir", str(root / "runs"), "--data", str(root / "data"),
                 "-p", "as_of", "2024-07-13"]) == 4
    assert "31.0 days after the data's last event" in capsys.readouterr().err
    # the playbook's own as_of is held to the same rule
    stale = write_playbook(root, "stale.yaml", steps=ONE_STEP, parameters={"as_of": "2025-01-01"})
    assert main(["run", str(stale), "--runs-dir", str(root / "runs")]) == 4
    assert "days after the data's last event" in capsys.readouterr().err
    assert _run_folders(root) == []


def test_the_allowed_stale_as_of_is_not_checked() -> None:
    import pandas as pd

    from commlab.run_data import RunData, check_as_of

    data = RunData(Path("/d"), first=pd.Timestamp("2024-06-01", tz="UTC"), last=pd.Timestamp("2024-06-12", tz="UTC"))
    check_as_of("2024-07-12", data, where="x")  # 30 days: fine
    check_as_of("2030-01-01", data, where="x", allow_stale=True)
    check_as_of("created+180d", data, where="x")  # relative to each community: not checked
    with pytest.raises(Exception, match="days after"):
        check_as_of("2024-07-13T00:00:01Z", data, where="x")


def test_the_demo_playbook_as_of_is_the_samples_last_day() -> None:
    """The rule without --as-of (the end of the data's last day) gives the demo playbook's own as_of on the samples."""
    from commlab.playbook import load_playbook
    from commlab.run_data import as_of_from_data, load_run_data

    demo = load_playbook(REPO / "playbooks" / "demo.yaml")
    data = load_run_data(SAMPLES, source="canonical", tz="Asia/Shanghai", communities=[], where="demo")
    assert as_of_from_data(data) == demo.parameters["as_of"] == "2024-06-30T16:00:00Z"
    assert len(data.communities) == 12 and data.events == 386167


# --- the report is scanned before it is visible; a killed run is cleaned up -----------------------------

KILL_AT_SCAN = """
import os, signal, sys
import commlab.runner as runner
from pathlib import Path

def kill(paths, *a, **k):
    paths = [Path(p) for p in paths]
    Path(os.environ["SCANNED_LIST"]).write_text("\\n".join(map(str, paths)))
    os.kill(os.getpid(), signal.SIGKILL)

runner.scan_files = kill
from commlab.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.notebook
def test_a_run_killed_at_the_scan_publishes_nothing_and_the_next_run_cleans_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "project")
    pb = write_playbook(root, steps=ONE_STEP)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "SCANNED_LIST": str(tmp_path / "scanned.txt")}
    env.pop("COMMLAB_DATA_CACHE", None)
    killed = subprocess.run([sys.executable, "-c", KILL_AT_SCAN, "run", str(pb), "--runs-dir", "runs"], cwd=root,
                            env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (run,) = _run_folders(root)
    scanned = (tmp_path / "scanned.txt").read_text().splitlines()
    # at the scan the report exists only in the hidden staging folder: nothing links to it, nothing shows it
    assert str(run / ".publish" / "report.html") in scanned and not (run / "report.html").exists()
    assert json.loads((run / "manifest.json").read_text(encoding="utf-8"))["status"] == "running"
    left = list(tmp.glob("commlab-data-*"))
    assert left and any(left[0].rglob("members.parquet"))  # the killed run's validated data, display names in it

    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.delenv("COMMLAB_DATA_CACHE", raising=False)
    good = run_playbook(pb, runs_dir=root / "runs")
    assert not list(tmp.glob("commlab-data-*"))  # the killed run's folder and the new run's own are gone
    m = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "interrupted" and m["error"].startswith(f"abandoned: the process (pid {m['pid']}) ended")
    assert good.manifest["repaired_runs"] == [f"demo/{run.name}"]
    assert not (run / ".publish").exists()  # the unscanned report is removed
    index = (root / "runs" / "index.html").read_text(encoding="utf-8")
    assert f"{run.name}/report.html" not in index and f"{good.run_dir.name}/report.html" in index


@pytest.mark.notebook
def test_a_run_that_cannot_move_latest_is_not_succeeded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path)
    pb = write_playbook(root, steps=ONE_STEP)
    blocker = root / "runs" / "demo" / "latest"
    blocker.mkdir(parents=True)
    (blocker / "keep").write_text("a folder where the link should be", encoding="utf-8")
    assert main(["run", str(pb), "--runs-dir", str(root / "runs")]) == 1
    err = capsys.readouterr().err
    assert "the run finished but was not published" in err and "latest" in err
    (run,) = _run_folders(root)
    m = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "failed" and m["error"].startswith("not published:")
    assert [r["status"] for r in list_runs(root / "runs")] == ["failed"]
    index = (root / "runs" / "index.html").read_text(encoding="utf-8")
    assert "succeeded" not in index and "report.html</a>" not in index
    with pytest.raises(PublishError):
        run_playbook(pb, runs_dir=root / "runs")


def test_a_disk_error_names_the_path_and_leaves_no_run_folder(tmp_path: Path) -> None:
    """No file can grow past 512 bytes (RLIMIT_FSIZE, as on a full disk): the error names the file, no run
    folder is left."""
    import resource

    root = make_project(tmp_path)
    pb = write_playbook(root, steps=ONE_STEP)
    env = {**os.environ, "TMPDIR": str(tmp_path)}

    def no_space() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))

    res = subprocess.run([sys.executable, "-m", "commlab", "run", str(pb), "--runs-dir", "runs"], cwd=root, env=env,
                         capture_output=True, text=True, timeout=300, preexec_fn=no_space)  # noqa: PLW1509
    assert res.returncode == 1, res.stderr
    assert re.search(r"commlab: error: File too large: /.*/runs/demo/\d{8}T\d{6}Z-[0-9a-f]{6}/manifest\.json",
                     res.stderr), res.stderr
    assert "Traceback" not in res.stderr
    assert _run_folders(root) == []


# --- runs/index.html: escaped, no script ---------------------------------------------------------------


def test_index_escapes_every_field_and_links_only_published_reports(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    payload = '<img src=x onerror=alert(1)>云朵<script>alert(2)</script>"\''
    for name, status in (("20260101T000000Z-aaaaaa", "succeeded"), ("20260102T000000Z-bbbbbb", "failed"),
                         ("javascript:alert(3)", "succeeded")):
        run = runs / "demo" / name
        run.mkdir(parents=True)
        (run / "report.html").write_text("<p>r</p>", encoding="utf-8")
        (run / "manifest.json").write_text(json.dumps({"status": status, "title": payload, "error": payload,
                                                       "started": name, "as_of": payload}), encoding="utf-8")
    page = write_index(runs).read_text(encoding="utf-8")
    assert "<script>" not in page and "<img" not in page and "onerror=alert(1)>" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page and "云朵" in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert 'href="./demo/20260101T000000Z-aaaaaa/report.html"' in page
    assert "20260102T000000Z-bbbbbb/report.html" not in page  # a failed run's report is never linked
    assert 'href="javascript:' not in page and 'href="./demo/javascript%3Aalert%283%29/report.html"' in page


def test_only_data_folders_of_dead_runs_are_removed_from_tmpdir(tmp_path: Path) -> None:
    import time

    from commlab.runner import remove_abandoned_data_caches

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folders = {name: tmp_path / name for name in (f"commlab-data-{dead.pid}-abc", f"commlab-data-{os.getpid()}-def",
                                                  "commlab-data-legacyfresh", "commlab-data-legacyold")}
    for f in folders.values():
        (f / "entry").mkdir(parents=True)
        (f / "entry" / "members.parquet").write_bytes(b"names")
    old = time.time() - 2 * 86400
    os.utime(folders["commlab-data-legacyold"], (old, old))
    removed = remove_abandoned_data_caches(tmp_path)
    assert sorted(p.name for p in removed) == [f"commlab-data-{dead.pid}-abc", "commlab-data-legacyold"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"commlab-data-{os.getpid()}-def",
                                                                 "commlab-data-legacyfresh"])


def test_the_data_source_survives_updated_files_but_not_another_community_set(tmp_path: Path) -> None:
    """A weekly run on updated files of the same folder compares with the last one; other communities do not."""
    from commlab.run_data import load_run_data
    from runs_helpers import COMMUNITIES, EVENTS, MEMBERS

    data = make_data(tmp_path / "data")
    load = lambda communities=(): load_run_data(data, source="canonical", tz="Asia/Shanghai",  # noqa: E731
                                                communities=list(communities), where="x")
    before = load()
    (data / "events.csv").write_text(EVENTS + "c1,m2,2024-06-20 10:00:00,message,\n", encoding="utf-8")
    after = load()
    assert after.last > before.last and after.fingerprint == before.fingerprint  # a week later, same source
    assert load(["c1"]).fingerprint != before.fingerprint  # a subset of the communities: another source
    (data / "communities.csv").write_text(COMMUNITIES + "c3,新群,interest,creator,startup,qq,none,2024-01-01\n",
                                          encoding="utf-8")
    (data / "members.csv").write_text(MEMBERS + "c3,m5,2024-01-02 10:00:00,member\n", encoding="utf-8")
    assert load().fingerprint != before.fingerprint
    moved = tmp_path / "copy"
    moved.mkdir()
    for f in data.iterdir():
        (moved / f.name).write_bytes(f.read_bytes())
    assert load_run_data(moved, source="canonical", tz="Asia/Shanghai", communities=[], where="x").fingerprint \
        != load().fingerprint  # another folder is another source, even with the same files
