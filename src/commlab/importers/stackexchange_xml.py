"""Importer for the Stack Exchange data dump (XML), streamed.

Source: a folder holding ``Posts.xml`` and optionally ``Users.xml``,
``Comments.xml``, ``Votes.xml``, ``Badges.xml`` (each may be ``.xml.gz``), or
a single ``Posts.xml[.gz]`` file. The schema is the public data-dump schema
(meta.stackexchange.com/questions/2677; ``FORMATS.md`` §6). Files are read
with :func:`xml.etree.ElementTree.iterparse` (every ``<row>`` element cleared
once read) in chunks of :data:`CHUNK_ROWS` rows; each chunk is mapped,
validated and appended to the Parquet output (:func:`write_parquet`, used by
``commlab import``), so memory does not grow with the size of the dump except
for compact integer lookups (16 bytes per question or answer, 4 per user;
see ``docs/IMPORTERS.md``). Bodies are never kept unless ``keep_text=True``.

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
* The community is named after its site ("Cardano Stack Exchange": from the folder when it keeps
  the archive's name, else from the links the posts make to their own site, else from the folder
  name made readable; see :mod:`commlab.importers.stackexchange_site`); its id is the folder name.
"""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from commlab.data import schema as S
from commlab.data.coerce import check_table
from commlab.data.io import parse_times, to_ns_utc
from commlab.data.load import Dataset
from commlab.data.schema import Col
from commlab.errors import DataValidationError, ImportFormatError
from commlab.importers.finish import finish
from commlab.importers.import_report import ImportReport
from commlab.importers.options import community_row, opt_bool, split_options
from commlab.importers.progress import open_with_progress
from commlab.importers.stackexchange_site import SiteLinks, name_site
from commlab.importers.streaming import (
    NONE,
    ChunkValidator,
    Faults,
    IntLookup,
    MinByKey,
    ParquetChunkWriter,
    id_text,
)

__all__ = ["convert", "write_parquet", "read_stackexchange_xml", "iter_rows", "OPTIONS", "CHUNK_ROWS"]

#: Importer-specific options (besides the community options).
OPTIONS: tuple[str, ...] = ("keep_text", "progress")

_DEFAULTS = {"theme": "knowledge", "business_model": "platform", "lifecycle": "mature", "monetization": "none"}
_PARTS = ("Posts", "Users", "Comments", "Votes", "Badges")


#: Bytes fed to the XML parser at a time, while it reports elements.
_FEED = 1 << 16
#: The most fed at a time when a token (one very long attribute) spans many feeds.
_FEED_MAX = 1 << 28


def iter_rows(path: str | Path, fields: tuple[str, ...], *, progress: bool | None = None) -> Iterator[tuple]:
    """Stream the ``<row>`` elements of a data-dump XML file as tuples of ``fields`` (``None`` if absent).

    Elements are cleared as soon as they are read (and the root emptied), so memory
    stays bounded whatever the file size. The parser is fed 64 KB at a time, doubled while
    no element comes out: expat (before 2.6) parses a token that is still incomplete again
    from its start at every feed, so a 20 MB attribute fed 16 KB at a time (as
    :func:`xml.etree.ElementTree.iterparse` does) cost time growing with its square
    (5/10/20 MB: 1.3/3.2/12.6 s); doubling makes it linear.

    Raises
    ------
    ImportFormatError
        If the XML is malformed or truncated (names the file, line and column).
    """
    path = Path(path)
    with open_with_progress(path, desc=path.name, show=progress) as fh:
        try:
            parser = ET.XMLPullParser(events=("start", "end"))
            root = None
            n = 0
            size = _FEED
            while True:
                data = fh.read(size)
                if data:
                    parser.feed(data)
                else:
                    parser.close()
                got = False
                for event, elem in parser.read_events():
                    got = True
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
                if not data:
                    break
                size = _FEED if got else min(2 * size, _FEED_MAX)
        except ET.ParseError as exc:
            line, col = exc.position
            raise ImportFormatError(
                path, f"malformed or truncated XML at line {line}, column {col} ({exc})",
                "the file may be cut short; download or extract it again",
            ) from exc
        except (EOFError, OSError, zlib.error) as exc:  # gzip stream cut short or not gzip at all
            raise ImportFormatError(path, f"truncated or unreadable gzip stream ({exc})",
                                    "download the file again") from exc


