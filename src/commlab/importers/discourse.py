"""Importer for Discourse: JSON API responses of posts, plus the admin ``user_list`` CSV export.

Accepted layouts (``FORMATS.md`` §4, from ``discourse/discourse`` API schemas
and ``export_csv_file.rb``): a ``.json`` file, or a folder holding any number
of

* ``GET /posts.json`` responses: ``{"latest_posts": [post, ...]}``;
* ``GET /t/{id}.json`` responses: ``{"post_stream": {"posts": [post, ...]}, ...}``;
* a plain JSON array of post objects;

and optionally the admin "Export user list" CSV (``user_list-*.csv``, or the
``user_list-*.zip`` Discourse sends, holding it). Discourse has no admin
posts CSV, so posts come from the API. Pages may overlap: posts are
de-duplicated by ``id``.

Mapping
-------
* ``post_type`` 1 (regular): ``post_number`` 1 -> ``post`` (the topic
  opener), others -> ``reply``. ``thread_id`` = ``topic_id``, ``topic`` =
  ``category_id``. Target: the author of ``reply_to_post_number`` in the same
  topic; when that is null, the author of post 1 of the topic (a reply to
  the topic); empty when that post was not fetched.
* ``post_type`` 2/3/4 (moderator action, small action, whisper) are counted
  as not mapped; so are posts of system users (``user_id`` < 0).
* likes: ``actions_summary`` id 2 ``count`` -> extra column ``like_count``
  (Discourse exposes no per-user like time here).
* members: the ``user_list`` CSV when given (``created_at`` -> ``joined_at``,
  ``admin`` and ``moderator`` -> ``staff``, ``name``/``username`` -> ``display_name``, extra ``handle`` = ``username``
  and ``email_hash`` = keyed HMAC-SHA256 of ``email``, which is not kept);
  otherwise derived from posts (first time seen; ``admin``/``moderator``/
  ``staff`` flags of the post -> ``staff``). Posts by users absent from the
  CSV are dropped and counted. CSV times are read as UTC (``... UTC`` or ISO;
  the cell format is UNVERIFIED in FORMATS.md).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from commlab.data.load import Dataset
from commlab.data.schema import Col
from commlab.errors import ImportFormatError
from commlab.importers.emails import email_hash, email_hash_note
from commlab.importers.fields import Fields, preview, record_label
from commlab.importers.files import decode_text, read_bytes, read_csv_text, read_zip_member
from commlab.importers.finish import finish
from commlab.importers.import_report import ImportReport
from commlab.importers.jsonfile import read_json_file
from commlab.importers.options import community_row, split_options
from commlab.importers.tables import DUPLICATE_ID, drop_rows, members_from_events
from commlab.importers.times import text_to_utc

__all__ = ["convert", "read_discourse", "OPTIONS"]

OPTIONS: tuple[str, ...] = ("progress", "user_list")
_DEFAULTS = {"theme": "knowledge", "business_model": "platform", "lifecycle": "mature", "monetization": "none"}
_POST_KEYS = ("id", "user_id", "created_at", "topic_id", "post_number")


def _posts_of(data: Any, path: Path) -> list[dict]:
    if isinstance(data, dict) and isinstance(data.get("latest_posts"), list):
        posts = data["latest_posts"]
    elif isinstance(data, dict) and isinstance(data.get("post_stream"), dict) \
            and isinstance(data["post_stream"].get("posts"), list):
        posts = data["post_stream"]["posts"]
    elif isinstance(data, list):
        posts = data
    else:
        found = ", ".join(map(str, list(data)[:8])) if isinstance(data, dict) else type(data).__name__
        raise ImportFormatError(
            path, f"not a Discourse posts response: expected 'latest_posts', 'post_stream.posts' or a list of posts, "
            f"found {found}", "save the output of GET /posts.json or GET /t/<id>.json",
        )
    for i, p in enumerate(posts):
        if not isinstance(p, dict):
            raise ImportFormatError(path, f"expected an object, found {preview(p)}", record=f"post at position {i}")
        missing = [k for k in _POST_KEYS if k not in p]
        if missing:
            raise ImportFormatError(path, f"lacks {', '.join(missing)} (every post has them)",
                                    record=record_label("post", p.get("id"), i))
    return posts


def _post_row(p: dict, f: Fields) -> dict[str, Any]:
    """The fields of one post that the mapping reads, each checked for its type."""
    likes = 0
    for a in f.items(p, "actions_summary", of=dict):
        if f.integer(a, "id", name="actions_summary[].id") == 2:
            likes += f.integer(a, "count", name="actions_summary[].count") or 0
    return {
        "id": f.id(p, "id", required=True), "user_id": f.integer(p, "user_id"),
        "created_at": f.text(p, "created_at"), "topic_id": f.id(p, "topic_id", required=True),
        "post_number": f.integer(p, "post_number", required=True), "post_type": f.integer(p, "post_type") or 1,
        "reply_to_post_number": f.integer(p, "reply_to_post_number"), "category_id": f.id(p, "category_id"),
        "username": f.text(p, "username"), "name": f.text(p, "name"), "raw": f.text(p, "raw"),
        "staff": f.flag(p, "admin") or f.flag(p, "moderator") or f.flag(p, "staff"), "likes": likes,
        "record": f.record,
    }


def _read_user_list(path: Path) -> tuple[pd.DataFrame, str]:
    if path.suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                inner = [n for n in zf.namelist() if n.endswith(".csv")]
                if not inner:
                    raise ImportFormatError(path, "no .csv inside the user_list ZIP")
                where = f"{path}!{inner[0]}"
                raw = read_zip_member(zf, inner[0], where)
        except (OSError, zipfile.BadZipFile) as exc:
            raise ImportFormatError(path, f"not a readable ZIP file ({exc})", "download the export again") from exc
    else:
        raw, where = read_bytes(path), str(path)
    frame = read_csv_text(decode_text(raw, where), where)
    missing = [c for c in ("id", "username", "created_at") if c not in frame.columns]
    if missing:
        raise ImportFormatError(where, f"not a Discourse user_list export: missing column(s) {', '.join(missing)}",
                                "use Admin > Users > Export (user_list)", record="line 1 (the header)")
    ids = frame["id"].astype("string").str.strip()
    bad = ids.notna() & ~ids.str.fullmatch(r"-?\d{1,18}").fillna(False)
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise ImportFormatError(where, f"not a user id (a whole number): {preview(frame['id'].iloc[i])}",
                                "export the user list again", record=f"row {i + 2}", field="id")
    empty = frame["created_at"].isna()
    if empty.any():
        i = int(empty.to_numpy().nonzero()[0][0])
        raise ImportFormatError(where, "empty (every user has a creation time)", "export the user list again",
                                record=f"row {i + 2}", field="created_at")
    return frame, where


def convert(source: str | Path, *, pseudonym_key: str | bytes | None = None,
            **options: Any) -> tuple[Dataset, ImportReport]:
    """Convert Discourse API JSON (and an optional user_list CSV) to the canonical tables.

    Parameters
    ----------
    source : str or Path
        A posts JSON file, or a folder of them (plus ``user_list-*.csv|zip``).
    pseudonym_key : str or bytes, optional
        Key of the ``email_hash`` column (:func:`~commlab.importers.emails.email_hash`); ``None``:
        a random key of this import (hashes then match no other import's).
    **options
        Community options; ``user_list`` (path of the user_list CSV/ZIP when it
        is not in the folder).

    Returns
    -------
    dataset, report : Dataset and ImportReport

    Raises
    ------
    ImportFormatError
        Invalid JSON, JSON of the wrong shape, a field of the wrong type (naming the post and the
        field), a user_list without its columns.
    """
    split_options(options, OPTIONS, "discourse")
    src = Path(source)
    report = ImportReport("discourse", str(src))
    if src.is_dir():
        jfiles = sorted(src.glob("*.json"))
        ulist = sorted([*src.glob("user_list*.csv"), *src.glob("user_list*.zip")])
    else:
        jfiles, ulist = [src], []
    if options.get("user_list"):
        ulist = [Path(options["user_list"])]
    if not jfiles:
        raise ImportFormatError(src, "no .json posts file")
    posts: dict[str, dict] = {}
    for jf in jfiles:
        lst = _posts_of(read_json_file(jf), jf)
        report.read(f"{jf.name}: posts", len(lst))
        if not lst:
            report.skip("posts file without posts")
        for i, p in enumerate(lst):
            row = _post_row(p, Fields(jf, record_label("post", p.get("id"), i)))
            if row["id"] in posts:  # pages overlap: the same post again, perhaps with more fields
                report.drop(DUPLICATE_ID)
                row = {**posts[row["id"]], **{k: v for k, v in row.items() if v is not None}}
            posts[row["id"]] = {**row, "file": str(jf)}
    report.notes.append(f"{len(posts)} distinct post(s) after removing page overlaps")
    df = pd.DataFrame(list(posts.values()))
    for t, n in df.loc[df["post_type"] != 1, "post_type"].value_counts().items():
        report.skip(f"post_type {t} (moderator action, small action or whisper)", int(n))
    df = df[df["post_type"] == 1]
    df = drop_rows(df, df["user_id"].isna(), "post without user_id", report)
    report.skip("post by a system user (user_id < 0)", int((df["user_id"] < 0).sum()))
    df = df[df["user_id"] >= 0].copy()
    df["member"] = df["user_id"].astype("int64").astype(str)
    df["topic_s"] = df["topic_id"].astype(str)
    df["num"] = df["post_number"].astype("int64")
    author = {(t, n): m for t, n, m in zip(df["topic_s"], df["num"], df["member"], strict=True)}
    tnum = df["reply_to_post_number"].map(lambda n: 1 if n is None or pd.isna(n) else int(n))
    target = [author.get((t, n)) if num > 1 else None
              for t, n, num in zip(df["topic_s"], tnum, df["num"], strict=True)]
    cid = options.get(Col.community_id) or src.name.split(".")[0]
    times = pd.Series(dtype="datetime64[ns, UTC]")
    if len(df):
        times = pd.concat([text_to_utc(part["created_at"].astype(object), tz="UTC", file=name, what="created_at",
                                       records=list(part["record"]))
                           for name, part in df.groupby("file", sort=False)]).reindex(df.index)
    events = pd.DataFrame({
        Col.community_id: cid, Col.member_id: df["member"].to_numpy(), "ts": times.to_numpy(),
        "event_type": ["post" if n == 1 else "reply" for n in df["num"]],
        "target_member_id": pd.array(target, dtype="string"), "thread_id": df["topic_s"].to_numpy(),
        "topic": df["category_id"].to_numpy(),
        "post_id": df["id"].astype(str).to_numpy(), "post_number": df["num"].to_numpy(),
        "like_count": df["likes"].to_numpy(), "text": df["raw"].to_numpy(),
    })
    events["ts"] = events["ts"].astype("datetime64[ns, UTC]")
    events["topic"] = events["topic"].astype("string")
    n_unresolved = int(((events["event_type"] == "reply") & events["target_member_id"].isna()).sum())
    if n_unresolved:
        report.notes.append(f"{n_unresolved} reply(ies) whose target post was not fetched: target left empty")
    names = dict(zip(df["member"], df["name"].where(df["name"].notna(), df["username"]), strict=True))
    staff = {m: "staff" for m, st in zip(df["member"], df["staff"], strict=True) if st}
    if ulist:
        users, where = _read_user_list(ulist[0])
        report.read("user_list", len(users))
        users = drop_rows(users, users["id"].isna(), "user_list row without id", report)
        users = users.assign(id=users["id"].str.strip())
        users = drop_rows(users, users["id"].duplicated(), "duplicate user_list row (the first is kept)", report)
        system = pd.to_numeric(users["id"]) < 0
        report.skip("user_list row of a system user (id < 0)", int(system.sum()))
        rows = [f"row {i + 2}" for i in users.index]
        users = users[~system]
        flag = lambda c: users[c].astype("string").str.lower().isin(["true", "t", "1"]) if c in users else False  # noqa: E731
        members = pd.DataFrame({
            Col.community_id: cid, Col.member_id: users["id"],
            "joined_at": text_to_utc(users["created_at"], tz="UTC", file=where, what="created_at",
                                     records=[r for r, keep in zip(rows, ~system, strict=True) if keep]),
            "role": (flag("admin") | flag("moderator")).map({True: "staff", False: "member"}),
            "display_name": users["name"].where(users["name"].notna(), users["username"]) if "name" in users
            else users["username"],
            "handle": users["username"],
            "email_hash": users["email"].map(lambda e: email_hash(e, pseudonym_key)) if "email" in users else None,
        })
        if "email" in users and users["email"].notna().any():
            report.notes.append(email_hash_note(pseudonym_key))
        known = pd.Index(members[Col.member_id])
        events = drop_rows(events, ~events[Col.member_id].isin(known), "post by a user absent from user_list", report)
        bad_t = events["target_member_id"].notna() & ~events["target_member_id"].isin(known)
        events.loc[bad_t, "target_member_id"] = pd.NA
    else:
        members = members_from_events(events, names=names, roles=staff)
        report.notes.append("no user_list CSV: members derived from posts; joined_at = first post seen")
    if events.empty:
        raise ImportFormatError(src, f"no regular post by a known user (in {', '.join(p.name for p in jfiles[:5])}"
                                + (f" and {ulist[0].name}" if ulist else "") + ")")
    created = min(events["ts"].min(), members["joined_at"].min())
    comm = community_row(
        community_id=cid, name=cid, platform="discourse", created_at=created, source="Discourse API JSON",
        report=report, defaults=_DEFAULTS, options=options,
    )
    return finish(pd.DataFrame([comm]), members, events, source=str(src), report=report), report


def read_discourse(source: str | Path, **options: Any) -> Dataset:
    """Read Discourse API JSON into a validated :class:`Dataset` (see :func:`convert`)."""
    return convert(source, **options)[0]
