"""The checked events copied in (community, time, row in the file) order by a distribution sort.

One comparison sort of every row, DuckDB's ``ORDER BY`` over the whole file, costs more per row the
more rows there are: from 5 M to 50 M events it spilled to disk and took ×14 the time. Here the rows
are first dealt into buckets of about :data:`BUCKET_ROWS` rows each, ranges of (community, day) cut
from a count of the events per community and day, written to the spill folder as Arrow files
(:func:`_deal`); then each bucket, in order, is sorted in memory, its member keys looked up among
its own communities' members, and appended to one Parquet file (:func:`_drain`). Every row costs the
same at any size: each bucket holds about the same number of rows, and a member is looked up among
the members of one community, not all of them.

Ties keep the order of the file: rows reach their bucket in file order and both sorts are stable.
Memory is bounded by a bucket (and the members table), not by the number of events; a bucket holds
at least one community's day, so a single community-day larger than :data:`BUCKET_ROWS` makes a
larger bucket.

The result is the file the SQL copy wrote before (:func:`commlab.data.checks_sql.check_events_sql`):
the same columns, types, values, order and row groups of :data:`ROW_GROUP_ROWS` rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from commlab.data import schema as S
from commlab.data.schema import Col
from commlab.data.stored import MEMBER_KEY, TARGET_KEY

__all__ = ["BUCKET_ROWS", "ROW_GROUP_ROWS", "ordered_copy"]

#: Rows per bucket sorted in memory (about 0.2 GB of Arrow at the generator's columns).
BUCKET_ROWS = 1_000_000
#: Rows per row group of the result (DuckDB's default, which the SQL copy wrote).
ROW_GROUP_ROWS = 122_880
#: Rows read from the file at a time while dealing.
READ_ROWS = 1_000_000
#: At most this many buckets (open spill files): more rows make larger buckets.
MAX_BUCKETS = 512
_DAY_NS = 86_400 * 10**9
_K = "__commlab_k"
_TS = pa.timestamp("ns", tz="UTC")
T = TypeVar("T")


class _Columns:
    """How each output column is held in the spill files and written to the result."""

    def __init__(self, schema: pa.Schema, names: list[str], communities: pa.Array) -> None:
        self.present = [n for n in names if n in schema.names]
        self.communities = communities
        self.vocab = {n: pa.array(S.EVENTS.column(n).vocabulary.codes, type=pa.string())
                      for n in self.present if S.EVENTS.column(n).vocabulary is not None}
        self.spill_fields, self.out_fields = [pa.field(_K, pa.int32(), nullable=False)], []
        for n in names:
            col = S.EVENTS.column(n)
            kind = "vocab" if n in self.vocab else col.dtype
            if n == Col.community_id:
                out = pa.string()
            elif kind == "vocab":
                out = pa.dictionary(pa.int16(), pa.string())
            elif kind == "timestamp":
                out = _TS
            elif kind == "float":
                out = pa.float64()
            elif n in (Col.member_id, Col.target_member_id):
                out = schema.field(n).type if n in schema.names else pa.string()
            else:  # free text: 64-bit offsets, as a bucket of long messages may hold more than 2 GB of it
                out = pa.large_string()
            self.out_fields.append(pa.field(n, out, nullable=not col.required))
            if n in self.present and n != Col.community_id:
                spill = (pa.int16() if kind == "vocab" else pa.int64() if kind == "timestamp" else
                         pa.float64() if kind == "float" else out)
                self.spill_fields.append(pa.field(n, spill))
        self.spill = pa.schema(self.spill_fields)

    def spill_batch(self, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, np.ndarray, np.ndarray]:
        """``batch`` as held in the spill files, with its community ranks and times (ns)."""
        arrays: list[pa.Array] = []
        k = ts = None
        for field in self.spill_fields:
            n = field.name
            if n == _K:
                col = batch.column(Col.community_id)
                ranks = pc.index_in(col.dictionary.cast(pa.string()), value_set=self.communities)
                k = np.asarray(ranks).astype(np.int32)[np.asarray(col.indices)]
                arrays.append(pa.array(k))
                continue
            col = batch.column(n)
            if n in self.vocab:
                codes = pc.index_in(col.dictionary.cast(pa.string()), value_set=self.vocab[n]).cast(pa.int16())
                arrays.append(codes.take(col.indices))
            elif pa.types.is_timestamp(col.type):
                ns = col.cast(_TS).cast(pa.int64())
                if n == Col.ts:
                    ts = np.asarray(ns)
                arrays.append(ns)
            else:
                arrays.append(col.cast(field.type))
        return pa.RecordBatch.from_arrays(arrays, schema=self.spill), k, ts

    def output(self, t: pa.Table, k: np.ndarray, keys: list[pa.Array] | None) -> pa.Table:
        """The sorted bucket ``t`` as written to the result."""
        arrays = []
        for field in self.out_fields:
            n = field.name
            if n == Col.community_id:
                arrays.append(self.communities.take(pa.array(k)))
            elif n not in self.present:
                arrays.append(pa.nulls(t.num_rows, field.type))
            elif n in self.vocab:
                arrays.append(pa.DictionaryArray.from_arrays(t.column(n).combine_chunks(), self.vocab[n]))
            elif field.type == _TS:
                arrays.append(t.column(n).combine_chunks().view(_TS))
            else:
                arrays.append(t.column(n).combine_chunks())
        if keys is not None:
            arrays += keys
        return pa.Table.from_arrays(arrays, schema=self.schema(keys is not None))

    def schema(self, keyed: bool) -> pa.Schema:
        """The result's schema, with the key columns when ``keyed``."""
        keys = [pa.field(MEMBER_KEY, pa.int32()), pa.field(TARGET_KEY, pa.int32())] if keyed else []
        return pa.schema([*self.out_fields, *keys])


