"""HTML tables of the early-warning report (Jinja templates with autoescape: names are attacker-controlled).

:func:`evaluation_html` shows how well the forecast does per horizon against the baseline;
:func:`ranking_html` the communities by risk, each with the metrics that push it and the plays.
Communities with fewer than *k* members lose their values (README § Privacy).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from jinja2 import Environment
from markupsafe import Markup

from commlab.data.schema import Col
from commlab.forecast.early_warning import EarlyWarning
from commlab.forecast.evaluate import BASELINE, ForecastEvaluation
from commlab.forecast.explain import format_value
from commlab.privacy import SUPPRESSED

__all__ = ["evaluation_html", "ranking_html", "intro_markdown", "small_communities"]

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)

_T = {
    "k": ("预测时点（第 k 期）", "forecast at period k"),
    "n": ("参与检验的社群（其中死亡）", "communities scored (died)"),
    "base": ("死亡比例", "share that died"),
    "auc": ("排序能力 AUC", "ranking (ROC AUC)"),
    "acc": ("准确率", "accuracy"),
    "bacc": ("平衡准确率", "balanced accuracy"),
    "brier": ("Brier 分数（越低越好）", "Brier score (lower is better)"),
    "model": ("模型", "model"),
    "baseline": ("基线", "baseline"),
    "rank": ("排名", "rank"),
    "community": ("社群", "community"),
    "risk": ("死亡风险", "risk of dying"),
    "age": ("已观察期数", "periods observed"),
    "why": ("主要原因", "what drives it"),
    "play": ("建议打法", "recommended play"),
    "no_driver": ("没有明显推高风险的指标", "no metric pushes the risk up noticeably"),
    "no_play": ("规则库中没有对应打法", "no play in the rule library"),
    "suppressed": ("成员少于 {k} 人，数值不显示", "fewer than {k} members: values not shown"),
    "oof": ("样本外预测（该社群结局已知，预测来自没见过它的模型）",
            "out-of-sample forecast (fate known; predicted by a model that did not see it)"),
    "fate_died": ("已死亡", "died"),
    "fate_survived": ("存活", "survived"),
    "fate": ("实际结局", "actual fate"),
    "typical": ("典型值", "typical"),
    "undefined": ("无数据（未定义）", "none (not defined)"),
    "points": ("+{p} 个百分点", "+{p} points"),
    "period": ("第 {k} 期", "period {k}"),
    "falling": ("下降中", "falling"),
    "rising": ("上升中", "rising"),
    "low": ("偏低", "low"),
    "high": ("偏高", "high"),
    "interval": ("方括号内为 {ci:.0%} 区间", "brackets: {ci:.0%} interval"),
    "legend": ("每个社群只用它前 k 期的数据；模型与基线（对所有社群都预测训练集的死亡比例）"
               "在完全相同的交叉验证折上比较。AUC 0.5 = 不比随机好。",
               "Each community is scored from its first k periods only; the model and the baseline (which predicts "
               "the training folds' share that died for everyone) are compared on exactly the same cross-validation "
               "folds. An AUC of 0.5 is no better than chance."),
}


def _t(key: str, lang: str, **kw: Any) -> str:
    zh, en = _T[key]
    return (zh if lang == "zh" else en).format(**kw)


def _score(v: Any, lo: Any, hi: Any) -> dict[str, str]:
    """A score and its interval as two texts (the interval goes under the value)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return {"v": "–", "ci": ""}
    if lo is None or (isinstance(lo, float) and math.isnan(lo)):
        return {"v": f"{v:.2f}", "ci": ""}
    return {"v": f"{v:.2f}", "ci": f"[{lo:.2f}, {hi:.2f}]"}


_EVAL = _ENV.from_string("""
<table class="cl-forecast-eval">
<thead>
<tr><th rowspan="2">{{ h.k }}</th><th rowspan="2">{{ h.n }}</th><th rowspan="2">{{ h.base }}</th>
{% for s in scores %}<th colspan="2">{{ s.label }}</th>{% endfor %}</tr>
<tr>{% for s in scores %}<th>{{ h.model }}</th><th>{{ h.baseline }}</th>{% endfor %}</tr>
</thead>
<tbody>
{% for r in rows %}
<tr><td>{{ r.k }}</td><td>{{ r.n }}</td><td>{{ r.base }}</td>
{% for c in r.cells %}
<td style="white-space: nowrap">{{ c.v }}{% if c.ci %}<br><small>{{ c.ci }}</small>{% endif %}</td>
{% endfor %}
</tr>
{% endfor %}
</tbody>
</table>
<p class="cl-legend">{{ legend }}</p>
{% if notes %}<ul class="cl-notes">{% for n in notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
""")


