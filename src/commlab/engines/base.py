"""What every engine shares: sources, the canonical typed views, the as-of instant, tidy output.

An engine runs the *one* definition of each member feature
(:func:`commlab.analysis.features.features_sql`) and each community metric
(:mod:`commlab.analysis.metrics` registry) over the three canonical tables, wherever they are.
A table source is one of

* a pandas DataFrame (registered in the engine, never copied to disk);
* a path, glob or list of paths to Parquet (``.parquet``) or CSV (``.csv``, ``.csv.gz``) files,
  local or on object storage (``s3://...``), read by the engine itself (DuckDB
  ``read_parquet``/``read_csv``, Spark ``spark.read``), never loaded whole into pandas;
* a :class:`~commlab.data.stored.StoredEvents` (the validated events of a data set read back
  from the data cache), read in place the same way, restricted to its communities.

Because real exports (and the large benchmark data) often lack optional columns, the engine
reads each source through a *canonical view*: every column of :mod:`commlab.data.schema`, cast
to its canonical type, with ``NULL`` for optional columns the source does not have.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from commlab.analysis.features_sql import tidy_features
from commlab.analysis.metrics import tidy_metrics
from commlab.data import schema as S
from commlab.data.stored import StoredEvents
from commlab.errors import InvalidArgument

__all__ = [
    "Source",
    "SQL_TYPES",
    "source_paths",
    "source_format",
    "canonical_select",
    "tidy_features",
    "tidy_metrics",
]

#: A table source: a DataFrame, Parquet/CSV path(s)/glob(s)/URL(s), or stored events.
Source = pd.DataFrame | StoredEvents | str | Path | Sequence[str | Path]

#: Canonical column type -> SQL type (DuckDB spelling; sqlglot maps it for other engines).
SQL_TYPES: dict[str, str] = {"string": "VARCHAR", "category": "VARCHAR", "timestamp": "TIMESTAMPTZ",
                             "float": "DOUBLE"}


def source_paths(src: str | Path | Sequence[str | Path]) -> list[str]:
    """The path(s) of a file source as strings (a single path becomes a one-item list)."""
    if isinstance(src, str | Path):
        return [str(src)]
    return [str(p) for p in src]


def source_format(paths: Iterable[str]) -> str:
    """``"parquet"`` or ``"csv"`` from the file name(s).

    Raises
    ------
    ValueError
        If the paths mix formats or a name ends in neither ``.parquet`` nor ``.csv``/``.csv.gz``.
    """
    kinds = set()
    for p in paths:
        low = p.lower().rstrip("/")
        if low.endswith((".parquet", ".parq", ".pq")) or low.endswith("*"):
            kinds.add("parquet")
        elif low.endswith((".csv", ".csv.gz", ".tsv")):
            kinds.add("csv")
        else:
            raise InvalidArgument(f"cannot tell the format of {p!r}: name it *.parquet, *.csv or *.csv.gz")
    if len(kinds) != 1:
        raise InvalidArgument(f"one table must be in one format, got {sorted(kinds)}")
    return kinds.pop()


def canonical_select(table: S.Table, relation: str, present: Iterable[str], keep: Iterable[str] = ()) -> str:
    """``SELECT`` of every column of ``table`` from ``relation``, typed, NULL where absent.

    Parameters
    ----------
    table : Table
        A canonical table of :mod:`commlab.data.schema`.
    relation : str
        The SQL relation to read (a view name or a table function call).
    present : iterable of str
        Columns the relation has.
    keep : iterable of str, optional
        Further items of the select list, after the table's columns: SQL over the relation's columns (e.g.
        ``'"member_key"'``, the member keys stored with the events, :data:`commlab.data.stored.MEMBER_KEY`).

    Raises
    ------
    ValueError
        If a required column is missing.
    """
    have = set(present)
    missing = [c for c in table.required if c not in have]
    if missing:
        raise InvalidArgument(f"{table.name}: required column(s) missing from the source: {', '.join(missing)}")
    cols = []
    for c in table.columns:
        typ = SQL_TYPES[c.dtype]
        expr = f'CAST("{c.name}" AS {typ})' if c.name in have else f"CAST(NULL AS {typ})"
        cols.append(f'{expr} AS "{c.name}"')
    cols += list(keep)
    return f"SELECT {', '.join(cols)} FROM {relation}"
