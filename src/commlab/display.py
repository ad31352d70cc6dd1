"""What the notebooks show besides figures: tables and one-line descriptions, in one language.

:func:`table` is the one way a notebook shows a table: every number formatted by its kind
(:mod:`commlab.fmt`), headers given in the report language, the index turned into a labelled
column (no ``community_id`` header row), text left-aligned and numbers right-aligned, and every
cell and header HTML-escaped (community names come from data files and are attacker-controlled).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from commlab.data.load import Dataset, DataSummary
from commlab.fmt import count, fmt_value, kind_of_unit
from commlab.i18n import TEXT, t
from commlab.instant import as_utc
from commlab.privacy import suppress_metrics, suppress_table, suppression_note

__all__ = ["table", "show_table", "data_line", "as_of_line", "escape_md", "feature_table", "unit_label", "metric_kinds",
           "metrics_by_row"]

_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_[]#|~"})


def escape_md(value: object) -> str:
    """Make ``value`` (a name from a data file) safe inside Markdown: HTML-escaped, punctuation backslashed.

    Examples
    --------
    >>> import commlab as cl
    >>> print(cl.nb.escape_md("*群*<b>"))
    \\*群\\*&lt;b&gt;
    """
    return html.escape(str(value)).translate(_MARKDOWN)


def table(df: pd.DataFrame, kinds: Mapping[Any, str] | str | None = None, *, default: str = "number",
          labels: Mapping[Any, str] | None = None, index_label: str | None = None) -> Styler:
    """Show ``df`` as a report table: formatted, labelled, aligned and escaped.

    Parameters
    ----------
    df : DataFrame
        The values, numbers unformatted (suppressed cells may already be strings such as ``<5``).
    kinds : dict or str, optional
        :func:`commlab.fmt.fmt_value` kind (or registry unit) per column, or one kind for every
        numeric column. Columns without a kind: ``text`` when not numeric, else ``default``.
    default : str
        Kind of the numeric columns ``kinds`` does not name.
    labels : dict, optional
        Header per column (columns not in it keep their name, so give every shown column one).
    index_label : str, optional
        Show the index as the first column under this header; without it the index is not shown.

    Returns
    -------
    pandas.io.formats.style.Styler
        Cells are strings; display it with ``IPython.display.display``.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> styled = cl.nb.table(pd.DataFrame({"name": ["甲群"], "members": [1234]}), {"members": "count"},
    ...                      labels={"name": "Community", "members": "Members"})
    >>> "1,234" in styled.to_html() and "Members" in styled.to_html()
    True
    """
    data = df.copy()
    if index_label is not None:
        data.insert(0, "__index__", [str(i) for i in data.index])
    data = data.reset_index(drop=True)
    labels = dict(labels or {})
    if index_label is not None:
        labels["__index__"] = index_label
    text_cols = []
    shown = pd.DataFrame(index=data.index)
    for col in data.columns:
        values = data[col]
        numeric = pd.api.types.is_numeric_dtype(values) or _mostly_numbers(values)
        if isinstance(kinds, Mapping):
            kind = kinds.get(col, default if numeric else "text")
        else:
            kind = (kinds or default) if numeric else "text"
        if kind == "text":
            text_cols.append(col)
        shown[col] = [fmt_value(v, kind) for v in values]
    header = [labels.get(c, str(c)) for c in data.columns]
    text_pos = [i for i, c in enumerate(data.columns) if c in text_cols]
    shown.columns = pd.RangeIndex(len(header))
    styler = shown.style.hide(axis="index").format(escape="html")
    styler = styler.format_index(lambda i: header[i], axis=1, escape="html")
    styler = styler.set_properties(**{"text-align": "right"})
    if text_pos:
        styler = styler.set_properties(subset=text_pos, **{"text-align": "left"})
    return styler.set_table_styles([{"selector": "th", "props": [("text-align", "left")]}])


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


def _mostly_numbers(values: pd.Series) -> bool:
    """An object column of numbers with suppressed cells written as strings (``<5``, ``—``)."""
    if values.dtype != object:
        return False
    kinds = [isinstance(v, int | float) and not isinstance(v, bool) for v in values if v is not None]
    return bool(kinds) and sum(kinds) >= len(kinds) / 2


def data_line(data: Dataset | DataSummary, lang: str = "en") -> str:
    """What the data hold in ``lang``: ``11 个社群，9,120 名成员，365,845 条事件，2023-12-31 至 2024-06-30（UTC）``.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> from commlab.data.dataset import DataSummary
    >>> s = DataSummary(1, 12, 30, pd.Timestamp("2024-06-01", tz="UTC"), pd.Timestamp("2024-06-30", tz="UTC"))
    >>> cl.nb.data_line(s, "zh")
    '1 个社群，12 名成员，30 条事件，2024-06-01 至 2024-06-30（UTC）'
    """
    s = data.data_summary() if isinstance(data, Dataset) else data
    def n(key: str, value: int) -> str:
        return t(f"{key}_one" if value == 1 else key, lang).format(n=count(value))

    line = t("data_line", lang).format(communities=n("n_communities", s.communities),
                                       members=n("n_members", s.members), events=n("n_events", s.events))
    if s.events and s.first is not None and s.last is not None:
        line += t("data_span", lang).format(first=f"{s.first:%Y-%m-%d}", last=f"{s.last:%Y-%m-%d}")
    return line


def as_of_line(as_of: str | pd.Timestamp, lang: str = "en") -> str:
    """The analysis instant in ``lang``: ``分析时点：2024-06-30 16:00 UTC`` (or creation + N days, ``created+Nd``).

    Examples
    --------
    >>> import commlab as cl
    >>> cl.nb.as_of_line("2024-06-30T16:00:00Z", "en")
    '**As of:** 2024-06-30 16:00 UTC'
    """
    text = str(as_of)
    if text.startswith("created+"):
        when = t("as_of_created", lang).format(days=text.removeprefix("created+").removesuffix("d"))
    else:
        ts = as_utc(as_of)
        when = f"{ts:%Y-%m-%d %H:%M} UTC"
    return t("as_of_line", lang).format(when=when)


def unit_label(unit: str, lang: str = "en") -> str:
    """A registry unit (``days``, ``events / 30 days``, ``share``…) in ``lang``."""
    return t(f"unit_{unit}", lang) if f"unit_{unit}" in TEXT else unit


def feature_table(features: pd.DataFrame, lang: str = "en") -> Styler:
    """Every member feature: label, definition and unit in ``lang``, with its median, mean and maximum.

    Parameters
    ----------
    features : DataFrame
        One row per member (:func:`commlab.analysis.features.member_features`).

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c04"])
    >>> feats = cl.member_features(ds.events, ds.members, as_of="2024-06-30T16:00:00Z")
    >>> "ugc_30d" in feats.columns and "definition" in cl.nb.feature_table(feats, "en").to_html()
    True
    """
    from commlab.analysis.features import FEATURES

    rows = []
    for f in FEATURES:
        if f.id not in features.columns:
            continue
        x = pd.to_numeric(features[f.id], errors="coerce").astype(float)
        kind = kind_of_unit(f.unit)
        flag = f.unit == "bool"
        na = t("report_not_applicable_value", lang)  # the median of a yes/no feature says nothing
        rows.append([f.label(lang), f.describe(lang), unit_label(f.unit, lang),
                     na if flag else fmt_value(x.median(), kind), fmt_value(x.mean(), kind),
                     na if flag else fmt_value(x.max(), kind)])
    cols = ["feature", "definition", "unit", "median", "mean", "max"]
    out = pd.DataFrame(rows, columns=cols)
    styled = table(out, "text", labels={c: t(f"tbl_{c}", lang) for c in cols})
    return styled.set_properties(subset=[3, 4, 5], **{"text-align": "right"})


def metric_kinds(metric_ids: Any) -> dict[str, str]:
    """The :func:`commlab.fmt.fmt_value` kind of each registered metric id (its unit); others are left out.

    Examples
    --------
    >>> import commlab as cl
    >>> cl.nb.metric_kinds(["members", "active_share_30d", "not_a_metric"])
    {'members': 'count', 'active_share_30d': 'share'}
    """
    from commlab.analysis.metrics import get_metric

    out = {}
    for m in metric_ids:
        try:
            out[m] = kind_of_unit(get_metric(m).unit)
        except KeyError:
            continue
    return out


def metrics_by_row(wide: pd.DataFrame, lang: str = "en", *, names: Mapping[Any, str] | None = None) -> Styler:
    """Communities × metric ids shown with one row per metric: its name, then a column per community.

    Each value is formatted by its metric's unit (``65%``, ``1,131``, ``0.28``); suppressed cells
    (``<5``, ``—``) are kept as they are.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> wide = pd.DataFrame({"members": [1131, 80], "active_share_30d": [0.65, 0.4]}, index=["c1", "c2"])
    >>> html = cl.nb.metrics_by_row(wide, "en", names={"c1": "甲群"}).to_html()
    >>> "65%" in html and "1,131" in html and "甲群" in html
    True
    """
    from commlab.analysis.metrics import metric_names

    kinds = metric_kinds(wide.columns)
    label = metric_names(lang)
    rows = [[label.get(m, m)] + [fmt_value(v, kinds.get(m, "number")) for v in wide[m]] for m in wide.columns]
    cols = ["__metric__"] + [str((names or {}).get(c, c)) for c in wide.index]
    out = pd.DataFrame(rows, columns=range(len(cols)))
    styled = table(out, "text", labels={0: t("tbl_metric", lang), **{i: c for i, c in enumerate(cols) if i}})
    return styled.set_properties(subset=list(range(1, len(cols))), **{"text-align": "right"})
