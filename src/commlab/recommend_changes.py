"""What changed since the previous run of a playbook: its ``summary.json``, the facts and the recommendations.

Part of :mod:`commlab.recommend` (which re-exports every name).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from commlab.data.schema import Col
from commlab.facts import fact_info
from commlab.recommend_facts import SCHEMA, SCORECARD_METRICS
from commlab.rules import (
    compare_recommendations,
)

__all__ = ["read_previous", "previous_tables", "fact_changes", "recommendation_changes"]


# --------------------------------------------------------------------------- previous run


def read_previous(path: str | Path) -> dict[str, Any] | None:
    """The recommendations part of a previous run's ``summary.json``, or ``None``.

    ``path`` may be a run's ``summary.json`` (step name -> step summary; the step whose summary
    carries :data:`SCHEMA` is used) or a step's own ``summary.json``. A missing or unreadable
    file gives ``None``: the first run of a playbook has nothing to compare with.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> import commlab as cl
    >>> run = pathlib.Path(tempfile.mkdtemp()) / "summary.json"  # a run's summary: step name -> step summary
    >>> step = {"schema": "commlab.recommendations/1", "recommendations": [{"rule_id": "low_base_activity"}]}
    >>> _ = run.write_text(json.dumps({"overview": {"as_of": "2024-06-30"}, "recommendations": step}))
    >>> cl.read_previous(run)["recommendations"]
    [{'rule_id': 'low_base_activity'}]
    >>> cl.read_previous("") is None, cl.read_previous(run.with_name("missing.json")) is None
    (True, True)
    """
    if not path:
        return None
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get("schema") == SCHEMA:
        return data
    if isinstance(data, dict):
        for part in data.values():
            if isinstance(part, dict) and part.get("schema") == SCHEMA:
                return part
    return None


def previous_tables(previous: dict[str, Any] | None) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The facts and recommendations of a previous run (from :func:`read_previous`), or ``(None, None)``."""
    if previous is None:
        return None, None
    facts = pd.DataFrame(previous.get("facts") or [], columns=[Col.community_id, "metric_id", "value"])
    facts["value"] = pd.to_numeric(facts["value"], errors="coerce")
    recs = pd.DataFrame(previous.get("recommendations") or [],
                        columns=[Col.community_id, "rule_id", "severity", "title"])
    return facts, recs


def fact_changes(facts: pd.DataFrame, previous: pd.DataFrame | None,
                 metrics: tuple[str, ...] | list[str] = SCORECARD_METRICS) -> pd.DataFrame:
    """How the chosen facts moved since the previous run.

    Returns
    -------
    DataFrame
        ``community_id, metric_id, before, after, change, better`` (``better``: True when the
        move is in the metric's good direction, False when against it, None when the metric has
        no direction or did not move), only rows where both values exist and differ.
    """
    cols = [Col.community_id, "metric_id", "before", "after", "change", "better"]
    if previous is None or not len(previous):
        return pd.DataFrame(columns=cols)
    now = facts[facts["metric_id"].isin(metrics)][[Col.community_id, "metric_id", "value"]]
    before = previous[previous["metric_id"].isin(metrics)][[Col.community_id, "metric_id", "value"]]
    m = now.merge(before, on=[Col.community_id, "metric_id"], suffixes=("_after", "_before")).dropna()
    m = m[~(m["value_after"] - m["value_before"]).abs().lt(1e-12)]
    out = pd.DataFrame({
        Col.community_id: m[Col.community_id], "metric_id": m["metric_id"],
        "before": m["value_before"], "after": m["value_after"], "change": m["value_after"] - m["value_before"],
    })
    def better(row: pd.Series) -> bool | None:
        info = fact_info(row["metric_id"])
        if info is None or info.direction is None:
            return None
        return bool((row["change"] > 0) == info.direction)
    out["better"] = [better(r) for _, r in out.iterrows()] if len(out) else []
    order = {mid: i for i, mid in enumerate(metrics)}
    return out.sort_values([Col.community_id, "metric_id"], key=lambda s: s.map(order) if s.name == "metric_id"
                           else s).reset_index(drop=True)[cols]


def recommendation_changes(recs: pd.DataFrame, previous_recs: pd.DataFrame | None, *,
                           rules: list[Any] | None = None, lang: str = "en") -> pd.DataFrame:
    """``compare_recommendations`` with each row's severity and title.

    Resolved recommendations take their severity and title from the previous run, or from
    ``rules`` (in ``lang``) when the rule is still in the rule set, so a report never mixes
    the languages of two runs.
    """
    status = compare_recommendations(recs, previous_recs)
    info = pd.concat([recs[[Col.community_id, "rule_id", "severity", "title"]],
                      previous_recs[[Col.community_id, "rule_id", "severity", "title"]]
                      if previous_recs is not None and len(previous_recs) else None], ignore_index=True)
    info = info.drop_duplicates([Col.community_id, "rule_id"], keep="first")
    out = status.merge(info, on=[Col.community_id, "rule_id"], how="left")
    titles = {r.id: r.title.get(lang) for r in rules or []}
    out["title"] = [titles.get(rid, t) for rid, t in zip(out["rule_id"], out["title"], strict=True)]
    return out
