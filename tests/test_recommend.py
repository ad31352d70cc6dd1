"""Facts for the rules, the executive summary's parts, and the playbook's `rules` key (no kernel needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from commlab.data import load_dataset
from commlab.errors import ParameterError, PlaybookError
from commlab.playbook import load_playbook
from commlab.recommend import (
    SCHEMA,
    as_of_text,
    build_facts,
    community_profile,
    executive_summary,
    fact_changes,
    fact_info,
    read_previous,
    recommendation_changes,
    scorecard_html,
    summary_payload,
    suppress_small_communities,
    with_evidence_text,
)
from commlab.rules import PROFILE_COLUMNS, _conditions, default_rules, evaluate_rules
from conftest import REPO, require_shared_data
from language import foreign
from runs_helpers import make_project, write_playbook

AS_OF = "2024-07-01"


def _facts(rows: dict[str, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"community_id": c, "metric_id": m, "value": v}
                         for c, vals in rows.items() for m, v in vals.items()])


def test_every_metric_of_the_rule_library_is_a_known_fact() -> None:
    """The library names registry ids (or the documented extra facts): a renamed metric fails here."""
    used = {c.metric for r in default_rules() for c in _conditions(r.when) if c.metric}
    unknown = sorted(m for m in used if fact_info(m) is None)
    assert not unknown, f"rule metrics neither registered nor in EXTRA_FACTS: {unknown}"


@pytest.fixture(scope="module")
def sample_facts(samples_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    ds = load_dataset(samples_dir, tz="Asia/Shanghai")
    return build_facts(ds, as_of=AS_OF), ds.communities, community_profile(ds, as_of=AS_OF)


def _full_profile(ids: list[str]) -> pd.DataFrame:
    """Staff and every event type in every community: no rule is set aside."""
    return pd.DataFrame([{c: (cid if c == "community_id" else 1) for c in PROFILE_COLUMNS} for cid in ids])


def test_facts_on_the_samples_feed_every_rule(sample_facts: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    facts, communities, profile = sample_facts
    assert not facts.duplicated(["community_id", "metric_id"]).any()
    used = {c.metric for r in default_rules() for c in _conditions(r.when) if c.metric}
    have = set(facts.dropna(subset=["value"])["metric_id"])
    # completion is defined only where courses run; the practice metrics need event types and fields the samples
    # lack (commlab.analysis.practices.NEEDS), and the bulk inviters need members.invited_by
    from commlab.analysis.practices import NEEDS

    assert used - {"completion_rate", "bulk_invited_zombie_share", *NEEDS} <= have
    per = facts.pivot(index="community_id", columns="metric_id", values="value")
    assert set(per.index) == set(communities["community_id"])
    assert ((per["active_share_30d"] >= 0) & (per["active_share_30d"] <= 1)).all()
    assert (per["near_next_orbit_members"] >= 0).all() and per["near_next_orbit_members"].sum() > 0
    recs = evaluate_rules(default_rules(), facts, communities, profile=profile, lang="en")
    assert len(recs) and recs["evidence"].map(len).gt(0).all()
    # the planted dying group (c09: "周末露营搭子群", activity collapses) must be flagged for base activity
    assert {"low_base_activity", "early_death_risk"} <= set(recs.loc[recs["community_id"] == "c09", "rule_id"])


def test_small_communities_are_suppressed() -> None:
    facts = _facts({"a": {"members": 3, "zombie_share": 0.5}, "b": {"members": 40, "zombie_share": 0.2}})
    out, small = suppress_small_communities(facts, k=5)
    assert small == ["a"]
    v = out.set_index(["community_id", "metric_id"])["value"]
    assert v[("a", "members")] == 3 and pd.isna(v[("a", "zombie_share")]) and v[("b", "zombie_share")] == 0.2


def test_values_standing_for_few_members_are_hidden_and_their_evidence_too() -> None:
    facts = pd.DataFrame([
        # community b: 150 members, a join cohort of 3, 2 posters, a 2 % core share (3 people), 2 quiet top members
        ("b", "members", 150, float("nan")), ("b", "retention_30d", 0.2, 3), ("b", "response_rate", 0.5, 2),
        ("b", "core_share", 0.02, 150), ("b", "zombie_share", 0.4, 150),
        ("b", "recently_inactive_top_members", 2, None),
        ("b", "completion_rate", 0.1, 0), ("b", "buyer_share", 0.0, 150),
        # community c: large groups everywhere
        ("c", "members", 400, float("nan")), ("c", "retention_30d", 0.25, 40), ("c", "core_share", 0.1, 400),
        ("c", "recently_inactive_top_members", 7, None),
    ], columns=["community_id", "metric_id", "value", "n"])
    out, small = suppress_small_communities(facts, k=5)
    assert small == []
    v = out.set_index(["community_id", "metric_id"])
    hidden = set(v.index[v["suppressed"]])
    assert hidden == {("b", "retention_30d"), ("b", "response_rate"), ("b", "core_share"),
                      ("b", "recently_inactive_top_members")}
    assert v.loc[list(hidden), "value"].isna().all()
    assert v.loc[("b", "zombie_share"), "value"] == 0.4 and v.loc[("b", "buyer_share"), "value"] == 0  # 60 people; 0
    assert v.loc[("b", "completion_rate"), "value"] == 0.1  # n = 0 singles out nobody
    assert not v.loc["c", "suppressed"].any()
    with pytest.raises(ParameterError, match="at least 2"):  # k = 1 would hide nothing: refused
        suppress_small_communities(facts, k=1)
    # the rules read the facts before suppression; the evidence quoting a hidden value loses it
    recs = evaluate_rules(default_rules(), facts, pd.DataFrame({"community_id": ["b", "c"]}),
                          profile=_full_profile(["b", "c"]), lang="en")
    fired = recs.set_index(["community_id", "rule_id"])
    assert ("b", "onboarding_ritual") in fired.index  # retention 0.2 < 0.3, fired from the real value
    shown = with_evidence_text(recs, "en", small, facts=out, k=5).set_index(["community_id", "rule_id"])
    ev = shown.loc[("b", "onboarding_ritual")]
    assert ev["evidence_text"] == "30-day newcomer retention: not shown (fewer than 5 members)"
    assert ev["threshold_text"] == "30-day newcomer retention < 30% (value not shown)"
    assert all(e.get("suppressed") and "value" not in e for e in ev["evidence"] if e["metric"] == "retention_30d")
    quiet = [r for r in shown.index if r[0] == "b" and any(
        e.get("metric") == "recently_inactive_top_members" for e in shown.loc[r, "evidence"])]
    assert quiet and all(shown.loc[r, "evidence_text"] == "top members gone quiet: fewer than 5" for r in quiet)
    assert all("2" not in shown.loc[r, "threshold_text"] for r in quiet)  # 2 quiet members: not in the appendix
    page = scorecard_html(out, {"b": "B", "c": "C"}, lang="en", metrics=("members", "retention_30d"), k=5)
    assert "0.2" not in page and "20%" not in page and "25%" in page
    assert "1 value(s) standing for fewer than 5 members" in page


def test_changes_know_the_direction_of_each_metric() -> None:
    before = _facts({"a": {"active_share_30d": 0.5, "zombie_share": 0.2, "members": 10}})
    after = _facts({"a": {"active_share_30d": 0.4, "zombie_share": 0.1, "members": 10}})
    ch = fact_changes(after, before).set_index("metric_id")
    assert set(ch.index) == {"active_share_30d", "zombie_share"}  # members did not move
    assert ch.loc["active_share_30d", "change"] == pytest.approx(-0.1)
    assert not ch.loc["active_share_30d", "better"]  # less activity is worse
    assert ch.loc["zombie_share", "better"]  # fewer zombies is better


def test_scorecard_colours_by_direction() -> None:
    facts = _facts({c: {"members": 50, "active_share_30d": a, "zombie_share": z}
                    for c, a, z in (("a", 0.9, 0.1), ("b", 0.5, 0.5), ("c", 0.1, 0.9))})
    page = scorecard_html(facts, {"a": "A", "b": "B", "c": "C"}, lang="en",
                          metrics=("active_share_30d", "zombie_share"))
    rows = {r.split("</th>")[0].rsplit(">", 1)[-1]: r.split("</tr>")[0] for r in page.split("<tr>")[2:]}
    assert rows["A"].count("cl-good") == 2 and rows["C"].count("cl-bad") == 2  # high activity, few zombies
    assert "cl-good" not in rows["B"] and "cl-bad" not in rows["B"]  # the median itself
    assert "against the median of the communities" in page
    alone = scorecard_html(facts[facts["community_id"] == "a"], {"a": "A"}, lang="zh",
                           metrics=("active_share_30d", "zombie_share"))
    assert "cl-good" not in alone.split("</table>")[0] and "本次只分析了一个社群" in alone
    assert "中位数" not in alone  # no comparison with a median of one


def test_previous_summary_and_recommendation_status(tmp_path: Path) -> None:
    run_summary = {"overview": {"x": 1}, "recommendations": {"schema": SCHEMA, "facts": [], "recommendations": [
        {"community_id": "a", "rule_id": "zombie_overload", "severity": "medium", "title": "旧"},
        {"community_id": "a", "rule_id": "weak_ties", "severity": "low", "title": "旧"}]}}
    (tmp_path / "summary.json").write_text(json.dumps(run_summary), encoding="utf-8")
    prev = read_previous(tmp_path / "summary.json")
    assert prev is not None and prev["schema"] == SCHEMA
    assert read_previous("") is None and read_previous(tmp_path / "missing.json") is None
    now = pd.DataFrame([{"community_id": "a", "rule_id": "weak_ties", "severity": "low", "title": "Weak ties"},
                        {"community_id": "a", "rule_id": "near_next_orbit", "severity": "low", "title": "Near"}])
    prev_recs = pd.DataFrame(prev["recommendations"])
    st = recommendation_changes(now, prev_recs, rules=default_rules(), lang="en").set_index("rule_id")
    assert st["status"].to_dict() == {"near_next_orbit": "new", "weak_ties": "ongoing", "zombie_overload": "resolved"}
    assert st.loc["zombie_overload", "title"] == "Too many zombie members"  # retitled in the run's language


def test_playbook_rules_key(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    bad = write_playbook(root, "bad.yaml", rules={"disable": ["zombie_overlaod"]})
    with pytest.raises(PlaybookError,
                       match=r"bad\.yaml: rules\.disable: unknown rule id.*did you mean 'zombie_overload'"):
        load_playbook(bad)
    extra = {"id": "tiny_group", "title": {"zh": "小", "en": "small"}, "severity": "low", "practice": "DOMAIN.md §4",
             "action": {"zh": "a", "en": "b"}, "rationale": {"zh": "a", "en": "b"},
             "when": {"metric": "members", "op": "<", "value": 20}}
    ok = load_playbook(write_playbook(root, "ok.yaml", rules={"disable": ["zombie_overload", "tiny_group"],
                                                              "extra": [extra, {**extra, "id": "kept"}]}))
    ids = [r.id for r in ok.rules.resolved()]
    assert "kept" in ids and "zombie_overload" not in ids and "tiny_group" not in ids
    with pytest.raises(PlaybookError, match=r"rules\.extra"):
        load_playbook(write_playbook(root, "x.yaml", rules={"extra": [{**extra, "when": {"metric": "m", "op": "=~"}}]}))
    (root / "playbooks" / "mine.yaml").write_text(json.dumps({"rules": [extra]}), encoding="utf-8")
    own = load_playbook(write_playbook(root, "own.yaml", rules={"library": "mine.yaml"}))
    assert [r.id for r in own.rules.resolved()] == ["tiny_group"]
    with pytest.raises(PlaybookError, match=r"report\.summary_step names unknown step 'nope'"):
        load_playbook(write_playbook(root, "s.yaml", report={"summary_step": "nope"}))
    order = load_playbook(write_playbook(root, "o.yaml", report={"summary_step": "followup"})).report_order()
    assert order == ["followup", "overview"]


def test_facts_take_one_instant_per_community(samples_dir: Path) -> None:
    """A mapping ``community -> instant`` gives each community the facts it has at its own instant."""
    ds = load_dataset(samples_dir, tz="Asia/Shanghai", communities=["c08", "c09"])
    ends = {"c08": "2024-05-01", "c09": "2024-07-01"}
    mixed = build_facts(ds, as_of=ends).set_index(["community_id", "metric_id"])["value"]
    for cid, when in ends.items():
        alone = build_facts(load_dataset(samples_dir, tz="Asia/Shanghai", communities=[cid]), as_of=when)
        expected = alone.set_index(["community_id", "metric_id"])["value"]
        pd.testing.assert_series_equal(mixed.loc[[cid]].sort_index(), expected.sort_index(), check_names=False)
    # the instants really differ: c08 two months earlier is not c08 at the end of the samples
    late = build_facts(load_dataset(samples_dir, tz="Asia/Shanghai", communities=["c08"]), as_of="2024-07-01")
    assert not late.set_index(["community_id", "metric_id"])["value"].equals(mixed.loc[["c08"]])
    assert as_of_text(ends, ds.communities) == "each community at its own instant (2024-05-01 to 2024-07-01 UTC)"
    assert as_of_text(ends, ds.communities, "zh") == "各社群各自的分析时点（2024-05-01 至 2024-07-01，UTC）"
    assert as_of_text("2024-07-01", ds.communities) == "2024-07-01 00:00 UTC"


@pytest.mark.shared_data
def test_stack_exchange_sites_each_at_their_day_180() -> None:
    """The stackexchange-types playbook's ``as_of: created+180d`` gives every site its facts and recommendations."""
    from commlab.sources import load_source

    root = require_shared_data("se_communities_180d")
    ds = load_source(root, "se_180d", tz="UTC")
    facts = build_facts(ds, as_of="created+180d")
    per = facts.pivot(index="community_id", columns="metric_id", values="value")
    assert set(per.index) == set(ds.communities["community_id"]) and len(per) == 12
    assert per["members"].gt(0).all() and per["active_share_30d"].between(0, 1).all()
    recs = evaluate_rules(default_rules(), facts, ds.communities, profile=community_profile(ds, as_of="created+180d"),
                          lang="en")
    assert len(recs) and recs["community_id"].nunique() == 12
    text = as_of_text("created+180d", ds.communities)
    assert text.startswith("180 days after each community's creation (") and text.endswith(" UTC)")
    assert as_of_text("created+180d", ds.communities, "zh").startswith("各社群建群后 180 天（")
    payload = summary_payload(as_of="created+180d", lang="en", period_days=30, k=5, facts=facts, recs=recs,
                              suppressed=[], previous=None, changes=None, rec_status=None, rules=default_rules())
    assert payload["as_of"] == "created+180d"
    json.dumps(payload, default=str)


