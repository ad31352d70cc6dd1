"""Recommendations: the facts the rules read, their evaluation, and the executive summary.

The executive summary of a run (notebook ``05_recommendations``) is built here so the notebook
stays thin:

1. :func:`build_facts` gathers one long table ``community_id, metric_id, value, source`` per
   community: the registered community metrics (:mod:`commlab.analysis.metrics`) over the
   latest period (the ``period_days`` days up to ``as_of``), the operational signals
   (:func:`commlab.analysis.signals.operational_facts`) and the Orbit "one step from the next
   level" count. The rule roles of issue #3 (zombie, core, lurker) are already registered
   metrics (``zombie_share``, ``core_share``, ``lurker_share``), so they are not computed twice.
2. :func:`commlab.rules.evaluate_rules` turns facts into recommendations.
3. :func:`fact_changes` and :func:`recommendation_changes` compare with the previous run of the
   same playbook (its ``summary.json``).
4. :func:`scorecard_html`, :func:`recommendations_html`, :func:`changes_html` render the parts
   of the summary; :func:`summary_payload` is the machine-readable ``summary.json``.

Nothing here identifies a member: facts are per community, and
:func:`suppress_small_communities` hides, in everything rendered or written, every value of a
community with fewer than ``k`` members, every value computed over fewer than ``k`` members
inside a larger one (the fact's group size ``n``: a join cohort of three, two posters), every
member share standing for fewer than ``k`` members (a 2 % core share of 150 members) and every
member count below ``k``; :func:`with_evidence_text` blanks the evidence quoting them.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from commlab.analysis.metrics import compute_metrics, list_metrics, resolve_as_of
from commlab.analysis.orbit import orbit_table
from commlab.analysis.overview import STAFF_ROLES, to_utc
from commlab.analysis.signals import operational_facts
from commlab.data.load import Dataset
from commlab.privacy import DEFAULT_K, MEMBER_COUNT_METRICS, MEMBER_SHARE_METRICS, SUPPRESSED, small_group_mask
from commlab.rules import SEVERITY_ORDER, compare_recommendations, describe_evidence

__all__ = [
    "SCHEMA",
    "SCORECARD_METRICS",
    "FactInfo",
    "EXTRA_FACTS",
    "fact_info",
    "fact_name",
    "fact_definitions",
    "build_facts",
    "as_of_text",
    "suppress_small_communities",
    "MEMBER_COUNT_FACTS",
    "read_previous",
    "previous_tables",
    "with_evidence_text",
    "sort_recommendations",
    "fact_changes",
    "recommendation_changes",
    "scorecard_html",
    "recommendations_html",
    "changes_html",
    "summary_payload",
]

#: Marks the ``summary.json`` of a recommendations step (found inside a run's summary by it).
SCHEMA = "commlab.recommendations/1"
#: Events per batch of communities when :func:`build_facts` reads stored events (≈ 1 GB in pandas).
FACT_BATCH_EVENTS = 2_000_000

#: The handful of metrics on the scorecard, in display order.
SCORECARD_METRICS: tuple[str, ...] = (
    "members", "active_share_30d", "ugc_share", "response_rate", "retention_30d", "zombie_share",
    "member_to_member_share", "buyer_share",
)


@dataclass(frozen=True)
class FactInfo:
    """What a fact is, for tables and the methods appendix (same fields as a registered metric)."""

    id: str
    name_zh: str
    name_en: str
    definition: str
    formula: str
    unit: str
    direction: bool | None
    source: str

    def name(self, lang: str = "en") -> str:
        return self.name_zh if lang == "zh" else self.name_en


#: Facts the rules read that are not registered community metrics.
EXTRA_FACTS: dict[str, FactInfo] = {f.id: f for f in (
    FactInfo("max_days_without_staff_reply", "最长无官方回复天数", "longest wait for a staff reply (days)",
             "Per channel, days from the first member message after the last staff message until as_of; "
             "the longest channel wait of the community (0 when staff spoke last).",
             "max_channel (as_of − first member message after last staff message)", "days", False,
             "commlab.analysis.signals; DOMAIN.md §4 (对接用户获得反馈)"),
    FactInfo("recently_inactive_top_members", "近期沉默的头部成员数", "top members gone quiet",
             "Members among the top 5 % by content in the 90 days before as_of whose last activity was "
             "7–28 days before as_of.", "|{top 5 % contributors : 7 <= days quiet <= 28}|", "count", False,
             "commlab.analysis.signals; Orbit Model (recently inactive)"),
    FactInfo("first_cohort_retention_gap", "首批成员留存差", "first-cohort retention gap",
             "Retention (active 30–60 days after joining) of members who joined within 14 days of the "
             "community's creation minus that of later members.", "retention_first − retention_later",
             "share", True, "commlab.analysis.signals; DOMAIN.md §4 (初始成员篩選要嚴格)"),
    FactInfo("near_next_orbit_members", "接近下一轨道层级的成员数", "members near the next Orbit level",
             "Non-staff members whose Orbit love is at most 0.1 below the threshold of the next level.",
             "|{m : 0 < threshold_next − love_m <= 0.1}|", "count", None,
             "commlab.analysis.orbit; Orbit Model"),
)}


#: Facts that count members (shown as ``<k`` when ``0 < value < k``).
MEMBER_COUNT_FACTS: tuple[str, ...] = (*MEMBER_COUNT_METRICS, "recently_inactive_top_members",
                                       "near_next_orbit_members")


def fact_info(metric_id: str) -> FactInfo | None:
    """Description of a fact: a registered metric or one of :data:`EXTRA_FACTS`; ``None`` if unknown."""
    if metric_id in EXTRA_FACTS:
        return EXTRA_FACTS[metric_id]
    for m in list_metrics():
        if m.id == metric_id:
            return FactInfo(m.id, m.name_zh, m.name_en, m.definition, m.formula, m.unit, m.direction, m.source)
    return None


def fact_name(metric_id: str, lang: str = "en") -> str:
    """Display name of a fact in ``lang`` (the id itself when unknown)."""
    info = fact_info(metric_id)
    return info.name(lang) if info is not None else metric_id


def fact_definitions(lang: str = "en") -> pd.DataFrame:
    """Every registered metric and extra fact: id, name, definition, formula, unit, direction, source."""
    rows = [FactInfo(m.id, m.name_zh, m.name_en, m.definition, m.formula, m.unit, m.direction, m.source)
            for m in list_metrics()] + list(EXTRA_FACTS.values())
    arrow = {True: "↑", False: "↓", None: "·"}
    return pd.DataFrame([{
        "id": f.id, "name_zh": f.name_zh, "name_en": f.name_en, "definition": f.definition,
        "formula": f.formula, "unit": f.unit, "direction": arrow[f.direction], "source": f.source,
    } for f in rows])


# --------------------------------------------------------------------------- facts


def _near_next_orbit(events: pd.DataFrame, members: pd.DataFrame, ids: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    orbit = orbit_table(events, members, as_of=as_of)
    staff = members.loc[members["role"].isin(STAFF_ROLES), ["community_id", "member_id"]]
    orbit = orbit.merge(staff.assign(_staff=True), on=["community_id", "member_id"], how="left")
    near = orbit[orbit["near_next_level"] & orbit["_staff"].isna()].groupby("community_id").size()
    return near.reindex(ids).fillna(0).astype("float64")


def _community_batches(data: Dataset, ids: pd.Index, batch_events: int) -> list[list[str]]:
    """``ids`` in groups of about ``batch_events`` events (one group when the events are in memory)."""
    if data.events_loaded:
        return [list(ids)]
    counts = data.event_counts().reindex(sorted(ids), fill_value=0)  # file order: sorted by community
    batches: list[list[str]] = [[]]
    total = 0
    for c, n in counts.items():
        if batches[-1] and total + n > batch_events:
            batches.append([])
            total = 0
        batches[-1].append(str(c))
        total += int(n)
    return batches


def _as_one_call(ops: pd.DataFrame, order: pd.Series) -> pd.DataFrame:
    """Rows of batched :func:`operational_facts` calls in the order of one call: by fact, then community."""
    fact_rank = {m: i for i, m in enumerate(dict.fromkeys(ops["metric_id"]))}
    community_rank = {c: i for i, c in enumerate(order)}
    pos = np.lexsort((ops["community_id"].astype(str).map(community_rank).to_numpy(),
                      ops["metric_id"].map(fact_rank).to_numpy()))
    return ops.iloc[pos].reset_index(drop=True)


def build_facts(data: Dataset, *, as_of: Any, period_days: int = 30,
                batch_events: int = FACT_BATCH_EVENTS) -> pd.DataFrame:
    """The facts the rules read, one row per community and fact.

    Parameters
    ----------
    data : Dataset
        Loaded, validated tables (``communities``, ``members``, ``events``).
    as_of : str, Timestamp, mapping or Series
        The analysis instant: one ISO date/time (UTC when naive) for every community, the rule
        ``"created+<N>d"`` (each community at its creation + N days, as the Stack Exchange
        playbook measures sites that live in different years), or ``community_id -> instant``;
        resolved by :func:`commlab.analysis.metrics.resolve_as_of`.
    period_days : int, default 30
        Length of the latest period over which flow metrics (content, purchases, responses) are
        counted; stock and trailing metrics are taken at each community's instant.
    batch_events : int, default :data:`FACT_BATCH_EVENTS`
        When the events are stored (read back from the data cache), the operational signals
        and Orbit levels read them a group of communities of about this many events at a
        time, instead of the whole event log into pandas. Events in memory are used as they are.

    Returns
    -------
    DataFrame
        ``community_id, metric_id, value, source, n`` (``source``: ``metrics``, ``signals``,
        ``orbit``); NaN where a metric is not defined. ``n`` is the metric's group size (the
        members its value is computed over, see :mod:`commlab.analysis.metrics`), NaN where
        there is none.

    Raises
    ------
    ValueError
        If ``as_of`` is empty, malformed, or leaves a community without an instant.
    """
    communities = data.communities
    ends = resolve_as_of(as_of, communities)
    metrics = compute_metrics(data, as_of=ends, window=None, start=ends - pd.Timedelta(days=period_days))
    parts = [metrics[["community_id", "metric_id", "value", "n"]].assign(source="metrics")]
    # signals and Orbit levels take one instant: evaluate each group of communities sharing one
    cid = communities["community_id"].astype(str)
    for end, ids in ends.groupby(ends, sort=True):
        ids = pd.Index(ids.index.astype(str))
        ops_parts, near_parts = [], []
        # every signal is computed within one community: stored events are read a batch of
        # communities at a time, so at most about `batch_events` events are held in pandas
        for batch in _community_batches(data, ids, batch_events):
            events = data.events_of(batch)
            members = data.members[data.members["community_id"].astype(str).isin(batch)]
            ops_parts.append(operational_facts(events, members, communities[cid.isin(batch).to_numpy()], as_of=end))
            near_parts.append(_near_next_orbit(events, members, pd.Series(batch), end))
            del events, members
        ops = _as_one_call(pd.concat(ops_parts, ignore_index=True), cid[cid.isin(ids)])
        near = pd.concat(near_parts).reindex(ids)
        parts += [ops.assign(source="signals"),
                  pd.DataFrame({"community_id": ids.to_numpy(), "metric_id": "near_next_orbit_members",
                                "value": near.to_numpy(), "source": "orbit"})]
    out = pd.concat(parts, ignore_index=True)
    out["community_id"] = out["community_id"].astype(str)
    out["metric_id"] = out["metric_id"].astype(str)
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype("float64")
    out["n"] = pd.to_numeric(out["n"], errors="coerce").astype("float64")
    out = out[["community_id", "metric_id", "value", "source", "n"]]
    return out.drop_duplicates(["community_id", "metric_id"], keep="first").reset_index(drop=True)


def as_of_text(as_of: Any, communities: pd.DataFrame) -> str:
    """The analysis instant as the report states it.

    One instant for all communities: ``2024-06-30 16:00 UTC``. Otherwise the rule and the
    span of the instants, e.g. ``created+180d (2010-06-01 → 2014-02-11 UTC)``.
    """
    ends = resolve_as_of(as_of, communities)
    if ends.nunique() == 1:
        return f"{ends.iloc[0]:%Y-%m-%d %H:%M} UTC"
    rule = as_of if isinstance(as_of, str) else "per community"
    return f"{rule} ({ends.min():%Y-%m-%d} → {ends.max():%Y-%m-%d} UTC)"


def suppress_small_communities(facts: pd.DataFrame, k: int = DEFAULT_K) -> tuple[pd.DataFrame, list[str]]:
    """Blank every fact that stands for fewer than ``k`` members.

    Hidden (the value becomes NaN and the row's ``suppressed`` flag True):

    * every fact of a community with ``0 < members < k`` (the ``members`` fact stays: the
      scorecard says the community was suppressed);
    * a fact whose group size ``n`` (column ``n``, when present: the members its value is computed
      over) is ``0 < n < k``: the retention of a join cohort of three, the response rate of two
      posters, the content share of the top 1 %;
    * a member share (:data:`commlab.privacy.MEMBER_SHARE_METRICS`) standing for fewer than ``k``
      members inside a larger community (``round(share × members)``): a 2 % core share of 150
      members is 3 people;
    * a member count (:data:`MEMBER_COUNT_FACTS`) with ``0 < value < k``.

    Zero is never hidden: an empty group singles out nobody.

    Parameters
    ----------
    facts : DataFrame
        From :func:`build_facts` (``community_id, metric_id, value`` and optionally ``n``).
    k : int, default 5
        Smallest group shown; ``k <= 1`` hides nothing.

    Returns
    -------
    (DataFrame, list of str)
        The facts with a boolean ``suppressed`` column, and the ids of the communities suppressed
        as a whole.
    """
    out = facts.copy()
    out["suppressed"] = False
    if k <= 1:
        return out, []
    size = facts[facts["metric_id"] == "members"].set_index("community_id")["value"]
    small = sorted(size[(size > 0) & (size < k)].index.astype(str))
    value = pd.to_numeric(out["value"], errors="coerce")
    hide = out["community_id"].isin(small) & (out["metric_id"] != "members")
    if "n" in out.columns:
        hide |= small_group_mask(out["n"], k) & value.notna()
    members = out["community_id"].map(size).astype("float64")
    is_share = out["metric_id"].isin(MEMBER_SHARE_METRICS)
    hide |= is_share & small_group_mask((value * members).round(), k)
    hide |= out["metric_id"].isin(MEMBER_COUNT_FACTS) & small_group_mask(value, k)
    out.loc[hide, "value"] = float("nan")
    out["suppressed"] = hide.to_numpy()
    return out, small


# --------------------------------------------------------------------------- previous run


def read_previous(path: str | Path) -> dict[str, Any] | None:
    """The recommendations part of a previous run's ``summary.json``, or ``None``.

    ``path`` may be a run's ``summary.json`` (step name -> step summary; the step whose summary
    carries :data:`SCHEMA` is used) or a step's own ``summary.json``. A missing or unreadable
    file gives ``None``: the first run of a playbook has nothing to compare with.
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
    facts = pd.DataFrame(previous.get("facts") or [], columns=["community_id", "metric_id", "value"])
    facts["value"] = pd.to_numeric(facts["value"], errors="coerce")
    recs = pd.DataFrame(previous.get("recommendations") or [], columns=["community_id", "rule_id", "severity", "title"])
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
    cols = ["community_id", "metric_id", "before", "after", "change", "better"]
    if previous is None or not len(previous):
        return pd.DataFrame(columns=cols)
    now = facts[facts["metric_id"].isin(metrics)][["community_id", "metric_id", "value"]]
    before = previous[previous["metric_id"].isin(metrics)][["community_id", "metric_id", "value"]]
    m = now.merge(before, on=["community_id", "metric_id"], suffixes=("_after", "_before")).dropna()
    m = m[~(m["value_after"] - m["value_before"]).abs().lt(1e-12)]
    out = pd.DataFrame({
        "community_id": m["community_id"], "metric_id": m["metric_id"],
        "before": m["value_before"], "after": m["value_after"], "change": m["value_after"] - m["value_before"],
    })
    def better(row: pd.Series) -> bool | None:
        info = fact_info(row["metric_id"])
        if info is None or info.direction is None:
            return None
        return bool((row["change"] > 0) == info.direction)
    out["better"] = [better(r) for _, r in out.iterrows()] if len(out) else []
    order = {mid: i for i, mid in enumerate(metrics)}
    return out.sort_values(["community_id", "metric_id"], key=lambda s: s.map(order) if s.name == "metric_id"
                           else s).reset_index(drop=True)[cols]


