"""Recommendations: the facts the rules read, their evaluation, and the executive summary.

The executive summary of a run (notebook ``05_recommendations``) is built here so the notebook
stays thin:

1. :func:`build_facts` gathers one long table ``community_id, metric_id, value, source`` per
   community: the registered community metrics (:mod:`commlab.analysis.metrics`) over the
   latest period (the ``period_days`` days up to ``as_of``), the operational signals
   (:func:`commlab.analysis.signals.operational_facts`) and the Orbit "one step from the next
   level" count. The rule roles of issue #3 (zombie, core, lurker) are already registered
   metrics (``zombie_share``, ``core_share``, ``lurker_share``), so they are not computed twice.
2. :func:`community_profile` says what each community's data hold (staff members, events of
   each type), so that :func:`commlab.rules.not_applicable` can set aside the rules that do not
   apply there; :func:`commlab.rules.evaluate_rules` turns facts into recommendations where
   the rules apply.
3. :func:`with_evidence_text` writes each recommendation's evidence in plain words and its
   rule threshold (:mod:`commlab.evidence`).
4. :func:`fact_changes` and :func:`recommendation_changes` compare with the previous run of the
   same playbook (its ``summary.json``).
5. :func:`scorecard_html`, :func:`recommendations_html`, :func:`not_applicable_html`,
   :func:`changes_html` render the parts of the summary (templates with autoescape, words from
   :mod:`commlab.rules_text`); :func:`summary_payload` is the machine-readable ``summary.json``.

:func:`executive_summary` runs the whole step; the notebook displays its parts.

Nothing here identifies a member: facts are per community, and
:func:`suppress_small_communities` hides, in everything rendered or written, every value of a
community with fewer than ``k`` members, every value computed over fewer than ``k`` members
inside a larger one (the fact's group size ``n``: a join cohort of three, two posters), every
member share standing for fewer than ``k`` members (a 2 % core share of 150 members) and every
member count below ``k``; :func:`with_evidence_text` blanks the evidence quoting them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from commlab.analysis.compute import compute_metrics
from commlab.analysis.metrics import resolve_as_of
from commlab.analysis.signals_sql import event_facts
from commlab.data.load import Dataset
from commlab.data.schema import EVENT_TYPE, GOAL, PLATFORM
from commlab.evidence import evidence_text, threshold_text
from commlab.facts import EXTRA_FACTS, MEMBER_COUNT_FACTS, FactInfo, fact_definitions, fact_info, fact_name
from commlab.goals import goal_of, scorecard_metrics, without_citations
from commlab.instant import as_utc
from commlab.privacy import DEFAULT_K, MEMBER_SHARE_METRICS, SUPPRESSED, check_k, small_group_mask
from commlab.rules import (
    PROFILE_COLUMNS,
    SEVERITY_ORDER,
    STAFF_MEMBER_ROLES,
    Rule,
    compare_recommendations,
    evaluate_rules,
    not_applicable,
    not_applicable_summary,
)
from commlab.rules_text import format_value, join_words, tr

__all__ = [
    "SCHEMA",
    "SCORECARD_METRICS",
    "FactInfo",
    "EXTRA_FACTS",
    "fact_info",
    "fact_name",
    "fact_definitions",
    "build_facts",
    "community_profile",
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
    "goal_scorecard_html",
    "goals_payload",
    "goal_note",
    "platform_notes",
    "recommendations_html",
    "not_applicable_html",
    "changes_html",
    "summary_payload",
    "ExecutiveSummary",
    "executive_summary",
]

#: Marks the ``summary.json`` of a recommendations step (found inside a run's summary by it).
SCHEMA = "commlab.recommendations/1"

#: The handful of metrics on the scorecard, in display order.
SCORECARD_METRICS: tuple[str, ...] = (
    "members", "active_share_30d", "ugc_share", "response_rate", "retention_30d", "zombie_share",
    "member_to_member_share", "buyer_share",
)


# --------------------------------------------------------------------------- facts


def build_facts(data: Dataset, *, as_of: Any, period_days: int = 30) -> pd.DataFrame:
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

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c01", "c04"])
    >>> facts = cl.build_facts(ds, as_of="2024-06-30T16:00:00Z")
    >>> facts.columns.tolist()
    ['community_id', 'metric_id', 'value', 'source', 'n']
    """
    communities = data.communities
    ends = resolve_as_of(as_of, communities)
    metrics = compute_metrics(data, as_of=ends, window=None, start=ends - pd.Timedelta(days=period_days))
    parts = [metrics[["community_id", "metric_id", "value", "n"]].assign(source="metrics")]
    # the signals and Orbit levels: DuckDB reads the events where they are (the stored file of a run)
    # and returns rows per community or member, never per event (commlab.analysis.signals_sql)
    with event_facts(data.events_source, data.members, communities, ends) as ef:
        ops, near = ef.operational_facts(), ef.near_next_orbit()
    ops["community_id"] = ops["community_id"].astype(str)
    # in the order the facts had when computed per group of communities sharing one instant
    for _, ids in ends.groupby(ends, sort=True):
        ids = pd.Index(ids.index.astype(str))
        parts += [ops[ops["community_id"].isin(ids)].assign(source="signals"),
                  pd.DataFrame({"community_id": ids.to_numpy(), "metric_id": "near_next_orbit_members",
                                "value": near.reindex(ids).to_numpy(), "source": "orbit"})]
    out = pd.concat(parts, ignore_index=True)
    out["community_id"] = out["community_id"].astype(str)
    out["metric_id"] = out["metric_id"].astype(str)
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype("float64")
    out["n"] = pd.to_numeric(out["n"], errors="coerce").astype("float64")
    out = out[["community_id", "metric_id", "value", "source", "n"]]
    return out.drop_duplicates(["community_id", "metric_id"], keep="first").reset_index(drop=True)


