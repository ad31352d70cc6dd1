"""Reader for the "first 180 days of 12 Stack Exchange communities" CSV layout.

The layout is the one of ``data/raw_data/<site>/`` in the repository of
Vranić et al. (2023), "Sustainability of Stack Exchange Q&A communities: the
role of trust", EPJ Data Science 12, 4 (see the folder's ``PROVENANCE.md``):
six CSV files per site, ``<site>_questions.csv``, ``_answers``, ``_comments``,
``_acc_answers``, ``_users`` and ``_votes`` (each optionally ``.gz``).

Mapping to the canonical tables
-------------------------------
communities
    One row per site: ``community_id`` = folder name, ``platform``
    ``stackexchange``, ``business_model`` ``platform``, ``lifecycle``
    ``startup`` (the data are the first 180 days), ``monetization`` ``none``,
    ``theme`` from the commlab classification in ``PROVENANCE.md``,
    ``created_at`` = the earliest of: the creation of question 1, any event,
    any account creation. Extra column ``status`` (``active``/``closed``:
    Area 51 archives are closed sites).
members
    One row per ``_users`` row: ``@UserId`` -> ``member_id``,
    ``UserCreationDate`` -> ``joined_at``, ``@UserName`` -> ``display_name``,
    role ``bot`` for user -1 (``Community``), else ``member``.
events
    * question -> ``post`` by the asker; ``thread_id`` = question id,
      ``topic`` = tags joined with ``;``.
    * answer -> ``reply`` by the answerer, ``target_member_id`` = the asker,
      ``thread_id`` = question id. Extra column ``accepted`` is True when the
      answer is the question's accepted answer (from ``_acc_answers``). The
      acceptance time is not in the data, so no separate event is invented.
    * comment -> ``reply`` by the commenter, ``target_member_id`` = author of
      the commented post (question or answer), ``thread_id`` = that post's
      question.
    Extra column ``source_ref`` names the source row (``question/1``,
    ``answer/16``, ``comment/4``). Votes carry no voter id and are not mapped
    (counted in the report).

Events by a missing user id (deleted account) or by a user absent from
``_users`` are dropped and counted in the :class:`ImportReport`. A target
that is deleted or absent from ``_users`` is left empty (the event is kept)
and counted in the report's notes. All times are UTC.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from commlab.data.io import parse_times
from commlab.data.load import Dataset
from commlab.data.schema import Col
from commlab.errors import ImportFormatError
from commlab.importers.finish import finish
from commlab.importers.import_report import ImportReport
from commlab.importers.tables import clean_ids, drop_rows, isin

__all__ = ["read_se_180d", "read_se_180d_all", "convert_se_180d", "convert_se_180d_all", "convert", "SITES"]

#: Site folder -> (display name, commlab theme, status), from PROVENANCE.md.
SITES: dict[str, tuple[str, str, str]] = {
    "literature": ("Literature Stack Exchange (2017)", "interest", "active"),
    "astronomy": ("Astronomy Stack Exchange (2013)", "interest", "active"),
    "mathematica": ("Mathematica Stack Exchange (2012)", "product", "active"),
    "economics": ("Economics Stack Exchange (2014)", "knowledge", "active"),
    "math": ("Mathematics Stack Exchange (2010)", "knowledge", "active"),
    "physics": ("Physics Stack Exchange (2010)", "knowledge", "active"),
    "startups": ("Startups Stack Exchange (2014)", "industry", "active"),
    "122013-answers-onstartups": ("Answers OnStartups (2009, closed)", "industry", "closed"),
    "052012-literature": ("Literature Stack Exchange (2011, closed)", "interest", "closed"),
    "052012astronomy": ("Astronomy Stack Exchange (2011, closed)", "interest", "closed"),
    "052012economics": ("Economics Stack Exchange (2011, closed)", "knowledge", "closed"),
    "052012-theoretical-physics": ("Theoretical Physics Stack Exchange (2011, closed)", "knowledge", "closed"),
}

_PARTS: dict[str, tuple[str, ...]] = {
    "questions": ("QId", "QUserId", "QTags", "QTime", "QAcceptedAnswerId"),
    "answers": ("AId", "AUserId", "QId", "ATime"),
    "comments": ("CId", "CUserId", "PId", "CTime"),
    "acc_answers": ("QId_x", "QUserId", "AId", "AUserId"),
    "users": ("@UserId", "@UserName", "UserCreationDate"),
    "votes": ("PostId", "Vote", "VTime"),
}

_DELETED = "event by a deleted account (missing user id)"
_UNKNOWN = "event by a user absent from the users table"


def _find(site_dir: Path, site: str, part: str) -> Path:
    for suffix in (".csv.gz", ".csv"):
        p = site_dir / f"{site}_{part}{suffix}"
        if p.exists():
            return p
    raise ImportFormatError(
        site_dir / f"{site}_{part}.csv.gz", f"missing file of the {part} table",
        f"a site folder holds {', '.join(f'{site}_{x}.csv[.gz]' for x in _PARTS)}",
    )


def _read(site_dir: Path, site: str, part: str) -> pd.DataFrame:
    path = _find(site_dir, site, part)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except Exception as exc:  # noqa: BLE001 - any parse failure is a format problem
        raise ImportFormatError(path, f"unreadable CSV ({type(exc).__name__}: {exc})") from exc
    frame.attrs["path"] = str(path)
    missing = [c for c in _PARTS[part] if c not in frame.columns]
    if missing:
        raise ImportFormatError(
            path, f"missing column(s) {', '.join(missing)}; found {', '.join(map(str, frame.columns))}",
            f"the {part} file must have columns {', '.join(_PARTS[part])}",
        )
    return frame


def _utc(frame: pd.DataFrame, column: str) -> pd.Series:
    fast = pd.to_datetime(frame[column], format="ISO8601", errors="coerce", utc=True)
    if not (frame[column].notna() & fast.isna()).any():
        return fast.astype("datetime64[ns, UTC]")
    parsed, bad = parse_times(frame[column], "UTC")
    if bad.any():
        first = bad.to_numpy().nonzero()[0][0]
        raise ImportFormatError(
            frame.attrs.get("path", "?"),
            f"column {column}: {int(bad.sum())} unparseable time(s), first at row {first + 2}: "
            f"{frame[column].iloc[first]!r}",
            "times must look like 2017-01-18 17:20:34.290 (UTC)",
        )
    return parsed


def convert_se_180d(site_dir: str | Path, *, community_id: str | None = None) -> tuple[Dataset, ImportReport]:
    """Read one site folder; return the dataset and the import report.

    Parameters
    ----------
    site_dir : str or Path
        A folder such as ``se_communities_180d/literature`` holding
        ``literature_questions.csv.gz`` and the five other files.
    community_id : str, optional
        Id given to the community; defaults to the folder name.

    Returns
    -------
    dataset, report : Dataset and ImportReport

    Raises
    ------
    ImportFormatError
        If a file is missing, unreadable or lacks a column.
    DataValidationError
        If the mapped tables fail validation.
    """
    site_dir = Path(site_dir)
    if not site_dir.is_dir():
        raise ImportFormatError(site_dir, "not a folder", "pass a site folder such as se_communities_180d/literature")
    report = ImportReport("se_180d", str(site_dir))
    frames = _map_site(site_dir, community_id or site_dir.name, report)
    return finish(*frames, source=str(site_dir), report=report, tz="UTC"), report


def _map_site(site_dir: Path, cid: str, report: ImportReport) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The raw (unvalidated) communities, members and events frames of one site folder."""
    site = site_dir.name
    parts = {p: _read(site_dir, site, p) for p in _PARTS}
    for p, frame in parts.items():
        report.read(p, len(frame))

    users = parts["users"]
    users = users.assign(uid=clean_ids(users["@UserId"]))
    users = drop_rows(users, users["uid"].isna(), "user row without an id", report)
    dup = users["uid"].duplicated()
    users = drop_rows(users, dup, "duplicate user row", report)
    members = pd.DataFrame({
        Col.community_id: cid,
        Col.member_id: users["uid"],
        "joined_at": _utc(users, "UserCreationDate"),
        "role": users["uid"].map(lambda u: "bot" if u == "-1" else "member"),
        "display_name": users["@UserName"].astype("string").str.strip(),
    })
    known = pd.Index(members[Col.member_id].dropna().unique())

    q = parts["questions"]
    q = q.assign(qid=clean_ids(q["QId"]), uid=clean_ids(q["QUserId"]), ts=_utc(q, "QTime"))
    a = parts["answers"]
    a = a.assign(aid=clean_ids(a["AId"]), qid=clean_ids(a["QId"]), uid=clean_ids(a["AUserId"]), ts=_utc(a, "ATime"))
    c = parts["comments"]
    c = c.assign(cid=clean_ids(c["CId"]), pid=clean_ids(c["PId"]), uid=clean_ids(c["CUserId"]), ts=_utc(c, "CTime"))
    acc = parts["acc_answers"]
    accepted = pd.Index(clean_ids(acc["AId"]).dropna().unique())

    q_first = q.drop_duplicates("qid")
    a_first = a.drop_duplicates("aid")
    asker = pd.Series(q_first["uid"].to_numpy(), index=q_first["qid"].to_numpy())
    answerer = pd.Series(a_first["uid"].to_numpy(), index=a_first["aid"].to_numpy())
    answer_q = pd.Series(a_first["qid"].to_numpy(), index=a_first["aid"].to_numpy())

    tags = q["QTags"].astype("string").str.strip().str.strip("<>").str.replace("><", ";", regex=False)
    posts = pd.DataFrame({
        Col.member_id: q["uid"], "ts": q["ts"], "event_type": "post", "target_member_id": pd.NA,
        "thread_id": q["qid"], "topic": tags, "accepted": pd.NA, "source_ref": "question/" + q["qid"],
    })
    replies = pd.DataFrame({
        Col.member_id: a["uid"], "ts": a["ts"], "event_type": "reply",
        "target_member_id": a["qid"].map(asker), "thread_id": a["qid"], "topic": pd.NA,
        "accepted": isin(a["aid"], accepted), "source_ref": "answer/" + a["aid"],
    })
    in_q = isin(c["pid"], asker.index)
    in_a = isin(c["pid"], answerer.index)
    comment_target = c["pid"].map(asker).where(in_q, c["pid"].map(answerer))
    comment_thread = c["pid"].where(in_q, c["pid"].map(answer_q))
    comments = pd.DataFrame({
        Col.member_id: c["uid"], "ts": c["ts"], "event_type": "reply",
        "target_member_id": comment_target, "thread_id": comment_thread, "topic": pd.NA,
        "accepted": pd.NA, "source_ref": "comment/" + c["cid"],
    })
    n_orphan_comments = int((~in_q & ~in_a).sum())
    n_orphan_answers = int((~isin(a["qid"], asker.index)).sum())

    kept = []
    for kind, ev in (("question", posts), ("answer", replies), ("comment", comments)):
        ev = drop_rows(ev, ev[Col.member_id].isna(), f"{kind}: {_DELETED}", report)
        ev = drop_rows(ev, ~isin(ev[Col.member_id], known), f"{kind}: {_UNKNOWN}", report)
        kept.append(ev)
    events = pd.concat(kept, ignore_index=True)
    events.insert(0, Col.community_id, cid)
    tgt = events["target_member_id"].astype("string")
    bad_tgt = tgt.notna() & ~isin(tgt, known)
    no_tgt = (events["event_type"] == "reply") & (tgt.isna() | bad_tgt)
    events["target_member_id"] = tgt.mask(bad_tgt)
    events["accepted"] = events["accepted"].astype("boolean")
    report.skip("vote (no voter id in this layout)", len(parts["votes"]))
    report.notes.append(
        f"{int(no_tgt.sum())} reply event(s) kept with an empty target (target post by a deleted account, "
        f"by a user absent from users, or outside the window: {n_orphan_answers} answer(s) and "
        f"{n_orphan_comments} comment(s) point at a post not in the files)"
    )
    report.skip("acc_answers row (used to flag accepted answers)", len(acc))
    report.notes.append(
        f"accepted answers: {int(events['accepted'].fillna(False).sum())} answer reply event(s) flagged "
        f"accepted=True ({len(acc)} rows in acc_answers); acceptance time is not in the data"
    )

    q1 = q.loc[q["qid"] == "1", "ts"]
    candidates = [q1.min(), events["ts"].min(), members["joined_at"].min()]
    created = min(t for t in candidates if pd.notna(t))
    name, theme, status = SITES.get(site, (site, "knowledge", "active"))
    if site not in SITES:
        report.notes.append(f"site {site!r} is not in the PROVENANCE.md classification: theme defaults to knowledge")
    communities = pd.DataFrame({
        Col.community_id: [cid], "name": [name], "theme": [theme], "business_model": ["platform"],
        "lifecycle": ["startup"], "platform": ["stackexchange"], "monetization": ["none"],
        "created_at": [created], "economy": [pd.NA],
        "source": [f"Stack Exchange ({site}), CC BY-SA — via Vranić et al. 2023"], "status": [status],
    })
    return communities, members, events


