"""Month-over-month transitions between roles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from commlab.analysis.roles import RoleThresholds
from commlab.analysis.transitions import JOINED, role_snapshots, role_transitions, transition_matrix

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
