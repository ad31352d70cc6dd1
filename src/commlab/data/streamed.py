"""Validating a large event file chunk by chunk into a sorted Parquet file, never whole in pandas.

:func:`commlab.data.load.load_dataset` reads an event log of tens of millions of rows this way
(50 M events as one pandas table reached 8.3 GB while being ordered). The file is read
``chunk_rows`` rows at a time (:func:`commlab.data.io.iter_raw_chunks`); each chunk is coerced
and checked exactly as a whole table is (:func:`commlab.data.coerce.check_table` and
:func:`commlab.data.validate.event_cross_problems`, with rows numbered in the file), its
problems merged with the earlier chunks' (:class:`~commlab.data.validate.ProblemLog`), and its
coerced rows appended to a Parquet file. When every chunk is valid, the events are written in
(``community_id``, ``ts``) order, ties in file order, as the in-memory path orders them, by the
distribution sort of the SQL path (:func:`commlab.data.ordered_copy.ordered_copy`, bounded memory),
with the member keys it assigns (a file already in that order too, so that its store is keyed); DuckDB
copies a file in order when no keys are asked for, and sorts one holding columns the schema does not
know. The result is read in place as :class:`~commlab.data.stored.StoredEvents`.

Peak memory depends on ``chunk_rows`` and the members table, not on the number of events.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from commlab.data import schema as S
from commlab.data.cache import CACHE_ENV
from commlab.data.checks_sql import check_events_sql, members_frame, unknown_keys, write_member_keys
from commlab.data.coerce import check_table
from commlab.data.io import iter_raw_chunks
from commlab.data.ordered_copy import ordered_copy
from commlab.data.schema import Col
from commlab.data.stored import KEYS_FILE
from commlab.data.validate import KnownPairs, ProblemLog, event_cross_problems
from commlab.errors import CommlabError, Problem

__all__ = ["CHUNK_ROWS", "SORT_MEMORY", "StreamedEvents", "stream_events"]

logger = logging.getLogger(__name__)

#: Rows per chunk (about 0.3 GB of pandas per chunk at the generator's columns).
CHUNK_ROWS = 1_000_000
#: DuckDB ``memory_limit`` of the final sort (it spills to the work folder beyond it).
SORT_MEMORY = "1GB"
_RANK = "__commlab_rank"
#: The row in the file, written only when the events have a column named like DuckDB's own
#: (``file_row_number``), which is used otherwise.
_ROW = "__commlab_row"


@dataclass
class StreamedEvents:
    """What :func:`stream_events` found.

    Attributes
    ----------
    problems : list of Problem
        Every per-table problem of the events (:func:`~commlab.data.coerce.check_table`), merged
        over the chunks.
    cross_problems : list of Problem
        Every problem against the other tables (:func:`~commlab.data.validate.event_cross_problems`),
        merged over the chunks. The events are valid when both lists are empty.
    path : Path or None
        The validated, ordered events (``None`` when there were problems).
    rows : int
        Rows read.
    encoding : str
        ``"parquet"`` or the CSV's encoding.
    first, last : Timestamp or None
        The first and last event time read (UTC; missing times skipped).
    """

    problems: list[Problem] = field(default_factory=list)
    cross_problems: list[Problem] = field(default_factory=list)
    path: Path | None = None
    rows: int = 0
    encoding: str = ""
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None

    def see_times(self, ts: pd.Series) -> None:
        """Widen :attr:`first` and :attr:`last` to the times ``ts`` (missing ones skipped)."""
        lo, hi = ts.min(), ts.max()
        if not pd.isna(lo):
            self.first = lo if self.first is None else min(self.first, lo)
            self.last = hi if self.last is None else max(self.last, hi)


class _Order:
    """Tracks whether rows arrive in (community rank, time) order across chunks."""

    def __init__(self) -> None:
        self.kept = True
        self._last: tuple[int, int] | None = None

    def see(self, rank: np.ndarray, ts: np.ndarray) -> None:
        if not self.kept or not len(rank):
            return
        if self._last is not None:
            rank = np.concatenate([[self._last[0]], rank])
            ts = np.concatenate([[self._last[1]], ts])
        same = rank[1:] == rank[:-1]
        self.kept = bool(np.all((rank[1:] > rank[:-1]) | (same & (ts[1:] >= ts[:-1]))))
        self._last = (int(rank[-1]), int(ts[-1]))


def stream_events(path: str | Path, *, communities: pd.DataFrame, members: pd.DataFrame, files: dict[str, str],
                  tz: str, work_dir: str | Path, chunk_rows: int = CHUNK_ROWS, write: bool = True,
                  sql: bool = True) -> StreamedEvents:
    """Validate the events at ``path`` chunk by chunk and, when valid, write them ordered to ``work_dir``.

    Parameters
    ----------
    path : str or Path
        The events file (``.parquet``, ``.csv`` or ``.csv.gz``).
    communities, members : DataFrame
        The coerced communities and members (the cross-table checks look events up in them).
    files : dict
        Table name to the file named in problems.
    tz : str
        Zone of naive times.
    work_dir : str or Path
        An existing folder for the intermediate file, DuckDB's spill files and the result
        (``events.parquet``); the caller removes it.
    chunk_rows : int, default :data:`CHUNK_ROWS`
        Rows per chunk.
    write : bool, default True
        Whether to write the events; ``False`` only checks them (the other tables have
        problems already, so the load fails anyway; or only a check was asked for,
        :func:`commlab.data.load.check_dataset`).
    sql : bool, default True
        First check a Parquet file of canonical types with set-based DuckDB SQL
        (:func:`commlab.data.checks_sql.check_events_sql`) and, when it is clean, write it ordered
        without reading it into pandas; the chunks are read only for other files or when the SQL
        checks found a problem (the chunked path then writes the report).

    Returns
    -------
    StreamedEvents

    Raises
    ------
    UnicodeDecodeError, OSError, pyarrow.ArrowException
        If the file cannot be read (the caller reports it as an unreadable file).
    CommlabError
        If the validated events cannot be written to ``work_dir`` (no room left, say).
    """
    work = Path(work_dir)
    if sql:
        got = _checked_in_sql(path, communities, members, work, write)
        if got is not None:
            return got
    chunks, encoding = iter_raw_chunks(path, chunk_rows)
    out = StreamedEvents(encoding=encoding)
    log, cross = ProblemLog(), ProblemLog()
    write = write and Col.community_id in communities.columns
    ranks = pd.Index(sorted(set(communities[Col.community_id].dropna()))) if write else None
    order = _Order()
    part = _PartWriter(work / "part.parquet")
    has_keys = all(c in members.columns for c in (Col.community_id, Col.member_id))
    known = KnownPairs(members[[Col.community_id, Col.member_id]]) if has_keys else None
    try:
        for raw in chunks:
            raw.index = pd.RangeIndex(out.rows, out.rows + len(raw))
            coerced, found = check_table(raw, S.EVENTS, files["events"], tz)
            del raw
            log.add(found)
            cross.add(event_cross_problems(communities, members, coerced, files, known=known))
            out.rows += len(coerced)
            out.see_times(coerced["ts"])
            if log.problems or cross.problems or ranks is None:  # keep reading to find every problem, but stop writing
                part.discard()
                continue
            rank = ranks.get_indexer(coerced[Col.community_id]).astype(np.int32)
            order.see(rank, pd.DatetimeIndex(coerced["ts"]).asi8)
            keys = {_RANK: rank}
            if "file_row_number" in coerced.columns:
                keys[_ROW] = np.arange(out.rows - len(coerced), out.rows, dtype=np.int64)
            part.write(pa.Table.from_pandas(coerced.assign(**keys), preserve_index=False))
        complete = part.started and not part.discarded and part.rows == out.rows
    finally:
        part.close()
        if known is not None:
            known.close()
    out.problems, out.cross_problems = log.problems, cross.problems
    if not complete:
        return out
    out.path = work / "events.parquet"
    try:
        # keyed whether or not the rows are in order already; DuckDB copies them in order without keys
        copy = None if order.kept and not has_keys else _chunked_copy(part.path, ranks, members if has_keys else None)
        _write_ordered(part.path, out.path, work / "spill", copy, sort=not order.kept)
    except Exception as exc:  # noqa: BLE001 - e.g. no room left on the disk
        out.path.with_name(KEYS_FILE).unlink(missing_ok=True)
        raise _storage_error(path, work, exc) from exc
    part.path.unlink()
    return out


def _chunked_copy(part: Path, ranks: pd.Index, members: pd.DataFrame | None) -> Callable[..., None] | None:
    """How the checked chunks at ``part`` are ordered: a ``copy(con, out, spill)`` as the SQL checks give.

    The chunks' rows are dealt and sorted by :func:`commlab.data.ordered_copy.ordered_copy` (ranked by ``ranks``,
    the sorted community ids; ties in file order), and each member and target gets its key as the SQL path's copy
    assigns them (:func:`commlab.data.checks_sql.write_member_keys`, when ``members`` is given). The checks found
    every member and target in the members table, so each has a key; if one has none (ids the members table holds
    in another form), the copy is written again without keys. ``None``, DuckDB's sort without keys, when the file
    holds a column the schema does not know (kept, as a whole load keeps it).
    """
    names = [n for n in pq.read_schema(part).names if n not in (_RANK, _ROW)]
    if not set(names) <= {c.name for c in S.EVENTS.columns}:
        return None
    communities = pa.array(list(ranks), type=pa.string())

    def copy(con: duckdb.DuckDBPyConnection, out: Path, spill: Path) -> None:
        keys = None if members is None else write_member_keys(con, members_frame(members), out.with_name(KEYS_FILE))
        ordered_copy(part, out, names=names, communities=communities, keys=keys, spill=spill, con=con)
        if keys is not None and (unknown := unknown_keys(out)):
            logger.info("events of %s: %s after the keyed copy; written again without keys", part, unknown)
            out.with_name(KEYS_FILE).unlink()
            ordered_copy(part, out, names=names, communities=communities, keys=None, spill=spill, con=con)

    return copy


def _checked_in_sql(path: str | Path, communities: pd.DataFrame, members: pd.DataFrame, work: Path,
                    write: bool) -> StreamedEvents | None:
    """The events checked by :func:`~commlab.data.checks_sql.check_events_sql` and, when clean and ``write``,
    written ordered to ``work``; ``None`` sends the file to the chunked path."""
    try:
        got = check_events_sql(path, communities=communities, members=members, memory_limit=SORT_MEMORY,
                               keys=write)
    except Exception as exc:  # noqa: BLE001 - a file DuckDB cannot read as expected: the chunked path decides
        logger.info("SQL checks of %s failed (%s: %s); checking it in chunks", path, type(exc).__name__, exc)
        return None
    if got is None:
        return None
    out = StreamedEvents(rows=got["rows"], encoding="parquet", first=got["first"], last=got["last"])
    if write:
        out.path = work / "events.parquet"
        try:
            _write_ordered(Path(path), out.path, work / "spill", got["copy"])
        except Exception as exc:  # noqa: BLE001 - e.g. no room left on the disk
            out.path.unlink(missing_ok=True)
            out.path.with_name(KEYS_FILE).unlink(missing_ok=True)
            raise _storage_error(path, work, exc) from exc
        if got["keyed"] and (unknown := unknown_keys(out.path)):
            # the members and targets were looked up by the copy, as it assigned their keys
            logger.info("events of %s: the SQL checks found %s; the chunked path reports them", path, unknown)
            out.path.unlink()
            out.path.with_name(KEYS_FILE).unlink(missing_ok=True)
            return None
    return out


def _storage_error(path: str | Path, work: Path, exc: Exception) -> CommlabError:
    return CommlabError(
        f"could not write the validated events of {path} to {work} ({type(exc).__name__}: {exc}); "
        f"free disk space there, or set {CACHE_ENV} (or TMPDIR without a cache) to a folder with room"
    )


class _PartWriter:
    """Appends Arrow tables to a Parquet file in a background thread, so that writing a chunk
    overlaps with checking the next (one chunk in flight; Arrow releases the GIL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self.started = False  # a table was written (the file exists)
        self.discarded = False
        self._writer: pq.ParquetWriter | None = None
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: Future | None = None

    def write(self, table: pa.Table) -> None:
        """Append ``table`` (after the previous one is written)."""
        self._wait()
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, table.schema)
            self.started = True
        table = table.cast(self._writer.schema)
        self._pending = self._pool.submit(self._writer.write_table, table)
        self.rows += table.num_rows

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            try:
                pending.result()
            except Exception as exc:  # noqa: BLE001 - e.g. no room left on the disk
                raise _storage_error(self.path, self.path.parent, exc) from exc

    def discard(self) -> None:
        """Stop writing and remove the file (a chunk had problems)."""
        if not self.discarded:
            self.close()
            self.path.unlink(missing_ok=True)
            self.discarded = True

    def close(self) -> None:
        """Finish the file (waiting for the chunk in flight)."""
        try:
            self._wait()
        finally:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            self._pool.shutdown()


