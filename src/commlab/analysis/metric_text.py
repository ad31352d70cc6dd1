"""The Chinese texts of the metric registry: definition, formula and source of every metric in zh.

The registry (:mod:`commlab.analysis.metrics`) holds each metric's definition, formula and
source in English; their Chinese lives in one data file beside it, ``metric_text_zh.yaml``
(one entry per metric id and per extra fact of :mod:`commlab.facts`, plus the Chinese of each
distinct source line). Tables shown in a zh report read them through :func:`definition`,
:func:`formula` and :func:`source`; an en table reads the registry unchanged.

Examples
--------
>>> from commlab.analysis.metric_text import definition
>>> definition("lurker_share", "zh", "Share of present members who never created content")[:6]
'在群成员中，'
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from commlab.errors import InvalidArgument

__all__ = ["definition", "formula", "source", "zh_texts", "missing_zh"]

_FILE = "metric_text_zh.yaml"


@cache
def zh_texts() -> dict[str, Any]:
    """The catalogue: ``{"metrics": {id: {"definition", "formula"}}, "sources": {english: chinese}}``.

    Raises
    ------
    InvalidArgument
        When an entry lacks its definition or formula (the file ships with the package).
    """
    text = resources.files("commlab.analysis").joinpath(_FILE).read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    metrics = data.get("metrics") or {}
    for metric_id, entry in metrics.items():
        if not isinstance(entry, dict) or not entry.get("definition") or not entry.get("formula"):
            raise InvalidArgument(f"{_FILE}: metric {metric_id!r} needs a definition and a formula")
    return {"metrics": metrics, "sources": data.get("sources") or {}}


def _text(metric_id: str, field: str, lang: str, english: str) -> str:
    if lang != "zh":
        return english
    entry = zh_texts()["metrics"].get(metric_id) or {}
    return str(entry.get(field) or english)


def definition(metric_id: str, lang: str, english: str) -> str:
    """The definition of ``metric_id`` in ``lang`` (``english``, the registry's text, for en or when missing)."""
    return _text(metric_id, "definition", lang, english)


def formula(metric_id: str, lang: str, english: str) -> str:
    """The formula of ``metric_id`` in ``lang`` (in zh with Chinese words for the quantities)."""
    return _text(metric_id, "formula", lang, english)


def source(english: str, lang: str) -> str:
    """A registry source line (``DOMAIN.md §3 (潜水)``) in ``lang``."""
    if lang != "zh":
        return english
    return str(zh_texts()["sources"].get(english, english))


def missing_zh(ids: list[str], sources: list[str]) -> list[str]:
    """Metric ids and source lines of the arguments that the catalogue has no Chinese for."""
    texts = zh_texts()
    return ([i for i in ids if i not in texts["metrics"]]
            + [s for s in dict.fromkeys(sources) if s not in texts["sources"]])
