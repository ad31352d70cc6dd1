"""How members move between roles (or segments) from one period to the next.

Roles are computed at each boundary of a regular calendar (``freq``, default month starts) from
the features as of that instant; each member present at two consecutive boundaries contributes
one transition (``from_role`` → ``to_role``). Members who joined in between come from
:data:`JOINED`.

With the rule roles on DuckDB (the notebook's path), :func:`role_transitions` never holds the
per-instant table in pandas: one query computes the role features at every instant
(:func:`role_features_sql`: :func:`~commlab.analysis.features_sql.snapshot_features_sql`'s values,
each member numbered instead of named and grouped and joined by that number), its rows come back in
batches, each batch is reduced to one small role code per member and instant, and the moves are
counted from those codes (at 50 M events, 7 month starts and 1 M members: about 6 M rows, 6 bytes
each, where the named table took 4 GB).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from commlab.analysis.features_sql import (
    ACTIVITY_EXCLUDED,
    ROLE_FEATURE_IDS,
    SNAPSHOT_VALUES,
    bound_literals,
    timestamptz_literal,
)
from commlab.analysis.roles import RoleThresholds, assign_roles, role_conditions
from commlab.data import schema as S
from commlab.data.schema import STAFF_ROLES, Col
from commlab.engines.base import Source
from commlab.errors import InvalidArgument
from commlab.instant import as_utc

__all__ = ["JOINED", "role_features_sql", "role_members_sql", "role_snapshots", "role_transitions",
           "transition_matrix"]

#: ``from_role`` of members who were not members yet at the previous boundary.
JOINED = "joined"

Labeler = Callable[[pd.DataFrame], pd.Series]


def role_snapshots(
    events: Source,
    members: pd.DataFrame,
    *,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    freq: str = "MS",
    thresholds: RoleThresholds | None = None,
    labeler: Labeler | None = None,
    staff_roles: tuple[str, ...] = STAFF_ROLES,
    engine: Any = None,
) -> pd.DataFrame:
    """The role of every member at each boundary of ``pd.date_range(start, end, freq=freq)``.

    Parameters
    ----------
    events, members : DataFrame, path(s) or StoredEvents
        The canonical tables; the features are computed by DuckDB, which reads files in place.
    start, end : str or Timestamp
        First and last instants considered (naive values are UTC).
    freq : str, default "MS"
        A pandas frequency for the boundaries (month starts by default).
    thresholds : RoleThresholds, optional
        For :func:`commlab.analysis.roles.assign_roles`.
    labeler : callable, optional
        Features table -> labels (for example ``lambda f: seg.predict(segment_matrix(f))``);
        replaces the rule roles. Without one, the features the rules read are computed for
        every boundary in one query (:meth:`commlab.engines.duck.DuckDBEngine.snapshot_features`);
        a labeler gets every feature, one query per boundary.
    engine : engine, optional
        What computes the features (:func:`commlab.engines.get_engine`); default: DuckDB with
        its default settings. An engine without ``snapshot_features`` (Spark) runs one
        feature query per boundary.

    Returns
    -------
    DataFrame
        ``as_of``, ``community_id``, ``member_id``, ``role``.
    """
    bounds = pd.date_range(as_utc(start), as_utc(end), freq=freq)
    if len(bounds) < 2:
        raise InvalidArgument(f"need at least two {freq!r} boundaries between {start} and {end}")
    if engine is None:
        from commlab.engines.duck import DuckDBEngine

        engine = DuckDBEngine()
    staff_roles = tuple(staff_roles)
    if labeler is None and hasattr(engine, "snapshot_features"):
        # the rule roles read a few features: every instant in one pass over the events
        f = engine.snapshot_features(events, members, bounds=bounds, staff_roles=staff_roles)
        return pd.DataFrame({"as_of": f["as_of"], Col.community_id: f[Col.community_id],
                             Col.member_id: f[Col.member_id], "role": assign_roles(f, thresholds)})
    parts = []
    for b in bounds:
        f = engine.member_features(events, members, as_of=b, staff_roles=staff_roles)
        lab = labeler(f) if labeler is not None else assign_roles(f, thresholds)
        parts.append(pd.DataFrame({
            "as_of": b, Col.community_id: f[Col.community_id], Col.member_id: f[Col.member_id],
            "role": pd.Series(lab, index=f.index).astype("string"),
        }))
    return pd.concat(parts, ignore_index=True)


def role_transitions(
    events: Source,
    members: pd.DataFrame,
    *,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    freq: str = "MS",
    thresholds: RoleThresholds | None = None,
    labeler: Labeler | None = None,
    staff_roles: tuple[str, ...] = STAFF_ROLES,
    engine: Any = None,
) -> pd.DataFrame:
    """Counts of role changes between consecutive boundaries.

    The parameters are those of :func:`role_snapshots`.

    Returns
    -------
    DataFrame
        ``period_start``, ``period_end``, ``from_role``, ``to_role``, ``count``: one row per
        observed (period, from, to), staying in the same role included.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c04"])
    >>> moves = cl.role_transitions(ds.events_source, ds.members, start="2024-04-01", end="2024-06-01")
    >>> moves.columns.tolist(), moves["period_start"].nunique()
    (['period_start', 'period_end', 'from_role', 'to_role', 'count'], 2)
    """
    if labeler is None and _counts_codes(engine):
        bounds = pd.date_range(as_utc(start), as_utc(end), freq=freq)
        if len(bounds) < 2:
            raise InvalidArgument(f"need at least two {freq!r} boundaries between {start} and {end}")
        k, member, code, names = _rule_role_codes(engine, events, members, list(bounds), thresholds,
                                                  tuple(staff_roles))
        return _count_moves(k, member, code, names, list(bounds))
    snaps = role_snapshots(events, members, start=start, end=end, freq=freq, thresholds=thresholds,
                           labeler=labeler, staff_roles=staff_roles, engine=engine)
    bounds = sorted(snaps["as_of"].unique())
    rows = []
    for prev, cur in zip(bounds[:-1], bounds[1:], strict=True):
        a = snaps[snaps["as_of"] == prev][[Col.community_id, Col.member_id, "role"]]
        b = snaps[snaps["as_of"] == cur][[Col.community_id, Col.member_id, "role"]]
        m = b.merge(a, on=[Col.community_id, Col.member_id], how="left", suffixes=("_to", "_from"))
        m["role_from"] = m["role_from"].fillna(JOINED)
        c = m.groupby(["role_from", "role_to"]).size().reset_index(name="count")
        c.insert(0, "period_end", cur)
        c.insert(0, "period_start", prev)
        rows.append(c)
    out = pd.concat(rows, ignore_index=True).rename(columns={"role_from": "from_role", "role_to": "to_role"})
    out["count"] = out["count"].astype("int64")
    return out


#: DuckDB vectors (2,048 rows each) per batch fetched from the role-feature query; each batch becomes
#: role codes before the next is fetched.
BATCH_VECTORS = 256


def _counts_codes(engine: Any) -> bool:
    """Whether ``engine`` is DuckDB (or none: DuckDB), whose connection the coded path queries directly."""
    from commlab.engines.duck import DuckDBEngine

    return engine is None or isinstance(engine, DuckDBEngine)


def _rule_role_codes(engine: Any, events: Source, members: Source, bounds: list[pd.Timestamp],
                     thresholds: RoleThresholds | None, staff_roles: tuple[str, ...],
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Instant index, member number and rule-role code of every member at every instant, and the role names.

    The role features come from one DuckDB query with each member numbered (a join to the members
    table) instead of named; the rows are read in batches of :data:`BATCH_VECTORS` vectors, each reduced to
    role codes by the rules of :func:`~commlab.analysis.roles.assign_roles` (``names[code]``).
    """
    from commlab.engines.duck import DuckDBEngine

    eng = engine if engine is not None else DuckDBEngine()
    names = _role_names(thresholds)
    con = eng.connect()
    try:
        v = eng.register_tables(con, events=events, members=members)
        # the members as a table: DuckDB then knows its size and builds the joins on it
        con.execute(f"CREATE TEMP TABLE role_members AS "
                    f"{role_members_sql(v['events'], v['members'], bounds[-1], staff_roles=staff_roles)}")
        sql = role_features_sql(v["events"], "role_members", bounds)
        ks, ms, codes = [], [], []
        con.execute(sql)
        while len(f := con.fetch_df_chunk(BATCH_VECTORS)):
            conds = role_conditions(f, thresholds)
            codes.append(np.select([c.to_numpy(dtype=bool) for _, c in conds], np.arange(len(conds)),
                                   len(conds)).astype(np.int8))
            ks.append(f["k"].to_numpy(np.int32))
            ms.append(f["m"].to_numpy(np.int32))
    finally:
        con.close()
    cat = lambda parts, t: np.concatenate(parts) if parts else np.empty(0, t)  # noqa: E731
    return cat(ks, np.int32), cat(ms, np.int32), cat(codes, np.int8), names


