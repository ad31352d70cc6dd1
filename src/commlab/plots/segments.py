"""Figures of the member-segments notebook. Each takes ``ax=None`` and returns the Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from commlab.analysis.features import feature_labels
from commlab.analysis.roles import ROLE
from commlab.fmt import count, number, percent
from commlab.i18n import TEXT, t
from commlab.plots.show import FULL_WIDTH, MIN_FONT_PT, set_alt
from commlab.privacy import small_group_mask

__all__ = [
    "tr",
    "plot_k_scores",
    "plot_segment_sizes",
    "plot_profile_heatmap",
    "plot_projection",
    "plot_crosstab",
    "plot_transition_heatmap",
    "plot_p_alive",
    "plot_stability",
]

def tr(key: str, lang: str = "en") -> str:
    """Text for ``key`` in ``lang``: the catalogue's ``seg_<key>`` words, role codes and feature ids."""
    if f"seg_{key}" in TEXT:
        return t(f"seg_{key}", lang)
    if key in ROLE:
        return ROLE.label(key, lang)
    return feature_labels(lang).get(key, key)


def _ax(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=size, layout="constrained")
    return new


def _seg_names(names: pd.DataFrame | None, lang: str) -> dict[int, str]:
    if names is None or names.empty:
        return {}
    col = "name_zh" if lang == "zh" else "name_en"
    return {int(s): f"{int(s)} {n}" for s, n in zip(names["segment"], names[col], strict=True)}


def plot_k_scores(k_scores: pd.DataFrame, chosen: int | None = None, *, lang: str = "en",
                  ax: Axes | None = None) -> Axes:
    """Score of each k tried (silhouette or BIC), the chosen k marked.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> scores = pd.DataFrame({"k": [3, 4, 5], "score": [0.31, 0.42, 0.38], "metric": "silhouette"})
    >>> ax = cl.plots.plot_k_scores(scores, 4, lang="en")
    >>> ax.get_title()
    'Choosing the number of segments'
    """
    ax = _ax(ax, (6, 3.5))
    metric = str(k_scores["metric"].iloc[0]) if len(k_scores) else "none"
    ax.plot(k_scores["k"], k_scores["score"], marker="o")
    if chosen is not None:
        ax.axvline(chosen, color="grey", linestyle="--", label=f"{tr('chosen', lang)} k={chosen}")
        ax.legend(frameon=False)
    ax.set_xlabel(tr("k", lang))
    ax.set_ylabel(tr(metric, lang))
    ax.set_title(tr("k_title", lang))
    if len(k_scores):
        set_alt(ax, t("alt_k_scores", lang).format(lo=int(k_scores["k"].min()), hi=int(k_scores["k"].max()),
                                                   metric=tr(metric, lang), k=chosen if chosen is not None else "–"))
    else:
        set_alt(ax, tr("k_title", lang))
    return ax


def plot_segment_sizes(profile: pd.DataFrame, names: pd.DataFrame | None = None, *, lang: str = "en",
                       k: int = 0, ax: Axes | None = None) -> Axes:
    """Horizontal bars: members per segment, with shares.

    Segments with fewer than ``k`` members (but some) get no bar and the label ``<k``.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> names = pd.DataFrame({"segment": [0, 1], "name_zh": ["潜水", "核心用户"], "name_en": ["lurker", "core"]})
    >>> profile = pd.DataFrame({"size": [120, 3], "share": [120 / 123, 3 / 123]})
    >>> ax = cl.plots.plot_segment_sizes(profile, names, lang="en", k=5)  # the segment of 3 is not drawn as 3
    >>> ax.get_title()
    'Segment sizes'
    """
    ax = _ax(ax, (7, 0.5 + 0.45 * len(profile)))
    labels = _seg_names(names, lang)
    y = [labels.get(int(s), str(s)) for s in profile.index]
    small = small_group_mask(profile["size"], k).to_numpy() if k > 1 else np.zeros(len(profile), dtype=bool)
    ax.barh(y, profile["size"].where(~small, 0))
    for i, (n, sh, hide) in enumerate(zip(profile["size"], profile["share"], small, strict=True)):
        ax.text(0 if hide else n, i, f" <{k}" if hide else f" {count(n)} ({percent(sh, decimals=0)})", va="center",
                fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, float(profile["size"].max() or 1) * 1.2)
    ax.set_xlabel(tr("members", lang))
    ax.set_title(tr("sizes_title", lang))
    shown = profile["size"].where(~small)
    if shown.notna().any():
        top = shown.idxmax()
        set_alt(ax, t("alt_sizes", lang).format(n=len(profile), top=y[list(profile.index).index(top)],
                                                share=percent(profile.loc[top, "share"], decimals=0)))
    else:
        set_alt(ax, tr("sizes_title", lang))
    return ax


