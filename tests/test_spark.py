"""The same feature and metric definitions on Spark (local mode), compared with DuckDB.

Skipped, with the reason, when pyspark, sqlglot or Java is missing (failed under ``CI=true``:
`make setup` installs the ``spark`` extra). Kept short: ``local[1]``, two shuffle partitions, three
small communities of the samples and two seeded edge-instant cases of ``test_random_parity``, ten
metrics covering every family (SQL and Python). All 48 metrics and the full samples were compared
once by hand. Set ``COMMLAB_SPARK_FULL=1`` to compare every registered metric (several minutes).
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest

from commlab.analysis.features import FEATURES
from commlab.analysis.metrics import list_metrics
from commlab.data import load_dataset
from commlab.engines import DuckDBEngine
from conftest import skip_unless_ci, spark_missing

AS_OF = "2024-07-01"
COMMUNITIES = ["c02", "c08", "c09"]
#: One or two metrics per family, SQL and Python ones.
METRICS = ["active_share_30d", "stickiness", "content_share_top1", "median_first_response_hours", "retention_30d",
           "days_to_activity_floor", "repeat_purchase_rate", "event_lift", "density", "vertical_focus"]

#: SQL metrics and the network ones (whose edge lists come back to the driver), for the collect spy.
SPY_METRICS = ["active_share_30d", "median_first_response_hours", "density", "vertical_focus", "kcore_stability"]


pytestmark = [pytest.mark.spark]


@pytest.fixture(scope="module")
def engine():
    reason = spark_missing()
    if reason is not None:
        skip_unless_ci(reason, under_ci="CI=true, so the Spark parity tests must run: `make setup` installs the "
                                        "`spark` extra")
    from commlab.engines import get_engine

    # built the way a playbook names it (engine: spark, engine_options: {master, conf}): plain values only
    eng = get_engine("spark", master="local[1]", conf={"spark.sql.shuffle.partitions": 2,
                                                       "spark.default.parallelism": 1, "spark.driver.memory": "1g",
                                                       "spark.ui.enabled": "false"})
    spark = eng.session()
    assert spark.sparkContext.master == "local[1]" and spark.conf.get("spark.sql.shuffle.partitions") == "2"
    spark.sparkContext.setLogLevel("ERROR")
    yield eng
    spark.stop()


@pytest.fixture(scope="module")
def small(samples_dir):
    return load_dataset(samples_dir).subset(COMMUNITIES)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pandas >= 3.0.0.*", category=FutureWarning)
        yield


def test_features_spark_equal_duckdb(engine, small, tmp_path):
    # Parquet and CSV files, read by Spark itself
    ev, mem = tmp_path / "events.parquet", tmp_path / "members.csv"
    # Spark cannot read nanosecond Parquet timestamps (pandas' default): write microseconds
    small.events.to_parquet(ev, index=False, coerce_timestamps="us", allow_truncated_timestamps=True)
    members = small.members.copy()
    for c in ("joined_at", "left_at"):
        members[c] = members[c].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    members.to_csv(mem, index=False)
    got = engine.member_features(ev, mem, as_of=AS_OF)
    want = DuckDBEngine().member_features(ev, mem, as_of=AS_OF)
    pd.testing.assert_frame_equal(got[["community_id", "member_id"]], want[["community_id", "member_id"]])
    for f in FEATURES:
        assert got[f.id].dtype == want[f.id].dtype, f.id
        np.testing.assert_allclose(got[f.id].to_numpy(float), want[f.id].to_numpy(float), rtol=1e-9, atol=1e-12,
                                   equal_nan=True, err_msg=f.id)


def _features_both(engine, tmp_path, events: pd.DataFrame, members: pd.DataFrame, *, as_of: str):
    """The features of ``events``/``members`` (written as Parquet) on Spark and on DuckDB, checked equal
    feature by feature; both tables returned for the caller's own checks."""
    ev, mem = tmp_path / "events.parquet", tmp_path / "members.parquet"
    events.to_parquet(ev, index=False, coerce_timestamps="us")
    members.to_parquet(mem, index=False, coerce_timestamps="us")
    got = engine.member_features(ev, mem, as_of=as_of)
    want = DuckDBEngine().member_features(ev, mem, as_of=as_of)
    for f in FEATURES:
        np.testing.assert_allclose(got[f.id].to_numpy(float), want[f.id].to_numpy(float), rtol=1e-9, atol=1e-12,
                                   equal_nan=True, err_msg=f.id)
    return got, want


