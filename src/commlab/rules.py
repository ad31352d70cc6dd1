"""Rules: from diagnostics to recommended actions.

A rule is data, not code. It names a condition on registered metrics (or segment shares, or
the community's declared attributes), a severity, the recommended action in zh and en, and the
rationale quoting the practice of ``DOMAIN.md`` §4 it comes from. Conditions are compared with a
fixed set of operators; nothing taken from a YAML file is ever executed.

A condition is one of

``{metric: zombie_share, op: ">", value: 0.4}``
    the community's value against a threshold;
``{metric: ugc_share, op: "<", peers: median, factor: 0.8}``
    against ``factor`` × the median of its peers (same value on ``peer_axis``, default theme);
``{metric: active_share_30d, change: relative, op: "<", value: -0.2}``
    against the previous run of the same playbook (relative or absolute change);
``{attribute: theme, op: in, value: [knowledge]}``
    a declared attribute of the community (theme, monetization, ...);

combined with ``all: [...]`` / ``any: [...]``. A metric that is missing for a community makes
its condition false (the rule cannot fire on missing evidence) and is listed as such.

The rules follow the community's goal (``communities.goal``, :data:`commlab.goals.GOAL_RULES`):
for a community with a goal, a rule that serves it is raised in severity and compares some metrics
with tighter thresholds (:func:`rule_for_goal`); the recommendation says which goal it was read for.

A rule also declares where it applies (``requires:``, see :class:`Requirements`): the event
types it needs in the data (course completions for a completion rule), staff members (for a
rule about staff replies), a minimum of members or of peer communities, the themes or
platforms it is written for, a previous run. For a community that lacks any of it the rule is
*not applicable*: it is not evaluated, never fires, and :func:`not_applicable` says why. A rule
made of metric conditions only, none of whose metrics can be computed for a community, is not
applicable there either.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from commlab.data.schema import EVENT_TYPE, GOAL, PLATFORM, REPLYING_ROLES, THEME, VOCABULARIES, Col
from commlab.errors import PlaybookError
from commlab.facts import fact_name
from commlab.goals import GoalRule, goal_rule, without_citations
from commlab.rules_text import join_words, metric_label, tr

__all__ = [
    "Bilingual",
    "Condition",
    "Requirements",
    "Rule",
    "RuleSet",
    "load_rules",
    "default_rules",
    "PROFILE_COLUMNS",
    "not_applicable",
    "not_applicable_summary",
    "reason_text",
    "evaluate_rules",
    "rule_for_goal",
    "compare_recommendations",
    "SEVERITY_ORDER",
    "STAFF_MEMBER_ROLES",
]

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b,
}

DEFAULT_LIBRARY = Path(__file__).with_name("rules_library.yaml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(_Strict):
    """A text in Chinese and English."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class Condition(_Strict):
    """One comparison; see the module docstring for the four kinds."""

    metric: str | None = None
    attribute: str | None = None
    op: Literal["<", "<=", ">", ">=", "==", "!=", "in", "not in"]
    value: float | str | list[str] | None = None
    peers: Literal["median"] | None = None
    factor: float = 1.0
    change: Literal["relative", "absolute"] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Condition:
        if (self.metric is None) == (self.attribute is None):
            raise ValueError("a condition names exactly one of 'metric' or 'attribute'")
        if self.peers is not None and self.change is not None:
            raise ValueError("'peers' and 'change' cannot be combined in one condition")
        if self.peers is None and self.value is None:
            raise ValueError("a condition needs a 'value' (or 'peers: median')")
        if self.attribute is not None and (self.peers or self.change):
            raise ValueError("attribute conditions compare with a value only")
        if self.op in ("in", "not in") and not isinstance(self.value, list):
            raise ValueError(f"op '{self.op}' needs a list value")
        return self


class Group(_Strict):
    """``all`` or ``any`` of conditions (or nested groups)."""

    all: list[Annotated[Condition | Group, Field(union_mode="left_to_right")]] | None = None
    any: list[Annotated[Condition | Group, Field(union_mode="left_to_right")]] | None = None

    @model_validator(mode="after")
    def _one(self) -> Group:
        if (self.all is None) == (self.any is None):
            raise ValueError("a group has exactly one of 'all' or 'any'")
        return self


