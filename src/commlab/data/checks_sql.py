"""The checks of a large event file as set-based DuckDB SQL over the Parquet file, and its ordered copy.

:func:`commlab.data.streamed.stream_events` reads an event log of tens of millions of rows in
chunks through pandas: coercing every value, checking each chunk (pandera, the cross-table joins) and
writing it out, then ordering the whole. When the file is Parquet whose columns already have the
canonical types (text ids, times with a time zone, numeric amounts: what the importers and
:func:`commlab.data.generate.generate_large` write), none of that per-value work is needed: one
DuckDB query over the file counts every problem the chunked path looks for — values to coerce
(surrounding blanks, empty text), missing required values, unknown event types, negative and infinite amounts,
times outside the years pandas holds, events of unknown communities, by unknown members, with unknown
targets, before their community's creation — and, when it finds none, the events are written in
(``community_id``, ``ts``, row in the file) order, as the chunked path does, into the same schema.

The ordered copy is written by :func:`commlab.data.streamed.stream_events` with the ``copy`` function
:func:`check_events_sql` returns: the distribution sort of :func:`commlab.data.ordered_copy.ordered_copy`,
whose cost per row does not grow with the file and which assigns the member keys (a file already in order too:
its buckets keep their order).
When the query finds anything, :func:`check_events_sql` returns ``None`` and the chunked path reads the file
and writes the problem report: the report (file, column, check, first offending rows and values, count, fix) is
the chunked path's, the same whichever path found the problem.
A file with other types or columns the query does not know goes to the chunked path too.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from commlab.data import schema as S
from commlab.data.ordered_copy import ordered_copy
from commlab.data.schema import Col
from commlab.data.stored import KEYS_FILE, MEMBER_KEY, TARGET_KEY

__all__ = ["check_events_sql", "eligible", "members_frame", "unknown_keys", "write_member_keys"]

logger = logging.getLogger(__name__)

#: What pandas' ``str.strip`` removes (Python's whitespace): a value starting or ending with one is coerced.
_BLANK = r"[\s\x{0b}\x{1c}-\x{1f}\x{85}\p{Z}]"
#: The id columns looked up in the other tables.
_JOINED = (Col.community_id, Col.member_id, Col.target_member_id)
#: The times pandas holds in nanoseconds (the chunked path reports others as unparseable).
_FIRST, _LAST = "1677-09-22 00:12:44+00", "2262-04-11 23:47:16+00"


def _text_type(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def eligible(path: str | Path) -> bool:
    """Whether the SQL checks can stand for the chunked ones: a Parquet file of canonical columns and types."""
    p = Path(path)
    if p.suffix != ".parquet":
        return False
    try:
        schema = pq.read_schema(p)
    except Exception:  # noqa: BLE001 - the chunked path reports an unreadable file
        return False
    meta = (schema.metadata or {}).get(b"pandas")
    if meta is not None and b'"index_columns": []' not in meta and b'"kind": "range"' not in meta:
        return False  # an index stored as columns: the chunked path reads it as pandas does
    names = set(schema.names)
    if not set(S.EVENTS.required) <= names or not names <= {c.name for c in S.EVENTS.columns}:
        return False
    for field in schema:
        col = S.EVENTS.column(field.name)
        if col.multi:
            return False
        if col.dtype == "timestamp":
            if not (pa.types.is_timestamp(field.type) and field.type.tz is not None):
                return False
        elif col.dtype == "float":
            if not (pa.types.is_floating(field.type) or pa.types.is_integer(field.type)):
                return False
        elif not _text_type(field.type):
            return False
    return True


def _q(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _problems_sql(src: str, names: list[str], members: bool = True, missing: bool = True) -> str:
    """One row of counts: every problem the chunked path reports on the events, by kind.

    Without ``members``, the events of unknown members and with unknown targets are not looked for
    here: the sorted copy looks every member and target up as it assigns their keys, and counts them
    (:func:`unknown_keys`). Without ``missing``, missing required values are not counted (the file's
    footer counted none: the query then need not read the columns only that check reads).
    """
    required = " OR ".join(f"e.{c} IS NULL" for c in S.EVENTS.required)
    checks = [f"count(*) FILTER (WHERE {required}) AS missing"] if missing else []
    far = f"e.ts < TIMESTAMPTZ {_q(_FIRST)} OR e.ts > TIMESTAMPTZ {_q(_LAST)}"
    checks += [f"count(*) FILTER (WHERE {far}) AS far_times",
               "count(*) FILTER (WHERE c.c IS NULL AND e.community_id IS NOT NULL) AS unknown_community",
               "count(*) FILTER (WHERE e.ts < c.created_at) AS before_created"]
    for col in S.EVENTS.columns:
        if col.name in names and col.vocabulary is not None:
            codes = ", ".join(_q(x) for x in col.vocabulary.codes)
            checks.append(f"count(*) FILTER (WHERE e.{col.name} NOT IN ({codes})) AS unknown_{col.name}")
        if col.name in names and col.dtype == "float":
            checks.append(f"count(*) FILTER (WHERE e.{col.name} < 0) AS negative_{col.name}")
            checks.append(f"count(*) FILTER (WHERE isinf(e.{col.name})) AS infinite_{col.name}")
    joins = "LEFT JOIN comm c ON c.c = e.community_id"
    if members:
        checks.append("count(*) FILTER (WHERE m.m IS NULL AND e.member_id IS NOT NULL) AS unknown_member")
        joins += " LEFT JOIN mem m ON m.c = e.community_id AND m.m = e.member_id"
    if members and "target_member_id" in names:
        checks.append("count(*) FILTER (WHERE e.target_member_id IS NOT NULL AND t.m IS NULL) AS unknown_target")
        joins += " LEFT JOIN mem t ON t.c = e.community_id AND t.m = e.target_member_id"
    checks += ["count(*) AS n", "min(e.ts) AS first", "max(e.ts) AS last"]
    return f"SELECT {', '.join(checks)} FROM {src} e {joins}"


def _blanks_sql(src: str, names: list[str]) -> str:
    """The number of distinct text values the chunked path would change (surrounding blanks) or empty.

    Only the columns no other check looks at: a padded or empty id or code is already caught as an
    unknown community, member, target or code (the other tables' ids are stripped), and sent to the
    chunked path, which strips it as it always did.
    """
    texts = [c.name for c in S.EVENTS.columns if c.name in names and c.dtype in ("string", "category")
             and c.vocabulary is None and c.name not in _JOINED]
    if not texts:
        return "SELECT 0"
    values = " UNION ".join(f"SELECT DISTINCT {c} AS v FROM {src}" for c in texts)
    return f"SELECT count(*) FROM ({values}) WHERE v = '' OR regexp_matches(v, '^{_BLANK}|{_BLANK}$')"


def _output_names(schema: pa.Schema) -> list[str]:
    """The columns the chunked path writes: the file's, then the missing ones it fills."""
    return [*schema.names, *(c.name for c in S.EVENTS.columns
                             if c.name not in schema.names and not c.required and c.fill)]


def check_events_sql(path: str | Path, *, communities: pd.DataFrame, members: pd.DataFrame,
                     memory_limit: str = "1GB", keys: bool = False) -> dict | None:
    """Check the events at ``path`` with set-based SQL.

    Parameters
    ----------
    path : str or Path
        The events file.
    communities, members : DataFrame
        The coerced other tables.
    memory_limit : str
        DuckDB's ``memory_limit`` of the checks.
    keys : bool, default False
        Whether the copy of events to sort assigns the integer member keys
        (:data:`~commlab.data.stored.MEMBER_KEY`, :data:`~commlab.data.stored.TARGET_KEY`; the
        rank of (community, member) among the members table's, written to
        :data:`~commlab.data.stored.KEYS_FILE` beside the copy). The copy then looks every member and
        target up once, as it assigns their keys, instead of the checks: an event whose member or
        target has no key is the unknown member or target the checks would have counted, found by
        :func:`unknown_keys` on the copy. Without ``keys`` (the checks alone, as ``commlab validate``
        runs them) the checks look the members up. Events already in order get their keys from the same
        copy (its buckets then only keep their order), so that every store the import writes is keyed.

    Returns
    -------
    dict or None
        For clean events: ``rows``, ``first``, ``last`` (UTC), ``keyed`` (the checks left the members and
        targets to the copy's keys: its unknown members and targets are still to be counted) and ``copy``, a
        function ``copy(con, out, spill)`` that writes them to ``out`` with their member keys as the chunked
        path writes them (in (``community_id``, ``ts``) order, by :func:`commlab.data.ordered_copy.ordered_copy`,
        spilling into the folder ``spill``) on a DuckDB connection. ``None`` when the file is not
        :func:`eligible`, the other tables lack the columns
        the checks join on, or the query found a problem (the chunked path then reports it).
    """
    if not eligible(path) or not {Col.community_id, Col.created_at} <= set(communities.columns) \
            or not {Col.community_id, Col.member_id} <= set(members.columns):
        return None
    schema = pq.read_schema(path)
    nulls = _null_counts(path, tuple(S.EVENTS.required))
    if nulls is not None and any(nulls.values()):
        logger.info("events of %s: the footer counts missing values %s; the chunked path reports them", path, nulls)
        return None
    src = f"read_parquet({_q(str(path))}, file_row_number = true)"
    keyed = keys  # the copy looks the members up, as it assigns their keys
    comm = pa.table({"c": pa.array(communities[Col.community_id].astype("string"), type=pa.string()),
                     "created_at": pa.array(pd.to_datetime(communities[Col.created_at], utc=True))})
    con = duckdb.connect()
    try:
        _quiet(con)
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET TimeZone = 'UTC'")
        con.register("comm_frame", comm)
        con.register("mem_frame", members_frame(members))
        con.execute("CREATE TEMP TABLE comm AS SELECT c, min(created_at) AS created_at FROM comm_frame "
                    "WHERE c IS NOT NULL GROUP BY c")
        con.execute("CREATE TEMP TABLE mem AS SELECT DISTINCT c, m FROM mem_frame "
                    "WHERE c IS NOT NULL AND m IS NOT NULL")
        t0 = time.perf_counter()
        found = con.execute(_problems_sql(src, list(schema.names), members=not keyed,
                                          missing=nulls is None)).df().iloc[0]
        problems = {k: int(v) for k, v in found.items() if k not in ("n", "first", "last") and int(v)}
        blanks = con.execute(_blanks_sql(src, list(schema.names))).fetchone()
        if blanks and blanks[0]:
            problems["values to coerce"] = int(blanks[0])
    finally:
        con.close()
    if problems:
        logger.info("events of %s: the SQL checks found %s; the chunked path reports them", path, problems)
        return None
    logger.info("events of %s checked in SQL in %.1f s (%s)", path, time.perf_counter() - t0,
                "members looked up as keyed" if keyed else "members looked up")
    mem_frame = members_frame(members)

    def copy(con: duckdb.DuckDBPyConnection, out: Path, spill: Path) -> None:
        # ranked by the sorted ids, as the chunked path sorts; ordered and keyed by a distribution sort, whether or
        # not the rows are in order already
        communities = pc.unique(comm.column("c").drop_null()).sort()
        keys = write_member_keys(con, mem_frame, out.with_name(KEYS_FILE))
        ordered_copy(path, out, names=_output_names(schema), communities=communities, keys=keys, spill=spill,
                     con=con)

    return {"rows": int(found["n"]), "keyed": keyed, "copy": copy,
            "first": _utc(found["first"]), "last": _utc(found["last"])}


def members_frame(members: pd.DataFrame) -> pa.Table:
    """The community and member ids of ``members`` as an Arrow table (``c``, ``m``: strings)."""
    return pa.table({"c": pa.array(members[Col.community_id].astype("string"), type=pa.string()),
                     "m": pa.array(members[Col.member_id].astype("string"), type=pa.string())})


def write_member_keys(con: duckdb.DuckDBPyConnection, members: pa.Table, out: Path) -> pa.Table:
    """The member keys of ``members`` (:func:`members_frame`), written to ``out`` and returned in key order.

    The key of a (community, member) pair is its rank among the distinct pairs (an INTEGER from 1): the key
    :func:`commlab.analysis.features_sql.features_sql` reads. Also left on ``con`` as the table ``member_keys``
    (``c``, ``m``, ``k``). Returns the pairs (``c``, ``m``) ordered by key, as
    :func:`commlab.data.ordered_copy.ordered_copy` takes them.
    """
    con.register("key_frame", members)
    con.execute("CREATE TEMP TABLE member_keys AS SELECT c, m, CAST(row_number() OVER (ORDER BY c, m) AS INTEGER) AS k "
                "FROM (SELECT DISTINCT c, m FROM key_frame WHERE c IS NOT NULL AND m IS NOT NULL)")
    con.unregister("key_frame")
    con.execute(f"COPY (SELECT c AS {Col.community_id}, m AS {Col.member_id}, k AS {MEMBER_KEY} FROM member_keys "
                f"ORDER BY k) TO {_q(str(out))} (FORMAT parquet)")
    return con.sql("SELECT c, m FROM member_keys ORDER BY k").to_arrow_table()


def unknown_keys(path: str | Path) -> dict[str, int]:
    """The events of unknown members and with unknown targets in a keyed copy (:func:`check_events_sql`).

    An event without a member key is by a member the members table lacks (the copy holds no event
    without a member or of an unknown community: the checks found none); one with a target but no
    target key aims at an unknown target. Counted from the file's footer (null counts per row group),
    or by a query where the footer lacks them.

    Returns
    -------
    dict
        ``unknown_member`` and ``unknown_target`` counts, only those above zero.
    """
    nulls = _null_counts(path, (MEMBER_KEY, TARGET_KEY, Col.target_member_id))
    if nulls is None:
        return _unknown_keys_sql(path)
    found = {"unknown_member": nulls[MEMBER_KEY],
             "unknown_target": nulls[TARGET_KEY] - nulls.get(Col.target_member_id, 0)}
    return {k: int(v) for k, v in found.items() if v}


def _null_counts(path: str | Path, names: tuple[str, ...]) -> dict[str, int] | None:
    """The nulls of each column of ``names`` the file has, from its footer (null counts per row group).

    ``None`` when a row group's statistics lack a null count (a writer need not write them).
    """
    meta = pq.ParquetFile(path).metadata
    columns = meta.schema.to_arrow_schema().names
    nulls = {n: 0 for n in names if n in columns}
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for i, name in enumerate(columns):
            if name in nulls:
                stats = group.column(i).statistics
                if stats is None or not stats.has_null_count:
                    return None
                nulls[name] += stats.null_count
    return nulls


def _unknown_keys_sql(path: str | Path) -> dict[str, int]:
    con = duckdb.connect()
    try:
        member, target = con.execute(
            f"SELECT count(*) FILTER (WHERE {MEMBER_KEY} IS NULL), "
            f"count(*) FILTER (WHERE {TARGET_KEY} IS NULL AND {Col.target_member_id} IS NOT NULL) "
            f"FROM read_parquet({_q(str(path))})").fetchone()
    finally:
        con.close()
    return {k: int(v) for k, v in (("unknown_member", member), ("unknown_target", target)) if v}


def _utc(value: object) -> pd.Timestamp | None:
    """A time DuckDB returned (UTC session; naive for nanosecond columns) as a UTC Timestamp."""
    if value is None or pd.isna(value):
        return None
    t = pd.Timestamp(value)
    return t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")


def _quiet(con: duckdb.DuckDBPyConnection) -> None:
    try:  # no progress bar in a command's output
        con.execute("SET enable_progress_bar = false")
    except duckdb.Error:  # pragma: no cover - a kernel without ipywidgets refuses the setting
        pass
