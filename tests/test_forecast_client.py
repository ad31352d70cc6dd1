"""The early-warning section of the report's client part, from notebook 06's summary.json (no kernel, no browser)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from commlab.forecast.client import CLIENT_AT_RISK, early_warning_view
from commlab.forecast.early_warning import SCHEMA
from commlab.report import render_report
from commlab.report_view import client_view

HOSTILE = "<img src=x onerror=alert(1)>云朵群"


def _auc(v: float, lo: float, hi: float) -> dict[str, Any]:
    return {"roc_auc": {"value": v, "lo": lo, "hi": hi}}


def _horizon(k: int, model: tuple[float, float, float], n: int = 120, small: bool = False) -> dict[str, Any]:
    return {"horizon": k, "n": n, "n_died": 48, "base_rate": 0.4, "n_splits": 5, "n_repeats": 5, "small_n": small,
            "note": "", "model": _auc(*model), "baseline": _auc(0.48, 0.44, 0.52)}


def _driver(metric: str, reason: str, rule: str = "") -> dict[str, Any]:
    return {"metric": metric, "name": metric, "side": "low", "push": 0.05, "reason": reason, "text": reason,
            "rule_id": rule, "rule_title": "基本活跃不足" if rule else "",
            "action": "每天固定话题与早晚问候" if rule else "",
            "practice": "DOMAIN.md §4: 维护基本活跃" if rule else ""}


def _shuffled(k: int, mid: tuple[float, float, float], reached: int) -> dict[str, Any]:
    return {"horizon": k, "n_shuffles": 20, **_auc(*mid), "reached": reached, "p_value": (reached + 1) / 21}


def _summary(real: tuple[float, float, float] = (0.70, 0.62, 0.78),
             shuffled: tuple[float, float, float] = (0.50, 0.42, 0.58), n_young: int = 8,
             reached: int = 0) -> dict[str, Any]:
    ranking: list[dict[str, Any]] = [{"community_id": "g0", "rank": 1, "suppressed": True}]
    for i in range(1, n_young):
        ranking.append({"community_id": f"g{i}", "rank": i + 1, "p_die": 0.6 - i * 0.05, "horizon": 1 + i % 2,
                        "periods": 1 + i % 2, "basis": "forecast", "outcome": None,
                        "plays": ["low_base_activity"],
                        "drivers": [_driver("ugc_share", f"UGC占比偏低：第 1 期为 {30 + i}%（典型值 63%）",
                                            "low_base_activity"),
                                    _driver("x_custom", "x_custom 偏高")]})
    return {"early_warning": {
        "schema": SCHEMA, "settings": {"period": "month"}, "horizon": 2, "known": {"n": 120, "died": 48},
        "evaluation": {"horizons": [_horizon(1, real), _horizon(2, real), _horizon(6, (0.5, 0.4, 0.6))]},
        "shuffled": {"settings": {"n_shuffles": 20}, "horizons": [_shuffled(1, shuffled, reached),
                                                                  _shuffled(2, shuffled, reached)]},
        "ranking": ranking, "notes": []}}


def test_the_headline_names_the_young_communities_at_risk_with_reasons_and_plays() -> None:
    names = {"g1": HOSTILE, "g0": "小群"}
    view = early_warning_view(_summary(), names, lang="zh", k=5)
    assert view is not None
    assert view.headline.startswith("今天的 8 个年轻社群（结局未知）按预测的死亡风险排序，下面是风险最高的 6 个")
    assert "已知结局的 120 个社群中，48（40%）死亡" in view.headline
    assert len(view.cards) == CLIENT_AT_RISK and view.more.startswith("另有 2 个社群")
    small, first = view.cards[0], view.cards[1]
    assert small.community == "小群" and small.hidden == "成员少于 5 人，数值不显示。" and not small.drivers
    assert first.community == HOSTILE and first.risk == "55%" and first.level == "high"  # above the 40% known
    assert first.age == "已观察 2 期（每期 30 天）"
    linked, unlinked = first.drivers
    assert linked.reason.startswith("UGC占比偏低") and linked.play == "基本活跃不足"
    assert linked.action and linked.practice.startswith("DOMAIN.md §4")
    assert unlinked.reason == "x_custom 偏高" and unlinked.play == ""  # a column no play addresses
    # the figure that says how far to trust it: the AUC at each age the shown forecasts used, beside shuffled fates
    assert "结局随机打乱 20 次" in view.trust[0]
    assert view.trust[1:] == [
        "第 1 期（120 个社群参与检验；2 个社群按此期预测）：AUC 0.70 [0.62, 0.78]；打乱结局后中位数 0.50"
        "（95% 的打乱在 [0.42, 0.58]），20 次打乱中 0 次达到真实 AUC。",
        "第 2 期（120 个社群参与检验；3 个社群按此期预测）：AUC 0.70 [0.62, 0.78]；打乱结局后中位数 0.50"
        "（95% 的打乱在 [0.42, 0.58]），20 次打乱中 0 次达到真实 AUC。"]
    assert view.verdict_level == "clear" and view.verdict.startswith("结论：预测明显好于随机")


@pytest.mark.parametrize("real,reached,level", [
    ((0.70, 0.62, 0.78), 0, "clear"),   # interval above 0.5, no shuffle reaches it (p = 1/21)
    ((0.66, 0.55, 0.75), 3, "weak"),    # above 0.5, but 3 of 20 shuffles reach it
    ((0.66, 0.48, 0.80), 0, "weak"),    # no shuffle reaches it, but its interval reaches 0.5
    ((0.56, 0.45, 0.66), 4, "chance"),  # neither
])
def test_the_verdict_is_read_from_the_interval_and_the_shuffles(real: tuple, reached: int, level: str) -> None:
    view = early_warning_view(_summary(real, reached=reached), {}, lang="en")
    assert view is not None and view.verdict_level == level
    assert view.verdict.startswith("Verdict: ")


def test_a_clear_result_on_few_communities_says_it_cannot_generalise() -> None:
    s = _summary()
    for h in s["early_warning"]["evaluation"]["horizons"]:
        h.update(n=12, small_n=True)
    view = early_warning_view(s, {}, lang="en")
    assert view is not None and view.verdict_level == "clear"
    assert view.verdict == ("Verdict: on these 12 communities the forecast is clearly better than chance; with so "
                            "few, it cannot say how well it would do on others.")
    assert view.small.startswith("Small sample (12 communities)")


def test_untested_and_retrospective_runs_say_so() -> None:
    s = _summary()
    s["early_warning"]["evaluation"] = None
    view = early_warning_view(s, {}, lang="en")
    assert view is not None and view.verdict_level == "untested" and view.trust == []
    s = _summary()
    for r in s["early_warning"]["ranking"]:
        r["basis"] = "out-of-fold"
        r["outcome"] = 1
    view = early_warning_view(s, {}, lang="en")
    assert view is not None and view.headline.startswith("Every community's fate in these data is known (120, of")
    assert view.cards[1].fate == "actually died"
    assert early_warning_view({"x": {"schema": "commlab.recommendations/1"}}, {}, lang="en") is None


def test_the_report_puts_it_in_the_client_part_escaped_and_closes_the_appendix(tmp_path) -> None:
    import nbformat

    from commlab.report import ReportSection

    summary = _summary()
    assert client_view(summary, {}, lang="zh").early_warning is not None
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 早期预警 · Early warning\n\ndetails")])
    nbformat.write(nb, tmp_path / "early_warning.ipynb")
    section = [ReportSection(tmp_path / "early_warning.ipynb", step="early_warning")]
    titles = (("zh", "早期预警：哪些年轻社群可能死亡"), ("en", "Early warning: which young communities may die"))
    for lang, title in titles:
        page = render_report(section, title="t", lang=lang, summary=summary, communities=_communities())
        client = page[page.index('<div class="cl-client" id="client">'):page.index('<div class="cl-appendix-part"')]
        assert f"<h2>{title}</h2>" in client
        assert len(re.findall(r'<article class="cl-ew-card', client)) == CLIENT_AT_RISK
        assert "&lt;img src=x onerror=alert(1)&gt;云朵群" in client and "<img src=x" not in page
        # the notebook's own section, with the details, is in the appendix and closed
        assert re.search(r'<details class="cl-appendix-section" id="step-1">', page)


def _communities():  # noqa: ANN202 - a DataFrame
    import pandas as pd

    return pd.DataFrame({"community_id": [f"g{i}" for i in range(8)],
                         "name": [HOSTILE] + [f"群{i}" for i in range(1, 8)]})
