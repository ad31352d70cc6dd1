"""Cohort retention: members grouped by the month (or week) they joined, followed over time.

The matrix answers "of the members who joined in month c, which share was active k months
later?" (DOMAIN.md §4: activity and retention of the first cohort vs later cohorts). It is
DuckDB SQL over the same relations as the metrics (:mod:`commlab.analysis.metrics`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from commlab.analysis.compute import connect
from commlab.analysis.metrics import as_tables, make_periods
from commlab.data.schema import Col
from commlab.errors import InvalidArgument

__all__ = ["cohort_retention", "retention_matrix"]


def cohort_retention(data: Any, *, as_of: Any, freq: str = "month", communities: list[str] | None = None,
                     observed_from: Any = None, engine: Any = None) -> pd.DataFrame:
    """Share of each join cohort active in each later period.

    Parameters
    ----------
    data : Dataset, Tables or mapping
        The canonical tables.
    as_of : str or Timestamp
        Nothing after it is used; the last, partial period ends at ``as_of``.
    freq : {"month", "week"}
        Cohort and period length (calendar months or ISO weeks, UTC).
    communities : list of str, optional
        Restrict to these communities.
    observed_from : str or Timestamp, optional
        Members who joined before this instant are left out (their first periods were not observed).
        Default: per community, one day before its first event in the data.
    engine : DuckDBEngine, optional
        Whose connection settings (``memory_limit``, ``threads``, ``temp_directory``) the query runs with;
        default: DuckDB's own.

    Returns
    -------
    DataFrame
        Tidy: ``community_id, cohort, offset, cohort_size, active, share`` where ``offset`` is the
        number of periods since joining (0 = the joining period) and ``share = active / cohort_size``.
        Only non-staff members count; activity is any event except join/leave. Members who joined
        before ``observed_from`` are left out; every observed offset up to ``as_of`` has a row
        (0 when nobody was active).

    Raises
    ------
    ValueError
        If ``freq`` is not "month" or "week".
    """
    if freq not in ("month", "week"):
        raise InvalidArgument(f"freq must be 'month' or 'week', got {freq!r}")
    t = as_tables(data)
    comm = t.frame("communities")
    if communities:
        comm = comm[comm[Col.community_id].isin(communities)]
    periods = make_periods(comm, as_of=as_of, window=None)
    con = connect(t, periods, None if engine is None else engine.connect(),
                  materialize_events=False)  # the activity is read once, below
    unit = "month" if freq == "month" else "week"
    since = "f.first_ts - INTERVAL '1 day'"
    if observed_from is not None:
        since = f"TIMESTAMPTZ '{pd.Timestamp(observed_from).isoformat()}'"
    diff = ("(year(e.bucket) - year(m.cohort)) * 12 + month(e.bucket) - month(m.cohort)" if freq == "month"
            else "CAST(date_diff('day', m.cohort, e.bucket) / 7 AS BIGINT)")
    try:
        return con.execute(f"""
WITH ea AS MATERIALIZED (
  -- one pass over the activity: per member and period bucket, its first instant and staff flag
  SELECT a.community_id, a.member_id, date_trunc('{unit}', {_utc_date('a.ts')}) AS bucket, min(a.ts) AS min_ts,
         bool_or(a.is_staff) AS is_staff
  FROM act a JOIN periods p ON p.community_id = a.community_id WHERE a.ts <= p.p_end GROUP BY ALL),
first AS (SELECT community_id, min(min_ts) AS first_ts FROM ea GROUP BY community_id),
m AS (
  SELECT r.community_id, r.member_id, date_trunc('{unit}', {_utc_date('r.joined_at')}) AS cohort
  FROM roles r JOIN periods p ON p.community_id = r.community_id
  JOIN first f ON f.community_id = r.community_id
  WHERE NOT r.is_staff AND r.joined_at <= p.p_end AND r.joined_at >= {since}),
sizes AS (SELECT community_id, cohort, count(*) AS cohort_size FROM m GROUP BY ALL),
e AS (SELECT community_id, member_id, bucket FROM ea WHERE NOT is_staff),
x AS (
  SELECT m.community_id, m.cohort, {diff} AS "offset", count(DISTINCT m.member_id) AS active
  FROM m JOIN e ON e.community_id = m.community_id AND e.member_id = m.member_id AND e.bucket >= m.cohort
  GROUP BY ALL),
bounds AS (
  SELECT p.community_id, date_trunc('{unit}', {_utc_date('p.p_end')}) AS last
  FROM periods p WHERE p.community_id IN (SELECT community_id FROM first)),
grid AS (
  SELECT s.community_id, s.cohort, s.cohort_size, o."offset"
  FROM sizes s JOIN bounds b ON b.community_id = s.community_id,
  LATERAL (SELECT unnest(range(0, {diff.replace("e.bucket", "b.last").replace("m.cohort", "s.cohort")} + 1))
           AS "offset") o)
SELECT g.community_id, strftime(g.cohort, '{"%Y-%m" if freq == "month" else "%G-W%V"}') AS cohort,
       g."offset", g.cohort_size, coalesce(x.active, 0) AS active,
       coalesce(x.active, 0)::DOUBLE / g.cohort_size AS share
FROM grid g LEFT JOIN x ON x.community_id = g.community_id AND x.cohort = g.cohort AND x."offset" = g."offset"
ORDER BY 1, 2, 3
""").df()
    finally:
        con.close()


def _utc_date(ts: str) -> str:
    """SQL: the UTC calendar day of the instant ``ts`` (a ``TIMESTAMPTZ``) as a ``DATE``, by integer arithmetic.

    ``date_trunc`` of a ``TIMESTAMPTZ`` goes through the time zone's calendar for every value; the day counted
    from the epoch (floored: instants before 1970 too) and truncated as a ``DATE`` gives the same UTC month or
    ISO week at a fraction of the cost (the cohort query reads every activity event).
    """
    us = f"epoch_us({ts})"
    return (f"(DATE '1970-01-01' + CAST(({us} - CASE WHEN {us} < 0 THEN 86399999999 ELSE 0 END) // 86400000000 "
            "AS INTEGER))")


def retention_matrix(cohorts: pd.DataFrame, community_id: str, *, min_size: int = 5) -> pd.DataFrame:
    """Cohort × offset matrix of shares for one community (cohorts smaller than ``min_size`` dropped).

    The index labels carry the cohort size (``2024-03 (n=41)``) so a heatmap shows it.
    """
    c = cohorts[(cohorts[Col.community_id] == community_id) & (cohorts["cohort_size"] >= min_size)]
    if c.empty:
        return pd.DataFrame()
    m = c.pivot_table(index=["cohort", "cohort_size"], columns="offset", values="share")
    m.index = [f"{a} (n={b})" for a, b in m.index]
    m.columns = [int(x) for x in m.columns]
    return m
