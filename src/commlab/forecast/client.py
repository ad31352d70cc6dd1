"""What the report's client part shows of an early-warning run, from notebook 06's ``summary.json``.

The client part of ``report.html`` (:mod:`commlab.report`, :mod:`commlab.report_view`) is built from
the steps' structured outputs. Notebook 06 writes a :data:`commlab.forecast.early_warning.SCHEMA`
payload; :func:`early_warning_view` turns it into the headline a consultant mails:

* which young communities are most at risk, and how likely each is to die;
* for each, the few metrics that push its risk most, in words, each linked to the play of the rule
  library (``DOMAIN.md`` §4) that addresses it;
* how far the forecast can be trusted: its out-of-sample ROC AUC on the communities whose fate is known,
  beside the AUC the same procedure reaches with the fates shuffled (no signal to find), and a verdict
  read from the two intervals.

The details (the evaluation per horizon, calibration, the whole ranking) stay in the appendix, the
notebook's own section. Every value here is text for an autoescaped template; communities with fewer
than *k* members carry no value in ``summary.json`` and none here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from commlab.data.schema import Col
from commlab.outputs import summary_number, summary_part
from commlab.rules_text import format_value

__all__ = ["CLIENT_AT_RISK", "Driver", "AtRisk", "EarlyWarningView", "early_warning_summary", "early_warning_view"]

#: Communities shown as cards in the client part (the whole ranking is in the appendix).
CLIENT_AT_RISK = 6

_SCHEMA = "commlab.early_warning/1"  # commlab.forecast.early_warning.SCHEMA, without importing scikit-learn

_T: dict[str, tuple[str, str]] = {
    "title": ("早期预警：哪些年轻社群可能死亡", "Early warning: which young communities may die"),
    "young": ("今天的 {n} 个年轻社群（结局未知）按预测的死亡风险排序，下面是风险最高的 {shown} 个。"
              "作为对照：已知结局的 {known} 个社群中，{died}死亡。",
              "Today's {n} young communities (fate unknown) ranked by their forecast risk of dying; the {shown} "
              "most at risk are below. For comparison: of the {known} communities whose fate is known, {died} "
              "died."),
    "retro": ("这批数据中每个社群的结局都已知（{known} 个，{died} 死亡），所以没有“今天的年轻社群”可预测。"
              "下面的风险是每个社群在第 {k} 期时的样本外预测（预测它的模型没有见过它），"
              "用来检验方法，不是对未来的预测。",
              "Every community's fate in these data is known ({known}, of which {died} died), so there are no "
              "young communities to forecast today. The risks below are each community's out-of-sample forecast "
              "at period {k} (made by a model that had not seen it): a check of the method, not a forecast."),
    "none": ("没有可排序的社群。", "No community could be ranked."),
    "trust": ("预测可信吗", "Can the forecast be trusted"),
    "auc_intro": ("在已知结局的社群上做样本外检验，每个社群只用它前 k 期的数据；AUC 衡量区分“会死”与“会活”的能力："
                  "0.5 等于随机猜，1 为完全正确；方括号内为 95% 区间。"
                  "作为对照，把这些社群的结局随机打乱 {shuffles} 次，每次用同样的方法再检验：打乱后没有可学的信号。",
                  "Checked out of sample on the communities whose fate is known, each from its first k periods only; "
                  "the ROC AUC measures how well the forecast tells those that died from those that survived: 0.5 is "
                  "a guess, 1 is always right; brackets: 95% interval. As a yardstick, their fates are shuffled at "
                  "random {shuffles} times and each shuffle checked the same way: shuffled fates hold no signal."),
    "auc_line": ("第 {k} 期（{n} 个社群参与检验；{used} 个社群按此期预测）：AUC {auc}；打乱结局后中位数 {median}"
                 "（95% 的打乱在 {range}），{shuffles} 次打乱中 {reached} 次达到真实 AUC。",
                 "Period {k} ({n} communities checked; {used} ranked at this age): AUC {auc}; with shuffled fates a "
                 "median of {median} (95% of the shuffles in {range}), {reached} of {shuffles} shuffles reaching the "
                 "real AUC."),
    "auc_intro_alone": ("在已知结局的社群上做样本外检验，每个社群只用它前 k 期的数据；"
                        "AUC 0.5 等于随机猜，1 为完全正确；方括号内为 95% 区间。",
                        "Checked out of sample on the communities whose fate is known, each from its first k periods "
                        "only; an AUC of 0.5 is a guess, 1 is always right; brackets: 95% interval."),
    "auc_line_alone": ("第 {k} 期（{n} 个社群参与检验；{used} 个社群按此期预测）：AUC {auc}。",
                       "Period {k} ({n} communities checked; {used} ranked at this age): AUC {auc}."),
    "clear": ("结论：预测明显好于随机，可以用来决定先照看哪些社群；但它给出的是风险，不是定局。",
              "Verdict: the forecast is clearly better than chance and can decide which communities to look "
              "after first; it gives a risk, not a certainty."),
    "clear_small": ("结论：在这 {n} 个社群上预测明显好于随机；但样本这么小，说不出它在别的社群上会有多准。",
                    "Verdict: on these {n} communities the forecast is clearly better than chance; with so few, it "
                    "cannot say how well it would do on others."),
    "weak": ("结论：预测只是部分好于随机（区间触及 0.5，或打乱结局后也常能达到，或只在某些期好于随机），只宜作为参考。",
             "Verdict: only partly better than chance (its interval reaches 0.5, or shuffled fates often reach it "
             "too, or it is better at some ages only): use it as a hint."),
    "chance": ("结论：预测与随机猜测分不开，下面的排序不能作为依据。",
               "Verdict: the forecast cannot be told apart from a guess; do not act on the ranking below."),
    "small": ("样本很小（{n} 个社群）：多一个或少一个社群就会改变这些数字。",
              "Small sample ({n} communities): one community more or less moves these figures."),
    "untested": ("没有已知结局的两类社群，预测未经检验，下面的排序不能作为依据。",
                 "No known fates of both kinds: the forecast is untested; do not act on the ranking below."),
    "risk": ("死亡风险", "risk of dying"),
    "age": ("已观察 {k} 期（每期 {days} 天）", "observed for {k} period(s) of {days} days"),
    "age_week": ("已观察 {k} 周", "observed for {k} week(s)"),
    "age_day": ("已观察 {k} 天", "observed for {k} day(s)"),
    "why": ("主要原因", "Why"),
    "play": ("对策", "Play"),
    "no_driver": ("没有单个指标明显推高风险。", "No single metric pushes the risk up noticeably."),
    "no_play": ("规则库中没有针对此项的对策", "no play of the rule library addresses this"),
    "hidden": ("成员少于 {k} 人，数值不显示。", "Fewer than {k} members: values not shown."),
    "fate_died": ("实际：已死亡", "actually died"),
    "fate_survived": ("实际：存活", "actually survived"),
    "more": ("另有 {n} 个社群的风险与原因见附录“{section}”。",
             "{n} more communities, with their risks and reasons, are in the appendix (“{section}”)."),
    "section": ("早期预警", "Early warning"),
}


def _t(key: str, lang: str, **kw: Any) -> str:
    zh, en = _T[key]
    return (zh if lang == "zh" else en).format(**kw)


@dataclass
class Driver:
    """One reason a community is at risk, and the play that addresses it (empty without one)."""

    reason: str
    play: str = ""
    action: str = ""
    practice: str = ""


@dataclass
class AtRisk:
    """One community card: its rank, name, risk, age and reasons (or why its values are hidden)."""

    rank: int
    community: str
    risk: str
    age: str = ""
    fate: str = ""
    drivers: list[Driver] = field(default_factory=list)
    hidden: str = ""
    level: str = ""  # "high" when above the known base rate, "" otherwise (the card's colour)


@dataclass
class EarlyWarningView:
    """The early-warning section of the client part (see the module docstring)."""

    title: str
    headline: str
    trust_title: str
    trust: list[str]
    verdict: str
    verdict_level: str  # "clear", "weak", "chance" or "untested"
    small: str
    cards: list[AtRisk]
    more: str
    labels: dict[str, str]


def early_warning_summary(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """Notebook 06's payload inside a run's ``summary.json`` (``None`` if no step wrote one)."""
    return summary_part(summary, _SCHEMA)


def _auc(score: dict[str, Any] | None) -> tuple[str, float | None, float | None]:
    """``0.66 [0.57, 0.75]``, with the interval's ends."""
    score = score or {}
    v, lo, hi = summary_number(score.get("value")), summary_number(score.get("lo")), summary_number(score.get("hi"))
    if v is None:
        return "–", None, None
    text = format_value(v, "ratio", "en")
    if lo is not None and hi is not None:
        text += f" [{format_value(lo, 'ratio', 'en')}, {format_value(hi, 'ratio', 'en')}]"
    return text, lo, hi