def test_features_spark_before_1970(engine, tmp_path):
    """The 63-day blocks of days before 1970 (negative day numbers) transpile to the same counts."""
    from test_features import before_1970

    got, want = _features_both(engine, tmp_path, *before_1970(), as_of="1970-06-01T00:00:00Z")
    assert (got["active_days"].iloc[0], got["active_weeks"].iloc[0]) == (10, 7)


def test_features_spark_member_keys(engine, tmp_path):
    """The member dictionary of the features SQL (a row_number over the members) and its unknown-member
    branch give Spark DuckDB's values: ids repeated across communities, Chinese ids, unknown members."""
    from test_features import keyed_case

    got, want = _features_both(engine, tmp_path, *keyed_case(), as_of="2024-03-01T00:00:00Z")
    pd.testing.assert_frame_equal(got[["community_id", "member_id"]], want[["community_id", "member_id"]])
    assert want["partners_out"].sum() > 10

def _compare(got: pd.DataFrame, want: pd.DataFrame) -> None:
    keys = ["community_id", "period", "metric_id"]
    j = want.merge(got, on=keys, how="left", suffixes=("_duckdb", "_spark"))
    assert len(j) == len(want)
    bad = ~np.isclose(j["value_duckdb"], j["value_spark"], rtol=1e-9, atol=1e-12, equal_nan=True)
    assert not bad.any(), j[bad].to_string()
    # the group size n (members a value is computed over) goes through the same loop
    assert j["n_duckdb"].notna().any()
    assert (j["n_duckdb"].fillna(-1) == j["n_spark"].fillna(-1)).all(), j.to_string()


def test_metrics_spark_equal_duckdb(engine, small):
    ids = [m.id for m in list_metrics()] if os.environ.get("COMMLAB_SPARK_FULL") == "1" else METRICS
    got = engine.compute_metrics(small, as_of=AS_OF, window=None, metrics=ids)
    assert engine.failures_ == {}, engine.failures_
    want = DuckDBEngine().compute_metrics(small, as_of=AS_OF, window=None, metrics=ids)
    assert want["value"].notna().mean() > 0.8
    _compare(got, want)


def test_metrics_spark_monthly_windows(engine, small):
    # kcore_stability: its cores are computed on Spark's executors (applyInPandas), not from edge lists collected
    # to the driver (at 5 M events with a 1 GB driver that collect failed); the values must be DuckDB's
    ids = ["active_share_30d", "gini_content", "kcore_stability"]
    got = engine.compute_metrics(small, as_of=AS_OF, window="month", metrics=ids)
    assert engine.failures_ == {}, engine.failures_
    want = DuckDBEngine().compute_metrics(small, as_of=AS_OF, window="month", metrics=ids)
    assert want["period"].nunique() >= 6
    kcore = want[want["metric_id"] == "kcore_stability"]["value"]
    assert kcore.notna().sum() >= 10 and kcore.nunique() >= 5, kcore.describe()
    _compare(got, want)


