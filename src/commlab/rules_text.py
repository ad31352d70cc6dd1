"""The words of the rules and the executive summary, in Chinese and English: one catalogue.

Everything the recommendation step writes for a reader comes from here: the evidence of a
recommendation in plain words (``新成员 30 日留存 62%，同类社群中位数 100%``), the rule's
threshold for the appendix (``新成员 30 日留存 62% < 0.8 × 同类社群中位数 100%``), why a rule
did not apply to a community, the headers and notes of notebook ``05_recommendations``, and how
each kind of number is written (:func:`format_value`). A Chinese text carries no English word
and an English text no Chinese character, except the names of communities, products and data
sources (tests/test_rules.py and tests/test_notebook_recommendations.py check both).

Labels of data vocabularies (themes, event types, platforms) stay in :mod:`commlab.data.schema`.
"""

from __future__ import annotations

from typing import Any

from commlab.fmt import MINUS, MISSING, fmt_value, number
from commlab.i18n import check_lang

__all__ = [
    "TEXT",
    "METRIC_WORDS",
    "NAME_OVERRIDES",
    "OPS",
    "tr",
    "format_value",
    "format_number",
    "join_words",
    "metric_label",
    "catalogue_texts",
]

#: key -> (zh, en); ``{name}`` fields are filled by :func:`tr`.
TEXT: dict[str, tuple[str, str]] = {
    # evidence in plain words
    "peer_median": ("{phrase}，同类社群中位数 {median}", "{phrase}, peer median {median}"),
    "rose": ("{label}较上次运行从 {before} 升至 {after}", "{label} grew from {before} to {after} since the last run"),
    "fell": ("{label}较上次运行从 {before} 降至 {after}", "{label} fell from {before} to {after} since the last run"),
    "relative": ("（{change}）", " ({change})"),
    "attribute": ("{name}：{value}", "{name}: {value}"),
    "hidden_count": ("{label}少于 {k} 人", "{label}: fewer than {k}"),
    "hidden_value": ("{label}：代表的成员少于 {k} 人，不显示", "{label}: not shown (fewer than {k} members)"),
    "hidden_community": ("成员少于 {k} 人，依据不显示", "fewer than {k} members: evidence not shown"),
    "evidence_sep": ("；", "; "),
    # the rule's threshold (appendix)
    "threshold": ("{label} {value} {op} {threshold}", "{label} {value} {op} {threshold}"),
    "threshold_hidden": ("{label} {op} {threshold}（数值不显示）", "{label} {op} {threshold} (value not shown)"),
    "threshold_peers": ("{label} {value} {op} {factor} × 同类社群中位数 {median}（= {threshold}）",
                        "{label} {value} {op} {factor} × peer median {median} (= {threshold})"),
    "threshold_peers_hidden": ("{label} {op} {factor} × 同类社群中位数（数值不显示）",
                               "{label} {op} {factor} × peer median (values not shown)"),
    "threshold_change": ("{label}较上次运行的{kind} {change} {op} {threshold}（{before} → {after}）",
                         "{label}, {kind} since the last run {change} {op} {threshold} ({before} → {after})"),
    "threshold_change_hidden": ("{label}较上次运行的{kind} {op} {threshold}（数值不显示）",
                                "{label}, {kind} since the last run {op} {threshold} (value not shown)"),
    "change_relative": ("相对变化", "relative change"),
    "change_absolute": ("变化", "change"),
    "threshold_in": ("{name}：{value}（规则：属于 {allowed}）", "{name}: {value} (rule: one of {allowed})"),
    "threshold_not_in": ("{name}：{value}（规则：不属于 {allowed}）", "{name}: {value} (rule: none of {allowed})"),
    "threshold_eq": ("{name}：{value}（规则：{op} {allowed}）", "{name}: {value} (rule: {op} {allowed})"),
    # why a rule does not apply to a community
    "na_themes": ("只适用于{allowed}社群", "applies only to {allowed} communities"),
    "na_platforms": ("只适用于{allowed}上的社群", "applies only to communities on {allowed}"),
    "na_event_types": ("数据中没有{types}事件", "no {types} events in the data"),
    "na_staff": ("成员名单中没有群主或管理员", "no owner or staff member in the member list"),
    "na_min_members": ("成员少于 {n} 人", "fewer than {n} members"),
    "na_min_peers": ("{axis}相同的社群少于 {n} 个", "fewer than {n} communities of the same {axis}"),
    "na_previous_run": ("没有可比较的上次运行", "no previous run to compare with"),
    "na_no_data": ("无法从数据计算{metrics}", "{metrics} cannot be computed from the data"),
    # goals (DOMAIN.md §4b)
    "goal_rule_note": ("按社群目标（{goal}）调整：{why}", "read for the community's goal ({goal}): {why}"),
    "goal_missing_all": ("没有社群说明目标：计分卡显示通用的基本指标，规则按原阈值评估；目标不会从数据中猜测。",
                         "No community states its goal: the scorecard shows the shared base measures and the rules "
                         "their thresholds as written; a goal is never guessed from the data."),
    "goal_missing_some": ("未说明目标的社群：{names}。它们的计分卡显示通用的基本指标，规则按原阈值评估；"
                          "目标不会从数据中猜测。",
                          "No goal stated for: {names}. Their scorecard shows the shared base measures and the rules "
                          "their thresholds as written; a goal is never guessed from the data."),
    "goal_header": ("目标：{goal}", "Goal: {goal}"),
    "goal_none_header": ("未说明目标", "No goal stated"),
    "goal_why": ("为什么看这些指标", "Why these measures"),
    "goal_legend": ("按目标的方向着色（↑ 越高越好，↓ 越低越好），与本次所有社群的中位数相比：",
                    "Coloured in the direction that serves the goal (↑ higher is better, ↓ lower is better), "
                    "against the median of the communities in this run: "),
    # platforms (DOMAIN.md §4b 主战场)
    "platform_spread": ("{name} 横跨{platforms}：近 {days} 天成员活跃的 {share} 在{main}（主战场）{rest}。",
                        "{name} spans {platforms}: {share} of member activity in the last {days} days is on {main} "
                        "(the main platform){rest}."),
    "platform_rest": ("，{items}", "; {items}"),
    "platform_item": ("{share} 在{platform}", "{share} on {platform}"),
    "platform_unknown": ("{name} 横跨{platforms}，但数据没有记录每条事件来自哪个平台，无法比较各平台的活跃。",
                         "{name} spans {platforms}, but the data do not record which platform each event came from: "
                         "activity per platform is not known."),
    # notebook 05 and the parts of the executive summary
    "data_as_of": ("数据截至", "Data as of"),
    "n_communities": ("{n} 个社群", "{n} communities"),
    "n_rules": ("{n} 条规则", "{n} rules"),
    "n_recommendations": ("{n} 条建议", "{n} recommendations"),
    "n_not_applicable": ("{n} 条规则对部分社群不适用", "{n} rules not applicable to some communities"),
    "previous_as_of": ("上次运行数据截至 {as_of}", "previous run as of {as_of}"),
    "as_of_rule": ("各社群建群后 {days} 天（{first} 至 {last}，UTC）",
                   "{days} days after each community's creation ({first} to {last} UTC)"),
    "as_of_each": ("各社群各自的分析时点（{first} 至 {last}，UTC）",
                   "each community at its own instant ({first} to {last} UTC)"),
    "as_of_one": ("{when} UTC", "{when} UTC"),
    "community": ("社群", "Community"),
    "severity": ("优先级", "Priority"),
    "finding": ("发现", "Finding"),
    "action": ("建议行动", "Recommended action"),
    "evidence": ("依据", "Evidence"),
    "status": ("状态", "Status"),
    "communities": ("社群", "Communities"),
    "rule": ("规则", "Rule"),
    "reason": ("原因", "Reason"),
    "threshold_col": ("规则阈值", "Rule threshold"),
    "metric": ("指标", "Metric"),
    "before": ("上次", "Previous"),
    "after": ("本次", "Now"),
    "change": ("变化", "Change"),
    "high": ("高", "high"),
    "medium": ("中", "medium"),
    "low": ("低", "low"),
    "new": ("新增", "new"),
    "ongoing": ("持续", "ongoing"),
    "resolved": ("已解决", "resolved"),
    "recommendations": ("建议", "Recommendations"),
    "no_recommendations": ("本次没有触发任何建议。", "No recommendation fired in this run."),
    "thresholds_summary": ("每条建议的规则阈值（{n} 条）", "The rule threshold of each recommendation ({n})"),
    "not_applicable_intro": ("以下规则在所列社群缺少所需的数据，没有评估，也不会给出建议。",
                             "These rules lack the data they need in the communities listed: they were not "
                             "evaluated there and cannot fire."),
    "all_applicable": ("每条规则都适用于每个社群。", "Every rule applies to every community."),
    "all_communities": ("全部 {n} 个社群", "all {n} communities"),
    "more_moves": ("另有 {n} 项变化（展开）", "{n} more moves (open)"),
    "no_moves": ("关键指标没有变化。", "No key metric moved."),
    "first_run": ("这是本剧本的第一次运行，没有可比较的上次结果。",
                  "This is the first run of this playbook: there is no previous run to compare with."),
    "suppressed": ("成员少于 {k} 人，数值不显示", "fewer than {k} members: values suppressed"),
    "hidden": ("{n} 个数值代表的成员少于 {k} 人，记作 {dash}（人数记作 <{k}）。",
               "{n} value(s) standing for fewer than {k} members shown as {dash} (counts as <{k})."),
    "legend_lead": ("颜色：与本次所有社群的中位数相比（按指标方向）", "Colour: against the median of the communities "
                    "in this run, by the metric's direction: "),
    "legend_better": ("较好", "better"),
    "legend_worse": ("较差", "worse"),
    "legend_tail": ("；↑/↓ 为较上次运行的变化。", "; ↑/↓ = change since the previous run."),
    "legend_single": ("本次只分析了一个社群：计分卡不与其他社群比较，不着色；↑/↓ 为较上次运行的变化。",
                      "One community in this run: the scorecard compares it with no other and is not coloured; "
                      "↑/↓ = change since the previous run."),
    "colon": ("：", ": "),
    "status_mark": ("（{status}）", "({status})"),
    # units
    "unit_days": ("{v} 天", "{v} days"),
    "unit_day": ("{v} 天", "{v} day"),
    "unit_hours": ("{v} 小时", "{v} hours"),
    "unit_hour": ("{v} 小时", "{v} hour"),
    "unit_points": ("{v} 个百分点", "{v} points"),
    "or": ("或", "or"),
    "and": ("和", "and"),
    "list_sep": ("、", ", "),
}

