"""Triangles at every node (the compiled kernel, edges oriented by degree) and core numbers, against networkx."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import commlab.analysis.network as net
from commlab.analysis import graph_kernels


def _graph(seed: int, n: int, m: int, hubs: int) -> nx.Graph:
    """A random simple graph: heavy-tailed degrees, ``hubs`` nodes linked to most others, isolated nodes."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n + 1) ** 0.9
    p /= p.sum()
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(zip(rng.choice(n, m, p=p).tolist(), rng.choice(n, m, p=p).tolist(), strict=True))
    for h in rng.choice(n, hubs, replace=False).tolist():
        g.add_edges_from((h, int(v)) for v in rng.choice(n, int(0.8 * n), replace=False))
    g.remove_edges_from(list(nx.selfloop_edges(g)))
    return g


@pytest.mark.parametrize("seed, n, m, hubs", [(1, 1, 0, 0), (2, 3, 3, 0), (3, 40, 30, 0), (4, 300, 2500, 2),
                                              (5, 2000, 20000, 3), (6, 2000, 60000, 0)])
def test_triangles_equal_networkx(seed, n, m, hubs):
    """Random graphs with hubs and isolated nodes: each node's count equals networkx's (and is nonzero somewhere
    where a triangle exists), with the adjacency's index arrays in 32 bits (as built) and in 64."""
    g = _graph(seed, n, m, hubs)
    ends = np.array(list(g.edges), dtype=np.int64).reshape(-1, 2)
    a = net._simple_adjacency(ends[:, 0], ends[:, 1], n)
    got = net.triangles(a)
    wide = graph_kernels.triangle_counts(a.indptr.astype(np.int64), a.indices.astype(np.int64))
    assert a.indices.dtype == np.int32 and wide.tolist() == got.tolist()
    want = nx.triangles(g)
    assert got.dtype == float and got.tolist() == [float(want[v]) for v in range(n)]
    assert (sum(want.values()) > 0) == (n >= 40)


@pytest.mark.parametrize("seed, n, m, hubs", [(1, 1, 0, 0), (2, 3, 3, 0), (3, 40, 30, 0), (4, 300, 2500, 2),
                                              (5, 2000, 20000, 3), (7, 500, 400, 0)])
@pytest.mark.parametrize("wide", [False, True])
def test_core_numbers_equal_networkx(seed, n, m, hubs, wide):
    """Every node's core number equals networkx's on random graphs with hubs, isolated nodes and sparse chains, with
    the adjacency's index arrays in 32 bits (as built) and in 64 (the kernel's own arrays then 64 bits too)."""
    g = _graph(seed, n, m, hubs)
    ends = np.array(list(g.edges), dtype=np.int64).reshape(-1, 2)
    a = net._simple_adjacency(ends[:, 0], ends[:, 1], n)
    got = (graph_kernels.core_numbers(a.indptr.astype(np.int64), a.indices.astype(np.int64)) if wide
           else net.core_numbers(a))
    want = nx.core_number(g)
    assert got.dtype == np.int64 and got.tolist() == [want[v] for v in range(n)]
    assert n < 40 or got.max() >= 2