def plot_profile_heatmap(profile: pd.DataFrame, names: pd.DataFrame | None = None, *, lang: str = "en",
                         k: int = 0, ax: Axes | None = None) -> Axes:
    """Heatmap of the segments' z-scores (columns ``z_<feature>`` of ``profile_``).

    Rows of segments with fewer than ``k`` members (column ``size``) are left blank and labelled ``<k``.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> names = pd.DataFrame({"segment": [0, 1], "name_zh": ["潜水", "核心用户"], "name_en": ["lurker", "core"]})
    >>> profile = pd.DataFrame({"z_ugc_30d": [-0.8, 1.9], "z_recency_days": [1.2, -1.0], "size": [120, 30],
    ...                         "share": [0.8, 0.2]})
    >>> ax = cl.plots.plot_profile_heatmap(profile, names, lang="en", k=5)
    >>> ax.get_title()
    'Segment profiles (standardised means, z)'
    """
    zcols = [c for c in profile.columns if c.startswith("z_")]
    ax = _ax(ax, (1.2 + 0.7 * len(zcols), 0.8 + 0.5 * len(profile)))
    data = profile[zcols].copy()
    data.columns = [tr(c[2:], lang) for c in zcols]
    labels = _seg_names(names, lang)
    data.index = [labels.get(int(s), str(s)) for s in data.index]
    small = (small_group_mask(profile["size"], k).to_numpy() if k > 1 and "size" in profile.columns
             else np.zeros(len(profile), dtype=bool))
    data[small] = np.nan
    sns.heatmap(data.astype(float), cmap="RdBu_r", center=0, annot=True, fmt=".1f", cbar=False, ax=ax,
                annot_kws={"size": MIN_FONT_PT})
    for i in np.nonzero(small)[0]:
        ax.text(data.shape[1] / 2, i + 0.5, f"<{k}", ha="center", va="center", fontsize=MIN_FONT_PT, color="0.4")
    ax.set_title(tr("profile_title", lang))
    ax.set_ylabel("")
    ax.tick_params(axis="x", rotation=45)
    for lab in ax.get_xticklabels():
        lab.set_ha("right")
        lab.set_rotation_mode("anchor")
    set_alt(ax, t("alt_profile", lang).format(n=len(profile), m=len(zcols)))
    return ax