def recommendation_changes(recs: pd.DataFrame, previous_recs: pd.DataFrame | None, *,
                           rules: list[Any] | None = None, lang: str = "en") -> pd.DataFrame:
    """``compare_recommendations`` with each row's severity and title.

    Resolved recommendations take their severity and title from the previous run, or from
    ``rules`` (in ``lang``) when the rule is still in the rule set, so a report never mixes
    the languages of two runs.
    """
    status = compare_recommendations(recs, previous_recs)
    info = pd.concat([recs[["community_id", "rule_id", "severity", "title"]],
                      previous_recs[["community_id", "rule_id", "severity", "title"]]
                      if previous_recs is not None and len(previous_recs) else None], ignore_index=True)
    info = info.drop_duplicates(["community_id", "rule_id"], keep="first")
    out = status.merge(info, on=["community_id", "rule_id"], how="left")
    titles = {r.id: r.title.get(lang) for r in rules or []}
    out["title"] = [titles.get(rid, t) for rid, t in zip(out["rule_id"], out["title"], strict=True)]
    return out


# --------------------------------------------------------------------------- rendering

_WORDS = {
    "community": ("社群", "Community"), "severity": ("优先级", "Priority"), "finding": ("发现", "Finding"),
    "action": ("建议行动", "Recommended action"), "evidence": ("依据", "Evidence"), "status": ("状态", "Status"),
    "metric": ("指标", "Metric"), "before": ("上次", "Previous"), "after": ("本次", "Now"),
    "change": ("变化", "Change"), "high": ("高", "high"), "medium": ("中", "medium"), "low": ("低", "low"),
    "new": ("新增", "new"), "ongoing": ("持续", "ongoing"), "resolved": ("已解决", "resolved"),
    "suppressed": ("成员少于 {k} 人，数值不显示", "fewer than {k} members: values suppressed"),
    "hidden": ("{n} 个数值代表的成员少于 {k} 人，记作 {dash}（人数记作 <{k}）。",
               "{n} value(s) standing for fewer than {k} members shown as {dash} (counts as <{k})."),
    "legend": ("颜色：与本次所有社群的中位数相比（按指标方向）<span class='cl-good'>较好</span> · "
               "<span class='cl-bad'>较差</span>；↑/↓ 为较上次运行的变化。",
               "Colour: against the median of the communities in this run, by the metric's direction: "
               "<span class='cl-good'>better</span> · <span class='cl-bad'>worse</span>; ↑/↓ = change since "
               "the previous run."),
}