#: Roles that count as staff for ``requires: {staff: true}``: people who can reply (bots do not).
STAFF_MEMBER_ROLES: tuple[str, ...] = REPLYING_ROLES

#: Columns of the community profile :func:`not_applicable` reads (:func:`commlab.recommend.community_profile`):
#: staff members (owner or staff role) and the number of events of each type up to the analysis instant.
PROFILE_COLUMNS: tuple[str, ...] = (Col.community_id, "staff_members", *(f"events_{c}" for c in EVENT_TYPE.codes))


def _codes_of(vocabulary: Any, values: list[str] | None, key: str) -> list[str] | None:
    if values is None:
        return None
    unknown = [v for v in values if v not in vocabulary.codes]
    if unknown:
        raise ValueError(f"{key}: unknown {vocabulary.name} {', '.join(map(repr, unknown))}; "
                         f"allowed: {', '.join(vocabulary.codes)}")
    if not values:
        raise ValueError(f"{key}: give at least one {vocabulary.name}, or leave the key out")
    return values


class Requirements(_Strict):
    """What a rule needs of a community before it can say anything about it (every key must hold).

    Attributes
    ----------
    event_types : list of str
        At least one event of one of these types (codes of ``EVENT_TYPE``) up to the analysis
        instant: ``[course_complete]`` for a completion rule, ``[reply, mention, reaction]``
        for one on interactions. Empty: no condition.
    staff : bool
        At least one member with the role owner or staff (bots do not reply for the team).
    min_members : int
        At least this many members (the ``members`` fact).
    min_peers : int
        At least this many communities, the community included, share its value of the rule's
        ``peer_axis`` (for rules that compare a community with its peers).
    themes, platforms : list of str, optional
        The community's declared theme / platform is one of these.
    previous_run : bool
        The previous run of the playbook measured this community (for rules on changes).
    """

    event_types: list[str] = Field(default_factory=list)
    staff: bool = False
    min_members: int = Field(0, ge=0)
    min_peers: int = Field(0, ge=0)
    themes: list[str] | None = None
    platforms: list[str] | None = None
    previous_run: bool = False

    @model_validator(mode="after")
    def _known_codes(self) -> Requirements:
        _codes_of(EVENT_TYPE, self.event_types or None, "event_types")
        _codes_of(THEME, self.themes, "themes")
        _codes_of(PLATFORM, self.platforms, "platforms")
        return self


