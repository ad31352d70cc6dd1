"""Figures of community health, the interaction network and type comparison.

Each function takes ``ax=None`` (a new figure is made when missing) and returns the Axes.
Labels follow ``lang`` ("zh" or "en"); metric names come from the metric registry.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from commlab.analysis.economy import THRESHOLDS
from commlab.analysis.metrics import get_metric

__all__ = [
    "plot_metric_heatmap",
    "plot_cohort_retention",
    "plot_network",
    "plot_economy_index",
    "plot_fingerprint",
    "plot_high_value",
]


def _ax(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def _metric_label(m: str, lang: str) -> str:
    try:
        return get_metric(m).name(lang)
    except KeyError:
        return m


#: Figures with a row (or bar) per community give each this much room up to this many communities;
#: beyond, rows get thinner and the figure's length stops at :data:`MAX_LENGTH` inches (200
#: communities made a heatmap 92 inches tall). :func:`plot_metric_heatmap` also leaves the values
#: out of its cells beyond it (at 200 communities × 48 metrics, 9,600 unreadable labels and most
#: of the drawing time).
MANY_COMMUNITIES = 40
MAX_LENGTH = 40.0
#: Inches per community beyond :data:`MANY_COMMUNITIES` (until :data:`MAX_LENGTH` is reached).
_THIN = 0.12


def _length(n: int, per_item: float, extra: float) -> float:
    """Inches along the axis of ``n`` communities: ``per_item`` each up to :data:`MANY_COMMUNITIES`, then bounded."""
    if n <= MANY_COMMUNITIES:
        return per_item * n + extra
    return min(_THIN * n + extra, MAX_LENGTH)


def plot_metric_heatmap(normalised: pd.DataFrame, *, values: pd.DataFrame | None = None, lang: str = "en",
                        ax: Axes | None = None) -> Axes:
    """Communities × metrics, coloured by direction-aware normalised value (1 = best of the set).

    Parameters
    ----------
    normalised : DataFrame
        Rows = communities (index = display name), columns = metric ids, values in [0, 1]
        (:func:`commlab.analysis.compare.normalise`).
    values : DataFrame, optional
        Raw values of the same shape, printed in the cells when there are at most
        :data:`MANY_COMMUNITIES` communities (the title says when they are left out).
    """
    rows = normalised.shape[0]
    dense = rows > MANY_COMMUNITIES
    ax = _ax(ax, (max(8, 0.45 * normalised.shape[1] + 3), _length(rows, 0.45, 2)))
    data = normalised.to_numpy(dtype=float)
    im = ax.imshow(np.ma.masked_invalid(data), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(normalised.shape[1]), [_metric_label(m, lang) for m in normalised.columns], rotation=60,
                  ha="right", fontsize=8)
    ax.set_yticks(range(rows), [str(i) for i in normalised.index], fontsize=5 if dense else 9)
    if values is not None and not dense:
        v = values.reindex_like(normalised).to_numpy(dtype=float)
        for i in range(v.shape[0]):
            for j in range(v.shape[1]):
                if not math.isnan(v[i, j]):
                    ax.text(j, i, f"{v[i, j]:.2g}", ha="center", va="center", fontsize=6)
    ax.figure.colorbar(im, ax=ax, fraction=0.02,
                       label="相对位置 (1 = 最好)" if lang == "zh" else "relative position (1 = best)")
    title = "社群健康指标（方向已统一）" if lang == "zh" else "Community health (direction-aware)"
    if values is not None and dense:
        title += (f"\n{rows} 个社群：格中不标数值" if lang == "zh"
                  else f"\n{rows} communities: values not printed in the cells")
    ax.set_title(title)
    return ax


def plot_cohort_retention(matrix: pd.DataFrame, *, title: str = "", lang: str = "en", ax: Axes | None = None) -> Axes:
    """Heatmap of a cohort × offset retention matrix (:func:`commlab.analysis.retention.retention_matrix`)."""
    ax = _ax(ax, (8, 0.35 * max(len(matrix), 4) + 1.5))
    data = matrix.to_numpy(dtype=float)
    im = ax.imshow(np.ma.masked_invalid(data), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(matrix.shape[1]), [str(c) for c in matrix.columns])
    ax.set_yticks(range(matrix.shape[0]), [str(i) for i in matrix.index], fontsize=8)
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            if not math.isnan(data[i, j]):
                ax.text(j, i, f"{data[i, j]:.0%}", ha="center", va="center", fontsize=7,
                        color="white" if data[i, j] > 0.6 else "black")
    ax.set_xlabel("入群后第几个月" if lang == "zh" else "months since joining")
    ax.set_ylabel("入群月份（人数）" if lang == "zh" else "join cohort (size)")
    ax.figure.colorbar(im, ax=ax, fraction=0.03, label="留存率" if lang == "zh" else "share active")
    ax.set_title(title or ("同期群留存" if lang == "zh" else "Cohort retention"))
    return ax


def plot_network(graph: nx.DiGraph, *, title: str = "", max_nodes: int = 120, seed: int = 0, lang: str = "en",
                 ax: Axes | None = None) -> Axes:
    """Draw an interaction graph: staff in red, members in blue, node size by interactions.

    Only the ``max_nodes`` members with most interactions are drawn (a hub-and-spoke community
    then shows its star; a mesh shows many member-to-member links). Node labels are never drawn.
    """
    ax = _ax(ax, (6, 6))
    strength: dict[str, float] = {}
    for s, t, w in graph.edges(data="weight", default=1):
        strength[s] = strength.get(s, 0) + w
        strength[t] = strength.get(t, 0) + w
    keep = [n for n, _ in sorted(strength.items(), key=lambda kv: (-kv[1], kv[0]))[:max_nodes]]
    sub = nx.Graph()
    sub.add_nodes_from(keep)
    sub.add_edges_from((s, t) for s, t in graph.edges if s in sub and t in sub)
    if sub.number_of_nodes():
        pos = nx.spring_layout(sub, seed=seed, k=1.5 / math.sqrt(max(sub.number_of_nodes(), 1)))
        staff = [bool(graph.nodes[n].get("staff", False)) for n in sub.nodes]
        top = max(strength.values())
        sizes = [8 + 250 * strength[n] / top for n in sub.nodes]
        nx.draw_networkx_edges(sub, pos, ax=ax, alpha=0.15, width=0.5)
        nx.draw_networkx_nodes(sub, pos, ax=ax, node_size=sizes,
                               node_color=["#d62728" if s else "#1f77b4" for s in staff], alpha=0.85)
    ax.set_axis_off()
    legend = "红色 = 官方/管理员，蓝色 = 成员" if lang == "zh" else "red = staff, blue = members"
    ax.set_title(f"{title}\n{legend}", fontsize=10)
    return ax


def plot_economy_index(table: pd.DataFrame, *, lang: str = "en", ax: Axes | None = None) -> Axes:
    """Horizontal bars of ``economy_index`` per community with the fan/community thresholds.

    ``table`` is indexed by display name with columns ``economy_index`` and optionally ``economy``
    (declared: bars are hatched when the declared economy is ``fan``).
    """
    t = table.sort_values("economy_index")
    ax = _ax(ax, (7, _length(len(t), 0.35, 1.5)))
    colors = ["#d62728" if v < THRESHOLDS[0] else "#2ca02c" if v > THRESHOLDS[1] else "#ff7f0e"
              for v in t["economy_index"].fillna(0.5)]
    bars = ax.barh([str(i) for i in t.index], t["economy_index"], color=colors)
    if len(t) > MANY_COMMUNITIES:
        ax.tick_params(axis="y", labelsize=5)
    if "economy" in t.columns:
        for b, declared in zip(bars, t["economy"], strict=True):
            if isinstance(declared, str) and declared == "fan":
                b.set_hatch("//")
    for x in THRESHOLDS:
        ax.axvline(x, color="grey", ls="--", lw=1)
    ax.set_xlim(0, 1)
    zh = lang == "zh"
    ax.set_xlabel("社群经济指数：0 = 粉丝经济（中心辐射），1 = 社群经济（网状）" if zh else
                  "economy index: 0 = fan economy (hub and spoke), 1 = community economy (mesh)")
    ax.set_title("粉丝经济 ↔ 社群经济（斜线 = 声明为粉丝经济）" if zh else
                 "Fan ↔ community economy (hatched = declared fan economy)")
    return ax


def plot_fingerprint(fingerprint: pd.DataFrame, *, lang: str = "en", ax: Axes | None = None) -> Axes:
    """Type × metric heatmap of median normalised values (:func:`commlab.analysis.compare.type_fingerprint`)."""
    fp = fingerprint.drop(columns=["n"], errors="ignore")
    ax = _ax(ax, (max(8, 0.45 * fp.shape[1] + 3), 0.5 * fp.shape[0] + 2))
    im = ax.imshow(np.ma.masked_invalid(fp.to_numpy(dtype=float)), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(fp.shape[1]), [_metric_label(m, lang) for m in fp.columns], rotation=60, ha="right",
                  fontsize=8)
    n = fingerprint["n"] if "n" in fingerprint.columns else pd.Series(index=fp.index, dtype=float)
    ax.set_yticks(range(fp.shape[0]), [f"{i} (n={int(n.get(i, 0))})" for i in fp.index])
    ax.figure.colorbar(im, ax=ax, fraction=0.02, label="中位相对位置" if lang == "zh" else "median relative position")
    ax.set_title("类型指纹" if lang == "zh" else "Type fingerprints")
    return ax


def plot_high_value(profile: pd.DataFrame, *, lang: str = "en", ax: Axes | None = None) -> Axes:
    """Grouped bars of the three high-value scores per community (index = display name)."""
    scores = ["vertical_focus", "problem_solving", "trust_ties"]
    p = profile[scores]
    many = len(p) > MANY_COMMUNITIES
    ax = _ax(ax, (max(7, _length(len(p), 0.6, 2)), 4))
    x = np.arange(len(p))
    for i, s in enumerate(scores):
        ax.bar(x + (i - 1) * 0.27, p[s], width=0.27, label=_metric_label(s, lang))
    ax.set_xticks(x, [str(i) for i in p.index], rotation=90 if many else 30, ha="center" if many else "right",
                  fontsize=5 if many else 8)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("高价值社群画像" if lang == "zh" else "High-value profile")
    return ax