def _at(evaluation: dict[str, Any] | None, k: int) -> dict[str, Any] | None:
    for h in (evaluation or {}).get("horizons") or []:
        if int(h.get("horizon", -1)) == k:
            return h
    return None


def _level(model: dict[str, Any] | None, shuffled: dict[str, Any] | None) -> str:
    """``clear`` (interval above 0.5 and no more than 5 % of the shuffles reaching the AUC), ``weak`` (one of the
    two) or ``chance`` (neither)."""
    _, lo, _ = _auc(((model or {}).get("model") or {}).get("roc_auc"))
    above = lo is not None and lo > 0.5
    p = summary_number((shuffled or {}).get("p_value"))
    beats = p is not None and p <= 0.05
    if above and (beats or shuffled is None):
        return "clear"
    return "weak" if above or beats else "chance"


def _trust(s: dict[str, Any], used: dict[int, int], lang: str) -> tuple[list[str], str, str, str]:
    """The evaluation figures in words (one line per horizon the shown forecasts used), the verdict, its level
    and the small-sample note."""
    lines, levels, small, n_small = [], [], "", 0
    shuffles = int(((s.get("shuffled") or {}).get("settings") or {}).get("n_shuffles") or 0)
    for k in sorted(used):
        h = _at(s.get("evaluation"), k)
        if h is None or not h.get("n_splits"):
            continue
        sh = _at(s.get("shuffled"), k)
        sh = sh if sh and sh.get("roc_auc") else None
        auc = _auc((h.get("model") or {}).get("roc_auc"))[0]
        n = format_value(int(h["n"]), "count", lang)
        if sh is None:
            lines.append(_t("auc_line_alone", lang, k=k, n=n, used=format_value(used[k], "count", lang), auc=auc))
        else:
            mid = sh["roc_auc"]
            lines.append(_t("auc_line", lang, k=k, n=n, used=format_value(used[k], "count", lang), auc=auc,
                            median=format_value(summary_number(mid.get("value")), "ratio", "en"),
                            range=f"[{format_value(summary_number(mid.get('lo')), 'ratio', 'en')}, "
                                  f"{format_value(summary_number(mid.get('hi')), 'ratio', 'en')}]",
                            reached=format_value(int(sh.get("reached", 0)), "count", lang),
                            shuffles=format_value(int(sh.get("n_shuffles", 0)), "count", lang)))
        levels.append(_level(h, sh))
        if h.get("small_n") and not small:
            small, n_small = _t("small", lang, n=n), int(h["n"])
    if not lines:
        return [], _t("untested", lang), "untested", ""
    level = "clear" if set(levels) == {"clear"} else "chance" if set(levels) == {"chance"} else "weak"
    verdict = _t("clear_small", lang, n=format_value(n_small, "count", lang)) if level == "clear" and small \
        else _t(level, lang)
    intro = _t("auc_intro", lang, shuffles=format_value(shuffles, "count", lang)) if shuffles else \
        _t("auc_intro_alone", lang)
    return [intro, *lines], verdict, level, small


