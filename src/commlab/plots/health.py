"""Figures of community health, the interaction network and type comparison.

Each function takes ``ax=None`` (a new figure is made when missing) and returns the Axes.
Labels follow ``lang`` ("zh" or "en"); metric names come from the metric registry. Sizes follow
:mod:`commlab.plots.show`: at most the report's column wide, no text under
:data:`~commlab.plots.show.MIN_FONT_PT`, and an alt text per figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from commlab.analysis.compare import group_label
from commlab.analysis.economy import THRESHOLDS, classify_economy
from commlab.analysis.metrics import get_metric
from commlab.fmt import fmt_value, percent
from commlab.i18n import t
from commlab.plots.show import FULL_WIDTH, MIN_FONT_PT, PHONE_MIN_FONT_PT, PHONE_WIDTH, set_alt

__all__ = [
    "plot_metric_heatmap",
    "plot_cohort_retention",
    "plot_network",
    "plot_network_pair",
    "plot_economy_index",
    "plot_fingerprint",
    "plot_high_value",
    "MANY_COMMUNITIES",
    "MAX_LENGTH",
    "COLUMNS_MAX",
]


def _ax(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def _metric_label(m: str, lang: str) -> str:
    try:
        return get_metric(m).name(lang)
    except KeyError:
        return m


def _metric_unit(m: str) -> str:
    try:
        return get_metric(m).unit
    except KeyError:
        return "number"


#: Figures with a row (or bar) per community give each this much room up to this many communities;
#: beyond, rows get thinner and the figure's length stops at :data:`MAX_LENGTH` inches.
MANY_COMMUNITIES = 40
MAX_LENGTH = 40.0
#: Inches per community beyond :data:`MANY_COMMUNITIES` (until :data:`MAX_LENGTH` is reached): a
#: 7-point label still fits.
_THIN = 0.12
#: Up to this many communities (or types) a heatmap has one column each, metrics as rows with their
#: names written horizontally and the values in the cells; beyond, communities become rows.
COLUMNS_MAX = 16
#: Inches per metric row of a heatmap with metrics as rows.
_ROW = 0.24


def _length(n: int, per_item: float, extra: float) -> float:
    """Inches along the axis of ``n`` communities: ``per_item`` each up to :data:`MANY_COMMUNITIES`, then bounded."""
    if n <= MANY_COMMUNITIES:
        return per_item * n + extra
    return min(_THIN * n + extra, MAX_LENGTH)


def _text_colour(v: float) -> str:
    return "white" if v < 0.15 or v > 0.85 else "black"


def _metric_group(m: str) -> str:
    try:
        return get_metric(m).group
    except KeyError:
        return ""


def _group_bands(ax: Axes, metrics: list[str], cols: int, lang: str) -> None:
    """White rules between the registry's metric groups and each group named on the right."""
    groups = [_metric_group(m) for m in metrics]
    starts = [i for i in range(len(groups)) if i == 0 or groups[i] != groups[i - 1]]
    if len(starts) < 2:
        return
    for i in starts[1:]:
        ax.axhline(i - 0.5, color="white", linewidth=3)
    ends = starts[1:] + [len(groups)]
    right = ax.secondary_yaxis("right")
    right.set_yticks([(a + b - 1) / 2 for a, b in zip(starts, ends, strict=True)],
                     [t(f"metric_group_{groups[a]}", lang) for a in starts], fontsize=8)
    right.tick_params(length=0)
    right.spines["right"].set_visible(False)


