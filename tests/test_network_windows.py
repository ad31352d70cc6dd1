"""The DuckDB engine's network measures cut each period's graph from the events read once (``_window_groups``).

Oracles: the former path, which grouped every period's edges in SQL (``_edges_sql``, still the Spark engine's
path, run here on DuckDB) and measured them with ``_edge_groups``; for the unit test, ``_edge_groups`` on the edges
of each window grouped by pandas. Events sit on every window bound (period starts and ends, the k-core windows'
``p_end − 30 / 60 days``, one microsecond either side), so a window one microsecond off changes the values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import commlab.analysis.network as net
from commlab.analysis.metrics import MetricContext, get_metric
from commlab.data import Dataset
from commlab.engines import DuckDBEngine
from commlab.engines.duck import _sources
from test_random_parity import random_case

IDS = ["density", "reciprocity", "avg_clustering", "degree_centralization", "kcore_max", "kcore_size",
       "staff_interaction_share", "hub_interaction_share", "fan_hub_share", "fan_hub_centralization",
       "kcore_stability", "repeated_ties_share", "peer_tie_strength"]


def _events(seed: int, n: int, m: int, hashed: bool) -> tuple[pa.Table, pd.DataFrame]:
    """Interaction events of two communities over 100 days (repeats, both directions, staff) and windows."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n + 1) ** 0.9
    p /= p.sum()
    rows = []
    for c in ("a", "b"):
        src, tgt = rng.choice(n, size=m, p=p), rng.choice(n, size=m, p=p)
        keep = src != tgt
        ts = rng.integers(0, 100, size=int(keep.sum())) * 86_400_000_000 + rng.integers(-1, 2, size=int(keep.sum()))
        staff = rng.choice(n, size=3, replace=False)
        rows.append(pd.DataFrame({"community_id": c, "ts_us": ts, "source": [f"u{i:04d}" for i in src[keep]],
                                  "target": [f"u{i:04d}" for i in tgt[keep]],
                                  "source_staff": np.isin(src[keep], staff),
                                  "target_staff": np.isin(tgt[keep], staff)}))
    ev = pd.concat(rows, ignore_index=True).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    if hashed:
        ev["source_h"] = pd.util.hash_array(ev["source"].to_numpy(dtype=object))
        ev["target_h"] = pd.util.hash_array(ev["target"].to_numpy(dtype=object))
    day = 86_400_000_000
    windows = pd.DataFrame([(c, (c, i), lo * day, hi * day) for c in ("a", "b", "absent")
                            for i, (lo, hi) in enumerate([(0, 30), (30, 60), (-1, 100), (70, 100), (99, 100)])],
                           columns=["community_id", "key", "lo", "hi"])
    return pa.Table.from_pandas(ev, preserve_index=False), windows


