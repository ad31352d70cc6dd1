"""One instant as UTC: how every "as of" (and any single point in time a caller passes) is read.

A naive value (no zone: ``"2024-06-30"``, ``"2024-06-30T16:00"``) is UTC, as the notebooks'
``as_of`` parameter is documented; an aware value is converted to UTC. The same rule holds in
the engines, the metrics, the member features, the run's as-of check and the report's text.
Columns of times are read by :mod:`commlab.data.io` instead (a file's naive times are in the
data's time zone, not UTC).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd

from commlab.errors import InvalidArgument

__all__ = ["as_utc"]


def as_utc(when: str | datetime | date | pd.Timestamp | Any, *, name: str = "as_of") -> pd.Timestamp:
    """An instant as a UTC :class:`pandas.Timestamp`; a naive value is taken as UTC.

    Parameters
    ----------
    when : str, datetime, date or Timestamp
        An ISO date or date/time (``"2024-06-30"``, ``"2024-06-30T16:00:00Z"``,
        ``"2024-07-01T00:00:00+08:00"``) or a datetime-like value.
    name : str, default "as_of"
        What the value is, for the error message.

    Returns
    -------
    Timestamp
        Tz-aware, in UTC.

    Raises
    ------
    InvalidArgument
        If ``when`` is missing, empty or not a date/time (also a ``ValueError``).

    Examples
    --------
    >>> import commlab as cl
    >>> cl.as_utc("2024-06-30")
    Timestamp('2024-06-30 00:00:00+0000', tz='UTC')
    >>> cl.as_utc("2024-07-01T00:00:00+08:00")
    Timestamp('2024-06-30 16:00:00+0000', tz='UTC')
    """
    if when is None or (isinstance(when, str) and not when.strip()):
        raise InvalidArgument(f"{name} is required: pass an explicit instant such as '2024-06-30' "
                              "(a date or time without a zone is read as UTC)")
    try:
        ts = pd.Timestamp(when)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"{name} {str(when)[:80]!r} is not a date or time: use ISO 8601, e.g. "
                              f"'2024-06-30' or '2024-06-30T16:00:00Z' ({exc})") from exc
    if ts is pd.NaT:
        raise InvalidArgument(f"{name} is required: got a missing value (NaT); pass an explicit instant "
                              "such as '2024-06-30'")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