def _metric_rows(norm: pd.DataFrame, values: pd.DataFrame | None, column_labels: list[str], *, cmap: str,
                 bar_label: str, lang: str, ax: Axes | None, kind: str | None = None) -> Axes:
    """Metrics as rows (names horizontal), one column per community or type, values in the cells.

    The values are formatted by ``kind``, or by each metric's unit when ``kind`` is ``None``. The
    registry's metric groups (activity, participation, ...) are set apart and named on the right;
    the colour scale lies under the table.
    """
    metrics, cols = list(norm.columns), len(column_labels)
    ax = _ax(ax, (FULL_WIDTH, _ROW * len(metrics) + 2.3))
    data = norm.to_numpy(dtype=float).T
    im = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    ax.set_yticks(range(len(metrics)), [_metric_label(m, lang) for m in metrics], fontsize=8)
    ax.set_xticks(range(cols), column_labels, fontsize=8, rotation=35, ha="left", rotation_mode="anchor")
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    if values is not None:
        v = values.reindex_like(norm).to_numpy(dtype=float).T
        for i, m in enumerate(metrics):
            unit = kind or _metric_unit(m)
            for j in range(cols):
                if not math.isnan(v[i, j]):
                    ax.text(j, i, fmt_value(v[i, j], unit), ha="center", va="center", fontsize=MIN_FONT_PT,
                            color=_text_colour(data[i, j]) if not math.isnan(data[i, j]) else "black")
    _group_bands(ax, metrics, cols, lang)
    bar = ax.figure.colorbar(im, ax=ax, location="bottom", fraction=0.6 / (_ROW * len(metrics) + 2.3), pad=0.01,
                             shrink=0.4, aspect=30)
    bar.set_label(bar_label, fontsize=8)
    bar.ax.tick_params(labelsize=MIN_FONT_PT)
    return ax


def _community_rows(norm: pd.DataFrame, *, cmap: str, bar_label: str, lang: str, ax: Axes | None) -> tuple[Axes, int]:
    """Communities as rows (many of them), metrics as columns named vertically; no values in the cells.

    Returns the Axes and the step between named rows (1 = every community named).
    """
    rows = norm.shape[0]
    height = _length(rows, 0.22, 3.2)
    ax = _ax(ax, (FULL_WIDTH, height))
    im = ax.imshow(np.ma.masked_invalid(norm.to_numpy(dtype=float)), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(norm.shape[1]), [_metric_label(m, lang) for m in norm.columns], rotation=90,
                  fontsize=MIN_FONT_PT)
    # a 7-point label needs 0.11 inches: name every step-th community when the rows are thinner
    step = max(1, math.ceil(0.11 * rows / max(height - 3.2, 0.11)))
    ax.set_yticks(range(0, rows, step), [str(i) for i in norm.index[::step]], fontsize=MIN_FONT_PT)
    ax.tick_params(length=0)
    bar = ax.figure.colorbar(im, ax=ax, fraction=0.03, pad=0.01, shrink=0.5)
    bar.set_label(bar_label, fontsize=8)
    bar.ax.tick_params(labelsize=MIN_FONT_PT)
    return ax, step


def _has_direction(m: str) -> bool:
    try:
        return get_metric(m).direction is not None
    except KeyError:
        return True  # not a registered metric: the caller's normalised values are taken as given


def plot_metric_heatmap(normalised: pd.DataFrame, *, values: pd.DataFrame | None = None, lang: str = "en",
                        ax: Axes | None = None) -> Axes:
    """Communities × metrics, coloured by direction-aware normalised value (1 = best of the set).

    Only metrics with a direction (higher or lower is better) are drawn: green means better, which
    says nothing of a community's size or a content tier's share (their values are in the metric
    table). Up to :data:`COLUMNS_MAX` communities the metrics are rows (names written
    horizontally, grouped as the registry groups them) and each community a column, its values
    formatted in the cells (``65%``, ``1,131``); with more,
    the communities are rows and the values are left out (the title says so), the figure at most
    :data:`MAX_LENGTH` inches long.

    Parameters
    ----------
    normalised : DataFrame
        Rows = communities (index = display name), columns = metric ids, values in [0, 1]
        (:func:`commlab.analysis.compare.normalise`).
    values : DataFrame, optional
        Raw values of the same shape, printed in the cells (formatted by each metric's unit).

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> values = pd.DataFrame({"active_share_30d": [0.65, 0.30], "response_rate": [0.9, 0.4]}, index=["甲群", "乙群"])
    >>> ax = cl.plots.plot_metric_heatmap((values - values.min()) / (values.max() - values.min()), values=values,
    ...                                   lang="en")
    >>> ax.get_title()
    'Community health (green = better among these communities)'
    """
    directional = [m for m in normalised.columns if _has_direction(m)]
    normalised = normalised[directional]
    values = values[[m for m in directional if m in values.columns]] if values is not None else None
    rows = normalised.shape[0]
    bar_label = t("heatmap_scale", lang)
    title = t("heatmap_title", lang)
    if rows <= COLUMNS_MAX:
        ax = _metric_rows(normalised, values, [str(i) for i in normalised.index], cmap="RdYlGn",
                          bar_label=bar_label, lang=lang, ax=ax)
        step = 1
    else:
        ax, step = _community_rows(normalised, cmap="RdYlGn", bar_label=bar_label, lang=lang, ax=ax)
        if values is not None:
            title += t("heatmap_no_values", lang).format(n=rows)
        if step > 1:
            title += t("heatmap_every_nth", lang).format(step=step)
    ax.set_title(title, fontsize=11)
    set_alt(ax, _heatmap_alt(normalised, lang))
    return ax


