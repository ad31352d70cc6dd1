"""How members move between roles (or segments) from one period to the next.

Roles are computed at each boundary of a regular calendar (``freq``, default month starts) from
the features as of that instant; each member present at two consecutive boundaries contributes
one transition (``from_role`` → ``to_role``). Members who joined in between come from
:data:`JOINED`.

With the rule roles on DuckDB (the notebook's path), :func:`role_transitions` never holds a
per-instant table of names in pandas: two queries sum each member's activity and new partners per
bucket between instants (:func:`role_bucket_sql`: each member numbered instead of named, grouped and
joined by that number; on stored events with the import's member keys, counted in NumPy by ranges of keys
instead, :func:`_keyed_bucket_rows`), the running sums and the features at each instant are computed from those
rows in NumPy (:func:`role_feature_frames`, with the arithmetic of
:func:`~commlab.analysis.features_sql.snapshot_features_sql`), each instant's features are reduced to
one small role code per member, and the moves are counted from those codes (at 50 M events, 7 month
starts and 1 M members: about 6 M codes, 6 bytes each, where the named table took 4 GB).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from commlab.analysis.features_sql import (
    ACTIVITY_EXCLUDED,
    ROLE_FEATURE_IDS,
    bound_literals,
    timestamptz_literal,
)
from commlab.analysis.roles import RoleThresholds, assign_roles, role_conditions
from commlab.data import schema as S
from commlab.data.schema import STAFF_ROLES, Col
from commlab.data.stored import StoredEvents
from commlab.engines.base import Source
from commlab.errors import InvalidArgument
from commlab.instant import as_utc

__all__ = ["JOINED", "role_bucket_sql", "role_feature_frames", "role_members_sql", "role_snapshots",
           "role_transitions", "transition_matrix"]

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


def _counts_codes(engine: Any) -> bool:
    """Whether ``engine`` is DuckDB (or none: DuckDB), whose connection the coded path queries directly."""
    from commlab.engines.duck import DuckDBEngine

    return engine is None or isinstance(engine, DuckDBEngine)


def _rule_role_codes(engine: Any, events: Source, members: Source, bounds: list[pd.Timestamp],
                     thresholds: RoleThresholds | None, staff_roles: tuple[str, ...],
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Instant index, member number and rule-role code of every member at every instant, and the role names.

    The role features come from :func:`role_feature_frames` (members numbered, sums per bucket in SQL, the
    instants in NumPy), each instant's reduced to role codes by the rules of
    :func:`~commlab.analysis.roles.assign_roles` (``names[code]``). Stored events with the member keys of the
    import (:attr:`commlab.data.stored.StoredEvents.keys`) are summed by those keys, each member numbered by
    its key (:func:`role_members_sql`), when every member has a key of its own; other events by the ids.
    """
    from commlab.engines.duck import DuckDBEngine

    eng = engine if engine is not None else DuckDBEngine()
    names = _role_names(thresholds)
    con = eng.connect()
    ks, ms, codes = [], [], []
    try:
        v = eng.register_tables(con, events=events, members=members)
        keys = events.keys if isinstance(events, StoredEvents) else None
        keyed = keys is not None
        if keyed:
            # the members as a table: DuckDB then knows its size and builds the joins on it
            mm_sql = role_members_sql(v["events"], v["members"], bounds[-1], staff_roles=staff_roles,
                                      keys=f"read_parquet({_sql_list([str(keys)])})")
            con.execute(f"CREATE TEMP TABLE role_members AS {mm_sql}")
            missing, repeated = con.execute("SELECT count(*) - count(m), count(m) - count(DISTINCT m) "
                                            "FROM role_members").fetchone()
            keyed = missing == 0 and repeated == 0
            if keyed:  # the stored relation, with the key columns the canonical view leaves out
                source = eng.relation(con, events, "keyed_events")
            else:  # a member without a key, or two sharing one: numbered by rank, summed by the ids
                con.execute("DROP TABLE role_members")
        if not keyed:
            source = v["events"]
            con.execute(f"CREATE TEMP TABLE role_members AS "
                        f"{role_members_sql(v['events'], v['members'], bounds[-1], staff_roles=staff_roles)}")
        key_sql = f"read_parquet({_sql_list([str(keys)])})" if keyed else None
        for k, m, f in role_feature_frames(con, source, "role_members", bounds, keys=key_sql):
            conds = role_conditions(f, thresholds)
            codes.append(np.select([c.to_numpy(dtype=bool) for _, c in conds], np.arange(len(conds)),
                                   len(conds)).astype(np.int8))
            ks.append(np.full(len(m), k, dtype=np.int32))
            ms.append(m)
    finally:
        con.close()
    cat = lambda parts, t: np.concatenate(parts) if parts else np.empty(0, t)  # noqa: E731
    return cat(ks, np.int32), cat(ms, np.int32), cat(codes, np.int8), names


