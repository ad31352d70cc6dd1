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

from commlab.data.load import Dataset
from commlab.importers.base import (
    ImportFormatError,
    ImportReport,
    community_row,
    finish,
    members_from_events,
    read_json_file,
    reply_roots,
    single_community_option,
    split_options,
    text_to_utc,
)

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
                    chats.append(c)
                else:
                    report.skip("chat that is not a group or channel (personal, bot, saved)")
        return chats
    shape = type(data).__name__ if not isinstance(data, dict) else "object with keys " + ", ".join(list(data)[:8])
    raise ImportFormatError(
        path, f"not a Telegram Desktop export: expected an object with 'messages' (one chat) or 'chats' "
        f"(full export), found {shape}", "export with Telegram Desktop: Export chat history, format JSON",
    )


def _plain(text: Any) -> str:
    if isinstance(text, str):
        return text
    if isinstance(text, list):
        return "".join(t if isinstance(t, str) else str(t.get("text", "")) for t in text)
    return ""


def _chat_events(chat: dict, cid: str, path: Path, tz: str, report: ImportReport) -> tuple[list[dict], dict, dict]:
    msgs = chat["messages"]
    names: dict[str, str] = {}
    for m in msgs:
        if not isinstance(m, dict) or "id" not in m or "type" not in m:
            raise ImportFormatError(path, f"chat {chat.get('id')}: a message lacks 'id' or 'type': {str(m)[:80]}")
        for who, name in ((m.get("from_id"), m.get("from")), (m.get("actor_id"), m.get("actor"))):
            if who and name:
                names[str(who)] = str(name)
    by_name: dict[str, set[str]] = {}
    for i, n in names.items():
        by_name.setdefault(n, set()).add(i)

    # times: date_unixtime (UTC) when present, else local `date` in tz
    unix = [m.get("date_unixtime") for m in msgs]
    local = pd.to_datetime(pd.Series([m.get("date") for m in msgs], dtype="string"), errors="coerce")
    if all(u is not None for u in unix):
        ts = pd.to_datetime(pd.to_numeric(pd.Series(unix)), unit="s", utc=True).astype("datetime64[ns, UTC]")
    else:
        report.notes.append(f"chat {chat.get('id')}: no date_unixtime (old export): 'date' read in {tz}")
        ts = text_to_utc(pd.Series([m.get("date") for m in msgs]), tz=tz, file=str(path), what="date")
    offset = local - ts.dt.tz_convert(None)  # local PC time minus UTC, per message

    author = {str(m["id"]): str(m["from_id"]) for m in msgs if m.get("type") == "message" and m.get("from_id")}
    ids = [str(m["id"]) for m in msgs if m.get("type") == "message"]
    parents = [str(m["reply_to_message_id"]) if m.get("reply_to_message_id") is not None else None
               for m in msgs if m.get("type") == "message"]
    roots = reply_roots(ids, parents)
    rows: list[dict] = []
    roles: dict[str, str] = {}
    unresolved_reply = 0
    for m, t, off in zip(msgs, ts, offset, strict=True):
        mtype = m.get("type")
        base = {"community_id": cid, "ts": t, "message_id": str(m["id"])}
        if mtype == "message":
            who = m.get("from_id")
            if not who:
                report.drop("message without from_id (unknown sender)")
                continue
            who = str(who)
            parent = m.get("reply_to_message_id")
            target = author.get(str(parent)) if parent is not None else None
            if parent is not None and target is None:
                unresolved_reply += 1
            rows.append({**base, "member_id": who, "event_type": "reply" if parent is not None else "message",
                         "target_member_id": target, "thread_id": roots.get(str(m["id"])),
                         "text": _plain(m.get("text"))})
            for ent in m.get("text_entities") or []:
                if not isinstance(ent, dict):
                    continue
                if ent.get("type") == "mention_name" and ent.get("user_id") is not None:
                    rows.append({**base, "member_id": who, "event_type": "mention",
                                 "target_member_id": f"user{ent['user_id']}", "thread_id": roots.get(str(m["id"]))})
                elif ent.get("type") == "mention":
                    report.skip("@username mention (no user id in the export)")
            for r in m.get("reactions") or []:
                recent = r.get("recent") or []
                for rec in recent:
                    if not rec.get("from_id"):
                        continue
                    rts = t
                    if rec.get("date") and pd.notna(off):
                        local_r = pd.to_datetime(rec["date"], errors="coerce")
                        if pd.notna(local_r):
                            rts = (local_r - off).tz_localize("UTC")
                    rows.append({**base, "ts": rts, "member_id": str(rec["from_id"]), "event_type": "reaction",
                                 "target_member_id": who, "thread_id": roots.get(str(m["id"])),
                                 "text": r.get("emoji")})
                    if rec.get("from"):
                        names.setdefault(str(rec["from_id"]), str(rec["from"]))
                report.skip("reaction without a listed reactor (only a count)",
                            max(int(r.get("count") or 0) - len(recent), 0))
        elif mtype == "service":
            action = m.get("action")
            actor = str(m["actor_id"]) if m.get("actor_id") else None
            if action in ("join_group_by_link", "join_group_by_request") and actor:
                rows.append({**base, "member_id": actor, "event_type": "join"})
            elif action in ("invite_members", "create_group", "remove_members"):
                if action == "create_group" and actor:
                    roles[actor] = "owner"
                    rows.append({**base, "member_id": actor, "event_type": "join"})
                for name in m.get("members") or []:
                    if action == "remove_members" and name == m.get("actor") and actor:
                        rows.append({**base, "member_id": actor, "event_type": "leave", "detail": "left"})
                        continue
                    if action != "remove_members" and name == m.get("actor") and actor:
                        if action == "invite_members":
                            rows.append({**base, "member_id": actor, "event_type": "join"})
                        continue
                    match = by_name.get(str(name), set())
                    if len(match) != 1:
                        report.drop(f"{action}: member name not matched to exactly one id")
                        continue
                    etype = "leave" if action == "remove_members" else "join"
                    rows.append({**base, "member_id": next(iter(match)), "event_type": etype,
                                 "detail": "removed" if etype == "leave" else "invited",
                                 "target_member_id": None})
            else:
                report.skip(f"service message '{action}'")
        else:
            report.skip(f"message of type '{mtype}'")
    if unresolved_reply:
        report.notes.append(f"chat {chat.get('id')}: {unresolved_reply} reply(ies) to a message not in the export "
                            "kept with an empty target")
    report.read(f"chat {chat.get('id')}: messages", len(msgs))
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
    tz = options.get("tz") or "Asia/Shanghai"
    comms, events, members = [], [], []
    for chat in chats:
        cid = (options.get("community_id") if len(chats) == 1 else None) or f"telegram-{chat.get('id')}"
        rows, names, roles = _chat_events(chat, cid, path, tz, report)
        if not rows:
            report.notes.append(f"chat {chat.get('id')}: no events; skipped")
            continue
        ev = pd.DataFrame(rows)
        events.append(ev)
        members.append(members_from_events(ev, names=names, roles=roles))
        opts = {k: v for k, v in options.items() if k != "community_id"}
        comms.append(community_row(
            community_id=cid, name=str(chat.get("name") or cid), platform="telegram", created_at=ev["ts"].min(),
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
