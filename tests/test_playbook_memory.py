"""A playbook run bounds DuckDB's memory: the limit reaches the engine's connections in the notebook's kernel.

DuckDB's own default ``memory_limit`` is 80 % of the machine's memory; a playbook step on the DuckDB engine
gets :data:`commlab.engines.duck.PLAYBOOK_MEMORY_LIMIT` and a spill folder in the run's data cache unless its
``engine_options`` set them (:func:`commlab.engines.duck.playbook_engine_options`). The test runs notebook 03
through the real ``commlab run`` (papermill, a real kernel) on the samples' two smallest communities, with a
``sitecustomize`` in the kernel that records DuckDB's settings on every connection the engine opens.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from commlab.engines.duck import PLAYBOOK_MEMORY_LIMIT, PLAYBOOK_SPILL_DIR, DuckDBEngine, playbook_engine_options

REPO = Path(__file__).resolve().parents[1]

SPY = '''
import json, os

def _install():
    from commlab.engines.duck import DuckDBEngine
    connect = DuckDBEngine.connect

    def spied(self):
        con = connect(self)
        settings = {k: con.execute(f"SELECT current_setting('{k}')").fetchall()[0][0]
                    for k in ("memory_limit", "temp_directory")}
        with open(os.environ["COMMLAB_TEST_DUCK_SPY"], "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"cwd": os.getcwd(), **settings}) + "\\n")
        return con
    DuckDBEngine.connect = spied

if os.environ.get("COMMLAB_TEST_DUCK_SPY"):
    _install()
'''


def _shown(limit: str) -> str:
    """How DuckDB reports ``limit`` once set (e.g. ``1250MB`` -> ``1.1 GiB``)."""
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{limit}'")
        return str(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
    finally:
        con.close()


def _commlab_run(book: Path, tmp_path: Path, env: dict[str, str], *,
                 notebooks: Path = REPO / "notebooks") -> subprocess.CompletedProcess[str]:
    """``commlab run book`` in a child process (notebooks from ``notebooks``, runs under ``tmp_path``)."""
    return subprocess.run([sys.executable, "-m", "commlab", "-q", "run", str(book),
                           "--runs-dir", str(tmp_path / "runs"), "--notebooks-dir", str(notebooks)],
                          capture_output=True, text=True, timeout=900, cwd=tmp_path, env=env)


def test_playbook_engine_options_defaults_and_overrides(tmp_path: Path):
    assert playbook_engine_options({}, tmp_path) == {"memory_limit": PLAYBOOK_MEMORY_LIMIT,
                                                     "temp_directory": str(tmp_path / PLAYBOOK_SPILL_DIR)}
    given = {"memory_limit": "4GB", "temp_directory": "/elsewhere", "threads": 1}
    assert playbook_engine_options(given, tmp_path) == given
    assert playbook_engine_options(None, None) == {"memory_limit": PLAYBOOK_MEMORY_LIMIT}
    # the limit is one DuckDB accepts, and lower than its own default on this machine
    default = DuckDBEngine().connect().execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert _shown(PLAYBOOK_MEMORY_LIMIT) != default


def test_memory_limit_reaches_duckdb_in_a_real_run(tmp_path: Path, samples_dir: Path):
    """Step ``health`` (no engine options) gets the default limit and a spill folder in the run's data cache,
    step ``health_4gb`` its own ``memory_limit``; the manifest records each step's effective options."""
    spy_dir = tmp_path / "spy"
    spy_dir.mkdir()
    (spy_dir / "sitecustomize.py").write_text(SPY, encoding="utf-8")
    nb = os.path.relpath(REPO / "notebooks" / "03_community_health.ipynb", tmp_path)
    book = tmp_path / "book.yaml"
    book.write_text(json.dumps({
        "name": "memory", "title": {"en": "memory"}, "data": str(samples_dir),
        "parameters": {"as_of": "2024-06-30T16:00:00Z", "lang": "en", "communities": ["c01", "c04"],
                       "window": "none"},
        "steps": [{"notebook": str(nb), "name": "health", "parameters": {}},
                  {"notebook": str(nb), "name": "health_4gb",
                   "parameters": {"engine_options": {"memory_limit": "4GB"}}}],
        "report": {"lang": "en", "k_anonymity": 5}}), encoding="utf-8")
    log = tmp_path / "duck.jsonl"
    env = {**os.environ, "COMMLAB_TEST_DUCK_SPY": str(log), "COMMLAB_PSEUDONYM_KEY": "test",
           "PYTHONPATH": os.pathsep.join([str(spy_dir), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.pop("COMMLAB_DATA_CACHE", None)
    run = _commlab_run(book, tmp_path, env)
    assert run.returncode == 0, run.stderr[-3000:]
    seen = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    by_step = {name: [s for s in seen if Path(s["cwd"]).name == name] for name in ("health", "health_4gb")}
    assert by_step["health"] and by_step["health_4gb"], seen
    assert {s["memory_limit"] for s in by_step["health"]} == {_shown(PLAYBOOK_MEMORY_LIMIT)}
    assert all(Path(s["temp_directory"]).name == PLAYBOOK_SPILL_DIR for s in by_step["health"])
    assert {s["memory_limit"] for s in by_step["health_4gb"]} == {_shown("4GB")}
    manifest = json.loads((Path(tmp_path / run.stdout.strip().splitlines()[-1]).parent / "manifest.json").read_text())
    opts = {st["name"]: st["parameters"]["engine_options"] for st in manifest["steps"]}
    assert opts["health"]["memory_limit"] == PLAYBOOK_MEMORY_LIMIT
    assert opts["health"]["temp_directory"] == by_step["health"][0]["temp_directory"]
    assert opts["health_4gb"]["memory_limit"] == "4GB"


def test_out_of_memory_stop_names_the_setting_to_raise(tmp_path: Path, samples_dir: Path):
    """A step whose DuckDB bound is too small stops with exit 5, DuckDB's message, the executed notebook
    kept, and the setting to raise (``engine_options: {memory_limit: ...}``) with the value it had."""
    nb = os.path.relpath(REPO / "notebooks" / "03_community_health.ipynb", tmp_path)
    book = tmp_path / "book.yaml"
    book.write_text(json.dumps({
        "name": "oom", "title": {"en": "oom"}, "data": str(samples_dir),
        "parameters": {"as_of": "2024-06-30T16:00:00Z", "lang": "en", "communities": ["c01", "c04"],
                       "window": "none"},
        "steps": [{"notebook": str(nb), "name": "health",
                   "parameters": {"engine_options": {"memory_limit": "1MB"}}}],
        "report": {"lang": "en", "k_anonymity": 5}}), encoding="utf-8")
    env = {**os.environ, "COMMLAB_PSEUDONYM_KEY": "test"}
    env.pop("COMMLAB_DATA_CACHE", None)
    run = _commlab_run(book, tmp_path, env)
    assert run.returncode == 5, run.stderr[-3000:]
    error = run.stderr.strip().splitlines()[-1]
    assert "Out of Memory Error" in error, error
    assert "memory_limit 1MB" in error and "engine_options: {memory_limit:" in error, error
    assert "Traceback" not in run.stderr
    kept = error.split("executed notebook kept at ")[1].split(";")[0]
    assert Path(kept).is_file()


def test_a_killed_kernel_names_the_likely_cause(tmp_path: Path, samples_dir: Path):
    """A kernel killed mid-cell (as the system's out-of-memory killer does) stops the run with exit 5, the cell
    named, and the hint that memory is the usual cause and which setting lowers it."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = 'as_of: str = ""\noutput_dir: str = "."\ndata_dir: str = ""'
    nb.cells = [nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "nbs").mkdir()
    nbformat.write(nb, tmp_path / "nbs" / "killed.ipynb")
    book = tmp_path / "book.yaml"
    book.write_text(json.dumps({
        "name": "killed", "title": {"en": "killed"}, "data": str(samples_dir),
        "parameters": {"as_of": "2024-06-30T16:00:00Z"},
        "steps": [{"notebook": "nbs/killed.ipynb", "name": "killed", "parameters": {}}],
        "report": {"lang": "en", "k_anonymity": 5}}), encoding="utf-8")
    env = {**os.environ, "COMMLAB_PSEUDONYM_KEY": "test"}
    env.pop("COMMLAB_DATA_CACHE", None)
    run = _commlab_run(book, tmp_path, env, notebooks=tmp_path / "nbs")
    assert run.returncode == 5, run.stderr[-3000:]
    error = run.stderr.strip().splitlines()[-1]
    assert "DeadKernelError" in error and "cell 1" in error, error
    assert "killed by the system for its memory" in error and "memory_limit" in error, error
