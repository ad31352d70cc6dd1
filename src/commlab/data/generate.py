"""Seeded synthetic community activity with planted roles and type hypotheses.

The generator writes the three canonical tables (:mod:`commlab.data.schema`)
for a handful of made-up Chinese communities, plus the *truth*: the role each
member was given and which ``DOMAIN.md`` §2 hypotheses were planted. Tests and
notebooks use it to check that the analysis recovers what was planted.

Everything is drawn from ``numpy.random.default_rng(seed)``: the same seed
gives identical tables and byte-identical files.

Time model
----------
The observed window starts at ``start`` (a date read in Asia/Shanghai) and
lasts ``days`` days; ``end = start + days`` is the natural ``as_of`` of the
data. Member activity follows a daily rhythm in local time (evening peak at
20-22h) and a weekly rhythm; times are stored in UTC. Members who joined
before the window have no ``join`` event (a real export starts at ``start``
too); every in-window join has one, at ``joined_at``.

Main entry points
-----------------
:func:`generate`
    The sample data set as DataFrames, with truth and assumptions.
:func:`write_samples`
    Writes it to a folder (the bundled ``data/samples/``).
:func:`generate_large`
    Large, heavy-tailed benchmark data written in chunks with bounded memory.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from commlab.data import schema as S
from commlab.errors import InvalidArgument

__all__ = [
    "DEFAULT_SEED",
    "LOCAL_TZ",
    "RoleSpec",
    "CommunitySpec",
    "ROLES",
    "STAFF_BEHAVIOUR",
    "COMMUNITY_SPECS",
    "HYPOTHESES",
    "NOT_PLANTED",
    "SyntheticData",
    "generate",
    "assumptions_markdown",
    "write_samples",
    "generate_large",
]

#: Seed of the bundled samples.
DEFAULT_SEED = 20240601
#: Zone of the daily rhythm (and of ``start``).
LOCAL_TZ = "Asia/Shanghai"
_UTC_OFFSET_S = 8 * 3600  # Asia/Shanghai has no daylight saving time
_DAY_S = 86_400

#: Relative weight of each local hour of the day (evening peak at 20-22h).
HOUR_WEIGHTS = np.array(
    [0.6, 0.3, 0.15, 0.1, 0.1, 0.2, 0.5, 1.2, 2.0, 2.4, 2.2, 2.0,
     2.6, 2.2, 1.8, 1.8, 1.9, 2.0, 2.2, 2.8, 3.6, 4.2, 3.8, 2.0]
)
#: Local hours of check-ins (morning and late evening).
CHECKIN_HOUR_WEIGHTS = np.array([0.0] * 6 + [2.0, 3.0, 2.0] + [0.3] * 12 + [1.5, 2.0, 0.5])

_TYPES = S.EVENT_TYPE.codes
_T = {code: i for i, code in enumerate(_TYPES)}
_CONTENT_MIX_TYPES = ("message", "post", "reply", "mention", "reaction")


# --------------------------------------------------------------------------- specs
@dataclass(frozen=True)
class RoleSpec:
    """Planted behaviour of one member role.

    Attributes
    ----------
    code, zh : str
        Role code (as in the truth file) and its Chinese name.
    p_day : float
        Probability of being active on a day of the member's activity window
        (times the community's day weight; startup/mature depth adjusts it by
        ``depth ** 0.5``).
    extra_per_day : float
        Mean of the Poisson number of events beyond the first on an active day
        (times the community's depth).
    mix : tuple of float
        Shares of message, post, reply, mention, reaction among content events.
    target_weight : float
        Weight of being picked as the target of others' replies, mentions and
        reactions (0: never a target).
    attend, checkin, course : float
        Probability of attending an event, of checking in on a day, of
        completing a course module (the last two only where the community has
        them).
    buyer_mult : float
        Multiplier of the community's buyer share for this role (0: never buys).
    window : str
        Human-readable activity window (documented in ``ASSUMPTIONS.md``).
    joined : str
        Human-readable join window.
    """

    code: str
    zh: str
    p_day: float
    extra_per_day: float
    mix: tuple[float, float, float, float, float]
    target_weight: float
    attend: float
    checkin: float
    course: float
    buyer_mult: float
    window: str
    joined: str


ROLES: dict[str, RoleSpec] = {
    r.code: r
    for r in (
        RoleSpec("core", "核心用户", 0.65, 2.5, (0.28, 0.14, 0.38, 0.08, 0.12), 12.0, 0.75, 0.6, 0.9, 1.3,
                 "whole window", "mature: before the window; startup: first 10 days after creation"),
        RoleSpec("contributor", "活跃贡献者", 0.25, 1.0, (0.40, 0.08, 0.32, 0.05, 0.15), 4.0, 0.45, 0.35, 0.7, 1.0,
                 "whole window", "mature: before the window or its first 20 days; startup: first 40 days"),
        RoleSpec("ordinary", "普通用户", 0.05, 0.3, (0.50, 0.03, 0.20, 0.02, 0.25), 1.0, 0.12, 0.08, 0.3, 1.0,
                 "whole window; one active day forced into the last 30 days",
                 "any time up to 45 days before the end"),
        RoleSpec("lurker", "潜水", 0.0, 0.0, (0.0, 0.0, 0.0, 0.0, 1.0), 0.0, 0.0, 0.0, 0.0, 0.0,
                 "no content ever; 1 + Binomial(2, 0.3) reactions, one of them in the last 60 days",
                 "at least 90 days before the end"),
        RoleSpec("zombie", "僵尸粉", 0.6, 0.8, (0.70, 0.0, 0.0, 0.0, 0.30), 0.0, 0.0, 0.0, 0.0, 0.0,
                 "only the first 3 days after joining (first day forced); 35% leave later, "
                 "at least 61 days before the end", "inside the window, at least 90 days before the end"),
        RoleSpec("newcomer", "新成员", 0.30, 0.8, (0.50, 0.05, 0.25, 0.03, 0.17), 1.5, 0.3, 0.3, 0.5, 0.5,
                 "from joining to the end; at least one active day", "in the last 30 days before the end"),
        RoleSpec("churn_risk", "流失风险", 0.20, 0.8, (0.45, 0.06, 0.27, 0.04, 0.18), 0.0, 0.3, 0.25, 0.5, 1.0,
                 "from joining until 31-53 days before the end, then nothing (one active day forced "
                 "into the last 7 days before going quiet)", "before the window or in its first 30 days"),
        RoleSpec("buyer", "购买型用户", 0.01, 0.0, (0.60, 0.0, 0.0, 0.0, 0.40), 0.3, 0.1, 0.0, 0.0, 1.0,
                 "whole window; 3 + Poisson(2) purchases (always a buyer)", "any time up to 60 days before the end"),
    )
}

#: Behaviour of staff (owner, assistants) by declared economy: p_day, extra_per_day, content mix.
STAFF_BEHAVIOUR: dict[str, dict[str, Any]] = {
    "fan": {"p_day": 0.85, "extra_per_day": 5.0, "mix": (0.20, 0.15, 0.50, 0.10, 0.05)},
    "community": {"p_day": 0.60, "extra_per_day": 1.2, "mix": (0.40, 0.30, 0.15, 0.10, 0.05)},
}

#: Role shares of non-staff members, by lifecycle (``buyer`` only where the community has a buyer role).
ROLE_MIX: dict[str, dict[str, float]] = {
    "startup": {"core": 0.08, "contributor": 0.17, "ordinary": 0.25, "lurker": 0.18, "zombie": 0.10,
                "newcomer": 0.10, "churn_risk": 0.12},
    "mature": {"core": 0.03, "contributor": 0.09, "ordinary": 0.27, "lurker": 0.30, "zombie": 0.16,
               "newcomer": 0.07, "churn_risk": 0.08},
    "early_death": {"zombie": 0.90, "ordinary": 0.10},
}

#: Content mix of the zombies of the early-death community during its lively first days.
EARLY_DEATH_ZOMBIE_MIX = (0.45, 0.05, 0.30, 0.05, 0.15)

#: Activity depth (multiplier of events per active day; ``depth ** 0.5`` multiplies p_day).
DEPTH: dict[str, float] = {"startup": 1.5, "mature": 0.8, "early_death": 1.0}


@dataclass(frozen=True)
class CommunitySpec:
    """Parameters of one synthetic community (all recorded in the assumptions).

    Attributes
    ----------
    community_id, name : str
        Id and (Chinese) name.
    theme, business_model, lifecycle, platform, monetization, economy : str
        Codes of the schema vocabularies.
    n_members : int
        Members including staff, at ``scale=1``.
    hub_p : float
        Probability that a member's reply/mention/reaction targets a staff account.
    circle_size, circle_p : int, float
        Members are placed in circles of this size; with probability
        ``circle_p`` a peer interaction stays inside the circle (reciprocal,
        repeated, clustered ties).
    buyer_share : float
        Probability that an eligible member buys at least once.
    repeat_rate : float
        Poisson mean of purchases beyond the first, per buyer.
    price : float
        Median purchase amount (lognormal, sigma 0.45).
    buyer_role_share : float
        Share of non-staff members planted as ``buyer`` (taken from ordinary).
    checkins, courses : bool
        Whether members check in daily / complete course modules (every 14 days).
    referral_rate : float
        Share of in-window joins that come with a referral event.
    event_every : int
        Days between events (live talks, meetups); 0 = none.
    event_lift : float
        Day weight increase on the two days after an event.
    weekend_factor : float
        Day weight of Saturdays and Sundays.
    topics : tuple of str
        Topic tags, most frequent first.
    topic_alpha : float
        Zipf exponent of topic frequencies (high = vertically focused).
    channels : tuple of str
        Channels (empty where the platform has none); the first is announcements.
    has_bot : bool
        Whether a bot welcomes newcomers and posts daily reminders.
    early_death : bool
        Lively for 3 days after creation, then activity collapses.
    created_day : float
        Creation relative to the window start, in days (negative = before).
    hypotheses : tuple of str
        Ids of the planted hypotheses (:data:`HYPOTHESES`) this community carries.
    controls : tuple of str
        Ids of not-planted hypotheses (:data:`NOT_PLANTED`) this community is a control for.
    secondary : tuple of (str, str)
        Secondary types ``(axis, code)`` after the primary one: the types mix (DOMAIN.md §2); the
        communities table holds ``primary;secondary``.
    goal : str
        ``communities.goal`` (DOMAIN.md §4b); empty = not stated.
    core_hubs, core_hub_p : int, float
        The 小米 pattern: the first ``core_hubs`` core members are hubs; a member's
        reply/mention/reaction targets one of them with probability ``core_hub_p``.
    event_gaps : tuple of int
        Irregular rhythm: the gaps in days between events, cycled (replaces ``event_every``).
    event_category, event_host : str
        Format of the events held (``online``, ``offline``, ``live``) and who hosts them: ``staff``,
        ``core`` (core members) or ``guest`` (an invited expert hosts every other event).
    moderation, moderation_per_day : str, float
        Who moderates (``staff``; ``core``: core hubs do 80%) and how many moderation acts a day.
    rewards, reward_category, reward_n : str, str, int
        Rewards given: ``random`` (a draw among present members, not tied to behaviour: no lift),
        ``answers`` (points to members who answered; they stay more active in the week after),
        ``coupons`` (coupons to members who bought before; they buy and talk more in the week after); category and
        number over the window.
    join_channels : tuple of (str, float)
        Channels of in-window joins (as the platform's join messages record them) with weights;
        members who joined before the export have none.
    zombie_channel : str
        The channel 90% of the zombies joined by (purposeless recruiting).
    bulk_inviter : bool
        The owner invited every member (拉人头).
    purchase_categories : tuple of (str, float)
        Categories of purchases with weights.
    platform_split : tuple of (str, float)
        Platforms of member content and interactions, for a community on several.
    silent_newcomers : float
        A recent wave of newcomers who only read and react, as a share of the members.
    """

    community_id: str
    name: str
    theme: str
    business_model: str
    lifecycle: str
    platform: str
    monetization: str
    economy: str
    n_members: int
    hub_p: float
    circle_size: int = 0
    circle_p: float = 0.0
    buyer_share: float = 0.0
    repeat_rate: float = 0.0
    price: float = 0.0
    buyer_role_share: float = 0.0
    checkins: bool = False
    courses: bool = False
    referral_rate: float = 0.04
    event_every: int = 21
    event_lift: float = 0.8
    weekend_factor: float = 1.0
    topics: tuple[str, ...] = ()
    topic_alpha: float = 1.0
    channels: tuple[str, ...] = ()
    has_bot: bool = False
    early_death: bool = False
    created_day: float = -300.0
    hypotheses: tuple[str, ...] = field(default_factory=tuple)
    controls: tuple[str, ...] = field(default_factory=tuple)
    secondary: tuple[tuple[str, str], ...] = ()
    goal: str = ""
    core_hubs: int = 0
    core_hub_p: float = 0.0
    event_gaps: tuple[int, ...] = ()
    event_category: str = "online"
    event_host: str = "staff"
    moderation: str = ""
    moderation_per_day: float = 0.0
    rewards: str = ""
    reward_category: str = "points"
    reward_n: int = 0
    join_channels: tuple[tuple[str, float], ...] = ()
    zombie_channel: str = ""
    bulk_inviter: bool = False
    purchase_categories: tuple[tuple[str, float], ...] = ()
    platform_split: tuple[tuple[str, float], ...] = ()
    silent_newcomers: float = 0.0


_WECHAT_JOIN = (("invite", 0.6), ("qr_code", 0.4))
_QQ_JOIN = (("invite", 0.5), ("qr_code", 0.3), ("search", 0.2))

COMMUNITY_SPECS: tuple[CommunitySpec, ...] = (
    CommunitySpec(
        "c01", "咖啡爱好者交流群", "interest", "creator", "mature", "wechat", "none", "community", 1200,
        hub_p=0.08, circle_size=10, circle_p=0.4, weekend_factor=1.3, event_gaps=(7, 35, 10, 49, 14, 28),
        event_category="offline",
        topics=("手冲", "咖啡豆", "器具", "拉花", "探店", "闲聊"), topic_alpha=1.9, goal="retention",
        join_channels=_WECHAT_JOIN, silent_newcomers=0.09,
        created_day=-420.0, hypotheses=("H3_interest_peer", "H6_lifecycle_depth", "H8_event_lift",
                                        "H9_topic_concentration", "H10_practices"),
    ),
    CommunitySpec(
        "c02", "胶片摄影同好会", "interest", "creator", "startup", "qq", "membership", "community", 160,
        hub_p=0.08, circle_size=10, circle_p=0.4, buyer_share=0.15, repeat_rate=0.3, price=99.0,
        weekend_factor=1.3, event_every=21, goal="retention", join_channels=_QQ_JOIN,
        purchase_categories=(("membership", 1.0),),
        topics=("扫图", "胶卷", "相机", "冲洗", "街拍", "闲聊"), topic_alpha=1.8,
        created_day=-5.0, hypotheses=("H3_interest_peer", "H6_lifecycle_depth", "H8_event_lift",
                                      "H9_topic_concentration"),
        controls=("N1_platform",),
    ),
    CommunitySpec(
        "c03", "云朵家电官方粉丝群", "brand", "product_sales", "mature", "wecom", "ecommerce", "fan", 2400,
        hub_p=0.70, buyer_share=0.30, repeat_rate=0.4, price=299.0, buyer_role_share=0.08, event_every=30,
        event_category="live", goal="service", moderation="staff", moderation_per_day=1.5,
        rewards="random", reward_category="points", reward_n=900,
        join_channels=(("invite", 0.7), ("qr_code", 0.3)), zombie_channel="qr_code",
        purchase_categories=(("product", 0.8), ("shop", 0.2)),
        topics=("售后", "新品", "使用技巧", "优惠券", "晒单", "抽奖"), topic_alpha=1.8,
        has_bot=True, created_day=-500.0,
        hypotheses=("H2_brand_hub", "H6_lifecycle_depth", "H8_event_lift", "H9_topic_concentration",
                    "H10_practices"),
    ),
    CommunitySpec(
        "c04", "Python数据分析学习营", "knowledge", "service", "mature", "zsxq", "product", "community", 1500,
        hub_p=0.25, circle_size=6, circle_p=0.3, buyer_share=0.45, repeat_rate=0.8, price=499.0,
        checkins=True, courses=True, referral_rate=0.25, event_every=14, event_category="live", goal="knowledge",
        join_channels=(("link", 0.7), ("search", 0.3)),
        purchase_categories=(("course", 1.0),),
        topics=("pandas", "作业", "答疑", "可视化", "SQL", "机器学习", "求职"), topic_alpha=1.6,
        created_day=-360.0,
        hypotheses=("H1_knowledge_outcomes", "H6_lifecycle_depth", "H8_event_lift", "H9_topic_concentration"),
    ),
    CommunitySpec(
        "c05", "灵感AI笔记内测群", "product", "platform", "startup", "discord", "none", "fan", 320,
        hub_p=0.70, event_every=21, topics=("bug反馈", "功能建议", "使用心得", "版本更新", "闲聊"),
        topic_alpha=1.6, channels=("公告", "反馈建议", "使用交流", "闲聊"), has_bot=True, created_day=-8.0,
        goal="brand", join_channels=(("link", 1.0),),
        hypotheses=("H2_brand_hub", "H6_lifecycle_depth", "H8_event_lift", "H9_topic_concentration"),
    ),
    CommunitySpec(
        "c06", "跨境电商从业者交流会", "industry", "platform", "mature", "qq", "membership", "community", 1000,
        hub_p=0.08, circle_size=3, circle_p=0.85, buyer_share=0.20, repeat_rate=0.3, price=365.0,
        weekend_factor=0.6, event_every=28, event_host="guest", goal="conversion", join_channels=_QQ_JOIN,
        purchase_categories=(("membership", 1.0),), secondary=(("theme", "knowledge"),),
        topics=("选品", "物流", "亚马逊", "独立站", "政策", "资源对接"), topic_alpha=1.8, created_day=-450.0,
        hypotheses=("H4_industry_ties", "H6_lifecycle_depth", "H8_event_lift", "H9_topic_concentration",
                    "H10_practices"),
    ),
    CommunitySpec(
        "c07", "宝妈好物团购群", "consumption", "product_sales", "mature", "wechat", "ecommerce", "fan", 1800,
        hub_p=0.60, buyer_share=0.80, repeat_rate=1.5, price=159.0, buyer_role_share=0.12, event_every=14,
        event_category="live", goal="conversion", rewards="coupons", reward_category="coupon", reward_n=150,
        join_channels=_WECHAT_JOIN, purchase_categories=(("shop", 1.0),),
        topics=("团购", "母婴", "零食", "日用", "美妆", "家居", "晒单", "售后", "优惠", "闲聊"), topic_alpha=0.4,
        created_day=-300.0,
        hypotheses=("H5_consumption_buyers", "H2_brand_hub", "H6_lifecycle_depth", "H8_event_lift",
                    "H9_topic_concentration", "H10_practices"),
    ),
    CommunitySpec(
        "c08", "21天健身训练营", "knowledge", "service", "startup", "wechat", "membership", "fan", 120,
        hub_p=0.60, buyer_share=0.45, repeat_rate=0.8, price=399.0, checkins=True, courses=True,
        referral_rate=0.25, event_every=7, topics=("训练打卡", "饮食", "答疑", "体态", "减脂"), topic_alpha=1.6,
        goal="knowledge", join_channels=_WECHAT_JOIN, purchase_categories=(("membership", 1.0),),
        secondary=(("theme", "interest"),), created_day=-3.0,
        hypotheses=("H1_knowledge_outcomes", "H6_lifecycle_depth", "H8_event_lift", "H9_topic_concentration"),
    ),
    CommunitySpec(
        "c09", "周末露营搭子群", "interest", "creator", "startup", "wechat", "none", "community", 200,
        hub_p=0.08, circle_size=10, circle_p=0.4, event_every=0, weekend_factor=1.3,
        topics=("露营地", "装备", "拼车", "闲聊"), topic_alpha=0.4, early_death=True, created_day=20.0,
        join_channels=(("invite", 1.0),), bulk_inviter=True,
        hypotheses=("H7_early_death", "H9_topic_concentration", "H10_practices"),
    ),
    CommunitySpec(
        "c10", "独立开发者俱乐部", "industry", "creator", "startup", "discord", "membership", "community", 260,
        hub_p=0.08, circle_size=3, circle_p=0.85, buyer_share=0.20, repeat_rate=0.3, price=199.0,
        weekend_factor=0.8, event_every=14, topics=("产品发布", "技术栈", "出海", "变现", "招聘"), topic_alpha=1.8,
        channels=("公告", "产品发布", "技术讨论", "招聘合作"), has_bot=True, created_day=-6.0,
        goal="retention", join_channels=(("link", 1.0),), purchase_categories=(("membership", 1.0),),
        secondary=(("platform", "wechat"),), platform_split=(("discord", 0.5), ("wechat", 0.5)),
        hypotheses=("H4_industry_ties", "H6_lifecycle_depth", "H8_event_lift", "H9_topic_concentration",
                    "H10_practices"),
    ),
    CommunitySpec(
        "c11", "城市骑行同好群", "interest", "creator", "startup", "wechat", "membership", "community", 160,
        hub_p=0.08, circle_size=10, circle_p=0.4, buyer_share=0.15, repeat_rate=0.3, price=99.0,
        weekend_factor=1.3, event_every=21, goal="retention", join_channels=_WECHAT_JOIN,
        purchase_categories=(("membership", 1.0),),
        topics=("路线", "装备", "约骑", "维修", "骑行照片", "闲聊"), topic_alpha=1.8,
        created_day=-5.0, hypotheses=("H3_interest_peer", "H6_lifecycle_depth", "H8_event_lift",
                                      "H9_topic_concentration"),
        controls=("N1_platform",),
    ),
    CommunitySpec(
        "c12", "星河手机发烧友俱乐部", "brand", "product_sales", "mature", "own_app", "ecommerce", "community", 600,
        hub_p=0.05, circle_size=8, circle_p=0.25, core_hubs=6, core_hub_p=0.45, buyer_share=0.35, repeat_rate=0.5,
        price=199.0, event_every=14, event_category="offline", event_host="core", goal="brand",
        moderation="core", moderation_per_day=1.0, rewards="answers", reward_category="points", reward_n=80,
        join_channels=(("link", 0.5), ("qr_code", 0.3), ("invite", 0.2)),
        purchase_categories=(("product", 0.7), ("shop", 0.3)),
        secondary=(("theme", "product"), ("platform", "wechat"), ("monetization", "product")),
        platform_split=(("own_app", 0.8), ("wechat", 0.2)),
        topics=("系统更新", "拍照", "刷机", "使用技巧", "新品", "闲聊"), topic_alpha=1.8, created_day=-400.0,
        hypotheses=("H2_brand_hub", "H6_lifecycle_depth", "H8_event_lift", "H9_topic_concentration",
                    "H10_practices"),
    ),
)

#: Hypotheses of DOMAIN.md §2/§4 that the generator plants, with how.
HYPOTHESES: dict[str, dict[str, str]] = {
    "H1_knowledge_outcomes": {
        "statement": "Knowledge/learning and service-delivery communities show check-ins, event attendance, "
                     "course completions, higher repurchase and referral rates.",
        "source": "DOMAIN.md §2 [A]",
        "how": "only knowledge communities (c04, c08) have checkin and course_complete events; event "
               "attendance x1.4; repeat_rate 0.8 (others <= 0.4 except consumption); referral_rate 0.25 "
               "(others 0.04).",
    },
    "H2_brand_hub": {
        "statement": "Brand/product communities come in both economies: some route interactions through the "
                     "official account (hub and spoke, fan economy), others form around core members (the 小米 "
                     "pattern, community economy); who the hub is decides.",
        "source": "DOMAIN.md §2 [A][D]",
        "how": "official-centred (c03, c05, and consumption c07): members target staff with hub_p 0.6-0.7; staff "
               "are active 85% of days with 6 events/day, half of them replies to members. Core-centred (c12): "
               "staff hub_p 0.05; 45% of member interactions go to 6 core members (none of them near half of "
               "all interactions), who also host the events and do 80% of the moderation.",
    },
    "H3_interest_peer": {
        "statement": "Interest communities run on member-to-member exchange (community economy), with reciprocal "
                     "ties and higher clustering.",
        "source": "DOMAIN.md §2 [D][E]",
        "how": "hub_p 0.08; circles of 10 members, 40% of peer interactions inside the circle.",
    },
    "H4_industry_ties": {
        "statement": "Industry communities are a professional network: repeated ties and reciprocity.",
        "source": "DOMAIN.md §2 [E], §4",
        "how": "hub_p 0.08; circles of 3 members, 85% of peer interactions inside the circle (highest "
               "member-to-member reciprocity and replies per tie within each lifecycle).",
    },
    "H5_consumption_buyers": {
        "statement": "Consumption communities have the highest buyer share, repeat purchase and revenue.",
        "source": "DOMAIN.md §2 [D][E], §5",
        "how": "buyer_share 0.80, repeat_rate 1.5, 12% buyer role, median basket 159 (highest buyer share, "
               "purchases and revenue per member of all communities).",
    },
    "H6_lifecycle_depth": {
        "statement": "Start-up communities are small with deep interaction per member; mature ones are large "
                     "and shallower.",
        "source": "DOMAIN.md §2 [A]",
        "how": "startup: 120-320 members, depth 1.5, more core/contributors; mature: 1000-2400 members, depth 0.8, "
               "more lurkers and zombies.",
    },
    "H7_early_death": {
        "statement": "建群三天必死: a new group is lively for its first days, then activity collapses.",
        "source": "DOMAIN.md §4",
        "how": "c09 is created on day 20 of the window; members join in its first 2 days, 90% are zombies active "
               "only in the first 3 days; after day 3 the day weight falls to 0.05.",
    },
    "H8_event_lift": {
        "statement": "Regular events (live talks, meetups) bring event_attend spikes followed by an activity lift.",
        "source": "DOMAIN.md §4",
        "how": "every event_every days an event at 20:00 local; attendance by role; day weight x(1+0.8) on the "
               "two following days.",
    },
    "H9_topic_concentration": {
        "statement": "Vertically focused communities have concentrated topics; broad ones spread. Every type can "
                     "be vertical (每一大类都可…垂直细分), interest communities included.",
        "source": "DOMAIN.md §2, §4 (高价值社群: 垂直细分)",
        "how": "topic frequencies Zipf with alpha 1.6-1.9 in every community (interest ones included) except "
               "two broad ones: c07 (a group-buying group over ten product lines) and c09 (a group recruited "
               "without purpose), alpha 0.4.",
    },
    "H10_practices": {
        "statement": "The practices of DOMAIN.md §4b leave their traces: goals, events and rituals, rewards, "
                     "join channels, moderation, platforms.",
        "source": "DOMAIN.md §4, §4b, §5",
        "how": "c01: events at irregular gaps (7-49 days) and a recent wave of newcomers who only read (the "
               "lurker share rises); c03: points drawn at random among active members (no lift after "
               "rewards), 90% of zombies joined by QR-code posters, moderation by staff only; c06: an "
               "invited guest expert hosts every other monthly talk (a membership fee with its preconditions); "
               "c07: coupons to members who bought before; they buy and talk more in the week after; c09: no "
               "goal, everyone invited "
               "in bulk by the owner; c10: activity split half and half between Discord and WeChat (no main "
               "platform); c12: points for answering (activity rises after), core members moderate and host, "
               "80% of activity on its own app. Goals per community (c09 states none); purchases carry their "
               "category; join channels are recorded for in-window joins only, as chat exports do.",
    },
}

#: Hypotheses deliberately not planted: a correct analysis finds them unsupported.
NOT_PLANTED: dict[str, dict[str, str]] = {
    "N1_platform": {
        "statement": "The platform (WeChat vs QQ) changes the activity level.",
        "why": "platform is assigned independently of every behaviour parameter; c02 (QQ) and c11 (WeChat) are "
               "twins with identical parameters apart from name, topics and platform.",
    },
    "N2_event_purchase_conversion": {
        "statement": "Purchases rise after events (conversion after events).",
        "why": "purchase days are drawn without the event lift: purchase rates after event days equal other days.",
    },
    "N3_economy_by_monetization": {
        "statement": "The monetization model changes member-to-member interaction.",
        "why": "interaction structure depends only on hub_p and circles (theme/economy), never on monetization.",
    },
}


# --------------------------------------------------------------------------- result
@dataclass
class SyntheticData:
    """A generated data set with the truth planted into it.

    Attributes
    ----------
    communities, members, events : DataFrame
        The canonical tables (times ``datetime64[ns, UTC]``, ids ``string``).
    truth : DataFrame
        ``community_id, member_id, planted_role, is_buyer`` for every member
        (staff and owners have ``staff``, bots ``bot``).
    assumptions : dict
        Seed, window, role parameters, per-community parameters with the
        hypotheses planted, and the hypotheses not planted.
    """

    communities: pd.DataFrame
    members: pd.DataFrame
    events: pd.DataFrame
    truth: pd.DataFrame
    assumptions: dict[str, Any]

    def __repr__(self) -> str:
        return (
            f"SyntheticData({len(self.communities)} communities, {len(self.members)} members, "
            f"{len(self.events)} events, seed={self.assumptions.get('seed')})"
        )


# --------------------------------------------------------------------------- small helpers
@dataclass
class _Members:
    """Members of one community being generated (index = position in the arrays)."""

    ids: np.ndarray  # str
    role: np.ndarray  # str: planted role, "staff", "owner" or "bot"
    joined: np.ndarray  # float days since window start
    a0: np.ndarray  # start of the activity window (days)
    a1: np.ndarray  # end of the activity window (days, exclusive)
    left: np.ndarray  # float days, nan = still in
    is_buyer: np.ndarray  # bool
    circle: np.ndarray  # int, -1 = no circle
    channel: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))  # join channel or None
    inviter: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # index of the inviter, -1 = none
    hubs: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # core members at the centre

    @property
    def is_staff(self) -> np.ndarray:
        return np.isin(self.role, ("owner", "staff"))

    @property
    def owner(self) -> int:
        return int(np.flatnonzero(self.role == "owner")[0])


@dataclass
class _Events:
    """Columns of the events of one community, as integer codes and floats."""

    member: list[np.ndarray] = field(default_factory=list)
    t: list[np.ndarray] = field(default_factory=list)
    etype: list[np.ndarray] = field(default_factory=list)
    target: list[np.ndarray] = field(default_factory=list)
    amount: list[np.ndarray] = field(default_factory=list)
    category: list[np.ndarray] = field(default_factory=list)

    def add(self, member: np.ndarray, t: np.ndarray, etype: np.ndarray | int,
            target: np.ndarray | None = None, amount: np.ndarray | None = None,
            category: np.ndarray | str | None = None) -> None:
        n = len(member)
        cat = np.full(n, None, dtype=object)
        if category is not None:
            cat[:] = category
        self.category.append(cat)
        self.member.append(np.asarray(member, dtype=np.int64))
        self.t.append(np.asarray(t, dtype=np.float64))
        self.etype.append(np.broadcast_to(np.asarray(etype, dtype=np.int64), (n,)).copy())
        self.target.append(np.full(n, -1, np.int64) if target is None else np.asarray(target, dtype=np.int64))
        self.amount.append(np.full(n, np.nan) if amount is None else np.asarray(amount, dtype=np.float64))

    def concat(self) -> dict[str, np.ndarray]:
        empty = {"member": np.int64, "t": np.float64, "etype": np.int64, "target": np.int64, "amount": np.float64,
                 "category": object}
        return {k: np.concatenate(getattr(self, k)) if getattr(self, k) else np.empty(0, dtype=dt)
                for k, dt in empty.items()}


def _hours(n: int, rng: np.random.Generator, weights: np.ndarray = HOUR_WEIGHTS) -> np.ndarray:
    """Fractional local hours (0-24) with the given hourly profile."""
    h = rng.choice(24, size=n, p=weights / weights.sum())
    return h + rng.random(n)


def _at_day(days: np.ndarray, rng: np.random.Generator, weights: np.ndarray = HOUR_WEIGHTS) -> np.ndarray:
    """Times (float days) on the given integer days, with a daily rhythm."""
    return days + _hours(len(days), rng, weights) / 24.0


def _clip_to_window(t: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move times before ``lo`` into ``[lo, min(lo + 0.2, hi))`` and times at/after ``hi`` just before it."""
    out = t.copy()
    early = out < lo
    span = np.maximum(np.minimum(lo + 0.2, hi) - lo, 1e-4)
    out[early] = lo[early] + rng.random(int(early.sum())) * span[early]
    late = out >= hi
    out[late] = hi[late] - rng.random(int(late.sum())) * 1e-3 - 1e-4
    return out


def _weighted_pick(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices drawn with probability proportional to ``weights``."""
    cw = np.cumsum(weights)
    return np.minimum(np.searchsorted(cw, rng.random(n) * cw[-1], side="right"), len(weights) - 1)


# --------------------------------------------------------------------------- calendar
def _event_days(spec: CommunitySpec, days: int) -> np.ndarray:
    """Days (relative to the window start) of the community's events."""
    first = max(0, int(np.ceil(spec.created_day)) + 10)
    if spec.event_gaps:
        gaps = np.resize(np.array(spec.event_gaps, dtype=np.int64), days)
        d = first + np.concatenate([[0], np.cumsum(gaps)])
        return d[d < days - 1]
    if spec.event_every <= 0:
        return np.empty(0, dtype=np.int64)
    return np.arange(first, days - 1, spec.event_every, dtype=np.int64)


def _day_weights(spec: CommunitySpec, days: int, start_weekday: int, event_days: np.ndarray) -> np.ndarray:
    """Relative activity of each day of the window (weekly rhythm, event lift, early death)."""
    d = np.arange(days)
    weekday = (start_weekday + d) % 7
    w = np.where(weekday >= 5, spec.weekend_factor, 1.0)
    for lag in (1, 2):
        idx = event_days + lag
        w[idx[idx < days]] *= 1.0 + spec.event_lift
    created = int(np.floor(spec.created_day))
    w[d < created] = 0.0
    if spec.early_death:
        w[d >= created + 3] *= 0.05
    return w


# --------------------------------------------------------------------------- members
def _role_counts(spec: CommunitySpec, n_plain: int) -> dict[str, int]:
    """How many non-staff members get each planted role."""
    mix = dict(ROLE_MIX["early_death" if spec.early_death else spec.lifecycle])
    if spec.buyer_role_share:
        mix["buyer"] = spec.buyer_role_share
        mix["ordinary"] = mix["ordinary"] - spec.buyer_role_share
    counts = {r: int(np.floor(s * n_plain)) for r, s in mix.items()}
    counts["ordinary"] += n_plain - sum(counts.values())
    return counts


def _n_staff(n_total: int) -> int:
    """Staff accounts besides the owner."""
    return max(1, round(n_total / 500))


def _join_days(role: str, n: int, spec: CommunitySpec, days: int, rng: np.random.Generator) -> np.ndarray:
    """Join times (float days since the window start) for ``n`` members of ``role``."""
    c = spec.created_day
    u = rng.random(n)
    if spec.early_death:
        return c + 0.05 + 1.95 * u
    mature = spec.lifecycle == "mature"
    lo, hi = {
        "core": (c, 0.0) if mature else (c, c + 10),
        "contributor": (c, 20.0) if mature else (c, c + 40),
        "ordinary": (c, days - 45.0),
        "lurker": (c, days - 90.0),
        "zombie": (max(c, 0.0), days - 90.0),
        "newcomer": (days - 30.0, days - 1.0),
        "churn_risk": (c, 30.0),
        "buyer": (c, days - 60.0),
    }[role]
    return lo + 0.02 + (hi - lo - 0.04) * u


def _display_names(n: int, rng: np.random.Generator) -> list[str]:
    """Made-up Chinese nicknames (PII in real data; never shown in reports)."""
    surnames = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董")
    given = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉晨宇欣怡悦然佳琪子涵浩轩")
    prefixes = ["小", "阿", "老", "大"]
    latin = ["Coco", "Leo", "Mia", "Kevin", "Amy", "Jack", "Luna", "Tony", "Vivi", "Sam"]
    style = rng.integers(0, 4, n)
    s = rng.integers(0, len(surnames), n)
    g1 = rng.integers(0, len(given), n)
    g2 = rng.integers(0, len(given), n)
    p = rng.integers(0, len(prefixes), n)
    la = rng.integers(0, len(latin), n)
    out = []
    for i in range(n):
        if style[i] == 0:
            out.append(surnames[s[i]] + given[g1[i]] + given[g2[i]])
        elif style[i] == 1:
            out.append(surnames[s[i]] + given[g1[i]])
        elif style[i] == 2:
            out.append(prefixes[p[i]] + given[g1[i]])
        else:
            out.append(f"{latin[la[i]]}_{surnames[s[i]]}")
    return out


def _make_members(spec: CommunitySpec, n_total: int, days: int, rng: np.random.Generator,
                  practice_rng: np.random.Generator) -> _Members:
    """Staff, bot and planted-role members of one community with their windows."""
    c = spec.created_day
    n_staff = _n_staff(n_total)
    head_roles = ["owner"] + ["staff"] * n_staff + (["bot"] if spec.has_bot else [])
    head_join = np.concatenate([[c + 0.001], c + 0.01 + rng.random(n_staff) * 1.5,
                                [c + 0.005] if spec.has_bot else []])
    counts = _role_counts(spec, n_total - len(head_roles))
    roles = list(head_roles)
    joins = [head_join]
    for role, k in counts.items():
        roles += [role] * k
        joins.append(_join_days(role, k, spec, days, rng))
    role = np.array(roles)
    joined = np.concatenate(joins)
    # sort the non-staff part by join time so ids grow with seniority, as on most platforms
    order = np.concatenate([np.arange(len(head_roles)), len(head_roles) + np.argsort(joined[len(head_roles):],
                                                                                     kind="stable")])
    role, joined = role[order], joined[order]
    n = len(role)
    ids = np.array([f"{spec.community_id}_{i:04d}" for i in range(1, n + 1)])
    a0 = np.maximum(joined, 0.0)
    a1 = np.full(n, float(days))
    zombie = role == "zombie"
    a1[zombie] = np.minimum(a0[zombie] + 3.0, days)
    churn = role == "churn_risk"
    a1[churn] = days - rng.integers(31, 54, int(churn.sum()))
    left = np.full(n, np.nan)
    leaves = zombie & (rng.random(n) < 0.35)
    lo, hi = a1 + 1.0, days - 61.0
    left[leaves] = (lo + rng.random(n) * np.maximum(hi - lo, 0.0))[leaves]
    buy_p = np.array([ROLES[r].buyer_mult if r in ROLES else 0.0 for r in role]) * spec.buyer_share
    is_buyer = (rng.random(n) < buy_p) | (role == "buyer")
    circle = np.full(n, -1, np.int64)
    if spec.circle_size:
        eligible = np.flatnonzero(np.isin(role, ("core", "contributor", "ordinary", "newcomer")))
        perm = rng.permutation(len(eligible))
        circle[eligible[perm]] = np.arange(len(eligible)) // spec.circle_size
    m = _Members(ids, role, joined, a0, a1, left, is_buyer, circle)
    m.hubs = np.flatnonzero(role == "core")[:spec.core_hubs]  # the most senior core members
    m.channel, m.inviter = _join_channels(m, spec, practice_rng)
    return m


def _join_channels(m: _Members, spec: CommunitySpec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Join channel and inviter of each in-window join (the platform's join message); None/-1 otherwise."""
    n = len(m.role)
    channel = np.full(n, None, dtype=object)
    inviter = np.full(n, -1, np.int64)
    if not spec.join_channels:
        return channel, inviter
    plain = np.isin(m.role, tuple(ROLES)) & (m.joined >= 0)
    names = np.array([c for c, _ in spec.join_channels], dtype=object)
    w = np.array([x for _, x in spec.join_channels], dtype=float)
    pick = names[_weighted_pick(w, n, rng)]
    if spec.zombie_channel:
        zombie = m.role == "zombie"
        to_zc = zombie & (rng.random(n) < 0.9)
        pick[to_zc] = spec.zombie_channel
        others = names[names != spec.zombie_channel]
        moved = ~zombie & (pick == spec.zombie_channel) & (rng.random(n) < 0.8)
        if len(others):
            pick[moved] = others[_weighted_pick(w[names != spec.zombie_channel], int(moved.sum()), rng)]
    channel[plain] = pick[plain]
    invited = np.flatnonzero(plain & (channel == "invite"))
    if spec.bulk_inviter:
        inviter[invited] = m.owner
        return channel, inviter
    weight = {"core": 5.0, "contributor": 3.0, "ordinary": 1.0, "owner": 2.0, "staff": 2.0}
    cand = np.flatnonzero(np.array([weight.get(r, 0.0) for r in m.role]) > 0)
    cand = cand[np.argsort(m.joined[cand], kind="stable")]
    cw = np.cumsum(np.array([weight[r] for r in m.role[cand]]))
    k = np.searchsorted(m.joined[cand], m.joined[invited], side="left")
    pos = np.minimum(np.searchsorted(cw, rng.random(len(invited)) * cw[np.maximum(k - 1, 0)], side="right"),
                     np.maximum(k - 1, 0))
    ok = k > 0
    inviter[invited[ok]] = cand[pos[ok]]
    channel[invited[~ok]] = "qr_code" if "qr_code" in names else "link"
    return channel, inviter


# --------------------------------------------------------------------------- targets and threads
class _TargetPicker:
    """Draws reply/mention/reaction targets that exist at the time of the event."""

    def __init__(self, m: _Members, spec: CommunitySpec):
        self.m, self.spec = m, spec
        w = np.array([ROLES[r].target_weight if r in ROLES else 0.0 for r in m.role])
        cand = np.flatnonzero(w > 0)
        order = np.argsort(m.joined[cand], kind="stable")
        self.cand = cand[order]
        self.cand_joined = m.joined[self.cand]
        self.cum_w = np.cumsum(w[self.cand])
        self.staff = np.flatnonzero(m.is_staff)
        self.staff_w = np.where(m.role[self.staff] == "owner", 2.0, 1.0)  # the owner answers twice as often
        in_circle = np.flatnonzero(m.circle >= 0)
        self.circ_members = in_circle[np.argsort(m.circle[in_circle], kind="stable")]
        circ_ids = m.circle[self.circ_members]
        n_circ = int(circ_ids.max()) + 1 if len(circ_ids) else 0
        self.circ_start = np.searchsorted(circ_ids, np.arange(n_circ))
        self.circ_size = np.bincount(circ_ids, minlength=n_circ) if n_circ else np.zeros(0, np.int64)
        self.circ_pos = np.full(len(m.role), -1, np.int64)
        self.circ_pos[self.circ_members] = np.arange(len(self.circ_members)) - self.circ_start[circ_ids]

    def peer(self, author: np.ndarray, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Weighted non-staff target joined by ``t`` and not the author (-1 if none)."""
        k = np.searchsorted(self.cand_joined, t, side="right")
        out = np.full(len(t), -1, np.int64)
        ok = k > 0
        if not ok.any() or not len(self.cand):
            return out
        lim = self.cum_w[np.maximum(k - 1, 0)]
        pos = np.searchsorted(self.cum_w, rng.random(len(t)) * lim, side="right")
        pos = np.minimum(pos, np.maximum(k - 1, 0))
        target = self.cand[pos]
        self_hit = target == author
        alt = np.where(pos > 0, pos - 1, pos + 1)
        alt_ok = alt < k
        pos = np.where(self_hit, alt, pos)
        ok &= ~self_hit | alt_ok
        out[ok] = self.cand[np.minimum(pos[ok], len(self.cand) - 1)]
        return out

    def circle_mate(self, author: np.ndarray, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A member of the author's circle joined by ``t`` (-1 if none or no circle)."""
        out = np.full(len(t), -1, np.int64)
        c = self.m.circle[author]
        has = c >= 0
        if not has.any():
            return out
        size = self.circ_size[c[has]]
        step = 1 + (rng.random(int(has.sum())) * np.maximum(size - 1, 1)).astype(np.int64)  # never the author
        pick = self.circ_members[self.circ_start[c[has]] + (self.circ_pos[author[has]] + step) % size]
        valid = (pick != author[has]) & (self.m.joined[pick] <= t[has])
        out[np.flatnonzero(has)[valid]] = pick[valid]
        return out

    def pick(self, author: np.ndarray, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Targets for interaction events by ``author`` at ``t`` (-1 where impossible)."""
        n = len(t)
        author_staff = self.m.is_staff[author]
        target = self.peer(author, t, rng)
        if self.spec.circle_p:
            mate = self.circle_mate(author, t, rng)
            use = (mate >= 0) & (rng.random(n) < self.spec.circle_p)
            target = np.where(use, mate, target)
        hubs = self.m.hubs
        if len(hubs) and self.spec.core_hub_p:
            to_hub = ~author_staff & (rng.random(n) < self.spec.core_hub_p)
            hub = hubs[_weighted_pick(1.0 / np.sqrt(np.arange(1, len(hubs) + 1)), n, rng)]
            hub_ok = to_hub & (self.m.joined[hub] <= t) & (hub != author)
            target = np.where(hub_ok, hub, target)
        to_staff = ~author_staff & (rng.random(n) < self.spec.hub_p)
        staff = self.staff[_weighted_pick(self.staff_w, n, rng)]
        staff_ok = (self.m.joined[staff] <= t) & (staff != author)
        target = np.where(to_staff & staff_ok, staff, target)
        owner = self.m.owner
        fallback = (target < 0) & (author != owner)
        target[fallback] = owner
        return target


def _thread_ids(spec: CommunitySpec, t: np.ndarray, etype: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Thread number for posts (new threads, in time order) and replies (a recent thread); -1 otherwise."""
    out = np.full(len(t), -1, np.int64)
    posts = np.flatnonzero(etype == _T["post"])
    posts = posts[np.argsort(t[posts], kind="stable")]
    out[posts] = np.arange(len(posts))
    replies = np.flatnonzero(etype == _T["reply"])
    k = np.searchsorted(t[posts], t[replies], side="right")
    back = rng.geometric(0.15, len(replies)) - 1
    chosen = k - 1 - np.minimum(back, np.maximum(k - 1, 0))
    out[replies] = np.where(k > 0, chosen, -1)
    return out


# --------------------------------------------------------------------------- events
def _behaviour(m: _Members, spec: CommunitySpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per member: p_day, extra events per active day, content mix (rows)."""
    depth = DEPTH["early_death" if spec.early_death else spec.lifecycle]
    n = len(m.role)
    p = np.zeros(n)
    extra = np.zeros(n)
    mix = np.zeros((n, len(_CONTENT_MIX_TYPES)))
    for i, r in enumerate(m.role):
        if r in ("owner", "staff"):
            b = STAFF_BEHAVIOUR[spec.economy]
            p[i] = b["p_day"] + (0.05 if r == "owner" else 0.0)
            extra[i] = b["extra_per_day"]
            mix[i] = b["mix"]
        elif r in ROLES and r != "lurker":
            rs = ROLES[r]
            p[i] = min(0.95, rs.p_day * depth**0.5)
            extra[i] = rs.extra_per_day * depth
            mix[i] = rs.mix
            if r == "zombie" and spec.early_death:  # the lively first days of a doomed group
                p[i], extra[i], mix[i] = 0.9, 2.5, EARLY_DEATH_ZOMBIE_MIX
    return p, extra, mix


def _content_events(m: _Members, spec: CommunitySpec, w: np.ndarray, days: int,
                    rng: np.random.Generator, ev: _Events) -> None:
    """Messages, posts, replies, mentions and reactions of staff and planted roles."""
    p, extra, mix = _behaviour(m, spec)
    d = np.arange(days)
    in_win = (d[None, :] + 1 > m.a0[:, None]) & (d[None, :] < m.a1[:, None])
    active = (rng.random((len(p), days)) < np.minimum(0.98, p[:, None] * w[None, :])) & in_win
    _force_days(m, days, active, rng)
    mem, day = np.nonzero(active)
    per_day = 1 + rng.poisson(extra[mem])
    mem, day = np.repeat(mem, per_day), np.repeat(day, per_day)
    t = _clip_to_window(_at_day(day, rng), m.a0[mem], m.a1[mem], rng)
    cum = np.cumsum(mix[mem], axis=1)
    kind = (rng.random(len(mem))[:, None] * cum[:, -1:] > cum).sum(axis=1)
    etype = np.array([_T[x] for x in _CONTENT_MIX_TYPES])[np.minimum(kind, len(_CONTENT_MIX_TYPES) - 1)]
    ev.add(mem, t, etype)
    _lurker_reactions(m, days, rng, ev)


def _force_days(m: _Members, days: int, active: np.ndarray, rng: np.random.Generator) -> None:
    """Guarantee the activity that defines some roles (recent day, first day, last day before quiet)."""
    def force(mask: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        idx = np.flatnonzero(mask)
        if len(idx):
            lo_i, hi_i = np.floor(lo[idx]).astype(int), np.ceil(hi[idx]).astype(int)
            day = lo_i + (rng.random(len(idx)) * np.maximum(hi_i - lo_i, 1)).astype(int)
            active[idx, np.clip(day, 0, days - 1)] = True

    r = m.role
    force(r == "ordinary", np.maximum(m.a0, days - 30.0), m.a1)
    force(r == "newcomer", m.a0, m.a1)
    force(r == "churn_risk", m.a1 - 7.0, m.a1)
    zombie = r == "zombie"
    force(zombie, m.a0, m.a0 + 1.0)


def _lurker_reactions(m: _Members, days: int, rng: np.random.Generator, ev: _Events) -> None:
    """Lurkers react rarely (1-3 times), at least once in the last 60 days."""
    lurk = np.flatnonzero(m.role == "lurker")
    n = 1 + rng.binomial(2, 0.3, len(lurk))
    mem = np.repeat(lurk, n)
    first = np.concatenate([[True], mem[1:] != mem[:-1]]) if len(mem) else np.zeros(0, bool)
    lo = np.where(first, np.maximum(m.a0[mem], days - 60.0), m.a0[mem])
    day = np.floor(lo + rng.random(len(mem)) * (days - lo)).astype(np.int64)
    t = _clip_to_window(_at_day(day, rng), m.a0[mem], np.full(len(mem), float(days)), rng)
    ev.add(mem, t, _T["reaction"])


def _present(m: _Members, t: np.ndarray) -> np.ndarray:
    """Members x times matrix: inside their activity window at time ``t``."""
    return (m.a0[:, None] <= t[None, :]) & (m.a1[:, None] > t[None, :])


def _role_prob(m: _Members, attr: str, staff_value: float = 0.0) -> np.ndarray:
    """Per member a probability from the role specs (staff get ``staff_value``)."""
    return np.array([getattr(ROLES[r], attr) if r in ROLES else (staff_value if r != "bot" else 0.0)
                     for r in m.role])


def _attendance(m: _Members, spec: CommunitySpec, event_days: np.ndarray, rng: np.random.Generator,
                ev: _Events) -> None:
    """event_attend at 20:00 local on event days, by role."""
    if not len(event_days):
        return
    start = event_days + 20.0 / 24.0
    mult = 1.4 if spec.theme == "knowledge" else 1.0
    p = np.minimum(0.95, _role_prob(m, "attend", 0.9) * mult)
    att = _present(m, start) & (rng.random((len(m.role), len(start))) < p[:, None])
    mem, k = np.nonzero(att)
    ev.add(mem, start[k] + rng.random(len(k)) * 0.25 / 24.0, _T["event_attend"])


def _checkins(m: _Members, spec: CommunitySpec, days: int, rng: np.random.Generator, ev: _Events) -> None:
    """Daily check-ins (knowledge/service communities)."""
    if not spec.checkins:
        return
    d = np.arange(days)
    in_win = (d[None, :] + 1 > m.a0[:, None]) & (d[None, :] < m.a1[:, None])
    active = in_win & (rng.random((len(m.role), days)) < _role_prob(m, "checkin")[:, None])
    mem, day = np.nonzero(active)
    t = _clip_to_window(_at_day(day, rng, CHECKIN_HOUR_WEIGHTS), m.a0[mem], m.a1[mem], rng)
    ev.add(mem, t, _T["checkin"])


def _courses(m: _Members, spec: CommunitySpec, days: int, rng: np.random.Generator, ev: _Events) -> None:
    """course_complete at the end of each 14-day module."""
    if not spec.courses:
        return
    ends = np.arange(max(0, int(np.ceil(spec.created_day))) + 14, days, 14) + 21.5 / 24.0
    done = _present(m, ends) & (rng.random((len(m.role), len(ends))) < _role_prob(m, "course")[:, None])
    mem, k = np.nonzero(done)
    ev.add(mem, ends[k] + rng.random(len(k)) * 0.08, _T["course_complete"])


def _purchases(m: _Members, spec: CommunitySpec, days: int, rng: np.random.Generator, ev: _Events) -> None:
    """Purchases of buyers: count, day (no event lift), amount."""
    buyers = np.flatnonzero(m.is_buyer)
    n = np.where(m.role[buyers] == "buyer", 3 + rng.poisson(2.0, len(buyers)),
                 1 + rng.poisson(spec.repeat_rate, len(buyers)))
    mem = np.repeat(buyers, n)
    day = np.floor(m.a0[mem] + rng.random(len(mem)) * (m.a1[mem] - m.a0[mem])).astype(np.int64)
    t = _clip_to_window(_at_day(day, rng), m.a0[mem], m.a1[mem], rng)
    price = spec.price or 99.0
    amount = np.round(np.exp(np.log(price) + 0.45 * rng.standard_normal(len(mem))), 2)
    ev.add(mem, t, _T["purchase"], amount=amount)


def _categories(spec: CommunitySpec, n: int, rng: np.random.Generator) -> np.ndarray | None:
    """Purchase categories drawn from the community's weights (None where it records none)."""
    if not spec.purchase_categories:
        return None
    names = np.array([c for c, _ in spec.purchase_categories], dtype=object)
    return names[_weighted_pick(np.array([w for _, w in spec.purchase_categories]), n, rng)]


def _events_held(m: _Members, spec: CommunitySpec, event_days: np.ndarray, rng: np.random.Generator,
                 ev: _Events) -> None:
    """One ``event`` row per event day at 19:55 local: its host (staff, a core hub, or the guest) and format."""
    if not len(event_days):
        return
    staff = np.flatnonzero(m.is_staff)
    host = staff[rng.integers(0, len(staff), len(event_days))]
    if spec.event_host == "core" and len(m.hubs):
        host = m.hubs[rng.integers(0, len(m.hubs), len(event_days))]
    elif spec.event_host == "guest":
        guest = np.flatnonzero(m.role == "guest")
        every_other = np.arange(len(event_days)) % 2 == 0
        host[every_other & (m.joined[guest[0]] < event_days)] = guest[0]
    ev.add(host, event_days + (19.0 + 55.0 / 60.0) / 24.0, _T["event"], category=spec.event_category)


def _moderation(m: _Members, spec: CommunitySpec, days: int, rng: np.random.Generator, ev: _Events) -> None:
    """Moderation acts (pin, remove, warn, welcome): by staff, or 80% by the core hubs."""
    if not spec.moderation or spec.moderation_per_day <= 0:
        return
    d = np.arange(max(0, int(np.ceil(spec.created_day))), days)
    day = np.repeat(d, rng.poisson(spec.moderation_per_day, len(d)))
    staff = np.flatnonzero(m.is_staff)
    who = staff[rng.integers(0, len(staff), len(day))]
    if spec.moderation == "core" and len(m.hubs):
        by_core = rng.random(len(day)) < 0.8
        who[by_core] = m.hubs[rng.integers(0, len(m.hubs), int(by_core.sum()))]
    t = _at_day(day, rng)
    ok = m.a0[who] <= t
    ev.add(who[ok], t[ok], _T["moderation"])


def _rewards(m: _Members, spec: CommunitySpec, days: int, rng: np.random.Generator, ev: _Events) -> None:
    """Rewards by staff to members; ``answers``/``coupons`` receivers stay more active in the week after."""
    if not spec.rewards or spec.reward_n <= 0:
        return
    lo = max(0.0, spec.created_day) + 8.0
    t = np.sort(lo + rng.random(spec.reward_n) * (days - 8.0 - lo))
    pool = {"random": ("core", "contributor"),
            "answers": ("core", "contributor"), "coupons": ("ordinary", "contributor")}[spec.rewards]
    if spec.rewards == "coupons":
        eligible = np.flatnonzero(np.isin(m.role, pool) & m.is_buyer)
    else:
        eligible = np.flatnonzero(np.isin(m.role, pool))
    present = (m.a0[eligible][:, None] <= t[None, :] - 7.0) & (m.a1[eligible][:, None] > t[None, :] + 7.0)
    receiver = np.full(len(t), -1, np.int64)
    for k in range(len(t)):
        cand = eligible[present[:, k]]
        if len(cand):
            receiver[k] = cand[rng.integers(0, len(cand))]
    ok = receiver >= 0
    t, receiver = t[ok], receiver[ok]
    staff = np.flatnonzero(m.is_staff)
    ev.add(staff[rng.integers(0, len(staff), len(t))], t, _T["reward"], target=receiver, category=spec.reward_category)
    if spec.rewards == "random":
        return  # a draw, not tied to behaviour: nothing changes afterwards
    extra = rng.poisson(5.0 if spec.rewards == "answers" else 2.0, len(t))
    mem = np.repeat(receiver, extra)
    after = np.repeat(t, extra) + 0.05 + rng.random(len(mem)) * 6.9
    kind = np.where(rng.random(len(mem)) < 0.5, _T["reply"], _T["message"])
    ev.add(mem, after, kind)
    if spec.rewards == "coupons":
        buy = rng.random(len(t)) < 0.5
        bt = t[buy] + 0.05 + rng.random(int(buy.sum())) * 6.9
        amount = np.round(np.exp(np.log(spec.price or 99.0) + 0.45 * rng.standard_normal(len(bt))), 2)
        ev.add(receiver[buy], bt, _T["purchase"], amount=amount, category=_categories(spec, len(bt), rng))


def _referrals(m: _Members, spec: CommunitySpec, rng: np.random.Generator, ev: _Events) -> None:
    """Referral events shortly before some in-window joins, by core/contributors/buyers."""
    plain = np.isin(m.role, tuple(ROLES))
    referred = np.flatnonzero(plain & (m.joined > max(spec.created_day, 0.0) + 1.0)
                              & (rng.random(len(m.role)) < spec.referral_rate))
    t = m.joined[referred] - (1.0 + rng.random(len(referred)) * 47.0) / 24.0
    weight = {"core": 5.0, "contributor": 3.0, "ordinary": 1.0, "buyer": 2.0, "newcomer": 0.5}
    w = np.array([weight.get(r, 0.0) for r in m.role])
    cand = np.flatnonzero(w > 0)
    cand = cand[np.argsort(m.a0[cand], kind="stable")]
    if not len(cand):
        return
    cw = np.cumsum(w[cand])
    k = np.searchsorted(m.a0[cand], t, side="right")
    pos = np.minimum(np.searchsorted(cw, rng.random(len(t)) * cw[np.maximum(k - 1, 0)], side="right"),
                     np.maximum(k - 1, 0))
    ok = (k > 0) & (t >= 0)
    ev.add(cand[pos[ok]], t[ok], _T["referral"], target=referred[ok])


def _joins_and_leaves(m: _Members, ev: _Events) -> None:
    """join at joined_at (in-window joins only) and leave at left_at."""
    j = np.flatnonzero(m.joined >= 0)
    ev.add(j, m.joined[j], _T["join"])
    lv = np.flatnonzero(~np.isnan(m.left))
    ev.add(lv, m.left[lv], _T["leave"])


def _bot_events(m: _Members, days: int, rng: np.random.Generator, ev: _Events) -> None:
    """The bot @-mentions every newcomer and posts a morning reminder most days."""
    bots = np.flatnonzero(m.role == "bot")
    if not len(bots):
        return
    bot = int(bots[0])
    new = np.flatnonzero((m.joined >= max(m.joined[bot], 0.0)) & (np.arange(len(m.role)) != bot))
    ev.add(np.full(len(new), bot), m.joined[new] + (10 + rng.random(len(new)) * 110) / _DAY_S, _T["mention"],
           target=new)
    d = np.arange(int(np.ceil(max(m.a0[bot], 0.0))), days)
    d = d[rng.random(len(d)) < 0.9]
    ev.add(np.full(len(d), bot), d + (9.0 + rng.random(len(d)) * 0.05) / 24.0, _T["message"])


# --------------------------------------------------------------------------- one community
def _community(spec: CommunitySpec, *, scale: float, days: int, start_s: int, start_weekday: int,
               rng: np.random.Generator) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Generate one community: its row, members, events and truth."""
    n_total = max(30, round(spec.n_members * scale))
    # the practices (DOMAIN.md §4b) draw from a stream of their own, so the rest is drawn as before them
    practice_rng = rng.spawn(1)[0]
    m = _make_members(spec, n_total, days, rng, practice_rng)
    event_days = _event_days(spec, days)
    w = _day_weights(spec, days, start_weekday, event_days)
    ev = _Events()
    _content_events(m, spec, w, days, rng, ev)
    _attendance(m, spec, event_days, rng, ev)
    _checkins(m, spec, days, rng, ev)
    _courses(m, spec, days, rng, ev)
    _purchases(m, spec, days, rng, ev)
    _referrals(m, spec, rng, ev)
    _joins_and_leaves(m, ev)
    _bot_events(m, days, rng, ev)
    cols = ev.concat()
    cols = _finish_interactions(m, spec, cols, rng)
    events = _events_frame(m, spec, cols, start_s, rng)
    n_base = len(m.ids)
    late = _late_members(m, spec, days, practice_rng)
    events = _with_practices(m, spec, events, event_days, days, start_s, practice_rng, late)
    row = _community_row(spec, start_s)
    members = _members_frame(m, spec, start_s, rng, n_base, practice_rng)
    truth = pd.DataFrame({
        "community_id": pd.array([spec.community_id] * len(m.ids), dtype="string"),
        "member_id": pd.array(m.ids, dtype="string"),
        "planted_role": pd.array(np.where(np.isin(m.role, ("owner", "staff")), "staff", m.role), dtype="string"),
        "is_buyer": m.is_buyer.astype(bool),
    })
    return row, members, events, truth


def _finish_interactions(m: _Members, spec: CommunitySpec, cols: dict[str, np.ndarray],
                         rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Targets for replies/mentions/reactions without one; events left without a target become messages."""
    inter = np.isin(cols["etype"], [_T[x] for x in S.INTERACTION_EVENTS]) & (cols["target"] < 0)
    idx = np.flatnonzero(inter)
    target = _TargetPicker(m, spec).pick(cols["member"][idx], cols["t"][idx], rng)
    cols["target"][idx] = target
    cols["etype"][idx[target < 0]] = _T["message"]
    return cols


def _to_utc(t_days: np.ndarray, start_s: int) -> pd.DatetimeIndex:
    """Float local days since the window start -> UTC timestamps (whole seconds, ns resolution)."""
    secs = start_s - _UTC_OFFSET_S + np.floor(t_days * _DAY_S).astype(np.int64)
    return pd.to_datetime(secs, unit="s", utc=True).as_unit("ns")


def _topics(spec: CommunitySpec, etype: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Topic tag per event: always on posts, on 35% of messages and replies (Zipf frequencies)."""
    out = np.full(len(etype), None, dtype=object)
    if not spec.topics:
        return out
    has = (etype == _T["post"]) | (np.isin(etype, [_T["message"], _T["reply"]]) & (rng.random(len(etype)) < 0.35))
    w = np.arange(1, len(spec.topics) + 1, dtype=float) ** -spec.topic_alpha
    out[has] = np.array(spec.topics, dtype=object)[_weighted_pick(w, int(has.sum()), rng)]
    return out


def _channels(m: _Members, spec: CommunitySpec, member: np.ndarray, etype: np.ndarray,
              rng: np.random.Generator) -> np.ndarray:
    """Channel per content/interaction event where the platform has channels (staff posts go to 公告)."""
    out = np.full(len(etype), None, dtype=object)
    if not spec.channels:
        return out
    content = np.isin(etype, [_T[x] for x in _CONTENT_MIX_TYPES])
    w = np.array([0.3] + [1.0] * (len(spec.channels) - 1))
    ch = np.array(spec.channels, dtype=object)[_weighted_pick(w, len(etype), rng)]
    staff_post = m.is_staff[member] & (etype == _T["post"])
    ch[staff_post] = spec.channels[0]
    out[content] = ch[content]
    return out


def _events_frame(m: _Members, spec: CommunitySpec, cols: dict[str, np.ndarray], start_s: int,
                  rng: np.random.Generator) -> pd.DataFrame:
    """The canonical events table of one community, sorted by time."""
    order = np.lexsort((cols["etype"], cols["member"], cols["t"]))
    cols = {k: v[order] for k, v in cols.items()}
    etype, member, target = cols["etype"], cols["member"], cols["target"]
    thread = _thread_ids(spec, cols["t"], etype, rng)
    thread_str = np.full(len(thread), None, dtype=object)
    has = thread >= 0
    thread_str[has] = np.char.add(f"{spec.community_id}-t", np.char.zfill(thread[has].astype(str), 5)).astype(object)
    target_str = np.full(len(target), None, dtype=object)
    target_str[target >= 0] = m.ids[target[target >= 0]]
    return pd.DataFrame({
        "community_id": pd.array([spec.community_id] * len(etype), dtype="string"),
        "member_id": pd.array(m.ids[member], dtype="string"),
        "ts": _to_utc(cols["t"], start_s),
        "event_type": pd.array(np.array(_TYPES)[etype], dtype="string"),
        "target_member_id": pd.array(target_str, dtype="string"),
        "thread_id": pd.array(thread_str, dtype="string"),
        "amount": cols["amount"].astype("float64"),
        "channel": pd.array(_channels(m, spec, member, etype, rng), dtype="string"),
        "topic": pd.array(_topics(spec, etype, rng), dtype="string"),
        "category": pd.array(cols["category"], dtype="string"),
    })


def _late_members(m: _Members, spec: CommunitySpec, days: int, rng: np.random.Generator) -> _Events:
    """Members added after the rest is drawn (so it stays as drawn): the invited guest, a wave of silent newcomers.

    The guest (an invited expert, role ``guest``) joins 20 days after creation and hosts events; the
    silent newcomers (``silent_newcomers`` x the members) joined in the last 30 days by QR code and only
    react, 1-3 times: they read, never speak. Returns their join and reaction events.
    """
    ev = _Events()
    roles, joined = [], []
    if spec.event_host == "guest":
        roles.append("guest")
        joined.append(np.array([spec.created_day + 20.0]))
    n_silent = int(round(spec.silent_newcomers * len(m.ids)))
    if n_silent:
        roles += ["newcomer"] * n_silent
        joined.append(np.sort(days - 30.0 + 0.02 + rng.random(n_silent) * 28.9))
    if not roles:
        return ev
    j = np.concatenate(joined)
    n0, n = len(m.ids), len(roles)
    start = int(m.ids[-1].rsplit("_", 1)[1]) + 1
    m.ids = np.concatenate([m.ids, [f"{spec.community_id}_{i:04d}" for i in range(start, start + n)]])
    m.role = np.concatenate([m.role, roles])
    m.joined = np.concatenate([m.joined, j])
    m.a0 = np.concatenate([m.a0, np.maximum(j, 0.0)])
    m.a1 = np.concatenate([m.a1, np.full(n, float(days))])
    m.left = np.concatenate([m.left, np.full(n, np.nan)])
    m.is_buyer = np.concatenate([m.is_buyer, np.zeros(n, bool)])
    m.circle = np.concatenate([m.circle, np.full(n, -1, np.int64)])
    silent = np.array(roles) == "newcomer"
    m.channel = np.concatenate([m.channel, np.where(silent, "qr_code" if spec.join_channels else None, None)])
    m.inviter = np.concatenate([m.inviter, np.full(n, -1, np.int64)])
    idx = n0 + np.arange(n)
    inside = idx[j >= 0]
    ev.add(inside, m.joined[inside], _T["join"])
    quiet = idx[silent]
    k = 1 + rng.binomial(2, 0.3, len(quiet))
    mem = np.repeat(quiet, k)
    t = m.a0[mem] + 0.01 + rng.random(len(mem)) * (days - m.a0[mem] - 0.02)
    ev.add(mem, t, _T["reaction"])
    return ev


def _with_practices(m: _Members, spec: CommunitySpec, events: pd.DataFrame, event_days: np.ndarray, days: int,
                    start_s: int, rng: np.random.Generator, late: _Events) -> pd.DataFrame:
    """The events with the practices added: late members, events held, moderation, rewards, purchase
    categories, platforms."""
    ev = late
    _events_held(m, spec, event_days, rng, ev)
    _moderation(m, spec, days, rng, ev)
    _rewards(m, spec, days, rng, ev)
    cols = _finish_interactions(m, spec, ev.concat(), rng)
    etype = cols["etype"].astype(np.int64)
    target = cols["target"].astype(np.int64)
    target_str = np.full(len(target), None, dtype=object)
    target_str[target >= 0] = m.ids[target[target >= 0]]
    none = pd.array(np.full(len(etype), None, dtype=object), dtype="string")
    extra = pd.DataFrame({
        "community_id": pd.array([spec.community_id] * len(etype), dtype="string"),
        "member_id": pd.array(m.ids[cols["member"].astype(np.int64)], dtype="string"),
        "ts": _to_utc(cols["t"], start_s),
        "event_type": pd.array(np.array(_TYPES)[etype], dtype="string"),
        "target_member_id": pd.array(target_str, dtype="string"),
        "thread_id": none, "amount": cols["amount"].astype("float64"), "channel": none, "topic": none,
        "category": pd.array(cols["category"], dtype="string"),
    })
    out = pd.concat([events, extra], ignore_index=True) if len(extra) else events
    out = out.sort_values("ts", kind="stable", ignore_index=True)
    buys = (out["event_type"] == "purchase") & out["category"].isna()
    cats = _categories(spec, int(buys.sum()), rng)
    if cats is not None:
        out.loc[buys, "category"] = cats
    member = pd.Index(m.ids).get_indexer(out["member_id"].astype(str))
    etype_all = pd.Index(_TYPES).get_indexer(out["event_type"].astype(str))
    out["platform"] = pd.array(_platforms(m, spec, member, etype_all, rng), dtype="string")
    return out


def _platforms(m: _Members, spec: CommunitySpec, member: np.ndarray, etype: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    """Platform of each member event of a community on several (None = the primary platform)."""
    out = np.full(len(etype), None, dtype=object)
    if not spec.platform_split:
        return out
    names = np.array([p for p, _ in spec.platform_split], dtype=object)
    pick = names[_weighted_pick(np.array([w for _, w in spec.platform_split]), len(etype), rng)]
    member_event = ~m.is_staff[member] & ~np.isin(etype, [_T["join"], _T["leave"]]) & (m.role[member] != "bot")
    out[member_event] = pick[member_event]
    return out


def _community_row(spec: CommunitySpec, start_s: int) -> dict[str, Any]:
    """The communities-table row of ``spec``."""
    def axis(name: str) -> str:
        return ";".join([getattr(spec, name)] + [v for a, v in spec.secondary if a == name])

    return {
        "community_id": spec.community_id, "name": spec.name, "theme": axis("theme"),
        "business_model": axis("business_model"), "lifecycle": spec.lifecycle, "platform": axis("platform"),
        "monetization": axis("monetization"),
        "created_at": _to_utc(np.array([spec.created_day]), start_s)[0],
        "economy": spec.economy, "goal": spec.goal or None, "source": "synthetic (commlab.data.generate), CC0",
    }


def _members_frame(m: _Members, spec: CommunitySpec, start_s: int, rng: np.random.Generator, n_base: int,
                   late_rng: np.random.Generator) -> pd.DataFrame:
    """The canonical members table of one community (names of the late members from ``late_rng``)."""
    names = _display_names(n_base, rng) + _display_names(len(m.ids) - n_base, late_rng)
    for i, r in enumerate(m.role):
        if r == "owner":
            names[i] = f"群主-{names[i]}"
        elif r == "staff":
            names[i] = f"助理-{names[i]}"
        elif r == "bot":
            names[i] = "群助手(机器人)"
        elif r == "guest":
            names[i] = f"嘉宾-{names[i]}"
    left = _to_utc(np.nan_to_num(m.left, nan=0.0), start_s).where(~np.isnan(m.left))  # NaT = still in
    role = np.where(np.isin(m.role, ("owner", "staff", "bot", "guest")), m.role, "member")
    return pd.DataFrame({
        "community_id": pd.array([spec.community_id] * len(m.ids), dtype="string"),
        "member_id": pd.array(m.ids, dtype="string"),
        "joined_at": _to_utc(m.joined, start_s),
        "left_at": left,
        "role": pd.array(role, dtype="string"),
        "display_name": pd.array(names, dtype="string"),
        "join_channel": pd.array(m.channel, dtype="string"),
        "invited_by": pd.array(np.where(m.inviter >= 0, m.ids[np.maximum(m.inviter, 0)], None), dtype="string"),
    })


# --------------------------------------------------------------------------- public API
def _start_seconds(start: str) -> tuple[int, int]:
    """Local midnight of ``start`` as naive epoch seconds, and its weekday (Monday = 0)."""
    day = np.datetime64(start, "D")
    days_since_epoch = int(day.astype(np.int64))
    return days_since_epoch * _DAY_S, (days_since_epoch + 3) % 7


def generate(seed: int = DEFAULT_SEED, *, scale: float = 1.0, start: str = "2024-01-01",
             days: int = 182) -> SyntheticData:
    """Generate the synthetic sample data set with planted roles and hypotheses.

    Parameters
    ----------
    seed : int, default 20240601
        Seed of ``numpy.random.default_rng``; the same seed gives identical output.
    scale : float, default 1.0
        Multiplier of every community's member count (at least 30 members each).
    start : str, default "2024-01-01"
        First day of the observed window, a date in Asia/Shanghai.
    days : int, default 182
        Length of the window; ``start + days`` is the natural ``as_of``.

    Returns
    -------
    SyntheticData
        Canonical tables, the planted truth per member and the assumptions.

    Raises
    ------
    ValueError
        If ``days`` is shorter than 120 (the roles need 90 + 30 days) or
        ``scale`` is not positive.

    Examples
    --------
    >>> data = generate(scale=0.1)
    >>> sorted(data.truth["planted_role"].unique())[:4]
    ['bot', 'buyer', 'churn_risk', 'contributor']
    """
    if days < 120:
        raise InvalidArgument(f"days must be at least 120 (got {days}): roles need 90 days of history plus 30")
    if scale <= 0:
        raise InvalidArgument(f"scale must be positive (got {scale})")
    start_s, weekday = _start_seconds(start)
    rngs = np.random.default_rng(seed).spawn(len(COMMUNITY_SPECS))
    rows, members, events, truth = [], [], [], []
    for spec, rng in zip(COMMUNITY_SPECS, rngs, strict=True):
        row, mem, ev, tr = _community(spec, scale=scale, days=days, start_s=start_s, start_weekday=weekday,
                                      rng=rng)
        rows.append(row)
        members.append(mem)
        events.append(ev)
        truth.append(tr)
    communities = pd.DataFrame(rows)
    for col in S.COMMUNITIES.names:
        if col not in ("created_at",) and col in communities:
            communities[col] = communities[col].astype("string")
    communities["created_at"] = communities["created_at"].astype("datetime64[ns, UTC]")
    return SyntheticData(
        communities=communities,
        members=pd.concat(members, ignore_index=True),
        events=pd.concat(events, ignore_index=True),
        truth=pd.concat(truth, ignore_index=True),
        assumptions=_assumptions(seed, scale, start, days),
    )


def _assumptions(seed: int, scale: float, start: str, days: int) -> dict[str, Any]:
    """Everything planted, as plain JSON-ready data."""
    end = (np.datetime64(start, "D") + np.timedelta64(days, "D")).astype(str)
    return {
        "generator": "commlab.data.generate",
        "seed": seed,
        "scale": scale,
        "window": {"start": start, "end": end, "days": days, "local_tz": LOCAL_TZ,
                   "note": "as_of = end (local midnight); times stored in UTC"},
        "rhythm": {"hour_weights_local": HOUR_WEIGHTS.tolist(),
                   "checkin_hour_weights_local": CHECKIN_HOUR_WEIGHTS.tolist()},
        "roles": {code: asdict(r) for code, r in ROLES.items()},
        "role_mix": ROLE_MIX,
        "depth": DEPTH,
        "staff_behaviour": STAFF_BEHAVIOUR,
        "communities": {s.community_id: {**asdict(s), "n_members_scaled": max(30, round(s.n_members * scale)),
                                         "n_staff_besides_owner": _n_staff(max(30, round(s.n_members * scale)))}
                        for s in COMMUNITY_SPECS},
        "hypotheses_planted": HYPOTHESES,
        "hypotheses_not_planted": NOT_PLANTED,
    }


# --------------------------------------------------------------------------- writing
def _events_table(events: pd.DataFrame) -> pa.Table:
    """Events as an Arrow table with a fixed schema (no pandas metadata, so bytes are stable)."""
    fields = []
    arrays = []
    for col in S.EVENTS.names:
        if col not in events:
            continue
        if col == "ts":
            arr = pa.array(events[col].dt.tz_convert("UTC")).cast(pa.timestamp("ms", tz="UTC"))
        elif col == "amount":
            arr = pa.array(events[col].to_numpy(dtype="float64", na_value=np.nan), type=pa.float64(),
                           from_pandas=True)
        else:
            arr = pa.array(events[col].astype("string"), from_pandas=True).cast(pa.string())
        fields.append(pa.field(col, arr.type))
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 CSV with ISO times in UTC (``2024-01-01T08:00:00+00:00``)."""
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            txt = out[col].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
            out[col] = txt.where(out[col].notna(), "")
    out.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def write_samples(out_dir: str | Path, seed: int = DEFAULT_SEED, scale: float = 1.0) -> dict[str, Path]:
    """Write the sample data set, its truth and its documented assumptions.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write into (created if needed; existing files are replaced).
    seed : int, default 20240601
        Seed passed to :func:`generate`.
    scale : float, default 1.0
        Member-count multiplier passed to :func:`generate`.

    Returns
    -------
    dict of str to Path
        ``communities``, ``members``, ``events``, ``truth``, ``assumptions``
        and ``assumptions_md`` to the files written: ``communities.csv``,
        ``members.csv``, ``events.parquet``, ``truth/member_roles.csv``,
        ``truth/assumptions.json`` and ``ASSUMPTIONS.md``.
    """
    out = Path(out_dir)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    data = generate(seed, scale=scale)
    paths = {
        "communities": out / "communities.csv",
        "members": out / "members.csv",
        "events": out / "events.parquet",
        "truth": out / "truth" / "member_roles.csv",
        "assumptions": out / "truth" / "assumptions.json",
        "assumptions_md": out / "ASSUMPTIONS.md",
    }
    _write_csv(data.communities, paths["communities"])
    _write_csv(data.members, paths["members"])
    pq.write_table(_events_table(data.events), paths["events"], compression="zstd", compression_level=9,
                   row_group_size=1_000_000)
    _write_csv(data.truth, paths["truth"])
    paths["assumptions"].write_text(json.dumps(data.assumptions, ensure_ascii=False, indent=2) + "\n",
                                    encoding="utf-8")
    paths["assumptions_md"].write_text(assumptions_markdown(data), encoding="utf-8")
    return paths


def assumptions_markdown(data: SyntheticData) -> str:
    """Human-readable description of what :func:`generate` planted (the ``ASSUMPTIONS.md``).

    Parameters
    ----------
    data : SyntheticData
        A generated data set.

    Returns
    -------
    str
        Markdown text.
    """
    a = data.assumptions
    w = a["window"]
    lines = [
        "# Synthetic sample data: what was planted",
        "",
        f"Generated by `commlab.data.generate.write_samples` with seed {a['seed']} and scale {a['scale']}. "
        "Every value below is a parameter of the generator; the analysis is expected to recover it.",
        "",
        f"- Window: {w['start']} to {w['end']} ({w['days']} days), dates in {w['local_tz']}; "
        f"use `as_of = {w['end']}T00:00:00+08:00` (16:00 UTC the day before); no event is at or after it.",
        "- Times are stored in UTC; activity follows a local daily rhythm (evening peak 20-22h, quiet 1-6h) "
        "and a weekly rhythm (`weekend_factor`).",
        "- Members who joined before the window have no `join` event; in-window joins have one at `joined_at`; "
        "members who left have a `leave` event at `left_at`.",
        "- `display_name` values are made up but are PII in real data: never show them in reports.",
        "- Activity below means any event except `join`/`leave`; content = message, post, reply.",
        "",
        "## Data",
        "",
        f"{len(data.communities)} communities, {len(data.members)} members, {len(data.events)} events.",
        "",
        "| id | name | theme | business model | lifecycle | platform | monetization | economy | members | events |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    n_mem = data.members.groupby("community_id").size()
    n_ev = data.events.groupby("community_id").size()
    for r in data.communities.itertuples(index=False):
        lines.append(
            f"| {r.community_id} | {r.name} | {r.theme} | {r.business_model} | {r.lifecycle} | {r.platform} | "
            f"{r.monetization} | {r.economy} | {n_mem.get(r.community_id, 0)} | {n_ev.get(r.community_id, 0)} |"
        )
    lines += _roles_markdown(a, data.truth)
    lines += _communities_markdown(a)
    lines += ["", "## Hypotheses planted", ""]
    for hid, h in a["hypotheses_planted"].items():
        comms = [c for c, s in a["communities"].items() if hid in s["hypotheses"]]
        lines.append(f"- **{hid}** ({h['source']}): {h['statement']} *How:* {h['how']} "
                     f"*Communities:* {', '.join(comms)}.")
    lines += ["", "## Hypotheses deliberately NOT planted (should come out unsupported)", ""]
    for hid, h in a["hypotheses_not_planted"].items():
        comms = [c for c, s in a["communities"].items() if hid in s["controls"]]
        where = f" *Controls:* {', '.join(comms)}." if comms else ""
        lines.append(f"- **{hid}**: {h['statement']} *Why unsupported:* {h['why']}{where}")
    return "\n".join(lines) + "\n"


def _roles_markdown(a: dict[str, Any], truth: pd.DataFrame) -> list[str]:
    """The planted-roles section of ``ASSUMPTIONS.md``."""
    counts = truth["planted_role"].value_counts()
    lines = [
        "",
        "## Planted member roles (`truth/member_roles.csv`)",
        "",
        "One `planted_role` per member; owners and assistants are `staff`, bots `bot`. `is_buyer` is a separate "
        "flag (at least one purchase). Behaviour per role (before the community's depth: startup x1.5 events per "
        "active day and x1.22 `p_day`, mature x0.8 and x0.89):",
        "",
        "| role | zh | n | joined | activity window | p_day | extra events/active day | "
        "mix msg/post/reply/mention/reaction | target weight | attend | check-in | course | buyer x |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for code, r in a["roles"].items():
        mix = "/".join(f"{x:.2f}" for x in r["mix"])
        lines.append(
            f"| {code} | {r['zh']} | {counts.get(code, 0)} | {r['joined']} | {r['window']} | {r['p_day']} | "
            f"{r['extra_per_day']} | {mix} | {r['target_weight']} | {r['attend']} | {r['checkin']} | "
            f"{r['course']} | {r['buyer_mult']} |"
        )
    lines += [
        f"| staff | 群主/助理 | {counts.get('staff', 0)} | at creation | whole window | fan 0.85 / community 0.60 "
        "(owner +0.05) | fan 5 / community 1.2 | fan .20/.15/.50/.10/.05, community .40/.30/.15/.10/.05 | "
        "target of hub_p of member interactions | 0.9 | - | - | 0 |",
        f"| bot | 机器人 | {counts.get('bot', 0)} | at creation | @-mentions each newcomer within 2 minutes of "
        "joining; a 09:00 reminder on 90% of days | - | - | - | 0 | - | - | - | 0 |",
        "",
        "Rule thresholds implied (as_of = end of window; recency = days since the last non-join/leave event):",
        "",
        "- `newcomer`: tenure < 30 days (joined in the last 30 days) and at least one activity.",
        "- `zombie`: tenure >= 90 days, recency > 60 days (or left), at most 3 active days, all within 3 days of "
        "joining.",
        "- `lurker`: tenure >= 90 days, zero content events (message/post/reply/mention), 1-3 reactions, "
        "recency <= 60 days.",
        "- `churn_risk`: tenure >= 120 days, recency 30-60 days (quiet since 31-53 days), ~0.2 x p_day active "
        "days before going quiet.",
        "- `ordinary`: recency <= 30 days, active on ~5% of days (about 5-15 active days).",
        "- `contributor`: active on ~25% of days (~30-60 active days), ~2 events per active day.",
        "- `core`: active on ~65% of days (~100+ active days), ~3.5 events per active day, most replies "
        "received (target weight 12 vs 4 contributor, 1 ordinary).",
        "- `buyer`: >= 3 purchases, active on ~1% of days, no posts/replies.",
        "- early-death community c09: 90% zombies and 10% ordinary, everyone joined in its first 2 days; its "
        f"zombies are lively in their 3 days (p_day 0.9, 2.5 extra events/day, mix {EARLY_DEATH_ZOMBIE_MIX}).",
    ]
    return lines


def _communities_markdown(a: dict[str, Any]) -> list[str]:
    """The per-community parameters section of ``ASSUMPTIONS.md``."""
    keys = ("hub_p", "circle_size", "circle_p", "buyer_share", "repeat_rate", "price", "buyer_role_share",
            "checkins", "courses", "referral_rate", "event_every", "event_lift", "weekend_factor", "topic_alpha",
            "created_day", "has_bot", "early_death")
    lines = ["", "## Community parameters", "",
             "`hub_p`: probability that a member's reply/mention/reaction targets staff; circles: peer ties kept "
             "inside small circles with probability `circle_p`; `created_day` is relative to the window start.",
             "",
             "| id | " + " | ".join(keys) + " | topics | channels | hypotheses |",
             "|---|" + "---|" * (len(keys) + 3)]
    for cid, s in a["communities"].items():
        vals = " | ".join(str(s[k]) for k in keys)
        lines.append(f"| {cid} | {vals} | {'、'.join(s['topics'])} | {'、'.join(s['channels']) or '-'} | "
                     f"{', '.join(s['hypotheses'])} |")
    lines += ["", "## Practices planted (H10, DOMAIN.md §4b)", "",
              "Secondary types follow the primary one in the communities table (`brand;product`). Events held: "
              "one `event` row per event day (host and format); moderation acts a day; rewards over the window; "
              "join channels of in-window joins (weights; the zombie channel takes 90% of the zombies); the "
              "platforms of member events; silent newcomers as a share of the members.", "",
              "| id | goal | secondary | event host / format | event gaps | moderation | rewards | join channels | "
              "zombie channel | bulk inviter | purchase categories | platforms | silent newcomers |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def pairs(v: list) -> str:
        return ", ".join(f"{a} {b:g}" if isinstance(b, float) else f"{a} {b}" for a, b in v) or "-"

    for cid, s in a["communities"].items():
        mod = f"{s['moderation']} {s['moderation_per_day']:g}/day" if s["moderation"] else "-"
        rew = f"{s['rewards']} ({s['reward_category']}, {s['reward_n']})" if s["rewards"] else "-"
        gaps = ", ".join(map(str, s["event_gaps"])) or (f"every {s['event_every']}" if s["event_every"] else "-")
        lines.append(f"| {cid} | {s['goal'] or '-'} | {pairs(s['secondary'])} | {s['event_host']} / "
                     f"{s['event_category']} | {gaps} | {mod} | {rew} | {pairs(s['join_channels'])} | "
                     f"{s['zombie_channel'] or '-'} | {'owner' if s['bulk_inviter'] else '-'} | "
                     f"{pairs(s['purchase_categories'])} | {pairs(s['platform_split'])} | "
                     f"{s['silent_newcomers'] or '-'} |")
    return lines


# --------------------------------------------------------------------------- large benchmark data
#: Event-type mix of the large benchmark data.
LARGE_MIX: dict[str, float] = {"message": 0.42, "reply": 0.25, "reaction": 0.14, "post": 0.08, "mention": 0.05,
                               "checkin": 0.03, "event_attend": 0.015, "purchase": 0.015}
#: Lognormal sigma of member activity weights (top 1% of members make about a third of events).
LARGE_SIGMA = 1.9


def _large_communities(n_members: int, start_s: int, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """Communities of the large data set and their sizes (Zipf-like, summing to ``n_members``)."""
    n_comm = int(np.clip(n_members // 5000, 1, 200))
    raw = np.arange(1, n_comm + 1, dtype=float) ** -0.8
    sizes = np.maximum(np.floor(raw / raw.sum() * n_members).astype(np.int64), 1)
    sizes[0] += n_members - sizes.sum()
    ids = [f"L{i:04d}" for i in range(1, n_comm + 1)]
    pick = lambda vocab: [vocab.codes[i] for i in rng.integers(0, len(vocab.codes), n_comm)]  # noqa: E731
    created = start_s - _UTC_OFFSET_S - (30 + rng.integers(0, 300, n_comm)) * _DAY_S
    frame = pd.DataFrame({
        "community_id": pd.array(ids, dtype="string"),
        "name": pd.array([f"合成社群{i:04d}" for i in range(1, n_comm + 1)], dtype="string"),
        "theme": pd.array([S.THEME.codes[i % len(S.THEME.codes)] for i in range(n_comm)], dtype="string"),
        "business_model": pd.array(pick(S.BUSINESS_MODEL), dtype="string"),
        "lifecycle": pd.array(pick(S.LIFECYCLE), dtype="string"),
        "platform": pd.array(pick(S.PLATFORM), dtype="string"),
        "monetization": pd.array(pick(S.MONETIZATION), dtype="string"),
        "created_at": pd.to_datetime(created, unit="s", utc=True).astype("datetime64[ns, UTC]"),
        "economy": pd.array(pick(S.ECONOMY), dtype="string"),
        "source": pd.array(["synthetic benchmark (commlab.data.generate_large), CC0"] * n_comm, dtype="string"),
    })
    return frame, sizes


def generate_large(out_dir: str | Path, *, n_members: int, n_events: int, seed: int,
                   chunk_events: int = 5_000_000, start: str = "2024-01-01", days: int = 182) -> dict[str, Path]:
    """Write a large heavy-tailed benchmark data set as Parquet, in chunks.

    Member activity weights are lognormal (sigma 1.9), so the top 1% of
    members produce about a third of the events. Events are drawn chunk by
    chunk (vectorised, one Parquet row group per chunk), so memory stays
    bounded by ``chunk_events`` plus the members table.

    Parameters
    ----------
    out_dir : str or Path
        Folder for ``communities.parquet``, ``members.parquet`` and ``events.parquet``.
    n_members : int
        Members in total (spread over ``n_members // 5000`` communities, 1 to 200).
    n_events : int
        Events in total.
    seed : int
        Seed of ``numpy.random.default_rng``.
    chunk_events : int, default 5_000_000
        Events generated and written at a time.
    start : str, default "2024-01-01"
        First day of the window (Asia/Shanghai).
    days : int, default 182
        Length of the window.

    Returns
    -------
    dict of str to Path
        Table name to the file written.

    Raises
    ------
    ValueError
        If ``n_members < 2``, ``n_events < 0`` or ``chunk_events < 1``.
    """
    if n_members < 2 or n_events < 0 or chunk_events < 1:
        raise InvalidArgument("need n_members >= 2, n_events >= 0 and chunk_events >= 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    start_s, _ = _start_seconds(start)
    t0 = start_s - _UTC_OFFSET_S
    communities, sizes = _large_communities(n_members, start_s, rng)
    comm_of = np.repeat(np.arange(len(sizes)), sizes)
    comm_start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    created = (communities["created_at"].astype("int64") // 10**9).to_numpy()
    joined = created[comm_of] + (rng.random(n_members) * (t0 + days * _DAY_S / 2 - created[comm_of])).astype(np.int64)
    pos_in_comm = np.arange(n_members) - comm_start[comm_of]
    joined[pos_in_comm == 0] = created  # the owner joins at creation
    role = np.where(pos_in_comm == 0, "owner", np.where(pos_in_comm <= sizes[comm_of] // 500, "staff", "member"))
    member_ids = pa.array([f"u{i:07d}" for i in range(n_members)], type=pa.string())
    comm_ids = pa.array(communities["community_id"].astype(object).tolist(), type=pa.string())
    paths = {"communities": out / "communities.parquet", "members": out / "members.parquet",
             "events": out / "events.parquet"}
    pq.write_table(pa.Table.from_pandas(communities, preserve_index=False), paths["communities"])
    pq.write_table(pa.table({
        "community_id": comm_ids.take(pa.array(comm_of)),
        "member_id": member_ids,
        "joined_at": pa.array(joined * 1000, type=pa.timestamp("ms", tz="UTC")),
        "left_at": pa.nulls(n_members, type=pa.timestamp("ms", tz="UTC")),
        "role": pa.array(role, type=pa.string()),
    }), paths["members"])
    cum_w = np.cumsum(rng.lognormal(0.0, LARGE_SIGMA, n_members))
    with pq.ParquetWriter(paths["events"], _LARGE_EVENT_SCHEMA, compression="zstd") as writer:
        done = 0
        while done < n_events:
            n = min(chunk_events, n_events - done)
            writer.write_table(_large_chunk(n, cum_w, joined, comm_of, comm_start, sizes, t0, days, member_ids,
                                            comm_ids, rng))
            done += n
    return paths


_LARGE_EVENT_SCHEMA = pa.schema([
    ("community_id", pa.string()), ("member_id", pa.string()), ("ts", pa.timestamp("ms", tz="UTC")),
    ("event_type", pa.string()), ("target_member_id", pa.string()), ("amount", pa.float64()),
])


def _large_chunk(n: int, cum_w: np.ndarray, joined: np.ndarray, comm_of: np.ndarray, comm_start: np.ndarray,
                 sizes: np.ndarray, t0: int, days: int, member_ids: pa.Array, comm_ids: pa.Array,
                 rng: np.random.Generator) -> pa.Table:
    """One chunk of large benchmark events (vectorised)."""
    who = np.minimum(np.searchsorted(cum_w, rng.random(n) * cum_w[-1], side="right"), len(cum_w) - 1)
    lo = np.maximum(joined[who], t0)
    day = (lo - t0) // _DAY_S + (rng.random(n) * ((t0 + days * _DAY_S - lo) / _DAY_S)).astype(np.int64)
    ts = t0 + day * _DAY_S + (_hours(n, rng) * 3600).astype(np.int64)
    ts = np.clip(ts, lo, t0 + days * _DAY_S - 1)
    codes = list(LARGE_MIX)
    p = np.array(list(LARGE_MIX.values()))
    kind = rng.choice(len(codes), size=n, p=p / p.sum())
    c = comm_of[who]
    target = comm_start[c] + (rng.random(n) * sizes[c]).astype(np.int64)
    target = np.where(target == who, comm_start[c] + (target - comm_start[c] + 1) % sizes[c], target)
    interaction = np.isin(kind, [codes.index(x) for x in S.INTERACTION_EVENTS]) & (sizes[c] > 1)
    purchase = kind == codes.index("purchase")
    amount = np.where(purchase, np.round(np.exp(np.log(99.0) + 0.6 * rng.standard_normal(n)), 2), np.nan)
    return pa.Table.from_arrays([
        comm_ids.take(pa.array(c)),
        member_ids.take(pa.array(who)),
        pa.array(ts * 1000, type=pa.timestamp("ms", tz="UTC")),
        pa.array(codes, type=pa.string()).take(pa.array(kind)),
        member_ids.take(pa.array(target, mask=~interaction)),
        pa.array(amount, type=pa.float64(), from_pandas=True),
    ], schema=_LARGE_EVENT_SCHEMA)
