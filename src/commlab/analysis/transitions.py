"""How members move between roles (or segments) from one period to the next.

Roles are computed at each boundary of a regular calendar (``freq``, default month starts) from
the features as of that instant; each member present at two consecutive boundaries contributes
one transition (``from_role`` → ``to_role``). Members who joined in between come from
:data:`JOINED`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from commlab.analysis.roles import RoleThresholds, assign_roles
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
