"""What the type-comparison notebook shows: its tables and hypothesis results, in one language.

The statistics come from :mod:`commlab.analysis.compare` and :mod:`commlab.analysis.hypotheses`
with ids and English notes; here they become tables with metric names, type labels, numbers
formatted by :mod:`commlab.fmt` and notes from the zh/en catalogue. :func:`compare_types` puts the
steps of notebook 04 together: the comparison table (small groups left out), then one ``show_*``
method per section of :class:`TypeComparison`, and its ``summary()`` for ``summary.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from commlab.analysis.compare import (
    compare_groups,
    group_label,
    one_vs_rest,
    test_differences,
    type_fingerprint,
    with_axes,
)
from commlab.analysis.hypotheses import HYPOTHESES, test_hypotheses
from commlab.analysis.metrics import metric_names, wide
from commlab.analysis.overview import community_table
from commlab.data.dataset import Dataset
from commlab.data.schema import Col
from commlab.display import escape_md, metric_kinds, table
from commlab.fmt import fmt_value
from commlab.i18n import t
from commlab.nb import heading_line
from commlab.privacy import check_k, small_groups, suppress_metrics, suppression_note
from commlab.sources import attribution

__all__ = ["section", "type_counts_line", "mixed_note", "group_medians_table", "differences_table",
           "one_vs_rest_table", "hypothesis_markdown", "test_name", "TypeComparison", "compare_types"]

_NOTES = {"n too small": "note_n_too_small", "no variation": "note_no_variation"}


def _note(note: object, lang: str) -> str:
    key = _NOTES.get(str(note or ""))
    return t(key, lang) if key else ("" if not note else str(note))


def section(key: str, lang: str = "en", *, level: int = 3) -> str:
    """A section heading and its introduction from the catalogue (``sec_<key>``, ``sec_<key>_intro``), as Markdown.

    For sections a notebook shows only when it has something to show: ``level`` 3 sits under the
    notebook's title in a report, as the notebook's own ``##`` headings do once the report demotes them.
    """
    return f"{'#' * level} {t(f'sec_{key}', lang)}\n\n{t(f'sec_{key}_intro', lang)}"


def type_counts_line(table_: pd.DataFrame, axis: str, lang: str = "en") -> str:
    """``**主题类型：** 兴趣型 4 个，行业型 2 个`` (Markdown; labels escaped)."""
    counts = table_[axis].value_counts()
    sep = "，" if lang == "zh" else ", "
    groups = sep.join(t("type_count", lang).format(group=escape_md(group_label(axis, g, lang)), n=int(n))
                      for g, n in counts.items())
    return t("type_counts", lang).format(axis=t(axis, lang), groups=groups)


def mixed_note(table_: pd.DataFrame, axis: str, mixed: str, lang: str = "en") -> str:
    """How the communities of several types on ``axis`` are counted (empty when none is mixed).

    ``mixed`` is the choice passed to :func:`~commlab.analysis.compare.compare_groups` (``"primary"``
    or ``"each"``); the sentence names the mixed communities' count and says which groups they enter.

    Examples
    --------
    >>> t_ = pd.DataFrame({"theme": ["brand", "interest"], "theme_all": ["brand;interest", "interest"]})
    >>> print(mixed_note(t_, "theme", "each", "en"))
    Communities of several types (theme): 1, each counted in the group of every type it has (medians and
    intervals; the tests use the primary type).
    >>> mixed_note(t_, "theme", "primary", "zh")
    '有多个类型的社群（主题类型）：1 个，按主类型计入一组。'
    >>> mixed_note(t_.iloc[1:], "theme", "each", "en")
    ''
    """
    every = f"{axis}_all"
    if every not in table_.columns:
        return ""
    n = int(table_[every].astype("string").str.contains(";", regex=False).fillna(False).sum())
    if not n:
        return ""
    key = "mixed_each" if mixed == "each" else "mixed_primary"
    return t(key, lang).format(n=n, axis=t(axis, lang))


def group_medians_table(groups: pd.DataFrame, axis: str, lang: str = "en") -> Styler:
    """One row per metric, one column per group: median (95 % interval), n (from :func:`compare_groups`)."""
    kinds = metric_kinds(groups["metric_id"].unique())

    def cell(r: pd.Series) -> str:
        kind = kinds.get(r["metric_id"], "number")
        if r["n"] == 0:
            return "–"
        if r["n"] == 1:
            return t("ci_cell_one", lang).format(median=fmt_value(r["median"], kind))
        return t("ci_cell", lang).format(median=fmt_value(r["median"], kind), low=fmt_value(r["ci_low"], kind),
                                         high=fmt_value(r["ci_high"], kind), n=int(r["n"]))

    cells = groups.assign(cell=groups.apply(cell, axis=1))
    order = list(dict.fromkeys(groups["metric_id"]))
    wide = cells.pivot(index="metric_id", columns="group", values="cell").reindex(order)
    names = metric_names(lang)
    wide.index = [names.get(m, m) for m in wide.index]
    return table(wide.fillna("–"), "text", labels={g: group_label(axis, g, lang) for g in wide.columns},
                 index_label=t("tbl_metric", lang))


def differences_table(differences: pd.DataFrame, lang: str = "en") -> Styler:
    """Kruskal–Wallis per metric (:func:`commlab.analysis.compare.test_differences`), ids and notes translated."""
    names = metric_names(lang)
    out = pd.DataFrame({
        "metric": [names.get(m, m) for m in differences["metric_id"]],
        "n_groups": differences["n_groups"], "n": differences["n"], "p_value": differences["p_value"],
        "p_holm": differences.get("p_holm", pd.Series(float("nan"), index=differences.index)),
        "epsilon_sq": differences["epsilon_sq"], "note": [_note(n, lang) for n in differences["note"]],
    })
    return table(out, {"n_groups": "count", "n": "count", "p_value": "p", "p_holm": "p", "epsilon_sq": "number",
                       "metric": "text", "note": "text"},
                 labels={"metric": t("tbl_metric", lang), "n_groups": t("col_test_groups", lang),
                         "n": t("col_n", lang), "p_value": t("col_p", lang), "p_holm": t("col_p_holm", lang),
                         "epsilon_sq": t("col_epsilon", lang), "note": t("col_note", lang)})


def one_vs_rest_table(rows: pd.DataFrame, axis: str, lang: str = "en") -> Styler:
    """Each group against the rest (:func:`commlab.analysis.compare.one_vs_rest`), medians by the metric's unit."""
    names = metric_names(lang)
    kinds = metric_kinds(rows["metric_id"].unique())
    out = pd.DataFrame({
        "group": [group_label(axis, g, lang) for g in rows["group"]],
        "metric": [names.get(m, m) for m in rows["metric_id"]],
        "n_group": rows["n_group"], "n_rest": rows["n_rest"],
        "median_group": [fmt_value(v, kinds.get(m, "number")) for v, m in zip(rows["median_group"], rows["metric_id"],
                                                                                strict=True)],
        "median_rest": [fmt_value(v, kinds.get(m, "number")) for v, m in zip(rows["median_rest"], rows["metric_id"],
                                                                              strict=True)],
        "p_value": rows["p_value"], "rank_biserial": rows["rank_biserial"],
    })
    return table(out, {"group": "text", "metric": "text", "n_group": "count", "n_rest": "count",
                       "median_group": "text", "median_rest": "text", "p_value": "p", "rank_biserial": "number"},
                 labels={"group": t("col_group", lang), "metric": t("tbl_metric", lang),
                         "n_group": t("col_n", lang), "n_rest": t("col_n_rest", lang),
                         "median_group": t("col_median_group", lang), "median_rest": t("col_median_rest", lang),
                         "p_value": t("col_p", lang), "rank_biserial": t("col_rank_biserial", lang)})


