"""The canonical data model: three tables, their columns and vocabularies.

Every other module refers to column names and allowed values through this
module, never through scattered string literals. Each vocabulary term carries
a Chinese and an English label, taken from ``DOMAIN.md`` of the project.

Tables
------
communities
    One row per community (a group, a server, a forum, a Q&A site).
members
    One row per (community, member). A person in two communities has two rows.
events
    One row per thing a member did: a message, a reply, a purchase, ...
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Term",
    "Vocabulary",
    "Column",
    "Table",
    "Col",
    "THEME",
    "BUSINESS_MODEL",
    "LIFECYCLE",
    "ECONOMY",
    "PLATFORM",
    "MONETIZATION",
    "GOAL",
    "JOIN_CHANNEL",
    "EVENT_CATEGORY",
    "MEMBER_ROLE",
    "STAFF_ROLES",
    "REPLYING_ROLES",
    "EVENT_TYPE",
    "REPLY_SOURCE",
    "CONTENT_EVENTS",
    "INTERACTION_EVENTS",
    "COMMUNITIES",
    "MEMBERS",
    "EVENTS",
    "TABLES",
    "label",
]


@dataclass(frozen=True)
class Term:
    """One allowed value of a vocabulary, with its zh and en labels."""

    code: str
    zh: str
    en: str
    note: str = ""

    def label(self, lang: str = "en") -> str:
        """Return the label in ``lang`` ("zh" or "en")."""
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Vocabulary:
    """A closed set of codes (for example the community themes)."""

    name: str
    zh: str
    en: str
    terms: tuple[Term, ...]
    source: str = ""

    @property
    def codes(self) -> list[str]:
        """The allowed codes, in their documented order."""
        return [t.code for t in self.terms]

    def __getitem__(self, code: str) -> Term:
        for t in self.terms:
            if t.code == code:
                return t
        raise KeyError(f"{code!r} is not a {self.name} code; allowed: {', '.join(self.codes)}")

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def label(self, code: str, lang: str = "en") -> str:
        """Label of ``code`` in ``lang``; unknown codes are returned unchanged."""
        try:
            return self[code].label(lang)
        except KeyError:
            return str(code)


THEME = Vocabulary(
    "theme",
    "社群主题类型",
    "theme type",
    (
        Term("interest", "兴趣型", "interest", "member-to-member exchange, organic topics [D][E]"),
        Term("brand", "品牌型", "brand", "extends customer service and word of mouth [A][D]"),
        Term("knowledge", "知识型/学习型", "knowledge/learning", "accompanying, outcome-oriented [A]"),
        Term("product", "产品型", "product", "feedback, product tests, usage UGC [A][D]"),
        Term("industry", "行业型", "industry", "trends and resources; professional network [E]"),
        Term("consumption", "消费型", "consumption", "shopping, deals, repeat purchase [D][E]"),
    ),
    "DOMAIN.md §2 [D][E]",
)

BUSINESS_MODEL = Vocabulary(
    "business_model",
    "运营方商业模式",
    "operator business model",
    (
        Term("product_sales", "产品销售型品牌", "product-sales brand"),
        Term("platform", "平台生态型", "platform ecosystem"),
        Term("service", "服务交付型", "service delivery", "education, knowledge payment, fitness, consulting"),
        Term("creator", "个人品牌", "personal brand / creator"),
    ),
    "DOMAIN.md §2 [A]",
)

LIFECYCLE = Vocabulary(
    "lifecycle",
    "运营方生命周期",
    "operator lifecycle stage",
    (
        Term("startup", "初创期", "start-up", "cold start, seed users, small and deep"),
        Term("mature", "成长/成熟期", "growth/mature", "layered matrix, user-asset pool"),
    ),
    "DOMAIN.md §2 [A]",
)

ECONOMY = Vocabulary(
    "economy",
    "经济形态",
    "economy",
    (
        Term("fan", "粉丝经济", "fan economy", "star to fans; fans rarely talk to each other"),
        Term("community", "社群经济", "community economy", "members interact many to many"),
    ),
    "DOMAIN.md §2 [D]",
)

PLATFORM = Vocabulary(
    "platform",
    "平台",
    "platform",
    (
        Term("wechat", "微信", "WeChat"),
        Term("qq", "QQ", "QQ"),
        Term("wecom", "企业微信", "WeCom"),
        Term("weibo", "微博", "Weibo"),
        Term("tieba", "百度贴吧", "Baidu Tieba"),
        Term("zhihu", "知乎", "Zhihu"),
        Term("douban", "豆瓣", "Douban"),
        Term("zsxq", "知识星球", "Knowledge Planet (zsxq)"),
        Term("short_video", "抖音/快手", "short video (Douyin/Kuaishou)"),
        Term("own_app", "自有App/论坛", "own app or forum"),
        Term("discord", "Discord", "Discord"),
        Term("slack", "Slack", "Slack"),
        Term("discourse", "Discourse", "Discourse"),
        Term("telegram", "Telegram", "Telegram"),
        Term("reddit", "Reddit", "Reddit"),
        Term("stackexchange", "Stack Exchange", "Stack Exchange"),
        Term("other", "其他", "other"),
    ),
    "DOMAIN.md §2 [B][D]",
)

MONETIZATION = Vocabulary(
    "monetization",
    "变现模式",
    "monetization model",
    (
        Term("product", "产品变现", "product", "sell the community's own products, e.g. courses"),
        Term("membership", "会员变现", "membership fee", "fees, scarcity, gated content"),
        Term("ecommerce", "电商变现", "e-commerce", "shop links, partner brands, members' shops"),
        Term("none", "无", "none"),
    ),
    "DOMAIN.md §5 [D]",
)

GOAL = Vocabulary(
    "goal",
    "社群目标",
    "community goal",
    (
        Term("retention", "留存与活跃", "retention", "keep members active and staying"),
        Term("conversion", "转化与变现", "conversion", "turn members into buyers, repeat buyers and referrers"),
        Term("service", "服务与答疑", "service", "answer members' questions and problems quickly"),
        Term("brand", "品牌与口碑", "brand", "word of mouth, UGC and feedback about the brand"),
        Term("knowledge", "知识与学习", "knowledge", "members learn and finish what they started"),
    ),
    "DOMAIN.md §4b (明确目标 [B][C][D])",
)

MEMBER_ROLE = Vocabulary(
    "role",
    "成员身份",
    "member role",
    (
        Term("owner", "群主", "owner"),
        Term("staff", "管理团队/助理", "staff / assistant"),
        Term("member", "成员", "member"),
        Term("bot", "机器人", "bot"),
        Term("guest", "嘉宾/大咖", "guest / invited expert",
             "an invited speaker or known expert (大咖) who hosts talks; counted with the members"),
    ),
    "DOMAIN.md §3, §4b",
)

JOIN_CHANNEL = Vocabulary(
    "join_channel",
    "入群渠道",
    "join channel",
    (
        Term("invite", "邀请", "invitation", "invited by a member (invited_by says who)"),
        Term("qr_code", "扫码", "QR code", "scanned a group QR code (posters, ads, other groups)"),
        Term("link", "链接", "link", "followed an invitation link"),
        Term("search", "搜索", "search", "found the group by searching the platform"),
        Term("other", "其他", "other"),
    ),
    "DOMAIN.md §4b (recruiting discipline)",
)

EVENT_CATEGORY = Vocabulary(
    "event_category",
    "事件类别",
    "event category",
    (
        Term("course", "课程", "course", "purchase: a course or paid content (product monetization)"),
        Term("product", "产品", "product", "purchase: the operator's own product"),
        Term("membership", "会员", "membership", "purchase: a membership fee or its renewal"),
        Term("shop", "电商", "shop", "purchase: shop links, partner brands, members' shops (e-commerce)"),
        Term("online", "线上活动", "online event", "event: an online session (talk, class, challenge)"),
        Term("offline", "线下活动", "offline event", "event: a meetup in person"),
        Term("live", "直播", "live stream", "event: a live stream"),
        Term("points", "积分", "points", "reward: points"),
        Term("coupon", "优惠券", "coupon", "reward: a coupon"),
        Term("gift", "礼品", "gift", "reward: a gift or prize"),
        Term("other", "其他", "other"),
    ),
    "DOMAIN.md §4 (激励机制), §4b (rituals), §5 (变现)",
)

EVENT_TYPE = Vocabulary(
    "event_type",
    "事件类型",
    "event type",
    (
        Term("message", "发言", "message", "a chat message not aimed at anyone"),
        Term("post", "发帖", "post", "a new thread, question or article"),
        Term("reply", "回复", "reply", "a reply; target_member_id is who was replied to"),
        Term("mention", "提及", "mention", "@someone; target_member_id is who was mentioned"),
        Term("reaction", "点赞/表情", "reaction", "a like or emoji reaction to target_member_id's content"),
        Term("checkin", "打卡", "check-in"),
        Term("event_attend", "参加活动", "event attendance", "joined a live talk, meetup or activity"),
        Term("course_complete", "完课", "course completion"),
        Term("purchase", "购买", "purchase", "amount is the money spent"),
        Term("referral", "转介绍", "referral", "target_member_id is the referred member, when known"),
        Term("join", "入群", "join"),
        Term("leave", "退群", "leave"),
        Term("event", "举办活动", "event held",
             "a live talk, meetup, class or challenge took place; member_id is the host, category its format"),
        Term("reward", "奖励", "reward",
             "points, a coupon or a gift given to target_member_id; category says which, amount its value"),
        Term("moderation", "管理操作", "moderation",
             "an act of running the group (pin, remove, warn, welcome); member_id is who did it"),
    ),
    "issue #2; DOMAIN.md §4",
)

REPLY_SOURCE = Vocabulary(
    "reply_source",
    "回复关系来源",
    "reply link source",
    (
        Term("explicit", "平台记录", "explicit", "the export's own reply field"),
        Term("quote", "引用", "quote", "inferred: a quoted message (WeChat quote reply)"),
        Term("mention", "@提及", "@mention", "inferred: an @mention at the start of the message"),
        Term("name", "称呼", "name", "inferred: addressed by name at the start of the message"),
        Term("model", "模型推断", "model", "inferred: the reply model chose an earlier message"),
        Term("start", "新话题", "conversation start", "inferred: the message starts a conversation"),
    ),
    "issue #26; commlab.replies",
)

#: Event types that count as content created by the member (UGC).
CONTENT_EVENTS: tuple[str, ...] = ("message", "post", "reply")
#: Event types aimed at another member (edges of the interaction network).
INTERACTION_EVENTS: tuple[str, ...] = ("reply", "mention", "reaction")

#: Member roles counted as staff, not members (the management team, official accounts, bots), in every
#: metric, feature and signal; codes of :data:`MEMBER_ROLE`.
STAFF_ROLES: tuple[str, ...] = ("owner", "staff", "bot")
#: Roles of the people whose job is to reply (owner, staff). Bots are staff for the activity measures
#: but answer nobody's question: a community with a bot and no such member has nobody to wait for.
REPLYING_ROLES: tuple[str, ...] = ("owner", "staff")


@dataclass(frozen=True)
class Column:
    """One column of a canonical table."""

    name: str
    dtype: str  # "string", "timestamp", "float", "category"
    required: bool
    zh: str
    en: str
    description: str
    vocabulary: Vocabulary | None = None
    nullable: bool = False
    pii: bool = False  # identifying or free text: never shown in reports
    #: Several values allowed, primary first, separated by ``;`` (also ``；``, ``|``, ``、``): the
    #: column keeps the primary value, ``<name>_all`` all of them joined by ``;`` (DOMAIN.md §2:
    #: the types mix).
    multi: bool = False
    fill: bool = True  # loading adds the column, empty, when a file lacks it (False: left out)


@dataclass(frozen=True)
class Table:
    """A canonical table: its name, its columns, and its key."""

    name: str
    zh: str
    en: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = field(default_factory=tuple)

    @property
    def required(self) -> list[str]:
        """Names of the columns a file must have."""
        return [c.name for c in self.columns if c.required]

    @property
    def names(self) -> list[str]:
        """Names of every known column, required or optional."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


