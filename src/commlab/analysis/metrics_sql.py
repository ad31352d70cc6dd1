"""The SQL-defined community metrics (registered in :mod:`commlab.analysis.metrics`).

Each definition is DuckDB SQL over the relations ``periods``, ``roles``, ``ev``, ``act``,
``present`` and ``communities`` described in :mod:`commlab.analysis.metrics`; it returns
``community_id, period, value`` and, for a value computed over a set of members, ``n``: how
many members that set holds (declared with ``group_size``). "Members" are non-staff members (owners, staff and bots
are counted apart); "content" is ``message``, ``post`` or ``reply`` (``schema.CONTENT_EVENTS``);
"activity" is any event except ``join`` and ``leave``. Windows: flows count
``p_start < ts <= p_end``, trailing windows ``p_end - N days < ts <= p_end``.
"""

from __future__ import annotations

from commlab.analysis.daymask import BLOCK_DAYS, US_PER_DAY, block_of, day_bit, day_number, days_between
from commlab.analysis.metrics import Metric, register, register_relation
from commlab.data import schema as S

__all__: list[str] = []

CONTENT = "(" + ", ".join(f"'{e}'" for e in S.CONTENT_EVENTS) + ")"


def _d(n: int) -> str:
    return f"INTERVAL '{n} days'"


def _in_period(alias: str = "e") -> str:
    return f"{alias}.ts > p.p_start AND {alias}.ts <= p.p_end"


#: ``group_size`` of the metrics computed over the members present at the period end.
PRESENT = "members present at the period end"


def _member_share(flag_cte: str) -> str:
    """Share of present members that appear in the CTE ``flag`` (``pk``, ``member_id``: the period key and member)."""
    return f"""
WITH flag AS ({flag_cte})
SELECT pr.community_id, pr.period,
       avg(CASE WHEN f.member_id IS NULL THEN 0.0 ELSE 1.0 END) AS value, count(*)::DOUBLE AS n
FROM present pr
LEFT JOIN (SELECT DISTINCT pk, member_id FROM flag) f ON f.pk = pr.pk AND f.member_id = pr.member_id
GROUP BY pr.community_id, pr.period
"""


#: Each present member with their ``recent_pm`` bits (NULL without activity in the 30 days up to ``p_end``;
#: ``recent`` false then), their ``joined_at`` and the period end: one join of ``present`` to ``recent_pm`` for the
#: shares of present members below (active shares, zombie and core shares), each of which joined them on its own
#: (5 M events, one period: the four 0.13 -> 0.06 s CPU).
register_relation("present_recent", """
SELECT pr.community_id, pr.period, pr.member_id, pr.joined_at, p.p_end, f.member_id IS NOT NULL AS recent,
       f.act_days, f.content_days, pr.pk
FROM present pr
JOIN period_keys p ON p.pk = pr.pk
LEFT JOIN recent_pm f ON f.pk = pr.pk AND f.member_id = pr.member_id
""")


#: The members present at each period end, counted once for the metrics that divide by them (``members``,
#: ``revenue_per_member``, ``event_attendance_rate``, ``checkin_rate``): ``pk, community_id, period, n`` for every
#: period (0 without members). Each of them grouped ``present`` by the community and period strings on its own.
register_relation("present_n", """
SELECT p.pk, p.community_id, p.period, coalesce(m.n, 0) AS n
FROM period_keys p LEFT JOIN (SELECT pk, count(*) AS n FROM present GROUP BY pk) m ON m.pk = p.pk
""")


def _recent_share(cond: str) -> str:
    """Share of present members meeting ``cond``, a condition on their ``present_recent`` row ``f``.

    ``f.act_days`` and ``f.content_days`` are NULL for a member without activity in the 30 days up to ``p_end``.
    Grouped by the period key, not the community and period strings (5 M events, three period sets:
    active_share_7d 0.036 -> 0.014 s CPU, zombie_share 0.099 -> 0.077, core_share 0.056 -> 0.035).
    """
    return f"""
SELECT p.community_id, p.period, x.value, x.n
FROM (SELECT pk, avg(CASE WHEN {cond} THEN 1.0 ELSE 0.0 END) AS value, count(*)::DOUBLE AS n
      FROM present_recent f GROUP BY pk) x
JOIN period_keys p ON p.pk = x.pk
"""


