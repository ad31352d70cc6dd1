"""The interaction network helpers and the fan ↔ community economy index (hand-computed cases)."""

from __future__ import annotations

import math
import re

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from commlab.analysis.economy import THRESHOLDS, classify_economy, economy_index, economy_table
from commlab.analysis.network import (
    TIE_MEASURES,
    _edge_groups,
    average_clustering,
    build_graph,
    community_graph,
    core_numbers,
    degree_centralization,
    graph_measures,
    jaccard,
    main_core,
)
from health_data import samples_dataset, samples_metrics


def edges(rows: list[tuple[str, str, int]], staff: set[str] = frozenset()) -> pd.DataFrame:
    return pd.DataFrame({
        "source": [r[0] for r in rows], "target": [r[1] for r in rows], "weight": [r[2] for r in rows],
        "source_staff": [r[0] in staff for r in rows], "target_staff": [r[1] in staff for r in rows],
    })


def test_degree_centralization_edge_cases():
    assert degree_centralization(nx.star_graph(4)) == pytest.approx(1.0)  # hub degree 4, leaves 1: 12/12
    assert degree_centralization(nx.cycle_graph(5)) == 0
    assert degree_centralization(nx.complete_graph(4)) == 0
    # path a-b-c-d: degrees 1,2,2,1 -> (1+0+0+1) / (3*2) = 1/3
    assert degree_centralization(nx.path_graph(4)) == pytest.approx(1 / 3)
    assert math.isnan(degree_centralization(nx.path_graph(2)))  # fewer than 3 nodes


def test_average_clustering_matches_hand_values():
    g = nx.Graph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])
    # a, b: 1; c: 1 triangle of 3 possible pairs = 1/3; d: 0 -> (1 + 1 + 1/3 + 0) / 4
    assert average_clustering(g) == pytest.approx((2 + 1 / 3) / 4)
    assert math.isnan(average_clustering(nx.Graph()))


def test_main_core_and_jaccard():
    g = nx.Graph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])
    assert main_core(g) == {"a", "b", "c"}
    assert main_core(nx.Graph()) == set()
    assert jaccard({"a", "b", "c"}, {"b", "c", "d"}) == pytest.approx(2 / 4)
    assert math.isnan(jaccard(set(), set()))


def test_graph_measures_star_with_staff_and_empty():
    g = build_graph(edges([("a", "o", 2), ("b", "o", 1), ("o", "a", 1)], staff={"o"}))
    m = graph_measures(g)
    assert m["interactions"] == 4
    assert m["staff_interaction_share"] == 1
    assert m["member_to_member_share"] == 0
    assert m["reciprocity"] == pytest.approx(2 / 3)  # a->o, o->a reciprocated; b->o not
    assert all(math.isnan(v) for k, v in graph_measures(nx.DiGraph()).items() if k not in ("nodes", "interactions"))


def test_economy_index_and_thresholds():
    assert economy_index(0.0, 1.0) == 0.0  # pure star
    assert economy_index(0.8, 0.2) == pytest.approx(0.8)
    assert economy_index(0.5, math.nan) == pytest.approx(0.5)  # centralization undefined: left out
    assert math.isnan(economy_index(math.nan, math.nan))
    assert THRESHOLDS == (0.4, 0.6)
    assert [classify_economy(v) for v in (0.39, 0.4, 0.6, 0.61)] == ["fan", "mixed", "mixed", "community"]
    assert classify_economy(math.nan) is None
    t = economy_table(pd.DataFrame({"member_to_member_share": [0.1, 0.9], "fan_hub_centralization": [0.9, 0.1]}),
                      lang="zh")
    assert list(t["economy_measured"]) == ["fan", "community"]
    assert list(t["economy_label"]) == ["粉丝经济", "社群经济"]