def _sql_list(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) or "NULL"


def role_members_sql(events: str, members: str, last: pd.Timestamp, *,
                     staff_roles: tuple[str, ...] = STAFF_ROLES, keys: str | None = None) -> str:
    """The members who joined by ``last``, each numbered, for :func:`role_bucket_sql`.

    Returns ``community_id``, ``member_id``, ``m`` (an integer: the row's rank in ``members``, or with
    ``keys``, a relation of the import's member keys (:data:`commlab.data.stored.KEYS_FILE`), the member's
    key; NULL for a member without one), ``joined_at``, ``left_at``, ``is_staff`` and ``first_ts`` (the
    first event of the member's community up to ``last``), one row per member.
    """
    lit = timestamptz_literal(last)
    number = "CAST(row_number() OVER () - 1 AS INTEGER) AS m" if keys is None else "CAST(NULL AS INTEGER) AS m"
    keyed = "" if keys is None else (f"SELECT x.* REPLACE (CAST(y.member_key AS INTEGER) AS m) FROM ({{}}) AS x "
                                     f"LEFT JOIN {keys} AS y ON y.community_id = x.community_id "
                                     f"AND y.member_id = x.member_id")
    numbered = f"""
    SELECT CAST(community_id AS VARCHAR) AS community_id, CAST(member_id AS VARCHAR) AS member_id,
           {number},
           CAST(joined_at AS TIMESTAMPTZ) AS joined_at, CAST(left_at AS TIMESTAMPTZ) AS left_at,
           CAST(role AS VARCHAR) IN ({_sql_list(tuple(staff_roles))}) AS is_staff
    FROM {members}"""
    return f"""
SELECT x.*, c.first_ts
FROM ({numbered if keys is None else keyed.format(numbered)}
) AS x
LEFT JOIN (
    SELECT CAST(community_id AS VARCHAR) AS community_id, min(CAST(ts AS TIMESTAMPTZ)) AS first_ts
    FROM {events}
    WHERE CAST(ts AS TIMESTAMPTZ) <= {lit}
    GROUP BY 1
) AS c ON c.community_id = x.community_id
WHERE x.joined_at <= {lit}
"""