def _w(key: str, lang: str, **kw: Any) -> str:
    zh, en = _WORDS[key]
    return (zh if lang == "zh" else en).format(**kw)


def _fmt(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "share":
        return f"{value:.0%}"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:.3g}"


def scorecard_html(facts: pd.DataFrame, names: dict[str, str], *, lang: str = "en",
                   metrics: tuple[str, ...] | list[str] = SCORECARD_METRICS,
                   changes: pd.DataFrame | None = None, suppressed: list[str] | None = None,
                   k: int = DEFAULT_K) -> str:
    """A scorecard: one row per community, one column per key metric, coloured by direction.

    A cell is green when the community is better than the median of the communities of this run
    (in the metric's direction), red when worse; metrics without a direction are not coloured.
    With ``changes``, an arrow shows the move since the previous run.
    """
    e = html.escape
    wide = facts[facts["metric_id"].isin(metrics)].pivot_table(
        index="community_id", columns="metric_id", values="value", aggfunc="first", dropna=False)
    wide = wide.reindex(index=list(names), columns=list(metrics))
    hidden = _hidden(facts)
    medians = wide.median()
    moved = {} if changes is None or not len(changes) else {
        (r.community_id, r.metric_id): r for r in changes.itertuples()}
    head = "".join(f"<th>{e(fact_name(m, lang))}</th>" for m in metrics)
    rows = []
    for cid in wide.index:
        cells = []
        for m in metrics:
            info = fact_info(m)
            v = wide.loc[cid, m]
            cls = ""
            if info is not None and info.direction is not None and not pd.isna(v) and wide[m].count() > 1:
                if v != medians[m]:
                    cls = "cl-good" if (v > medians[m]) == info.direction else "cl-bad"
            text = _fmt(v, info.unit if info else "")
            if (cid, m) in hidden and not (suppressed and cid in suppressed):
                text = f"&lt;{k}" if m in MEMBER_COUNT_FACTS else SUPPRESSED
            r = moved.get((cid, m))
            if r is not None:
                arrow = "↑" if r.change > 0 else "↓"
                tone = "" if r.better is None else (" cl-up" if r.better else " cl-down")
                text += f" <span class='cl-delta{tone}'>{arrow}{_fmt(abs(r.change), info.unit if info else '')}</span>"
            cells.append(f"<td class='{cls}'>{text}</td>")
        label = e(names.get(cid, cid))
        if suppressed and cid in suppressed:
            label += f"<br><small>{e(_w('suppressed', lang, k=k))}</small>"
        rows.append(f"<tr><th>{label}</th>{''.join(cells)}</tr>")
    shown_hidden = sum(1 for cid, m in hidden if cid in wide.index and m in wide.columns
                       and not (suppressed and cid in suppressed))
    note = f"<p class='cl-legend'>{e(_w('hidden', lang, n=shown_hidden, k=k, dash=SUPPRESSED))}</p>" \
        if shown_hidden else ""
    return (f"<table class='cl-scorecard'><thead><tr><th>{_w('community', lang)}</th>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table><p class='cl-legend'>{_w('legend', lang)}</p>{note}")


