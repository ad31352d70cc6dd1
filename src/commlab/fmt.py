"""Numbers as reports show them: one way per kind of value, never in scientific notation.

Every table and sentence a notebook shows formats its numbers here, so a share is ``62%``
everywhere (never ``0.62`` in one table and ``62 %`` in the next), a count ``9,120`` and a
small index ``0.0032`` rather than ``3.2e-03``.

The kinds (:data:`KINDS`) are the metric registry's units (``share``, ``count``, ``ratio``,
``index``, ``hours``, ``days``, ``currency``) plus a few of the notebooks' own: ``number``
(a generic decimal), ``average`` (a mean or median of counts), ``int``, ``p`` (a p-value),
``z`` (a standardised score) and ``text``.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["MISSING", "MINUS", "KINDS", "fmt_value", "percent", "count", "number", "p_value", "kind_of_unit",
           "tally"]

#: How a value that does not exist (not computed, no data) is written.
MISSING = "–"
#: The minus sign (U+2212), as typeset text writes it.
MINUS = "−"

#: Units of the metric and feature registries mapped to a kind of :func:`fmt_value`.
_UNIT_KIND = {
    "share": "share", "count": "count", "members": "average", "ratio": "number", "index": "number",
    "hours": "hours", "days": "days", "weeks": "average", "currency": "currency", "money": "currency",
    "events": "average", "events / 30 days": "average", "bool": "share",
}
KINDS: tuple[str, ...] = ("share", "count", "int", "number", "average", "hours", "days", "currency", "p", "z", "text")


def kind_of_unit(unit: str | None) -> str:
    """The :func:`fmt_value` kind for a registry unit (``"events"`` → ``"average"``); ``"number"`` when unknown.

    Examples
    --------
    >>> import commlab as cl
    >>> cl.nb.kind_of_unit("share"), cl.nb.kind_of_unit("days")
    ('share', 'days')
    """
    return _UNIT_KIND.get(unit or "", unit if unit in KINDS else "number")


def _float(value: Any) -> float | None:
    """``value`` as a float, or ``None`` when it is missing (``None``, NaN, ``pd.NA``, ``NaT``)."""
    if value is None or isinstance(value, bool | str):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _fixed(v: float, decimals: int) -> str:
    """``v`` with ``decimals`` decimals and thousands separators; the true minus sign, none for a value
    that rounds to zero (``−0.00`` is ``0.00``)."""
    text = f"{abs(v):,.{decimals}f}"
    return MINUS + text if v < 0 and text.strip("0.,") else text


def number(value: Any, *, decimals: int | None = None) -> str:
    """A decimal number with thousands separators and sensible decimals: the one number rule.

    Without ``decimals``: none from 100 on (``1,030``), one from 10 (``25.0``), two below (``0.34``),
    two significant digits under 0.01 (``0.0032``) and ``<0.001`` below that; never an exponent.
    Negative numbers take the minus sign U+2212 (``−3.5``). The report's sentences
    (:func:`commlab.rules_text.format_value`) write their numbers with this module too.

    Examples
    --------
    >>> import commlab as cl
    >>> cl.nb.number(0.28), cl.nb.number(1234.5678)
    ('0.28', '1,235')
    """
    v = _float(value)
    if v is None:
        return MISSING if not isinstance(value, str) else value
    if math.isinf(v):
        return "∞" if v > 0 else MINUS + "∞"
    if decimals is not None:
        return _fixed(v, decimals)
    if abs(v) >= 100:
        return _fixed(v, 0)
    if abs(v) >= 10:
        return _fixed(v, 1)
    if 0 < abs(v) < 0.001:
        return "<0.001" if v > 0 else ">" + MINUS + "0.001"
    if 0 < abs(v) < 0.01:
        return _fixed(v, 1 - math.floor(math.log10(abs(v))))
    return _fixed(v, 2)


def percent(value: Any, *, decimals: int | None = None) -> str:
    """A share (0–1) as a percentage: ``62%``; one decimal under 10 % (``3.4%``) unless whole.

    Examples
    --------
    >>> import commlab as cl
    >>> cl.nb.percent(0.653)
    '65%'
    """
    v = _float(value)
    if v is None:
        return MISSING
    pct = v * 100
    if decimals is None:
        decimals = 1 if 0 < abs(pct) < 10 and round(pct, 1) != round(pct) else 0
    return _fixed(pct, decimals) + "%"


def count(value: Any) -> str:
    """A count with thousands separators: ``9,120``.

    Examples
    --------
    >>> import commlab as cl
    >>> cl.nb.count(9120)
    '9,120'
    """
    v = _float(value)
    return MISSING if v is None else _fixed(v, 0)


#: Singular of the plural nouns :func:`tally` meets that do not just drop an ``s``.
_SINGULAR = {"communities": "community", "replies": "reply", "activities": "activity"}


def tally(n: int, plural: str) -> str:
    """``n`` and an English plural noun in the number it needs: ``1 community``, ``2 communities``.

    For the command line's one-line accounts (``commlab import``, ``commlab validate``); report
    text goes through the zh/en catalogue instead.

    Examples
    --------
    >>> tally(1, "communities"), tally(3988, "members"), tally(0, "events")
    ('1 community', '3988 members', '0 events')
    """
    if n != 1:
        return f"{n} {plural}"
    noun = _SINGULAR.get(plural) or (plural[:-1] if plural.endswith("s") else plural)
    return f"{n} {noun}"


def p_value(value: Any) -> str:
    """A p-value: ``0.031``, ``<0.001``."""
    v = _float(value)
    if v is None:
        return MISSING
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def fmt_value(value: Any, kind: str = "number") -> str:
    """``value`` written the one way of its ``kind`` (see :data:`KINDS`; registry units are accepted too).

    ``share`` → ``62%``; ``count``/``int`` → ``9,120``; ``hours``/``days``/``average`` (a mean or
    median of counts) → ``1.5`` (``130`` from 100 on, ``3`` when whole); ``currency`` → ``1,234.50``;
    ``p`` → ``0.031`` / ``<0.001``; ``z`` → ``+1.2``;
    ``text`` → the value as it is; ``number`` → :func:`number`. Missing values give :data:`MISSING`.
    """
    kind = kind_of_unit(kind)
    if kind == "text" or isinstance(value, str):
        return MISSING if value is None else str(value)
    if isinstance(value, bool):
        return str(value)
    v = _float(value)
    if v is None:
        return MISSING
    if math.isinf(v):
        return "∞" if v > 0 else MINUS + "∞"
    if kind == "share":
        return percent(v)
    if kind in ("count", "int"):
        return count(v)
    if kind in ("hours", "days", "average"):
        return _fixed(v, 0 if abs(v) >= 100 or v == round(v) else 1)
    if kind == "currency":
        return _fixed(v, 2)
    if kind == "p":
        return p_value(v)
    if kind == "z":
        return f"{v:+.1f}".replace("-", MINUS)
    return number(v)
