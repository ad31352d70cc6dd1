"""Honest evaluation of the forecaster: out-of-sample, per horizon, against a baseline on the same folds.

For each horizon *k*:

1. The communities scored are those **still in the panel at period k** with a known outcome; their
   features read periods 1..k only (:func:`commlab.forecast.features.horizon_features`). When the
   outcomes were derived from an activity window (``window_start``), periods ending inside it are
   dropped first (:func:`commlab.forecast.outcomes.trim_to_outcome_window`).
2. **Repeated stratified cross-validation** over communities: each community is one row, so its
   periods are never split between training and test (the folds are grouped by community).
   ``n_splits`` is lowered to the size of the smaller class when needed; each repeat predicts
   every community once, out of sample.
3. The **model** and a **majority-class baseline** (it predicts the training folds' base rate for
   everyone, and the majority class) are scored on exactly the same folds.
4. Scores: ROC AUC, accuracy and balanced accuracy (predicted "died" where P ≥ 0.5), Brier score.
   The value is the mean over repeats of the score of the out-of-fold predictions; the interval is
   a stratified bootstrap over communities (resampling within each class, so every resample has
   both), averaged over repeats the same way.
5. Small n is reported, not hidden: ``n``, the number that died, and a note when the sample is too
   small to say much (fewer than 30 communities or 10 in the smaller class) or too small to evaluate
   at all (fewer than 2 in a class).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.base import clone
from sklearn.model_selection import RepeatedStratifiedKFold

from commlab.data.schema import Col
from commlab.errors import InvalidArgument
from commlab.forecast.features import horizon_features
from commlab.forecast.model import CommunityForecaster, outcome_vector
from commlab.forecast.outcomes import trim_to_outcome_window

__all__ = ["SCORES", "BASELINE", "ForecastEvaluation", "evaluate_forecaster", "score_predictions",
           "SMALL_N", "SMALL_CLASS"]

#: Scores, in table order.
SCORES: tuple[str, ...] = ("roc_auc", "accuracy", "balanced_accuracy", "brier")
#: Name of the baseline in the tables.
BASELINE = "baseline"
#: Below this many communities, or this many in the smaller class, a horizon is flagged "small n".
SMALL_N = 30
SMALL_CLASS = 10


def score_predictions(y: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
    """The four scores of rows of predictions.

    Parameters
    ----------
    y : array (B, n) of 0/1
        Outcomes (1 = died).
    p : array (B, n)
        P(died).

    Returns
    -------
    dict
        Score name -> array (B,). AUC uses average ranks (ties count one half) and is NaN for a
        row with one class only.
    """
    y = np.atleast_2d(y).astype(bool)
    p = np.atleast_2d(p).astype(float)
    n1 = y.sum(axis=1)
    n0 = y.shape[1] - n1
    ranks = rankdata(p, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((ranks * y).sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)
        hit = p >= 0.5
        tpr = (hit & y).sum(axis=1) / n1
        tnr = (~hit & ~y).sum(axis=1) / n0
    auc = np.where((n1 > 0) & (n0 > 0), auc, np.nan)
    return {
        "roc_auc": auc,
        "accuracy": (hit == y).mean(axis=1),
        "balanced_accuracy": (tpr + tnr) / 2,
        "brier": ((p - y) ** 2).mean(axis=1),
    }


@dataclass
class ForecastEvaluation:
    """What :func:`evaluate_forecaster` found.

    Attributes
    ----------
    scores : DataFrame
        Tidy: ``horizon, model, score, value, lo, hi`` (``model`` is the model's name or ``baseline``).
    horizons : DataFrame
        ``horizon, n, n_died, base_rate, n_splits, n_repeats, small_n, note``: who was scored.
    predictions : DataFrame
        ``horizon, community_id, outcome, p_die, p_baseline``: out-of-fold P(dies), the mean over
        repeats (for calibration plots and for ranking communities whose outcome is known).
    settings : dict
        Model, parameters, folds, repeats, bootstrap size, interval level, seed.
    """

    scores: pd.DataFrame
    horizons: pd.DataFrame
    predictions: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        ok = self.horizons[self.horizons["n_splits"] > 0]
        return (f"ForecastEvaluation(model={self.settings.get('model')!r}, horizons="
                f"{self.horizons['horizon'].tolist()}, evaluated at {ok['horizon'].tolist()}, "
                f"n={ok['n'].tolist()})")

    def table(self) -> pd.DataFrame:
        """One row per horizon and model: n, died, base rate and each score with its interval."""
        rows = []
        info = self.horizons.set_index("horizon")
        for (k, model), g in self.scores.groupby(["horizon", "model"], sort=False):
            h = info.loc[k]
            row: dict[str, Any] = {"horizon": k, "model": model, "n": int(h["n"]), "n_died": int(h["n_died"]),
                                   "base_rate": h["base_rate"]}
            for r in g.itertuples():
                row[r.score] = r.value
                row[f"{r.score}_lo"] = r.lo
                row[f"{r.score}_hi"] = r.hi
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: settings, then per horizon who was scored and the scores of model and baseline."""
        out: dict[str, Any] = {"settings": self.settings, "horizons": []}
        for h in self.horizons.itertuples():
            item: dict[str, Any] = {"horizon": int(h.horizon), "n": int(h.n), "n_died": int(h.n_died),
                                    "base_rate": _num(h.base_rate), "n_splits": int(h.n_splits),
                                    "n_repeats": int(h.n_repeats), "small_n": bool(h.small_n), "note": h.note}
            g = self.scores[self.scores["horizon"] == h.horizon]
            for model, gm in g.groupby("model", sort=False):
                key = "baseline" if model == BASELINE else "model"
                item[key] = {r.score: {"value": _num(r.value), "lo": _num(r.lo), "hi": _num(r.hi)}
                             for r in gm.itertuples()}
            out["horizons"].append(item)
        return out

    def to_markdown(self, *, title: str = "") -> str:
        """A Markdown table: per horizon, n (died), base rate, then model and baseline scores with intervals."""
        lines = [f"**{title}**", ""] if title else []
        lines += ["| k | n (died) | base rate | model AUC | baseline AUC | model acc. | baseline acc. | "
                  "model bal. acc. | baseline bal. acc. | model Brier | baseline Brier |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        info = self.horizons.set_index("horizon")
        for k in self.horizons["horizon"]:
            h = info.loc[k]
            g = self.scores[self.scores["horizon"] == k]
            cells = [str(k), f"{int(h['n'])} ({int(h['n_died'])})", _pct(h["base_rate"])]
            for score in SCORES:
                for model in (self.settings.get("model"), BASELINE):
                    r = g[(g["model"] == model) & (g["score"] == score)]
                    cells.append(_ci(r.iloc[0]) if len(r) else "–")
            lines.append("| " + " | ".join(cells) + " |")
        notes = [f"- k = {int(h.horizon)}: {h.note}" for h in self.horizons.itertuples() if h.note]
        if notes:
            lines += ["", *notes]
        return "\n".join(lines) + "\n"


def _num(v: Any) -> float | None:
    return None if v is None or pd.isna(v) else round(float(v), 4)


def _pct(v: Any) -> str:
    return "–" if v is None or pd.isna(v) else f"{float(v):.0%}"


def _ci(r: pd.Series) -> str:
    if pd.isna(r["value"]):
        return "–"
    if pd.isna(r["lo"]):
        return f"{r['value']:.2f}"
    return f"{r['value']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}]"


def _note(n: int, n_died: int, k: int, lang: str = "en") -> str:
    small = min(n_died, n - n_died)
    if n == 0:
        return f"no community with a known outcome is still in the panel at period {k}"
    if small < 2:
        return (f"only {n_died} died and {n - n_died} survived among the {n} communities still in the panel: "
                "cross-validation needs at least 2 of each; not evaluated")
    if n < SMALL_N or small < SMALL_CLASS:
        return (f"small n: {n} communities ({n_died} died); the intervals are wide and one community more or "
                "less moves the scores; read them as descriptive, and a model as better than the baseline only "
                "where the AUC interval stays above 0.5")
    return ""


def evaluate_forecaster(panel: pd.DataFrame, outcomes: pd.DataFrame | pd.Series | Mapping[str, int], *,
                        at: Iterable[int] = (1, 2, 3, 6, 8, 12), model: str = "logit", n_splits: int = 5,
                        n_repeats: int = 5, n_boot: int = 1000, ci: float = 0.95, random_state: int = 0,
                        **params: Any) -> ForecastEvaluation:
    """Evaluate :class:`CommunityForecaster` per horizon by repeated stratified cross-validation.

    Parameters
    ----------
    panel : DataFrame
        ``community_id, period`` and numeric metric columns (any names).
    outcomes : DataFrame, Series or mapping
        ``community_id, outcome`` (1 = died; see :func:`commlab.forecast.outcomes.as_outcomes`),
        or a Series/mapping from community id to 0/1.
    at : iterable of int
        Horizons *k* (periods) to evaluate.
    model : {"logit", "hgb"}
        The forecaster's model.
    n_splits, n_repeats : int
        Folds (lowered to the smaller class's size) and repeats of the cross-validation.
    n_boot : int
        Bootstrap resamples for the intervals.
    ci : float
        Interval level.
    random_state : int
        Seed of the folds, the bootstrap and the models.
    **params
        Further :class:`CommunityForecaster` parameters (``C``, ``calibration``, ...).

    Returns
    -------
    ForecastEvaluation

    Raises
    ------
    ValueError
        If a horizon is below 1, ``n_splits`` below 2 or ``ci`` not in (0, 1).
    """
    horizons = sorted({int(k) for k in at})
    if not horizons or horizons[0] < 1:
        raise InvalidArgument(f"horizons must be whole numbers from 1, got {list(at)}")
    if n_splits < 2 or n_repeats < 1 or n_boot < 0 or not 0 < ci < 1:
        raise InvalidArgument(f"n_splits must be >= 2, n_repeats >= 1, n_boot >= 0 and ci in (0, 1); got {n_splits}, "
                              f"{n_repeats}, {n_boot} and {ci}")
    if isinstance(outcomes, pd.DataFrame):
        panel = trim_to_outcome_window(panel, outcomes)
    template = CommunityForecaster(model=model, random_state=random_state, **params)
    rng = np.random.default_rng(random_state)
    alpha = (1 - ci) / 2
    score_rows, info_rows, pred_rows = [], [], []
    for k in horizons:
        feats = horizon_features(panel, k)
        y_all = outcome_vector(outcomes, feats.index)
        known = y_all.notna().to_numpy()
        X, y = feats[known], y_all[known].astype(int).to_numpy()
        n, n_died = len(y), int(y.sum())
        small = min(n_died, n - n_died)
        note = _note(n, n_died, k)
        splits = min(n_splits, small) if small >= 2 else 0
        info_rows.append({"horizon": k, "n": n, "n_died": n_died, "base_rate": n_died / n if n else np.nan,
                          "n_splits": splits, "n_repeats": n_repeats if splits else 0,
                          "small_n": bool(n < SMALL_N or small < SMALL_CLASS), "note": note})
        if not splits:
            for name in (model, BASELINE):
                for s in SCORES:
                    score_rows.append({"horizon": k, "model": name, "score": s, "value": np.nan, "lo": np.nan,
                                       "hi": np.nan})
            continue
        cv = RepeatedStratifiedKFold(n_splits=splits, n_repeats=n_repeats,
                                     random_state=int(rng.integers(2**31 - 1)))
        P = np.full((n_repeats, n), np.nan)
        B = np.full((n_repeats, n), np.nan)
        for i, (train, test) in enumerate(cv.split(X, y)):
            r = i // splits
            f = clone(template).fit(X.iloc[train], y[train])
            P[r, test] = f.predict_proba(X.iloc[test])[:, 1]
            B[r, test] = y[train].mean()
        # stratified bootstrap of communities (both classes in every resample)
        pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
        idx = np.hstack([rng.choice(pos, (n_boot, len(pos))), rng.choice(neg, (n_boot, len(neg)))])
        for name, preds in ((model, P), (BASELINE, B)):
            point = {s: np.nanmean([score_predictions(y, preds[r])[s][0] for r in range(n_repeats)])
                     for s in SCORES}
            boot = {s: np.zeros(n_boot) for s in SCORES}
            for r in range(n_repeats):
                sc = score_predictions(y[idx], preds[r][idx])
                for s in SCORES:
                    boot[s] += sc[s] / n_repeats
            for s in SCORES:
                lo, hi = np.nanquantile(boot[s], [alpha, 1 - alpha]) if np.isfinite(boot[s]).any() else \
                    (np.nan, np.nan)  # no resample (n_boot = 0): no interval
                score_rows.append({"horizon": k, "model": name, "score": s, "value": float(point[s]),
                                   "lo": float(lo), "hi": float(hi)})
        pred_rows.append(pd.DataFrame({"horizon": k, Col.community_id: X.index.astype(str), "outcome": y,
                                       "p_die": P.mean(axis=0), "p_baseline": B.mean(axis=0)}))
    settings = {"model": model, "params": template.get_params(), "n_splits": n_splits, "n_repeats": n_repeats,
                "n_boot": n_boot, "ci": ci, "random_state": random_state, "threshold": 0.5,
                "horizons": horizons}
    predictions = pd.concat(pred_rows, ignore_index=True) if pred_rows else pd.DataFrame(
        columns=["horizon", Col.community_id, "outcome", "p_die", "p_baseline"])
    return ForecastEvaluation(pd.DataFrame(score_rows), pd.DataFrame(info_rows), predictions, settings)