def _type_counts_in_memory(events: pd.DataFrame, ends: pd.Series) -> pd.DataFrame:
    ev = events[["community_id", "ts", "event_type"]]
    end = ev["community_id"].astype(str).map(ends)
    ev = ev[ev["ts"] <= end]
    return ev.groupby([ev["community_id"].astype(str), ev["event_type"].astype(str)]).size().rename("n").reset_index()


def _type_counts_stored(relation: str, ends: pd.Series) -> pd.DataFrame:
    import duckdb

    limits = pd.DataFrame({"community_id": ends.index.astype(str),
                           "end_us": (ends.astype("datetime64[us, UTC]").astype("int64")).to_numpy()})
    con = duckdb.connect()
    try:
        con.register("limits", limits)
        rows = con.execute(
            f"SELECT CAST(e.community_id AS VARCHAR), CAST(e.event_type AS VARCHAR), count(*) FROM {relation} e "
            "JOIN limits l ON CAST(e.community_id AS VARCHAR) = l.community_id "
            "WHERE epoch_us(CAST(e.ts AS TIMESTAMPTZ)) <= l.end_us GROUP BY 1, 2"
        ).fetchall()
    finally:
        con.close()
    return pd.DataFrame(rows, columns=["community_id", "event_type", "n"])


def community_profile(data: Dataset, *, as_of: Any) -> pd.DataFrame:
    """What each community's data hold, for the rules' ``requires`` (:data:`commlab.rules.PROFILE_COLUMNS`).

    Parameters
    ----------
    data : Dataset
    as_of : str, Timestamp, mapping or Series
        As for :func:`build_facts`; only events up to each community's instant count.

    Returns
    -------
    DataFrame
        One row per community: ``community_id``, ``staff_members`` (members whose role is owner
        or staff; bots do not count) and ``events_<type>`` for every event type, the number of
        such events up to the instant. Stored events are counted by DuckDB in the file.
    """
    communities = data.communities
    ends = resolve_as_of(as_of, communities)
    ends.index = ends.index.astype(str)
    if data.events_loaded:
        counts = _type_counts_in_memory(data.events, ends)
    else:
        counts = _type_counts_stored(data.events_source.sql(), ends)
    ids = communities["community_id"].astype(str)
    wide = counts.pivot_table(index="community_id", columns="event_type", values="n", aggfunc="sum", fill_value=0)
    wide = wide.reindex(index=ids, columns=EVENT_TYPE.codes, fill_value=0).fillna(0).astype("int64")
    wide.columns = [f"events_{c}" for c in wide.columns]
    members = data.members
    staff = members[members["role"].isin(STAFF_MEMBER_ROLES)].groupby(members["community_id"].astype(str)).size()
    out = wide.reset_index(names="community_id")
    out.insert(1, "staff_members", staff.reindex(ids).fillna(0).astype("int64").to_numpy())
    return out[list(PROFILE_COLUMNS)]


def as_of_text(as_of: Any, communities: pd.DataFrame, lang: str = "en") -> str:
    """The analysis instant as the report states it, in ``lang``.

    One instant for all communities: ``2024-06-30 16:00 UTC``. Otherwise the rule and the
    span of the instants, e.g. ``各社群建群后 180 天（2010-06-01 至 2014-02-11，UTC）`` /
    ``180 days after each community's creation (2010-06-01 to 2014-02-11 UTC)``.
    """
    ends = resolve_as_of(as_of, communities)
    if ends.nunique() == 1:
        return tr("as_of_one", lang, when=f"{ends.iloc[0]:%Y-%m-%d %H:%M}")
    span = {"first": f"{ends.min():%Y-%m-%d}", "last": f"{ends.max():%Y-%m-%d}"}
    rule = re.fullmatch(r"\s*created\+(\d+)d\s*", as_of) if isinstance(as_of, str) else None
    if rule:
        return tr("as_of_rule", lang, days=int(rule.group(1)), **span)
    return tr("as_of_each", lang, **span)


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
        Smallest group shown; at least :data:`commlab.privacy.MIN_K` (else ``ParameterError``).

    Returns
    -------
    (DataFrame, list of str)
        The facts with a boolean ``suppressed`` column, and the ids of the communities suppressed
        as a whole.
    """
    k = check_k(k)
    out = facts.copy()
    out["suppressed"] = False
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

_TEMPLATES = Path(__file__).with_name("templates") / "executive_summary"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    """Templates of the summary's parts; every value is escaped (names and ids come from data files)."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=False)