class Rule(_Strict):
    """A diagnostic rule, where it applies, and the action it recommends."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: Bilingual
    when: Annotated[Condition | Group, Field(union_mode="left_to_right")]
    severity: Literal["high", "medium", "low"]
    action: Bilingual
    rationale: Bilingual
    practice: str = Field(description="the DOMAIN.md §4/§5 practice (or anchor) the rule comes from")
    peer_axis: str = "theme"
    requires: Requirements = Field(default_factory=Requirements)


class RuleSet(_Strict):
    """A file of rules."""

    rules: list[Rule]

    @model_validator(mode="after")
    def _unique(self) -> RuleSet:
        ids = [r.id for r in self.rules]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate rule ids: {', '.join(dup)}")
        return self


def _format_loc(loc: tuple) -> str:
    return ".".join(str(p) for p in loc if not str(p).startswith(("Condition", "Group", "function")))


def load_rules(source: str | Path | list[dict]) -> list[Rule]:
    """Load and validate rules from a YAML file (``rules: [...]``) or a list of dicts.

    Parameters
    ----------
    source : str, Path or list of dict
        A rule library file in the format of ``commlab/rules_library.yaml``, or its rules as dicts.

    Returns
    -------
    list of Rule
        In the order given.

    Raises
    ------
    PlaybookError
        Naming the file and the key at fault (unknown keys and wrong types are rejected).

    Examples
    --------
    >>> import commlab as cl
    >>> rules = cl.load_rules("src/commlab/rules_library.yaml")
    >>> [r.id for r in rules] == [r.id for r in cl.default_rules()]
    True
    >>> cl.load_rules([{"id": "x", "nope": 1}])
    Traceback (most recent call last):
    ...
    commlab.errors.PlaybookError: <rules>: ...
    """
    name = str(source) if not isinstance(source, list) else "<rules>"
    if isinstance(source, list):
        data: Any = {"rules": source}
    else:
        try:
            data = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise PlaybookError(f"{name}: cannot read rules: {exc}") from exc
    try:
        return list(RuleSet.model_validate(data).rules)
    except ValidationError as exc:
        raise PlaybookError(f"{name}: " + "; ".join(
            f"{_format_loc(e['loc'])}: {e['msg']}" for e in exc.errors()
        )) from None


def default_rules() -> list[Rule]:
    """The shipped rule library (``commlab/rules_library.yaml``).

    Examples
    --------
    >>> import commlab as cl
    >>> rules = cl.default_rules()
    >>> len(rules) > 10, rules[0].id
    (True, 'low_base_activity')
    """
    return load_rules(DEFAULT_LIBRARY)


def _conditions(node: Condition | Group) -> list[Condition]:
    if isinstance(node, Condition):
        return [node]
    return [c for child in (node.all or node.any or []) for c in _conditions(child)]


def _peer_medians(facts: pd.DataFrame, attrs: pd.DataFrame, axis: str) -> pd.DataFrame:
    if axis not in attrs.columns:
        return pd.DataFrame(columns=[Col.community_id, "metric_id", "peer_median", "peer_n"])
    f = facts.merge(attrs[[Col.community_id, axis]], on=Col.community_id)
    g = f.groupby([axis, "metric_id"])["value"]
    med = g.median().rename("peer_median").reset_index()
    n = g.count().rename("peer_n").reset_index()
    f = f[[Col.community_id, axis, "metric_id"]].merge(med, on=[axis, "metric_id"]).merge(n, on=[axis, "metric_id"])
    return f[[Col.community_id, "metric_id", "peer_median", "peer_n"]]


def _evaluate(
    node: Condition | Group,
    cid: str,
    values: dict[str, float],
    attributes: dict[str, Any],
    peers: dict[str, tuple[float, int]],
    previous: dict[str, float],
    evidence: list[dict[str, Any]],
) -> bool:
    if isinstance(node, Group):
        children = node.all if node.all is not None else node.any
        assert children is not None
        results = [_evaluate(c, cid, values, attributes, peers, previous, evidence) for c in children]
        return all(results) if node.all is not None else any(results)
    op = _OPS[node.op]
    if node.attribute is not None:
        got = attributes.get(node.attribute)
        ok = got is not None and bool(op(got, node.value))
        evidence.append({"attribute": node.attribute, "value": got, "op": node.op, "threshold": node.value,
                         "met": ok})
        return ok
    metric = node.metric
    assert metric is not None
    v = values.get(metric)
    item: dict[str, Any] = {"metric": metric, "value": v, "op": node.op}
    if v is None or pd.isna(v):
        item.update(met=False, note="missing")
        evidence.append(item)
        return False
    if node.peers is not None:
        med, n = peers.get(metric, (float("nan"), 0))
        threshold = node.factor * med
        item.update(peer_median=med, peer_n=n, factor=node.factor, threshold=threshold)
        if n < 2 or pd.isna(med):
            item.update(met=False, note="fewer than 2 peers")
            evidence.append(item)
            return False
        ok = bool(op(v, threshold))
    elif node.change is not None:
        before = previous.get(metric)
        item.update(previous=before, change_kind=node.change, threshold=node.value)
        if before is None or pd.isna(before) or (node.change == "relative" and before == 0):
            item.update(met=False, note="no previous value")
            evidence.append(item)
            return False
        change = (v - before) / abs(before) if node.change == "relative" else v - before
        item["change"] = change
        ok = bool(op(change, node.value))
    else:
        item["threshold"] = node.value
        ok = bool(op(v, node.value))
    item["met"] = ok
    evidence.append(item)
    return ok


def _with_thresholds(node: Condition | Group, values: dict[str, float]) -> Condition | Group:
    """``node`` with the fixed thresholds of the metrics in ``values`` replaced (not peers, not changes)."""
    if isinstance(node, Condition):
        if node.metric in values and node.peers is None and node.change is None:
            return node.model_copy(update={"value": float(values[node.metric])})
        return node
    key = "all" if node.all is not None else "any"
    return node.model_copy(update={key: [_with_thresholds(c, values) for c in (node.all or node.any or [])]})


def rule_for_goal(rule: Rule, goal: Any) -> tuple[Rule, GoalRule | None]:
    """``rule`` as it reads for a community whose goal is ``goal`` (:data:`commlab.goals.GOAL_RULES`).

    Returns
    -------
    (Rule, GoalRule or None)
        The rule with the goal's severity and thresholds, and the mapping entry applied; ``rule``
        itself and ``None`` where the goal does not touch it or no goal is stated.
    """
    g = goal_rule(goal, rule.id)
    if g is None:
        return rule, None
    update: dict[str, Any] = {"when": _with_thresholds(rule.when, dict(g.thresholds))}
    if g.severity is not None:
        update["severity"] = g.severity
    return rule.model_copy(update=update), g


def _by_community(facts: pd.DataFrame) -> dict[str, dict[str, float]]:
    facts = facts.dropna(subset=["value"])
    return {
        cid: dict(zip(g["metric_id"], g["value"].astype(float), strict=True))
        for cid, g in facts.groupby(Col.community_id)
    }


def _metrics_of(rule: Rule) -> list[str]:
    return list(dict.fromkeys(c.metric for c in _conditions(rule.when) if c.metric is not None))


def _check_profile(profile: pd.DataFrame, rules: list[Rule]) -> None:
    needs = any(r.requires.staff or r.requires.event_types for r in rules)
    missing = [c for c in PROFILE_COLUMNS if c not in profile.columns]
    if needs and missing:
        raise ValueError(f"the community profile lacks the columns {', '.join(missing)}; build it with "
                         "commlab.recommend.community_profile(data, as_of=...)")


def _unmet(rule: Rule, cid: str, attrs: dict[str, Any], prof: dict[str, Any], values: dict[str, float],
           peers: dict[str, int], previous: set[str]) -> tuple[str, dict[str, Any]] | None:
    """The first requirement of ``rule`` that community ``cid`` does not meet: ``(reason, details)``."""
    req = rule.requires
    if req.themes is not None and attrs.get("theme") not in req.themes:
        return "themes", {"vocabulary": "theme", "allowed": req.themes}
    if req.platforms is not None and attrs.get("platform") not in req.platforms:
        return "platforms", {"vocabulary": "platform", "allowed": req.platforms}
    if req.event_types and not any(_count(prof.get(f"events_{t}")) > 0 for t in req.event_types):
        return "event_types", {"types": req.event_types}
    if req.staff and _count(prof.get("staff_members")) < 1:
        return "staff", {}
    if req.min_members and _count(values.get("members")) < req.min_members:
        return "min_members", {"n": req.min_members}
    if req.min_peers and peers.get(cid, 0) < req.min_peers:
        return "min_peers", {"n": req.min_peers, "axis": rule.peer_axis}
    if req.previous_run and cid not in previous:
        return "previous_run", {}
    metrics = _metrics_of(rule)
    only_metrics = all(c.metric is not None for c in _conditions(rule.when))
    if metrics and only_metrics and not any(m in values for m in metrics):
        return "no_data", {"metrics": metrics}
    return None


def _count(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if v != v else v


def _peer_counts(attributes: pd.DataFrame, axis: str) -> dict[str, int]:
    if axis not in attributes.columns:
        return {}
    value = attributes[axis]
    sizes = value.map(value.value_counts(dropna=True)).fillna(0)
    return dict(zip(attributes[Col.community_id].astype(str), sizes.astype(int), strict=True))


def not_applicable(
    rules: list[Rule],
    facts: pd.DataFrame,
    attributes: pd.DataFrame,
    profile: pd.DataFrame,
    *,
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Which rules do not apply to which communities, and why.

    Parameters
    ----------
    rules : list of Rule
    facts : DataFrame
        ``community_id, metric_id, value`` as given to :func:`evaluate_rules`.
    attributes : DataFrame
        The communities table (``theme``, ``platform`` and each rule's ``peer_axis``).
    profile : DataFrame
        One row per community with :data:`PROFILE_COLUMNS`
        (:func:`commlab.recommend.community_profile`).
    previous : DataFrame, optional
        Facts of the previous run (for ``previous_run``).

    Returns
    -------
    DataFrame
        ``community_id, rule_id, reason, details``: one row per (community, rule) that is not
        applicable, ``reason`` the first unmet key of ``requires`` (``themes``, ``platforms``,
        ``event_types``, ``staff``, ``min_members``, ``min_peers``, ``previous_run``) or
        ``no_data`` (none of the rule's metrics has a value), ``details`` what it needed.

    Raises
    ------
    ValueError
        If a rule needs staff or event types and ``profile`` lacks the columns.
    """
    _check_profile(profile, rules)
    values = _by_community(facts)
    prev = set() if previous is None or not len(previous) else set(
        previous.dropna(subset=["value"])[Col.community_id].astype(str))
    attrs = {str(r[Col.community_id]): r for r in attributes.to_dict(orient="records")}
    profs = {str(r[Col.community_id]): r for r in profile.to_dict(orient="records")} if len(profile) else {}
    rows = []
    for rule in rules:
        peers = _peer_counts(attributes, rule.peer_axis) if rule.requires.min_peers else {}
        for cid in attributes[Col.community_id].astype(str):
            unmet = _unmet(rule, cid, attrs.get(cid, {}), profs.get(cid, {}), values.get(cid, {}), peers, prev)
            if unmet is not None:
                rows.append({Col.community_id: cid, "rule_id": rule.id, "reason": unmet[0], "details": unmet[1]})
    return pd.DataFrame(rows, columns=[Col.community_id, "rule_id", "reason", "details"])


