"""Importer for the classic QQ PC message manager text export (消息管理器 -> 导出为 .txt).

Accepted layout (``FORMATS.md`` §5c; reverse-engineered, no Tencent
documentation; parsing rules as ``hikariyo/qq-chat-history``)::

    消息记录（此消息记录为文本格式，不支持重新导入）

    ================================================================
    消息分组:我的QQ群
    ================================================================
    消息对象:示例学习群
    ================================================================

    2024-03-01 18:01:05 王芳(10001234)
    大家好

    2024-03-01 18:01:30 【管理员】李雷<lilei@example.com>
    欢迎！

* A message head is ``<date> <time> <name>(<QQ号>)`` or ``<name><<email>>``;
  the **last** bracket group is the id when it holds digits (a QQ number) or an
  address (names may contain brackets: ``小明(二班)`` without a number has no id); 12-hour
  times (``8:43:38 PM``) are accepted; a head without an id is dropped and
  counted. The body is the following lines up to the next head.
* Each ``消息对象:<name>`` block starts a conversation; each conversation is
  one community (``community_id`` = the option for a single conversation,
  else ``qq-<name>``).
* Encoding: UTF-16 (BOM), UTF-8 (BOM or not) or GB18030.
* Times are local without zone, read in the ``tz`` option (default
  Asia/Shanghai) and stored in UTC.

Mapping
-------
* each message -> ``message``; ``@name`` in the body -> ``mention`` when the
  name matches exactly one sender's name in the conversation.
* a ``【title】`` prefix is removed from the name; ``【群主】`` -> role
  ``owner``, ``【管理员】`` -> ``staff``.
* pseudo-senders ``系统消息(10000)`` and ``(1000000)``: ``<name>加入本群`` ->
  ``join`` of the member of that name (when it matches exactly one sender;
  else dropped and counted); other system lines are counted as not mapped.
  Where the line says how the member joined, the join channel and the inviter
  go to ``members.join_channel``/``invited_by`` (DOMAIN.md §4b, recruiting):
  ``<A>邀请<B、C>加入(了)本群`` -> ``invite`` by A, and
  ``<B>通过扫描<A>分享的二维码加入(了)本群`` -> ``qr_code`` shared by A
  (both modelled on QQ's group tips; UNVERIFIED: not in FORMATS.md §5c); a
  plain ``<name>加入本群`` leaves the channel empty (unknown). Names that
  match no single sender are dropped and counted, an unmatched inviter is left
  empty.
* no message ids, replies or reactions exist in this format: reply links are
  inferred (:func:`commlab.replies.infer_replies`: @mentions and names at the
  start of a message, then the reply model), marked in ``reply_source`` and
  ``reply_confidence``; the option ``infer_replies=false`` leaves them out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from commlab.data.load import Dataset
from commlab.data.schema import Col
from commlab.errors import ImportFormatError
from commlab.importers.files import decode_text, export_files, read_bytes
from commlab.importers.finish import finish
from commlab.importers.import_report import ImportReport
from commlab.importers.options import community_row, opt_bool, single_community_option, split_options, tz_option
from commlab.importers.tables import members_from_events, note_identical_rows
from commlab.importers.times import text_to_utc
from commlab.replies.infer import infer_replies, inferred_note

__all__ = ["convert", "read_qq", "parse_qq_text", "OPTIONS"]

OPTIONS: tuple[str, ...] = ("tz", "infer_replies", "progress")
_DEFAULTS = {"theme": "interest", "business_model": "creator", "lifecycle": "startup", "monetization": "none"}
_HEAD = re.compile(
    r"^(?P<date>\d{4}-\d{1,2}-\d{1,2})\s+(?P<time>\d{1,2}:\d{2}:\d{2}(?:\s*[AaPp][Mm])?)\s+(?P<rest>.+?)\s*$"
)
_ID = re.compile(r"^(?P<name>.*)(?:\((?P<qq>\d+)\)|<(?P<mail>[^<>]*@[^<>]*)>)$")
_TITLE = re.compile(r"^【(?P<title>[^】]*)】")
_TARGET = re.compile(r"^消息对象:(?P<name>.+)$")
_SYSTEM_IDS = ("10000", "1000000")
_JOIN = re.compile(r"^(?P<name>.+?)加入本群")
_INVITE = re.compile(r"^(?P<actor>.+?)邀请(?P<names>.+?)加入(?:了)?本群")
_QR = re.compile(r"^(?P<names>.+?)通过扫描(?:(?P<actor>.+?)分享的)?二维码加入(?:了)?本群")


def _join_lines(body: str) -> tuple[list[str], str | None, str | None] | None:
    """The names a system line says joined, the join channel and the inviter's name (None: not a join)."""
    for pattern, channel in ((_INVITE, "invite"), (_QR, "qr_code")):
        m = pattern.match(body)
        if m:
            names = [_TITLE.sub("", n.strip()) for n in re.split(r"[、,，]", m.group("names")) if n.strip()]
            return names, channel, _TITLE.sub("", (m.group("actor") or "").strip()) or None
    m = _JOIN.match(body)
    return ([m.group("name").strip()], None, None) if m else None
