"""Comparing community types: tidy tables with n, medians, bootstrap intervals and tests.

Any axis of the communities table works (``theme``, ``business_model``, ``lifecycle``,
``platform``, ``monetization``, ``economy`` as declared, or ``economy_measured`` from the
economy index; for the Stack Exchange data also ``status``). There is no league table:
every figure comes with its group size, and tests say when the groups are too small.

Tests
-----
- :func:`test_differences`: Kruskal–Wallis across the groups of an axis (scipy), effect size
  epsilon² = H / (n − 1).
- :func:`one_vs_rest`: Mann–Whitney U of one group against all others (exact for small n),
  effect size rank-biserial r = 2U / (n₁ n₂) − 1 (positive = the group is higher).
With 8–12 communities these tests have little power: a group of one can never reach
p < 0.05 with a two-sided rank test of 11 communities (smallest p = 2/11); the tables say so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import stats

from commlab.analysis.economy import classify_economy
from commlab.analysis.metrics import get_metric, list_metrics, wide
from commlab.data.schema import Col
from commlab.errors import InvalidArgument, NotFound

__all__ = [
    "MIN_GROUP_N",
    "RANK_DIGITS",
    "with_axes",
    "group_label",
    "compare_groups",
    "MIXED",
    "by_type",
    "test_differences",
    "one_vs_rest",
    "rank_biserial",
    "holm",
    "min_p_value",
    "type_fingerprint",
    "normalise",
]

#: Groups smaller than this are flagged ("n too small") in test tables.
MIN_GROUP_N = 2


def with_axes(metrics: pd.DataFrame, communities: pd.DataFrame, *, period: str | None = "last") -> pd.DataFrame:
    """Communities × metrics (one period) joined to the type columns of ``communities``.

    Adds ``economy_measured`` (``fan``/``mixed``/``community``) when ``economy_index`` is present.
    """
    w = wide(metrics, period=period).reset_index()
    axes = [c for c in communities.columns if c not in ("name", "created_at")]
    c = communities[axes].copy()
    c[Col.community_id] = c[Col.community_id].astype("string")
    w[Col.community_id] = w[Col.community_id].astype("string")
    out = c.merge(w, on=Col.community_id, how="right")
    if "economy_index" in out.columns:
        out["economy_measured"] = [classify_economy(v) for v in out["economy_index"]]
    return out


def group_label(axis: str, code: object, lang: str = "en") -> str:
    """Display label of an axis value: the vocabulary label when the axis is a vocabulary, else the code."""
    from commlab.data.schema import VOCABULARIES

    if axis in VOCABULARIES:
        return VOCABULARIES[axis].label(str(code), lang)
    if axis == "economy_measured":
        return VOCABULARIES["economy"].label(str(code), lang) if code != "mixed" else (
            "混合" if lang == "zh" else "mixed")
    return str(code)


#: How a community of several types (``theme = brand;interest``) is counted: ``"primary"`` in its
#: first type only (every community once: the tests' groups stay independent), ``"each"`` in each of
#: its types (a mixed community adds to several groups; medians and intervals only).
MIXED: tuple[str, ...] = ("primary", "each")


def by_type(table: pd.DataFrame, axis: str, mixed: str = "primary") -> pd.DataFrame:
    """``table`` with ``axis`` holding the type each row is counted in.

    Parameters
    ----------
    table : DataFrame
        One row per community (:func:`with_axes`); ``<axis>_all`` holds all of a mixed
        community's types, primary first, joined by ``;`` (the data model adds it on load).
    axis : str
    mixed : {"primary", "each"}
        See :data:`MIXED`. With ``"each"``, a community of two types is two rows.

    Examples
    --------
    >>> t = pd.DataFrame({"community_id": ["a", "b"], "theme": ["brand", "interest"],
    ...                   "theme_all": ["brand;interest", "interest"], "x": [1.0, 2.0]})
    >>> by_type(t, "theme", "each")[["community_id", "theme"]].to_numpy().tolist()
    [['a', 'brand'], ['a', 'interest'], ['b', 'interest']]
    """
    if mixed not in MIXED:
        raise InvalidArgument(f"mixed must be one of {MIXED}, got {mixed!r}")
    every = f"{axis}_all"
    if mixed == "primary" or every not in table.columns:
        return table
    out = table.copy()
    out[axis] = [str(v).split(";") if isinstance(v, str) and v else [p]
                 for v, p in zip(out[every], out[axis], strict=True)]
    return out.explode(axis, ignore_index=True)


def _metric_ids(table: pd.DataFrame, metrics: Iterable[str] | None) -> list[str]:
    if metrics is not None:
        return list(metrics)
    return [m.id for m in list_metrics() if m.id in table.columns]


def compare_groups(
    table: pd.DataFrame,
    axis: str,
    *,
    metrics: Iterable[str] | None = None,
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: int = 0,
    mixed: str = "primary",
) -> pd.DataFrame:
    """Median per axis value and metric with a seeded percentile bootstrap interval.

    Parameters
    ----------
    table : DataFrame
        One row per community (:func:`with_axes`).
    axis : str
        Column to group by.
    metrics : iterable of str, optional
        Metric columns (default: every registered metric present).
    n_boot : int
        Bootstrap resamples of the communities within each group.
    ci : float
        Interval coverage.
    seed : int
        Seed of the bootstrap (results are reproducible).
    mixed : {"primary", "each"}, default "primary"
        How a community of several types is counted (:data:`MIXED`, :func:`by_type`); the result's
        ``mixed`` column says which, for the report to state.

    Returns
    -------
    DataFrame
        ``axis, group, metric_id, n, median, ci_low, ci_high, mixed`` (interval missing for n < 2).

    Raises
    ------
    KeyError
        If ``axis`` is not a column of ``table``.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> table = pd.DataFrame({"community_id": list("abcdef"), "theme": list("xxxyyy"),
    ...                       "members": [10.0, 12, 14, 30, 32, 35]})
    >>> cl.compare_groups(table, "theme", metrics=["members"], n_boot=200, seed=0)[["group", "n", "median"]]
      group  n  median
    0     x  3    12.0
    1     y  3    32.0
    """
    if axis not in table.columns:
        raise NotFound(axis, table.columns, kind="axis")
    table = by_type(table, axis, mixed)
    rng = np.random.default_rng(seed)
    lo_q, hi_q = (1 - ci) / 2, 1 - (1 - ci) / 2
    rows = []
    for m in _metric_ids(table, metrics):
        for g, sub in table.groupby(axis, dropna=True, sort=True):
            x = sub[m].astype(float).dropna().to_numpy()
            n = len(x)
            med = float(np.median(x)) if n else math.nan
            lo = hi = math.nan
            if n >= 2:
                boots = np.median(rng.choice(x, size=(n_boot, n), replace=True), axis=1)
                lo, hi = float(np.quantile(boots, lo_q)), float(np.quantile(boots, hi_q))
            rows.append({"axis": axis, "group": str(g), "metric_id": m, "n": n, "median": med,
                         "ci_low": lo, "ci_high": hi, "mixed": mixed})
    return pd.DataFrame(rows, columns=["axis", "group", "metric_id", "n", "median", "ci_low", "ci_high", "mixed"])


#: Significant digits the values keep before they are ranked (:func:`test_differences`).
RANK_DIGITS = 12


def _significant(x: np.ndarray, digits: int = RANK_DIGITS) -> np.ndarray:
    """``x`` rounded to ``digits`` significant digits, so that values equal but for their last bits tie.

    The same value computed twice may differ in the 16th digit (the order in which a sum's terms were
    added: DuckDB's threads, Spark's partitions); a rank test would break such a tie one way or the other and
    the statistic would move in the third digit (three communities with one event rhythm at 5 M events).
    """
    return np.array([float(f"{v:.{digits}g}") for v in x], dtype=float)


def test_differences(table: pd.DataFrame, axis: str, *, metrics: Iterable[str] | None = None) -> pd.DataFrame:
    """Kruskal–Wallis test per metric across the groups of ``axis``, with epsilon².

    Values are ranked at :data:`RANK_DIGITS` significant digits: equal values tie whatever order their
    sums were added in (the engines agree).

    Returns
    -------
    DataFrame
        ``axis, metric_id, n_groups, n, min_group_n, statistic, p_value, epsilon_sq, note, p_holm``
        (``p_holm``: Holm-adjusted over the metrics of this call).
        ``note`` is ``"n too small"`` when fewer than two groups have values or a group has fewer
        than :data:`MIN_GROUP_N` communities, ``"no variation"`` when all values are equal.
    """
    rows = []
    for m in _metric_ids(table, metrics):
        groups = [_significant(sub[m].astype(float).dropna().to_numpy())
                  for _, sub in table.groupby(axis, dropna=True)]
        groups = [g for g in groups if len(g)]
        n = int(sum(len(g) for g in groups))
        row = {"axis": axis, "metric_id": m, "n_groups": len(groups), "n": n,
               "min_group_n": min((len(g) for g in groups), default=0), "statistic": math.nan,
               "p_value": math.nan, "epsilon_sq": math.nan, "note": ""}
        if len(groups) < 2:
            row["note"] = "n too small"
        elif np.unique(np.concatenate(groups)).size < 2:
            row["note"] = "no variation"
        else:
            h, p = stats.kruskal(*groups)
            row.update(statistic=float(h), p_value=float(p), epsilon_sq=float(h / (n - 1)))
            if row["min_group_n"] < MIN_GROUP_N:
                row["note"] = "n too small"
        rows.append(row)
    out = pd.DataFrame(rows)
    if len(out):
        out["p_holm"] = holm(out["p_value"].to_numpy(dtype=float))
    return out


def holm(p: np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (NaN stays NaN): many metrics tested at once inflate false hits."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = len(q)
    if m == 0:
        return out
    order = np.argsort(q)
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * q[order]))
    res = np.empty(m)
    res[order] = adj
    out[ok] = res
    return out


def rank_biserial(u: float, n1: int, n2: int) -> float:
    """Rank-biserial correlation from the Mann–Whitney U of the first group: ``2U/(n1 n2) − 1``."""
    return 2.0 * u / (n1 * n2) - 1.0


def _mwu(x: np.ndarray, y: np.ndarray, alternative: str) -> tuple[float, float, float]:
    method = "exact" if len(x) + len(y) <= 40 and not _ties(x, y) else "asymptotic"
    res = stats.mannwhitneyu(x, y, alternative=alternative, method=method)
    return float(res.statistic), float(res.pvalue), rank_biserial(float(res.statistic), len(x), len(y))


def _ties(x: np.ndarray, y: np.ndarray) -> bool:
    z = np.concatenate([x, y])
    return np.unique(z).size < z.size


def one_vs_rest(table: pd.DataFrame, axis: str, *, metrics: Iterable[str] | None = None) -> pd.DataFrame:
    """Each group of ``axis`` against all other communities (two-sided Mann–Whitney U).

    Returns
    -------
    DataFrame
        ``axis, group, metric_id, n_group, n_rest, median_group, median_rest, u, p_value,
        rank_biserial, min_p, note``; ``min_p`` is the smallest p-value the test could give with these
        group sizes (no ties), so a ``min_p`` above 0.05 means the design cannot show a difference.
    """
    rows = []
    for m in _metric_ids(table, metrics):
        t = table[[axis, m]].dropna()
        for g in sorted(t[axis].astype(str).unique()):
            inside = t[axis].astype(str) == g
            x, y = t.loc[inside, m].astype(float).to_numpy(), t.loc[~inside, m].astype(float).to_numpy()
            row = {"axis": axis, "group": g, "metric_id": m, "n_group": len(x), "n_rest": len(y),
                   "median_group": float(np.median(x)) if len(x) else math.nan,
                   "median_rest": float(np.median(y)) if len(y) else math.nan,
                   "u": math.nan, "p_value": math.nan, "rank_biserial": math.nan,
                   "min_p": min_p_value(len(x), len(y)), "note": ""}
            if len(x) and len(y) and np.unique(np.concatenate([x, y])).size > 1:
                row["u"], row["p_value"], row["rank_biserial"] = _mwu(x, y, "two-sided")
            if row["min_p"] > 0.05:
                row["note"] = "n too small"
            rows.append(row)
    return pd.DataFrame(rows)


def min_p_value(n1: int, n2: int, *, two_sided: bool = True) -> float:
    """Smallest p-value of an exact rank test with group sizes ``n1`` and ``n2`` (no ties)."""
    if n1 == 0 or n2 == 0:
        return math.nan
    p = 1.0 / math.comb(n1 + n2, n1)
    return min(1.0, 2 * p if two_sided else p)


def normalise(table: pd.DataFrame, metrics: Iterable[str] | None = None) -> pd.DataFrame:
    """Min–max scale each metric over the rows to [0, 1], flipped when lower is better.

    Metrics without a direction keep their orientation. Constant columns become 0.5.
    """
    ids = _metric_ids(table, metrics)
    out = pd.DataFrame(index=table.index)
    for m in ids:
        x = table[m].astype(float)
        lo, hi = x.min(), x.max()
        s = (x - lo) / (hi - lo) if hi > lo else x * 0 + 0.5
        if get_metric(m).direction is False:
            s = 1 - s
        out[m] = s
    return out


def type_fingerprint(table: pd.DataFrame, axis: str, *, metrics: Iterable[str] | None = None) -> pd.DataFrame:
    """Per axis value, the median of the normalised (direction-aware) metrics, plus ``n``.

    Returns
    -------
    DataFrame
        Indexed by group, one column per metric (0 = worst community, 1 = best) and ``n``.
    """
    ids = _metric_ids(table, metrics)
    norm = normalise(table, ids)
    norm[axis] = table[axis].astype("string")
    fp = norm.groupby(axis).median(numeric_only=True)
    fp["n"] = norm.groupby(axis).size()
    return fp


test_differences.__test__ = False  # a statistics function, not a pytest test
