"""Every registered metric against a tiny case whose expected value was worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from commlab.analysis.compute import compute_metrics
from commlab.analysis.metrics import (
    REGISTRY,
    Metric,
    get_metric,
    list_metrics,
    make_periods,
    metric_table,
    register,
    resolve_as_of,
    wide,
)

U = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731


def tables(members: list[tuple], events: list[tuple], created: str = "2024-01-01") -> dict[str, pd.DataFrame]:
    """members: (id, role, joined[, left]); events: (member, ts, type[, target, thread, amount, topic])."""
    comm = pd.DataFrame({
        "community_id": ["c1"], "name": ["t"], "theme": ["interest"], "business_model": ["creator"],
        "lifecycle": ["startup"], "platform": ["wechat"], "monetization": ["none"], "created_at": [U(created)],
        "economy": pd.array([None], dtype="string"), "source": pd.array([None], dtype="string"),
    })
    mem = pd.DataFrame({
        "community_id": "c1",
        "member_id": [m[0] for m in members],
        "joined_at": [U(m[2]) for m in members],
        "left_at": pd.to_datetime([m[3] if len(m) > 3 else None for m in members], utc=True),
        "role": [m[1] for m in members],
    })
    cols = ["member_id", "ts", "event_type", "target_member_id", "thread_id", "amount", "topic"]
    rows = [tuple(e) + (None,) * (7 - len(e)) for e in events]
    ev = pd.DataFrame(rows, columns=cols)
    ev.insert(0, "community_id", "c1")
    ev["ts"] = pd.to_datetime(ev["ts"], utc=True, format="ISO8601")
    ev["amount"] = ev["amount"].astype("float64")
    for c in ("community_id", "member_id", "event_type", "target_member_id", "thread_id", "topic"):
        ev[c] = ev[c].astype("string")
    for c in ("community_id", "member_id", "role"):
        mem[c] = mem[c].astype("string")
    return {"communities": comm, "members": mem, "events": ev}


def values(data, as_of: str, metrics: list[str], window=None) -> dict[str, float]:
    out = compute_metrics(data, as_of=as_of, window=window, metrics=metrics)
    return dict(zip(out["metric_id"], out["value"], strict=True))


def test_activity_metrics():
    data = tables(
        [("o", "owner", "2024-01-01"), ("a", "member", "2024-01-01"), ("b", "member", "2024-01-01"),
         ("c", "member", "2024-01-01"), ("d", "member", "2024-01-01", "2024-02-01")],
        [("a", "2024-02-28 10:00", "message"), ("b", "2024-02-10 10:00", "message"),
         ("o", "2024-02-28 11:00", "message"), ("d", "2024-01-20 10:00", "message"),
         ("c", "2024-01-01 00:00", "join")],
    )
    v = values(data, "2024-03-01", ["members", "active_share_7d", "active_share_30d", "zombie_share",
                                    "lurker_share", "stickiness", "content_days_share"])
    assert v["members"] == 3  # a, b, c (o is staff, d left)
    assert v["active_share_7d"] == pytest.approx(1 / 3)  # a
    assert v["active_share_30d"] == pytest.approx(2 / 3)  # a, b
    assert v["zombie_share"] == pytest.approx(1 / 3)  # c: a join is not activity
    assert v["lurker_share"] == pytest.approx(1 / 3)  # c never spoke
    assert v["stickiness"] == pytest.approx((2 / 30) / 2)  # 2 member-days / 30 days / 2 monthly actives
    assert v["content_days_share"] == pytest.approx(2 / 30)


def test_participation_metrics():
    data = tables(
        [("o", "owner", "2024-01-01"), ("bot", "bot", "2024-01-01"), ("a", "member", "2024-01-01"),
         ("b", "member", "2024-01-01"), ("c", "member", "2024-01-01"), ("d", "member", "2024-01-01")],
        [("a", "2024-02-28 10:00", "message"), ("a", "2024-02-20 10:00", "message"),
         ("a", "2024-02-12 10:00", "reply", "b"), ("b", "2024-02-27 10:00", "message"),
         ("b", "2024-02-26 10:00", "post", None, "t9"), ("o", "2024-02-01", "message"),
         ("o", "2024-02-02", "message"), ("bot", "2024-02-03", "message"), ("c", "2024-02-03", "reaction", "a")],
    )
    v = values(data, "2024-03-01", ["gini_content", "content_share_top1", "content_share_next9",
                                    "content_share_rest", "core_share", "ugc_share", "contributor_absence_factor"])
    # member content: a 3, b 2, c 0, d 0 -> sorted [0,0,2,3]: 2*(3*2+4*3)/(4*5) - 5/4 = 0.55
    assert v["gini_content"] == pytest.approx(0.55)
    assert v["content_share_top1"] == pytest.approx(3 / 5)  # ceil(0.04) = 1 member: a
    assert v["content_share_next9"] == pytest.approx(0.0)  # ceil(0.4) = 1: nobody left in the tier
    assert v["content_share_rest"] == pytest.approx(2 / 5)
    assert v["core_share"] == pytest.approx(1 / 4)  # a posted in weeks 0, 1 and 2 before as_of
    assert v["ugc_share"] == pytest.approx(5 / 8)  # 5 member items of 8 (2 owner, 1 bot)
    assert v["contributor_absence_factor"] == 2  # a 3 + o 2 >= 7/2 (bots excluded)


def test_response_metrics_split_by_staff_and_members():
    data = tables(
        [("o", "staff", "2024-01-01"), ("a", "member", "2024-01-01"), ("b", "member", "2024-01-01"),
         ("c", "member", "2024-01-01")],
        [("a", "2024-01-01 10:00", "post", None, "t1"), ("b", "2024-01-01 12:00", "reply", "a", "t1"),
         ("o", "2024-01-01 13:00", "reply", "a", "t1"), ("c", "2024-01-02 09:00", "post", None, "t2"),
         ("o", "2024-01-02 10:00", "reply", "c", "t2"), ("a", "2024-01-02 11:00", "reply", "c", "t2"),
         ("b", "2024-01-03 09:00", "post", None, "t3"), ("b", "2024-01-03 10:00", "reply", None, "t3")],
    )
    ids = ["response_rate", "response_rate_staff", "response_rate_members", "median_first_response_hours",
           "median_first_response_hours_staff", "median_first_response_hours_members", "problem_solving"]
    v = values(data, "2024-01-10", ids)
    assert v["response_rate"] == pytest.approx(2 / 3)  # t3 only has the poster's own reply
    assert v["response_rate_staff"] == pytest.approx(1 / 3)
    assert v["response_rate_members"] == pytest.approx(1 / 3)
    assert v["median_first_response_hours"] == pytest.approx(1.5)  # median(2 h, 1 h)
    assert v["median_first_response_hours_staff"] == pytest.approx(1.0)
    assert v["median_first_response_hours_members"] == pytest.approx(2.0)
    assert v["problem_solving"] == pytest.approx((2 / 3 + 24 / 25.5) / 2)  # speed = 1/(1 + 1.5/24)


def test_retention_metrics():
    data = tables(
        [("t", "member", "2024-01-05"), ("r", "member", "2024-02-01"), ("s", "member", "2024-02-10"),
         ("p", "member", "2024-03-10"), ("q", "member", "2024-03-15"), ("o", "owner", "2024-03-10")],
        [("t", "2024-03-20", "message"), ("r", "2024-03-20", "message"), ("s", "2024-02-15", "message"),
         ("p", "2024-03-20", "message"), ("o", "2024-03-11", "message")],
    )
    v = values(data, "2024-04-30", ["retention_30d", "retention_60d", "retention_90d"])
    assert v["retention_30d"] == pytest.approx(1 / 2)  # cohort (Mar 1, Mar 31]: p kept, q not
    assert v["retention_60d"] == pytest.approx(1 / 2)  # cohort (Jan 31, Mar 1]: r kept (Mar 20), s not
    assert v["retention_90d"] == pytest.approx(1.0)  # cohort (Jan 1, Jan 31]: t active in (Mar 5, Apr 4]


def test_early_survival_and_floor():
    act = [("a", "2024-01-01 05:00"), ("b", "2024-01-01 06:00"), ("a", "2024-01-02 05:00"), ("c", "2024-01-03 05:00"),
           ("a", "2024-01-04 05:00"), ("b", "2024-01-04 06:00"), ("c", "2024-01-05 05:00"),
           ("a", "2024-01-10 05:00"), ("b", "2024-01-10 06:00"), ("c", "2024-01-20 05:00"),
           ("o", "2024-01-25 05:00")]
    data = tables([("o", "owner", "2024-01-01"), ("a", "member", "2024-01-01"), ("b", "member", "2024-01-01"),
                   ("c", "member", "2024-01-01")], [(m, ts, "message") for m, ts in act])
    v = values(data, "2024-03-01", ["early_survival_ratio", "days_to_activity_floor"])
    # days 1-3: 2+1+1 = 4 -> 4/3 a day; days 4-30: 2+1+2+1 = 6 -> 6/27 a day
    assert v["early_survival_ratio"] == pytest.approx((6 / 27) / (4 / 3))
    # floor = 1/3; mean over days max(4,d-6)..d: d=11 -> 3/7, d=12 -> 2/7 < 1/3
    assert v["days_to_activity_floor"] == 12
    young = values(data, "2024-01-20", ["early_survival_ratio"])
    assert math.isnan(young["early_survival_ratio"])  # 30 days have not passed


def test_activity_floor_months_after_creation():
    """The daily series crosses the 63-day blocks the members' active days are grouped in."""
    act = [(m, f"2024-01-0{d} 05:00") for d in (1, 2, 3) for m in ("a", "b", "c")]  # days 1-3: 3 a day
    act += [("a", str(U("2024-01-04 05:00") + pd.Timedelta(days=k))) for k in range(96)]  # days 4-99
    act += [("b", str(U("2024-03-01 05:00") + pd.Timedelta(days=k))) for k in range(8)]  # days 61-68
    data = tables([("a", "member", "2024-01-01"), ("b", "member", "2024-01-01"), ("c", "member", "2024-01-01")],
                  [(m, ts, "message") for m, ts in act])
    # floor = 0.75 a day; days 94..100 hold 6 active days (6/7 >= 0.75), days 95..101 hold 5 (5/7 < 0.75)
    assert values(data, "2024-07-01", ["days_to_activity_floor"])["days_to_activity_floor"] == 101
    late = tables([("a", "member", "2024-01-01")], [("a", "2024-01-05 05:00", "message")])
    assert math.isnan(values(late, "2024-07-01", ["days_to_activity_floor"])["days_to_activity_floor"])