def _render(template: str, **values: Any) -> str:
    return _environment().get_template(template).render(**values)


def _unit(metric: str) -> str:
    info = fact_info(metric)
    return info.unit if info is not None else ""


def scorecard_html(facts: pd.DataFrame, names: dict[str, str], *, lang: str = "en",
                   metrics: tuple[str, ...] | list[str] = SCORECARD_METRICS,
                   changes: pd.DataFrame | None = None, suppressed: list[str] | None = None,
                   k: int = DEFAULT_K) -> str:
    """A scorecard: one row per community, one column per key metric, coloured by direction.

    A cell is green when the community is better than the median of the communities of this run
    (in the metric's direction), red when worse; metrics without a direction are not coloured,
    nor is a run of one community (the legend says so). With ``changes``, an arrow shows the
    move since the previous run.
    """
    wide = facts[facts["metric_id"].isin(metrics)].pivot_table(
        index="community_id", columns="metric_id", values="value", aggfunc="first", dropna=False)
    wide = wide.reindex(index=list(names), columns=list(metrics))
    hidden = _hidden(facts)
    small = set(suppressed or [])
    medians = wide.median()
    moved = {} if changes is None or not len(changes) else {
        (r.community_id, r.metric_id): r for r in changes.itertuples()}
    rows = []
    for cid in wide.index:
        cells = []
        for m in metrics:
            info = fact_info(m)
            v = wide.loc[cid, m]
            tone = ""
            if info is not None and info.direction is not None and not pd.isna(v) and wide[m].count() > 1:
                if v != medians[m]:
                    tone = "cl-good" if (v > medians[m]) == info.direction else "cl-bad"
            text = format_value(v, _unit(m), lang)
            if (cid, m) in hidden and cid not in small:
                text = f"<{k}" if m in MEMBER_COUNT_FACTS else SUPPRESSED
            cell = {"text": text, "tone": tone, "delta": "", "delta_tone": ""}
            r = moved.get((cid, m))
            if r is not None:
                cell["delta"] = ("↑" if r.change > 0 else "↓") + format_value(abs(r.change), _unit(m), lang)
                cell["delta_tone"] = "" if r.better is None else (" cl-up" if r.better else " cl-down")
            cells.append(cell)
        rows.append({"name": names.get(cid, cid), "note": tr("suppressed", lang, k=k) if cid in small else "",
                     "cells": cells})
    shown_hidden = sum(1 for cid, m in hidden if cid in wide.index and m in wide.columns and cid not in small)
    return _render(
        "scorecard.html.j2", community_header=tr("community", lang), headers=[fact_name(m, lang) for m in metrics],
        rows=rows, legend={"lead": tr("legend_lead", lang), "better": tr("legend_better", lang),
                           "worse": tr("legend_worse", lang), "tail": tr("legend_tail", lang),
                           "single": tr("legend_single", lang) if len(wide.index) < 2 else ""},
        hidden_note=tr("hidden", lang, n=shown_hidden, k=k, dash=SUPPRESSED) if shown_hidden else "")


def goals_payload(communities: pd.DataFrame, lang: str = "en") -> tuple[dict[str, str | None],
                                                                        dict[str, list[dict[str, Any]]]]:
    """Each community's stated goal and the metrics of its scorecard (:mod:`commlab.goals`).

    Returns
    -------
    (dict, dict)
        ``community_id -> goal`` (``None`` where none is stated: never guessed) and ``community_id ->
        [{metric, higher_is_better, why}]`` (``why`` in ``lang``; the shared base measures where no goal
        is stated).
    """
    goals = {str(c): (None if pd.isna(g) else str(g)) for c, g in goal_of(communities).items()}
    zh = lang == "zh"
    metrics = {c: [{"metric": m.metric, "higher_is_better": m.higher_is_better,
                    "why": without_citations(m.why_zh if zh else m.why_en)} for m in scorecard_metrics(g)]
               for c, g in goals.items()}
    return goals, metrics


def goal_note(goals: dict[str, str | None], names: dict[str, str], lang: str = "en") -> str:
    """The one sentence saying which communities state no goal ("" when every one does)."""
    missing = [c for c, g in goals.items() if g is None]
    if not missing:
        return ""
    if len(missing) == len(goals):
        return tr("goal_missing_all", lang)
    return tr("goal_missing_some", lang, names=join_words([names.get(c, c) for c in missing], lang, "and"))


