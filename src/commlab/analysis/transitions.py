"""How members move between roles (or segments) from one period to the next.

Roles are computed at each boundary of a regular calendar (``freq``, default month starts) from
the features as of that instant; each member present at two consecutive boundaries contributes
one transition (``from_role`` → ``to_role``). Members who joined in between come from
:data:`JOINED`.

With the rule roles on DuckDB (the notebook's path), :func:`role_transitions` never holds the
per-instant table in pandas: one query computes the role features at every instant
(:func:`~commlab.analysis.features_sql.snapshot_features_sql`) with each member numbered instead of
named, its rows come back in batches, each batch is reduced to one small role code per member and
instant, and the moves are counted from those codes (at 50 M events, 7 month starts and 1 M
members: about 6 M rows, 6 bytes each, where the named table took 4 GB).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from commlab.analysis.features_sql import ROLE_FEATURE_IDS, snapshot_features_sql
from commlab.analysis.roles import RoleThresholds, assign_roles, role_conditions
from commlab.data.schema import STAFF_ROLES, Col
from commlab.engines.base import Source
from commlab.errors import InvalidArgument
from commlab.instant import as_utc

__all__ = ["JOINED", "role_snapshots", "role_transitions", "transition_matrix"]

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
        snapshot = snapshot_features_sql(v["events"], v["members"], bounds, staff_roles=staff_roles)
        sql = f"""
            WITH s AS ({snapshot}),
            ids AS (
                SELECT community_id, member_id, CAST(row_number() OVER () - 1 AS INTEGER) AS m
                FROM (SELECT CAST(community_id AS VARCHAR) AS community_id, CAST(member_id AS VARCHAR) AS member_id
                      FROM {v["members"]}) AS x
            )
            SELECT CAST(s.k AS INTEGER) AS k, ids.m, {", ".join(f"s.{c}" for c in ROLE_FEATURE_IDS)}
            FROM s JOIN ids ON ids.community_id = s.community_id AND ids.member_id = s.member_id
        """
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
