"""Small-group suppression: what a report table hides so no group of fewer than k members shows.

The threshold ``k`` has a floor (:data:`MIN_K`) no setting can go below (:func:`check_k`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from commlab.data.schema import Col

__all__ = [
    "DEFAULT_K", "MIN_K", "check_k", "SUPPRESSED", "MEMBER_SHARE_METRICS", "MEMBER_COUNT_METRICS",
    "small_group_mask", "small_groups", "without_small_groups", "suppress_table", "suppress_small_groups",
    "suppress_metrics", "suppress_count", "format_count", "suppression_note",
]

#: Groups smaller than this are suppressed in reports.
DEFAULT_K = 5
#: The floor of k: no setting (playbook, ``-p k_min_group``, an argument) may go below it.
MIN_K = 2

#: How a suppressed value is shown in a report table (a suppressed count shows ``<k``).
SUPPRESSED = "—"

_NOTE = {
    "zh": "少于 {k} 人的分组不显示：{n} 处（人数记作 <{k}，由其算出的数值记作 {dash}）。",
    "en": "{n} group(s) with fewer than {k} members suppressed (counts shown as <{k}, values computed from them "
          "as {dash}).",
    "zh_out": "少于 {k} 人的分组不参与比较：{n} 处。",
    "en_out": "{n} group(s) with fewer than {k} members left out of the comparison.",
}


def check_k(k: Any) -> int:
    """``k`` as an int if it is a valid small-group threshold.

    Raises
    ------
    ParameterError
        If ``k`` is not an integer or is below :data:`MIN_K` (a group of one member would be
        shown: suppression cannot be switched off).
    """
    from commlab.errors import ParameterError

    if isinstance(k, bool) or not isinstance(k, int | float) or k != int(k):
        raise ParameterError(f"k (the smallest group shown) must be an integer of at least {MIN_K}; given {k!r}")
    if k < MIN_K:
        raise ParameterError(f"k (the smallest group shown) must be at least {MIN_K}: small-group suppression "
                             f"cannot be switched off; given {k!r}")
    return int(k)


def small_group_mask(counts: pd.Series | pd.DataFrame, k: int = DEFAULT_K) -> pd.Series | pd.DataFrame:
    """True where a group has members but fewer than ``k`` (``0 < n < k``); missing counts are False.

    The bare mask (``k <= 1`` masks nothing, as a figure drawn for exploration asks); the helpers
    that suppress what a report shows (:func:`suppress_table` and those built on it,
    :func:`small_groups`, :func:`without_small_groups`, :func:`suppress_count`,
    :func:`format_count`, :func:`suppression_note`) refuse ``k`` below :data:`MIN_K`
    (:func:`check_k`).
    """
    n = counts.apply(pd.to_numeric, errors="coerce") if isinstance(counts, pd.DataFrame) else \
        pd.to_numeric(counts, errors="coerce")
    return ((n > 0) & (n < k)).fillna(False).astype(bool)


def small_groups(sizes: pd.Series, k: int = DEFAULT_K) -> list[Any]:
    """The labels (index values) of ``sizes`` whose group has fewer than ``k`` members (but some).

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> cl.nb.small_groups(pd.Series({"c1": 3, "c2": 40, "c3": 0}), 5)
    ['c1']
    """
    k = check_k(k)
    return list(sizes.index[small_group_mask(sizes, k).to_numpy()])


def _masks(table: pd.DataFrame, k: int, size: str | pd.Series | None, counts: Iterable[str],
           linked: dict[str, Iterable[str]] | None, derived: Iterable[str], keep: Iterable[str],
           shares: dict[str, str] | None,
           group_sizes: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """``(hidden, shown_as_count, n_groups)``: boolean frames shaped like ``table``."""
    hidden = pd.DataFrame(False, index=table.index, columns=table.columns)
    as_count = hidden.copy()
    counts = [c for c in counts if c in table.columns]
    n = 0
    if size is not None:
        sizes = table[size] if isinstance(size, str) else size.reindex(table.index)
        rows = small_group_mask(sizes, k).to_numpy()
        n += int(rows.sum())
        values = [c for c in table.columns if c not in set(keep)
                  and (pd.api.types.is_numeric_dtype(table[c]) or c in set(derived))]
        hidden.loc[rows, values] = True
        count_cols = [c for c in [size, *counts] if isinstance(c, str) and c in values]
        as_count.loc[rows, count_cols] = True
    else:
        rows = pd.Series(False, index=table.index).to_numpy()
    for c in counts:
        cells = small_group_mask(table[c], k).to_numpy() & ~rows
        n += int(cells.sum())
        hidden.loc[cells, c] = True
        as_count.loc[cells, c] = True
        for d in (linked or {}).get(c, ()):
            if d in table.columns:
                hidden.loc[cells, d] = True
    for c, base in (shares or {}).items():
        if c not in table.columns or base not in table.columns:
            continue
        implied = (pd.to_numeric(table[c], errors="coerce") * pd.to_numeric(table[base], errors="coerce")).round()
        cells = small_group_mask(implied, k).to_numpy() & ~rows & ~hidden[c].to_numpy()
        n += int(cells.sum())
        hidden.loc[cells, c] = True
    if group_sizes is not None:
        for c in table.columns.intersection(group_sizes.columns):
            if c in set(keep):
                continue
            cells = small_group_mask(group_sizes[c].reindex(table.index), k).to_numpy() & ~rows
            cells &= ~hidden[c].to_numpy() & table[c].notna().to_numpy()
            n += int(cells.sum())
            hidden.loc[cells, c] = True
    return hidden, as_count, n


def suppress_table(table: pd.DataFrame, k: int = DEFAULT_K, *, size: str | pd.Series | None = None,
                   counts: Iterable[str] = (), linked: dict[str, Iterable[str]] | None = None,
                   shares: dict[str, str] | None = None, derived: Iterable[str] = (), keep: Iterable[str] = (),
                   group_sizes: pd.DataFrame | None = None, numeric: bool = False) -> tuple[pd.DataFrame, int]:
    """Hide every group with fewer than ``k`` members in a table meant for a report.

    Two kinds of group are recognised:

    * **rows**: each row is a group (a community, segment, role, cohort) whose size is the
      ``size`` column (or a Series aligned on the index). When ``0 < size < k`` every numeric
      value of the row is hidden (and the ``derived`` text columns, computed from the group's
      members); label columns stay, so the reader sees *which* group was suppressed.
    * **cells**: the ``counts`` columns (or, for a crosstab, every column) hold member counts
      of sub-groups (active members, role × segment cells). A count with ``0 < n < k`` is
      hidden, and so are the columns ``linked[c]`` computed from it on that row (a share
      ``active / members`` would give the count back).

    * **shares**: a column ``c`` with ``shares[c] = "members"`` is a share of the row's members
      (a 2 % core share of 150 members is 3 core members); when ``share × size`` rounds to a
      count with ``0 < n < k`` the share is hidden.
    * **group sizes**: ``group_sizes`` gives, cell by cell, how many members a value is computed
      over (the retention of a join cohort, the response rate of the members who posted); a
      value whose group has ``0 < n < k`` members is hidden.

    Zero is never suppressed: an empty group singles out nobody.

    Parameters
    ----------
    table : DataFrame
        The table as it would be shown (not modified).
    k : int, default 5
        Smallest group size shown.
    size : str or Series, optional
        The column (or aligned Series) with each row's group size.
    counts : iterable of str
        Columns of member counts to suppress cell by cell.
    linked : dict of str to iterable of str, optional
        For a count column, the columns computed from it.
    shares : dict of str to str, optional
        Share column -> the count column it is a share of.
    derived : iterable of str
        Non-numeric columns that describe the row's members (hidden with the row).
    keep : iterable of str
        Numeric columns that label the row (a segment number) and are never hidden.
    group_sizes : DataFrame, optional
        Same index as ``table`` and some of its columns: the number of members each value is
        computed over (NaN: not applicable). Missing values are not counted as suppressed.
    numeric : bool, default False
        False: a display copy where hidden counts read ``<k`` and other hidden values
        :data:`SUPPRESSED` (use it for tables shown in a report; the CSV download of the table
        repeats it). True: hidden values become missing (NaN / None) and dtypes stay numeric
        where possible (for ``summary.json`` and for figures).

    Returns
    -------
    (DataFrame, int)
        The suppressed copy and the number of groups (rows plus cells) suppressed; see
        :func:`suppression_note`.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> roles = pd.DataFrame({"role": ["core", "lurker"], "members": [3, 40], "share": [0.07, 0.93]})
    >>> shown, hidden = cl.nb.suppress_table(roles, 5, counts=["members"], linked={"members": ["share"]})
    >>> shown["members"].tolist(), shown["share"].tolist(), hidden
    (['<5', 40], ['—', 0.93], 1)
    """
    k = check_k(k)
    hidden, as_count, n = _masks(table, k, size, counts, linked, derived, keep, shares, group_sizes)
    out = table.copy()
    for c in out.columns:
        mask = hidden[c].to_numpy()
        if not mask.any():
            continue
        if numeric:
            if pd.api.types.is_numeric_dtype(out[c]):
                out[c] = out[c].astype("float64")
                out.loc[mask, c] = float("nan")
            else:
                out[c] = out[c].astype(object)
                out.loc[mask, c] = None
        else:
            out[c] = out[c].astype(object)
            out.loc[mask, c] = SUPPRESSED
            out.loc[mask & as_count[c].to_numpy(), c] = f"<{k}"
    return out, n


def suppress_small_groups(table: pd.DataFrame | pd.Series, count_col: str | None = None, k: int = DEFAULT_K, *,
                          counts: Iterable[str] = (), linked: dict[str, Iterable[str]] | None = None,
                          shares: dict[str, str] | None = None, derived: Iterable[str] = (),
                          keep: Iterable[str] = ()) -> pd.DataFrame | pd.Series:
    """Blank out groups with fewer than ``k`` members (k-anonymity style), keeping numbers numeric.

    Rows whose ``count_col`` is below ``k`` (but above zero) lose every numeric value; cells of
    ``counts`` below ``k`` and their ``linked`` columns become missing too. A Series is taken as
    counts (each value a group size). See :func:`suppress_table` (``numeric=True``), which this
    calls.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> cl.nb.suppress_small_groups(pd.Series({"core": 3, "lurker": 40}), k=5).tolist()
    [nan, 40.0]
    """
    if isinstance(table, pd.Series):
        frame, _ = suppress_table(table.to_frame("n"), k, counts=["n"], numeric=True)
        return frame["n"].rename(table.name)
    out, _ = suppress_table(table, k, size=count_col, counts=counts, linked=linked, shares=shares, derived=derived,
                            keep=keep, numeric=True)
    return out


#: Registered community metrics that are shares of the community's present members (metric
#: ``members``): share × members is a member count, suppressed like one.
MEMBER_SHARE_METRICS: tuple[str, ...] = (
    "active_share_7d", "active_share_30d", "zombie_share", "lurker_share", "core_share", "buyer_share",
    "referral_rate",
)
#: Registered community metrics that count members.
MEMBER_COUNT_METRICS: tuple[str, ...] = ("kcore_size",)


def suppress_metrics(table: pd.DataFrame, k: int = DEFAULT_K, *, n: pd.DataFrame | None = None,
                     numeric: bool = False, keep: Iterable[str] = ()) -> tuple[pd.DataFrame, int]:
    """Hide small groups in a wide metric table (one row per community, metric ids as columns).

    A community with fewer than ``k`` members (metric ``members``) loses every value; a member
    count (:data:`MEMBER_COUNT_METRICS`) or a member share (:data:`MEMBER_SHARE_METRICS`) that
    stands for fewer than ``k`` members is hidden on its own; and, with ``n``, so is every value
    computed over fewer than ``k`` members (the retention of a small join cohort, the response
    rate of three posters, the content share of the top 1 % of 150 members).

    Parameters
    ----------
    table : DataFrame
        Communities × metric ids (:func:`commlab.analysis.metrics.wide`).
    k : int, default 5
        Smallest group shown.
    n : DataFrame, optional
        The metrics' group sizes, ``wide(metrics, values="n")``: indexed like ``table``, or by
        community id when ``table`` has a ``community_id`` column. Without it only the community
        size and the member shares and counts are checked.
    numeric, keep
        See :func:`suppress_table`.

    Returns
    -------
    (DataFrame, int)
        The suppressed copy and the number of groups (communities and cells) suppressed.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> wide = pd.DataFrame({"members": [3.0, 80.0], "active_share_30d": [0.5, 0.05]}, index=["c1", "c2"])
    >>> shown, hidden = cl.nb.suppress_metrics(wide, 5)  # c1 has 3 members; 5 % of c2's 80 are 4 members
    >>> shown["active_share_30d"].tolist(), hidden
    (['—', '—'], 2)
    """
    if n is not None and Col.community_id in table.columns:
        n = n.reindex(pd.Index(table[Col.community_id].astype(str))).set_axis(table.index)
    return suppress_table(table, k, size="members" if "members" in table.columns else None,
                          counts=MEMBER_COUNT_METRICS, shares=dict.fromkeys(MEMBER_SHARE_METRICS, "members"),
                          keep=keep, group_sizes=n, numeric=numeric)


def without_small_groups(table: pd.DataFrame, sizes: pd.Series, k: int = DEFAULT_K, *,
                         on: str | None = None) -> pd.DataFrame:
    """Leave out the rows of ``table`` whose group is smaller than ``k`` (for figures).

    Parameters
    ----------
    table : DataFrame
        Rows keyed by group on the index, or on the column ``on``.
    sizes : Series
        Group size by group label.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> table = pd.DataFrame({"members": [3, 40]}, index=["c1", "c2"])
    >>> cl.nb.without_small_groups(table, table["members"], 5).index.tolist()
    ['c2']
    """
    small = set(small_groups(sizes, k))
    keys = table.index if on is None else table[on]
    return table[~pd.Index(keys).isin(small)]


def suppress_count(n: float | None, k: int = DEFAULT_K) -> int | None:
    """A member count for ``summary.json``: ``None`` when ``0 < n < k`` (or missing), else the int.

    Examples
    --------
    >>> import commlab as cl
    >>> cl.nb.suppress_count(3, 5), cl.nb.suppress_count(40, 5)
    (None, 40)
    """
    k = check_k(k)
    if n is None or pd.isna(n) or 0 < n < k:
        return None
    return int(n)


def format_count(n: float | None, k: int = DEFAULT_K) -> str:
    """A member count as shown in report text: ``<k`` when ``0 < n < k``, else the number.

    Examples
    --------
    >>> import commlab as cl
    >>> cl.nb.format_count(3, 5), cl.nb.format_count(1234, 5)
    ('<5', '1,234')
    """
    k = check_k(k)
    if n is None or pd.isna(n):
        return SUPPRESSED
    return f"<{k}" if 0 < n < k else f"{int(n):,}"


def suppression_note(n: int, k: int = DEFAULT_K, lang: str = "en", *, left_out: bool = False) -> str:
    """The sentence put under a table with ``n`` suppressed groups (empty when ``n`` is 0).

    ``left_out=True`` says the groups were left out of what follows (a comparison, a figure)
    rather than shown as ``<k`` / :data:`SUPPRESSED`.

    Examples
    --------
    >>> import commlab as cl
    >>> cl.nb.suppression_note(2, 5, "en")
    '2 group(s) with fewer than 5 members suppressed (counts shown as <5, values computed from them as —).'
    >>> cl.nb.suppression_note(0, 5, "en")
    ''
    """
    k = check_k(k)
    if n <= 0:
        return ""
    key = ("zh" if lang == "zh" else "en") + ("_out" if left_out else "")
    return _NOTE[key].format(n=n, k=k, dash=SUPPRESSED)


