"""Validated events kept in a Parquet file and read only where they are needed.

A large event log (tens of millions of rows) costs gigabytes as a pandas DataFrame. Once a data
set has been validated and stored (:mod:`commlab.data.cache`), a :class:`~commlab.data.dataset.Dataset`
read back from the store holds its events as a :class:`StoredEvents`: the engines
(:mod:`commlab.engines`) and every analysis that goes through them read the Parquet file in
place (``read_parquet`` in DuckDB, ``spark.read.parquet``), and only code that asks for
``Dataset.events`` as a DataFrame reads it into pandas, once.

Examples
--------
>>> ev = StoredEvents("cache/0f3c/events.parquet")                  # doctest: +SKIP
>>> ev.restrict(["c01", "c02"]).stats()                             # doctest: +SKIP
(120345, Timestamp('2023-07-01 ...', tz='UTC'), Timestamp('2024-06-30 ...', tz='UTC'))
"""

from __future__ import annotations

import shutil
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from commlab.data import schema as S
from commlab.data.schema import Col

__all__ = ["KEYS_FILE", "MEMBER_KEY", "TARGET_KEY", "StoredEvents", "TemporaryFolder"]

#: The integer key of an event's member, stored with the events when the import assigned keys
#: (:func:`commlab.data.checks_sql.check_events_sql`): the rank of (community, member) among the
#: members table's, as in :data:`KEYS_FILE`.
MEMBER_KEY = "member_key"
#: The key of an event's target (NULL without a target), from the same keys.
TARGET_KEY = "target_key"
#: The keys (``community_id``, ``member_id``, ``member_key``), a Parquet file beside the keyed events.
KEYS_FILE = "member_keys.parquet"


def _canonical_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the event columns in the dtypes loading gives them (``string``, UTC nanoseconds, ``float64``).

    A file written by DuckDB (:mod:`commlab.data.streamed`) carries no pandas metadata, so its
    text columns read back as ``str`` rather than ``string``.
    """
    dtypes = {"timestamp": "datetime64[ns, UTC]", "float": "float64"}
    for col in S.EVENTS.columns:
        want = dtypes.get(col.dtype, "string")
        if col.name in frame.columns and str(frame[col.name].dtype) != want:
            frame[col.name] = frame[col.name].astype(want)
    return frame


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


class TemporaryFolder:
    """A folder removed once nothing refers to this object any more (or when Python exits).

    The stored events of a data set loaded without a data cache live in such a folder; every
    :class:`StoredEvents` made from them (restricted to some communities, in a subset of the data
    set) refers to it, so the file stays while any of them is in use and goes with the last one,
    instead of at the end of a long JupyterLab session.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)

    def __repr__(self) -> str:
        return f"TemporaryFolder({str(self.path)!r})"


@dataclass(frozen=True)
class StoredEvents:
    """Canonical, validated events in one Parquet file, optionally restricted to some communities.

    Parameters
    ----------
    path : str or Path
        A Parquet file with the canonical event columns (as written by
        :func:`commlab.data.cache.write_cached`: times UTC, sorted by community and time).
    communities : tuple of str, optional
        Only the events of these communities; ``None``: every event of the file.
    owner : TemporaryFolder, optional
        The temporary folder holding the file, kept as long as these events (or any restricted
        from them) are referred to; ``None`` for a file that stays (a data cache entry).
    cache : Path, optional
        The data cache folder (:mod:`commlab.data.cache`) whose entry holds the file; the engines
        keep the tables they compute from these events beside it (:mod:`commlab.engines.runcache`).
        ``None``: a file outside any cache.
    """

    path: Path
    communities: tuple[str, ...] | None = None
    owner: TemporaryFolder | None = field(default=None, compare=False, repr=False)
    cache: Path | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))
        if self.cache is not None:
            object.__setattr__(self, "cache", Path(self.cache))
        if self.communities is not None:
            object.__setattr__(self, "communities", tuple(sorted({str(c) for c in self.communities})))

    def restrict(self, communities: Iterable[str] | None) -> StoredEvents:
        """The events of ``communities`` only (within the current restriction); ``None``: unchanged."""
        if communities is None:
            return self
        wanted = {str(c) for c in communities}
        if self.communities is not None:
            wanted &= set(self.communities)
        return StoredEvents(self.path, tuple(wanted), self.owner, self.cache)

    def where(self) -> str | None:
        """The SQL condition of the restriction (``community_id IN (...)``), or ``None``."""
        if self.communities is None:
            return None
        if not self.communities:
            return "FALSE"
        return "community_id IN (" + ", ".join(_quote(c) for c in self.communities) + ")"

    def sql(self) -> str:
        """A DuckDB relation reading the events in place."""
        rel = f"read_parquet({_quote(str(self.path))})"
        cond = self.where()
        return rel if cond is None else f"(SELECT * FROM {rel} WHERE {cond})"

    @property
    def keys(self) -> Path | None:
        """The member keys of these events (:data:`KEYS_FILE`), or ``None`` when the import assigned none.

        The events then have the columns :data:`MEMBER_KEY` and :data:`TARGET_KEY`, every member and
        target with a key of this file (the import checks it), which
        :func:`commlab.analysis.features_sql.features_sql` groups and joins on instead of the ids.
        """
        import pyarrow.parquet as pq

        path = self.path.with_name(KEYS_FILE)
        if not path.is_file():
            return None
        names = set(pq.read_schema(self.path).names)
        return path if {MEMBER_KEY, TARGET_KEY} <= names else None

    def read(self, communities: Iterable[str] | None = None) -> pd.DataFrame:
        """The events as a DataFrame (only those of ``communities`` when given), in file order.

        The member keys stored with them (:attr:`keys`) are left out: the columns are the file's own.
        """
        import pyarrow.parquet as pq

        ev = self.restrict(communities)
        filters = None if ev.communities is None else [(Col.community_id, "in", list(ev.communities))]
        if ev.communities == ():  # pyarrow refuses an empty "in": a condition no row meets, same columns
            filters = [(Col.community_id, "==", "_"), (Col.community_id, "!=", "_")]
        columns = None
        if self.keys is not None:
            columns = [c for c in pq.read_schema(ev.path).names if c not in (MEMBER_KEY, TARGET_KEY)]
        return _canonical_dtypes(pd.read_parquet(ev.path, columns=columns, filters=filters).reset_index(drop=True))

    def counts(self) -> pd.Series:
        """Events per community, indexed by ``community_id`` (named ``events``)."""
        import duckdb

        con = duckdb.connect()
        try:
            rows = con.execute(
                f"SELECT CAST(community_id AS VARCHAR), count(*) FROM {self.sql()} GROUP BY 1 ORDER BY 1"
            ).fetchall()
        finally:
            con.close()
        return pd.Series({c: int(n) for c, n in rows}, name="events", dtype="int64")

    def stats(self) -> tuple[int, pd.Timestamp | None, pd.Timestamp | None]:
        """Number of events and the first and last event time (UTC), read by DuckDB without pandas."""
        import duckdb

        con = duckdb.connect()
        try:
            n, lo, hi = con.execute(
                f"SELECT count(*), epoch_us(CAST(min(ts) AS TIMESTAMPTZ)), epoch_us(CAST(max(ts) AS TIMESTAMPTZ)) "
                f"FROM {self.sql()}"
            ).fetchone()
        finally:
            con.close()
        as_ts = lambda us: None if us is None else pd.Timestamp(int(us), unit="us", tz="UTC")  # noqa: E731
        return int(n), as_ts(lo), as_ts(hi)
