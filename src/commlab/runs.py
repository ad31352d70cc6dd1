"""Run folders: creating them, the ``latest`` link, and ``runs/index.html``.

Layout::

    runs/
      index.html                         every run of every playbook
      .commlab.lock                      held for milliseconds while ``latest`` and the index change
      <playbook>/
        latest -> 20261127T180102Z-3fa2c1    (relative symlink, successful runs only)
        .run-<data key>.lock             held by the run of this playbook on one data folder
        20261127T180102Z-3fa2c1/
          manifest.json  summary.json  report.html
          <step>.ipynb                   executed notebook
          <step>/                        the step's output_dir (its summary.json, tables)

A run's ``manifest.json`` says ``running`` while it works, ``publishing`` while ``latest`` moves,
then ``succeeded``, ``failed`` or ``interrupted``. A run whose process died (SIGKILL, a power
cut) is marked ``interrupted`` by the next run (:func:`repair_abandoned`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import secrets
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from commlab.atomic import atomic_write_json, atomic_write_text, replace_symlink
from commlab.errors import RunLockedError

__all__ = ["new_run_dir", "point_latest", "runs_lock", "run_lock", "RunLock", "list_runs", "write_index",
           "read_manifest", "repair_abandoned", "previous_run", "LATEST", "STAGING"]

logger = logging.getLogger(__name__)

#: Name of the symlink to the newest successful run of a playbook.
LATEST = "latest"
#: Hidden folder of a run where its shareable files are written and scanned before they are moved into place.
STAGING = ".publish"


def new_run_dir(runs_dir: str | Path, playbook: str, started: datetime) -> Path:
    """Create and return a fresh folder ``runs_dir/playbook/<UTC stamp>-<random>``.

    ``mkdir`` either creates the folder or fails, so two runs started in the
    same second never share a folder.

    Parameters
    ----------
    runs_dir : str or Path
        Root of all runs.
    playbook : str
        The playbook name.
    started : datetime
        Start time, used for the ``YYYYmmddTHHMMSSZ`` stamp.
    """
    parent = Path(runs_dir) / playbook
    parent.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    for _ in range(100):
        path = parent / f"{stamp}-{secrets.token_hex(3)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise RuntimeError(f"could not create a unique run folder in {parent}")  # pragma: no cover


def point_latest(run_dir: str | Path) -> Path:
    """Point ``<run_dir>/../latest`` at ``run_dir`` atomically (relative link)."""
    run_dir = Path(run_dir)
    return replace_symlink(run_dir.parent / LATEST, run_dir.name)


@contextmanager
def runs_lock(runs_dir: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on ``runs_dir`` while updating ``latest`` and the index.

    The lock is held for milliseconds; concurrent runs wait for each other
    here, not while their notebooks execute.
    """
    root = Path(runs_dir)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".commlab.lock", "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class RunLock:
    """The lock of one playbook on one data folder, held for the whole run (see :func:`run_lock`)."""

    def __init__(self, path: Path, handle: Any) -> None:
        self.path = path
        self._handle = handle

    def holder(self, run_id: str | None, *, started: str) -> None:
        """Record who holds the lock (read by a run that finds it taken); best effort (a full disk skips it)."""
        info = {"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname(), "started": started}
        try:
            self._handle.seek(0)
            self._handle.truncate()
            self._handle.write(json.dumps(info))
            self._handle.flush()
        except OSError as exc:
            logger.warning("could not record the holder of %s: %s", self.path, exc)


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    run = info.get("run_id")
    who = f"run {run}" if run else "a run that is starting"
    return f"{who} (pid {info.get('pid', '?')} on {info.get('host', '?')}, started {info.get('started', '?')})"


@contextmanager
def run_lock(runs_dir: str | Path, playbook: str, data_key: str, *, wait: bool = False) -> Iterator[RunLock]:
    """Hold the lock of ``playbook`` on the data ``data_key`` for as long as the block runs.

    Two runs of the same playbook on the same data would race for the same comparison and
    ``latest``; runs of other playbooks or on other data do not wait for each other. The lock is
    an ``flock`` on ``runs_dir/playbook/.run-<hash>.lock``: the system releases it when its
    process ends in any way (SIGKILL included), so a stale lock never blocks a run.

    Parameters
    ----------
    runs_dir : str or Path
        Root of the run folders.
    playbook : str
        The playbook name.
    data_key : str
        What identifies the data (the resolved data folder).
    wait : bool
        Wait for the holder to finish instead of failing.

    Raises
    ------
    RunLockedError
        When another run holds it and ``wait`` is false; the message names the holder's run id.
    """
    folder = Path(runs_dir) / playbook
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f".run-{hashlib.sha256(data_key.encode('utf-8')).hexdigest()[:16]}.lock"
    with open(path, "a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(path)
            if not wait:
                raise RunLockedError(
                    f"playbook {playbook!r} is already running on this data ({data_key}): {holder}; "
                    "try again when it ends, or pass --wait to queue behind it"
                ) from None
            logger.info("waiting for %s to end (--wait)", holder)
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        lock = RunLock(path, fh)
        lock.holder(None, started=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        try:
            yield lock
        finally:
            try:
                fh.seek(0)
                fh.truncate()
            except OSError:
                pass
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def read_manifest(run: Path) -> dict[str, Any] | None:
    """The ``manifest.json`` of the run folder ``run``, or ``None`` if it has none (or it cannot be read)."""
    try:
        m = json.loads((Path(run) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) else None


def _run_folders(pb_dir: Path) -> Iterator[Path]:
    for run in pb_dir.iterdir():
        if run.name == LATEST or run.name.startswith(".") or run.is_symlink() or not run.is_dir():
            continue
        yield run


def repair_abandoned(runs_dir: str | Path, *, by: str = "") -> list[str]:
    """Mark the runs whose process died mid-run (SIGKILL, power cut) as ``interrupted``.

    A manifest still ``running`` (or ``publishing``) written by a process of this host that no
    longer exists is rewritten: ``interrupted`` with the reason, or ``succeeded`` for a run that
    was publishing and that ``latest`` already points at. Its unpublished staging folder
    (:data:`STAGING`, possibly holding an unscanned report) is removed. Runs of other hosts are
    left alone (their processes cannot be checked from here).

    Parameters
    ----------
    runs_dir : str or Path
        Root of the run folders.
    by : str
        The run id doing the repair, recorded in the message.

    Returns
    -------
    list of str
        The ``playbook/run_id`` of each run repaired.
    """
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    host = socket.gethostname()
    repaired: list[str] = []
    for pb_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        latest = pb_dir / LATEST
        latest_name = os.readlink(latest) if latest.is_symlink() else None
        for run in _run_folders(pb_dir):
            m = read_manifest(run)
            if m is None or m.get("status") not in ("running", "publishing"):
                continue
            if m.get("host") != host or not isinstance(m.get("pid"), int) or _alive(m["pid"]):
                continue
            published = m["status"] == "publishing" and run.name == latest_name
            note = f"; marked by run {by}" if by else ""
            m["status"] = "succeeded" if published else "interrupted"
            if not published:
                m["error"] = (f"abandoned: the process (pid {m['pid']}) ended without finishing the run "
                              f"(killed?){note}")
                for step in m.get("steps", []):
                    if step.get("status") == "running":
                        step["status"] = "interrupted"
            m["ended"] = m.get("ended") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            try:
                atomic_write_json(run / "manifest.json", m)
            except OSError as exc:
                logger.warning("could not mark the abandoned run %s: %s", run, exc)
                continue
            shutil.rmtree(run / STAGING, ignore_errors=True)
            repaired.append(f"{pb_dir.name}/{run.name}")
    return repaired


def previous_run(runs_dir: str | Path, playbook: str, fingerprint: str) -> Path | None:
    """The latest succeeded run of ``playbook`` on the data source ``fingerprint`` that wrote ``summary.json``.

    Runs on other data (another folder, another set of communities) are never chosen, nor are
    runs whose manifest records no data source (made before commlab recorded it).
    """
    folder = Path(runs_dir) / playbook
    if not folder.is_dir():
        return None
    found: list[tuple[str, str, Path]] = []
    for run in _run_folders(folder):
        m = read_manifest(run)
        if (m is None or m.get("status") != "succeeded" or not (run / "summary.json").is_file()
                or (m.get("data_source") or {}).get("fingerprint") != fingerprint):
            continue
        found.append((str(m.get("ended") or ""), run.name, run))
    return max(found)[2].resolve() if found else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_runs(runs_dir: str | Path) -> list[dict[str, Any]]:
    """Every run folder under ``runs_dir``, newest first.

    Each run is a dict with ``playbook``, ``run_id``, ``path``, ``status``,
    ``started``, ``ended``, ``as_of``, ``title``, ``error``, ``report`` (Path or
    None) and ``latest`` (bool), read from its ``manifest.json``.

    A run still marked ``running`` whose process is gone on this host is
    reported as ``interrupted``; a folder without a readable manifest as
    ``unknown``.
    """
    root = Path(runs_dir)
    out: list[dict[str, Any]] = []
    if not root.is_dir():
        return out
    host = socket.gethostname()
    for pb_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        latest = pb_dir / LATEST
        latest_name = os.readlink(latest) if latest.is_symlink() else None
        for run in _run_folders(pb_dir):
            m: dict[str, Any] = read_manifest(run) or {"status": "unknown"}
            status = m.get("status", "unknown")
            if status in ("running", "publishing") and m.get("host") == host and isinstance(m.get("pid"), int):
                if not _alive(m["pid"]):
                    status = "interrupted"
            out.append(dict(
                playbook=pb_dir.name, run_id=run.name, path=run, status=status,
                started=m.get("started", ""), ended=m.get("ended", ""), as_of=m.get("as_of"),
                title=m.get("title", ""), error=m.get("error", ""),
                report=(run / "report.html") if (run / "report.html").is_file() else None,
                latest=(run.name == latest_name),
            ))
    out.sort(key=lambda r: (r["started"] or "", r["run_id"]), reverse=True)
    return out


_STATUS = {"succeeded": "#1a7f37", "failed": "#cf222e", "interrupted": "#9a6700", "running": "#0969da"}


def _index_template() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                      undefined=StrictUndefined, keep_trailing_newline=True)
    return env.get_template("runs_index.html.j2")


def write_index(runs_dir: str | Path) -> Path:
    """(Re)write ``runs_dir/index.html`` listing every run, newest first.

    The page is self-contained (no scripts, no external links; a Content-Security-Policy forbids
    both), rendered from ``templates/runs_index.html.j2`` with autoescaping (playbook titles,
    folder names and error messages may hold anything), and links the ``report.html`` of
    succeeded runs only (a report of any other run was never published) with a relative path.
    """
    root = Path(runs_dir)
    runs = [dict(r, colour=_STATUS.get(r["status"], "#57606a"),
                 link=bool(r["report"]) and r["status"] == "succeeded") for r in list_runs(root)]
    return atomic_write_text(root / "index.html", _index_template().render(runs=runs))
