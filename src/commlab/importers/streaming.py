"""Helpers for importers that stream inputs too large for memory.

An importer that streams reads its source in chunks of rows and, for each
chunk, maps, validates and appends the rows to Parquet files, so its peak
memory depends on the chunk size and not on the size of the input. What it
must remember across chunks (which ids exist, who wrote which post) it keeps
in compact integer arrays:

* :class:`IntLookup` — integer keys to a few integer values, sorted arrays
  searched with :func:`numpy.searchsorted` (``4 × (1 + ncols)`` bytes per key
  while everything fits in int32, ``8 × (1 + ncols)`` after, when keys arrive
  in ascending order, as data-dump ids do);
* :class:`MinByKey` — the smallest value seen per key (first appearance of a
  member), 16 bytes per distinct key;
* :class:`ChunkValidator` — the per-table checks of
  :func:`commlab.data.load.load_dataset` applied chunk by chunk, problems
  merged across chunks (row numbers are rows of the whole table);
* :class:`ParquetChunkWriter` — appends each chunk as a row group;
* :class:`Faults` — bad source values (not an integer, unparseable time)
  collected while a file is read, raised as one
  :class:`~commlab.errors.ImportFormatError` naming the file, the
  attribute and the first offending rows.

Output goes into a folder that :func:`commlab.importers.output.atomic_output_dir`
moves into place only when everything succeeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from commlab.data import schema as S
from commlab.data.coerce import check_table
from commlab.data.validate import MAX_ROWS_SHOWN, ProblemLog
from commlab.errors import ImportFormatError, Problem

__all__ = [
    "NONE",
    "IntLookup",
    "MinByKey",
    "ChunkValidator",
    "ParquetChunkWriter",
    "Faults",
    "id_text",
]

#: Marker for a missing integer (no id, deleted owner) in the int64 arrays.
NONE: int = int(np.iinfo(np.int64).min)


_I32_MIN = int(np.iinfo(np.int32).min)  # NONE while the arrays are int32
_I32_MAX = int(np.iinfo(np.int32).max)


def _fits_int32(a: np.ndarray) -> bool:
    return a.size == 0 or bool(((a == NONE) | ((a > _I32_MIN) & (a <= _I32_MAX))).all())


class IntLookup:
    """A map from integer keys to ``ncols`` integer values, compact for keys that arrive in ascending order.

    Keys above every key seen so far are appended to sorted arrays (searched with
    :func:`numpy.searchsorted`). The arrays are int32 while every key and value
    fits (Stack Exchange ids do), and are widened to int64 the first time one does
    not; so they cost ``4 × (1 + ncols)`` bytes per key (``8 × (1 + ncols)`` once
    widened), up to twice that while growing by doubling (pages not yet touched
    are not resident). A key below the largest one seen (out of order) goes to a
    Python dict instead (about 200 bytes each); data dumps are written in id
    order, so that dict stays empty or tiny. Callers see int64 everywhere, with
    :data:`NONE` for missing values.

    Parameters
    ----------
    ncols : int, default 0
        Number of values per key (0: a set of keys).
    """

    def __init__(self, ncols: int = 0) -> None:
        self.ncols = ncols
        self._keys = np.empty(1024, np.int32)
        self._vals = np.empty((1024, ncols), np.int32)
        self._n = 0
        self._extra: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return self._n + len(self._extra)

    def __repr__(self) -> str:
        return (f"IntLookup({len(self)} keys, {self.ncols} value(s) each, {self._keys.dtype}, "
                f"{self.nbytes / 1e6:.1f} MB, {len(self._extra)} out of order)")

    @property
    def nbytes(self) -> int:
        """Bytes held by the sorted arrays (allocated capacity)."""
        return int(self._keys.nbytes + self._vals.nbytes)

    @property
    def out_of_order(self) -> int:
        """Number of keys kept in the fallback dict because they arrived below the largest key."""
        return len(self._extra)

    @property
    def narrow(self) -> bool:
        """True while the arrays are int32."""
        return self._keys.dtype == np.int32

    def _widen(self) -> None:
        vals = self._vals.astype(np.int64)
        vals[self._vals == _I32_MIN] = NONE
        self._keys, self._vals = self._keys.astype(np.int64), vals

    def _grow(self, need: int) -> None:
        cap = len(self._keys)
        if need <= cap:
            return
        cap = max(need, 2 * cap)
        keys = np.empty(cap, self._keys.dtype)
        vals = np.empty((cap, self.ncols), self._vals.dtype)
        keys[: self._n] = self._keys[: self._n]
        vals[: self._n] = self._vals[: self._n]
        self._keys, self._vals = keys, vals

    def add(self, keys: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
        """Add ``keys`` (with ``values``, shape ``(n, ncols)``); the first occurrence of a key wins.

        Returns
        -------
        ndarray of bool
            True where the key was already present (in the lookup or earlier in ``keys``)
            and was therefore not added.
        """
        keys = np.asarray(keys, np.int64)
        if values is None:
            vals = np.zeros((len(keys), self.ncols), np.int64)
        else:
            vals = np.asarray(values, np.int64).reshape(len(keys), self.ncols)
        dup = np.asarray(pd.Index(keys).duplicated(keep="first")) | self.contains(keys)
        k, v = keys[~dup], vals[~dup]
        last = int(self._keys[self._n - 1]) if self._n else NONE
        tail = k > last
        if not tail.all():
            for key, row in zip(k[~tail].tolist(), v[~tail], strict=True):
                self._extra[key] = row.copy()
            k, v = k[tail], v[tail]
        if len(k):
            if self.narrow and not (_fits_int32(k) and _fits_int32(v)):
                self._widen()
            if self.narrow:
                v = np.where(v == NONE, _I32_MIN, v)
            order = np.argsort(k, kind="stable")
            self._grow(self._n + len(k))
            self._keys[self._n: self._n + len(k)] = k[order]
            self._vals[self._n: self._n + len(k)] = v[order]
            self._n += len(k)
        return dup

    def _index(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._n == 0:
            return np.zeros(len(keys), bool), np.zeros(len(keys), np.intp)
        sorted_keys = self._keys[: self._n]
        if self.narrow:  # search with int32 queries: mixing dtypes would copy the whole array per call
            inside = (keys > _I32_MIN) & (keys <= _I32_MAX)
            q = np.where(inside, keys, 0).astype(np.int32)
        else:
            inside, q = np.ones(len(keys), bool), keys
        idx = np.minimum(np.searchsorted(sorted_keys, q), self._n - 1)
        return inside & (sorted_keys[idx] == q), idx

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """True where the key is in the lookup."""
        keys = np.asarray(keys, np.int64)
        found, _ = self._index(keys)
        if self._extra and not found.all():
            extra = self._extra
            for i in np.flatnonzero(~found):
                found[i] = int(keys[i]) in extra
        return found

    def get(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values of ``keys`` as int64: ``(found, values)``; values of keys not found are :data:`NONE`."""
        keys = np.asarray(keys, np.int64)
        found, idx = self._index(keys)
        if self._n:
            raw = self._vals[idx]
            vals = raw.astype(np.int64)
            if self.narrow:
                vals[raw == _I32_MIN] = NONE
        else:
            vals = np.empty((len(keys), self.ncols), np.int64)
        vals[~found] = NONE
        if self._extra and not found.all():
            for i in np.flatnonzero(~found):
                row = self._extra.get(int(keys[i]))
                if row is not None:
                    found[i] = True
                    vals[i] = row
        return found, vals