def _find(folder: Path, part: str) -> Path | None:
    for name in (f"{part}.xml", f"{part}.xml.gz"):
        p = folder / name
        if p.exists():
            return p
    return None


#: Rows mapped, validated and written per Parquet row group; peak memory grows with it, not with the dump.
CHUNK_ROWS = 25_000

_ID_FIX = ("ids and scores in a data dump are integers and times look like 2021-04-27T15:06:44.553; "
           "the file may have been edited or is not a Stack Exchange data dump")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def _resolve(source: str | Path) -> tuple[Path, dict[str, Path]]:
    src = Path(source)
    if src.is_file():
        return src.parent, {"Posts": src}
    if src.is_dir():
        files = {p: f for p in _PARTS if (f := _find(src, p)) is not None}
        if "Posts" not in files:
            raise ImportFormatError(src, "no Posts.xml or Posts.xml.gz",
                                    "a Stack Exchange dump folder holds Posts.xml")
        return src, files
    raise ImportFormatError(src, "not found", "pass a data-dump folder or a Posts.xml[.gz] file")


def _chunks(rows: Iterator[tuple], size: int) -> Iterator[tuple[list[tuple], np.ndarray]]:
    """Rows in lists of ``size``, with their 1-based row numbers in the file."""
    buf: list[tuple] = []
    nums: list[int] = []
    for n, row in enumerate(rows, start=1):
        buf.append(row)
        nums.append(n)
        if len(buf) >= size:
            yield buf, np.asarray(nums)
            buf, nums = [], []
    if buf:
        yield buf, np.asarray(nums)


def _take(values: Any, mask: np.ndarray) -> Any:
    """``values[mask]`` for arrays and Series (a Series gets a fresh 0..n-1 index)."""
    if isinstance(values, pd.Series):
        return values[mask].reset_index(drop=True)
    return values[mask]


