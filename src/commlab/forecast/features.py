"""Level and trend features of a community's first *k* periods.

For each metric column *m* of a panel and a horizon *k*:

``m__level``
    the value at period *k* (the latest the forecaster may see);
``m__trend``
    the least-squares slope of *m* over periods 1..*k* (per period; from *k* = 2, over the periods
    where *m* is defined, NaN with fewer than two).

Only rows with ``period <= k`` are read, and only communities with a row at period *k* (still in
the panel) get features.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from commlab.analysis.panel import panel_metric_columns
from commlab.data.schema import Col
from commlab.errors import InvalidArgument

__all__ = ["LEVEL", "TREND", "horizon_features", "feature_metric", "is_panel"]

#: Suffixes of the two feature kinds.
LEVEL = "__level"
TREND = "__trend"


def is_panel(frame: object) -> bool:
    """Whether ``frame`` is a panel (a DataFrame with ``community_id`` and ``period``), not a feature matrix."""
    return isinstance(frame, pd.DataFrame) and {Col.community_id, "period"} <= set(frame.columns)


def feature_metric(feature: str) -> str:
    """The metric a feature comes from (``core_share__trend`` -> ``core_share``)."""
    for suffix in (LEVEL, TREND):
        if feature.endswith(suffix):
            return feature[: -len(suffix)]
    return feature


def horizon_features(panel: pd.DataFrame, horizon: int, *, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Features of each community still in the panel at ``horizon``, from its periods 1..``horizon`` only.

    Parameters
    ----------
    panel : DataFrame
        ``community_id, period`` and numeric metric columns (any names).
    horizon : int
        The period *k* the forecast is made at (1 = after the first period).
    metrics : sequence of str, optional
        Metric columns to use (default: every numeric column, see
        :func:`commlab.analysis.panel.panel_metric_columns`).

    Returns
    -------
    DataFrame
        Indexed by ``community_id`` (sorted); columns ``<m>__level`` for every metric and, from
        ``horizon`` 2 on, ``<m>__trend``.

    Raises
    ------
    ValueError
        If ``horizon`` is below 1 or a named metric is not a column.
    """
    if int(horizon) != horizon or horizon < 1:
        raise InvalidArgument(f"horizon must be a whole number from 1, got {horizon!r}")
    horizon = int(horizon)
    cols = panel_metric_columns(panel) if metrics is None else list(metrics)
    missing = [c for c in cols if c not in panel.columns]
    if missing:
        raise InvalidArgument(f"metric column(s) not in the panel: {', '.join(missing)}; the panel has: "
                              f"{', '.join(panel_metric_columns(panel))}")
    p = panel[[Col.community_id, "period", *cols]]
    p = p[p["period"] <= horizon]
    present = p.loc[p["period"] == horizon, Col.community_id].astype(str)
    p = p[p[Col.community_id].astype(str).isin(set(present))].copy()
    p[Col.community_id] = p[Col.community_id].astype(str)
    p = p.sort_values([Col.community_id, "period"])
    ids = sorted(set(present))
    values = p[cols].apply(pd.to_numeric, errors="coerce").astype("float64")
    level = values[p["period"].to_numpy() == horizon].set_axis(p.loc[p["period"] == horizon, Col.community_id])
    level = level.reindex(ids).add_suffix(LEVEL)
    if horizon == 1:
        out = level
    else:
        x = values.to_numpy()
        t = p["period"].to_numpy(dtype="float64")[:, None] * np.ones((1, len(cols)))
        ok = ~np.isnan(x)
        t0, x0 = np.where(ok, t, 0.0), np.where(ok, x, 0.0)
        parts = pd.DataFrame(np.hstack([ok, t0, x0, t0 * x0, t0 * t0]), index=p[Col.community_id].to_numpy())
        sums = parts.groupby(level=0).sum().reindex(ids)
        n_cols = len(cols)
        n, st, sx, stx, stt = (sums.iloc[:, i * n_cols:(i + 1) * n_cols].to_numpy() for i in range(5))
        den = n * stt - st * st
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.where((n >= 2) & (den > 0), (n * stx - st * sx) / np.where(den > 0, den, 1.0), np.nan)
        trend = pd.DataFrame(slope, index=ids, columns=[c + TREND for c in cols])
        out = pd.concat([level, trend], axis=1)
    out.index.name = Col.community_id
    return out