#: metric -> (label zh, label en, phrase zh, phrase en): the label names the metric in a threshold
#: or a change ("新成员 30 日留存"); the phrase states a value in plain words, ``{v}`` being the value
#: formatted by its unit. Metrics not listed use their registered name and ``"{label} {v}"``.
METRIC_WORDS: dict[str, tuple[str, str, str, str]] = {
    "members": ("成员数", "members", "成员 {v} 人", "{v} members"),
    "active_share_30d": ("30 日活跃率", "30-day active share",
                         "近 30 天活跃的成员占 {v}", "{v} of members active in the last 30 days"),
    "ugc_share": ("成员自发内容占比", "share of content by members",
                  "成员自发的内容占全部内容的 {v}", "{v} of the content created by members (not staff)"),
    "early_survival_ratio": ("建群早期存活比", "early survival ratio",
                             "建群第 4–30 天的日活跃人数是前 3 天的 {v} 倍",
                             "daily active members on days 4–30 at {v} times those of days 1–3"),
    "response_rate": ("提问回应率", "response rate",
                      "发帖成员中得到回复的占 {v}", "{v} of the members who posted got a reply"),
    "median_first_response_hours": ("首次回应时间中位数", "median time to a first reply",
                                    "首次回应时间中位数 {v}", "median time to a first reply {v}"),
    "max_days_without_staff_reply": ("最长无官方回复时间", "longest wait for a staff reply",
                                     "有频道已 {v}没有官方回复", "a channel has waited {v} for a staff reply"),
    "core_share": ("核心成员占比", "core member share", "核心成员占 {v}", "core members {v} of all members"),
    "zombie_share": ("僵尸成员占比", "zombie member share", "僵尸成员占 {v}", "zombie members {v} of all members"),
    "member_to_member_share": ("成员间互动占比", "member-to-member share",
                               "成员之间的互动占全部互动的 {v}", "{v} of the interactions are between members"),
    "retention_30d": ("新成员 30 日留存", "30-day newcomer retention",
                      "新成员 30 日留存 {v}", "30-day newcomer retention {v}"),
    "first_cohort_retention_gap": ("首批成员留存差", "first-cohort retention gap",
                                   "首批成员的留存与后来成员相差 {v}",
                                   "first members' retention differs from later members' by {v}"),
    "event_lift": ("活动带动效应", "event lift",
                   "活动后 7 天的成员内容是活动前 7 天的 {v} 倍",
                   "member content in the 7 days after events at {v} times the 7 days before"),
    "vertical_focus": ("话题集中度", "topic focus",
                       "话题集中度 {v}（0 为分散，1 为单一话题）", "topic focus {v} (0 scattered, 1 a single topic)"),
    "reciprocity": ("互惠性", "reciprocity", "双向互动关系占 {v}", "{v} of the ties are two-way"),
    "buyer_share": ("购买成员占比", "buyer share", "购买过的成员占 {v}", "buyers {v} of members"),
    "repeat_purchase_rate": ("复购率", "repeat purchase rate", "复购率 {v}", "repeat purchase rate {v}"),
    "referral_rate": ("转介绍率", "referral rate", "转介绍过他人的成员占 {v}", "{v} of members referred someone"),
    "completion_rate": ("完课率", "course completion rate", "完课率 {v}", "course completion rate {v}"),
    "recently_inactive_top_members": ("近期沉默的头部成员数", "top members gone quiet",
                                      "{v} 名头部成员最近 7–28 天没有发言",
                                      "{v} top members silent for the last 7 to 28 days"),
    "lurker_share": ("潜水成员占比", "lurker share", "从未发言的潜水成员占 {v}",
                     "lurkers (never spoke) {v} of members"),
    "lurker_share_change_30d": ("潜水占比 30 日变化", "30-day change in the lurker share",
                                "潜水成员占比在 30 天内变化了 {v}（百分点）",
                                "the lurker share moved by {v} (percentage points) in 30 days"),
    "event_gap_cv": ("活动间隔变异系数", "irregularity of events",
                     "活动间隔的变异系数 {v}（0 为固定节奏）",
                     "gaps between events vary by {v} of their mean (0 = a fixed rhythm)"),
    "event_attendance_rate": ("活动参与率", "event attendance", "每次活动平均有 {v} 的成员参加",
                              "{v} of members attend an event on average"),
    "checkin_rate": ("打卡率", "check-in rate", "成员每日打卡率 {v}", "members check in on {v} of days"),
    "reward_activity_lift": ("奖励后活跃变化", "activity lift after rewards",
                             "获奖成员在奖励后 7 天的活跃是奖励前 7 天的 {v} 倍",
                             "rewarded members' activity in the 7 days after a reward at {v} times the 7 days before"),
    "reward_purchase_lift": ("奖励后购买变化", "purchase lift after rewards",
                             "获奖成员在奖励后 7 天的购买是奖励前 7 天的 {v} 倍",
                             "rewarded members' purchases in the 7 days after a reward at {v} times the 7 days "
                             "before"),
    "zombie_share_invite": ("邀请入群成员的僵尸占比", "zombie share of invited members",
                            "通过邀请入群的成员中僵尸占 {v}",
                            "{v} of the members who joined by invitation are zombies"),
    "zombie_share_qr_code": ("扫码入群成员的僵尸占比", "zombie share of QR-code joiners",
                             "扫码入群的成员中僵尸占 {v}", "{v} of the members who joined by QR code are zombies"),
    "zombie_share_link": ("链接入群成员的僵尸占比", "zombie share of link joiners",
                          "通过链接入群的成员中僵尸占 {v}", "{v} of the members who joined by link are zombies"),
    "zombie_share_search": ("搜索入群成员的僵尸占比", "zombie share of search joiners",
                            "通过搜索入群的成员中僵尸占 {v}", "{v} of the members who joined by search are zombies"),
    "zombie_share_other": ("其他渠道入群成员的僵尸占比", "zombie share of other joiners",
                           "通过其他渠道入群的成员中僵尸占 {v}", "{v} of the members who joined otherwise are zombies"),
    "bulk_invited_zombie_share": ("批量拉人带来的僵尸占比", "zombie share of bulk invitees",
                                  "被批量邀请（一人邀请 10 人以上）的成员中僵尸占 {v}",
                                  "{v} of the members brought by bulk inviters (10 or more each) are zombies"),
    "membership_renewal_rate": ("会员续费率", "membership renewal rate", "会员续费率 {v}",
                                "membership renewal rate {v}"),
    "core_reply_share": ("核心成员回复占比", "replies by core members", "核心成员写了 {v} 的回复",
                         "core members wrote {v} of the replies"),
    "member_moderation_share": ("成员承担管理占比", "moderation by members", "非官方成员承担了 {v} 的管理操作",
                                "members (not staff) did {v} of the moderation"),
    "main_platform_share": ("主平台活跃占比", "main platform share", "成员活跃的 {v} 在最主要的平台上",
                            "{v} of member activity is on the main platform"),
    "expert_in_share": ("最受关注者的互动占比", "share of interactions to the most-addressed person",
                        "最受关注的一人收到全部互动的 {v}",
                        "the most-addressed person receives {v} of the interactions"),
    "guest_hosted_events": ("嘉宾主持的活动数", "events hosted by guests", "近 180 天嘉宾主持的活动 {v} 场",
                            "{v} events hosted by guests in the last 180 days"),
    "resource_events": ("真实资源（课程与活动）", "real resources (courses and events)",
                        "近 180 天的课程与活动 {v} 次", "{v} course completions, course purchases and event days "
                        "in the last 180 days"),
    "near_next_orbit_members": ("接近下一轨道层级的成员数", "members near the next Orbit level",
                                "{v} 名成员离下一轨道层级只差一步", "{v} members one step from the next Orbit level"),
}

