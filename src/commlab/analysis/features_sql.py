"""The member features defined once, in SQL: the definitions every engine runs.

:func:`features_sql` and :func:`snapshot_features_sql` are the SQL text; :data:`FEATURES` the
registry of labels, definitions and units; :func:`tidy_features` the canonical dtypes of a result
whatever engine made it. The engines (:mod:`commlab.engines`) import this module; the analysis
facade :func:`commlab.analysis.features.member_features` runs it through DuckDB.

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

from dataclasses import dataclass

import pandas as pd

from commlab.analysis.daymask import bit_of, block_of, day_number
from commlab.data import schema as S
from commlab.data.schema import Col
from commlab.errors import InvalidArgument

__all__ = [
    "Feature",
    "FEATURES",
    "FEATURE_IDS",
    "STAFF_ROLES",
    "ACTIVITY_EXCLUDED",
    "features_sql",
    "keyed_members_sql",
    "keyed_features_sql",
    "TYPE_COUNTS",
    "snapshot_features_sql",
    "timestamptz_literal",
    "ROLE_FEATURE_IDS",
    "feature_labels",
    "DEFINITIONS_ZH",
    "tidy_features",
]


#: Member roles treated as staff (:data:`commlab.data.schema.STAFF_ROLES`).
STAFF_ROLES = S.STAFF_ROLES
#: Event types that are not activity.
ACTIVITY_EXCLUDED: tuple[str, ...] = ("join", "leave")


@dataclass(frozen=True)
class Feature:
    """One member feature: id, labels, definition and unit."""

    id: str
    zh: str
    en: str
    definition: str
    unit: str

    def label(self, lang: str = "en") -> str:
        """Label in ``lang`` ("zh" or "en")."""
        return self.zh if lang == "zh" else self.en

    def describe(self, lang: str = "en") -> str:
        """Definition in ``lang`` ("zh" or "en"; the Chinese ones are in :data:`DEFINITIONS_ZH`)."""
        return DEFINITIONS_ZH.get(self.id, self.definition) if lang == "zh" else self.definition


FEATURES: tuple[Feature, ...] = (
    Feature("tenure_days", "入群天数", "tenure", "days from joining to the analysis instant", "days"),
    Feature("observed_days", "可观测天数", "observed days",
            "days from joining (or from the community's first event, if later) to the analysis "
            "instant: the part of the tenure the data cover", "days"),
    Feature("recency_days", "距上次活跃天数", "days since last activity",
            "days from the last activity to the analysis instant; missing when never active", "days"),
    Feature("n_events", "行为总数", "activity events", "events other than joining and leaving", "events"),
    Feature("active_days", "活跃天数", "active days", "distinct days (UTC) with activity", "days"),
    Feature("active_weeks", "活跃周数", "active weeks", "distinct weeks (ISO) with activity", "weeks"),
    Feature("active_day_share", "活跃天占比", "share of days active",
            "active days / observed days (observed days counted as at least 1)", "share"),
    Feature("n_message", "发言数", "messages", "messages", "events"),
    Feature("n_post", "发帖数", "posts", "posts (threads, questions, articles)", "events"),
    Feature("n_reply", "回复数", "replies", "replies", "events"),
    Feature("n_mention", "提及数", "mentions", "mentions (@someone)", "events"),
    Feature("n_reaction", "点赞数(给出)", "reactions given", "reactions by the member", "events"),
    Feature("ugc", "内容数(UGC)", "content (UGC)", "messages + posts + replies", "events"),
    Feature("ugc_30d", "月均内容数", "content per 30 days",
            "content / observed days × 30 (observed days counted as at least 30)", "events / 30 days"),
    Feature("replies_given", "回复他人数", "replies given", "replies aimed at another member", "events"),
    Feature("replies_received", "收到回复数", "replies received", "replies by others aimed at the member",
            "events"),
    Feature("reactions_received", "收到点赞数", "reactions received",
            "reactions by others to the member's content", "events"),
    Feature("partners_out", "互动对象数", "partners (out)",
            "distinct members the member replied to, mentioned or reacted to", "members"),
    Feature("partners_in", "被互动人数", "partners (in)",
            "distinct members who replied to, mentioned or reacted to the member", "members"),
    Feature("reciprocity", "互惠率", "reciprocity",
            "share of out-partners who also replied to the member; missing without out-partners", "share"),
    Feature("staff_interaction_share", "与官方互动占比", "staff interaction share",
            "share of interactions given and received whose counterpart is staff; missing without any",
            "share"),
    Feature("last30_share", "近30天行为占比", "last-30-day share",
            "share of the activity in the 30 days up to the analysis instant; missing when never active", "share"),
    Feature("first_week_events", "首周行为数", "first-week events",
            "activity events in the 7 days after joining", "events"),
    Feature("first_week_active", "首周活跃", "active in first week",
            "any activity in the 7 days after joining", "bool"),
    Feature("purchases", "购买次数", "purchases", "purchases", "events"),
    Feature("purchase_total", "消费金额", "amount spent", "sum of purchase amounts", "money"),
    Feature("checkins", "打卡次数", "check-ins", "check-ins", "events"),
    Feature("events_attended", "参加活动数", "events attended", "events attended", "events"),
    Feature("courses_completed", "完课数", "courses completed", "courses completed", "events"),
    Feature("referrals", "转介绍数", "referrals", "referrals", "events"),
    Feature("has_left", "已退群", "has left", "left the community by the analysis instant", "bool"),
    Feature("is_staff", "官方/管理员", "staff", "role is owner, staff or bot (configurable)", "bool"),
)
FEATURE_IDS: tuple[str, ...] = tuple(f.id for f in FEATURES)
#: The definitions of :data:`FEATURES` in Chinese (every feature has one; a test holds it).
DEFINITIONS_ZH: dict[str, str] = {
    "tenure_days": "从入群到分析时点的天数",
    "observed_days": "从入群与社群首个事件中较晚者到分析时点的天数（入群时长中数据覆盖的部分）",
    "recency_days": "从最后一次行为到分析时点的天数；从未活跃则为空",
    "n_events": "入群、退群以外的行为次数",
    "active_days": "有行为的不同日期数（UTC）",
    "active_weeks": "有行为的不同周数（ISO 周）",
    "active_day_share": "活跃天数 / 可观测天数（可观测天数至少按 1 天计）",
    "n_message": "发言次数",
    "n_post": "发帖次数（话题、提问、文章）",
    "n_reply": "回复次数",
    "n_mention": "提及他人（@某人）的次数",
    "n_reaction": "成员给出的点赞次数",
    "ugc": "发言、发帖与回复次数之和",
    "ugc_30d": "内容数 / 可观测天数 × 30（可观测天数至少按 30 天计）",
    "replies_given": "回复其他成员的次数",
    "replies_received": "其他成员回复该成员的次数",
    "reactions_received": "其他成员给该成员内容的点赞次数",
    "partners_out": "该成员回复、提及或点赞过的不同成员数",
    "partners_in": "回复、提及或点赞过该成员的不同成员数",
    "reciprocity": "该成员互动过的人中也回复过该成员的比例；没有互动对象则为空",
    "staff_interaction_share": "给出和收到的互动中对方是官方/管理员的比例；没有互动则为空",
    "last30_share": "分析时点前 30 天内的行为占全部行为的比例；从未活跃则为空",
    "first_week_events": "入群后 7 天内的行为次数",
    "first_week_active": "入群后 7 天内是否有任何行为",
    "purchases": "购买次数",
    "purchase_total": "购买金额之和",
    "checkins": "打卡次数",
    "events_attended": "参加活动的次数",
    "courses_completed": "完成课程的次数",
    "referrals": "转介绍次数",
    "has_left": "已退群（退群时间不晚于分析时点）",
    "is_staff": "角色为群主、管理员或机器人（可配置）",
}
_FLOAT_FEATURES = frozenset(
    {"tenure_days", "observed_days", "active_day_share", "ugc_30d", "recency_days", "reciprocity",
     "staff_interaction_share", "last30_share", "purchase_total"}
)


def feature_labels(lang: str = "en") -> dict[str, str]:
    """Feature id -> label in ``lang``, for renaming columns of a features table."""
    return {f.id: f.label(lang) for f in FEATURES}


def _sql_list(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) or "NULL"


def _active_weeks(mask: str) -> str:
    """SQL: the number of non-empty 7-day fields (weeks) of the 63-day block bit mask ``mask``."""
    return " + ".join(f"CAST(((({mask}) >> {7 * w}) & 127) <> 0 AS BIGINT)" for w in range(9))


def _dictionary(members: str, staff_roles: tuple[str, ...], keys: str | None) -> str:
    """SQL: the member dictionary (CTE ``dk`` of :func:`_member_ctes`): each member of ``members`` with its
    key ``k``, its rank ``rk`` in (community, member) order, ``joined_at``, ``left_at`` and ``is_staff``.

    Without ``keys``, the key is the rank. With ``keys`` (the import's member keys), the stored key; a
    member without one (no event has it) a negative key of its own.
    """
    staff = _sql_list(tuple(staff_roles))
    rank = "row_number() OVER (ORDER BY CAST(community_id AS VARCHAR), CAST(member_id AS VARCHAR))"
    values = (f"CAST(joined_at AS TIMESTAMPTZ) AS joined_at, CAST(left_at AS TIMESTAMPTZ) AS left_at, "
              f"CAST(role AS VARCHAR) IN ({staff}) AS is_staff")
    if keys is None:
        return f"""
    SELECT CAST(community_id AS VARCHAR) AS community_id, CAST(member_id AS VARCHAR) AS member_id,
           CAST({rank} AS BIGINT) AS k, CAST({rank} AS BIGINT) AS rk, {values}
    FROM {members}"""
    return f"""
    SELECT d.community_id, d.member_id, coalesce(CAST(y.member_key AS BIGINT), -d.rk) AS k, d.rk,
           d.joined_at, d.left_at, d.is_staff
    FROM (
        SELECT CAST(community_id AS VARCHAR) AS community_id, CAST(member_id AS VARCHAR) AS member_id,
               CAST({rank} AS BIGINT) AS rk, {values}
        FROM {members}
    ) AS d
    LEFT JOIN {keys} AS y ON y.community_id = d.community_id AND y.member_id = d.member_id"""


#: SQL: the CTE ``m``, the members ``mm`` with ``observed_days`` from their community's first event ``c``.
_M_CTE = """m AS (
    SELECT mm.*,
           (epoch($as_of) - epoch(greatest(mm.joined_at, coalesce(c.first_ts, mm.joined_at)))) / 86400.0
               AS observed_days
    FROM mm LEFT JOIN c ON c.community_id = mm.community_id
)"""

def _member_ctes(events: str, dictionary: str) -> str:
    """SQL: the CTEs ``c`` (each community's first event), ``dk`` (the member dictionary, the query
    ``dictionary``), ``dks`` (its staff flags), ``mm`` (the members who joined by ``$as_of``) and ``m``
    (``mm`` with ``observed_days``), comma-separated, for a ``WITH`` clause."""
    return f"""c AS (
    SELECT CAST(community_id AS VARCHAR) AS community_id, min(CAST(ts AS TIMESTAMPTZ)) AS first_ts
    FROM {events}
    WHERE CAST(ts AS TIMESTAMPTZ) <= $as_of
    GROUP BY 1
),
-- the member dictionary: an integer key per (community, member) of the members table, so the
-- per-member and per-pair groupings and joins below run on integers, not on two strings. The key
-- is the rank in (community, member) order: the same in every engine and every evaluation of the CTE.
dk AS ({dictionary}
),
-- the staff flag of a partner: staff who joined by as_of
dks AS (
    SELECT community_id, member_id, k, is_staff AND joined_at <= $as_of AS staff
    FROM dk
),
mm AS (
    SELECT community_id, member_id, k, rk, joined_at, left_at, is_staff,
           -- once per member, not per event: time-zone-aware interval arithmetic is slow
           joined_at + INTERVAL 7 DAY AS first_week_end
    FROM dk
    WHERE joined_at <= $as_of
),
{_M_CTE}"""


def _feature_select(o: str, po: str, i: str, r: str) -> str:
    """SQL: the SELECT list of every feature, from the member row ``m`` and the relations of its sums:
    ``o`` (events per member), ``po`` (interactions given), ``i`` (received) and ``r`` (reciprocated), each
    joined on the member's key and missing (NULL) where the member has none."""
    return f"""SELECT
    m.community_id,
    m.member_id,
    (epoch($as_of) - epoch(m.joined_at)) / 86400.0 AS tenure_days,
    m.observed_days,
    CAST((epoch($as_of) - epoch({o}.last_ts)) / 86400.0 AS DOUBLE) AS recency_days,
    coalesce({o}.n_events, 0) AS n_events,
    coalesce({o}.active_days, 0) AS active_days,
    coalesce({o}.active_weeks, 0) AS active_weeks,
    coalesce({o}.active_days, 0) / greatest(m.observed_days, 1.0) AS active_day_share,
    coalesce({o}.n_message, 0) AS n_message,
    coalesce({o}.n_post, 0) AS n_post,
    coalesce({o}.n_reply, 0) AS n_reply,
    coalesce({o}.n_mention, 0) AS n_mention,
    coalesce({o}.n_reaction, 0) AS n_reaction,
    coalesce({o}.ugc, 0) AS ugc,
    coalesce({o}.ugc, 0) * 30.0 / greatest(m.observed_days, 30.0) AS ugc_30d,
    coalesce({po}.replies_given, 0) AS replies_given,
    coalesce({i}.replies_received, 0) AS replies_received,
    coalesce({i}.reactions_received, 0) AS reactions_received,
    coalesce({po}.partners_out, 0) AS partners_out,
    coalesce({i}.partners_in, 0) AS partners_in,
    CAST(CASE WHEN coalesce({po}.partners_out, 0) > 0
         THEN coalesce({r}.reciprocated, 0) / {po}.partners_out END AS DOUBLE) AS reciprocity,
    CAST(CASE WHEN coalesce({po}.inter_out, 0) + coalesce({i}.inter_in, 0) > 0
         THEN (coalesce({po}.inter_out_staff, 0) + coalesce({i}.inter_in_staff, 0))
              / (coalesce({po}.inter_out, 0) + coalesce({i}.inter_in, 0)) END AS DOUBLE) AS staff_interaction_share,
    CAST(CASE WHEN coalesce({o}.n_events, 0) > 0 THEN {o}.n_last30 / {o}.n_events END AS DOUBLE) AS last30_share,
    coalesce({o}.first_week_events, 0) AS first_week_events,
    coalesce({o}.first_week_events, 0) > 0 AS first_week_active,
    coalesce({o}.purchases, 0) AS purchases,
    CAST(coalesce({o}.purchase_total, 0) AS DOUBLE) AS purchase_total,
    coalesce({o}.checkins, 0) AS checkins,
    coalesce({o}.events_attended, 0) AS events_attended,
    coalesce({o}.courses_completed, 0) AS courses_completed,
    coalesce({o}.referrals, 0) AS referrals,
    coalesce(m.left_at <= $as_of, false) AS has_left,
    m.is_staff
"""


def features_sql(events: str, members: str, *, staff_roles: tuple[str, ...] = STAFF_ROLES) -> str:
    """The SQL text defining every member feature.

    Parameters
    ----------
    events, members : str
        SQL relations to read from: a registered table/view name (``"events"``) or a table
        function such as ``"read_parquet('data/events/*.parquet')"``.
    staff_roles : tuple of str
        Member roles counted as staff.
    Returns
    -------
    str
        A query with one named parameter ``$as_of`` (a tz-aware instant), returning one row
        per member who joined by ``as_of``, with columns ``community_id``, ``member_id`` and
        :data:`FEATURE_IDS`. The session time zone must be UTC.
    """
    content = _sql_list(S.CONTENT_EVENTS)
    inter = _sql_list(S.INTERACTION_EVENTS)
    excluded = _sql_list(ACTIVITY_EXCLUDED)
    weeks = _active_weeks("day_mask")
    # Activity events up to as_of. Written out (not a shared CTE) where it is read, so an engine
    # scans the files again instead of materialising every event.
    activity = (f"{events} WHERE CAST(ts AS TIMESTAMPTZ) <= $as_of "
                f"AND CAST(event_type AS VARCHAR) NOT IN ({excluded})")
    dictionary = _dictionary(members, staff_roles, None)
    who = "CAST(community_id AS VARCHAR) AS community_id, CAST(member_id AS VARCHAR) AS member_id"
    member_join = "mm.community_id = ev.community_id AND mm.member_id = ev.member_id"
    pairs = f"""
    SELECT mk, tk, u,
        count(*) AS n_inter,
        count(*) FILTER (WHERE event_type = 'reply') AS n_reply,
        count(*) FILTER (WHERE event_type = 'reaction') AS n_reaction,
        coalesce(bool_or(m_staff), false) AS m_staff, coalesce(bool_or(t_staff), false) AS t_staff
    FROM (
        SELECT a.k AS mk, t.k AS tk, a.staff AS m_staff, t.staff AS t_staff,
               CASE WHEN a.k IS NULL THEN x.member_id WHEN t.k IS NULL THEN x.target END AS u,
               x.event_type
        FROM (
            SELECT CAST(community_id AS VARCHAR) AS community_id, CAST(member_id AS VARCHAR) AS member_id,
                   NULLIF(CAST(target_member_id AS VARCHAR), CAST(member_id AS VARCHAR)) AS target,
                   CAST(event_type AS VARCHAR) AS event_type
            FROM {activity} AND CAST(event_type AS VARCHAR) IN ({inter})
        ) AS x
        LEFT JOIN dks AS a ON a.community_id = x.community_id AND a.member_id = x.member_id
        LEFT JOIN dks AS t ON t.community_id = x.community_id AND t.member_id = x.target
        WHERE x.target IS NOT NULL AND (a.k IS NOT NULL OR t.k IS NOT NULL)
    ) AS y
    GROUP BY mk, tk, u"""
    pair_ctes = f"""p AS ({pairs}
),
po AS (
    SELECT p.mk AS k,
        count(*) AS partners_out, CAST(sum(p.n_inter) AS BIGINT) AS inter_out,
        CAST(sum(p.n_reply) AS BIGINT) AS replies_given,
        coalesce(sum(p.n_inter) FILTER (WHERE p.t_staff), 0) AS inter_out_staff
    FROM p
    WHERE p.mk IS NOT NULL
    GROUP BY p.mk
),
i AS (
    SELECT p.tk AS k,
        count(*) AS partners_in, CAST(sum(p.n_inter) AS BIGINT) AS inter_in,
        CAST(sum(p.n_reply) AS BIGINT) AS replies_received, CAST(sum(p.n_reaction) AS BIGINT) AS reactions_received,
        coalesce(sum(p.n_inter) FILTER (WHERE p.m_staff), 0) AS inter_in_staff
    FROM p
    WHERE p.tk IS NOT NULL
    GROUP BY p.tk
),
-- out-partners who replied back: a known partner by the keys, an unknown one (the same id u, in
-- the member's community as q.tk = p.mk) by name
r AS (
    SELECT k, count(*) AS reciprocated
    FROM (
        SELECT p.mk AS k
        FROM p JOIN p AS q ON q.mk = p.tk AND q.tk = p.mk
        WHERE q.n_reply > 0
        UNION ALL
        SELECT p.mk AS k
        FROM p JOIN p AS q ON q.tk = p.mk AND q.u = p.u
        WHERE p.tk IS NULL AND q.mk IS NULL AND q.n_reply > 0
    ) AS rr
    GROUP BY k
)
"""
    return f"""
WITH {_member_ctes(events, dictionary)},
-- one row per member and 63-day block (daymask; 9 Monday-start weeks, as day3 is 0 on a Monday):
-- counts, and the active days of the block as a bit mask. Distinct days are then bit counts, not
-- DISTINCT aggregates over every event; the active weeks are the non-empty 7-bit fields of the mask
-- (per block in o, not a second mask per event). Counts by condition are count_if: cheaper per
-- event than count(*) FILTER (5M stored events: the two changes -7 % CPU).
b AS (
    SELECT mm.k,
        ev.blk,
        count(*) AS n_events,
        max(ev.ts) AS last_ts,
        bit_or(CAST(1 AS BIGINT) << ev.dib) AS day_mask,
        count_if(ev.event_type = 'message') AS n_message,
        count_if(ev.event_type = 'post') AS n_post,
        count_if(ev.event_type = 'reply') AS n_reply,
        count_if(ev.event_type = 'mention') AS n_mention,
        count_if(ev.event_type = 'reaction') AS n_reaction,
        count_if(ev.event_type IN ({content})) AS ugc,
        count_if(ev.ts > $as_of - INTERVAL 30 DAY) AS n_last30,
        count_if(ev.ts >= mm.joined_at AND ev.ts < mm.first_week_end) AS first_week_events,
        count_if(ev.event_type = 'purchase') AS purchases,
        -- exact (DECIMAL) sums: a float sum's order depends on DuckDB's threads, and moved purchase_total in its
        -- last digits from one run to the next
        sum(CAST(ev.amount AS DECIMAL(38, 10))) FILTER (WHERE ev.event_type = 'purchase') AS purchase_total,
        count_if(ev.event_type = 'checkin') AS checkins,
        count_if(ev.event_type = 'event_attend') AS events_attended,
        count_if(ev.event_type = 'course_complete') AS courses_completed,
        count_if(ev.event_type = 'referral') AS referrals
    FROM (
        SELECT d.*, {block_of("d.day3")} AS blk, {bit_of("d.day3")} AS dib
        FROM (
            SELECT {who},
                   CAST(ts AS TIMESTAMPTZ) AS ts, CAST(event_type AS VARCHAR) AS event_type,
                   CAST(amount AS DOUBLE) AS amount,
                   -- UTC days since 1970-01-01 (a Thursday) + 3: multiples of 7 are Mondays
                   {day_number("CAST(ts AS TIMESTAMPTZ)")} + 3 AS day3
            FROM {activity}
        ) AS d
    ) AS ev
    JOIN mm ON {member_join}
    GROUP BY mm.k, ev.blk
),
-- counts summed as BIGINT (a sum of BIGINT is a 128-bit integer in DuckDB, which reaches pandas
-- as float64 through a slow conversion; no count here comes near 2^63)
o AS (
    SELECT k,
        CAST(sum(n_events) AS BIGINT) AS n_events, max(last_ts) AS last_ts,
        CAST(sum(bit_count(day_mask)) AS BIGINT) AS active_days,
        CAST(sum({weeks}) AS BIGINT) AS active_weeks,
        CAST(sum(n_message) AS BIGINT) AS n_message, CAST(sum(n_post) AS BIGINT) AS n_post,
        CAST(sum(n_reply) AS BIGINT) AS n_reply, CAST(sum(n_mention) AS BIGINT) AS n_mention,
        CAST(sum(n_reaction) AS BIGINT) AS n_reaction, CAST(sum(ugc) AS BIGINT) AS ugc,
        CAST(sum(n_last30) AS BIGINT) AS n_last30, CAST(sum(first_week_events) AS BIGINT) AS first_week_events,
        CAST(sum(purchases) AS BIGINT) AS purchases, CAST(sum(purchase_total) AS DOUBLE) AS purchase_total,
        CAST(sum(checkins) AS BIGINT) AS checkins, CAST(sum(events_attended) AS BIGINT) AS events_attended,
        CAST(sum(courses_completed) AS BIGINT) AS courses_completed, CAST(sum(referrals) AS BIGINT) AS referrals
    FROM b
    GROUP BY k
),
-- one row per (member, other member) with interactions from the first to the second. Each side is
-- its key (mk, tk) in the dictionary. An id the members table lacks (an unknown member, who still
-- counts as a partner) has no key: the pair keeps it by name in u (the known side's key fixes the
-- community), so pairs of known members group on two integers and a NULL. A pair of two unknown
-- members counts for no member's row and is left out.
{pair_ctes}{_feature_select('o', 'po', 'i', 'r')}FROM m
LEFT JOIN o ON o.k = m.k
LEFT JOIN po ON po.k = m.k
LEFT JOIN i ON i.k = m.k
LEFT JOIN r ON r.k = m.k
-- rk is the rank in (community, member) order
ORDER BY m.rk
"""


#: The per-member counts of one event type each (feature id -> event type), which :func:`keyed_features_sql`
#: reads from its ``sums`` relation as :func:`features_sql` counts them.
TYPE_COUNTS: dict[str, str] = {
    "n_message": "message", "n_post": "post", "n_reply": "reply", "n_mention": "mention", "n_reaction": "reaction",
    "purchases": "purchase", "checkins": "checkin", "events_attended": "event_attend",
    "courses_completed": "course_complete", "referrals": "referral",
}


def keyed_members_sql(events: str, members: str, keys: str, *, staff_roles: tuple[str, ...] = STAFF_ROLES) -> str:
    """The member rows of :func:`keyed_features_sql`: each member who joined by ``$as_of``, with the stored key.

    Parameters
    ----------
    events, members, keys : str
        SQL relations: the stored events (with ``member_key``), the members table, and the member keys the
        import stored (``community_id``, ``member_id``, ``member_key``: :data:`commlab.data.stored.KEYS_FILE`).
    staff_roles : tuple of str
        Member roles counted as staff.

    Returns
    -------
    str
        A query with the parameter ``$as_of``, returning ``community_id``, ``member_id``, ``k`` (the stored
        key; negative for a member without one, who has no event), ``rk`` (the rank in (community, member)
        order), ``joined_at``, ``left_at``, ``is_staff`` and ``first_week_end`` (``joined_at`` + 7 days), as
        :func:`features_sql` defines them (its CTE ``mm``; ``observed_days`` is added by
        :func:`keyed_features_sql`, from the first event of each key).
    """
    return f"WITH {_member_ctes(events, _dictionary(members, staff_roles, keys))}\nSELECT * FROM mm"


def keyed_features_sql(members: str, sums: str, purchases: str, keys: str) -> str:
    """Every feature from the member rows of :func:`keyed_members_sql` and each stored key's sums.

    :func:`features_sql` sums the events per member in SQL; this query reads those sums per stored key from
    ``sums`` instead (made elsewhere: in NumPy, :mod:`commlab.engines.keyed_sums`) and applies the same
    arithmetic (:func:`_feature_select`), so the values are equal (tested). Only the purchase amounts
    are summed here, exactly (``DECIMAL``), as :func:`features_sql` sums them, from the purchases the
    events' reader kept.

    Parameters
    ----------
    members : str
        A relation holding the rows of :func:`keyed_members_sql`.
    sums : str
        A relation of one row per key ``k`` (members without a row: no event) with ``first_ts`` (the key's first
        event up to ``$as_of``, of any type; ``TIMESTAMPTZ``), ``n_events``, ``last_ts``
        (``TIMESTAMPTZ``), ``active_days``, ``active_weeks``, the :data:`TYPE_COUNTS`, ``ugc``, ``n_last30``,
        ``first_week_events`` (events in ``[joined_at, first_week_end)``), ``partners_out``, ``inter_out``,
        ``replies_given``, ``inter_out_staff``, ``partners_in``, ``inter_in``, ``replies_received``,
        ``reactions_received``, ``inter_in_staff`` and ``reciprocated``, as :func:`features_sql` defines them.
    purchases : str
        A relation of the purchase events up to ``$as_of``: the member's stored key ``k`` and ``amount``
        (``DOUBLE``; NULL where the event has none).
    keys : str
        The member keys (``community_id``, ``member_key``): each community's first event is the first of its
        keys' (every stored event has its member's key).

    Returns
    -------
    str
        A query with the parameter ``$as_of``, with the columns and row order of :func:`features_sql`.
    """
    return f"""
WITH mm AS (SELECT * FROM {members}),
c AS (
    SELECT y.community_id, min(s.first_ts) AS first_ts
    FROM {sums} AS s JOIN {keys} AS y ON y.member_key = s.k
    GROUP BY 1
),
{_M_CTE},
-- exact (DECIMAL) sums, as in features_sql
pt AS (
    SELECT CAST(k AS BIGINT) AS k, sum(CAST(CAST(amount AS DOUBLE) AS DECIMAL(38, 10))) AS purchase_total
    FROM {purchases}
    GROUP BY 1
),
o AS (
    SELECT s.*, CAST(pt.purchase_total AS DOUBLE) AS purchase_total
    FROM {sums} AS s LEFT JOIN pt ON pt.k = s.k
)
{_feature_select("o", "o", "o", "o")}FROM m
LEFT JOIN o ON o.k = m.k
ORDER BY m.rk
"""


#: The features the rule roles read (:func:`commlab.analysis.roles.role_conditions`), which
#: :func:`snapshot_features_sql` computes at several instants in one pass.
ROLE_FEATURE_IDS: tuple[str, ...] = (
    "tenure_days", "observed_days", "recency_days", "n_events", "ugc", "ugc_30d", "purchases",
    "partners_in", "has_left", "is_staff",
)


def timestamptz_literal(when: pd.Timestamp) -> str:
    """SQL for the tz-aware instant ``when`` (microseconds, UTC)."""
    return f"CAST('{when.tz_convert('UTC'):%Y-%m-%d %H:%M:%S.%f}+00:00' AS TIMESTAMPTZ)"


def bound_literals(bounds: list[pd.Timestamp]) -> list[str]:
    """SQL literals of the instants ``bounds`` (:func:`timestamptz_literal`), checked non-empty, tz-aware and
    strictly increasing (the buckets of :func:`snapshot_features_sql` and the role features depend on it).

    Raises
    ------
    InvalidArgument
        If ``bounds`` is empty, naive or not strictly increasing.
    """
    if not bounds:
        raise InvalidArgument("bounds is empty")
    if any(b.tzinfo is None for b in bounds):
        raise InvalidArgument("bounds must be tz-aware (UTC)")
    if any(b2 <= b1 for b1, b2 in zip(bounds[:-1], bounds[1:], strict=True)):
        raise InvalidArgument("bounds must be strictly increasing")
    return [timestamptz_literal(b) for b in bounds]


#: The values of a snapshot row (:func:`snapshot_features_sql`; the role features of
#: :func:`commlab.analysis.transitions.role_feature_frames` repeat its arithmetic) from each member's sums at
#: instant ``as_of``.
SNAPSHOT_VALUES = """(epoch(as_of) - epoch(joined_at)) / 86400.0 AS tenure_days,
    observed_days,
    CAST((epoch(as_of) - epoch(last_ts)) / 86400.0 AS DOUBLE) AS recency_days,
    coalesce(n_events, 0) AS n_events,
    coalesce(ugc, 0) AS ugc,
    coalesce(ugc, 0) * 30.0 / greatest(observed_days, 30.0) AS ugc_30d,
    coalesce(purchases, 0) AS purchases,
    coalesce(partners_in, 0) AS partners_in,
    coalesce(left_at <= as_of, false) AS has_left,
    is_staff"""


def snapshot_features_sql(events: str, members: str, bounds: list[pd.Timestamp], *,
                          staff_roles: tuple[str, ...] = STAFF_ROLES) -> str:
    """The :data:`ROLE_FEATURE_IDS` at each instant of ``bounds``, in one pass over the events.

    Computing :func:`features_sql` once per instant reads every event once per instant. This
    query files each event under the first instant it counts for (bucket ``j``: the smallest
    ``k`` with ``ts <= bounds[k]``), aggregates per member and bucket, then per member the
    buckets ``j <= k`` for every ``k`` (one column per instant), and picks instant ``k``'s
    column for the member's row at ``k``. The distinct partners of ``partners_in`` are the
    (member, partner) pairs whose first interaction falls in a bucket ``j <= k``. Every column
    is defined as in :func:`features_sql`, with the same arithmetic, so the values are equal
    (tested column by column).

    Parameters
    ----------
    events, members : str
        SQL relations, as for :func:`features_sql`.
    bounds : list of Timestamp
        Tz-aware instants, strictly increasing.
    staff_roles : tuple of str
        Member roles counted as staff.

    Returns
    -------
    str
        A query returning ``k`` (the index into ``bounds``), ``community_id``, ``member_id`` and
        :data:`ROLE_FEATURE_IDS`: one row per instant and member who joined by it, ordered by
        ``k``, community and member.
    """
    lits = bound_literals(bounds)
    last = lits[-1]
    values = ", ".join(f"({k}, {lit})" for k, lit in enumerate(lits))
    bucket = "CASE " + " ".join(f"WHEN t <= {lit} THEN {k}" for k, lit in enumerate(lits)) + " END"
    ks = range(len(lits))
    wide_a = ", ".join(f"{fn}({col}) FILTER (WHERE j <= {k}) AS {col}_{k}"
                       for k in ks for fn, col in (("sum", "n_events"), ("max", "last_ts"), ("sum", "ugc"),
                                                    ("sum", "purchases")))
    wide_p = ", ".join(f"count(*) FILTER (WHERE j <= {k}) AS partners_{k}" for k in ks)

    def pick(col: str) -> str:
        return "CASE b.k " + " ".join(f"WHEN {k} THEN {col}_{k}" for k in ks) + " END"

    content = _sql_list(S.CONTENT_EVENTS)
    inter = _sql_list(S.INTERACTION_EVENTS)
    excluded = _sql_list(ACTIVITY_EXCLUDED)
    staff = _sql_list(tuple(staff_roles))
    activity = (f"(SELECT CAST(community_id AS VARCHAR) AS community_id, CAST(member_id AS VARCHAR) AS member_id, "
                f"CAST(ts AS TIMESTAMPTZ) AS t, CAST(event_type AS VARCHAR) AS event_type, "
                f"CAST(target_member_id AS VARCHAR) AS target_member_id "
                f"FROM {events} WHERE CAST(ts AS TIMESTAMPTZ) <= {last} "
                f"AND CAST(event_type AS VARCHAR) NOT IN ({excluded}))")
    pick_n, pick_last, pick_ugc, pick_purchases, pick_partners = (
        pick(c) for c in ("n_events", "last_ts", "ugc", "purchases", "partners"))
    return f"""
WITH bnd AS (
    SELECT * FROM (VALUES {values}) AS v(k, as_of)
),
c AS (
    SELECT CAST(community_id AS VARCHAR) AS community_id, min(CAST(ts AS TIMESTAMPTZ)) AS first_ts
    FROM {events}
    WHERE CAST(ts AS TIMESTAMPTZ) <= {last}
    GROUP BY 1
),
mm AS (
    SELECT CAST(community_id AS VARCHAR) AS community_id, CAST(member_id AS VARCHAR) AS member_id,
           CAST(joined_at AS TIMESTAMPTZ) AS joined_at, CAST(left_at AS TIMESTAMPTZ) AS left_at,
           CAST(role AS VARCHAR) IN ({staff}) AS is_staff
    FROM {members}
    WHERE CAST(joined_at AS TIMESTAMPTZ) <= {last}
),
-- per member and bucket; events of unknown members find no row of mm below
a AS (
    SELECT community_id, member_id, {bucket} AS j,
        count(*) AS n_events, max(t) AS last_ts,
        count(*) FILTER (WHERE event_type IN ({content})) AS ugc,
        count(*) FILTER (WHERE event_type = 'purchase') AS purchases
    FROM {activity} AS e
    GROUP BY 1, 2, 3
),
-- the bucket of each (member, partner) pair's first interaction
pr AS (
    SELECT community_id, target, min({bucket}) AS j
    FROM (
        SELECT community_id, member_id, t, NULLIF(target_member_id, member_id) AS target
        FROM {activity} AS e
        WHERE event_type IN ({inter})
    ) AS x
    WHERE target IS NOT NULL
    GROUP BY community_id, member_id, target
),
-- one row per member: the sums over the buckets j <= k, for every k
wa AS (
    SELECT community_id, member_id, {wide_a}
    FROM a GROUP BY 1, 2
),
wp AS (
    SELECT community_id, target AS member_id, {wide_p}
    FROM pr GROUP BY 1, 2
),
m AS (
    SELECT b.k, b.as_of, mm.community_id, mm.member_id, mm.joined_at, mm.left_at, mm.is_staff,
           (epoch(b.as_of) - epoch(greatest(mm.joined_at, coalesce(
               CASE WHEN c.first_ts <= b.as_of THEN c.first_ts END, mm.joined_at)))) / 86400.0 AS observed_days,
           {pick_n} AS n_events, {pick_last} AS last_ts, {pick_ugc} AS ugc, {pick_purchases} AS purchases,
           {pick_partners} AS partners_in
    FROM mm
    LEFT JOIN c ON c.community_id = mm.community_id
    LEFT JOIN wa ON wa.community_id = mm.community_id AND wa.member_id = mm.member_id
    LEFT JOIN wp ON wp.community_id = mm.community_id AND wp.member_id = mm.member_id
    JOIN bnd b ON mm.joined_at <= b.as_of
)
SELECT
    k,
    community_id,
    member_id,
    {SNAPSHOT_VALUES}
FROM m
ORDER BY k, community_id, member_id
"""


def tidy_features(out: pd.DataFrame, *, columns: tuple[str, ...] | None = None,
                  keys: tuple[str, ...] = (Col.community_id, Col.member_id)) -> pd.DataFrame:
    """Canonical dtypes, column order and row order of a features result, whatever engine made it.

    Ids become ``string``; flags ``bool``; the float features ``float64``; counts ``int64``
    (``pd.to_numeric`` first, since Spark returns decimals). Rows are sorted by ``keys``.
    ``columns`` (default: every feature) names the feature columns of ``out``.
    """
    out = out.copy()
    for c in (Col.community_id, Col.member_id):
        out[c] = out[c].astype("string")
    units = {f.id: f.unit for f in FEATURES}
    columns = FEATURE_IDS if columns is None else columns
    for c in columns:
        if units[c] == "bool":
            out[c] = out[c].astype(bool)
        elif c in _FLOAT_FEATURES:
            out[c] = pd.to_numeric(out[c]).astype("float64")
        else:
            out[c] = pd.to_numeric(out[c]).astype("int64")
    out = out[[*keys, *columns]]
    if _in_order(out, keys):  # (DuckDB's queries return their rows in order; a stable sort would keep it)
        return out.reset_index(drop=True)
    return out.sort_values(list(keys), kind="stable").reset_index(drop=True)


def _in_order(frame: pd.DataFrame, keys: tuple[str, ...]) -> bool:
    """Whether the rows of ``frame`` are already in ``keys`` order, compared as pandas sorts them (strings by
    code point, as Arrow compares them). Only for string keys without missing values; otherwise False."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(frame) < 2:
        return True
    if not all(isinstance(frame[k].dtype, pd.StringDtype) for k in keys):
        return False
    arrays = [pa.array(frame[k]) for k in keys]
    if any(a.null_count for a in arrays):
        return False
    ok = None  # row i <= row i + 1: equal on the keys so far and not greater on this one
    tied = None
    for a in arrays:
        prev, nxt = a[:-1], a[1:]
        less = pc.less(prev, nxt)
        here = less if tied is None else pc.and_(tied, less)
        ok = here if ok is None else pc.or_(ok, here)
        equal = pc.equal(prev, nxt)
        tied = equal if tied is None else pc.and_(tied, equal)
    return bool(pc.all(pc.or_(ok, tied)).as_py())