def goal_scorecard_html(facts: pd.DataFrame, names: dict[str, str], goals: dict[str, str | None], *,
                        lang: str = "en", suppressed: list[str] | None = None, k: int = DEFAULT_K) -> str:
    """The scorecard of each stated goal, and the sentence on the communities that state none.

    One table per goal (in the order of :data:`commlab.data.schema.GOAL`), its communities as rows and
    the goal's measures (:func:`commlab.goals.scorecard_metrics`) as columns, each coloured against the
    median of all communities of the run in the direction that serves the goal. Communities without a
    goal get a table of the shared base measures only when other communities state one; the uniform
    scorecard (:func:`scorecard_html`) stays as it is.
    """
    stated = [g for g in GOAL.codes if g in set(goals.values())]
    hidden = _hidden(facts)
    small = set(suppressed or [])
    value = facts.pivot_table(index="community_id", columns="metric_id", values="value", aggfunc="first",
                              dropna=False)
    groups = []
    for goal in [*stated, *([None] if stated and None in goals.values() else [])]:
        members = [c for c in names if goals.get(c) == goal]
        spec = scorecard_metrics(goal)
        rows = []
        for cid in members:
            cells = []
            for m in spec:
                col = value[m.metric] if m.metric in value.columns else pd.Series(dtype=float)
                v = col.get(cid, float("nan"))
                others = col.drop(index=[c for c in small if c in col.index]).dropna()
                tone = ""
                if not pd.isna(v) and len(others) > 1 and v != others.median() and cid not in small:
                    tone = "cl-good" if (v > others.median()) == m.higher_is_better else "cl-bad"
                text = format_value(v, _unit(m.metric), lang)
                if cid in small and m.metric != "members":
                    text, tone = SUPPRESSED, ""
                elif (cid, m.metric) in hidden:
                    text, tone = (f"<{k}" if m.metric in MEMBER_COUNT_FACTS else SUPPRESSED), ""
                cells.append({"text": text, "tone": tone})
            rows.append({"name": names.get(cid, cid), "note": tr("suppressed", lang, k=k) if cid in small else "",
                         "cells": cells})
        header = tr("goal_header", lang, goal=GOAL.label(goal, lang)) if goal else tr("goal_none_header", lang)
        groups.append({
            "header": header, "rows": rows,
            "headers": [f"{fact_name(m.metric, lang)} {'↑' if m.higher_is_better else '↓'}" for m in spec],
            "why": [f"{fact_name(m.metric, lang)}{tr('colon', lang)}"
                    f"{without_citations(m.why_zh if lang == 'zh' else m.why_en)}" for m in spec],
        })
    return _render("goal_scorecard.html.j2", note=goal_note(goals, names, lang), groups=groups,
                   community_header=tr("community", lang), why_label=tr("goal_why", lang),
                   legend={"lead": tr("goal_legend", lang), "better": tr("legend_better", lang),
                           "worse": tr("legend_worse", lang),
                           "single": tr("legend_single", lang) if len(names) < 2 else ""})


def _platforms_declared(communities: pd.DataFrame) -> dict[str, list[str]]:
    col = "platform_all" if "platform_all" in communities.columns else "platform"
    out = {}
    for cid, primary, every in zip(communities["community_id"].astype(str), communities["platform"],
                                   communities[col], strict=True):
        values = [] if pd.isna(every) else [p for p in str(every).split(";") if p]
        out[cid] = values or ([] if pd.isna(primary) else [str(primary)])
    return out