def test_trailing_metrics_without_content():
    """Members who only reacted in the last 30 days: active, but no day with content (no value)."""
    data = tables([("a", "member", "2024-01-01"), ("b", "member", "2024-01-01")],
                  [("a", "2024-01-10", "message"), ("a", "2024-02-20 10:00", "reaction", "b"),
                   ("b", "2024-02-21 10:00", "reaction", "a"), ("b", "2024-02-22 10:00", "checkin")])
    v = values(data, "2024-03-01", ["active_share_30d", "stickiness", "content_days_share", "core_share"])
    assert v["active_share_30d"] == 1.0
    assert v["stickiness"] == pytest.approx((3 / 30) / 2)
    assert math.isnan(v["content_days_share"])
    assert v["core_share"] == 0.0


def test_monetization_metrics_and_months():
    data = tables(
        [("o", "owner", "2024-01-01"), ("a", "member", "2024-01-01"), ("b", "member", "2024-01-01"),
         ("c", "member", "2024-01-01"), ("d", "member", "2024-01-01")],
        [("a", "2024-01-10", "purchase", None, None, 30.0), ("a", "2024-02-10", "purchase", None, None, 20.0),
         ("b", "2024-02-20", "purchase", None, None, 50.0), ("o", "2024-02-01", "purchase", None, None, 1000.0),
         ("c", "2024-02-05", "referral", "x"), ("a", "2024-02-11", "course_complete")],
    )
    ids = ["buyer_share", "revenue_per_member", "repeat_purchase_rate", "referral_rate", "completion_rate"]
    v = values(data, "2024-03-01", ids)
    assert v["buyer_share"] == pytest.approx(2 / 4)
    assert v["revenue_per_member"] == pytest.approx(100 / 4)  # the owner's purchase is not revenue from members
    assert v["repeat_purchase_rate"] == pytest.approx(1 / 2)  # a bought twice, b once
    assert v["referral_rate"] == pytest.approx(1 / 4)
    assert v["completion_rate"] == pytest.approx(1 / 3)  # a completed; a, b, c were active
    m = compute_metrics(data, as_of="2024-03-01", window="month", metrics=["buyer_share", "repeat_purchase_rate"])
    got = {(p, mid): val for p, mid, val in zip(m["period"], m["metric_id"], m["value"], strict=True)}
    assert got[("2024-01", "buyer_share")] == pytest.approx(1 / 4)
    assert got[("2024-01", "repeat_purchase_rate")] == 0  # a had one purchase by the end of January
    assert got[("2024-02", "repeat_purchase_rate")] == pytest.approx(1 / 2)


