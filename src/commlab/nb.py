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

from typing import TYPE_CHECKING, Any

import pandas as pd

from commlab.data.dataset import Dataset, DataSummary
from commlab.display import (
    as_of_line,
    data_line,
    escape_md,
    feature_table,
    metric_kinds,
    metrics_by_row,
    show_table,
    table,
)
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

if TYPE_CHECKING:
    from commlab.display_segments import SegmentsReport

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
    # one notebook's steps
    "SegmentsReport",
    # outputs
    "write_summary",
    "data_counts",
]


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


#: Names of one notebook's steps, imported on first use (they load scikit-learn).
_LAZY: dict[str, str] = {"SegmentsReport": "commlab.display_segments"}


def __getattr__(name: str) -> Any:
    """Import a notebook's step helpers on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'commlab.nb' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
