"""A notebook's machine-readable results (``summary.json``, tables): writing them, and reading a run's back.

Writes are atomic (:mod:`commlab.atomic`: temporary file, then ``os.replace``), so a reader never sees
half a file.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from commlab.atomic import atomic_write_json

__all__ = ["to_jsonable", "write_json", "write_summary", "summary_part", "summary_number"]


def to_jsonable(obj: Any) -> Any:
    """Convert pandas/numpy values (and NaN) into plain JSON values."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return to_jsonable(obj.reset_index().to_dict(orient="records")) if not isinstance(
            obj.index, pd.RangeIndex) else to_jsonable(obj.to_dict(orient="records"))
    if isinstance(obj, pd.Series):
        return to_jsonable(obj.to_dict())
    if isinstance(obj, pd.Timestamp | datetime | date):
        return obj.isoformat()
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None
    if obj is pd.NA or obj is pd.NaT:
        return None
    return obj


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as pretty UTF-8 JSON to ``path`` atomically (:func:`commlab.atomic.atomic_write_json`).

    pandas/numpy values become plain JSON (:func:`to_jsonable`); the folder is created. A value JSON
    cannot hold raises ``TypeError`` and leaves no file.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_json(p, to_jsonable(data), default=None)


def write_summary(output_dir: str | Path, data: dict[str, Any]) -> Path:
    """Write ``output_dir/summary.json``.

    Examples
    --------
    >>> import json, tempfile
    >>> import pandas as pd
    >>> import commlab as cl
    >>> path = cl.nb.write_summary(tempfile.mkdtemp(), {"as_of": pd.Timestamp("2024-06-30", tz="UTC"),
    ...                                                 "share": float("nan")})
    >>> json.loads(path.read_text(encoding="utf-8"))
    {'as_of': '2024-06-30T00:00:00+00:00', 'share': None}
    """
    return write_json(Path(output_dir) / "summary.json", data)


def summary_part(summary: dict[str, Any] | None, schema: str) -> dict[str, Any] | None:
    """The part of a run's ``summary.json`` (step name -> that step's summary) that says it is ``schema``.

    A step that writes a payload for the report marks it with ``"schema"`` (``commlab.recommendations/1``,
    ``commlab.early_warning/1``); the first step whose summary carries it is the one, ``None`` if no step's does.

    Examples
    --------
    >>> summary_part({"01": {"rows": 3}, "05": {"schema": "x/1", "facts": []}}, "x/1")
    {'schema': 'x/1', 'facts': []}
    >>> summary_part(None, "x/1") is None
    True
    """
    for part in (summary or {}).values():
        if isinstance(part, dict) and part.get("schema") == schema:
            return part
    return None


def summary_number(value: Any) -> float | None:
    """A number read back from ``summary.json`` as a float; ``None`` when missing, NaN or not a number.

    Examples
    --------
    >>> summary_number(3), summary_number("0.5"), summary_number(None), summary_number("n/a")
    (3.0, 0.5, None, None)
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v
