"""Figures of the overview notebook. Each takes ``ax=None`` and returns the Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from commlab.i18n import t

__all__ = ["plot_daily_activity", "plot_weekday_hour"]


def _ax(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=size, layout="constrained")
    return new


def plot_daily_activity(
    daily: pd.DataFrame,
    names: dict[str, str] | None = None,
    *,
    value: str = "active_members",
    lang: str = "en",
    rolling: int = 7,
    ax: Axes | None = None,
) -> Axes:
    """One line per community: ``value`` per local day, smoothed over ``rolling`` days.

    Parameters
    ----------
    daily : DataFrame
        From :func:`commlab.analysis.overview.daily_activity`.
    names : dict, optional
        Community id to display name, for the legend.
    """
    ax = _ax(ax, (10, 4.5))
    wide = daily.pivot_table(index="date", columns="community_id", values=value, aggfunc="sum").fillna(0)
    wide = wide.asfreq("D", fill_value=0) if len(wide) else wide
    if rolling > 1:
        wide = wide.rolling(rolling, min_periods=1).mean()
    for cid in wide.columns:
        ax.plot(wide.index, wide[cid], label=(names or {}).get(cid, cid), linewidth=1.4)
    ax.set_title(t("daily_active_members" if value == "active_members" else "daily_activity", lang))
    ax.set_xlabel(t("date", lang))
    ax.set_ylabel(t("count", lang))
    if len(wide.columns):
        ax.legend(fontsize=8, ncol=2, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.figure.autofmt_xdate()
    return ax


def plot_weekday_hour(table: pd.DataFrame, *, lang: str = "en", ax: Axes | None = None) -> Axes:
    """Heatmap of activity by local weekday × hour (from ``weekday_hour``)."""
    ax = _ax(ax, (10, 3.6))
    days = t("weekdays", lang).split(",")
    shown = table.copy()
    shown.index = [days[i] for i in shown.index]
    sns.heatmap(shown, ax=ax, cmap="YlOrRd", cbar_kws={"label": t("count", lang)})
    ax.set_title(t("weekday_hour", lang))
    ax.set_xlabel(t("hour", lang))
    ax.set_ylabel(t("weekday", lang))
    return ax