def _heatmap_alt(norm: pd.DataFrame, lang: str) -> str:
    score = norm.mean(axis=1, skipna=True).dropna()
    if score.empty:
        return t("alt_heatmap_empty", lang).format(n=norm.shape[0], m=norm.shape[1])
    return t("alt_heatmap", lang).format(n=norm.shape[0], m=norm.shape[1], best=score.idxmax(), worst=score.idxmin())


def plot_cohort_retention(matrix: pd.DataFrame, *, title: str = "", lang: str = "en", ax: Axes | None = None) -> Axes:
    """Heatmap of a cohort × offset retention matrix (:func:`commlab.analysis.retention.retention_matrix`).

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> matrix = pd.DataFrame([[1.0, 0.6, 0.5], [1.0, 0.7, None]], index=["2024-04 (40)", "2024-05 (52)"],
    ...                       columns=[0, 1, 2])
    >>> ax = cl.plots.plot_cohort_retention(matrix, title="咖啡爱好者交流群", lang="en")
    >>> ax.get_title()
    '咖啡爱好者交流群'
    """
    ax = _ax(ax, (min(FULL_WIDTH, 2.5 + 0.55 * matrix.shape[1]), 0.32 * max(len(matrix), 4) + 1.6))
    data = matrix.to_numpy(dtype=float)
    im = ax.imshow(np.ma.masked_invalid(data), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(matrix.shape[1]), [str(c) for c in matrix.columns], fontsize=8)
    ax.set_yticks(range(matrix.shape[0]), [str(i) for i in matrix.index], fontsize=8)
    ax.tick_params(length=0)
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            if not math.isnan(data[i, j]):
                ax.text(j, i, percent(data[i, j], decimals=0), ha="center", va="center", fontsize=MIN_FONT_PT,
                        color="white" if data[i, j] > 0.6 else "black")
    ax.set_xlabel(t("cohort_offset", lang), fontsize=9)
    ax.set_ylabel(t("cohort_rows", lang), fontsize=9)
    bar = ax.figure.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label(t("retention", lang), fontsize=8)
    bar.ax.tick_params(labelsize=MIN_FONT_PT)
    bar.ax.yaxis.set_major_formatter(lambda v, _: percent(v, decimals=0))
    ax.set_title(title or t("cohort_title", lang), fontsize=11)
    first = matrix.iloc[:, 1] if matrix.shape[1] > 1 else matrix.iloc[:, 0]
    set_alt(ax, t("alt_cohort", lang).format(name=title or t("cohort_title", lang), n=len(matrix),
                                             first=percent(first.median(), decimals=0),
                                             offset=matrix.columns[1] if matrix.shape[1] > 1 else matrix.columns[0]))
    return ax


_STAFF_RED, _MEMBER_BLUE = "#d62728", "#1f77b4"