@pytest.mark.parametrize("hashed", [False, True])
@pytest.mark.parametrize("seed, n, m", [(1, 30, 400), (2, 400, 6000)])
@pytest.mark.parametrize("sparse", [0, 10**9])
def test_window_graphs_equal_the_grouped_edges(seed, n, m, hashed, sparse, monkeypatch):
    """Each window's measures, tie measures and main core equal ``_edge_groups`` on that window's edges grouped by
    pandas (weights counted, staff flags or-ed): with hashed ids the same values to the last bit (with dictionary
    codes the nodes are numbered in order of appearance, on either side: the clustering's mean may differ in its
    last digit, as it did between two runs of the former path). Every window's nodes numbered by a hash table
    (``SPARSE_WINDOW`` 0) or by marks over its community's nodes (10**9); a window of one day's last microsecond
    holds a few events."""
    monkeypatch.setattr(net, "SPARSE_WINDOW", sparse)
    rows, windows = _events(seed, n, m, hashed)
    day = 86_400_000_000
    windows = pd.concat([windows, pd.DataFrame([(c, (c, "tick"), 50 * day - 1, 50 * day) for c in ("a", "b")],
                                               columns=windows.columns)], ignore_index=True)
    ev = rows.to_pandas()
    got = net._window_groups(rows, windows)
    cores = net._window_groups(rows.drop_columns(["source", "target"]) if hashed else rows, windows, core_only=True)
    checked = 0
    for c, key, lo, hi in windows.itertuples(index=False):
        part = ev[(ev["community_id"] == c) & (ev["ts_us"] > lo) & (ev["ts_us"] <= hi)]
        if part.empty:
            assert key not in got and key not in cores
            continue
        agg = {"weight": ("source", "size"), "source_staff": ("source_staff", "any"),
               "target_staff": ("target_staff", "any")}
        if hashed:
            agg.update(source_h=("source_h", "first"), target_h=("target_h", "first"))
        edges = part.groupby(["source", "target"], as_index=False).agg(**agg).assign(community_id=c, period="p")
        (want, want_core), = net._edge_groups(edges).values()
        measures, _ = got[key]
        assert measures.keys() == want.keys()
        for k, v in want.items():  # hashed: nodes in hash order on both sides, so every sum runs in the same order
            assert measures[k] == (v if hashed else pytest.approx(v, rel=1e-13)) or (
                np.isnan(measures[k]) and np.isnan(v)), (key, k)
        core = cores[key][1]
        if hashed:  # named by their hashes
            name = dict(zip(np.r_[part["source_h"], part["target_h"]].tolist(),
                            np.r_[part["source"], part["target"]].tolist(), strict=True))
            core = {name[h] for h in core}
        assert core == want_core, key
        checked += 1
    assert checked == 12
    # the windows' bounds matter: events sit one microsecond either side of them
    shifted = net._window_groups(rows, windows.assign(lo=windows["lo"] - 1))
    assert any(shifted[k][0]["interactions"] != got[k][0]["interactions"] for k in got)


def _bound_events(ds: Dataset, as_of: pd.Timestamp) -> Dataset:
    """Replies and mentions between the members on the k-core windows' bounds of every month end, and one without
    a time."""
    rng = np.random.default_rng(7)
    us = pd.Timedelta(microseconds=1)
    rows = []
    for c, g in ds.members.groupby("community_id"):
        ids = g["member_id"].astype(str).tolist() + ["ghost"]
        ends = [as_of, *pd.date_range(end=as_of.tz_convert(None), periods=6, freq="MS", tz="UTC")]
        for end in ends:
            for back in (0, 30, 60):
                for shift in (-us, pd.Timedelta(0), us):
                    for _ in range(3):
                        a, b = rng.choice(ids, size=2, replace=False)
                        rows.append((c, a, end - pd.Timedelta(days=back) + shift,
                                     ("reply", "mention")[int(rng.integers(0, 2))], b))
        rows.append((c, ids[0], pd.NaT, "reply", ids[1]))  # no time: in no period
    extra = pd.DataFrame(rows, columns=["community_id", "member_id", "ts", "event_type", "target_member_id"])
    extra["ts"] = pd.to_datetime(extra["ts"], utc=True)
    for col in ("community_id", "member_id", "event_type", "target_member_id"):
        extra[col] = extra[col].astype("string")
    return Dataset(ds.communities, ds.members, pd.concat([ds.events, extra], ignore_index=True))


@pytest.fixture(scope="module")
def template(samples_dir) -> pd.DataFrame:
    return pd.read_csv(samples_dir / "communities.csv", dtype="string")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_three_period_sets_equal_the_sql_grouped_edges(seed, template, monkeypatch):
    """Months, the whole span and the last 30 days in one pass: every network and tie metric and kcore_stability
    equal the former path (every period's edges grouped in SQL, the k-core windows' pairs grouped in SQL; the Spark
    engine's path, run on DuckDB), on random communities with events on every window bound; with the windows one
    microsecond wider the values differ (the data tell a wrong bound)."""
    ds, as_of = random_case(seed, template)
    ds = _bound_events(ds, as_of)
    requests = [(as_of, "month", None), (as_of, None, None), (as_of, None, as_of - pd.Timedelta(days=30))]
    chosen = [get_metric(i) for i in IDS]
    srcs = _sources(ds)
    new = DuckDBEngine()._compute_sets(srcs, chosen, requests)
    real = net._window_groups
    monkeypatch.setattr(net, "_window_groups",
                        lambda rows, windows, **kw: real(rows, windows.assign(lo=windows["lo"] - 1), **kw))
    wider = DuckDBEngine()._compute_sets(srcs, chosen, requests)
    monkeypatch.setattr(MetricContext, "dialect", "spark")  # the grouped-SQL path, on DuckDB
    old = DuckDBEngine()._compute_sets(srcs, chosen, requests)
    monkeypatch.undo()
    for a, b in zip(new, old, strict=True):
        assert a["value"].notna().sum() > 20
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-13, atol=0)
    assert any(not a["value"].equals(w["value"]) for a, w in zip(new, wider, strict=True))


