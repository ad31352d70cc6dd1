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
from commlab.data.stored import MEMBER_KEY, TARGET_KEY, StoredEvents
from commlab.engines.base import Source, canonical_select
from commlab.engines.duck import DuckDBEngine

__all__ = ["EventFacts", "event_facts", "query_rows"]

_DAY_US = 86_400_000_000
_KEYS = [Col.community_id, Col.member_id]


def _quote(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _sql_list(values: Any) -> str:
    return "(" + ", ".join(_quote(v) for v in values) + ")"


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
                 ends: pd.Series, keys: str | None = None, first_event: int | None = None) -> None:
        self.con, self.members, self.communities = con, members, communities
        self.keyed, self.first_event = keys is not None, first_event
        self._passes: dict[tuple[Any, ...], str] = {}
        self._member_instants: pd.Series | None = None
        self._member_codes: tuple[Any, pd.Index] | None = None
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
        keyed = ""
        if self.keyed:
            con.execute(f"""
CREATE TEMP TABLE member_keys AS
SELECT CAST(y.{Col.community_id} AS VARCHAR) AS c, CAST(y.{Col.member_id} AS VARCHAR) AS m,
       CAST(y.{MEMBER_KEY} AS INTEGER) AS k
FROM {keys} y SEMI JOIN lim l ON l.c = CAST(y.{Col.community_id} AS VARCHAR)""")
            con.execute("CREATE TEMP TABLE staff_keys AS SELECT DISTINCT y.k, y.c FROM member_keys y "
                        "SEMI JOIN staff st ON st.c = y.c AND st.m = y.m")
            keyed = f", CAST(ev.{MEMBER_KEY} AS INTEGER) AS k, CAST(ev.{TARGET_KEY} AS INTEGER) AS tk"
        # ts: what the constant bounds compare (_ts_from); the stored column uncast, so that DuckDB prunes row groups
        # by it also beside an event type list (through a cast it then reads every row group). An event's t (the
        # microsecond) above a bound's microsecond has its stored time above it too
        stored_ts = "ev.ts_stored" if self.keyed else "ev.ts"
        columns = f"""
SELECT CAST(ev.community_id AS VARCHAR) AS c, CAST(ev.member_id AS VARCHAR) AS m, epoch_us(ev.ts) AS t,
       CAST(ev.event_type AS VARCHAR) AS et, CAST(ev.channel AS VARCHAR) AS channel,
       CAST(ev.target_member_id AS VARCHAR) AS tgt, CAST(ev.category AS VARCHAR) AS category,
       CAST(ev.platform AS VARCHAR) AS platform, l.n, {stored_ts} AS ts{keyed}"""
        rows = """
FROM c_events ev JOIN lim l ON l.c = CAST(ev.community_id AS VARCHAR)"""
        within = "\nWHERE epoch_us(ev.ts) <= l.n"
        # the staff flag by a join to the (distinct) staff: as an EXISTS subquery, DuckDB could keep the events in a
        # delim join's table to decorrelate it
        staff = ("LEFT JOIN staff_keys st ON st.k = CAST(ev.member_key AS INTEGER)" if self.keyed else
                 "LEFT JOIN staff st ON st.c = CAST(ev.community_id AS VARCHAR) "
                 "AND st.m = CAST(ev.member_id AS VARCHAR)")
        con.execute(f"CREATE TEMP VIEW e0 AS {columns}{rows}{within}")
        con.execute(f"CREATE TEMP VIEW e AS {columns}, st.c IS NOT NULL AS s{rows}\n{staff}{within}")

    def rows(self, sql: str) -> pd.DataFrame:
        """Rows of ``sql`` (see :func:`query_rows`)."""
        return query_rows(self.con, sql)

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """``frame`` as the relation ``name``."""
        self.con.register(name, frame)

    def ids(self) -> pd.Series:
        return self.communities[Col.community_id]

    # ------------------------------------------------------------------ one pass per member
    def _per_member(self, by_community: pd.Series) -> pd.Series:
        """``by_community`` (indexed by community id) for each row of the members (NaN/NaT for another community)."""
        if self._member_codes is None:
            codes, uniques = pd.factorize(self.members[Col.community_id].astype("string"))
            self._member_codes = codes, pd.Index(uniques.astype(str))
        codes, uniques = self._member_codes
        return pd.Series(by_community.reindex(uniques).array.take(codes, allow_fill=True), index=self.members.index)

    def _now(self) -> pd.Series:
        """Each member's instant: its community's (NaT for a community without one)."""
        if self._member_instants is None:
            self._member_instants = self._per_member(self.ends)
        return self._member_instants

    def _cohort(self, horizon_days: int, first_days: int) -> pd.DataFrame:
        """The non-staff members joined at least ``2 * horizon_days`` before the instant, ``first`` if in the
        community's first ``first_days``."""
        members, communities = self.members, self.communities
        old_enough = (members["joined_at"] <= self._now() - pd.Timedelta(days=2 * horizon_days)).to_numpy()
        ids = communities[Col.community_id].astype(str)
        created = self._per_member(pd.Series(communities["created_at"].to_numpy(), index=ids))
        known = self._per_member(pd.Series(True, index=ids)).notna().to_numpy()  # as an inner join would keep
        keep = ~members["role"].isin(STAFF_ROLES).to_numpy() & old_enough & known
        m = members[keep].assign(created_at=created[keep]).reset_index(drop=True)
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
        content, hz = _sql_list(S.CONTENT_EVENTS), int(horizon_days)
        months = "CAST(floor(CAST(e.n - e.t AS DOUBLE) / 1e6 / 86400.0 / 30.4375) AS BIGINT)"
        weights = self._love_weights(name, float(decay), content, months)
        if self.keyed:  # grouped on the integer keys, the ids looked up once per member
            who, cohort = "e.k", (f"(SELECT y.k, x.j FROM {name}_cohort x JOIN member_keys y "
                                  "ON y.c = CAST(x.c AS VARCHAR) AND y.m = CAST(x.m AS VARCHAR))")
            on = "k.k = e.k"
        else:
            who, cohort, on = "e.c, e.m", f"{name}_cohort", "CAST(k.c AS VARCHAR) = e.c AND CAST(k.m AS VARCHAR) = e.m"
        # an event's love, whether it is content and whether it is activity (not a join or leave) are looked up
        # by its type and age in whole months (per event, the weight times the decay to that power, as before)
        active, is_content = "coalesce(w.active, true)", "coalesce(w.content, false)"
        # per member and channel (the waits' first and last post per channel come from it, :meth:`waits`)
        self.rows(f"""
CREATE TEMP TABLE {name}_channels AS
SELECT {who}, coalesce(e.channel, '(main)') AS ch, sum(w.love) AS love,
       count(*) FILTER (WHERE {is_content} AND e.t > e.n - {int(lookback_days)} * {_DAY_US}::BIGINT) AS content,
       max(e.t) FILTER (WHERE {active}) AS last,
       min(e.t) FILTER (WHERE {is_content}) AS first_post, max(e.t) FILTER (WHERE {is_content}) AS last_post,
       coalesce(bool_or({active} AND e.t - k.j >= {hz} * {_DAY_US}::BIGINT
                        AND e.t - k.j < {2 * hz} * {_DAY_US}::BIGINT), {"false" if unique else "NULL"}) AS retained
FROM e0 e LEFT JOIN {weights} w ON w.et = e.et AND w.months = {months}
LEFT JOIN {cohort} k ON {on}
GROUP BY {who}, ch""")
        grouped = f"""
SELECT {who.replace("e.", "g.")}, sum(g.love) AS love, CAST(sum(g.content) AS BIGINT) AS content, max(g.last) AS last,
       bool_or(g.retained) AS retained
FROM {name}_channels g GROUP BY {who.replace("e.", "g.")}"""
        if self.keyed:
            grouped = f"""
SELECT y.c, y.m, g.love, g.content, g.last, g.retained FROM ({grouped}) g JOIN member_keys y ON y.k = g.k"""
        self.rows(f"CREATE TEMP TABLE {name} AS {grouped}")
        self._passes[key] = name
        if unique:
            self._retained.add(name)
        return name

    def _love_weights(self, name: str, decay: float, content: str, months: str) -> str:
        """A table of every event type and age in whole Orbit months the events have (``et, months``): the love of
        such an event (its weight times ``decay`` to the power ``months``, NULL without a weight), ``content``
        and ``active`` (not a join or leave). ``months`` is the age's SQL over ``e`` (``e.n``, ``e.t``)."""
        types = pd.DataFrame({"et": list(dict.fromkeys([*S.EVENT_TYPE.codes, *DEFAULT_WEIGHTS]))})
        self.register("types_frame", types.merge(_weights(), on="et", how="left"))
        # the oldest event's age (+1: the first event's instant may be rounded up to the microsecond): every age up
        # to the instant is in range (the floor of a quotient that grows with the age)
        first = "(SELECT min(epoch_us(ts)) FROM c_events)" if self.first_event is None else str(int(self.first_event))
        oldest = months.replace("e.n", "(SELECT max(n) FROM lim)").replace("e.t", first)
        self.rows(f"""
CREATE OR REPLACE TEMP TABLE {name}_weights AS
SELECT CAST(x.et AS VARCHAR) AS et, a.months,
       x.w * pow(CAST({decay!r} AS DOUBLE), CAST(a.months AS DOUBLE)) AS love,
       CAST(x.et AS VARCHAR) IN {content} AS content, CAST(x.et AS VARCHAR) NOT IN ('join', 'leave') AS active
FROM types_frame x, (SELECT range AS months FROM range(0, coalesce({oldest}, 0) + 2)) a""")
        return f"{name}_weights"

    # ------------------------------------------------------------------ operational signals
    def waits(self) -> pd.Series:
        """``max_days_without_staff_reply`` per community (as :func:`~commlab.analysis.signals.operational_facts`).

        Per channel, the first content event by others than staff after the last by staff (all of them when staff
        never posted). The member pass's first and last content event per member and channel give per channel the
        last staff post and the first and last of the others: that settles every channel where the others' posts
        all come before it, or all after it. Only
        the channels where it falls between them read the content events again, those after the earliest such
        post only (a bound on ``ts`` DuckDB prunes row groups by: the events are stored in time order).
        """
        content = _sql_list(S.CONTENT_EVENTS)
        channels = f"{self.member_pass()}_channels"
        if self.keyed:
            community = "y.c"
            source = f"{channels} x JOIN member_keys y ON y.k = x.k LEFT JOIN staff_keys st ON st.k = x.k"
        else:
            community, source = "x.c", f"{channels} x LEFT JOIN staff st ON st.c = x.c AND st.m = x.m"
        self.rows(f"""
CREATE OR REPLACE TEMP TABLE waits_ch AS
SELECT {community} AS c, x.ch, max(x.last_post) FILTER (WHERE st.c IS NOT NULL) AS ls,
       min(x.first_post) FILTER (WHERE st.c IS NULL) AS first, max(x.last_post) FILTER (WHERE st.c IS NULL) AS last
FROM {source}
WHERE x.first_post IS NOT NULL GROUP BY 1, 2""")
        between = "ls IS NOT NULL AND first <= ls AND last > ls"
        (bound,) = self.con.execute(f"SELECT min(ls) FROM waits_ch WHERE {between}").fetchall()[0]
        after = "SELECT NULL::VARCHAR AS c, NULL::VARCHAR AS ch, NULL::BIGINT AS waiting WHERE false"
        if bound is not None:
            after = f"""
SELECT w.c, w.ch, min(w.t) AS waiting
FROM (SELECT c, coalesce(channel, '(main)') AS ch, t, s FROM e WHERE et IN {content} AND {_ts_from(bound)}) w
JOIN (SELECT c, ch, ls FROM waits_ch WHERE {between}) x ON x.c = w.c AND x.ch = w.ch
WHERE NOT w.s AND w.t > x.ls GROUP BY w.c, w.ch"""
        got = self.rows(f"""
WITH a AS ({after})
SELECT w.c AS community_id,
       min(CASE WHEN w.ls IS NULL THEN w.first WHEN w.last IS NULL OR w.last <= w.ls THEN NULL
                WHEN w.first > w.ls THEN w.first ELSE a.waiting END) AS waiting
FROM waits_ch w LEFT JOIN a ON a.c = w.c AND a.ch = w.ch GROUP BY w.c""")
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
        out = pd.DataFrame(index=communities[Col.community_id].astype(str))
        if pm in self._retained:  # the cohort's members, retained or not, counted by community and first or later
            self.register("cohort_frame", m[[*_KEYS, "first"]])
            got = self.rows(f"""
SELECT CAST(x.{Col.community_id} AS VARCHAR) AS c, x.first, count(*) AS size, count(*) FILTER (WHERE p.retained) AS kept
FROM cohort_frame x LEFT JOIN {pm} p ON p.c = CAST(x.{Col.community_id} AS VARCHAR)
                                  AND p.m = CAST(x.{Col.member_id} AS VARCHAR)
GROUP BY 1, 2""")
            share = pd.Series((got["kept"].astype("int64") / got["size"].astype("int64")).to_numpy(),
                              index=got["c"].astype(str))
            first = got["first"].astype(bool).to_numpy()
            out["first_retention"], out["later_retention"] = share[first], share[~first]
            return out["first_retention"] - out["later_retention"]
        # the members repeat a key: each of a member's join instants is tried
        self.register("cohort_frame", pd.DataFrame({
            "c": m[Col.community_id].astype(str).to_numpy(dtype=object),
            "m": m[Col.member_id].astype(str).to_numpy(dtype=object),
            "j": pd.DatetimeIndex(m["joined_at"]).as_unit("us").asi8}))
        kept = self.rows(f"""
SELECT DISTINCT e.c AS community_id, e.m AS member_id FROM e0 e
JOIN cohort_frame k ON CAST(k.c AS VARCHAR) = e.c AND CAST(k.m AS VARCHAR) = e.m
WHERE e.et NOT IN ('join', 'leave') AND e.t - k.j >= {int(horizon_days)} * {_DAY_US}::BIGINT
  AND e.t - k.j < {2 * int(horizon_days)} * {_DAY_US}::BIGINT""")
        m = m.assign(community_id=m[Col.community_id].astype(str), member_id=m[Col.member_id].astype(str))
        m = m.merge(kept.astype(str).assign(retained=True), how="left", on=_KEYS)
        m["retained"] = m["retained"].notna()
        g = m.groupby([Col.community_id, "first"])["retained"].agg(["size", "mean"]).unstack("first")
        out["first_retention"] = g.get(("mean", True))
        out["later_retention"] = g.get(("mean", False))
        return out["first_retention"] - out["later_retention"]

    def preconditions(self, *, days: int = PRECONDITION_DAYS) -> pd.DataFrame:
        """The monetization preconditions (:func:`~commlab.analysis.signals.monetization_preconditions`)."""
        interactions = _sql_list(S.INTERACTION_EVENTS)
        roles = self.members[[Col.community_id, Col.member_id, "role"]].astype(str)
        self.register("roles_frame", roles.set_axis(["c", "m", "role"], axis=1))
        expert = self._expert_hits(self._window("e0", days), interactions)
        counts = self.rows(f"""
WITH w AS NOT MATERIALIZED {self._window("e0", days)},
d AS NOT MATERIALIZED (SELECT c, m, et, s, CAST(floor(t / {_DAY_US}.0) AS BIGINT) AS d FROM {self._window("e", days)} x
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

    def _window(self, relation: str, days: int) -> str:
        """The events of ``relation`` (``e0`` or ``e``) in the ``days`` days up to each instant.

        Besides each community's bound, a constant bound on ``ts`` (the earliest instant's) that DuckDB prunes
        row groups by, when there are events before it.
        """
        (first,) = self.con.execute("SELECT min(n) FROM lim").fetchall()[0]
        bound = None if first is None else int(first) - int(days) * _DAY_US
        # only where it can prune: a bound on ts costs a comparison per event
        since = "true" if bound is None or self.first_event is None or bound <= self.first_event else _ts_from(bound)
        return f"(SELECT * FROM {relation} WHERE t > n - {int(days)} * {_DAY_US}::BIGINT AND {since})"

    def _expert_hits(self, win: str, interactions: str) -> pd.DataFrame:
        """Per community: the interactions received by its most interacted-with member (``top``) and by all
        (``total``), bots left out (by target, after counting: the bot test is per target, not per event)."""
        if self.keyed:  # a target is its key (its community's with it): counted by key, the ids looked up after
            return self.rows(f"""