def plot_network(graph: nx.DiGraph, *, title: str = "", max_nodes: int = 120, seed: int = 0, lang: str = "en",
                 ax: Axes | None = None) -> Axes:
    """Draw an interaction graph: staff in red, members in blue, node size by interactions.

    Only the ``max_nodes`` members with most interactions are drawn (a hub-and-spoke community
    then shows its star; a mesh shows many member-to-member links). Node labels are never drawn.
    The colours are explained by a legend under the drawing.

    Examples
    --------
    >>> import networkx as nx
    >>> import commlab as cl
    >>> graph = nx.DiGraph([("a", "hub"), ("b", "hub"), ("c", "hub"), ("hub", "a")])
    >>> nx.set_edge_attributes(graph, 1, "weight")
    >>> ax = cl.plots.plot_network(graph, title="hub and spoke", lang="en")
    >>> ax.get_title()
    'hub and spoke'
    """
    ax = _ax(ax, (FULL_WIDTH / 2, 5.2))
    strength: dict[str, float] = {}
    for s, tgt, w in graph.edges(data="weight", default=1):
        strength[s] = strength.get(s, 0) + w
        strength[tgt] = strength.get(tgt, 0) + w
    keep = [n for n, _ in sorted(strength.items(), key=lambda kv: (-kv[1], kv[0]))[:max_nodes]]
    sub = nx.Graph()
    sub.add_nodes_from(keep)
    sub.add_edges_from((s, tgt) for s, tgt in graph.edges if s in sub and tgt in sub)
    staff_n = 0
    if sub.number_of_nodes():
        pos = nx.spring_layout(sub, seed=seed, k=1.5 / math.sqrt(max(sub.number_of_nodes(), 1)))
        staff = [bool(graph.nodes[n].get("staff", False)) for n in sub.nodes]
        staff_n = sum(staff)
        top = max(strength.values())
        sizes = [8 + 250 * strength[n] / top for n in sub.nodes]
        nx.draw_networkx_edges(sub, pos, ax=ax, alpha=0.15, width=0.5)
        nx.draw_networkx_nodes(sub, pos, ax=ax, node_size=sizes,
                               node_color=[_STAFF_RED if s else _MEMBER_BLUE for s in staff], alpha=0.85)
    ax.set_axis_off()
    ax.set_title(title, fontsize=10)
    handles = [Line2D([], [], marker="o", linestyle="", color=_STAFF_RED, label=t("network_staff", lang)),
               Line2D([], [], marker="o", linestyle="", color=_MEMBER_BLUE, label=t("network_members", lang))]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, frameon=False, fontsize=8)
    set_alt(ax, t("alt_network", lang).format(name=title, nodes=sub.number_of_nodes(), staff=staff_n,
                                              edges=sub.number_of_edges()))
    return ax


def plot_network_pair(graphs: Sequence[tuple[nx.DiGraph, str]], *, seed: int = 0, lang: str = "en") -> list[Axes]:
    """One interaction graph per (graph, title), side by side (one or two); returns their Axes.

    Examples
    --------
    >>> import networkx as nx
    >>> import commlab as cl
    >>> hub = nx.DiGraph([("a", "hub"), ("b", "hub"), ("c", "hub")])
    >>> mesh = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a"), ("a", "c")])
    >>> for g in (hub, mesh):
    ...     nx.set_edge_attributes(g, 1, "weight")
    >>> axes = cl.plots.plot_network_pair([(hub, "hub and spoke"), (mesh, "mesh")], lang="en")
    >>> [ax.get_title() for ax in axes]
    ['hub and spoke', 'mesh']
    """
    fig, axes = plt.subplots(1, len(graphs), figsize=(FULL_WIDTH if len(graphs) > 1 else FULL_WIDTH / 2, 5.4),
                             layout="constrained", squeeze=False)
    for ax, (graph, title) in zip(axes.flat, graphs, strict=True):
        plot_network(graph, title=title, seed=seed, lang=lang, ax=ax)
    return list(axes.flat)


