"""Seeded fuzz test: every corrupted import is a clear exit-3 error or a counted skip, never a traceback.

Each importer fixture of ``tests/fixtures/importers`` (and a small CSV data set cut from
``data/samples``, checked with ``commlab validate``) is corrupted in each of the ways below, a
seeded choice of record and field at a time, and run through the command line
(:func:`commlab.cli.main` in-process; a few through a real ``python -m commlab`` process):

=====================  =====================================================================
time_out_of_range      a time outside what a datetime can hold (year 9999, or Unix 10**11 s)
overflow_unix          a Unix time that overflows any integer (10**30)
deep_nesting           a JSON field nested 100 000 deep (RecursionError) or 900 deep
wrong_type             a field of the wrong type ("abc" for a number, a number for an object)
missing_field          a required field or column removed from a record or the file
binary_bytes           random binary bytes inserted into the file
gbk_bytes              the whole file re-encoded as GBK (or GBK text inserted where UTF-8 is required)
truncated              the file cut inside a record, just after a separator that is not the record's last
empty_file             a file of zero bytes, and a well-formed file without any record
duplicate_ids          a record repeated with the same message id
object_for_scalar      an object ``{"a": [1]}`` where an id or a time is expected
=====================  =====================================================================

The outcome of each case must be one of:

* **clear error**: exit code 3; the first line of stderr is ``commlab: error: ...`` and names the
  corrupted file (and, for a corrupted field, the field and the record: line, row, message id or
  element); no traceback; no output folder (nor a temporary one beside it);
* **counted skip**: exit code 0 and ``import_report.json`` counts more of some kind of record dropped
  or not mapped than the clean fixture's import does (a duplicate message id must be counted under
  ``duplicate ...`` and leave the very tables of the clean import);
* **unchanged**: exit code 0 and the very tables of the clean fixture's import: the corruption
  touched nothing the import reads (a GBK re-encoding, which the importers read as GB18030);
* **kept with a note**: a record repeated in a format without message ids (QQ, SNAP, a mapped
  file without a message-id column) is kept, since it may be a message sent twice, and the report
  notes the identical records.

In every successful import, no community or member id may look like a Python object or a
missing value (``{...}``, ``[...]``, ``None``, ``nan``): that was how the silent corruptions
showed. The counts (corruptions tried, clear errors, skips) are printed at the end.
``COMMLAB_FUZZ_SEED`` runs other seeds (other records and fields), ``COMMLAB_FUZZ_TARGETS`` some
targets only, ``COMMLAB_FUZZ_SHOW`` prints each case's first error line (with ``-s``).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from commlab.cli import main

FIX = Path(__file__).parent / "fixtures" / "importers"
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
SEED = int(os.environ.get("COMMLAB_FUZZ_SEED", "20240622"))  # another seed explores other records and fields

KINDS = ("time_out_of_range", "overflow_unix", "deep_nesting", "wrong_type", "missing_field", "binary_bytes",
         "gbk_bytes", "truncated", "empty_file", "duplicate_ids", "object_for_scalar")
#: Corruptions of one field of one record: the error must name the field and the record.
FIELD_KINDS = ("time_out_of_range", "overflow_unix", "wrong_type", "missing_field", "object_for_scalar")
#: How an error names a record: a line, a row, an item or message, a post or user, an XML element.
RECORD = re.compile(r"\b(line|row|item|message|post|user|chat|element|<row)\b", re.IGNORECASE)
OBJECT = {"a": [1]}


@dataclass(frozen=True)
class Target:
    """One fixture and what may be corrupted in it.

    ``records`` gives the list of record dicts of a JSON file (``None`` for other layouts);
    ``time`` is the time field and its kind (``unix_s``, ``unix_ms``, ``slack`` or ``text``);
    ``ids`` the message-id field (its duplicates must be dropped and counted); ``required`` the
    fields that must be there; ``scalars`` the fields that must hold an id or a time;
    ``wrong`` pairs of a field and a wrongly typed value. For CSV a field is a column, for XML an
    attribute of ``<row>``, for text formats a part of a line (see :func:`_text_record`).
    """

    name: str
    fmt: str
    fixture: str
    source: str
    file: str
    layout: str
    records: Callable[[Any], list] | None = None
    pick: Callable[[dict], bool] = lambda r: True  # noqa: E731
    time: tuple[str, str] | None = None
    ids: str | None = None
    required: tuple[str, ...] = ()
    scalars: tuple[str, ...] = ()
    wrong: tuple[tuple[str, Any], ...] = ()
    options: tuple[str, ...] = ()
    encoding: str = "utf-8"


def _is_message(r: dict) -> bool:
    return r.get("type") == "message"


TARGETS: tuple[Target, ...] = (
    Target("telegram", "telegram", "telegram", ".", "result.json", "json", lambda d: d["messages"], _is_message,
           time=("date_unixtime", "unix_s"), ids="id", required=("id", "type", "from_id"),
           scalars=("id", "from_id", "date_unixtime", "reply_to_message_id"),
           wrong=(("date_unixtime", "abc"), ("reactions", "x"), ("text_entities", 5), ("text", {"b": 1}),
                  ("reply_to_message_id", [5]))),
    Target("slack", "slack", "slack", ".", "general/2024-03-01.json", "json", lambda d: d,
           lambda r: not r.get("subtype"), time=("ts", "slack"), ids="ts", required=("ts", "user"),
           scalars=("ts", "user", "thread_ts"),
           wrong=(("ts", "abc"), ("reactions", "x"), ("reactions", [7]), ("thread_ts", 5.5), ("text", ["x"]))),
    Target("slack_users", "slack", "slack", ".", "users.json", "json", lambda d: d, time=None,
           required=("id",), scalars=("id", "name"), wrong=(("profile", "x"), ("is_bot", {"x": 1}))),
    Target("discord", "discord", "discord", ".", "示例读书会 - 文字频道 - 综合讨论 [900000000000000010].json", "json",
           lambda d: d["messages"], lambda r: r.get("type") == "Default", time=("timestamp", "text"), ids="id",
           required=("id", "timestamp", "author"), scalars=("id", "timestamp"),
           wrong=(("author", "bob"), ("mentions", "x"), ("reactions", ["x"]), ("reference", 5),
                  ("timestamp", 12))),
    Target("discord_csv", "discord", "discord_csv", ".", "示例读书会 - 文字频道 - 综合讨论 [900000000000000010].csv",
           "csv", time=("Date", "text"), required=("AuthorID", "Date"), wrong=(("Date", "abc"),),
           encoding="utf-8-sig"),
    Target("discourse", "discourse", "discourse", ".", "posts-page1.json", "json", lambda d: d["latest_posts"],
           time=("created_at", "text"), ids="id", required=("id", "user_id", "created_at", "post_number"),
           scalars=("id", "user_id", "created_at", "post_number", "topic_id"),
           wrong=(("post_number", "abc"), ("user_id", "abc"), ("actions_summary", "x"), ("post_type", "abc"),
                  ("reply_to_post_number", "abc"))),
    Target("discourse_users", "discourse", "discourse", ".", "user_list-240302-090000.csv", "csv",
           time=("created_at", "text"), required=("id", "created_at"), wrong=(("id", "abc"),)),
    Target("wechat_lc044", "wechat", "wechat/lc044", ".", "读书会_utf8.csv", "csv", time=("CreateTime", "unix_s"),
           ids="localId", required=("CreateTime", "Sender"), wrong=(("CreateTime", "abc"), ("Type", "abc")),
           options=("owner_id=wxid_demo0002",), encoding="utf-8-sig"),
    Target("wechat_pywxdump", "wechat", "wechat/pywxdump", ".", "wxid_demo0002_0_4.csv", "csv",
           time=("CreateTime", "text"), ids="MsgSvrID", required=("CreateTime", "talker"),
           wrong=(("CreateTime", "abc"),)),
    Target("qq", "qq", "qq", ".", "示例学习群.txt", "text", time=("time", "text"), encoding="utf-8-sig"),
    Target("wecom", "wecom", "wecom", ".", "messages.jsonl", "jsonl", lambda d: d,
           lambda r: r.get("action") == "send", time=("msgtime", "unix_ms"), ids="msgid",
           required=("msgid", "from", "msgtime"), scalars=("msgid", "from", "roomid", "msgtime"),
           wrong=(("msgtime", "abc"), ("text", "x"), ("msgtype", ["text"]))),
    Target("mapping", "mapping", "mapping", "mapping.yaml", "群聊记录.csv", "csv", time=("时间", "text"),
           required=("用户ID", "时间", "类型"), wrong=(("金额", "abc"), ("时间", "abc"))),
    Target("mapping_unix", "mapping", "mapping", "mapping_unix.yaml", "unix.csv", "csv", time=("时间", "unix_s"),
           ids="消息ID", required=("用户ID", "时间"), wrong=(("时间", "abc"),)),
    Target("snap", "snap", "snap", "edges.txt", "edges.txt", "text", time=("UNIXTS", "unix_s")),
    Target("stackexchange_xml", "stackexchange_xml", "stackexchange_xml", ".", "Posts.xml", "xml",
           time=("CreationDate", "text"), ids="Id", required=("Id", "CreationDate"),
           scalars=("Id", "OwnerUserId"), wrong=(("Id", "abc"), ("OwnerUserId", "9" * 23), ("Score", "x"),
                                                 ("ParentId", "abc"))),
    Target("samples_events", "validate", "", ".", "events.csv", "csv", time=("ts", "text"),
           required=("member_id", "community_id", "ts"), wrong=(("amount", "abc"), ("ts", "abc"))),
    Target("samples_members", "validate", "", ".", "members.csv", "csv", time=("joined_at", "text"),
           required=("member_id", "community_id", "joined_at"), wrong=(("joined_at", "abc"), ("role", "7"))),
)


# --- making the fixtures -------------------------------------------------------------------------


def _extra_fixtures(root: Path) -> None:
    """Fixtures built here: a SNAP edge list and a mapping with Unix times and message ids."""
    snap = root / "snap"
    snap.mkdir()
    lines = ["# SRC DST UNIXTS (a SNAP temporal network)"]
    lines += [f"{1 + i % 5} {1 + (i * 3 + 1) % 5} {1709287200 + 60 * i}" for i in range(12)]
    (snap / "edges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    mapping = root / "mapping"
    rows = ["消息ID,用户ID,时间,类型,内容"]
    rows += [f"m{i},u00{1 + i % 3},{1709287200 + 60 * i},{'发言' if i % 2 else '回复'},第{i}条" for i in range(8)]
    (mapping / "unix.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    spec = (mapping / "mapping.yaml").read_text(encoding="utf-8")
    spec = spec.replace("file: 群聊记录.csv", "file: unix.csv")
    spec = re.sub(r"columns:\n(  .*\n)+", "columns:\n  message_id: 消息ID\n  member_id: 用户ID\n  ts: 时间\n"
                  "  event_type: 类型\n  text: 内容\n", spec)
    spec = re.sub(r"time:\n(  .*\n?)+", "time:\n  unit: s\n", spec)
    (mapping / "mapping_unix.yaml").write_text(spec, encoding="utf-8")


def _samples_csv(root: Path) -> None:
    """A small CSV data set: the first community of data/samples, its members and its first 300 events."""
    out = root / "samples_csv"
    out.mkdir()
    comm = pd.read_csv(SAMPLES / "communities.csv", dtype=str, keep_default_na=False).head(1)
    cid = comm["community_id"].iloc[0]
    members = pd.read_csv(SAMPLES / "members.csv", dtype=str, keep_default_na=False)
    events = pd.read_parquet(SAMPLES / "events.parquet")
    events = events[events["community_id"] == cid].head(300).copy()
    members = members[members["community_id"] == cid]
    members = members[members["member_id"].isin(set(events["member_id"]) | set(events["target_member_id"].dropna()))]
    events["ts"] = events["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    comm.to_csv(out / "communities.csv", index=False)
    members.to_csv(out / "members.csv", index=False)
    events.to_csv(out / "events.csv", index=False)


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz-fixtures")
    for child in FIX.iterdir():
        shutil.copytree(child, root / child.name)
    _extra_fixtures(root)
    _samples_csv(root)
    return root


# --- corruptions ---------------------------------------------------------------------------------


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _dump_json(data: Any, t: Target, raw: str | None = None) -> str:
    """``data`` as the fixture's JSON (NDJSON for WeCom); ``"__DEEP__"`` is replaced by ``raw``."""
    if t.layout == "jsonl":
        text = "\n".join(json.dumps(r, ensure_ascii=False) for r in data) + "\n"
    else:
        text = json.dumps(data, ensure_ascii=False, indent=1)
    return text.replace('"__DEEP__"', raw) if raw is not None else text


