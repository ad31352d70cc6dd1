"""The report side of a notebook, as ``cl.nb``: show tables and figures, hide small groups, write results.

A notebook reaches everything through ``import commlab as cl``: the analysis at the top level
(``cl.load_dataset``, ``cl.member_features``, ...), the figures in ``cl.plots`` and, here, what a
step does with its results: show a table with small groups suppressed (:func:`show_table`), show a
figure (:func:`show`), say something in the report's language (:func:`t`, :func:`heading_line`)
and write ``summary.json`` (:func:`write_summary`, :func:`data_counts`)::

    import commlab as cl

    cl.plots.setup_fonts()
    shown, hidden = cl.nb.show_table(summary, k_min_group, lang, privacy=dict(size="members"))
    cl.nb.show(cl.plots.plot_weekday_hour(hours, lang=lang))
    cl.nb.write_summary(output_dir, {"data_counts": cl.nb.data_counts(ds), ...})

Names sorted by topic: showing, words and numbers, small-group suppression, outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from commlab.data.dataset import Dataset, DataSummary
from commlab.display import as_of_line, data_line, escape_md, feature_table, metric_kinds, metrics_by_row, table
from commlab.fmt import count, kind_of_unit, number, percent
from commlab.i18n import t
from commlab.outputs import write_summary
from commlab.plots.show import show
from commlab.privacy import (
    format_count,
    small_groups,
    suppress_count,
    suppress_metrics,
    suppress_small_groups,
    suppress_table,
    suppression_note,
    without_small_groups,
)

__all__ = [
    # showing
    "show",
    "show_table",
    "table",
    "feature_table",
    "metrics_by_row",
    "metric_kinds",
    # words and numbers
    "t",
    "heading_line",
    "source_line",
    "as_of_line",
    "data_line",
    "escape_md",
    "count",
    "number",
    "percent",
    "kind_of_unit",
    # small-group suppression
    "suppress_table",
    "suppress_metrics",
    "suppress_small_groups",
    "suppression_note",
    "small_groups",
    "without_small_groups",
    "suppress_count",
    "format_count",
    # outputs
    "write_summary",
    "data_counts",
]


def show_table(data: pd.DataFrame, k: int, lang: str, *, privacy: Mapping[str, Any] | None = None,
               metrics: bool = False, index: str | None = None, names: Mapping[Any, str] | None = None,
               columns: list[Any] | None = None, kinds: Mapping[Any, str] | str | None = None,
               default: str = "number", labels: Mapping[Any, str] | None = None,
               index_label: str | None = None) -> tuple[pd.DataFrame, int]:
    """Show a table in the report with its groups of fewer than ``k`` members suppressed, and say so.

    The one step a notebook repeats for every table of members: suppress the small groups
    (:func:`suppress_table`, or :func:`suppress_metrics` for a wide metric table), display the
    suppressed copy as a report table (:func:`table`: formatted, labelled, escaped), then the
    sentence that tells how many groups were suppressed (:func:`suppression_note`; an empty
    Markdown output when none was).

    Parameters
    ----------
    data : DataFrame
        The table with unformatted numbers (not modified).
    k : int
        Smallest group shown (at least :data:`commlab.privacy.MIN_K`).
    lang : str
        Report language, ``"zh"`` or ``"en"`` (of the note).
    privacy : dict, optional
        Keyword arguments of :func:`suppress_table` (``size``, ``counts``, ``linked``, ``shares``,
        ``derived``, ``keep``, ``group_sizes``) or, with ``metrics=True``, of
        :func:`suppress_metrics` (``n``, ``keep``). Keep the dict: the same privacy goes into
        ``summary.json`` with ``suppress_table(data, k, numeric=True, **privacy)``.
    metrics : bool, default False
        ``data`` is communities × metric ids (:func:`commlab.analysis.metrics.wide`).
    index : str, optional
        After suppression, make this column the index (to show it with ``index_label``).
    names : dict, optional
        After suppression, rename the index with it (community id -> name).
    columns : list, optional
        After suppression, the columns shown, in order (default: all).
    kinds, default, labels, index_label
        How :func:`table` formats and labels the columns.

    Returns
    -------
    (DataFrame, int)
        The suppressed copy (before ``index``, ``names`` and ``columns``) and the number of
        groups suppressed.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> roles = pd.DataFrame({"role": ["core", "lurker"], "members": [3, 40], "share": [0.07, 0.93]})
    >>> privacy = dict(counts=["members"], linked={"members": ["share"]})  # a share gives its count back
    >>> shown, hidden = cl.nb.show_table(roles, 5, "en", privacy=privacy)  # outside Jupyter: the reprs
    <pandas.io.formats.style.Styler object at 0x...>
    <IPython.core.display.Markdown object>
    >>> shown["members"].tolist(), shown["share"].tolist(), hidden
    (['<5', 40], ['—', 0.93], 1)
    """
    from IPython.display import Markdown, display

    suppress = suppress_metrics if metrics else suppress_table
    shown, hidden = suppress(data, k, **dict(privacy or {}))
    view = shown
    if index is not None:
        view = view.set_index(index)
    if names is not None:
        view = view.rename(index=names)
    if columns is not None:
        view = view[list(columns)]
    display(table(view, kinds, default=default, labels=labels, index_label=index_label))
    display(Markdown(suppression_note(hidden, k, lang)))
    return shown, hidden


def heading_line(as_of: str | pd.Timestamp, data: Dataset | DataSummary, lang: str = "en") -> str:
    """The line a notebook opens with: the analysis instant, then what the data hold.

    Parameters
    ----------
    as_of : str or Timestamp
        The analysis instant (or ``created+Nd``), see :func:`as_of_line`.
    data : Dataset or DataSummary
        The data analysed, see :func:`data_line`.
    lang : str
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        Markdown, ``"{as_of_line} · {data_line}"``.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> from commlab.data.dataset import DataSummary
    >>> s = DataSummary(1, 12, 30, pd.Timestamp("2024-06-01", tz="UTC"), pd.Timestamp("2024-06-30", tz="UTC"))
    >>> cl.nb.heading_line("2024-06-30T16:00:00Z", s, "en")
    '**As of:** 2024-06-30 16:00 UTC · 1 community, 12 members, 30 events, 2024-06-01 to 2024-06-30 (UTC)'
    """
    return f"{as_of_line(as_of, lang)} · {data_line(data, lang)}"


def source_line(data: Dataset, lang: str = "en") -> str:
    """The sentence that names where the data came from (the communities' ``source``), or ``""``.

    Parameters
    ----------
    data : Dataset
        The data; its communities' ``source`` column names an import (a file, a site).
    lang : str
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        Markdown, each source escaped (:func:`escape_md`: it comes from a data file); ``""`` when
        no community records one.

    Examples
    --------
    >>> import commlab as cl
    >>> cl.nb.source_line(cl.load_dataset("data/samples", communities=["c04"]), "en")
    '**Data source:** synthetic (commlab.data.generate), CC0'
    """
    sources = sorted(set(data.communities["source"].dropna()))
    if not sources:
        return ""
    return t("data_source", lang).format(sources="; ".join(escape_md(s) for s in sources))


def data_counts(data: Dataset | DataSummary) -> dict[str, Any]:
    """What the data hold, as numbers for ``summary.json`` (the report's scope line reads them).

    Parameters
    ----------
    data : Dataset or DataSummary
        The data analysed.

    Returns
    -------
    dict
        ``communities``, ``members``, ``events`` (rows of each table) and ``first``, ``last``
        (the first and last event time, UTC, ``None`` without events).

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> from commlab.data.dataset import DataSummary
    >>> s = DataSummary(1, 12, 30, pd.Timestamp("2024-06-01", tz="UTC"), pd.Timestamp("2024-06-30", tz="UTC"))
    >>> cl.nb.data_counts(s)["members"]
    12
    """
    s = data.data_summary() if isinstance(data, Dataset) else data
    return {"communities": int(s.communities), "members": int(s.members), "events": int(s.events),
            "first": s.first if s.events else None, "last": s.last if s.events else None}