def plot_economy_index(table: pd.DataFrame, *, lang: str = "en", ax: Axes | None = None,
                       phone: bool = False) -> Axes:
    """Horizontal bars of ``economy_index`` per community with the fan/community thresholds.

    ``table`` is indexed by display name with columns ``economy_index`` and optionally ``economy``
    (declared: bars are hatched when the declared economy is ``fan``). With ``phone=True`` it is
    drawn for a phone's column (:data:`~commlab.plots.show.PHONE_WIDTH` inches, text of at least
    :data:`~commlab.plots.show.PHONE_MIN_FONT_PT`, names cut to fit, the legend in two columns
    and the axis explained under the plot, ticks only at 0, the thresholds and 1).

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> table = pd.DataFrame({"economy_index": [0.28, 0.86], "economy": ["fan", "community"]}, index=["甲群", "乙群"])
    >>> ax = cl.plots.plot_economy_index(table, lang="en")
    >>> ax.get_title()
    'Fan ↔ community economy'
    """
    from commlab.plots.overview import fit_label

    t_ = table.sort_values("economy_index")
    n = len(t_)
    if phone:
        ax = _ax(ax, (PHONE_WIDTH, _length(n, 0.27, 2.0)))
        names = [fit_label(str(i), 20) for i in t_.index]
        label_pt, tick_pt, axis_pt, title_pt = (PHONE_MIN_FONT_PT,) * 3 + (10,)
    else:
        ax = _ax(ax, (8.5, _length(n, 0.32, 1.9)))
        names = [str(i) for i in t_.index]
        label_pt, tick_pt, axis_pt, title_pt = MIN_FONT_PT if n > MANY_COMMUNITIES else 9, 8, 9, 11
    colors = ["#d62728" if v < THRESHOLDS[0] else "#2ca02c" if v > THRESHOLDS[1] else "#ff7f0e"
              for v in t_["economy_index"].fillna(0.5)]
    bars = ax.barh(names, t_["economy_index"], color=colors)
    ax.tick_params(axis="y", labelsize=label_pt)
    ax.tick_params(axis="x", labelsize=tick_pt)
    if "economy" in t_.columns:
        for b, declared in zip(bars, t_["economy"], strict=True):
            if isinstance(declared, str) and declared == "fan":
                b.set_hatch("//")
    for x in THRESHOLDS:
        ax.axvline(x, color="grey", ls="--", lw=1)
    ax.set_xlim(0, 1)
    handles = [Patch(color="#d62728", label=t("economy_fan", lang)),
               Patch(color="#ff7f0e", label=t("economy_mixed", lang)),
               Patch(color="#2ca02c", label=t("economy_community", lang)),
               Patch(facecolor="white", edgecolor="black", hatch="//", label=t("economy_declared_fan", lang))]
    if phone:
        ax.set_xticks([0, *THRESHOLDS, 1], ["0", *(f"{x:g}" for x in THRESHOLDS), "1"])
        ax.set_xlabel(_wrap_axis(t("economy_axis", lang)), fontsize=axis_pt)
        ax.set_title(t("economy_title", lang), fontsize=title_pt)
        ax.figure.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False, fontsize=label_pt,
                         columnspacing=1.0, handlelength=1.4)
    else:
        ax.set_xlabel(t("economy_axis", lang), fontsize=axis_pt)
        ax.set_title(t("economy_title", lang), fontsize=title_pt, pad=24)
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4, frameon=False,
                  fontsize=8)
    idx = t_["economy_index"].dropna()
    if idx.empty:
        set_alt(ax, t("alt_economy_empty", lang))
    elif len(idx) == 1:
        v = float(idx.iloc[0])
        set_alt(ax, t("alt_economy_one", lang).format(low=idx.index[0], low_v=fmt_value(v, "index"),
                                                      kind=group_label("economy_measured", classify_economy(v), lang)))
    else:
        set_alt(ax, t("alt_economy", lang).format(
            n=len(idx), fan=int((idx < THRESHOLDS[0]).sum()), community=int((idx > THRESHOLDS[1]).sum()),
            low=idx.index[0], low_v=fmt_value(idx.iloc[0], "index"), high=idx.index[-1],
            high_v=fmt_value(idx.iloc[-1], "index")))
    return ax