def _days_bits(mask: str, first: int, n: int) -> str:
    """``mask`` restricted to days ``first .. first + n - 1`` before ``p_end`` (``recent_pm`` bits)."""
    return f"(({mask} >> {first}) & {(1 << n) - 1})"


# ------------------------------------------------------------------ size and activity

register(Metric(
    "members", "成员数", "members",
    "Non-staff members present at the end of the period (joined by then and not left).",
    "|{m : joined_at <= p_end < left_at, role = member}|", "count", None, "DOMAIN.md §3",
    sql="SELECT community_id, period, n::DOUBLE AS value FROM present_n", group="activity"))

for _n in (7, 30):
    register(Metric(
        f"active_share_{_n}d", f"{_n}日活跃率", f"{_n}-day active share",
        f"Share of present members with any activity (not join/leave) in the {_n} days up to the period end.",
        f"active_{_n}d / members", "share", True, "DOMAIN.md §4 (维护基本活跃)",
        sql=_recent_share(f"{_days_bits('f.act_days', 0, _n)} <> 0"),
        group="activity", group_size=PRESENT))

register(Metric(
    "stickiness", "黏性(DAU/MAU)", "stickiness (DAU/MAU)",
    "Mean daily active members over the 30 days up to the period end (24-hour days counted back "
    "from p_end) divided by the members active in those 30 days.",
    "mean_{d=1..30} DAU_d / MAU_30", "ratio", True, "DOMAIN.md §4 (daily/weekly active ratio)",
    sql="""
SELECT community_id, period, (sum(bit_count(act_days)) / 30.0) / count(*) AS value, count(*)::DOUBLE AS n
FROM recent_pm GROUP BY community_id, period
""", group="activity", group_size="members active in the 30 days (MAU)"))

register(Metric(
    "content_days_share", "有成员内容的天数占比", "days with member content",
    "Share of the 30 days (24-hour days counted back from p_end) on which some member created content.",
    "|{d in last 30 : member content on d}| / 30", "share", True, "DOMAIN.md §4 (days with member content)",
    sql="""
SELECT community_id, period, bit_count(bit_or(content_days)) / 30.0 AS value,
       count(*) FILTER (WHERE content_days <> 0)::DOUBLE AS n
FROM recent_pm GROUP BY community_id, period HAVING bit_or(content_days) <> 0
""", group="activity", group_size="members who created content in the 30 days"))

register(Metric(
    "zombie_share", "僵尸成员占比", "zombie share",
    "Share of present members who joined at least 30 days before the period end and had no activity "
    "in the 30 days up to it (僵尸粉: joined, never or no longer active).",
    "|{m : joined_at <= p_end-30d, no activity in (p_end-30d, p_end]}| / members", "share", False,
    "DOMAIN.md §3 (僵尸粉)",
    sql=_recent_share(f"f.joined_at <= f.p_end - {_d(30)} AND NOT f.recent"), group="activity", group_size=PRESENT))

register(Metric(
    "lurker_share", "潜水成员占比", "lurker share",
    "Share of present members who never created content (message, post or reply) up to the period end "
    "(潜水: present, reading, never speaking; they may react or check in).",
    "|{m : no content with ts <= p_end}| / members", "share", False, "DOMAIN.md §3 (潜水)",
    sql="""
WITH fc AS (
  SELECT community_id, member_id, first_content FROM content_first)
SELECT pr.community_id, pr.period,
  avg(CASE WHEN fc.first_content IS NULL OR fc.first_content > p.p_end THEN 1.0 ELSE 0.0 END) AS value,
  count(*)::DOUBLE AS n
FROM present pr JOIN period_keys p ON p.pk = pr.pk
LEFT JOIN fc ON fc.community_id = pr.community_id AND fc.member_id = pr.member_id
GROUP BY pr.community_id, pr.period
""", group="activity", group_size=PRESENT))

# ------------------------------------------------------------------ participation inequality