#: Registered metric names that break the one-language rule (an English acronym in a Chinese
#: name): metric -> (zh, en) used instead wherever a fact is named (:func:`commlab.facts.fact_name`).
NAME_OVERRIDES: dict[str, tuple[str, str]] = {
    "ugc_share": ("成员自发内容占比(非官方内容)", "UGC share (content by non-staff)"),
    "stickiness": ("黏性(日活/月活)", "stickiness (DAU/MAU)"),
}

#: Comparison operators as a reader writes them.
OPS: dict[str, str] = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"}



def tr(key: str, lang: str, **fields: Any) -> str:
    """The catalogue text ``key`` in ``lang`` with ``fields`` filled in.

    Raises
    ------
    KeyError
        If ``key`` is not in :data:`TEXT` (a typo must not reach a report as a raw key).
    """
    zh, en = TEXT[key]
    text = zh if check_lang(lang) == "zh" else en
    return text.format(**fields) if fields else text


def join_words(words: list[str], lang: str, conj: str = "or") -> str:
    """``a、b或c`` / ``a, b or c``."""
    words = [str(w) for w in words]
    if len(words) <= 1:
        return "".join(words)
    sep = tr("list_sep", lang)
    last = tr(conj, lang)
    return sep.join(words[:-1]) + (last if lang == "zh" else f" {last} ") + words[-1]