COMMUNITIES = Table(
    "communities",
    "社群",
    "communities",
    (
        Column("community_id", "string", True, "社群ID", "community id", "unique id of the community"),
        Column("name", "string", True, "名称", "name", "display name of the community"),
        Column("theme", "category", True, "主题类型", "theme type",
               "what the community is about; several allowed, primary first (brand;interest)", THEME, multi=True),
        Column(
            "business_model", "category", True, "商业模式", "business model",
            "business model of the operator", BUSINESS_MODEL, multi=True,
        ),
        Column("lifecycle", "category", True, "生命周期", "lifecycle", "lifecycle of the operator", LIFECYCLE),
        Column("platform", "category", True, "平台", "platform", "where the community lives", PLATFORM, multi=True),
        Column(
            "monetization", "category", True, "变现模式", "monetization", "how the community earns", MONETIZATION,
            multi=True,
        ),
        Column("created_at", "timestamp", True, "建群时间", "created at", "when the community was created"),
        Column(
            "economy", "category", False, "经济形态(声明)", "economy (declared)",
            "declared fan or community economy; the kit also measures it", ECONOMY, nullable=True,
        ),
        Column(
            "goal", "category", False, "社群目标", "goal",
            "what the community is for (DOMAIN.md §4b): the scorecard's metrics and their reading follow it; "
            "empty = not stated (the report says so, it is never guessed)", GOAL, nullable=True,
        ),
        Column(
            "source", "string", False, "数据来源", "data source",
            "where the data comes from, with its licence (shown in reports)", nullable=True,
        ),
    ),
    key=("community_id",),
)

