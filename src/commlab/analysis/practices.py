"""The practices the articles teach, as registered metrics (DOMAIN.md §3, §4, §4b, §5).

Each metric here measures one thing an operator does or should do, read from the event types and
optional fields of :mod:`commlab.data.schema` that record it:

* **lurkers** (潜水): whether the lurker share is rising (``lurker_share_change_30d``);
* **events and rituals** (组织活动, 打卡): how regular the events are (``event_gap_cv``), how many
  members attend (``event_attendance_rate``), the daily check-in rate (``checkin_rate``), who hosts
  (``member_hosted_events_share``);
* **incentives** (激励机制: points, coupons): the activity and purchases of rewarded members after a
  reward against before (``reward_activity_lift``, ``reward_purchase_lift``);
* **recruitment** (recruiting discipline, §4b): the zombie share of the members of each join channel
  (``zombie_share_invite``, ``zombie_share_qr_code``, ...);
* **monetization** (§5): the mix of purchases by category (``purchase_share_course``, ...) and the
  membership renewal rate (``membership_renewal_rate``);
* **core members carry the work** (核心用户协助运营, 放权): their share of the replies
  (``core_reply_share``) and the members' share of moderation (``member_moderation_share``);
* **main platform** (主战场): the share of member activity on the most active platform
  (``main_platform_share``).

The SQL reads the relations of :mod:`commlab.analysis.metrics` (``ev`` carries the optional
``category`` and ``platform`` of each event, ``roles`` the optional ``join_channel``); a metric
whose event type or field is absent from the data is missing (NaN), never 0, so a rule built on it
is not applicable there. :func:`platform_activity` gives the per-platform breakdown the executive
summary states in a sentence.

An *event day* (``event_gap_cv``, ``event_attendance_rate``) is a UTC day with an ``event`` event
(an event held) or with at least three distinct non-staff attendees (``event_attend``): data that
record attendance only still show when events took place.
"""

from __future__ import annotations

import pandas as pd

from commlab.analysis.daymask import day_number, days_between
from commlab.analysis.metrics import Metric, register
from commlab.analysis.metrics_sql import PRESENT
from commlab.data import schema as S
from commlab.data.schema import STAFF_ROLES, Col

__all__ = [
    "JOIN_CHANNEL_MIN",
    "MEMBERSHIP_TERM_DAYS",
    "REWARD_WINDOW_DAYS",
    "EVENT_RHYTHM_DAYS",
    "PURCHASE_CATEGORIES",
    "NEEDS",
    "platform_activity",
]

#: A join channel's zombie share is defined from this many present members who joined through it.
JOIN_CHANNEL_MIN = 10
#: The term of a membership: a member whose first membership purchase is this old was due to renew.
MEMBERSHIP_TERM_DAYS = 365
#: Days before and after a reward compared by the reward lifts.
REWARD_WINDOW_DAYS = 7
#: Days up to the period end over which the rhythm of events is measured (``event_gap_cv``).
EVENT_RHYTHM_DAYS = 180
#: Purchase categories with a share metric each (``purchase_share_<category>``).
PURCHASE_CATEGORIES: tuple[str, ...] = ("course", "product", "membership", "shop")

_GROUP = "practices"

#: What each metric of this module needs in the data to be defined: an event type or an optional field.
#: Exports that lack it leave the metric missing (and the rules built on it not applicable).
NEEDS: dict[str, str] = {
    "event_gap_cv": "event or event_attend events",
    "event_attendance_rate": "event or event_attend events",
    "checkin_rate": "checkin events",
    "member_hosted_events_share": "event events",
    "reward_activity_lift": "reward events",
    "reward_purchase_lift": "reward and purchase events",
    **{f"zombie_share_{c}": "members.join_channel" for c in S.JOIN_CHANNEL.codes},
    **{f"purchase_share_{c}": "events.category on purchases" for c in PURCHASE_CATEGORIES},
    "membership_renewal_rate": "events.category = membership on purchases, a year old",
    "member_moderation_share": "moderation events",
}


def _d(n: int) -> str:
    return f"INTERVAL '{n} days'"


_IN_PERIOD = "e.ts > p.p_start AND e.ts <= p.p_end"