def role_bucket_sql(events: str, mm: str, bounds: list[pd.Timestamp]) -> tuple[str, str]:
    """Two queries: each member's activity sums and its new partners per bucket of ``bounds``.

    Each event is filed under the first instant it counts for (bucket ``j``: the smallest ``k`` with
    ``ts <= bounds[k]``), as in :func:`~commlab.analysis.features_sql.snapshot_features_sql`, and summed
    per member number ``m`` and bucket.

    The events meet the members first (``mm``: a table of :func:`role_members_sql`'s rows for ``bounds[-1]``):
    each event takes its member's number and the per-member groupings and joins run on that integer instead of on
    the (community, member) strings; the distinct partners of ``partners_in`` are grouped by the target's number
    and the source's name (an unknown source still counts as a partner). ``mm`` being a table, DuckDB knows its
    size and builds its hash joins on it, not on the events. Events of members not in ``mm`` count nowhere.
    Stored events with the import's member keys need no join: :func:`_keyed_bucket_rows` counts the same rows
    by key.

    Returns
    -------
    (str, str)
        The activity query: ``m``, ``j``, ``n_events``, ``last_us`` and ``last_epoch`` (the last
        event's microseconds and ``epoch()``), ``ugc``, ``purchases``: one row per member and bucket
        with activity. The partners query: ``m``, ``j``, ``partners`` (the sources whose first
        interaction with ``m`` falls in bucket ``j``).
    """
    lits = bound_literals(bounds)
    bucket = "CASE " + " ".join(f"WHEN t <= {lit} THEN {k}" for k, lit in enumerate(lits)) + " END"
    content, inter = _sql_list(S.CONTENT_EVENTS), _sql_list(S.INTERACTION_EVENTS)
    who = ("CAST(community_id AS VARCHAR) AS community_id, CAST(member_id AS VARCHAR) AS member_id, "
           "CAST(target_member_id AS VARCHAR) AS target_member_id")
    activity = (f"(SELECT {who}, CAST(ts AS TIMESTAMPTZ) AS t, CAST(event_type AS VARCHAR) AS event_type "
                f"FROM {events} WHERE CAST(ts AS TIMESTAMPTZ) <= {lits[-1]} "
                f"AND CAST(event_type AS VARCHAR) NOT IN ({_sql_list(ACTIVITY_EXCLUDED)}))")
    counts = (f"CAST(count(*) AS BIGINT) AS n_events, max(t) AS last_ts, "
              f"CAST(count_if(e.event_type IN ({content})) AS BIGINT) AS ugc, "
              f"CAST(count_if(e.event_type = 'purchase') AS BIGINT) AS purchases")
    per_member = f"""
    SELECT mm.m, {bucket} AS j, {counts}
    FROM {activity} AS e
    JOIN {mm} AS mm ON mm.community_id = e.community_id AND mm.member_id = e.member_id
    GROUP BY 1, 2"""
    # the bucket of each (source, target) pair's first interaction, both sides by number (the target's
    # fixes the community); a source without a number (not a member by the last instant, who still counts
    # as a partner) keeps its name, so the pairs group on two integers and a NULL
    pairs = f"""
    SELECT t.m, s.m AS source, CASE WHEN s.m IS NULL THEN e.member_id END AS unnumbered, min({bucket}) AS j
    FROM {activity} AS e
    JOIN {mm} AS t ON t.community_id = e.community_id AND t.member_id = e.target_member_id
    LEFT JOIN {mm} AS s ON s.community_id = e.community_id AND s.member_id = e.member_id
    WHERE e.event_type IN ({inter}) AND NULLIF(e.target_member_id, e.member_id) IS NOT NULL
    GROUP BY 1, 2, 3"""
    sums = f"""
SELECT m, CAST(j AS INTEGER) AS j, n_events, epoch_us(last_ts) AS last_us, epoch(last_ts) AS last_epoch, ugc, purchases
FROM ({per_member}
)
"""
    partners = f"""
SELECT m, CAST(j AS INTEGER) AS j, CAST(count(*) AS BIGINT) AS partners
FROM ({pairs}
)
GROUP BY 1, 2
"""
    return sums, partners


def _column(got: dict[str, np.ndarray], name: str, fill: Any) -> tuple[np.ndarray, np.ndarray]:
    """A fetched column as a plain array (NULLs replaced by ``fill``) and its mask of non-NULL values."""
    col = got[name]
    valid = ~np.ma.getmaskarray(col)
    return np.ma.filled(col, fill) if np.ma.isMaskedArray(col) else np.asarray(col), valid