def _sql_list(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) or "NULL"


def role_members_sql(events: str, members: str, last: pd.Timestamp, *,
                     staff_roles: tuple[str, ...] = STAFF_ROLES) -> str:
    """The members who joined by ``last``, each numbered, for :func:`role_features_sql`.

    Returns ``community_id``, ``member_id``, ``m`` (an integer: the row's rank in ``members``),
    ``joined_at``, ``left_at``, ``is_staff`` and ``first_ts`` (the first event of the member's
    community up to ``last``), one row per member.
    """
    lit = timestamptz_literal(last)
    return f"""
SELECT x.*, c.first_ts
FROM (
    SELECT CAST(community_id AS VARCHAR) AS community_id, CAST(member_id AS VARCHAR) AS member_id,
           CAST(row_number() OVER () - 1 AS INTEGER) AS m,
           CAST(joined_at AS TIMESTAMPTZ) AS joined_at, CAST(left_at AS TIMESTAMPTZ) AS left_at,
           CAST(role AS VARCHAR) IN ({_sql_list(tuple(staff_roles))}) AS is_staff
    FROM {members}
) AS x
LEFT JOIN (
    SELECT CAST(community_id AS VARCHAR) AS community_id, min(CAST(ts AS TIMESTAMPTZ)) AS first_ts
    FROM {events}
    WHERE CAST(ts AS TIMESTAMPTZ) <= {lit}
    GROUP BY 1
) AS c ON c.community_id = x.community_id
WHERE x.joined_at <= {lit}
"""


