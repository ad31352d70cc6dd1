"""What a community is for, and which metrics say whether it gets there (DOMAIN.md §4b).

Every article says to fix the community's goal first (明确目标 [B][C][D]): the same activity figure
means one thing for a retention goal and another for a service goal. A community carries its goal
in ``communities.goal`` (vocabulary :data:`commlab.data.schema.GOAL`); :data:`GOAL_METRICS` maps
each goal to the metrics of its scorecard, each with the direction that is good for that goal and
the article behind the choice. A community without a goal gets :data:`DEFAULT_METRICS` and the
report says once that no goal was stated; the goal is never guessed from the data.

The rules follow the goal too (:data:`GOAL_RULES`): a rule that serves the community's goal is
raised in severity and, where the articles say the goal needs more, its thresholds are tightened (a
conversion goal asks for more repeat purchases and referrals before it is satisfied; a service goal
for faster answers). :func:`commlab.rules.evaluate_rules` applies it per community; a community
without a goal gets the library as written.

The mapping is data, not code: :func:`scorecard_metrics` and :func:`goal_rule` read it,
:func:`goal_table` and :func:`goal_rules_table` show it (``docs/GOALS.md`` is their text, kept equal
by a test).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from commlab.data.schema import GOAL, Col
from commlab.errors import NotFound

__all__ = ["GoalMetric", "GOAL_METRICS", "DEFAULT_METRICS", "scorecard_metrics", "goal_of", "goal_table",
           "GoalRule", "GOAL_RULES", "goal_rule", "goal_rules_table", "goals_markdown", "without_citations"]


@dataclass(frozen=True)
class GoalMetric:
    """One metric of a goal's scorecard.

    Attributes
    ----------
    metric : str
        Metric id of the registry (``docs/METRICS.md``).
    higher_is_better : bool
        The direction that serves the goal.
    why_zh, why_en : str
        Why this metric speaks to the goal, with the article (DOMAIN.md's short names).
    """

    metric: str
    higher_is_better: bool
    why_zh: str
    why_en: str


_ACTIVE = GoalMetric("active_share_30d", True, "维护基本活跃是一切的前提 [D]", "base activity comes first [D]")
_RETAIN = GoalMetric("retention_30d", True, "新成员留下来才有归属感 [A][B]",
                     "newcomers who stay build belonging [A][B]")
_ZOMBIE = GoalMetric("zombie_share", False, "无目的拉人只会留下僵尸粉 [D]", "purposeless recruiting leaves zombies [D]")
_EARLY = GoalMetric("early_survival_ratio", True, "建群三天必死：早期活跃决定存亡 [D]",
                    "groups die in their first days [D]")
_UGC = GoalMetric("ugc_share", True, "成员自发产生内容 [B][C]", "members create the content [B][C]")
_RESPONSE = GoalMetric("response_rate", True, "对接用户、获得反馈：问题有人回应 [D]", "questions get answered [D]")
_FIRST = GoalMetric("median_first_response_hours", False, "回应要快 [D][E]", "answers come fast [D][E]")
_SOLVE = GoalMetric("problem_solving", True, "高价值社群以解决问题为导向 [E]", "high-value groups solve problems [E]")
_PEERS = GoalMetric("response_rate_members", True, "核心用户协助运营、成员互助 [D]", "core users and members help [D]")
_BUYERS = GoalMetric("buyer_share", True, "不产生变现的社群无法长久 [D]", "a group that never earns does not last [D]")
_REVENUE = GoalMetric("revenue_per_member", True, "变现：人均收入 [D] §5", "monetization: revenue per member [D]")
_REPEAT = GoalMetric("repeat_purchase_rate", True, "复购率 [A]", "repeat purchase [A]")
_REFERRAL = GoalMetric("referral_rate", True, "转介绍率，口碑 [A]", "referral, word of mouth [A]")
_EVENT_BUY = GoalMetric("event_purchase_lift", True, "活动带动转化 [D] §5", "events convert [D]")
_M2M = GoalMetric("member_to_member_share", True, "社群经济：成员之间互动 [D]", "community economy: members talk [D]")
_TRUST = GoalMetric("trust_ties", True, "信任与链接 [E]", "trust and ties [E]")
_COMPLETION = GoalMetric("completion_rate", True, "知识型社群看完课率 [A]", "learning groups live on completion [A]")
_FOCUS = GoalMetric("vertical_focus", True, "垂直细分 [E]", "vertical focus [E]")

#: The scorecard of each goal, most important first.
GOAL_METRICS: dict[str, tuple[GoalMetric, ...]] = {
    "retention": (_ACTIVE, _RETAIN, _EARLY, _ZOMBIE, _UGC),
    "conversion": (_BUYERS, _REVENUE, _REPEAT, _REFERRAL, _EVENT_BUY),
    "service": (_RESPONSE, _FIRST, _SOLVE, _PEERS, _ACTIVE),
    "brand": (_UGC, _M2M, _REFERRAL, _TRUST, _ACTIVE),
    "knowledge": (_COMPLETION, _RETAIN, _RESPONSE, _FOCUS, _REPEAT),
}
#: The scorecard of a community whose goal is not stated: the base measures every article shares.
DEFAULT_METRICS: tuple[GoalMetric, ...] = (_ACTIVE, _RETAIN, _UGC, _RESPONSE, _ZOMBIE)


@dataclass(frozen=True)
class GoalRule:
    """How one rule follows one goal.

    Attributes
    ----------
    rule : str
        Rule id of the shipped library (``src/commlab/rules_library.yaml``).
    severity : str or None
        The rule's severity for a community with this goal (``high``, ``medium``, ``low``); ``None``:
        as written.
    thresholds : tuple of (str, float)
        ``(metric, value)``: the value of every condition of the rule that compares that metric with
        a fixed threshold (not those against peers or the previous run).
    why_zh, why_en : str
        Why, with the article.
    """

    rule: str
    severity: str | None
    thresholds: tuple[tuple[str, float], ...]
    why_zh: str
    why_en: str


#: Per goal, the rules that serve it: raised in severity, thresholds tightened where the articles ask for more.
GOAL_RULES: dict[str, tuple[GoalRule, ...]] = {
    "retention": (
        GoalRule("onboarding_ritual", None, (("retention_30d", 0.4),),
                 "留存目标要求更多新成员留下来 [A][B]", "a retention goal needs more newcomers to stay [A][B]"),
        GoalRule("low_base_activity", None, (("active_share_30d", 0.3),),
                 "维护基本活跃是留存的前提 [D]", "base activity comes first for retention [D]"),
        GoalRule("zombie_overload", "high", (("zombie_share", 0.3),),
                 "僵尸粉多的群会死 [D]", "a group full of zombies dies [D]"),
        GoalRule("recruiting_zombies", "high", (),
                 "无目的拉人只会留下僵尸粉 [D]", "purposeless recruiting leaves zombies [D]"),
        GoalRule("lurker_revival", "high", (),
                 "潜水成员要被带动成为普通用户 [D]", "lurkers are to be brought in as members [D]"),
    ),
    "conversion": (
        GoalRule("incentives_repeat_purchase", "high", (("repeat_purchase_rate", 0.3), ("referral_rate", 0.05)),
                 "转化目标看复购率与转介绍率 [A]", "a conversion goal lives on repeat purchase and referral [A]"),
        GoalRule("rewards_without_lift", "high", (("reward_activity_lift", 1.1),),
                 "激励机制（积分、优惠券）要推动购买 [D]", "points and coupons are meant to drive purchases [D]"),
        GoalRule("membership_without_preconditions", "high", (),
                 "没有大咖与资源的付费社群死得更快 [D]",
                 "a paid group without an expert and resources dies faster [D]"),
        GoalRule("low_membership_renewal", "high", (("membership_renewal_rate", 0.6),),
                 "会员变现靠续费 [D]", "membership monetization lives on renewals [D]"),
        GoalRule("monetization_fit_knowledge", "medium", (),
                 "不产生变现的社群无法长久 [D]", "a group that never earns does not last [D]"),
        GoalRule("monetization_fit_consumption", "medium", (),
                 "不产生变现的社群无法长久 [D]", "a group that never earns does not last [D]"),
    ),
    "service": (
        GoalRule("slow_first_response", None, (("response_rate", 0.8), ("median_first_response_hours", 12.0)),
                 "服务目标要求问题更快得到回应 [D][E]", "a service goal needs faster answers [D][E]"),
        GoalRule("channel_without_staff_reply", "high", (("max_days_without_staff_reply", 2.0),),
                 "管理团队负责日常回应 [D]", "the management team owns the daily replies [D]"),
        GoalRule("empower_core_users", None, (("core_reply_share", 0.3),),
                 "核心用户协助答疑 [D]", "core users help answer [D]"),
    ),
    "brand": (
        GoalRule("fan_economy_low_peer_exchange", "high", (("member_to_member_share", 0.5),),
                 "品牌社群的口碑来自成员之间（小米）[D]", "a brand's word of mouth runs between members (Xiaomi) [D]"),
        GoalRule("weak_ties", "medium", (),
                 "信任与链接 [E]", "trust and ties [E]"),
        GoalRule("low_base_activity", None, (("ugc_share", 0.6),),
                 "成员自发产生内容 [B][C]", "members create the content [B][C]"),
    ),
    "knowledge": (
        GoalRule("low_completion", "high", (("completion_rate", 0.4),),
                 "知识型社群看完课率 [A]", "learning groups live on completion [A]"),
        GoalRule("irregular_events", "medium", (),
                 "陪伴式运营：课程表、打卡、定期分享 [A]", "accompanying operations: schedule, check-ins, talks [A]"),
        GoalRule("events_without_lift", "medium", (),
                 "活动要带动学习与交流 [A]", "events should lift learning and exchange [A]"),
        GoalRule("unfocused_topics", "medium", (),
                 "垂直细分 [E]", "vertical focus [E]"),
    ),
}


_CITATION = re.compile(r"\s*(\[[A-E]\])+(\s*§\d+)?")


def without_citations(text: str) -> str:
    """``text`` without the article marks (``[A]``, ``[D][E]``, ``[D] §5``): a report reader has no key to them.

    Examples
    --------
    >>> without_citations("变现：人均收入 [D] §5")
    '变现：人均收入'
    """
    return _CITATION.sub("", text).strip()


def goal_rule(goal: str | None, rule_id: str) -> GoalRule | None:
    """How rule ``rule_id`` follows ``goal`` (``None`` where it does not, or no goal is stated)."""
    if goal is None or goal is pd.NA or (isinstance(goal, float) and goal != goal) or goal == "":
        return None
    return next((g for g in GOAL_RULES.get(str(goal), ()) if g.rule == rule_id), None)


def goal_rules_table(lang: str = "en") -> pd.DataFrame:
    """:data:`GOAL_RULES` as a table: goal, rule, severity, thresholds and why, in ``lang``."""
    zh = lang == "zh"
    rows = []
    for goal, rules in GOAL_RULES.items():
        for g in rules:
            rows.append({"goal": GOAL.label(goal, lang), "rule": g.rule, "severity": g.severity or "",
                         "thresholds": ", ".join(f"{m} {v:g}" for m, v in g.thresholds),
                         "why": g.why_zh if zh else g.why_en})
    return pd.DataFrame(rows)


def goal_of(communities: pd.DataFrame) -> pd.Series:
    """The stated goal of each community (``<NA>`` where none is stated), indexed by ``community_id``."""
    if "goal" not in communities.columns:
        return pd.Series(pd.NA, index=communities[Col.community_id].astype(str), dtype="string", name="goal")
    return communities.set_index(communities[Col.community_id].astype(str))["goal"].astype("string")


def scorecard_metrics(goal: str | None) -> tuple[GoalMetric, ...]:
    """The scorecard metrics of a goal (:data:`DEFAULT_METRICS` for ``None``/missing).

    Raises
    ------
    KeyError
        For a value outside :data:`commlab.data.schema.GOAL` (validated data never has one).

    Examples
    --------
    >>> [m.metric for m in scorecard_metrics("service")][:2]
    ['response_rate', 'median_first_response_hours']
    >>> scorecard_metrics(None) == DEFAULT_METRICS
    True
    """
    if goal is None or goal is pd.NA or (isinstance(goal, float) and goal != goal) or goal == "":
        return DEFAULT_METRICS
    if goal not in GOAL_METRICS:
        raise NotFound(str(goal), GOAL_METRICS, kind="goal")
    return GOAL_METRICS[goal]


def goal_table(lang: str = "en") -> pd.DataFrame:
    """The mapping as a table: goal, metric, direction (↑/↓) and why, in ``lang``."""
    zh = lang == "zh"
    rows = []
    for goal, metrics in [*GOAL_METRICS.items(), ("", DEFAULT_METRICS)]:
        label = GOAL.label(goal, lang) if goal else ("未说明目标" if zh else "no goal stated")
        for m in metrics:
            rows.append({"goal": label, "metric": m.metric, "direction": "↑" if m.higher_is_better else "↓",
                         "why": m.why_zh if zh else m.why_en})
    return pd.DataFrame(rows)


def goals_markdown() -> str:
    """The mapping as the Markdown of ``docs/GOALS.md``."""
    lines = [
        "# Community goals and their scorecards (generated from `commlab.goals`)",
        "",
        "A community states its goal in `communities.goal` (optional; DOMAIN.md §4b, 明确目标). The scorecard of "
        "the executive summary shows the metrics of that goal, read in the direction that serves it; a community "
        "without a goal gets the shared base measures, and the report says once that no goal was stated. "
        "Regenerate with `python -c \"from commlab.goals import goals_markdown as m; "
        "open('docs/GOALS.md', 'w').write(m())\"`.",
        "",
        "| goal | metric | dir. | why (article) |",
        "|---|---|---|---|",
    ]
    zh = goal_table("zh")
    for (_, r), why_zh in zip(goal_table("en").iterrows(), zh["why"], strict=True):
        goal = r["goal"] if r["goal"] == "no goal stated" else f"{r['goal']} ({GOAL.label(_code(r['goal']), 'zh')})"
        lines.append(f"| {goal} | `{r['metric']}` | {r['direction']} | {r['why']} · {why_zh} |")
    lines += [
        "",
        "## The rules follow the goal",
        "",
        "For a community with a goal, the rules that serve it are raised to the severity below (empty: as "
        "written) and compare the metrics named with the tighter thresholds below instead of the library's "
        "(`src/commlab/rules_library.yaml`; conditions against peers or the previous run are unchanged). A "
        "community without a goal gets the library as written. Each recommendation carries the goal it was "
        "read for (`goal` in `summary.json`), and its threshold text shows the threshold used.",
        "",
        "| goal | rule | severity | thresholds | why (article) |",
        "|---|---|---|---|---|",
    ]
    zh_rules = goal_rules_table("zh")
    for (_, r), why_zh in zip(goal_rules_table("en").iterrows(), zh_rules["why"], strict=True):
        thresholds = ", ".join(f"`{t}`" for t in r["thresholds"].split(", ")) if r["thresholds"] else ""
        goal = f"{r['goal']} ({GOAL.label(_code(r['goal']), 'zh')})"
        lines.append(f"| {goal} | `{r['rule']}` | {r['severity']} | {thresholds} | {r['why']} · {why_zh} |")
    return "\n".join(lines) + "\n"


def _code(label_en: str) -> str:
    return next(t.code for t in GOAL.terms if t.en == label_en)
