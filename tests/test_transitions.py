"""Month-over-month transitions between roles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from commlab.analysis.features import ROLE_FEATURE_IDS, member_features
from commlab.analysis.roles import RoleThresholds, assign_roles
from commlab.analysis.transitions import JOINED, role_snapshots, role_transitions, transition_matrix
from commlab.data import load_dataset
from commlab.engines.duck import DuckDBEngine

U = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731


def _data():
    members = pd.DataFrame({
        "community_id": ["c"] * 3, "member_id": ["a", "b", "n"],
        "joined_at": [U("2023-10-01"), U("2023-10-01"), U("2024-02-10")],
        "left_at": pd.Series([pd.NaT] * 3, dtype="datetime64[ns, UTC]"),
        "role": ["member"] * 3,
    })
    rows = []
    # a: speaks every day in January, then goes silent; b: silent until March, then speaks daily
    for d in pd.date_range("2024-01-01", "2024-01-31", freq="D", tz="UTC"):
        rows.append(("c", "a", d, "message", "b"))
    for d in pd.date_range("2024-02-02", "2024-02-29", freq="D", tz="UTC"):
        rows.append(("c", "b", d, "reply", "a"))
    rows.append(("c", "n", U("2024-02-25"), "message", None))
    ev = pd.DataFrame(rows, columns=["community_id", "member_id", "ts", "event_type", "target_member_id"])
    ev["amount"] = np.nan
    return ev, members


def speaker(f: pd.DataFrame) -> pd.Series:
    return pd.Series(np.where(f["recency_days"] <= 14, "speaking", "silent"), index=f.index)


def test_transitions_with_a_labeler():
    ev, mem = _data()
    tr = role_transitions(ev, mem, start="2024-01-01", end="2024-03-01", labeler=speaker)
    assert set(tr["period_start"].dt.strftime("%m")) == {"01", "02"}
    feb = tr[tr["period_start"] == U("2024-02-01")].set_index(["from_role", "to_role"])["count"]
    # as of Feb 1 a had spoken in the last 14 days; as of Mar 1 a is silent and b speaks
    assert feb[("speaking", "silent")] == 1 and feb[("silent", "speaking")] == 1
    assert feb[(JOINED, "speaking")] == 1  # n joined in February and spoke
    mat = transition_matrix(tr, order=["speaking", "silent"])
    assert list(mat.index) == [JOINED, "speaking", "silent"]
    assert mat.to_numpy().sum() == tr["count"].sum()
    share = transition_matrix(tr, normalize=True)
    assert np.allclose(share.sum(axis=1), 1.0)


def test_transitions_with_rule_roles():
    ev, mem = _data()
    th = RoleThresholds(newcomer_days=14, contributor_min_ugc_30d=5, core_min_ugc_30d=25, core_min_partners_in=0)
    snaps = role_snapshots(ev, mem, start="2024-02-01", end="2024-04-01", thresholds=th)
    role = snaps.set_index(["as_of", "member_id"])["role"]
    assert role[(U("2024-02-01"), "a")] == "core"  # 31 messages in 31 observed days
    assert role[(U("2024-03-01"), "a")] == "contributor"  # 31 messages over 60 observed days = 15.5 / 30 d
    assert role[(U("2024-04-01"), "a")] == "zombie"  # silent for 61 days > 60
    tr = role_transitions(ev, mem, start="2024-02-01", end="2024-04-01", thresholds=th)
    assert tr["count"].sum() == len(snaps) - (snaps["as_of"] == U("2024-02-01")).sum()


def test_needs_two_boundaries():
    ev, mem = _data()
    with pytest.raises(ValueError, match="two"):
        role_transitions(ev, mem, start="2024-01-05", end="2024-01-20")


def _edge_cases():
    """Two communities and the cases where a snapshot could differ from features at one instant."""
    nat = pd.NaT
    members = pd.DataFrame({
        "community_id": ["c", "c", "c", "c", "c", "d", "d", "d", "d"],
        "member_id": ["a", "b", "late", "gone", "boss", "x", "y", "on_time", "last"],
        "joined_at": [U("2023-12-01"), U("2023-12-01"), U("2024-02-15"), U("2023-12-01"), U("2023-11-01"),
                      U("2023-12-01"), U("2024-01-20"), U("2024-02-01"), U("2024-03-01")],  # two join at a boundary
        "left_at": pd.Series([nat, nat, nat, U("2024-02-01"), nat, nat, nat, nat, nat], dtype="datetime64[ns, UTC]"),
        "role": ["member", "member", "member", "member", "staff", "member", "member", "member", "member"],
    })
    rows = [
        ("c", "a", U("2024-01-01"), "message", None),  # exactly at the first boundary: counts for it
        ("c", "a", U("2024-01-01 00:00:01"), "purchase", None),  # one second later: the next
        ("c", "b", U("2023-12-05"), "reply", "a"),  # pair b -> a, first in bucket 0 ...
        ("c", "b", U("2024-02-20"), "reaction", "a"),  # ... and again later: still one partner
        ("c", "b", U("2024-01-15"), "reply", "b"),  # self-targeted: no partner
        ("c", "stranger", U("2024-01-10"), "mention", "a"),  # a source who is not a member
        ("c", "late", U("2024-02-01"), "message", None),  # before joining: counted once a member
        ("c", "late", U("2024-02-20"), "reply", "a"),
        ("c", "gone", U("2024-01-05"), "post", None),
        ("c", "boss", U("2024-01-06"), "reply", "a"),
        ("c", "a", U("2024-01-20"), "join", None),  # not activity
        ("c", "a", U("2024-03-05"), "message", None),  # after the last boundary
        ("d", "x", U("2024-02-03"), "message", "y"),  # community d starts after the first boundary
        ("d", "y", U("2024-02-04"), "reply", "x"),
        ("d", "x", U("2024-02-05"), "purchase", None),
    ]
    ev = pd.DataFrame(rows, columns=["community_id", "member_id", "ts", "event_type", "target_member_id"])
    ev["amount"] = np.where(ev["event_type"] == "purchase", 9.5, np.nan)
    return ev, members


def _assert_snapshots_equal_features(ev, mem, bounds):
    snaps = DuckDBEngine().snapshot_features(ev, mem, bounds=bounds)
    assert list(snaps.columns) == ["as_of", "community_id", "member_id", *ROLE_FEATURE_IDS]
    assert set(snaps["as_of"]) == set(bounds)
    for b in bounds:
        want = member_features(ev, mem, as_of=b)[["community_id", "member_id", *ROLE_FEATURE_IDS]]
        got = snaps[snaps["as_of"] == b].drop(columns="as_of").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    return snaps


def test_snapshot_features_equal_member_features_at_each_instant():
    ev, mem = _edge_cases()
    bounds = list(pd.date_range("2024-01-01", "2024-03-01", freq="MS", tz="UTC"))
    snaps = _assert_snapshots_equal_features(ev, mem, bounds)
    at = snaps.set_index(["as_of", "community_id", "member_id"])
    assert at.loc[(U("2024-01-01"), "c", "a"), "n_events"] == 1
    assert at.loc[(U("2024-02-01"), "c", "a"), "purchases"] == 1
    assert at.loc[(U("2024-03-01"), "c", "a"), "partners_in"] == 4  # b, stranger, boss, late
    assert (U("2024-02-01"), "c", "late") not in at.index and at.loc[(U("2024-03-01"), "c", "late"), "n_events"] == 2
    assert at.loc[(U("2024-02-01"), "c", "gone"), "has_left"]  # left exactly then
    assert at.loc[(U("2024-02-01"), "d", "on_time"), "tenure_days"] == 0
    assert at.loc[(U("2024-03-01"), "d", "last"), "tenure_days"] == 0


def test_snapshot_features_on_the_samples_and_roles_as_with_a_labeler(samples_dir):
    ds = load_dataset(samples_dir)
    now = ds.events["ts"].max()
    bounds = list(pd.date_range(now - pd.DateOffset(months=6), now, freq="MS"))
    _assert_snapshots_equal_features(ds.events, ds.members, bounds)
    th = RoleThresholds(core_min_partners_in=2)
    fast = role_snapshots(ds.events, ds.members, start=bounds[0], end=now, thresholds=th)
    slow = role_snapshots(ds.events, ds.members, start=bounds[0], end=now, labeler=lambda f: assign_roles(f, th))
    pd.testing.assert_frame_equal(fast, slow)
    assert fast["role"].nunique() >= 4


def test_snapshot_bounds_must_increase():
    ev, mem = _edge_cases()
    with pytest.raises(ValueError, match="increasing"):
        DuckDBEngine().snapshot_features(ev, mem, bounds=["2024-02-01", "2024-01-01"])


class _PerInstantEngine:
    """An engine with member features only (as Spark): role_snapshots runs one query per instant."""

    def __init__(self):
        self.calls = 0

    def member_features(self, events, members, *, as_of, staff_roles):
        self.calls += 1
        return DuckDBEngine().member_features(events, members, as_of=as_of, staff_roles=staff_roles)


def test_an_engine_without_snapshots_gives_the_same_roles():
    ev, mem = _edge_cases()
    th = RoleThresholds(newcomer_days=20, core_min_ugc_30d=0.5, core_min_partners_in=2)
    eng = _PerInstantEngine()
    slow = role_snapshots(ev, mem, start="2024-01-01", end="2024-03-01", thresholds=th, engine=eng)
    assert eng.calls == 3
    fast = role_snapshots(ev, mem, start="2024-01-01", end="2024-03-01", thresholds=th)
    pd.testing.assert_frame_equal(fast, slow)
    assert {"core", "zombie", "newcomer", "staff"} <= set(fast["role"])


def test_rule_transitions_counted_from_codes_equal_the_named_tables(monkeypatch, samples_dir):
    """The rule-role path counts moves from role codes (no per-instant table of names in pandas): the same
    table as the named path (a labeler applying the same rules, one feature query per instant), and
    never through ``snapshot_features``."""

    def no_named_snapshots(*a, **kw):
        raise AssertionError("the rule-role transitions built the named snapshot table")

    th = RoleThresholds(newcomer_days=20, core_min_ugc_30d=0.5, core_min_partners_in=2)
    ev, mem = _edge_cases()
    named = role_transitions(ev, mem, start="2024-01-01", end="2024-03-01", thresholds=th,
                             labeler=lambda f: assign_roles(f, th))
    monkeypatch.setattr(DuckDBEngine, "snapshot_features", no_named_snapshots)
    coded = role_transitions(ev, mem, start="2024-01-01", end="2024-03-01", thresholds=th)
    pd.testing.assert_frame_equal(coded, named)
    assert {JOINED, "staff", "zombie"} <= set(coded["from_role"])

    ds = load_dataset(samples_dir)
    now = pd.Timestamp("2024-06-30T16:00:00Z")
    named = role_transitions(ds.events_source, ds.members, start=now - pd.DateOffset(months=6), end=now,
                             labeler=assign_roles)
    coded = role_transitions(ds.events_source, ds.members, start=now - pd.DateOffset(months=6), end=now,
                             engine=DuckDBEngine(memory_limit="500MB", threads=1))
    pd.testing.assert_frame_equal(coded, named)
    assert coded["count"].sum() > 10_000 and coded["period_start"].nunique() == 5


def test_rule_transitions_over_many_boundaries():
    """Daily boundaries (129 instants, more than a signed byte numbers) count as the named snapshots say."""
    ev, mem = _edge_cases()
    th = RoleThresholds(newcomer_days=20, core_min_ugc_30d=0.5, core_min_partners_in=2)
    coded = role_transitions(ev, mem, start="2023-11-01", end="2024-03-08", freq="D", thresholds=th)
    snaps = role_snapshots(ev, mem, start="2023-11-01", end="2024-03-08", freq="D", thresholds=th)
    keys = ["community_id", "member_id"]
    instants = sorted(snaps["as_of"].unique())
    assert len(instants) == 129 and coded["period_start"].nunique() == 128
    for prev, cur in zip(instants[:-1], instants[1:], strict=True):
        m = snaps[snaps["as_of"] == cur].merge(snaps[snaps["as_of"] == prev], on=keys, how="left")
        want = m.assign(role_y=m["role_y"].fillna(JOINED)).groupby(["role_y", "role_x"]).size()
        got = coded[coded["period_end"] == cur].set_index(["from_role", "to_role"])["count"]
        assert got.to_dict() == want.to_dict(), cur


def _random_data(seed: int):
    """Random members and events: unknown sources and targets, self-interactions, staff, members who leave,
    members who join after the last instant, events exactly at an instant."""
    rng = np.random.default_rng(seed)
    n_mem = 60
    members = pd.DataFrame({
        "community_id": rng.choice(["c", "d", "e"], n_mem),
        "member_id": [f"m{i}" for i in range(n_mem)],
        "joined_at": U("2023-11-01") + pd.to_timedelta(rng.integers(0, 150, n_mem), unit="D"),
        "left_at": pd.Series(np.where(rng.random(n_mem) < 0.2, U("2024-02-10"), pd.NaT),
                             dtype="datetime64[ns, UTC]"),
        "role": rng.choice(["member", "member", "member", "staff"], n_mem),
    })
    n_ev = 700
    ids = [*members["member_id"], "ghost1", "ghost2"]
    bounds = [U("2024-01-01"), U("2024-02-01"), U("2024-03-01")]
    ts = U("2023-11-15") + pd.to_timedelta(rng.integers(0, 140 * 24, n_ev), unit="h")
    ts = ts.where(rng.random(n_ev) > 0.05, bounds[1])
    ev = pd.DataFrame({
        "community_id": rng.choice(["c", "d", "e"], n_ev), "member_id": rng.choice(ids, n_ev), "ts": ts,
        "event_type": rng.choice(["message", "reply", "mention", "reaction", "purchase", "post", "join"], n_ev),
        "target_member_id": np.where(rng.random(n_ev) < 0.6, rng.choice(ids, n_ev), None),
    })
    ev["amount"] = np.where(ev["event_type"] == "purchase", 3.0, np.nan)
    return ev, members, bounds


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numbered_role_features_equal_the_snapshot_features_on_random_data(seed):
    """The role-feature query of the coded path (members numbered, joins on a members table) gives every
    feature of the former snapshot query, value for value, at every instant; and the transitions equal
    those of the named path (one feature query per instant)."""
    from commlab.analysis.transitions import role_feature_frames, role_members_sql

    ev, mem, bounds = _random_data(seed)
    eng = DuckDBEngine()
    want = eng.snapshot_features(ev, mem, bounds=bounds)
    con = eng.connect()
    try:
        v = eng.register_tables(con, events=ev, members=mem)
        con.execute(f"CREATE TEMP TABLE role_members AS {role_members_sql(v['events'], v['members'], bounds[-1])}")
        names = con.execute("SELECT m, community_id, member_id FROM role_members").df()
        got = pd.concat([f.assign(k=k, m=m) for k, m, f in role_feature_frames(con, v["events"], "role_members",
                                                                                bounds)], ignore_index=True)
    finally:
        con.close()
    got = got.merge(names, on="m").sort_values(["k", "community_id", "member_id"], ignore_index=True)
    got = got[["k", "community_id", "member_id", *ROLE_FEATURE_IDS]]
    got.insert(0, "as_of", pd.Series(bounds)[got.pop("k")].to_numpy())
    assert len(got) == len(want) > 100
    for c in want.columns:
        a, b = got[c].to_numpy(), want[c].to_numpy()
        if c == "as_of":
            assert (pd.DatetimeIndex(a) == pd.DatetimeIndex(b)).all()
        elif a.dtype.kind == "f" or b.dtype.kind == "f":
            np.testing.assert_array_equal(a.astype(float), b.astype(float), err_msg=c)
        else:
            assert (a == b).all(), c
    assert want["partners_in"].max() > 1 and (want["n_events"] == 0).any()
    th = RoleThresholds(newcomer_days=20, core_min_ugc_30d=2, core_min_partners_in=2)
    coded = role_transitions(ev, mem, start=bounds[0], end=bounds[-1], thresholds=th)
    named = role_transitions(ev, mem, start=bounds[0], end=bounds[-1], thresholds=th,
                             labeler=lambda f: assign_roles(f, th))
    pd.testing.assert_frame_equal(coded, named)


@pytest.mark.parametrize("bad", [[], [pd.Timestamp("2024-01-01")],
                                 [pd.Timestamp("2024-02-01", tz="UTC"), pd.Timestamp("2024-01-01", tz="UTC")]])
def test_both_snapshot_queries_refuse_empty_naive_or_unordered_bounds(bad):
    """The feature snapshots and the numbered role features bucket events by their bounds: one check for both."""
    from commlab.analysis.features_sql import snapshot_features_sql
    from commlab.analysis.transitions import role_bucket_sql
    from commlab.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="bounds"):
        snapshot_features_sql("events", "members", bad)
    with pytest.raises(InvalidArgument, match="bounds"):
        role_bucket_sql("events", "mm", bad)