MEMBERS = Table(
    "members",
    "成员",
    "members",
    (
        Column("community_id", "string", True, "社群ID", "community id", "community the member belongs to"),
        Column("member_id", "string", True, "成员ID", "member id", "id of the member, unique within a community",
               pii=True),
        Column("joined_at", "timestamp", True, "入群时间", "joined at", "when the member joined"),
        Column("left_at", "timestamp", False, "退群时间", "left at", "when the member left; empty if still in",
               nullable=True),
        Column("role", "category", True, "身份", "role", "owner, staff, member, bot or guest", MEMBER_ROLE),
        Column("display_name", "string", False, "昵称", "display name", "name shown on the platform",
               nullable=True, pii=True),
        Column("join_channel", "category", False, "入群渠道", "join channel",
               "how the member joined (DOMAIN.md §4b): invite, qr_code, link, search, other; empty = unknown",
               JOIN_CHANNEL, nullable=True, fill=False),
        Column("invited_by", "string", False, "邀请人", "invited by",
               "member_id of who invited the member, when the platform says", nullable=True, pii=True, fill=False),
    ),
    key=("community_id", "member_id"),
)

EVENTS = Table(
    "events",
    "事件",
    "events",
    (
        Column("community_id", "string", True, "社群ID", "community id", "community the event happened in"),
        Column("member_id", "string", True, "成员ID", "member id", "who did it", pii=True),
        Column("ts", "timestamp", True, "时间", "time", "when it happened (stored in UTC)"),
        Column("event_type", "category", True, "事件类型", "event type", "what happened", EVENT_TYPE),
        Column(
            "target_member_id", "string", False, "对象成员ID", "target member id",
            "who was replied to, mentioned, reacted to or referred", nullable=True, pii=True,
        ),
        Column("thread_id", "string", False, "话题ID", "thread id", "thread or conversation id", nullable=True),
        Column("amount", "float", False, "金额", "amount", "money spent (purchase), never negative",
               nullable=True),
        Column("channel", "string", False, "频道", "channel", "channel or sub-group, where the platform has them",
               nullable=True),
        Column("topic", "string", False, "话题标签", "topic", "topic or tag(s), separated by ';'", nullable=True),
        Column("category", "category", False, "类别", "category",
               "what kind of purchase (course, product, membership, shop), event (online, offline, live) or "
               "reward (points, coupon, gift); empty = not known", EVENT_CATEGORY, nullable=True, fill=False),
        Column("platform", "category", False, "平台", "platform",
               "the platform the event happened on, for a community on several (DOMAIN.md §4b 主战场); "
               "empty = the community's primary platform", PLATFORM, nullable=True, fill=False),
        Column("text", "string", False, "内容", "text", "free text; never shown in reports", nullable=True,
               pii=True),
        Column(
            "reply_source", "category", False, "回复关系来源", "reply link source",
            "how target_member_id/thread_id were found: explicit (the export), or inferred by "
            "commlab.replies (quote, mention, name, model, start)", REPLY_SOURCE, nullable=True, fill=False,
        ),
        Column(
            "reply_confidence", "float", False, "回复推断置信度", "reply link confidence",
            "confidence of an inferred reply link, 0-1 (empty for links the export gives)", nullable=True,
            fill=False,
        ),
        Column(
            "original_event_type", "category", False, "原事件类型", "original event type",
            "the event type before reply inference changed it (message -> reply/post)", EVENT_TYPE,
            nullable=True, fill=False,
        ),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (COMMUNITIES, MEMBERS, EVENTS)}


class Col:
    """The column names of the three tables, for code to refer to them: ``events[Col.member_id]``.

    Each attribute is named as the column it holds, so code reads as the data model does and a
    misspelt name fails at once (``AttributeError``) instead of selecting nothing. SQL text keeps
    the plain names (it stays readable). ``tests/test_schema_columns.py`` checks that these are
    exactly the tables' columns and counts the string literals left elsewhere.

    Examples
    --------
    >>> Col.community_id, Col.target_member_id
    ('community_id', 'target_member_id')
    """

    community_id = "community_id"
    member_id = "member_id"
    # communities
    name = "name"
    theme = "theme"
    business_model = "business_model"
    lifecycle = "lifecycle"
    platform = "platform"
    monetization = "monetization"
    created_at = "created_at"
    economy = "economy"
    goal = "goal"
    source = "source"
    # members
    joined_at = "joined_at"
    left_at = "left_at"
    role = "role"
    display_name = "display_name"
    join_channel = "join_channel"
    invited_by = "invited_by"
    # events
    ts = "ts"
    event_type = "event_type"
    target_member_id = "target_member_id"
    thread_id = "thread_id"
    amount = "amount"
    channel = "channel"
    topic = "topic"
    category = "category"
    text = "text"
    reply_source = "reply_source"
    reply_confidence = "reply_confidence"
    original_event_type = "original_event_type"

VOCABULARIES: dict[str, Vocabulary] = {
    v.name: v for v in (THEME, BUSINESS_MODEL, LIFECYCLE, ECONOMY, PLATFORM, MONETIZATION, GOAL, MEMBER_ROLE,
                        EVENT_TYPE, REPLY_SOURCE, JOIN_CHANNEL, EVENT_CATEGORY)
}


def label(vocabulary: str, code: str, lang: str = "en") -> str:
    """Label of ``code`` in the vocabulary called ``vocabulary``.

    Examples
    --------
    >>> label("theme", "interest", "zh")
    '兴趣型'
    """
    return VOCABULARIES[vocabulary].label(code, lang)


def describe_tables(lang: str = "en") -> str:
    """Markdown documentation of the three tables, column by column."""
    out: list[str] = []
    for t in TABLES.values():
        out.append(f"### {t.name} ({t.zh})\n")
        out.append("| column | type | required | meaning | allowed values |")
        out.append("|---|---|---|---|---|")
        for c in t.columns:
            allowed = ""
            if c.vocabulary is not None:
                allowed = "; ".join(f"`{x.code}` {x.zh} / {x.en}" for x in c.vocabulary.terms)
            req = "yes" if c.required else "no"
            out.append(f"| `{c.name}` | {c.dtype} | {req} | {c.zh} / {c.en}: {c.description} | {allowed} |")
        out.append("")
    return "\n".join(out)
