"""Typed reading of the fields of one JSON record, with errors naming the file, the record and the field.

A platform export is attacker-controlled: a field may hold an object where an id is
expected, a string where a list is. Reading it with ``str(m["from_id"])`` turned such values
into members named ``{'a': [1]}``; reading it with ``m.get(...).get(...)`` crashed with
``'str' object has no attribute 'get'``. :class:`Fields` reads each field as the kind of value
the format documents and raises one :class:`~commlab.errors.ImportFormatError` that
names the file, the record (``message 1213…``, ``line 4``) and the field otherwise::

    f = Fields(path, f"message {m.get('id')!r}")
    who = f.id(m, "from_id")           # text or integer -> str; None when absent
    author = f.mapping(m, "author")        # an object, {} when absent
    uid = f.id(author, "id", name="author.id", required=True)
"""

from __future__ import annotations

import math
import reprlib
from pathlib import Path
from typing import Any

import numpy as np

from commlab.errors import ImportFormatError

__all__ = ["Fields", "record_label", "preview"]

_FIX = "the export may be damaged or edited; export it again"


def preview(value: Any, width: int = 80) -> str:
    """A short ``repr`` of ``value`` for messages: safe on deeply nested or huge values."""
    if isinstance(value, np.generic):
        value = value.item()
    r = reprlib.Repr()
    r.maxlevel, r.maxstring, r.maxother, r.maxlist, r.maxdict = 3, width, width, 6, 6
    text = r.repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "true/false", str: "text"}.get(type(value), type(value).__name__)


def record_label(kind: str, ident: Any, position: int | None = None) -> str:
    """How an error names a record: ``message '7'``, or ``message at position 3`` without a usable id."""
    if isinstance(ident, str | int) and not isinstance(ident, bool) and str(ident).strip():
        return f"{kind} {preview(ident, 40)}"
    return f"{kind} at position {position}" if position is not None else kind


class Fields:
    """Typed access to the fields of one record of ``file``, named ``record`` in errors.

    Parameters
    ----------
    file : str or Path
        The source file.
    record : str
        How the record is named (``message '1213000000000000001'``, ``line 12``).
    """

    def __init__(self, file: str | Path, record: str) -> None:
        self.file = str(file)
        self.record = record

    def error(self, field: str, what: str, fix: str = _FIX) -> ImportFormatError:
        """An :class:`ImportFormatError` about ``field`` of this record."""
        return ImportFormatError(self.file, what, fix, record=self.record, field=field)

    def _bad(self, field: str, expected: str, value: Any) -> ImportFormatError:
        return self.error(field, f"expected {expected}, found {_kind(value)} {preview(value)}")

    def id(self, obj: dict, key: str, *, name: str | None = None, required: bool = False) -> str | None:
        """An id: text (stripped) or a whole number, as text; ``None`` when absent, null or empty.

        Raises
        ------
        ImportFormatError
            An object, list, boolean or fractional number; or nothing when ``required``.
        """
        value = obj.get(key)
        field = name or key
        if isinstance(value, bool) or isinstance(value, dict | list):
            raise self._bad(field, "an id (text or a whole number)", value)
        if isinstance(value, float):
            if not math.isfinite(value) or value != int(value):
                raise self._bad(field, "an id (text or a whole number)", value)
            value = int(value)
        if isinstance(value, int):
            return str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if value is not None and not isinstance(value, str):
            raise self._bad(field, "an id (text or a whole number)", value)
        if required:
            raise self.error(field, "missing (every record of this kind has one)")
        return None

    def text(self, obj: dict, key: str, *, name: str | None = None) -> str | None:
        """Text (numbers are written as text); ``None`` when absent or null.

        Raises
        ------
        ImportFormatError
            An object, list or boolean.
        """
        value = obj.get(key)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise self._bad(name or key, "text", value)

    def integer(self, obj: dict, key: str, *, name: str | None = None, required: bool = False) -> int | None:
        """A whole number (or its digits as text); ``None`` when absent or null.

        Raises
        ------
        ImportFormatError
            Anything else; or nothing when ``required``.
        """
        value = obj.get(key)
        field = name or key
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self.error(field, "missing (every record of this kind has one)")
            return None
        if isinstance(value, bool):
            raise self._bad(field, "a whole number", value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and math.isfinite(value) and value == int(value):
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value.strip())
        raise self._bad(field, "a whole number", value)

    def mapping(self, obj: dict, key: str, *, name: str | None = None, required: bool = False) -> dict:
        """An object (``{}`` when absent or null).

        Raises
        ------
        ImportFormatError
            Anything else; or nothing when ``required``.
        """
        value = obj.get(key)
        if value is None:
            if required:
                raise self.error(name or key, "missing (every record of this kind has one)")
            return {}
        if not isinstance(value, dict):
            raise self._bad(name or key, "an object", value)
        return value

    def items(self, obj: dict, key: str, *, name: str | None = None, of: type | None = None) -> list:
        """A list (``[]`` when absent or null), optionally of items of type ``of``.

        Raises
        ------
        ImportFormatError
            Anything else, or an item of another type.
        """
        value = obj.get(key)
        field = name or key
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._bad(field, "a list", value)
        if of is not None:
            for item in value:
                if not isinstance(item, of) or isinstance(item, bool):
                    expected = {dict: "an object", str: "text"}.get(of, of.__name__)
                    raise self._bad(f"{field}[]", expected, item)
        return value

    def flag(self, obj: dict, key: str, *, name: str | None = None) -> bool:
        """A true/false flag (``False`` when absent or null).

        Raises
        ------
        ImportFormatError
            Anything but ``true``, ``false`` or null.
        """
        value = obj.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self._bad(name or key, "true or false", value)
        return value