def ordered_copy(src: str | Path, out: str | Path, *, names: list[str], communities: pa.Array,
                 keys: pa.Table | None, spill: str | Path, con: duckdb.DuckDBPyConnection,
                 bucket_rows: int | None = None) -> None:
    """Write the checked events at ``src`` to ``out`` in (community rank, ``ts``, row) order.

    Parameters
    ----------
    src : str or Path
        A Parquet file of events the SQL checks found clean (:func:`commlab.data.checks_sql.eligible`).
    out : str or Path
        The result (Parquet).
    names : list of str
        The result's columns, in order: the file's, then the optional ones it lacks (written empty).
    communities : pyarrow.Array
        The distinct community ids, sorted: the rank of an event's community is its position here.
        Every event's community is among them (the checks found no other).
    keys : pyarrow.Table or None
        The member keys (columns ``c``, ``m``; the key of row ``i`` is ``i + 1``: ordered by
        community, then member), written as :data:`~commlab.data.stored.MEMBER_KEY` and
        :data:`~commlab.data.stored.TARGET_KEY` (empty for a member or target not among them); ``None``
        writes no keys.
    spill : str or Path
        A folder for the buckets (created; the caller removes it).
    con : duckdb.DuckDBPyConnection
        The connection that counts the events per community and day.
    bucket_rows : int, optional
        Rows per bucket (default :data:`BUCKET_ROWS`).
    """
    spill = Path(spill)
    spill.mkdir(parents=True, exist_ok=True)
    schema = pq.read_schema(src)
    cols = _Columns(schema, names, communities)
    cuts, dmin, days = _plan(con, src, communities, bucket_rows or BUCKET_ROWS)
    _deal(Path(src), cols, cuts, dmin, days, spill)
    _drain(Path(out), cols, len(cuts), spill, _key_ranges(keys, communities))