#: Content per present member in the period as a distribution: ``x`` (content count) and ``c`` (members with that
#: count) per community and period: the prelude's ``content_counts`` table (grouped once per call). The inequality
#: metrics below only depend on the multiset of counts, so they rank the few distinct counts instead of sorting
#: every member (ties in ``x`` add the same to every rank sum and tier share whichever member comes first). Ranks and
#: sums are whole numbers, exact in a DOUBLE below 2**53: the values are those of a ranking of every member, bit for
#: bit (the four metrics at 5 M events, three period sets: 8.7 s -> 0.7 s).
_CONTENT_COUNTS = "d AS (SELECT community_id, period, x, c FROM content_counts)"

register(Metric(
    "gini_content", "发言基尼系数", "participation inequality (Gini)",
    "Gini coefficient of content counts in the period over the members present at its end (members "
    "without content count as 0). 0 = everyone contributes equally, 1 = one member does everything.",
    "G = 2·Σ i·x_(i) / (n·Σx) − (n+1)/n, x ascending", "index", False, "DOMAIN.md §3; 90-9-1 rule",
    # the members with count x hold the ranks below+1 .. below+c: Σ i over them = c·below + c(c+1)/2
    sql=f"""
WITH {_CONTENT_COUNTS},
r AS (SELECT community_id, period, x, c,
             CAST(coalesce(sum(c) OVER (PARTITION BY community_id, period ORDER BY x
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS BIGINT) AS below,
             CAST(sum(c) OVER (PARTITION BY community_id, period) AS BIGINT) AS n FROM d)
SELECT community_id, period,
  CASE WHEN sum(x * c) > 0 THEN 2.0 * sum(x * (c * below + c * (c + 1) / 2)) / (max(n) * sum(x * c))
       - (max(n) + 1.0) / max(n) END AS value,
  max(n)::DOUBLE AS n
FROM r GROUP BY community_id, period
""", group="participation", group_size=PRESENT))

_TIERS = {
    "top1": ("rk <= ceil(0.01 * n)", "1", "ceil(0.01 * n)", "前1%成员内容占比", "content share of top 1 %"),
    "next9": ("rk > ceil(0.01 * n) AND rk <= ceil(0.10 * n)", "ceil(0.01 * n) + 1", "ceil(0.10 * n)",
              "次9%成员内容占比", "content share of next 9 %"),
    "rest": ("rk > ceil(0.10 * n)", "ceil(0.10 * n) + 1", "n",
             "其余90%成员内容占比", "content share of the other 90 %"),
}
for _tier, (_cond, _lo, _hi, _zh, _en) in _TIERS.items():
    register(Metric(
        f"content_share_{_tier}", _zh, _en,
        "Members present at the period end ranked by content in the period (ties by id); the top 1 % is the "
        "first ceil(0.01·n) members, the next 9 % up to ceil(0.10·n), the rest the others. Value: their "
        "share of the period's member content.",
        f"Σ x over {_cond} / Σ x", "share", None if _tier != "rest" else True, "DOMAIN.md §3; 90-9-1 rule",
        # the members with count x hold the ranks (by x descending) hi-c+1 .. hi; k of them fall in the tier
        sql=f"""
WITH {_CONTENT_COUNTS},
r AS (SELECT community_id, period, x, c,
             CAST(sum(c) OVER (PARTITION BY community_id, period ORDER BY x DESC
                               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS hi,
             CAST(sum(c) OVER (PARTITION BY community_id, period) AS BIGINT) AS n FROM d),
o AS (SELECT community_id, period, x, c, greatest(least(hi, {_hi}) - greatest(hi - c + 1, {_lo}) + 1, 0) AS k
      FROM r)
SELECT community_id, period, CASE WHEN sum(x * c) > 0 THEN sum(x * k) / sum(x * c) END AS value,
       sum(k)::DOUBLE AS n
FROM o GROUP BY community_id, period
""", group="participation", group_size="members in the tier (e.g. ceil(0.01·n) for the top 1 %)"))

register(Metric(
    "core_share", "核心成员占比", "core member share",
    "Share of present members who created content in at least 3 of the 4 seven-day weeks before the "
    "period end (regular contributors; Orbit level 1–2).",
    "|{m : content weeks in last 28 days >= 3}| / members", "share", True, "DOMAIN.md §3 (核心用户); Orbit Model",
    sql=_recent_share(" + ".join(
        f"CAST({_days_bits('f.content_days', 7 * w, 7)} <> 0 AS INTEGER)" for w in range(4)) + " >= 3"),
    group="participation", group_size=PRESENT))