class MinByKey:
    """The smallest int64 value seen per int64 key (for example the first time a member is seen).

    Chunks are buffered and merged with a group-by once the buffer is as large as
    the merged result (amortised linear time); about 16 bytes per distinct key.
    """

    def __init__(self) -> None:
        self._keys = np.empty(0, np.int64)
        self._vals = np.empty(0, np.int64)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_n = 0

    def add(self, keys: np.ndarray, values: np.ndarray) -> None:
        """Record ``values[i]`` for ``keys[i]``."""
        if len(keys):
            self._pending.append((np.asarray(keys, np.int64).copy(), np.asarray(values, np.int64).copy()))
            self._pending_n += len(keys)
            if self._pending_n > max(1 << 18, len(self._keys)):
                self._merge()

    def _merge(self) -> None:
        if not self._pending:
            return
        keys = np.concatenate([self._keys] + [p[0] for p in self._pending])
        vals = np.concatenate([self._vals] + [p[1] for p in self._pending])
        self._pending, self._pending_n = [], 0
        s = pd.Series(vals).groupby(keys, sort=True).min()
        self._keys, self._vals = s.index.to_numpy(np.int64), s.to_numpy(np.int64)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """Sorted distinct keys and the smallest value of each."""
        self._merge()
        return self._keys, self._vals

    def __len__(self) -> int:
        self._merge()
        return len(self._keys)


def id_text(values: np.ndarray) -> pd.Series:
    """Integer ids as a ``string`` Series (:data:`NONE` becomes missing)."""
    values = np.asarray(values, np.int64)
    out = pd.Series(values.astype(str), dtype="string")
    missing = values == NONE
    if missing.any():
        out[missing] = pd.NA
    return out