# --------------------------------------------------------------------------- where the rules apply, on real data


def test_the_samples_get_the_recommendations_they_got_before_rules_declared_where_they_apply(
        sample_facts: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    facts, communities, profile = sample_facts
    pinned = json.loads((REPO / "tests" / "fixtures" / "recommendations" / "samples_pairs_before_requires.json")
                        .read_text(encoding="utf-8"))
    recs = evaluate_rules(default_rules(), facts, communities, profile=profile, lang="en")
    assert sorted(map(list, zip(recs["community_id"], recs["rule_id"], strict=True))) == pinned["pairs"]
    # the profile is what the data hold: staff everywhere, course completions only in the two knowledge camps
    p = profile.set_index("community_id")
    assert p["staff_members"].ge(2).all()
    assert set(p.index[p["events_course_complete"] > 0]) == {"c04", "c08"}
    assert set(p.index[p["events_purchase"] == 0]) == {"c01", "c05", "c09"}


def test_community_profile_reads_stored_events_like_events_in_memory(samples_dir: Path, tmp_path: Path) -> None:
    """The DuckDB count over a cached Parquet file equals the pandas count, each community up to its instant."""
    ends = {"c08": "2024-05-01", "c09": "2024-07-01"}
    in_memory = load_dataset(samples_dir, tz="Asia/Shanghai", communities=["c08", "c09"])
    load_dataset(samples_dir, tz="Asia/Shanghai", cache=tmp_path)  # the first load fills the cache
    stored = load_dataset(samples_dir, tz="Asia/Shanghai", cache=tmp_path, communities=["c08", "c09"])
    assert not stored.events_loaded
    got = community_profile(stored, as_of=ends)
    pd.testing.assert_frame_equal(got, community_profile(in_memory, as_of=ends))
    assert not stored.events_loaded and got["events_message"].gt(0).all()
    early = community_profile(in_memory, as_of=ends).set_index("community_id")
    late = community_profile(in_memory, as_of="2024-07-01").set_index("community_id")
    assert early.loc["c08", "events_message"] < late.loc["c08", "events_message"]


@pytest.fixture(scope="module")
def imported() -> dict[str, tuple[Any, Any]]:
    """Cardano (Stack Exchange) and SNAP CollegeMsg, imported as the README does, analysed at their last event."""
    from commlab.importers import convert

    cardano, _ = convert("stackexchange_xml", require_shared_data("se_cardano_xml"))
    college, _ = convert("snap", require_shared_data("snap_collegemsg", "CollegeMsg.txt.gz"), theme="interest")
    return {"cardano": (cardano, "2021-12-04T20:07:12Z"), "collegemsg": (college, "2004-10-26T07:52:22Z")}


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["cardano", "collegemsg"])
def test_no_course_or_staff_rule_fires_on_a_qa_site_or_a_message_network(name: str, imported: dict) -> None:
    """Before rules declared where they apply, 完课率低 fired on Cardano and 有频道三天以上无官方回复 on both."""
    data, as_of = imported[name]
    summary = executive_summary(data, as_of=as_of, rules=default_rules(), lang="zh")
    fired = set(summary.recs["rule_id"])
    assert not fired & {"low_completion", "channel_without_staff_reply", "slow_first_response", "events_without_lift",
                        "incentives_repeat_purchase", "membership_without_preconditions", "monetization_fit_knowledge"}
    assert {"low_base_activity", "zombie_overload"} <= fired  # what does apply still fires
    skipped = {e["rule_id"]: e["reason"] for e in summary.not_applicable}
    assert skipped["channel_without_staff_reply"] == "成员名单中没有群主或管理员"
    assert skipped["low_completion"] == {"cardano": "数据中没有完课事件",
                                         "collegemsg": "只适用于知识型/学习型社群"}[name]
    if name == "collegemsg":
        assert skipped["slow_first_response"] == "数据中没有发帖事件"  # private messages: no questions
    # no purchase, course or event in the data: nothing says whether a fee is charged or could be (the
    # membership rule fired on Cardano, from the importer's default theme and monetization)
    assert skipped["membership_without_preconditions"] == "数据中没有购买事件"
    assert skipped["monetization_fit_knowledge"] == "数据中没有完课、购买、举办活动或参加活动事件"
    assert all(list(e) == ["rule_id", "title", "reason", "community_ids"] for e in summary.not_applicable)
    assert len({(e["rule_id"], e["reason"]) for e in summary.not_applicable}) == len(summary.not_applicable)
    facts = summary.facts.set_index("metric_id")["value"]
    assert pd.isna(facts["max_days_without_staff_reply"])  # nobody on staff: no wait to report
    payload = summary.payload()
    assert payload["not_applicable"] == summary.not_applicable
    names = list(summary.names) + list(summary.names.values())
    for r in payload["recommendations"]:
        for field in ("title", "action", "evidence_text", "threshold_text"):
            assert not foreign(r[field], "zh", names=names), (field, r[field])


