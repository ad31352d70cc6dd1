"""Times of an export as ``datetime64[ns, UTC]``: Unix numbers and text, the first bad record named."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from commlab.errors import ImportFormatError
from commlab.importers.fields import preview

__all__ = ["unix_numbers", "unix_to_utc", "LineLabels", "text_to_utc"]

#: Seconds per unit of a Unix time.
_UNIT_SECONDS = {"s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
#: Unix seconds a ``datetime64[ns]`` can hold, a second inside pandas' limits on either side.
_UNIX_RANGE = (pd.Timestamp.min.value / 1e9 + 1, pd.Timestamp.max.value / 1e9 - 1)
_NUMBER = r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$"


class LineLabels(Sequence[str]):
    """``line <n>`` labels of records, made on demand from their 0-based line indexes (for :func:`unix_to_utc`)."""

    def __init__(self, indexes: Sequence[int]) -> None:
        self._indexes = indexes

    def __len__(self) -> int:
        return len(self._indexes)

    def __getitem__(self, i: int) -> str:  # type: ignore[override]
        return f"line {self._indexes[i] + 1}"


def _label(records: Sequence[str] | None, i: int) -> str:
    return records[i] if records is not None else f"value {i + 1}"


def _first_bad(values: pd.Series, bad: pd.Series | np.ndarray, records: Sequence[str] | None) -> tuple[str, str]:
    """The record label and a preview of the first bad value, and how many more there are."""
    where = np.flatnonzero(np.asarray(bad, dtype=bool))
    i = int(where[0])
    more = f" (and {len(where) - 1} more)" if len(where) > 1 else ""
    return _label(records, i), f"{preview(values.iloc[i])}{more}"


def unix_numbers(values: pd.Series | Sequence[Any] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numbers (or numeric text) as float64, and where a present value is not a number.

    Booleans, objects and lists are not numbers; missing values (``None``, NaN, empty text) give
    NaN without being bad. Integers too large for a float give infinity.
    """
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        return values.astype("float64"), np.zeros(len(values), bool)
    s = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values.astype(object)
    s = s.reset_index(drop=True)
    num = np.full(len(s), np.nan)
    bad = np.zeros(len(s), bool)
    kinds = s.map(type)
    is_text = kinds.map(lambda k: issubclass(k, str)).to_numpy(bool)
    if is_text.any():
        txt = s[is_text].astype("string")
        ok = txt.str.match(_NUMBER).fillna(False).to_numpy(bool)
        empty = (txt.str.strip() == "").fillna(True).to_numpy(bool)
        idx = np.flatnonzero(is_text)
        num[idx[ok]] = pd.to_numeric(txt[ok]).to_numpy("float64")
        bad[idx[~ok & ~empty]] = True
    for i in np.flatnonzero(~is_text):
        v = s.iloc[i]
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            continue
        if isinstance(v, bool | np.bool_) or not isinstance(v, int | float | np.integer | np.floating):
            bad[i] = True
            continue
        try:
            num[i] = float(v)
        except OverflowError:  # an int beyond any float
            num[i] = np.inf if v > 0 else -np.inf
    return num, bad


def unix_to_utc(values: pd.Series | Sequence[Any] | np.ndarray, *, unit: str = "s", file: str = "?",
                what: str = "time", records: Sequence[str] | None = None) -> pd.Series:
    """Unix times (numbers or numeric strings) as ``datetime64[ns, UTC]``; raise naming the first bad record.

    Parameters
    ----------
    values : Series, sequence or array
        The times, in ``unit`` since 1970-01-01 UTC; missing values stay missing.
    unit : {"s", "ms", "us", "ns"}
        Unit of the numbers.
    file : str
        The file named in the error.
    what : str
        The field (column, attribute) named in the error.
    records : sequence of str, optional
        A label per value naming its record (``message 7``, ``line 12``); by default
        ``value <n>``.

    Raises
    ------
    ImportFormatError
        A value is not a number, or is a time no datetime can hold (before 1678 or after 2261,
        10**30, infinity), naming the file, the record and the field.
    """
    index = values.index if isinstance(values, pd.Series) else None
    s = values if isinstance(values, np.ndarray) else pd.Series(values, dtype=object) \
        if not isinstance(values, pd.Series) else values.reset_index(drop=True)
    num, bad = unix_numbers(s)
    shown = pd.Series(s) if isinstance(s, np.ndarray) else s
    if bad.any():
        record, first = _first_bad(shown, bad, records)
        raise ImportFormatError(file, f"not a Unix time: {first}", "the export may be damaged; export it again",
                                record=record, field=what)
    secs = num * _UNIT_SECONDS[unit]
    lo, hi = _UNIX_RANGE
    far = ~np.isnan(secs) & ~((secs >= lo) & (secs <= hi))
    if far.any():
        record, first = _first_bad(shown, far, records)
        raise ImportFormatError(
            file, f"Unix time {first} lies outside the years 1678-2261 that a time can hold",
            f"Unix times here are {'seconds' if unit == 's' else unit} since 1970; this value is damaged "
            "or in another unit", record=record, field=what,
        )
    out = pd.Series(pd.to_datetime(num, unit=unit, utc=True)).astype("datetime64[ns, UTC]")
    return out if index is None else out.set_axis(index)


def text_to_utc(values: pd.Series | list[Any], *, tz: str, file: str = "?", what: str = "time",
                fmt: str | None = None, records: Sequence[str] | None = None) -> pd.Series:
    """Time strings as ``datetime64[ns, UTC]``: offsets kept, naive times read in ``tz``; raise on bad values.

    Raises
    ------
    ImportFormatError
        A value that is not text, cannot be parsed, or lies outside the years 1678-2261, naming
        the file, the first bad record (``records``, as :func:`unix_to_utc`) and the field.
    """
    from commlab.data.io import parse_times, to_ns_utc

    index = values.index if isinstance(values, pd.Series) else None
    raw = pd.Series(values, dtype=object).reset_index(drop=True) if not isinstance(values, pd.Series) \
        else values.reset_index(drop=True)
    not_text = raw.map(lambda v: not (v is None or v is pd.NA or isinstance(v, str)
                                      or (isinstance(v, float) and np.isnan(v)))).to_numpy(bool) \
        if raw.dtype == object else np.zeros(len(raw), bool)
    if not_text.any():
        record, first = _first_bad(raw, not_text, records)
        raise ImportFormatError(file, f"not a time (text expected): {first}", "the export may be damaged",
                                record=record, field=what)
    s = raw.astype("string")
    if fmt:
        parsed = pd.to_datetime(s, format=fmt, errors="coerce")
        if parsed.dt.tz is None:
            parsed = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
        out, far = to_ns_utc(parsed)
        bad = (s.notna() & parsed.isna()) | far
    else:
        s = s.str.replace(r"\s+UTC$", "+00:00", regex=True)
        out, bad = parse_times(s, tz)
    if bad.any():
        record, first = _first_bad(s, bad, records)
        raise ImportFormatError(
            file, f"unparseable or out-of-range time: {first}",
            "use ISO 8601 times between the years 1678 and 2261 (2024-03-01 18:00:00 or 2024-03-01T10:00:00Z)"
            + (f" or the format {fmt}" if fmt else ""), record=record, field=what,
        )
    return out if index is None else out.set_axis(index)


# --- threads ------------------------------------------------------------------------------------