# ------------------------------------------------------------------ lurkers (潜水)

register(Metric(
    "lurker_share_change_30d", "潜水占比30日变化", "lurker share change over 30 days",
    "lurker_share at the period end minus lurker_share 30 days earlier, each over the non-staff members "
    "present at that instant (joined by then, not left) who had created no content (message, post, reply) "
    "by then. Positive = the share of members who never speak is rising.",
    "lurker_share(p_end) − lurker_share(p_end − 30d)", "share", False, "DOMAIN.md §3 (潜水)",
    sql=f"""
WITH fc AS (
  SELECT community_id, member_id, first_content FROM content_first),
inst AS (
  SELECT community_id, period, p_end AS t, 1 AS now_ FROM periods
  UNION ALL SELECT community_id, period, p_end - {_d(30)} AS t, 0 AS now_ FROM periods),
s AS (
  SELECT i.community_id, i.period, i.now_,
         avg(CASE WHEN fc.first_content IS NULL OR fc.first_content > i.t THEN 1.0 ELSE 0.0 END) AS share,
         count(*) AS n
  FROM inst i JOIN roles r ON r.community_id = i.community_id
  LEFT JOIN fc ON fc.community_id = r.community_id AND fc.member_id = r.member_id
  WHERE NOT r.is_staff AND r.joined_at <= i.t AND (r.left_at IS NULL OR r.left_at > i.t)
  GROUP BY i.community_id, i.period, i.now_)
SELECT a.community_id, a.period, a.share - b.share AS value, CAST(a.n AS DOUBLE) AS n
FROM s a JOIN s b ON b.community_id = a.community_id AND b.period = a.period AND b.now_ = 0
WHERE a.now_ = 1
""", group="activity", group_size=PRESENT))

# ------------------------------------------------------------------ events and rituals


def _event_days(since: str) -> str:
    """CTE ``evdays``: event days ``d`` after ``since`` up to the period end, with ``a`` attendees each."""
    return f"""
evdays AS (
  SELECT community_id, period, d,
         count(DISTINCT member_id) FILTER (WHERE event_type = 'event_attend' AND NOT is_staff) AS a
  FROM (SELECT p.community_id, p.period, {day_number("e.ts")} AS d, e.member_id, e.event_type, e.is_staff
        FROM periods p JOIN ev_rare e ON e.community_id = p.community_id
          AND e.event_type IN ('event', 'event_attend') AND e.ts > {since} AND e.ts <= p.p_end) AS x
  GROUP BY community_id, period, d
  HAVING count(*) FILTER (WHERE event_type = 'event') > 0
      OR count(DISTINCT member_id) FILTER (WHERE event_type = 'event_attend' AND NOT is_staff) >= 3)"""


register(Metric(
    "event_gap_cv", "活动间隔变异系数", "irregularity of events (CV of gaps)",
    f"Event days (UTC days with an event held, or with at least 3 members attending) in the {EVENT_RHYTHM_DAYS} "
    "days up to the period end; the gaps in days between consecutive event days; value: their population "
    "standard deviation divided by their mean (0 = a fixed rhythm such as every Sunday). Defined from 3 event "
    "days.",
    "σ(gaps) / mean(gaps), gaps between event days", "ratio", False,
    "DOMAIN.md §4 (群规/组织活动), §4b (regular events and rituals)",
    sql=f"""
WITH {_event_days(f"p.p_end - {_d(EVENT_RHYTHM_DAYS)}")},
g AS (SELECT community_id, period, d - lag(d) OVER (PARTITION BY community_id, period ORDER BY d) AS gap
      FROM evdays)
SELECT community_id, period, stddev_pop(gap) / avg(gap) AS value
FROM g WHERE gap IS NOT NULL GROUP BY community_id, period HAVING count(*) >= 2
""", group=_GROUP))

