"""One definition, three executions: DuckDB over DataFrames, DuckDB over files, naive pandas.

Every feature of :data:`commlab.analysis.features.FEATURES` and every metric of the registry
is compared on the bundled samples as of 2024-07-01 (UTC). Counts and flags must be equal;
real numbers agree to a relative 1e-9 (sums are accumulated in a different order).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from commlab.analysis.compute import compute_metrics
from commlab.analysis.features import FEATURE_IDS, FEATURES, member_features
from commlab.analysis.metrics import list_metrics
from commlab.analysis.naive import NAIVE_METRICS, naive_member_features, naive_metrics
from commlab.data import load_dataset
from commlab.engines import DuckDBEngine, get_engine

AS_OF = "2024-07-01"
RTOL, ATOL = 1e-9, 1e-12
#: Small communities (incl. the early-death c09) keep the metric runs short.
METRIC_COMMUNITIES = ["c02", "c05", "c08", "c09", "c10"]
KEYS = ["community_id", "period", "metric_id"]


@pytest.fixture(scope="module")
def ds(samples_dir: Path):
    return load_dataset(samples_dir)


@pytest.fixture(scope="module")
def parquet_dir(ds, tmp_path_factory) -> Path:
    """The sample tables as Parquet files (communities and members ship as CSV)."""
    out = tmp_path_factory.mktemp("parquet")
    for name in ("communities", "members", "events"):
        getattr(ds, name).to_parquet(out / f"{name}.parquet", index=False)
    return out


def _assert_same_features(got: pd.DataFrame, want: pd.DataFrame, label: str) -> None:
    assert list(got.columns) == list(want.columns), label
    pd.testing.assert_frame_equal(got[["community_id", "member_id"]], want[["community_id", "member_id"]])
    for f in FEATURES:
        g, w = got[f.id], want[f.id]
        assert g.dtype == w.dtype, f"{label}: {f.id} dtype {g.dtype} != {w.dtype}"
        if g.dtype == "float64":
            np.testing.assert_allclose(g.to_numpy(), w.to_numpy(), rtol=RTOL, atol=ATOL, equal_nan=True,
                                       err_msg=f"{label}: {f.id}")
        else:
            assert (g.to_numpy() == w.to_numpy()).all(), f"{label}: {f.id} differs for {int((g != w).sum())} rows"


@pytest.fixture(scope="module")
def features_memory(ds) -> pd.DataFrame:
    return DuckDBEngine(threads=2).member_features(ds.events, ds.members, as_of=AS_OF)


def test_features_cover_the_registry(features_memory):
    assert list(features_memory.columns) == ["community_id", "member_id", *FEATURE_IDS]
    assert len(features_memory) > 1000
    # a feature constant on the samples would make its parity check vacuous
    constant = [f for f in FEATURE_IDS if features_memory[f].nunique(dropna=False) <= 1]
    assert not constant


def test_features_duckdb_memory_equals_analysis_function(ds, features_memory):
    ref = member_features(ds.events, ds.members, as_of=pd.Timestamp(AS_OF, tz="UTC"))
    pd.testing.assert_frame_equal(features_memory, ref)


def test_features_duckdb_parquet_equals_memory(parquet_dir, features_memory):
    got = DuckDBEngine(memory_limit="1GB", threads=1, temp_directory=parquet_dir / "spill").member_features(
        parquet_dir / "events.parquet", parquet_dir / "members.parquet", as_of=AS_OF)
    _assert_same_features(got, features_memory, "duckdb-parquet")


def test_features_duckdb_csv_and_copy_to_parquet(samples_dir, tmp_path, features_memory):
    # members ship as CSV in the samples: the engine reads them with read_csv
    eng = get_engine("duckdb")
    got = eng.member_features(samples_dir / "events.parquet", samples_dir / "members.csv", as_of=AS_OF)
    _assert_same_features(got, features_memory, "duckdb-csv")
    path = eng.member_features(samples_dir / "events.parquet", samples_dir / "members.csv", as_of=AS_OF,
                               out=tmp_path / "features.parquet")
    from commlab.engines.base import tidy_features

    _assert_same_features(tidy_features(pd.read_parquet(path)), features_memory, "duckdb-copy")


def test_features_in_community_batches_equal_one_query(parquet_dir, tmp_path, features_memory):
    """``batches=k`` runs the query per group of communities; the result must not change."""
    eng = DuckDBEngine(threads=1)
    got = eng.member_features(parquet_dir / "events.parquet", parquet_dir / "members.parquet", as_of=AS_OF,
                              batches=4)
    _assert_same_features(got, features_memory, "duckdb-batches")
    path = eng.member_features(parquet_dir / "events.parquet", parquet_dir / "members.parquet", as_of=AS_OF,
                               batches=3, out=tmp_path / "f.parquet")
    from commlab.engines.base import tidy_features

    _assert_same_features(tidy_features(pd.read_parquet(path)), features_memory, "duckdb-batches-copy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.parquet"], "batch part files left behind"
    with pytest.raises(ValueError, match="batches"):
        eng.member_features(parquet_dir / "events.parquet", parquet_dir / "members.parquet", as_of=AS_OF,
                            batches=0)


def test_features_naive_pandas_equals_duckdb(ds, features_memory):
    got = naive_member_features(ds.events, ds.members, as_of=AS_OF)
    _assert_same_features(got, features_memory, "naive-pandas")


# --------------------------------------------------------------------------- metrics
@pytest.fixture(scope="module")
def small(ds):
    return ds.subset(METRIC_COMMUNITIES)


@pytest.fixture(scope="module")
def metrics_memory(small) -> pd.DataFrame:
    return DuckDBEngine().compute_metrics(small, as_of=AS_OF, window=None)


@pytest.fixture(scope="module")
def metrics_parquet(small, tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("small")
    srcs = {}
    for name in ("communities", "members", "events"):
        getattr(small, name).to_parquet(out / f"{name}.parquet", index=False)
        srcs[name] = out / f"{name}.parquet"
    return DuckDBEngine(memory_limit="1GB", threads=1, temp_directory=out / "spill").compute_metrics(
        srcs, as_of=AS_OF, window=None)


@pytest.fixture(scope="module")
def metrics_naive(small) -> pd.DataFrame:
    return naive_metrics(small.communities, small.members, small.events, as_of=AS_OF)


def _values(table: pd.DataFrame, column: str = "value") -> pd.DataFrame:
    return table.set_index(KEYS)[column].sort_index()


def _assert_same_metrics(got: pd.DataFrame, want: pd.DataFrame, ids: list[str], label: str,
                         column: str = "value") -> None:
    g, w = _values(got, column), _values(want, column)
    for mid in ids:
        a, b = g.xs(mid, level="metric_id"), w.xs(mid, level="metric_id")
        assert list(a.index) == list(b.index), f"{label}: {mid} rows differ"
        np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=RTOL, atol=ATOL, equal_nan=True,
                                   err_msg=f"{label}: {mid} ({column})")


@pytest.fixture(scope="module")
def moved_before_1970(small):
    """The small communities moved back 2818 weeks (weekdays kept), so they straddle 1970-01-01."""
    from commlab.data import Dataset

    shift = pd.Timedelta(weeks=2818)
    tabs = {"communities": ["created_at"], "members": ["joined_at", "left_at"], "events": ["ts"]}
    moved = {name: getattr(small, name).assign(**{c: getattr(small, name)[c] - shift for c in cols})
             for name, cols in tabs.items()}
    assert moved["events"]["ts"].min() < pd.Timestamp("1970-01-01", tz="UTC") < moved["events"]["ts"].max()
    return Dataset(moved["communities"], moved["members"], moved["events"]), pd.Timestamp(AS_OF, tz="UTC") - shift


def test_naive_pandas_equals_duckdb_before_1970(moved_before_1970):
    """Negative day numbers and the start of period "all" (it was the Unix epoch, which dropped the
    earlier events from every flow metric): features, metrics and BG/NBD inputs as the oracles."""
    from commlab.analysis.lifecycle import rfm_from_events
    from commlab.analysis.naive import naive_rfm

    moved, as_of = moved_before_1970
    got = DuckDBEngine().member_features(moved.events, moved.members, as_of=as_of)
    _assert_same_features(got, naive_member_features(moved.events, moved.members, as_of=as_of), "before 1970")
    ids = [m.id for m in list_metrics() if m.id in NAIVE_METRICS]
    got = DuckDBEngine().compute_metrics(moved, as_of=as_of, window=None)
    want = naive_metrics(moved.communities, moved.members, moved.events, as_of=as_of)
    assert got[got["metric_id"].isin(_SAMPLED(ids))]["value"].notna().mean() > 0.8
    _assert_same_metrics(got, want, ids, "naive-pandas before 1970")
    _assert_same_metrics(got, want, ids, "naive-pandas before 1970", column="n")
    for period in ("D", "W"):
        pd.testing.assert_frame_equal(rfm_from_events(moved.events, as_of=as_of, period=period),
                                      naive_rfm(moved.events, as_of, period), check_dtype=False)


def _SAMPLED(ids: list[str]) -> list[str]:  # noqa: N802
    """``ids`` without the practice metrics whose event types or fields the samples do not hold (they are
    checked against the oracle on the seeded random cases of tests/test_random_parity.py and by hand)."""
    from commlab.analysis.practices import NEEDS

    return [m for m in ids if m not in NEEDS]


def test_every_registered_metric_has_a_naive_version():
    missing = [m.id for m in list_metrics() if m.id not in NAIVE_METRICS]
    assert not missing, f"add a pandas version to commlab.analysis.naive for: {', '.join(missing)}"


def test_metrics_engine_equals_analysis_function(small, metrics_memory):
    ref = compute_metrics(small, as_of=AS_OF, window=None)
    pd.testing.assert_frame_equal(metrics_memory.reset_index(drop=True), ref.reset_index(drop=True))


def test_metrics_duckdb_parquet_equals_memory(metrics_memory, metrics_parquet):
    ids = [m.id for m in list_metrics()]
    _assert_same_metrics(metrics_parquet, metrics_memory, ids, "duckdb-parquet")
    _assert_same_metrics(metrics_parquet, metrics_memory, ids, "duckdb-parquet", column="n")


def test_metrics_naive_pandas_equals_duckdb(metrics_memory, metrics_naive):
    ids = [m.id for m in list_metrics() if m.id in NAIVE_METRICS]
    defined = metrics_memory[metrics_memory["metric_id"].isin(_SAMPLED(ids))]["value"].notna().mean()
    assert defined > 0.8  # the comparison is not vacuous: most (community, metric) cells have a value
    _assert_same_metrics(metrics_naive, metrics_memory, ids, "naive-pandas")


def test_group_sizes_naive_pandas_equal_duckdb(metrics_memory, metrics_naive):
    """``n`` (members a value is computed over) is recomputed by the oracle for every metric declaring it."""
    sized = [m.id for m in list_metrics() if m.group_size is not None]
    assert {"retention_30d", "response_rate", "repeat_purchase_rate", "completion_rate",
            "content_share_top1"} <= set(sized)
    n = metrics_memory.set_index("metric_id")["n"]
    assert n.loc[_SAMPLED(sized)].notna().mean() > 0.8
    assert n.drop(index=sized).isna().all()  # metrics without a group size carry none
    _assert_same_metrics(metrics_naive, metrics_memory, sized, "naive-pandas", column="n")


def test_metrics_monthly_windows_parquet_equals_memory(small, tmp_path):
    srcs = {}
    for name in ("communities", "members", "events"):
        getattr(small, name).to_parquet(tmp_path / f"{name}.parquet", index=False)
        srcs[name] = tmp_path / f"{name}.parquet"
    ids = ["members", "active_share_30d", "gini_content", "response_rate", "retention_30d", "revenue_per_member",
           "density", "economy_index"]
    eng = DuckDBEngine()
    got = eng.compute_metrics(srcs, as_of=AS_OF, window="month", metrics=ids)
    want = eng.compute_metrics(small, as_of=AS_OF, window="month", metrics=ids)
    assert got["period"].nunique() >= 6
    _assert_same_metrics(got, want, ids, "duckdb-parquet monthly")


def test_trailing_metrics_of_monthly_windows_equal_naive_pandas_at_each_period_end(small):
    """A trailing metric of a month depends only on its end: the naive oracle, run up to that end, agrees."""
    ids = ["active_share_7d", "active_share_30d", "stickiness", "content_days_share", "core_share", "zombie_share",
           "lurker_share", "days_to_activity_floor"]
    got = DuckDBEngine().compute_metrics(small, as_of=AS_OF, window="month", metrics=ids)
    ends = sorted(got["period"].unique())[-4:-1]  # three full months before the last (partial) one
    for period in ends:
        p_end = (pd.Period(period, "M") + 1).to_timestamp().tz_localize("UTC") - pd.Timedelta(microseconds=1)
        want = naive_metrics(small.communities, small.members, small.events, as_of=p_end, metrics=ids,
                             network=False).assign(period=period)
        month = got[got["period"] == period]
        assert month["value"].notna().mean() > 0.7, period
        _assert_same_metrics(month, want[want["community_id"].isin(month["community_id"])], ids,
                             f"naive-pandas at the end of {period}")


def test_engine_rejects_missing_required_column(ds):
    with pytest.raises(ValueError, match="member_id"):
        DuckDBEngine().member_features(ds.events.drop(columns=["member_id"]), ds.members, as_of=AS_OF)


def test_engine_registry_names_known_engines():
    with pytest.raises(KeyError, match="duckdb"):
        get_engine("nope")


@pytest.mark.parametrize("period", ["D", "W"])
def test_rfm_duckdb_equals_naive_pandas_in_memory_and_on_disk(ds, parquet_dir, period):
    from commlab.analysis.lifecycle import rfm_from_events
    from commlab.analysis.naive import naive_rfm

    now = pd.Timestamp("2024-06-30T16:00:00Z")
    want = naive_rfm(ds.events, now, period)
    assert len(want) > 1000 and want["frequency"].gt(0).mean() > 0.5
    for label, src in (("memory", ds.events), ("parquet", parquet_dir / "events.parquet")):
        got = rfm_from_events(src, as_of=now, period=period)
        pd.testing.assert_frame_equal(got, want, check_dtype=False, obj=label)
        assert str(got["member_id"].dtype) == "string"
