"""What the type-comparison notebook shows: its tables and hypothesis results, in one language.

The statistics come from :mod:`commlab.analysis.compare` and :mod:`commlab.analysis.hypotheses`
with ids and English notes; here they become tables with metric names, type labels, numbers
formatted by :mod:`commlab.fmt` and notes from the zh/en catalogue.
"""

from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler

from commlab.analysis.compare import group_label
from commlab.analysis.metrics import metric_names
from commlab.display import escape_md, metric_kinds, table
from commlab.fmt import fmt_value
from commlab.i18n import t

__all__ = ["section", "type_counts_line", "mixed_note", "group_medians_table", "differences_table",
           "one_vs_rest_table", "hypothesis_markdown", "test_name"]

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

