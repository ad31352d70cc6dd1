"""Importer for a Slack workspace export (folder or ZIP, Standard export).

Accepted layout (``FORMATS.md`` §2; Slack Help article 220556107): at the
root ``users.json`` (or ``org_users.json``) and ``channels.json`` (plus
``groups.json``, ``mpims.json``, ``dms.json`` when present), and one folder
per conversation named like the channel (DMs: the DM id) holding one
``YYYY-MM-DD.json`` per day, each an array of message objects. The whole
workspace is one community; ``channel`` = the conversation's name.

Mapping
-------
* message without ``subtype``, or ``file_share`` / ``thread_broadcast`` ->
  ``message`` by ``user``; a thread reply (``thread_ts`` != ``ts``) ->
  ``reply`` with ``target_member_id`` = ``parent_user_id`` (or the author
  of the parent message), ``thread_id`` = ``<channel>/<thread_ts>``; a
  thread parent gets ``thread_id`` = ``<channel>/<ts>``.
* ``bot_message`` and messages with a ``bot_id`` -> by ``user`` or
  ``bot_id``, whose role is ``bot``.
* ``<@U123>`` / ``<@U123|name>`` in ``text`` -> ``mention`` events.
* ``reactions[].users`` -> one ``reaction`` per user aimed at the author;
  the export has no reaction time, so ``ts`` = the message's and the extra
  column ``ts_estimated`` is True.
* ``channel_join`` / ``channel_leave`` -> ``join`` / ``leave`` with the
  channel. Other subtypes are counted as not mapped.
* ``ts`` (``"<unix s>.<micro>"``) is UTC; the day-file name is not used.
* members: ``users.json`` (role ``owner`` for ``is_owner``/``is_primary_owner``,
  ``staff`` for ``is_admin``, ``bot`` for ``is_bot`` and ``USLACKBOT``);
  ``joined_at`` = first join or activity; users never seen get the
  workspace's first event time and ``joined_at_estimated`` = True. Extra
  columns ``handle`` (``name``) and ``email_hash`` (keyed HMAC-SHA256 of
  ``profile.email``, see :func:`~commlab.importers.emails.email_hash`; the address itself is
  not kept), for :mod:`commlab.importers.identity`. Ids in
  messages absent from ``users.json`` are added (bots) or their events dropped.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from commlab.data.load import Dataset
from commlab.data.schema import Col
from commlab.errors import ImportFormatError
from commlab.importers.emails import email_hash, email_hash_note
from commlab.importers.fields import Fields, preview, record_label
from commlab.importers.files import read_zip_member
from commlab.importers.finish import finish
from commlab.importers.import_report import ImportReport
from commlab.importers.jsonfile import parse_json
from commlab.importers.options import community_row, split_options
from commlab.importers.tables import DUPLICATE_ID, members_from_events

__all__ = ["convert", "read_slack", "OPTIONS"]

OPTIONS: tuple[str, ...] = ("progress",)
_DEFAULTS = {"theme": "industry", "business_model": "platform", "lifecycle": "mature", "monetization": "none"}
_CONTENT = (None, "file_share", "thread_broadcast", "bot_message")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")


class _Export:
    """Uniform read access to an export folder or ZIP."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_dir():
            self._zip = None
            self.names = sorted(str(p.relative_to(path).as_posix()) for p in path.rglob("*.json"))
        else:
            try:
                self._zip = zipfile.ZipFile(path)
            except zipfile.BadZipFile as exc:
                raise ImportFormatError(path, "not a ZIP file or an export folder") from exc
            self.names = sorted(n for n in self._zip.namelist() if n.endswith(".json"))
        # exports zipped with an enclosing folder: strip it
        roots = {n.split("/", 1)[0] for n in self.names if "/" in n}
        self.prefix = ""
        if not any(n in ("users.json", "channels.json") for n in self.names) and len(roots) == 1:
            self.prefix = next(iter(roots)) + "/"

    def has(self, name: str) -> bool:
        return self.prefix + name in self.names

    def read(self, name: str) -> Any:
        """The parsed JSON of ``name``; a ZIP member is inflated with a size cap (:func:`read_zip_member`)."""
        full = self.prefix + name
        where = self.where(name)
        if self._zip is not None:
            raw = read_zip_member(self._zip, full, where)
        else:
            try:
                raw = (self.path / full).read_bytes()
            except OSError as exc:
                raise ImportFormatError(where, f"unreadable ({exc.strerror or exc})") from exc
        return parse_json(raw, where)

    def where(self, name: str) -> str:
        return f"{self.path}!{self.prefix + name}" if self._zip else str(self.path / (self.prefix + name))


