"""Rules are data: loading, validation, evaluation, and every shipped rule fires and stays quiet."""

from __future__ import annotations

import pandas as pd
import pytest

from commlab.errors import PlaybookError
from commlab.rules import compare_recommendations, default_rules, describe_evidence, evaluate_rules, load_rules

BASE_ATTRS = {"community_id": "c1", "theme": "interest", "monetization": "none"}

# rule id -> (facts that make it fire, attributes, previous facts), then facts that keep it quiet.
CASES: dict[str, tuple[dict, dict, dict, dict, dict, dict]] = {
    "low_base_activity": ({"active_share_30d": 0.1, "ugc_share": 0.9}, {}, {},
                          {"active_share_30d": 0.5, "ugc_share": 0.9}, {}, {}),
    "early_death_risk": ({"early_survival_ratio": 0.1}, {}, {}, {"early_survival_ratio": 0.8}, {}, {}),
    "slow_first_response": ({"response_rate": 0.9, "median_first_response_hours": 30}, {}, {},
                            {"response_rate": 0.9, "median_first_response_hours": 2}, {}, {}),
    "channel_without_staff_reply": ({"max_days_without_staff_reply": 4}, {}, {},
                                    {"max_days_without_staff_reply": 1}, {}, {}),
    "empower_core_users": ({"core_share": 0.05}, {}, {"core_share": 0.1},
                           {"core_share": 0.05}, {}, {"core_share": 0.05}),
    "zombie_overload": ({"zombie_share": 0.6}, {}, {}, {"zombie_share": 0.1}, {}, {}),
    "fan_economy_low_peer_exchange": ({"member_to_member_share": 0.1}, {}, {},
                                      {"member_to_member_share": 0.8}, {}, {}),
    "onboarding_ritual": ({"retention_30d": 0.1}, {}, {}, {"retention_30d": 0.7}, {}, {}),
    "first_cohort_weak": ({"first_cohort_retention_gap": -0.3}, {}, {}, {"first_cohort_retention_gap": 0.1}, {}, {}),
    "events_without_lift": ({"event_lift": 0.9}, {}, {}, {"event_lift": 1.6}, {}, {}),
    "unfocused_topics": ({"vertical_focus": 0.1}, {}, {}, {"vertical_focus": 0.8}, {}, {}),
    "weak_ties": ({"reciprocity": 0.05}, {}, {}, {"reciprocity": 0.4}, {}, {}),
    "incentives_repeat_purchase": ({"buyer_share": 0.3, "repeat_purchase_rate": 0.1, "referral_rate": 0.1}, {}, {},
                                   {"buyer_share": 0.3, "repeat_purchase_rate": 0.5, "referral_rate": 0.1}, {}, {}),
    "low_completion": ({"completion_rate": 0.1}, {"theme": "knowledge"}, {},
                       {"completion_rate": 0.1}, {"theme": "interest"}, {}),
    "recently_inactive_top_members": ({"recently_inactive_top_members": 3}, {}, {},
                                      {"recently_inactive_top_members": 0}, {}, {}),
    "near_next_orbit": ({"near_next_orbit_members": 12}, {}, {}, {"near_next_orbit_members": 2}, {}, {}),
    "activity_dropped_since_last_run": ({"active_share_30d": 0.3}, {}, {"active_share_30d": 0.5},
                                        {"active_share_30d": 0.5}, {}, {"active_share_30d": 0.5}),
    "monetization_fit_knowledge": ({}, {"theme": "knowledge", "monetization": "ecommerce"}, {},
                                   {}, {"theme": "knowledge", "monetization": "product"}, {}),
    "monetization_fit_consumption": ({}, {"theme": "consumption", "monetization": "none"}, {},
                                     {}, {"theme": "consumption", "monetization": "ecommerce"}, {}),
}


def _facts(values: dict) -> pd.DataFrame:
    return pd.DataFrame({"community_id": "c1", "metric_id": list(values), "value": list(values.values())},
                        columns=["community_id", "metric_id", "value"])


def _run(rule, facts, attrs, prev):
    return evaluate_rules([rule], _facts(facts), pd.DataFrame([{**BASE_ATTRS, **attrs}]),
                          previous=_facts(prev) if prev else None, lang="zh")


def test_every_shipped_rule_has_cases():
    assert {r.id for r in default_rules()} == set(CASES)


