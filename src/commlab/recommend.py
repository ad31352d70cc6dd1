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

:func:`executive_summary` runs the whole step; the notebook displays its parts. The parts live in
modules of their own, whose names this module re-exports: the facts and the community profile in
:mod:`commlab.recommend_facts`, the comparison with the previous run in
:mod:`commlab.recommend_changes`, the HTML and ``summary.json`` in :mod:`commlab.recommend_html`.

Nothing here identifies a member: facts are per community, and
:func:`suppress_small_communities` hides, in everything rendered or written, every value of a
community with fewer than ``k`` members, every value computed over fewer than ``k`` members
inside a larger one (the fact's group size ``n``: a join cohort of three, two posters), every
member share standing for fewer than ``k`` members (a 2 % core share of 150 members) and every
member count below ``k``; :func:`with_evidence_text` blanks the evidence quoting them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from commlab.data.load import Dataset
from commlab.data.schema import Col
from commlab.facts import EXTRA_FACTS, MEMBER_COUNT_FACTS, FactInfo, fact_definitions, fact_info, fact_name
from commlab.goals import scorecard_metrics
from commlab.privacy import DEFAULT_K
from commlab.recommend_changes import (  # noqa: F401 - re-exported
    fact_changes,
    previous_tables,
    read_previous,
    recommendation_changes,
)
from commlab.recommend_facts import (  # noqa: F401 - re-exported
    SCHEMA,
    SCORECARD_METRICS,
    as_of_text,
    build_facts,
    community_profile,
    suppress_small_communities,
)
from commlab.recommend_html import (  # noqa: F401 - re-exported
    _environment,  # the first-run sentence of ExecutiveSummary.changes_html
    changes_html,
    goal_note,
    goal_scorecard_html,
    goals_payload,
    not_applicable_html,
    platform_notes,
    recommendations_html,
    scorecard_html,
    sort_recommendations,
    summary_payload,
    with_evidence_text,
)
from commlab.rules import (
    Rule,
    evaluate_rules,
    not_applicable,
    not_applicable_summary,
)
from commlab.rules_text import format_value, tr

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
    names = dict(zip(communities[Col.community_id].astype(str), communities["name"].astype(str), strict=True))
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
                            platform_notes=[n for n in platforms if n[Col.community_id] not in suppressed])