register(Metric(
    "ugc_share", "UGC占比(非官方内容)", "UGC share (content by non-staff)",
    "Share of the period's content (message, post, reply) created by non-staff members.",
    "content by members / all content", "share", True, "DOMAIN.md §4 (用户自发产生内容)",
    sql="""
SELECT community_id, period, coalesce(sum(content) FILTER (WHERE NOT is_staff), 0) / sum(content) AS value,
       count(*) FILTER (WHERE NOT is_staff)::DOUBLE AS n
FROM flow_pm WHERE content > 0
GROUP BY community_id, period
""", group="participation", group_size="non-staff members who created content in the period"))

register(Metric(
    "contributor_absence_factor", "贡献者缺席因子", "contributor absence factor",
    "Fewest contributors (any role except bots) who together created at least half of the period's "
    "content (CHAOSS 'bus factor'). Higher = less dependent on a few people.",
    "min k : Σ_{top k} x >= Σx / 2", "count", True, "CHAOSS (Contributor Absence Factor)",
    # by distinct count x (descending), as the inequality metrics above: the c contributors with count x hold the
    # ranks cb+1 .. cb+c after sb content; the j-th of them reaches half when 2·(sb + j·x) >= tot
    sql="""
WITH d AS (
  SELECT community_id, period, content AS x, count(*) AS c FROM flow_pm WHERE content > 0 AND NOT is_bot
  GROUP BY community_id, period, content),
r AS (SELECT community_id, period, x, c,
  CAST(coalesce(sum(x * c) OVER (PARTITION BY community_id, period ORDER BY x DESC
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS BIGINT) AS sb,
  CAST(coalesce(sum(c) OVER (PARTITION BY community_id, period ORDER BY x DESC
                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS BIGINT) AS cb,
  CAST(sum(x * c) OVER (PARTITION BY community_id, period) AS BIGINT) AS tot FROM d),
j AS (SELECT *, greatest(1, CAST(ceil((tot - 2 * sb) / (2.0 * x)) AS BIGINT)) AS j FROM r)
SELECT community_id, period, min(cb + j) FILTER (WHERE j <= c)::DOUBLE AS value
FROM j GROUP BY community_id, period
""", group="participation"))

# ------------------------------------------------------------------ response to posts

