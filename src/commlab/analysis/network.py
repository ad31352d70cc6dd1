"""The interaction network of a community: who replies to and mentions whom.

Edges come from events whose ``target_member_id`` names another member (by default
``reply`` and ``mention``; pass ``kinds`` to add ``reaction``). The directed graph has one
edge per (source, target) pair weighted by the number of interactions. Self-loops are
dropped. These metrics are **Python over DuckDB query results**: DuckDB selects the interaction
events (each once, a range of communities at a time), each period's graph is cut from them and its
edges counted with NumPy (:func:`_window_groups`), and the measures are computed from the edge arrays
with NumPy and the compiled loops of :mod:`commlab.analysis.graph_kernels` (the adjacency, :func:`triangles`,
:func:`core_numbers`, the tie pairs; :func:`edge_measures`), which scale to graphs with millions of edges.
:func:`graph_measures` computes the same measures with networkx on a graph object; it is the
reference the fast path is tested against (and what the naive oracle uses).

Measures (per community and period, registered in :mod:`commlab.analysis.metrics`):

- ``density``: directed density ``m / (n (n-1))``.
- ``reciprocity``: share of directed edges whose reverse edge also exists.
- ``avg_clustering``: average clustering of the undirected simple graph.
- ``degree_centralization``: Freeman degree centralization of the undirected simple graph,
  ``Σ (d_max − d_i) / ((n−1)(n−2))`` (1 for a star, 0 for a ring or a complete graph).
- ``kcore_max`` / ``kcore_size``: the largest core number and how many members are in that core.
- ``kcore_stability``: Jaccard similarity of the main k-core members of the 30 days up to the period end
  and of the 30 days before.
- ``staff_interaction_share``: share of interactions (edge weights) with staff at either end.
- ``hub_interaction_share``: share of interactions touching staff or a top-1 % hub
  (the ``ceil(0.01 n)`` members with the most interactions, ties by id): descriptive only.
- ``fan_hub_share``: share of interactions touching a *fan hub*: an owner or staff member
  (official accounts are staff), or the one dominant figure — the single strongest non-staff
  member when at least half of all interactions touch them (:data:`DOMINANT_SHARE`; a tie at the
  top is no single figure). Core members who carry the conversation are *not* fan hubs:
  DOMAIN.md §2, "the connections form around core members" is a community economy.
- ``member_to_member_share``: ``1 − fan_hub_share``: interactions between members, core members
  and top hubs included.
- ``fan_hub_centralization``: Freeman degree centralization taken around the best-connected fan
  hub, ``max(0, Σ (d_h − d_i) / ((n−1)(n−2)))``: 1 when the owner, staff or dominant figure is
  the centre of a star, 0 when there is no fan hub or it is not central (a star around a core
  member scores 0 here, and 1 on ``degree_centralization``).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse

from commlab.analysis import graph_kernels
from commlab.analysis.metrics import Metric, MetricContext, register
from commlab.data.schema import Col
from commlab.data.stored import StoredEvents
from commlab.errors import InvalidArgument, NotFound

__all__ = [
    "DEFAULT_KINDS",
    "DOMINANT_SHARE",
    "NETWORK_MEASURES",
    "TIE_MEASURES",
    "tie_measures",
    "interaction_edges",
    "period_edges",
    "hash_ids_safe",
    "build_graph",
    "graph_measures",
    "edge_measures",
    "core_numbers",
    "triangles",
    "degree_centralization",
    "average_clustering",
    "main_core",
    "jaccard",
    "kcore_stability",
    "network_table",
    "community_graph",
]

#: Event types that make edges unless told otherwise.
DEFAULT_KINDS: tuple[str, ...] = ("reply", "mention")

NETWORK_MEASURES: tuple[str, ...] = (
    "nodes",
    "interactions",
    "density",
    "reciprocity",
    "avg_clustering",
    "degree_centralization",
    "kcore_max",
    "kcore_size",
    "staff_interaction_share",
    "hub_interaction_share",
    "fan_hub_share",
    "member_to_member_share",
    "fan_hub_centralization",
)

#: The tie measures computed with the network measures from the same edges, read by
#: :mod:`commlab.analysis.highvalue`'s ``repeated_ties_share`` and ``peer_tie_strength`` (value and group size).
TIE_MEASURES: tuple[str, ...] = ("repeated_ties_share", "repeated_ties_accounts", "peer_tie_strength",
                                 "peer_tie_accounts")

#: A non-staff member touched by at least this share of a graph's interactions (and strictly more
#: than anyone else) is a dominant figure, a fan hub like the owner or staff.
DOMINANT_SHARE = 0.5


#: Events of the period (flows count ``p_start < ts <= p_end``).
_PERIOD = "e.ts > p.p_start AND e.ts <= p.p_end"


def _kinds_sql(kinds: Iterable[str]) -> str:
    return "(" + ", ".join(f"'{k}'" for k in kinds) + ")"


def interaction_edges(
    ctx: MetricContext,
    *,
    kinds: Iterable[str] = DEFAULT_KINDS,
    trailing_days: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """Weighted directed edges per community and period, counted by DuckDB.

    Parameters
    ----------
    ctx : MetricContext
        The engine context (see :mod:`commlab.analysis.metrics`).
    kinds : iterable of str
        Event types that make edges.
    trailing_days : (int, int), optional
        ``(a, b)``: use events with ``p_end − a days < ts <= p_end − b days`` instead of the period.

    Returns
    -------
    DataFrame
        ``community_id, period, source, target, weight, source_staff, target_staff``.
    """
    if trailing_days is None:
        return ctx.query(_edges_sql(kinds, _PERIOD))
    a, b = trailing_days
    bounds = _shifted_periods(lo=a, hi=b)
    return ctx.query(_edges_sql(kinds, "e.ts > p.lo AND e.ts <= p.hi", periods=bounds))


def _shifted_periods(**days: int) -> str:
    """``periods`` plus one column per keyword: ``p_end`` minus that many days.

    Computed once per period, not per event: time-zone-aware interval arithmetic costs about
    3.6 s per 50 M rows.
    """
    cols = ", ".join(f"p_end - INTERVAL '{n} days' AS {name}" for name, n in days.items())
    return f"(SELECT *, {cols} FROM periods)"


def _edges_sql(kinds: Iterable[str], window: str, extra: tuple[str, str] | None = None,
               hashed: bool = False, periods: str = "periods", events: str = "ev") -> str:
    """The edge query over events in ``window``; ``extra`` = (expression, alias) adds a grouping column.

    ``periods`` is the relation aliased ``p`` (default the ``periods`` table), ``events`` the one aliased ``e``
    (default ``ev``, the prelude's view of the events read in place). The events are filtered by
    :func:`_interactions`. ``hashed`` adds the 64-bit hashes of both ids (``source_h``, ``target_h``; DuckDB
    only), see :func:`hash_ids_safe`. The DuckDB engine's network measures read the events ungrouped instead
    (:func:`_event_rows_sql`); this query serves :func:`interaction_edges` and the Spark engine.
    """
    col, by = (f", {extra[0]} AS {extra[1]}", f", {extra[1]}") if extra else ("", "")
    if hashed:
        col += ", hash(e.member_id) AS source_h, hash(e.target_member_id) AS target_h"
    where = f"""FROM {periods} p
JOIN {events} e ON e.community_id = p.community_id AND {window}
{_interactions(kinds)}"""
    return f"""
SELECT p.community_id, p.period, e.member_id AS source, e.target_member_id AS target{col},
       count(*) AS weight, bool_or(e.is_staff) AS source_staff,
       bool_or(t.member_id IS NOT NULL) AS target_staff
{where}
GROUP BY p.community_id, p.period, e.member_id, e.target_member_id{by}
"""


def _interactions(kinds: Iterable[str]) -> str:
    """The join and filter that keep the interaction events of ``e`` (aliased so) that make edges.

    The target's role comes from the prelude's small ``staff`` table (a member not in it is not staff and not a
    bot), so the events are not joined to every member.
    """
    return f"""LEFT JOIN staff t ON t.community_id = e.community_id AND t.member_id = e.target_member_id
WHERE e.event_type IN {_kinds_sql(kinds)} AND e.target_member_id IS NOT NULL
  AND e.target_member_id <> e.member_id AND NOT e.is_bot AND NOT coalesce(t.is_bot, false)"""


def _event_rows_sql(kinds: Iterable[str], *, hashed: bool, names: bool = True) -> str:
    """The interaction events of the communities ``$lo`` to ``$hi``, one row each, not grouped.

    ``community_id``, ``ts_us`` (``epoch_us(ts)``: the instant DuckDB compares, as an integer), the ``source`` and
    ``target`` ids (without ``names``: left out, for hashed pairs that need no id), ``source_staff``,
    ``target_staff`` and, with ``hashed``, the 64-bit ``source_h``/``target_h`` (see :func:`hash_ids_safe`).
    :func:`_window_groups` cuts each period's (or window's) graph from them: each event is read and handed over
    once, however many of the periods it falls in (grouping the edges of every period in DuckDB hashed each event
    once per period holding it, on four string keys).
    """
    if not names and not hashed:
        raise InvalidArgument("rows without ids need hashed ids")
    cols = ["e.community_id", "epoch_us(e.ts) AS ts_us"]
    if names:
        cols += ["e.member_id AS source", "e.target_member_id AS target"]
    if hashed:
        cols += ["hash(e.member_id) AS source_h", "hash(e.target_member_id) AS target_h"]
    cols += ["e.is_staff AS source_staff", "t.member_id IS NOT NULL AS target_staff"]
    return f"""SELECT {', '.join(cols)}