def plot_projection(coords: np.ndarray, labels: np.ndarray, names: pd.DataFrame | None = None, *,
                    lang: str = "en", max_points: int = 5000, random_state: int = 0,
                    ax: Axes | None = None) -> Axes:
    """Scatter of a 2-D projection (e.g. PCA) coloured by segment; a seeded subsample when large.

    Examples
    --------
    >>> import numpy as np
    >>> import commlab as cl
    >>> rng = np.random.default_rng(0)
    >>> ax = cl.plots.plot_projection(rng.normal(size=(200, 2)), rng.integers(0, 2, 200), lang="en")
    >>> ax.get_title()
    'Members in 2-D (principal components)'
    """
    ax = _ax(ax, (7, 5))
    coords = np.asarray(coords)
    labels = np.asarray(labels)
    idx = np.arange(len(labels))
    if len(idx) > max_points:
        idx = np.sort(np.random.default_rng(random_state).choice(idx, max_points, replace=False))
    seg_names = _seg_names(names, lang)
    for s in np.unique(labels):
        sel = idx[labels[idx] == s]
        ax.scatter(coords[sel, 0], coords[sel, 1], s=6, alpha=0.5, label=seg_names.get(int(s), str(s)))
    ax.legend(markerscale=3, fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_xlabel(tr("pc1", lang))
    ax.set_ylabel(tr("pc2", lang))
    ax.set_title(tr("projection_title", lang))
    set_alt(ax, t("alt_projection", lang).format(points=count(len(idx)), n=len(np.unique(labels))))
    return ax


def _suppressed_cells(ax: Axes, small: np.ndarray, k: int) -> None:
    for i, j in zip(*np.nonzero(small), strict=True):  # seaborn leaves masked cells unlabelled
        ax.text(j + 0.5, i + 0.5, f"<{k}", ha="center", va="center", fontsize=MIN_FONT_PT, color="0.4")


def plot_crosstab(table: pd.DataFrame, *, lang: str = "en", title: str | None = None, k: int = 0,
                  ax: Axes | None = None) -> Axes:
    """Annotated heatmap of a count table (e.g. rule roles × segments).

    Cells with fewer than ``k`` members (but more than none) are suppressed: left blank and
    labelled ``<k``, so a shared report never singles out a handful of members.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> table = pd.DataFrame({"segment 0": [40, 3], "segment 1": [2, 55]}, index=["lurker", "core"])
    >>> ax = cl.plots.plot_crosstab(table, lang="en", k=5)  # the cells of 3 and 2 show "<5"
    >>> ax.get_title()
    'Rule roles × clusters (members)'
    """
    ax = _ax(ax, (min(FULL_WIDTH, 1.8 + 1.05 * table.shape[1]), 1 + 0.45 * table.shape[0]))
    small = small_group_mask(table, k)
    labels = table.map(count).mask(small, f"<{k}")
    sns.heatmap(table.mask(small).astype(float), cmap="Blues", annot=labels.to_numpy(), fmt="", cbar=False, ax=ax,
                annot_kws={"size": MIN_FONT_PT})
    _suppressed_cells(ax, small.to_numpy(), k)
    ax.set_title(title or tr("crosstab_title", lang))
    set_alt(ax, t("alt_crosstab", lang).format(rows=table.shape[0], cols=table.shape[1], k=k))
    return ax


def plot_transition_heatmap(matrix: pd.DataFrame, *, lang: str = "en", k: int = 0, ax: Axes | None = None) -> Axes:
    """Row-share heatmap of a from-role × to-role transition matrix (member counts).

    With ``k``, a cell counting fewer than ``k`` members (but some) is left blank and labelled
    ``<k`` (the shares of the other cells of its row stay: they do not give the count back).

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> matrix = pd.DataFrame({"core": [50, 4, 10], "lurker": [6, 300, 80]}, index=["core", "lurker", "joined"])
    >>> ax = cl.plots.plot_transition_heatmap(matrix, lang="en", k=5)
    >>> ax.get_title()
    'Month-over-month role transitions (row shares)'
    """
    ax = _ax(ax, (min(FULL_WIDTH, 1.8 + 1.05 * matrix.shape[1]), 1 + 0.5 * matrix.shape[0]))
    shares = matrix.div(matrix.sum(axis=1).replace(0, np.nan), axis=0)
    small = small_group_mask(matrix, k).to_numpy()  # a row of fewer than k members has only such cells
    shown = shares.mask(small).rename(index=lambda r: tr(r, lang), columns=lambda c: tr(c, lang))
    sns.heatmap(shown.astype(float), cmap="Purples", annot=True, fmt=".0%", cbar=False, vmin=0, vmax=1, ax=ax,
                annot_kws={"size": MIN_FONT_PT})
    _suppressed_cells(ax, small, k)
    ax.set_xlabel(tr("to", lang))
    ax.set_ylabel(tr("from", lang))
    ax.set_title(tr("transition_title", lang))
    same = [shares.loc[r, r] for r in shares.index if r in shares.columns and not small[list(shares.index).index(r),
                                                                                       list(shares.columns).index(r)]]
    same = [v for v in same if not np.isnan(v)]
    set_alt(ax, t("alt_transition", lang).format(stay=percent(np.median(same), decimals=0) if same else "–"))
    return ax


def plot_p_alive(p_alive: np.ndarray, threshold: float = 0.5, *, lang: str = "en", bins: int = 20,
                 ax: Axes | None = None) -> Axes:
    """Histogram of P(alive) with the zombie threshold.

    Examples
    --------
    >>> import numpy as np
    >>> import commlab as cl
    >>> ax = cl.plots.plot_p_alive(np.random.default_rng(0).random(500), 0.5, lang="en")
    >>> ax.get_title()
    'P(alive) distribution (BG/NBD)'
    """
    ax = _ax(ax, (6, 3.5))
    ax.hist(np.asarray(p_alive, dtype=float), bins=bins, range=(0, 1), color="tab:green", alpha=0.8)
    ax.axvline(threshold, color="grey", linestyle="--", label=f"{tr('threshold', lang)} {number(threshold)}")
    ax.legend(frameon=False, fontsize=8)
    ax.set_xlabel(tr("p_alive", lang))
    ax.set_ylabel(tr("members", lang))
    ax.set_title(tr("p_alive_title", lang))
    p = np.asarray(p_alive, dtype=float)
    p = p[~np.isnan(p)]
    below = percent((p < threshold).mean() if len(p) else None)
    set_alt(ax, t("alt_p_alive", lang).format(n=count(len(p)), below=below, threshold=number(threshold)))
    return ax


def plot_stability(aris: np.ndarray, *, lang: str = "en", ax: Axes | None = None) -> Axes:
    """Adjusted Rand index of each resample refit.

    Examples
    --------
    >>> import numpy as np
    >>> import commlab as cl
    >>> ax = cl.plots.plot_stability(np.array([0.99, 0.98, 1.0, 0.97]), lang="en")
    >>> ax.get_title()
    'Segment stability (ARI across resamples)'
    """
    ax = _ax(ax, (6, 3))
    a = np.asarray(aris, dtype=float)
    ax.plot(np.arange(1, len(a) + 1), a, marker="o", linestyle="")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.axhline(np.median(a), color="grey", linestyle="--")
    ax.set_ylim(min(0.0, a.min() - 0.05) if len(a) else 0, 1.02)
    ax.set_xlabel(tr("resample", lang))
    ax.set_ylabel(tr("ari", lang))
    ax.set_title(tr("stability_title", lang))
    if len(a):
        set_alt(ax, t("alt_stability", lang).format(n=len(a), median=number(np.median(a)), low=number(a.min())))
    else:
        set_alt(ax, tr("stability_title", lang))
    return ax