def test_name(test: str, lang: str = "en") -> str:
    """The test a hypothesis used (the English description :mod:`commlab.analysis.hypotheses` records), in ``lang``."""
    if not test:
        return "–"
    if test.startswith("Kruskal"):
        return t("test_kruskal", lang)
    if test.startswith("permutation Mann-Whitney U"):
        strata = test.partition(" stratified by ")[2]
        return t("test_mwu_strata", lang).format(strata=t(strata, lang)) if strata else t("test_mwu", lang)
    if test.startswith("sign-flip") or "signed-rank" in test:
        return t("test_signed", lang)
    if test.startswith("Fisher"):
        return t("test_fisher", lang)
    if test.startswith("per community"):
        return t("test_daily", lang)
    return test


def hypothesis_markdown(statement: str, row: pd.Series | object, sentence: str, lang: str = "en") -> str:
    """A hypothesis as the report shows it: the claim, what was compared and how, and the result.

    ``row`` is a row of :func:`commlab.analysis.hypotheses.test_hypotheses` (``metric_id``, ``axis``,
    ``groups``, ``versus``, ``test``).
    """
    get = row.get if isinstance(row, pd.Series) else lambda k, d=None: getattr(row, k, d)
    axis = str(get("axis") or "")
    sep = "、" if lang == "zh" else ", "

    def labels(codes: object) -> str:
        if not codes:
            return "–"
        return sep.join(group_label(axis, c.strip(), lang) for c in str(codes).split(","))

    metric = metric_names(lang).get(str(get("metric_id")), str(get("metric_id")))
    test = test_name(str(get("test") or ""), lang)
    versus = get("versus")
    if get("groups"):
        line = t("hyp_line", lang).format(
            metric=metric, groups=labels(get("groups")),
            versus=t("hyp_rest", lang) if versus in (None, "", "rest") else labels(versus), test=test)
    elif str(get("test") or "").startswith("Kruskal"):
        line = t("hyp_line_axis", lang).format(metric=metric, axis=t(axis, lang), test=test)
    else:
        line = t("hyp_line_short", lang).format(metric=metric, test=test)
    return f"**{escape_md(statement)}**\n\n{escape_md(line)}\n\n→ {escape_md(sentence)}"



