"""Evidence in plain words and the rule threshold, in one language each; numbers written by their unit."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from commlab.evidence import evidence_text, threshold_text
from commlab.rules import default_rules, evaluate_rules
from commlab.rules_text import format_value
from language import foreign
from test_rules import BASE_ATTRS, CASES, _facts, _profile

PEER = {"metric": "retention_30d", "value": 0.615, "op": "<", "peer_median": 1.0, "peer_n": 3, "factor": 0.8,
        "threshold": 0.8, "met": True}
CHANGE = {"metric": "active_share_30d", "value": 0.3, "op": "<", "previous": 0.5, "change_kind": "relative",
          "threshold": -0.2, "change": -0.4, "met": True}
PLAIN = {"metric": "max_days_without_staff_reply", "value": 1030.4, "op": ">=", "threshold": 3, "met": True}
ATTRS = [{"attribute": "theme", "value": "knowledge", "op": "in", "threshold": ["knowledge"], "met": True},
         {"attribute": "monetization", "value": "ecommerce", "op": "in", "threshold": ["none", "ecommerce"],
          "met": True}]
HIDDEN = [{"metric": "recently_inactive_top_members", "op": ">=", "threshold": 1, "suppressed": True},
          {"metric": "retention_30d", "op": "<", "factor": 0.8, "suppressed": True}]


@pytest.mark.parametrize(
    ("items", "zh", "en"),
    [
        ([PEER], "新成员 30 日留存 62%，同类社群中位数 100%", "30-day newcomer retention 62%, peer median 100%"),
        ([CHANGE], "30 日活跃率较上次运行从 50% 降至 30%（−40%）",
         "30-day active share fell from 50% to 30% since the last run (−40%)"),
        ([PLAIN], "有频道已 1,030 天没有官方回复", "a channel has waited 1,030 days for a staff reply"),
        (ATTRS, "社群主题类型：知识型/学习型；变现模式：电商变现",
         "theme type: knowledge/learning; monetization model: e-commerce"),
        (HIDDEN, "近期沉默的头部成员数少于 5 人；新成员 30 日留存：代表的成员少于 5 人，不显示",
         "top members gone quiet: fewer than 5; 30-day newcomer retention: not shown (fewer than 5 members)"),
    ],
    ids=["peers", "change", "days", "attributes", "hidden"],
)
def test_evidence_in_plain_words(items, zh, en):
    assert evidence_text(items, "zh") == zh
    assert evidence_text(items, "en") == en


@pytest.mark.parametrize(
    ("items", "zh", "en"),
    [
        ([PEER], "新成员 30 日留存 62% < 0.8 × 同类社群中位数 100%（= 80%）",
         "30-day newcomer retention 62% < 0.8 × peer median 100% (= 80%)"),
        ([CHANGE], "30 日活跃率较上次运行的相对变化 −40% < −20%（50% → 30%）",
         "30-day active share, relative change since the last run −40% < −20% (50% → 30%)"),
        ([PLAIN], "最长无官方回复时间 1,030 天 ≥ 3 天", "longest wait for a staff reply 1,030 days ≥ 3 days"),
        (HIDDEN, "近期沉默的头部成员数 ≥ 1（数值不显示）；新成员 30 日留存 < 0.8 × 同类社群中位数（数值不显示）",
         "top members gone quiet ≥ 1 (value not shown); 30-day newcomer retention < 0.8 × peer median "
         "(values not shown)"),
    ],
    ids=["peers", "change", "days", "hidden"],
)
def test_the_rule_threshold_for_the_appendix(items, zh, en):
    assert threshold_text(items, "zh") == zh
    assert threshold_text(items, "en") == en


@pytest.mark.parametrize(
    ("value", "unit", "zh", "en"),
    [
        (0.615, "share", "62%", "62%"), (0.034, "share", "3.4%", "3.4%"), (0.0, "share", "0%", "0%"),
        (2280.0, "count", "2,280", "2,280"), (1.0, "days", "1 天", "1 day"), (3.26, "days", "3.3 天", "3.3 days"),
        (30.0, "hours", "30 小时", "30 hours"), (0.9, "ratio", "0.90", "0.90"), (0.0032, "ratio", "0.0032", "0.0032"),
        (212.7, "ratio", "213", "213"), (1e7, "index", "10,000,000", "10,000,000"),
        (-0.25, "points", "−25 个百分点", "−25 points"), (float("nan"), "share", "–", "–"),
    ],
)
def test_numbers_are_written_by_their_unit_without_exponents(value, unit, zh, en):
    assert format_value(value, unit, "zh") == zh
    assert format_value(value, unit, "en") == en


@pytest.mark.parametrize("rule", default_rules(), ids=lambda r: r.id)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_evidence_of_every_shipped_rule_is_in_one_language(rule, lang):
    """Fire each rule on its case of test_rules.CASES and read both texts."""
    fire, attrs, prev, *_ = CASES[rule.id]
    recs = evaluate_rules([rule], _facts({"members": 500, **fire}), pd.DataFrame([{**BASE_ATTRS, **attrs}]),
                          profile=_profile(), previous=_facts(prev) if prev else None, lang=lang)
    ev = recs.loc[0, "evidence"]
    for text in (evidence_text(ev, lang), threshold_text(ev, lang)):
        assert text and not foreign(text, lang, allowed={"Orbit"}), text
        assert not re.search(r"\d[eE][+-]?\d", text) and "_" not in text, text  # no exponents, no metric ids