WITH hits AS (SELECT w.tk, count(*) AS k FROM {win} w
              WHERE w.et IN {interactions} AND w.tk IS NOT NULL AND w.tk <> w.k GROUP BY w.tk)
SELECT y.c AS community_id, max(h.k) AS top, sum(h.k) AS total FROM hits h JOIN member_keys y ON y.k = h.tk
WHERE NOT EXISTS (SELECT 1 FROM roles_frame b WHERE b.role = 'bot' AND b.c = y.c AND b.m = y.m) GROUP BY y.c""")
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
        now = self._now()
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
        members = self.members
        self.register("joined_frame", members.loc[(members["joined_at"] <= self._now()).to_numpy(), _KEYS])
        # the love of each non-staff member joined by the instant (0 without any), counted per community and value:
        # the level and the step to the next depend on the value only
        got = self.rows(f"""
SELECT x.c AS community_id, coalesce(p.love, 0.0) AS love, count(*) AS n
FROM (SELECT CAST({Col.community_id} AS VARCHAR) AS c, CAST({Col.member_id} AS VARCHAR) AS m FROM joined_frame) x
LEFT JOIN {pm} p ON p.c = x.c AND p.m = x.m
WHERE NOT EXISTS (SELECT 1 FROM staff st WHERE st.c = x.c AND st.m = x.m)
GROUP BY 1, 2""")
        love = pd.Series(got["love"].to_numpy(dtype="float64"), index=got[Col.community_id].astype(str), name="love")
        orbit = orbit_from_love(love, thresholds=thresholds, margin=margin)
        near = got["n"][orbit["near_next_level"].to_numpy()].groupby(love.index[orbit["near_next_level"].to_numpy()])
        return near.sum().reindex(self.ids().astype(str)).fillna(0).astype("float64")

    # ------------------------------------------------------------------ platforms
    def platform_activity(self, *, days: int) -> pd.DataFrame:
        """As :func:`commlab.analysis.practices.platform_activity` over the ``days`` days up to each instant."""
        cols = [Col.community_id, "platform", "events", "share"]
        got = self.rows(f"""