register(Metric(
    "event_attendance_rate", "活动参与率", "event attendance rate",
    "Event days in the period (as for event_gap_cv); for each, the distinct non-staff members attending "
    "(event_attend) that UTC day; value: attendees summed over the event days divided by (event days × "
    "members present at the period end). Missing without an event day in the period.",
    "Σ_d attendees_d / (event days · members)", "share", True,
    "DOMAIN.md §4 (五大价值: 培训; event attendance), §4b (rituals)",
    sql=f"""
WITH {_event_days("p.p_start")},
m AS (SELECT community_id, period, n FROM present_n WHERE n > 0)
SELECT x.community_id, x.period, sum(x.a) / (count(*) * max(m.n)) AS value, CAST(max(m.n) AS DOUBLE) AS n
FROM evdays x JOIN m ON m.community_id = x.community_id AND m.period = x.period
GROUP BY x.community_id, x.period
""", group=_GROUP, group_size=PRESENT))

register(Metric(
    "checkin_rate", "打卡率", "check-in rate",
    "Distinct (member, day) check-ins (checkin) by members present at the period end over the 30 days up to "
    "it (24-hour days counted back from p_end), divided by members × 30: the share of member-days with a "
    "check-in. Missing where the community has no check-in event up to the period end (no 打卡 ritual).",
    "|{(m, d) : checkin}| / (members · 30)", "share", True, "DOMAIN.md §4b (打卡 check-ins)",
    sql=f"""
WITH c AS (
  SELECT DISTINCT p.pk, p.community_id, p.period, e.member_id,
         CAST({days_between("e.ts", "p.p_end")} AS INTEGER) AS d
  FROM period_keys p JOIN ev_rare e ON e.community_id = p.community_id AND e.event_type = 'checkin'
    AND e.ts > p.p_end - {_d(30)} AND e.ts <= p.p_end),
k AS (
  SELECT c.community_id, c.period, count(*) AS k FROM c
  JOIN present pr ON pr.pk = c.pk AND pr.member_id = c.member_id
  GROUP BY c.community_id, c.period),
ritual AS (
  SELECT DISTINCT p.community_id, p.period FROM periods p
  JOIN ev_rare e ON e.community_id = p.community_id AND e.event_type = 'checkin' AND e.ts <= p.p_end),
m AS (SELECT community_id, period, n FROM present_n WHERE n > 0)
SELECT r.community_id, r.period, coalesce(k.k, 0) / (m.n * 30.0) AS value, CAST(m.n AS DOUBLE) AS n
FROM ritual r JOIN m ON m.community_id = r.community_id AND m.period = r.period
LEFT JOIN k ON k.community_id = r.community_id AND k.period = r.period
""", group=_GROUP, group_size=PRESENT))

register(Metric(
    "member_hosted_events_share", "成员主持活动占比", "events hosted by members",
    "Share of the events held in the period (event) whose host (the event's member) is not on the staff: a "
    "member or an invited guest (role guest). Missing without an event held in the period.",
    "|{event : host not staff}| / |{event}|", "share", True,
    "DOMAIN.md §4b (分享 by invited guests or 大咖; core users take over)",
    sql=f"""
SELECT p.community_id, p.period, avg(CASE WHEN e.is_staff THEN 0.0 ELSE 1.0 END) AS value,
       CAST(count(DISTINCT e.member_id) FILTER (WHERE NOT e.is_staff) AS DOUBLE) AS n
FROM periods p JOIN ev_rare e ON e.community_id = p.community_id AND e.event_type = 'event' AND {_IN_PERIOD}
GROUP BY p.community_id, p.period
""", group=_GROUP, group_size="non-staff members who hosted an event in the period"))

# ------------------------------------------------------------------ incentives (激励机制)