def read_se_180d(site_dir: str | Path, *, community_id: str | None = None) -> Dataset:
    """Read one site folder of the 180-day Stack Exchange layout into a validated :class:`Dataset`.

    See the module docstring for the mapping; :func:`convert_se_180d` also
    returns the import report (rows dropped and why).

    Parameters
    ----------
    site_dir : str or Path
        A folder such as ``se_communities_180d/literature``.
    community_id : str, optional
        Id given to the community; defaults to the folder name.

    Returns
    -------
    Dataset

    Raises
    ------
    ImportFormatError
        If a file is missing, unreadable or lacks a column.
    DataValidationError
        If the mapped tables fail validation.
    """
    return convert_se_180d(site_dir, community_id=community_id)[0]


def site_dirs(root: str | Path) -> list[Path]:
    """The site folders under ``root`` (those holding ``<name>_questions.csv[.gz]``), sorted."""
    root = Path(root)
    if not root.is_dir():
        raise ImportFormatError(root, "not a folder", "pass the se_communities_180d folder")
    found = [
        d for d in sorted(root.iterdir())
        if d.is_dir() and any((d / f"{d.name}_questions{s}").exists() for s in (".csv.gz", ".csv"))
    ]
    if not found:
        raise ImportFormatError(root, "no site folder (<site>/<site>_questions.csv[.gz]) found")
    return found