def role_feature_frames(con: Any, events: str, mm: str, bounds: list[pd.Timestamp], *, keys: str | None = None
                        ) -> Iterator[tuple[int, np.ndarray, pd.DataFrame]]:
    """The :data:`ROLE_FEATURE_IDS` of every member of ``mm`` at each instant of ``bounds``, one instant at a time.

    The sums per member and bucket come from :func:`role_bucket_sql` (or, by key, :func:`_keyed_bucket_rows`); the
    sums over the buckets ``j <= k``
    and the features at instant ``k`` are computed here, with the arithmetic of
    :data:`~commlab.analysis.features_sql.SNAPSHOT_VALUES` on the very doubles DuckDB's ``epoch()`` gives
    (the instants, the join and first times, each bucket's last event), so every value equals that of
    :func:`~commlab.analysis.features_sql.snapshot_features_sql`. Done in SQL, the running sums took a join
    of the buckets to the instants and two groupings, and the members' rows at every instant two hash
    joins (50 M events: about 6 M rows each).

    Parameters
    ----------
    con : DuckDB connection
        Holding ``events`` (a relation of the canonical events) and ``mm`` (a table of
        :func:`role_members_sql`'s rows for ``bounds[-1]``).
    bounds : list of Timestamp
        The instants, tz-aware and strictly increasing.
    keys : str, optional
        A relation of the import's member keys (:data:`commlab.data.stored.KEYS_FILE`): ``events`` then carry them
        (``member_key``, ``target_key``; every member and target has one) and ``mm`` numbers each member by its
        key. The sums per member and bucket are counted in NumPy from the events read by ranges of keys
        (:func:`_keyed_bucket_rows`), without :func:`role_bucket_sql`'s joins; rows of members not in ``mm`` are
        counted too, and left out (only ``mm``'s numbers are read).

    Yields
    ------
    (int, ndarray, DataFrame)
        ``k``, the numbers ``m`` (int32) of the members who joined by ``bounds[k]``, and their features
        (columns :data:`ROLE_FEATURE_IDS`, dtypes as DuckDB returns them), row for row.
    """
    lits = bound_literals(bounds)
    inst = con.execute("SELECT epoch_us(b) AS us, epoch(b) AS e FROM (VALUES "
                       + ", ".join(f"({k}, {lit})" for k, lit in enumerate(lits)) + ") AS v(k, b) ORDER BY k"
                       ).fetchnumpy()
    mem = con.execute(f"SELECT m, epoch_us(joined_at) AS joined_us, epoch(joined_at) AS joined_epoch, "
                      f"epoch_us(left_at) AS left_us, epoch_us(first_ts) AS first_us, "
                      f"epoch(first_ts) AS first_epoch, is_staff FROM {mm} ORDER BY m").fetchnumpy()
    if keys is not None:
        a, p = _keyed_bucket_rows(con, events, keys, lits[-1], np.asarray(inst["us"], dtype=np.int64))
    else:
        sums_sql, partners_sql = role_bucket_sql(events, mm, bounds)
        a = con.execute(sums_sql).fetchnumpy()
        p = con.execute(partners_sql).fetchnumpy()
    m = np.asarray(mem["m"], dtype=np.int32)
    a_m, a_j = np.asarray(a["m"]), np.asarray(a["j"])
    p_m, p_j = np.asarray(p["m"]), np.asarray(p["j"])
    size = max((int(x.max()) + 1 for x in (m, a_m, p_m) if len(x)), default=0)  # keyed: others' rows too
    joined_us, joined_e = np.asarray(mem["joined_us"]), np.asarray(mem["joined_epoch"], dtype=float)
    left_us, has_left_at = _column(mem, "left_us", 0)
    first_us, has_first = _column(mem, "first_us", 0)
    first_e, _ = _column(mem, "first_epoch", np.nan)
    staff = pd.Series(np.asarray(mem["is_staff"], dtype=bool))
    # the running sums of each member over the buckets j <= k, by member number
    n_events, ugc, purchases, partners = (np.zeros(size, np.int64) for _ in range(4))
    last_us = np.full(size, np.iinfo(np.int64).min, dtype=np.int64)
    last_e = np.full(size, np.nan)
    for k in range(len(bounds)):
        now_us, now_e = int(inst["us"][k]), float(inst["e"][k])
        rows = np.flatnonzero(a_j == k)  # one row per member and bucket: no number repeats
        mk = a_m[rows]
        n_events[mk] += np.asarray(a["n_events"])[rows]
        ugc[mk] += np.asarray(a["ugc"])[rows]
        purchases[mk] += np.asarray(a["purchases"])[rows]
        later = np.asarray(a["last_us"])[rows] > last_us[mk]  # max(last_ts), then its epoch
        last_us[mk[later]] = np.asarray(a["last_us"])[rows][later]
        last_e[mk[later]] = np.asarray(a["last_epoch"], dtype=float)[rows][later]
        prow = np.flatnonzero(p_j == k)
        partners[p_m[prow]] += np.asarray(p["partners"])[prow]
        sel = np.flatnonzero(joined_us <= now_us)  # mm.joined_at <= as_of
        ms = m[sel]
        # greatest(joined_at, coalesce(CASE WHEN first_ts <= as_of THEN first_ts END, joined_at))
        first_in = has_first[sel] & (first_us[sel] <= now_us) & (first_us[sel] > joined_us[sel])
        start_e = np.where(first_in, first_e[sel], joined_e[sel])
        observed = (now_e - start_e) / 86400.0
        n_ugc = ugc[ms]
        yield k, ms, pd.DataFrame({
            "tenure_days": (now_e - joined_e[sel]) / 86400.0,
            "observed_days": observed,
            "recency_days": (now_e - last_e[ms]) / 86400.0,
            "n_events": n_events[ms],
            "ugc": n_ugc,
            "ugc_30d": n_ugc.astype(float) * 30.0 / np.maximum(observed, 30.0),
            "purchases": purchases[ms],
            "partners_in": partners[ms],
            "has_left": has_left_at[sel] & (left_us[sel] <= now_us),
            "is_staff": staff.to_numpy()[sel],
        })


