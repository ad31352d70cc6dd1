"""The community panel: periods since each community's own start, and no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from commlab.analysis.compute import compute_metrics
from commlab.analysis.metrics import REGISTRY, Metric, register
from commlab.analysis.panel import PERIODS, community_panel, panel_metric_columns, panel_periods
from commlab.cli import main
from commlab.data.generate_fates import generate_fates, write_fates

METRICS = ["members", "active_share_30d", "core_share", "ugc_share", "median_first_response_hours",
           "lurker_share", "zombie_share", "early_survival_ratio", "retention_30d", "member_to_member_share",
           "kcore_size", "degree_centralization"]


@pytest.fixture(scope="module")
def fates():
    return generate_fates(24, young=4, members=(4, 7), seed=11)


def _tables(d, events=None, members=None):
    return {"communities": d.communities, "members": d.members if members is None else members,
            "events": d.events if events is None else events}


@pytest.fixture
def leaky_metric():
    """A metric whose SQL counts every event of the community, whatever its time: it reads the future."""
    m = register(Metric(
        "test_all_events_ever", "全部事件", "all events ever", "every event, later ones included (test only)",
        "count(*)", "count", None, "test",
        sql="SELECT p.community_id, p.period, count(*) AS value FROM periods p "
            "JOIN ev e ON e.community_id = p.community_id GROUP BY p.community_id, p.period"))
    yield m.id
    del REGISTRY[m.id]


def test_periods_are_since_each_communitys_creation_and_complete():
    communities = pd.DataFrame({"community_id": ["a", "b"],
                                "created_at": pd.to_datetime(["2024-01-01T00:00", "2024-03-10T12:00"], utc=True)})
    p = panel_periods(communities, as_of="2024-04-15", period="month")
    a, b = p[p["community_id"] == "a"], p[p["community_id"] == "b"]
    # a: 105 days -> 3 complete 30-day periods; b: 36 days -> 1
    assert a["period"].tolist() == [1, 2, 3] and b["period"].tolist() == [1]
    assert a["p_start"].iloc[1] == pd.Timestamp("2024-01-31", tz="UTC")
    assert a["p_end"].iloc[0] == pd.Timestamp("2024-01-31", tz="UTC") - pd.Timedelta(microseconds=1)
    w = panel_periods(communities, as_of="2024-01-22", period="week")
    assert w["period"].tolist() == [1, 2, 3] and (w["p_end"] - w["p_start"]).eq(
        PERIODS["week"] - pd.Timedelta(microseconds=1)).all()
    assert panel_periods(communities, as_of={"a": "2024-01-03", "b": "2024-03-12T12:00"}, period="day")[
        "period"].tolist() == [1, 2, 1, 2]
    with pytest.raises(ValueError, match="period must be one of"):
        panel_periods(communities, as_of="2024-04-15", period="quarter")


def test_no_feature_at_period_k_reads_an_event_after_period_k(fates, leaky_metric):
    """Move every event after the end of period k (and every later departure); periods 1..k do not move."""
    metrics = [*METRICS, leaky_metric]
    k = 2
    base = community_panel(_tables(fates), as_of=fates.as_of, metrics=metrics, max_periods=3)
    ends = base[base["period"] == k].set_index("community_id")["p_end"]
    cid = fates.events["community_id"].astype(str)
    late = (fates.events["ts"] > cid.map(ends)).to_numpy()
    assert late.sum() > 1000  # the future is substantial
    events = fates.events.copy()
    events.loc[late, "ts"] = events.loc[late, "ts"] + pd.Timedelta(days=17)
    extra = events[late].copy()  # and twice as much of it, from other members
    extra["member_id"] = extra["member_id"].sample(frac=1.0, random_state=1).to_numpy()
    extra = extra.assign(target_member_id=pd.NA, thread_id=pd.NA)
    events = pd.concat([events, extra], ignore_index=True)
    members = fates.members.copy()
    mid = members["community_id"].astype(str).map(ends)
    later = members["left_at"].notna() & (members["left_at"] > mid)
    members.loc[later, "left_at"] = pd.NaT
    moved = community_panel(_tables(fates, events, members), as_of=fates.as_of, metrics=metrics, max_periods=3)
    keys = ["community_id", "period"]
    a = base[base["period"] <= k].set_index(keys).sort_index()
    b = moved[moved["period"] <= k].set_index(keys).sort_index()
    pd.testing.assert_frame_equal(a, b)
    later_rows = base[base["period"] > k].set_index(keys)
    assert not later_rows.equals(moved[moved["period"] > k].set_index(keys))  # the change is real
    # the check has teeth: the engine without the cut lets the leaky metric see the moved future
    at = {c: e for c, e in ends.items()}
    starts = base[base["period"] == k].set_index("community_id")["p_start"].to_dict()
    some = fates.communities[fates.communities["community_id"].isin(list(at))]
    raw = [compute_metrics({**t, "communities": some}, as_of=at, window=None, start=starts,
                           metrics=[leaky_metric]).sort_values("community_id")["value"].to_numpy()
           for t in (_tables(fates), _tables(fates, events, members))]
    assert not np.array_equal(raw[0], raw[1])
    cut = a.xs(k, level="period")[leaky_metric].sort_index().to_numpy()
    assert (cut < raw[0]).all()  # the panel's value is cut at the end of period k


def test_young_and_dormant_communities_leave_the_panel(fates):
    panel = community_panel(_tables(fates), as_of=fates.as_of, metrics=["members", "active_share_30d"])
    last = panel.groupby("community_id")["period"].max()
    truth = fates.truth.set_index("community_id")
    young = truth.index[truth["cohort"] == "young"]
    assert (last[young] <= 3).all()  # created 30-100 days before the end
    died = truth[(truth["cohort"] == "old") & (truth["died"] == 1)]
    # a dying community goes quiet in its death month: its last row is before it
    assert (last[died.index] < died["death_month"]).all()
    alive = truth.index[(truth["cohort"] == "old") & (truth["died"] == 0)]
    assert (last[alive] >= 12).all()
    assert panel_metric_columns(panel) == ["members", "active_share_30d"]
    kept = community_panel(_tables(fates), as_of=fates.as_of, metrics=["members"], dormant_days=None)
    assert (kept.groupby("community_id")["period"].max()[died.index] >= 12).all()


def test_commlab_panel_writes_a_csv(tmp_path, capsys):
    write_fates(tmp_path / "data", n_communities=8, young=2, members=(3, 5), seed=3)
    out = tmp_path / "panel.csv"
    code = main(["panel", str(tmp_path / "data"), "--as-of", "2024-02-24T16:00:00Z", "--out", str(out),
                 "--metrics", "members,core_share", "--max-periods", "2", "--tz", "UTC"])
    assert code == 0
    assert "10 communities" in capsys.readouterr().out
    panel = pd.read_csv(out)
    assert list(panel.columns) == ["community_id", "period", "p_start", "p_end", "members", "core_share"]
    assert panel["period"].max() == 2
    assert main(["panel", str(tmp_path / "data"), "--as-of", "2024-02-24", "--out", str(out),
                 "--metrics", "no_such_metric"]) == 2
    assert "unknown metric 'no_such_metric'" in capsys.readouterr().err
    assert main(["panel", str(tmp_path / "nothing"), "--as-of", "2024-02-24", "--out", str(out)]) == 2