def _load_json(text: str, t: Target) -> Any:
    if t.layout == "jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)


def _bad_time(kind: str, how: str) -> Any:
    """A time out of range (``time_out_of_range``) or overflowing (``overflow_unix``) in the field's own form."""
    if how == "text":
        return "9999-12-31T23:59:59+00:00" if kind == "time_out_of_range" else "275760-09-13T00:00:00Z"
    big = 10**11 if kind == "time_out_of_range" else 10**30
    if how == "unix_ms":
        return big * 1000
    if how == "slack":
        return f"{big}.000100"
    return str(big)


@dataclass
class Case:
    """One corruption of one target: what was done, and the field and record it touched."""

    target: Target
    kind: str
    variant: str
    field: str | None = None

    @property
    def label(self) -> str:
        return f"{self.target.name}/{self.kind}/{self.variant}"


def _corrupt_json(path: Path, t: Target, kind: str, rng: random.Random) -> list[tuple[str, str | None]]:
    """Apply ``kind`` to the JSON file; return (variant, field) pairs written, one file per variant."""
    text = path.read_text(encoding="utf-8")
    data = _load_json(text, t)
    assert t.records is not None
    recs = t.records(data)
    candidates = [i for i, r in enumerate(recs) if isinstance(r, dict) and t.pick(r)] or list(range(len(recs)))
    i = rng.choice(candidates)
    rec = recs[i]
    if kind in ("time_out_of_range", "overflow_unix"):
        if t.time is None or (kind == "overflow_unix" and t.time[1] == "text"):
            return []
        rec[t.time[0]] = _bad_time(kind, t.time[1])
        path.write_text(_dump_json(data, t), encoding="utf-8")
        return [("", t.time[0])]
    if kind == "deep_nesting":  # 100 000 deep anywhere (the parser gives up); 900 deep where a value is read
        depth = rng.choice((100_000, 900))
        read = sorted({*t.required, *t.scalars, *(w[0] for w in t.wrong)} - {t.ids})
        name = rng.choice([k for k in rec if k != t.ids] if depth > 1000 else read)
        rec[name] = "__DEEP__"
        path.write_text(_dump_json(data, t, _deep(depth)), encoding="utf-8")
        return [(f"depth {depth} in {name}", None)]
    if kind == "wrong_type":
        name, value = rng.choice(t.wrong)
        rec[name] = value
        path.write_text(_dump_json(data, t), encoding="utf-8")
        return [(f"{name}={value!r}", name)]
    if kind == "missing_field":
        name = rng.choice(t.required)
        rec.pop(name, None)
        path.write_text(_dump_json(data, t), encoding="utf-8")
        return [(name, name)]
    if kind == "object_for_scalar":
        name = rng.choice(t.scalars)
        rec[name] = OBJECT
        path.write_text(_dump_json(data, t), encoding="utf-8")
        return [(name, name)]
    if kind == "duplicate_ids":
        if t.ids is None:
            return []
        recs.insert(i + 1, json.loads(json.dumps(rec)))
        path.write_text(_dump_json(data, t), encoding="utf-8")
        return [(str(rec.get(t.ids)), None)]
    if kind == "empty_file":
        recs.clear()
        path.write_text(_dump_json(data, t), encoding="utf-8")
        return [("no records", None)]
    raise AssertionError(kind)