def duckdb_epochs(con: Any, us: np.ndarray) -> np.ndarray:
    """DuckDB's ``epoch()`` (seconds, a double) of each instant ``us`` (microseconds since 1970 UTC), row for row.

    Not ``us / 10**6``: the two differ in the last bit for about a quarter of the instants, and the features are
    DuckDB's doubles. The rows keep their order whatever the connection's ``preserve_insertion_order`` (set for this
    query only; a connection of the engine lets DuckDB's threads return the rows of a large table in any order).
    """
    ((keep,),) = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()
    con.register("commlab_epoch_us", pa.table({"us": np.asarray(us, dtype=np.int64)}))
    try:
        con.execute("SET preserve_insertion_order = true")
        got = con.execute("SELECT epoch(make_timestamptz(us)) AS e FROM commlab_epoch_us").fetchnumpy()["e"]
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if keep else 'false'}")
        con.unregister("commlab_epoch_us")
    return np.asarray(got, dtype=float)


def _keyed_bucket_rows(con: Any, events: str, keys: str, last: str, inst_us: np.ndarray
                       ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The rows of :func:`role_bucket_sql`'s two queries on stored events with member keys, counted in NumPy by
    ranges of keys (each member numbered by its key).

    The events up to ``last`` (the last instant as a SQL literal) are read by ranges of whole communities
    (:func:`commlab.engines.keyed_sums.map_key_ranges`: four numbers per event, two threads counting while DuckDB
    reads the next range); each event's bucket is the first instant of ``inst_us`` (microseconds) at or after it.
    The member keys are dense, so the sums per (member, bucket) are array positions (``bincount``), and each
    (target, source) pair's first bucket comes from one sort of their codes. At 50 M events (7 instants) the
    notebook's transitions took 8.5 s (15.0 s of CPU) with the two queries' groupings, 6.4-7.0 s (10.5-11.2 s) so.

    The last event's ``epoch()`` is DuckDB's (:func:`duckdb_epochs`, one query over the maxima).
    """
    from commlab.engines.keyed_sums import EVENT_CODES, NOT_ACTIVITY, key_ranges, map_key_ranges

    n_b = len(inst_us)
    content = np.array([EVENT_CODES.index(t) + 1 for t in S.CONTENT_EVENTS], dtype=np.uint8)
    purchase = np.uint8(EVENT_CODES.index("purchase") + 1)
    n_inter = np.uint8(len(S.INTERACTION_EVENTS))  # the interaction types' codes are 1 to n_inter

    def count(lo: int, hi: int, ev: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        act = np.flatnonzero(ev["et"] != NOT_ACTIVITY)  # joining and leaving count for nothing here
        mk, tk, us, et = (ev[c][act] for c in ("mk", "tk", "us", "et"))
        mk = mk.astype(np.int64) - lo  # positions in the range
        size = hi - lo + 1
        j = np.searchsorted(inst_us, us, side="left")  # the first instant k with us <= inst_us[k]
        cell = mk * n_b + j
        n = np.bincount(cell, minlength=size * n_b)
        rows = np.flatnonzero(n)
        ugc = np.bincount(cell[np.isin(et, content)], minlength=size * n_b)[rows]
        bought = np.bincount(cell[et == purchase], minlength=size * n_b)[rows]
        last = np.full(size * n_b, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(last, cell, us)
        # each (target, source) pair's first bucket: the smallest code of the pair, sorted
        inter = np.flatnonzero((et - np.uint8(1) < n_inter) & (tk > 0))
        pair = ((tk[inter].astype(np.int64) - lo) * size + mk[inter]) * n_b + j[inter]
        pair = np.sort(pair)
        first = np.ones(len(pair), dtype=bool)
        first[1:] = pair[1:] // n_b != pair[:-1] // n_b
        pair = pair[first]
        partners = np.bincount(pair // n_b // size * n_b + pair % n_b, minlength=size * n_b)
        prow = np.flatnonzero(partners)
        return rows + lo * n_b, n[rows], ugc, bought, last[rows], prow + lo * n_b, partners[prow]

    done = map_key_ranges(con, events, key_ranges(con, keys), last, count, keys=keys, amounts=False)

    def cat(i: int) -> np.ndarray:
        return np.concatenate([d[i] for d in done]) if done else np.zeros(0, np.int64)

    cells, pcells = cat(0), cat(5)
    last_us = cat(4)
    a = {"m": (cells // n_b).astype(np.int32), "j": (cells % n_b).astype(np.int32), "n_events": cat(1),
         "last_us": last_us, "last_epoch": duckdb_epochs(con, last_us), "ugc": cat(2), "purchases": cat(3)}
    p = {"m": (pcells // n_b).astype(np.int32), "j": (pcells % n_b).astype(np.int32), "partners": cat(6)}
    return a, p


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