class _Stream:
    """State of one streaming import: lookups across files, writers and validators of the output."""

    def __init__(self, src: Path, files: dict[str, Path], out: Path, cid: str, options: dict[str, Any],
                 report: ImportReport) -> None:
        self.src, self.files, self.out, self.cid, self.report = src, files, out, cid, report
        self.keep_text = bool(opt_bool(options.get("keep_text"), "keep_text"))
        self.site_links = SiteLinks()
        self.progress = opt_bool(options.get("progress"), "progress")
        self.chunk = int(CHUNK_ROWS)
        self.users: IntLookup | None = None  # member ids from Users.xml
        self.posts = IntLookup(3)  # post id -> owner, question id, accepted answer id (questions)
        self.accepted_day = IntLookup(1)  # answer id -> day of the acceptance vote (days since 1970)
        self.offered: dict[int, float] = {}
        self.offered_by: dict[int, list[str]] = {}
        self.awarded: dict[int, float] = {}
        self.first_seen = MinByKey()  # member id -> first ts (ns), when there is no Users.xml
        self.min_ts: int | None = None
        self.min_joined: int | None = None
        self.empty_targets = 0
        tables = S.TABLES
        self.ev_check = ChunkValidator(tables["events"], f"{src} -> events")
        self.mem_check = ChunkValidator(tables["members"], f"{src} -> members")
        self.ev_out = ParquetChunkWriter(out / "events.parquet", template=self._events_frame(0, {}))

    # --- parsing helpers ---------------------------------------------------------------------------

    def _ints(self, values: tuple, attr: str, rows: np.ndarray, faults: Faults, required: bool = False) -> np.ndarray:
        """Whole numbers of at most 18 digits (so they fit in 64 bits), exactly; ``9.0`` is read as 9."""
        s = pd.Series(values, dtype="string").str.strip()
        present = s.notna().to_numpy()
        whole = s.str.fullmatch(r"-?\d{1,18}").fillna(False).to_numpy(bool)
        point = ~whole & s.str.fullmatch(r"-?\d{1,15}\.0*").fillna(False).to_numpy(bool)
        bad = present & ~whole & ~point
        faults.add(attr, "value(s) not an integer id (a whole number of at most 18 digits)", rows[bad],
                   s[bad].tolist())
        if required:
            faults.add(attr, "missing value(s)", rows[~present], [None] * int((~present).sum()))
        out = np.full(len(s), NONE, np.int64)
        if whole.any():
            out[whole] = s[whole].astype("int64").to_numpy()
        if point.any():
            out[point] = s[point].str.split(".").str[0].astype("int64").to_numpy()
        return out

    def _floats(self, values: tuple, attr: str, rows: np.ndarray, faults: Faults) -> np.ndarray:
        s = pd.Series(values, dtype=object)
        num = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        bad = s.notna().to_numpy() & np.isnan(num)
        faults.add(attr, "value(s) not a number", rows[bad], s[bad].tolist())
        return num

    def _times(self, values: tuple, attr: str, rows: np.ndarray, faults: Faults) -> pd.Series:
        s = pd.Series(values, dtype="string")
        out, far = to_ns_utc(pd.to_datetime(s, format=_TIME_FORMAT, errors="coerce", utc=True))
        retry = s.notna() & out.isna() & ~far
        if retry.any():  # other ISO forms (no fraction, an offset): the loader's parser
            parsed, _ = parse_times(s[retry], "UTC")
            out[retry] = parsed
        missing = s.isna().to_numpy()
        bad = (s.notna() & out.isna()).to_numpy()
        faults.add(attr, "unparseable or out-of-range time(s)", rows[bad], s[bad].tolist())
        faults.add(attr, "missing time(s)", rows[missing], [None] * int(missing.sum()))
        return out.reset_index(drop=True)

    def _rows(self, part: str, fields: tuple[str, ...]) -> Iterator[tuple[list[tuple], np.ndarray]]:
        return _chunks(iter_rows(self.files[part], fields, progress=self.progress), self.chunk)

    # --- users -------------------------------------------------------------------------------------

    def read_users(self) -> None:
        path = self.files["Users"]
        faults = Faults(path, _ID_FIX)
        self.users = IntLookup(0)
        n_read = 0
        with ParquetChunkWriter(self.out / "members.parquet", template=self._members_frame(0, {})) as w:
            for rows, nums in self._rows("Users", ("Id", "CreationDate", "DisplayName", "AccountId")):
                cols = list(zip(*rows, strict=True))
                n_read += len(rows)
                ids = self._ints(cols[0], "Id", nums, faults)
                joined = self._times(cols[1], "CreationDate", nums, faults)
                no_id = pd.Series(cols[0]).isna().to_numpy()
                self.report.drop("user row without an Id", int(no_id.sum()))
                keep = ids != NONE
                dup = np.zeros(len(ids), bool)
                dup[keep] = self.users.add(ids[keep])
                self.report.drop("duplicate user row", int(dup.sum()))
                keep &= ~dup & joined.notna().to_numpy()
                if faults:
                    continue  # the import fails at the end of the file; nothing more to write
                ts = joined[keep].reset_index(drop=True)
                if len(ts):
                    m = int(ts.min().value)
                    self.min_joined = m if self.min_joined is None else min(self.min_joined, m)
                kept = ids[keep]
                frame = self._members_frame(len(kept), {
                    Col.member_id: id_text(kept), "joined_at": ts,
                    "role": pd.Series(np.where(kept == -1, "bot", "member"), dtype="string"),
                    "display_name": pd.Series(np.asarray(cols[2], dtype=object)[keep], dtype="string"),
                    "account_id": pd.Series(np.asarray(cols[3], dtype=object)[keep], dtype="string"),
                })
                w.write(self.mem_check(frame))
        faults.raise_if_any()
        self.report.read("Users", n_read)

    def _members_frame(self, n: int, cols: dict[str, Any]) -> pd.DataFrame:
        return pd.DataFrame({
            Col.community_id: pd.Series([self.cid] * n, dtype="string"),
            Col.member_id: cols.get(Col.member_id, pd.Series([], dtype="string")),
            "joined_at": cols.get("joined_at", pd.Series([], dtype="datetime64[ns, UTC]")),
            "role": cols.get("role", pd.Series([], dtype="string")),
            "display_name": cols.get("display_name", pd.Series([], dtype="string")),
            "account_id": cols.get("account_id", pd.Series([], dtype="string")),
        })

    # --- votes -------------------------------------------------------------------------------------

    def read_votes(self) -> None:
        path = self.files["Votes"]
        faults = Faults(path, _ID_FIX)
        vote_types: dict[str, int] = {}
        fields = ("PostId", "VoteTypeId", "CreationDate", "UserId", "BountyAmount")
        for rows, nums in self._rows("Votes", fields):
            acc_pid: list[str] = []
            acc_day: list[str] = []
            acc_num: list[int] = []
            for (pid, vt, day, uid, amount), n in zip(rows, nums.tolist(), strict=True):
                vote_types[str(vt)] = vote_types.get(str(vt), 0) + 1
                if vt not in ("1", "8", "9") or pid is None:
                    continue
                if vt == "1":
                    if day:
                        acc_pid.append(pid)
                        acc_day.append(day[:10])
                        acc_num.append(n)
                    continue
                try:
                    key, value = int(pid), float(amount or 0)
                except ValueError:
                    faults.add("PostId/BountyAmount", "value(s) not a number", [n], [f"{pid}/{amount}"])
                    continue
                if vt == "8":
                    self.offered[key] = self.offered.get(key, 0.0) + value
                    if uid:
                        self.offered_by.setdefault(key, []).append(uid)
                else:
                    self.awarded[key] = self.awarded.get(key, 0.0) + value
            if acc_pid:
                r = np.asarray(acc_num)
                keys = self._ints(tuple(acc_pid), "PostId", r, faults)
                days = pd.to_datetime(pd.Series(acc_day, dtype="string"), format="%Y-%m-%d", errors="coerce")
                bad = days.isna().to_numpy()
                faults.add("CreationDate", "unparseable time(s)", r[bad], [acc_day[i] for i in np.flatnonzero(bad)])
                ok = ~bad & (keys != NONE)
                day_num = days.to_numpy(dtype="datetime64[D]").astype(np.int64)
                self.accepted_day.add(keys[ok], day_num[ok].reshape(-1, 1))
        faults.raise_if_any()
        report = self.report
        for vt, n in sorted(vote_types.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0):
            report.read(f"Votes: VoteTypeId {vt}", n)
        used = vote_types.get("1", 0) + vote_types.get("8", 0) + vote_types.get("9", 0)
        report.skip("vote without voter id (up/down/close/...: no member to attach it to)",
                    sum(vote_types.values()) - used)
        report.skip("vote used as a column (accepted_on, bounty_offered, bounty_awarded)", used)
        report.notes.append(
            f"bounties: {vote_types.get('8', 0)} offered ({sum(self.offered.values()):g} reputation), "
            f"{vote_types.get('9', 0)} awarded ({sum(self.awarded.values()):g}); kept as event columns, not amount"
        )

    # --- posts -------------------------------------------------------------------------------------

    def read_posts(self) -> None:
        path = self.files["Posts"]
        faults = Faults(path, _ID_FIX)
        fields = ("Id", "PostTypeId", "ParentId", "AcceptedAnswerId", "CreationDate", "OwnerUserId", "Tags",
                  "Score", "Body")
        other_types: dict[str, int] = {}
        n_q = n_a = 0
        pending: list[dict[str, Any]] = []  # answers whose question was not read yet
        for rows, nums in self._rows("Posts", fields):
            types = np.asarray([r[1] for r in rows], dtype=object)
            qa = (types == "1") | (types == "2")
            for t in types[~qa].tolist():
                other_types[str(t)] = other_types.get(str(t), 0) + 1
            if not qa.all():
                rows = [r for r, k in zip(rows, qa.tolist(), strict=True) if k]
                nums, types = nums[qa], types[qa]
            if not rows:
                continue
            if not self.site_links.done:  # the site's name, from the links its posts make to its own pages
                self.site_links.feed(r[8] for r in rows)
            is_q = types == "1"
            n_q += int(is_q.sum())
            n_a += int((~is_q).sum())
            cols = list(zip(*rows, strict=True))
            ids = self._ints(cols[0], "Id", nums, faults, required=True)
            parent = self._ints(cols[2], "ParentId", nums, faults)
            acc = self._ints(cols[3], "AcceptedAnswerId", nums, faults)
            ts = self._times(cols[4], "CreationDate", nums, faults)
            owner = self._ints(cols[5], "OwnerUserId", nums, faults)
            score = self._floats(cols[7], "Score", nums, faults)
            if faults:
                continue  # the import fails at the end of the file; nothing more to write
            qid = np.where(is_q, ids, parent)
            dup = self.posts.add(ids, np.column_stack([owner, qid, np.where(is_q, acc, NONE)]))
            self.report.drop("duplicate post row (same Id; the first is kept)", int(dup.sum()))
            tags = pd.Series(cols[6], dtype="string")
            body = pd.Series(cols[8] if self.keep_text else [None] * len(rows), dtype="string")
            q = is_q & ~dup
            if q.any():
                self._questions(ids[q], owner[q], ts[q].reset_index(drop=True), score[q],
                                tags[q].reset_index(drop=True), body[q].reset_index(drop=True))
            a = ~is_q & ~dup
            if a.any():
                found = self.posts.contains(parent[a]) | (parent[a] == NONE)
                part = {"ids": ids[a], "owner": owner[a], "parent": parent[a], "score": score[a],
                        "ts": ts[a].reset_index(drop=True), "body": body[a].reset_index(drop=True)}
                self._answers({k: _take(v, found) for k, v in part.items()})
                if not found.all():
                    pending.append({k: _take(v, ~found) for k, v in part.items()})
        faults.raise_if_any()
        if pending:  # every question is known now; still unknown parents get an empty target
            self._answers({k: np.concatenate([p[k] for p in pending]) if isinstance(pending[0][k], np.ndarray)
                           else pd.concat([p[k] for p in pending], ignore_index=True) for k in pending[0]})
        report = self.report
        report.read("Posts: questions", n_q)
        report.read("Posts: answers", n_a)
        for t, n in sorted(other_types.items()):
            report.read(f"Posts: PostTypeId {t}", n)
            report.skip(f"post of PostTypeId {t} (tag wiki, nomination or other: not a question or answer)", n)

    def _questions(self, ids: np.ndarray, owner: np.ndarray, ts: pd.Series, score: np.ndarray,
                   tags: pd.Series, body: pd.Series) -> None:
        id_s = id_text(ids)
        topic = tags.str.strip("<>|").str.replace("><", ";", regex=False).str.replace("|", ";", regex=False)
        key = pd.Series(ids)
        by = key.map(lambda i: ";".join(self.offered_by[i]) if i in self.offered_by else None) \
            if self.offered_by else pd.Series([None] * len(ids))
        self._emit("question", "post", owner, np.full(len(ids), NONE, np.int64), ts, {
            "thread_id": id_s, "topic": topic, "score": score, "source_ref": "question/" + id_s,
            "text": body if self.keep_text else None,
            "bounty_offered": key.map(self.offered).to_numpy(dtype="float64", na_value=np.nan)
            if self.offered else None,
            "bounty_offered_by": pd.Series(by.to_numpy(), dtype="string"),
        })

    def _answers(self, part: dict[str, Any]) -> None:
        ids, parent = part["ids"], part["parent"]
        found, vals = self.posts.get(parent)
        target = np.where(found, vals[:, 0], NONE)
        accepted = found & (vals[:, 2] == ids)
        day_found, day = self.accepted_day.get(ids)
        accepted_on = pd.Series(np.where(day_found, day[:, 0], 0).astype("datetime64[D]").astype(str),
                                dtype="string").mask(~day_found)
        id_s = id_text(ids)
        self._emit("answer", "reply", part["owner"], target, part["ts"], {
            "thread_id": id_text(parent), "score": part["score"], "source_ref": "answer/" + id_s,
            "text": part["body"] if self.keep_text else None,
            "accepted": pd.array(accepted, dtype="boolean"), "accepted_on": accepted_on,
            "bounty_awarded": pd.Series(ids).map(self.awarded).to_numpy(dtype="float64", na_value=np.nan)
            if self.awarded else None,
        })

    # --- comments ----------------------------------------------------------------------------------

    def read_comments(self) -> None:
        path = self.files["Comments"]
        faults = Faults(path, _ID_FIX)
        fields = ("Id", "PostId", "CreationDate", "UserId", "Score", "Text" if self.keep_text else "_none")
        n_read = not_on_post = 0
        for rows, nums in self._rows("Comments", fields):
            n_read += len(rows)
            cols = list(zip(*rows, strict=True))
            ids = self._ints(cols[0], "Id", nums, faults, required=True)
            pid = self._ints(cols[1], "PostId", nums, faults)
            ts = self._times(cols[2], "CreationDate", nums, faults)
            uid = self._ints(cols[3], "UserId", nums, faults)
            score = self._floats(cols[4], "Score", nums, faults)
            if faults:
                continue
            found, vals = self.posts.get(pid)
            not_on_post += int((~found).sum())
            id_s = id_text(ids)
            self._emit("comment", "reply", uid, vals[:, 0], ts, {
                "thread_id": id_text(vals[:, 1]), "score": score, "source_ref": "comment/" + id_s,
                "text": pd.Series(cols[5], dtype="string") if self.keep_text else None,
            })
        faults.raise_if_any()
        self.report.read("Comments", n_read)
        self.report.notes.append(f"{not_on_post} comment(s) on a post that is not a question or answer "
                                 "(tag wiki, ...) or not in Posts: kept with an empty target and thread")

    # --- events out --------------------------------------------------------------------------------

    def _events_frame(self, n: int, cols: dict[str, Any]) -> pd.DataFrame:
        def col(name: str, dtype: str) -> Any:
            v = cols.get(name)
            if v is None:
                return pd.Series(pd.NA if dtype in ("string", "boolean") else np.nan, index=range(n), dtype=dtype)
            return pd.Series(v, dtype=dtype).reset_index(drop=True) if not isinstance(v, pd.Series) \
                else v.astype(dtype).reset_index(drop=True)

        return pd.DataFrame({
            Col.community_id: pd.Series([self.cid] * n, dtype="string"),
            Col.member_id: col(Col.member_id, "string"),
            "ts": cols["ts"] if "ts" in cols else pd.Series([], dtype="datetime64[ns, UTC]"),
            "event_type": col("event_type", "string"),
            "target_member_id": col("target_member_id", "string"),
            "thread_id": col("thread_id", "string"),
            "topic": col("topic", "string"),
            "score": col("score", "float64"),
            "source_ref": col("source_ref", "string"),
            "text": col("text", "string"),
            "accepted": col("accepted", "boolean"),
            "accepted_on": col("accepted_on", "string"),
            "bounty_offered": col("bounty_offered", "float64"),
            "bounty_offered_by": col("bounty_offered_by", "string"),
            "bounty_awarded": col("bounty_awarded", "float64"),
            "platform": pd.Series(["stackexchange"] * n, dtype="string"),  # every importer tags the platform
        })

    def _emit(self, kind: str, event_type: str, member: np.ndarray, target: np.ndarray, ts: pd.Series,
              cols: dict[str, Any]) -> None:
        """Drop events by deleted or unknown accounts, empty unknown targets, validate and write."""
        report = self.report
        keep = member != NONE
        report.drop(f"{kind}: by a deleted account (no user id)", int((~keep).sum()))
        if self.users is not None:
            absent = keep & ~self.users.contains(member)
            report.drop(f"{kind}: by a user absent from Users.xml", int(absent.sum()))
            keep &= ~absent
            target = np.where((target != NONE) & ~self.users.contains(target), NONE, target)
        n = int(keep.sum())
        member, target = member[keep], target[keep]
        ts = ts[keep].reset_index(drop=True)
        sel = {k: _take(v, keep) for k, v in cols.items() if v is not None}
        ts_ns = ts.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        if n:
            m = int(ts_ns.min())
            self.min_ts = m if self.min_ts is None else min(self.min_ts, m)
        if self.users is None:
            self.first_seen.add(member, ts_ns)
            has = target != NONE
            self.first_seen.add(target[has], ts_ns[has])
        if event_type == "reply":
            self.empty_targets += int((target == NONE).sum())
        frame = self._events_frame(n, {
            **sel, Col.member_id: id_text(member), "target_member_id": id_text(target), "ts": ts,
            "event_type": pd.Series([event_type] * n, dtype="string"),
        })
        self.ev_out.write(self.ev_check(frame))

    # --- end ---------------------------------------------------------------------------------------

    def members_from_first_seen(self) -> None:
        keys, first = self.first_seen.result()
        with ParquetChunkWriter(self.out / "members.parquet", template=self._members_frame(0, {})) as w:
            for lo in range(0, len(keys), self.chunk):
                k = keys[lo: lo + self.chunk]
                frame = self._members_frame(len(k), {
                    Col.member_id: id_text(k),
                    "joined_at": pd.Series(pd.to_datetime(first[lo: lo + self.chunk], utc=True),
                                           dtype="datetime64[ns, UTC]"),
                    "role": pd.Series(["member"] * len(k), dtype="string"),
                })
                w.write(self.mem_check(frame.drop(columns=["account_id", "display_name"])))
        self.report.notes.append("no Users.xml: members derived from post/comment authors and targets; "
                                 "joined_at = first time seen, display names unknown")