@pytest.mark.parametrize("rule", default_rules(), ids=lambda r: r.id)
def test_rule_fires_and_stays_quiet(rule):
    fire, fire_attrs, fire_prev, quiet, quiet_attrs, quiet_prev = CASES[rule.id]
    fired = _run(rule, fire, fire_attrs, fire_prev)
    assert len(fired) == 1, f"{rule.id} should fire"
    row = fired.iloc[0]
    assert row["action"] and row["rationale"] and "DOMAIN.md" in row["practice"] or "Orbit" in row["practice"]
    assert row["evidence"], "a fired rule carries the values that fired it"
    assert len(_run(rule, quiet, quiet_attrs, quiet_prev)) == 0, f"{rule.id} should stay quiet"


def test_library_covers_every_practice_row_of_domain_section_4():
    practices = " ".join(r.practice for r in default_rules())
    for row in ("维护基本活跃", "建群三天必死", "对接用户获得反馈", "核心用户协助运营", "初始成员篩選要嚴格",
                "群规/主题/人群定位/组织活动", "激励机制", "定期评估与优化", "五大价值", "高价值社群", "§5"):
        assert row in practices, row


def test_missing_metric_never_fires():
    rule = next(r for r in default_rules() if r.id == "zombie_overload")
    out = evaluate_rules([rule], _facts({"other": 1.0}), pd.DataFrame([BASE_ATTRS]))
    assert out.empty


def test_peer_relative_condition_and_evidence():
    rules = load_rules([{
        "id": "below_peers", "title": {"zh": "低于同类", "en": "below peers"}, "severity": "medium",
        "when": {"metric": "retention_30d", "op": "<", "peers": "median", "factor": 0.8},
        "action": {"zh": "行动", "en": "act"}, "rationale": {"zh": "理由", "en": "why"}, "practice": "DOMAIN.md §4",
    }])
    facts = pd.DataFrame({"community_id": ["a", "b", "c", "d"], "metric_id": "retention_30d",
                          "value": [0.2, 0.5, 0.6, 0.9]})
    attrs = pd.DataFrame({"community_id": ["a", "b", "c", "d"], "theme": ["interest"] * 3 + ["brand"]})
    out = evaluate_rules(rules, facts, attrs)
    # interest median = 0.5 -> threshold 0.4: only "a" fires; "d" is alone in its type (no peers)
    assert out["community_id"].tolist() == ["a"]
    ev = out.loc[0, "evidence"][0]
    assert ev["peer_median"] == pytest.approx(0.5) and ev["threshold"] == pytest.approx(0.4)
    assert "peer median" in describe_evidence(out.loc[0, "evidence"], "en")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"id": "x", "bogus": 1}, "bogus"),
        ({"id": "x", "title": {"zh": "a", "en": "b"}, "severity": "urgent"}, "severity"),
        ({"id": "x", "title": {"zh": "a", "en": "b"}, "severity": "low", "action": {"zh": "a", "en": "b"},
          "rationale": {"zh": "a", "en": "b"}, "practice": "p",
          "when": {"metric": "m", "op": "=~", "value": 1}}, "when"),
    ],
)
def test_bad_rules_are_rejected_naming_the_key(rule, message):
    with pytest.raises(PlaybookError, match=message):
        load_rules([rule])


def test_rule_values_are_never_executed(tmp_path):
    """A YAML value that looks like code stays a string and never runs."""
    marker = tmp_path / "pwned"
    rules = load_rules([{
        "id": "inject", "title": {"zh": "a", "en": "b"}, "severity": "low", "practice": "p",
        "action": {"zh": "a", "en": "b"}, "rationale": {"zh": "a", "en": "b"},
        "when": {"attribute": "theme", "op": "==", "value": f"__import__('pathlib').Path('{marker}').touch()"},
    }])
    out = evaluate_rules(rules, _facts({}), pd.DataFrame([BASE_ATTRS]))
    assert out.empty and not marker.exists()


def test_compare_with_previous_run():
    now = pd.DataFrame({"community_id": ["a", "a"], "rule_id": ["r1", "r2"]})
    before = pd.DataFrame({"community_id": ["a", "a"], "rule_id": ["r2", "r3"]})
    status = compare_recommendations(now, before).set_index("rule_id")["status"].to_dict()
    assert status == {"r1": "new", "r2": "ongoing", "r3": "resolved"}