def _hidden(facts: pd.DataFrame | None) -> set[tuple[str, str]]:
    """``(community_id, metric_id)`` of the facts :func:`suppress_small_communities` hid."""
    if facts is None or "suppressed" not in facts.columns:
        return set()
    h = facts[facts["suppressed"].fillna(False).astype(bool)]
    return set(zip(h["community_id"].astype(str), h["metric_id"].astype(str), strict=True))


def _evidence_text(evidence: list[dict[str, Any]], lang: str, k: int = DEFAULT_K) -> str:
    parts = []
    for ev in evidence:
        if ev.get("suppressed"):
            shown = f"<{k}" if ev["metric"] in MEMBER_COUNT_FACTS else SUPPRESSED
            parts.append(f"{fact_name(ev['metric'], lang)} = {shown}")
        else:
            named = {**ev, "metric": fact_name(ev["metric"], lang)} if "metric" in ev else ev
            parts.append(describe_evidence([named], lang))
    return "; ".join(parts)


def with_evidence_text(recs: pd.DataFrame, lang: str = "en",
                       suppressed: list[str] | tuple[str, ...] = (), *, facts: pd.DataFrame | None = None,
                       k: int = DEFAULT_K) -> pd.DataFrame:
    """Add ``evidence_text`` (one line, metric names in ``lang``), hiding what stands for fewer than ``k`` members.

    Parameters
    ----------
    recs : DataFrame
        From :func:`commlab.rules.evaluate_rules` (evaluated on the facts before suppression).
    lang : str
        Language of the metric names.
    suppressed : list of str
        Communities suppressed as a whole: their evidence is blanked (``—``, an empty list).
    facts : DataFrame, optional
        The output of :func:`suppress_small_communities`: an evidence item quoting a fact it hid
        keeps only the metric's name, reads ``metric = —`` (``<k`` for a member count) and loses
        its value, previous value and change.
    k : int, default 5
        The threshold, for the ``<k`` of hidden counts.
    """
    out = recs.copy()
    hidden = _hidden(facts)
    hide = out["community_id"].isin(list(suppressed)).tolist()
    evidence = []
    for cid, h, ev in zip(out["community_id"], hide, out["evidence"], strict=True):
        if h:
            evidence.append([])
            continue
        evidence.append([{"metric": e["metric"], "op": e.get("op"), "suppressed": True}
                         if (str(cid), str(e.get("metric"))) in hidden else e for e in ev])
    out["evidence_text"] = ["—" if h else _evidence_text(ev, lang, k) for h, ev in zip(hide, evidence, strict=True)]
    out["evidence"] = evidence
    return out


