"""Coercing a raw table to its canonical types, and checking it: the per-table half of loading.

:func:`coerce_table` converts ids to text, times to UTC and amounts to numbers, reporting the
values it cannot convert; :func:`check_table` adds the per-table checks of
:mod:`commlab.data.validate`. Both work on any slice of a table: row numbers in problems come
from the frame's index, so a chunk indexed by its rows in the file reports rows of the file.
"""

from __future__ import annotations

import pandas as pd

from commlab.data import schema as S
from commlab.data.io import parse_times
from commlab.data.validate import MAX_ROWS_SHOWN, ROW_OFFSET, table_problems
from commlab.errors import Problem

__all__ = ["coerce_table", "check_table", "empty_table", "MAX_NAME_CHARS", "SHOWN_TEXT", "drop_direction_controls"]

#: Columns whose text reports show as written. Invisible direction controls (embeddings, overrides,
#: isolates: U+202A-U+202E, U+2066-U+2069) are removed from them when they are read: a right-to-left
#: override left open in a community name reverses the rest of the report line it stands in (the
#: evidence "名称：互动占 31%" then reads "%13 占动互：").
SHOWN_TEXT = {"communities": ("name", "source")}
_DIRECTION_CONTROLS = "[\u202a-\u202e\u2066-\u2069]"
#: The longest community name accepted (platforms allow 30-128 characters; a longer one is a broken
#: export or an attack on the report's layout).
MAX_NAME_CHARS = 200


