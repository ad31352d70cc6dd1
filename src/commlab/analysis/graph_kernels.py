"""Compiled loops of the network measures: the simple adjacency of an edge list, triangles and core numbers at every
node, and the undirected pairs of the tie measures.

The interaction network of a playbook run is thousands of graphs (each community's months, its whole span, its last
30 days, the k-core windows), up to 1.5 M edges each at 50 M events. In array arithmetic each of these steps is a
sort of every edge (the adjacency, the pairs), a hash lookup of every wedge (the triangles) or a round of array
operations per core level, with arrays built at each step;
as loops compiled by `numba <https://numba.readthedocs.io>`_ they touch each edge a few times and allocate little.
The results are the same integers (tested against networkx in ``tests/test_network_triangles.py``).

The kernels release the GIL (``nogil``): :mod:`commlab.analysis.network` runs one graph per thread. They are compiled
on first use and the machine code is kept beside this file (``cache=True``; numba falls back to a user cache folder
where this one is read-only), so a later process loads it instead of compiling again.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["core_numbers", "pair_ties", "simple_adjacency", "triangle_counts"]

#: A row of the adjacency with more entries than this is ordered by ``np.sort``; a shorter one by insertion, which
#: costs less for the few neighbours most members have in a month.
INSERTION_MAX = 24


@njit(cache=True, nogil=True)
def simple_adjacency(src: np.ndarray, tgt: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR arrays of the undirected simple graph of the directed edges ``src -> tgt`` on nodes ``0..n-1``.

    Parameters
    ----------
    src, tgt : array of int
        Node codes of each directed edge; duplicates, both directions of a pair and self-loops allowed.
    n : int
        Number of nodes.

    Returns
    -------
    indptr : array of int64, length n + 1
    indices : array of int64
        Row ``i``'s neighbours are ``indices[indptr[i]:indptr[i + 1]]``, sorted and unique; no node is its own
        neighbour (the canonical CSR form of ``A + Aᵀ`` without the diagonal, as 0/1).
    """
    m = len(src)
    bound = np.zeros(n + 1, np.int64)  # the rows' ranges before duplicates go: both ends of every edge
    for i in range(m):
        a, b = src[i], tgt[i]
        if a != b:
            bound[a + 1] += 1
            bound[b + 1] += 1
    for r in range(n):
        bound[r + 1] += bound[r]
    fill = bound[:-1].copy()
    col = np.empty(bound[n], np.int64)
    for i in range(m):
        a, b = src[i], tgt[i]
        if a != b:
            col[fill[a]] = b
            fill[a] += 1
            col[fill[b]] = a
            fill[b] += 1
    indptr = np.zeros(n + 1, np.int64)
    w = 0
    for r in range(n):
        lo, hi = bound[r], bound[r + 1]
        if hi - lo > INSERTION_MAX:
            col[lo:hi] = np.sort(col[lo:hi])
        else:
            for i in range(lo + 1, hi):
                x = col[i]
                j = i - 1
                while j >= lo and col[j] > x:
                    col[j + 1] = col[j]
                    j -= 1
                col[j + 1] = x
        previous = -1
        for i in range(lo, hi):  # compacted in place: w never passes i
            if col[i] != previous:
                previous = col[i]
                col[w] = previous
                w += 1
        indptr[r + 1] = w
    return indptr, col[:w].copy()