SELECT e.c AS community_id, coalesce(e.platform, CAST(k.platform AS VARCHAR)) AS platform, count(*) AS events
FROM {self._window("e", days)} e JOIN c_communities k ON CAST(k.community_id AS VARCHAR) = e.c
WHERE e.et NOT IN ('join', 'leave') AND NOT e.s
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


def _ts_from(us: int) -> str:
    """``ts >= `` the instant ``us`` (epoch microseconds) as a constant: a filter DuckDB prunes row groups by."""
    when = pd.Timestamp(int(us), unit="us", tz="UTC")
    return f"ts >= TIMESTAMPTZ '{when.isoformat()}'"


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
    keys = events.keys if isinstance(events, StoredEvents) else None
    try:
        eng.register_tables(con, events=events, members=members, communities=communities)
        rel = eng.relation(con, events, "events")
        if keys is not None:  # the events as stored, with their member keys and their times as stored
            cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]
            keep = (f'"{MEMBER_KEY}"', f'"{TARGET_KEY}"', '"ts" AS ts_stored')
            con.execute(f"CREATE OR REPLACE TEMP VIEW c_events AS "
                        f"{canonical_select(S.EVENTS, rel, cols, keep=keep)}")
        # the first instant, of the events as read (a Parquet file's statistics answer it), to the microsecond
        (first,) = con.execute(f"SELECT epoch_us(CAST(min(ts) AS TIMESTAMPTZ)) FROM {rel}").fetchall()[0]
        yield EventFacts(con, members, communities, ends, first_event=first,
                         keys=None if keys is None else f"read_parquet({_quote(keys)})")
    finally:
        con.close()
