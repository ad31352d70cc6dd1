"""Why a community is at risk: the metrics that push its forecast up, in words, each with its play.

For each community and each metric, the metric's features (level and trend) are set to the
training communities' median — the *typical* community — and the forecast is made again; the drop in
P(dies) is how much that metric pushes the risk up (its *push*, in percentage points). The metrics
with the largest positive push are the drivers. The method needs nothing of the model but
``predict_proba``, so it explains the logistic and the boosted model alike.

Each driver is linked to the play of the rule library (``rules_library.yaml``, ``DOMAIN.md`` §4) that
addresses it — :data:`METRIC_PLAYS` says which rule and which side of the metric (low or high) the
play is for. A driver on the other side (the model finds a *high* core share risky) is reported as
such, without a play. Columns that are not registry metrics (a panel computed elsewhere) are named
as they are and have no play.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from commlab.analysis.metrics import get_metric
from commlab.data.schema import Col
from commlab.errors import InvalidArgument
from commlab.forecast.features import LEVEL, TREND, feature_metric, is_panel
from commlab.rules import Rule, default_rules

if TYPE_CHECKING:
    from commlab.forecast.model import CommunityForecaster

__all__ = ["METRIC_PLAYS", "explain_risk", "metric_label", "format_value"]

#: Registry metric -> (rule id of the play that addresses it, the side of the metric that is bad).
METRIC_PLAYS: dict[str, tuple[str, str]] = {
    "active_share_7d": ("low_base_activity", "low"),
    "active_share_30d": ("low_base_activity", "low"),
    "stickiness": ("low_base_activity", "low"),
    "content_days_share": ("low_base_activity", "low"),
    "ugc_share": ("low_base_activity", "low"),
    "lurker_share": ("low_base_activity", "high"),
    "gini_content": ("low_base_activity", "high"),
    "content_share_rest": ("low_base_activity", "low"),
    "zombie_share": ("zombie_overload", "high"),
    "core_share": ("empower_core_users", "low"),
    "contributor_absence_factor": ("empower_core_users", "low"),
    "kcore_max": ("empower_core_users", "low"),
    "kcore_size": ("empower_core_users", "low"),
    "kcore_stability": ("empower_core_users", "low"),
    "response_rate": ("slow_first_response", "low"),
    "response_rate_staff": ("slow_first_response", "low"),
    "response_rate_members": ("slow_first_response", "low"),
    "median_first_response_hours": ("slow_first_response", "high"),
    "median_first_response_hours_staff": ("slow_first_response", "high"),
    "median_first_response_hours_members": ("slow_first_response", "high"),
    "problem_solving": ("slow_first_response", "low"),
    "retention_30d": ("onboarding_ritual", "low"),
    "retention_60d": ("onboarding_ritual", "low"),
    "retention_90d": ("onboarding_ritual", "low"),
    "early_survival_ratio": ("early_death_risk", "low"),
    "days_to_activity_floor": ("early_death_risk", "low"),
    "member_to_member_share": ("fan_economy_low_peer_exchange", "low"),
    "staff_interaction_share": ("fan_economy_low_peer_exchange", "high"),
    "hub_interaction_share": ("fan_economy_low_peer_exchange", "high"),
    "degree_centralization": ("fan_economy_low_peer_exchange", "high"),
    "fan_hub_share": ("fan_economy_low_peer_exchange", "high"),
    "fan_hub_centralization": ("fan_economy_low_peer_exchange", "high"),
    "economy_index": ("fan_economy_low_peer_exchange", "low"),
    "density": ("weak_ties", "low"),
    "reciprocity": ("weak_ties", "low"),
    "avg_clustering": ("weak_ties", "low"),
    "repeated_ties_share": ("weak_ties", "low"),
    "peer_tie_strength": ("weak_ties", "low"),
    "trust_ties": ("weak_ties", "low"),
    "vertical_focus": ("unfocused_topics", "low"),
    "buyer_share": ("incentives_repeat_purchase", "low"),
    "revenue_per_member": ("incentives_repeat_purchase", "low"),
    "repeat_purchase_rate": ("incentives_repeat_purchase", "low"),
    "referral_rate": ("incentives_repeat_purchase", "low"),
    "completion_rate": ("low_completion", "low"),
    "event_lift": ("events_without_lift", "low"),
    "event_purchase_lift": ("events_without_lift", "low"),
}

#: Drivers pushing the risk up by less than this (probability) are not reported.
MIN_PUSH = 0.005

_WORDS = {
    "low": ("偏低", "low"),
    "high": ("偏高", "high"),
    "falling": ("且在下降", "and falling"),
    "rising": ("且在上升", "and rising"),
    "typical": ("典型值", "typical"),
    "undefined": ("无数据（未定义）", "not defined (no data)"),
    "no_play": ("规则库中没有针对此项的对策", "No play of the rule library addresses this"),
    "other_side": ("规则库的对策针对{side}的情况，不适用于此",
                   "The library's play is for a {side} value, not this one"),
}


def _w(key: str, lang: str, **kw: Any) -> str:
    zh, en = _WORDS[key]
    return (zh if lang == "zh" else en).format(**kw)


def metric_label(column: str, lang: str = "en") -> str:
    """The registry name of a metric column in ``lang``; the column itself when it is not a registry metric."""
    try:
        return get_metric(column).name(lang)
    except KeyError:
        return column


def format_value(column: str, value: float, lang: str = "en") -> str:
    """A metric value formatted for its unit (share as %, counts with separators, hours with a unit)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    try:
        unit = get_metric(column).unit
    except KeyError:
        unit = ""
    if unit == "share":
        return f"{value:.0%}"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "hours":
        return f"{value:,.1f} 小时" if lang == "zh" else f"{value:,.1f} h"
    if unit == "days":
        return f"{value:,.0f} 天" if lang == "zh" else f"{value:,.0f} days"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _rules_by_id(rules: list[Rule] | None) -> dict[str, Rule]:
    return {r.id: r for r in (default_rules() if rules is None else rules)}


