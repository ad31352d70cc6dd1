"""SQL for counting days: distinct days as bits of 63-day masks, and exact whole days between instants.

A DISTINCT over every (member, day) is a second group-by of the events; grouping by member and
block instead, with ``bit_or`` of each event's day bit, counts distinct days as ``bit_count``
and members per day as the masks with that day's bit set. A block holds 63 days so the sign
bit of the ``BIGINT`` mask stays unused. Days may be negative (before 1970): the block is the
floor of ``day / 63`` and the bit its non-negative remainder.

Whole days between two instants are counted in integer microseconds (:func:`days_between`):
``floor((epoch(b) - epoch(a)) / 86400)`` is not exact, as ``epoch`` is a ``DOUBLE`` of seconds, and
two instants exactly N days apart with fractions of a second can come out a hair under N days.
The microseconds are divided by :data:`US_PER_DAY` in ``DOUBLE`` (integer ``//`` truncates towards
zero in DuckDB and Spark alike, which is wrong before 1970): the quotient lies at least 1 µs / 1 day
from the next whole number, more than its rounding error within ±100,000 days of 1970 (the years
1696-2243), where the floor is exact.
"""

from __future__ import annotations

__all__ = ["BLOCK_DAYS", "US_PER_DAY", "bit_of", "block_of", "day_bit", "day_number", "days_between"]

#: Days per mask.
BLOCK_DAYS = 63
#: Microseconds per day.
US_PER_DAY = 86_400_000_000


def block_of(day: str) -> str:
    """SQL: the block (``BIGINT``) of the integer day number ``day``."""
    return f"CAST(floor(({day}) / {BLOCK_DAYS}) AS BIGINT)"


def bit_of(day: str) -> str:
    """SQL: the position (``INTEGER``, 0 to 62) of the integer day number ``day`` within its block."""
    return f"CAST(({day}) - {BLOCK_DAYS} * floor(({day}) / {BLOCK_DAYS}) AS INTEGER)"


def day_bit(day: str) -> str:
    """SQL: the ``BIGINT`` with the bit of ``day`` within its block set (aggregate it with ``bit_or``)."""
    return f"(CAST(1 AS BIGINT) << {bit_of(day)})"


def day_number(ts: str) -> str:
    """SQL: the day (``BIGINT``) of instant ``ts`` counted from 1970-01-01 (negative before), exact
    within the years 1696-2243 (see the module's notes).

    Integer microseconds, as :func:`days_between`; the day of a zone-less ``TIMESTAMP`` is its
    calendar day (local days, for ``timezone(zone, ts)``).
    """
    return f"CAST(floor(epoch_us({ts}) / {US_PER_DAY}) AS BIGINT)"


def days_between(start: str, end: str, *, days: int = 1) -> str:
    """SQL: the whole days (``BIGINT``, floored) from instant ``start`` to instant ``end``, exact
    for spans within ±100,000 days (see the module's notes); with ``days=7``, whole weeks.

    The difference is taken in integer microseconds (``epoch_us``; ``UNIX_MICROS`` on Spark), so an
    event exactly N days before a period end is N days before it, not N − 1.
    """
    return f"CAST(floor((epoch_us({end}) - epoch_us({start})) / {US_PER_DAY * days}) AS BIGINT)"