def recommendations_html(recs: pd.DataFrame, names: dict[str, str], *, lang: str = "en", top: int = 12,
                         status: pd.DataFrame | None = None) -> str:
    """The top ``top`` recommendations (by severity) with action and evidence, as an HTML table."""
    e = html.escape
    if not len(recs):
        return "<p>" + ("本次没有触发任何建议。" if lang == "zh" else "No recommendation fired in this run.") + "</p>"
    st = {} if status is None else {(r.community_id, r.rule_id): r.status for r in status.itertuples()}
    shown = recs.head(top)
    with_status = status is not None
    head = [_w("severity", lang), _w("community", lang), _w("finding", lang), _w("action", lang),
            _w("evidence", lang)] + ([_w("status", lang)] if with_status else [])
    rows = []
    for r in shown.itertuples():
        cells = [f"<span class='cl-sev cl-sev-{e(r.severity)}'>{e(_w(r.severity, lang))}</span>",
                 e(names.get(r.community_id, r.community_id)), f"<b>{e(r.title)}</b>", e(r.action),
                 e(r.evidence_text)]
        if with_status:
            cells.append(e(_w(st.get((r.community_id, r.rule_id), "new"), lang)))
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    more = len(recs) - len(shown)
    tail = (f"<p>{'另有' if lang == 'zh' else 'And'} {more} "
            f"{'条建议见 summary.json。' if lang == 'zh' else 'more in summary.json.'}</p>") if more > 0 else ""
    return ("<table class='cl-recs'><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>" + tail)