def convert_se_180d_all(root: str | Path) -> tuple[Dataset, ImportReport]:
    """Read every site folder under ``root`` as one community each; return dataset and report."""
    root = Path(root)
    report = ImportReport("se_180d", str(root))
    parts: list[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]] = []
    for d in site_dirs(root):
        rep = ImportReport("se_180d", str(d))
        parts.append(_map_site(d, d.name, rep))
        report.merge(rep)
        n_ev = len(parts[-1][2])
        report.notes.append(f"{d.name}: {len(parts[-1][1])} members, {n_ev} events; dropped: "
                            + ("; ".join(f"{v} {k}" for k, v in rep.dropped.items()) or "none"))
    cat = lambda i: pd.concat([p[i] for p in parts], ignore_index=True)  # noqa: E731
    # validated once, all sites together (same checks as one by one, plus unique ids across sites)
    return finish(cat(0), cat(1), cat(2), source=str(root), report=report, tz="UTC"), report


def read_se_180d_all(root: str | Path) -> Dataset:
    """Read all site folders under ``root`` (twelve sites: twelve communities) into one :class:`Dataset`.

    Parameters
    ----------
    root : str or Path
        The ``se_communities_180d`` folder.

    Returns
    -------
    Dataset

    Raises
    ------
    ImportFormatError
        If ``root`` holds no site folder, or a file is missing or malformed.
    DataValidationError
        If the mapped tables fail validation.
    """
    return convert_se_180d_all(root)[0]



def convert(source: str | Path, **options: object) -> tuple[Dataset, ImportReport]:
    """Registry entry: a site folder (one community) or the folder of site folders (all of them).

    Options: ``community_id`` (one site only). Community fields come from the
    PROVENANCE.md classification (:data:`SITES`).
    """
    from commlab.errors import UsageError

    unknown = sorted(set(options) - {Col.community_id, "progress"})
    if unknown:
        raise UsageError(f"unknown option(s) for the se_180d importer: {', '.join(unknown)}; known: community_id")
    src = Path(source)
    if src.is_dir() and any((src / f"{src.name}_questions{s}").exists() for s in (".csv.gz", ".csv")):
        cid = options.get(Col.community_id)
        return convert_se_180d(src, community_id=str(cid) if cid else None)
    if options.get(Col.community_id):
        raise UsageError("community_id applies to one site folder, not to the folder of all sites")
    return convert_se_180d_all(src)