def platform_notes(data: Dataset, facts: pd.DataFrame, *, as_of: Any, period_days: int = 30,
                   lang: str = "en") -> list[dict[str, str]]:
    """One sentence per community that spans several platforms: where its members are active (主战场).

    A community spans several platforms when it declares several (``platform_all``) or its events carry
    several (``events.platform``; ``main_platform_share`` below 1). The sentence gives the share of member
    activity of the latest ``period_days`` days on each platform (:func:`commlab.analysis.practices.
    platform_activity`), or says that the events do not record their platform.

    Returns
    -------
    list of dict
        ``community_id, text`` (``text`` in ``lang``), in the order of the communities table.
    """
    communities = data.communities
    names = dict(zip(communities["community_id"].astype(str), communities["name"].astype(str), strict=True))
    declared = _platforms_declared(communities)
    main = facts[facts["metric_id"] == "main_platform_share"].set_index("community_id")["value"]
    spread = [c for c in declared if len(declared[c]) > 1 or (c in main.index and main[c] < 1)]
    if not spread:
        return []
    ends = resolve_as_of(as_of, communities)
    ends.index = ends.index.astype(str)
    shares = []
    cid = communities["community_id"].astype(str)
    inside = communities[cid.isin(spread).to_numpy()]
    with event_facts(data.events_source, data.members[data.members["community_id"].astype(str).isin(spread)],
                     inside, ends[spread]) as ef:  # counted by DuckDB where the events are
        activity, recorded = ef.platform_activity(days=period_days), ef.platform_recorded()
    for _, ids in ends[spread].groupby(ends[spread], sort=True):
        got = activity[activity["community_id"].isin(list(ids.index))]
        if not recorded & set(ids.index):
            got = got.iloc[0:0]  # no event says where it happened: the primary platform is not a finding
        shares.append(got)
    table = pd.concat(shares, ignore_index=True)
    label = lambda p: PLATFORM.label(p, lang)  # noqa: E731
    out = []
    for cid in spread:
        mine = table[table["community_id"] == cid]
        every = list(dict.fromkeys([*declared[cid], *mine["platform"].astype(str)]))
        platforms = join_words([label(p) for p in every], lang, "and")
        if mine.empty:
            out.append({"community_id": cid,
                        "text": tr("platform_unknown", lang, name=names[cid], platforms=platforms)})
            continue
        first = mine.iloc[0]
        items = [tr("platform_item", lang, share=format_value(r.share, "share", lang), platform=label(r.platform))
                 for r in mine.iloc[1:].itertuples()]
        rest = tr("platform_rest", lang, items=tr("list_sep", lang).join(items)) if items else ""
        out.append({"community_id": cid, "text": tr(
            "platform_spread", lang, name=names[cid], platforms=platforms, days=period_days,
            share=format_value(first["share"], "share", lang), main=label(first["platform"]), rest=rest)})
    return out


def _hidden(facts: pd.DataFrame | None) -> set[tuple[str, str]]:
    """``(community_id, metric_id)`` of the facts :func:`suppress_small_communities` hid."""
    if facts is None or "suppressed" not in facts.columns:
        return set()
    h = facts[facts["suppressed"].fillna(False).astype(bool)]
    return set(zip(h["community_id"].astype(str), h["metric_id"].astype(str), strict=True))


#: What an evidence item keeps when the value it quotes is hidden: the rule's side of the comparison.
_RULE_KEYS = ("metric", "op", "threshold", "factor", "change_kind")


def _hide_value(item: dict[str, Any]) -> dict[str, Any]:
    kept = {key: item[key] for key in _RULE_KEYS if key in item}
    if "peer_median" in item:  # factor × a median that includes the community itself: not shown
        kept.pop("threshold", None)
    return {**kept, "suppressed": True}


def with_evidence_text(recs: pd.DataFrame, lang: str = "en",
                       suppressed: list[str] | tuple[str, ...] = (), *, facts: pd.DataFrame | None = None,
                       k: int = DEFAULT_K) -> pd.DataFrame:
    """Add ``evidence_text`` (plain words) and ``threshold_text`` (the rule's comparison), hiding small groups.

    Parameters
    ----------
    recs : DataFrame
        From :func:`commlab.rules.evaluate_rules` (evaluated on the facts before suppression).
    lang : str
        Language of both texts (:mod:`commlab.evidence`).
    suppressed : list of str
        Communities suppressed as a whole: their evidence is an empty list and both texts say
        that the community has fewer than ``k`` members.
    facts : DataFrame, optional
        The output of :func:`suppress_small_communities`: an evidence item quoting a fact it hid
        keeps the metric and the rule's threshold, loses its value, previous value, change and
        peer median, and reads "fewer than k" in both texts.
    k : int, default 5
        The threshold of the small groups.
    """
    out = recs.copy()
    hidden = _hidden(facts)
    hide = out["community_id"].isin(list(suppressed)).tolist()
    evidence = []
    for cid, h, ev in zip(out["community_id"], hide, out["evidence"], strict=True):
        if h:
            evidence.append([])
            continue
        evidence.append([_hide_value(e) if (str(cid), str(e.get("metric"))) in hidden else e for e in ev])
    blank = tr("hidden_community", lang, k=k)
    out["evidence_text"] = [blank if h else evidence_text(ev, lang, k) for h, ev in zip(hide, evidence, strict=True)]
    out["threshold_text"] = [blank if h else threshold_text(ev, lang) for h, ev in zip(hide, evidence, strict=True)]
    out["evidence"] = evidence
    return out