def _list_of_dicts(data: Any, where: str, what: str) -> list[dict]:
    if not isinstance(data, list):
        raise ImportFormatError(where, f"expected a JSON array of {what} objects, found {preview(data)}")
    for i, x in enumerate(data):
        if not isinstance(x, dict):
            raise ImportFormatError(where, f"expected an object, found {preview(x)}",
                                    record=f"{what} at position {i}")
    return data


#: A Slack timestamp: Unix seconds (at most 10 digits: up to 2286) and up to 9 digits of fraction.
_TS = re.compile(r"^\d{1,10}(?:\.\d{1,9})?$")


def _ts_field(f: Fields, m: dict, key: str, *, required: bool = False) -> str | None:
    """A Slack ``"<unix s>.<micro>"`` field as its text, checked."""
    value = m.get(key)
    if value is None:
        if required:
            raise f.error(key, "missing (every message has one)")
        return None
    if not isinstance(value, str) or not _TS.match(value.strip()):
        raise f.error(key, f"not a Slack timestamp ('<Unix seconds>.<digits>'): {preview(value)}")
    if int(value.strip().split(".")[0]) > _MAX_UNIX_S:
        raise f.error(key, f"Slack timestamp {preview(value)} lies after 2262 (no time can hold it)")
    return value.strip()