def test_every_part_of_the_summary_is_in_one_language_with_a_previous_run(samples_dir: Path, tmp_path: Path) -> None:
    """Two runs, the second compared with the first: header, scorecard, every recommendation, the rules that did
    not apply and the changes, measured on their visible text in zh and in en."""
    from language import visible_text

    ds = load_dataset(samples_dir, tz="Asia/Shanghai", communities=["c04", "c06", "c09", "c11"])
    first = executive_summary(ds, as_of="2024-06-01", rules=default_rules(), lang="en")
    (tmp_path / "summary.json").write_text(json.dumps(first.payload(), default=str), encoding="utf-8")
    previous = read_previous(tmp_path / "summary.json")
    names = list(first.names) + list(first.names.values())
    for lang in ("zh", "en"):
        now = executive_summary(ds, as_of="2024-07-01", rules=default_rules(), previous=previous, lang=lang)
        assert now.status is not None and set(now.status["status"]) >= {"new", "ongoing"}
        assert now.changes is not None and len(now.changes) > 20  # more moves than the table shows: the rest folds
        parts = [now.header_markdown(), now.scorecard_html(), now.recommendations_html(), now.not_applicable_html(),
                 now.changes_html()]
        text = " ".join(visible_text(p) for p in parts)
        assert foreign(text, lang, names=names) == [], lang
        for r in now.recs.itertuples():  # all of them, nothing left to a file
            assert r.evidence_text in text and r.threshold_text in text and r.title in text
        assert "summary.json" not in text and "object at 0x" not in text, lang
        assert not re.search(r"\b(nan|NaN|None|inf)\b", text), lang
        assert not re.search(r"[a-z]+_[a-z_]+|\d[eE][+-]?\d", text), lang
        assert "activity_dropped_since_last_run" not in {e["rule_id"] for e in now.not_applicable}  # it can compare
        assert "<details><summary>" in parts[4]


