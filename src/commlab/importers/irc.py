"""Importer for IRC text logs (the Ubuntu IRC logs, irssi, WeeChat and similar line layouts).

Accepted layouts: see :mod:`commlab.replies.irclog` (``[hh:mm] <nick> text``, ``hh:mm <nick> text``,
WeeChat's tab-separated lines, ``=== nick has joined`` system lines, ``* nick`` actions). A source
is one log file (``.gz`` accepted) or a folder of them (``*.txt``, ``*.log``, either ``.gz``); each
file is one community (``community_id`` = the option for a single file, else ``irc-<file stem>``).

Mapping
-------
* each message or ``/me`` action -> ``message`` by its nick, ``message_id`` = its **0-based line
  number** in the file (the numbering of the annotated corpus of Kummerfeld et al. 2019), with
  its ``text``;
* ``has joined`` -> ``join``; ``has left`` / ``has quit`` -> ``leave``; nick changes and other
  channel lines are counted as not mapped (a nick is a member: a renamed member becomes a new id);
* times: the line's ``hh:mm[:ss]`` on the date of the line, of the ``date`` option or of a
  ``YYYY-MM-DD`` in the file name (a time 6 h earlier than the one before is the next day), read
  in the ``tz`` option (default UTC) and stored in UTC; a line without a time takes the time
  before it;
* IRC has no reply field: reply links are inferred (:func:`commlab.replies.infer_replies`: names
  at the start of a message, then the reply model), marked in ``reply_source`` and
  ``reply_confidence``; the option ``infer_replies=false`` leaves them out;
* members: every nick seen, role ``member``; ``joined_at`` = first seen; ``left_at`` = a last
  ``leave`` not followed by a ``join``.
"""

from __future__ import annotations

from datetime import date as Date
from pathlib import Path
from typing import Any

import pandas as pd

from commlab.data.load import Dataset
from commlab.data.schema import Col
from commlab.errors import ImportFormatError
from commlab.importers.finish import finish
from commlab.importers.import_report import ImportReport
from commlab.importers.options import community_row, opt_bool, single_community_option, split_options
from commlab.importers.tables import members_from_events
from commlab.importers.times import text_to_utc
from commlab.replies.corpus import read_text
from commlab.replies.infer import infer_replies, inferred_note
from commlab.replies.irclog import IrcLogError, date_from_name, parse_irc_log

__all__ = ["convert", "read_irc", "OPTIONS"]

OPTIONS: tuple[str, ...] = ("tz", "date", "infer_replies", "progress")
_DEFAULTS = {"theme": "interest", "business_model": "platform", "lifecycle": "mature", "monetization": "none"}
_PATTERNS = ("*.txt", "*.log", "*.txt.gz", "*.log.gz")


def _files(src: Path) -> list[Path]:
    if not src.is_dir():
        return [src]
    files = sorted({p for pat in _PATTERNS for p in src.glob(pat)} - set(src.glob("*.annotation.txt*")))
    if not files:
        raise ImportFormatError(src, "no .txt or .log file (optionally .gz) in the folder")
    return files


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".txt", ".log", ".raw"):
        name = name.removesuffix(suffix)
    return name


def _day(option: Any, path: Path) -> Date | None:
    if option:
        try:
            return Date.fromisoformat(str(option))
        except ValueError as exc:
            raise ImportFormatError(path, f"date option {option!r} is not YYYY-MM-DD") from exc
    return date_from_name(path.name)


def convert(source: str | Path, **options: Any) -> tuple[Dataset, ImportReport]:
    """Convert IRC text logs to the canonical tables.

    Parameters
    ----------
    source : str or Path
        A log file or a folder of them.
    **options
        Community options (``community_id`` for a single file); ``tz`` (zone of the log's times,
        default UTC); ``date`` (``YYYY-MM-DD`` of the first line, when neither the lines nor the
        file name carry a date); ``infer_replies`` (default true).

    Returns
    -------
    dataset, report : Dataset and ImportReport

    Raises
    ------
    ImportFormatError
        No message line, no date for the times, a bad time (names the file and line).
    """
    split_options(options, OPTIONS, "irc")
    src = Path(source)
    files = _files(src)
    single_community_option(options, len(files), "log files")
    tz = options.get("tz") or "UTC"
    infer = opt_bool(options.get("infer_replies"), "infer_replies")
    report = ImportReport("irc", str(src))
    comms, parts = [], []
    for f in files:
        try:
            lines = parse_irc_log(read_text(f), name=f.name, day=_day(options.get("date"), f))
        except IrcLogError as exc:
            raise ImportFormatError(f, exc.what, exc.fix) from exc
        report.read(f.name, len(lines))
        if any(ln.ts is None for ln in lines):
            raise ImportFormatError(f, "the lines carry no date and the file name has no YYYY-MM-DD",
                                    "pass the option date=YYYY-MM-DD (the day of the first line)")
        cid = (options.get(Col.community_id) if len(files) == 1 else None) or f"irc-{_stem(f)}"
        rows = []
        for ln in lines:
            if ln.is_content:
                rows.append({Col.member_id: ln.nick, "ts": ln.ts, "event_type": "message", "text": ln.text,
                             "message_id": str(ln.index)})
            elif ln.kind in ("join", "leave") and ln.nick:
                rows.append({Col.member_id: ln.nick, "ts": ln.ts, "event_type": ln.kind,
                             "message_id": str(ln.index)})
            elif ln.kind == "blank":
                continue
            elif ln.kind == "unknown":
                report.drop("line of no known IRC layout")
            else:
                report.skip("nick change" if ln.kind == "nick" else "channel line (mode, topic, ...)")
        if not rows:
            raise ImportFormatError(f, "no message with a nick")
        ev = pd.DataFrame(rows)
        ev[Col.community_id] = cid
        ev["ts"] = text_to_utc(ev["ts"].map(lambda t: t.isoformat(sep=" ")), tz=tz, file=str(f), what="time")
        for col in ("text", "message_id"):
            ev[col] = ev[col].astype("string")
        parts.append(ev)
        opts = {k: v for k, v in options.items() if k != Col.community_id}
        comms.append(community_row(community_id=cid, name=_stem(f), platform="other", created_at=ev["ts"].min(),
                                   source="IRC log", report=report, defaults=_DEFAULTS, options=opts))
    events = pd.concat(parts, ignore_index=True)
    events["target_member_id"] = pd.Series(pd.NA, index=events.index, dtype="string")
    if infer is not False:
        events = infer_replies(events)
        report.notes.append(inferred_note(events))
    members = members_from_events(events)
    ds = finish(pd.DataFrame(comms), members, events, source=str(src), report=report)
    return ds, report


def read_irc(source: str | Path, **options: Any) -> Dataset:
    """Read IRC text logs into a validated :class:`Dataset` (see :func:`convert`)."""
    return convert(source, **options)[0]
