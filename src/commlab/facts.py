"""What a fact is: the registered community metrics and the extra facts the rules read.

A *fact* is one value per community that a rule can test: a metric of the registry
(:mod:`commlab.analysis.metrics`) or one of :data:`EXTRA_FACTS` (operational signals of
:mod:`commlab.analysis.signals`, the Orbit "one step from the next level" count). This module
names them (in zh and en, through :data:`commlab.rules_text.NAME_OVERRIDES` where a registered
name is not in one language), gives their unit and good direction, and lists them for the
methods appendix.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from commlab.analysis import metric_text
from commlab.analysis.metrics import MetricDescription, list_metrics
from commlab.privacy import MEMBER_COUNT_METRICS
from commlab.rules_text import NAME_OVERRIDES

__all__ = ["FactInfo", "EXTRA_FACTS", "MEMBER_COUNT_FACTS", "fact_info", "fact_name", "fact_definitions"]


#: What a fact is, for tables and the methods appendix: a registered metric's description
#: (:meth:`commlab.analysis.metrics.Metric.description`), or one of :data:`EXTRA_FACTS` described the same way.
FactInfo = MetricDescription


#: Facts the rules read that are not registered community metrics.
EXTRA_FACTS: dict[str, FactInfo] = {f.id: f for f in (
    FactInfo("max_days_without_staff_reply", "最长无官方回复天数", "longest wait for a staff reply (days)",
             "Per channel, days from the first member message after the last staff message until as_of; "
             "the longest channel wait of the community (0 when staff spoke last; undefined without an owner "
             "or staff member).",
             "max_channel (as_of − first member message after last staff message)", "days", False,
             "commlab.analysis.signals; DOMAIN.md §4 (对接用户获得反馈)"),
    FactInfo("recently_inactive_top_members", "近期沉默的头部成员数", "top members gone quiet",
             "Members among the top 5 % by content in the 90 days before as_of whose last activity was "
             "7–28 days before as_of.", "|{top 5 % contributors : 7 <= days quiet <= 28}|", "count", False,
             "commlab.analysis.signals; Orbit Model (recently inactive)"),
    FactInfo("first_cohort_retention_gap", "首批成员留存差", "first-cohort retention gap",
             "Retention (active 30–60 days after joining) of members who joined within 14 days of the "
             "community's creation minus that of later members.", "retention_first − retention_later",
             "share", True, "commlab.analysis.signals; DOMAIN.md §4 (初始成员篩選要嚴格)"),
    FactInfo("expert_in_share", "最受关注者的互动占比", "share of interactions to the most-addressed person",
             "Over the 180 days up to as_of, the largest share of the interactions aimed at someone (reply, "
             "mention, reaction with a target) that one account receives (owner, staff, member or guest; not a bot): "
             "whether the community has a known expert (大咖) the others address.",
             "max_person |interactions to person| / |interactions|", "share", None,
             "commlab.analysis.signals; DOMAIN.md §4b (membership fees need a known expert)"),
    FactInfo("guest_hosted_events", "嘉宾主持的活动数", "events hosted by guests",
             "Events held (event) in the 180 days up to as_of whose host has the role guest (an invited expert).",
             "|{event : host role = guest}|", "count", True,
             "commlab.analysis.signals; DOMAIN.md §4b (分享 by invited guests or 大咖)"),
    FactInfo("resource_events", "真实资源（课程与活动）", "real resources (courses and events)",
             "Over the 180 days up to as_of: course completions, course purchases (category course) and event days "
             "(a UTC day with an event held or at least 3 members attending).",
             "|course_complete| + |course purchases| + |event days|", "count", True,
             "commlab.analysis.signals; DOMAIN.md §4b (membership fees need real resources)"),
    FactInfo("bulk_invited_zombie_share", "批量拉人带来的僵尸占比", "zombie share of bulk invitees",
             "Of the present members invited (members.invited_by) by someone who invited at least 10 present "
             "members, the share who joined 30+ days before as_of and had no activity in the 30 days up to it.",
             "|{zombie invitees of bulk inviters}| / |{invitees of bulk inviters}|", "share", False,
             "commlab.analysis.signals; DOMAIN.md §4b (purposeless recruiting, 拉人头)"),
    FactInfo("near_next_orbit_members", "接近下一轨道层级的成员数", "members near the next Orbit level",
             "Non-staff members whose Orbit love is at most 0.1 below the threshold of the next level.",
             "|{m : 0 < threshold_next − love_m <= 0.1}|", "count", None,
             "commlab.analysis.orbit; Orbit Model"),
)}


#: Facts that count members (shown as ``<k`` when ``0 < value < k``).
MEMBER_COUNT_FACTS: tuple[str, ...] = (*MEMBER_COUNT_METRICS, "recently_inactive_top_members",
                                       "near_next_orbit_members")


def _named(info: FactInfo) -> FactInfo:
    names = NAME_OVERRIDES.get(info.id)
    return info if names is None else replace(info, name_zh=names[0], name_en=names[1])


def _all_facts() -> list[FactInfo]:
    return [_named(m.description()) for m in list_metrics()] + list(EXTRA_FACTS.values())


def fact_info(metric_id: str) -> FactInfo | None:
    """Description of a fact: a registered metric or one of :data:`EXTRA_FACTS`; ``None`` if unknown."""
    if metric_id in EXTRA_FACTS:
        return EXTRA_FACTS[metric_id]
    for m in list_metrics():
        if m.id == metric_id:
            return _named(m.description())
    return None


def fact_name(metric_id: str, lang: str = "en") -> str:
    """Display name of a fact in ``lang`` (the id itself when unknown)."""
    info = fact_info(metric_id)
    return info.name(lang) if info is not None else metric_id


def fact_definitions(lang: str = "en") -> pd.DataFrame:
    """Every registered metric and extra fact: id, name, definition, formula, unit, direction, source.

    Definition, formula and source are in ``lang``: the registry's English, or for ``"zh"`` the
    Chinese of :mod:`commlab.analysis.metric_text` (every metric and extra fact has one).
    """
    arrow = {True: "↑", False: "↓", None: "·"}
    return pd.DataFrame([{
        "id": f.id, "name_zh": f.name_zh, "name_en": f.name_en,
        "definition": metric_text.definition(f.id, lang, f.definition),
        "formula": metric_text.formula(f.id, lang, f.formula), "unit": f.unit, "direction": arrow[f.direction],
        "source": metric_text.source(f.source, lang),
    } for f in _all_facts()])