def _show(*objects: Any) -> None:
    from IPython.display import display

    display(*objects)


def _markdown(text: str) -> None:
    from IPython.display import Markdown

    _show(Markdown(text))


class TypeComparison:
    """Health metrics compared across the types of one axis, as notebook 04 shows it; see :func:`compare_types`.

    Each ``show_*`` method displays one section in :attr:`lang` (nothing when the communities cannot be
    compared); the statistics are computed on first use and kept.

    Attributes
    ----------
    data : Dataset
        The communities analysed.
    metrics : DataFrame
        Their tidy metric table over one period (computed on first use unless given).
    full : DataFrame
        Communities × metrics joined to their type columns (:func:`commlab.analysis.compare.with_axes`).
    table : DataFrame
        ``full`` with every group of fewer than ``k`` members missing and the communities without a value
        on the axis left out: what the comparison and ``summary.json`` use.
    kept : DataFrame
        The rows of ``table`` whose community is compared (not suppressed as a whole).
    hidden : int
        Groups (communities and cells) suppressed.
    comparable : bool
        At least two communities of at least two types are left.
    """

    def __init__(self, data: Dataset, metrics: pd.DataFrame | None = None, *, axis: str, k: int, as_of: Any,
                 lang: str = "en", mixed: str = "primary", seed: int = 0, source: str = "canonical",
                 engine: str = "duckdb", engine_options: Mapping[str, Any] | None = None) -> None:
        self.data = data
        self.axis = axis
        self.k = check_k(k)
        self.as_of = as_of
        self.lang = lang
        self.mixed = mixed
        self.seed = seed
        self.source = source
        self.engine = engine
        self.engine_options = dict(engine_options or {})
        if metrics is not None:
            self.metrics = metrics

    @cached_property
    def metrics(self) -> pd.DataFrame:
        """The tidy metric table over one period up to :attr:`as_of`, computed on first use with :attr:`engine`."""
        from commlab.engines import get_engine

        return get_engine(self.engine, **self.engine_options).compute_metrics(self.data, as_of=self.as_of,
                                                                               window=None)

    @cached_property
    def full(self) -> pd.DataFrame:
        """Communities × metrics joined to their type columns."""
        return with_axes(self.metrics, self.data.communities)

    @cached_property
    def _suppressed(self) -> tuple[pd.DataFrame, int]:
        # small groups never reach a comparison: small communities, and values computed over fewer than k members
        table_, hidden = suppress_metrics(self.full, self.k, n=wide(self.metrics, values="n"), numeric=True)
        return (table_.dropna(subset=[self.axis]) if self.axis in table_.columns else table_), hidden

    @property
    def table(self) -> pd.DataFrame:
        """:attr:`full` with small groups missing and the communities without a type on the axis left out."""
        return self._suppressed[0]

    @property
    def hidden(self) -> int:
        """Groups (communities and cells) suppressed."""
        return self._suppressed[1]

    @property
    def kept(self) -> pd.DataFrame:
        """The rows of :attr:`table` whose community is compared (not suppressed as a whole)."""
        return self.table[self.table["members"].notna()] if "members" in self.table.columns else self.table

    @property
    def comparable(self) -> bool:
        """At least two communities of at least two types are compared."""
        kept = self.kept
        return len(kept) > 1 and kept[self.axis].nunique() > 1

    def __repr__(self) -> str:
        return (f"TypeComparison({self.axis!r}: {len(self.kept)} communities compared, "
                f"{'comparable' if self.comparable else 'not comparable'}, k={self.k})")

    @cached_property
    def groups(self) -> pd.DataFrame:
        """Median and bootstrap interval per group and metric (:func:`commlab.analysis.compare.compare_groups`).

        Empty (the columns only) when the communities are not comparable.
        """
        return compare_groups(self.table if self.comparable else self.table.iloc[:0], self.axis, seed=self.seed,
                              mixed=self.mixed)

    @cached_property
    def differences(self) -> pd.DataFrame | None:
        """Kruskal–Wallis per metric, smallest p first (:func:`commlab.analysis.compare.test_differences`)."""
        return test_differences(self.table, self.axis).sort_values("p_value") if self.comparable else None

    @cached_property
    def hypotheses(self) -> pd.DataFrame | None:
        """Each behavioural hypothesis tested (:func:`commlab.analysis.hypotheses.test_hypotheses`)."""
        if not self.comparable:
            return None
        return test_hypotheses(self.table, data=self.data, as_of=self.as_of, seed=self.seed)

    def show_header(self) -> None:
        """The as-of and data line, then the data's attribution."""
        _markdown(heading_line(self.as_of, self.data, self.lang))
        _markdown(escape_md(attribution(self.data, self.lang)))

    def show_communities(self) -> None:
        """The communities with their types, how many of each type are compared, and what was left out."""
        lang = self.lang
        _show(table(community_table(self.data, lang)))
        _markdown(type_counts_line(self.kept, self.axis, lang))
        _markdown(suppression_note(self.hidden, self.k, lang, left_out=True))
        if len(self.kept) < 2:
            _markdown(t("single_community_types", lang))
        elif not self.comparable:
            group = escape_md(group_label(self.axis, self.kept[self.axis].iloc[0], lang))
            _markdown(t("single_type", lang).format(axis=t(self.axis, lang), group=group))

    def show_fingerprint(self) -> None:
        """Each type's median of the normalised metrics, as a figure."""
        if not self.comparable:
            return
        from commlab.plots.health import plot_fingerprint
        from commlab.plots.show import show

        _markdown(section("fingerprint", self.lang))
        fingerprint = type_fingerprint(self.table, self.axis)
        show(plot_fingerprint(fingerprint.rename(index=lambda g: group_label(self.axis, g, self.lang)),
                              lang=self.lang))

    def show_groups(self) -> None:
        """How communities of several types are counted, then the median (interval) per group and metric."""
        groups = self.groups
        if not self.comparable:
            return
        _markdown(section("groups", self.lang))
        _markdown(mixed_note(self.table, self.axis, self.mixed, self.lang))
        _show(group_medians_table(groups, self.axis, self.lang))

    def show_tests(self) -> None:
        """The rank tests across the groups, then each group against the rest where p < 0.05."""
        differences = self.differences
        if not self.comparable:
            return
        _markdown(section("tests", self.lang, level=4))
        _show(differences_table(differences, self.lang))
        significant = one_vs_rest(self.table, self.axis).query("p_value < 0.05")
        if len(significant):
            _show(one_vs_rest_table(significant, self.axis, self.lang))
        else:
            _markdown(t("no_differences", self.lang))

    def show_hypotheses(self) -> None:
        """Each behavioural hypothesis: the claim, what was compared and how, and the result."""
        hypotheses = self.hypotheses
        if not self.comparable:
            return
        zh = self.lang == "zh"
        _markdown(section("hypotheses", self.lang))
        for h, row in zip(HYPOTHESES, hypotheses.itertuples(), strict=False):
            _markdown(hypothesis_markdown(h.statement_zh if zh else h.statement_en, row,
                                          row.sentence_zh if zh else row.sentence_en, self.lang))

    def summary(self) -> dict[str, Any]:
        """The step's ``summary.json``: settings, the suppressed table, the groups, tests and hypotheses."""
        return {
            "as_of": self.as_of,
            "source": self.source,
            "attribution": attribution(self.data, "en"),
            "type_axis": self.axis,
            "mixed": self.mixed,
            "k_min_group": self.k,
            "suppressed_communities": small_groups(self.full.set_index(Col.community_id)["members"], self.k),
            "comparable": self.comparable,
            "metric_table": self.table,
            "groups": self.groups,
            "differences": self.differences,
            "hypotheses": self.hypotheses,
        }


