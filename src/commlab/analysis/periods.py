"""Periods and the as-of instant of the metrics: when each community is evaluated.

:func:`resolve_as_of` gives each community its analysis instant, :func:`make_periods` the
evaluation windows (``community_id, period, p_start, p_end``) the metric SQL reads as ``periods``,
and :func:`engine_periods` the same read through an engine's own connection. Part of the
definitions below the engines (moved out of :mod:`commlab.analysis.metrics`, which re-exports
the names).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from commlab.data.schema import Col
from commlab.errors import InvalidArgument
from commlab.instant import as_utc

__all__ = ["ALL_TIME_START", "WINDOWS", "engine_periods", "make_periods", "resolve_as_of"]

#: Start (exclusive) of the period ``"all"`` when no ``start`` is given: before any event a
#: community can have, so its flows count every event up to ``as_of`` (the Unix epoch used before
#: dropped events before 1970 where the naive oracle counted them).
ALL_TIME_START = pd.Timestamp("1000-01-01", tz="UTC")
#: Allowed values of ``window``.
WINDOWS: tuple[str | None, ...] = ("month", "week", None)


def engine_periods(query: Callable[[str], pd.DataFrame], views: Mapping[str, str], *, as_of: Any,
                   window: str | None, start: Any = None) -> pd.DataFrame:
    """The periods an engine evaluates, read through its own connection.

    Parameters
    ----------
    query : callable
        Runs SQL on the engine and returns a DataFrame.
    views : mapping
        Table name -> the engine's canonical relation (``communities``, ``events``).
    as_of, window, start
        As :func:`make_periods`; without ``start`` (and with a window) each community's windows
        begin at its first event, so months before the data begin are not reported as empty.
    """
    communities = query(f"SELECT * FROM {views['communities']}")
    if start is None and window is not None:
        first = query(f"SELECT community_id, min(ts) AS t FROM {views['events']} GROUP BY community_id")
        start = dict(zip(first[Col.community_id].astype(str), pd.to_datetime(first["t"], utc=True), strict=True))
    return make_periods(communities, as_of=as_of, window=window, start=start)


# --------------------------------------------------------------------------- periods


def resolve_as_of(as_of: Any, communities: pd.DataFrame) -> pd.Series:
    """The analysis instant per community, as a Series indexed by ``community_id``.

    Parameters
    ----------
    as_of : str, Timestamp, mapping or Series
        An ISO date/time (naive = UTC) used for every community; or the explicit rule
        ``"created+<N>d"`` (each community's ``created_at`` plus N days, for data sets such
        as the Stack Exchange 180-day windows where communities live in different years);
        or a mapping ``community_id -> instant``.
    communities : DataFrame
        The communities table.

    Raises
    ------
    ValueError
        If ``as_of`` is empty or a community has no instant.
    """
    ids = pd.Index(communities[Col.community_id].astype(str), name=Col.community_id)
    if isinstance(as_of, pd.Series | Mapping):
        s = pd.Series({str(k): as_utc(v) for k, v in dict(as_of).items()})
        missing = sorted(set(ids) - set(s.index))
        if missing:
            raise InvalidArgument(f"as_of has no instant for: {', '.join(missing)}")
        return s.reindex(ids)
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        raise InvalidArgument("as_of is required: pass an explicit date such as '2024-06-30'")
    if isinstance(as_of, str) and as_of.strip().startswith("created+"):
        spec = as_of.strip()[len("created+"):]
        if not spec.endswith("d") or not spec[:-1].isdigit():
            raise InvalidArgument(f"as_of rule {as_of!r} must look like 'created+180d'")
        created = pd.to_datetime(communities["created_at"], utc=True)
        return pd.Series((created + pd.Timedelta(days=int(spec[:-1]))).to_numpy(), index=ids)
    return pd.Series(as_utc(as_of), index=ids)


def make_periods(
    communities: pd.DataFrame,
    *,
    as_of: Any,
    window: str | None = "month",
    start: Any = None,
) -> pd.DataFrame:
    """The evaluation windows per community.

    Parameters
    ----------
    communities : DataFrame
        The communities table (``community_id``, ``created_at``).
    as_of : see :func:`resolve_as_of`
        End of the last window, inclusive.
    window : {"month", "week", None}
        Calendar months or ISO weeks (UTC) from the community's creation to ``as_of``, the
        last one cut at ``as_of``; ``None`` gives one period ``"all"`` covering everything
        up to ``as_of``.
    start : str, Timestamp, mapping or Series, optional
        Earliest instant for windows, for all communities or per ``community_id`` (default:
        the community's ``created_at``); windows never start before ``created_at``.

    Returns
    -------
    DataFrame
        ``community_id, period, p_start, p_end`` (times UTC; flows count ``p_start < ts <= p_end``).

    Raises
    ------
    ValueError
        If ``window`` is not one of :data:`WINDOWS`.
    """
    if window not in WINDOWS:
        raise InvalidArgument(f"window must be one of 'month', 'week' or None, got {window!r}")
    ends = resolve_as_of(as_of, communities)
    created = pd.Series(pd.to_datetime(communities["created_at"], utc=True).to_numpy(), index=ends.index)
    rows: list[tuple[str, str, pd.Timestamp, pd.Timestamp]] = []
    if start is None:
        starts_by: dict[str, pd.Timestamp | None] = dict.fromkeys(ends.index)
    elif isinstance(start, pd.Series | Mapping):
        starts_by = {str(k): (None if pd.isna(v) else as_utc(v, name="start")) for k, v in dict(start).items()}
    else:
        starts_by = dict.fromkeys(ends.index, as_utc(start, name="start"))
    for cid, end in ends.items():
        s0 = starts_by.get(cid)
        if window is None:
            rows.append((cid, "all", ALL_TIME_START if s0 is None else s0 - pd.Timedelta(microseconds=1), end))
            continue
        first = created[cid] if s0 is None else max(created[cid], s0)
        freq = "MS" if window == "month" else "W-MON"
        naive_first = first.tz_convert("UTC").tz_localize(None)
        anchor = naive_first.to_period("M").start_time if window == "month" else (
            naive_first.normalize() - pd.Timedelta(days=naive_first.weekday()))
        starts = pd.date_range(anchor, end.tz_localize(None), freq=freq, tz="UTC")
        if len(starts) == 0 or starts[0] > anchor.tz_localize("UTC"):
            starts = pd.DatetimeIndex([anchor.tz_localize("UTC")]).append(starts)
        for i, s in enumerate(starts):
            nxt = starts[i + 1] if i + 1 < len(starts) else None
            p_end = end if nxt is None or nxt > end else nxt
            if s >= end:
                continue
            label = f"{s:%Y-%m}" if window == "month" else f"{s.isocalendar().year}-W{s.isocalendar().week:02d}"
            # flows are (p_start, p_end]: shift the start by 1 µs back so an event exactly at
            # the window start belongs to it, and the previous window ends just before.
            rows.append((cid, label, s - pd.Timedelta(microseconds=1), p_end - pd.Timedelta(
                microseconds=0 if nxt is None or nxt > end else 1)))
    out = pd.DataFrame(rows, columns=[Col.community_id, "period", "p_start", "p_end"])
    out[Col.community_id] = out[Col.community_id].astype("string")
    out["period"] = out["period"].astype("string")
    for c in ("p_start", "p_end"):
        out[c] = pd.to_datetime(out[c], utc=True).astype("datetime64[us, UTC]")
    return out