#: The start of a message head (a date, perhaps a time): at the very end of a file, a head cut short.
_CUT_HEAD = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:\s+\d{1,2}(?::\d{0,2}){0,2}(?:\s.*)?)?$")


def parse_qq_text(text: str, path: str = "?") -> list[dict]:
    """Parse the text of a QQ export into raw message dicts (conversation, time text, name, id, title, body).

    Raises
    ------
    ImportFormatError
        If no message head is found.
    """
    conv = None
    out: list[dict] = []
    cur: dict | None = None
    lines = text.splitlines()
    for n, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        m = _TARGET.match(line.strip())
        if m:
            conv = m.group("name").strip()
            cur = None
            continue
        if line.startswith("=" * 16):
            cur = None
            continue
        h = _HEAD.match(line)
        if h:
            rest = h.group("rest")
            idm = _ID.match(rest)
            name, ident = (rest, None) if not idm else (idm.group("name"), idm.group("qq") or idm.group("mail"))
            title = None
            t = _TITLE.match(name)
            if t:
                title, name = t.group("title"), name[t.end():]
            cur = {"conversation": conv, "time": f"{h.group('date')} {h.group('time')}", "name": name.strip(),
                   "id": (ident or "").strip() or None, "title": title, "body": [], "line": n}
            out.append(cur)
        elif cur is not None:
            cur["body"].append(line)
    if not out:
        raise ImportFormatError(path, "no message line '<YYYY-MM-DD> <HH:MM:SS> <name>(<QQ号>)' found",
                                "export from QQ message manager as .txt (消息记录)")
    last = next((k for k in range(len(lines), 0, -1) if lines[k - 1].strip()), 0)
    if last and not text.endswith(("\n", "\r")) and _CUT_HEAD.match(lines[last - 1].strip()) \
            and not _HEAD.match(lines[last - 1]):
        raise ImportFormatError(path, f"a message head cut short: {lines[last - 1].strip()!r}",
                                "the file looks truncated; export it again", record=f"line {last}")
    for r in out:
        r["body"] = "\n".join(r["body"]).strip()
    return out


def _times(values: list[str], tz: str, path: str, records: list[str]) -> pd.Series:
    s = pd.Series(values, dtype="string")
    ampm = s.str.contains(r"[AaPp][Mm]$", regex=True)
    if ampm.any():
        out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
        pick = lambda mask: [r for r, m in zip(records, mask, strict=True) if m]  # noqa: E731
        if (~ampm).any():
            out[~ampm] = text_to_utc(s[~ampm], tz=tz, file=path, what="time", records=pick(~ampm))
        out[ampm] = text_to_utc(s[ampm].str.upper().str.replace(r"\s+", " ", regex=True), tz=tz, file=path,
                                what="time", fmt="%Y-%m-%d %I:%M:%S %p", records=pick(ampm))
        return out
    return text_to_utc(s, tz=tz, file=path, what="time", records=records)