def compare_types(data: Dataset, metrics: pd.DataFrame | None = None, *, axis: str, k: int, as_of: Any,
                  lang: str = "en", mixed: str = "primary", seed: int = 0, source: str = "canonical",
                  engine: str = "duckdb", engine_options: Mapping[str, Any] | None = None) -> TypeComparison:
    """Compare the communities' health metrics across the types of one axis, small groups left out.

    Communities with fewer than ``k`` members, and values computed over fewer than ``k`` members, never reach
    the comparison; communities without a value on ``axis`` are left out too.

    Parameters
    ----------
    data : Dataset
        The communities (:func:`commlab.load_source` or :func:`commlab.load_dataset`).
    metrics : DataFrame, optional
        Their metrics over one period (:func:`commlab.compute_metrics` with ``window=None``). Default:
        computed on first use with ``engine``.
    axis : str
        The type axis: a column of the communities table (``theme``, ``business_model``, ``lifecycle``,
        ``platform``, ``economy``, ...) or ``economy_measured``.
    k : int
        Smallest group compared.
    as_of : str or Timestamp
        The analysis instant (the hypotheses read the events up to it).
    lang : {"en", "zh"}
        Language of what is shown.
    mixed : {"primary", "each"}
        How a community of several types is counted (:func:`commlab.compare_groups`).
    seed : int
        Seed of the bootstrap and permutation draws.
    source : str
        Layout of the data, recorded in ``summary.json``.
    engine : str
        Engine that computes the metrics (:func:`commlab.get_engine`).
    engine_options : dict, optional
        The engine's settings.

    Returns
    -------
    TypeComparison
        One ``show_*`` method per section, the statistics as attributes, and ``summary()``.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c01", "c02", "c03", "c12"])
    >>> metrics = cl.compute_metrics(ds, as_of="2024-06-30T16:00:00Z", window=None,
    ...                              metrics=["members", "response_rate"])
    >>> types = cl.compare_types(ds, metrics, axis="theme", k=5, as_of="2024-06-30T16:00:00Z")
    >>> types
    TypeComparison('theme': 4 communities compared, comparable, k=5)
    >>> types.groups[["group", "metric_id", "n", "median"]].round(2)
          group      metric_id  n   median
    0     brand        members  2  1422.00
    1  interest        members  2   695.00
    2     brand  response_rate  2     0.94
    3  interest  response_rate  2     0.93
    >>> types.differences["p_value"].round(3).tolist()  # Kruskal-Wallis: 2 against 2 shows nothing
    [0.439, 0.439]
    """
    return TypeComparison(data, metrics, axis=axis, k=k, as_of=as_of, lang=lang, mixed=mixed, seed=seed,
                          source=source, engine=engine, engine_options=engine_options)