#: Each member post of the period (with a thread id) and its first response: one table for the six response
#: metrics, built once per call (each metric used to compute it again: at 50 M events 6 x ~15 s under load).
register_relation("post_responses", f"""
WITH posts AS (
  SELECT p.community_id, p.period, p.p_end, e.member_id AS poster, e.thread_id, e.ts AS post_ts
  FROM periods p JOIN ev e ON e.community_id = p.community_id AND e.event_type = 'post' AND {_in_period()}
  WHERE NOT e.is_staff AND e.thread_id IS NOT NULL),
first AS (
  SELECT q.community_id, q.period, q.poster, q.thread_id, q.post_ts,
         min(r.ts) AS first_ts, arg_min(r.is_staff, r.ts) AS by_staff
  FROM posts q LEFT JOIN ev r ON r.community_id = q.community_id AND r.thread_id = q.thread_id
    AND r.event_type = 'reply' AND r.member_id <> q.poster AND NOT r.is_bot
    AND r.ts > q.post_ts AND r.ts <= q.p_end
  GROUP BY q.community_id, q.period, q.poster, q.thread_id, q.post_ts)
SELECT *, (epoch(first_ts) - epoch(post_ts)) / 3600.0 AS hours FROM first
""")
_RESP_DEF = (
    "Posts (new threads/questions) by members in the period with a thread id; a response is a reply in the "
    "same thread by someone else (not a bot), after the post and by the period end. 'Staff'/'members' "
    "split by who gave the first response."
)
_POSTERS = "count(DISTINCT poster)"
_ANSWERED = "count(DISTINCT poster) FILTER (WHERE first_ts IS NOT NULL)"
for _mid, _zh, _en, _expr, _unit, _dir, _n, _size in (
    ("response_rate", "提问回应率", "response rate", "avg(CASE WHEN first_ts IS NULL THEN 0.0 ELSE 1.0 END)",
     "share", True, _POSTERS, "members who posted"),
    ("response_rate_staff", "官方首答率", "response rate (first answer by staff)",
     "avg(CASE WHEN first_ts IS NOT NULL AND by_staff THEN 1.0 ELSE 0.0 END)", "share", None, _POSTERS,
     "members who posted"),
    ("response_rate_members", "成员首答率", "response rate (first answer by members)",
     "avg(CASE WHEN first_ts IS NOT NULL AND NOT by_staff THEN 1.0 ELSE 0.0 END)", "share", True, _POSTERS,
     "members who posted"),
    ("median_first_response_hours", "首次回应时间中位数(小时)", "median time to first response (hours)",
     "median(hours)", "hours", False, _ANSWERED, "members whose posts were answered"),
    ("median_first_response_hours_staff", "官方首次回应时间中位数(小时)", "median time to first response by staff (h)",
     "median(hours) FILTER (WHERE by_staff)", "hours", False,
     "count(DISTINCT poster) FILTER (WHERE first_ts IS NOT NULL AND by_staff)",
     "members whose posts were answered first by staff"),
    ("median_first_response_hours_members", "成员首次回应时间中位数(小时)",
     "median time to first response by members (h)", "median(hours) FILTER (WHERE NOT by_staff)", "hours", False,
     "count(DISTINCT poster) FILTER (WHERE first_ts IS NOT NULL AND NOT by_staff)",
     "members whose posts were answered first by members"),
):
    register(Metric(
        _mid, _zh, _en, _RESP_DEF, _expr.replace("avg(", "mean(") + " over posts", _unit, _dir,
        "DOMAIN.md §4 (对接用户获得反馈); Discourse reports (time to first response)",
        sql=f"SELECT community_id, period, {_expr} AS value, {_n}::DOUBLE AS n FROM post_responses "
            "GROUP BY community_id, period",
        group="response", group_size=_size))

# ------------------------------------------------------------------ retention and survival

#: Each non-staff member's activity in the 30-day steps after joining: ``a30``, ``a60``, ``a90`` true when they
#: did anything (not join/leave) in (joined_at + n−30 d, joined_at + n d]. Computed with each member's first content
#: in the prelude's ``member_firsts`` (one pass over the events for the three retention metrics and the lurker
#: metrics); a member's flags do not depend on the period, whose cohort only picks the members.
register_relation("newcomer_activity", """
SELECT community_id, member_id, a30, a60, a90 FROM member_firsts WHERE a30 IS NOT NULL
""")



for _n in (30, 60, 90):
    register(Metric(
        f"retention_{_n}d", f"新成员{_n}日留存率", f"newcomer retention at {_n} days",
        f"Of the non-staff members who joined in the 30 days ending {_n} days before the period end, the share "
        f"with any activity in days {_n - 30}–{_n} after joining (joined_at + {_n - 30}d < ts <= joined_at + {_n}d).",
        f"|retained| / |joined in (p_end-{_n + 30}d, p_end-{_n}d]|", "share", True,
        "DOMAIN.md §4 (retention of cohorts)",
        sql=f"""
WITH coh AS (
  SELECT p.community_id, p.period, r.member_id FROM periods p
  JOIN roles r ON r.community_id = p.community_id
  WHERE NOT r.is_staff AND r.joined_at > p.p_end - {_d(_n + 30)} AND r.joined_at <= p.p_end - {_d(_n)})
SELECT coh.community_id, coh.period, avg(CASE WHEN a.a{_n} THEN 1.0 ELSE 0.0 END) AS value, count(*)::DOUBLE AS n
FROM coh LEFT JOIN newcomer_activity a ON a.community_id = coh.community_id AND a.member_id = coh.member_id
GROUP BY coh.community_id, coh.period
""", group="retention", group_size="members of the join cohort"))