def _reward_lift_sql(kinds: str) -> str:
    """Lift of the rewarded members' events of ``kinds`` (an SQL condition on ``a``) around their rewards."""
    w = REWARD_WINDOW_DAYS
    return f"""
WITH r AS (
  SELECT DISTINCT p.community_id, p.period, coalesce(e.target_member_id, e.member_id) AS m, e.ts AS rts
  FROM periods p JOIN ev_rare e ON e.community_id = p.community_id AND e.event_type = 'reward' AND {_IN_PERIOD}
    AND e.ts + {_d(w)} <= p.p_end),
rn AS (
  SELECT r.* FROM r LEFT JOIN staff s ON s.community_id = r.community_id AND s.member_id = r.m
  WHERE s.member_id IS NULL),
x AS (
  SELECT rn.community_id, rn.period, rn.m, rn.rts,
         count(a.ts) FILTER (WHERE a.ts > rn.rts) AS after_n,
         count(a.ts) FILTER (WHERE a.ts < rn.rts) AS before_n
  FROM rn LEFT JOIN act a ON a.community_id = rn.community_id AND a.member_id = rn.m AND ({kinds})
    AND a.ts >= rn.rts - {_d(w)} AND a.ts <= rn.rts + {_d(w)}
  GROUP BY rn.community_id, rn.period, rn.m, rn.rts)
SELECT community_id, period, CAST(sum(after_n) AS DOUBLE) / nullif(sum(before_n), 0) AS value,
       CAST(count(DISTINCT m) AS DOUBLE) AS n
FROM x GROUP BY community_id, period
"""


_REWARD_DEF = (
    "Rewards (reward: points, coupons, gifts) in the period to non-staff members whose following {w} days end by "
    "the period end; the receiver is the reward's target member (its member when no target is given). Value: "
    "the receivers' {what} in the {w} days after each reward divided by those in the {w} days before (rewards to "
    "one member at one instant count once). 1 = no change; missing when nothing happened before."
)
register(Metric(
    "reward_activity_lift", "奖励后活跃变化", "activity lift after rewards",
    _REWARD_DEF.format(w=REWARD_WINDOW_DAYS, what="activity (any event except join, leave and reward)"),
    "Σ events(r, r+7d] / Σ events[r−7d, r) over rewards r", "ratio", True,
    "DOMAIN.md §4 (激励机制: 积分, 优惠券 → activity lift after rewards)",
    sql=_reward_lift_sql("a.event_type <> 'reward'"), group=_GROUP,
    group_size="members rewarded in the period"))
register(Metric(
    "reward_purchase_lift", "奖励后购买变化", "purchase lift after rewards",
    _REWARD_DEF.format(w=REWARD_WINDOW_DAYS, what="purchases"),
    "Σ purchases(r, r+7d] / Σ purchases[r−7d, r) over rewards r", "ratio", True,
    "DOMAIN.md §4 (激励机制: 优惠券 → purchase lift after rewards)",
    sql=_reward_lift_sql("a.event_type = 'purchase'"), group=_GROUP,
    group_size="members rewarded in the period"))

# ------------------------------------------------------------------ recruitment (§4b)

for _ch in S.JOIN_CHANNEL.codes:
    _term = S.JOIN_CHANNEL[_ch]
    register(Metric(
        f"zombie_share_{_ch}", f"{_term.zh}入群成员的僵尸占比", f"zombie share of members joined by {_term.en}",
        f"zombie_share over the present members whose join_channel is {_ch!r}: joined at least 30 days before the "
        f"period end and no activity in the 30 days up to it. Missing below {JOIN_CHANNEL_MIN} such members (a "
        "share of fewer says little) and where join channels are not recorded.",
        f"|{{m ∈ {_ch} : zombie}}| / |{{m ∈ {_ch}}}|", "share", False,
        "DOMAIN.md §4b (purposeless recruiting fills a group with 僵尸粉)",
        sql=f"""
SELECT pr.community_id, pr.period,
  avg(CASE WHEN r.joined_at <= p.p_end - {_d(30)} AND f.member_id IS NULL THEN 1.0 ELSE 0.0 END) AS value,
  CAST(count(*) AS DOUBLE) AS n
FROM present pr
JOIN periods p ON p.community_id = pr.community_id AND p.period = pr.period
JOIN roles r ON r.community_id = pr.community_id AND r.member_id = pr.member_id AND r.join_channel = '{_ch}'
LEFT JOIN recent_pm f ON f.community_id = pr.community_id AND f.period = pr.period AND f.member_id = pr.member_id
GROUP BY pr.community_id, pr.period HAVING count(*) >= {JOIN_CHANNEL_MIN}
""", group=_GROUP, group_size=f"present members who joined by {_term.en}"))

# ------------------------------------------------------------------ monetization (§5)