FROM ev e
{_interactions(kinds)}
  AND e.ts IS NOT NULL AND e.community_id >= $lo AND e.community_id <= $hi
"""


def build_graph(edges: pd.DataFrame) -> nx.DiGraph:
    """A weighted directed graph from ``source, target, weight`` rows (node attribute ``staff``)."""
    if len(edges) == 0:
        return nx.DiGraph()
    e = pd.DataFrame({"source": edges["source"].astype(str), "target": edges["target"].astype(str),
                      "weight": edges["weight"].astype(int)})
    g = nx.from_pandas_edgelist(e, "source", "target", edge_attr="weight", create_using=nx.DiGraph)
    staff = set(e["source"][edges["source_staff"].astype(bool).to_numpy()]) | set(
        e["target"][edges["target_staff"].astype(bool).to_numpy()])
    nx.set_node_attributes(g, {n: n in staff for n in g.nodes}, "staff")
    return g


def _undirected(g: nx.DiGraph) -> nx.Graph:
    """The undirected simple graph of ``g`` without attributes (fast: no attribute copies)."""
    u = nx.Graph()
    u.add_nodes_from(g.nodes)
    u.add_edges_from(g.edges)
    return u


def average_clustering(u: nx.Graph) -> float:
    """Average clustering of an undirected simple graph (nodes of degree < 2 count as 0).

    Same value as :func:`networkx.average_clustering`, computed with sparse matrices
    (triangles at a node = diag(A³)/2) because the pure-Python version dominates run time.
    """
    n = u.number_of_nodes()
    if n == 0:
        return math.nan
    a = nx.to_scipy_sparse_array(u, weight=None, format="csr", dtype=float)
    a.setdiag(0)
    a.eliminate_zeros()
    tri = np.asarray((a @ a).multiply(a).sum(axis=1)).ravel() / 2
    deg = np.asarray(a.sum(axis=1)).ravel()
    possible = deg * (deg - 1) / 2
    c = np.divide(tri, possible, out=np.zeros_like(tri), where=possible > 0)
    return float(c.mean())


def degree_centralization(g: nx.Graph) -> float:
    """Freeman degree centralization of the undirected simple version of ``g``.

    Returns NaN for fewer than three nodes (the normalising maximum is zero).
    """
    u = _undirected(g) if g.is_directed() else g
    n = u.number_of_nodes()
    if n < 3:
        return math.nan
    deg = np.array([d for _, d in u.degree()], dtype=float)
    return float((deg.max() - deg).sum() / ((n - 1) * (n - 2)))


def main_core(g: nx.Graph) -> set[str]:
    """Members of the main (largest-k) core of the undirected simple version of ``g``."""
    if g.number_of_nodes() == 0:
        return set()
    u = _undirected(g) if g.is_directed() else nx.Graph(g)
    u.remove_edges_from(list(nx.selfloop_edges(u)))
    core = nx.core_number(u)
    k = max(core.values())
    return {n for n, c in core.items() if c == k}


def jaccard(a: set, b: set) -> float:
    """``|a ∩ b| / |a ∪ b|``; NaN when both are empty."""
    union = a | b
    return len(a & b) / len(union) if union else math.nan


def graph_measures(g: nx.DiGraph) -> dict[str, float]:
    """The measures of the module docstring for one graph (NaN where undefined)."""
    n = g.number_of_nodes()
    out: dict[str, float] = dict.fromkeys(NETWORK_MEASURES, math.nan)
    out["nodes"] = float(n)
    total = float(sum(w for _, _, w in g.edges(data="weight")))
    out["interactions"] = total
    if n == 0 or total == 0:
        return out
    out["density"] = nx.density(g) if n > 1 else math.nan
    out["reciprocity"] = float(nx.overall_reciprocity(g))
    u = _undirected(g)
    out["avg_clustering"] = average_clustering(u)
    out["degree_centralization"] = degree_centralization(u)
    core = nx.core_number(u)
    k = max(core.values())
    out["kcore_max"] = float(k)
    out["kcore_size"] = float(sum(1 for c in core.values() if c == k))
    staff = {v for v, s in g.nodes(data="staff") if s}
    strength: dict[str, float] = {}
    for s, t, w in g.edges(data="weight"):
        strength[s] = strength.get(s, 0) + w
        strength[t] = strength.get(t, 0) + w
    n_hubs = math.ceil(0.01 * n)
    hubs = {v for v, _ in sorted(strength.items(), key=lambda kv: (-kv[1], kv[0]))[:n_hubs]}
    touching_staff = sum(w for s, t, w in g.edges(data="weight") if s in staff or t in staff)
    central = staff | hubs
    touching_hub = sum(w for s, t, w in g.edges(data="weight") if s in central or t in central)
    out["staff_interaction_share"] = touching_staff / total
    out["hub_interaction_share"] = touching_hub / total
    fans = set(staff)
    others = sorted((w, v) for v, w in strength.items() if v not in staff)
    if n >= 3 and others and others[-1][0] >= DOMINANT_SHARE * total and (
            len(others) == 1 or others[-2][0] < others[-1][0]):
        fans.add(others[-1][1])
    touching_fan = sum(w for s, t, w in g.edges(data="weight") if s in fans or t in fans)
    out["fan_hub_share"] = touching_fan / total
    out["member_to_member_share"] = 1.0 - touching_fan / total
    if n >= 3:
        deg = dict(u.degree())
        d_h = max((deg[v] for v in fans), default=None)
        out["fan_hub_centralization"] = (0.0 if d_h is None else
                                         max(0.0, (n * d_h - sum(deg.values())) / ((n - 1) * (n - 2))))
    return out


def _simple_adjacency(src: np.ndarray, tgt: np.ndarray, n: int) -> sparse.csr_array:
    """Symmetric 0/1 adjacency (int32) of the undirected simple graph of directed edges ``src -> tgt``.

    The canonical CSR arrays (rows in order, sorted unique column indices, no self-loops) come from the compiled
    :func:`commlab.analysis.graph_kernels.simple_adjacency`: each edge placed in its two rows, each row ordered
    and its duplicates dropped. The sort of every edge's integer key it replaced took 2.4-2.7× as long on the 50 M
    benchmark's graphs (a month's 218 k edges 25 -> 10.6 ms, the largest whole span's 1.5 M 266 -> 98 ms).
    """
    indptr, indices = graph_kernels.simple_adjacency(np.ascontiguousarray(src, dtype=np.int64),
                                                     np.ascontiguousarray(tgt, dtype=np.int64), n)
    index = np.int32 if n < 2**31 and len(indices) < 2**31 else np.int64
    return sparse.csr_array((np.ones(len(indices), dtype=np.int32), indices.astype(index), indptr.astype(index)),
                            shape=(n, n))


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)``, hashed instead of sorting every value.

    The distinct values are found by a hash table (:func:`pandas.factorize`) and only they are sorted,
    so the codes are the same as ``np.unique``'s (node ``i`` is the ``i``-th smallest id): every float
    sum over the nodes of a graph runs in the same order as before.
    """
    codes, uniques = pd.factorize(values, sort=False)
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[order] = np.arange(len(uniques))
    return uniques[order], rank[codes]