def test_samples_declared_economy_is_recovered():
    """The generator plants fan economies (hub_p 0.6–0.7) and community economies; the index separates them."""
    from commlab.analysis.metrics import wide

    w = wide(samples_metrics())
    declared = samples_dataset().communities.set_index("community_id")["economy"]
    measured = {c: classify_economy(v) for c, v in w["economy_index"].items()}
    for cid, dec in declared.items():
        if cid == "c04":  # community economy with hub_p 0.25 (assistants answer): may sit in the mixed band
            assert measured[cid] in ("community", "mixed")
        else:
            assert measured[cid] == dec, (cid, w.loc[cid, "economy_index"])


def test_community_graph_from_samples():
    ds = samples_dataset().subset(["c03"])
    g = community_graph(ds, "c03", as_of="2024-07-01T00:00:00+08:00", days=30)
    assert g.number_of_nodes() > 50
    assert any(s for _, s in g.nodes(data="staff"))
    with pytest.raises(KeyError):
        community_graph(ds, "nope", as_of="2024-07-01")


def _random_edges(seed: int, n: int, m: int, n_staff: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # heavy-tailed: a few members take part in many edges, as in real communities
    p = 1.0 / np.arange(1, n + 1) ** 0.9
    p /= p.sum()
    src = rng.choice(n, size=m, p=p)
    tgt = rng.choice(n, size=m, p=p)
    keep = src != tgt
    e = pd.DataFrame({"source": [f"u{i:03d}" for i in src[keep]], "target": [f"u{i:03d}" for i in tgt[keep]]})
    e = e.groupby(["source", "target"], as_index=False).size().rename(columns={"size": "weight"})
    staff = {f"u{i:03d}" for i in rng.choice(n, size=n_staff, replace=False)}
    e["source_staff"] = e["source"].isin(staff)
    e["target_staff"] = e["target"].isin(staff)
    return e


@pytest.mark.parametrize("seed, n, m, n_staff", [(1, 5, 8, 1), (2, 40, 120, 2), (3, 300, 2500, 5),
                                                 (4, 900, 4000, 0)])
def test_fast_edge_measures_equal_networkx(seed, n, m, n_staff):
    """The sparse-matrix path (used by the metrics) gives networkx's values, main core included."""
    e = _random_edges(seed, n, m, n_staff)
    e.insert(0, "period", "all")
    e.insert(0, "community_id", "c")
    (fast, core), = _edge_groups(e).values()
    g = build_graph(e)
    want = graph_measures(g)
    assert fast.keys() == want.keys() | set(TIE_MEASURES)  # the tie measures: test_tie_measures_equal_the_sql...
    for k, v in want.items():
        assert fast[k] == pytest.approx(v, rel=1e-12, abs=1e-12, nan_ok=True), k
    assert core == main_core(g)
    (unnamed, no_core), = _edge_groups(e, name_core=False).values()  # what network_table asks: measures only
    assert no_core == set() and unnamed == pytest.approx(fast, nan_ok=True)


@pytest.mark.parametrize("seed, n, m", [(0, 1, 1), (1, 2, 5), (2, 50, 400), (3, 700, 6000)])
def test_simple_adjacency_is_the_symmetrised_matrix_in_canonical_form(seed, n, m):
    """The adjacency built directly as CSR arrays equals A + Aᵀ without the diagonal, as 0/1 (duplicate edges,
    reciprocated pairs and self-loops included in the input), with sorted unique column indices per row; and
    the node codes of ``_factorize`` are ``np.unique``'s (the i-th smallest id is node i)."""
    from scipy import sparse

    from commlab.analysis.network import _factorize, _simple_adjacency

    rng = np.random.default_rng(seed)
    src, tgt = rng.integers(0, n, size=m), rng.integers(0, n, size=m)
    got = _simple_adjacency(src, tgt, n)
    a = sparse.coo_array((np.ones(m), (src, tgt)), shape=(n, n)).tocsr()
    a = a + a.T
    a.setdiag(0)
    a.eliminate_zeros()
    want = (a > 0).astype(np.int32).toarray()
    np.testing.assert_array_equal(got.toarray(), want)
    assert got.has_canonical_format and got.nnz == int(want.sum()) and got.dtype == np.int32
    ids = rng.integers(-2**62, 2**62, size=max(n // 3, 1))[rng.integers(0, max(n // 3, 1), size=m)]
    uniques, codes = _factorize(ids)
    want_u, want_codes = np.unique(ids, return_inverse=True)
    np.testing.assert_array_equal(uniques, want_u)
    np.testing.assert_array_equal(codes, want_codes)


@pytest.mark.parametrize("hashed", [False, True])
def test_edge_groups_slice_many_graphs_in_one_table(hashed):
    """Several (community, period) graphs in one shuffled table, nodes identified by dictionary codes
    or by 64-bit hashes (as DuckDB gives them): each graph equals networkx on its own edges, with the
    same ids in the main core and the hub ties broken by id."""
    parts = {(c, p): _random_edges(seed, n, m, 2) for seed, (c, p, n, m) in enumerate(
        [("c1", "2024-01", 60, 300), ("c1", "2024-02", 200, 900), ("c2", "2024-01", 30, 80)])}
    table = pd.concat([e.assign(community_id=c, period=p) for (c, p), e in parts.items()], ignore_index=True)
    table = table.sample(frac=1.0, random_state=0).reset_index(drop=True)
    if hashed:
        table["source_h"] = pd.util.hash_array(table["source"].to_numpy(dtype=object))
        table["target_h"] = pd.util.hash_array(table["target"].to_numpy(dtype=object))
    got = _edge_groups(table)
    assert set(got) == set(parts)
    for key, e in parts.items():
        g = build_graph(e)
        fast, core = got[key]
        for k, v in graph_measures(g).items():
            assert fast[k] == pytest.approx(v, rel=1e-12, abs=1e-12, nan_ok=True), (key, k)
        assert core == main_core(g)
    cores = _edge_groups(table, core_only=True)
    assert {k: v[1] for k, v in cores.items()} == {k: v[1] for k, v in got.items()}


@pytest.mark.parametrize("hashed", [False, True])
def test_hub_ties_are_broken_by_id(hashed):
    """150 members, all with one interaction: the ceil(1.5) = 2 hubs are the two smallest ids (u000
    and u001, on different edges: 2 of 75 interactions), not any other tied pair."""
    pairs = [("u000", "u002"), ("u001", "u003")] + [(f"u{i:03d}", f"u{i + 1:03d}") for i in range(4, 150, 2)]
    e = pd.DataFrame(pairs, columns=["source", "target"]).assign(
        weight=1, source_staff=False, target_staff=False, community_id="c", period="all")
    if hashed:
        e["source_h"] = pd.util.hash_array(e["source"].to_numpy(dtype=object))
        e["target_h"] = pd.util.hash_array(e["target"].to_numpy(dtype=object))
    (fast, _), = _edge_groups(e.sample(frac=1.0, random_state=1)).values()
    assert fast["hub_interaction_share"] == pytest.approx(2 / 75)
    assert graph_measures(build_graph(e))["hub_interaction_share"] == pytest.approx(2 / 75)


def test_core_numbers_match_networkx_on_a_known_graph():
    g = nx.Graph([(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (0, 3), (1, 3), (5, 6)])  # K4 on 0-3, tail 4, pair 5-6
    g.add_node(7)
    a = nx.to_scipy_sparse_array(g, nodelist=range(8), weight=None, format="csr", dtype=np.int32)
    got = core_numbers(a)
    assert got.tolist() == [3, 3, 3, 3, 1, 1, 1, 0]
    assert got.tolist() == [nx.core_number(g)[i] for i in range(8)]


def test_exact_id_codes_give_the_hashed_results(monkeypatch: pytest.MonkeyPatch):
    """Where id hashes may not be used (a collision, or Spark), the exact dictionary codes give the same
    network and tie metrics as the hashed path the DuckDB engine takes on the samples."""
    import commlab.analysis.network as net
    from commlab.analysis.compute import compute_metrics

    ids = ["density", "reciprocity", "avg_clustering", "kcore_size", "kcore_stability", "hub_interaction_share",
           "repeated_ties_share", "peer_tie_strength"]
    ds = samples_dataset()
    seen: list[bool] = []
    real = net.hash_ids_safe
    monkeypatch.setattr(net, "hash_ids_safe", lambda ctx: seen.append(real(ctx)) or seen[-1])
    hashed = compute_metrics(ds, as_of="2024-07-01", window="month", metrics=ids)
    assert seen and all(seen)  # the samples' ids do not collide: the hashed path was taken
    monkeypatch.setattr(net, "hash_ids_safe", lambda ctx: False)
    exact = compute_metrics(ds, as_of="2024-07-01", window="month", metrics=ids)
    assert hashed["value"].notna().sum() > 100
    pd.testing.assert_frame_equal(hashed, exact)


def test_edges_handed_over_in_batches_give_the_same_metrics(monkeypatch: pytest.MonkeyPatch):
    """The network measures and k-core stability group and hand over the edges of a range of whole communities
    at a time (no table of every edge; the kernel holds one batch): with batches of at most 500 edge rows (many
    batches, and communities larger than a batch alone in theirs) every value equals the one-batch result,
    and each batch holds whole communities, read once for both."""
    import commlab.analysis.network as net
    from commlab.analysis.compute import compute_metrics

    ids = ["density", "reciprocity", "avg_clustering", "kcore_max", "kcore_size", "kcore_stability",
           "hub_interaction_share", "fan_hub_centralization"]
    ds = samples_dataset()
    whole = compute_metrics(ds, as_of="2024-07-01", window="month", metrics=ids)
    batches: list[list[str]] = []
    real_ranged = net._ranged

    def spy(ctx, sql, lo, hi):
        table = real_ranged(ctx, sql, lo, hi)
        batches.append(sorted(set(table["community_id"].to_pylist())))
        assert all(lo <= c <= hi for c in batches[-1])
        return table

    monkeypatch.setattr(net, "BATCH_EDGES", 500)
    monkeypatch.setattr(net, "_ranged", spy)
    batched = compute_metrics(ds, as_of="2024-07-01", window="month", metrics=ids)
    assert len(batches) > 4
    flat = [c for b in batches for c in b]
    # each community in one batch, read once for the network measures and the k-core windows together
    assert len(flat) == len(set(flat))
    assert whole["value"].notna().sum() > 100
    pd.testing.assert_frame_equal(whole, batched)


def test_network_reads_the_events_in_place(monkeypatch: pytest.MonkeyPatch):
    """No call copies the events into a table (about 4 GB at 50 M events): the edges are read in place through
    ``ev``, created on demand (``act`` not at all for network metrics alone); with another metric reading ``ev``
    first every value is the same."""
    import commlab.analysis.metrics as metrics
    from commlab.analysis.compute import compute_metrics

    ids = ["density", "reciprocity", "avg_clustering", "kcore_size", "kcore_stability", "hub_interaction_share",
           "fan_hub_share", "repeated_ties_share", "peer_tie_strength", "vertical_focus"]
    ds = samples_dataset()
    executed: list[str] = []
    real = metrics.MetricContext.execute
    monkeypatch.setattr(metrics.MetricContext, "execute", lambda ctx, stmt: executed.append(stmt) or real(ctx, stmt))

    def created() -> set[str]:
        names = {metrics.created_name(s) for s in executed if s.lstrip().upper().startswith("CREATE")}
        # ev is a view reading the events in place (metrics.PRELUDE): no statement copies them into a table
        assert not any(re.match(r"\s*CREATE OR REPLACE TEMP TABLE (ev|ev_in_place)\b", s) for s in executed)
        executed.clear()
        return names

    in_place = compute_metrics(ds, as_of="2024-07-01", window="month", metrics=ids)
    made = created()
    assert "ev" in made and "act" not in made
    with_ev = compute_metrics(ds, as_of="2024-07-01", window="month", metrics=["response_rate", *ids])
    made = created()
    assert "ev" in made
    with_ev = with_ev[with_ev["metric_id"] != "response_rate"].reset_index(drop=True)
    assert in_place["value"].notna().sum() > 100
    pd.testing.assert_frame_equal(in_place, with_ev)


def test_kcore_stability_computed_once_per_period_end(monkeypatch: pytest.MonkeyPatch):
    """Its windows depend on the period end only: in a one-pass run of three period sets (months, the whole span,
    the last 30 days) each community and period end is computed once, and every set's values equal a run of that
    set alone."""
    import commlab.analysis.network as net
    from commlab.analysis.metrics import get_metric
    from commlab.engines import DuckDBEngine
    from commlab.engines.duck import _sources

    ds = samples_dataset()
    srcs = _sources(ds)
    as_of = pd.Timestamp("2024-07-01", tz="UTC")
    requests = [(as_of, "month", None), (as_of, None, None), (as_of, None, as_of - pd.Timedelta(days=30))]
    groups: list[int] = []
    real = net._window_groups

    def spy(rows, windows, *, core_only=False):
        out = real(rows, windows, core_only=core_only)
        if core_only:
            groups.append(len(out))
        return out

    monkeypatch.setattr(net, "_window_groups", spy)
    eng = DuckDBEngine()
    together = eng._compute_sets(srcs, [get_metric("kcore_stability")], requests)
    shared, groups[:] = sum(groups), []
    alone = [eng._compute_sets(srcs, [get_metric("kcore_stability")], [r])[0] for r in requests]
    n_comm = ds.communities["community_id"].nunique()
    # the last 30 days end where the whole span ends (the as-of): their two windows per community are computed once
    assert shared == sum(groups) - 2 * n_comm
    for a, b in zip(together, alone, strict=True):
        assert a["value"].notna().sum() >= n_comm
        pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("seed, n, m, n_staff", [(1, 5, 8, 1), (2, 40, 120, 2), (3, 300, 2500, 5),
                                                 (4, 900, 4000, 0), (5, 60, 3000, 59)])
def test_tie_measures_equal_the_sql_over_undirected_pairs(seed, n, m, n_staff):
    """repeated_ties_share and peer_tie_strength from a graph's edge arrays (with the network measures) equal, to
    the last bit, DuckDB's grouping of the undirected pairs they replaced, with their accounts as group sizes."""
    import duckdb

    e = _random_edges(seed, n, m, n_staff)
    e["weight"] = e["weight"] * np.random.default_rng(seed).integers(1, 4, size=len(e))  # repeated ties
    e.insert(0, "period", "all")
    e.insert(0, "community_id", "c")
    (got, _), = _edge_groups(e).values()
    con = duckdb.connect()
    con.register("edges", e)
    con.execute("""CREATE TABLE pairs AS SELECT least(source, target) AS a, greatest(source, target) AS b,
        sum(weight) AS n, sum(CASE WHEN NOT source_staff AND NOT target_staff THEN weight END) AS n_peer
        FROM edges GROUP BY 1, 2""")
    want = {}
    for value, count, name in (("avg(CASE WHEN n >= 2 THEN 1.0 ELSE 0.0 END)", "n", "repeated_ties"),
                               ("avg(n)::DOUBLE", "n_peer", "peer_tie")):
        row = con.execute(f"""SELECT {value}, (SELECT count(DISTINCT x) FROM (SELECT a AS x FROM pairs
            WHERE {count} IS NOT NULL UNION ALL SELECT b FROM pairs WHERE {count} IS NOT NULL))::DOUBLE
            FROM pairs WHERE {count} IS NOT NULL""").fetchone()
        want[name + ("_share" if name == "repeated_ties" else "_strength")] = row[0]
        want[name + "_accounts"] = row[1] if row[0] is not None else None
    for k in TIE_MEASURES:
        if want[k] is None:
            assert math.isnan(got[k]), k
        else:
            assert got[k] == want[k], k
    assert 0 < got["repeated_ties_share"] < 1 or n < 10