#: A condition on an ``ev_raw`` row ``e``: activity (not join or leave) by someone not on the staff. For the metrics
#: that read the few events of a community's first days: the staff rows are looked up for those events only, not
#: joined to every event as in ``act`` (5 M events: early_survival_ratio 0.16 -> 0.12 s CPU).
_ACT_NON_STAFF = ("e.event_type NOT IN ('join', 'leave') AND NOT EXISTS (SELECT 1 FROM staff s "
                  "WHERE s.community_id = e.community_id AND s.member_id = e.member_id)")

#: Members active per day of a community's first year: ``community_id, day, dau`` (day 1 = the first 24 hours after
#: ``created_at``, up to day 365; only days with activity), for the communities with member activity in days 1-3 (the
#: two metrics below are missing for the others). Active members per day come from bit masks of 63-day blocks per
#: member: a group per member and block instead of a DISTINCT over every (day, member). Shared by
#: ``early_survival_ratio`` (days 1-30) and ``days_to_activity_floor`` (5 M events: the two 0.27 -> 0.15 s CPU).
register_relation("first_days_dau", f"""
WITH young AS (
  SELECT DISTINCT e.community_id FROM ev_first3d e JOIN communities c USING (community_id)
  WHERE {_ACT_NON_STAFF} AND e.ts >= c.created_at AND e.ts < c.created_at + {_d(3)}),
blocks AS (
  SELECT community_id, member_id, {block_of("d0")} AS blk, bit_or({day_bit("d0")}) AS mask
  FROM (
    SELECT e.community_id, e.member_id, {days_between("c.created_at", "e.ts")} AS d0
    FROM ev_first365d e JOIN communities c USING (community_id)
    WHERE {_ACT_NON_STAFF} AND e.ts >= c.created_at AND e.ts < c.created_at + {_d(365)}
      AND e.community_id IN (SELECT community_id FROM young)) AS x
  GROUP BY community_id, member_id, {block_of("d0")})
SELECT b.community_id, b.blk * {BLOCK_DAYS} + r.i + 1 AS day, count(*) AS dau
FROM blocks b CROSS JOIN (SELECT unnest(range({BLOCK_DAYS})) AS i) AS r
WHERE (b.mask >> r.i) & 1 = 1
GROUP BY b.community_id, b.blk * {BLOCK_DAYS} + r.i + 1
""")

register(Metric(
    "early_survival_ratio", "建群早期存活比", "early survival ratio",
    "'建群三天必死': mean daily active members on days 4–30 after the community's creation divided by the "
    "mean on days 1–3 (day 1 = first 24 hours). Defined once 30 days have passed by the period end.",
    "mean DAU(days 4–30) / mean DAU(days 1–3)", "ratio", True, "DOMAIN.md §4 (建群三天必死)",
    # a community without activity in days 1-3 has no rows in first_days_dau: its sums are NULL, the value too
    sql=f"""
WITH base AS (
  SELECT p.community_id, p.period, c.created_at FROM periods p JOIN communities c USING (community_id)
  WHERE c.created_at + {_d(30)} <= p.p_end)
SELECT b.community_id, b.period,
  (coalesce(sum(d.dau) FILTER (WHERE d.day >= 4), 0) / 27.0) / (sum(d.dau) FILTER (WHERE d.day <= 3) / 3.0)
    AS value
FROM base b LEFT JOIN first_days_dau d ON d.community_id = b.community_id AND d.day <= 30
GROUP BY b.community_id, b.period
""", group="retention"))

