"""Importer for the Stack Exchange data dump (XML), streamed.

Source: a folder holding ``Posts.xml`` and optionally ``Users.xml``,
``Comments.xml``, ``Votes.xml``, ``Badges.xml`` (each may be ``.xml.gz``), or
a single ``Posts.xml[.gz]`` file. The schema is the public data-dump schema
(meta.stackexchange.com/questions/2677; ``FORMATS.md`` §6). Files are read
with :func:`xml.etree.ElementTree.iterparse` and every ``<row>`` element is
cleared once read, so memory grows with the number of rows kept (a few
small fields each), not with the size of the XML (bodies are never kept
unless ``keep_text=True``).

Mapping
-------
* question (``PostTypeId`` 1) -> ``post`` by ``OwnerUserId``; ``thread_id`` =
  ``Id``, ``topic`` = tags joined with ``;`` (``<a><b>`` and newer ``|a|b|`` both read).
* answer (2) -> ``reply`` by the answerer, ``target_member_id`` = the
  question's owner, ``thread_id`` = ``ParentId``.
* comment -> ``reply`` by ``UserId``, target = owner of the commented post,
  ``thread_id`` = that post's question.
* Other post types (tag wikis, nominations, ...) are not mapped (counted).
* Accepted answers: extra boolean column ``accepted`` on the answer's
  ``reply`` event (from the question's ``AcceptedAnswerId``) and
  ``accepted_on`` = day of the ``VoteTypeId`` 1 vote, when ``Votes.xml`` is
  there. No extra event is invented.
* Bounties: extra columns on the question's ``post`` event:
  ``bounty_offered`` (sum of ``BountyAmount`` of ``VoteTypeId`` 8 votes on it)
  and ``bounty_offered_by`` (``;``-joined user ids of the offerers); on the
  answer's ``reply`` event ``bounty_awarded`` (sum of ``BountyAmount`` of
  ``VoteTypeId`` 9 votes on it). Bounties are reputation, not money, so
  ``amount`` stays empty.
* ``score`` (the post's or comment's score at dump time) and ``source_ref``
  (``question/<Id>``, ``answer/<Id>``, ``comment/<Id>``) are extra columns.
* Other votes carry no voter id and are counted as not mapped; so are badges.
* Members: ``Users.xml`` (``Id``, ``CreationDate`` -> ``joined_at``,
  ``DisplayName``, extra ``account_id`` = network-wide ``AccountId``), role
  ``bot`` for -1 (``Community``). Without ``Users.xml`` members are derived
  from the events (``joined_at`` = first time seen; noted in the report).
* Events by a deleted account (no ``OwnerUserId``/``UserId``) or by an id
  absent from ``Users.xml`` are dropped and counted. Targets that are deleted
  or unknown are left empty (counted in the notes).
* ``created_at`` of the community = earliest event.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from commlab.data.load import Dataset
from commlab.importers.base import (
    ImportFormatError,
    ImportReport,
    community_row,
    drop_rows,
    finish,
    members_from_events,
    open_with_progress,
    opt_bool,
    split_options,
    text_to_utc,
)

__all__ = ["convert", "read_stackexchange_xml", "iter_rows", "OPTIONS"]

#: Importer-specific options (besides the community options).
OPTIONS: tuple[str, ...] = ("keep_text", "progress")

_DEFAULTS = {"theme": "knowledge", "business_model": "platform", "lifecycle": "mature", "monetization": "none"}
_PARTS = ("Posts", "Users", "Comments", "Votes", "Badges")


def iter_rows(path: str | Path, fields: tuple[str, ...], *, progress: bool | None = None) -> Iterator[tuple]:
    """Stream the ``<row>`` elements of a data-dump XML file as tuples of ``fields`` (``None`` if absent).

    Elements are cleared as soon as they are read (and the root emptied), so memory
    stays bounded whatever the file size.

    Raises
    ------
    ImportFormatError
        If the XML is malformed or truncated (names the file, line and column).
    """
    path = Path(path)
    with open_with_progress(path, desc=path.name, show=progress) as fh:
        try:
            context = ET.iterparse(fh, events=("start", "end"))
            root = None
            n = 0
            for event, elem in context:
                if root is None:
                    root = elem
                    continue
                if event == "end" and elem.tag == "row":
                    get = elem.attrib.get
                    yield tuple(get(f) for f in fields)
                    elem.clear()
                    n += 1
                    if n % 1000 == 0:
                        root.clear()
        except ET.ParseError as exc:
            line, col = exc.position
            raise ImportFormatError(
                path, f"malformed or truncated XML at line {line}, column {col} ({exc})",
                "the file may be cut short; download or extract it again",
            ) from exc
        except EOFError as exc:  # gzip stream cut short
            raise ImportFormatError(path, f"truncated gzip stream ({exc})", "download the file again") from exc


def _find(folder: Path, part: str) -> Path | None:
    for name in (f"{part}.xml", f"{part}.xml.gz"):
        p = folder / name
        if p.exists():
            return p
    return None


def _collect(rows: Iterator[tuple], columns: tuple[str, ...], chunk: int = 50_000) -> pd.DataFrame:
    """Rows to a frame of ``string`` columns, converting every ``chunk`` rows (few Python objects alive)."""
    parts: list[pd.DataFrame] = []
    buf: list[tuple] = []
    for row in rows:
        buf.append(row)
        if len(buf) >= chunk:
            parts.append(pd.DataFrame(buf, columns=list(columns), dtype="string"))
            buf = []
    if buf or not parts:
        parts.append(pd.DataFrame(buf, columns=list(columns), dtype="string"))
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def convert(source: str | Path, **options: Any) -> tuple[Dataset, ImportReport]:
    """Convert a Stack Exchange data dump to the canonical tables.

    Parameters
    ----------
    source : str or Path
        Folder with ``Posts.xml[.gz]`` (and optionally ``Users``, ``Comments``,
        ``Votes``, ``Badges``), or a ``Posts.xml[.gz]`` file.
    **options
        Community options (``community_id``, ``name``, ``theme``, ...), and
        ``keep_text`` (bool, default False: keep post bodies and comment text
        in ``text``), ``progress`` (bool, default: a bar for files over 20 MB).

    Returns
    -------
    dataset, report : Dataset and ImportReport

    Raises
    ------
    ImportFormatError
        Missing ``Posts.xml``, malformed XML or times.
    DataValidationError
        If the mapped tables fail validation.
    """
    split_options(options, OPTIONS, "stackexchange_xml")
    src = Path(source)
    keep_text = bool(opt_bool(options.get("keep_text"), "keep_text"))
    progress = opt_bool(options.get("progress"), "progress")
    if src.is_file():
        folder, files = src.parent, {"Posts": src}
    elif src.is_dir():
        folder = src
        files = {p: f for p in _PARTS if (f := _find(src, p)) is not None}
    else:
        raise ImportFormatError(src, "not found", "pass a data-dump folder or a Posts.xml[.gz] file")
    if "Posts" not in files:
        raise ImportFormatError(src, "no Posts.xml or Posts.xml.gz", "a Stack Exchange dump folder holds Posts.xml")
    report = ImportReport("stackexchange_xml", str(src))

    # --- posts -----------------------------------------------------------------------------------
    pf = ("Id", "PostTypeId", "ParentId", "AcceptedAnswerId", "CreationDate", "OwnerUserId", "Tags", "Score",
          "Body" if keep_text else "_none")
    other_types: dict[str, int] = {}

    def qa_rows() -> Iterator[tuple]:
        for row in iter_rows(files["Posts"], pf, progress=progress):
            if row[1] in ("1", "2"):
                yield row
            else:
                other_types[str(row[1])] = other_types.get(str(row[1]), 0) + 1

    posts = _collect(qa_rows(), ("id", "type", "parent", "acc", "ts", "owner", "tags", "score", "body"))
    report.read("Posts: questions", int((posts["type"] == "1").sum()))
    report.read("Posts: answers", int((posts["type"] == "2").sum()))
    for t, n in sorted(other_types.items()):
        report.read(f"Posts: PostTypeId {t}", n)
        report.skip(f"post of PostTypeId {t} (tag wiki, nomination or other: not a question or answer)", n)
    if posts["id"].isna().any():
        raise ImportFormatError(files["Posts"], "row without an Id attribute")
    posts["ts"] = text_to_utc(posts["ts"], tz="UTC", file=str(files["Posts"]), what="CreationDate")
    posts = posts.drop_duplicates("id")
    owner = pd.Series(posts["owner"].to_numpy(), index=posts["id"].to_numpy())
    is_q = posts["type"] == "1"
    q_of = pd.Series(posts["parent"].where(~is_q, posts["id"]).to_numpy(), index=posts["id"].to_numpy())
    accepted_ids = pd.Index(posts.loc[is_q, "acc"].dropna().unique())

    # --- votes (accepted day, bounties) -----------------------------------------------------------
    accepted_on: dict[str, str] = {}
    offered: dict[str, float] = {}
    offered_by: dict[str, list[str]] = {}
    awarded: dict[str, float] = {}
    if "Votes" in files:
        vote_types: dict[str, int] = {}
        for pid, vt, day, uid, amount in iter_rows(files["Votes"], ("PostId", "VoteTypeId", "CreationDate",
                                                                    "UserId", "BountyAmount"), progress=progress):
            vote_types[str(vt)] = vote_types.get(str(vt), 0) + 1
            if vt == "1" and pid is not None and day:
                accepted_on[pid] = day[:10]
            elif vt == "8" and pid is not None:
                offered[pid] = offered.get(pid, 0.0) + float(amount or 0)
                if uid:
                    offered_by.setdefault(pid, []).append(uid)
            elif vt == "9" and pid is not None:
                awarded[pid] = awarded.get(pid, 0.0) + float(amount or 0)
        for vt, n in sorted(vote_types.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0):
            report.read(f"Votes: VoteTypeId {vt}", n)
        used = vote_types.get("1", 0) + vote_types.get("8", 0) + vote_types.get("9", 0)
        report.skip("vote without voter id (up/down/close/...: no member to attach it to)",
                    sum(vote_types.values()) - used)
        report.skip("vote used as a column (accepted_on, bounty_offered, bounty_awarded)", used)
        report.notes.append(
            f"bounties: {vote_types.get('8', 0)} offered ({sum(offered.values()):g} reputation), "
            f"{vote_types.get('9', 0)} awarded ({sum(awarded.values()):g}); kept as event columns, not amount"
        )

    q = posts[is_q]
    a = posts[~is_q]
    ev_posts = pd.DataFrame({
        "member_id": q["owner"], "ts": q["ts"], "event_type": "post", "target_member_id": pd.NA,
        "thread_id": q["id"],
        "topic": q["tags"].str.strip("<>|").str.replace("><", ";", regex=False).str.replace("|", ";", regex=False),
        "score": pd.to_numeric(q["score"]), "source_ref": "question/" + q["id"], "text": q["body"],
        "accepted": pd.NA, "accepted_on": pd.NA,
        "bounty_offered": q["id"].map(offered), "bounty_offered_by": q["id"].map(
            lambda i: ";".join(offered_by[i]) if i in offered_by else None),
        "bounty_awarded": float("nan"),
    })
    ev_answers = pd.DataFrame({
        "member_id": a["owner"], "ts": a["ts"], "event_type": "reply",
        "target_member_id": a["parent"].map(owner), "thread_id": a["parent"],
        "topic": pd.NA, "score": pd.to_numeric(a["score"]), "source_ref": "answer/" + a["id"], "text": a["body"],
        "accepted": a["id"].isin(accepted_ids), "accepted_on": a["id"].map(accepted_on),
        "bounty_offered": float("nan"), "bounty_offered_by": pd.NA, "bounty_awarded": a["id"].map(awarded),
    })
    frames = [("question", ev_posts), ("answer", ev_answers)]

    # --- comments --------------------------------------------------------------------------------
    if "Comments" in files:
        cf = ("Id", "PostId", "CreationDate", "UserId", "Score", "Text" if keep_text else "_none")
        c = _collect(iter_rows(files["Comments"], cf, progress=progress), ("id", "pid", "ts", "uid", "score", "text"))
        report.read("Comments", len(c))
        c["ts"] = text_to_utc(c["ts"], tz="UTC", file=str(files["Comments"]), what="CreationDate")
        on_post = c["pid"].isin(owner.index)
        report.notes.append(f"{int((~on_post).sum())} comment(s) on a post that is not a question or answer "
                            "(tag wiki, ...) or not in Posts: kept with an empty target and thread")
        frames.append(("comment", pd.DataFrame({
            "member_id": c["uid"], "ts": c["ts"], "event_type": "reply",
            "target_member_id": c["pid"].map(owner), "thread_id": c["pid"].map(q_of),
            "topic": pd.NA, "score": pd.to_numeric(c["score"]), "source_ref": "comment/" + c["id"],
            "text": c["text"], "accepted": pd.NA, "accepted_on": pd.NA, "bounty_offered": float("nan"),
            "bounty_offered_by": pd.NA, "bounty_awarded": float("nan"),
        })))

    # --- users -----------------------------------------------------------------------------------
    members: pd.DataFrame | None = None
    if "Users" in files:
        uf = ("Id", "CreationDate", "DisplayName", "AccountId")
        u = _collect(iter_rows(files["Users"], uf, progress=progress), ("id", "ts", "name", "account"))
        report.read("Users", len(u))
        u = drop_rows(u, u["id"].isna(), "user row without an Id", report)
        u = drop_rows(u, u["id"].duplicated(), "duplicate user row", report)
        members = pd.DataFrame({
            "member_id": u["id"],
            "joined_at": text_to_utc(u["ts"], tz="UTC", file=str(files["Users"]), what="CreationDate"),
            "role": u["id"].map(lambda i: "bot" if i == "-1" else "member"),
            "display_name": u["name"], "account_id": u["account"],
        })

    kept = []
    for kind, ev in frames:
        ev = drop_rows(ev, ev["member_id"].isna(), f"{kind}: by a deleted account (no user id)", report)
        if members is not None:
            ev = drop_rows(ev, ~ev["member_id"].isin(pd.Index(members["member_id"])),
                           f"{kind}: by a user absent from Users.xml", report)
        kept.append(ev)
    events = pd.concat(kept, ignore_index=True)
    events["accepted"] = events["accepted"].astype("boolean")
    for col in ("score", "bounty_offered", "bounty_awarded"):
        events[col] = pd.to_numeric(events[col]).astype("float64")
    for col in ("bounty_offered_by", "accepted_on", "source_ref"):
        events[col] = events[col].astype("string")
    tgt = events["target_member_id"].astype("string")
    if members is not None:
        unknown_tgt = tgt.notna() & ~tgt.isin(pd.Index(members["member_id"]))
        events["target_member_id"] = tgt.mask(unknown_tgt)
    n_empty = int(((events["event_type"] == "reply") & events["target_member_id"].isna()).sum())
    report.notes.append(f"{n_empty} reply event(s) kept with an empty target (target deleted, unknown or not a "
                        "question/answer)")

    cid = options.get("community_id") or folder.name
    events.insert(0, "community_id", cid)
    if members is None:
        members = members_from_events(events)
        report.notes.append("no Users.xml: members derived from post/comment authors and targets; "
                            "joined_at = first time seen, display names unknown")
    else:
        members.insert(0, "community_id", cid)
    if "Badges" in files:
        n_badges = sum(1 for _ in iter_rows(files["Badges"], ("Id",), progress=progress))
        report.read("Badges", n_badges)
        report.skip("badge (no canonical event for it)", n_badges)

    created = events["ts"].min() if len(events) else members["joined_at"].min()
    comm = community_row(
        community_id=cid, name=cid, platform="stackexchange", created_at=created,
        source=f"Stack Exchange data dump ({cid}), CC BY-SA", report=report, defaults=_DEFAULTS, options=options,
    )
    return finish(pd.DataFrame([comm]), members, events, source=str(src), report=report, tz="UTC"), report


def read_stackexchange_xml(source: str | Path, **options: Any) -> Dataset:
    """Read a Stack Exchange data dump into a validated :class:`Dataset` (see :func:`convert`)."""
    return convert(source, **options)[0]