def format_number(value: float, decimals: int | None = None) -> str:
    """A plain number, as :func:`commlab.fmt.number` writes it (the one number rule)."""
    return number(value, decimals=decimals)


def format_value(value: Any, unit: str, lang: str = "en", *, missing: str = MISSING) -> str:
    """A value written for its unit, in ``lang``: :func:`commlab.fmt.fmt_value` plus the unit's words.

    ``share`` ``62%`` (one decimal under 10 %: ``3.4%``; ``points``: ``−25 个百分点``),
    ``count`` ``9,120``, ``days``/``hours`` ``3.5 天`` / ``3.5 days``, ``currency`` ``1,234.50``,
    others (``ratio``, ``index``) ``0.34``. Never scientific notation; NaN and ``None`` give
    ``missing``.
    """
    if value is None or isinstance(value, str):
        return missing if value is None else value
    if fmt_value(value, "number") == MISSING:
        return missing
    if unit == "points":
        return tr("unit_points", lang, v=number(float(value) * 100, decimals=0))
    text = fmt_value(value, unit)
    if unit in ("days", "hours"):
        singular = text in ("1", MINUS + "1")
        return tr(f"unit_{unit[:-1]}" if singular else f"unit_{unit}", lang, v=text)
    return text


def metric_label(metric: str, lang: str, fallback: str | None = None) -> str:
    """The label of ``metric`` for evidence and thresholds (``fallback``, else the id, when not in the catalogue)."""
    words = METRIC_WORDS.get(metric)
    if words is None:
        return fallback if fallback is not None else metric
    return words[0] if check_lang(lang) == "zh" else words[1]


def catalogue_texts() -> list[str]:
    """Every text of this catalogue, both languages (the kit's own report words, for the leak scan)."""
    texts = [v for pair in TEXT.values() for v in pair]
    texts += [v for words in METRIC_WORDS.values() for v in words]
    texts += [v for pair in NAME_OVERRIDES.values() for v in pair]
    return texts
