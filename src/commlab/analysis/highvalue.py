"""The high-value community profile (高价值社群, DOMAIN.md §4): three scores with their inputs.

- **Vertical focus** (垂直细分): ``vertical_focus`` = Herfindahl–Hirschman index of the topic tags on the
  period's content, ``Σ s_t²`` over tag shares (1 = one topic; 1/k for k equally used topics). Missing
  where the data carry no topics.
- **Problem solving** (解决问题导向): ``problem_solving`` = mean(``response_rate``, speed) with speed =
  ``1 / (1 + median_first_response_hours / 24)`` (1 = instant, 0.5 = one day).
- **Trust and ties** (信任与链接): ``trust_ties`` = mean(``reciprocity``, ``repeated_ties_share``,
  ``avg_clustering``) where ``repeated_ties_share`` is the share of connected member pairs (undirected)
  that interacted at least twice in the period.

All three are in [0, 1], higher is better. The scores are **Python over DuckDB results**; their inputs
are registered metrics, so :func:`high_value_profile` can show them side by side.

Group sizes (``n``, see :mod:`commlab.analysis.metrics`): ``vertical_focus`` counts the authors of
tagged content, ``repeated_ties_share`` and ``peer_tie_strength`` the accounts in the pairs, and
``problem_solving`` the members who posted (as ``response_rate``); ``trust_ties`` has none.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from commlab.analysis.metrics import Metric, MetricContext, _run, get_metric, register
from commlab.analysis.network import network_table
from commlab.data.schema import Col

__all__ = ["PROFILE", "speed_score", "high_value_profile"]

#: Score -> its inputs (metric ids).
PROFILE: dict[str, tuple[str, ...]] = {
    "vertical_focus": ("vertical_focus",),
    "problem_solving": ("response_rate", "median_first_response_hours"),
    "trust_ties": ("reciprocity", "repeated_ties_share", "avg_clustering"),
}


def speed_score(hours: float) -> float:
    """``1 / (1 + hours / 24)``: 1 for an instant answer, 0.5 after a day; NaN stays NaN."""
    return math.nan if hours is None or math.isnan(hours) else 1.0 / (1.0 + max(hours, 0.0) / 24.0)


def _nanmean(values: list[float]) -> float:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(vals)) if vals else math.nan


def _metric(ctx: MetricContext, metric_id: str) -> pd.DataFrame:
    """``community_id, period, value, n`` of a registered metric, computed once per call."""
    return _run(get_metric(metric_id), ctx)


def _vertical_focus(ctx: MetricContext) -> pd.DataFrame:
    return ctx.query("""
WITH tags AS (
  SELECT p.community_id, p.period, e.member_id, trim(t.tag) AS tag
  FROM periods p JOIN ev e ON e.community_id = p.community_id AND e.ts > p.p_start AND e.ts <= p.p_end
    AND e.event_type IN ('message', 'post', 'reply') AND e.topic IS NOT NULL,
  LATERAL (SELECT unnest(string_split(e.topic, ';')) AS tag) t),
c AS (SELECT community_id, period, tag, count(*)::DOUBLE AS n FROM tags WHERE tag <> ''
      GROUP BY community_id, period, tag),
authors AS (SELECT community_id, period, count(DISTINCT member_id)::DOUBLE AS n FROM tags WHERE tag <> ''
            GROUP BY community_id, period)