def triangles(adj: sparse.csr_array) -> np.ndarray:
    """Triangles at every node of an undirected simple graph (0/1 adjacency matrix, canonical CSR), as floats.

    Counted by the compiled :func:`commlab.analysis.graph_kernels.triangle_counts` (edges oriented by degree, each
    triangle found once from its lowest corner); the same counts as ``diag(A³) / 2``. The array version it replaced
    (wedges listed in chunks, closed through a hash table of the edges) took 1.8× as long on a month's graph of the
    50 M benchmark and 4× on the largest whole span (29 -> 16 ms, 637 -> 156 ms).
    """
    if adj.shape[0] == 0:
        return np.zeros(0)
    return graph_kernels.triangle_counts(adj.indptr, adj.indices).astype(float)


def core_numbers(adj: sparse.csr_array) -> np.ndarray:
    """Core number of every node of an undirected simple graph given as a 0/1 adjacency matrix (canonical CSR).

    The compiled bucket algorithm :func:`commlab.analysis.graph_kernels.core_numbers`, O(m); the same result as
    :func:`networkx.core_number`.
    """
    if adj.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    return graph_kernels.core_numbers(adj.indptr, adj.indices)


def edge_measures(source: np.ndarray, target: np.ndarray, weight: np.ndarray, staff: np.ndarray,
                  names: np.ndarray, *, name_core: bool = True, core_names: Any = None
                  ) -> tuple[dict[str, float], set]:
    """The measures of the module docstring from the edge arrays of one graph.

    Parameters
    ----------
    source, target : array of int
        Node codes ``0..n-1`` of each directed edge (one row per distinct pair, no self-loops).
    weight : array of float
        Interactions per edge.
    staff : array of bool, length n
        Whether each node is staff.
    names : array of str (length n) or callable
        Node ids, for the tie-break of hubs (by id) and the main core; or a function giving the
        ids of the node indices it is passed (only the nodes tied at the hub cut-off and the main
        core are looked up).
    name_core : bool
        Name the main core's members (else the returned set is empty).
    core_names : callable, optional
        What names the main core's members (node indices in, names out); default ``names``.

    Returns
    -------
    measures : dict
        As :func:`graph_measures`.
    main_core : set
        Ids of the members of the main (largest-k) core; empty with ``name_core=False`` (the measures
        alone, as :func:`network_table` needs: no id is looked up for the core).
    """
    n = len(staff)
    out: dict[str, float] = dict.fromkeys(NETWORK_MEASURES, math.nan)
    out["nodes"] = float(n)
    total = float(weight.sum())
    out["interactions"] = total
    if n == 0 or total == 0:
        return out, set()
    m = len(source)
    out["density"] = m / (n * (n - 1)) if n > 1 else math.nan
    adj = _simple_adjacency(source, target, n)
    # m distinct directed pairs without self-loops: a reciprocated pair is one undirected edge
    # for two directed ones, so the symmetric adjacency has 2m - (reciprocated edges) entries.
    out["reciprocity"] = float((2 * m - adj.nnz) / m)
    deg = np.asarray(adj.sum(axis=1)).ravel().astype(float)
    tri = triangles(adj)
    possible = deg * (deg - 1) / 2
    out["avg_clustering"] = float(np.divide(tri, possible, out=np.zeros_like(tri), where=possible > 0).mean())
    out["degree_centralization"] = float((deg.max() - deg).sum() / ((n - 1) * (n - 2))) if n >= 3 else math.nan
    core = core_numbers(adj)
    k = int(core.max())
    in_core = core == k
    out["kcore_max"] = float(k)
    out["kcore_size"] = float(in_core.sum())
    name_of = names if callable(names) else (lambda idx: np.asarray(names)[idx])
    strength = np.bincount(source, weights=weight, minlength=n) + np.bincount(target, weights=weight, minlength=n)
    # hubs: the n_hubs strongest, ties at the cut-off broken by id (only the tied ids are looked up)
    n_hubs = math.ceil(0.01 * n)
    cut = np.partition(strength, n - n_hubs)[n - n_hubs]
    central = staff | (strength > cut)
    tied = np.flatnonzero(strength == cut)
    need = n_hubs - int((strength > cut).sum())
    if need < len(tied):
        tied = tied[np.argsort(np.asarray(name_of(tied)).astype(str), kind="stable")[:need]]
    central[tied] = True
    touching_staff = weight[staff[source] | staff[target]].sum()
    touching_hub = weight[central[source] | central[target]].sum()
    out["staff_interaction_share"] = float(touching_staff / total)
    out["hub_interaction_share"] = float(touching_hub / total)
    # fan hubs: staff, and one dominant non-staff figure (strictly the strongest, >= half of all)
    fans = staff.copy()
    other = np.where(staff, -1.0, strength)
    if n >= 3 and other.max() >= DOMINANT_SHARE * total and int((other == other.max()).sum()) == 1:
        fans[int(other.argmax())] = True
    touching_fan = weight[fans[source] | fans[target]].sum()
    out["fan_hub_share"] = float(touching_fan / total)
    out["member_to_member_share"] = float(1.0 - touching_fan / total)
    if n >= 3:
        out["fan_hub_centralization"] = (
            float(max(0.0, (n * deg[fans].max() - deg.sum()) / ((n - 1) * (n - 2)))) if fans.any() else 0.0)
    if not name_core:
        return out, set()
    return out, set(np.asarray((name_of if core_names is None else core_names)(np.flatnonzero(in_core))).tolist())


