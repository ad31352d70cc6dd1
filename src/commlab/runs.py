"""Run folders: creating them, the ``latest`` link, and ``runs/index.html``.

Layout::

    runs/
      index.html                         every run of every playbook
      <playbook>/
        latest -> 20261127T180102Z-3fa2c1    (relative symlink, successful runs only)
        20261127T180102Z-3fa2c1/
          manifest.json  summary.json  report.html
          <step>.ipynb                   executed notebook
          <step>/                        the step's output_dir (its summary.json, tables)
"""

from __future__ import annotations

import fcntl
import html
import json
import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from commlab.atomic import atomic_write_text, replace_symlink

__all__ = ["new_run_dir", "point_latest", "runs_lock", "list_runs", "write_index", "LATEST"]

#: Name of the symlink to the newest successful run of a playbook.
LATEST = "latest"


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
        for run in pb_dir.iterdir():
            if run.name == LATEST or run.name.startswith(".") or run.is_symlink() or not run.is_dir():
                continue
            try:
                m: dict[str, Any] = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                m = {"status": "unknown"}
            status = m.get("status", "unknown")
            if status == "running" and m.get("host") == host and isinstance(m.get("pid"), int):
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


def write_index(runs_dir: str | Path) -> Path:
    """(Re)write ``runs_dir/index.html`` listing every run, newest first.

    The page is self-contained (no scripts, no external links) and links to
    each run's ``report.html`` with a relative path.
    """
    root = Path(runs_dir)
    rows = []
    for r in list_runs(root):
        e = html.escape
        link = (f'<a href="{e(r["playbook"])}/{e(r["run_id"])}/report.html">report.html</a>'
                if r["report"] else "")
        colour = _STATUS.get(r["status"], "#57606a")
        latest = ' <span class="latest">latest</span>' if r["latest"] else ""
        error = f'<div class="err">{e(str(r["error"]))}</div>' if r["error"] else ""
        rows.append(
            f"<tr><td>{e(r['playbook'])}</td><td>{e(str(r['title']))}</td>"
            f"<td><code>{e(r['run_id'])}</code>{latest}</td><td>{e(r['started'] or '')}</td>"
            f"<td>{e(str(r['as_of'] or ''))}</td>"
            f'<td style="color:{colour}">{e(r["status"])}{error}</td><td>{link}</td></tr>'
        )
    body = "\n".join(rows) or '<tr><td colspan="7">no runs yet</td></tr>'
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>commlab runs</title>
<style>
body {{ font-family: system-ui, "Noto Sans CJK SC", sans-serif; margin: 2rem; color: #1f2328; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }}
th {{ background: #f6f8fa; }}
.latest {{ font-size: .8em; background: #ddf4ff; padding: 0 .3em; border-radius: 3px; }}
.err {{ font-size: .85em; color: #57606a; max-width: 40em; }}
</style>
</head>
<body>
<h1>commlab runs</h1>
<table>
<thead><tr><th>playbook</th><th>title</th><th>run</th><th>started (UTC)</th><th>as of</th>
<th>status</th><th>report</th></tr></thead>
<tbody>
{body}
</tbody>
</table>
</body>
</html>
"""
    return atomic_write_text(root / "index.html", page)
