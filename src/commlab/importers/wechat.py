"""Importer for WeChat (微信) group-chat CSV exports: LC044/WeChatMsg (留痕/MemoTrace) and PyWxDump.

Accepted layouts (``FORMATS.md`` §5a/§5b):

* **LC044/WeChatMsg** ``<备注名>_utf8.csv`` (UTF-8 with BOM), header
  ``localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,NickName,Sender``.
  ``CreateTime`` is Unix seconds (UTC); ``StrTime`` (local time) is ignored.
* **PyWxDump** ``<wxid>_<start>_<end>.csv`` (UTF-8), header
  ``id,MsgSvrID,type_name,is_sender,talker,room_name,msg,src,CreateTime``;
  ``CreateTime`` is local ``YYYY-MM-DD HH:MM:SS`` read in the ``tz`` option
  (default Asia/Shanghai); ``talker`` = sender wxid (UNVERIFIED in FORMATS.md).

A source is one CSV file or a folder of them (PyWxDump pages of one chat);
one file or folder = one group chat = one community. GBK/GB18030 files are
also read.

Mapping
-------
* member id = ``Sender`` (LC044) / ``talker`` (PyWxDump), the wxid. A row
  sent by the account owner (``IsSender``/``is_sender`` = 1) without a sender
  id takes the ``owner_id`` option, or is dropped and counted.
* text/image/voice/video/sticker/app/file rows -> ``message``; quote replies
  (LC044 ``Type`` 49 + ``SubType`` 57; PyWxDump ``引用回复``) -> ``reply``
  with an empty target: the quoted message is not in the CSV.
* system rows (``Type`` 10000 / ``系统通知``) matching the WeChat template
  ``"A"邀请"B、C"加入了群聊`` -> ``join`` for each invitee whose name matches
  exactly one member's ``NickName``/``Remark`` seen in the chat (names, not
  ids, are written); unmatched names are dropped and counted. The invitee's
  ``members.join_channel`` is ``invite`` and ``invited_by`` the inviter's id
  (when the name matches one member; ``你`` is the ``owner_id`` account).
  ``"B"通过扫描"A"分享的二维码加入群聊`` (the WeChat template; not in
  FORMATS.md: UNVERIFIED) -> ``join`` with ``join_channel`` ``qr_code`` and
  ``invited_by`` A, the member who shared the code. Other system rows
  (recalls, pats, red packets, ...) are counted as not mapped.
* reply links are inferred (:func:`commlab.replies.infer_replies`: quoted
  messages, @mentions and names, then the reply model; a quote reply is never
  a conversation start) and marked in ``reply_source``/``reply_confidence``;
  the option ``infer_replies=false`` leaves them out (quote replies then keep
  an empty target).
* members: every sender; ``display_name`` = ``Remark`` or ``NickName``;
  ``joined_at`` = join event or first message; the ``owner_id`` member gets
  role ``owner`` (the account owner is usually the group owner or
  operator; say otherwise with ``owner_role``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from commlab.data.load import Dataset
from commlab.data.schema import Col
from commlab.errors import ImportFormatError
from commlab.importers.fields import preview
from commlab.importers.files import decode_text, export_files, read_bytes, read_csv_text
from commlab.importers.finish import finish
from commlab.importers.import_report import ImportReport
from commlab.importers.options import community_row, opt_bool, split_options, tz_option
from commlab.importers.tables import drop_rows, first_of_each_id, members_from_events
from commlab.importers.times import text_to_utc, unix_to_utc
from commlab.replies.infer import infer_replies, inferred_note

__all__ = ["convert", "read_wechat", "OPTIONS", "LC044_COLUMNS", "PYWXDUMP_COLUMNS"]

OPTIONS: tuple[str, ...] = ("tz", "owner_id", "owner_role", "infer_replies", "progress")
LC044_COLUMNS = ("localId", "TalkerId", "Type", "SubType", "IsSender", "CreateTime", "Status", "StrContent",
                 "StrTime", "Remark", "NickName", "Sender")
PYWXDUMP_COLUMNS = ("id", "MsgSvrID", "type_name", "is_sender", "talker", "room_name", "msg", "src", "CreateTime")
_DEFAULTS = {"theme": "interest", "business_model": "creator", "lifecycle": "startup", "monetization": "none"}
_INVITE = re.compile(r'^"?(?P<actor>[^"]+?)"?邀请"?(?P<names>[^"]+?)"?加入了群聊')
_QR = re.compile(r'^"?(?P<names>[^"]+?)"?通过扫描(?:"?(?P<actor>[^"]+?)"?分享的)?二维码加入群聊')
#: How the export names the exporting account in a system message ("你邀请…"; UNVERIFIED).
_YOU = ("你", "You")
_LC044_TYPES = {"1": "text", "3": "image", "34": "voice", "43": "video", "47": "sticker", "49": "app",
                "10000": "system"}


def _read_csv(path: Path) -> pd.DataFrame:
    return read_csv_text(decode_text(read_bytes(path), str(path)), path)


#: The columns each layout cannot do without.
_REQUIRED = {"LC044/WeChatMsg": ("Type", "CreateTime", "Sender", "IsSender"),
             "PyWxDump": ("type_name", "talker", "CreateTime", "is_sender")}
_FULL = {"LC044/WeChatMsg": LC044_COLUMNS, "PyWxDump": PYWXDUMP_COLUMNS}


def _normalise(frame: pd.DataFrame, path: Path, tz: str) -> pd.DataFrame:
    cols = set(frame.columns)
    rows = [f"row {i + 2}" for i in range(len(frame))]
    frame = frame.reset_index(drop=True)
    if "CreateTime" in cols and frame["CreateTime"].isna().any():
        i = int(frame["CreateTime"].isna().to_numpy().nonzero()[0][0])
        raise ImportFormatError(path, "empty (every message has a time)", "the export may be damaged; export it again",
                                record=rows[i], field="CreateTime")
    if {"Type", "CreateTime", "Sender", "IsSender"} <= cols:
        typ = frame["Type"].str.strip()
        bad = typ.notna() & ~typ.str.fullmatch(r"\d+").fillna(False)
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise ImportFormatError(path, f"not a message type code (a number): {preview(frame['Type'].iloc[i])}",
                                    "the export may be damaged; export it again", record=rows[i], field="Type")
        sub = frame["SubType"].str.strip() if "SubType" in cols else pd.Series("", index=frame.index)
        kind = typ.map(_LC044_TYPES).fillna("other")
        kind = kind.mask((typ == "49") & (sub == "57"), "quote")
        remark = frame["Remark"] if "Remark" in cols else pd.Series(pd.NA, index=frame.index, dtype="string")
        nick = frame["NickName"] if "NickName" in cols else pd.Series(pd.NA, index=frame.index, dtype="string")
        return pd.DataFrame({
            "sender": frame["Sender"], "is_self": frame["IsSender"].str.strip() == "1",
            "ts": unix_to_utc(frame["CreateTime"], file=str(path), what="CreateTime", records=rows),
            "kind": kind, "text": frame.get("StrContent"), "name": remark.where(remark.notna(), nick),
            "nick": nick, "remark": remark, "msg_id": frame.get("localId"),
        })
    if {"type_name", "talker", "CreateTime", "is_sender"} <= cols:
        tn = frame["type_name"].str.strip()
        kind = tn.map({"文本": "text", "引用回复": "quote", "系统通知": "system", "图片": "image", "语音": "voice",
                       "视频": "video", "动画表情": "sticker", "文件": "file", "卡片式链接": "app"}).fillna("other")
        created = frame["CreateTime"].astype("string").str.strip()
        if created.str.fullmatch(r"\d{9,11}").all():
            ts = unix_to_utc(created, file=str(path), what="CreateTime", records=rows)
        else:
            ts = text_to_utc(created, tz=tz, file=str(path), what="CreateTime", records=rows)
        return pd.DataFrame({
            "sender": frame["talker"], "is_self": frame["is_sender"].str.strip() == "1", "ts": ts, "kind": kind,
            "text": frame.get("msg"), "name": pd.Series(pd.NA, index=frame.index, dtype="string"),
            "nick": pd.Series(pd.NA, index=frame.index, dtype="string"),
            "remark": pd.Series(pd.NA, index=frame.index, dtype="string"), "msg_id": frame.get("MsgSvrID"),
        })
    layout = max(_FULL, key=lambda k: len(cols & set(_FULL[k])))
    missing = [c for c in _REQUIRED[layout] if c not in cols]
    raise ImportFormatError(
        path, f"not a WeChat export CSV: missing column(s) {', '.join(missing)} of the {layout} header "
        f"(the file has {', '.join(map(str, frame.columns[:12]))})",
        "expected the LC044/WeChatMsg header (" + ",".join(LC044_COLUMNS) + ") or the PyWxDump header ("
        + ",".join(PYWXDUMP_COLUMNS) + ")", record="line 1 (the header)",
    )


def convert(source: str | Path, **options: Any) -> tuple[Dataset, ImportReport]:
    """Convert a WeChat group-chat CSV export (LC044/WeChatMsg or PyWxDump) to the canonical tables.

    Parameters
    ----------
    source : str or Path
        One CSV, or a folder of CSV pages of the same chat.
    **options
        Community options (``community_id`` defaults to the file name without
        ``_utf8``); ``tz`` (zone of PyWxDump local times, default
        ``Asia/Shanghai``); ``owner_id`` (wxid of the exporting account, for
        its own rows without a sender); ``owner_role`` (role of that account,
        default ``owner``).

    Returns
    -------
    dataset, report : Dataset and ImportReport

    Raises
    ------
    ImportFormatError
        Unknown header, unreadable text, bad times (names the file).
    """
    split_options(options, OPTIONS, "wechat")
    src = Path(source)
    files = export_files(src, ".csv")
    tz = tz_option(options)
    report = ImportReport("wechat", str(src))
    parts = []
    for f in files:
        raw = _read_csv(f)
        report.read(f.name, len(raw))
        parts.append(_normalise(raw, f, tz))
    rows = pd.concat(parts, ignore_index=True)
    msg_id = rows["msg_id"].astype("string").str.strip()
    rows = rows[first_of_each_id(msg_id.mask((msg_id == "").fillna(False)), report)].reset_index(drop=True)
    rows["sender"] = rows["sender"].astype("string").str.strip().replace("", pd.NA)
    owner_id = options.get("owner_id")
    if owner_id:
        rows.loc[rows["is_self"] & rows["sender"].isna(), "sender"] = str(owner_id)
    cid = options.get(Col.community_id) or (src.name if src.is_dir() else src.stem.removesuffix("_utf8"))

    system = rows[rows["kind"] == "system"]
    content = rows[rows["kind"] != "system"]
    content = drop_rows(content, content["sender"].isna(), "message without a sender id (set owner_id for the "
                        "exporting account's own rows)", report)
    names: dict[str, str] = {}
    by_name: dict[str, set[str]] = {}
    for sid, name, nick, remark in zip(content["sender"], content["name"], content["nick"], content["remark"],
                                       strict=True):
        if pd.notna(name):
            names[sid] = str(name)
        for n in (nick, remark):
            if pd.notna(n) and str(n).strip():
                by_name.setdefault(str(n).strip(), set()).add(sid)
    events = pd.DataFrame({
        Col.community_id: cid, Col.member_id: content["sender"], "ts": content["ts"],
        "event_type": content["kind"].map(lambda k: "reply" if k == "quote" else "message"),
        "target_member_id": pd.NA, "text": content["text"], "message_kind": content["kind"],
    })
    joins, channels = [], []
    for ts, text in zip(system["ts"], system["text"], strict=True):
        line = str(text or "").strip()
        m, channel = _INVITE.match(line), "invite"
        if not m:
            m, channel = _QR.match(line), "qr_code"
        if not m:
            report.skip("system message other than an invitation (recall, pat, red packet, ...)")
            continue
        inviter = _member_named(m.group("actor"), by_name, owner_id)
        for name in re.split(r"[、,，]", m.group("names")):
            match = by_name.get(name.strip().strip('"'), set())
            if len(match) != 1:
                report.drop("join: invited name not matched to exactly one member")
                continue
            joins.append({Col.community_id: cid, Col.member_id: next(iter(match)), "ts": ts, "event_type": "join"})
            channels.append({Col.member_id: next(iter(match)), "ts": ts, "join_channel": channel,
                             "invited_by": inviter})
    if joins:
        events = pd.concat([events, pd.DataFrame(joins)], ignore_index=True)
    if events.empty:
        raise ImportFormatError(src, f"no message with a sender id (in {', '.join(f.name for f in files[:5])})",
                                "a group-chat export holds members' messages; set owner_id for the exporting "
                                "account's own rows")
    n_quote = int((events["event_type"] == "reply").sum())
    infer = opt_bool(options.get("infer_replies"), "infer_replies") is not False
    if infer:  # the CSV has no reply targets: infer them (commlab.replies), marked in reply_source
        events = infer_replies(events, members=[(n, sid) for n, sids in by_name.items() for sid in sids],
                               roles={str(owner_id): options.get("owner_role") or "owner"} if owner_id else None)
        report.notes.append(inferred_note(events))
    elif n_quote:
        report.notes.append(f"{n_quote} quote reply(ies) kept as reply with an empty target (the quoted message "
                            "is not in the CSV)")
    roles = {str(owner_id): options.get("owner_role") or "owner"} if owner_id else None
    members = members_from_events(events, names=names, roles=roles)
    if channels:  # how each invitee joined (their first join), for the recruiting measures (DOMAIN.md §4b)
        how = pd.DataFrame(channels).sort_values("ts", kind="stable").drop_duplicates(Col.member_id)
        members = members.merge(how[[Col.member_id, "join_channel", "invited_by"]].astype("string"), on=Col.member_id,
                                how="left")
    comm = community_row(
        community_id=cid, name=cid, platform="wechat", created_at=events["ts"].min(),
        source="WeChat group chat export (CSV)", report=report, defaults=_DEFAULTS, options=options,
    )
    return finish(pd.DataFrame([comm]), members, events, source=str(src), report=report), report


def _member_named(name: str | None, by_name: dict[str, set[str]], owner_id: Any) -> str | None:
    """The id of the one member called ``name`` (the ``owner_id`` account for ``你``), else ``None``."""
    if not name:
        return None
    name = name.strip().strip('"')
    if name in _YOU:
        return str(owner_id) if owner_id else None
    match = by_name.get(name, set())
    return next(iter(match)) if len(match) == 1 else None


def read_wechat(source: str | Path, **options: Any) -> Dataset:
    """Read a WeChat CSV export into a validated :class:`Dataset` (see :func:`convert`)."""
    return convert(source, **options)[0]
