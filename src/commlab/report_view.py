"""What the client part of a report shows, computed from a run's structured outputs.

The client part of ``report.html`` (see :mod:`commlab.report`) is not a rendering of notebook
outputs: it is built here from the ``summary.json`` each step writes (the executive summary step's
``commlab.recommendations/1`` payload holds the scorecard facts, the recommendations with their
evidence text, the changes since the previous run and each recommendation's status) and rendered
by a Jinja2 template with autoescape. Every label comes from :mod:`commlab.i18n`; every number is
written by :func:`commlab.rules_text.format_value`, one way per kind of value.

Nothing here reads member data: the facts are per community and already suppressed (a value
standing for fewer than ``k`` members is ``null`` in ``summary.json`` and flagged ``suppressed``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from commlab.data.schema import Col
from commlab.i18n import t
from commlab.outputs import summary_number, summary_part
from commlab.recommend import MEMBER_COUNT_FACTS, SCHEMA, SCORECARD_METRICS, fact_info, fact_name
from commlab.rules_text import format_value

__all__ = ["Cell", "ScoreRow", "Scorecard", "Action", "NotApplicable", "Changes", "Move",
           "ClientView",
           "client_view",
           "recommendations_summary", "scope_line", "scope_note", "CLIENT_ACTIONS", "CLIENT_ACTIONS_MAX",
           "CLIENT_MOVES", "NO_VALUE_KEY", "HIDDEN_KEY", "report_title"]

#: Recommendations shown in the client part by default (all of them are in the appendix); a playbook
#: chooses another number with ``report: {top_actions: N}``, 1 to :data:`CLIENT_ACTIONS_MAX`.
CLIENT_ACTIONS = 6
#: The most recommendations a client part shows (beyond, it is no longer a short list to act on).
CLIENT_ACTIONS_MAX = 20
#: The catalogue keys of what a scorecard cell shows when the metric has no value (nothing to compute
#: it from) and when its value is hidden for privacy: two words ("无数据" / "隐藏"), not two dashes that
#: look alike ("–" / "—", and "—" reads as the character 一 in a CJK font). Counts hidden read ``<k``.
NO_VALUE_KEY = "report_no_value"
HIDDEN_KEY = "report_hidden"
#: Key-metric moves shown in the client part (all of them are in the appendix).
CLIENT_MOVES = 10
_SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
_STATUSES = ("new", "ongoing", "resolved")



def report_title(own: str | None, playbook: str, communities: Any, lang: str = "zh", *,
                 data_given: bool = False) -> str:
    """The report's title.

    The playbook's report title (``report: {title: ...}``) when it sets one; else, on data given for
    the run (``--data``: not the data the playbook was written for, so its title, such as the demo's
    "commlab 演示：社群运营诊断", is about other communities), a title naming the data's communities
    ("Cardano Stack Exchange：社群运营诊断"; "A 等 3 个社群：…" for several); else the playbook's title.

    Parameters
    ----------
    own : str or None
        The playbook's report title in ``lang`` (``None`` or "" when it sets none).
    playbook : str
        The playbook's title in ``lang``.
    communities : DataFrame or None
        The communities the run analysed (``name``, else ``community_id``, in data order).
    lang : {"zh", "en"}
    data_given : bool
        Whether the run's data was given for the run instead of the playbook's.

    Examples
    --------
    >>> import pandas as pd
    >>> report_title(None, "commlab demo", pd.DataFrame({"name": ["CollegeMsg"]}), "en", data_given=True)
    'CollegeMsg: community operations diagnosis'
    >>> report_title(None, "commlab demo", pd.DataFrame({"name": ["CollegeMsg"]}), "en")
    'commlab demo'
    """
    if own:
        return own
    names: list[str] = []  # one per community: its name, else its id
    cols = getattr(communities, "columns", ())
    if data_given and communities is not None and (Col.name in cols or Col.community_id in cols):
        for _, row in communities.iterrows():
            label = next((str(row[c]).strip() for c in (Col.name, Col.community_id)
                          if c in cols and not _missing(row[c]) and str(row[c]).strip()), "")
            if label:
                names.append(label)
    if not names:
        return playbook
    if len(names) == 1:
        return t("report_title_data", lang).format(name=names[0])
    return t("report_title_data_more", lang).format(name=names[0], n=len(names), more=len(names) - 1)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) in ("<NA>", "nan", "None")


def _moved(change: float, unit: str) -> bool:
    """Whether a change shows as one once written (a share moving by 0.04 % reads "0%": no move)."""
    return bool(re.sub(r"[^0-9]", "", format_value(abs(change), unit, "en")).strip("0"))


@dataclass
class Cell:
    """One value of the scorecard: its text, tone (``good``/``bad``/``""``) and move since the last run."""

    label: str
    text: str
    tone: str = ""
    delta: str = ""
    delta_tone: str = ""
    numeric: bool = True


@dataclass
class ScoreRow:
    """One community of the scorecard."""

    community: str
    note: str
    cells: list[Cell]


@dataclass
class Scorecard:
    """Column labels, one row per community and the notes under the table."""

    columns: list[str]
    rows: list[ScoreRow]
    hidden_note: str = ""
    legend: str = ""  # what the colours mean (nothing is coloured with one community)


@dataclass
class Action:
    """One recommendation as the report shows it."""

    severity: str
    severity_label: str
    community: str
    title: str
    action: str
    evidence: str
    status: str = ""
    status_label: str = ""
    threshold: str = ""


@dataclass
class NotApplicable:
    """A rule set aside where its inputs are absent, with the reason and the communities concerned."""

    rule: str
    reason: str
    communities: str = ""


@dataclass
class Move:
    """One key metric that moved since the previous run."""

    community: str
    metric: str
    before: str
    after: str
    change: str
    tone: str = ""


@dataclass
class Changes:
    """What changed since the previous run (``None`` on a first run)."""

    previous_as_of: str
    counts: list[tuple[str, int]]
    new: list[Action]
    resolved: list[Action]
    moves: list[Move]
    moves_more: int = 0
    all_moves: list[Move] = field(default_factory=list)


@dataclass
class ClientView:
    """Everything the client part and the recommendation appendix show."""

    scope: str = ""
    scope_note: str = ""
    scorecard: Scorecard | None = None
    actions: list[Action] = field(default_factory=list)
    actions_more: int = 0
    all_actions: list[Action] = field(default_factory=list)
    changes: Changes | None = None
    first_run: bool = False
    not_applicable: list[NotApplicable] = field(default_factory=list)
    has_summary: bool = False
    #: Sentences the scorecard needs beside it: the communities that state no goal, and each
    #: community spanning several platforms with its share on each (plain text from summary.json).
    notes: list[str] = field(default_factory=list)
    early_warning: Any = None  # commlab.forecast.client.EarlyWarningView of an early-warning step, else None


def recommendations_summary(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """The executive summary step's payload inside a run's ``summary.json`` (``None`` if there is none)."""
    return summary_part(summary, SCHEMA)


def _date(iso: Any) -> str:
    return str(iso)[:10] if iso else ""


def _scorecard_members(summary: dict[str, Any] | None) -> list[float | None]:
    """The scorecard's ``members`` per community (non-staff members present at the as-of), in order."""
    recs = recommendations_summary(summary)
    return [summary_number(f.get("value")) for f in (recs or {}).get("facts") or [] if f.get("metric_id") == "members"]


