"""The evidence of a recommendation in words: plainly for the client, as the rule's threshold for the appendix.

:func:`commlab.rules.evaluate_rules` keeps, for each fired rule, the comparisons that were met
(one dict per condition: the metric, its value, the threshold, the peer median, the previous
value). This module writes them for a reader, in one language, every word taken from
:mod:`commlab.rules_text`:

* :func:`evidence_text` — what a client reads: ``新成员 30 日留存 18%，同类社群中位数 45%`` /
  ``30-day newcomer retention 18%, peer median 45%``;
* :func:`threshold_text` — the rule's comparison, for the appendix:
  ``新成员 30 日留存 18% < 0.8 × 同类社群中位数 45%（= 36%）``.

An item hidden for privacy (``{"metric": ..., "suppressed": True}``, see
:func:`commlab.recommend.with_evidence_text`) is named without its value.
"""

from __future__ import annotations

from typing import Any

from commlab.data.schema import VOCABULARIES
from commlab.facts import MEMBER_COUNT_FACTS, fact_info, fact_name
from commlab.privacy import DEFAULT_K
from commlab.rules_text import METRIC_WORDS, OPS, format_value, metric_label, tr

__all__ = ["evidence_text", "threshold_text", "evidence_unit"]

#: Facts whose unit reads differently in a sentence than in a table: a difference of two shares
#: is a number of percentage points.
_UNITS: dict[str, str] = {"first_cohort_retention_gap": "points"}


def evidence_unit(metric: str) -> str:
    """The unit a value of ``metric`` is written in (``share``, ``count``, ``days`` ..., ``points``)."""
    if metric in _UNITS:
        return _UNITS[metric]
    info = fact_info(metric)
    return info.unit if info is not None else ""


def _label(metric: str, lang: str) -> str:
    return metric_label(metric, lang, fallback=fact_name(metric, lang))


def _value(metric: str, value: Any, lang: str) -> str:
    return format_value(value, evidence_unit(metric), lang)


#: How a multiple reads in each language's phrases, and what it becomes under 1 (``{v}`` then a percentage):
#: "是前 3 天的 0.0032 倍" reads "是前 3 天的 0.3%", "at 0.0032 times those" reads "at 0.3% of those".
_TIMES = {"zh": ("{v} 倍", "{v}"), "en": ("{v} times", "{v} of")}


def _phrase(metric: str, value: Any, lang: str) -> str:
    words = METRIC_WORDS.get(metric)
    v = _value(metric, value, lang)
    if words is None:
        return f"{_label(metric, lang)} {v}"
    phrase = words[2] if lang == "zh" else words[3]
    times, share = _TIMES["zh" if lang == "zh" else "en"]
    if times in phrase and isinstance(value, int | float) and 0 <= value < 1:
        return phrase.replace(times, share).format(v=format_value(value, "share", lang))
    return phrase.format(v=v)


def _signed(text: str, value: float) -> str:
    return ("+" + text) if value > 0 else text


def _change(item: dict[str, Any], lang: str) -> str:
    """The change of a ``change`` condition: relative as a signed percentage, absolute in the metric's unit."""
    if item.get("change_kind") == "relative":
        return _signed(format_value(item["change"], "share", lang), item["change"])
    return _signed(_value(item["metric"], item["change"], lang), item["change"])


def _change_threshold(item: dict[str, Any], lang: str) -> str:
    t = float(item["threshold"])
    if item.get("change_kind") == "relative":
        return _signed(format_value(t, "share", lang), t)
    return _signed(_value(item["metric"], t, lang), t)


def _attribute(item: dict[str, Any], lang: str) -> tuple[str, str]:
    """The attribute's name and the community's value, both as labels of the data vocabulary."""
    name = str(item["attribute"])
    vocab = VOCABULARIES.get(name)
    if vocab is None:
        return name, str(item.get("value"))
    return (vocab.zh if lang == "zh" else vocab.en), vocab.label(str(item.get("value")), lang)


