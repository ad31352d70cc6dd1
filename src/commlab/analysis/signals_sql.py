"""The facts of notebook 05 that read events, computed by DuckDB where the events are.

:func:`commlab.recommend.build_facts` needs, besides the community metrics, the operational signals
(:func:`commlab.analysis.signals.operational_facts`), the Orbit "one step from the next level" count
(:func:`commlab.analysis.orbit.orbit_table`) and the per-platform activity
(:func:`commlab.analysis.practices.platform_activity`). Those functions take an event DataFrame; at
tens of millions of events that frame is what made notebook 05 hold gigabytes. Here every part that
reads events is a DuckDB query over the engine's canonical view of the events (a stored Parquet file,
or a DataFrame scanned in place), returning rows per community, per channel or per member — never
per event; the arithmetic on those rows is the pandas code of the original functions, so the facts
are the same (tested against them).

Each function takes ``ends``: the analysis instant per community (``community_id`` -> UTC
Timestamp, :func:`commlab.analysis.periods.resolve_as_of`), so communities with different instants
are evaluated in one query.

The per-member facts of four signals (Orbit love, quiet top members, first-cohort retention, bulk-invited
zombies) come from one read of the events, :meth:`EventFacts.member_pass`, a table of one row per member.

A relation over the events that a query reads twice is written ``AS NOT MATERIALIZED``: DuckDB
materialises such a CTE by default, which held a copy of the event log in memory (every non-staff
event, every content event: notebook 05 at 50 M events peaked at 4 GB); it is read twice instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pandas as pd

from commlab.analysis.orbit import DEFAULT_WEIGHTS, LEVEL_THRESHOLDS, orbit_from_love
from commlab.analysis.signals import BULK_INVITES, PRECONDITION_DAYS, REPLYING_ROLES
from commlab.data import schema as S
from commlab.data.schema import STAFF_ROLES, Col
from commlab.engines.base import Source
from commlab.engines.duck import DuckDBEngine

__all__ = ["EventFacts", "event_facts", "query_rows"]

_DAY_US = 86_400_000_000
_KEYS = [Col.community_id, Col.member_id]


def _sql_list(values: Any) -> str:
    return "(" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) + ")"


def query_rows(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """Run ``sql`` and return its rows (per community, channel or member: never per event).

    The one place the queries of this module come back to pandas (a test spies on it).
    """
    return con.execute(sql).df()


def _as_times(us: pd.Series) -> pd.Series:
    """Epoch microseconds as UTC times of the unit the event frames have (ns), ``NaT`` for missing."""
    out = pd.to_datetime(pd.to_numeric(us, errors="coerce").astype("Int64"), unit="us", utc=True)
    return out.astype("datetime64[ns, UTC]")


class EventFacts:
    """A DuckDB connection over the events, members and communities, with each community's instant.

    Relations: ``c_events``, ``c_members``, ``c_communities`` (the engine's canonical views), ``lim``
    (``c``, ``n``: the instant in epoch microseconds), ``staff`` (``c``, ``m``: owner and staff) and
    ``e`` (the events up to each community's instant: ``c, m, t`` (epoch µs), ``et``, ``channel``,
    ``tgt``, ``category``, ``platform``, ``n``, ``s`` (by staff)).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, members: pd.DataFrame, communities: pd.DataFrame,
                 ends: pd.Series) -> None:
        self.con, self.members, self.communities = con, members, communities
        self._passes: dict[tuple[Any, ...], str] = {}
        self._retained: set[str] = set()
        self.ends = pd.Series(ends.to_numpy(), index=pd.Index(ends.index.astype(str), name=Col.community_id))
        lim = pd.DataFrame({"c": self.ends.index.to_numpy(dtype=object),
                            "n": pd.DatetimeIndex(self.ends.to_numpy()).as_unit("us").asi8})
        con.register("lim_frame", lim)
        staff = members.loc[members["role"].isin(STAFF_ROLES), _KEYS].drop_duplicates().astype(str)
        con.register("staff_frame", staff.set_axis(["c", "m"], axis=1))
        con.execute("CREATE TEMP TABLE lim AS SELECT CAST(c AS VARCHAR) AS c, CAST(n AS BIGINT) AS n FROM lim_frame")
        con.execute("CREATE TEMP TABLE staff AS SELECT CAST(c AS VARCHAR) AS c, CAST(m AS VARCHAR) AS m "
                    "FROM staff_frame")
        con.execute("""
CREATE TEMP VIEW e AS
SELECT CAST(ev.community_id AS VARCHAR) AS c, CAST(ev.member_id AS VARCHAR) AS m, epoch_us(ev.ts) AS t,
       CAST(ev.event_type AS VARCHAR) AS et, CAST(ev.channel AS VARCHAR) AS channel,
       CAST(ev.target_member_id AS VARCHAR) AS tgt, CAST(ev.category AS VARCHAR) AS category,
       CAST(ev.platform AS VARCHAR) AS platform, l.n,
       EXISTS (SELECT 1 FROM staff st WHERE st.c = CAST(ev.community_id AS VARCHAR)
               AND st.m = CAST(ev.member_id AS VARCHAR)) AS s
FROM c_events ev JOIN lim l ON l.c = CAST(ev.community_id AS VARCHAR)
WHERE epoch_us(ev.ts) <= l.n""")

    def rows(self, sql: str) -> pd.DataFrame:
        """Rows of ``sql`` (see :func:`query_rows`)."""
        return query_rows(self.con, sql)

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """``frame`` as the relation ``name``."""
        self.con.register(name, frame)

    def ids(self) -> pd.Series:
        return self.communities[Col.community_id]

    # ------------------------------------------------------------------ one pass per member
    def _cohort(self, horizon_days: int, first_days: int) -> pd.DataFrame:
        """The non-staff members joined at least ``2 * horizon_days`` before the instant, ``first`` if in the
        community's first ``first_days``."""
        members, communities = self.members, self.communities
        now = members[Col.community_id].astype(str).map(self.ends)
        old_enough = (members["joined_at"] <= now - pd.Timedelta(days=2 * horizon_days)).to_numpy()
        m = members[~members["role"].isin(STAFF_ROLES).to_numpy() & old_enough]
        m = m.merge(communities[[Col.community_id, "created_at"]], on=Col.community_id)
        return m.assign(first=(m["joined_at"] - m["created_at"]) <= pd.Timedelta(days=first_days))

    def member_pass(self, *, lookback_days: int = 90, horizon_days: int = 30, decay: float = 0.9) -> str:
        """The name of a table of per-member aggregates, from one read of the events (built once per parameters).

        Columns ``c, m``; ``love`` (the Orbit love at ``decay``, NULL without a weighted event), ``content``
        (content events in the ``lookback_days`` up to the instant), ``last`` (the last event other than join or
        leave, epoch µs) and ``retained`` (an event other than join or leave in ``[joined + horizon, joined +
        2 horizon)`` of a cohort member, see :meth:`_cohort`; NULL for every member when the members repeat a key,
        as the join would count a member's events twice: :meth:`first_cohort_gap` then queries the events itself).
        Every member with an event up to the instant has a row, staff included. Four signals read it instead of the
        events each (notebook 05 at 50 M events read the events joined to the instants once per signal).
        """
        key = (int(lookback_days), int(horizon_days), float(decay))
        if key in self._passes:
            return self._passes[key]
        k = self._cohort(int(horizon_days), 0)
        cohort = pd.DataFrame({"c": k[Col.community_id].astype(str).to_numpy(dtype=object),
                               "m": k[Col.member_id].astype(str).to_numpy(dtype=object),
                               "j": pd.DatetimeIndex(k["joined_at"]).as_unit("us").asi8})
        unique = not cohort.duplicated(["c", "m"]).any()
        name = f"member_pass_{len(self._passes)}"
        self.register(f"{name}_cohort", cohort if unique else cohort.iloc[:0])
        self.register("weights_frame", _weights())
        content, hz = _sql_list(S.CONTENT_EVENTS), int(horizon_days)
        self.rows(f"""
CREATE TEMP TABLE {name} AS
SELECT e.c, e.m,
       sum(w.w * pow(CAST({float(decay)!r} AS DOUBLE),
                     floor(CAST(e.n - e.t AS DOUBLE) / 1e6 / 86400.0 / 30.4375))) AS love,
       count(*) FILTER (WHERE e.et IN {content} AND e.t > e.n - {int(lookback_days)} * {_DAY_US}::BIGINT) AS content,
       max(e.t) FILTER (WHERE e.et NOT IN ('join', 'leave')) AS last,
       coalesce(bool_or(e.et NOT IN ('join', 'leave') AND e.t - k.j >= {hz} * {_DAY_US}::BIGINT
                        AND e.t - k.j < {2 * hz} * {_DAY_US}::BIGINT), {"false" if unique else "NULL"}) AS retained
FROM e LEFT JOIN weights_frame w ON CAST(w.et AS VARCHAR) = e.et
LEFT JOIN {name}_cohort k ON CAST(k.c AS VARCHAR) = e.c AND CAST(k.m AS VARCHAR) = e.m
GROUP BY e.c, e.m""")
        self._passes[key] = name
        if unique:
            self._retained.add(name)
        return name

    # ------------------------------------------------------------------ operational signals
    def waits(self) -> pd.Series:
        """``max_days_without_staff_reply`` per community (as :func:`~commlab.analysis.signals.operational_facts`)."""
        content = _sql_list(S.CONTENT_EVENTS)
        got = self.rows(f"""
WITH w AS NOT MATERIALIZED (SELECT c, coalesce(channel, '(main)') AS ch, t, s FROM e WHERE et IN {content}),
ls AS (SELECT c, ch, max(t) FILTER (WHERE s) AS ls FROM w GROUP BY c, ch),
wt AS (SELECT w.c, w.ch, min(w.t) FILTER (WHERE NOT w.s AND (ls.ls IS NULL OR w.t > ls.ls)) AS waiting
       FROM w JOIN ls ON ls.c = w.c AND ls.ch = w.ch GROUP BY w.c, w.ch)
SELECT c AS community_id, min(waiting) AS waiting, count(*) AS channels FROM wt GROUP BY c""")
        ids = self.ids()
        now = got[Col.community_id].map(self.ends)
        days = ((pd.Series(pd.DatetimeIndex(now), index=got.index) - _as_times(got["waiting"])).dt.total_seconds()
                / 86400).fillna(0.0)
        waits = pd.Series(days.to_numpy(), index=got[Col.community_id].astype(str))
        replying = self.members.loc[self.members["role"].isin(REPLYING_ROLES), Col.community_id].astype(str).unique()
        return waits.reindex(ids.astype(str)).fillna(0.0).where(ids.astype(str).isin(replying).to_numpy())

    def quiet_top_members(self, *, top_share: float = 0.05, lookback_days: int = 90,
                          quiet_days: tuple[int, int] = (7, 28)) -> pd.Series:
        """``recently_inactive_top_members`` per community.

        As :func:`~commlab.analysis.signals.recently_inactive_top_members` counts them.
        """
        pm = self.member_pass(lookback_days=lookback_days)
        top = self.rows(f"""
WITH k AS (SELECT p.c, p.m, p.content FROM {pm} p
           WHERE p.content > 0 AND NOT EXISTS (SELECT 1 FROM staff st WHERE st.c = p.c AND st.m = p.m)),
r AS (SELECT *, row_number() OVER (PARTITION BY c ORDER BY content DESC, m) AS rk,
             count(*) OVER (PARTITION BY c) AS sz FROM k),
top AS (SELECT c, m, content FROM r
        WHERE rk <= round_even(greatest(CAST(sz AS DOUBLE) * CAST({float(top_share)!r} AS DOUBLE), 1.0), 0))
SELECT top.c AS community_id, top.m AS member_id, p.last FROM top JOIN {pm} p ON p.c = top.c AND p.m = top.m""")
        now = pd.Series(pd.DatetimeIndex(top[Col.community_id].map(self.ends)), index=top.index)
        quiet = (now - _as_times(top["last"])).dt.total_seconds() / 86400
        lo, hi = quiet_days
        kept = top[(quiet >= lo) & (quiet <= hi)]
        return kept.groupby(Col.community_id).size().reindex(self.ids().astype(str)).fillna(0)

    def first_cohort_gap(self, *, first_days: int = 14, horizon_days: int = 30) -> pd.Series:
        """``first_cohort_retention_gap`` per community.

        As :func:`~commlab.analysis.signals.first_cohort_retention_gap` computes it.
        """
        communities = self.communities
        m = self._cohort(int(horizon_days), int(first_days))
        pm = self.member_pass(horizon_days=horizon_days)
        if pm in self._retained:
            kept = self.rows(f"SELECT c AS community_id, m AS member_id FROM {pm} WHERE retained")
        else:  # the members repeat a key: each of a member's join instants is tried
            self.register("cohort_frame", pd.DataFrame({
                "c": m[Col.community_id].astype(str).to_numpy(dtype=object),
                "m": m[Col.member_id].astype(str).to_numpy(dtype=object),
                "j": pd.DatetimeIndex(m["joined_at"]).as_unit("us").asi8}))
            kept = self.rows(f"""
SELECT DISTINCT e.c AS community_id, e.m AS member_id FROM e
JOIN cohort_frame k ON CAST(k.c AS VARCHAR) = e.c AND CAST(k.m AS VARCHAR) = e.m
WHERE e.et NOT IN ('join', 'leave') AND e.t - k.j >= {int(horizon_days)} * {_DAY_US}::BIGINT
  AND e.t - k.j < {2 * int(horizon_days)} * {_DAY_US}::BIGINT""")
        m = m.assign(community_id=m[Col.community_id].astype(str), member_id=m[Col.member_id].astype(str))
        m = m.merge(kept.astype(str).assign(retained=True), how="left", on=_KEYS)
        m["retained"] = m["retained"].notna()
        g = m.groupby([Col.community_id, "first"])["retained"].agg(["size", "mean"]).unstack("first")
        out = pd.DataFrame(index=communities[Col.community_id].astype(str))
        out["first_retention"] = g.get(("mean", True))
        out["later_retention"] = g.get(("mean", False))
        return out["first_retention"] - out["later_retention"]

    def preconditions(self, *, days: int = PRECONDITION_DAYS) -> pd.DataFrame:
        """The monetization preconditions (:func:`~commlab.analysis.signals.monetization_preconditions`)."""
        interactions = _sql_list(S.INTERACTION_EVENTS)
        roles = self.members[[Col.community_id, Col.member_id, "role"]].astype(str)
        self.register("roles_frame", roles.set_axis(["c", "m", "role"], axis=1))
        win = f"(SELECT * FROM e WHERE t > n - {int(days)} * {_DAY_US}::BIGINT)"
        expert = self._expert_hits(win, interactions)
        counts = self.rows(f"""
WITH w AS NOT MATERIALIZED {win},
d AS NOT MATERIALIZED (SELECT c, m, et, s, CAST(floor(t / {_DAY_US}.0) AS BIGINT) AS d FROM w
                       WHERE et IN ('event', 'event_attend')),
days AS (SELECT c, d FROM d WHERE et = 'event_attend' AND NOT s GROUP BY c, d HAVING count(DISTINCT m) >= 3
         UNION SELECT c, d FROM d WHERE et = 'event'),
g AS (SELECT w.c, count(*) AS k FROM w JOIN roles_frame r ON r.c = w.c AND r.m = w.m AND r.role = 'guest'
      WHERE w.et = 'event' GROUP BY w.c),
n_days AS (SELECT c, count(*) AS k FROM days GROUP BY c),
courses AS (SELECT c, count(*) AS k FROM w
            WHERE et = 'course_complete' OR (et = 'purchase' AND coalesce(category = 'course', false)) GROUP BY c)
SELECT l.c AS community_id, g.k AS guest, n_days.k AS n_days, courses.k AS courses FROM lim l
LEFT JOIN g ON g.c = l.c LEFT JOIN n_days ON n_days.c = l.c LEFT JOIN courses ON courses.c = l.c""")
        ids = self.ids().astype(str)
        top = pd.Series(expert["top"].to_numpy(), index=expert[Col.community_id].astype(str))
        total = pd.Series(expert["total"].to_numpy(), index=expert[Col.community_id].astype(str))
        share = (top.astype("int64") / total.astype("int64")) if len(expert) else pd.Series(dtype=float)
        c = counts.set_index(counts[Col.community_id].astype(str))
        n_courses, n_days = c["courses"].dropna(), c["n_days"].dropna()
        return pd.DataFrame({
            Col.community_id: self.ids().to_numpy(),
            "expert_in_share": share.reindex(ids).to_numpy(dtype=float),
            "guest_hosted_events": c["guest"].reindex(ids).fillna(0).to_numpy(dtype=float),
            "resource_events": (n_courses.reindex(ids).fillna(0).astype(float)
                                + n_days.reindex(ids).fillna(0).astype(float)).to_numpy(dtype=float),
        })

    def _expert_hits(self, win: str, interactions: str) -> pd.DataFrame:
        """Per community: the interactions received by its most interacted-with member (``top``) and by all
        (``total``), bots left out (by target, after counting: the bot test is per target, not per event)."""
        return self.rows(f"""
WITH hits AS (SELECT w.c, w.tgt, count(*) AS k FROM {win} w
              WHERE w.et IN {interactions} AND w.tgt IS NOT NULL AND w.tgt <> w.m GROUP BY w.c, w.tgt)
SELECT h.c AS community_id, max(h.k) AS top, sum(h.k) AS total FROM hits h
WHERE NOT EXISTS (SELECT 1 FROM roles_frame b WHERE b.role = 'bot' AND b.c = h.c AND b.m = h.tgt) GROUP BY h.c""")

    def bulk_zombies(self, *, bulk: int = BULK_INVITES) -> pd.Series:
        """``bulk_invited_zombie_share`` per community (:func:`~commlab.analysis.signals.bulk_invited_zombie_share`)."""
        ids, members = self.ids(), self.members
        if "invited_by" not in members.columns:
            return pd.Series(float("nan"), index=ids.astype(str), dtype=float)
        now = members[Col.community_id].astype(str).map(self.ends)
        m = members[(~members["role"].isin(STAFF_ROLES) & (members["joined_at"] <= now)
                     & (members["left_at"].isna() | (members["left_at"] > now))
                     & members["invited_by"].notna()).to_numpy()]
        m = m.assign(_n=m.groupby([Col.community_id, "invited_by"])[Col.member_id].transform("size"))
        m = m[m["_n"] >= bulk]
        self.register("bulk_frame", pd.DataFrame({"c": m[Col.community_id].astype(str).to_numpy(dtype=object),
                                                  "m": m[Col.member_id].astype(str).to_numpy(dtype=object)}))
        pm = self.member_pass()
        recent = self.rows(f"""
SELECT DISTINCT p.c AS community_id, p.m AS member_id FROM {pm} p
JOIN bulk_frame b ON CAST(b.c AS VARCHAR) = p.c AND CAST(b.m AS VARCHAR) = p.m JOIN lim l ON l.c = p.c
WHERE p.last > l.n - 30 * {_DAY_US}::BIGINT""")
        m = m.assign(community_id=m[Col.community_id].astype(str), member_id=m[Col.member_id].astype(str))
        m = m.merge(recent.astype(str).assign(_r=True), on=_KEYS, how="left")
        now = m[Col.community_id].map(self.ends)
        zombie = ((m["joined_at"] <= now - pd.Timedelta(days=30)) & m["_r"].isna()).astype(float)
        return zombie.groupby(m[Col.community_id]).mean().reindex(ids.astype(str)).astype(float)

    def operational_facts(self) -> pd.DataFrame:
        """As :func:`commlab.analysis.signals.operational_facts`, for every community at its instant."""
        ids = self.ids()
        pre = self.preconditions().set_index(self.ids().astype(str))
        key = ids.astype(str)
        wide = pd.DataFrame({
            "max_days_without_staff_reply": self.waits().to_numpy(),
            "recently_inactive_top_members": self.quiet_top_members().reindex(key).fillna(0).to_numpy(),
            "first_cohort_retention_gap": self.first_cohort_gap().reindex(key).to_numpy(),
            "expert_in_share": pre["expert_in_share"].reindex(key).to_numpy(),
            "guest_hosted_events": pre["guest_hosted_events"].reindex(key).to_numpy(),
            "resource_events": pre["resource_events"].reindex(key).to_numpy(),
            "bulk_invited_zombie_share": self.bulk_zombies().reindex(key).to_numpy(),
        }, index=ids)
        return wide.reset_index().melt(id_vars=Col.community_id, var_name="metric_id", value_name="value")

    # ------------------------------------------------------------------ Orbit
    def near_next_orbit(self, *, decay: float = 0.9, margin: float = 0.1,
                        thresholds: tuple[float, float, float] = LEVEL_THRESHOLDS) -> pd.Series:
        """Non-staff members one step from the next Orbit level, per community (as notebook 05 counts them)."""
        pm = self.member_pass(decay=decay)
        love = self.rows(f"SELECT c AS community_id, m AS member_id, love FROM {pm} WHERE love IS NOT NULL")
        members = self.members
        now = members[Col.community_id].astype(str).map(self.ends)
        m = members[(members["joined_at"] <= now).to_numpy()]
        idx = pd.MultiIndex.from_arrays([m[Col.community_id].astype(str), m[Col.member_id].astype(str)], names=_KEYS)
        got = pd.Series(love["love"].to_numpy(dtype=float), index=pd.MultiIndex.from_arrays(
            [love[Col.community_id].astype(str), love[Col.member_id].astype(str)], names=_KEYS))
        orbit = orbit_from_love(got.reindex(idx, fill_value=0.0).astype("float64").rename("love"),
                                thresholds=thresholds, margin=margin)
        staff = members.loc[members["role"].isin(STAFF_ROLES), _KEYS].astype(str)
        orbit = orbit.merge(staff.assign(_staff=True), on=_KEYS, how="left")
        near = orbit[orbit["near_next_level"] & orbit["_staff"].isna()].groupby(Col.community_id).size()
        return near.reindex(self.ids().astype(str)).fillna(0).astype("float64")

    # ------------------------------------------------------------------ platforms
    def platform_activity(self, *, days: int) -> pd.DataFrame:
        """As :func:`commlab.analysis.practices.platform_activity` over the ``days`` days up to each instant."""
        cols = [Col.community_id, "platform", "events", "share"]
        got = self.rows(f"""
SELECT e.c AS community_id, coalesce(e.platform, CAST(k.platform AS VARCHAR)) AS platform, count(*) AS events
FROM e JOIN c_communities k ON CAST(k.community_id AS VARCHAR) = e.c
WHERE e.t > e.n - {int(days)} * {_DAY_US}::BIGINT AND e.et NOT IN ('join', 'leave') AND NOT e.s
  AND coalesce(e.platform, CAST(k.platform AS VARCHAR)) IS NOT NULL
GROUP BY 1, 2""")
        if not len(got):
            return pd.DataFrame(columns=cols)
        got["platform"] = got["platform"].astype("string")
        got["events"] = got["events"].astype("int64")
        got["share"] = got["events"] / got.groupby(Col.community_id)["events"].transform("sum")
        got = got.sort_values([Col.community_id, "events", "platform"], ascending=[True, False, True])
        return got[cols].reset_index(drop=True)

    def platform_recorded(self) -> set[str]:
        """The communities with at least one event (at any time) that records its platform."""
        got = self.rows("SELECT DISTINCT CAST(community_id AS VARCHAR) AS c FROM c_events WHERE platform IS NOT NULL")
        return set(got["c"].astype(str))


def _weights() -> pd.DataFrame:
    """The Orbit love per event type (:data:`~commlab.analysis.orbit.DEFAULT_WEIGHTS`) as a relation ``et, w``."""
    return pd.DataFrame({"et": list(DEFAULT_WEIGHTS), "w": [float(v) for v in DEFAULT_WEIGHTS.values()]})


@contextmanager
def event_facts(events: Source, members: pd.DataFrame, communities: pd.DataFrame, ends: pd.Series,
                engine: DuckDBEngine | None = None) -> Iterator[EventFacts]:
    """An :class:`EventFacts` over ``events`` (stored or a DataFrame, read in place by DuckDB).

    Parameters
    ----------
    events : Source
        The events (:class:`~commlab.data.stored.StoredEvents`, a DataFrame or a Parquet path).
    members, communities : DataFrame
        The members and communities of those events.
    ends : Series
        The instant per community (indexed by ``community_id``).
    engine : DuckDBEngine, optional
        Its connection settings (memory limit, threads, spill folder); default a plain engine.
    """
    eng = engine or DuckDBEngine()
    con = eng.connect()
    try:
        eng.register_tables(con, events=events, members=members, communities=communities)
        yield EventFacts(con, members, communities, ends)
    finally:
        con.close()

