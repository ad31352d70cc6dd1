"""Rules are data: loading, validation, where they apply, evaluation; every shipped rule fires and stays quiet."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from commlab.data.schema import EVENT_TYPE
from commlab.errors import PlaybookError
from commlab.evidence import evidence_text
from commlab.rules import (
    DEFAULT_LIBRARY,
    PROFILE_COLUMNS,
    compare_recommendations,
    default_rules,
    evaluate_rules,
    load_rules,
    not_applicable,
    not_applicable_summary,
    reason_text,
)
from language import foreign

BASE_ATTRS = {"community_id": "c1", "theme": "interest", "monetization": "none", "platform": "wechat"}


def _profile(ids=("c1",), staff: int = 2, events: dict[str, int] | None = None) -> pd.DataFrame:
    """A community profile with staff and one event of every type, unless ``events`` says otherwise."""
    counts = {c: 1 for c in EVENT_TYPE.codes} | (events or {})
    return pd.DataFrame([{"community_id": c, "staff_members": staff, **{f"events_{t}": n for t, n in counts.items()}}
                         for c in ids])[list(PROFILE_COLUMNS)]

#: The preconditions of a membership fee (DOMAIN.md §4b): met, and missing (nobody the others address much).
EXPERT_AND_RESOURCES = {"expert_in_share": 0.3, "guest_hosted_events": 0, "resource_events": 12}
NO_EXPERT = {"expert_in_share": 0.05, "guest_hosted_events": 0, "resource_events": 12}

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
                       {"completion_rate": 0.6}, {"theme": "knowledge"}, {}),
    "recently_inactive_top_members": ({"recently_inactive_top_members": 3}, {}, {},
                                      {"recently_inactive_top_members": 0}, {}, {}),
    "near_next_orbit": ({"near_next_orbit_members": 12}, {}, {}, {"near_next_orbit_members": 2}, {}, {}),
    "activity_dropped_since_last_run": ({"active_share_30d": 0.3}, {}, {"active_share_30d": 0.5},
                                        {"active_share_30d": 0.5}, {}, {"active_share_30d": 0.5}),
    "monetization_fit_knowledge": (EXPERT_AND_RESOURCES, {"theme": "knowledge", "monetization": "ecommerce"}, {},
                                   EXPERT_AND_RESOURCES, {"theme": "knowledge", "monetization": "product"}, {}),
    "membership_without_preconditions": (NO_EXPERT, {"monetization": "membership"}, {},
                                         EXPERT_AND_RESOURCES, {"monetization": "membership"}, {}),
    "lurker_revival": ({"lurker_share": 0.4, "lurker_share_change_30d": 0.05}, {}, {},
                       {"lurker_share": 0.4, "lurker_share_change_30d": -0.03}, {}, {}),
    "irregular_events": ({"event_gap_cv": 0.9, "event_attendance_rate": 0.2}, {}, {},
                         {"event_gap_cv": 0.1, "event_attendance_rate": 0.2, "checkin_rate": 0.3}, {}, {}),
    "rewards_without_lift": ({"reward_activity_lift": 0.9}, {}, {}, {"reward_activity_lift": 1.6}, {}, {}),
    "recruiting_zombies": ({"zombie_share_qr_code": 0.8, "zombie_share_invite": 0.1}, {}, {},
                           {"zombie_share_qr_code": 0.2, "zombie_share_invite": 0.1}, {}, {}),
    "low_membership_renewal": ({"membership_renewal_rate": 0.3}, {}, {}, {"membership_renewal_rate": 0.7}, {}, {}),
    "no_main_platform": ({"main_platform_share": 0.45}, {}, {}, {"main_platform_share": 0.9}, {}, {}),
    "monetization_fit_consumption": ({}, {"theme": "consumption", "monetization": "none"}, {},
                                     {}, {"theme": "consumption", "monetization": "ecommerce"}, {}),
}


def _facts(values: dict, cid: str = "c1") -> pd.DataFrame:
    return pd.DataFrame({"community_id": cid, "metric_id": list(values), "value": list(values.values())},
                        columns=["community_id", "metric_id", "value"])


def _run(rule, facts, attrs, prev, profile=None):
    return evaluate_rules([rule], _facts({"members": 500, **facts}), pd.DataFrame([{**BASE_ATTRS, **attrs}]),
                          profile=_profile() if profile is None else profile,
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
    out = evaluate_rules([rule], _facts({"other": 1.0}), pd.DataFrame([BASE_ATTRS]), profile=_profile())
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
    out = evaluate_rules(rules, facts, attrs, profile=_profile("abcd"))
    # interest median = 0.5 -> threshold 0.4: only "a" fires; "d" is alone in its type (no peers)
    assert out["community_id"].tolist() == ["a"]
    ev = out.loc[0, "evidence"][0]
    assert ev["peer_median"] == pytest.approx(0.5) and ev["threshold"] == pytest.approx(0.4)
    assert evidence_text(out.loc[0, "evidence"], "en") == "30-day newcomer retention 20%, peer median 50%"
    assert evidence_text(out.loc[0, "evidence"], "zh") == "新成员 30 日留存 20%，同类社群中位数 50%"


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
    out = evaluate_rules(rules, _facts({}), pd.DataFrame([BASE_ATTRS]), profile=_profile())
    assert out.empty and not marker.exists()


def test_compare_with_previous_run():
    now = pd.DataFrame({"community_id": ["a", "a"], "rule_id": ["r1", "r2"]})
    before = pd.DataFrame({"community_id": ["a", "a"], "rule_id": ["r2", "r3"]})
    status = compare_recommendations(now, before).set_index("rule_id")["status"].to_dict()
    assert status == {"r1": "new", "r2": "ongoing", "r3": "resolved"}


# --------------------------------------------------------------------------- where rules apply


def test_every_shipped_rule_declares_where_it_applies():
    """``requires:`` is written out for every rule of the library (``{}`` where a rule needs nothing)."""
    raw = yaml.safe_load(DEFAULT_LIBRARY.read_text(encoding="utf-8"))["rules"]
    assert [r["id"] for r in raw if "requires" not in r] == []
    declared = {r.id: r.requires for r in default_rules()}
    assert declared["low_completion"].event_types == ["course_complete"]
    assert declared["low_completion"].themes == ["knowledge"]
    assert declared["channel_without_staff_reply"].staff
    assert declared["slow_first_response"].event_types == ["post"]
    assert declared["activity_dropped_since_last_run"].previous_run


@pytest.mark.parametrize(
    ("requires", "message"),
    [
        ({"event_types": ["course_done"]}, r"requires.*course_done.*allowed: message"),
        ({"themes": ["gaming"]}, r"requires.*gaming"),
        ({"platforms": ["myspace"]}, r"requires.*myspace"),
        ({"staff": True, "min_staff": 2}, r"requires\.min_staff.*Extra inputs"),
        ({"min_members": -1}, r"requires\.min_members"),
        ({"themes": []}, r"requires.*at least one theme"),
    ],
)
def test_bad_requirements_are_rejected_naming_the_key(requires, message):
    rule = {"id": "x", "title": {"zh": "甲", "en": "x"}, "severity": "low", "practice": "p",
            "action": {"zh": "甲", "en": "x"}, "rationale": {"zh": "甲", "en": "x"},
            "when": {"metric": "zombie_share", "op": ">", "value": 0.4}, "requires": requires}
    with pytest.raises(PlaybookError, match=message):
        load_rules([rule])


def _rule(requires: dict, *, when: dict | None = None) -> object:
    return load_rules([{
        "id": "r", "title": {"zh": "僵尸粉过多", "en": "Too many zombies"}, "severity": "medium", "practice": "p",
        "action": {"zh": "清理", "en": "clean"}, "rationale": {"zh": "因为", "en": "because"},
        "when": when or {"metric": "zombie_share", "op": ">", "value": 0.4}, "requires": requires,
    }])[0]


# requirement -> (what makes a community meet it, what makes it miss it, the reason in en)
APPLICABILITY = {
    "event_types": ({"requires": {"event_types": ["course_complete", "checkin"]},
                     "profile": {"events": {"course_complete": 0, "checkin": 3}}},
                    {"profile": {"events": {"course_complete": 0, "checkin": 0}}},
                    "no course completion or check-in events in the data"),
    "staff": ({"requires": {"staff": True}}, {"profile": {"staff": 0}},
              "no owner or staff member in the member list"),
    "min_members": ({"requires": {"min_members": 50}, "facts": {"members": 50}}, {"facts": {"members": 49}},
                    "fewer than 50 members"),
    "min_peers": ({"requires": {"min_peers": 2}, "others": 1}, {"others": 0},
                  "fewer than 2 communities of the same theme type"),
    "themes": ({"requires": {"themes": ["interest", "brand"]}}, {"attrs": {"theme": "knowledge"}},
               "applies only to interest or brand communities"),
    "platforms": ({"requires": {"platforms": ["wechat"]}}, {"attrs": {"platform": "discord"}},
                  "applies only to communities on WeChat"),
    "previous_run": ({"requires": {"previous_run": True}, "previous": {"zombie_share": 0.5}}, {"previous": None},
                     "no previous run to compare with"),
    "no_data": ({"requires": {}}, {"facts": {"zombie_share": float("nan")}},
                "zombie member share cannot be computed from the data"),
}


def _applicability_case(spec: dict, override: dict):
    spec = {**spec, **override}
    facts = {"members": 500, "zombie_share": 0.6, **spec.get("facts", {})}
    ids = ["c1"] + [f"p{i}" for i in range(spec.get("others", 0))]
    attrs = pd.DataFrame([{**BASE_ATTRS, **spec.get("attrs", {}), "community_id": c} for c in ids])
    all_facts = pd.concat([_facts(facts, c) for c in ids], ignore_index=True)
    profile = _profile(ids, **spec.get("profile", {}))
    previous = _facts(spec["previous"]) if spec.get("previous") else None
    return all_facts, attrs, profile, previous


@pytest.mark.parametrize("kind", list(APPLICABILITY))
def test_a_rule_fires_where_it_applies_and_is_skipped_where_it_does_not(kind):
    meets, misses, reason = APPLICABILITY[kind]
    rule = _rule(meets["requires"])
    facts, attrs, profile, previous = _applicability_case(meets, {})
    fired = evaluate_rules([rule], facts, attrs, profile=profile, previous=previous)
    assert "c1" in set(fired["community_id"]), f"{kind}: the rule applies and its condition is met"
    assert not_applicable([rule], facts, attrs, profile, previous=previous).empty
    facts, attrs, profile, previous = _applicability_case(meets, misses)
    fired = evaluate_rules([rule], facts, attrs, profile=profile, previous=previous)
    assert "c1" not in set(fired["community_id"]), f"{kind}: a rule that does not apply never fires"
    skipped = not_applicable([rule], facts, attrs, profile, previous=previous)
    assert skipped.loc[skipped["community_id"] == "c1", "reason"].tolist() == [kind]
    listed = not_applicable_summary([rule], skipped, lang="en")
    assert listed == [{"rule_id": "r", "title": "Too many zombies", "reason": reason,
                       "community_ids": skipped["community_id"].tolist()}]
    zh = not_applicable_summary([rule], skipped, lang="zh")[0]
    assert zh["title"] == "僵尸粉过多" and not foreign(zh["reason"], "zh"), zh["reason"]


def test_a_rule_with_an_attribute_condition_is_not_set_aside_for_missing_metrics():
    """``no_data`` only where nothing else could fire the rule: an ``any`` with an attribute still runs."""
    rule = _rule({}, when={"any": [{"metric": "zombie_share", "op": ">", "value": 0.4},
                                   {"attribute": "theme", "op": "in", "value": ["interest"]}]})
    facts = _facts({"members": 500})
    attrs = pd.DataFrame([BASE_ATTRS])
    assert not_applicable([rule], facts, attrs, _profile()).empty
    assert len(evaluate_rules([rule], facts, attrs, profile=_profile())) == 1


def test_the_shipped_course_and_staff_rules_need_their_data():
    """A knowledge community with no course completions, or nobody on staff: those rules are listed, not fired."""
    rules = [r for r in default_rules() if r.id in ("low_completion", "channel_without_staff_reply")]
    facts = _facts({"members": 500, "completion_rate": 0.0, "max_days_without_staff_reply": 90})
    attrs = pd.DataFrame([{**BASE_ATTRS, "theme": "knowledge"}])
    with_data = _profile(events={"course_complete": 40})
    assert set(evaluate_rules(rules, facts, attrs, profile=with_data)["rule_id"]) == {
        "low_completion", "channel_without_staff_reply"}
    without = _profile(staff=0, events={"course_complete": 0})
    assert evaluate_rules(rules, facts, attrs, profile=without).empty
    skipped = not_applicable(rules, facts, attrs, without)
    reasons = {e["rule_id"]: e["reason"] for e in not_applicable_summary(rules, skipped, lang="zh")}
    assert reasons == {"low_completion": "数据中没有完课事件",
                       "channel_without_staff_reply": "成员名单中没有群主或管理员"}


def test_a_profile_without_the_columns_a_rule_needs_is_an_error():
    rule = next(r for r in default_rules() if r.id == "low_completion")
    with pytest.raises(ValueError, match="profile lacks the columns.*events_course_complete.*community_profile"):
        evaluate_rules([rule], _facts({"completion_rate": 0.1}), pd.DataFrame([BASE_ATTRS]),
                       profile=pd.DataFrame({"community_id": ["c1"]}))


# --------------------------------------------------------------------------- one language per text


@pytest.mark.parametrize("rule", default_rules(), ids=lambda r: r.id)
def test_rule_texts_are_each_in_one_language(rule):
    for field in ("title", "action", "rationale"):
        text = getattr(rule, field)
        assert not foreign(text.zh, "zh", allowed={"Orbit"}), (rule.id, field, foreign(text.zh, "zh"))
        assert not foreign(text.en, "en"), (rule.id, field, foreign(text.en, "en"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_reason_is_in_one_language(lang):
    details = {"themes": {"vocabulary": "theme", "allowed": ["knowledge", "consumption"]},
               "platforms": {"vocabulary": "platform", "allowed": ["wechat", "qq"]},
               "event_types": {"types": ["reply", "mention", "reaction"]}, "staff": {}, "min_members": {"n": 30},
               "min_peers": {"n": 2, "axis": "theme"}, "previous_run": {},
               "no_data": {"metrics": ["response_rate", "median_first_response_hours", "ugc_share"]}}
    for reason, d in details.items():
        text = reason_text(reason, d, lang)
        assert text and not foreign(text, lang, allowed={"WeChat", "QQ"}), (reason, text)


# --------------------------------------------------------------------------- the practices (issue 26.5)


def _one(rule_id: str):
    return next(r for r in default_rules() if r.id == rule_id)


@pytest.mark.parametrize(("facts", "fires"), [
    ({"core_share": 0.1, "core_reply_share": 0.1}, True),            # many core members, but staff answer
    ({"core_share": 0.1, "member_moderation_share": 0.0}, True),     # staff do all the moderation (no 放权)
    ({"core_share": 0.1, "core_reply_share": 0.6, "member_moderation_share": 0.3}, False),
])
def test_empower_core_users_reads_the_answers_and_moderation_core_members_carry(facts, fires):
    assert (len(_run(_one("empower_core_users"), facts, {}, {})) == 1) is fires


@pytest.mark.parametrize(("facts", "attrs", "rule_id", "fires"), [
    # a knowledge group with no fee, an expert and resources: the library points to courses or membership
    (EXPERT_AND_RESOURCES, {"theme": "knowledge", "monetization": "none"}, "monetization_fit_knowledge", True),
    # ... without resources it does not, and says what is missing instead
    ({**EXPERT_AND_RESOURCES, "resource_events": 0}, {"theme": "knowledge", "monetization": "none"},
     "monetization_fit_knowledge", False),
    ({**EXPERT_AND_RESOURCES, "resource_events": 0}, {"theme": "knowledge", "monetization": "none"},
     "membership_without_preconditions", True),
    # a guest who hosts is a known expert even when nobody is addressed much
    ({**NO_EXPERT, "guest_hosted_events": 2}, {"monetization": "membership"}, "membership_without_preconditions",
     False),
    (NO_EXPERT, {"theme": "knowledge", "monetization": "product"}, "membership_without_preconditions", False),
])
def test_monetization_rules_check_the_articles_preconditions(facts, attrs, rule_id, fires):
    fired = _run(_one(rule_id), facts, attrs, {})
    assert (len(fired) == 1) is fires
    if fires and rule_id == "membership_without_preconditions" and facts["resource_events"] == 0:
        assert {"metric": "resource_events"}.items() <= fired.iloc[0]["evidence"][-1].items()


def test_recruiting_zombies_from_bulk_inviters_and_where_channels_are_not_recorded():
    rule = _one("recruiting_zombies")
    assert len(_run(rule, {"bulk_invited_zombie_share": 0.7}, {}, {})) == 1
    skipped = not_applicable([rule], _facts({"members": 500, "zombie_share": 0.6}), pd.DataFrame([BASE_ATTRS]),
                             _profile())
    assert skipped["reason"].tolist() == ["no_data"]  # no join channel, no inviter: said, not guessed
    assert "cannot be computed" in reason_text("no_data", skipped.iloc[0]["details"], "en")


def test_rules_on_new_event_types_do_not_apply_without_them():
    profile = _profile(events={"reward": 0, "event": 0, "event_attend": 0, "checkin": 0})
    rules = [_one("rewards_without_lift"), _one("irregular_events")]
    skipped = not_applicable(rules, _facts({"members": 500}), pd.DataFrame([BASE_ATTRS]), profile)
    assert dict(zip(skipped["rule_id"], skipped["reason"], strict=True)) == {
        "rewards_without_lift": "event_types", "irregular_events": "event_types"}
    assert reason_text("event_types", skipped.iloc[0]["details"], "zh") == "数据中没有奖励事件"