def test_event_lift():
    ev = [("a", "2024-01-15 20:00", "event_attend"), ("b", "2024-01-15 20:00", "event_attend"),
          ("c", "2024-01-15 20:00", "event_attend"), ("a", "2024-01-10", "message"), ("a", "2024-01-12", "message"),
          ("a", "2024-01-15 10:00", "message"), ("a", "2024-01-17", "message"), ("b", "2024-01-18", "message"),
          ("c", "2024-01-19", "reply"), ("a", "2024-01-20", "post"),
          # two attendees only: not an event day, so the content around it does not count
          ("a", "2024-02-10 20:00", "event_attend"), ("b", "2024-02-10 20:00", "event_attend"),
          ("a", "2024-02-05", "message")]
    data = tables([("a", "member", "2024-01-01"), ("b", "member", "2024-01-01"), ("c", "member", "2024-01-01")], ev)
    v = values(data, "2024-03-01", ["event_lift"])
    assert v["event_lift"] == pytest.approx(4 / 2)


def test_event_purchase_lift():
    ev = [(m, "2024-01-15 20:00", "event_attend") for m in "abc"] + [
        ("a", "2024-01-10", "purchase", None, None, 5.0), ("b", "2024-01-16 10:00", "purchase", None, None, 5.0),
        ("c", "2024-01-22", "purchase", None, None, 5.0), ("a", "2024-01-23 01:00", "purchase", None, None, 5.0),
        ("a", "2024-01-15 09:00", "purchase", None, None, 5.0)]
    data = tables([(m, "member", "2024-01-01") for m in "abc"], ev)
    v = values(data, "2024-03-01", ["event_purchase_lift"])
    assert v["event_purchase_lift"] == pytest.approx(2 / 1)  # after: Jan 16, Jan 22 (Jan 23 01:00 is day +8)


STAR = [("a", "2024-01-02", "reply", "o"), ("a", "2024-01-03", "reply", "o"), ("b", "2024-01-04", "mention", "o"),
        ("c", "2024-01-05", "reply", "o"), ("o", "2024-01-06", "reply", "a"), ("b", "2024-01-07", "reaction", "c")]
MESH = [("a", "2024-01-02", "reply", "b"), ("b", "2024-01-03", "reply", "a"), ("b", "2024-01-04", "reply", "c"),
        ("c", "2024-01-05", "mention", "a")]
NET = ["density", "reciprocity", "avg_clustering", "degree_centralization", "kcore_max", "kcore_size",
       "staff_interaction_share", "hub_interaction_share", "fan_hub_share", "member_to_member_share",
       "fan_hub_centralization", "economy_index",
       "repeated_ties_share", "trust_ties", "peer_tie_strength"]


def test_network_star():
    data = tables([("o", "owner", "2024-01-01"), ("a", "member", "2024-01-01"), ("b", "member", "2024-01-01"),
                   ("c", "member", "2024-01-01")], STAR)
    v = values(data, "2024-01-31", NET)
    assert v["density"] == pytest.approx(4 / 12)  # 4 directed pairs among 4 nodes (reactions are not edges)
    assert v["reciprocity"] == pytest.approx(2 / 4)  # a->o and o->a
    assert v["avg_clustering"] == 0
    assert v["degree_centralization"] == pytest.approx(1.0)  # a star
    assert (v["kcore_max"], v["kcore_size"]) == (1, 4)
    assert v["staff_interaction_share"] == 1
    assert v["hub_interaction_share"] == 1
    assert v["fan_hub_share"] == 1  # the owner is a fan hub
    assert v["member_to_member_share"] == 0
    assert v["fan_hub_centralization"] == pytest.approx(1.0)  # the star's centre is the owner
    assert v["economy_index"] == 0  # mean(0, 1 - 1)
    assert v["repeated_ties_share"] == pytest.approx(1 / 3)  # o-a interacted 3 times, o-b and o-c once
    assert v["trust_ties"] == pytest.approx((0.5 + 1 / 3 + 0) / 3)
    assert math.isnan(v["peer_tie_strength"])  # every tie touches the owner


