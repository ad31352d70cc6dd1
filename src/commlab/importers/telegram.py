"""Importer for Telegram Desktop "Export chat history" JSON (``result.json``).

Accepted layouts (``FORMATS.md`` §1, from ``telegramdesktop/tdesktop``
``export_output_json.cpp``): a ``result.json`` file, or the export folder
holding it, either

* one chat: ``{"name", "type", "id", "messages": [...]}``, or
* a full account export: ``{"chats": {"list": [chat, ...]}, "left_chats": {...}}``;
  there only group and channel chats (``private_group``, ``private_supergroup``,
  ``public_supergroup``, ``private_channel``, ``public_channel``) are imported,
  one community each.

Mapping
-------
* ``type == "message"`` -> ``message`` by ``from_id``; with
  ``reply_to_message_id`` -> ``reply``, ``target_member_id`` = the replied
  message's ``from_id`` (empty when that message is not in the export),
  ``thread_id`` = the root of the reply chain (messages in no chain have none).
  ``ts`` = ``date_unixtime`` (UTC); ``date`` (local time of the exporting PC)
  is used only when ``date_unixtime`` is absent (old exports), read in the
  ``tz`` option.
* ``mention_name`` text entities (they carry ``user_id``) -> ``mention``
  events aimed at ``user<user_id>``. ``@username`` mentions carry no id and
  are counted, not mapped.
* ``reactions[].recent[]`` -> one ``reaction`` per recent reactor, aimed at
  the message author; its ``date`` is local PC time, converted with the
  message's own offset (``date`` - ``date_unixtime``). The rest of ``count``
  has no reactor and is counted as not mapped.
* service ``join_group_by_link`` / ``join_group_by_request`` -> ``join`` by
  ``actor_id``; ``invite_members`` / ``create_group`` -> ``join`` for each
  invited name that matches exactly one display name seen in the chat (the
  export gives names, not ids; unmatched names are dropped and counted);
  ``remove_members`` -> ``leave`` (actor == member: left; otherwise removed,
  extra column ``detail`` = ``removed``). The ``create_group`` actor is the
  ``owner``. Other service actions are counted as not mapped.
* members: every id seen acting, targeted or mentioned; ``joined_at`` = join
  event or first time seen; ``display_name`` = last name seen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from commlab.data.io import parse_times
from commlab.data.load import Dataset
from commlab.data.schema import Col
from commlab.errors import ImportFormatError
from commlab.importers.fields import Fields, preview, record_label
from commlab.importers.finish import finish
from commlab.importers.import_report import ImportReport
from commlab.importers.jsonfile import read_json_file
from commlab.importers.options import community_row, single_community_option, split_options, tz_option
from commlab.importers.tables import first_of_each_id, members_from_events, reply_roots
from commlab.importers.times import text_to_utc, unix_to_utc

__all__ = ["convert", "read_telegram", "OPTIONS"]

#: Importer-specific options: ``tz`` (zone of ``date`` when ``date_unixtime`` is missing).
OPTIONS: tuple[str, ...] = ("tz", "progress")

GROUP_TYPES = ("private_group", "private_supergroup", "public_supergroup", "private_channel", "public_channel")
_DEFAULTS = {"theme": "interest", "business_model": "creator", "lifecycle": "startup", "monetization": "none"}


def _chats(data: Any, path: Path, report: ImportReport) -> list[dict]:
    if isinstance(data, dict) and isinstance(data.get("messages"), list):
        return [data]
    if isinstance(data, dict) and isinstance(data.get("chats"), dict):
        chats: list[dict] = []
        for key in ("chats", "left_chats"):
            part = data.get(key) or {}
            lst = part.get("list", []) if isinstance(part, dict) else []
            if not isinstance(lst, list):
                raise ImportFormatError(path, f"'{key}.list' is not a list")
            for c in lst:
                if isinstance(c, dict) and c.get("type") in GROUP_TYPES:
                    if not isinstance(c.get("messages"), list):
                        raise ImportFormatError(path, "expected a list of messages", record=_chat_label(c),
                                                field="messages")
                    chats.append(c)
                else:
                    report.skip("chat that is not a group or channel (personal, bot, saved)")
        return chats
    shape = type(data).__name__ if not isinstance(data, dict) else "object with keys " + ", ".join(list(data)[:8])
    raise ImportFormatError(
        path, f"not a Telegram Desktop export: expected an object with 'messages' (one chat) or 'chats' "
        f"(full export), found {shape}", "export with Telegram Desktop: Export chat history, format JSON",
    )


def _chat_label(chat: dict) -> str:
    return record_label("chat", chat.get("id"))


def _plain(text: Any, f: Fields) -> str:
    if isinstance(text, str):
        return text
    if isinstance(text, list):
        parts = []
        for t in text:
            if isinstance(t, dict):
                parts.append(f.text(t, "text", name="text[].text") or "")
            elif isinstance(t, str):
                parts.append(t)
            else:
                raise f.error("text[]", f"expected text or an entity object, found {preview(t)}")
        return "".join(parts)
    if text is None:
        return ""
    raise f.error("text", f"expected text or a list of text parts, found {preview(text)}")


def _chat_events(chat: dict, cid: str, path: Path, tz: str, report: ImportReport) -> tuple[list[dict], dict, dict]:
    chat_label = _chat_label(chat)
    msgs: list[dict] = []
    fields: list[Fields] = []
    for i, m in enumerate(chat["messages"]):
        if not isinstance(m, dict):
            raise ImportFormatError(path, f"a message is {preview(m)}, not an object",
                                    record=f"{chat_label}, message at position {i}")
        f = Fields(path, f"{chat_label}, {record_label('message', m.get('id'), i)}")
        f.id(m, "id", required=True)
        if f.text(m, "type") is None:
            raise f.error("type", "missing (every message has one)")
        msgs.append(m)
        fields.append(f)
    first = first_of_each_id([str(m["id"]) for m in msgs], report)
    msgs = [m for m, keep in zip(msgs, first, strict=True) if keep]
    fields = [f for f, keep in zip(fields, first, strict=True) if keep]
    names: dict[str, str] = {}
    for m, f in zip(msgs, fields, strict=True):
        for who, name in (("from_id", "from"), ("actor_id", "actor")):
            uid, text = f.id(m, who), f.text(m, name)
            if uid and text:
                names[uid] = text
    by_name: dict[str, set[str]] = {}
    for i, n in names.items():
        by_name.setdefault(n, set()).add(i)

    # times: date_unixtime (UTC) when present, else local `date` in tz
    labels = [f.record for f in fields]
    unix = [m.get("date_unixtime") for m in msgs]
    dates = pd.Series([m.get("date") for m in msgs], dtype=object)
    if all(u is not None for u in unix):
        ts = unix_to_utc(unix, file=str(path), what="date_unixtime", records=labels)
        texts = dates.map(lambda d: d if isinstance(d, str) else None).astype("string")
        local = parse_times(texts, "UTC")[0].dt.tz_convert(None)  # a bad local date only loses reaction times
    else:
        report.notes.append(f"chat {chat.get('id')}: no date_unixtime (old export): 'date' read in {tz}")
        ts = text_to_utc(dates, tz=tz, file=str(path), what="date", records=labels)
        local = ts.dt.tz_convert(tz).dt.tz_localize(None)
    offset = local - ts.dt.tz_convert(None)  # local PC time minus UTC, per message

    author = {str(m["id"]): who for m, f in zip(msgs, fields, strict=True)
              if m.get("type") == "message" and (who := f.id(m, "from_id"))}
    replies = [(str(m["id"]), f.id(m, "reply_to_message_id")) for m, f in zip(msgs, fields, strict=True)
               if m.get("type") == "message"]
    roots = reply_roots([i for i, _ in replies], [p for _, p in replies])
    rows: list[dict] = []
    roles: dict[str, str] = {}
    unresolved_reply = 0
    for m, f, t, off in zip(msgs, fields, ts, offset, strict=True):
        mtype = m.get("type")
        base = {Col.community_id: cid, "ts": t, "message_id": str(m["id"])}
        if mtype == "message":
            who = f.id(m, "from_id")
            if not who:
                report.drop("message without from_id (unknown sender)")
                continue
            parent = f.id(m, "reply_to_message_id")
            target = author.get(parent) if parent is not None else None
            if parent is not None and target is None:
                unresolved_reply += 1
            rows.append({**base, Col.member_id: who, "event_type": "reply" if parent is not None else "message",
                         "target_member_id": target, "thread_id": roots.get(str(m["id"])),
                         "text": _plain(m.get("text"), f)})
            for ent in f.items(m, "text_entities"):
                if not isinstance(ent, dict):
                    continue
                kind = f.text(ent, "type", name="text_entities[].type")
                uid = f.id(ent, "user_id", name="text_entities[].user_id")
                if kind == "mention_name" and uid is not None:
                    rows.append({**base, Col.member_id: who, "event_type": "mention",
                                 "target_member_id": f"user{uid}", "thread_id": roots.get(str(m["id"]))})
                elif kind == "mention":
                    report.skip("@username mention (no user id in the export)")
            for r in f.items(m, "reactions", of=dict):
                recent = f.items(r, "recent", name="reactions[].recent", of=dict)
                for rec in recent:
                    reactor = f.id(rec, "from_id", name="reactions[].recent[].from_id")
                    if not reactor:
                        continue
                    rts = t
                    date = f.text(rec, "date", name="reactions[].recent[].date")
                    if date and pd.notna(off):
                        local_r = parse_times(pd.Series([date], dtype="string"), "UTC")[0].iloc[0]
                        if pd.notna(local_r):
                            rts = local_r.tz_localize(None) - off
                            rts = rts.tz_localize("UTC") if pd.notna(rts) else t
                    rows.append({**base, "ts": rts, Col.member_id: reactor, "event_type": "reaction",
                                 "target_member_id": who, "thread_id": roots.get(str(m["id"])),
                                 "text": f.text(r, "emoji", name="reactions[].emoji")})
                    name = f.text(rec, "from", name="reactions[].recent[].from")
                    if name:
                        names.setdefault(reactor, name)
                count = f.integer(r, "count", name="reactions[].count") or 0
                report.skip("reaction without a listed reactor (only a count)", max(count - len(recent), 0))
        elif mtype == "service":
            action = f.text(m, "action")
            actor = f.id(m, "actor_id")
            actor_name = f.text(m, "actor")
            if action in ("join_group_by_link", "join_group_by_request") and actor:
                rows.append({**base, Col.member_id: actor, "event_type": "join"})
            elif action in ("invite_members", "create_group", "remove_members"):
                if action == "create_group" and actor:
                    roles[actor] = "owner"
                    rows.append({**base, Col.member_id: actor, "event_type": "join"})
                for name in f.items(m, "members"):
                    if action == "remove_members" and name == actor_name and actor:
                        rows.append({**base, Col.member_id: actor, "event_type": "leave", "detail": "left"})
                        continue
                    if action != "remove_members" and name == actor_name and actor:
                        if action == "invite_members":
                            rows.append({**base, Col.member_id: actor, "event_type": "join"})
                        continue
                    match = by_name.get(name, set()) if isinstance(name, str) else set()
                    if len(match) != 1:
                        report.drop(f"{action}: member name not matched to exactly one id")
                        continue
                    etype = "leave" if action == "remove_members" else "join"
                    rows.append({**base, Col.member_id: next(iter(match)), "event_type": etype,
                                 "detail": "removed" if etype == "leave" else "invited",
                                 "target_member_id": None})
            else:
                report.skip(f"service message '{action}'")
        else:
            report.skip(f"message of type '{mtype}'")
    if unresolved_reply:
        report.notes.append(f"chat {chat.get('id')}: {unresolved_reply} reply(ies) to a message not in the export "
                            "kept with an empty target")
    report.read(f"chat {chat.get('id')}: messages", len(chat["messages"]))
    return rows, names, roles


def convert(source: str | Path, **options: Any) -> tuple[Dataset, ImportReport]:
    """Convert a Telegram Desktop JSON export to the canonical tables.

    Parameters
    ----------
    source : str or Path
        ``result.json`` or the export folder holding it.
    **options
        Community options (``community_id`` only for a single-chat export) and
        ``tz`` (default ``Asia/Shanghai``: zone of ``date`` in old exports
        without ``date_unixtime``).

    Returns
    -------
    dataset, report : Dataset and ImportReport

    Raises
    ------
    ImportFormatError
        Not JSON, or JSON of the wrong shape (names the file).
    """
    split_options(options, OPTIONS, "telegram")
    src = Path(source)
    path = src / "result.json" if src.is_dir() else src
    if not path.is_file():
        raise ImportFormatError(path, "not found", "pass result.json or the folder Telegram Desktop exported")
    report = ImportReport("telegram", str(path))
    chats = _chats(read_json_file(path), path, report)
    if not chats:
        raise ImportFormatError(path, "no group or channel chat in the export")
    single_community_option(options, len(chats), "chats")
    tz = tz_option(options)
    comms, events, members = [], [], []
    for chat in chats:
        cf = Fields(path, _chat_label(chat))
        chat_id = cf.id(chat, "id", required=True)
        cid = (options.get(Col.community_id) if len(chats) == 1 else None) or f"telegram-{chat_id}"
        rows, names, roles = _chat_events(chat, cid, path, tz, report)
        if not rows:
            report.notes.append(f"chat {chat.get('id')}: no events; skipped")
            continue
        ev = pd.DataFrame(rows)
        events.append(ev)
        members.append(members_from_events(ev, names=names, roles=roles))
        opts = {k: v for k, v in options.items() if k != Col.community_id}
        comms.append(community_row(
            community_id=cid, name=cf.text(chat, "name") or cid, platform="telegram", created_at=ev["ts"].min(),
            source=f"Telegram Desktop export ({path.name})", report=report, defaults=_DEFAULTS, options=opts,
        ))
    if not events:
        raise ImportFormatError(path, "the export holds no messages")
    ev = pd.concat(events, ignore_index=True)
    for col in ("target_member_id", "thread_id", "text", "detail", "message_id"):
        if col in ev.columns:
            ev[col] = ev[col].astype("string")
    ds = finish(pd.DataFrame(comms), pd.concat(members, ignore_index=True), ev, source=str(path), report=report)
    return ds, report


def read_telegram(source: str | Path, **options: Any) -> Dataset:
    """Read a Telegram Desktop JSON export into a validated :class:`Dataset` (see :func:`convert`)."""
    return convert(source, **options)[0]
