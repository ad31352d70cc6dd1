"""Tests of the synthetic generator and of the bundled samples it produced."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from commlab.data import schema as S
from commlab.data.generate import DEFAULT_SEED, generate, write_samples
from commlab.data.generate_large import generate_large
from commlab.data.load import load_dataset
from commlab.data.planted import COMMUNITY_SPECS, HYPOTHESES, NOT_PLANTED

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
SAMPLE_FILES = ("communities.csv", "members.csv", "events.parquet", "truth/member_roles.csv",
                "truth/assumptions.json", "ASSUMPTIONS.md")
END = pd.Timestamp("2024-07-01T00:00:00+08:00").tz_convert("UTC")  # start + 182 days, the natural as_of
CONTENT = ["message", "post", "reply", "mention"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def data():
    return generate()


@pytest.fixture(scope="module")
def features(data):
    """Plain per-member features: recency, tenure, active days, content, replies received, purchases."""
    ev = data.events
    act = ev[~ev["event_type"].isin(["join", "leave"])]
    act = act.assign(day=act["ts"].dt.floor("D"), content=act["event_type"].isin(CONTENT),
                     reaction=act["event_type"] == "reaction", purchase=act["event_type"] == "purchase")
    g = act.groupby(["community_id", "member_id"])
    f = g.agg(last=("ts", "max"), active_days=("day", "nunique"), content=("content", "sum"),
              reactions=("reaction", "sum"), purchases=("purchase", "sum"))
    replies = ev[ev["event_type"] == "reply"]
    recv = replies.groupby(["community_id", "target_member_id"]).size()
    recv.index = recv.index.set_names(["community_id", "member_id"])
    keys = ["community_id", "member_id"]
    out = data.truth.set_index(keys).join(data.members.set_index(keys)[["joined_at", "left_at"]]).join(f)
    out["received"] = recv.reindex(out.index).fillna(0)
    out = out.fillna({"active_days": 0, "content": 0, "reactions": 0, "purchases": 0})
    out["recency"] = (END - out["last"]).dt.total_seconds() / 86400
    out["tenure"] = (END - out["joined_at"]).dt.total_seconds() / 86400
    return out


@pytest.fixture(scope="module")
def per_community(data):
    """Per-community measures of the planted hypotheses, computed with plain pandas."""
    ev, mem, com = data.events, data.members, data.communities.set_index("community_id")
    staff = mem.loc[mem["role"].isin(["owner", "staff"]), ["community_id", "member_id"]]
    staff_keys = set(zip(staff["community_id"], staff["member_id"], strict=True))
    rp = ev[ev["event_type"] == "reply"]
    by_staff = pd.Series([k in staff_keys for k in zip(rp["community_id"], rp["member_id"], strict=True)],
                         index=rp.index)
    to_staff = pd.Series([k in staff_keys for k in zip(rp["community_id"], rp["target_member_id"], strict=True)],
                         index=rp.index)
    n_members = mem.groupby("community_id").size()
    m2m = rp[~by_staff & ~to_staff]
    out = com[["theme", "lifecycle", "economy", "platform"]].copy()
    out["theme"] = out["theme"].str.split(";").str[0]  # the primary type (DOMAIN.md §2: the types mix)
    out["staff_reply_share"] = (by_staff | to_staff).groupby(rp["community_id"]).mean()
    plain = data.truth[data.truth["planted_role"] != "staff"]
    out["buyer_share"] = plain.groupby("community_id")["is_buyer"].mean()
    out["revenue_per_member"] = ev.groupby("community_id")["amount"].sum() / n_members
    out["events_per_member"] = ev.groupby("community_id").size() / n_members
    out["replies_per_tie"] = m2m.groupby("community_id").size() / m2m.groupby("community_id")[
        ["member_id", "target_member_id"]].apply(lambda g: len(g.drop_duplicates()))
    topics = ev[ev["topic"].notna()]
    out["top_topic_share"] = topics.groupby("community_id")["topic"].agg(
        lambda s: s.value_counts(normalize=True).iloc[0])
    return out


# ----------------------------------------------------------------------------- determinism
def test_same_seed_gives_same_tables_and_other_seed_differs():
    a, b, c = generate(7, scale=0.1), generate(7, scale=0.1), generate(8, scale=0.1)
    for name in ("communities", "members", "events", "truth"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.assumptions == b.assumptions
    assert not a.events.equals(c.events)


def test_write_samples_is_byte_identical(tmp_path):
    p1 = write_samples(tmp_path / "a", seed=3, scale=0.1)
    p2 = write_samples(tmp_path / "b", seed=3, scale=0.1)
    assert set(p1) == set(p2)
    for key in p1:
        assert _sha(p1[key]) == _sha(p2[key]), key


def test_bundled_samples_are_what_write_samples_produces(tmp_path):
    paths = write_samples(tmp_path, seed=DEFAULT_SEED)
    assert sorted(str(p.relative_to(tmp_path)) for p in paths.values()) == sorted(SAMPLE_FILES)
    for rel in SAMPLE_FILES:
        if rel.endswith(".parquet"):  # bytes depend on the pyarrow version; content must not
            assert pq.read_table(tmp_path / rel).equals(pq.read_table(SAMPLES / rel)), rel
        else:
            assert _sha(tmp_path / rel) == _sha(SAMPLES / rel), f"{rel} is stale: run write_samples"


# ----------------------------------------------------------------------------- bundled samples
def test_bundled_samples_load_cleanly_and_are_small():
    ds = load_dataset(SAMPLES)
    assert len(ds.communities) >= 8
    total = sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file())
    assert total < 5 * 1024 * 1024
    assert ds.members["display_name"].str.contains(r"[\u4e00-\u9fff]").any()


def test_coverage_of_types(data):
    com = data.communities
    primary = com[["theme", "platform", "monetization"]].apply(lambda s: s.str.split(";").str[0])
    assert len(com) >= 8
    assert set(primary["theme"]) == set(S.THEME.codes)
    assert set(com["economy"]) == set(S.ECONOMY.codes)
    assert set(com["lifecycle"]) == set(S.LIFECYCLE.codes)
    assert {"wechat", "qq", "wecom", "discord", "zsxq", "own_app"} <= set(primary["platform"])
    assert len(set(primary["monetization"])) >= 3
    # the types mix (DOMAIN.md §2): some communities carry a secondary type, primary first
    mixed = com.set_index("community_id")[["theme", "platform", "monetization"]]
    assert mixed.loc["c08", "theme"] == "knowledge;interest" and mixed.loc["c12", "theme"] == "brand;product"
    assert mixed.loc["c10", "platform"] == "discord;wechat"
    # goals per community (DOMAIN.md §4b); c09, the group recruited without purpose, states none
    goals = com.set_index("community_id")["goal"]
    assert goals.isna().tolist() == [cid == "c09" for cid in goals.index]
    assert set(goals.dropna()) == set(S.GOAL.codes)
    assert com["name"].str.contains(r"[\u4e00-\u9fff]").all()
    sizes = data.members.groupby("community_id").size()
    assert sizes.between(50, 3000).all()
    span = data.events["ts"].max() - data.events["ts"].min()
    assert span >= pd.Timedelta(days=180)
    assert set(data.members["role"]) >= {"owner", "staff", "member", "bot"}
    assert data.events["channel"].notna().any()


def test_truth_covers_every_member(data):
    keys = ["community_id", "member_id"]
    merged = data.members.merge(data.truth, on=keys, how="outer", indicator=True, validate="1:1")
    assert (merged["_merge"] == "both").all()
    staff = merged["role"].isin(["owner", "staff"])
    assert (merged.loc[staff, "planted_role"] == "staff").all()
    assert (merged.loc[merged["role"] == "bot", "planted_role"] == "bot").all()
    plain_roles = set(merged.loc[merged["role"] == "member", "planted_role"])
    assert {"core", "contributor", "ordinary", "lurker", "zombie", "newcomer", "churn_risk", "buyer"} == plain_roles
    assert set(data.assumptions["hypotheses_planted"]) == set(HYPOTHESES)
    assert set(data.assumptions["hypotheses_not_planted"]) == set(NOT_PLANTED)
    for spec in data.assumptions["communities"].values():
        assert set(spec["hypotheses"]) <= set(HYPOTHESES) and set(spec["controls"]) <= set(NOT_PLANTED)


def test_assumptions_markdown_documents_roles_and_hypotheses():
    text = (SAMPLES / "ASSUMPTIONS.md").read_text(encoding="utf-8")
    for word in [*HYPOTHESES, *NOT_PLANTED, "core", "contributor", "ordinary", "lurker", "zombie", "newcomer",
                 "churn_risk", "buyer", "咖啡爱好者交流群"]:
        assert word in text, word


def test_generate_rejects_impossible_windows():
    with pytest.raises(ValueError, match="days"):
        generate(days=60)
    with pytest.raises(ValueError, match="scale"):
        generate(scale=0)


def test_tables_are_consistent(data):
    ev, mem, com = data.events, data.members, data.communities
    assert str(ev["ts"].dtype) == "datetime64[ns, UTC]"
    first = ev.groupby("community_id")["ts"].min()
    assert (com.set_index("community_id")["created_at"] <= first).all()
    joined = ev.merge(mem[["community_id", "member_id", "joined_at"]], on=["community_id", "member_id"])
    assert len(joined) == len(ev)
    assert (joined["ts"] >= joined["joined_at"]).all()
    purchase = ev["event_type"] == "purchase"
    assert (ev.loc[purchase, "amount"] > 0).all() and ev.loc[~purchase, "amount"].isna().all()
    targeted = ev["event_type"].isin(S.INTERACTION_EVENTS)
    assert ev.loc[targeted, "target_member_id"].notna().all()
    assert ((ev["target_member_id"] != ev["member_id"]) | ev["target_member_id"].isna()).all()
    left = mem[mem["left_at"].notna()]
    leaves = ev[ev["event_type"] == "leave"]
    assert len(left) == len(leaves) > 0
    local_hour = ev["ts"].dt.tz_convert("Asia/Shanghai").dt.hour
    assert (local_hour.between(19, 22)).mean() > 3 * (local_hour.between(1, 5)).mean()


# ----------------------------------------------------------------------------- planted roles
def test_roles_have_their_planted_behaviour(features):
    f = features
    by = f.groupby("planted_role")
    assert (f.loc[f["planted_role"] == "zombie", "recency"] > 60).all()
    assert (f.loc[f["planted_role"] == "zombie", "tenure"] >= 90).all()
    lurk = f[f["planted_role"] == "lurker"]
    assert (lurk["content"] == 0).all() and lurk["reactions"].between(1, 3).all() and (lurk["recency"] <= 60).all()
    assert (f.loc[f["planted_role"] == "newcomer", "tenure"] < 30).all()
    assert f.loc[f["planted_role"] == "churn_risk", "recency"].between(30, 60).all()
    assert (f.loc[f["planted_role"] == "ordinary", "recency"] <= 30).all()
    days = by["active_days"].median()
    assert days["core"] > 2 * days["contributor"] > 2 * days["ordinary"]
    received = by["received"].median()
    assert received["core"] > received["contributor"] > received["ordinary"]
    buyers = f[f["planted_role"] == "buyer"]
    assert (buyers["purchases"] >= 3).all() and buyers["is_buyer"].all()
    assert not f.loc[f["planted_role"].isin(["lurker", "zombie"]), "is_buyer"].any()


# ----------------------------------------------------------------------------- planted hypotheses
def test_fan_economy_routes_replies_through_staff(per_community):
    share = per_community.groupby("economy")["staff_reply_share"]
    assert share.min()["fan"] > 0.5 > 0.3 > share.max()["community"]


def test_consumption_has_highest_buyer_share_and_revenue(per_community):
    top = per_community.sort_values("buyer_share").iloc[-1]
    assert top["theme"] == "consumption"
    assert per_community["revenue_per_member"].idxmax() in per_community.index[
        per_community["theme"] == "consumption"]


def test_knowledge_communities_have_outcomes(data, per_community):
    ev = data.events.merge(data.communities[["community_id", "theme"]], on="community_id")
    ev["theme"] = ev["theme"].str.split(";").str[0]
    for kind in ("checkin", "course_complete"):
        themes = set(ev.loc[ev["event_type"] == kind, "theme"])
        assert themes == {"knowledge"}, kind
    referral_rate = ev[ev["event_type"] == "referral"].groupby("theme").size() / ev[
        ev["event_type"] == "join"].groupby("theme").size()
    assert referral_rate.idxmax() == "knowledge"


def test_startup_is_deeper_than_mature_and_early_death_collapses(data, per_community):
    live = per_community.drop(index="c09")
    depth = live.groupby("lifecycle")["events_per_member"]
    assert depth.min()["startup"] > 1.5 * depth.max()["mature"]
    ev = data.events[(data.events["community_id"] == "c09") & ~data.events["event_type"].isin(["join", "leave"])]
    created = data.communities.set_index("community_id").loc["c09", "created_at"]
    age = (ev["ts"] - created) // pd.Timedelta(days=1)
    per_age = age.value_counts().reindex(range(int(age.max()) + 1), fill_value=0)
    assert per_age.iloc[:3].sum() > 0.9 * len(ev)  # lively days 0-2 ...
    assert per_age.iloc[5:].mean() < 0.02 * per_age.iloc[:3].mean()  # ... then it is dead


def test_industry_ties_repeat_and_topics_concentrate(per_community):
    pc = per_community.drop(index="c09")
    for lifecycle, grp in pc.groupby("lifecycle"):
        ties = grp.groupby("theme")["replies_per_tie"].mean()
        if {"industry", "interest"} <= set(ties.index):
            assert ties["industry"] > ties["interest"], lifecycle
    # every type can be vertical (DOMAIN.md §2): only the two broad groups spread their topics
    broad = pc.loc[["c07"], "top_topic_share"].max()
    assert broad + 0.2 < pc.drop(index="c07")["top_topic_share"].min()
    topics = pc.groupby("theme")["top_topic_share"].mean()
    assert topics["interest"] >= topics["knowledge"] - 0.05


def test_events_lift_activity_but_not_purchases(data):
    ev = data.events.assign(day=data.events["ts"].dt.tz_convert("Asia/Shanghai").dt.floor("D"))
    lifts, buy_lifts = [], []
    for _, e in ev.groupby("community_id"):
        event_days = set(e.loc[e["event_type"] == "event_attend", "day"])
        if not event_days:
            continue
        after = {d + pd.Timedelta(days=k) for d in event_days for k in (1, 2)}
        per_day = e[e["event_type"].isin(["message", "post", "reply"])].groupby("day").size()
        is_after = per_day.index.isin(list(after))
        lifts.append(per_day[is_after].mean() / per_day[~is_after].mean())
        buys = e[e["event_type"] == "purchase"].groupby("day").size().reindex(per_day.index, fill_value=0)
        if buys.sum() > 100:
            buy_lifts.append(buys[is_after].mean() / buys[~is_after].mean())
    assert min(lifts) > 1.2
    assert buy_lifts and 0.7 < np.mean(buy_lifts) < 1.3  # N2: not planted


def test_platform_twins_do_not_differ(per_community):
    twins = per_community.loc[["c02", "c11"]]  # identical parameters, QQ vs WeChat (N1: not planted)
    assert set(twins["platform"]) == {"qq", "wechat"}
    a, b = twins["events_per_member"]
    assert abs(a - b) / max(a, b) < 0.15
    spec = {s.community_id: s for s in COMMUNITY_SPECS}
    assert spec["c02"].hub_p == spec["c11"].hub_p and spec["c02"].circle_p == spec["c11"].circle_p


# ----------------------------------------------------------------------------- large benchmark data
def test_generate_large_tiny_is_valid_heavy_tailed_and_deterministic(tmp_path):
    kw = {"n_members": 3000, "n_events": 40_000, "seed": 5, "chunk_events": 15_000}
    paths = generate_large(tmp_path / "a", **kw)
    generate_large(tmp_path / "b", **kw)
    for name, p in paths.items():
        assert _sha(p) == _sha(tmp_path / "b" / p.name), name
    ds = load_dataset(tmp_path / "a")
    assert len(ds.events) == 40_000 and len(ds.members) == 3000
    counts = ds.events["member_id"].value_counts()
    top_share = counts.iloc[: len(ds.members) // 100].sum() / len(ds.events)
    assert 0.2 < top_share < 0.5


# ----------------------------------------------------------------------------- who the hub is (H2)
def _targets(data, cid: str) -> pd.Series:
    ev = data.events[(data.events["community_id"] == cid) & data.events["event_type"].isin(S.INTERACTION_EVENTS)]
    mem = data.members[data.members["community_id"] == cid].set_index("member_id")
    plain = ev[ev["member_id"].map(mem["role"]).eq("member")]
    return plain["target_member_id"].value_counts(normalize=True)


def test_brand_communities_come_in_both_economies(data):
    """c03 routes members through the official accounts; c12 (the 小米 pattern) through its core members."""
    truth = data.truth.set_index(["community_id", "member_id"])["planted_role"]
    for cid, hub_role in (("c03", "staff"), ("c12", "core")):
        share = _targets(data, cid)
        roles = pd.Series([truth[(cid, m)] for m in share.index], index=share.index)
        by_role = share.groupby(roles).sum()
        assert by_role.idxmax() == hub_role, (cid, by_role)
        assert share.iloc[0] < 0.5  # no single account carries half of the interactions
    c12 = _targets(data, "c12")
    staff12 = set(data.members.query("community_id == 'c12' and role in ('owner', 'staff')")["member_id"])
    assert c12[c12.index.isin(staff12)].sum() < 0.1
    assert (c12.iloc[:6] > 0.04).all()  # six core hubs, each a clear share


# ----------------------------------------------------------------------------- the practices (H10)
def test_practices_are_planted_where_the_assumptions_say(data):
    ev, mem = data.events, data.members
    held = ev[ev["event_type"] == "event"]
    assert set(held["category"]) <= {"online", "offline", "live"} and held["category"].notna().all()
    hosts = held.merge(mem[["community_id", "member_id", "role"]], on=["community_id", "member_id"])
    by = hosts.groupby("community_id")["role"]
    assert (by.apply(lambda r: (r == "guest").mean())["c06"]) == pytest.approx(0.5, abs=0.1)
    assert (by.apply(lambda r: (r == "member").mean())["c12"]) == 1.0
    gaps = held[held["community_id"] == "c01"]["ts"].diff().dt.days.dropna()
    assert gaps.std() / gaps.mean() > 0.5  # c01's events are irregular; the others keep a rhythm
    assert held[held["community_id"] == "c04"]["ts"].diff().dt.days.dropna().std() == 0
    mod = ev[ev["event_type"] == "moderation"].merge(mem[["community_id", "member_id", "role"]])
    by_members = mod.groupby("community_id")["role"].apply(lambda r: (r == "member").mean())
    assert by_members["c03"] == 0.0 and by_members["c12"] > 0.6 and set(by_members.index) == {"c03", "c12"}
    rewards = ev[ev["event_type"] == "reward"]
    assert set(rewards["community_id"]) == {"c03", "c07", "c12"} and rewards["target_member_id"].notna().all()
    assert set(rewards.groupby("community_id")["category"].first()) == {"points", "coupon"}
    buys = ev[ev["event_type"] == "purchase"]
    assert buys["category"].notna().all()
    assert set(buys.loc[buys["community_id"] == "c04", "category"]) == {"course"}
    # the platform of member events for the communities on two: half and half in c10, 80% on the app in c12
    pf = ev[ev["platform"].notna()].groupby("community_id")["platform"].value_counts(normalize=True)
    assert pf["c10"]["discord"] == pytest.approx(0.5, abs=0.03)
    assert pf["c12"]["own_app"] == pytest.approx(0.8, abs=0.03)


def test_join_channels_are_recorded_for_in_window_joins_and_zombies_come_by_posters(data):
    mem = data.members.merge(data.truth, on=["community_id", "member_id"])
    start = pd.Timestamp("2024-01-01T00:00:00+08:00")
    known = mem["join_channel"].notna()
    assert (mem.loc[known, "joined_at"] >= start).all()  # an export records only the joins it saw
    plain_in_window = (mem["role"] == "member") & (mem["joined_at"] >= start)
    assert known[plain_in_window].all()
    assert (mem.loc[mem["join_channel"] == "invite", "invited_by"].notna()).all()
    c03 = mem[(mem["community_id"] == "c03") & known]
    zombie_channel = c03.loc[c03["planted_role"] == "zombie", "join_channel"].value_counts(normalize=True)
    assert zombie_channel["qr_code"] > 0.85
    c09 = mem[(mem["community_id"] == "c09") & (mem["role"] == "member")]
    owner = mem.query("community_id == 'c09' and role == 'owner'")["member_id"].iloc[0]
    assert (c09["invited_by"] == owner).all()  # 拉人头: the owner invited everyone
    # c01's recent wave: newcomers who only react (the lurker share rises)
    ev = data.events[data.events["community_id"] == "c01"]
    wave = mem[(mem["community_id"] == "c01") & (mem["planted_role"] == "newcomer")
               & (mem["join_channel"] == "qr_code")]["member_id"]
    spoke = set(ev.loc[ev["event_type"].isin(["message", "post", "reply", "mention"]), "member_id"])
    assert len(wave) > 80 and sum(m not in spoke for m in wave) > 80
