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
from matplotlib.ticker import MaxNLocator

from commlab.data.schema import Col
from commlab.fmt import count
from commlab.i18n import t
from commlab.plots.palette import community_colors
from commlab.plots.show import FULL_WIDTH, PHONE_MIN_FONT_PT, PHONE_WIDTH, set_alt

__all__ = ["plot_daily_activity", "plot_weekday_hour", "month_label", "ONE_PANEL_MAX", "PANEL_COLUMNS", "MAX_PANELS",
           "PHONE_COLUMNS", "PHONE_MAX_PANELS", "fit_label"]

#: Up to this many communities share one panel, each line its own colour with a legend under the
#: plot; beyond, each community gets a small panel of its own, named in its title.
ONE_PANEL_MAX = 6
#: Panels per row when each community has its own.
PANEL_COLUMNS = 4
#: The most panels drawn (the communities with the most active members); the title says so.
MAX_PANELS = 40
#: Panels per row, and the most panels drawn, in the phone rendering (``phone=True``).
PHONE_COLUMNS = 2
PHONE_MAX_PANELS = 12


def _ax(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=size, layout="constrained")
    return new


def _wide(daily: pd.DataFrame, value: str, rolling: int) -> pd.DataFrame:
    wide = daily.pivot_table(index="date", columns=Col.community_id, values=value, aggfunc="sum").fillna(0)
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
    phone: bool = False,
) -> Axes:
    """Draw ``value`` per local day and community, smoothed over ``rolling`` days.

    Up to :data:`ONE_PANEL_MAX` communities: one panel, one distinct colour per community and a
    legend under the plot (it covers no line). More: one small panel per community (shared axes,
    named in its title), at most :data:`MAX_PANELS` of them (the most active), so no two
    communities are ever told apart by colours alone.

    With ``phone=True`` the same figure is drawn for a phone's column
    (:data:`~commlab.plots.show.PHONE_WIDTH` inches, text of at least
    :data:`~commlab.plots.show.PHONE_MIN_FONT_PT`): the legend in one column under the plot,
    three date ticks, and small panels :data:`PHONE_COLUMNS` a row, at most
    :data:`PHONE_MAX_PANELS` of them.

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

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> daily = pd.DataFrame({"community_id": ["c1"] * 30, "date": pd.date_range("2024-06-01", periods=30),
    ...                       "events": range(30), "active_members": range(10, 40)})
    >>> ax = cl.plots.plot_daily_activity(daily, {"c1": "咖啡爱好者交流群"}, lang="en")
    >>> ax.get_title()
    'Daily active members: 咖啡爱好者交流群'
    """
    wide = _wide(daily, value, rolling)
    label = (names or {}).get
    order = list(wide.mean().sort_values(ascending=False).index) if len(wide) else list(wide.columns)
    title = t("daily_active_members" if value == "active_members" else "daily_activity", lang)
    ylabel = t("active_members_axis" if value == "active_members" else "events_axis", lang).format(days=rolling)
    # sizes (pt) of the title, axis label, ticks and panel titles; the phone's are larger than its column is wide
    big, mid, small, panel = (10, PHONE_MIN_FONT_PT, PHONE_MIN_FONT_PT, PHONE_MIN_FONT_PT) if phone else (11, 9, 8, 9)
    if ax is not None or len(order) <= ONE_PANEL_MAX:
        ax = _ax(ax, (PHONE_WIDTH, 2.4) if phone else (FULL_WIDTH, 4.2))
        for cid, colour in zip(order, community_colors(len(order)), strict=True):
            ax.plot(wide.index, wide[cid], label=fit_label(label(cid, cid), 40) if phone else label(cid, cid),
                    linewidth=1.6, color=colour)
        ax.set_title(title, fontsize=big)
        ax.set_ylabel(ylabel, fontsize=mid)
        ax.tick_params(labelsize=small)
        ax.set_ylim(bottom=0)
        if len(order) == 1:  # the name in the title: a legend of one line says nothing more
            ax.set_title(f"{title}{'：' if lang == 'zh' else ': '}{label(order[0], order[0])}", fontsize=big,
                         wrap=phone)
        elif order:
            ax.legend(fontsize=small, ncol=1 if phone else min(len(order), 3), frameon=False, loc="upper center",
                      bbox_to_anchor=(0.5, -0.14 if phone else -0.1))
        _date_axis(ax, lang, phone=phone)
        axes = [ax]
    else:
        columns, most = (PHONE_COLUMNS, PHONE_MAX_PANELS) if phone else (PANEL_COLUMNS, MAX_PANELS)
        shown = order[:most]
        rows = math.ceil(len(shown) / columns)
        size = (PHONE_WIDTH, 0.5 + 1.05 * rows) if phone else (FULL_WIDTH, 0.3 + 1.75 * rows)
        fig, grid = plt.subplots(rows, columns, figsize=size, sharex=True, sharey=True, layout="constrained",
                                 squeeze=False)
        for i, a in enumerate(grid.flat):
            if i >= len(shown):
                a.set_visible(False)
                continue
            cid = shown[i]
            a.fill_between(wide.index, wide[cid], color="#1f77b4", alpha=0.18, linewidth=0)
            a.plot(wide.index, wide[cid], color="#1f77b4", linewidth=1.0 if phone else 1.2)
            name = label(cid, cid)
            a.set_title(fit_label(name, 22) if phone else _short(name), fontsize=panel, loc="left")
            a.tick_params(labelsize=small if phone else 7)
            a.set_ylim(bottom=0)
            a.grid(axis="y", color="0.9", linewidth=0.6)
            _date_axis(a, lang, phone=phone)
            if phone:
                a.yaxis.set_major_locator(MaxNLocator(3))
        for i in range(len(shown), rows * columns):  # the panel above an empty slot shows the dates
            if i - columns >= 0:
                grid.flat[i - columns].xaxis.set_tick_params(labelbottom=True)
        if len(order) > most:
            title += t("daily_top_panels", lang).format(shown=most, n=len(order))
        fig.suptitle(title, fontsize=big, wrap=phone)
        fig.supylabel(ylabel, fontsize=mid)
        axes = list(grid.flat)
        ax = axes[0]
    _describe_daily(ax, wide, order, label, lang, value)
    return ax