for _cat in PURCHASE_CATEGORIES:
    _term = S.EVENT_CATEGORY[_cat]
    register(Metric(
        f"purchase_share_{_cat}", f"{_term.zh}类购买占比", f"{_term.en} share of purchases",
        f"Of the period's purchases by non-staff members that carry a category, the share in {_cat!r}. Missing "
        "where no purchase of the period carries a category.",
        f"|{{purchase : category = {_cat}}}| / |{{purchase : category known}}|", "share", None,
        "DOMAIN.md §5 (产品/会员/电商变现: purchases by category)",
        sql=f"""
SELECT p.community_id, p.period, avg(CASE WHEN e.category = '{_cat}' THEN 1.0 ELSE 0.0 END) AS value,
       CAST(count(DISTINCT e.member_id) AS DOUBLE) AS n
FROM periods p JOIN ev_rare e ON e.community_id = p.community_id AND e.event_type = 'purchase' AND NOT e.is_staff
  AND e.category IS NOT NULL AND {_IN_PERIOD}
GROUP BY p.community_id, p.period
""", group="monetization", group_size="members with a purchase of known category in the period"))

register(Metric(
    "membership_renewal_rate", "会员续费率", "membership renewal rate",
    f"Of the non-staff members whose first membership purchase (purchase with category membership) is at least "
    f"{MEMBERSHIP_TERM_DAYS} days before the period end (a year's term has run out), the share with another "
    "membership purchase by the period end. Missing where no membership is that old.",
    f"|{{m : first membership <= p_end − {MEMBERSHIP_TERM_DAYS}d, ≥ 2 membership purchases}}| / "
    f"|{{m : first membership <= p_end − {MEMBERSHIP_TERM_DAYS}d}}|", "share", True,
    "DOMAIN.md §5 (会员变现: membership renewals)",
    sql=f"""
WITH f AS (
  SELECT p.community_id, p.period, p.p_end, e.member_id, min(e.ts) AS first_ts, count(*) AS k
  FROM periods p JOIN ev_rare e ON e.community_id = p.community_id AND e.event_type = 'purchase'
    AND e.category = 'membership' AND NOT e.is_staff AND e.ts <= p.p_end
  GROUP BY p.community_id, p.period, p.p_end, e.member_id)
SELECT community_id, period, avg(CASE WHEN k >= 2 THEN 1.0 ELSE 0.0 END) AS value, CAST(count(*) AS DOUBLE) AS n
FROM f WHERE first_ts <= p_end - {_d(MEMBERSHIP_TERM_DAYS)}
GROUP BY community_id, period
""", group="monetization", group_size=f"members whose first membership is {MEMBERSHIP_TERM_DAYS}+ days old"))

# ------------------------------------------------------------------ core members carry the work (放权)

_CORE = " + ".join(f"CAST(((f.content_days >> {7 * w}) & 127) <> 0 AS INTEGER)" for w in range(4)) + " >= 3"

register(Metric(
    "core_reply_share", "核心成员回复占比", "replies by core members",
    "Of the period's replies (reply) by anyone but bots, the share written by non-staff core members: members "
    "present at the period end who created content in at least 3 of the 4 seven-day weeks before it (as "
    "core_share). Missing without a reply in the period.",
    "|{reply by core member}| / |{reply by non-bot}|", "share", True,
    "DOMAIN.md §4 (核心用户协助运营), §4b (core group carries the answering)",
    # the replies per member and period are counted in flow_pm (no pass of its own over the events)
    sql=f"""
WITH core AS (
  SELECT f.pk, f.member_id FROM recent_pm f
  JOIN present pr ON pr.pk = f.pk AND pr.member_id = f.member_id
  WHERE {_CORE})
SELECT f.community_id, f.period,
       CAST(coalesce(sum(f.replies) FILTER (WHERE c.member_id IS NOT NULL), 0) AS DOUBLE)
         / CAST(sum(f.replies) AS DOUBLE) AS value,
       CAST(count(c.member_id) AS DOUBLE) AS n
FROM flow_pm f
LEFT JOIN core c ON c.pk = f.pk AND c.member_id = f.member_id
WHERE f.replies > 0 AND NOT f.is_bot
GROUP BY f.community_id, f.period
""", group=_GROUP, group_size="core members who replied in the period"))