def role_features_sql(events: str, mm: str, bounds: list[pd.Timestamp]) -> str:
    """:func:`~commlab.analysis.features_sql.snapshot_features_sql`'s role features, each member numbered.

    The same buckets and the same arithmetic as ``snapshot_features_sql`` (one pass over the
    events, each filed under the first instant it counts for), but the events meet the members
    first (``mm``: a table of :func:`role_members_sql`'s rows for ``bounds[-1]``): each event takes
    its member's number ``m`` and the per-member groupings and joins run on that integer instead
    of on the (community, member) strings; the distinct partners of ``partners_in`` are grouped
    by the target's number and the source's name (an unknown source still counts as a partner).
    ``mm`` being a table, DuckDB knows its size and builds its hash joins on it, not on the events
    or the (member, instant) rows (50 M events: the join to the communities' first events built on
    6.2 M wide rows took 10.6 s of the query's 32 s).

    Returns
    -------
    str
        A query returning ``k`` (the index into ``bounds``), ``m`` and :data:`ROLE_FEATURE_IDS`: one
        row per instant and member who joined by it, in no particular order.
    """
    lits = bound_literals(bounds)
    values = ", ".join(f"({k}, {lit})" for k, lit in enumerate(lits))
    bucket = "CASE " + " ".join(f"WHEN t <= {lit} THEN {k}" for k, lit in enumerate(lits)) + " END"
    content, inter = _sql_list(S.CONTENT_EVENTS), _sql_list(S.INTERACTION_EVENTS)
    activity = (f"(SELECT CAST(community_id AS VARCHAR) AS community_id, CAST(member_id AS VARCHAR) AS member_id, "
                f"CAST(ts AS TIMESTAMPTZ) AS t, CAST(event_type AS VARCHAR) AS event_type, "
                f"CAST(target_member_id AS VARCHAR) AS target_member_id "
                f"FROM {events} WHERE CAST(ts AS TIMESTAMPTZ) <= {lits[-1]} "
                f"AND CAST(event_type AS VARCHAR) NOT IN ({_sql_list(ACTIVITY_EXCLUDED)}))")
    return f"""
WITH bnd AS (
    SELECT * FROM (VALUES {values}) AS v(k, as_of)
),
-- per member number and bucket; events of unknown members find no row of mm
a AS (
    SELECT mm.m, {bucket} AS j,
        count(*) AS n_events, max(t) AS last_ts,
        count_if(e.event_type IN ({content})) AS ugc,
        count_if(e.event_type = 'purchase') AS purchases
    FROM {activity} AS e
    JOIN {mm} AS mm ON mm.community_id = e.community_id AND mm.member_id = e.member_id
    GROUP BY 1, 2
),
-- the bucket of each (source, target) pair's first interaction, both sides by number (the target's
-- fixes the community); a source without a number (not a member by the last instant, who still counts
-- as a partner) keeps its name, so the pairs group on two integers and a NULL
pr AS (
    SELECT t.m, s.m AS source, CASE WHEN s.m IS NULL THEN e.member_id END AS unnumbered, min({bucket}) AS j
    FROM {activity} AS e
    JOIN {mm} AS t ON t.community_id = e.community_id AND t.member_id = e.target_member_id
    LEFT JOIN {mm} AS s ON s.community_id = e.community_id AND s.member_id = e.member_id
    WHERE e.event_type IN ({inter}) AND NULLIF(e.target_member_id, e.member_id) IS NOT NULL
    GROUP BY 1, 2, 3
),
-- per member and instant k: the sums over the buckets j <= k (the partners first counted per bucket)
ak AS (
    SELECT a.m, b.k, CAST(sum(a.n_events) AS BIGINT) AS n_events, max(a.last_ts) AS last_ts,
           CAST(sum(a.ugc) AS BIGINT) AS ugc, CAST(sum(a.purchases) AS BIGINT) AS purchases
    FROM a JOIN bnd b ON a.j <= b.k
    GROUP BY 1, 2
),
pj AS (
    SELECT m, j, count(*) AS partners FROM pr GROUP BY 1, 2
),
pk AS (
    SELECT pj.m, b.k, CAST(sum(pj.partners) AS BIGINT) AS partners_in
    FROM pj JOIN bnd b ON pj.j <= b.k
    GROUP BY 1, 2
),
f AS (
    SELECT b.k, b.as_of, mm.m, mm.joined_at, mm.left_at, mm.is_staff,
           (epoch(b.as_of) - epoch(greatest(mm.joined_at, coalesce(
               CASE WHEN mm.first_ts <= b.as_of THEN mm.first_ts END, mm.joined_at)))) / 86400.0 AS observed_days,
           ak.n_events, ak.last_ts, ak.ugc, ak.purchases, pk.partners_in
    FROM {mm} AS mm
    JOIN bnd b ON mm.joined_at <= b.as_of
    LEFT JOIN ak ON ak.m = mm.m AND ak.k = b.k
    LEFT JOIN pk ON pk.m = mm.m AND pk.k = b.k
)
SELECT
    CAST(k AS INTEGER) AS k,
    m,
    {SNAPSHOT_VALUES}
FROM f
"""