def test_network_mesh():
    data = tables([("a", "member", "2024-01-01"), ("b", "member", "2024-01-01"), ("c", "member", "2024-01-01")], MESH)
    v = values(data, "2024-01-31", NET)
    assert v["density"] == pytest.approx(4 / 6)
    assert v["reciprocity"] == pytest.approx(2 / 4)
    assert v["avg_clustering"] == pytest.approx(1.0)  # a triangle
    assert v["degree_centralization"] == 0
    assert (v["kcore_max"], v["kcore_size"]) == (2, 3)
    assert v["staff_interaction_share"] == 0
    # one hub (ceil(0.03) = 1): a and b have 3 interactions each, a wins the tie by id; 3 of 4 touch a
    assert v["hub_interaction_share"] == pytest.approx(3 / 4)
    # no fan hub: nobody is staff, and a (3 of 4) ties with b (3 of 4): no single dominant figure
    assert v["fan_hub_share"] == 0
    assert v["member_to_member_share"] == pytest.approx(1.0)
    assert v["fan_hub_centralization"] == 0
    assert v["economy_index"] == pytest.approx((1.0 + 1.0) / 2)
    assert v["repeated_ties_share"] == pytest.approx(1 / 3)  # a-b twice; b-c and a-c once
    assert v["peer_tie_strength"] == pytest.approx(4 / 3)  # 4 interactions over 3 member pairs


def test_kcore_stability():
    before = [("a", "2024-01-05", "reply", "b"), ("b", "2024-01-06", "reply", "c"), ("c", "2024-01-07", "reply", "a")]
    now = [("a", "2024-02-05", "reply", "b"), ("b", "2024-02-06", "reply", "d"), ("d", "2024-02-07", "reply", "a"),
           ("c", "2024-02-08", "reply", "a")]
    data = tables([(m, "member", "2024-01-01") for m in "abcd"], before + now)
    v = values(data, "2024-03-01", ["kcore_stability"])
    assert v["kcore_stability"] == pytest.approx(2 / 4)  # {a,b,c} then {a,b,d}


def test_vertical_focus():
    data = tables([("a", "member", "2024-01-01")],
                  [("a", "2024-01-02", "post", None, "t1", None, "x; y"), ("a", "2024-01-03", "message", None, None,
                                                                             None, "x"),
                   ("a", "2024-01-04", "reply", None, "t1", None, "x"), ("a", "2024-01-05", "reaction", None, None,
                                                                          None, "z")])
    v = values(data, "2024-01-31", ["vertical_focus"])
    assert v["vertical_focus"] == pytest.approx((3 / 4) ** 2 + (1 / 4) ** 2)  # x 3, y 1; reactions carry no content


def test_every_metric_has_a_hand_computed_test():
    source = Path(__file__).read_text(encoding="utf-8")
    missing = sorted(m for m in list_metrics() and REGISTRY if f'v["{m}"]' not in source)
    assert not missing, f"metrics without a hand-computed test: {missing}"


def test_registry_is_complete_and_unique():
    ms = list_metrics()
    assert len({m.id for m in ms}) == len(ms) >= 40
    for m in ms:
        assert m.name_zh and m.name_en and m.definition and m.formula and m.source
        assert m.direction in (True, False, None)
        assert m.unit in {"share", "count", "hours", "days", "ratio", "currency", "index"}
    with pytest.raises(ValueError, match="already registered"):
        register(get_metric("members"))
    with pytest.raises(ValueError):
        Metric("x", "x", "x", "d", "f", "count", None, "s")
    with pytest.raises(KeyError, match="unknown metric"):
        get_metric("nope")
    table = metric_table("zh")
    assert {"metric_id", "name", "formula", "higher_is_better", "kind"} <= set(table.columns)
    assert (table["kind"] == "sql").sum() >= 25


def test_periods_and_as_of():
    comm = tables([("a", "member", "2024-01-01")], [])["communities"]
    p = make_periods(comm, as_of="2024-03-15", window="month")
    assert list(p["period"]) == ["2024-01", "2024-02", "2024-03"]
    assert p["p_end"].iloc[-1] == U("2024-03-15")
    w = make_periods(comm, as_of="2024-01-20", window="week")
    assert list(w["period"]) == ["2024-W01", "2024-W02", "2024-W03"]
    assert resolve_as_of("created+180d", comm).iloc[0] == U("2024-06-29")
    with pytest.raises(ValueError, match="as_of is required"):
        make_periods(comm, as_of="", window=None)
    with pytest.raises(ValueError, match="window"):
        make_periods(comm, as_of="2024-02-01", window="year")


def test_parquet_and_frames_give_the_same_numbers(tmp_path):
    data = tables([("o", "owner", "2024-01-01"), ("a", "member", "2024-01-01"), ("b", "member", "2024-01-01")],
                  STAR[:2] + MESH[:2])
    path = tmp_path / "events.parquet"
    data["events"].to_parquet(path)
    ids = ["ugc_share", "members", "reciprocity"]
    a = compute_metrics(data, as_of="2024-01-31", window=None, metrics=ids)
    b = compute_metrics({**data, "events": str(path)}, as_of="2024-01-31", window=None, metrics=ids)
    pd.testing.assert_frame_equal(a, b)
    assert wide(a).shape == (1, 3)


def test_metrics_doc_matches_the_registry():
    from commlab.analysis.metrics import metrics_markdown

    doc = Path(__file__).resolve().parents[1] / "docs" / "METRICS.md"
    assert doc.read_text(encoding="utf-8") == metrics_markdown(), "regenerate docs/METRICS.md (see its header)"