def _wrap_axis(text: str) -> str:
    """An axis label that explains its scale (``name：0 = …，1 = …``) on three short lines for a phone."""
    for sep, comma in (("：", "，"), (": ", ", ")):
        if sep in text:
            head, rest = text.split(sep, 1)
            return head + sep.strip() + "\n" + rest.replace(comma, "\n", 1)
    return text


def _type_label(label: str, n: int, lang: str) -> str:
    return f"{label}\n{t('n_communities_one' if n == 1 else 'n_communities', lang).format(n=n)}"


def plot_fingerprint(fingerprint: pd.DataFrame, *, lang: str = "en", ax: Axes | None = None) -> Axes:
    """Metric × type heatmap of median normalised values (:func:`commlab.analysis.compare.type_fingerprint`).

    Metrics with a direction and some value are rows (names horizontal, grouped), each type a
    column headed by its label and number of communities, the medians written in the cells.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> fingerprint = pd.DataFrame({"active_share_30d": [0.7, 0.4], "response_rate": [0.5, 0.9], "n": [2, 4]},
    ...                            index=["brand", "interest"])
    >>> ax = cl.plots.plot_fingerprint(fingerprint, lang="en")
    >>> ax.get_title()
    'Type fingerprints'
    """
    fp = fingerprint.drop(columns=["n"], errors="ignore")
    fp = fp[[m for m in fp.columns if _has_direction(m) and fp[m].notna().any()]]  # as the health heatmap
    n = fingerprint["n"] if "n" in fingerprint.columns else pd.Series(0, index=fp.index)
    labels = [_type_label(str(i), int(n.get(i, 0)), lang) for i in fp.index]
    if len(fp) <= COLUMNS_MAX:
        ax = _metric_rows(fp, fp, labels, cmap="RdYlGn", bar_label=t("fingerprint_scale", lang), lang=lang, ax=ax,
                          kind="number")
        for lab in ax.get_xticklabels():
            lab.set_rotation(0)
            lab.set_ha("center")
    else:
        ax, _ = _community_rows(fp.rename(index=dict(zip(fp.index, labels, strict=True))), cmap="RdYlGn",
                                bar_label=t("fingerprint_scale", lang), lang=lang, ax=ax)
    ax.set_title(t("fingerprint_title", lang), fontsize=11)
    set_alt(ax, t("alt_fingerprint", lang).format(types=len(fp), m=fp.shape[1]))
    return ax


def plot_high_value(profile: pd.DataFrame, *, lang: str = "en", ax: Axes | None = None) -> Axes:
    """Horizontal grouped bars of the three high-value scores per community (index = display name).

    Community names are written horizontally; the legend sits above the bars, outside them.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> profile = pd.DataFrame({"vertical_focus": [0.8, 0.3], "problem_solving": [0.6, 0.7], "trust_ties": [0.5, 0.2]},
    ...                        index=["甲群", "乙群"])
    >>> ax = cl.plots.plot_high_value(profile, lang="en")
    >>> ax.get_title()
    'High-value profile'
    """
    scores = ["vertical_focus", "problem_solving", "trust_ties"]
    p = profile[scores]
    many = len(p) > MANY_COMMUNITIES
    ax = _ax(ax, (8.5, _length(len(p), 0.42, 1.6)))
    y = np.arange(len(p))
    for i, s in enumerate(scores):
        ax.barh(y + (i - 1) * 0.27, p[s], height=0.27, label=_metric_label(s, lang))
    ax.set_yticks(y, [str(i) for i in p.index], fontsize=MIN_FONT_PT if many else 9)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel(t("score_axis", lang), fontsize=9)
    ax.legend(fontsize=8, ncol=3, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    ax.set_title(t("high_value_title", lang), fontsize=11, pad=24)
    if len(p):
        best = {s: p[s].idxmax() for s in scores if p[s].notna().any()}
        sep, colon = ("；", "：") if lang == "zh" else ("; ", ": ")
        set_alt(ax, t("alt_high_value", lang).format(n=len(p), best=sep.join(
            f"{_metric_label(s, lang)}{colon}{c}" for s, c in best.items())))
    else:
        set_alt(ax, t("alt_high_value_empty", lang))
    return ax
