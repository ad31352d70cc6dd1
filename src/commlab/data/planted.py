"""What the sample generator plants: member roles, the twelve communities, the hypotheses (and those not planted).

Every value here is a parameter of :func:`commlab.data.generate.generate` and is recorded in the samples'
``ASSUMPTIONS.md``; the analysis is expected to recover it.
"""


from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["RoleSpec", "ROLES", "STAFF_BEHAVIOUR", "ROLE_MIX", "EARLY_DEATH_ZOMBIE_MIX", "DEPTH",
           "CommunitySpec", "COMMUNITY_SPECS", "HYPOTHESES", "NOT_PLANTED"]


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

#: c02 and its twin c11: the same community on QQ and on WeChat, the control of N1_platform (the platform
#: alone changes nothing planted); only the id, the name, the platform, its join channels and the topics differ.
_C02 = CommunitySpec(
    "c02", "胶片摄影同好会", "interest", "creator", "startup", "qq", "membership", "community", 160,
    hub_p=0.08, circle_size=10, circle_p=0.4, buyer_share=0.15, repeat_rate=0.3, price=99.0,
    weekend_factor=1.3, event_every=21, goal="retention", join_channels=_QQ_JOIN,
    purchase_categories=(("membership", 1.0),),
    topics=("扫图", "胶卷", "相机", "冲洗", "街拍", "闲聊"), topic_alpha=1.8,
    created_day=-5.0, hypotheses=("H3_interest_peer", "H6_lifecycle_depth", "H8_event_lift",
                                  "H9_topic_concentration"),
    controls=("N1_platform",),
)
_C11 = replace(_C02, community_id="c11", name="城市骑行同好群", platform="wechat", join_channels=_WECHAT_JOIN,
               topics=("路线", "装备", "约骑", "维修", "骑行照片", "闲聊"))

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
    _C02,
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
    _C11,
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