def evaluation_html(ev: ForecastEvaluation, *, lang: str = "en") -> str:
    """The evaluation table: per horizon who was scored and the four scores, model beside baseline."""
    model = ev.settings.get("model")
    scores = [("roc_auc", "auc"), ("balanced_accuracy", "bacc"), ("accuracy", "acc"), ("brier", "brier")]
    rows = []
    for h in ev.horizons.itertuples():
        g = ev.scores[ev.scores["horizon"] == h.horizon]
        cells = []
        for score, _ in scores:
            for name in (model, BASELINE):
                r = g[(g["model"] == name) & (g["score"] == score)]
                cells.append(_score(*r[["value", "lo", "hi"]].iloc[0]) if len(r) else _score(None, None, None))
        rows.append({"k": int(h.horizon), "n": f"{int(h.n)} ({int(h.n_died)})",
                     "base": "–" if pd.isna(h.base_rate) else f"{h.base_rate:.0%}", "cells": cells})
    notes = [(f"第 {int(h.horizon)} 期：" if lang == "zh" else f"Period {int(h.horizon)}: ") + _note(h.note, lang)
             for h in ev.horizons.itertuples() if h.note]
    head = {k: _t(k, lang) for k in ("k", "n", "base", "model", "baseline")}
    legend = _t("legend", lang) + " " + _t("interval", lang, ci=ev.settings.get("ci", 0.95)) + (
        "。" if lang == "zh" else ".")
    return _EVAL.render(
        h=head, scores=[{"label": _t(lab, lang)} for _, lab in scores], rows=rows, legend=legend, notes=notes)


def _note(note: str, lang: str) -> str:
    """The evaluation's note (English) in ``lang``."""
    if lang != "zh":
        return note
    if note.startswith("no community"):
        return "没有已知结局的社群仍在这一期，未检验。"
    if note.startswith("only"):
        return "死亡或存活的社群不足 2 个，无法交叉验证，未检验。"
    if note.startswith("small n"):
        return ("样本很小：区间很宽，多一个或少一个社群就会改变结果；只宜描述，"
                "只有 AUC 区间整体高于 0.5 时才可说模型优于基线。")
    return note


def small_communities(panel: pd.DataFrame, k: int) -> set[str]:
    """Communities with fewer than ``k`` members (``members`` at their last period; none without that column)."""
    if "members" not in panel.columns or k <= 1:
        return set()
    last = panel.sort_values("period").groupby(Col.community_id).tail(1)
    m = pd.to_numeric(last["members"], errors="coerce")
    return set(last.loc[(m > 0) & (m < k), Col.community_id].astype(str))