def changes_html(changes: pd.DataFrame, rec_status: pd.DataFrame, names: dict[str, str], *, lang: str = "en",
                 top: int = 20) -> str:
    """What moved since the previous run and the new / ongoing / resolved counts and lists.

    The key-metric moves are listed largest relative change first, at most ``top`` of them
    (all are in ``summary.json``).
    """
    e = html.escape
    counts = rec_status["status"].value_counts().to_dict() if len(rec_status) else {}
    line = " · ".join(f"{_w(s, lang)}: {int(counts.get(s, 0))}" for s in ("new", "ongoing", "resolved"))
    parts = [f"<p><b>{'建议' if lang == 'zh' else 'Recommendations'}</b> — {e(line)}</p>"]
    for s in ("new", "resolved"):
        sub = rec_status[rec_status["status"] == s]
        if len(sub):
            items = "".join(f"<li>{e(names.get(r.community_id, r.community_id))}: {e(str(r.title))}</li>"
                            for r in sub.itertuples())
            parts.append(f"<p>{e(_w(s, lang))}:</p><ul>{items}</ul>")
    if len(changes):
        rel = (changes["change"].abs() / changes["before"].abs().where(changes["before"] != 0)).fillna(float("inf"))
        shown = changes.assign(_rel=rel).sort_values("_rel", ascending=False, kind="stable").head(top)
        rows = []
        for r in shown.itertuples():
            info = fact_info(r.metric_id)
            unit = info.unit if info else ""
            tone = "" if r.better is None else ("cl-good" if r.better else "cl-bad")
            rows.append(f"<tr><td>{e(names.get(r.community_id, r.community_id))}</td>"
                        f"<td>{e(fact_name(r.metric_id, lang))}</td><td>{_fmt(r.before, unit)}</td>"
                        f"<td>{_fmt(r.after, unit)}</td><td class='{tone}'>{'+' if r.change > 0 else '−'}"
                        f"{_fmt(abs(r.change), unit)}</td></tr>")
        head = "".join(f"<th>{_w(k, lang)}</th>" for k in ("community", "metric", "before", "after", "change"))
        parts.append(f"<table class='cl-changes'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
        if len(changes) > len(shown):
            parts.append(f"<p>{'另有' if lang == 'zh' else 'And'} {len(changes) - len(shown)} "
                         f"{'项变化见 summary.json。' if lang == 'zh' else 'more moves in summary.json.'}</p>")
    else:
        parts.append("<p>" + ("关键指标没有变化。" if lang == "zh" else "No key metric moved.") + "</p>")
    return "".join(parts)


def sort_recommendations(recs: pd.DataFrame) -> pd.DataFrame:
    """By severity (high first), then community and rule id."""
    if not len(recs):
        return recs
    return recs.sort_values(["severity", "community_id", "rule_id"],
                            key=lambda s: s.map(SEVERITY_ORDER) if s.name == "severity" else s).reset_index(drop=True)


def _as_of_json(as_of: Any) -> Any:
    """One ISO instant; a rule such as ``created+180d`` as written; a mapping as ``id -> ISO``."""
    if isinstance(as_of, pd.Series | dict):
        return {str(k): to_utc(v).isoformat() for k, v in dict(as_of).items()}
    if isinstance(as_of, str) and as_of.strip().startswith("created+"):
        return as_of.strip()
    return str(to_utc(as_of).isoformat())


def summary_payload(*, as_of: Any, lang: str, period_days: int, k: int, facts: pd.DataFrame, recs: pd.DataFrame,
                    suppressed: list[str], previous: dict[str, Any] | None, changes: pd.DataFrame | None,
                    rec_status: pd.DataFrame | None, rules: list[Any]) -> dict[str, Any]:
    """The ``summary.json`` of the recommendations step (see :data:`SCHEMA`)."""
    return {
        "schema": SCHEMA,
        "as_of": _as_of_json(as_of),
        "lang": lang,
        "period_days": period_days,
        "k_min_group": k,
        "suppressed_communities": suppressed,
        "rules": [r.id for r in rules],
        "facts": facts[["community_id", "metric_id", "value"]].to_dict(orient="records"),
        "recommendations": recs.to_dict(orient="records"),
        "previous": None if previous is None else {"as_of": previous.get("as_of")},
        "changes": None if changes is None else changes.to_dict(orient="records"),
        "recommendation_status": None if rec_status is None else rec_status.to_dict(orient="records"),
    }