def test_community_profile_counts_stored_events_up_to_the_last_instant_without_times(samples_dir: Path,
                                                                                     tmp_path: Path) -> None:
    """Every instant at or after the last event: the stored events are counted without reading their times; an
    instant 1 µs before the last event (of the community that has it) leaves it out, as the pandas count does."""
    ids = ["c08", "c09"]
    in_memory = load_dataset(samples_dir, tz="Asia/Shanghai", communities=ids)
    load_dataset(samples_dir, tz="Asia/Shanghai", cache=tmp_path)  # the first load fills the cache
    stored = load_dataset(samples_dir, tz="Asia/Shanghai", cache=tmp_path, communities=ids)
    ev = in_memory.events
    last = ev["ts"].max()
    owner = str(ev.loc[ev["ts"] == last, "community_id"].iloc[0])
    other = next(c for c in ids if c != owner)
    us = pd.Timedelta(microseconds=1)
    cases = [{c: last for c in ids}, {c: last + pd.Timedelta(days=3) for c in ids}, {owner: last - us, other: last},
             {owner: last, other: last - pd.Timedelta(days=30)}]
    for ends in cases:
        got = community_profile(stored, as_of=ends)
        pd.testing.assert_frame_equal(got, community_profile(in_memory, as_of=ends))
    assert not stored.events_loaded
    at, before = (community_profile(in_memory, as_of=e).set_index("community_id") for e in cases[:3:2])
    assert at.loc[owner].sum() == before.loc[owner].sum() + int((ev["ts"] == last).sum())