def test_cohort_retention_matrix_by_hand():
    from commlab.analysis.retention import cohort_retention, retention_matrix

    data = tables(
        [("a", "member", "2024-01-05"), ("b", "member", "2024-01-20"), ("c", "member", "2024-02-03"),
         ("o", "owner", "2024-01-01")],
        [("a", "2024-01-06", "message"), ("b", "2024-01-21", "message"), ("a", "2024-02-10", "reaction"),
         ("c", "2024-03-04", "message"), ("o", "2024-03-05", "message"), ("b", "2024-01-20", "join")],
    )
    c = cohort_retention(data, as_of="2024-03-31")
    got = {(r.cohort, r.offset): (r.cohort_size, r.active) for r in c.itertuples()}
    # January cohort (a, b): month 0 both active, month 1 a only, month 2 nobody (a zero row, not a gap)
    assert got[("2024-01", 0)] == (2, 2) and got[("2024-01", 1)] == (2, 1) and got[("2024-01", 2)] == (2, 0)
    # February cohort (c): silent in February, active in March; the owner never counts
    assert got[("2024-02", 0)] == (1, 0) and got[("2024-02", 1)] == (1, 1)
    m = retention_matrix(c, "c1", min_size=1)
    assert list(m.index) == ["2024-01 (n=2)", "2024-02 (n=1)"]
    assert m.loc["2024-01 (n=2)", 1] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="freq"):
        cohort_retention(data, as_of="2024-03-31", freq="year")


def sizes(data, as_of: str, metrics: list[str]) -> dict[str, float]:
    out = compute_metrics(data, as_of=as_of, window=None, metrics=metrics)
    return dict(zip(out["metric_id"], out["n"], strict=True))


def test_group_sizes_by_hand():
    """``n`` is the number of members each value is computed over (NaN for metrics without one)."""
    retention = tables(
        [("t", "member", "2024-01-05"), ("r", "member", "2024-02-01"), ("s", "member", "2024-02-10"),
         ("p", "member", "2024-03-10"), ("q", "member", "2024-03-15"), ("o", "owner", "2024-03-10")],
        [("t", "2024-03-20", "message"), ("r", "2024-03-20", "message"), ("s", "2024-02-15", "message"),
         ("p", "2024-03-20", "message"), ("o", "2024-03-11", "message")],
    )
    n = sizes(retention, "2024-04-30", ["retention_30d", "retention_60d", "retention_90d", "members",
                                        "lurker_share", "content_share_top1", "content_share_rest"])
    assert (n["retention_30d"], n["retention_60d"], n["retention_90d"]) == (2, 2, 1)  # {p, q}, {r, s}, {t}
    assert n["lurker_share"] == 5 and math.isnan(n["members"])  # a share of the 5 present members; a count has no n
    assert n["content_share_top1"] == 1 and n["content_share_rest"] == 4  # ceil(0.01·5) = ceil(0.10·5) = 1
    response = tables(
        [("o", "staff", "2024-01-01"), ("a", "member", "2024-01-01"), ("b", "member", "2024-01-01"),
         ("c", "member", "2024-01-01")],
        [("a", "2024-01-01 10:00", "post", None, "t1"), ("b", "2024-01-01 12:00", "reply", "a", "t1"),
         ("a", "2024-01-01 14:00", "post", None, "t4"),
         ("c", "2024-01-02 09:00", "post", None, "t2"), ("o", "2024-01-02 10:00", "reply", "c", "t2"),
         ("b", "2024-01-03 09:00", "post", None, "t3")],
    )
    n = sizes(response, "2024-01-10", ["response_rate", "median_first_response_hours",
                                       "median_first_response_hours_staff", "median_first_response_hours_members",
                                       "problem_solving"])
    assert n["response_rate"] == 3 and n["problem_solving"] == 3  # posters a (twice), c, b
    assert n["median_first_response_hours"] == 2  # a (t1) and c (t2) were answered
    assert n["median_first_response_hours_staff"] == 1 and n["median_first_response_hours_members"] == 1
    money = tables(
        [("o", "owner", "2024-01-01"), ("a", "member", "2024-01-01"), ("b", "member", "2024-01-01"),
         ("c", "member", "2024-01-01"), ("d", "member", "2024-01-01")],
        [("a", "2024-02-10", "purchase", None, None, 20.0), ("a", "2024-02-12", "purchase", None, None, 5.0),
         ("b", "2024-02-20", "purchase", None, None, 50.0), ("c", "2024-02-05", "referral", "x"),
         ("a", "2024-02-11", "course_complete"), ("o", "2024-02-01", "purchase", None, None, 1000.0)],
    )
    n = sizes(money, "2024-03-01", ["repeat_purchase_rate", "completion_rate", "buyer_share", "event_lift"])
    assert n["repeat_purchase_rate"] == 2  # buyers a, b (the owner is staff)
    assert n["completion_rate"] == 3  # active members a, b, c
    assert n["buyer_share"] == 4 and math.isnan(n["event_lift"])
    assert wide(compute_metrics(money, as_of="2024-03-01", window=None, metrics=["completion_rate"]),
                values="n").loc["c1", "completion_rate"] == 3