def _data_counts(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the data hold, as a step wrote it (``"data_counts"``, :func:`commlab.nb.data_counts`): the first
    step's whose ``communities``, ``members`` and ``events`` are whole numbers, else ``None``."""
    for part in (summary or {}).values():
        counts = part.get("data_counts") if isinstance(part, dict) else None
        if isinstance(counts, dict) and all(isinstance(counts.get(key), int) and not isinstance(counts[key], bool)
                                            and counts[key] >= 0 for key in ("communities", "members", "events")):
            return counts
    return None


def _counted_members(summary: dict[str, Any] | None, in_data: int | None) -> int | None:
    """The scorecard's member total when it has every community's and it is below the data's count."""
    sizes = _scorecard_members(summary)
    if not sizes or None in sizes:
        return None
    total = round(sum(s for s in sizes if s is not None))
    return total if in_data is None or 0 <= total < in_data else None


def scope_line(summary: dict[str, Any] | None, lang: str) -> str:
    """"Analysed: 11 communities, 8,528 members, 365,845 events, 2023-12-31 to 2024-06-30." in ``lang``.

    Read from the counts a step wrote (``"data_counts"``, :func:`commlab.nb.data_counts`: notebook 01 writes
    them); without them, the communities and members are counted from the scorecard facts; "" when neither
    exists.

    The members are counted as the scorecard counts them (the ``members`` metric: members present at
    the as-of, staff and bots not counted) whenever the executive summary has them all, so the line and
    the scorecard agree; :func:`scope_note` says what the data hold besides (on the Stack Exchange
    Cardano import, the site's "Community" bot: 3,988 accounts, 3,987 members).
    """
    counts = _data_counts(summary)
    if counts:
        counted = _counted_members(summary, counts["members"])
        kw = {key: format_value(counts[key], "count", lang) for key in ("communities", "members", "events")}
        if counted is not None:
            kw["members"] = format_value(counted, "count", lang)
        one = "_one" if counts["communities"] == 1 else ""
        first, last = _date(counts.get("first")), _date(counts.get("last"))
        if counts["events"] and first and last:
            return t("report_scope" + one, lang).format(**kw, first=first, last=last)
        return t("report_scope_short" + one, lang).format(**kw)
    sizes = _scorecard_members(summary)
    if sizes:
        return t("report_scope_short" + ("_one" if len(sizes) == 1 else ""), lang).format(
            communities=format_value(len(sizes), "count", lang),
            members=format_value(sum(s or 0 for s in sizes), "count", lang))
    return ""


def scope_note(summary: dict[str, Any] | None, lang: str) -> str:
    """Why the scope line's members are fewer than the data's accounts ("" when they are not)."""
    counts = _data_counts(summary)
    counted = _counted_members(summary, counts["members"]) if counts else None
    if counts is None or counted is None:
        return ""
    return t("report_scope_others", lang).format(n=format_value(counts["members"] - counted, "count", lang))


def _scorecard(recs: dict[str, Any], names: dict[str, str], lang: str, k: int) -> Scorecard:
    facts: dict[tuple[str, str], dict[str, Any]] = {}
    order: list[str] = []
    for f in recs.get("facts") or []:
        cid = str(f.get(Col.community_id))
        if cid not in order:
            order.append(cid)
        if f.get("metric_id") in SCORECARD_METRICS:
            facts[(cid, str(f["metric_id"]))] = f
    metrics = [m for m in SCORECARD_METRICS if any(m == mid for _, mid in facts)]
    small = set(recs.get("suppressed_communities") or [])
    moved = {(str(c.get(Col.community_id)), str(c.get("metric_id"))): c for c in recs.get("changes") or []}
    medians: dict[str, float | None] = {}
    for m in metrics:
        vals = sorted(v for cid in order if (v := summary_number(facts.get((cid, m), {}).get("value"))) is not None
                      and cid not in small)
        medians[m] = (vals[len(vals) // 2] if len(vals) % 2 else (vals[len(vals) // 2 - 1] + vals[len(vals) // 2]) / 2
                      ) if len(vals) > 1 else None
    rows, hidden, empty = [], 0, 0
    for cid in order:
        cells = []
        for m in metrics:
            info = fact_info(m)
            unit = info.unit if info else ""
            f = facts.get((cid, m), {})
            v = summary_number(f.get("value"))
            label = fact_name(m, lang)
            if cid in small and m != "members":
                cells.append(Cell(label, t(HIDDEN_KEY, lang), numeric=False))
                continue
            if v is None and f.get("suppressed"):
                hidden += 1
                counted = m in MEMBER_COUNT_FACTS
                cells.append(Cell(label, f"<{k}" if counted else t(HIDDEN_KEY, lang), numeric=counted))
                continue
            if v is None:
                empty += 1
                cells.append(Cell(label, t(NO_VALUE_KEY, lang), numeric=False))
                continue
            tone = ""
            if info is not None and info.direction is not None and medians[m] is not None \
                    and v != medians[m]:
                tone = "good" if (v > medians[m]) == info.direction else "bad"
            cell = Cell(label, format_value(v, unit, lang), tone)
            c = moved.get((cid, m))
            change = summary_number(c.get("change")) if c else None
            if change and _moved(change, unit):
                cell.delta = ("↑" if change > 0 else "↓") + format_value(abs(change), unit, lang)
                better = c.get("better")
                cell.delta_tone = "" if better is None else ("up" if better else "down")
            cells.append(cell)
        note = t("report_suppressed_community", lang).format(k=k) if cid in small else ""
        rows.append(ScoreRow(names.get(cid, cid), note, cells))
    notes = [t("report_hidden_values", lang).format(n=hidden, k=k, dash=t(HIDDEN_KEY, lang))] if hidden else []
    if empty:
        notes.append(t("report_no_value_note", lang).format(none=t(NO_VALUE_KEY, lang)))
    legend = t("report_scorecard_legend" if len(rows) > 1 else "report_scorecard_legend_one", lang)
    return Scorecard([fact_name(m, lang) for m in metrics], rows, " ".join(notes), legend)


def _action(r: dict[str, Any], names: dict[str, str], lang: str, status: str = "") -> Action:
    sev = str(r.get("severity") or "")
    return Action(
        severity=sev if sev in _SEVERITY_RANK else "low", severity_label=t(f"sev_{sev}", lang) if sev else "",
        community=names.get(str(r.get(Col.community_id)), str(r.get(Col.community_id))),
        title=str(r.get("title") or ""), action=str(r.get("action") or ""),
        evidence=str(r.get("evidence_text") or ""),
        status=status, status_label=t(f"status_{status}", lang) if status else "",
        threshold=str(r.get("threshold_text") or ""),
    )


def _client_order(recs: list[dict[str, Any]]) -> list[int]:
    """Indices of ``recs`` in client order: by severity, then each community's first before its second.

    A client reads the most severe finding of every community before five findings of one.
    """
    seen: dict[tuple[str, str], int] = {}
    keys = []
    for i, r in enumerate(recs):
        sev = str(r.get("severity"))
        key = (sev, str(r.get(Col.community_id)))
        rank = seen.get(key, 0)
        seen[key] = rank + 1
        keys.append((_SEVERITY_RANK.get(sev, 9), rank, i))
    return [i for *_, i in sorted(keys)]


def _changes(recs: dict[str, Any], names: dict[str, str], lang: str, status: dict[tuple[str, str], str]) -> Changes:
    rows = recs.get("recommendation_status") or []
    counts = [(t(f"status_{s}", lang), sum(1 for r in rows if r.get("status") == s)) for s in _STATUSES]
    new = [_action(r, names, lang, "new") for r in rows if r.get("status") == "new"]
    resolved = [_action(r, names, lang, "resolved") for r in rows if r.get("status") == "resolved"]
    moves = []
    for c in recs.get("changes") or []:
        info = fact_info(str(c.get("metric_id")))
        unit = info.unit if info else ""
        before, after, change = (summary_number(c.get(k)) for k in ("before", "after", "change"))
        if change is None or not _moved(change, unit):
            continue
        rel = abs(change) / abs(before) if before else math.inf
        better = c.get("better")
        moves.append((rel, Move(names.get(str(c.get(Col.community_id)), str(c.get(Col.community_id))),
                                fact_name(str(c.get("metric_id")), lang), format_value(before, unit, lang),
                                format_value(after, unit, lang),
                                ("+" if change > 0 else "−") + format_value(abs(change), unit, lang),
                                "" if better is None else ("good" if better else "bad"))))
    ranked = [m for _, m in sorted(moves, key=lambda x: -x[0])]
    prev = (recs.get("previous") or {}).get("as_of")
    return Changes(previous_as_of=_date(prev), counts=counts, new=new, resolved=resolved,
                   moves=ranked[:CLIENT_MOVES], moves_more=max(0, len(ranked) - CLIENT_MOVES),
                   all_moves=[m for _, m in moves])


def client_view(summary: dict[str, Any] | None, names: dict[str, str], *, lang: str, k: int = 5,
                top_actions: int = CLIENT_ACTIONS) -> ClientView:
    """The client part of a run's report, from its ``summary.json`` content.

    Parameters
    ----------
    summary : dict
        Step name to the step's ``summary.json`` content.
    names : dict
        Community id to display name (ids are shown where a name is missing).
    lang : {"zh", "en"}
    k : int, default 5
        The k-anonymity threshold (for the ``<k`` of hidden counts and the notes).
    top_actions : int, default :data:`CLIENT_ACTIONS`
        How many recommendations the client part shows (the most severe first, each community's
        first before any second); the rest are counted under them and all are in the appendix.

    Returns
    -------
    ClientView
        Without an executive summary step (no ``commlab.recommendations/1`` payload), only ``scope`` (and
        ``early_warning`` when an early-warning step wrote its ``commlab.early_warning/1`` payload).

    Raises
    ------
    InvalidArgument
        When ``top_actions`` is not between 1 and :data:`CLIENT_ACTIONS_MAX`.
    """
    if isinstance(top_actions, bool) or not isinstance(top_actions, int) \
            or not 1 <= top_actions <= CLIENT_ACTIONS_MAX:
        from commlab.errors import InvalidArgument

        raise InvalidArgument(f"top_actions must be a whole number from 1 to {CLIENT_ACTIONS_MAX}; "
                              f"given {top_actions!r}")
    view = ClientView(scope=scope_line(summary, lang), scope_note=scope_note(summary, lang))
    if any(isinstance(part, dict) and str(part.get("schema", "")).startswith("commlab.early_warning/")
           for part in (summary or {}).values()):
        from commlab.forecast.client import early_warning_view  # scikit-learn only when a run forecasts

        view.early_warning = early_warning_view(summary, names, lang=lang, k=k)
    recs = recommendations_summary(summary)
    if recs is None:
        return view
    view.has_summary = True
    view.scorecard = _scorecard(recs, names, lang, k)
    view.notes = [str(n) for n in [recs.get("goal_note"),
                                   *((p or {}).get("text") for p in recs.get("platform_notes") or [])]
                  if isinstance(n, str) and n.strip()]
    status = {(str(r.get(Col.community_id)), str(r.get("rule_id"))): str(r.get("status"))
              for r in recs.get("recommendation_status") or []}
    rows = list(recs.get("recommendations") or [])
    with_status = recs.get("recommendation_status") is not None
    actions = [_action(r, names, lang, status.get((str(r.get(Col.community_id)), str(r.get("rule_id"))), "new")
                       if with_status else "") for r in rows]
    view.all_actions = actions
    view.actions = [actions[i] for i in _client_order(rows)[:top_actions]]
    view.actions_more = max(0, len(actions) - len(view.actions))
    view.first_run = recs.get("previous") is None
    if not view.first_run:
        view.changes = _changes(recs, names, lang, status)
    for item in recs.get("not_applicable") or []:
        if isinstance(item, dict):
            ids = item.get("community_ids") or []
            view.not_applicable.append(NotApplicable(
                str(item.get("title") or item.get("rule_id") or ""), str(item.get("reason") or ""),
                "、".join(names.get(str(i), str(i)) for i in ids) if lang == "zh" else
                ", ".join(names.get(str(i), str(i)) for i in ids)))
        else:
            view.not_applicable.append(NotApplicable(str(item), ""))
    return view
