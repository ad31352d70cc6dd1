"""Parsing an export's JSON: UTF-8 checked, syntax errors and too-deep nesting named by line and column."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

from commlab.errors import ImportFormatError
from commlab.importers.files import read_bytes, read_zip_member

__all__ = ["MAX_JSON_DEPTH", "parse_json", "read_json_file"]

#: Nesting named when Python's JSON parser gives up (near 1000 levels): where it first passes this depth.
MAX_JSON_DEPTH = 200


def _nesting_at(text: str, limit: int) -> tuple[int, int] | None:
    """Line and column where ``text`` (JSON) first nests deeper than ``limit``, if it does."""
    depth = 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        c = m.group(0)
        if c in "[{":
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, m.start()) + 1
                return line, m.start() - text.rfind("\n", 0, m.start())
        elif c in "]}":
            depth -= 1
    return None


def parse_json(raw: bytes | str, where: str) -> Any:
    """Parse JSON text (UTF-8, with or without BOM), raising :class:`ImportFormatError` naming ``where``.

    Raises
    ------
    ImportFormatError
        Not UTF-8, not valid JSON (line and column), empty, or nested deeper than
        :data:`MAX_JSON_DEPTH` (line and column of the first level too deep).
    """
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise ImportFormatError(where, f"not UTF-8 text (byte {exc.start}: {exc.reason})",
                                "export the file again as UTF-8 JSON") from exc
    if not text.strip():
        raise ImportFormatError(where, "empty file", "the export may have failed; export it again")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            where, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            "the file may be truncated; export it again",
        ) from exc
    except RecursionError:
        deep = _nesting_at(text, MAX_JSON_DEPTH)
        at = f"line {deep[0]}, column {deep[1]}: " if deep else ""
        raise ImportFormatError(where, f"{at}JSON nested too deep for Python's parser (more than "
                                f"{MAX_JSON_DEPTH} levels there; no export nests so deep)",
                                "the file is damaged or not an export") from None
    return data


def read_json_file(path: str | Path, *, member: str | None = None) -> Any:
    """Parse a JSON file (optionally ``member`` of a zip archive), raising :class:`ImportFormatError`."""
    p = Path(path)
    where = f"{p}!{member}" if member is not None else str(p)
    if member is not None:
        try:
            with zipfile.ZipFile(p) as zf:
                raw = read_zip_member(zf, member, where)
        except (OSError, zipfile.BadZipFile) as exc:
            raise ImportFormatError(p, f"cannot read file ({exc})") from exc
    else:
        raw = read_bytes(p)
    return parse_json(raw, where)
