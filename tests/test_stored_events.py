"""Stored events: a data set read back from the data cache keeps its events in Parquet.

The engines and the SQL analyses read them in place (the events are never read into pandas) and
give exactly the results of the same data set held in memory.
"""

from __future__ import annotations

import logging
from pathlib import Path

import networkx as nx
import pandas as pd
import pyarrow.parquet as pq
import pytest

from commlab.analysis.compute import compute_metrics
from commlab.analysis.features import member_features
from commlab.analysis.network import community_graph
from commlab.analysis.retention import cohort_retention
from commlab.analysis.transitions import role_transitions
from commlab.data import load_dataset
from commlab.data.stored import StoredEvents
from commlab.engines import DuckDBEngine

AS_OF = "2024-06-30"
#: a file and a DataFrame are scanned in different chunks, so parallel float sums may differ in the last bit
CLOSE = dict(check_exact=False, rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def cache(tmp_path_factory, samples_dir) -> Path:
    folder = tmp_path_factory.mktemp("cache")
    load_dataset(samples_dir, cache=folder)
    return folder


@pytest.fixture(scope="module")
def fresh(samples_dir):
    return load_dataset(samples_dir)


def _stored(samples_dir, cache, communities=None):
    ds = load_dataset(samples_dir, cache=cache, communities=communities)
    assert isinstance(ds.events_source, StoredEvents) and not ds.events_loaded
    return ds


def test_a_cached_load_keeps_its_events_in_the_file_until_asked(samples_dir, cache, fresh):
    ds = _stored(samples_dir, cache)
    assert ds.summary() == fresh.summary()
    assert ds.n_events == len(fresh.events) and repr(ds) == repr(fresh)
    assert not ds.events_loaded  # counting and the time span are read without pandas
    pd.testing.assert_frame_equal(ds.events, fresh.events, check_exact=True)
    assert ds.events_loaded and ds.events is ds.events  # read once, then held


def test_subset_and_events_of_read_only_those_communities(samples_dir, cache, fresh):
    ds = _stored(samples_dir, cache).subset(["c01", "c02"])
    assert ds.events_source.communities == ("c01", "c02") and not ds.events_loaded
    want = fresh.subset(["c01", "c02"])
    assert ds.summary() == want.summary()
    pd.testing.assert_frame_equal(ds.events_of(["c02"]), want.events_of(["c02"]), check_exact=True)
    assert set(want.events_of(["c02"])["community_id"]) == {"c02"}
    assert ds.events_of(["c03"]).empty  # outside the subset
    assert not ds.events_loaded
    pd.testing.assert_frame_equal(ds.events, want.events, check_exact=True)
    # the same restriction through load_dataset(communities=...)
    direct = _stored(samples_dir, cache, communities=["c02"])
    pd.testing.assert_frame_equal(direct.events, fresh.subset(["c02"]).events, check_exact=True)


def test_engines_read_stored_events_in_place(samples_dir, cache, fresh):
    ds = _stored(samples_dir, cache)
    eng = DuckDBEngine()
    got = eng.compute_metrics(ds, as_of=AS_OF, window="month")
    pd.testing.assert_frame_equal(got, eng.compute_metrics(fresh, as_of=AS_OF, window="month"), **CLOSE)
    assert got["value"].notna().sum() > 100
    pd.testing.assert_frame_equal(compute_metrics(ds, as_of=AS_OF, window=None),
                                  compute_metrics(fresh, as_of=AS_OF, window=None), **CLOSE)
    feats = eng.member_features(ds.events_source, ds.members, as_of=AS_OF)
    pd.testing.assert_frame_equal(feats, eng.member_features(fresh.events, fresh.members, as_of=AS_OF),
                                  **CLOSE)
    sub = ds.subset(["c03"])
    pd.testing.assert_frame_equal(eng.compute_metrics(sub, as_of=AS_OF, window=None),
                                  eng.compute_metrics(fresh.subset(["c03"]), as_of=AS_OF, window=None),
                                  **CLOSE)
    assert not ds.events_loaded and not sub.events_loaded


def test_sql_analyses_read_stored_events_in_place(samples_dir, cache, fresh):
    ds = _stored(samples_dir, cache)
    pd.testing.assert_frame_equal(cohort_retention(ds, as_of=AS_OF), cohort_retention(fresh, as_of=AS_OF), **CLOSE)
    g, h = (community_graph(d, "c02", as_of=AS_OF, days=30) for d in (ds, fresh))
    assert g.number_of_edges() > 0 and nx.utils.graphs_equal(g, h)
    now = pd.Timestamp("2024-06-30T16:00:00Z")
    a = role_transitions(ds.events_source, ds.members, start=now - pd.DateOffset(months=3), end=now)
    b = role_transitions(fresh.events, fresh.members, start=now - pd.DateOffset(months=3), end=now)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(member_features(ds.events_source, ds.members, as_of=now),
                                  member_features(fresh.events, fresh.members, as_of=now), **CLOSE)
    assert not ds.events_loaded


def test_a_cache_entry_whose_events_lack_a_column_is_not_used(samples_dir, tmp_path, caplog):
    cache = tmp_path / "cache"
    load_dataset(samples_dir, cache=cache)
    (entry,) = [p for p in cache.iterdir() if not p.name.startswith(".")]
    events = entry / "events.parquet"
    pq.write_table(pq.read_table(events).drop(["ts"]), events)
    with caplog.at_level(logging.WARNING, logger="commlab.data.cache"):
        ds = load_dataset(samples_dir, cache=cache)
    assert "lacks ts" in caplog.text
    assert ds.events_loaded and "ts" in ds.events.columns  # loaded from the files instead


@pytest.mark.parametrize("as_of", [AS_OF, "created+180d"])
def test_facts_from_stored_events_equal_the_in_memory_facts(samples_dir, cache, fresh, as_of):
    from commlab.recommend import build_facts

    ds = _stored(samples_dir, cache)
    got = build_facts(ds, as_of=as_of)
    assert not ds.events_loaded
    want = build_facts(fresh, as_of=as_of)
    pd.testing.assert_frame_equal(got, want, **CLOSE)
    assert set(want["source"]) == {"metrics", "signals", "orbit"}
    from commlab.analysis.practices import NEEDS  # practice metrics whose types/fields the samples lack

    assert want[~want["metric_id"].isin(list(NEEDS))]["value"].notna().mean() > 0.5  # real facts, not an empty table