def write_parquet(source: str | Path, out_dir: str | Path, **options: Any) -> ImportReport:
    """Stream a Stack Exchange data dump into ``communities/members/events.parquet`` in ``out_dir``.

    Every file is read with :func:`iter_rows` and mapped, validated and written
    :data:`CHUNK_ROWS` rows at a time, so memory does not grow with the bodies
    or with the number of events. What must be remembered across files is kept
    in sorted integer arrays (:class:`~commlab.importers.streaming.IntLookup`,
    int32 while ids fit): the member ids of ``Users.xml`` (4 bytes each), post id
    → owner, question and accepted answer (16 bytes per question or answer),
    answer id → day of acceptance (8 bytes per accepted answer), first-seen
    time per member when there is no ``Users.xml`` (16 bytes each), and
    bounties in dicts (rare). Events are written in source order (posts by
    ``Id``, then comments), not sorted by time; :func:`load_dataset` sorts them.

    Use :func:`commlab.importers.import_source` (which calls this into a
    temporary folder and moves it into place only on success) rather than
    calling this directly: on error, ``out_dir`` holds partial files.

    Parameters
    ----------
    source : str or Path
        Folder with ``Posts.xml[.gz]`` (and optionally ``Users``, ``Comments``,
        ``Votes``, ``Badges``), or a ``Posts.xml[.gz]`` file.
    out_dir : str or Path
        An existing, empty folder.
    **options
        As :func:`convert`.

    Returns
    -------
    ImportReport

    Raises
    ------
    ImportFormatError
        Missing ``Posts.xml``, malformed XML, ids that are not integers, bad times
        (naming the file, the attribute and the first rows).
    DataValidationError
        If the mapped tables fail validation (bad community options, ...).
    """
    split_options(options, OPTIONS, "stackexchange_xml")
    src = Path(source)
    folder, files = _resolve(src)
    out = Path(out_dir)
    report = ImportReport("stackexchange_xml", str(src))
    cid = options.get(Col.community_id) or folder.name
    comm_file = f"{src} -> communities"

    def community(created: Any, name: str = cid, host: str | None = None) -> pd.DataFrame:
        row = community_row(
            community_id=cid, name=name, platform="stackexchange", created_at=created,
            source=f"Stack Exchange data dump ({host or folder.name}), CC BY-SA", report=report, defaults=_DEFAULTS,
            options=options,
        )
        coerced, problems = check_table(pd.DataFrame([row]), S.COMMUNITIES, comm_file, "UTC")
        if problems:
            raise DataValidationError(problems, source=str(src))
        return coerced

    community(pd.Timestamp("2000-01-01", tz="UTC"))  # bad options fail now, not after a multi-GB read
    st = _Stream(src, files, out, cid, options, report)
    with st.ev_out:
        if "Users" in files:
            st.read_users()
        if "Votes" in files:
            st.read_votes()
        st.read_posts()
        if "Comments" in files:
            st.read_comments()
    report.notes.append(f"{st.empty_targets} reply event(s) kept with an empty target (target deleted, unknown or "
                        "not a question/answer)")
    if "Users" not in files:
        st.members_from_first_seen()
    if "Badges" in files:
        n_badges = sum(1 for _ in iter_rows(files["Badges"], ("Id",), progress=st.progress))
        report.read("Badges", n_badges)
        report.skip("badge (no canonical event for it)", n_badges)
    problems = st.mem_check.problems + st.ev_check.problems
    if problems:
        raise DataValidationError(problems, source=str(src))
    if st.ev_check.rows == 0:
        read = sum(report.rows_read.get(k, 0) for k in ("Posts: questions", "Posts: answers", "Comments"))
        raise ImportFormatError(
            files["Posts"], f"nothing to import: {read} question(s), answer(s) and comment(s) read, none by a "
            "known account" if read else "nothing to import: no question, answer or comment (<row> element)",
            "check that this is a Stack Exchange data dump (Posts.xml holds <row> elements)",
        )
    first = st.min_ts if st.min_ts is not None else st.min_joined
    created = pd.Timestamp(first, tz="UTC") if first is not None else pd.NaT
    name, host = name_site(folder.name, st.site_links)
    if not options.get("name"):
        after = f"the site {host}" if host else f"the folder {folder.name!r}"
        report.notes.append(f"community {cid}: named {name!r} after {after} (set it with -o name=...)")
    pd.DataFrame(community(created, name, host)).to_parquet(out / "communities.parquet", index=False)
    report.rows_mapped = {"communities": 1, "members": st.mem_check.rows, "events": st.ev_check.rows}
    return report


def convert(source: str | Path, **options: Any) -> tuple[Dataset, ImportReport]:
    """Convert a Stack Exchange data dump to the canonical tables, in memory.

    The dump is streamed into Parquet files in a temporary folder
    (:func:`write_parquet`), which are then read back and validated as a whole;
    so the result must fit in memory. For dumps of gigabytes use
    :func:`commlab.importers.import_source` (``commlab import stackexchange_xml
    SOURCE --out DIR``), whose memory stays bounded.

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
        Missing ``Posts.xml``, malformed XML, ids or times.
    DataValidationError
        If the mapped tables fail validation.
    """
    with tempfile.TemporaryDirectory(prefix="commlab-se-xml-") as tmp:
        report = write_parquet(source, tmp, **options)
        frames = {name: pd.read_parquet(Path(tmp) / f"{name}.parquet") for name in S.TABLES}
    ds = finish(frames["communities"], frames["members"], frames["events"], source=str(source), report=report,
                tz="UTC")
    return ds, report


def read_stackexchange_xml(source: str | Path, **options: Any) -> Dataset:
    """Read a Stack Exchange data dump into a validated :class:`Dataset` (see :func:`convert`)."""
    return convert(source, **options)[0]
