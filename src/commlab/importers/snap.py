"""Importer for SNAP temporal edge lists (``SRC DST UNIXTS`` per line).

Layout (snap.stanford.edu temporal networks, e.g. ``CollegeMsg.txt[.gz]``):
plain text, one edge per line, three integers separated by spaces or tabs,
no header; lines starting with ``#`` or ``%`` are comments. An edge
``(u, v, t)`` means member ``u`` sent a message to member ``v`` at Unix time
``t`` (UTC).

Mapping
-------
* each edge -> one event by ``u`` with ``target_member_id`` = ``v`` and
  ``ts`` = ``t``; ``event_type`` is ``reply`` by default (a directed message
  aimed at a member: the interaction-network edge), or ``message`` /
  ``mention`` with the option ``event_type``. ``thread_id`` is empty.
* members are every id seen as sender or recipient; ``joined_at`` = the first
  time the id appears (no join time in the source; noted in the report),
  role ``member``.
* community ``created_at`` = the first edge.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from commlab.data.load import Dataset
from commlab.errors import UsageError
from commlab.importers.base import (
    ImportFormatError,
    ImportReport,
    community_row,
    finish,
    members_from_events,
    open_with_progress,
    opt_bool,
    split_options,
    unix_to_utc,
)

__all__ = ["convert", "read_snap", "OPTIONS"]

#: Importer-specific options.
OPTIONS: tuple[str, ...] = ("event_type", "progress")

_DEFAULTS = {"theme": "interest", "business_model": "platform", "lifecycle": "mature", "monetization": "none"}


def convert(source: str | Path, **options: Any) -> tuple[Dataset, ImportReport]:
    """Convert a SNAP temporal edge list to the canonical tables.

    Parameters
    ----------
    source : str or Path
        The edge-list file (``.txt``, ``.csv`` or either ``.gz``).
    **options
        Community options, ``event_type`` (``reply`` default, ``message`` or
        ``mention``) and ``progress``.

    Returns
    -------
    dataset, report : Dataset and ImportReport

    Raises
    ------
    ImportFormatError
        If a line is not three integers (names the line).
    """
    split_options(options, OPTIONS, "snap")
    path = Path(source)
    if not path.is_file():
        raise ImportFormatError(path, "not a file", "pass the edge-list file, e.g. CollegeMsg.txt.gz")
    etype = options.get("event_type") or "reply"
    if etype not in ("reply", "message", "mention"):
        raise UsageError(f"event_type for snap must be reply, message or mention, not {etype!r}")
    report = ImportReport("snap", str(path))
    with open_with_progress(path, show=opt_bool(options.get("progress"), "progress")) as fh:
        try:
            raw = b"".join(iter(lambda: fh.read(1 << 20), b""))
        except (OSError, EOFError) as exc:
            raise ImportFormatError(path, f"unreadable or truncated file ({exc})") from exc
    text = raw.decode("utf-8", errors="strict") if raw else ""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith(("#", "%"))]
    report.read("edges", len(lines))
    try:
        arr = np.loadtxt(io.StringIO("\n".join(lines)), dtype=np.int64, ndmin=2) if lines else np.empty((0, 3))
    except ValueError as exc:
        bad = next((i for i, ln in enumerate(text.splitlines(), 1)
                    if ln.strip() and not ln.lstrip().startswith(("#", "%")) and not _is_edge(ln)), None)
        raise ImportFormatError(
            path, f"line {bad}: not three integers 'SRC DST UNIXTS' ({exc})",
            "each line must be: sender id, recipient id, Unix time in seconds",
        ) from exc
    if arr.shape[1] < 3:
        raise ImportFormatError(path, f"expected 3 columns (SRC DST UNIXTS), found {arr.shape[1]}")
    if arr.shape[1] > 3:
        report.notes.append(f"{arr.shape[1] - 3} extra column(s) per line ignored")
    cid = options.get("community_id") or path.name.split(".")[0]
    events = pd.DataFrame({
        "community_id": cid,
        "member_id": pd.Series(arr[:, 0].astype(str), dtype="string"),
        "ts": unix_to_utc(arr[:, 2], file=str(path), what="UNIXTS"),
        "event_type": etype,
        "target_member_id": pd.Series(arr[:, 1].astype(str), dtype="string"),
    })
    n_self = int((events["member_id"] == events["target_member_id"]).sum())
    if n_self:
        report.notes.append(f"{n_self} self-loop edge(s) kept (sender == recipient)")
    members = members_from_events(events)
    report.notes.append("members derived from sender and recipient ids; joined_at = first time seen "
                        "(no join time in the source)")
    comm = community_row(
        community_id=cid, name=cid, platform="other", created_at=events["ts"].min(),
        source=f"SNAP temporal network {path.name}", report=report, defaults=_DEFAULTS, options=options,
    )
    return finish(pd.DataFrame([comm]), members, events, source=str(path), report=report), report


def _is_edge(line: str) -> bool:
    parts = line.split()
    return len(parts) >= 3 and all(p.lstrip("-").isdigit() for p in parts[:3])


def read_snap(source: str | Path, **options: Any) -> Dataset:
    """Read a SNAP temporal edge list into a validated :class:`Dataset` (see :func:`convert`)."""
    return convert(source, **options)[0]
