"""The early-warning pipeline of notebook 06: panel, outcomes, evaluation, ranking, drivers and plays.

:func:`run_early_warning` is the one call the notebook makes; everything it shows is in the returned
:class:`EarlyWarning`.

Which communities are ranked
----------------------------
*Young* communities — in the panel, fate unknown — are today's candidates: each is scored at its own
age *a* (its last complete period, at most ``horizon``) by a forecaster fitted on the communities whose
fate is known and that were still in the panel at that age. When every community's fate is known
(a retrospective data set such as the Stack Exchange sites), the communities are ranked by their
**out-of-fold** probability at ``horizon`` from the evaluation — each predicted by a model that did not
see it — and their drivers come from a model fitted on all of them (a description, not a test).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from commlab.analysis.panel import community_panel
from commlab.data.load import Dataset
from commlab.data.schema import Col
from commlab.errors import UsageError
from commlab.forecast.evaluate import ForecastEvaluation, evaluate_forecaster
from commlab.forecast.model import CommunityForecaster
from commlab.forecast.outcomes import (
    derive_outcomes,
    outcomes_from_column,
    read_outcomes,
    trim_to_outcome_window,
)

__all__ = ["EarlyWarning", "SCHEMA", "ShuffledCheck", "resolve_outcomes", "run_early_warning", "shuffled_check",
           "shuffled_outcomes"]

#: ``schema`` of notebook 06's ``summary.json``: the report's client part recognises the step by it.
SCHEMA = "commlab.early_warning/1"


@dataclass
class EarlyWarning:
    """Everything notebook 06 shows.

    Attributes
    ----------
    panel : DataFrame
        The panel (after dropping periods inside a derived outcome window).
    outcomes : DataFrame or None
        ``community_id, outcome`` (1 = died) of the communities whose fate is known.
    outcome_source : str
        Where the outcomes come from, in words.
    evaluation : ForecastEvaluation or None
        None without outcomes of both kinds.
    shuffled : ShuffledCheck or None
        The same cross-validation, at the horizons the ranking's forecasts were made at, repeated with the
        known fates shuffled among the communities (:func:`shuffled_check`): what the procedure scores where
        there is no signal to find, the yardstick of the real AUC.
    horizon : int
        The period the ranking forecasts at (at most).
    ranking : DataFrame
        ``community_id, periods, horizon, p_die, rank, basis`` (``forecast`` for young communities,
        ``out-of-fold`` for known ones), ``outcome`` (1/0, NaN when unknown).
    drivers : DataFrame
        :func:`commlab.forecast.explain.explain_risk` rows of the ranked communities.
    notes : list of str
        What could not be done, and why.
    settings : dict
    """

    panel: pd.DataFrame
    outcomes: pd.DataFrame | None
    outcome_source: str
    evaluation: ForecastEvaluation | None
    horizon: int
    ranking: pd.DataFrame
    drivers: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    shuffled: ShuffledCheck | None = None

    def __repr__(self) -> str:
        n = self.panel[Col.community_id].nunique()
        known = 0 if self.outcomes is None else len(self.outcomes)
        return (f"EarlyWarning({n} communities in the panel, {known} with a known fate, {len(self.ranking)} ranked "
                f"at up to period {self.horizon})")

    def summary(self) -> dict[str, Any]:
        """JSON-ready: settings, the evaluation, the shuffled-fates check and the ranking.

        Each ranked community carries its plays (rule ids) and its ``drivers``, strongest first: ``metric,
        name, side, push`` (probability), ``reason`` (one sentence in the run's language), ``text`` (the
        reason with its play; :func:`commlab.forecast.explain.explain_risk`) and the play that addresses it
        (``rule_id, rule_title, action, practice``; empty without one). The report's client part is built
        from this (:mod:`commlab.forecast.client`).
        """
        drivers = self.drivers if len(self.drivers) else pd.DataFrame(columns=[Col.community_id, "rule_id"])
        plays = drivers[drivers["rule_id"] != ""].groupby(Col.community_id)["rule_id"].apply(list)
        keys = ("metric", "name", "side", "rule_id", "rule_title", "action", "practice", "text", "reason")
        why = {str(cid): [{**{key: str(getattr(x, key) or "") for key in keys}, "push": round(float(x.push), 4)}
                          for x in g.itertuples()]
               for cid, g in drivers.groupby(Col.community_id, sort=False)}
        ranking = [{Col.community_id: r.community_id, "rank": int(r.rank), "p_die": round(float(r.p_die), 4),
                    "horizon": int(r.horizon), "periods": int(r.periods), "basis": r.basis,
                    "outcome": None if pd.isna(r.outcome) else int(r.outcome),
                    "plays": list(dict.fromkeys(plays.get(r.community_id, []))),
                    "drivers": why.get(str(r.community_id), [])}
                   for r in self.ranking.itertuples()]
        known = None if self.outcomes is None else {"n": len(self.outcomes),
                                                    "died": int(self.outcomes["outcome"].sum())}
        return {"schema": SCHEMA, "settings": self.settings, "outcome_source": self.outcome_source,
                "horizon": self.horizon, "known": known,
                "evaluation": None if self.evaluation is None else self.evaluation.to_dict(),
                "shuffled": None if self.shuffled is None else self.shuffled.to_dict(self.evaluation),
                "ranking": ranking, "notes": self.notes}


def resolve_outcomes(spec: str, ds: Dataset, *, data_dir: str | Path = ".", as_of: Any = None,
                     lang: str = "en") -> tuple[pd.DataFrame | None, str]:
    """Outcomes from the notebook's ``outcomes`` parameter.

    ``""``: none. ``"column:status:closed"``: from a communities column (the values after the second
    colon, separated by ``|``, mean died). ``"rule:90:3"``: derived, died = fewer than 3 active members in the last 90
    days (:func:`commlab.forecast.outcomes.derive_outcomes`). Anything else: an outcomes file, relative
    to ``data_dir`` when not found as given.

    Raises
    ------
    UsageError
        For a malformed spec or a missing file.
    """
    zh = lang == "zh"
    spec = (spec or "").strip()
    if not spec:
        return None, ("未提供结局" if zh else "no outcomes given")
    if spec.startswith("column:"):
        col, sep, values = spec[len("column:"):].partition(":")
        if not sep or not col or not values:
            raise UsageError(f"outcomes {spec!r}: write column:<name>:<value meaning died>, e.g. column:status:closed")
        died = [v.strip() for v in values.split("|") if v.strip()]
        o = outcomes_from_column(ds.communities, col.strip(), died=died)
        return o, (f"社群表的 {col} 列（{'、'.join(died)} = 死亡）" if zh else
                   f"the communities' {col} column ({', '.join(died)} = died)")
    if spec.startswith("rule:"):
        parts = spec.split(":")
        if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
            raise UsageError(f"outcomes {spec!r}: write rule:<days>:<min active members>, e.g. rule:90:3")
        o = derive_outcomes(ds, as_of=as_of, window_days=int(parts[1]), min_active=int(parts[2]))
        return o, o.attrs["rule"].text(lang)
    path = Path(spec)
    if not path.is_file() and (Path(data_dir) / spec).is_file():
        path = Path(data_dir) / spec
    o = read_outcomes(path)
    return o, (f"结局文件 {path.name}" if zh else f"the outcomes file {path.name}")


def shuffled_outcomes(outcomes: pd.DataFrame, random_state: int = 0) -> pd.DataFrame:
    """``outcomes`` with the fates permuted among the communities (seeded; the same share died).

    A forecaster evaluated on these has no signal to find: its AUC should sit near 0.5, and the real
    AUC means something only where it stands clear of this one.
    """
    rng = np.random.default_rng(random_state)
    return outcomes.assign(outcome=rng.permutation(outcomes["outcome"].to_numpy()))


@dataclass
class ShuffledCheck:
    """The AUC the evaluation reaches with the fates shuffled, many times: a permutation test of the real AUC.

    Attributes
    ----------
    aucs : DataFrame
        ``horizon, shuffle, roc_auc``: one out-of-sample AUC per horizon and shuffle.
    settings : dict
        ``n_shuffles``, ``n_repeats`` (of each shuffle's cross-validation), ``random_state``.
    """

    aucs: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def at(self, horizon: int, real: float | None = None) -> dict[str, Any]:
        """At one horizon: the median AUC with shuffled fates, the middle 95 % of the shuffles and, given the real
        AUC, how many shuffles reached it (a permutation p-value is ``(reached + 1) / (n + 1)``)."""
        v = self.aucs.loc[self.aucs["horizon"] == horizon, "roc_auc"].dropna().to_numpy()
        out: dict[str, Any] = {"horizon": int(horizon), "n_shuffles": int(len(v))}
        if not len(v):
            return out
        out["roc_auc"] = {"value": round(float(np.median(v)), 4), "lo": round(float(np.quantile(v, 0.025)), 4),
                          "hi": round(float(np.quantile(v, 0.975)), 4)}
        if real is not None and not np.isnan(real):
            out["reached"] = int((v >= real).sum())
            out["p_value"] = round((out["reached"] + 1) / (len(v) + 1), 4)
        return out

    def to_dict(self, evaluation: ForecastEvaluation | None = None) -> dict[str, Any]:
        """JSON-ready: settings, and per horizon :meth:`at` (with the real AUC of ``evaluation``)."""
        horizons = []
        for k in sorted(int(h) for h in self.aucs["horizon"].unique()):
            real = None
            if evaluation is not None:
                sc = evaluation.scores
                r = sc[(sc["horizon"] == k) & (sc["model"] != "baseline") & (sc["score"] == "roc_auc")]
                real = float(r["value"].iloc[0]) if len(r) else None
            horizons.append(self.at(k, real))
        return {"settings": self.settings, "horizons": horizons}


def shuffled_check(panel: pd.DataFrame, outcomes: pd.DataFrame, *, at: Sequence[int], model: str = "logit",
                   n_shuffles: int = 20, n_repeats: int = 1, random_state: int = 0) -> ShuffledCheck:
    """Evaluate the forecaster ``n_shuffles`` times with the fates shuffled among the communities (seeded).

    Each shuffle runs the same stratified cross-validation as the real evaluation (``n_repeats`` repeats, no
    bootstrap). A single shuffle is one draw; with few communities it can land far from 0.5, so the check
    reports the spread of many, and how many of them reach the real AUC.
    """
    rows = []
    for i in range(n_shuffles):
        seed = random_state + 1 + i
        ev = evaluate_forecaster(panel, shuffled_outcomes(outcomes, seed), at=at, model=model, n_repeats=n_repeats,
                                 n_boot=0, random_state=seed)
        auc = ev.scores[(ev.scores["model"] != "baseline") & (ev.scores["score"] == "roc_auc")]
        rows += [{"horizon": int(r.horizon), "shuffle": i, "roc_auc": r.value} for r in auc.itertuples()]
    return ShuffledCheck(pd.DataFrame(rows, columns=["horizon", "shuffle", "roc_auc"]),
                         {"n_shuffles": n_shuffles, "n_repeats": n_repeats, "random_state": random_state})


def run_early_warning(ds: Dataset, *, as_of: Any, outcomes: str = "", data_dir: str | Path = ".",
                      period: str = "month", horizons: Iterable[int] = (1, 2, 3, 6), horizon: int = 0,
                      model: str = "logit", max_periods: int = 12, metrics: Sequence[str] | None = None,
                      n_repeats: int = 5, n_boot: int = 1000, top: int = 3, lang: str = "en",
                      random_state: int = 0, n_shuffles: int = 20) -> EarlyWarning:
    """Panel, outcomes, evaluation, ranking and drivers in one call.

    Parameters
    ----------
    ds : Dataset
        The data.
    as_of : str, Timestamp or ``"created+<N>d"``
        End of the data.
    outcomes : str
        See :func:`resolve_outcomes`.
    data_dir : str or Path
        Where a relative outcomes file is looked for.
    period, max_periods, metrics
        Of :func:`commlab.analysis.panel.community_panel`.
    horizons : iterable of int
        Horizons of the evaluation (the ages at which young communities are forecast are added, so each
        forecast of the ranking has its out-of-sample figure).
    horizon : int, default 0
        The period the ranking forecasts at; 0 = the largest of ``horizons`` that could be evaluated
        (the first of them when none could).
    model, n_repeats, n_boot, random_state
        Of :func:`commlab.forecast.evaluate.evaluate_forecaster`.
    top : int
        Drivers per community.
    n_shuffles : int, default 20
        Shuffles of the fates in :func:`shuffled_check` (0: none).
    lang : {"zh", "en"}
        Language of the explanations.
    """
    ks = sorted({int(k) for k in horizons})
    panel = community_panel(ds, as_of=as_of, period=period, metrics=metrics, max_periods=max_periods)
    o, source = resolve_outcomes(outcomes, ds, data_dir=data_dir, as_of=as_of, lang=lang)
    notes: list[str] = []
    zh = lang == "zh"
    if o is not None:
        panel = trim_to_outcome_window(panel, o)
        o = o[o[Col.community_id].isin(set(panel[Col.community_id].astype(str)))].reset_index(drop=True)
    settings = {"period": period, "max_periods": max_periods, "model": model, "horizons": ks,
                "n_repeats": n_repeats, "n_boot": n_boot, "random_state": random_state, "as_of": str(as_of),
                "n_shuffles": n_shuffles}
    ev = shuffled = None
    ok: list[int] = []
    if o is not None and o["outcome"].nunique() == 2:
        # the young are forecast at their own age (at most the ranking's horizon): those ages are evaluated too,
        # so every forecast in the ranking has its own out-of-sample figure
        ages = panel.groupby(panel[Col.community_id].astype(str))["period"].max()
        ages = ages[~ages.index.isin(set(o[Col.community_id]))].clip(upper=horizon or max(ks))
        ev = evaluate_forecaster(panel, o, at=sorted(set(ks) | {int(a) for a in ages}), model=model,
                                 n_repeats=n_repeats, n_boot=n_boot, random_state=random_state)
        ok = ev.horizons[ev.horizons["n_splits"] > 0]["horizon"].tolist()
        h = horizon or (max(k for k in ok if k in ks) if set(ok) & set(ks) else ks[0])
    else:
        h = horizon or ks[0]
        notes.append("没有已知结局的两类社群（死亡与存活），无法训练和检验预测。" if zh else
                     "No known outcomes of both kinds (died and survived): nothing to train or test a forecast on.")
    empty = pd.DataFrame(columns=[Col.community_id, "periods", "horizon", "p_die", "rank", "basis", "outcome"])
    ranking, drivers = empty, pd.DataFrame()
    if ev is not None:
        assert o is not None
        age = panel.groupby(panel[Col.community_id].astype(str))["period"].max()
        young = age[~age.index.isin(set(o[Col.community_id]))]
        parts, expl = [], []
        common: dict[str, Any] = {"model": model, "random_state": random_state}
        if len(young):
            for k, ids in young.groupby(young.clip(upper=h)).groups.items():
                try:
                    f = CommunityForecaster(horizon=int(k), **common).fit(panel, o)
                except ValueError as exc:
                    notes.append(f"第 {k} 期无法训练：{exc}" if zh else f"no forecast at period {k}: {exc}")
                    continue
                sub = panel[panel[Col.community_id].astype(str).isin(set(ids))]
                r = f.risk(sub).assign(horizon=int(k), basis="forecast")
                parts.append(r)
                expl.append(f.explain(sub, top=top, lang=lang))
        else:
            pred = ev.predictions[ev.predictions["horizon"] == h]
            if len(pred):
                parts.append(pred[[Col.community_id, "p_die"]].assign(horizon=h, basis="out-of-fold"))
                f = CommunityForecaster(horizon=h, **common).fit(panel, o)
                ex = f.explain(panel[panel[Col.community_id].astype(str).isin(set(pred[Col.community_id]))], top=top,
                               lang=lang)
                oof = dict(zip(pred[Col.community_id], pred["p_die"], strict=True))
                expl.append(ex.assign(p_die=ex[Col.community_id].map(oof)))
        if parts:
            ranking = pd.concat(parts, ignore_index=True)[[Col.community_id, "p_die", "horizon", "basis"]]
            ranking["periods"] = ranking[Col.community_id].map(age).astype(int)
            known = dict(zip(o[Col.community_id], o["outcome"], strict=True))
            ranking["outcome"] = ranking[Col.community_id].map(known)
            ranking = ranking.sort_values(["p_die", Col.community_id], ascending=[False, True]).reset_index(drop=True)
            ranking["rank"] = range(1, len(ranking) + 1)
            ranking = ranking[[Col.community_id, "periods", "horizon", "p_die", "rank", "basis", "outcome"]]
            drivers = pd.concat(expl, ignore_index=True) if expl else pd.DataFrame()
    used = sorted({int(k) for k in ranking["horizon"]} & set(ok))
    if o is not None and used and n_shuffles > 0:
        shuffled = shuffled_check(panel, o, at=used, model=model, n_shuffles=n_shuffles, random_state=random_state)
    return EarlyWarning(panel=panel, outcomes=o, outcome_source=source, evaluation=ev, horizon=int(h),
                        ranking=ranking, drivers=drivers, notes=notes, settings=settings, shuffled=shuffled)
