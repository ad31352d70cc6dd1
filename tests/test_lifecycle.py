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