def test_period_joins_broadcast(engine, small, monkeypatch):
    """The metrics join the periods to the events on the community and a time range. Spark broadcasts the period
    tables there and streams the events past them: as a sort-merge join on the community it sorted (and, with a
    1 GB driver at 5 M events, spilled) the events for every such query, and kept a community's events in one
    buffer (notebook 03 lost ``main_platform_share`` to ``OutOfMemoryError: Java heap space`` in that stage).
    Values: DuckDB's, by month."""
    import re

    from pyspark.sql import SparkSession

    ran = []
    sql = SparkSession.sql

    def spy(self, *args, **kwargs):
        df = sql(self, *args, **kwargs)
        ran.append(df)
        return df

    monkeypatch.setattr(SparkSession, "sql", spy)
    ids = ["main_platform_share", "active_share_30d"]
    got = engine.compute_metrics(small, as_of=AS_OF, window="month", metrics=ids)
    monkeypatch.undo()
    assert engine.failures_ == {}, engine.failures_
    joins = [ln for df in ran for ln in df._jdf.queryExecution().executedPlan().toString().splitlines()
             if re.search(r"\b\w+Join\b.*\bp_(start|end)#", ln)]
    assert any("BroadcastHashJoin" in ln for ln in joins), joins
    assert not [ln for ln in joins if "SortMergeJoin" in ln], joins
    want = DuckDBEngine().compute_metrics(small, as_of=AS_OF, window="month", metrics=ids)
    assert want["period"].nunique() >= 6 and want["value"].notna().sum() >= 30
    _compare(got, want)


@pytest.mark.parametrize("seed", [0, 1])
def test_random_edge_case_spark_equal_duckdb(engine, samples_dir, seed):
    """The seeded edge-instant communities of ``test_random_parity`` (seed 1 straddles 1970), on Spark."""
    from test_random_parity import random_case

    template = pd.read_csv(samples_dir / "communities.csv", dtype="string")
    ds, as_of = random_case(seed, template)
    got = engine.member_features(ds.events, ds.members, as_of=as_of)
    want = DuckDBEngine().member_features(ds.events, ds.members, as_of=as_of)
    pd.testing.assert_frame_equal(got[["community_id", "member_id"]], want[["community_id", "member_id"]])
    for f in FEATURES:
        np.testing.assert_allclose(got[f.id].to_numpy(float), want[f.id].to_numpy(float), rtol=1e-9, atol=1e-12,
                                   equal_nan=True, err_msg=f.id)
    got = engine.compute_metrics(ds, as_of=as_of, window=None, metrics=METRICS)
    assert engine.failures_ == {}, engine.failures_
    _compare(got, DuckDBEngine().compute_metrics(ds, as_of=as_of, window=None, metrics=METRICS))



@pytest.mark.parametrize("seed", [0, 3])
def test_practice_metrics_spark_equal_duckdb(engine, samples_dir, seed):
    """The practice metrics (issue 26.5) on a seeded random case carrying their event types and fields."""
    from commlab.analysis.practices import NEEDS
    from test_random_parity import random_case

    ids = [*NEEDS, "lurker_share_change_30d", "core_reply_share", "main_platform_share"]
    ds, as_of = random_case(seed, pd.read_csv(samples_dir / "communities.csv", dtype="string"))
    got = engine.compute_metrics(ds, as_of=as_of, window=None, metrics=ids)
    assert engine.failures_ == {}, engine.failures_
    want = DuckDBEngine().compute_metrics(ds, as_of=as_of, window=None, metrics=ids)
    assert want["value"].notna().sum() >= 20
    _compare(got, want)