def _age(periods: int, period: str, lang: str) -> str:
    if period == "week":
        return _t("age_week", lang, k=periods)
    if period == "day":
        return _t("age_day", lang, k=periods)
    return _t("age", lang, k=periods, days=30)


def early_warning_view(summary: dict[str, Any] | None, names: dict[str, str], *, lang: str,
                       k: int = 5) -> EarlyWarningView | None:
    """The early-warning section of the client part, from a run's ``summary.json`` content.

    Parameters
    ----------
    summary : dict
        Step name to the step's ``summary.json`` content.
    names : dict
        Community id to display name (ids are shown where a name is missing).
    lang : {"zh", "en"}
    k : int, default 5
        The k-anonymity threshold (communities with fewer members show no value).

    Returns
    -------
    EarlyWarningView or None
        None when no step wrote an early-warning payload.
    """
    s = early_warning_summary(summary)
    if s is None:
        return None
    ranking = [r for r in s.get("ranking") or [] if isinstance(r, dict)]
    known = s.get("known") or {}
    n_known, n_died = int(known.get("n") or 0), int(known.get("died") or 0)
    base = n_died / n_known if n_known else None
    died = (f"{format_value(n_died, 'count', lang)}（{format_value(base, 'share', lang)}）" if lang == "zh" else
            f"{format_value(n_died, 'count', lang)} ({format_value(base, 'share', lang)})") if base is not None \
        else format_value(n_died, "count", lang)
    shown = ranking[:CLIENT_AT_RISK]
    # a community under k members keeps only its rank: it is young unless the ranking is retrospective
    young = [r for r in ranking if r.get("basis") != "out-of-fold"] \
        if any(r.get("basis") == "forecast" for r in ranking) else []
    if not ranking:
        headline = _t("none", lang)
    elif young:
        headline = _t("young", lang, n=format_value(len(young), "count", lang),
                      shown=format_value(len(shown), "count", lang),
                      known=format_value(n_known, "count", lang), died=died)
    else:
        headline = _t("retro", lang, known=format_value(n_known, "count", lang), died=died,
                      k=int(s.get("horizon") or 0))
    used: dict[int, int] = {}
    for r in shown:
        if not r.get("suppressed") and r.get("horizon") is not None:
            used[int(r["horizon"])] = used.get(int(r["horizon"]), 0) + 1
    trust, verdict, level, small = _trust(s, used, lang)
    period = str((s.get("settings") or {}).get("period") or "month")
    cards = []
    for r in shown:
        cid = str(r.get(Col.community_id))
        card = AtRisk(rank=int(r.get("rank") or 0), community=names.get(cid, cid), risk="–")
        if r.get("suppressed") or r.get("p_die") is None:
            card.hidden = _t("hidden", lang, k=k)
            cards.append(card)
            continue
        p = float(r["p_die"])
        card.risk = format_value(p, "share", lang)
        card.level = "high" if base is not None and p > base else ""
        card.age = _age(int(r.get("periods") or 0), period, lang)
        if r.get("outcome") is not None:
            card.fate = _t("fate_died" if int(r["outcome"]) == 1 else "fate_survived", lang)
        for d in r.get("drivers") or []:
            reason = str(d.get("reason") or d.get("text") or "")
            if d.get("rule_id"):
                card.drivers.append(Driver(reason, str(d.get("rule_title") or ""), str(d.get("action") or ""),
                                           str(d.get("practice") or "")))
            else:
                card.drivers.append(Driver(reason))
        cards.append(card)
    more = _t("more", lang, n=format_value(len(ranking) - len(shown), "count", lang),
              section=_t("section", lang)) if len(ranking) > len(shown) else ""
    labels = {key: _t(key, lang) for key in ("risk", "why", "play", "no_driver", "no_play")}
    labels["colon"] = "：" if lang == "zh" else ": "
    return EarlyWarningView(title=_t("title", lang), headline=headline, trust_title=_t("trust", lang), trust=trust,
                            verdict=verdict, verdict_level=level, small=small, cards=cards, more=more,
                            labels=labels)