register(Metric(
    "member_moderation_share", "成员承担管理占比", "moderation by members",
    "Of the period's moderation events (moderation: pinning, removing, warning, welcoming) by anyone but bots, "
    "the share done by non-staff members (core users given rights, 放权). Missing without moderation events.",
    "|{moderation by non-staff}| / |{moderation by non-bot}|", "share", True,
    "DOMAIN.md §3 (放权给核心用户), §4b (core group and moderation)",
    sql=f"""
SELECT p.community_id, p.period, avg(CASE WHEN e.is_staff THEN 0.0 ELSE 1.0 END) AS value,
       CAST(count(DISTINCT e.member_id) FILTER (WHERE NOT e.is_staff) AS DOUBLE) AS n
FROM periods p JOIN ev_rare e ON e.community_id = p.community_id AND e.event_type = 'moderation' AND NOT e.is_bot
  AND {_IN_PERIOD}
GROUP BY p.community_id, p.period
""", group=_GROUP, group_size="non-staff members who moderated in the period"))

# ------------------------------------------------------------------ main platform (主战场)

register(Metric(
    "main_platform_share", "主平台活跃占比", "main platform share",
    "Member activity (non-staff events except join and leave) in the period by platform (the event's platform, "
    "else the community's primary platform); value: the share on the platform with the most. 1 for a community "
    "on one platform.",
    "max_platform |activity on platform| / |activity|", "share", True,
    "DOMAIN.md §4b (pick one 主战场 before spreading), §6 (cross-platform)",
    # the activity per period and platform is counted in the prelude's platform_pm (no pass of its own over the events)
    sql="""
WITH k AS (SELECT pk, platform, k FROM platform_pm),
a AS (
  SELECT p.community_id, p.period, coalesce(k.platform, c.platform) AS pf, sum(k.k) AS k
  FROM k JOIN period_keys p ON p.pk = k.pk JOIN communities c ON c.community_id = p.community_id
  GROUP BY p.community_id, p.period, coalesce(k.platform, c.platform))
SELECT community_id, period, CAST(max(k) AS DOUBLE) / sum(k) AS value FROM a GROUP BY community_id, period
""", group=_GROUP))


# ------------------------------------------------------------------ the per-platform breakdown


def platform_activity(events: pd.DataFrame, members: pd.DataFrame, communities: pd.DataFrame, *,
                      start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Member activity per community and platform over ``start < ts <= end`` (as ``main_platform_share``).

    Parameters
    ----------
    events, members, communities : DataFrame
        Canonical tables (``events.platform`` optional; where empty, the community's primary platform).
    start, end : Timestamp
        The window (UTC).

    Returns
    -------
    DataFrame
        ``community_id, platform, events, share`` (share of the community's member activity), largest
        first within each community; no row for a community without member activity.
    """
    cols = [Col.community_id, "platform", "events", "share"]
    ev = events[[Col.community_id, Col.member_id, "ts", "event_type",
                 *(["platform"] if "platform" in events.columns else [])]]
    ev = ev[(ev["ts"] > start) & (ev["ts"] <= end) & ~ev["event_type"].isin(["join", "leave"])]
    staff = members.loc[members["role"].isin(STAFF_ROLES), [Col.community_id, Col.member_id]].assign(_s=True)
    ev = ev.merge(staff, on=[Col.community_id, Col.member_id], how="left")
    ev = ev[ev["_s"].isna()]
    if not len(ev):
        return pd.DataFrame(columns=cols)
    primary = communities.set_index(communities[Col.community_id].astype(str))["platform"].astype("string")
    own = ev["platform"].astype("string") if "platform" in ev.columns else pd.Series(pd.NA, index=ev.index,
                                                                                      dtype="string")
    pf = own.fillna(ev[Col.community_id].astype(str).map(primary))
    counts = ev.groupby([ev[Col.community_id].astype(str).rename(Col.community_id), pf.rename("platform")]).size()
    out = counts.rename("events").reset_index()
    out["share"] = out["events"] / out.groupby(Col.community_id)["events"].transform("sum")
    out = out.sort_values([Col.community_id, "events", "platform"], ascending=[True, False, True])
    return out[cols].reset_index(drop=True)
