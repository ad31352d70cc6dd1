"""A community's fate as a label, and panels read from files.

Outcomes are ``community_id, outcome`` with ``outcome`` 1 = died, 0 = survived. They come from the
user (:func:`read_outcomes`: a CSV of any two labels), from a column of the communities table
(:func:`outcomes_from_column`: the Stack Exchange sites' ``status``), or from a documented rule on later
activity (:func:`derive_outcomes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from commlab.analysis.metrics import Tables, as_tables, resolve_as_of
from commlab.analysis.panel import member_activity, panel_metric_columns
from commlab.data.io import read_raw_table
from commlab.data.load import Dataset
from commlab.data.schema import Col
from commlab.errors import DataValidationError, InvalidArgument, Problem, UsageError

__all__ = [
    "DIED_LABELS",
    "SURVIVED_LABELS",
    "OutcomeRule",
    "as_outcomes",
    "read_outcomes",
    "outcomes_from_column",
    "derive_outcomes",
    "read_panel",
    "trim_to_outcome_window",
]

#: Labels read as "died" (case-insensitive) unless the caller names its own.
DIED_LABELS: tuple[str, ...] = ("died", "dead", "1", "true", "yes", "closed", "死亡", "已死", "关闭")
#: Labels read as "survived".
SURVIVED_LABELS: tuple[str, ...] = ("survived", "alive", "0", "false", "no", "active", "存活", "活跃")


def _norm(v: Any) -> str:
    s = str(v).strip().lower()
    return s[:-2] if s.endswith(".0") and s[:-2].isdigit() else s  # 1.0 from a spreadsheet is 1


def as_outcomes(frame: pd.DataFrame, *, died: Iterable[str] | str | None = None,
                survived: Iterable[str] | str | None = None, source: str = "outcomes") -> pd.DataFrame:
    """``community_id, outcome`` (1 = died, 0 = survived) from a frame with any two labels.

    Parameters
    ----------
    frame : DataFrame
        ``community_id`` and ``outcome`` columns (further columns are kept).
    died, survived : str or iterable of str, optional
        The labels meaning "died" and "survived" (compared case-insensitively). Default:
        :data:`DIED_LABELS` and :data:`SURVIVED_LABELS`. Naming one of them makes every other
        label the other class only when that other one is named too.
    source : str
        Name of the file, for error messages.

    Raises
    ------
    DataValidationError
        Naming the file, the column, the first offending rows (spreadsheet numbering, header =
        row 1) and how to fix: a missing column, an empty or unknown label, a community listed twice.
    """
    problems = []
    for col in (Col.community_id, "outcome"):
        if col not in frame.columns:
            problems.append(Problem(source, col, "missing column", values=list(frame.columns)[:8],
                                    fix="an outcomes file has the columns community_id and outcome "
                                        "(died/survived, 1/0, or two labels you name with --died/--survived)"))
    if problems:
        raise DataValidationError(problems, source)
    d = {_norm(x) for x in ([died] if isinstance(died, str) else died)} if died is not None else set(DIED_LABELS)
    s = {_norm(x) for x in ([survived] if isinstance(survived, str) else survived)} if survived is not None \
        else set(SURVIVED_LABELS)
    if d & s:
        raise UsageError(f"{source}: the same label means died and survived: {', '.join(sorted(d & s))}")
    labels = frame["outcome"].map(lambda v: None if pd.isna(v) or str(v).strip() == "" else _norm(v))
    y = labels.map(lambda v: 1 if v in d else 0 if v in s else np.nan)
    rows = np.arange(len(frame)) + 2
    bad = y.isna().to_numpy()
    if bad.any():
        problems.append(Problem(
            source, "outcome", "label neither died nor survived", rows=rows[bad][:5].tolist(),
            values=frame["outcome"][bad].head(5).tolist(), count=int(bad.sum()),
            fix=f"use died/survived or 1/0, or name your labels (died: {', '.join(sorted(d))[:80]}; "
                f"survived: {', '.join(sorted(s))[:80]})"))
    ids = frame[Col.community_id].astype("string").str.strip()
    empty = ids.isna() | ids.eq("")
    if empty.any():
        problems.append(Problem(source, Col.community_id, "empty community id",
                                rows=rows[empty.to_numpy()][:5].tolist(), count=int(empty.sum()),
                                fix="give every row the id of a community"))
    dup = ids.duplicated(keep=False) & ~empty
    if dup.any():
        problems.append(Problem(source, Col.community_id, "community listed more than once",
                                rows=rows[dup.to_numpy()][:5].tolist(), values=ids[dup].head(5).tolist(),
                                count=int(dup.sum()), fix="keep one outcome per community"))
    if problems:
        raise DataValidationError(problems, source)
    out = frame.copy()
    out[Col.community_id] = ids
    out["outcome"] = y.astype("int64")
    return out.reset_index(drop=True)


def read_outcomes(path: str | Path, *, died: Iterable[str] | str | None = None,
                  survived: Iterable[str] | str | None = None) -> pd.DataFrame:
    """Read an outcomes file (CSV in UTF-8/GBK, or Parquet): ``community_id, outcome``.

    See :func:`as_outcomes` for the labels and the errors. A derived outcomes file
    (:func:`derive_outcomes`) keeps its ``window_start`` column, which
    :func:`trim_to_outcome_window` uses.

    Raises
    ------
    UsageError
        If the file does not exist.
    DataValidationError
        See :func:`as_outcomes`.
    """
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"outcomes file not found: {p}")
    frame, _ = read_raw_table(p)
    out = as_outcomes(frame, died=died, survived=survived, source=str(p))
    if "window_start" in out.columns:
        out["window_start"] = pd.to_datetime(out["window_start"], utc=True, errors="coerce")
    return out


def outcomes_from_column(communities: pd.DataFrame, column: str, *, died: Iterable[str] | str,
                         survived: Iterable[str] | str | None = None) -> pd.DataFrame:
    """Outcomes from a column of the communities table (e.g. the Stack Exchange sites' ``status``).

    Parameters
    ----------
    communities : DataFrame
        The communities table.
    column : str
        The column holding the fate.
    died : str or iterable of str
        Its values meaning "died" (``"closed"``).
    survived : str or iterable of str, optional
        Its values meaning "survived"; default: every other non-empty value.

    Raises
    ------
    UsageError
        If the column is missing.
    """
    if column not in communities.columns:
        raise UsageError(f"the communities table has no column {column!r}; it has: "
                         f"{', '.join(map(str, communities.columns))}")
    values = communities[column].astype("string")
    if survived is None:
        d = {_norm(x) for x in ([died] if isinstance(died, str) else died)}
        survived = sorted({_norm(v) for v in values.dropna()} - d)
    frame = pd.DataFrame({Col.community_id: communities[Col.community_id].astype("string"), "outcome": values})
    return as_outcomes(frame, died=died, survived=survived, source=f"communities.{column}")


class OutcomeRule:
    """The documented rule of :func:`derive_outcomes`, as text with its parameters."""

    def __init__(self, window_days: int, min_active: int) -> None:
        self.window_days = window_days
        self.min_active = min_active

    def text(self, lang: str = "en") -> str:
        if lang == "zh":
            return (f"数据最后 {self.window_days} 天内活跃成员（除入群/退群外有任何行为的非管理成员）少于 "
                    f"{self.min_active} 人的社群记为死亡，否则记为存活。")
        return (f"died = fewer than {self.min_active} active members (members other than staff who did anything "
                f"but join or leave) in the last {self.window_days} days of the data; otherwise survived.")

    def __repr__(self) -> str:
        return f"OutcomeRule(window_days={self.window_days}, min_active={self.min_active})"


def derive_outcomes(data: Dataset | Tables | Mapping[str, Any], *, as_of: Any, window_days: int = 90,
                    min_active: int = 3) -> pd.DataFrame:
    """Outcomes derived from later activity: died = fewer than ``min_active`` active members in the last days.

    Parameters
    ----------
    data : Dataset, Tables or mapping
        The canonical tables.
    as_of : str, Timestamp, mapping or ``"created+<N>d"``
        End of the data (per community with a mapping or a rule).
    window_days : int, default 90
        Length of the outcome window ``(as_of - window_days, as_of]``.
    min_active : int, default 3
        A community with fewer active members than this in the window died.

    Returns
    -------
    DataFrame
        ``community_id, outcome`` (1 = died), ``active_members``, ``window_start``, ``window_end``.
        ``attrs["rule"]`` holds the :class:`OutcomeRule`. Forecasting from periods that overlap the
        outcome window would read the answer: :func:`trim_to_outcome_window` drops them, and the
        evaluation does so whenever the outcomes carry ``window_start``.

    Raises
    ------
    ValueError
        If ``window_days`` or ``min_active`` is below 1.
    """
    if window_days < 1 or min_active < 1:
        raise InvalidArgument(f"window_days and min_active must be at least 1, got {window_days} and {min_active}")
    tables = as_tables(data)
    communities = tables.frame("communities")
    ends = resolve_as_of(as_of, communities)
    starts = ends - pd.Timedelta(days=window_days)
    ev = member_activity(tables)
    ts = pd.to_datetime(ev["ts"], utc=True)
    lo = ev[Col.community_id].map(starts)
    hi = ev[Col.community_id].map(ends)
    inside = ev[(ts > lo) & (ts <= hi)]
    active = inside.groupby(Col.community_id)[Col.member_id].nunique().reindex(ends.index, fill_value=0)
    out = pd.DataFrame({
        Col.community_id: pd.array(ends.index, dtype="string"),
        "outcome": (active < min_active).astype("int64").to_numpy(),
        "active_members": active.astype("int64").to_numpy(),
        "window_start": starts.to_numpy(),
        "window_end": ends.to_numpy(),
    })
    out.attrs["rule"] = OutcomeRule(window_days, min_active)
    return out


def trim_to_outcome_window(panel: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """The panel without the periods that end inside a community's outcome window.

    When outcomes were derived from activity in ``(window_start, window_end]``, a period ending
    after ``window_start`` already holds part of the answer. Without ``window_start`` in the
    outcomes or ``p_end`` in the panel the panel is returned unchanged.
    """
    if "window_start" not in outcomes.columns or "p_end" not in panel.columns:
        return panel
    cut = dict(zip(outcomes[Col.community_id].astype(str), pd.to_datetime(outcomes["window_start"], utc=True),
                   strict=True))
    limit = panel[Col.community_id].astype(str).map(cut)
    ends = pd.to_datetime(panel["p_end"], utc=True)
    keep = limit.isna() | (ends <= limit)
    return panel[keep.to_numpy()].reset_index(drop=True)


def read_panel(path: str | Path) -> pd.DataFrame:
    """Read a panel CSV/Parquet: ``community_id``, ``period`` (1, 2, ...) and any numeric metric columns.

    A panel may come from :func:`commlab.analysis.panel.community_panel` (``commlab panel``) or from
    elsewhere: every numeric column other than ``community_id``, ``period``, ``p_start`` and ``p_end``
    is a metric. Empty cells are missing values. Text columns that are not numbers are left out (not
    metrics) and listed in ``attrs["ignored"]``.

    Raises
    ------
    UsageError
        If the file does not exist.
    DataValidationError
        Naming the file, the column, the first offending rows and the fix: a missing
        ``community_id``/``period`` column, a period that is not a whole number from 1, a
        (community, period) listed twice, no numeric metric column.
    """
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"panel file not found: {p}")
    raw, _ = read_raw_table(p)
    source = str(p)
    problems = []
    for col in (Col.community_id, "period"):
        if col not in raw.columns:
            problems.append(Problem(source, col, "missing column", values=list(raw.columns)[:8],
                                    fix="a panel has one row per community and period: columns community_id, "
                                        "period (1 = the community's first period) and numeric metric columns"))
    if problems:
        raise DataValidationError(problems, source)
    rows = np.arange(len(raw)) + 2
    out = pd.DataFrame({Col.community_id: raw[Col.community_id].astype("string").str.strip()})
    empty = out[Col.community_id].isna() | out[Col.community_id].eq("")
    if empty.any():
        problems.append(Problem(source, Col.community_id, "empty community id",
                                rows=rows[empty.to_numpy()][:5].tolist(), count=int(empty.sum()),
                                fix="give every row the id of its community"))
    period = pd.to_numeric(raw["period"], errors="coerce")
    bad = period.isna() | (period < 1) | (period != np.floor(period))
    if bad.any():
        problems.append(Problem(source, "period", "not a whole number from 1", rows=rows[bad.to_numpy()][:5].tolist(),
                                values=raw["period"][bad].head(5).tolist(), count=int(bad.sum()),
                                fix="number each community's periods 1, 2, 3, ... from its start"))
    else:
        out["period"] = period.astype("int64")
        dup = out.duplicated([Col.community_id, "period"], keep=False) & ~empty
        if dup.any():
            problems.append(Problem(source, "period", "community and period listed more than once",
                                    rows=rows[dup.to_numpy()][:5].tolist(),
                                    values=(out[Col.community_id] + " / " + out["period"].astype(str))[dup].head(5)
                                    .tolist(), count=int(dup.sum()), fix="one row per community and period"))
    ignored = []
    for col in raw.columns:
        if col in (Col.community_id, "period"):
            continue
        if col in ("p_start", "p_end"):
            out[col] = pd.to_datetime(raw[col], utc=True, errors="coerce")
            continue
        txt = raw[col] if pd.api.types.is_numeric_dtype(raw[col]) else raw[col].astype("string").str.strip()
        num = pd.to_numeric(txt, errors="coerce")
        given = txt.notna() if pd.api.types.is_numeric_dtype(raw[col]) else (txt.notna() & txt.ne(""))
        if given.any() and num[given].isna().all():
            ignored.append(str(col))
            continue
        wrong = given & num.isna()
        if wrong.any():
            problems.append(Problem(source, str(col), "not a number", rows=rows[wrong.to_numpy()][:5].tolist(),
                                    values=txt[wrong].head(5).tolist(), count=int(wrong.sum()),
                                    fix="write numbers with a dot for decimals, and leave a cell empty "
                                        "when the value is unknown"))
            continue
        out[str(col)] = num.astype("float64")
    if not problems and not panel_metric_columns(out):
        problems.append(Problem(source, "", "no numeric metric column", values=ignored[:8],
                                fix="add at least one numeric column per period (e.g. active members, replies)"))
    if problems:
        raise DataValidationError(problems, source)
    out = out.sort_values([Col.community_id, "period"]).reset_index(drop=True)
    out.attrs["ignored"] = ignored
    out.attrs["source"] = source
    return out