def _short(name: str, limit: int = 18) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def fit_label(name: str, width: int) -> str:
    """``name`` cut with "…" to ``width`` half-width units (a CJK or full-width character counts 2).

    Phone figures have about 22 units for a panel title and 24 for a bar label at 8 pt.
    """
    import unicodedata

    used, out = 0, []
    wide = [2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in name]
    if sum(wide) <= width:
        return name
    for c, w in zip(name, wide, strict=True):
        if used + w > width - 1:
            break
        out.append(c)
        used += w
    return "".join(out).rstrip() + "…"


_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def month_label(when: pd.Timestamp, lang: str, *, with_year: bool) -> str:
    """``2024年3月`` / ``3月`` in Chinese, ``Mar 2024`` / ``Mar`` in English (no locale involved)."""
    if lang == "zh":
        return f"{when.year}年{when.month}月" if with_year else f"{when.month}月"
    return f"{_MONTHS_EN[when.month - 1]} {when.year}" if with_year else _MONTHS_EN[when.month - 1]


def _date_axis(ax: Axes, lang: str, *, phone: bool = False) -> None:
    """Month ticks labelled in ``lang``: the year on the first tick and on each January (three ticks on a phone)."""
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter

    locator = mdates.AutoDateLocator(minticks=2, maxticks=3) if phone else \
        mdates.AutoDateLocator(minticks=3, maxticks=6)
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
    """Heatmap of activity by local weekday (rows, labels horizontal) × hour (from ``weekday_hour``).

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> hours = pd.DataFrame([[h * (d + 1) for h in range(24)] for d in range(7)])
    >>> ax = cl.plots.plot_weekday_hour(hours, lang="en")
    >>> ax.get_title()
    'Weekday × hour activity (local time)'
    """
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
