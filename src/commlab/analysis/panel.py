"""Community trajectories: one row per community per period since its own start, without look-ahead.

A *panel* follows each community from its creation: period 1 is its first day, week or month
(``month`` = 30 days, so that every period has the same length and 180 days are six periods),
period *k* covers ``[start + (k-1)·L, start + k·L)``. Each row carries the registered metrics
(:mod:`commlab.analysis.metrics`) of that period: flows over the period, stocks at its end, trailing
windows ending at its end.

No look-ahead
-------------
The metrics of period *k* are computed on a copy of the data cut at the end of period *k*: events
after it are removed, members who joined after it are removed, and a departure after it is
forgotten (``left_at`` empty). Whatever a metric's SQL reads, it cannot see what happened later.
``tests/test_panel.py`` moves every later event and checks that no value of period *k* changes.

The cut copies of all periods are computed in one call of the metric engine: period *k* of a
community becomes a community of its own (an internal id), so the engine's fixed costs are paid once.
Events are copied once per period they precede (Σ_k events up to k, about K/2 copies of each event
for K periods): the panel is meant for community-level data of modest size (the samples, the
Stack Exchange sites, a few hundred groups), not for the 50 M-event benchmark.

Who is in the panel at period *k*
---------------------------------
Only complete periods are in the panel: period *k* of a community is there when it ends by the
community's ``as_of``; a community too young for period *k* has no row at *k*. A community that has
gone quiet leaves the panel: from its first *dormant* period on — no member (staff and bots aside) did
anything but join or leave in the ``dormant_days`` (default 30) days up to the period's end, the
community being at least that old — it has no rows. Dormancy is judged from the data up to the
period's end only, so the panel's rows, too, use no later information. A forecaster scores at *k*
only the communities still in the panel at *k*: those not already dead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from commlab.analysis.compute import compute_metrics
from commlab.analysis.metrics import Tables, as_tables, list_metrics, resolve_as_of
from commlab.data.load import Dataset
from commlab.data.schema import STAFF_ROLES, Col
from commlab.errors import InvalidArgument

__all__ = [
    "PERIODS",
    "PANEL_KEYS",
    "PANEL_INFO",
    "panel_periods",
    "cut_tables",
    "member_activity",
    "dormant_periods",
    "community_panel",
    "panel_metric_columns",
]

#: Period name -> length. ``month`` is 30 days: every period of a panel has the same length.
PERIODS: dict[str, pd.Timedelta] = {
    "day": pd.Timedelta(days=1),
    "week": pd.Timedelta(days=7),
    "month": pd.Timedelta(days=30),
}
#: Columns that identify a row of a panel.
PANEL_KEYS: tuple[str, str] = (Col.community_id, "period")
#: Descriptive columns of a panel that are not metrics (never model features).
PANEL_INFO: tuple[str, ...] = (Col.community_id, "period", "p_start", "p_end")

#: 1 µs: a period ends just before the next one starts.
_EPS = pd.Timedelta(microseconds=1)


def panel_periods(communities: pd.DataFrame, *, as_of: Any, period: str = "month",
                  max_periods: int | None = None) -> pd.DataFrame:
    """The complete periods of each community since its creation.

    Parameters
    ----------
    communities : DataFrame
        ``community_id`` and ``created_at`` (the start of period 1).
    as_of : str, Timestamp, mapping or ``"created+<N>d"``
        End of the observed data per community (see :func:`commlab.analysis.metrics.resolve_as_of`);
        a period is kept when it ends by then.
    period : {"day", "week", "month"}
        Length of a period (``month`` = 30 days).
    max_periods : int, optional
        Keep at most this many periods per community.

    Returns
    -------
    DataFrame
        ``community_id, period, p_start, p_end``: ``period`` is 1, 2, ...; the period covers
        ``p_start <= ts <= p_end`` with ``p_end = p_start + L - 1 µs``.

    Raises
    ------
    ValueError
        If ``period`` is unknown or ``max_periods`` is below 1.
    """
    if period not in PERIODS:
        raise InvalidArgument(f"period must be one of {', '.join(PERIODS)}, got {period!r}")
    if max_periods is not None and max_periods < 1:
        raise InvalidArgument(f"max_periods must be at least 1, got {max_periods}")
    length = PERIODS[period]
    ends = resolve_as_of(as_of, communities)
    created = pd.Series(pd.to_datetime(communities["created_at"], utc=True).to_numpy(), index=ends.index)
    rows = []
    for cid, end in ends.items():
        start = created[cid]
        n = int(np.floor((end - start) / length)) if end > start else 0
        if max_periods is not None:
            n = min(n, max_periods)
        for k in range(1, n + 1):
            rows.append((cid, k, start + (k - 1) * length, start + k * length - _EPS))
    out = pd.DataFrame(rows, columns=[Col.community_id, "period", "p_start", "p_end"])
    out[Col.community_id] = out[Col.community_id].astype("string")
    out["period"] = out["period"].astype("int64")
    for c in ("p_start", "p_end"):
        out[c] = pd.to_datetime(out[c], utc=True)
    return out


def cut_tables(tables: Tables, periods: pd.DataFrame) -> tuple[Tables, pd.DataFrame]:
    """One copy of each community's data per period, cut at the period's end.

    Parameters
    ----------
    tables : Tables
        The canonical tables (events read into pandas).
    periods : DataFrame
        From :func:`panel_periods`.

    Returns
    -------
    tables : Tables
        Communities, members and events whose ``community_id`` is an internal id per
        (community, period): events with ``ts <= p_end`` only, members who joined by ``p_end``
        with any later ``left_at`` emptied.
    keys : DataFrame
        ``cut_id, community_id, period, p_start, p_end``: the internal ids.
    """
    keys = periods.reset_index(drop=True).copy()
    keys.insert(0, "cut_id", pd.array([f"k{i}" for i in range(len(keys))], dtype="string"))
    link = keys[["cut_id", Col.community_id, "p_end"]]

    communities = tables.frame("communities")
    members = tables.frame("members")
    events = tables.frame("events")

    def cut(frame: pd.DataFrame) -> pd.DataFrame:
        f = frame.astype({Col.community_id: "string"}).merge(link, on=Col.community_id, how="inner")
        return f

    c = cut(communities).drop(columns=[Col.community_id, "p_end"]).rename(columns={"cut_id": Col.community_id})
    m = cut(members)
    m = m[pd.to_datetime(m["joined_at"], utc=True) <= m["p_end"]]
    if "left_at" in m.columns:
        left = pd.to_datetime(m["left_at"], utc=True)
        m = m.assign(left_at=left.where(left <= m["p_end"]))
    m = m.drop(columns=[Col.community_id, "p_end"]).rename(columns={"cut_id": Col.community_id})
    e = cut(events)
    e = e[pd.to_datetime(e["ts"], utc=True) <= e["p_end"]]
    e = e.drop(columns=[Col.community_id, "p_end"]).rename(columns={"cut_id": Col.community_id})
    order = lambda f, like: f[[col for col in like.columns if col in f.columns]].reset_index(drop=True)  # noqa: E731
    return Tables(order(c, communities), order(m, members), order(e, events)), keys


def member_activity(tables: Tables) -> pd.DataFrame:
    """The events that count as a member being active: ``community_id, member_id, ts`` (ids as text).

    Any event but ``join`` and ``leave``, by a member whose role is not staff (owner, staff, bot). One
    definition for the panel's dormancy (:func:`dormant_periods`) and the activity rule of the outcomes
    (:func:`commlab.forecast.outcomes.derive_outcomes`).
    """
    events = tables.frame("events")
    members = tables.frame("members")
    staff = members.loc[members["role"].astype(str).isin(STAFF_ROLES), [Col.community_id, Col.member_id]].astype(str)
    ev = events.loc[~events["event_type"].astype(str).isin(("join", "leave")), [Col.community_id, Col.member_id, "ts"]]
    ev = ev.astype({Col.community_id: str, Col.member_id: str})
    ev = ev.merge(staff.assign(_staff=True), on=[Col.community_id, Col.member_id], how="left")
    return ev.loc[ev["_staff"].isna(), [Col.community_id, Col.member_id, "ts"]]


def dormant_periods(tables: Tables, periods: pd.DataFrame, *, days: int = 30) -> pd.Series:
    """Whether each period of ``periods`` is dormant: no member activity in the ``days`` days up to its end.

    Parameters
    ----------
    tables : Tables
        The canonical tables.
    periods : DataFrame
        ``community_id, period, p_start, p_end`` (from :func:`panel_periods`).
    days : int, default 30
        Length of the silence that makes a period dormant; a period ending less than ``days`` after
        the community's creation is never dormant.

    Returns
    -------
    Series of bool
        Aligned with ``periods``. Activity is any event but ``join`` and ``leave`` by a member whose
        role is not staff (owner, staff, bot); only events up to ``p_end`` are read.
    """
    ev = member_activity(tables)
    times = {cid: np.sort(pd.to_datetime(g["ts"], utc=True).to_numpy(dtype="datetime64[ns]"))
             for cid, g in ev.groupby(Col.community_id)}
    communities = tables.frame("communities")
    created = dict(zip(communities[Col.community_id].astype(str),
                       pd.to_datetime(communities["created_at"], utc=True), strict=True))
    window = pd.Timedelta(days=days)
    out = []
    for cid, end in zip(periods[Col.community_id].astype(str), periods["p_end"], strict=True):
        if end - created[cid] < window:
            out.append(False)
            continue
        t = times.get(cid)
        lo = (end - window).tz_convert("UTC").tz_localize(None).to_datetime64()
        hi = end.tz_convert("UTC").tz_localize(None).to_datetime64()
        out.append(t is None or not bool(((t > lo) & (t <= hi)).any()))
    return pd.Series(out, index=periods.index, dtype=bool)


def community_panel(
    data: Dataset | Tables | Mapping[str, Any],
    *,
    as_of: Any,
    period: str = "month",
    metrics: Iterable[str] | None = None,
    max_periods: int | None = None,
    dormant_days: int | None = 30,
) -> pd.DataFrame:
    """The trajectory of every community: its metrics per period since its creation, without look-ahead.

    Parameters
    ----------
    data : Dataset, Tables or mapping
        The canonical tables.
    as_of : str, Timestamp, mapping or ``"created+<N>d"``
        End of the observed data (explicit, as every analysis in the kit); only periods that end
        by it are in the panel. ``"created+180d"`` gives each community its own end (the Stack
        Exchange sites).
    period : {"day", "week", "month"}
        Length of a period (``month`` = 30 days).
    metrics : iterable of str, optional
        Registered metric ids (default: all, :func:`commlab.analysis.metrics.list_metrics`).
    max_periods : int, optional
        At most this many periods per community.
    dormant_days : int or None, default 30
        A community leaves the panel at its first period with no member activity in this many days
        up to the period's end (see the module docstring); ``None`` keeps every complete period.

    Returns
    -------
    DataFrame
        One row per community and complete period while it is not dormant: ``community_id, period`` (1 = the first),
        ``p_start, p_end`` (UTC), then one float column per metric id, computed only from the
        data up to ``p_end`` (see the module docstring). Sorted by community and period.

    Raises
    ------
    KeyError
        If a metric id is unknown.
    ValueError
        If ``period`` or ``as_of`` is invalid.
    """
    tables = as_tables(data)
    ids = [m.id for m in list_metrics()] if metrics is None else list(metrics)
    periods = panel_periods(tables.frame("communities"), as_of=as_of, period=period, max_periods=max_periods)
    if dormant_days is not None and not periods.empty:
        dormant = dormant_periods(tables, periods, days=dormant_days)
        gone = dormant.groupby(periods[Col.community_id]).cummax()  # from the first dormant period on
        periods = periods[~gone].reset_index(drop=True)
    if periods.empty:
        out = periods.copy()
        for mid in ids:
            out[mid] = pd.Series(dtype="float64")
        return out
    cut, keys = cut_tables(tables, periods)
    ends = dict(zip(keys["cut_id"], keys["p_end"], strict=True))
    starts = dict(zip(keys["cut_id"], keys["p_start"], strict=True))
    tidy = compute_metrics(cut, as_of=ends, window=None, metrics=ids, start=starts)
    values = tidy.pivot_table(index=Col.community_id, columns="metric_id", values="value", aggfunc="first",
                              dropna=False)
    values = values.reindex(columns=ids)
    values.columns.name = None
    out = keys.merge(values, left_on="cut_id", right_index=True, how="left").drop(columns=["cut_id"])
    out[ids] = out[ids].astype("float64")
    return out.sort_values([Col.community_id, "period"]).reset_index(drop=True)


def panel_metric_columns(panel: pd.DataFrame) -> list[str]:
    """The metric columns of a panel: every numeric column that is not a key or period bound.

    A panel computed elsewhere may carry any numeric columns; non-numeric columns (labels, notes)
    are not metrics.
    """
    return [c for c in panel.columns
            if c not in PANEL_INFO and pd.api.types.is_numeric_dtype(panel[c])]