def coerce_table(frame: pd.DataFrame, table: S.Table, file: str, tz: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Coerce the columns of ``frame`` to their canonical types.

    Unknown extra columns are kept. Values that cannot be converted become
    missing and are reported as problems (unparseable time, amount that is
    not a number).
    """
    out = frame.copy(deep=False)  # copy-on-write: replacing a column never touches ``frame``
    problems: list[Problem] = []
    for col in table.columns:
        if col.name not in out.columns:
            if not col.required and col.fill:
                out[col.name] = _empty_column(col.dtype, out.index)
            continue
        s = out[col.name]
        if col.dtype == "timestamp":
            parsed, bad = parse_times(s, tz)
            if bad.any():
                problems.append(_bad_values(file, col.name, "unparseable time", s, bad,
                                            f"write times as 'YYYY-MM-DD HH:MM:SS' (read in {tz}) "
                                            "or ISO 8601 with an offset, e.g. 2024-03-01T18:00:00+08:00, "
                                            "between the years 1678 and 2261"))
            out[col.name] = parsed
        elif col.dtype == "float":
            if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
                num, bad = s, pd.Series(False, index=s.index)  # numbers already (Parquet): nothing to parse
            else:
                num = pd.to_numeric(s, errors="coerce")
                bad = s.notna() & num.isna() & (s.astype("string").str.strip() != "")
            if bad.any():
                problems.append(_bad_values(file, col.name, "not a number", s, bad,
                                            "use plain numbers such as 12.5 (no currency signs)"))
            out[col.name] = num.astype("float64")
        else:
            if pd.api.types.is_float_dtype(s.dtype):  # ids stored as floats: 9.0 -> "9"
                txt = s.astype("Int64").astype("string")
            else:
                txt = s.astype("string")
                stripped = txt.str.strip()
                # keep the column as read (its buffers shared with the raw table) unless stripping
                # changed a value: a new copy of every id column is most of the loading peak
                if bool((stripped != txt).any()):
                    txt = stripped
            if col.name in SHOWN_TEXT.get(table.name, ()):
                txt = drop_direction_controls(txt)
            empty = txt == ""
            out[col.name] = txt.mask(empty) if bool(empty.any()) else txt
            if col.multi:
                problems += _split_multi(out, col, file)
    return out, problems


_MULTI_SEP = r"\s*[;；|、]\s*"


def drop_direction_controls(text: pd.Series) -> pd.Series:
    """``text`` without the invisible direction controls of :data:`SHOWN_TEXT` (missing values kept)."""
    return text.astype("string").str.replace(_DIRECTION_CONTROLS, "", regex=True)


def _split_multi(out: pd.DataFrame, col: S.Column, file: str) -> list[Problem]:
    """``brand;interest`` -> ``brand`` in the column, ``brand;interest`` in ``<column>_all``.

    Every value is checked against the vocabulary here (the column's own check sees the primary
    only); a repeated value is kept once.
    """
    s = out[col.name]
    parts = s.str.split(_MULTI_SEP, regex=True)
    clean = parts.map(lambda v: list(dict.fromkeys(x for x in v if x)) if isinstance(v, list) else v)
    out[col.name] = clean.map(lambda v: v[0] if isinstance(v, list) and v else pd.NA).astype("string")
    out[col.name + "_all"] = clean.map(lambda v: ";".join(v) if isinstance(v, list) and v else pd.NA).astype("string")
    if col.vocabulary is None:
        return []
    allowed = set(col.vocabulary.codes)
    bad = clean.map(lambda v: isinstance(v, list) and any(x not in allowed for x in v[1:])).astype(bool)
    if not bool(bad.any()):
        return []
    return [_bad_values(file, col.name, f"unknown {col.name} value", s, bad,
                        f"use one or more of: {', '.join(col.vocabulary.codes)}, primary first, separated by ';' "
                        "(see `commlab schema`)")]


def _empty_column(dtype: str, index: pd.Index) -> pd.Series:
    if dtype == "timestamp":
        return pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]")
    if dtype == "float":
        return pd.Series(float("nan"), index=index, dtype="float64")
    return pd.Series(pd.NA, index=index, dtype="string")


def _bad_values(file: str, column: str, check: str, values: pd.Series, bad: pd.Series, fix: str) -> Problem:
    idx = values.index[bad]
    head = idx[:MAX_ROWS_SHOWN]
    return Problem(
        file, column, check, [int(i) + ROW_OFFSET for i in head], [values.loc[i] for i in head],
        count=int(bad.sum()), fix=fix,
    )




def check_table(frame: pd.DataFrame, table: S.Table, file: str, tz: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Coerce ``frame`` (:func:`coerce_table`) and check it against ``table``.

    A value that could not be converted is reported once, as unconvertible, and not again
    as a missing value: the missing values of such a column are the ones missing (or empty)
    in the file.

    Parameters
    ----------
    frame : DataFrame
        Raw rows of the table, indexed by their position in the file (0 for the first row).
    table : commlab.data.schema.Table
        The canonical table.
    file : str
        Named in the problems.
    tz : str
        Zone of naive times.

    Returns
    -------
    coerced, problems : DataFrame and list of Problem
    """
    coerced, found = coerce_table(frame, table, file, tz)
    unconverted = {p.column for p in found}
    for p in table_problems(coerced, table, file):
        if p.check == "missing value" and p.column in unconverted:
            raw = frame[p.column]
            empty = raw.isna() | (raw.astype("string").str.strip() == "").fillna(True)
            if not bool(empty.any()):
                continue
            p = _bad_values(file, p.column, p.check, coerced[p.column], empty, p.fix)
        found.append(p)
    if table.name == "communities" and "name" in coerced.columns:
        names = coerced["name"].astype("string")
        long = (names.str.len() > MAX_NAME_CHARS).fillna(False)
        if bool(long.any()):
            shown = names.map(lambda v: f"{v[:20]}… ({len(v):,} characters)" if isinstance(v, str) else v)
            found.append(_bad_values(file, "name", "name too long", shown, long,
                                     f"shorten the name to at most {MAX_NAME_CHARS} characters"))
    return coerced, found


def empty_table(table: S.Table) -> pd.DataFrame:
    """A table without rows, with the required columns of ``table`` in their canonical dtypes.

    What stands for a table whose file is missing or unreadable, so that the cross-table
    checks still run (and find nothing in it).
    """
    index = pd.RangeIndex(0)
    return pd.DataFrame({c.name: _empty_column(c.dtype, index) for c in table.columns if c.required})
