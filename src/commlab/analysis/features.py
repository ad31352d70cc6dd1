"""Member features: one row per (community, member) as of an explicit instant.

Every feature is defined once, in SQL (:func:`features_sql`), and DuckDB runs that SQL
whether the events are an in-memory DataFrame or Parquet file(s) on disk. A later engine
(Spark, a warehouse) can run the same text. :data:`FEATURES` is the registry notebooks and
reports read for labels (zh/en), one-line definitions and units.

Conventions
-----------
* Only events with ``ts <= as_of`` count; only members with ``joined_at <= as_of`` get a row.
* "Activity" is any event other than ``join`` and ``leave``.
* ``observed_days`` starts at the later of joining and the community's first event, so rates
  are not diluted when an export covers only a recent window of an older community.
* Days and weeks are UTC calendar days and ISO weeks (Monday start).
* Interactions are ``reply``, ``mention`` and ``reaction`` events aimed at another member
  (self-targeted events are ignored for partners, replies and reactions received).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from commlab.analysis import features_sql as _definitions
from commlab.analysis.features_sql import *  # noqa: F403 - the feature definitions, re-exported
from commlab.data.schema import STAFF_ROLES, Col
from commlab.data.stored import StoredEvents
from commlab.instant import as_utc

__all__ = [*_definitions.__all__, "member_features", "participation_inequality"]


def member_features(
    events: pd.DataFrame | StoredEvents | str | Path | list,
    members: pd.DataFrame | str | Path | list,
    *,
    as_of: str | pd.Timestamp,
    staff_roles: tuple[str, ...] = STAFF_ROLES,
) -> pd.DataFrame:
    """One row of features per (community_id, member_id) as of ``as_of``.

    Parameters
    ----------
    events : DataFrame, path, list of paths or StoredEvents
        The canonical events table, in memory or as Parquet file(s)/glob(s) on disk.
    members : DataFrame, path or list of paths
        The canonical members table.
    as_of : str or Timestamp
        The instant the features are computed at (:func:`commlab.instant.as_utc`: a naive value
        is UTC, as everywhere in commlab). Events after it are
        ignored and members who joined after it get no row.
    staff_roles : tuple of str, default :data:`commlab.data.schema.STAFF_ROLES` (owner, staff, bot)
        Roles flagged ``is_staff``.

    Returns
    -------
    DataFrame
        ``community_id``, ``member_id`` (string) and the :data:`FEATURES` columns, sorted by
        community and member, with a fresh RangeIndex.

    Raises
    ------
    InvalidArgument
        If ``as_of`` is missing or not a date/time (also a ``ValueError``).

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c01", "c04"])
    >>> features = cl.member_features(ds.events, ds.members, as_of="2024-06-30T16:00:00Z")
    >>> features.columns[:5].tolist(), len(features)
    (['community_id', 'member_id', 'tenure_days', 'observed_days', 'recency_days'], 2808)
    """
    from commlab.engines.duck import DuckDBEngine

    return DuckDBEngine().member_features(events, members, as_of=as_utc(as_of), staff_roles=tuple(staff_roles))


def participation_inequality(features: pd.DataFrame, *, content: str = "ugc",
                             by: str | None = Col.community_id) -> pd.DataFrame:
    """Participation inequality (the "90-9-1" pattern) of content creation.

    Parameters
    ----------
    features : DataFrame
        From :func:`member_features`; staff rows are dropped when an ``is_staff`` column exists.
    content : str, default "ugc"
        Column counting each member's contributions.
    by : str or None, default "community_id"
        One row per value of this column; ``None`` for one row overall.

    Returns
    -------
    DataFrame
        Per group: ``members``, ``never_share`` (members with no content), ``once_share``
        (exactly one), ``top1_share`` (share of content by the top 1 % of members, at least one
        member), ``next9_share`` (by the next 9 %), ``rest90_share`` and ``gini``.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c04"])
    >>> feats = cl.member_features(ds.events, ds.members, as_of="2024-06-30T16:00:00Z")
    >>> cl.participation_inequality(feats)[["community_id", "members", "gini"]].round(2)
      community_id  members  gini
    0          c04     1496  0.79
    """
    df = features
    if "is_staff" in df.columns:
        df = df[~df["is_staff"].astype(bool)]
    groups = [("all", df)] if by is None else list(df.groupby(by, sort=True))
    rows = []
    for key, g in groups:
        x = np.sort(g[content].to_numpy(dtype="float64"))[::-1]
        n = len(x)
        total = x.sum()
        if n == 0:
            continue
        k1 = max(1, int(np.ceil(0.01 * n)))
        k10 = max(k1, int(np.ceil(0.10 * n)))
        asc = x[::-1]
        gini = float((2 * np.arange(1, n + 1) - n - 1) @ asc / (n * total)) if total > 0 else float("nan")
        rows.append({
            by or "group": key,
            "members": n,
            "never_share": float((x == 0).mean()),
            "once_share": float((x == 1).mean()),
            "top1_share": _part(x, 0, k1),
            "next9_share": _part(x, k1, k10),
            "rest90_share": _part(x, k10, n),
            "gini": gini,
        })
    return pd.DataFrame(rows)


def _part(x: np.ndarray, start: int, stop: int) -> float:
    total = x.sum()
    return float(x[start:stop].sum() / total) if total > 0 else float("nan")
