"""Importer for DiscordChatExporter (Tyrrrz) JSON exports.

Accepted layout (``FORMATS.md`` §3, from ``JsonMessageWriter.cs``): one JSON
file per channel (threads and forum posts are channels of their own), or a
folder of such files. Each file: ``{"guild": {...}, "channel": {...},
"messages": [...], ...}``. One community per ``guild.id``.

CSV exports (``FORMATS.md`` §3, ``CsvMessageWriter.cs``) are accepted too: a
``.csv`` file or a folder of them, header exactly
``AuthorID,Author,Date,Content,Attachments,Reactions``, ``Date`` in .NET
``"o"`` format (``2024-03-01T18:00:00.0000000+08:00``), ``Reactions`` as
``👍 (2),🎉 (1)``. The CSV has no message ids, types, references, mentions,
reactors or guild id, so each row becomes a ``message`` by ``AuthorID``
(``text`` = ``Content``, extra ``attachments`` = number of attachment URLs);
reactions are counted as not mapped; the community is the guild name of the
default file name ``<Guild> - <Category> - <channel> [<channelId>].csv``
(``discord-<Guild>``; the file name without extension if it does not follow
that pattern), ``channel`` = the channel name. A folder mixing ``.json`` and
``.csv`` exports is rejected (import each kind on its own).

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

import io
import re
from pathlib import Path
from typing import Any

import pandas as pd

from commlab.data.load import Dataset
from commlab.importers.base import (
    ImportFormatError,
    ImportReport,
    community_row,
    decode_text,
    finish,
    members_from_events,
    read_bytes,
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
    """Convert DiscordChatExporter JSON (or CSV) files to the canonical tables.

    Parameters
    ----------
    source : str or Path
        One exported ``.json`` or ``.csv`` file, or a folder of them (one per channel/thread).
    **options
        Community options (``community_id`` only when one guild is exported).

    Returns
    -------
    dataset, report : Dataset and ImportReport

    Raises
    ------
    ImportFormatError
        Invalid JSON or JSON of the wrong shape, a CSV with another header (names the file).
    """
    split_options(options, OPTIONS, "discord")
    src = Path(source)
    files = sorted(src.glob("*.json")) if src.is_dir() else [src]
    csvs = sorted(src.glob("*.csv")) if src.is_dir() else [src] if src.suffix.lower() == ".csv" else []
    if csvs and src.is_dir() and files:
        raise ImportFormatError(src, f"a mix of JSON ({len(files)}) and CSV ({len(csvs)}) exports",
                                "import the JSON files and the CSV files separately (JSON has replies and reactors)")
    if csvs:
        return _convert_csv(src, csvs, options)
    if not files:
        raise ImportFormatError(src, "no .json or .csv file in the folder")
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


#: Header of DiscordChatExporter's CSV (``CsvMessageWriter.cs``).
CSV_HEADER: tuple[str, ...] = ("AuthorID", "Author", "Date", "Content", "Attachments", "Reactions")
_FILE_NAME = re.compile(r"^(?P<guild>.+?) - (?:(?P<parent>.+) - )?(?P<channel>.+?) \[(?P<channel_id>\d+)\]$")
_REACTION = re.compile(r"\((\d+)\)\s*(?:,|$)")


def _read_csv(path: Path) -> pd.DataFrame:
    text = decode_text(read_bytes(path), str(path))
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ImportFormatError(path, f"not a readable CSV file ({exc})", "export the channel again") from exc
    if tuple(df.columns) != CSV_HEADER:
        unknown = [c for c in df.columns if c not in CSV_HEADER]
        missing = [c for c in CSV_HEADER if c not in df.columns]
        raise ImportFormatError(
            path, "not a DiscordChatExporter CSV export: "
            + (f"unknown column(s) {', '.join(map(str, unknown))}; " if unknown else "")
            + (f"missing column(s) {', '.join(missing)}; " if missing else "")
            + f"expected the header {','.join(CSV_HEADER)}",
            "export the channel with DiscordChatExporter in CSV (or, better, JSON) format without editing it",
        )
    for col in ("AuthorID", "Date"):
        empty = df[col].isna()
        if empty.any():
            rows = [int(i) + 2 for i in df.index[empty][:5]]
            raise ImportFormatError(path, f"column {col}: {int(empty.sum())} empty value(s), first at row(s) "
                                    f"{', '.join(map(str, rows))}", "every exported message has an author and a date")
    return df


def _convert_csv(src: Path, files: list[Path], options: dict[str, Any]) -> tuple[Dataset, ImportReport]:
    """Convert DiscordChatExporter CSV files (messages only; see the module docstring)."""
    report = ImportReport("discord", str(src))
    parts = []
    for f in files:
        m = _FILE_NAME.match(f.stem)
        guild = m.group("guild") if m else f.stem
        df = _read_csv(f)
        report.read(f"{f.name}: messages", len(df))
        ts = text_to_utc(df["Date"], tz="UTC", file=str(f), what="Date")
        reactions = df["Reactions"].fillna("").map(lambda r: sum(int(n) for n in _REACTION.findall(r)))
        report.skip("reaction in a CSV export (no reactor ids; export JSON to keep them)", int(reactions.sum()))
        attachments = df["Attachments"].fillna("").map(lambda a: len([u for u in a.split(",") if u.strip()]))
        parts.append(pd.DataFrame({
            "guild": guild, "member_id": df["AuthorID"].str.strip(), "ts": ts, "event_type": "message",
            "channel": m.group("channel") if m else None, "text": df["Content"],
            "attachments": attachments.astype("float64"),
            "author": df["Author"].fillna("").str.replace(r"#\d{4}$", "", regex=True),
        }))
    ev = pd.concat(parts, ignore_index=True)
    guilds = sorted(ev["guild"].unique())
    single_community_option(options, len(guilds), "guilds")
    given = options.get("community_id")
    ev.insert(0, "community_id", given if given and len(guilds) == 1 else "discord-" + ev["guild"])
    for col in ("channel", "text"):
        ev[col] = ev[col].astype("string")
    names = ev.drop_duplicates(["community_id", "member_id"], keep="last")
    members, comms = [], []
    opts = {k: v for k, v in options.items() if k != "community_id"}
    for (cid, guild), part in ev.groupby(["community_id", "guild"], sort=True):
        nm = names[names["community_id"] == cid].set_index("member_id")["author"]
        members.append(members_from_events(part, names=nm.mask(nm == "")))
        comms.append(community_row(
            community_id=str(cid), name=str(guild), platform="discord", created_at=part["ts"].min(),
            source="DiscordChatExporter CSV", report=report, defaults=_DEFAULTS, options=opts,
        ))
    report.notes.append("CSV export: messages only (no message ids, replies, mentions, joins, reactors or bot "
                        "flags; roles are all member); export JSON to keep them")
    events = ev.drop(columns=["guild", "author"])
    ds = finish(pd.DataFrame(comms), pd.concat(members, ignore_index=True), events, source=str(src), report=report)
    return ds, report


def _is_reply(m: dict) -> bool:
    ref = m.get("reference")
    return isinstance(ref, dict) and ref.get("messageId") is not None and ref.get("type", "Default") == "Default"


def read_discord(source: str | Path, **options: Any) -> Dataset:
    """Read DiscordChatExporter JSON into a validated :class:`Dataset` (see :func:`convert`)."""
    return convert(source, **options)[0]