def _allowed(item: dict[str, Any], lang: str) -> str:
    vocab = VOCABULARIES.get(str(item["attribute"]))
    values = item.get("threshold")
    values = values if isinstance(values, list) else [values]
    labels = [vocab.label(str(v), lang) if vocab is not None else str(v) for v in values]
    return tr("list_sep", lang).join(labels)


def _one_evidence(item: dict[str, Any], lang: str, k: int) -> str:
    if "attribute" in item:
        name, value = _attribute(item, lang)
        return tr("attribute", lang, name=name, value=value)
    metric = str(item["metric"])
    if item.get("suppressed"):
        key = "hidden_count" if metric in MEMBER_COUNT_FACTS else "hidden_value"
        return tr(key, lang, label=_label(metric, lang), k=k)
    if "change" in item:
        before, after = item["previous"], item["value"]
        key = "rose" if after > before else "fell"
        text = tr(key, lang, label=_label(metric, lang), before=_value(metric, before, lang),
                  after=_value(metric, after, lang))
        if item.get("change_kind") == "relative":
            text += tr("relative", lang, change=_change(item, lang))
        return text
    phrase = _phrase(metric, item.get("value"), lang)
    if "peer_median" in item:
        return tr("peer_median", lang, phrase=phrase, median=_value(metric, item["peer_median"], lang))
    return phrase


def evidence_text(evidence: list[dict[str, Any]], lang: str = "en", k: int = DEFAULT_K) -> str:
    """The evidence of one recommendation in plain words of ``lang``, items joined by ``；`` / ``; ``.

    Examples
    --------
    >>> evidence_text([{"metric": "retention_30d", "value": 0.615, "op": "<", "peer_median": 1.0,
    ...                 "factor": 0.8, "threshold": 0.8}], "en")
    '30-day newcomer retention 62%, peer median 100%'
    """
    return tr("evidence_sep", lang).join(_one_evidence(e, lang, k) for e in evidence)


def _one_threshold(item: dict[str, Any], lang: str) -> str:
    op = OPS.get(str(item.get("op")), str(item.get("op")))
    if "attribute" in item:
        name, value = _attribute(item, lang)
        key = {"in": "threshold_in", "not in": "threshold_not_in"}.get(str(item.get("op")), "threshold_eq")
        return tr(key, lang, name=name, value=value, allowed=_allowed(item, lang), op=op)
    metric = str(item["metric"])
    label = _label(metric, lang)
    hidden = bool(item.get("suppressed"))
    if item.get("change_kind") is not None or "change" in item:
        kind = tr("change_relative" if item.get("change_kind") == "relative" else "change_absolute", lang)
        if hidden:
            return tr("threshold_change_hidden", lang, label=label, kind=kind, op=op,
                      threshold=_change_threshold(item, lang))
        return tr("threshold_change", lang, label=label, kind=kind, change=_change(item, lang), op=op,
                  threshold=_change_threshold(item, lang), before=_value(metric, item["previous"], lang),
                  after=_value(metric, item["value"], lang))
    if item.get("factor") is not None and ("peer_median" in item or hidden):
        factor = f"{float(item['factor']):g}"
        if hidden:
            return tr("threshold_peers_hidden", lang, label=label, op=op, factor=factor)
        return tr("threshold_peers", lang, label=label, value=_value(metric, item["value"], lang), op=op,
                  factor=factor, median=_value(metric, item["peer_median"], lang),
                  threshold=_value(metric, item["threshold"], lang))
    if hidden:
        return tr("threshold_hidden", lang, label=label, op=op, threshold=_value(metric, item.get("threshold"), lang))
    return tr("threshold", lang, label=label, value=_value(metric, item["value"], lang), op=op,
              threshold=_value(metric, item["threshold"], lang))


def threshold_text(evidence: list[dict[str, Any]], lang: str = "en") -> str:
    """The rule's comparisons that were met, e.g. ``僵尸成员占比 52% > 40%``, for the appendix."""
    return tr("evidence_sep", lang).join(_one_threshold(e, lang) for e in evidence)