def convert(source: str | Path, **options: Any) -> tuple[Dataset, ImportReport]:
    """Convert a QQ message-manager ``.txt`` export to the canonical tables.

    Parameters
    ----------
    source : str or Path
        The ``.txt`` file (or a folder of them).
    **options
        Community options (``community_id`` for a single conversation) and
        ``tz`` (zone of the times, default ``Asia/Shanghai``).

    Returns
    -------
    dataset, report : Dataset and ImportReport

    Raises
    ------
    ImportFormatError
        Unknown encoding, no message head, bad times (names the file).
    """
    split_options(options, OPTIONS, "qq")
    src = Path(source)
    files = export_files(src, ".txt")
    tz = tz_option(options)
    report = ImportReport("qq", str(src))
    msgs: list[dict] = []
    for f in files:
        parsed = parse_qq_text(decode_text(read_bytes(f), str(f)), str(f))
        for r in parsed:
            r["conversation"] = r["conversation"] or f.stem
        report.read(f.name, len(parsed))
        ts = _times([r["time"] for r in parsed], tz, str(f), [f"line {r['line']}" for r in parsed])
        for r, t in zip(parsed, ts, strict=True):
            r["ts"] = t
        msgs.extend(parsed)
    convs = sorted({r["conversation"] for r in msgs})
    single_community_option(options, len(convs), "conversations")
    comms, events, members = [], [], []
    for conv in convs:
        cid = (options.get(Col.community_id) if len(convs) == 1 else None) or f"qq-{conv}"
        part = [r for r in msgs if r["conversation"] == conv]
        names: dict[str, str] = {}
        roles: dict[str, str] = {}
        by_name: dict[str, set[str]] = {}
        for r in part:
            if r["id"] and r["id"] not in _SYSTEM_IDS:
                names[r["id"]] = r["name"]
                by_name.setdefault(r["name"], set()).add(r["id"])
                if r["title"] == "群主":
                    roles[r["id"]] = "owner"
                elif r["title"] == "管理员":
                    roles.setdefault(r["id"], "staff")
        rows, channels = [], []
        for r in part:
            base = {Col.community_id: cid, "ts": r["ts"], "target_member_id": None}
            if r["id"] in _SYSTEM_IDS or (r["id"] is None and r["name"] == "系统消息"):
                j = _join_lines(r["body"])
                if not j:
                    report.skip("system message other than a join")
                    continue
                joined, channel, actor = j
                inviter = by_name.get(actor or "", set())
                for name in joined:
                    match = by_name.get(name, set())
                    if len(match) != 1:
                        report.drop("join: name not matched to exactly one sender")
                        continue
                    rows.append({**base, Col.member_id: next(iter(match)), "event_type": "join"})
                    if channel:
                        channels.append({Col.member_id: next(iter(match)), "ts": r["ts"], "join_channel": channel,
                                         "invited_by": next(iter(inviter)) if len(inviter) == 1 else None})
                continue
            if not r["id"]:
                report.drop("message head without a QQ number or email (1:1 chat layout)")
                continue
            rows.append({**base, Col.member_id: r["id"], "event_type": "message", "text": r["body"]})
            for name in re.findall(r"@(\S+)", r["body"]):
                match = by_name.get(name, set())
                if len(match) == 1:
                    rows.append({**base, Col.member_id: r["id"], "event_type": "mention",
                                 "target_member_id": next(iter(match))})
                else:
                    report.skip("@name not matched to exactly one sender")
        if not rows:
            report.notes.append(f"conversation {conv!r}: no message with an id; skipped")
            continue
        ev = pd.DataFrame(rows)
        events.append(ev)
        mem = members_from_events(ev, names=names, roles=roles)
        if channels:  # how each member joined (their first join), for the recruiting measures (DOMAIN.md §4b)
            how = pd.DataFrame(channels).sort_values("ts", kind="stable").drop_duplicates(Col.member_id)
            mem = mem.merge(how[[Col.member_id, "join_channel", "invited_by"]].astype("string"), on=Col.member_id,
                            how="left")
        members.append(mem)
        opts = {k: v for k, v in options.items() if k != Col.community_id}
        comms.append(community_row(
            community_id=cid, name=conv, platform="qq", created_at=ev["ts"].min(),
            source="QQ message manager export (.txt)", report=report, defaults=_DEFAULTS, options=opts,
        ))
    if not events:
        raise ImportFormatError(src, "no message with a QQ number or email")
    ev = pd.concat(events, ignore_index=True)
    note_identical_rows(ev, report, "message event(s)")
    for col in ("target_member_id", "text"):
        ev[col] = ev[col].astype("string")
    if opt_bool(options.get("infer_replies"), "infer_replies") is not False:  # no reply field: infer links
        ev = infer_replies(ev, members=pd.concat(members, ignore_index=True))
        report.notes.append(inferred_note(ev))
    ds = finish(pd.DataFrame(comms), pd.concat(members, ignore_index=True), ev, source=str(src), report=report)
    return ds, report


def read_qq(source: str | Path, **options: Any) -> Dataset:
    """Read a QQ ``.txt`` export into a validated :class:`Dataset` (see :func:`convert`)."""
    return convert(source, **options)[0]