def recommendations_html(recs: pd.DataFrame, names: dict[str, str], *, lang: str = "en",
                         status: pd.DataFrame | None = None) -> str:
    """Every recommendation, one row per finding with the communities it fired for and their evidence.

    Findings are ordered by severity, then by how many communities they concern. The rule
    thresholds behind each recommendation follow in a closed ``<details>`` block.

    Parameters
    ----------
    recs : DataFrame
        From :func:`with_evidence_text` (``title, action, severity, evidence_text, threshold_text``).
    names : dict
        Community id to display name.
    status : DataFrame, optional
        From :func:`recommendation_changes`: each line then says new or ongoing.
    """
    st = {} if status is None else {(r.community_id, r.rule_id): r.status for r in status.itertuples()}
    groups = []
    if len(recs):
        size = recs.groupby("rule_id")["community_id"].transform("size")
        order = recs.assign(_rank=recs["severity"].map(SEVERITY_ORDER), _size=-size).sort_values(
            ["_rank", "_size", "rule_id", "community_id"], kind="stable")
        for rule_id, g in order.groupby("rule_id", sort=False):
            first = g.iloc[0]
            groups.append({
                "severity": first["severity"], "severity_label": tr(first["severity"], lang),
                "title": first["title"], "action": first["action"],
                "lines": [{"community": names.get(r.community_id, r.community_id),
                           "evidence": r.evidence_text + (f"{tr('evidence_sep', lang)}{r.goal_note}"
                                                          if getattr(r, "goal_note", "") else ""),
                           "status": tr("status_mark", lang, status=tr(st[(r.community_id, rule_id)], lang))
                           if (r.community_id, rule_id) in st else ""} for r in g.itertuples()],
            })
    thresholds = [{"community": names.get(r.community_id, r.community_id), "title": r.title,
                   "threshold": r.threshold_text} for r in recs.itertuples()] if len(recs) else []
    return _render(
        "recommendations.html.j2", groups=groups, empty=tr("no_recommendations", lang), colon=tr("colon", lang),
        headers=[tr(k, lang) for k in ("severity", "finding", "action", "evidence")],
        thresholds_summary=tr("thresholds_summary", lang, n=len(thresholds)), thresholds=thresholds,
        threshold_headers=[tr(k, lang) for k in ("community", "finding", "threshold_col")])


def not_applicable_html(entries: list[dict[str, Any]], names: dict[str, str], *, lang: str = "en") -> str:
    """The rules that did not apply (:func:`commlab.rules.not_applicable_summary`), once per rule and reason."""
    rows = []
    for entry in entries:
        ids = entry["community_ids"]
        where = tr("all_communities", lang, n=len(names)) if len(names) > 1 and set(ids) >= set(names) else \
            tr("list_sep", lang).join(names.get(c, c) for c in ids)
        rows.append({"title": entry["title"], "reason": entry["reason"], "communities": where})
    return _render("not_applicable.html.j2", rows=rows, empty=tr("all_applicable", lang),
                   intro=tr("not_applicable_intro", lang),
                   headers=[tr(k, lang) for k in ("rule", "reason", "communities")])


def changes_html(changes: pd.DataFrame, rec_status: pd.DataFrame, names: dict[str, str], *, lang: str = "en",
                 top: int = 20) -> str:
    """What moved since the previous run and the new / ongoing / resolved counts and lists.

    The key-metric moves are listed largest relative change first: ``top`` of them in a table,
    the others in a closed ``<details>`` block below it.
    """
    counts = rec_status["status"].value_counts().to_dict() if len(rec_status) else {}
    colon = tr("colon", lang)
    line = " · ".join(f"{tr(s, lang)}{colon}{int(counts.get(s, 0))}" for s in ("new", "ongoing", "resolved"))
    lists = []
    for s in ("new", "resolved"):
        sub = rec_status[rec_status["status"] == s]
        if len(sub):
            lists.append({"label": tr(s, lang), "lines": [
                {"community": names.get(r.community_id, r.community_id), "title": str(r.title)}
                for r in sub.itertuples()]})
    rows = []
    if len(changes):
        rel = (changes["change"].abs() / changes["before"].abs().where(changes["before"] != 0)).fillna(float("inf"))
        for r in changes.assign(_rel=rel).sort_values("_rel", ascending=False, kind="stable").itertuples():
            unit = _unit(r.metric_id)
            rows.append({"community": names.get(r.community_id, r.community_id), "metric": fact_name(r.metric_id, lang),
                         "before": format_value(r.before, unit, lang), "after": format_value(r.after, unit, lang),
                         "change": ("+" if r.change > 0 else "−") + format_value(abs(r.change), unit, lang),
                         "tone": "" if r.better is None else ("cl-good" if r.better else "cl-bad")})
    return _render(
        "changes.html.j2", recommendations_word=tr("recommendations", lang), counts=line, lists=lists,
        colon=tr("colon", lang), shown=rows[:top], rest=rows[top:], more=tr("more_moves", lang, n=len(rows[top:])),
        no_moves=tr("no_moves", lang),
        headers=[tr(k, lang) for k in ("community", "metric", "before", "after", "change")])


def sort_recommendations(recs: pd.DataFrame) -> pd.DataFrame:
    """By severity (high first), then community and rule id."""
    if not len(recs):
        return recs
    return recs.sort_values(["severity", "community_id", "rule_id"],
                            key=lambda s: s.map(SEVERITY_ORDER) if s.name == "severity" else s).reset_index(drop=True)


