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
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from commlab.errors import PlaybookError

__all__ = [
    "Bilingual",
    "Condition",
    "Rule",
    "RuleSet",
    "load_rules",
    "default_rules",
    "evaluate_rules",
    "compare_recommendations",
    "SEVERITY_ORDER",
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


class Rule(_Strict):
    """A diagnostic rule and the action it recommends."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: Bilingual
    when: Annotated[Condition | Group, Field(union_mode="left_to_right")]
    severity: Literal["high", "medium", "low"]
    action: Bilingual
    rationale: Bilingual
    practice: str = Field(description="the DOMAIN.md §4/§5 practice (or anchor) the rule comes from")
    peer_axis: str = "theme"


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

    Raises
    ------
    PlaybookError
        Naming the file and the key at fault (unknown keys and wrong types are rejected).
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
    """The shipped rule library (``commlab/rules_library.yaml``)."""
    return load_rules(DEFAULT_LIBRARY)


def _conditions(node: Condition | Group) -> list[Condition]:
    if isinstance(node, Condition):
        return [node]
    return [c for child in (node.all or node.any or []) for c in _conditions(child)]


def _peer_medians(facts: pd.DataFrame, attrs: pd.DataFrame, axis: str) -> pd.DataFrame:
    if axis not in attrs.columns:
        return pd.DataFrame(columns=["community_id", "metric_id", "peer_median", "peer_n"])
    f = facts.merge(attrs[["community_id", axis]], on="community_id")
    g = f.groupby([axis, "metric_id"])["value"]
    med = g.median().rename("peer_median").reset_index()
    n = g.count().rename("peer_n").reset_index()
    f = f[["community_id", axis, "metric_id"]].merge(med, on=[axis, "metric_id"]).merge(n, on=[axis, "metric_id"])
    return f[["community_id", "metric_id", "peer_median", "peer_n"]]


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


def _by_community(facts: pd.DataFrame) -> dict[str, dict[str, float]]:
    facts = facts.dropna(subset=["value"])
    return {
        cid: dict(zip(g["metric_id"], g["value"].astype(float), strict=True))
        for cid, g in facts.groupby("community_id")
    }


def evaluate_rules(
    rules: list[Rule],
    facts: pd.DataFrame,
    attributes: pd.DataFrame,
    *,
    previous: pd.DataFrame | None = None,
    lang: str = "en",
) -> pd.DataFrame:
    """Evaluate ``rules`` for every community.

    Parameters
    ----------
    rules : list of Rule
    facts : DataFrame
        Long table ``community_id, metric_id, value`` (the latest period of each metric, segment
        shares, operational signals).
    attributes : DataFrame
        One row per community with its declared attributes (the communities table).
    previous : DataFrame, optional
        ``facts`` of the previous run of the same playbook, for ``change`` conditions.
    lang : str
        Language of the ``title``/``action``/``rationale`` columns.

    Returns
    -------
    DataFrame
        One row per fired (community, rule): ``community_id, rule_id, severity, title, action,
        rationale, practice, evidence`` (a list of dicts: metric, value, threshold, peer median,
        previous value), sorted by severity then rule id.
    """
    cols = ["community_id", "rule_id", "severity", "title", "action", "rationale", "practice", "evidence"]
    facts = facts.dropna(subset=["value"])
    by_c = _by_community(facts)
    prev_by_c = _by_community(previous) if previous is not None and len(previous) else {}
    attr_rows = {r["community_id"]: r for r in attributes.to_dict(orient="records")}
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
                for cid, g in pm.groupby("community_id")
            }
        for cid in attributes["community_id"]:
            evidence: list[dict[str, Any]] = []
            fired = _evaluate(
                rule.when, cid, by_c.get(cid, {}), attr_rows.get(cid, {}),
                peer_cache[rule.peer_axis].get(cid, {}), prev_by_c.get(cid, {}), evidence,
            )
            if fired:
                out.append({
                    "community_id": cid, "rule_id": rule.id, "severity": rule.severity,
                    "title": rule.title.get(lang), "action": rule.action.get(lang),
                    "rationale": rule.rationale.get(lang), "practice": rule.practice,
                    "evidence": [e for e in evidence if e.get("met")],
                })
    recs = pd.DataFrame(out, columns=cols)
    if len(recs):
        recs = recs.sort_values(
            ["severity", "rule_id", "community_id"], key=lambda s: s.map(SEVERITY_ORDER) if s.name == "severity" else s
        ).reset_index(drop=True)
    return recs


def describe_evidence(evidence: list[dict[str, Any]], lang: str = "en") -> str:
    """One line of evidence, e.g. ``zombie_share = 0.52 > 0.40``."""
    parts = []
    for e in evidence:
        if "attribute" in e:
            parts.append(f"{e['attribute']} = {e['value']}")
            continue
        v = e.get("value")
        if "change" in e:
            word = "较上次变化" if lang == "zh" else "change since last run"
            parts.append(f"{e['metric']} {word} {e['change']:+.1%} ({e['previous']:.3g} → {v:.3g})")
        elif "peer_median" in e:
            word = "同类中位数" if lang == "zh" else "peer median"
            parts.append(f"{e['metric']} = {v:.3g} {e['op']} {e['factor']:g} × {word} {e['peer_median']:.3g}")
        else:
            parts.append(f"{e['metric']} = {v:.3g} {e['op']} {e['threshold']}")
    return "; ".join(parts)


def compare_recommendations(current: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """Which recommendations are new, which persist, which are resolved since the previous run.

    Returns ``community_id, rule_id, status`` with status in new / ongoing / resolved.
    """
    key = ["community_id", "rule_id"]
    now = current[key].drop_duplicates()
    if previous is None or not len(previous):
        return now.assign(status="new")
    before = previous[key].drop_duplicates()
    merged = now.merge(before, on=key, how="outer", indicator=True)
    merged["status"] = merged["_merge"].map({"left_only": "new", "both": "ongoing", "right_only": "resolved"})
    return merged[key + ["status"]].astype({"status": "string"}).reset_index(drop=True)
