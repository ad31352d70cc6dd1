"""Operational signals: the facts an operator acts on this week.

These complement the community metrics with signals that point at specific places or people:
a channel where members wait for a staff reply, top members who went quiet recently, the
first cohort against later ones, the zombies brought in by bulk inviters. Others state what a
practice of the articles needs before it can work: whether the community has a known expert (大咖)
and real resources (courses, events) before it charges a membership fee (DOMAIN.md §4b, §5).
Each function takes ``as_of`` explicitly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from commlab.data import schema as S
from commlab.data.schema import STAFF_ROLES, Col
from commlab.instant import as_utc

__all__ = [
    "REPLYING_ROLES",
    "days_without_staff_reply",
    "recently_inactive_top_members",
    "first_cohort_retention_gap",
    "monetization_preconditions",
    "bulk_invited_zombie_share",
    "operational_facts",
    "PRECONDITION_DAYS",
    "BULK_INVITES",
]

MAIN_CHANNEL = "(main)"

#: Roles of the people whose job is to reply (:data:`commlab.data.schema.REPLYING_ROLES`).
REPLYING_ROLES = S.REPLYING_ROLES


#: The event columns the signals read (filtering only these, not the text columns, halves the time).
_COLUMNS = (Col.community_id, Col.member_id, "ts", "event_type", "channel")


def _columns(events: pd.DataFrame) -> pd.DataFrame:
    return events[[c for c in _COLUMNS if c in events.columns]]


def _content(events: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    ev = _columns(events)
    return ev[(ev["ts"] <= as_of) & ev["event_type"].isin(S.CONTENT_EVENTS)]


def _is_staff(events: pd.DataFrame, members: pd.DataFrame) -> pd.Series:
    """Whether each event's (community, member) is a staff member of that community.

    Staff are few: events are first narrowed to the staff's member ids, and only those are
    matched on the exact pair.
    """
    staff = members.loc[members["role"].isin(STAFF_ROLES), [Col.community_id, Col.member_id]].drop_duplicates()
    out = pd.Series(False, index=events.index)
    maybe = events[Col.member_id].isin(staff[Col.member_id].unique())
    if bool(maybe.any()):
        pairs = events.loc[maybe, [Col.community_id, Col.member_id]]
        found = pairs.merge(staff.assign(_staff=True), on=[Col.community_id, Col.member_id], how="left")["_staff"]
        out[maybe] = found.notna().to_numpy()  # a left merge keeps the left rows' order
    return out


def days_without_staff_reply(events: pd.DataFrame, members: pd.DataFrame, *, as_of: str | pd.Timestamp) -> pd.DataFrame:
    """Per community and channel: how long members have waited for staff.

    For each channel (events without a channel form one ``(main)`` channel), the wait is the
    time from the first member message after the last staff message until ``as_of``, in days;
    0 when staff spoke last or nobody has written.

    Returns
    -------
    DataFrame
        ``community_id, channel, last_staff_ts, waiting_since, days_waiting``.
    """
    now = as_utc(as_of)
    ev = _content(events, now)
    ev = ev.assign(channel=ev["channel"].fillna(MAIN_CHANNEL) if "channel" in ev else MAIN_CHANNEL)
    is_staff = _is_staff(ev, members).to_numpy()
    # each (community, channel) numbered once, in order of first appearance; the rest is by number
    keys = [Col.community_id, "channel"]
    group = ev.groupby(keys, sort=False).ngroup().to_numpy()
    out = ev[keys].drop_duplicates().reset_index(drop=True)
    numbers = pd.RangeIndex(len(out))
    # times as integers of their own unit; NaT's integer (the smallest int64) stands for "none"
    ts = pd.DatetimeIndex(ev["ts"])
    i8, nat = ts.asi8, np.iinfo(np.int64).min
    last_staff = pd.Series(i8[is_staff]).groupby(group[is_staff]).max().reindex(numbers, fill_value=nat)
    after = ~is_staff & (i8 > last_staff.to_numpy()[group])  # every member message when staff never spoke
    waiting = pd.Series(i8[after]).groupby(group[after]).min().reindex(numbers, fill_value=nat)
    as_times = lambda v: pd.DatetimeIndex(v.to_numpy().view(f"datetime64[{ts.unit}]")).tz_localize("UTC")  # noqa: E731
    out["last_staff_ts"] = as_times(last_staff)
    out["waiting_since"] = as_times(waiting)
    out["days_waiting"] = ((now - out["waiting_since"]).dt.total_seconds() / 86400).fillna(0.0)
    return out


def recently_inactive_top_members(
    events: pd.DataFrame,
    members: pd.DataFrame,
    *,
    as_of: str | pd.Timestamp,
    top_share: float = 0.05,
    lookback_days: int = 90,
    quiet_days: tuple[int, int] = (7, 28),
) -> pd.DataFrame:
    """Top contributors of the last ``lookback_days`` whose last activity was 7–28 days ago.

    "Top" is the top ``top_share`` of non-staff members by content in the look-back window
    (at least one member per community). These are the members worth a personal message now,
    before they become zombies.

    Returns
    -------
    DataFrame
        ``community_id, member_id, content, last_active, days_quiet`` (raw member ids:
        pseudonymise before showing).
    """
    now = as_utc(as_of)
    ev = _columns(events)
    ev = ev[ev["ts"] <= now]
    ev = ev[~_is_staff(ev, members)]
    window = ev[(ev["ts"] > now - pd.Timedelta(days=lookback_days)) & ev["event_type"].isin(S.CONTENT_EVENTS)]
    content = window.groupby([Col.community_id, Col.member_id]).size().rename("content").reset_index()
    rank = content.groupby(Col.community_id)["content"].rank(method="first", ascending=False)
    size = content.groupby(Col.community_id)["content"].transform("size")
    top = content[rank <= (size * top_share).clip(lower=1).round()]
    last = ev[~ev["event_type"].isin(["join", "leave"])].groupby([Col.community_id, Col.member_id])["ts"].max()
    top = top.merge(last.rename("last_active").reset_index(), on=[Col.community_id, Col.member_id], how="left")
    top["days_quiet"] = (now - top["last_active"]).dt.total_seconds() / 86400
    lo, hi = quiet_days
    return top[(top["days_quiet"] >= lo) & (top["days_quiet"] <= hi)].reset_index(drop=True)


def first_cohort_retention_gap(
    events: pd.DataFrame,
    members: pd.DataFrame,
    communities: pd.DataFrame,
    *,
    as_of: str | pd.Timestamp,
    first_days: int = 14,
    horizon_days: int = 30,
) -> pd.DataFrame:
    """Retention of the first cohort minus that of later cohorts.

    The first cohort joined within ``first_days`` of the community's creation. A member is
    retained when active between ``horizon_days`` and ``2 × horizon_days`` after joining. Only
    members who joined at least ``2 × horizon_days`` before ``as_of`` count.

    Returns
    -------
    DataFrame
        ``community_id, first_cohort, first_retention, later_cohort, later_retention, gap``.
    """
    now = as_utc(as_of)
    old_enough = members["joined_at"] <= now - pd.Timedelta(days=2 * horizon_days)
    m = members[~members["role"].isin(STAFF_ROLES) & old_enough]
    m = m.merge(communities[[Col.community_id, "created_at"]], on=Col.community_id)
    m = m.assign(first=(m["joined_at"] - m["created_at"]) <= pd.Timedelta(days=first_days))
    ev = _columns(events)
    ev = ev[(ev["ts"] <= now) & ~ev["event_type"].isin(["join", "leave"])]
    ev = ev.merge(m[[Col.community_id, Col.member_id, "joined_at"]], on=[Col.community_id, Col.member_id])
    age = ev["ts"] - ev["joined_at"]
    kept = ev[(age >= pd.Timedelta(days=horizon_days)) & (age < pd.Timedelta(days=2 * horizon_days))]
    keys = [Col.community_id, Col.member_id]
    retained = kept[keys].drop_duplicates().assign(retained=True)
    m = m.merge(retained, how="left", on=keys)
    m["retained"] = m["retained"].notna()
    g = m.groupby([Col.community_id, "first"])["retained"].agg(["size", "mean"]).unstack("first")
    out = pd.DataFrame(index=communities[Col.community_id])
    out["first_cohort"] = g.get(("size", True))
    out["first_retention"] = g.get(("mean", True))
    out["later_cohort"] = g.get(("size", False))
    out["later_retention"] = g.get(("mean", False))
    out["gap"] = out["first_retention"] - out["later_retention"]
    return out.reset_index()


#: Days up to ``as_of`` over which the monetization preconditions are looked for.
PRECONDITION_DAYS = 180
#: An inviter with at least this many present invitees is a bulk inviter (拉人头).
BULK_INVITES = 10


def monetization_preconditions(events: pd.DataFrame, members: pd.DataFrame, communities: pd.DataFrame, *,
                               as_of: str | pd.Timestamp, days: int = PRECONDITION_DAYS) -> pd.DataFrame:
    """What a community has of the article's preconditions of a membership fee: a known expert, real resources.

    "会员变现" needs a known expert (大咖) and real resources, or the group "死得更快" ([D], DOMAIN.md
    §4b). Over the ``days`` days up to ``as_of``:

    * ``expert_in_share``: the largest share of the interactions aimed at someone (reply, mention,
      reaction with a target) that one account receives (owner, staff, member or guest; not a bot):
      a person the others address (NaN without such interactions);
    * ``guest_hosted_events``: events held (``event``) whose host has the role ``guest`` (an invited
      expert);
    * ``resource_events``: course completions, purchases of courses (``category`` ``course``) and event
      days (a UTC day with an ``event`` or with at least 3 non-staff attendees, as
      :mod:`commlab.analysis.practices` counts them).

    Returns
    -------
    DataFrame
        ``community_id, expert_in_share, guest_hosted_events, resource_events``, one row per community.
    """
    now = as_utc(as_of)
    ids = communities[Col.community_id]
    cols = [c for c in (*_COLUMNS, "target_member_id", "category") if c in events.columns]
    ev = events[cols]
    ev = ev[(ev["ts"] <= now) & (ev["ts"] > now - pd.Timedelta(days=days))]
    keys = [Col.community_id, Col.member_id]
    bots = members.loc[members["role"] == "bot", keys].assign(_bot=True)
    if "target_member_id" in ev.columns:
        hits = ev[ev["event_type"].isin(S.INTERACTION_EVENTS) & ev["target_member_id"].notna()
                  & (ev["target_member_id"] != ev[Col.member_id])]
        hits = hits[[Col.community_id, "target_member_id"]].rename(columns={"target_member_id": Col.member_id})
        hits = hits.merge(bots, on=keys, how="left")
        hits = hits[hits["_bot"].isna()]
        per = hits.groupby(keys).size()
        expert = (per.groupby(level=0).max() / per.groupby(level=0).sum()) if len(per) else pd.Series(dtype=float)
    else:
        expert = pd.Series(dtype=float)
    guests = members.loc[members["role"] == "guest", keys].assign(_guest=True)
    held = ev[ev["event_type"] == "event"].merge(guests, on=keys, how="left")
    guest_held = held[held["_guest"].notna()].groupby(Col.community_id).size()
    staff = members.loc[members["role"].isin(STAFF_ROLES), keys].assign(_staff=True)
    days_ = ev[ev["event_type"].isin(["event", "event_attend"])].merge(staff, on=keys, how="left")
    days_ = days_.assign(d=days_["ts"].dt.floor("D"))
    attendees = days_[(days_["event_type"] == "event_attend") & days_["_staff"].isna()].groupby(
        [Col.community_id, "d"])[Col.member_id].nunique()
    event_days = days_[days_["event_type"] == "event"].groupby([Col.community_id, "d"]).size().index.union(
        attendees[attendees >= 3].index)
    n_days = pd.Series(1, index=event_days).groupby(level=0).sum() if len(event_days) else pd.Series(dtype=float)
    courses = ev["event_type"].eq("course_complete")
    if "category" in ev.columns:
        courses |= ev["event_type"].eq("purchase") & ev["category"].eq("course").fillna(False)
    n_courses = ev[courses].groupby(Col.community_id).size()
    return pd.DataFrame({
        Col.community_id: ids.to_numpy(),
        "expert_in_share": expert.reindex(ids).to_numpy(dtype=float),
        "guest_hosted_events": guest_held.reindex(ids).fillna(0).to_numpy(dtype=float),
        "resource_events": (n_courses.reindex(ids).fillna(0) + n_days.reindex(ids).fillna(0)).to_numpy(dtype=float),
    })


def bulk_invited_zombie_share(events: pd.DataFrame, members: pd.DataFrame, communities: pd.DataFrame, *,
                              as_of: str | pd.Timestamp, bulk: int = BULK_INVITES) -> pd.Series:
    """Zombie share of the members brought in by bulk inviters (拉人头), per community.

    A bulk inviter has at least ``bulk`` present invitees (``members.invited_by``); their invitees
    are zombies as in ``zombie_share`` (joined at least 30 days before ``as_of``, no activity in the
    30 days up to it). NaN where nobody invited that many, or invitations are not recorded.

    Returns
    -------
    Series
        Indexed by ``community_id``.
    """
    ids = communities[Col.community_id]
    if "invited_by" not in members.columns:
        return pd.Series(float("nan"), index=ids, dtype=float)
    now = as_utc(as_of)
    m = members[~members["role"].isin(STAFF_ROLES) & (members["joined_at"] <= now)
                & (members["left_at"].isna() | (members["left_at"] > now)) & members["invited_by"].notna()]
    m = m.assign(_n=m.groupby([Col.community_id, "invited_by"])[Col.member_id].transform("size"))
    m = m[m["_n"] >= bulk]
    ev = _columns(events)
    recent = ev[(ev["ts"] <= now) & (ev["ts"] > now - pd.Timedelta(days=30))
                & ~ev["event_type"].isin(["join", "leave"])]
    recent = recent[[Col.community_id, Col.member_id]].drop_duplicates().assign(_r=True)
    m = m.merge(recent, on=[Col.community_id, Col.member_id], how="left")
    zombie = ((m["joined_at"] <= now - pd.Timedelta(days=30)) & m["_r"].isna()).astype(float)
    return zombie.groupby(m[Col.community_id]).mean().reindex(ids).astype(float)


def operational_facts(
    events: pd.DataFrame, members: pd.DataFrame, communities: pd.DataFrame, *, as_of: str | pd.Timestamp
) -> pd.DataFrame:
    """The signals above as a long ``community_id, metric_id, value`` table for the rules.

    Facts: ``max_days_without_staff_reply``, ``recently_inactive_top_members``,
    ``first_cohort_retention_gap``, the monetization preconditions (``expert_in_share``,
    ``guest_hosted_events``, ``resource_events``) and ``bulk_invited_zombie_share``.

    ``max_days_without_staff_reply`` is NaN in a community without an owner or staff member
    (:data:`REPLYING_ROLES`): nobody there is expected to reply, so there is no wait to measure.
    """
    ids = communities[Col.community_id]
    waits = days_without_staff_reply(events, members, as_of=as_of).groupby(Col.community_id)["days_waiting"].max()
    replying = members.loc[members["role"].isin(REPLYING_ROLES), Col.community_id].astype(str).unique()
    waits = waits.reindex(ids).fillna(0.0).where(ids.astype(str).isin(replying).to_numpy())
    quiet = recently_inactive_top_members(events, members, as_of=as_of).groupby(Col.community_id).size()
    gap = first_cohort_retention_gap(events, members, communities, as_of=as_of).set_index(Col.community_id)["gap"]
    pre = monetization_preconditions(events, members, communities, as_of=as_of).set_index(Col.community_id)
    bulk = bulk_invited_zombie_share(events, members, communities, as_of=as_of)
    wide = pd.DataFrame({
        "max_days_without_staff_reply": waits.to_numpy(),
        "recently_inactive_top_members": quiet.reindex(ids).fillna(0).to_numpy(),
        "first_cohort_retention_gap": gap.reindex(ids).to_numpy(),
        "expert_in_share": pre["expert_in_share"].reindex(ids).to_numpy(),
        "guest_hosted_events": pre["guest_hosted_events"].reindex(ids).to_numpy(),
        "resource_events": pre["resource_events"].reindex(ids).to_numpy(),
        "bulk_invited_zombie_share": bulk.reindex(ids).to_numpy(),
    }, index=ids)
    return wide.reset_index().melt(id_vars=Col.community_id, var_name="metric_id", value_name="value")
