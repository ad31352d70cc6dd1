"""BG/NBD: recovery of known parameters from simulated data, predictions, RFM from events."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from commlab.analysis.lifecycle import BetaGeoModel, member_p_alive, rfm_from_events, simulate_bgnbd, zombie_share
from commlab.errors import NotFittedError

TRUE = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}


@pytest.fixture(scope="module")
def simulated():
    return simulate_bgnbd(4000, 52.0, random_state=20240601, **TRUE)


@pytest.fixture(scope="module")
def fitted(simulated):
    d = simulated
    return BetaGeoModel().fit(d["frequency"], d["recency"], d["T"])


def test_fit_recovers_the_simulated_parameters(fitted):
    s = fitted.summary()
    print(s.round(3))
    for name, true in TRUE.items():
        est, se = s.loc[name, "value"], s.loc[name, "se"]
        assert abs(est - true) / true < 0.35, (name, est)
        assert abs(est - true) < 3.5 * se, (name, est, se)  # consistent with its own standard error
    assert np.isfinite(s["se"]).all()


def test_repr_and_summary_are_readable(fitted):
    text = repr(fitted)
    assert text.startswith("BetaGeoModel(r=") and "4000 members" in text
    assert list(fitted.summary().columns) == ["value", "se", "lower_95", "upper_95"]
    assert "not fitted" in repr(BetaGeoModel())
    with pytest.raises(NotFittedError, match="not fitted"):
        BetaGeoModel().p_alive([1], [1], [2])


def test_p_alive_and_expected_activity_behave(fitted):
    m = fitted
    assert m.p_alive([0], [0], [30])[0] == 1.0  # no repeat activity: the model cannot see a drop-out
    recent, stale = m.p_alive([5, 5], [29, 5], [30, 30])
    assert recent > 0.8 > stale
    assert m.expected_activity(10) < m.expected_activity(20)
    heavy, light = m.expected_activity(10, [10, 1], [29, 29], [30, 30])
    assert heavy > light > 0


def test_expected_activity_matches_simulation(simulated, fitted):
    # the mean number of repeat periods by age 52 predicted by the model equals the simulated mean
    pred = fitted.expected_activity(52.0)
    assert pred == pytest.approx(simulated["frequency"].mean(), rel=0.1)


@pytest.mark.parametrize("penalizer", [0.0, 0.01])
def test_analytic_gradient_matches_finite_differences(simulated, penalizer):
    from scipy.optimize import approx_fprime

    from commlab.analysis.lifecycle import _compress

    d = _compress(simulated["frequency"], simulated["recency"], simulated["T"])
    model = BetaGeoModel(penalizer=penalizer)
    for logp in (np.log(list(TRUE.values())), np.zeros(4), np.array([-3.0, 2.0, 1.0, -1.0])):
        value, grad = model._nll_grad(logp, d)
        assert value == pytest.approx(model._nll(logp, d))
        numeric = approx_fprime(logp, model._nll, 1e-7, d)
        np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-6)


def test_zombie_share_has_an_interval(simulated):
    z = zombie_share(simulated.iloc[:300], n_boot=10, random_state=0)
    assert 0 <= z["lower"] <= z["upper"] <= 1
    assert z["lower"] - 0.05 <= z["share"] <= z["upper"] + 0.05  # 10 percentile draws: allow some slack
    assert 0.05 < z["share"] < 0.6  # about a quarter of simulated members have dropped out
    assert z["n"] == 300 and z["threshold"] == 0.5


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="recency"):
        BetaGeoModel().fit([1], [5], [3])
    with pytest.raises(ValueError, match="missing"):
        BetaGeoModel().fit([1, np.nan], [1, 1], [3, 3])


def test_rfm_from_events_days_and_weeks():
    U = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731
    ev = pd.DataFrame({
        "community_id": ["c"] * 6, "member_id": ["a", "a", "a", "a", "b", "b"],
        "ts": [U("2024-06-03 09:00"), U("2024-06-03 20:00"), U("2024-06-05"), U("2024-06-12"),
               U("2024-06-10"), U("2024-07-10")],
        "event_type": ["message", "reply", "reaction", "post", "join", "message"],
    })
    rfm = rfm_from_events(ev, as_of=U("2024-06-20 12:00"), period="D").set_index("member_id")
    assert list(rfm.index) == ["a"]  # b only joined (the July message is after as_of)
    assert rfm.loc["a", ["frequency", "recency", "T"]].tolist() == [2.0, 9.0, 17.0]
    w = rfm_from_events(ev, as_of=U("2024-06-20 12:00"), period="W").set_index("member_id")
    assert w.loc["a", ["frequency", "recency", "T"]].tolist() == [1.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="period"):
        rfm_from_events(ev, as_of=U("2024-06-20"), period="M")


def test_rfm_counts_periods_across_blocks_and_before_1970():
    """Active periods are counted per block of 63 periods: days far apart, a block edge and days before
    the period origin (Monday 1970-01-05) count once each, as in the naive oracle."""
    from commlab.analysis.naive import naive_rfm

    U = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731
    days = [U("1969-12-31 23:00"), U("1970-01-04"), U("1970-01-05"), U("1970-01-05 18:00"), U("1970-03-08"),
            U("1970-03-09"), U("2024-06-01"), U("2024-06-01 01:00"), U("2024-06-30")]
    ev = pd.DataFrame({"community_id": "c", "member_id": "a", "ts": days, "event_type": "message"})
    now = U("2024-07-01")
    for period in ("D", "W"):
        got = rfm_from_events(ev, as_of=now, period=period)
        want = naive_rfm(ev, as_of=now, period=period)
        cols = ["frequency", "recency", "T"]
        assert got[cols].to_numpy().tolist() == want[cols].to_numpy().tolist()
    assert rfm_from_events(ev, as_of=now)["frequency"].iloc[0] == 6.0  # 7 distinct days


def test_member_p_alive_aligns(fitted):
    rfm = pd.DataFrame({"frequency": [0.0, 3.0], "recency": [0.0, 2.0], "T": [10.0, 40.0]}, index=[7, 9])
    p = member_p_alive(fitted, rfm)
    assert list(p.index) == [7, 9] and p.iloc[0] == 1.0 and p.iloc[1] < 0.5


def test_projected_gradient_ignores_components_pushing_against_a_bound():
    from commlab.analysis.lifecycle import _LOG_BOUNDS, _projected_gradient

    lo, hi = _LOG_BOUNDS
    # a on its lower bound with the descent direction (-gradient) pointing below it: cannot move
    assert _projected_gradient(np.array([0.1, 1.0, lo, hi]), np.array([1e-7, -2e-7, 0.5, -0.3])) == 2e-7
    # the same components pointing back inside the bounds still count
    assert _projected_gradient(np.array([0.1, 1.0, lo, hi]), np.array([1e-7, -2e-7, -0.5, 0.3])) == 0.5


def test_rfm_from_events_with_an_engine_equals_the_oracle(samples_dir):
    """The RFM query run on a given DuckDB engine (its memory limit, its threads) equals the default run and
    the naive pandas oracle, member by member."""
    from commlab.analysis.naive import naive_rfm
    from commlab.data import load_dataset
    from commlab.engines.duck import DuckDBEngine

    ds = load_dataset(samples_dir, communities=["c01", "c04"])
    now = pd.Timestamp("2024-06-30T16:00:00Z")
    for period in ("D", "W"):
        got = rfm_from_events(ds.events_source, as_of=now, period=period,
                              engine=DuckDBEngine(memory_limit="300MB", threads=1))
        pd.testing.assert_frame_equal(got, rfm_from_events(ds.events, as_of=now, period=period))
        want = naive_rfm(ds.events, as_of=now, period=period)
        keys = ["community_id", "member_id"]
        both = got.merge(want, on=keys, suffixes=("", "_naive"))
        assert len(both) == len(got) == len(want) > 500
        for c in ("frequency", "recency", "T"):
            assert (both[c] == both[f"{c}_naive"]).all(), c


@pytest.fixture(scope="module")
def stored_samples(tmp_path_factory, samples_dir):
    """The stored events of the samples loaded through a data cache (in the entry's Parquet file), and
    the same events read into a DataFrame."""
    from commlab.data import load_dataset
    from commlab.data.stored import StoredEvents

    cache = tmp_path_factory.mktemp("cache")
    load_dataset(samples_dir, cache=cache)  # the first load writes the entry, the second reads it
    ds = load_dataset(samples_dir, cache=cache, communities=["c01", "c04"])
    src = ds.events_source
    assert isinstance(src, StoredEvents) and src.cache is not None
    return src, src.read()


def _rfm_keyed(monkeypatch) -> list:
    """Spy on the grouping by member key: what each call returned (None: it declined)."""
    from commlab.analysis import lifecycle

    seen: list = []
    real = lifecycle._rfm_by_member_hash

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        seen.append(out)
        return out

    monkeypatch.setattr(lifecycle, "_rfm_by_member_hash", spy)
    return seen


def _assert_rfm_equals_oracle(got, events, now, period, least=500):
    from commlab.analysis.naive import naive_rfm

    want = naive_rfm(events, as_of=now, period=period)
    assert len(got) == len(want) > least
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


@pytest.mark.parametrize("period", ["D", "W"])
def test_rfm_on_stored_events_groups_by_member_key_and_equals_the_oracle(stored_samples, monkeypatch, period):
    """Events of a data cache entry are grouped by a 64-bit key of (community, member) and named back
    from the entry's members table: the same table as the naive oracle, member by member."""
    seen = _rfm_keyed(monkeypatch)
    now = pd.Timestamp("2024-06-30T16:00:00Z")
    src, events = stored_samples
    got = rfm_from_events(src, as_of=now, period=period)
    assert len(seen) == 1 and seen[0] is not None  # the key path ran and was kept
    _assert_rfm_equals_oracle(got, events, now, period)


def test_rfm_member_key_collision_groups_by_names(stored_samples, monkeypatch):
    """A key shared by several members (forced: the key of the community alone) is found on the members
    table; the query groups by the names instead and still equals the oracle. Without the check, the
    members of a community would be one row."""
    from commlab.analysis import lifecycle

    monkeypatch.setattr(lifecycle, "_MEMBER_HASH", "hash(CAST(community_id AS VARCHAR))")
    seen = _rfm_keyed(monkeypatch)
    now = pd.Timestamp("2024-06-30T16:00:00Z")
    src, events = stored_samples
    got = rfm_from_events(src, as_of=now)
    assert seen == [None]
    _assert_rfm_equals_oracle(got, events, now, "D")


def test_rfm_event_by_a_member_missing_from_the_entry_groups_by_names(stored_samples, monkeypatch, tmp_path):
    """An entry whose members table lacks members with events (not what load_dataset writes, but a file
    can be edited): their keys find no name, and the query groups by the names instead."""
    import shutil

    from commlab.data.stored import StoredEvents

    src, frame = stored_samples
    entry = tmp_path / "entry"
    shutil.copytree(src.path.parent, entry)
    members = pd.read_parquet(entry / "members.parquet")
    members.iloc[::3].to_parquet(entry / "members.parquet", index=False)
    events = StoredEvents(entry / "events.parquet", src.communities, cache=tmp_path)
    seen = _rfm_keyed(monkeypatch)
    now = pd.Timestamp("2024-06-30T16:00:00Z")
    got = rfm_from_events(events, as_of=now)
    assert seen == [None]
    _assert_rfm_equals_oracle(got, frame, now, "D")


@pytest.mark.parametrize("seed", [4, 5])
def test_rfm_on_a_keyed_store_groups_by_the_stored_key_and_equals_the_oracle(tmp_path, monkeypatch, seed):
    """Stored events with the import's member keys are grouped by the key (not by a hash of the ids, nor the
    names) and named back from the keys' table: the naive oracle's table, restricted to communities too (ids
    repeated across communities, Chinese ids). A key with no name in the table falls back to the hash."""
    from commlab.analysis import lifecycle
    from commlab.data import load_dataset
    from commlab.data.stored import MEMBER_KEY
    from test_member_keys import _data

    d, _ = _data(tmp_path / "d", seed)
    ds = load_dataset(d, cache=tmp_path / "cache", stream=True)
    src = ds.events_source
    assert src.keys is not None
    keyed, hashed = [], _rfm_keyed(monkeypatch)
    real = lifecycle._rfm_by_stored_key
    monkeypatch.setattr(lifecycle, "_rfm_by_stored_key", lambda *a, **k: keyed.append(real(*a, **k)) or keyed[-1])
    now = pd.Timestamp("2024-06-15T10:00:00Z")
    for period in ("D", "W"):
        got = rfm_from_events(src, as_of=now, period=period)
        assert keyed[-1] is not None and hashed == []  # the stored key, kept; no hash
        _assert_rfm_equals_oracle(got, src.read(), now, period, least=100)
    two = load_dataset(d, cache=tmp_path / "cache", stream=True, communities=["社群乙", "c3"])
    got = rfm_from_events(two.events_source, as_of=now)
    assert keyed[-1] is not None and set(got["community_id"]) == {"社群乙", "c3"}
    _assert_rfm_equals_oracle(got, two.events_source.read(), now, "D", least=50)
    # a keys' table missing a key: the hash of the ids instead, same table
    table = pd.read_parquet(src.keys)
    table[table[MEMBER_KEY] != table[MEMBER_KEY].iloc[5]].to_parquet(src.keys, index=False)
    got = rfm_from_events(src, as_of=now)
    assert keyed[-1] is None and len(hashed) == 1 and hashed[0] is not None
    _assert_rfm_equals_oracle(got, src.read(), now, "D", least=100)
