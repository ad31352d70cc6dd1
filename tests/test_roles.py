"""Rule roles and the Orbit model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from commlab.analysis.features import member_features
from commlab.analysis.orbit import orbit_levels, orbit_love, orbit_table
from commlab.analysis.roles import ROLE, ROLE_ORDER, RoleThresholds, assign_roles, buyer_flag, role_accuracy
from commlab.data import load_dataset

U = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731
SAMPLES_AS_OF = U("2024-06-30T16:00:00")  # end of the sample window (2024-07-01 Asia/Shanghai)


def _features(**over) -> pd.DataFrame:
    base = {"tenure_days": 200.0, "observed_days": 180.0, "recency_days": 2.0, "n_events": 50, "ugc": 40,
            "ugc_30d": 40 * 30 / 180, "partners_in": 10, "purchases": 0, "is_staff": False, "has_left": False}
    base.update(over)
    return pd.DataFrame([base])


@pytest.mark.parametrize(("over", "role"), [
    ({"is_staff": True}, "staff"),
    ({"tenure_days": 10.0}, "newcomer"),
    ({"n_events": 0, "ugc": 0, "ugc_30d": 0.0, "recency_days": np.nan}, "zombie"),
    ({"recency_days": 90.0}, "zombie"),
    ({"has_left": True}, "zombie"),
    ({"recency_days": 40.0}, "churn_risk"),
    ({"purchases": 4, "ugc": 1, "ugc_30d": 0.2, "n_events": 6}, "buyer"),
    ({"ugc_30d": 35.0}, "core"),
    ({"ugc_30d": 35.0, "partners_in": 1}, "contributor"),
    ({"ugc_30d": 6.0}, "contributor"),
    ({"ugc_30d": 2.0}, "ordinary"),
    ({"ugc_30d": 0.1, "ugc": 0, "n_events": 3}, "lurker"),
])
def test_each_rule(over, role):
    assert assign_roles(_features(**over)).iloc[0] == role


def test_thresholds_are_parameters():
    f = _features(ugc_30d=6.0)
    assert assign_roles(f).iloc[0] == "contributor"
    assert assign_roles(f, RoleThresholds(contributor_min_ugc_30d=10)).iloc[0] == "ordinary"
    assert RoleThresholds().to_dict()["zombie_days"] == 60.0


def test_roles_have_labels_and_buyer_flag():
    assert all(ROLE[r].zh and ROLE[r].en for r in ROLE_ORDER)
    assert ROLE.label("lurker", "zh") == "潜水" and ROLE.label("zombie", "zh") == "僵尸粉"
    assert list(buyer_flag(pd.DataFrame({"purchases": [0, 1, 5]}))) == [False, True, True]


def test_role_accuracy_table():
    acc = role_accuracy(pd.Series(["a", "a", "b", "b"]), pd.Series(["a", "b", "b", "b"]))
    assert acc.loc["b", "accuracy"] == pytest.approx(2 / 3) and acc.loc["a", "precision"] == pytest.approx(0.5)
    assert acc.loc["all", "accuracy"] == pytest.approx(0.75)


@pytest.fixture(scope="module")
def sample_features(samples_dir):
    ds = load_dataset(samples_dir)
    f = member_features(ds.events, ds.members, as_of=SAMPLES_AS_OF)
    truth = pd.read_csv(samples_dir / "truth" / "member_roles.csv", dtype=str)
    return f.merge(truth, on=["community_id", "member_id"], how="left", validate="1:1")


def test_rule_roles_recover_planted_roles_on_samples(sample_features):
    f = sample_features[sample_features["planted_role"] != "guest"]  # an invited expert: no segment role
    truth = f["planted_role"].replace({"bot": "staff"})
    acc = role_accuracy(assign_roles(f), truth)
    print(acc.round(3))
    assert set(truth) <= set(ROLE_ORDER)
    assert acc.loc["all", "accuracy"] >= 0.9
    assert (acc.drop(index="all")["accuracy"] >= 0.85).all(), acc


def test_orbit_love_decays_by_month():
    ev = pd.DataFrame({"community_id": ["c"] * 3, "member_id": ["a", "a", "b"],
                       "ts": [U("2024-06-20"), U("2024-04-20"), U("2024-06-25")],
                       "event_type": ["post", "post", "reaction"]})
    mem = pd.DataFrame({"community_id": ["c"] * 3, "member_id": ["a", "b", "z"],
                        "joined_at": [U("2024-01-01")] * 3})
    love = orbit_love(ev, mem, as_of=U("2024-06-30"), weights={"post": 1.0, "reaction": 0.5})
    # the April post is 71 days = 2 whole months ago
    assert love.loc[("c", "a")] == pytest.approx(1.0 + 0.9 ** 2)
    assert love.loc[("c", "b")] == pytest.approx(0.5) and love.loc[("c", "z")] == 0.0
    assert list(orbit_levels(pd.Series([2.0, 1.5, 1.2, 0.5, 0.49]))) == [1, 1, 2, 3, 4]
    tab = orbit_table(ev, mem, as_of=U("2024-06-30"), weights={"post": 1.0, "reaction": 0.45}, margin=0.1)
    b = tab[tab["member_id"] == "b"].iloc[0]
    assert b["orbit_level"] == 4 and b["to_next_level"] == pytest.approx(0.05) and b["near_next_level"]
    assert not tab[tab["member_id"] == "z"].iloc[0]["near_next_level"]
    assert np.isnan(tab[tab["member_id"] == "a"].iloc[0]["to_next_level"])