def test_a_group_size_must_be_declared_and_returned():
    from commlab.analysis.compute import connect
    from commlab.analysis.metrics import MetricContext, _run, as_tables

    data = tables([("a", "member", "2024-01-01")], [("a", "2024-01-02", "message")])
    t = as_tables(data)
    periods = make_periods(data["communities"], as_of="2024-02-01", window=None)
    ctx = MetricContext(connect(t, periods), t, periods, None)
    sql = "SELECT community_id, period, 1.0 AS value{} FROM periods"
    undeclared = Metric("x", "x", "x", "d", "f", "share", None, "s", sql=sql.format(", 3 AS n"))
    with pytest.raises(ValueError, match="without declaring group_size"):
        _run(undeclared, ctx)
    missing = Metric("x", "x", "x", "d", "f", "share", None, "s", sql=sql.format(""), group_size="members")
    with pytest.raises(ValueError, match="returns no n"):
        _run(missing, ctx)
    ok = Metric("x", "x", "x", "d", "f", "share", None, "s", sql=sql.format(", 3 AS n"), group_size="members")
    assert _run(ok, ctx)["n"].tolist() == [3.0]


def test_on_demand_tables_are_built_by_the_first_query_naming_them():
    """A pending prelude table is built by the first query that names it (content_pm pulling flow_pm
    first), not before; engine calls that need them, or not, both work."""
    import duckdb

    from commlab.analysis.metrics import RELATIONS, MetricContext
    from commlab.engines.duck import DuckDBEngine
    from health_data import samples_dataset

    ds = samples_dataset().subset(["c03"])
    eng = DuckDBEngine()
    out = eng.compute_metrics(ds, as_of="2024-07-01", window=None, metrics=["density"])
    assert out["value"].notna().all()
    out = eng.compute_metrics(ds, as_of="2024-07-01", window=None, metrics=["gini_content", "buyer_share"])
    assert out["metric_id"].tolist() == ["gini_content", "buyer_share"]
    con = duckdb.connect()
    con.execute("CREATE TABLE flow_src AS SELECT 1 AS x")
    ctx = MetricContext(con, None, pd.DataFrame(), None,  # type: ignore[arg-type]
                        pending={"flow_pm": "CREATE TEMP TABLE flow_pm AS SELECT x FROM flow_src",
                                 "content_pm": "CREATE TEMP TABLE content_pm AS SELECT x + 1 AS y FROM flow_pm"})
    shared = set(RELATIONS)  # the metrics' shared tables are pending too, until a query names them
    assert ctx.query("SELECT 5 AS v")["v"].tolist() == [5] and set(ctx.pending) == {"flow_pm", "content_pm"} | shared
    assert ctx.query("SELECT y FROM content_pm")["y"].tolist() == [2] and set(ctx.pending) == shared


def test_metrics_reading_ev_rare_select_only_its_event_types():
    """``ev_rare`` holds only the RARE_EVENTS types: a metric reading it must select no other type (it
    would silently find no rows), and the table is exactly those rows of ``ev``."""
    import re

    from commlab.analysis.metrics import RARE_EVENTS, prelude_statements
    from commlab.engines.duck import DuckDBEngine
    from health_data import samples_dataset

    readers = [m for m in list_metrics() if m.sql is not None and re.search(r"\bev_rare\b", m.sql)]
    assert len(readers) >= 10
    for m in readers:
        named = set(re.findall(r"event_type\s*(?:=|IN\s*\()\s*([^)\n]*)", m.sql))
        types = {t for part in named for t in re.findall(r"'([a-z_]+)'", part)}
        assert types and types <= set(RARE_EVENTS), (m.id, types - set(RARE_EVENTS))
    ds = samples_dataset().subset(["c03"])
    eng = DuckDBEngine()
    con = eng.connect()
    try:
        v = eng.register_tables(con, communities=ds.communities, members=ds.members, events=ds.events)
        con.register("periods", pd.DataFrame({"community_id": pd.Series([], dtype="string"),
                                              "period": pd.Series([], dtype="string"),
                                              "p_start": pd.Series([], dtype="datetime64[us, UTC]"),
                                              "p_end": pd.Series([], dtype="datetime64[us, UTC]")}))
        for stmt in prelude_statements(v):
            con.execute(stmt)
        rare = con.execute("SELECT * FROM ev_rare ORDER BY ALL").df()
        cols = ", ".join(rare.columns)  # the columns of ev its readers use
        want = con.execute(f"SELECT {cols} FROM ev WHERE event_type IN (SELECT unnest(?)) ORDER BY ALL",
                           [list(RARE_EVENTS)]).df()
    finally:
        con.close()
    assert len(rare) > 100 and set(rare["event_type"]) <= set(RARE_EVENTS)
    assert {"community_id", "member_id", "ts", "event_type", "is_staff", "is_bot"} <= set(rare.columns)
    pd.testing.assert_frame_equal(rare, want)