def _as_of_json(as_of: Any) -> Any:
    """One ISO instant; a rule such as ``created+180d`` as written; a mapping as ``id -> ISO``."""
    if isinstance(as_of, pd.Series | dict):
        return {str(k): as_utc(v).isoformat() for k, v in dict(as_of).items()}
    if isinstance(as_of, str) and as_of.strip().startswith("created+"):
        return as_of.strip()
    return str(as_utc(as_of).isoformat())


def summary_payload(*, as_of: Any, lang: str, period_days: int, k: int, facts: pd.DataFrame, recs: pd.DataFrame,
                    suppressed: list[str], previous: dict[str, Any] | None, changes: pd.DataFrame | None,
                    rec_status: pd.DataFrame | None, rules: list[Any],
                    not_applicable: list[dict[str, Any]] | None = None,
                    goals: dict[str, str | None] | None = None,
                    scorecard_metrics: dict[str, list[dict[str, Any]]] | None = None,
                    goal_note: str = "", platform_notes: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The ``summary.json`` of the recommendations step (see :data:`SCHEMA`).

    Every recommendation is in ``recommendations`` (with ``evidence_text`` in plain words,
    ``threshold_text``, the rule's comparison, and ``goal``/``goal_note``: the goal it was read for);
    ``not_applicable`` lists once per rule and reason the rules that did not apply
    (:func:`commlab.rules.not_applicable_summary`). The goals (DOMAIN.md §4b): ``goals`` maps each
    community to its stated goal (``null`` where none: never guessed), ``scorecard_metrics`` to the
    metrics of its scorecard (``metric, higher_is_better, why``), ``goal_note`` is the one sentence on
    the communities that state none ("" when all do); ``platform_notes`` has one sentence per community
    spanning several platforms (``community_id, text``). The uniform scorecard reads ``facts`` with
    :data:`SCORECARD_METRICS` as before.
    """
    return {
        "schema": SCHEMA,
        "as_of": _as_of_json(as_of),
        "lang": lang,
        "period_days": period_days,
        "k_min_group": k,
        "suppressed_communities": suppressed,
        "rules": [r.id for r in rules],
        # "suppressed": the value was hidden (fewer than k members), not missing; the report's scorecard says so
        "facts": facts[["community_id", "metric_id", "value", *(["suppressed"] if "suppressed" in facts else [])]
                       ].to_dict(orient="records"),
        "recommendations": recs.to_dict(orient="records"),
        "previous": None if previous is None else {"as_of": previous.get("as_of")},
        "changes": None if changes is None else changes.to_dict(orient="records"),
        "recommendation_status": None if rec_status is None else rec_status.to_dict(orient="records"),
        "not_applicable": list(not_applicable or []),
        "goals": dict(goals or {}),
        "scorecard_metrics": dict(scorecard_metrics or {}),
        "goal_note": goal_note,
        "platform_notes": list(platform_notes or []),
    }


# --------------------------------------------------------------------------- the whole step


@dataclass
class ExecutiveSummary:
    """The executive summary of a run: its tables and the parts notebook 05 shows.

    Built by :func:`executive_summary`; every part is in :attr:`lang`.

    Attributes
    ----------
    facts : DataFrame
        The facts after :func:`suppress_small_communities` (``suppressed`` column).
    recs : DataFrame
        Every recommendation (:func:`with_evidence_text`), by severity.
    skipped : DataFrame
        :func:`commlab.rules.not_applicable`: (community, rule) pairs not evaluated, and why.
    not_applicable : list of dict
        The same, once per rule and reason, in words (for the appendix and ``summary.json``).
    """

    as_of: Any
    lang: str
    k: int
    period_days: int
    rules: list[Rule]
    names: dict[str, str]
    communities: pd.DataFrame
    facts: pd.DataFrame
    recs: pd.DataFrame
    suppressed: list[str]
    skipped: pd.DataFrame
    not_applicable: list[dict[str, Any]]
    previous: dict[str, Any] | None = None
    changes: pd.DataFrame | None = None
    status: pd.DataFrame | None = None
    goals: dict[str, str | None] | None = None
    platform_notes: list[dict[str, str]] | None = None

    def header_markdown(self) -> str:
        """One line: the analysis instant and how many communities, rules, recommendations."""
        lang = self.lang
        parts = [f"**{tr('data_as_of', lang)}**{tr('colon', lang)}{as_of_text(self.as_of, self.communities, lang)}",
                 tr("n_communities", lang, n=format_value(len(self.names), "count")),
                 tr("n_rules", lang, n=len(self.rules)), tr("n_recommendations", lang, n=len(self.recs))]
        if self.not_applicable:
            parts.append(tr("n_not_applicable", lang, n=len({e["rule_id"] for e in self.not_applicable})))
        if self.previous:
            parts.append(tr("previous_as_of", lang, as_of=str(self.previous.get("as_of"))[:10]))
        return " · ".join(parts)

    def scorecard_html(self) -> str:
        return scorecard_html(self.facts, self.names, lang=self.lang, changes=self.changes,
                              suppressed=self.suppressed, k=self.k)

    def goal_scorecard_html(self) -> str:
        """The scorecard of each stated goal, or the one sentence saying no goal is stated."""
        return goal_scorecard_html(self.facts, self.names, self.goals or dict.fromkeys(self.names), lang=self.lang,
                                   suppressed=self.suppressed, k=self.k)

    def platforms_markdown(self) -> str:
        """The sentences on the communities that span several platforms ("" when none does)."""
        return "\n\n".join(n["text"] for n in self.platform_notes or [])

    def recommendations_html(self) -> str:
        return recommendations_html(self.recs, self.names, lang=self.lang, status=self.status)

    def not_applicable_html(self) -> str:
        return not_applicable_html(self.not_applicable, self.names, lang=self.lang)

    def changes_html(self) -> str:
        """What changed since the previous run, or a sentence saying this is the first run."""
        if self.previous is None or self.changes is None or self.status is None:
            return _environment().from_string("<p>{{ text }}</p>").render(text=tr("first_run", self.lang))
        return changes_html(self.changes, self.status, self.names, lang=self.lang)

    def payload(self) -> dict[str, Any]:
        """The step's ``summary.json`` (:func:`summary_payload`)."""
        goals, metrics = goals_payload(self.communities, self.lang)
        return summary_payload(as_of=self.as_of, lang=self.lang, period_days=self.period_days, k=self.k,
                               facts=self.facts, recs=self.recs, suppressed=self.suppressed, previous=self.previous,
                               changes=self.changes, rec_status=self.status, rules=self.rules,
                               not_applicable=self.not_applicable, goals=goals, scorecard_metrics=metrics,
                               goal_note=goal_note(goals, self.names, self.lang),
                               platform_notes=self.platform_notes)


def executive_summary(data: Dataset, *, as_of: Any, rules: list[Rule], previous: dict[str, Any] | None = None,
                      lang: str = "en", k: int = DEFAULT_K, period_days: int = 30) -> ExecutiveSummary:
    """Facts, applicability, recommendations and changes of a run: what notebook 05 shows and writes.

    Parameters
    ----------
    data : Dataset
    as_of : str, Timestamp, mapping or Series
        As for :func:`build_facts`.
    rules : list of Rule
        The rule set of the run (:func:`commlab.rules.default_rules` or the playbook's).
    previous : dict, optional
        :func:`read_previous` of the previous run's ``summary.json``.
    lang : {"zh", "en"}
    k : int, default 5
        Smallest group shown (:func:`suppress_small_communities`).
    period_days : int, default 30

    Returns
    -------
    ExecutiveSummary

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c01", "c04"])
    >>> summary = cl.executive_summary(ds, as_of="2024-06-30T16:00:00Z", rules=cl.default_rules())
    >>> summary.recs[["community_id", "rule_id", "severity"]].head(2)
      community_id          rule_id severity
    0          c01   lurker_revival     high
    1          c01  zombie_overload     high
    """
    communities = data.communities
    names = dict(zip(communities["community_id"].astype(str), communities["name"].astype(str), strict=True))
    prev_facts, prev_recs = previous_tables(previous)
    facts = build_facts(data, as_of=as_of, period_days=period_days)
    platforms = platform_notes(data, facts, as_of=as_of, period_days=period_days, lang=lang)
    profile = community_profile(data, as_of=as_of)
    skipped = not_applicable(rules, facts, communities, profile, previous=prev_facts)
    recs = sort_recommendations(evaluate_rules(rules, facts, communities, profile=profile, previous=prev_facts,
                                               lang=lang, skipped=skipped))
    # hide what stands for fewer than k members: small communities, small cohorts/posters, shares and counts of few
    facts, suppressed = suppress_small_communities(facts, k)
    recs = with_evidence_text(recs, lang, suppressed, facts=facts, k=k)
    goals = goals_payload(communities, lang)[0]
    # the moves of the uniform scorecard's measures and of each stated goal's (commlab.goals)
    watched = tuple(dict.fromkeys([*SCORECARD_METRICS, *(m.metric for g in set(goals.values()) if g
                                                          for m in scorecard_metrics(g))]))
    changes = fact_changes(facts, prev_facts, watched) if previous else None
    status = recommendation_changes(recs, prev_recs, rules=rules, lang=lang) if previous else None
    return ExecutiveSummary(as_of=as_of, lang=lang, k=k, period_days=period_days, rules=rules, names=names,
                            communities=communities, facts=facts, recs=recs, suppressed=suppressed, skipped=skipped,
                            not_applicable=not_applicable_summary(rules, skipped, lang=lang), previous=previous,
                            changes=changes, status=status, goals=goals,
                            platform_notes=[n for n in platforms if n["community_id"] not in suppressed])