def _role_names(thresholds: RoleThresholds | None) -> list[str]:
    """The roles in the order of :func:`~commlab.analysis.roles.role_conditions`, then ``ordinary`` (the default)."""
    empty = pd.DataFrame({c: pd.Series(dtype="float64") for c in ROLE_FEATURE_IDS})
    return [r for r, _ in role_conditions(empty, thresholds)] + ["ordinary"]


def _count_moves(k: np.ndarray, member: np.ndarray, code: np.ndarray, names: list[str],
                 bounds: list[pd.Timestamp]) -> pd.DataFrame:
    """The rows of :func:`role_transitions` from role codes per (instant, member)."""
    labels = np.array([*names, JOINED], dtype=object)
    joined = len(names)
    n_codes = len(labels)
    size = int(member.max()) + 1 if len(member) else 0
    rows = []
    for i in range(1, len(bounds)):
        a, b = k == i - 1, k == i
        before = np.full(size, joined, dtype=np.int16)
        before[member[a]] = code[a]
        moves = np.bincount(before[member[b]].astype(np.int64) * n_codes + code[b], minlength=n_codes * n_codes)
        seen = np.flatnonzero(moves)
        c = pd.DataFrame({"from_role": labels[seen // n_codes], "to_role": labels[seen % n_codes],
                          "count": moves[seen].astype("int64")})
        c = c.sort_values(["from_role", "to_role"], ignore_index=True)  # as a group-by of the named roles
        c.insert(0, "period_end", bounds[i])
        c.insert(0, "period_start", bounds[i - 1])
        rows.append(c)
    out = pd.concat(rows, ignore_index=True)
    return out.astype({"from_role": "string", "to_role": "string"})


def transition_matrix(transitions: pd.DataFrame, *, normalize: bool = False,
                      order: list[str] | None = None) -> pd.DataFrame:
    """From-role × to-role matrix summed over periods (row shares when ``normalize``)."""
    mat = transitions.pivot_table(index="from_role", columns="to_role", values="count", aggfunc="sum",
                                  fill_value=0)
    if order is not None:
        rows = [r for r in [JOINED, *order] if r in mat.index]
        cols = [c for c in order if c in mat.columns]
        mat = mat.reindex(index=rows + [r for r in mat.index if r not in rows],
                          columns=cols + [c for c in mat.columns if c not in cols])
    mat = mat.astype("int64")
    if normalize:
        return mat.div(mat.sum(axis=1).where(lambda s: s > 0), axis=0)
    return mat