def test_connect_copies_the_events_only_when_asked():
    """connect() holds ``ev`` as a table by default and as a view with materialize_events=False; the
    on-demand relations are views either way (built only if read); both give the same rows."""
    from commlab.analysis.compute import connect
    from commlab.analysis.metrics import as_tables, make_periods
    from health_data import samples_dataset

    t = as_tables(samples_dataset())
    periods = make_periods(t.frame("communities"), as_of="2024-07-01", window="month")
    rows = {}
    for materialize in (True, False):
        con = connect(t, periods, materialize_events=materialize)
        try:
            tables = set(con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").df()["table_name"])
            views = set(con.execute("SELECT view_name FROM duckdb_views() WHERE temporary").df()["view_name"])
            assert ("ev" in tables) is materialize and ("ev" in views) is not materialize
            on_demand = {"flow_pm", "content_counts", "recent_pm", "ev_rare", "content_first", "day_counts"}
            assert on_demand <= views - tables
            rows[materialize] = [con.execute(f"SELECT * FROM {name} ORDER BY ALL").df()
                                 for name in ("ev", "flow_pm", "recent_pm", "day_counts")]
        finally:
            con.close()
    assert len(rows[True][0]) > 1000
    for a, b in zip(rows[True], rows[False], strict=True):
        pd.testing.assert_frame_equal(a, b)


# --------------------------------------------------------------------------- practices (issue 26.5)


def _with(data: dict[str, pd.DataFrame], **columns: list) -> dict[str, pd.DataFrame]:
    """``data`` with extra columns: ``events__category=[...]``, ``members__join_channel=[...]``."""
    out = {k: v.copy() for k, v in data.items()}
    for key, vals in columns.items():
        table, col = key.split("__")
        out[table][col] = pd.array(vals, dtype="string")
    return out


def practice_values(data, as_of: str, metrics: list[str], start: str | None = None) -> dict[str, float]:
    """The engine's values, checked against the pandas oracle of commlab.analysis.naive (period "all")."""
    from commlab.analysis.naive import naive_metrics

    out = compute_metrics(data, as_of=as_of, window=None, metrics=metrics, start=start)
    got = dict(zip(out["metric_id"], out["value"], strict=True))
    if start is None:
        want = naive_metrics(data["communities"], data["members"], data["events"], as_of=as_of, metrics=metrics)
        for mid, val in zip(want["metric_id"], want["value"], strict=True):
            assert got[mid] == pytest.approx(val, nan_ok=True), mid
        n_got = dict(zip(out["metric_id"], out["n"], strict=True))
        for mid, val in zip(want["metric_id"], want["n"], strict=True):
            assert n_got[mid] == pytest.approx(val, nan_ok=True), f"{mid} (n)"
    return got


def test_lurker_share_change():
    data = tables(
        [("o", "owner", "2024-01-01"), ("a", "member", "2024-01-01"), ("b", "member", "2024-01-01"),
         ("c", "member", "2024-02-15"), ("d", "member", "2024-01-01", "2024-02-20")],
        [("a", "2024-01-10", "message"), ("b", "2024-02-20", "message"), ("c", "2024-02-16", "reaction", "a")],
    )
    v = practice_values(data, "2024-03-01", ["lurker_share_change_30d", "lurker_share"])
    # now a, b, c present, c never spoke: 1/3; on Jan 31 a, b, d present, b (spoke Feb 20) and d silent: 2/3
    assert v["lurker_share"] == pytest.approx(1 / 3)
    assert v["lurker_share_change_30d"] == pytest.approx(1 / 3 - 2 / 3)


EVENTS_AND_RITUALS = [
    ("o", "2024-01-07 12:00", "event"), ("g", "2024-01-21 12:00", "event"),                 # held, nobody recorded
    *((m, "2024-02-04 12:00", "event_attend") for m in ("m1", "m2", "m3")),                # 3 attendees: an event day
    *((m, "2024-02-11 12:00", "event_attend") for m in ("m1", "m2")),                      # 2 attendees: not one
    ("m1", "2024-02-25 11:00", "event"),
    *((m, "2024-02-25 12:00", "event_attend") for m in ("m1", "m2", "m4", "m5", "o")),     # the owner is not counted
    ("m1", "2024-02-20 08:00", "checkin"), ("m1", "2024-02-20 20:00", "checkin"),          # one day (9 days back)
    ("m2", "2024-02-25 10:00", "checkin"), ("m3", "2024-01-10 10:00", "checkin"),          # m3: before the 30 days
    ("o", "2024-02-26 10:00", "checkin"),                                                  # staff: not a member-day
]


def test_event_rhythm_attendance_checkins_and_hosts():
    data = tables([("o", "owner", "2024-01-01"), ("g", "guest", "2024-01-01"),
                   *((f"m{i}", "member", "2024-01-01") for i in range(1, 6))], EVENTS_AND_RITUALS)
    ids = ["event_gap_cv", "event_attendance_rate", "checkin_rate", "member_hosted_events_share"]
    v = practice_values(data, "2024-03-01", ids)
    gaps = np.array([14.0, 14.0, 21.0])  # Jan 7, Jan 21, Feb 4, Feb 25
    assert v["event_gap_cv"] == pytest.approx(gaps.std() / gaps.mean())
    # event days Jan 7 (0 attendees), Jan 21 (0), Feb 4 (3), Feb 25 (4); 6 members present (the guest counts)
    assert v["event_attendance_rate"] == pytest.approx(7 / (4 * 6))
    assert v["checkin_rate"] == pytest.approx(2 / (6 * 30))
    assert v["member_hosted_events_share"] == pytest.approx(2 / 3)  # the guest and m1; not the owner


def test_event_metrics_missing_without_events():
    data = tables([("a", "member", "2024-01-01")], [("a", "2024-02-01", "message")])
    v = practice_values(data, "2024-03-01", ["event_gap_cv", "event_attendance_rate", "checkin_rate",
                                             "member_hosted_events_share"])
    assert all(math.isnan(x) for x in v.values())  # no 打卡 ritual is not a check-in rate of 0


def test_reward_lifts():
    data = tables(
        [("o", "owner", "2024-01-01"), ("a", "member", "2024-01-01"), ("b", "member", "2024-01-01"),
         ("c", "member", "2024-01-01")],
        [("o", "2024-02-10 12:00", "reward", "a"),
         ("a", "2024-02-05", "message"), ("a", "2024-02-12", "message"),
         ("a", "2024-02-13", "purchase", None, None, 9.0),
         ("a", "2024-02-16", "message"), ("a", "2024-02-18", "message"),            # Feb 18: after the 7 days
         ("b", "2024-02-20 12:00", "reward"),                                        # no target: b is the receiver
         ("b", "2024-02-15", "purchase", None, None, 5.0), ("b", "2024-02-22", "message"),
         ("b", "2024-02-25", "purchase", None, None, 5.0),
         ("c", "2024-02-12", "reward", "o"),                                         # to staff: not counted
         ("o", "2024-02-27", "reward", "c"), ("c", "2024-02-20", "message")],        # its 7 days end after as_of
    )
    v = practice_values(data, "2024-03-01", ["reward_activity_lift", "reward_purchase_lift"])
    assert v["reward_activity_lift"] == pytest.approx((3 + 2) / (1 + 1))
    assert v["reward_purchase_lift"] == pytest.approx((1 + 1) / 1)


def test_zombie_share_by_join_channel():
    members = ([(f"q{i}", "member", "2024-01-01") for i in range(12)]
               + [(f"i{i}", "member", "2024-01-01") for i in range(9)] + [("i9", "member", "2024-02-15")]
               + [(f"l{i}", "member", "2024-01-01") for i in range(5)])
    active = [f"q{i}" for i in range(3)] + [f"i{i}" for i in range(8)] + ["l0"]
    data = tables(members, [(m, "2024-02-20", "message") for m in active])
    data = _with(data, members__join_channel=["qr_code"] * 12 + ["invite"] * 10 + ["link"] * 5)
    v = practice_values(data, "2024-03-01", [f"zombie_share_{c}" for c in ("invite", "qr_code", "link", "search",
                                                                          "other")])
    assert v["zombie_share_qr_code"] == pytest.approx(9 / 12)
    assert v["zombie_share_invite"] == pytest.approx(1 / 10)  # i8; i9 joined less than 30 days ago
    assert math.isnan(v["zombie_share_link"])  # 5 members: fewer than 10
    assert math.isnan(v["zombie_share_search"]) and math.isnan(v["zombie_share_other"])


def test_purchases_by_category_and_membership_renewals():
    buy = lambda m, ts: (m, ts, "purchase", None, None, 10.0)  # noqa: E731
    data = tables(
        [("o", "owner", "2022-01-01"), *((m, "member", "2022-01-01") for m in "abcd")],
        [buy("a", "2023-01-10"), buy("a", "2024-02-02"), buy("b", "2023-02-01"), buy("c", "2023-06-01"),
         buy("d", "2023-03-01"), buy("a", "2024-02-01"), buy("b", "2024-02-03"), buy("c", "2024-02-04"),
         buy("o", "2024-02-05")], created="2022-01-01")
    data = _with(data, events__category=["membership", "membership", "membership", "membership", "membership",
                                         "course", "shop", None, "course"])
    v = practice_values(data, "2024-03-01", ["membership_renewal_rate"])
    # due (first membership by 2023-03-02): a (renewed 2024-02-02), b, d; c's year has not run out
    assert v["membership_renewal_rate"] == pytest.approx(1 / 3)
    cats = [f"purchase_share_{c}" for c in ("course", "product", "membership", "shop")]
    v = practice_values(data, "2024-03-01", cats, start="2024-01-15")
    # Jan 15 - Mar 1: a course, a membership, b shop (c's has no category, the owner's is staff)
    assert v["purchase_share_course"] == pytest.approx(1 / 3)
    assert v["purchase_share_membership"] == pytest.approx(1 / 3)
    assert v["purchase_share_shop"] == pytest.approx(1 / 3)
    assert v["purchase_share_product"] == 0
    everything = practice_values(data, "2024-03-01", cats)  # 5 of the members' 7 purchases with a category
    assert everything["purchase_share_membership"] == pytest.approx(5 / 7)


def test_core_reply_and_member_moderation_shares():
    data = tables(
        [("o", "owner", "2024-01-01"), ("bot", "bot", "2024-01-01"), ("k", "member", "2024-01-01"),
         ("m", "member", "2024-01-01"), ("x", "member", "2024-01-01")],
        [("k", "2024-02-28", "message"), ("k", "2024-02-21", "message"), ("k", "2024-02-14", "message"),  # core
         ("m", "2024-02-28", "message"),
         *(("k", f"2024-02-2{i}", "reply", "x") for i in range(3)), ("m", "2024-02-20", "reply", "x"),
         ("o", "2024-02-20", "reply", "x"), ("o", "2024-02-21", "reply", "x"),
         ("bot", "2024-02-20", "reply", "x"), ("bot", "2024-02-21", "reply", "x"),
         ("o", "2024-02-01", "moderation"), ("o", "2024-02-02", "moderation"), ("o", "2024-02-03", "moderation"),
         ("m", "2024-02-04", "moderation"), ("bot", "2024-02-05", "moderation")],
    )
    v = practice_values(data, "2024-03-01", ["core_reply_share", "member_moderation_share", "core_share"])
    assert v["core_share"] == pytest.approx(1 / 3)
    assert v["core_reply_share"] == pytest.approx(3 / 6)  # k's 3 of 6 replies (the bot's do not count)
    assert v["member_moderation_share"] == pytest.approx(1 / 4)


def test_main_platform_share():
    data = tables([("o", "owner", "2024-01-01"), ("a", "member", "2024-01-01"), ("b", "member", "2024-01-01")],
                  [("a", "2024-02-01", "message"), ("a", "2024-02-02", "message"), ("a", "2024-02-03", "message"),
                   ("a", "2024-02-04", "message"), ("b", "2024-02-05", "message"), ("a", "2024-02-06", "join"),
                   *(("o", f"2024-02-1{i}", "message") for i in range(5))])
    data = _with(data, events__platform=[None, None, None, "qq", "wechat", "qq", *["qq"] * 5])
    v = practice_values(data, "2024-03-01", ["main_platform_share"])
    assert v["main_platform_share"] == pytest.approx(4 / 5)  # WeChat (the primary, and b's); the owner's QQ not
    from commlab.analysis.practices import platform_activity

    got = platform_activity(data["events"], data["members"], data["communities"], start=U("2024-01-01"),
                            end=U("2024-03-01"))
    assert got[["platform", "events"]].values.tolist() == [["wechat", 4], ["qq", 1]]