class ChunkValidator:
    """The per-table checks of ``load_dataset`` (types, vocabularies, missing values), chunk by chunk.

    Each chunk is coerced and checked with :func:`commlab.data.coerce.check_table`;
    problems of the same column and check are merged across chunks
    (:class:`~commlab.data.validate.ProblemLog`: counts added, the first rows kept), and
    row numbers count rows of the whole table. Uniqueness is only checked within
    a chunk: the importer must guarantee unique keys across chunks itself.

    Parameters
    ----------
    table : commlab.data.schema.Table
        The canonical table.
    file : str
        Name used in problems (``"<source> -> events"``).
    tz : str, default "UTC"
        Zone of naive times.
    """

    def __init__(self, table: S.Table, file: str, tz: str = "UTC") -> None:
        self.table = table
        self.file = file
        self.tz = tz
        self.rows = 0
        self._log = ProblemLog()

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Coerce and check ``frame`` (the next rows of the table); return the coerced rows."""
        frame = frame.set_axis(pd.RangeIndex(self.rows, self.rows + len(frame)), axis=0)
        coerced, found = check_table(frame, self.table, self.file, self.tz)
        self._log.add(found)
        self.rows += len(frame)
        return coerced

    @property
    def problems(self) -> list[Problem]:
        """Every problem found so far."""
        return self._log.problems


class ParquetChunkWriter:
    """Append DataFrame chunks of one table to a Parquet file, one row group per chunk.

    The Arrow schema (with the pandas metadata, so dtypes survive a round trip)
    is taken from the first chunk; every chunk must have the same columns and
    dtypes. Columns must carry explicit dtypes (``string``, ``boolean``,
    ``float64``, ``datetime64[ns, UTC]``), never ``object``.

    Parameters
    ----------
    path : str or Path
        The Parquet file to write.
    template : DataFrame, optional
        An (empty) frame fixing the schema, used when no chunk is written.
    """

    def __init__(self, path: str | Path, template: pd.DataFrame | None = None) -> None:
        self.path = Path(path)
        self.rows = 0
        self._template = template
        self._schema: pa.Schema | None = None
        self._writer: pq.ParquetWriter | None = None

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame`` as one row group."""
        if self._schema is None:
            self._schema = pa.Schema.from_pandas(frame, preserve_index=False)
            self._writer = pq.ParquetWriter(self.path, self._schema)
        table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
        assert self._writer is not None
        self._writer.write_table(table)
        self.rows += len(frame)

    def close(self) -> None:
        """Finish the file (an empty table with the template's schema if nothing was written)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        elif self._schema is None:
            template = self._template if self._template is not None else pd.DataFrame()
            schema = pa.Schema.from_pandas(template, preserve_index=False)
            pq.write_table(schema.empty_table(), self.path)
            self._schema = schema

    def __enter__(self) -> ParquetChunkWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Faults:
    """Bad values met while streaming one source file, raised together at the end of the file.

    Parameters
    ----------
    file : str or Path
        The source file named in the error.
    fix : str
        What to do about bad values (shown once).
    """

    def __init__(self, file: str | Path, fix: str) -> None:
        self.file = file
        self.fix = fix
        self._found: dict[tuple[str, str], list[Any]] = {}

    def add(self, attribute: str, what: str, rows: Sequence[int] | np.ndarray, values: Sequence[Any]) -> None:
        """Record ``len(rows)`` bad values of ``attribute`` (``rows`` numbered from 1 in the file)."""
        if len(rows) == 0:
            return
        entry = self._found.setdefault((attribute, what), [0, []])
        entry[0] += len(rows)
        room = MAX_ROWS_SHOWN - len(entry[1])
        entry[1].extend(zip(list(rows)[:room], list(values)[:room], strict=True))

    def __bool__(self) -> bool:
        return bool(self._found)

    def raise_if_any(self) -> None:
        """Raise one :class:`ImportFormatError` listing every kind of bad value, if any was found.

        Raises
        ------
        ImportFormatError
        """
        if not self._found:
            return
        parts = []
        for (attribute, what), (count, first) in self._found.items():
            shown = ", ".join(f"row element {r}: {v!r}" for r, v in first)
            more = f" (and {count - len(first)} more)" if count > len(first) else ""
            parts.append(f"attribute {attribute}: {count} {what} — {shown}{more}")
        raise ImportFormatError(self.file, "; ".join(parts), self.fix)
