"""Orbit Model v1: "love" from weighted, decaying activity, and orbit levels 1–4.

``love = Σ weight(event_type) × decay ** months_ago`` over a member's events up to
``as_of``, where ``months_ago`` is the whole number of 30.4375-day months between the event
and ``as_of`` (events of the last month count fully). Orbit level 1 (the inner orbit,
ambassadors) is ``love >= 1.5``, level 2 ``>= 1``, level 3 ``>= 0.5``, level 4 below.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from commlab.data.schema import Col

__all__ = ["DEFAULT_WEIGHTS", "LEVEL_THRESHOLDS", "LOVE_DECIMALS", "orbit_from_love", "orbit_love", "orbit_levels",
           "orbit_table"]

#: Love per event, by event type (configurable). Types not listed weigh 0.
DEFAULT_WEIGHTS: dict[str, float] = {
    "message": 0.05,
    "mention": 0.05,
    "reaction": 0.02,
    "reply": 0.1,
    "post": 0.3,
    "checkin": 0.05,
    "event_attend": 0.3,
    "course_complete": 0.3,
    "purchase": 0.5,
    "referral": 1.0,
}
#: Minimum love for orbit levels 1, 2 and 3 (level 4 is below the last).
LEVEL_THRESHOLDS: tuple[float, float, float] = (1.5, 1.0, 0.5)
_MONTH_DAYS = 30.4375
#: Decimals love is rounded to before levels are assigned (:func:`orbit_from_love`).
LOVE_DECIMALS = 12


def orbit_love(
    events: pd.DataFrame,
    members: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    weights: Mapping[str, float] | None = None,
    decay: float = 0.9,
) -> pd.Series:
    """Love per member as of ``as_of``.

    Returns
    -------
    Series of float
        Indexed by (community_id, member_id) of every member who joined by ``as_of``
        (0 for members without weighted events), named ``love``.
    """
    w = dict(DEFAULT_WEIGHTS if weights is None else weights)
    now = pd.Timestamp(as_of)
    # only the columns read, and each event type's weight looked up once (not per event)
    ev = events.loc[events["ts"] <= now, [Col.community_id, Col.member_id, "ts", "event_type"]]
    codes, types = pd.factorize(ev["event_type"])
    by_type = np.nan_to_num(np.array([w.get(str(t), 0.0) for t in types] + [0.0], dtype=float))  # code -1: 0
    weight = by_type[codes]
    months = np.floor((now - ev["ts"]).dt.total_seconds().to_numpy() / 86400.0 / _MONTH_DAYS)
    contrib = weight * decay ** months
    love = (
        pd.DataFrame({Col.community_id: ev[Col.community_id], Col.member_id: ev[Col.member_id], "love": contrib})
        .groupby([Col.community_id, Col.member_id])["love"].sum()
    )
    m = members[members["joined_at"] <= now]
    idx = pd.MultiIndex.from_frame(m[[Col.community_id, Col.member_id]])
    return love.reindex(idx, fill_value=0.0).astype("float64").rename("love")


def orbit_levels(love: pd.Series, thresholds: tuple[float, float, float] = LEVEL_THRESHOLDS) -> pd.Series:
    """Orbit level 1–4 for each love value (1 = inner orbit)."""
    t1, t2, t3 = thresholds
    x = love.to_numpy(dtype=float)
    lv = np.select([x >= t1, x >= t2, x >= t3], [1, 2, 3], 4)
    return pd.Series(lv, index=love.index, name="orbit_level", dtype="int64")


def orbit_table(
    events: pd.DataFrame,
    members: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    weights: Mapping[str, float] | None = None,
    decay: float = 0.9,
    thresholds: tuple[float, float, float] = LEVEL_THRESHOLDS,
    margin: float = 0.1,
) -> pd.DataFrame:
    """Love, orbit level, love missing to the next level, and the "one step away" flag.

    Parameters
    ----------
    margin : float, default 0.1
        A member is ``near_next_level`` when the next level's threshold is at most
        ``margin`` love away (level 1 has no next level).

    Returns
    -------
    DataFrame
        ``community_id``, ``member_id``, ``love``, ``orbit_level``, ``to_next_level``
        (NaN at level 1) and ``near_next_level`` (bool).
    """
    love = orbit_love(events, members, as_of=as_of, weights=weights, decay=decay)
    return orbit_from_love(love, thresholds=thresholds, margin=margin)


def orbit_from_love(love: pd.Series, *, thresholds: tuple[float, float, float] = LEVEL_THRESHOLDS,
                    margin: float = 0.1) -> pd.DataFrame:
    """:func:`orbit_table` from the love per member (a Series indexed by ``community_id, member_id``).

    Love and the gap to the next level are rounded to :data:`LOVE_DECIMALS` decimals before they are
    compared with the thresholds and the margin: a sum of float weights carries noise in its 16th digit
    that depends on the order the events are added in (eight messages of 0.05 make 0.4000000000000001
    one way, 0.39999999999999997 another), and a member exactly on a threshold must not fall on either
    side by that noise.
    """
    love = love.round(LOVE_DECIMALS)
    level = orbit_levels(love, thresholds)
    nxt = pd.Series({2: thresholds[0], 3: thresholds[1], 4: thresholds[2]}).reindex(level.to_numpy()).to_numpy()
    gap = np.round(nxt - love.to_numpy(), LOVE_DECIMALS)
    out = love.reset_index()
    out["orbit_level"] = level.to_numpy()
    out["to_next_level"] = gap
    out["near_next_level"] = (gap <= margin) & ~np.isnan(gap)
    return out