def test_windows_holding_the_same_events_share_one_graph(monkeypatch):
    """A window repeated under another key, and one a microsecond shorter where no event sits on its bound, are
    measured once and get the first one's result; a window holding more events is measured on its own."""
    rows, _ = _events(3, 200, 3000, True)
    ts = rows["ts_us"].to_numpy()[np.asarray(rows["community_id"].to_pylist()) == "a"]
    day = 86_400_000_000
    free = next(t for t in range(30 * day - 5, 30 * day + 5) if t not in set(ts.tolist()))
    taken = next(t for t in range(40 * day - 1, 40 * day + 2) if t in set(ts.tolist()))
    windows = pd.DataFrame([("a", "x", 0, 60 * day), ("a", "again", 0, 60 * day), ("a", "y", 0, free),
                            ("a", "y less 1 µs", 0, free - 1), ("a", "z", 0, taken),
                            ("a", "z less 1 µs", 0, taken - 1)],
                           columns=["community_id", "key", "lo", "hi"])
    calls = []
    real = net.edge_measures
    monkeypatch.setattr(net, "edge_measures", lambda *a, **k: calls.append(1) or real(*a, **k))
    got = net._window_groups(rows, windows)
    assert len(calls) == 4  # x (and again), y (and y less 1 µs), z, z less 1 µs
    alone = {k: net._window_groups(rows, windows[windows["key"] == k])[k] for k in windows["key"]}
    assert got == alone
    assert got["again"] is got["x"] and got["y less 1 µs"] is got["y"]
    assert got["z"][0]["interactions"] == got["z less 1 µs"][0]["interactions"] + (ts == taken).sum()


@pytest.mark.parametrize("hashed", [False, True])
def test_measured_and_core_windows_in_one_call(hashed, monkeypatch):
    """Windows asking the measures and windows asking only the main core (the k-core windows, read with the periods'
    events) in one call: each gets what the separate calls give, a core window holding a measured window's events
    is measured once (its core named: by the ids' hashes where the rows have them, else by the ids), and a core
    window a microsecond longer, holding more events, is a graph of its own."""
    rows, windows = _events(4, 300, 4000, hashed)
    day = 86_400_000_000
    cores = pd.DataFrame([(c, (c, i, w), lo * day, hi * day) for c in ("a", "b")
                          for i, (lo, hi) in enumerate([(0, 30), (40, 70), (70, 100)]) for w in (0, 1)],
                         columns=windows.columns)
    cores.loc[cores["key"].map(lambda k: k[2] == 1), "lo"] -= 1  # w = 1: a microsecond longer
    both = pd.concat([windows.assign(core_only=False), cores.assign(core_only=True)], ignore_index=True)
    graphs = []
    real = net.core_numbers
    monkeypatch.setattr(net, "core_numbers", lambda adj: graphs.append(adj.shape) or real(adj))
    got = net._window_groups(rows, both)
    n_graphs = len(graphs)
    measured = net._window_groups(rows, windows)
    core_rows = rows.drop_columns(["source", "target"]) if hashed else rows
    alone = net._window_groups(core_rows, cores, core_only=True)
    # per community, the cores of (0, 30] and (70, 100] (w = 0) are those of the measured windows' graphs
    assert n_graphs == len(measured) + len(alone) - 2 * 2
    for key in measured:
        assert got[key][0] == measured[key][0]
    for key in alone:
        assert got[key][1] == alone[key][1], key
        assert got[key][1]
    # the core of (0, 30] came with its measures (the same graph): named like the core-only windows' cores
    assert got[("a", 0)] is got[("a", 0, 0)] and got[("a", 0)][0]["kcore_size"] == len(got[("a", 0, 0)][1])
    assert got[("a", 0, 1)] is not got[("a", 0, 0)] and got[("a", 0, 1)][0] == {}  # a microsecond longer: core only