def _write_ordered(part: Path, out: Path, spill: Path, copy: Callable[..., None] | None = None, *,
                   sort: bool = True) -> None:
    """Copy ``part`` to ``out`` without the rank column, in (rank, ts, row) order when ``sort``.

    ``copy(con, out, spill)``, when given, writes instead, always in that order and with the member keys (the
    distribution sort of :func:`_chunked_copy`, or of the events checked in SQL, copied from the user's file:
    :func:`commlab.data.checks_sql.check_events_sql`), on a connection with the same limits.
    """
    con = duckdb.connect()
    try:
        try:  # no progress bar in a command's or a scheduled run's output (a 50 M sort takes ~30 s)
            con.execute("SET enable_progress_bar = false")
        except duckdb.Error:  # pragma: no cover - a kernel without ipywidgets refuses the setting; no bar there
            pass
        con.execute(f"SET memory_limit = '{SORT_MEMORY}'")
        con.execute(f"SET temp_directory = '{_sql_text(spill)}'")
        con.execute("SET preserve_insertion_order = true")
        if copy is not None:
            copy(con, out, spill)
            return
        own_row = _ROW in pq.read_schema(part).names
        row = _ROW if own_row else "file_row_number"
        rows = f"read_parquet('{_sql_text(part)}'{'' if own_row else ', file_row_number = true'})"
        by = f" ORDER BY {_RANK}, ts, {row}" if sort else ""
        con.execute(f"COPY (SELECT * EXCLUDE ({_RANK}, {row}) FROM {rows}{by}) "
                    f"TO '{_sql_text(out)}' (FORMAT parquet)")
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def _sql_text(p: Path) -> str:
    return str(p).replace("'", "''")