register(Metric(
    "days_to_activity_floor", "活跃跌破底线天数", "days until activity falls below the floor",
    "First day d >= 4 after creation (day 1 = first 24 hours) at which the mean daily active members over "
    "days max(4, d−6)..d falls below 25 % of the days 1–3 mean. Missing when it has not happened by the period "
    "end or within 365 days (censored), or when days 1–3 had no member activity.",
    "min d >= 4 : mean DAU(max(4,d−6)..d) < 0.25 · mean DAU(1..3)", "days", True, "DOMAIN.md §4 (建群三天必死)",
    sql=f"""
WITH base AS (
  SELECT p.community_id, p.period, c.created_at,
         least(365, {days_between("c.created_at", "p.p_end")}) AS n_days
  FROM periods p JOIN communities c USING (community_id)),
series AS (
  SELECT b.community_id, b.period, s.day FROM base b, LATERAL (SELECT unnest(range(1, b.n_days + 1)) AS day) s),
full_ AS (
  SELECT s.community_id, s.period, s.day, coalesce(d.dau, 0) AS dau
  FROM series s LEFT JOIN first_days_dau d ON d.community_id = s.community_id AND d.day = s.day),
early AS (
  SELECT community_id, period, avg(dau) AS e3 FROM full_ WHERE day <= 3
  GROUP BY community_id, period HAVING count(*) = 3),
roll AS (
  SELECT community_id, period, day,
         avg(dau) OVER (PARTITION BY community_id, period ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW)
           AS m7
  FROM full_ WHERE day >= 4)
SELECT r.community_id, r.period, min(r.day) FILTER (WHERE r.m7 < 0.25 * e.e3)::DOUBLE AS value
FROM roll r JOIN early e ON e.community_id = r.community_id AND e.period = r.period
WHERE e.e3 > 0
GROUP BY r.community_id, r.period
""", group="retention"))

# ------------------------------------------------------------------ monetization and outcomes

register(Metric(
    "buyer_share", "购买成员占比", "buyer share",
    "Share of present members with at least one purchase in the period.",
    "|{m : purchase in period}| / members", "share", True, "DOMAIN.md §5",
    sql=_member_share("""
SELECT pk, member_id FROM flow_pm WHERE purchases > 0 AND NOT is_staff"""),
    group="monetization", group_size=PRESENT))

register(Metric(
    "revenue_per_member", "人均收入", "revenue per member",
    "Sum of purchase amounts by members in the period divided by the members present at its end.",
    "Σ amount / members", "currency", True, "DOMAIN.md §5",
    # the amounts and the members grouped once each and joined to the periods (not two subqueries per period)
    sql="""
SELECT p.community_id, p.period, coalesce(a.amount, 0) / nullif(coalesce(m.n, 0), 0) AS value,
       coalesce(m.n, 0)::DOUBLE AS n
FROM periods p
LEFT JOIN (SELECT community_id, period, CAST(sum(amount) AS DOUBLE) AS amount FROM flow_pm WHERE NOT is_staff
           GROUP BY community_id, period) a ON a.community_id = p.community_id AND a.period = p.period
LEFT JOIN present_n m ON m.community_id = p.community_id AND m.period = p.period
""", group="monetization", group_size=PRESENT))

register(Metric(
    "repeat_purchase_rate", "复购率", "repeat purchase rate",
    "Of the members who bought in the period, the share who have bought on at least two distinct days (UTC "
    "calendar days) up to the period end (复购率). Several purchases on one day count once, as the customer-base "
    "literature counts repeat buyers (e.g. on the CDNOW data of Fader, Hardie & Lee 2005).",
    "|{buyers with purchases on >= 2 distinct days by p_end}| / |buyers in period|", "share", True,
    "DOMAIN.md §2, §5; Fader, Hardie & Lee (2005)",
    # a buyer has purchases on two distinct days by p_end exactly when their first purchase on a day after the day
    # of their first purchase (t2) is by p_end: one grouping of the purchases instead of a count per buyer and period
    sql=f"""
WITH d AS (
  SELECT community_id, member_id, ts, {day_number("ts")} AS day,
         min({day_number("ts")}) OVER (PARTITION BY community_id, member_id) AS day1
  FROM ev_rare WHERE event_type = 'purchase'),
t AS (SELECT community_id, member_id, min(ts) AS t2 FROM d WHERE day > day1 GROUP BY community_id, member_id),
b AS (
  SELECT f.community_id, f.period, p.p_end, f.member_id FROM flow_pm f
  JOIN periods p ON p.community_id = f.community_id AND p.period = f.period
  WHERE f.purchases > 0 AND NOT f.is_staff)
SELECT b.community_id, b.period, avg(CASE WHEN t.t2 <= b.p_end THEN 1.0 ELSE 0.0 END) AS value,
       count(*)::DOUBLE AS n
FROM b LEFT JOIN t ON t.community_id = b.community_id AND t.member_id = b.member_id
GROUP BY b.community_id, b.period
""", group="monetization", group_size="members who bought in the period"))