def reason_text(reason: str, details: dict[str, Any], lang: str = "en") -> str:
    """Why a rule does not apply, in words of ``lang`` (labels of the data vocabularies, metric names)."""
    if reason in ("themes", "platforms"):
        vocab = VOCABULARIES[details["vocabulary"]]
        return tr(f"na_{reason}", lang, allowed=join_words([vocab.label(c, lang) for c in details["allowed"]], lang))
    if reason == "event_types":
        return tr("na_event_types", lang, types=join_words([EVENT_TYPE.label(c, lang) for c in details["types"]],
                                                           lang))
    if reason == "min_peers":
        vocab = VOCABULARIES.get(details["axis"])
        axis = details["axis"] if vocab is None else (vocab.zh if lang == "zh" else vocab.en)
        return tr("na_min_peers", lang, n=details["n"], axis=axis)
    if reason == "no_data":
        names = [metric_label(m, lang, fallback=fact_name(m, lang)) for m in details["metrics"]]
        return tr("na_no_data", lang, metrics=join_words(names, lang, "and"))
    return tr(f"na_{reason}", lang, **details)


def not_applicable_summary(rules: list[Rule], skipped: pd.DataFrame, *, lang: str = "en") -> list[dict[str, Any]]:
    """:func:`not_applicable` for a report's appendix: one entry per rule and reason.

    Returns
    -------
    list of dict
        ``rule_id, title, reason, community_ids`` (``title`` and ``reason`` in ``lang``), in
        the order of ``rules``.
    """
    out: list[dict[str, Any]] = []
    for rule in rules:
        mine = skipped[skipped["rule_id"] == rule.id]
        groups: dict[str, list[str]] = {}
        for r in mine.itertuples():
            groups.setdefault(reason_text(r.reason, r.details, lang), []).append(str(r.community_id))
        out += [{"rule_id": rule.id, "title": rule.title.get(lang), "reason": text, "community_ids": ids}
                for text, ids in groups.items()]
    return out


