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
* a message without ``author.id`` is dropped and counted (never credited to
  a member ``None``); a message id already read in the guild's files is
  dropped and counted.
* members: authors, reactors and mentioned users; role ``bot`` for
  ``isBot``; ``display_name`` = ``nickname`` or ``name``; ``joined_at`` = join
  event or first time seen. Ids stay strings (they exceed 2^53).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from commlab.data.load import Dataset
from commlab.data.schema import Col
from commlab.errors import ImportFormatError
from commlab.importers.fields import Fields, preview, record_label
from commlab.importers.files import decode_text, read_bytes, read_csv_text
from commlab.importers.finish import finish
from commlab.importers.import_report import ImportReport
from commlab.importers.jsonfile import read_json_file
from commlab.importers.options import community_row, single_community_option, split_options
from commlab.importers.tables import DUPLICATE_ID, members_from_events, note_identical_rows, reply_roots
from commlab.importers.times import text_to_utc

__all__ = ["convert", "read_discord", "OPTIONS"]

OPTIONS: tuple[str, ...] = ("progress",)
_DEFAULTS = {"theme": "interest", "business_model": "creator", "lifecycle": "startup", "monetization": "none"}


def _load(path: Path) -> dict:
    data = read_json_file(path)
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list) \
            or not isinstance(data.get("guild"), dict) or not isinstance(data.get("channel"), dict):
        found = ", ".join(map(str, list(data)[:8])) if isinstance(data, dict) else type(data).__name__
        raise ImportFormatError(
            path, f"not a DiscordChatExporter JSON export: expected 'guild', 'channel' and 'messages', found {found}",
            "export with DiscordChatExporter in JSON format (CSV has no message ids or replies)",
        )
    for i, m in enumerate(data["messages"]):
        if not isinstance(m, dict):
            raise ImportFormatError(path, f"expected an object, found {preview(m)}", record=f"message at position {i}")
        f = Fields(path, record_label("message", m.get("id"), i))
        f.id(m, "id", required=True)
        f.mapping(m, "author", required=True)
        if m.get("timestamp") is None:
            raise f.error("timestamp", "missing (every message has one)")
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
        Invalid JSON or JSON of the wrong shape, a field of the wrong type, a CSV with another
        header (names the file, the message and the field).
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
    exports = []
    for path in files:
        d = _load(path)
        g = Fields(path, "guild").id(d["guild"], "id", name="guild.id", required=True)
        exports.append((path, d, g))
    guilds = {g for _, _, g in exports}
    single_community_option(options, len(guilds), "guilds")
    # each message once per guild: the first file (in name order) that holds it
    kept: dict[Path, list[tuple[dict, Fields]]] = {}
    author_of: dict[tuple[str, str], str | None] = {}
    for path, d, g in exports:
        kept[path] = []
        for i, m in enumerate(d["messages"]):
            f = Fields(path, record_label("message", m.get("id"), i))
            mid = f.id(m, "id", required=True)
            if (g, mid) in author_of:
                report.drop(DUPLICATE_ID)
                continue
            author_of[(g, mid)] = f.id(f.mapping(m, "author"), "id", name="author.id")
            kept[path].append((m, f))
    rows: list[dict] = []
    names: dict[tuple[str, str], str] = {}
    roles: dict[tuple[str, str], str] = {}
    gnames: dict[str, str] = {}
    for path, d, g in exports:
        cid = (options.get(Col.community_id) if len(guilds) == 1 else None) or f"discord-{g}"
        gnames[cid] = Fields(path, "guild").text(d["guild"], "name", name="guild.name") or cid
        ch = d["channel"]
        cf = Fields(path, "channel")
        ch_name, ch_id = cf.text(ch, "name", name="channel.name"), cf.id(ch, "id", name="channel.id")
        is_thread = "thread" in (cf.text(ch, "type", name="channel.type") or "").lower()
        msgs = kept[path]
        report.read(f"{path.name}: messages", len(d["messages"]))
        if not d["messages"]:
            report.skip("channel export without messages")
            continue
        ts = text_to_utc(pd.Series([m.get("timestamp") for m, _ in msgs], dtype=object), tz="UTC", file=str(path),
                         what="timestamp", records=[f.record for _, f in msgs])
        ids = [str(m["id"]) for m, _ in msgs]
        parents = [_reply_to(m, f) for m, f in msgs]
        roots = {} if is_thread else reply_roots(ids, parents)
        for (m, f), t, parent in zip(msgs, ts, parents, strict=True):
            a = f.mapping(m, "author")
            who = f.id(a, "id", name="author.id")
            if who is None:
                report.drop("message without author.id (unknown sender)")
                continue
            names[(cid, who)] = f.text(a, "nickname", name="author.nickname") \
                or f.text(a, "name", name="author.name") or who
            if f.flag(a, "isBot", name="author.isBot"):
                roles[(cid, who)] = "bot"
            base = {Col.community_id: cid, "ts": t, "channel": ch_name, "message_id": str(m["id"]),
                    "thread_id": ch_id if is_thread else roots.get(str(m["id"])),
                    "target_member_id": None, "ts_estimated": False}
            kind = f.text(m, "type")
            if kind in ("Default", "Reply"):
                target = author_of.get((g, parent)) if parent else None
                rows.append({**base, Col.member_id: who, "event_type": "reply" if parent else "message",
                             "target_member_id": target, "text": f.text(m, "content")})
                if parent and target is None:
                    report.skip("reply to a message not in the exported files (target left empty)")
                for u in f.items(m, "mentions", of=dict):
                    uid = f.id(u, "id", name="mentions[].id")
                    if uid:
                        names.setdefault((cid, uid), f.text(u, "nickname", name="mentions[].nickname")
                                         or f.text(u, "name", name="mentions[].name") or uid)
                        rows.append({**base, Col.member_id: who, "event_type": "mention", "target_member_id": uid})
                for r in f.items(m, "reactions", of=dict):
                    count = f.integer(r, "count", name="reactions[].count") or 0
                    if r.get("users") is None:
                        report.skip("reaction without the reactors (older export)", count)
                        continue
                    users = f.items(r, "users", name="reactions[].users", of=dict)
                    emoji = f.text(f.mapping(r, "emoji", name="reactions[].emoji"), "name",
                                   name="reactions[].emoji.name")
                    for u in users:
                        uid = f.id(u, "id", name="reactions[].users[].id")
                        if uid is None:
                            report.drop("reactor without an id")
                            continue
                        names.setdefault((cid, uid), f.text(u, "nickname", name="reactions[].users[].nickname")
                                         or f.text(u, "name", name="reactions[].users[].name") or uid)
                        if f.flag(u, "isBot", name="reactions[].users[].isBot"):
                            roles[(cid, uid)] = "bot"
                        rows.append({**base, Col.member_id: uid, "event_type": "reaction", "target_member_id": who,
                                     "text": emoji, "ts_estimated": True})
                    report.skip("reaction counted but reactor not listed", max(count - len(users), 0))
            elif kind == "GuildMemberJoin":
                rows.append({**base, Col.member_id: who, "event_type": "join"})
            elif kind in ("RecipientAdd", "RecipientRemove"):
                for u in f.items(m, "mentions", of=dict):
                    uid = f.id(u, "id", name="mentions[].id")
                    if uid is None:
                        report.drop(f"{kind} without a user id")
                        continue
                    rows.append({**base, Col.member_id: uid,
                                 "event_type": "join" if kind == "RecipientAdd" else "leave"})
            else:
                report.skip(f"system message '{kind}'")
    if not rows:
        raise ImportFormatError(src, f"no messages in the export ({', '.join(p.name for p in files[:5])})")
    ev = pd.DataFrame(rows)
    for col in ("target_member_id", "thread_id", "channel", "text", "message_id"):
        ev[col] = ev[col].astype("string")
    ev["ts_estimated"] = ev["ts_estimated"].fillna(False).astype(bool)
    members = []
    comms = []
    for cid, part in ev.groupby(Col.community_id, sort=True):
        mem = members_from_events(
            part, names={k[1]: v for k, v in names.items() if k[0] == cid},
            roles={k[1]: v for k, v in roles.items() if k[0] == cid},
        )
        members.append(mem)
        opts = {k: v for k, v in options.items() if k != Col.community_id}
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
    df = read_csv_text(decode_text(read_bytes(path), str(path)), path)
    if tuple(df.columns) != CSV_HEADER:
        unknown = [c for c in df.columns if c not in CSV_HEADER]
        missing = [c for c in CSV_HEADER if c not in df.columns]
        raise ImportFormatError(
            path, "not a DiscordChatExporter CSV export: "
            + (f"unknown column(s) {', '.join(map(str, unknown))}; " if unknown else "")
            + (f"missing column(s) {', '.join(missing)}; " if missing else "")
            + f"expected the header {','.join(CSV_HEADER)}",
            "export the channel with DiscordChatExporter in CSV (or, better, JSON) format without editing it",
            record="line 1 (the header)",
        )
    if df.empty:
        raise ImportFormatError(path, "no messages (the header only)", "export the channel again")
    for col in ("AuthorID", "Date"):
        empty = df[col].isna()
        if empty.any():
            rows = [int(i) + 2 for i in df.index[empty][:5]]
            more = f" (and {int(empty.sum()) - len(rows)} more)" if empty.sum() > len(rows) else ""
            raise ImportFormatError(path, f"empty{more}", "every exported message has an author and a date",
                                    record=f"row {', '.join(map(str, rows))}", field=col)
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
        ts = text_to_utc(df["Date"], tz="UTC", file=str(f), what="Date",
                         records=[f"row {i + 2}" for i in range(len(df))])
        reactions = df["Reactions"].fillna("").map(lambda r: sum(int(n) for n in _REACTION.findall(r)))
        report.skip("reaction in a CSV export (no reactor ids; export JSON to keep them)", int(reactions.sum()))
        attachments = df["Attachments"].fillna("").map(lambda a: len([u for u in a.split(",") if u.strip()]))
        parts.append(pd.DataFrame({
            "guild": guild, Col.member_id: df["AuthorID"].str.strip(), "ts": ts, "event_type": "message",
            "channel": m.group("channel") if m else None, "text": df["Content"],
            "attachments": attachments.astype("float64"),
            "author": df["Author"].fillna("").str.replace(r"#\d{4}$", "", regex=True),
        }))
    ev = pd.concat(parts, ignore_index=True)
    note_identical_rows(ev, report, "CSV row(s)")
    guilds = sorted(ev["guild"].unique())
    single_community_option(options, len(guilds), "guilds")
    given = options.get(Col.community_id)
    ev.insert(0, Col.community_id, given if given and len(guilds) == 1 else "discord-" + ev["guild"])
    for col in ("channel", "text"):
        ev[col] = ev[col].astype("string")
    names = ev.drop_duplicates([Col.community_id, Col.member_id], keep="last")
    members, comms = [], []
    opts = {k: v for k, v in options.items() if k != Col.community_id}
    for (cid, guild), part in ev.groupby([Col.community_id, "guild"], sort=True):
        nm = names[names[Col.community_id] == cid].set_index(Col.member_id)["author"]
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


def _reply_to(m: dict, f: Fields) -> str | None:
    """The id of the message ``m`` replies to (``reference.type`` Default; a Forward is not a reply)."""
    ref = f.mapping(m, "reference")
    parent = f.id(ref, "messageId", name="reference.messageId")
    kind = f.text(ref, "type", name="reference.type") or "Default"
    return parent if parent is not None and kind == "Default" else None


def read_discord(source: str | Path, **options: Any) -> Dataset:
    """Read DiscordChatExporter JSON into a validated :class:`Dataset` (see :func:`convert`)."""
    return convert(source, **options)[0]