def tie_measures(source: np.ndarray, target: np.ndarray, weight: np.ndarray, staff: np.ndarray) -> dict[str, float]:
    """The undirected pairs of one graph's directed edges (:data:`TIE_MEASURES`).

    A pair ``{a, b}`` counts the interactions of both directions. ``repeated_ties_share`` is the share of
    pairs with at least two, over every account in a pair; ``peer_tie_strength`` the mean interactions of
    the pairs with no staff at either end, over the accounts in those pairs (NaN without such a pair).

    Parameters
    ----------
    source, target : array of int
        Node codes ``0..n-1`` of each directed edge (one row per distinct pair, no self-loops).
    weight : array of float
        Interactions per edge.
    staff : array of bool, length n
        Whether each node is staff.
    """
    n = len(staff)
    out = dict.fromkeys(TIE_MEASURES, math.nan)
    if len(source) == 0:
        return out
    source, target = np.asarray(source, dtype=np.int64), np.asarray(target, dtype=np.int64)
    weight = np.asarray(weight, dtype=float)
    key = source * n + target
    if not (key[1:] > key[:-1]).all():  # the kernel looks each edge's reverse up in order (the windows' come so)
        order = np.argsort(key, kind="stable")
        source, target, weight = source[order], target[order], weight[order]
    pairs, repeated, accounts, peers, peer_total, peer_accounts = graph_kernels.pair_ties(
        source, target, weight, np.asarray(staff, dtype=bool))
    out["repeated_ties_share"] = _mean(repeated, pairs, scale=10)
    out["repeated_ties_accounts"] = float(accounts)
    if peers:
        out["peer_tie_strength"] = _mean(peer_total, peers)
        out["peer_tie_accounts"] = float(peer_accounts)
    return out


def _mean(total: int, count: int, scale: int = 1) -> float:
    """``total / count`` as DuckDB's ``avg`` of integers computes it (the exact sum divided in extended precision,
    then rounded to a double), so the tie measures equal the SQL they replace to the last bit; ``scale`` is the
    decimal scale factor of an average of ``DECIMAL`` values (``1.0``: 10)."""
    return float(np.longdouble(total * scale) / (np.longdouble(count) * np.longdouble(scale)))