def test_spark_collects_aggregates_only_from_stored_events(engine, samples_dir, tmp_path, monkeypatch):
    """Events stored in a run's data cache go to Spark as a file: the driver never reads them into pandas,
    and what Spark hands back (``toPandas``/``collect``) is never event-level (one row per event)."""
    from commlab.data.stored import StoredEvents

    load_dataset(samples_dir, cache=tmp_path / "cache")  # the runner's load: validates and stores the data
    ds = load_dataset(samples_dir, communities=COMMUNITIES, cache=tmp_path / "cache")
    assert isinstance(ds.events_source, StoredEvents)
    n_events = int(ds.events_source.counts().sum())
    assert n_events > 10 * len(ds.members)

    def no_read(*args, **kwargs):
        raise AssertionError("the events were read into pandas on the driver")

    collected: list[tuple[str, int, list[str]]] = []
    frame_class = type(engine.session().range(1))  # pyspark 4: the classic DataFrame, which does the work

    def spy(name):
        original = getattr(frame_class, name)

        def wrapped(self, *args, **kwargs):
            out = original(self, *args, **kwargs)
            rows = out.num_rows if hasattr(out, "num_rows") else len(out)
            collected.append((name, rows, list(self.columns)))
            return out
        return wrapped

    monkeypatch.setattr(StoredEvents, "read", no_read)
    for name in ("toPandas", "collect", "toArrow"):
        monkeypatch.setattr(frame_class, name, spy(name))
    feats = engine.member_features(ds.events_source, ds.members, as_of=AS_OF)
    metrics = engine.compute_metrics(ds, as_of=AS_OF, window=None, metrics=SPY_METRICS)
    monkeypatch.undo()
    assert engine.failures_ == {}, engine.failures_
    # aggregates only: member features (a row per member), metric values, interaction pairs with their weights;
    # an event-level collect would carry the event columns, or a row per event (36,081 here)
    largest = max(collected, key=lambda c: c[1])
    assert largest[1] < n_events / 5, largest
    assert not [c for c in collected if {"ts", "event_type"} & set(c[2])], collected
    assert max(n for name, n, cols in collected if "tenure_days" in cols) == len(ds.members)
    # and the same numbers as DuckDB
    want = DuckDBEngine().member_features(ds.events_source, ds.members, as_of=AS_OF)
    for f in FEATURES:
        np.testing.assert_allclose(feats[f.id].to_numpy(float), want[f.id].to_numpy(float), rtol=1e-9, atol=1e-12,
                                   equal_nan=True, err_msg=f.id)
    _compare(metrics, DuckDBEngine().compute_metrics(ds, as_of=AS_OF, window=None, metrics=SPY_METRICS))


def test_scratch_uri_stages_the_stored_events_once(engine, samples_dir, tmp_path):
    """With ``scratch`` a URI (here ``file://``, on a cluster ``hdfs://``/``s3a://``) the run's stored events are
    copied there through Hadoop's file system, once per file, and Spark reads the copy: the same features."""
    from commlab.data.stored import StoredEvents
    from commlab.engines.spark import SparkEngine

    load_dataset(samples_dir, cache=tmp_path / "cache")  # the runner's load: validates and stores the data
    ds = load_dataset(samples_dir, communities=["c08", "c09"], cache=tmp_path / "cache")
    assert isinstance(ds.events_source, StoredEvents)
    scratch = tmp_path / "scratch"
    staged = SparkEngine(engine.session(), scratch=f"file://{scratch}")
    got = staged.member_features(ds.events_source, ds.members, as_of=AS_OF)
    again = SparkEngine(engine.session(), scratch=f"file://{scratch}")
    again._stored(ds.events_source, "events")
    events = sorted(p.name for p in scratch.iterdir() if p.name.startswith("events-"))
    assert len(events) == 1 and staged.staged_[0].endswith(events[0]) and again.staged_[0].endswith(events[0])
    assert any(p.name.startswith("src_members-") for p in scratch.iterdir())  # the members frame, staged too
    want = DuckDBEngine().member_features(ds.events_source, ds.members, as_of=AS_OF)
    assert len(got) == len(ds.members)
    for f in FEATURES:
        np.testing.assert_allclose(got[f.id].to_numpy(float), want[f.id].to_numpy(float), rtol=1e-9, atol=1e-12,
                                   equal_nan=True, err_msg=f.id)


def test_snapshot_features_spark_equal_duckdb(engine, small):
    """Notebook 02's month-start role features in one Spark query: the same frame as DuckDB's, dtypes included."""
    from commlab.analysis.transitions import role_transitions

    end = pd.Timestamp("2024-06-30T16:00:00Z")
    bounds = pd.date_range(end - pd.DateOffset(months=6), end, freq="MS", tz="UTC")
    got = engine.snapshot_features(small.events, small.members, bounds=bounds)
    want = DuckDBEngine().snapshot_features(small.events, small.members, bounds=bounds)
    assert got["as_of"].nunique() == len(bounds) and len(got) > len(small.members)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
    start = end - pd.DateOffset(months=6)
    moves = role_transitions(small.events, small.members, start=start, end=end, freq="MS", engine=engine)
    pd.testing.assert_frame_equal(moves, role_transitions(small.events, small.members, start=start, end=end, freq="MS"))
