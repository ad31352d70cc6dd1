"""Figures of the overview notebook. Each takes ``ax=None`` and returns the Axes.

Sizes follow :mod:`commlab.plots.show`: full-width figures fill the report's content column, text
is at least :data:`~commlab.plots.show.MIN_FONT_PT`, and each figure carries its alt text.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from commlab.fmt import count
from commlab.i18n import t
from commlab.plots.palette import community_colors
from commlab.plots.show import FULL_WIDTH, set_alt

__all__ = ["plot_daily_activity", "plot_weekday_hour", "month_label", "ONE_PANEL_MAX", "PANEL_COLUMNS", "MAX_PANELS"]

#: Up to this many communities share one panel, each line its own colour with a legend under the
#: plot; beyond, each community gets a small panel of its own, named in its title.
ONE_PANEL_MAX = 6
#: Panels per row when each community has its own.
PANEL_COLUMNS = 4
#: The most panels drawn (the communities with the most active members); the title says so.
MAX_PANELS = 40


def _ax(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=size, layout="constrained")
    return new


def _wide(daily: pd.DataFrame, value: str, rolling: int) -> pd.DataFrame:
    wide = daily.pivot_table(index="date", columns="community_id", values=value, aggfunc="sum").fillna(0)
    wide = wide.asfreq("D", fill_value=0) if len(wide) else wide
    if rolling > 1:
        wide = wide.rolling(rolling, min_periods=1).mean()
    return wide


def plot_daily_activity(
    daily: pd.DataFrame,
    names: dict[str, str] | None = None,
    *,
    value: str = "active_members",
    lang: str = "en",
    rolling: int = 7,
    ax: Axes | None = None,
) -> Axes:
    """``value`` per local day and community, smoothed over ``rolling`` days.

    Up to :data:`ONE_PANEL_MAX` communities: one panel, one distinct colour per community and a
    legend under the plot (it covers no line). More: one small panel per community (shared axes,
    named in its title), at most :data:`MAX_PANELS` of them (the most active), so no two
    communities are ever told apart by colours alone.

    Parameters
    ----------
    daily : DataFrame
        From :func:`commlab.analysis.overview.daily_activity`.
    names : dict, optional
        Community id to display name.
    ax : Axes, optional
        Only for the one-panel form (a given Axes is always drawn as one panel).

    Returns
    -------
    Axes
        The (first) panel.
    """
    wide = _wide(daily, value, rolling)
    label = (names or {}).get
    order = list(wide.mean().sort_values(ascending=False).index) if len(wide) else list(wide.columns)
    title = t("daily_active_members" if value == "active_members" else "daily_activity", lang)
    ylabel = t("active_members_axis" if value == "active_members" else "events_axis", lang).format(days=rolling)
    if ax is not None or len(order) <= ONE_PANEL_MAX:
        ax = _ax(ax, (FULL_WIDTH, 4.2))
        for cid, colour in zip(order, community_colors(len(order)), strict=True):
            ax.plot(wide.index, wide[cid], label=label(cid, cid), linewidth=1.6, color=colour)
        ax.set_title(title, fontsize=11)
        ax.set_ylabel(ylabel, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.set_ylim(bottom=0)
        if len(order) == 1:  # the name in the title: a legend of one line says nothing more
            ax.set_title(f"{title}{'：' if lang == 'zh' else ': '}{label(order[0], order[0])}", fontsize=11)
        elif order:
            ax.legend(fontsize=8, ncol=min(len(order), 3), frameon=False, loc="upper center",
                      bbox_to_anchor=(0.5, -0.1))
        _date_axis(ax, lang)
        axes = [ax]
    else:
        shown = order[:MAX_PANELS]
        rows = math.ceil(len(shown) / PANEL_COLUMNS)
        fig, grid = plt.subplots(rows, PANEL_COLUMNS, figsize=(FULL_WIDTH, 0.3 + 1.75 * rows), sharex=True,
                                 sharey=True, layout="constrained", squeeze=False)
        for i, a in enumerate(grid.flat):
            if i >= len(shown):
                a.set_visible(False)
                continue
            cid = shown[i]
            a.fill_between(wide.index, wide[cid], color="#1f77b4", alpha=0.18, linewidth=0)
            a.plot(wide.index, wide[cid], color="#1f77b4", linewidth=1.2)
            a.set_title(_short(label(cid, cid)), fontsize=9, loc="left")
            a.tick_params(labelsize=7)
            a.set_ylim(bottom=0)
            a.grid(axis="y", color="0.9", linewidth=0.6)
            _date_axis(a, lang)
        for i in range(len(shown), rows * PANEL_COLUMNS):  # the panel above an empty slot shows the dates
            if i - PANEL_COLUMNS >= 0:
                grid.flat[i - PANEL_COLUMNS].xaxis.set_tick_params(labelbottom=True)
        if len(order) > MAX_PANELS:
            title += t("daily_top_panels", lang).format(shown=MAX_PANELS, n=len(order))
        fig.suptitle(title, fontsize=11)
        fig.supylabel(ylabel, fontsize=9)
        axes = list(grid.flat)
        ax = axes[0]
    _describe_daily(ax, wide, order, label, lang, value)
    return ax


def _short(name: str, limit: int = 18) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def month_label(when: pd.Timestamp, lang: str, *, with_year: bool) -> str:
    """``2024年3月`` / ``3月`` in Chinese, ``Mar 2024`` / ``Mar`` in English (no locale involved)."""
    if lang == "zh":
        return f"{when.year}年{when.month}月" if with_year else f"{when.month}月"
    return f"{_MONTHS_EN[when.month - 1]} {when.year}" if with_year else _MONTHS_EN[when.month - 1]


def _date_axis(ax: Axes, lang: str) -> None:
    """Month ticks labelled in ``lang``: the year on the first tick and on each January."""
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter

    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
    ax.xaxis.set_major_locator(locator)

    def label(x: float, pos: int | None) -> str:
        when = pd.Timestamp(mdates.num2date(x)).tz_localize(None)
        return month_label(when, lang, with_year=pos == 0 or when.month == 1)

    ax.xaxis.set_major_formatter(FuncFormatter(label))
    ax.tick_params(axis="x", labelrotation=0)


def _describe_daily(ax: Axes, wide: pd.DataFrame, order: list[str], label, lang: str, value: str) -> None:  # noqa: ANN001
    if not len(wide) or not order:
        set_alt(ax, t("alt_daily_empty", lang))
        return
    top = order[0]
    set_alt(ax, t("alt_daily" if len(order) > 1 else "alt_daily_one", lang).format(
        n=len(order), first=f"{wide.index.min():%Y-%m-%d}", last=f"{wide.index.max():%Y-%m-%d}",
        what=t("daily_active_members" if value == "active_members" else "daily_activity", lang),
        top=label(top, top), top_value=count(wide[top].mean())))


def plot_weekday_hour(table: pd.DataFrame, *, lang: str = "en", ax: Axes | None = None) -> Axes:
    """Heatmap of activity by local weekday (rows, labels horizontal) × hour (from ``weekday_hour``)."""
    ax = _ax(ax, (FULL_WIDTH, 3.4))
    days = t("weekdays", lang).split(",")
    data = table.to_numpy(dtype=float)
    im = ax.imshow(data, cmap="YlOrRd", aspect="auto", vmin=0)
    ax.set_xticks(range(table.shape[1]), [str(h) for h in table.columns], fontsize=8)
    ax.set_yticks(range(table.shape[0]), [days[i] for i in table.index], fontsize=9, rotation=0)
    ax.set_xlabel(t("hour", lang), fontsize=9)
    ax.set_title(t("weekday_hour", lang), fontsize=11)
    ax.tick_params(length=0)
    bar = ax.figure.colorbar(im, ax=ax, fraction=0.025, pad=0.01)
    bar.set_label(t("events_axis", lang), fontsize=9)
    bar.ax.tick_params(labelsize=8)
    if data.size and np.nansum(data) > 0:
        i, j = np.unravel_index(np.nanargmax(data), data.shape)
        set_alt(ax, t("alt_weekday_hour", lang).format(day=days[table.index[i]], hour=int(table.columns[j]),
                                                       value=count(data[i, j]), total=count(np.nansum(data))))
    else:
        set_alt(ax, t("alt_weekday_hour_empty", lang))
    return ax