def explain_risk(forecaster: CommunityForecaster, panel: pd.DataFrame, *, top: int = 3, lang: str = "en",
                 rules: list[Rule] | None = None) -> pd.DataFrame:
    """The ``top`` metrics that push each community's risk up most, in words, with the play for each.

    Parameters
    ----------
    forecaster : CommunityForecaster
        Fitted on a panel.
    panel : DataFrame
        Panel of the communities to explain (features at the forecaster's ``horizon_``).
    top : int, default 3
        Drivers per community.
    lang : {"zh", "en"}
        Language of the text.
    rules : list of Rule, optional
        Rule library to link plays from (default: the shipped one).

    Returns
    -------
    DataFrame
        One row per community and driver: ``community_id, p_die, driver`` (1 = strongest),
        ``metric, name, value, typical, trend, side`` (``low``/``high``), ``push`` (probability
        points the metric adds), ``rule_id, rule_title, action, practice`` (empty without a play),
        ``text`` (the reason and the play in words), ``reason`` (the reason alone: what the metric is
        and how much it adds). Communities whose risk no metric pushes up have no rows.

    Raises
    ------
    ValueError
        If ``panel`` is not a panel.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(forecaster, "estimator_")
    if not is_panel(panel):
        raise InvalidArgument("explain needs a panel (columns community_id, period and metrics): pass the output of "
                              "commlab.analysis.panel.community_panel")
    feats, ids = forecaster._matrix(panel, reset=False)
    names = list(forecaster.feature_names_in_)
    k = forecaster.horizon_
    p0 = forecaster.predict_proba(feats)[:, 1]
    ref = forecaster.reference_
    groups: dict[str, list[str]] = {}
    for f in names:
        groups.setdefault(feature_metric(f), []).append(f)
    pushes = {}
    for metric, cols in groups.items():
        moved = feats.copy()
        moved[cols] = np.broadcast_to(ref[cols].to_numpy(), (len(moved), len(cols)))
        pushes[metric] = p0 - forecaster.predict_proba(moved)[:, 1]
    push = pd.DataFrame(pushes, index=feats.index)
    by_id = _rules_by_id(rules)
    rows = []
    for i, cid in enumerate(feats.index):
        order = push.loc[cid].sort_values(ascending=False)
        order = order[order > MIN_PUSH].head(top)
        for rank, (metric, pp) in enumerate(order.items(), start=1):
            level_col, trend_col = metric + LEVEL, metric + TREND
            value = feats.at[cid, level_col] if level_col in feats.columns else np.nan
            typical = ref.get(level_col, np.nan)
            trend = feats.at[cid, trend_col] if trend_col in feats.columns else np.nan
            if not pd.isna(value) and value != typical:
                side = "low" if value < typical else "high"
            elif not pd.isna(trend) and trend != 0:
                side = "low" if trend < 0 else "high"
            else:
                side = ""
            play = METRIC_PLAYS.get(metric)
            rule = by_id.get(play[0]) if play else None
            fits = rule is not None and play is not None and play[1] == side
            reason, tail = _sentence(metric, value, typical, trend, side, float(pp), k, rule if fits else None,
                                     play, lang)
            rows.append({
                Col.community_id: str(cid), "p_die": float(p0[i]), "driver": rank, "metric": metric,
                "name": metric_label(metric, lang), "value": value, "typical": typical, "trend": trend,
                "side": side, "push": float(pp),
                "rule_id": rule.id if fits and rule else "",
                "rule_title": rule.title.get(lang) if fits and rule else "",
                "action": rule.action.get(lang) if fits and rule else "",
                "practice": rule.practice if fits and rule else "",
                "text": reason + ("" if lang == "zh" else " ") + tail, "reason": reason,
            })
    cols = [Col.community_id, "p_die", "driver", "metric", "name", "value", "typical", "trend", "side", "push",
            "rule_id", "rule_title", "action", "practice", "text", "reason"]
    return pd.DataFrame(rows, columns=cols)


def _sentence(metric: str, value: float, typical: float, trend: float, side: str, push: float, k: int | None,
              rule: Rule | None, play: tuple[str, str] | None, lang: str) -> tuple[str, str]:
    """The reason (what the metric is, against the typical community, and what it adds) and the play."""
    zh = lang == "zh"
    name = metric_label(metric, lang)
    v, t = format_value(metric, value, lang), format_value(metric, typical, lang)
    if pd.isna(value):
        v = _w("undefined", lang)
    moving = ""
    if not pd.isna(trend) and trend != 0:
        moving = ("，" if zh else " ") + _w("falling" if trend < 0 else "rising", lang)
    where = (f"第 {k} 期" if zh else f"at period {k}") if k else ""
    side_word = _w(side, lang) if side else ""
    pts = push * 100
    if zh:
        gap = "" if pd.isna(value) else " "  # a space between Chinese and a number, none before a word
        head = (f"{name}{side_word}：{where}为{gap}{v}（{_w('typical', lang)} {t}）{moving}，"
                f"使死亡风险提高 {pts:.0f} 个百分点。")
    else:
        lead = f"{name} is {side_word}" if side_word else name  # an undefined value has no side
        unit = "point" if f"{pts:.0f}" == "1" else "points"
        head = (f"{lead}: {v} {where} ({_w('typical', lang)} {t}){moving}; it raises the risk of "
                f"dying by {pts:.0f} {unit}.")
    if rule is not None:
        tail = (f"对策：{rule.title.get(lang)}——{rule.action.get(lang)}（{rule.practice}）" if zh else
                f"Play: {rule.title.get(lang)} — {rule.action.get(lang)} ({rule.practice})")
    elif play is not None and side:
        other = _w("low" if play[1] == "low" else "high", lang)
        tail = _w("other_side", lang, side=other) + ("。" if zh else ".")
    else:
        tail = _w("no_play", lang) + ("。" if zh else ".")
    return head, tail