def evaluate_rules(
    rules: list[Rule],
    facts: pd.DataFrame,
    attributes: pd.DataFrame,
    *,
    profile: pd.DataFrame,
    previous: pd.DataFrame | None = None,
    lang: str = "en",
    skipped: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Evaluate ``rules`` for every community where they apply.

    Parameters
    ----------
    rules : list of Rule
    facts : DataFrame
        Long table ``community_id, metric_id, value`` (the latest period of each metric, segment
        shares, operational signals).
    attributes : DataFrame
        One row per community with its declared attributes (the communities table).
    profile : DataFrame
        What each community's data hold (:data:`PROFILE_COLUMNS`), for the rules' ``requires``.
    previous : DataFrame, optional
        ``facts`` of the previous run of the same playbook, for ``change`` conditions.
    lang : str
        Language of the ``title``/``action``/``rationale`` columns.
    skipped : DataFrame, optional
        :func:`not_applicable` of the same arguments, when the caller has it already.

    Returns
    -------
    DataFrame
        One row per fired (community, rule): ``community_id, rule_id, severity, title, action,
        rationale, practice, evidence`` (a list of dicts: metric, value, threshold, peer median,
        previous value), ``goal`` (the community's stated goal, ``None`` when none) and
        ``goal_note`` (why the goal changed this rule's severity or thresholds, in ``lang``; ""
        where it did not), sorted by severity then rule id. A rule never fires where it is not
        applicable. Where ``attributes`` has a ``goal`` column, each community's rules follow its
        goal (:func:`rule_for_goal`).
    """
    cols = [Col.community_id, "rule_id", "severity", "title", "action", "rationale", "practice", "evidence", "goal",
            "goal_note"]
    if skipped is None:
        skipped = not_applicable(rules, facts, attributes, profile, previous=previous)
    skip = set(zip(skipped[Col.community_id].astype(str), skipped["rule_id"], strict=True))
    facts = facts.dropna(subset=["value"])
    by_c = _by_community(facts)
    prev_by_c = _by_community(previous) if previous is not None and len(previous) else {}
    attr_rows = {r[Col.community_id]: r for r in attributes.to_dict(orient="records")}
    peer_cache: dict[str, dict[str, dict[str, tuple[float, int]]]] = {}
    out: list[dict[str, Any]] = []
    for rule in rules:
        if rule.peer_axis not in peer_cache:
            pm = _peer_medians(facts, attributes, rule.peer_axis)
            peer_cache[rule.peer_axis] = {
                cid: {
                    m: (float(med), int(n))
                    for m, med, n in zip(g["metric_id"], g["peer_median"], g["peer_n"], strict=True)
                }
                for cid, g in pm.groupby(Col.community_id)
            }
        for cid in attributes[Col.community_id]:
            if (str(cid), rule.id) in skip:
                continue
            goal = _goal(attr_rows.get(cid, {}))
            read, entry = rule_for_goal(rule, goal)
            evidence: list[dict[str, Any]] = []
            fired = _evaluate(
                read.when, cid, by_c.get(cid, {}), attr_rows.get(cid, {}),
                peer_cache[rule.peer_axis].get(cid, {}), prev_by_c.get(cid, {}), evidence,
            )
            if fired:
                out.append({
                    Col.community_id: cid, "rule_id": rule.id, "severity": read.severity,
                    "title": rule.title.get(lang), "action": rule.action.get(lang),
                    "rationale": rule.rationale.get(lang), "practice": rule.practice,
                    "evidence": [e for e in evidence if e.get("met")], "goal": goal,
                    "goal_note": "" if entry is None else tr("goal_rule_note", lang, goal=GOAL.label(goal, lang),
                                                              why=without_citations(entry.why_zh if lang == "zh"
                                                                                    else entry.why_en)),
                })
    recs = pd.DataFrame(out, columns=cols)
    recs["goal"] = pd.Series([r["goal"] for r in out], index=recs.index, dtype=object)  # None stays None in JSON
    if len(recs):
        recs = recs.sort_values(
            ["severity", "rule_id", Col.community_id],
            key=lambda s: s.map(SEVERITY_ORDER) if s.name == "severity" else s,
        ).reset_index(drop=True)
    return recs


def _goal(attributes: dict[str, Any]) -> str | None:
    """The stated goal in a community's attributes, ``None`` when there is none."""
    goal = attributes.get("goal")
    if goal is None or goal is pd.NA or (isinstance(goal, float) and goal != goal) or str(goal) == "":
        return None
    return str(goal)


def compare_recommendations(current: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """Which recommendations are new, which persist, which are resolved since the previous run.

    Returns ``community_id, rule_id, status`` with status in new / ongoing / resolved.
    """
    key = [Col.community_id, "rule_id"]
    now = current[key].drop_duplicates()
    if previous is None or not len(previous):
        return now.assign(status="new")
    before = previous[key].drop_duplicates()
    merged = now.merge(before, on=key, how="outer", indicator=True)
    merged["status"] = merged["_merge"].map({"left_only": "new", "both": "ongoing", "right_only": "resolved"})
    return merged[key + ["status"]].astype({"status": "string"}).reset_index(drop=True)