def _read_csv(path: Path, t: Target) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding=t.encoding, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _write_csv(path: Path, t: Target, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", encoding=t.encoding, newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *rows])


def _corrupt_csv(path: Path, t: Target, kind: str, rng: random.Random) -> list[tuple[str, str | None]]:
    header, rows = _read_csv(path, t)
    i = rng.randrange(len(rows))
    col = {name: k for k, name in enumerate(header)}
    if kind in ("time_out_of_range", "overflow_unix"):
        if t.time is None or (kind == "overflow_unix" and t.time[1] == "text"):
            return []
        rows[i][col[t.time[0]]] = str(_bad_time(kind, t.time[1])).replace("T", " ")
        _write_csv(path, t, header, rows)
        return [("", t.time[0])]
    if kind == "wrong_type":
        name, value = rng.choice(t.wrong)
        rows[i][col[name]] = str(value)
        _write_csv(path, t, header, rows)
        return [(f"{name}={value!r}", name)]
    if kind == "missing_field":
        name = rng.choice(t.required)
        if rng.random() < 0.5:  # the whole column
            k = col[name]
            _write_csv(path, t, [h for j, h in enumerate(header) if j != k],
                       [[v for j, v in enumerate(r) if j != k] for r in rows])
            return [(f"column {name}", name)]
        rows[i][col[name]] = ""
        _write_csv(path, t, header, rows)
        return [(f"empty {name}", name)]
    if kind == "duplicate_ids":
        rows.insert(i + 1, list(rows[i]))
        _write_csv(path, t, header, rows)
        return [(f"row {i + 2}", None)]
    if kind == "empty_file":
        _write_csv(path, t, header, [])
        return [("header only", None)]
    return []


def _text_record(t: Target) -> re.Pattern[str]:
    """Lines that are records of a text format (QQ message heads, SNAP edges)."""
    if t.fmt == "qq":
        return re.compile(r"^\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}:\d{2} ")
    return re.compile(r"^\d+\s+\d+\s+\d+\s*$")


def _corrupt_text(path: Path, t: Target, kind: str, rng: random.Random) -> list[tuple[str, str | None]]:
    text = path.read_text(encoding=t.encoding)
    lines = text.split("\n")
    pattern = _text_record(t)
    heads = [k for k, line in enumerate(lines) if pattern.match(line)]
    k = rng.choice(heads)
    parts = lines[k].split(" ")
    if kind in ("time_out_of_range", "overflow_unix"):
        if t.fmt == "qq":
            if kind == "overflow_unix":
                return []
            parts[0] = "9999-12-31"
        else:
            parts[2] = str(_bad_time(kind, "unix_s"))
        lines[k] = " ".join(parts)
        path.write_text("\n".join(lines), encoding=t.encoding)
        return [(f"line {k + 1}", t.time[0] if t.time else None)]
    if kind == "wrong_type":
        if t.fmt == "qq":
            lines[k] = lines[k].replace(parts[1], "25:61:99", 1)
        else:
            parts[rng.randrange(3)] = "abc"
            lines[k] = " ".join(parts)
        path.write_text("\n".join(lines), encoding=t.encoding)
        return [(f"line {k + 1}", None)]
    if kind == "missing_field":
        if t.fmt == "qq":
            lines[k] = re.sub(r"[(<][^()<>]*[)>]$", "", lines[k])  # the head without its QQ number
        else:
            lines[k] = " ".join(parts[:2])
        path.write_text("\n".join(lines), encoding=t.encoding)
        return [(f"line {k + 1}", None)]
    if kind == "duplicate_ids":  # the record again: a QQ head with its body, a SNAP edge
        end = next((h for h in heads if h > k), len(lines)) if t.fmt == "qq" else k + 1
        lines[end:end] = lines[k:end]
        path.write_text("\n".join(lines), encoding=t.encoding)
        return [(f"line {k + 1}", None)]
    if kind == "empty_file":
        keep = [line for line in lines if not pattern.match(line)] if t.fmt == "snap" else lines[:heads[0]]
        path.write_text("\n".join(keep), encoding=t.encoding)
        return [("no records", None)]
    return []


def _corrupt_xml(path: Path, t: Target, kind: str, rng: random.Random) -> list[tuple[str, str | None]]:
    text = path.read_text(encoding="utf-8-sig")
    lines = text.split("\n")
    rows = [k for k, line in enumerate(lines) if line.lstrip().startswith("<row ")]
    k = rng.choice(rows)

    def setattr_(name: str, value: str) -> None:
        if f' {name}="' in lines[k]:
            lines[k] = re.sub(rf' {name}="[^"]*"', f' {name}="{value}"', lines[k])
        else:
            lines[k] = lines[k].replace("<row ", f'<row {name}="{value}" ', 1)

    if kind in ("time_out_of_range", "overflow_unix"):
        if kind == "overflow_unix":
            return []
        setattr_("CreationDate", "9999-12-31T23:59:59.000")
        variant, fld = "CreationDate", "CreationDate"
    elif kind == "wrong_type":
        name, value = rng.choice(t.wrong)
        setattr_(name, str(value))
        variant, fld = f"{name}={value!r}", name
    elif kind == "missing_field":
        name = rng.choice(t.required)
        lines[k] = re.sub(rf' {name}="[^"]*"', "", lines[k])
        variant, fld = name, name
    elif kind == "duplicate_ids":
        lines.insert(k + 1, lines[k])
        variant, fld = f"line {k + 1}", None
    elif kind == "empty_file":
        lines = [line for j, line in enumerate(lines) if j not in rows]
        variant, fld = "no rows", None
    else:
        return []
    path.write_text("\n".join(lines), encoding="utf-8")
    return [(variant, fld)]


def _corrupt_bytes(path: Path, t: Target, kind: str, rng: random.Random) -> list[tuple[str, str | None]]:
    """Corruptions of the bytes of any file: binary, GBK, truncation, emptiness."""
    raw = path.read_bytes()
    if kind == "binary_bytes":
        at = rng.randrange(len(raw) // 4, len(raw) * 3 // 4)
        junk = bytes(rng.choice((0x00, 0x81, 0xC0, 0xFE, 0xFF, 0x9F, 0xE9)) for _ in range(8))
        path.write_bytes(raw[:at] + junk + raw[at:])
        return [(f"at byte {at}", None)]
    if kind == "gbk_bytes":
        text = raw.decode("utf-8-sig")
        if t.layout == "text" and t.fmt == "snap":  # edges are ASCII: add a line of GBK text
            lines = text.split("\n")
            lines.insert(2, "用户甲 用户乙 1709287200")
            path.write_bytes("\n".join(lines).encode("gb18030"))
            return [("GBK line", None)]
        path.write_bytes(text.encode("gb18030"))
        return [("whole file", None)]
    if kind == "truncated":
        # cut just after a separator that is not the last of its line, so that at least one field is gone
        # (a CSV cut after its last separator reads as a complete row whose last cell is empty: no reader can
        # tell, nor a person)
        text = raw.decode("utf-8-sig")
        seps = {"csv": ",", "text": " ", "xml": '" ', "json": ",", "jsonl": ","}[t.layout]
        lo, hi = len(text) // 3, len(text) * 2 // 3
        at = text.find(seps, rng.randrange(lo, hi))
        while at >= 0 and seps not in text[at + len(seps): (text.find("\n", at) + 1 or len(text) + 1) - 1]:
            at = text.find(seps, at + len(seps))
        at = at + len(seps) if at >= 0 else hi
        path.write_bytes(raw[: len(text[:at].encode("utf-8")) + (len(raw) - len(text.encode("utf-8")))])
        return [(f"at char {at}", None)]
    if kind == "empty_file":
        path.write_bytes(b"")
        return [("zero bytes", None)]
    raise AssertionError(kind)


BYTE_KINDS = ("binary_bytes", "gbk_bytes", "truncated")


def _apply(root: Path, t: Target, kind: str, rng: random.Random) -> list[tuple[str, str | None]]:
    path = root / t.file
    if kind in BYTE_KINDS:
        return _corrupt_bytes(path, t, kind, rng)
    by_layout = {"json": _corrupt_json, "jsonl": _corrupt_json, "csv": _corrupt_csv, "text": _corrupt_text,
                 "xml": _corrupt_xml}
    done = by_layout[t.layout](path, t, kind, rng)
    if kind == "empty_file":  # both: a file of zero bytes, and a well-formed file without records
        return [*done, ("zero bytes", None)]
    return done


# --- running -------------------------------------------------------------------------------------


def _argv(t: Target, root: Path, out: Path) -> list[str]:
    if t.fmt == "validate":
        return ["validate", str(root), "--tz", "UTC"]
    argv = ["import", t.fmt, str(root / t.source), "--out", str(out)]
    for opt in t.options:
        argv += ["-o", opt]
    return argv


def _run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = main(["-q", *argv])
        except SystemExit as exc:  # argparse
            rc = int(exc.code or 0)
    return rc, err.getvalue()


def _report(out: Path) -> dict:
    return json.loads((out / "import_report.json").read_text(encoding="utf-8"))


def _more_skipped(rep: dict, baseline: dict) -> bool:
    """Whether ``rep`` counts more of some kind of dropped or unmapped record than the clean import."""
    return any(n > baseline[part].get(k, 0) for part in ("dropped", "not_mapped") for k, n in rep[part].items())


_REPR = re.compile(r"^(?:\{.*\}|\[.*\]|None|nan|NaN|<NA>)$|wecom-\[|\{'")


def _ids_look_corrupt(out: Path) -> list[str]:
    bad = []
    for table, cols in (("communities", ["community_id"]), ("members", ["community_id", "member_id"]),
                        ("events", ["community_id", "member_id", "target_member_id"])):
        frame = pd.read_parquet(out / f"{table}.parquet")
        for c in cols:
            vals = frame[c].dropna().astype(str)
            hit = vals[vals.str.contains(_REPR)]
            if len(hit):
                bad.append(f"{table}.{c} = {hit.iloc[0]!r}")
    return bad


def _judge(case: Case, rc: int, err: str, out: Path, baseline: dict) -> tuple[str, list[str]]:
    """The outcome of one case (``error``, ``skip``, ``unchanged``) and the ways it falls short."""
    t = case.target
    faults = []
    if "Traceback" in err or "internal error" in err:
        faults.append(f"traceback: {err.strip().splitlines()[-1] if err.strip() else ''}")
    if rc == 3:
        lines = err.strip().splitlines() or [""]
        first = lines[0]
        if re.fullmatch(r"commlab: error: \d+ problem\(s\) in .*:", first) and len(lines) > 1:
            first = "commlab: error: " + lines[1].strip().removeprefix("- ")  # a problem list: its first problem
        if not first.startswith("commlab: error: "):
            faults.append(f"first line is not an error line: {first!r}")
        # `commlab validate` lists every problem: the file may be named by a later problem or a fix
        # (an empty members table shows as events by unknown members, "add these members to members.csv")
        said = err if t.fmt == "validate" else first
        name = Path(t.file).name
        if name not in said:
            faults.append(f"the error does not name {name}: {first!r}")
        if case.field is not None and case.kind in FIELD_KINDS:
            if case.field not in said:
                faults.append(f"the error does not name the field {case.field!r}: {first!r}")
            header = case.variant.startswith("column ") and "missing column" in said  # the header is the record
            if not RECORD.search(said) and not header:
                faults.append(f"the error does not name the record: {first!r}")
        if out.exists():
            faults.append("an output folder was left after the error")
        left = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
        if left:
            faults.append(f"temporary output left: {left}")
        return "error", faults
    if rc != 0:
        faults.append(f"exit code {rc}: {err.strip()[:300]!r}")
        return "other", faults
    if t.fmt == "validate":
        # a GBK file is read as such; events have no key, so repeated rows may be real; a table of no events is
        # a valid (if idle) data set
        if case.kind == "duplicate_ids" and t.file == "events.csv":
            return "kept", faults
        if case.kind != "gbk_bytes" and not (case.variant == "header only" and t.file == "events.csv"):
            faults.append("validate accepted a corrupted data set")
        return "unchanged", faults
    rep = _report(out)
    faults += [f"silent corruption: {b}" for b in _ids_look_corrupt(out)]
    same = _tables(out) == baseline["tables"]
    if case.kind == "duplicate_ids" and t.ids is not None:
        if sum(v for k, v in rep["dropped"].items() if k.startswith("duplicate")) < 1:
            faults.append(f"duplicate message id not dropped and counted: {rep['dropped']}")
        if not same:
            faults.append("the tables differ from the clean import's")
        return "skip", faults
    if same:  # the corruption changed nothing the import reads (a GBK file read as such, a name-only head)
        return "unchanged", faults
    if _more_skipped(rep, baseline):
        return "skip", faults
    if case.kind == "duplicate_ids":  # no message ids: the repeated record is kept, and the import says so
        if not any("identical" in note for note in rep["notes"]):
            faults.append(f"repeated record kept without a note: {rep['notes']}")
        return "kept", faults
    faults.append(f"accepted without an error or a counted skip: mapped {rep['rows_mapped']}, "
                  f"dropped {rep['dropped']}, not mapped {rep['not_mapped']}")
    return "accepted", faults


def _tables(out: Path) -> dict[str, str]:
    """The three tables written, as comparable text."""
    return {t: pd.read_parquet(out / f"{t}.parquet").to_csv(index=False) for t in ("communities", "members", "events")}


def _source_root(fixtures: Path, t: Target) -> Path:
    return fixtures / ("samples_csv" if t.fmt == "validate" else t.fixture)


def test_every_corruption_is_a_clear_error_or_a_counted_skip(fixtures: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture) -> None:
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    baselines: dict[str, dict] = {}
    n = 0
    only = set(filter(None, os.environ.get("COMMLAB_FUZZ_TARGETS", "").split(",")))  # for working on one importer
    for t in TARGETS:
        if only and t.name not in only:
            continue
        rng = random.Random(f"{SEED}/{t.name}")  # each target's choices independent of the others'
        clean = tmp_path / f"{t.name}-clean"
        shutil.copytree(_source_root(fixtures, t), clean / "src")
        rc, err = _run(_argv(t, clean / "src", clean / "out"))
        if rc != 0:
            failures.append(f"{t.name}: the clean fixture does not import: {err.strip()}")
            continue
        baselines[t.name] = {**_report(clean / "out"), "tables": _tables(clean / "out")} if t.fmt != "validate" \
            else {}
        for kind in KINDS:
            if kind in ("deep_nesting", "object_for_scalar") and t.layout not in ("json", "jsonl"):
                continue  # only JSON holds nested values and objects
            work = tmp_path / f"case{n}"
            shutil.copytree(_source_root(fixtures, t), work / "src")
            variants = _apply(work / "src", t, kind, rng)
            for v, (variant, fld) in enumerate(variants):
                if v > 0:  # a later variant of the kind (empty_file: a file of zero bytes) on a fresh copy
                    shutil.rmtree(work, ignore_errors=True)
                    shutil.copytree(_source_root(fixtures, t), work / "src")
                    (work / "src" / t.file).write_bytes(b"")
                n += 1
                case = Case(t, kind, variant, fld)
                rc, err = _run(_argv(t, work / "src", work / "out"))
                outcome, faults = _judge(case, rc, err, work / "out", baselines[t.name])
                if os.environ.get("COMMLAB_FUZZ_SHOW"):
                    print(f"{case.label}: {rc} {err.strip().splitlines()[0] if err.strip() else ''}")
                outcomes[outcome] += 1
                if faults:
                    failures.append(f"{case.label}: " + "; ".join(faults))
            shutil.rmtree(work, ignore_errors=True)
    with capsys.disabled():
        print(f"\nfuzz (seed {SEED}): {n} corruptions tried: {outcomes['error']} clear errors (exit 3), "
              f"{outcomes['skip']} counted skips, {outcomes['unchanged']} unchanged imports, {outcomes['kept']} "
              "repeated records kept with a note, "
              f"{outcomes['accepted'] + outcomes['other']} wrong; {len(failures)} case(s) falling short")
    assert not failures, f"{len(failures)} of {n} corruptions mishandled:\n" + "\n".join(failures)


@pytest.mark.parametrize(("fixture", "fmt", "file", "corrupt", "must"), [
    ("telegram", "telegram", "result.json", lambda t: t.replace('"from_id": "user500003"', '"from_id": {"a": [1]}', 1),
     ("result.json", "field 'from_id'")),
    ("stackexchange_xml", "stackexchange_xml", "Posts.xml", lambda t: t[: t.index('<row Id="12"') + 25],
     ("Posts.xml", "malformed or truncated XML at line 5")),
])
def test_a_few_corruptions_through_a_real_process(tmp_path: Path, fixture: str, fmt: str, file: str,
                                                  corrupt: Callable[[str], str], must: tuple[str, ...]) -> None:
    src = tmp_path / "src"
    shutil.copytree(FIX / fixture, src)
    f = src / file
    f.write_text(corrupt(f.read_text(encoding="utf-8-sig")), encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "commlab", "import", fmt, str(src), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("commlab: error: "), proc.stderr
    assert all(m in lines[0] for m in must), lines[0]
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["src"]