# The ranking is wide (reasons and plays side by side); on a phone (<= 640 px) each row becomes a card of labelled
# lines, each led by its column's name. The names come from a <style> of nth-child ::before rules (the report's
# sanitizer keeps <style> and classes but not data-* attributes, and text in the cells would end up in the table's
# CSV download). The style travels with the table, so the notebook and the report agree.
_RANK_CSS = """
.cl-forecast-rank td { vertical-align: top; }
.cl-forecast-rank ul { margin: 0; padding-left: 1.1rem; }
@media (max-width: 640px) {
  table.cl-forecast-rank, .cl-forecast-rank tbody, .cl-forecast-rank tr, .cl-forecast-rank td {
    display: block; width: 100%; max-width: 100%; overflow: visible; }
  .cl-forecast-rank thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  .cl-forecast-rank tr { border: 1px solid #d0d7de; border-radius: 6px; margin: 0 0 .7rem; padding: .2rem 0; }
  .cl-forecast-rank td { border: 0; padding: .15rem .6rem; text-align: left !important; min-width: 0;
    overflow-wrap: anywhere; }
  .cl-forecast-rank td.cl-fr-name { font-weight: 600; background: #f6f8fa; }
  .cl-forecast-rank td::before { color: #57606a; margin-right: .4em; }
  .cl-forecast-rank td.cl-fr-block::before { display: block; }
  .cl-forecast-rank td.cl-fr-none { display: none; }  /* no play column for a community whose values are hidden */
__LABELS__
}
"""


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal that cannot end the string or the ``<style>`` element."""
    return '"' + "".join(ch if ch.isalnum() or ch in " ()（）._-" else f"\\{ord(ch):x} " for ch in text) + '"'


def _rank_css(labels: list[str]) -> Markup:
    """The ranking's style, with one ``::before`` label per column (none for the community's name)."""
    rules = "\n".join(f"  .cl-forecast-rank td:nth-child({i})::before {{ content: {_css_string(label)}; }}"
                       for i, label in enumerate(labels, start=1) if label)
    return Markup(_RANK_CSS.replace("__LABELS__", rules))  # noqa: S704 - the kit's own column names, escaped above


_RANK = _ENV.from_string("""
<style>{{ css }}</style>
<table class="cl-forecast-rank">
<thead><tr><th>{{ h.rank }}</th><th style="text-align: left">{{ h.community }}</th><th>{{ h.risk }}</th>
<th>{{ h.age }}</th>{% if show_fate %}<th style="text-align: left">{{ h.fate }}</th>{% endif %}
<th style="text-align: left">{{ h.why }}</th><th style="text-align: left">{{ h.play }}</th></tr></thead>
<tbody>
{% for r in rows %}
<tr style="vertical-align: top"><td>{{ r.rank }}</td>
<td class="cl-fr-name" style="text-align: left">{{ r.name }}</td>
<td><b>{{ r.risk }}</b></td>
<td>{{ r.age }}</td>
{% if show_fate %}<td style="text-align: left">{{ r.fate }}</td>{% endif %}
<td class="cl-fr-block" style="text-align: left">
{% if r.hidden %}{{ r.hidden }}
{% elif r.drivers %}<ul>
{% for d in r.drivers %}
<li><b>{{ d.name }}</b>{% if d.side %} {{ d.side }}{% endif %}{{ colon }}{{ d.value }}
{{- " (" }}{{ d.typical_label }} {{ d.typical }})
{%- if d.trend %}, {{ d.trend }}{% endif %} — {{ d.push }}</li>
{% endfor %}
</ul>
{% else %}{{ none }}{% endif %}
</td>
<td class="cl-fr-block{% if r.hidden %} cl-fr-none{% endif %}" style="text-align: left">
{% if r.plays %}<ul>
{% for p in r.plays %}
<li><b>{{ p.title }}</b>{{ colon }}{{ p.action }} <small>({{ p.practice }})</small></li>
{% endfor %}
</ul>
{% elif not r.hidden %}{{ no_play }}{% endif %}
</td></tr>
{% endfor %}
</tbody>
</table>
{% if legend %}<p class="cl-legend">{{ legend }}</p>{% endif %}
""")



def ranking_html(ew: EarlyWarning, names: dict[str, str], *, lang: str = "en", top_n: int = 15,
                 k_min_group: int = 5) -> str:
    """The ``top_n`` communities most at risk, with their drivers in words and the recommended plays."""
    if ew.ranking.empty:
        return ""
    hidden = small_communities(ew.panel, k_min_group)
    drivers = ew.drivers if len(ew.drivers) else pd.DataFrame(columns=[Col.community_id])
    rows = []
    for r in ew.ranking.head(top_n).itertuples():
        cid = str(r.community_id)
        row: dict[str, Any] = {"rank": int(r.rank), "name": names.get(cid, cid), "age": int(r.periods),
                               "fate": "" if pd.isna(r.outcome) else _t("fate_died" if r.outcome == 1 else
                                                                         "fate_survived", lang)}
        if cid in hidden:
            row.update(risk=SUPPRESSED, hidden=_t("suppressed", lang, k=k_min_group), drivers=[], plays=[])
            rows.append(row)
            continue
        row.update(risk=f"{r.p_die:.0%}", hidden="")
        d = drivers[drivers[Col.community_id] == cid]
        row["drivers"] = [{
            "name": x.name, "side": _t(x.side, lang) if x.side else "",
            "value": (_t("undefined", lang) if pd.isna(x.value) else format_value(x.metric, x.value, lang))
            + " · " + _t("period", lang, k=int(r.horizon)),
            "typical_label": _t("typical", lang), "typical": format_value(x.metric, x.typical, lang),
            "trend": "" if pd.isna(x.trend) or x.trend == 0 else _t("falling" if x.trend < 0 else "rising", lang),
            "push": _t("points", lang, p=f"{x.push * 100:.0f}"),
        } for x in d.itertuples()]
        seen, plays = set(), []
        for x in d.itertuples():
            if x.rule_id and x.rule_id not in seen:
                seen.add(x.rule_id)
                plays.append({"title": x.rule_title, "action": x.action, "practice": x.practice})
        row["plays"] = plays
        rows.append(row)
    show_fate = bool(ew.ranking["outcome"].notna().any())
    head = {k: _t(k, lang) for k in ("rank", "community", "risk", "age", "fate", "why", "play")}
    legend = _t("oof", lang) if (ew.ranking["basis"] == "out-of-fold").any() else ""
    labels = [head["rank"], "", head["risk"], head["age"], *([head["fate"]] if show_fate else []), head["why"],
              head["play"]]
    return _RANK.render(css=_rank_css(labels), h=head, rows=rows, show_fate=show_fate, none=_t("no_driver", lang),
                        no_play=_t("no_play", lang), legend=legend, colon="：" if lang == "zh" else ": ")


def intro_markdown(ew: EarlyWarning, *, lang: str = "en") -> str:
    """One paragraph: what was analysed and where the outcomes come from."""
    n = ew.panel[Col.community_id].nunique()
    rows = len(ew.panel)
    known = 0 if ew.outcomes is None else len(ew.outcomes)
    died = 0 if ew.outcomes is None else int(ew.outcomes["outcome"].sum())
    young = int((ew.ranking["basis"] == "forecast").sum()) if len(ew.ranking) else 0
    period = {"month": ("月（30 天）", "month (30 days)"), "week": ("周", "week"), "day": ("天", "day")}[
        ew.settings.get("period", "month")]
    if lang == "zh":
        text = (f"分析了 {n:,} 个社群从建群起每{period[0]}的轨迹（共 {rows:,} 期，每期只用到该期结束前的数据）。"
                f"已知结局的社群 {known:,} 个（其中死亡 {died:,} 个；结局来源：{ew.outcome_source}）。")
        if young:
            text += f"尚无结局的年轻社群 {young:,} 个，按预测的死亡风险排序。"
    else:
        text = (f"{n:,} communities followed {period[1]} by {period[1]} from their creation ({rows:,} periods, each "
                f"computed only from data up to its end). {known:,} have a known fate ({died:,} died; outcomes from "
                f"{ew.outcome_source}).")
        if young:
            text += f" {young:,} young communities with no fate yet are ranked by their forecast risk of dying."
    return text + "".join(f"\n\n> {note}" for note in ew.notes)


def shuffled_markdown(ew: EarlyWarning, *, lang: str = "en") -> str:
    """The shuffled-fates check: at each horizon the ranking's forecasts were made at, the real AUC beside the AUC
    the same procedure reaches with the fates shuffled (median and middle 95 % of the shuffles) and how many
    shuffles reached the real AUC ("" when it was not run)."""
    if ew.evaluation is None or ew.shuffled is None:
        return ""
    check = ew.shuffled.to_dict(ew.evaluation)
    n = check["settings"]["n_shuffles"]
    seed = check["settings"]["random_state"]
    zh = lang == "zh"
    parts = []
    for h in check["horizons"]:
        k = h["horizon"]
        sc = ew.evaluation.scores
        r = sc[(sc["horizon"] == k) & (sc["model"] != BASELINE) & (sc["score"] == "roc_auc")]
        real = _score(*r[["value", "lo", "hi"]].iloc[0]) if len(r) else _score(None, None, None)
        auc = h.get("roc_auc") or {}
        mid = _score(auc.get("value"), auc.get("lo"), auc.get("hi"))
        reached = h.get("reached")
        if zh:
            got = reached if reached is not None else "–"
            parts.append(f"第 {k} 期：真实结局 {real['v']} {real['ci']}，打乱后中位数 {mid['v']}"
                         f"（95% 的打乱落在 {mid['ci'] or '–'}），{n} 次打乱中有 {got} 次达到真实 AUC")
        else:
            parts.append(f"period {k}: real fates {real['v']} {real['ci']}, shuffled median {mid['v']} (95% of the "
                         f"shuffles in {mid['ci'] or '–'}), {reached if reached is not None else '–'} of {n} shuffles "
                         "reaching the real AUC")
    if zh:
        return (f"**对照：打乱结局。** 把已知结局在社群之间随机打乱 {n} 次（种子从 {seed + 1} 起），"
                "每次用同样的交叉验证：" + "；".join(parts) + "。打乱后没有可学的信号，AUC 应在 0.5 附近；"
                "真实 AUC 只有明显高于打乱后的范围才说明预测有用。")
    return (f"**Check: shuffled fates.** The known fates shuffled among the communities {n} times (seeds from "
            f"{seed + 1}), each run through the same cross-validation: " + "; ".join(parts) + ". Shuffled fates "
            "hold no signal, so their AUC should sit near 0.5; the real AUC means something only where it stands "
            "clear of their range.")
