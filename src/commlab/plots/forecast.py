"""Figures of the early-warning forecast: scores by horizon and calibration.

Each function takes ``ax=None`` (a new figure is made when missing) and returns the Axes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

__all__ = ["plot_auc_by_horizon", "plot_calibration"]


def _ax(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def plot_auc_by_horizon(scores: pd.DataFrame, *, model: str, lang: str = "en", ax: Axes | None = None) -> Axes:
    """Out-of-sample ROC AUC with its interval per horizon, model against baseline.

    Parameters
    ----------
    scores : DataFrame
        ``ForecastEvaluation.scores`` (``horizon, model, score, value, lo, hi``).
    model : str
        The model's name in ``scores``.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> scores = pd.DataFrame({"score": "roc_auc", "model": ["logit", "logit", "baseline", "baseline"],
    ...                        "horizon": [1, 2, 1, 2], "value": [0.81, 0.74, 0.5, 0.5], "lo": [0.7, 0.6, 0.5, 0.5],
    ...                        "hi": [0.9, 0.85, 0.5, 0.5]})
    >>> ax = cl.plots.plot_auc_by_horizon(scores, model="logit", lang="en")
    >>> ax.get_ylabel()
    'ROC AUC (out of sample)'
    """
    zh = lang == "zh"
    ax = _ax(ax, (6.4, 3.4))
    auc = scores[scores["score"] == "roc_auc"]
    base = "基线（多数类）" if zh else "baseline (majority class)"
    for name, color, label, dx in ((model, "#1f77b4", "模型" if zh else "model", -0.06),
                                   ("baseline", "#999999", base, 0.06)):
        s = auc[auc["model"] == name].dropna(subset=["value"])
        if s.empty:
            continue
        x = s["horizon"].to_numpy(dtype=float) + dx
        ax.errorbar(x, s["value"], yerr=[s["value"] - s["lo"], s["hi"] - s["value"]], fmt="o-", color=color,
                    capsize=3, label=label)
    ax.axhline(0.5, color="grey", ls="--", lw=1)
    ax.set_ylim(0.2, 1.0)
    ks = sorted(auc["horizon"].unique())
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("预测时点：社群的第 k 期" if zh else "forecast made after period k of each community")
    ax.set_ylabel("ROC AUC（样本外）" if zh else "ROC AUC (out of sample)")
    ax.set_title("预测能力随时点的变化（竖线 = 95% 区间）" if zh else
                 "How well the forecast ranks, by horizon (bars: 95 % interval)")
    ax.legend(loc="lower right", fontsize=9, frameon=False)
    return ax


def plot_calibration(predictions: pd.DataFrame, *, horizon: int, lang: str = "en", bins: int = 5,
                     ax: Axes | None = None) -> Axes:
    """Reliability diagram: predicted P(dies) against the share that died, by quantile bins.

    Parameters
    ----------
    predictions : DataFrame
        ``ForecastEvaluation.predictions`` (out-of-fold ``p_die`` and ``outcome`` per horizon).
    horizon : int
        The horizon to show.
    bins : int, default 5
        Number of bins (quantiles of the predicted probability; fewer with few communities).

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> predictions = pd.DataFrame({"horizon": 1, "p_die": [0.1, 0.2, 0.3, 0.6, 0.7, 0.9, 0.15, 0.8],
    ...                             "outcome": [0, 0, 1, 1, 1, 1, 0, 1]})
    >>> ax = cl.plots.plot_calibration(predictions, horizon=1, lang="en")
    >>> ax.get_title()
    'Calibration of the forecast at period 1'
    """
    zh = lang == "zh"
    ax = _ax(ax, (4.6, 4.2))
    p = predictions[predictions["horizon"] == horizon]
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="完美校准" if zh else "perfectly calibrated")
    if len(p):
        q = min(bins, max(1, len(p) // 4))
        cut = pd.qcut(p["p_die"].rank(method="first"), q, labels=False)
        g = p.groupby(cut).agg(pred=("p_die", "mean"), obs=("outcome", "mean"), n=("outcome", "size"))
        ax.plot(g["pred"], g["obs"], "o-", color="#1f77b4", label="各组社群" if zh else "groups of communities")
        for r in g.itertuples():
            ax.annotate(f"n={r.n}", (r.pred, r.obs), textcoords="offset points", xytext=(5, -12), fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("预测的死亡概率（样本外）" if zh else "predicted P(dies), out of sample")
    ax.set_ylabel("实际死亡比例" if zh else "share that died")
    ax.set_title(f"校准：第 {horizon} 期的预测" if zh else f"Calibration of the forecast at period {horizon}")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.set_aspect("equal")
    return ax