def _plan(con: duckdb.DuckDBPyConnection, src: str | Path, communities: pa.Array,
          bucket_rows: int) -> tuple[np.ndarray, int, int]:
    """Where buckets start: sorted (rank × ``days`` + day) cells, each bucket about ``bucket_rows`` rows."""
    path = str(src).replace("'", "''")
    cells = con.sql(
        f"SELECT {Col.community_id} AS c, CAST(floor(epoch_ms(CAST({Col.ts} AS TIMESTAMPTZ)) / 86400000.0) "
        f"AS BIGINT) AS d, count(*) AS n FROM read_parquet('{path}') GROUP BY ALL").to_arrow_table()
    if cells.num_rows == 0:
        return np.zeros(1, dtype=np.int64), 0, 1
    rank = np.asarray(pc.index_in(cells.column("c"), value_set=communities).fill_null(0)).astype(np.int64)
    day, n = np.asarray(cells.column("d")), np.asarray(cells.column("n"))
    dmin, days = int(day.min()), int(day.max() - day.min()) + 1
    cell = rank * days + (day - dmin)
    order = np.argsort(cell)
    cell, n = cell[order], n[order]
    total = int(n.sum())
    size = max(bucket_rows, -(-total // MAX_BUCKETS), 1)
    bucket = (np.cumsum(n) - n) // size  # rows before the cell, in buckets: every cell in one bucket
    return cell[np.r_[True, bucket[1:] != bucket[:-1]]], dmin, days


def _deal(src: Path, cols: _Columns, cuts: np.ndarray, dmin: int, days: int, spill: Path) -> None:
    """Read ``src`` in file order and append each row to its bucket's spill file."""
    dictionary = [Col.community_id, *cols.vocab]
    file = pq.ParquetFile(src, read_dictionary=dictionary)
    writers: dict[int, ipc.RecordBatchStreamWriter] = {}
    small = np.int16 if len(cuts) < 2**15 else np.int32  # NumPy's stable sort is a radix sort on 16 bits
    try:
        for batch in _ahead(file.iter_batches(batch_size=READ_ROWS, columns=cols.present)):
            rows, k, ts = cols.spill_batch(batch)
            day = np.clip(ts // _DAY_NS - dmin, 0, days - 1)
            cell = k.astype(np.int64) * days + day
            bucket = np.clip(np.searchsorted(cuts, cell, side="right") - 1, 0, len(cuts) - 1).astype(small)
            order = np.argsort(bucket, kind="stable")
            rows = rows.take(pa.array(order))
            counts = np.bincount(bucket, minlength=len(cuts))
            start = 0
            for b in np.flatnonzero(counts):
                if b not in writers:
                    writers[b] = ipc.new_stream(str(spill / f"{b}.arrow"), cols.spill)
                writers[b].write_batch(rows.slice(start, counts[b]))
                start += counts[b]
    finally:
        for w in writers.values():
            w.close()


def _key_ranges(keys: pa.Table | None, communities: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray] | None:
    """The member ids of ``keys``, and where each community's start (key − 1) and how many there are."""
    if keys is None:
        return None
    rank = np.asarray(pc.index_in(keys.column("c"), value_set=communities).fill_null(-1))
    known = np.flatnonzero(rank >= 0)
    first, count = np.zeros(len(communities), np.int64), np.zeros(len(communities), np.int64)
    ranks, at, n = np.unique(rank[known], return_index=True, return_counts=True)
    first[ranks], count[ranks] = known[at], n  # each community's members are consecutive rows
    return keys.column("m").combine_chunks(), first, count


def _sorted_bucket(path: Path, cols: _Columns,
                   ranges: tuple[pa.Array, np.ndarray, np.ndarray] | None) -> pa.Table:
    """One bucket read back, sorted by (rank, ts), stable, with its members' keys; its file removed."""
    with pa.OSFile(str(path)) as f:
        t = ipc.open_stream(f).read_all().combine_chunks()  # one chunk per batch dealt: taken faster whole
    path.unlink()
    k = np.asarray(t.column(_K).combine_chunks())
    ts = np.asarray(t.column(Col.ts).combine_chunks())
    k0, t0 = int(k.min()), int(ts.min())
    span = int(ts.max()) - t0 + 1
    if (int(k.max()) - k0 + 1) * span < 2**62:
        order = np.argsort((k - k0).astype(np.int64) * span + (ts - t0), kind="stable")
    else:  # times spanning centuries in a bucket of several communities
        order = np.lexsort((ts, k))
    if np.any(order[1:] < order[:-1]):
        t, k = t.take(pa.array(order)), k[order]
    return cols.output(t, k, None if ranges is None else _keys(t, k, ranges))


def _keys(t: pa.Table, k: np.ndarray, ranges: tuple[pa.Array, np.ndarray, np.ndarray]) -> list[pa.Array]:
    """The member and target keys of the sorted bucket ``t``, looked up among each community's members."""
    ids, first, count = ranges
    runs = np.flatnonzero(np.r_[True, k[1:] != k[:-1], True])
    member = t.column(Col.member_id).combine_chunks()
    target = t.column(Col.target_member_id).combine_chunks() if Col.target_member_id in t.column_names else None
    found: tuple[list[pa.Array], list[pa.Array]] = ([], [])
    for a, b in zip(runs[:-1], runs[1:], strict=True):
        c = k[a]
        members = ids.slice(first[c], count[c])
        base = pa.scalar(int(first[c]) + 1, pa.int32())
        found[0].append(pc.add(pc.index_in(member.slice(a, b - a), value_set=members).cast(pa.int32()), base))
        if target is not None:
            found[1].append(pc.add(pc.index_in(target.slice(a, b - a), value_set=members).cast(pa.int32()), base))
    targets = pa.concat_arrays(found[1]) if target is not None else pa.nulls(len(k), pa.int32())
    return [pa.concat_arrays(found[0]), targets]


def _ahead(items: Iterator[T]) -> Iterator[T]:
    """The items of ``items``, each next one made in a thread while the caller uses this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:  # its end waits for the item in the making
        pending = pool.submit(next, items, None)
        while (item := pending.result()) is not None:
            pending = pool.submit(next, items, None)
            yield item


def _drain(out: Path, cols: _Columns, n: int, spill: Path,
           ranges: tuple[pa.Array, np.ndarray, np.ndarray] | None) -> None:
    """Append the sorted buckets to ``out`` in row groups of :data:`ROW_GROUP_ROWS` (writing in a thread)."""
    # Without the Arrow schema, readers get text, not the coded columns' dictionaries written here. Every
    # column but the time is dictionary-encoded, as DuckDB wrote them: with the ids plain, the metric and
    # network steps took 10-20 % longer at 50 M events; like this, as long as on DuckDB's file (within the
    # noise of six alternating runs). Times gain nothing from a dictionary but the time to build it.
    schema = cols.schema(ranges is not None)
    writer = pq.ParquetWriter(out, schema, store_schema=False, use_dictionary=[n for n in schema.names if n != Col.ts])
    carry: pa.Table | None = None
    pending: Future | None = None
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:  # its end waits for the write in flight
            paths = [p for p in (spill / f"{b}.arrow" for b in range(n)) if p.exists()]
            for table in _ahead(_sorted_bucket(p, cols, ranges) for p in paths):
                if carry is not None:
                    table = pa.concat_tables([carry, table])
                full = table.num_rows // ROW_GROUP_ROWS * ROW_GROUP_ROWS
                carry = table.slice(full) if full < table.num_rows else None
                if full:
                    if pending is not None:
                        pending.result()
                    pending = pool.submit(writer.write_table, table.slice(0, full), row_group_size=ROW_GROUP_ROWS)
            if pending is not None:
                pending.result()
        if carry is not None:
            writer.write_table(carry, row_group_size=ROW_GROUP_ROWS)
    finally:
        writer.close()
