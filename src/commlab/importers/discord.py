"""Importer for DiscordChatExporter (Tyrrrz) JSON exports.

Accepted layout (``FORMATS.md`` §3, from ``JsonMessageWriter.cs``): one JSON
file per channel (threads and forum posts are channels of their own), or a
folder of such files. Each file: ``{"guild": {...}, "channel": {...},
"messages": [...], ...}``. One community per ``guild.id``. The CSV format
has no message ids, types or references, so it is not accepted (use JSON).

Mapping
-------
* ``Default`` message -> ``message`` by ``author.id``; ``Reply`` (or any
  message whose ``reference.type`` is ``Default``) -> ``reply`` with
  ``target_member_id`` = author of ``reference.messageId`` (looked up in all
  files of the guild; empty when not exported). ``Forward`` is not a reply.
* ``thread_id`` = the channel id for thread channels (``channel.type``
  containing ``Thread``); otherwise the root message id of a reply chain
  (messages in no chain have none). ``channel`` = ``channel.name``.
* ``mentions[].id`` -> ``mention`` events; ``reactions[].users[].id`` ->
  ``reaction`` events aimed at the author, with the message's time and
  ``ts_estimated`` = True (exports have no reaction time); reactions without
  ``users`` (older exports) are counted.
* ``GuildMemberJoin`` -> ``join`` by the author. ``RecipientAdd`` /
  ``RecipientRemove`` -> ``join`` / ``leave`` of each mentioned user. Other
  system kinds are counted as not mapped. Discord writes no leave message.
* ``timestamp`` carries an offset (or is UTC with ``--utc``): stored in UTC.
* members: authors, reactors and mentioned users; role ``bot`` for
  ``isBot``; ``display_name`` = ``nickname`` or ``name``; ``joined_at`` = join
  event or first time seen. Ids stay strings (they exceed 2^53).
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

__all__ = ["convert", "read_discord", "OPTIONS"]

OPTIONS: tuple[str, ...] = ("progress",)
_DEFAULTS = {"theme": "interest", "business_model": "creator", "lifecycle": "startup", "monetization": "none"}


def _load(path: Path) -> dict:
    data = read_json_file(path)
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list) \
            or not isinstance(data.get("guild"), dict) or not isinstance(data.get("channel"), dict):
        found = ", ".join(list(data)[:8]) if isinstance(data, dict) else type(data).__name__
        raise ImportFormatError(
            path, f"not a DiscordChatExporter JSON export: expected 'guild', 'channel' and 'messages', found {found}",
            "export with DiscordChatExporter in JSON format (CSV has no message ids or replies)",
        )
    for m in data["messages"]:
        if not isinstance(m, dict) or "id" not in m or not isinstance(m.get("author"), dict) or "timestamp" not in m:
            raise ImportFormatError(path, f"a message lacks 'id', 'author' or 'timestamp': {str(m)[:80]}")
    return data


def convert(source: str | Path, **options: Any) -> tuple[Dataset, ImportReport]:
    """Convert DiscordChatExporter JSON files to the canonical tables.

    Parameters
    ----------
    source : str or Path
        One exported ``.json`` file or a folder of them (one per channel/thread).
    **options
        Community options (``community_id`` only when one guild is exported).

    Returns
    -------
    dataset, report : Dataset and ImportReport

    Raises
    ------
    ImportFormatError
        Invalid JSON or JSON of the wrong shape (names the file).
    """
    split_options(options, OPTIONS, "discord")
    src = Path(source)
    files = sorted(src.glob("*.json")) if src.is_dir() else [src]
    if not files:
        raise ImportFormatError(src, "no .json file in the folder")
    report = ImportReport("discord", str(src))
    exports = [(f, _load(f)) for f in files]
    guilds = {str(d["guild"].get("id")) for _, d in exports}
    single_community_option(options, len(guilds), "guilds")
    author_of: dict[tuple[str, str], str] = {}
    for _, d in exports:
        g = str(d["guild"].get("id"))
        for m in d["messages"]:
            author_of[(g, str(m["id"]))] = str(m["author"].get("id"))
    rows: list[dict] = []
    names: dict[tuple[str, str], str] = {}
    roles: dict[tuple[str, str], str] = {}
    gnames: dict[str, str] = {}
    for f, d in exports:
        g = str(d["guild"].get("id"))
        cid = (options.get("community_id") if len(guilds) == 1 else None) or f"discord-{g}"
        gnames[cid] = str(d["guild"].get("name") or cid)
        ch = d["channel"]
        is_thread = "thread" in str(ch.get("type", "")).lower()
        msgs = d["messages"]
        report.read(f"{f.name}: messages", len(msgs))
        ts = text_to_utc(pd.Series([m["timestamp"] for m in msgs], dtype="string"), tz="UTC", file=str(f),
                         what="timestamp")
        ids = [str(m["id"]) for m in msgs]
        parents = [str(m["reference"]["messageId"]) if _is_reply(m) else None for m in msgs]
        roots = {} if is_thread else reply_roots(ids, parents)
        for m, t, parent in zip(msgs, ts, parents, strict=True):
            a = m["author"]
            who = str(a.get("id"))
            names[(cid, who)] = a.get("nickname") or a.get("name") or who
            if a.get("isBot"):
                roles[(cid, who)] = "bot"
            base = {"community_id": cid, "ts": t, "channel": ch.get("name"), "message_id": str(m["id"]),
                    "thread_id": str(ch.get("id")) if is_thread else roots.get(str(m["id"])),
                    "target_member_id": None, "ts_estimated": False}
            kind = str(m.get("type"))
            if kind in ("Default", "Reply"):
                target = author_of.get((g, parent)) if parent else None
                rows.append({**base, "member_id": who, "event_type": "reply" if parent else "message",
                             "target_member_id": target, "text": m.get("content")})
                if parent and target is None:
                    report.skip("reply to a message not in the exported files (target left empty)")
                for u in m.get("mentions") or []:
                    if isinstance(u, dict) and u.get("id"):
                        uid = str(u["id"])
                        names.setdefault((cid, uid), u.get("nickname") or u.get("name") or uid)
                        rows.append({**base, "member_id": who, "event_type": "mention", "target_member_id": uid})
                for r in m.get("reactions") or []:
                    users = r.get("users")
                    if users is None:
                        report.skip("reaction without the reactors (older export)", int(r.get("count") or 0))
                        continue
                    for u in users:
                        uid = str(u.get("id"))
                        names.setdefault((cid, uid), u.get("nickname") or u.get("name") or uid)
                        if u.get("isBot"):
                            roles[(cid, uid)] = "bot"
                        rows.append({**base, "member_id": uid, "event_type": "reaction", "target_member_id": who,
                                     "text": (r.get("emoji") or {}).get("name"), "ts_estimated": True})
                    unlisted = max(int(r.get("count") or 0) - len(users), 0)
                    report.skip("reaction counted but reactor not listed", unlisted)
            elif kind == "GuildMemberJoin":
                rows.append({**base, "member_id": who, "event_type": "join"})
            elif kind in ("RecipientAdd", "RecipientRemove"):
                for u in m.get("mentions") or []:
                    rows.append({**base, "member_id": str(u.get("id")),
                                 "event_type": "join" if kind == "RecipientAdd" else "leave"})
            else:
                report.skip(f"system message '{kind}'")
    if not rows:
        raise ImportFormatError(src, "no messages in the export")
    ev = pd.DataFrame(rows)
    for col in ("target_member_id", "thread_id", "channel", "text", "message_id"):
        ev[col] = ev[col].astype("string")
    ev["ts_estimated"] = ev["ts_estimated"].fillna(False).astype(bool)
    members = []
    comms = []
    for cid, part in ev.groupby("community_id", sort=True):
        mem = members_from_events(
            part, names={k[1]: v for k, v in names.items() if k[0] == cid},
            roles={k[1]: v for k, v in roles.items() if k[0] == cid},
        )
        members.append(mem)
        opts = {k: v for k, v in options.items() if k != "community_id"}
        comms.append(community_row(
            community_id=str(cid), name=gnames[str(cid)], platform="discord", created_at=part["ts"].min(),
            source="DiscordChatExporter JSON", report=report, defaults=_DEFAULTS, options=opts,
        ))
    ds = finish(pd.DataFrame(comms), pd.concat(members, ignore_index=True), ev, source=str(src), report=report)
    return ds, report


def _is_reply(m: dict) -> bool:
    ref = m.get("reference")
    return isinstance(ref, dict) and ref.get("messageId") is not None and ref.get("type", "Default") == "Default"


def read_discord(source: str | Path, **options: Any) -> Dataset:
    """Read DiscordChatExporter JSON into a validated :class:`Dataset` (see :func:`convert`)."""
    return convert(source, **options)[0]