SELECT c.community_id, c.period, sum(c.n * c.n) / (sum(c.n) * sum(c.n)) AS value, max(a.n) AS n
FROM c JOIN authors a ON a.community_id = c.community_id AND a.period = c.period
GROUP BY c.community_id, c.period
""")


def _from_network(ctx: MetricContext, value: str, accounts: str) -> pd.DataFrame:
    """A tie measure of :func:`commlab.analysis.network.network_table` (computed from the graphs' edge arrays
    with the network measures: no table of pairs is grouped in the engine) with its accounts as ``n``."""
    t = network_table(ctx)
    return t[[Col.community_id, "period", value, accounts]].rename(columns={value: "value", accounts: "n"})


def _repeated_ties(ctx: MetricContext) -> pd.DataFrame:
    return _from_network(ctx, "repeated_ties_share", "repeated_ties_accounts")


def _peer_tie_strength(ctx: MetricContext) -> pd.DataFrame:
    return _from_network(ctx, "peer_tie_strength", "peer_tie_accounts")


def _problem_solving(ctx: MetricContext) -> pd.DataFrame:
    rr = _metric(ctx, "response_rate").rename(columns={"value": "rr"})
    h = _metric(ctx, "median_first_response_hours").rename(columns={"value": "h"}).drop(columns="n")
    keys = [Col.community_id, "period"]
    t = ctx.periods[keys].merge(rr, on=keys, how="left").merge(h, on=keys, how="left")
    t["value"] = [
        math.nan if math.isnan(r) else _nanmean([r, speed_score(x)]) for r, x in zip(t["rr"], t["h"], strict=True)
    ]
    return t[[Col.community_id, "period", "value", "n"]]


def _trust_ties(ctx: MetricContext) -> pd.DataFrame:
    net = network_table(ctx)
    rep = _metric(ctx, "repeated_ties_share").rename(columns={"value": "rep"}).drop(columns="n")
    t = net.merge(rep, on=[Col.community_id, "period"], how="left")
    t["value"] = [_nanmean([a, b, c]) for a, b, c in zip(t["reciprocity"], t["rep"], t["avg_clustering"],
                                                         strict=True)]
    return t[[Col.community_id, "period", "value"]]


_SRC = "DOMAIN.md §4 (高价值社群: 垂直细分 · 解决问题导向 · 信任与链接)"
register(Metric(
    "vertical_focus", "垂直聚焦度", "vertical focus (topic HHI)",
    "Herfindahl–Hirschman index of the topic tags (split on ';') of the period's content: Σ share². Missing "
    "without topics. (SQL, run by the Python high-value module.)", "Σ_t (n_t / Σn)²", "index", True, _SRC,
    compute=_vertical_focus, group="high_value", group_size="authors (any role) of tagged content in the period"))
register(Metric(
    "repeated_ties_share", "重复互动关系占比", "repeated ties share",
    "Share of member pairs (undirected) connected by replies/mentions in the period that interacted at least "
    "twice. (Python over DuckDB: from the network's edge arrays.)", "|{pairs with >= 2 interactions}| / |pairs|",
    "share", True, _SRC, compute=_repeated_ties, group="high_value",
    group_size="accounts in the connected pairs (bots excluded)"))
register(Metric(
    "peer_tie_strength", "成员间关系强度", "member-to-member tie strength",
    "Mean number of replies/mentions per connected pair of non-staff members in the period (repeated "
    "member-to-member ties; staff excluded at both ends). (Python over DuckDB: from the network's edge arrays.)",
    "Σ interactions between member pairs / |connected member pairs|", "ratio", True, _SRC,
    compute=_peer_tie_strength, group="high_value", group_size="non-staff members in the connected pairs"))
register(Metric(
    "problem_solving", "解决问题得分", "problem-solving score",
    "Mean of response_rate and the speed score 1 / (1 + median_first_response_hours / 24). (Python over "
    "DuckDB results.)", "mean(response_rate, 1/(1 + h/24))", "index", True, _SRC,
    compute=_problem_solving, group="high_value", group_size="members who posted (as response_rate)"))
register(Metric(
    "trust_ties", "信任与链接得分", "trust-and-ties score",
    "Mean of reciprocity, repeated_ties_share and avg_clustering (those defined). (Python over DuckDB: "
    "networkx.)", "mean(reciprocity, repeated_ties_share, avg_clustering)", "index", True, _SRC,
    compute=_trust_ties, group="high_value"))


def high_value_profile(metrics: pd.DataFrame) -> pd.DataFrame:
    """The three scores beside their inputs, one row per community (its last period).

    Parameters
    ----------
    metrics : DataFrame
        Tidy output of :func:`commlab.analysis.compute.compute_metrics` holding the score and input ids.

    Returns
    -------
    DataFrame
        Indexed by ``community_id``; columns grouped as ``score`` then its inputs.
    """
    from commlab.analysis.metrics import wide

    w = wide(metrics)
    cols: list[str] = []
    for score, inputs in PROFILE.items():
        for c in (score, *inputs):
            if c not in cols:
                cols.append(c)
    return w.reindex(columns=cols)