_MAX_UNIX_S = int(pd.Timestamp.max.value // 1_000_000_000) - 1


def convert(source: str | Path, *, pseudonym_key: str | bytes | None = None,
            **options: Any) -> tuple[Dataset, ImportReport]:
    """Convert a Slack workspace export (folder or ZIP) to the canonical tables.

    Parameters
    ----------
    source : str or Path
        The export ZIP or its extracted folder.
    pseudonym_key : str or bytes, optional
        Key of the ``email_hash`` column (:func:`~commlab.importers.emails.email_hash`); ``None``:
        a random key of this import (hashes then match no other import's).
    **options
        Community options (``community_id`` defaults to the folder/ZIP name).

    Returns
    -------
    dataset, report : Dataset and ImportReport

    Raises
    ------
    ImportFormatError
        Missing ``users.json``/``channels.json``, invalid JSON or JSON of the
        wrong shape (names the file inside the export).
    """
    split_options(options, OPTIONS, "slack")
    src = Path(source)
    exp = _Export(src)
    report = ImportReport("slack", str(src))
    users_file = "users.json" if exp.has("users.json") else "org_users.json"
    if not exp.has(users_file) or not exp.has("channels.json"):
        raise ImportFormatError(src, "no users.json and channels.json at the top of the export",
                                "pass the ZIP Slack sends, or the folder it extracts to")
    users = _list_of_dicts(exp.read(users_file), exp.where(users_file), "user")
    report.read("users", len(users))
    convs: dict[str, dict] = {}
    for f in ("channels.json", "groups.json", "mpims.json", "dms.json"):
        if exp.has(f):
            lst = _list_of_dicts(exp.read(f), exp.where(f), "conversation")
            report.read(f.removesuffix(".json"), len(lst))
            for i, c in enumerate(lst):
                f_c = Fields(exp.where(f), record_label("conversation", c.get("id"), i))
                name = f_c.text(c, "name") or f_c.id(c, "id", required=True)
                convs[str(name)] = c
    roles: dict[str, str] = {}
    names: dict[str, str] = {}
    handles: dict[str, str] = {}
    emails: dict[str, str | None] = {}
    users_where = exp.where(users_file)
    for i, u in enumerate(users):
        f = Fields(users_where, record_label("user", u.get("id"), i))
        uid = f.id(u, "id", required=True)
        assert uid is not None
        if uid in roles:
            report.drop("duplicate user in users.json (the first is kept)")
            continue
        prof = f.mapping(u, "profile")
        handles[uid] = f.text(u, "name")
        emails[uid] = email_hash(f.text(prof, "email", name="profile.email"), pseudonym_key)
        names[uid] = (f.text(prof, "display_name", name="profile.display_name") or f.text(u, "real_name")
                      or f.text(prof, "real_name", name="profile.real_name") or f.text(u, "name") or uid)
        if f.flag(u, "is_bot") or uid == "USLACKBOT":
            roles[uid] = "bot"
        elif f.flag(u, "is_owner") or f.flag(u, "is_primary_owner"):
            roles[uid] = "owner"
        elif f.flag(u, "is_admin"):
            roles[uid] = "staff"
        else:
            roles[uid] = "member"
    if any(emails.values()):
        report.notes.append(email_hash_note(pseudonym_key))
    cid = options.get(Col.community_id) or src.name.removesuffix(".zip")
    rows: list[dict] = []
    n_msgs = 0
    for conv in sorted(convs):
        days = [n[len(exp.prefix):] for n in exp.names
                if n.startswith(exp.prefix + conv + "/") and _DAY.match(PurePosixPath(n).name)]
        seen: set[str] = set()
        for day in sorted(days):
            msgs = _list_of_dicts(exp.read(day), exp.where(day), "message")
            n_msgs += len(msgs)
            if not msgs:
                report.skip("empty day file (Slack writes a day file only for a day with messages)")
            for i, m in enumerate(msgs):
                f = Fields(exp.where(day), record_label("message", m.get("ts"), i))
                ts = _ts_field(f, m, "ts", required=True)
                assert ts is not None
                if ts in seen:
                    report.drop(DUPLICATE_ID)
                    continue
                seen.add(ts)
                rows.extend(_message_events(m, f, conv, cid, roles, names, report))
    report.read("messages", n_msgs)
    if not rows:
        raise ImportFormatError(src, "no messages in any channel folder")
    ev = pd.DataFrame(rows)
    ev["ts"] = _slack_ts(ev["ts"], exp.where(""))
    ev["message_ts"] = ev["message_ts"].astype("string")
    # reply targets: parent_user_id, else the author of the parent message
    authors = ev[ev["event_type"].isin(["message", "reply"])].drop_duplicates(["channel", "message_ts"])
    parent_author = dict(zip(authors["channel"] + "/" + authors["message_ts"], authors[Col.member_id], strict=True))
    missing = (ev["event_type"] == "reply") & ev["target_member_id"].isna()
    ev.loc[missing, "target_member_id"] = ev.loc[missing, "thread_id"].map(parent_author)
    known = set(roles)
    unknown = ~ev[Col.member_id].isin(known)
    report.drop("event by an id absent from users.json (not a bot)", int(unknown.sum()))
    ev = ev[~unknown].reset_index(drop=True)
    tgt_unknown = ev["target_member_id"].notna() & ~ev["target_member_id"].isin(known)
    ev.loc[tgt_unknown, "target_member_id"] = None
    for col in ("target_member_id", "thread_id", "channel", "text", "message_ts"):
        ev[col] = ev[col].astype("string")
    ev["ts_estimated"] = ev["ts_estimated"].fillna(False).astype(bool)
    # channel_leave leaves a channel, not the workspace: left_at stays empty
    members = members_from_events(ev, names=names, roles=roles, left_from_events=False)
    never = sorted(known - set(members[Col.member_id]))
    start = ev["ts"].min()
    if never:
        extra = pd.DataFrame({Col.community_id: cid, Col.member_id: never, "joined_at": start,
                              "role": [roles[u] for u in never], "display_name": [names[u] for u in never]})
        members = pd.concat([members, extra], ignore_index=True)
        report.notes.append(f"{len(never)} user(s) in users.json never seen in messages: joined_at set to the "
                            "first event of the export (joined_at_estimated=True)")
    members["joined_at_estimated"] = members[Col.member_id].isin(never)
    members["handle"] = members[Col.member_id].map(handles).astype("string")
    members["email_hash"] = members[Col.member_id].map(emails).astype("string")
    comm = community_row(
        community_id=cid, name=cid, platform="slack", created_at=start,
        source=f"Slack export ({src.name})", report=report, defaults=_DEFAULTS, options=options,
    )
    return finish(pd.DataFrame([comm]), members, ev, source=str(src), report=report), report


def _slack_ts(values: pd.Series, where: str) -> pd.Series:
    """Slack ``"<unix s>.<micro>"`` strings (checked by :func:`_ts_field`) to UTC, exactly (no float rounding)."""
    txt = values.astype("string").str.strip()
    parts = txt.str.extract(r"^(\d+)(?:\.(\d{1,9}))?$")
    bad = txt.notna() & parts[0].isna()
    if bad.any():
        raise ImportFormatError(where, f"'ts' is not a Slack timestamp: {txt[bad].iloc[0]!r}")
    ns = parts[0].astype("int64") * 1_000_000_000 + parts[1].fillna("0").str.ljust(9, "0").astype("int64")
    return pd.to_datetime(ns, unit="ns", utc=True).astype("datetime64[ns, UTC]")


def _message_events(m: dict, f: Fields, conv: str, cid: str, roles: dict[str, str], names: dict[str, str],
                    report: ImportReport) -> list[dict]:
    sub = f.text(m, "subtype")
    ts = _ts_field(f, m, "ts", required=True)
    who = f.id(m, "user") or f.id(m, "bot_id")
    if f.id(m, "bot_id") and who and who not in roles:
        roles[who] = "bot"
        names[who] = f.text(m, "username") or who
    base = {Col.community_id: cid, "ts": ts, "channel": conv, "message_ts": ts, "target_member_id": None,
            "thread_id": None, "text": None, "ts_estimated": False}
    if sub in ("channel_join", "channel_leave"):
        if not who:
            report.drop(f"{sub} without user")
            return []
        return [{**base, Col.member_id: who, "event_type": "join" if sub == "channel_join" else "leave"}]
    if sub not in _CONTENT:
        report.skip(f"message subtype '{sub}'")
        return []
    if not who:
        report.drop("message without user or bot_id")
        return []
    thread_ts = _ts_field(f, m, "thread_ts")
    is_reply = thread_ts is not None and thread_ts != ts
    text = f.text(m, "text") or ""
    out = [{**base, Col.member_id: who, "event_type": "reply" if is_reply else "message",
            "target_member_id": f.id(m, "parent_user_id") if is_reply else None,
            "thread_id": f"{conv}/{thread_ts}" if thread_ts is not None else None, "text": text}]
    for uid in _MENTION.findall(text):
        out.append({**base, Col.member_id: who, "event_type": "mention", "target_member_id": uid,
                    "thread_id": out[0]["thread_id"]})
    for r in f.items(m, "reactions", of=dict):
        users = f.items(r, "users", name="reactions[].users", of=str)
        for uid in users:
            out.append({**base, Col.member_id: uid, "event_type": "reaction", "target_member_id": who,
                        "thread_id": out[0]["thread_id"], "text": f.text(r, "name", name="reactions[].name"),
                        "ts_estimated": True})
        count = f.integer(r, "count", name="reactions[].count") or 0
        report.skip("reaction counted but reactor not listed", max(count - len(users), 0))
    return out


def read_slack(source: str | Path, **options: Any) -> Dataset:
    """Read a Slack export into a validated :class:`Dataset` (see :func:`convert`)."""
    return convert(source, **options)[0]
