"""The parts of the executive summary as HTML and as ``summary.json``.

The scorecard, the goal scorecard and notes, the platform sentences, the recommendations with their
evidence in words, the rules that do not apply, the changes since the previous run (templates in
``templates/executive_summary`` with autoescape, words from :mod:`commlab.rules_text`), and the
machine-readable payload. Part of :mod:`commlab.recommend` (which re-exports every name).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from commlab.analysis.metrics import resolve_as_of
from commlab.analysis.signals_sql import event_facts
from commlab.data.load import Dataset
from commlab.data.schema import GOAL, PLATFORM, Col
from commlab.evidence import evidence_text, threshold_text
from commlab.facts import MEMBER_COUNT_FACTS, fact_info, fact_name
from commlab.goals import goal_of, scorecard_metrics, without_citations
from commlab.instant import as_utc
from commlab.privacy import DEFAULT_K, SUPPRESSED
from commlab.recommend_facts import SCHEMA, SCORECARD_METRICS
from commlab.rules import (
    SEVERITY_ORDER,
)
from commlab.rules_text import format_value, join_words, tr

__all__ = [
    "scorecard_html",
    "goals_payload",
    "goal_note",
    "goal_scorecard_html",
    "platform_notes",
    "with_evidence_text",
    "recommendations_html",
    "not_applicable_html",
    "changes_html",
    "sort_recommendations",
    "summary_payload",
]


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
        index=Col.community_id, columns="metric_id", values="value", aggfunc="first", dropna=False)
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
    value = facts.pivot_table(index=Col.community_id, columns="metric_id", values="value", aggfunc="first",
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
    for cid, primary, every in zip(communities[Col.community_id].astype(str), communities["platform"],
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
    names = dict(zip(communities[Col.community_id].astype(str), communities["name"].astype(str), strict=True))
    declared = _platforms_declared(communities)
    main = facts[facts["metric_id"] == "main_platform_share"].set_index(Col.community_id)["value"]
    spread = [c for c in declared if len(declared[c]) > 1 or (c in main.index and main[c] < 1)]
    if not spread:
        return []
    ends = resolve_as_of(as_of, communities)
    ends.index = ends.index.astype(str)
    shares = []
    cid = communities[Col.community_id].astype(str)
    inside = communities[cid.isin(spread).to_numpy()]
    with event_facts(data.events_source, data.members[data.members[Col.community_id].astype(str).isin(spread)],
                     inside, ends[spread]) as ef:  # counted by DuckDB where the events are
        activity, recorded = ef.platform_activity(days=period_days), ef.platform_recorded()
    for _, ids in ends[spread].groupby(ends[spread], sort=True):
        got = activity[activity[Col.community_id].isin(list(ids.index))]
        if not recorded & set(ids.index):
            got = got.iloc[0:0]  # no event says where it happened: the primary platform is not a finding
        shares.append(got)
    table = pd.concat(shares, ignore_index=True)
    label = lambda p: PLATFORM.label(p, lang)  # noqa: E731
    out = []
    for cid in spread:
        mine = table[table[Col.community_id] == cid]
        every = list(dict.fromkeys([*declared[cid], *mine["platform"].astype(str)]))
        platforms = join_words([label(p) for p in every], lang, "and")
        if mine.empty:
            out.append({Col.community_id: cid,
                        "text": tr("platform_unknown", lang, name=names[cid], platforms=platforms)})
            continue
        first = mine.iloc[0]
        items = [tr("platform_item", lang, share=format_value(r.share, "share", lang), platform=label(r.platform))
                 for r in mine.iloc[1:].itertuples()]
        rest = tr("platform_rest", lang, items=tr("list_sep", lang).join(items)) if items else ""
        out.append({Col.community_id: cid, "text": tr(
            "platform_spread", lang, name=names[cid], platforms=platforms, days=period_days,
            share=format_value(first["share"], "share", lang), main=label(first["platform"]), rest=rest)})
    return out


def _hidden(facts: pd.DataFrame | None) -> set[tuple[str, str]]:
    """``(community_id, metric_id)`` of the facts :func:`suppress_small_communities` hid."""
    if facts is None or "suppressed" not in facts.columns:
        return set()
    h = facts[facts["suppressed"].fillna(False).astype(bool)]
    return set(zip(h[Col.community_id].astype(str), h["metric_id"].astype(str), strict=True))


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
    hide = out[Col.community_id].isin(list(suppressed)).tolist()
    evidence = []
    for cid, h, ev in zip(out[Col.community_id], hide, out["evidence"], strict=True):
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
        size = recs.groupby("rule_id")[Col.community_id].transform("size")
        order = recs.assign(_rank=recs["severity"].map(SEVERITY_ORDER), _size=-size).sort_values(
            ["_rank", "_size", "rule_id", Col.community_id], kind="stable")
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
    return recs.sort_values(["severity", Col.community_id, "rule_id"],
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
        "facts": facts[[Col.community_id, "metric_id", "value", *(["suppressed"] if "suppressed" in facts else [])]
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
