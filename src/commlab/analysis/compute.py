"""Computing the registered metrics: the analysis facade over the engines.

:mod:`commlab.analysis.metrics` defines the metrics (the registry, the prelude relations, the
periods and the loop every engine runs); :mod:`commlab.engines` runs them. This module sits above
both: :func:`compute_metrics` runs the registry with the DuckDB engine, and :func:`connect` opens a
DuckDB connection holding the prelude relations for the analyses that query them directly
(cohort retention, hypotheses, the interaction network's tables).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import duckdb
import pandas as pd

from commlab.analysis.metrics import (
    Tables,
    _as_table,
    _as_view,
    created_name,
    prelude_statements,
    split_prelude,
    without_inferred,
)
from commlab.data.load import Dataset
from commlab.engines.duck import DuckDBEngine

__all__ = ["compute_metrics", "connect"]


def compute_metrics(
    data: Dataset | Tables | Mapping[str, Any],
    *,
    as_of: Any,
    window: str | None = "month",
    metrics: Iterable[str] | None = None,
    start: Any = None,
    include_inferred: bool = True,
) -> pd.DataFrame:
    """Compute registered metrics per community and period.

    Parameters
    ----------
    data : Dataset, Tables or mapping
        The canonical tables (DataFrames or Parquet paths).
    as_of : str, Timestamp or mapping
        The analysis instant (see :func:`~commlab.analysis.metrics.resolve_as_of`); nothing after it is used.
    window : {"month", "week", None}
        Time dimension (see :func:`~commlab.analysis.metrics.make_periods`).
    metrics : iterable of str, optional
        Metric ids (default: all registered).
    start : str, Timestamp or mapping, optional
        Earliest window start. Default: per community, the later of its creation and its first
        event in the data (so months before the data begin are not reported as empty).
    include_inferred : bool, default True
        Use the reply links inferred for chat logs (:func:`commlab.replies.infer_replies`).
        ``False`` computes on the events as exported
        (:func:`~commlab.analysis.metrics.without_inferred`; reads the events into memory when they
        carry inferred links).

    Returns
    -------
    DataFrame
        Tidy: ``community_id, period, metric_id, value, n`` with one row per community, period and
        metric (NaN where a metric is not defined); ``n`` is the number of members the value is
        computed over, NaN where the metric declares no group size (see the module docstring).

    Raises
    ------
    KeyError
        If a metric id is unknown.
    ValueError
        If ``window`` or ``as_of`` is invalid.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c01", "c04"])
    >>> m = cl.compute_metrics(ds, as_of="2024-06-30T16:00:00Z", window=None, metrics=["members", "buyer_share"])
    >>> m.columns.tolist()
    ['community_id', 'period', 'metric_id', 'value', 'n']
    >>> m.pivot(index="community_id", columns="metric_id", values="value").round(3)
    metric_id     buyer_share  members
    community_id
    c01                 0.000   1239.0
    c04                 0.226   1407.0
    """
    if not include_inferred:
        data = without_inferred(data)
    return DuckDBEngine().compute_metrics(data, as_of=as_of, window=window, metrics=metrics, start=start)



def connect(tables: Tables, periods: pd.DataFrame,
            con: duckdb.DuckDBPyConnection | None = None, *,
            materialize_events: bool = True) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection holding the relations of :mod:`commlab.analysis.metrics`.

    Parameters
    ----------
    tables : Tables
        The sources. They are read through the canonical typed views of
        :class:`commlab.engines.DuckDBEngine` (every schema column, ``NULL`` where an optional
        column is absent), so a source without ``thread_id`` or ``topic`` works.
    periods : DataFrame
        From :func:`~commlab.analysis.metrics.make_periods`.
    con : connection, optional
        Use this connection (e.g. one with memory and spill settings); default: a new in-memory
        connection from ``DuckDBEngine().connect()``.
    materialize_events : bool, default True
        Hold ``ev`` (the events joined to the staff rows) as a table. ``False`` makes it a view,
        for a caller that reads the events once: it then does not write a copy of every event.

    Notes
    -----
    The :data:`~commlab.analysis.metrics.ON_DEMAND` relations other than ``ev`` are views here: a caller that does not
    read them does not pay for them (:meth:`~commlab.analysis.metrics.MetricContext.query` materialises them instead,
    on first use); ``ev`` is a table unless ``materialize_events`` is false.
    """
    eng = DuckDBEngine()
    con = eng.connect() if con is None else con
    views = eng.register_tables(con, communities=tables.communities, members=tables.members,
                                events=tables.events)
    con.register("periods", periods)
    eager, pending = split_prelude(prelude_statements(views))
    for stmt in eager:
        con.execute(stmt)
    # the on-demand tables as views: computed only if a query reads them; ``ev`` a table unless told otherwise
    for stmt in pending.values():
        con.execute(_as_table(stmt) if materialize_events and created_name(stmt) == "ev" else _as_view(stmt))
    return con