def _codes(values: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Dictionary codes (int64) and the distinct values (object array) of a string column."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    enc = pc.dictionary_encode(values.cast(pa.large_string()))
    return (enc.indices.to_numpy(zero_copy_only=False).astype(np.int64),
            enc.dictionary.to_numpy(zero_copy_only=False).astype(object))


def _edge_groups(edges: pd.DataFrame | pa.Table, *, core_only: bool = False, name_core: bool = True
                 ) -> dict[tuple[str, str], tuple[dict[str, float], set]]:
    """:func:`edge_measures` for each (community, period) of an :func:`interaction_edges` table.

    ``edges`` may be a DataFrame or an Arrow table (what :meth:`MetricContext.arrow` returns:
    millions of string ids arrive without building Python strings). Nodes are identified by
    integers: the ``source_h``/``target_h`` hashes when the table has them (checked free of
    collisions by :func:`hash_ids_safe`), else dictionary codes of the ids. Rows are ordered by
    group with one integer sort and each graph is sliced as integer arrays; ids are looked up
    (from the rows where a node occurs) only for hub ties and the main core. With ``core_only``
    only the main core is computed (the measures dict is empty), as :func:`kcore_stability` needs;
    then the table may hold only the hashes (no ``source``/``target`` strings, weights or staff
    flags), and the core's members are named by their hashes. ``name_core=False`` leaves the main core
    unnamed (an empty set; see :func:`edge_measures`).
    """
    result: dict[tuple[str, str], tuple[dict[str, float], set]] = {}
    t = edges if isinstance(edges, pa.Table) else pa.Table.from_pandas(edges, preserve_index=False)
    m = t.num_rows
    if m == 0:
        return result
    c_code, c_names = _codes(t[Col.community_id])
    p_code, p_names = _codes(t["period"])
    gid = c_code * len(p_names) + p_code
    order = np.argsort(gid.astype(np.uint16) if gid.max() < 2**16 else gid, kind="stable")
    gid = gid[order]
    if "source_h" in t.column_names:
        ids = [t[c].to_numpy() for c in ("source_h", "target_h")]
    else:
        codes = _codes(pa.concat_arrays([t[c].combine_chunks().cast(pa.large_string())
                                         for c in ("source", "target")]))[0]
        ids = [codes[:m], codes[m:]]
    g_src, g_tgt = ids[0][order], ids[1][order]
    # without the id strings (hashes only, for the cores) a node is named by its hash
    strings = ((t["source"].combine_chunks(), t["target"].combine_chunks()) if "source" in t.column_names
               else (pa.array(ids[0]), pa.array(ids[1])))

    def col(name: str, dtype: type) -> np.ndarray:
        return t[name].to_numpy().astype(dtype)[order]

    if not core_only:
        weight, s_staff, t_staff = col("weight", float), col("source_staff", bool), col("target_staff", bool)
    starts = np.flatnonzero(np.r_[True, gid[1:] != gid[:-1]])
    ends = np.r_[starts[1:], m]

    def one(a: int, b: int) -> tuple[tuple[str, str], tuple[dict[str, float], set]]:
        k = b - a
        uniques, inv = _factorize(np.concatenate([g_src[a:b], g_tgt[a:b]]))
        s_code, t_code = inv[:k], inv[k:]
        n = len(uniques)

        def name_of(idx: np.ndarray) -> np.ndarray:
            # the first row where each node occurs (as np.unique's return_index), found only when names are asked
            first = np.empty(n, dtype=np.int64)
            first[inv[::-1]] = np.arange(2 * k - 1, -1, -1)
            pos = first[np.asarray(idx, dtype=np.int64)]
            out = np.empty(len(pos), dtype=object)
            for side, sel in ((0, pos < k), (1, pos >= k)):
                rows = order[a + pos[sel] - side * k]
                out[sel] = strings[side].take(pa.array(rows)).to_numpy(zero_copy_only=False)
            return out

        key = (str(c_names[gid[a] // len(p_names)]), str(p_names[gid[a] % len(p_names)]))
        if core_only:
            core = core_numbers(_simple_adjacency(s_code, t_code, n))
            return key, ({}, set(name_of(np.flatnonzero(core == core.max())).tolist()))
        staff = np.zeros(n, dtype=bool)
        staff[s_code[s_staff[a:b]]] = True
        staff[t_code[t_staff[a:b]]] = True
        measures, core = edge_measures(s_code, t_code, weight[a:b], staff, name_of, name_core=name_core)
        return key, ({**measures, **tie_measures(s_code, t_code, weight[a:b], staff)}, core)

    # graphs are independent and the sparse kernels release the GIL: one thread per core
    workers = min(len(starts), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(one, starts.tolist(), ends.tolist()))


#: A window with fewer events than its community's nodes over this numbers its own nodes with a hash table
#: (:func:`_factorize`); a larger one marks them in an array over the community's nodes (no hashing).
SPARSE_WINDOW = 16


def _community_time_order(c_code: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """The order of rows by community code, then time (a stable sort; the events come nearly in that order)."""
    if not len(ts):
        return np.arange(0)
    t0 = int(ts.min())
    span = int(ts.max()) - t0 + 1
    if (int(c_code.max()) + 1) * span < 2**62:
        return np.argsort(c_code * span + (ts - t0), kind="stable")
    return np.lexsort((ts, c_code))


def _window_groups(rows: pa.Table, windows: pd.DataFrame, *, core_only: bool = False
                   ) -> dict[Any, tuple[dict[str, float], set]]:
    """:func:`edge_measures` (or only the main core) of the graph of each window, cut from event rows.

    Parameters
    ----------
    rows : Arrow table
        One row per interaction event (:func:`_event_rows_sql`).
    windows : DataFrame
        ``community_id``, ``key`` (any hashable: the result's key), ``lo`` and ``hi`` (integer microseconds):
        the graph of a window holds the events of its community with ``lo < ts_us <= hi``. An optional boolean
        column ``core_only`` says per window what the argument says for all.
    core_only : bool
        Only the main core (the measures dict empty), as :func:`kcore_stability` needs; the rows then need
        no weights, staff flags or (with hashes) ids.

    Returns
    -------
    dict
        ``key`` -> (measures and :data:`TIE_MEASURES`, main core) as :func:`_edge_groups` gives for the same
        graph (same nodes in the same order, same edges with the same weights and staff flags: the values are
        the same to the last bit), for the windows holding at least one event. The main core's members are named
        by their hashes when the rows have them, else by their ids; a measured window names it only when a
        core-only window holds the same events (else the set is empty).

    Notes
    -----
    The rows are ordered by community and time once, so a window's events are a slice found by two binary
    searches, and windows holding the same events (a period set's last month and the last 30 days both end at the
    as-of; k-core windows a microsecond apart) are the same slice: one graph. The nodes of each community are
    numbered once, in the order of their ids (hashes or dictionary codes); a window keeps that order for its own
    nodes, numbered ``0..n-1`` (what ``np.unique`` of the window's ids gives), and its directed edges are grouped
    by one integer sort of ``source * n + target``: the events come to Python once, whatever the periods holding
    them.
    """
    m = rows.num_rows
    if m == 0 or windows.empty:
        return {}
    c_code, c_names = _codes(rows[Col.community_id])
    ts = rows["ts_us"].to_numpy()
    hashed = "source_h" in rows.column_names
    if hashed:
        src, tgt = (rows[c].to_numpy() for c in ("source_h", "target_h"))
    else:  # dictionary codes, in the rows' own order
        codes = _codes(pa.concat_arrays([rows[c].combine_chunks().cast(pa.large_string())
                                         for c in ("source", "target")]))[0]
        src, tgt = codes[:m], codes[m:]
    order = _community_time_order(c_code, ts)
    c_code, ts, src, tgt = c_code[order], ts[order], src[order], tgt[order]
    strings = ((rows["source"].combine_chunks(), rows["target"].combine_chunks()) if "source" in rows.column_names
               else None)
    bounds = np.searchsorted(c_code, np.arange(len(c_names) + 1))  # community i: rows bounds[i] to bounds[i + 1]
    position = dict(zip(c_names.tolist(), range(len(c_names)), strict=True))
    only = (windows["core_only"].to_numpy(dtype=bool) if "core_only" in windows.columns
            else np.full(len(windows), core_only))
    # one task per distinct slice of rows: [community, measures asked, core asked, keys]
    tasks: dict[tuple[int, int], list] = {}
    for c, key, lo, hi, o in zip(windows[Col.community_id].astype(str), windows["key"], windows["lo"].to_numpy(),
                                 windows["hi"].to_numpy(), only, strict=True):
        i = position.get(c)
        if i is None:
            continue
        a0, b0 = int(bounds[i]), int(bounds[i + 1])
        t = ts[a0:b0]
        a, b = a0 + int(np.searchsorted(t, lo, side="right")), a0 + int(np.searchsorted(t, hi, side="right"))
        if a >= b:
            continue
        task = tasks.setdefault((a, b), [i, False, False, []])
        task[2 if o else 1] = True
        task[3].append(key)
    if not tasks:
        return {}
    if any(t[1] for t in tasks.values()):
        s_staff = rows["source_staff"].to_numpy(zero_copy_only=False).astype(bool)[order]
        t_staff = rows["target_staff"].to_numpy(zero_copy_only=False).astype(bool)[order]

    def number(i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        # a community's nodes in the order of their ids, its rows' node numbers, and where each node first occurs
        a0, b0 = int(bounds[i]), int(bounds[i + 1])
        k = b0 - a0
        uniques, inv = _factorize(np.concatenate([src[a0:b0], tgt[a0:b0]]))
        first = None
        if strings is not None:
            first = np.empty(len(uniques), dtype=np.int64)
            first[inv[::-1]] = np.arange(2 * k - 1, -1, -1)
        return uniques, inv[:k], inv[k:], first

    workers = max(1, min(len(tasks), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # the largest first, so the threads finish together (a batch's whole-span graph alone can take a second)
        used = sorted({t[0] for t in tasks.values()}, key=lambda i: int(bounds[i]) - int(bounds[i + 1]))
        numbered = dict(zip(used, pool.map(number, used), strict=True))

        def one(item: tuple[tuple[int, int], list]) -> tuple[list, tuple[dict[str, float], set]]:
            (a, b), (i, measured, cored, keys) = item
            uniques, g_src, g_tgt, first = numbered[i]
            a0 = int(bounds[i])
            s, t = g_src[a - a0:b - a0], g_tgt[a - a0:b - a0]
            k = b - a
            if SPARSE_WINDOW * k < len(uniques):  # few events in a large community: a hash table of its nodes
                node, inv = _factorize(np.concatenate([s, t]))
                s_code, t_code = inv[:k], inv[k:]
            else:  # the community's numbers of the nodes present, in order, renumbered 0..n-1
                present = np.zeros(len(uniques), dtype=bool)
                present[s] = True
                present[t] = True
                node = np.flatnonzero(present)
                renumber = np.empty(len(uniques), dtype=np.int64)
                renumber[node] = np.arange(len(node))
                s_code, t_code = renumber[s], renumber[t]
            n = len(node)

            def name_of(nodes: np.ndarray) -> np.ndarray:
                g = node[np.asarray(nodes, dtype=np.int64)]
                if strings is None:  # hashes only: a node is named by its hash
                    return uniques[g]
                pos = first[g]
                kc = len(g_src)
                out = np.empty(len(pos), dtype=object)
                for side, sel in ((0, pos < kc), (1, pos >= kc)):
                    picked = order[a0 + pos[sel] - side * kc]
                    out[sel] = strings[side].take(pa.array(picked)).to_numpy(zero_copy_only=False)
                return out

            core_name = (lambda nodes: uniques[node[np.asarray(nodes, dtype=np.int64)]]) if hashed else name_of
            if not measured:
                core = core_numbers(_simple_adjacency(s_code, t_code, n))
                return keys, ({}, set(core_name(np.flatnonzero(core == core.max())).tolist()))
            pair = s_code * n + t_code
            pair.sort()
            starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
            weight = np.diff(np.r_[starts, k]).astype(float)
            e_src = pair[starts] // n
            e_tgt = pair[starts] - e_src * n
            staff = np.zeros(n, dtype=bool)
            staff[s_code[s_staff[a:b]]] = True
            staff[t_code[t_staff[a:b]]] = True
            measures, core = edge_measures(e_src, e_tgt, weight, staff, name_of, name_core=cored,
                                           core_names=core_name)
            return keys, ({**measures, **tie_measures(e_src, e_tgt, weight, staff)}, core)

        out: dict[Any, tuple[dict[str, float], set]] = {}
        for keys, got in pool.map(one, sorted(tasks.items(), key=lambda item: item[0][0] - item[0][1])):
            for key in keys:
                out[key] = got
    return out


#: Interaction events handed from DuckDB to Python at a time (whole communities, packed up to this; a larger
#: community alone). The Python side of the network measures then holds one batch of events and its graphs, not
#: all of them (at 50 M events about 15 million interaction events, each in up to three periods of a playbook run).
BATCH_EDGES = 2_000_000


def _community_ranges(ctx: MetricContext, kinds: Iterable[str], *, limit: int | None = None
                      ) -> list[tuple[str, str]]:
    """Ranges ``(first, last)`` of community ids (DuckDB's order) whose events are read and measured together.

    The interaction events of each community (counted once per context) are packed in id order into ranges of at
    most ``limit`` (default :data:`BATCH_EDGES`) rows; a community with more is a range of its own. Each range's
    events are handed over on their own (:func:`_ranged`, :func:`_event_rows_sql`): the kernel holds one range
    and its graphs, not every event.
    """
    kinds = tuple(kinds)
    key = f"network:counts:{','.join(kinds)}"
    if key not in ctx.cache:
        ctx.cache[key] = ctx.query(
            f"SELECT e.community_id, count(*) AS n FROM ev e WHERE e.event_type IN "
            f"{_kinds_sql(kinds)} AND e.target_member_id IS NOT NULL GROUP BY 1 ORDER BY 1")
    counts = ctx.cache[key]
    limit = BATCH_EDGES if limit is None else limit
    ranges: list[list[str]] = []
    rows = 0
    for c, n in zip(counts[Col.community_id].astype(str), counts["n"].to_numpy(), strict=True):
        n = int(n)
        if ranges and rows + n <= limit:
            ranges[-1][1] = c
            rows += n
        else:
            ranges.append([c, c])
            rows = n
    return [(a, b) for a, b in ranges]


def _ranged(ctx: MetricContext, sql: str, lo: str, hi: str) -> pa.Table:
    """The rows of a ``ranged`` :func:`_edges_sql` query for the communities ``lo`` to ``hi`` (bound as parameters)."""
    ctx.ensure(sql)
    return ctx.con.sql(sql, params={"lo": lo, "hi": hi}).to_arrow_table()


def hash_ids_safe(ctx: MetricContext) -> bool:
    """Whether nodes may be identified by DuckDB's 64-bit ``hash`` of the member id.

    True on DuckDB when no two members of one community share a hash (checked over ``roles``,
    once per context); otherwise the exact dictionary codes are used. Ids outside the members
    table (data that failed validation) are not part of the check.
    """
    if ctx.dialect != "duckdb":
        return False
    if "network:hash_safe" not in ctx.cache:
        clash = ctx.query("""
SELECT count(*) AS n FROM (
  SELECT community_id, hash(member_id) AS h FROM roles GROUP BY 1, 2 HAVING count(DISTINCT member_id) > 1)""")
        ctx.cache["network:hash_safe"] = int(clash["n"].iloc[0]) == 0
    return bool(ctx.cache["network:hash_safe"])


def period_edges(ctx: MetricContext, kinds: Iterable[str] = DEFAULT_KINDS) -> str:
    """The name of a temporary table with the period's edges, built once per context.

    Columns as :func:`interaction_edges` (plus ``source_h``, ``target_h`` where
    :func:`hash_ids_safe`). The Spark engine's network measures read it; on DuckDB
    :func:`network_table` groups the edges a range of communities at a time instead.
    """
    kinds = tuple(kinds)
    key = f"network:edges:{','.join(kinds)}"
    if key not in ctx.cache:
        name = f"net_edges_{len([k for k in ctx.cache if k.startswith('network:edges:')])}"
        ctx.materialize(name, _edges_sql(kinds, _PERIOD, hashed=hash_ids_safe(ctx)))
        ctx.cache[key] = name
    return str(ctx.cache[key])


def _core_jaccard(group: pd.DataFrame) -> pd.DataFrame:
    """One (community, period)'s stability from its distinct pairs ``community_id, period, w, source, target``.

    The Jaccard of the main k-cores of window ``w`` = 0 and 1 (:func:`core_numbers` of the undirected simple
    graph, as :func:`_edge_groups` with ``core_only``); one row ``community_id, period, value``. Run per group by
    :meth:`MetricContext.per_group` (on Spark, in the executors' Python workers).
    """
    cores = []
    for w in (0, 1):
        part = group[group["w"] == w]
        if part.empty:
            cores.append(set())
            continue
        codes, names = pd.factorize(pd.concat([part["source"], part["target"]], ignore_index=True))
        core = core_numbers(_simple_adjacency(codes[:len(part)], codes[len(part):], len(names)))
        cores.append(set(names[core == core.max()].tolist()))
    return pd.DataFrame({Col.community_id: [group[Col.community_id].iloc[0]], "period": [group["period"].iloc[0]],
                         "value": [jaccard(cores[0], cores[1])]})


def _cores_key(kinds: Iterable[str], days: int) -> str:
    """The context's cache key of the k-core windows' main cores measured by :func:`network_table`."""
    return f"network:cores:{','.join(kinds)}:{days}"


def _kcore_windows(ctx: MetricContext, days: int) -> pd.DataFrame:
    """The two ``days``-day windows before each period end, as :func:`_window_groups` takes them.

    Keys ``(community_id, period, w)``: ``w`` = 0 for the last ``days`` days, ``(p_end − days, p_end]``; 1 for the
    ``days`` before, ``(p_end − 2 days, p_end − days]``. The windows depend on the period end only: periods of one
    community ending at the same instant (the whole span and the last 30 days of a one-pass run both end at the
    as-of) share one pair of windows, under the first label.
    """
    ends = ctx.query(f"SELECT {Col.community_id}, min(period) AS period, epoch_us(p_end) AS hi, "
                     f"epoch_us(p_end - INTERVAL '{days} days') AS mid, "
                     f"epoch_us(p_end - INTERVAL '{2 * days} days') AS since "
                     f"FROM periods GROUP BY {Col.community_id}, p_end")
    keys = [(str(c), str(p)) for c, p in zip(ends[Col.community_id], ends["period"], strict=True)]
    return pd.concat([
        pd.DataFrame({Col.community_id: ends[Col.community_id], "key": [(*k, 0) for k in keys],
                      "lo": ends["mid"], "hi": ends["hi"]}),
        pd.DataFrame({Col.community_id: ends[Col.community_id], "key": [(*k, 1) for k in keys],
                      "lo": ends["since"], "hi": ends["mid"]})], ignore_index=True)


def kcore_stability(ctx: MetricContext, *, kinds: Iterable[str] = DEFAULT_KINDS, days: int = 30) -> pd.DataFrame:
    """Jaccard of main k-core members between the last two ``days``-day windows before each period end.

    On DuckDB the pairs come back and the cores are computed here; on Spark each community and period's cores
    are computed on the executors (:meth:`MetricContext.per_group`): the edge lists of every window at 5 M
    events did not fit a driver of 1 GB.

    Returns
    -------
    DataFrame
        ``community_id, period, value``.
    """
    # w = 0 for the last `days` days, 1 for the `days` before. The windows depend on the period end only: periods of
    # one community ending at the same instant (the whole span and the last 30 days of a one-pass run both end at the
    # as-of) share one computation, under the first label (see _kcore_windows)
    if ctx.dialect == "spark":  # one query for both windows
        bounds = (f"(SELECT {Col.community_id}, min(period) AS period, p_end, "
                  f"p_end - INTERVAL '{2 * days} days' AS since, p_end - INTERVAL '{days} days' AS mid "
                  f"FROM periods GROUP BY {Col.community_id}, p_end)")
        w = "CASE WHEN e.ts > p.mid THEN 0 ELSE 1 END"
        window = "e.ts > p.since AND e.ts <= p.p_end"
        pairs = (f"SELECT DISTINCT CAST({Col.community_id} AS VARCHAR) AS {Col.community_id}, "
                 f"CAST(period AS VARCHAR) AS period, CAST(w AS INTEGER) AS w, source, target "
                 f"FROM ({_edges_sql(kinds, window, extra=(w, 'w'), periods=bounds)}) x")
        got = ctx.per_group(pairs, [Col.community_id, "period"], _core_jaccard,
                            f"{Col.community_id} string, period string, value double")
        value = dict(zip(zip(got[Col.community_id], got["period"], strict=True), got["value"], strict=True))
    else:
        # measured with the network table's graphs when both were asked (network_table); else read here. The cores
        # only need who is linked to whom: with hashes unique within each community (checked), the id hashes of each
        # interaction event, no id strings, weights or staff flags; the cores are sets of hashes. The events of a
        # batch of communities at a time, each handed over once (not once per window holding it: a month end's two
        # windows and the next month's overlap); the windows' graphs are cut here.
        cores = ctx.cache.get(_cores_key(kinds, days))
        if cores is None:
            hashed = hash_ids_safe(ctx)
            sql = _event_rows_sql(kinds, hashed=hashed, names=not hashed)
            windows = _kcore_windows(ctx, days)
            cores = {}
            for lo, hi in _community_ranges(ctx, kinds):
                cores.update(_window_groups(_ranged(ctx, sql, lo, hi), windows, core_only=True))
        value = {key: jaccard(cores.get((*key, 0), ({}, set()))[1], cores.get((*key, 1), ({}, set()))[1])
                 for key in {k[:2] for k in cores}}
    first = ctx.periods.groupby([Col.community_id, "p_end"], sort=False)["period"].transform("min")
    rows = [(c, p, value.get((str(c), str(f)), jaccard(set(), set())))
            for c, p, f in zip(ctx.periods[Col.community_id], ctx.periods["period"], first, strict=True)]
    return pd.DataFrame(rows, columns=[Col.community_id, "period", "value"])


def network_table(ctx: MetricContext, *, kinds: Iterable[str] = DEFAULT_KINDS) -> pd.DataFrame:
    """All measures per community and period (wide), computed once per context and cached.

    Returns
    -------
    DataFrame
        ``community_id, period`` plus one column per name in :data:`NETWORK_MEASURES` and
        :data:`TIE_MEASURES`.
    """
    key = f"network:{','.join(kinds)}"
    if key in ctx.cache:
        return ctx.cache[key]
    if ctx.dialect == "duckdb":  # the events of a range of communities at a time, each period's graph cut here
        sql = _event_rows_sql(kinds, hashed=hash_ids_safe(ctx))
        bounds = ctx.query(f"SELECT {Col.community_id}, period, epoch_us(p_start) AS lo, epoch_us(p_end) AS hi "
                           "FROM periods")
        windows = bounds.assign(key=[(str(c), str(p)) for c, p in zip(bounds[Col.community_id], bounds["period"],
                                                                      strict=True)])
        # the k-core windows of kcore_stability when it is asked too: read with the periods' events, and a window
        # holding the same events as a period (the last 30 days) is the same graph
        cored = "kcore_stability" in ctx.cache.get("metrics:asked", ()) and _cores_key(kinds, 30) not in ctx.cache
        if cored:
            windows = pd.concat([windows.assign(core_only=False), _kcore_windows(ctx, 30).assign(core_only=True)],
                                ignore_index=True)
        measured: dict[Any, tuple[dict[str, float], set]] = {}
        for lo, hi in _community_ranges(ctx, kinds):
            measured.update(_window_groups(_ranged(ctx, sql, lo, hi), windows))
        if cored:
            ctx.cache[_cores_key(kinds, 30)] = {k: v for k, v in measured.items() if len(k) == 3}
    else:  # Spark: the period's edge table, collected (only DuckDB reads the stored events by range)
        measured = _edge_groups(ctx.arrow(f"SELECT * FROM {period_edges(ctx, kinds)}"), name_core=False)
    empty = {**graph_measures(nx.DiGraph()), **dict.fromkeys(TIE_MEASURES, math.nan)}
    rows = []
    for c, p in ctx.periods[[Col.community_id, "period"]].itertuples(index=False):
        got = measured.get((str(c), str(p)))
        rows.append({Col.community_id: c, "period": p, **(empty if got is None else got[0])})
    out = pd.DataFrame(rows, columns=[Col.community_id, "period", *NETWORK_MEASURES, *TIE_MEASURES])
    ctx.cache[key] = out
    return out


def _measure(name: str):
    def compute(ctx: MetricContext) -> pd.DataFrame:
        t = network_table(ctx)
        return t[[Col.community_id, "period", name]].rename(columns={name: "value"})

    compute.__name__ = f"compute_{name}"
    return compute


_SRC = "DOMAIN.md §2 (fan vs community economy), §4 (trust and ties)"
for _id, _zh, _en, _def, _formula, _unit, _dir in (
    ("density", "网络密度", "network density", "Directed density of the reply/mention graph of the period.",
     "m / (n (n−1))", "share", True),
    ("reciprocity", "互惠性", "reciprocity",
     "Share of directed reply/mention edges (pairs a→b) whose reverse b→a also exists in the period.",
     "|{(a,b) : (b,a) ∈ E}| / |E|", "share", True),
    ("avg_clustering", "平均聚类系数", "average clustering",
     "Average clustering coefficient of the undirected reply/mention graph of the period.",
     "mean_i 2 T_i / (k_i (k_i − 1))", "share", True),
    ("degree_centralization", "度中心势", "degree centralization (Freeman)",
     "Freeman degree centralization of the undirected reply/mention graph: 1 = a star around one account, "
     "0 = everyone equally connected.", "Σ (d_max − d_i) / ((n−1)(n−2))", "index", False),
    ("kcore_max", "最大k核", "max k-core", "Largest core number of the undirected reply/mention graph.",
     "max_v core(v)", "count", True),
    ("kcore_size", "最大k核人数", "main k-core size", "Members in the main (largest-k) core.",
     "|{v : core(v) = k_max}|", "count", True),
    ("staff_interaction_share", "涉及官方的互动占比", "interactions touching staff",
     "Share of the period's replies/mentions with staff (owner, staff) at either end.",
     "Σ w(staff-touching edges) / Σ w", "share", None),
    ("hub_interaction_share", "经由中心节点的互动占比", "interactions through hubs",
     "Share of replies/mentions with staff or a top-1 % hub (ceil(0.01 n) members with most interactions) at "
     "either end.", "Σ w(edges touching staff ∪ hubs) / Σ w", "share", None),
    ("fan_hub_share", "经由粉丝经济中心的互动占比", "interactions through fan hubs",
     "Share of replies/mentions with a fan hub at either end: an owner or staff member (official accounts), or "
     "the one dominant figure (the single strongest non-staff member, touched by at least half of all "
     "interactions). Core members at the centre are not fan hubs: that is a community economy (DOMAIN.md §2).",
     "Σ w(edges touching staff ∪ dominant figure) / Σ w", "share", None),
    ("member_to_member_share", "成员间互动占比", "member-to-member share",
     "Share of replies/mentions between two members, neither of them a fan hub (owner, staff or the one "
     "dominant figure); core members and other top hubs count as members.",
     "1 − fan_hub_share", "share", True),
    ("fan_hub_centralization", "粉丝经济中心势", "fan-hub centralization",
     "Freeman degree centralization around the best-connected fan hub (owner, staff or the dominant figure): "
     "1 = a star around the official account or one star figure, 0 = no fan hub or it is not central "
     "(a star around a core member is 0 here).", "max(0, Σ (d_hub − d_i) / ((n−1)(n−2)))", "index", False),
):
    register(Metric(_id, _zh, _en, _def + " (Python over DuckDB: sparse matrices.)", _formula, _unit, _dir, _SRC,
                    compute=_measure(_id), group="network"))

register(Metric(
    "kcore_stability", "核心圈稳定性", "k-core stability",
    "Jaccard similarity between the main k-core members of the reply/mention graph of the 30 days up to the "
    "period end and of the 30 days before. (Python over DuckDB: sparse matrices.)",
    "|K_t ∩ K_{t−1}| / |K_t ∪ K_{t−1}|", "share", True, "DOMAIN.md §3 (核心用户); Orbit Model",
    compute=lambda ctx: kcore_stability(ctx), group="network"))


def community_graph(data, community_id: str, *, as_of, kinds: Iterable[str] = DEFAULT_KINDS,
                    days: int | None = None, include_inferred: bool = True, engine: Any = None) -> nx.DiGraph:
    """The interaction graph of one community up to ``as_of`` (the last ``days`` days when given).

    Parameters
    ----------
    data : Dataset, Tables or mapping
        The canonical tables.
    community_id : str
        The community.
    as_of : str or Timestamp
        Nothing after it is used.
    kinds : iterable of str
        Event types that make edges.
    days : int, optional
        Only the ``days`` days up to ``as_of``.
    include_inferred : bool, default True
        Use reply links inferred for chat logs; ``False``: only the links the export gives
        (see :func:`commlab.analysis.metrics.without_inferred`).
    engine : DuckDBEngine, optional
        Whose connection settings (``memory_limit``, ``threads``, ``temp_directory``) the edge query runs
        with; default: DuckDB's own.

    Raises
    ------
    KeyError
        If ``community_id`` is not in the communities table.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c01"])
    >>> g = cl.community_graph(ds, "c01", as_of="2024-06-30T16:00:00Z")
    >>> type(g).__name__, g.number_of_nodes() > 100
    ('DiGraph', True)
    """
    from commlab.analysis.compute import connect
    from commlab.analysis.metrics import as_tables, make_periods, without_inferred

    t = as_tables(data)
    every = t.frame("communities")
    comm = every[every[Col.community_id].astype(str) == str(community_id)]
    if comm.empty:
        raise NotFound(str(community_id), every[Col.community_id].astype(str), kind="community")
    periods = make_periods(comm, as_of=as_of, window=None)
    if isinstance(t.events, StoredEvents):  # read this community's rows only
        t = dataclasses.replace(t, events=t.events.restrict([str(community_id)]))
    if not include_inferred:
        t = without_inferred(t)
    con = connect(t, periods, None if engine is None else engine.connect(),
                  materialize_events=False)  # the events are read once
    try:
        ctx = MetricContext(con, t, periods, None)
        edges = interaction_edges(ctx, kinds=kinds, trailing_days=None if days is None else (days, 0))
    finally:
        con.close()
    return build_graph(edges)
