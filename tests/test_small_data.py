"""The fast lane's walk through the package on the small data set (tests/small_data.py).

Each test covers a module that the other fast tests leave out (the notebooks use it; the slow tests
run the notebooks) and checks it against what the small data set must give.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from small_data import AS_OF, COMMUNITIES, write_small_data

matplotlib.use("Agg")


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small data set's folder (generated once per test process)."""
    return write_small_data(tmp_path_factory.mktemp("small"))


@pytest.fixture(scope="session")
def small(small_dir: Path):
    """The small data set, loaded and validated."""
    from commlab.data.load import load_dataset

    return load_dataset(small_dir)


def test_the_small_data_set_is_small_and_valid(small):
    assert list(small.communities["community_id"]) == list(COMMUNITIES)
    assert 5_000 < len(small.events) < 30_000 and 300 < len(small.members) < 1_000
    assert set(small.communities["lifecycle"]) == {"mature", "startup"}
    assert set(small.communities["economy"]) == {"community", "fan"}


def test_overview_figures_on_the_small_data(small):
    from commlab.analysis.overview import daily_activity, weekday_hour
    from commlab.plots.overview import plot_daily_activity, plot_weekday_hour

    daily = daily_activity(small, as_of=AS_OF)
    assert set(daily["community_id"]) == set(COMMUNITIES)
    ax = plot_daily_activity(daily, {"c01": "咖啡爱好者交流群"}, lang="zh")
    assert len(ax.get_lines()) == len(COMMUNITIES)
    assert "咖啡爱好者交流群" in [t.get_text() for t in ax.get_legend().get_texts()]
    table = weekday_hour(small, as_of=AS_OF)
    assert table.shape == (7, 24) and int(table.to_numpy().sum()) == int(daily["events"].sum())
    ax = plot_weekday_hour(table, lang="en")
    assert len(ax.get_yticklabels()) == 7
    matplotlib.pyplot.close("all")


def test_summary_json_is_written_atomically_with_plain_values(tmp_path, small):
    from commlab.outputs import write_summary

    counts = small.events.groupby("community_id").size()
    path = write_summary(tmp_path, {"events": counts, "as_of": pd.Timestamp(AS_OF), "nothing": float("nan")})
    got = json.loads(path.read_text(encoding="utf-8"))
    assert got["events"] == {k: int(v) for k, v in counts.items()}
    assert got["as_of"].startswith("2024-06-30T16:00:00") and got["nothing"] is None
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # no temporary file left


def test_features_segments_and_metrics_on_the_small_data(small):
    from commlab.analysis.compute import compute_metrics
    from commlab.analysis.features import member_features
    from commlab.analysis.metrics import wide
    from commlab.analysis.segment import MemberSegmenter, segment_matrix

    features = member_features(small.events, small.members, as_of=AS_OF)
    assert set(features["community_id"].astype(str)) == set(COMMUNITIES)
    members = features[~features["is_staff"]].reset_index(drop=True)
    seg = MemberSegmenter(n_clusters=3, random_state=0).fit(segment_matrix(members), profile_features=members)
    assert sorted(set(seg.labels_)) == [0, 1, 2] and len(seg.labels_) == len(members)
    metrics = wide(compute_metrics(small, as_of=AS_OF, window=None, metrics=["members", "buyer_share"]))
    assert list(metrics.index) == list(COMMUNITIES)
    assert (metrics["buyer_share"].between(0, 1)).all()


def test_spark_engine_checks_its_settings_before_starting_a_session():
    pytest.importorskip("pyspark")
    from commlab.engines.spark import cluster_session

    with pytest.raises(ValueError, match="must be UTC"):
        cluster_session("local[1]", {"spark.sql.session.timeZone": "Asia/Shanghai"})


def test_python_dash_m_commlab_is_the_command_line():
    out = subprocess.run([sys.executable, "-m", "commlab", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("commlab ")