@njit(cache=True, nogil=True)
def triangle_counts(indptr: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Triangles at every node of an undirected simple graph given as canonical CSR arrays.

    Nodes are ranked by (degree, index) and each edge oriented from the lower rank to the higher, so a hub keeps few
    out-neighbours. Every triangle ``a < b < c`` (by rank) is then found once: ``a``'s out-neighbours are marked,
    and ``c`` is an out-neighbour of ``b`` that carries ``a``'s mark. Work: the out-degree of ``b`` summed over the
    oriented edges ``a → b``, O(m^1.5) at worst.

    Returns
    -------
    array of int64
        The number of triangles each node is a corner of (``diag(A³) / 2``).
    """
    n = len(indptr) - 1
    rank = np.empty(n, np.int64)
    by_degree = np.argsort(indptr[1:] - indptr[:-1], kind="mergesort")  # stable: ties by index
    for i in range(n):
        rank[by_degree[i]] = i
    out_ptr = np.zeros(n + 1, np.int64)
    for u in range(n):
        k = 0
        for p in range(indptr[u], indptr[u + 1]):
            if rank[indices[p]] > rank[u]:
                k += 1
        out_ptr[u + 1] = out_ptr[u] + k
    out = np.empty(out_ptr[n], np.int64)
    for u in range(n):
        q = out_ptr[u]
        for p in range(indptr[u], indptr[u + 1]):
            if rank[indices[p]] > rank[u]:
                out[q] = indices[p]
                q += 1
    count = np.zeros(n, np.int64)
    mark = np.full(n, -1, np.int64)
    for a in range(n):
        for p in range(out_ptr[a], out_ptr[a + 1]):
            mark[out[p]] = a
        for p in range(out_ptr[a], out_ptr[a + 1]):
            b = out[p]
            for q in range(out_ptr[b], out_ptr[b + 1]):
                c = out[q]
                if mark[c] == a:
                    count[a] += 1
                    count[b] += 1
                    count[c] += 1
    return count


@njit(cache=True, nogil=True)
def pair_ties(source: np.ndarray, target: np.ndarray, weight: np.ndarray, staff: np.ndarray
              ) -> tuple[int, int, int, int, int, int]:
    """The undirected pairs of a graph's directed edges, counted for :func:`commlab.analysis.network.tie_measures`.

    Parameters
    ----------
    source, target : array of int
        The distinct directed edges (no self-loops), ordered by ``(source, target)``.
    weight : array of float
        Interactions per edge (whole numbers).
    staff : array of bool
        Whether each node is staff.

    Returns
    -------
    tuple of int
        Pairs; pairs with at least two interactions (both directions together); accounts in a pair; pairs with no
        staff at either end; their interactions; accounts in such a pair.
    """
    m = len(source)
    n = len(staff)
    row = np.zeros(n + 1, np.int64)  # edge i starts at row[source[i]]: the edges are ordered by source
    for i in range(m):
        row[source[i] + 1] += 1
    for r in range(n):
        row[r + 1] += row[r]
    seen = np.zeros(n, np.bool_)
    peer_seen = np.zeros(n, np.bool_)
    pairs = repeated = peers = peer_total = 0
    for i in range(m):
        a, b = source[i], target[i]
        back = -1  # the edge b -> a, found by bisection in b's row
        lo, hi = row[b], row[b + 1]
        while lo < hi:
            mid = (lo + hi) // 2
            if target[mid] < a:
                lo = mid + 1
            else:
                hi = mid
        if lo < row[b + 1] and target[lo] == a:
            back = lo
        if back >= 0 and b < a:
            continue  # the pair was counted at its edge from the smaller node
        total = weight[i] + (weight[back] if back >= 0 else 0.0)
        pairs += 1
        if total >= 2:
            repeated += 1
        seen[a] = True
        seen[b] = True
        if not (staff[a] or staff[b]):
            peers += 1
            peer_total += int(total)
            peer_seen[a] = True
            peer_seen[b] = True
    return pairs, repeated, int(seen.sum()), peers, peer_total, int(peer_seen.sum())


@njit(cache=True, nogil=True)
def core_numbers(indptr: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Core number of every node of an undirected simple graph given as canonical CSR arrays.

    The bucket algorithm of Batagelj and Zaversnik (2003, arXiv:cs/0310049): the nodes in an array ordered by their
    current degree, with where each degree's bucket starts; the node of least degree is removed and each neighbour of
    higher degree moves to the front of its bucket, whose start then moves past it (one swap and one step per
    neighbour), so the whole graph costs O(m). The arrays have the integer type of ``indptr`` (32 bits for the
    graphs here: half the memory traffic of 64).

    Returns
    -------
    array of int64
        Core numbers (:func:`networkx.core_number`).
    """
    n = len(indptr) - 1
    deg = np.empty(n, indptr.dtype)
    top = 0
    for v in range(n):
        deg[v] = indptr[v + 1] - indptr[v]
        top = max(top, deg[v])
    start = np.zeros(top + 2, indptr.dtype)  # start[d]: the first place of degree d's bucket
    for v in range(n):
        start[deg[v] + 1] += 1
    for d in range(top + 1):
        start[d + 1] += start[d]
    place = np.empty(n, indptr.dtype)
    node = np.empty(n, indptr.dtype)
    fill = start[:-1].copy()
    for v in range(n):
        place[v] = fill[deg[v]]
        node[place[v]] = v
        fill[deg[v]] += 1
    for i in range(n):
        v = node[i]
        dv = deg[v]
        for p in range(indptr[v], indptr[v + 1]):
            u = indices[p]
            du = deg[u]
            if du > dv:  # u moves to the front of its bucket, which then starts one place later, and drops a degree
                pu, pw = place[u], start[du]
                w = node[pw]
                if u != w:
                    place[u], node[pu] = pw, w
                    place[w], node[pw] = pu, u
                start[du] += 1
                deg[u] = du - 1
    return deg.astype(np.int64)
