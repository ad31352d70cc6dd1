"""SQL for counting distinct days as bits: one 64-bit mask per member and block of 63 days.

A DISTINCT over every (member, day) is a second group-by of the events; grouping by member and
block instead, with ``bit_or`` of each event's day bit, counts distinct days as ``bit_count``
and members per day as the masks with that day's bit set. A block holds 63 days so the sign
bit of the ``BIGINT`` mask stays unused. Days may be negative (before 1970): the block is the
floor of ``day / 63`` and the bit its non-negative remainder.
"""

from __future__ import annotations

__all__ = ["BLOCK_DAYS", "bit_of", "block_of", "day_bit"]

#: Days per mask.
BLOCK_DAYS = 63


def block_of(day: str) -> str:
    """SQL: the block (``BIGINT``) of the integer day number ``day``."""
    return f"CAST(floor(({day}) / {BLOCK_DAYS}) AS BIGINT)"


def bit_of(day: str) -> str:
    """SQL: the position (``INTEGER``, 0 to 62) of the integer day number ``day`` within its block."""
    return f"CAST(({day}) - {BLOCK_DAYS} * floor(({day}) / {BLOCK_DAYS}) AS INTEGER)"


def day_bit(day: str) -> str:
    """SQL: the ``BIGINT`` with the bit of ``day`` within its block set (aggregate it with ``bit_or``)."""
    return f"(CAST(1 AS BIGINT) << {bit_of(day)})"