register(Metric(
    "referral_rate", "转介绍率", "referral rate",
    "Share of present members who referred someone (a referral event) in the period (转介绍率).",
    "|{m : referral in period}| / members", "share", True, "DOMAIN.md §2",
    sql=_member_share("""
SELECT pk, member_id FROM flow_pm WHERE referrals > 0 AND NOT is_staff"""),
    group="monetization", group_size=PRESENT))

register(Metric(
    "completion_rate", "完课率", "completion rate",
    "Of the members active in the period (the 'enrolled' denominator: anyone who did anything), the share "
    "with at least one course_complete event in it (完课率). 0 where the community runs no courses.",
    "|{m : course_complete in period}| / |{m : active in period}|", "share", True, "DOMAIN.md §2",
    sql="""
WITH a AS (
  SELECT community_id, period, member_id, CASE WHEN completions > 0 THEN 1.0 ELSE 0.0 END AS done
  FROM flow_pm WHERE activity > 0 AND NOT is_staff)
SELECT community_id, period, avg(done) AS value, count(*)::DOUBLE AS n FROM a GROUP BY community_id, period
""", group="monetization", group_size="members active in the period"))

#: Event days and the member events around them, shared by ``event_lift`` and ``event_purchase_lift`` (one pass for
#: both): ``community_id, period, d`` and, for the ``day_counts`` columns ``content`` and ``purchases``, their sums over
#: the 7 days after (``content_after``, ``purchases_after``) and the 7 days before (``..._before``) the event day.
#: Event days: UTC days in the period with >= 3 distinct non-staff attendees whose following 7 days end by the
#: period end. Days are numbered since 1970-01-01 (``daymask.day_number``).
register_relation("event_lift_days", f"""
WITH days AS (
  SELECT p.community_id, p.period, p.p_end, {day_number("e.ts")} AS d FROM periods p
  JOIN ev_rare e ON e.community_id = p.community_id AND e.event_type = 'event_attend' AND {_in_period()}
  WHERE NOT e.is_staff
  GROUP BY p.community_id, p.period, p.p_end, {day_number("e.ts")} HAVING count(DISTINCT e.member_id) >= 3)
SELECT x.community_id, x.period, x.d,
  {", ".join(f"coalesce(sum(c.{k}) FILTER (WHERE c.d {op} x.d), 0) AS {k}_{side}"
             for k in ("content", "purchases") for op, side in ((">", "after"), ("<", "before")))}
FROM days x
LEFT JOIN day_counts c ON c.community_id = x.community_id AND c.d >= x.d - 7 AND c.d <= x.d + 7
  AND c.d <> x.d
WHERE (x.d + 8) * {US_PER_DAY} <= epoch_us(x.p_end)
GROUP BY x.community_id, x.period, x.d
""")


def _event_lift_sql(count: str) -> str:
    """Lift of the ``day_counts`` column ``count`` around event days (the sums of ``event_lift_days``)."""
    return f"""
SELECT community_id, period, sum({count}_after)::DOUBLE / nullif(sum({count}_before), 0) AS value
FROM event_lift_days GROUP BY community_id, period
"""


register(Metric(
    "event_lift", "活动带动效应", "event lift",
    "Event days: UTC days in the period on which at least 3 members attended an event (event_attend) and "
    "whose following 7 days end by the period end. Lift = member content in the 7 days after those days "
    "(day+1 .. day+7) divided by member content in the 7 days before (day−7 .. day−1). 1 = no change.",
    "Σ content(d+1..d+7) / Σ content(d−7..d−1) over event days d", "ratio", True,
    "DOMAIN.md §4 (组织活动: activity lift around events)",
    sql=_event_lift_sql("content"),
    group="monetization"))

register(Metric(
    "event_purchase_lift", "活动后购买变化", "purchase lift after events",
    "Same event days as event_lift; purchases by members in the 7 days after those days divided by purchases "
    "in the 7 days before (conversion after events). 1 = no change.",
    "Σ purchases(d+1..d+7) / Σ purchases(d−7..d−1) over event days d", "ratio", True,
    "DOMAIN.md §5 (conversion after events)",
    sql=_event_lift_sql("purchases"),
    group="monetization"))
