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
from commlab.data.schema import Col
from commlab.errors import ImportFormatError, UsageError
from commlab.importers.files import read_bytes
from commlab.importers.finish import finish
from commlab.importers.import_report import ImportReport
from commlab.importers.options import community_row, opt_bool, split_options
from commlab.importers.tables import members_from_events, note_identical_rows
from commlab.importers.times import LineLabels, unix_to_utc

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
    raw = read_bytes(path, show=opt_bool(options.get("progress"), "progress"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ImportFormatError(path, f"not UTF-8 text (byte {exc.start}: {exc.reason})",
                                "each line must be: sender id, recipient id, Unix time in seconds",
                                record=f"line {line}") from exc
    all_lines = text.splitlines()
    keep = [i for i, ln in enumerate(all_lines) if ln.strip() and not ln.lstrip().startswith(("#", "%"))]
    lines = [all_lines[i] for i in keep]
    report.read("edges", len(lines))
    if not lines:
        raise ImportFormatError(path, "no edges (only comments or blank lines)",
                                "each line must be: sender id, recipient id, Unix time in seconds")
    try:
        arr = np.loadtxt(io.StringIO("\n".join(lines)), dtype=np.int64, ndmin=2)
    except (ValueError, OverflowError) as exc:
        bad = next((i for i, ln in zip(keep, lines, strict=True) if _bad_field(ln)), None)
        where = f"line {bad + 1}" if bad is not None else None
        shown = f": {all_lines[bad].strip()[:80]!r}" if bad is not None else f" ({exc})"
        raise ImportFormatError(
            path, f"not three integers 'SRC DST UNIXTS'{shown}",
            "each line must be: sender id, recipient id, Unix time in seconds (whole numbers of at most 18 digits)",
            record=where, field=_bad_field(all_lines[bad]) if bad is not None else None,
        ) from exc
    if arr.shape[1] < 3:
        raise ImportFormatError(path, f"expected 3 columns (SRC DST UNIXTS), found {arr.shape[1]}",
                                record=f"line {keep[0] + 1}")
    if arr.shape[1] > 3:
        report.notes.append(f"{arr.shape[1] - 3} extra column(s) per line ignored")
    cid = options.get(Col.community_id) or path.name.split(".")[0]
    events = pd.DataFrame({
        Col.community_id: cid,
        Col.member_id: pd.Series(arr[:, 0].astype(str), dtype="string"),
        "ts": unix_to_utc(arr[:, 2], file=str(path), what="UNIXTS", records=LineLabels(keep)),
        "event_type": etype,
        "target_member_id": pd.Series(arr[:, 1].astype(str), dtype="string"),
    })
    note_identical_rows(events, report, "edge(s)")
    n_self = int((events[Col.member_id] == events["target_member_id"]).sum())
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


_FIELDS = ("SRC", "DST", "UNIXTS")


def _bad_field(line: str) -> str | None:
    """The first of SRC, DST, UNIXTS that is absent or not a whole number fitting 64 bits; ``None`` if all are."""
    parts = line.split()
    for name, p in zip(_FIELDS, parts + [""] * 3, strict=False):
        if not (p.lstrip("-").isdigit() and len(p.lstrip("-")) <= 18):
            return name
    return None


def read_snap(source: str | Path, **options: Any) -> Dataset:
    """Read a SNAP temporal edge list into a validated :class:`Dataset` (see :func:`convert`)."""
    return convert(source, **options)[0]
