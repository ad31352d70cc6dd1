"""Community goals (issue 26.4, DOMAIN.md §4b): declared in the data model, each with its scorecard."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from commlab.analysis.metrics import list_metrics
from commlab.data.load import load_dataset
from commlab.errors import DataValidationError
from commlab.goals import (
    DEFAULT_METRICS,
    GOAL_METRICS,
    GOAL_RULES,
    goal_of,
    goals_markdown,
    scorecard_metrics,
    without_citations,
)
from language import foreign

REPO = Path(__file__).resolve().parents[1]


def test_every_goal_metric_is_registered_and_read_in_its_registered_direction() -> None:
    registry = {m.id: m for m in list_metrics()}
    for goal, metrics in [*GOAL_METRICS.items(), ("", DEFAULT_METRICS)]:
        assert len(metrics) >= 4 and len({m.metric for m in metrics}) == len(metrics), goal
        for m in metrics:
            assert m.metric in registry, (goal, m.metric)
            registered = registry[m.metric].direction
            assert registered is None or registered == m.higher_is_better, (goal, m.metric)
            assert "[" in m.why_zh and "[" in m.why_en  # the article behind the choice


def test_goals_differ_and_missing_goal_is_the_default() -> None:
    firsts = {goal: metrics[0].metric for goal, metrics in GOAL_METRICS.items()}
    assert len(set(firsts.values())) == len(firsts)  # each goal leads with its own measure
    assert scorecard_metrics(None) == scorecard_metrics("") == scorecard_metrics(pd.NA) == DEFAULT_METRICS
    with pytest.raises(KeyError, match="unknown goal"):
        scorecard_metrics("growth")


def test_goals_doc_matches_the_mapping() -> None:
    assert (REPO / "docs" / "GOALS.md").read_text(encoding="utf-8") == goals_markdown(), \
        "regenerate docs/GOALS.md (see its header)"


def _copy_samples(tmp_path: Path, samples_dir: Path) -> Path:
    for f in ("communities.csv", "members.csv", "events.parquet"):
        shutil.copy(samples_dir / f, tmp_path / f)
    return tmp_path


def test_goal_is_optional_validated_and_read(tmp_path: Path, samples_dir: Path) -> None:
    d = _copy_samples(tmp_path, samples_dir)
    communities = pd.read_csv(d / "communities.csv", dtype=str)
    communities["goal"] = ["service"] + [""] * (len(communities) - 1)
    communities.to_csv(d / "communities.csv", index=False)
    ds = load_dataset(d)
    goals = goal_of(ds.communities)
    assert goals["c01"] == "service" and goals.iloc[1:].isna().all()
    communities.loc[1, "goal"] = "growth"
    communities.to_csv(d / "communities.csv", index=False)
    with pytest.raises(DataValidationError) as err:
        load_dataset(d)
    msg = str(err.value)
    assert "communities.csv" in msg and "'goal'" in msg and "row 3" in msg and "retention, conversion" in msg
    # without the column at all every community has no goal
    assert goal_of(pd.DataFrame({"community_id": ["a"]})).isna().all()


# --------------------------------------------------------------------------- the rules and the summary follow the goal


def test_every_goal_rule_raises_or_tightens_a_shipped_rule() -> None:
    """A goal never loosens a rule: severities only go up, thresholds only toward firing sooner."""
    from commlab.rules import SEVERITY_ORDER, _conditions, default_rules

    rules = {r.id: r for r in default_rules()}
    for goal, entries in GOAL_RULES.items():
        assert goal in GOAL_METRICS and entries
        for g in entries:
            rule = rules[g.rule]
            assert g.severity is not None or g.thresholds, (goal, g.rule)
            if g.severity is not None:
                assert SEVERITY_ORDER[g.severity] < SEVERITY_ORDER[rule.severity], (goal, g.rule)
            for metric, value in g.thresholds:
                fixed = [c for c in _conditions(rule.when) if c.metric == metric and c.peers is None
                         and c.change is None]
                assert fixed, (goal, g.rule, metric)
                for c in fixed:
                    assert (value > c.value) if c.op in ("<", "<=") else (value < c.value), (goal, g.rule, metric)
            assert "[" in g.why_zh and "[" in g.why_en


def _evaluate(goal: str | None, facts: dict[str, float], lang: str = "en") -> pd.DataFrame:
    from commlab.rules import PROFILE_COLUMNS, default_rules, evaluate_rules

    attrs = pd.DataFrame([{"community_id": "c1", "theme": "consumption", "monetization": "ecommerce",
                           "platform": "wechat", "goal": goal}])
    profile = pd.DataFrame([{c: ("c1" if c == "community_id" else 1) for c in PROFILE_COLUMNS}])
    values = {"members": 500, **facts}
    f = pd.DataFrame({"community_id": "c1", "metric_id": list(values), "value": list(values.values())})
    return evaluate_rules(default_rules(), f, attrs, profile=profile, lang=lang).set_index("rule_id")


def test_a_conversion_goal_tightens_the_buyer_rules_and_raises_them() -> None:
    buyers = {"buyer_share": 0.3, "repeat_purchase_rate": 0.25, "referral_rate": 0.04}
    assert "incentives_repeat_purchase" not in _evaluate(None, buyers).index  # 25 % >= 20 %, 4 % >= 2 %
    assert "incentives_repeat_purchase" not in _evaluate("service", buyers).index  # another goal: as written
    fired = _evaluate("conversion", buyers)
    row = fired.loc["incentives_repeat_purchase"]
    assert row["severity"] == "high" and row["goal"] == "conversion"  # medium in the library
    assert {e["metric"]: e["threshold"] for e in row["evidence"]} == {"buyer_share": 0, "repeat_purchase_rate": 0.3,
                                                                      "referral_rate": 0.05}
    assert row["goal_note"] == "read for the community's goal (conversion): a conversion goal lives on repeat " \
                               "purchase and referral"
    zh = _evaluate("conversion", buyers, "zh").loc["incentives_repeat_purchase", "goal_note"]
    assert zh.startswith("按社群目标（转化与变现）调整") and not foreign(zh, "zh")


def test_a_retention_goal_raises_the_zombie_rule() -> None:
    assert _evaluate(None, {"zombie_share": 0.45}).loc["zombie_overload", "severity"] == "medium"
    assert _evaluate(None, {"zombie_share": 0.35}).index.tolist().count("zombie_overload") == 0
    row = _evaluate("retention", {"zombie_share": 0.35}).loc["zombie_overload"]
    assert row["severity"] == "high" and row["evidence"][0]["threshold"] == 0.3
    assert _evaluate(None, {"zombie_share": 0.45}).loc["zombie_overload", "goal_note"] == ""


@pytest.fixture(scope="module")
def with_goals(tmp_path_factory: pytest.TempPathFactory, samples_dir: Path):
    """Four sample communities, three with a goal and one (c09) without; c07 declared on WeChat and QQ."""
    from commlab.recommend import executive_summary

    d = _copy_samples(tmp_path_factory.mktemp("goals"), samples_dir)
    communities = pd.read_csv(d / "communities.csv", dtype=str)
    communities["goal"] = communities["community_id"].map({"c03": "brand", "c04": "knowledge", "c07": "conversion"})
    communities.loc[communities["community_id"] == "c07", "platform"] = "wechat;qq"
    communities.loc[communities["community_id"] == "c03", "name"] = "<b>云朵</b>"  # names are data: escaped
    communities.to_csv(d / "communities.csv", index=False)
    ds = load_dataset(d, tz="Asia/Shanghai", communities=["c03", "c04", "c07", "c09"])
    return {"data": ds, **{lang: executive_summary(ds, as_of="2024-07-01", rules=_rules(), lang=lang)
                           for lang in ("en", "zh")}}


def _rules():
    from commlab.rules import default_rules

    return default_rules()


def test_the_summary_carries_each_goal_its_scorecard_and_says_once_that_c09_has_none(with_goals) -> None:
    summary = with_goals["en"]
    payload = summary.payload()
    assert payload["goals"] == {"c03": "brand", "c04": "knowledge", "c07": "conversion", "c09": None}
    assert [m["metric"] for m in payload["scorecard_metrics"]["c04"]][0] == "completion_rate"
    assert payload["scorecard_metrics"]["c09"] == [
        {"metric": m.metric, "higher_is_better": m.higher_is_better, "why": without_citations(m.why_en)}
        for m in DEFAULT_METRICS]
    assert payload["goal_note"].startswith("No goal stated for: 周末露营搭子群.")
    assert {r["goal"] for r in payload["recommendations"] if r["community_id"] == "c09"} == {None}
    # c04 (knowledge) reads its events rule at medium; the uniform scorecard's facts are still all there
    recs = summary.recs.set_index(["community_id", "rule_id"])
    assert all(r["goal"] == "knowledge" for r in payload["recommendations"] if r["community_id"] == "c04")
    assert recs.loc[("c04", "near_next_orbit"), "goal_note"] == ""  # a rule the goal does not touch
    assert {"members", "active_share_30d", "buyer_share"} <= {f["metric_id"] for f in payload["facts"]}
    html = summary.goal_scorecard_html()
    assert html.count("<table") == 4  # brand, conversion, knowledge, and the no-goal group
    assert "Goal: knowledge" in html and "Completion rate ↑".lower() in html.lower()
    assert "&lt;b&gt;云朵&lt;/b&gt;" in html and "<b>云朵" not in html
    assert html.count(payload["goal_note"].replace("'", "&#39;")) == 1  # said once
    json.dumps(payload, default=str)


def test_a_community_declared_on_two_platforms_gets_its_sentence(with_goals) -> None:
    en, zh = (with_goals[lang].payload()["platform_notes"] for lang in ("en", "zh"))
    assert en == [{"community_id": "c07", "text": "宝妈好物团购群 spans WeChat and QQ, but the data do not record "
                                                  "which platform each event came from: activity per platform is "
                                                  "not known."}]
    assert zh[0]["text"].startswith("宝妈好物团购群 横跨微信和QQ") and not foreign(zh[0]["text"], "zh", allowed=["QQ"])
    assert with_goals["en"].platforms_markdown() == en[0]["text"]


def test_platform_notes_give_the_share_of_each_platform() -> None:
    from commlab.data import Dataset
    from commlab.recommend import build_facts, platform_notes

    t = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731
    comms = pd.DataFrame({"community_id": ["k"], "name": ["骑行群"], "theme": ["interest"],
                          "business_model": ["creator"], "lifecycle": ["startup"], "platform": ["wechat"],
                          "monetization": ["none"], "created_at": [t("2024-01-01")]})
    mem = pd.DataFrame({"community_id": ["k"] * 3, "member_id": ["o", "a", "b"],
                        "joined_at": [t("2024-01-01")] * 3,
                        "left_at": pd.Series([pd.NaT] * 3, dtype="datetime64[ns, UTC]"),
                        "role": ["owner", "member", "member"]})
    ev = pd.DataFrame({"community_id": ["k"] * 6, "member_id": ["a", "a", "a", "b", "b", "o"],
                       "ts": [t("2024-06-20")] * 6, "event_type": ["message"] * 6,
                       "platform": [None, None, "qq", "wechat", "qq", "qq"]})
    for frame, cols in ((comms, comms.columns.drop("created_at")), (mem, ["community_id", "member_id", "role"]),
                        (ev, ["community_id", "member_id", "event_type", "platform"])):
        for c in cols:
            frame[c] = frame[c].astype("string")
    ds = Dataset(comms, mem, ev)
    facts = build_facts(ds, as_of="2024-07-01")
    assert facts.set_index("metric_id").loc["main_platform_share", "value"] == pytest.approx(3 / 5)
    (note,) = platform_notes(ds, facts, as_of="2024-07-01", lang="en")
    assert note["text"] == ("骑行群 spans WeChat and QQ: 60% of member activity in the last 30 days is on WeChat "
                            "(the main platform); 40% on QQ.")
    (zh,) = platform_notes(ds, facts, as_of="2024-07-01", lang="zh")
    assert zh["text"] == "骑行群 横跨微信和QQ：近 30 天成员活跃的 60% 在微信（主战场），40% 在QQ。"


def test_the_changes_since_the_last_run_follow_the_goals_measures_too(with_goals) -> None:
    from commlab.recommend import SCORECARD_METRICS, executive_summary

    ds = with_goals["data"]
    before = executive_summary(ds, as_of="2024-06-01", rules=_rules(), lang="en").payload()
    now = executive_summary(ds, as_of="2024-07-01", rules=_rules(), previous=read_previous_dict(before), lang="en")
    moved = set(now.changes["metric_id"])
    assert "completion_rate" in moved and "completion_rate" not in SCORECARD_METRICS  # c04's knowledge goal
    assert {"active_share_30d", "members"} <= moved  # the uniform scorecard's measures as before


def read_previous_dict(payload: dict) -> dict:
    """A previous run's payload as :func:`commlab.recommend.read_previous` returns it (JSON round trip)."""
    return json.loads(json.dumps(payload, default=str))
