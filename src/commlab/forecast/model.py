"""``CommunityForecaster``: the probability that a community dies, from its first *k* periods.

A scikit-learn classifier. ``fit(panel, outcomes, horizon=k)`` turns the panel into level and trend
features of periods 1..k (:func:`commlab.forecast.features.horizon_features`) and fits

``model="logit"`` (default, transparent)
    missing values imputed by the median (with a missing-value indicator), standardised, then an
    L2-regularised logistic regression (``C``);
``model="hgb"``
    scikit-learn's ``HistGradientBoostingClassifier`` (missing values handled natively).

Both weigh the classes equally while fitting (``class_weight="balanced"``), so a rare fate is not
ignored; the probabilities are then put back on the scale of the data (``calibration``):

``"sigmoid"``
    Platt scaling fitted on cross-validated predictions of the training communities
    (``CalibratedClassifierCV(ensemble=False)``, 3 stratified folds);
``"prior"``
    the analytic correction of the balanced weights: odds × base-rate odds (exact for a weighted
    logistic model);
``"auto"`` (default)
    ``"sigmoid"`` when each class has at least 3 communities, else ``"prior"``;
``"none"``
    the balanced model's own scores (not calibrated).

It also takes a plain feature matrix (rows = communities), so it drops into Pipelines and passes
scikit-learn's estimator checks.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from commlab.data.schema import Col
from commlab.errors import InvalidArgument
from commlab.forecast.features import horizon_features, is_panel

__all__ = ["MODELS", "CALIBRATIONS", "CommunityForecaster", "outcome_vector"]

#: Accepted values of ``model``.
MODELS: tuple[str, ...] = ("logit", "hgb")
#: Accepted values of ``calibration``.
CALIBRATIONS: tuple[str, ...] = ("auto", "sigmoid", "prior", "none")


def outcome_vector(outcomes: Any, ids: pd.Index) -> pd.Series:
    """Outcomes (1 = died) aligned to the community ids ``ids``; NaN where unknown.

    ``outcomes`` is a frame with ``community_id`` and ``outcome`` (0/1, as
    :func:`commlab.forecast.outcomes.as_outcomes` returns), or a Series / mapping indexed by
    community id.
    """
    if isinstance(outcomes, pd.DataFrame):
        s = pd.Series(outcomes["outcome"].to_numpy(), index=outcomes[Col.community_id].astype(str).to_numpy())
    elif isinstance(outcomes, pd.Series):
        s = outcomes.set_axis(outcomes.index.astype(str))
    else:
        s = pd.Series(dict(outcomes))
        s.index = s.index.astype(str)
    return pd.to_numeric(s, errors="coerce").reindex(ids.astype(str))


class _DropEmpty(TransformerMixin, BaseEstimator):
    """Leave out the features without any value in the training rows (nothing to learn from them)."""

    def fit(self, X: Any, y: Any = None) -> _DropEmpty:
        self.keep_ = ~np.isnan(np.asarray(X, dtype="float64")).all(axis=0)
        if not self.keep_.any():  # nothing at all: keep one column so the model still fits a constant
            self.keep_[0] = True
        return self

    def transform(self, X: Any) -> np.ndarray:
        out = np.asarray(X, dtype="float64")[:, self.keep_]
        return np.nan_to_num(out, nan=0.0) if np.isnan(out).all() else out


class _PriorShift(ClassifierMixin, BaseEstimator):
    """A balanced classifier whose probabilities are moved back to the training base rate."""

    def __init__(self, estimator: Any = None) -> None:
        self.estimator = estimator

    def fit(self, X: Any, y: Any) -> _PriorShift:
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.classes_ = self.estimator_.classes_
        self.prior_ = float(np.mean(np.asarray(y) == self.classes_[1]))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        p = np.clip(self.estimator_.predict_proba(X)[:, 1], 1e-12, 1 - 1e-12)
        prior = min(max(self.prior_, 1e-6), 1 - 1e-6)
        odds = p / (1 - p) * prior / (1 - prior)  # balanced weights act as a prior of 1/2
        q = odds / (1 + odds)
        return np.column_stack([1 - q, q])


class CommunityForecaster(ClassifierMixin, BaseEstimator):
    """Forecast whether a community dies, from level and trend features of its first ``horizon`` periods.

    Parameters
    ----------
    model : {"logit", "hgb"}, default "logit"
        Regularised logistic regression, or histogram gradient boosting.
    horizon : int, default 3
        The period the forecast is made at (features read periods 1..horizon); ``fit`` may override it.
    C : float, default 0.1
        Inverse L2 strength of the logistic regression (smaller = more regularised).
    calibration : {"auto", "sigmoid", "prior", "none"}, default "auto"
        How probabilities are calibrated (see the module docstring).
    learning_rate, max_depth, n_rounds, min_samples_leaf, l2_regularization
        Of the gradient-boosted model (``n_rounds`` is its ``max_iter``).
    random_state : int, default 0
        Seed of the calibration folds and the boosted model.

    Attributes
    ----------
    horizon_ : int
        The horizon the model was fitted at (None when fitted on a feature matrix).
    feature_names_in_ : ndarray of str
        Feature names (``<metric>__level``, ``<metric>__trend``) when fitted on a panel or a frame.
    n_features_in_ : int
    classes_ : ndarray
        ``[0, 1]`` (survived, died) when fitted on outcomes; the sorted labels otherwise.
    base_rate_ : float
        Share of the positive class (died) among the training communities.
    calibration_ : str
        The calibration used (``auto`` resolved).
    reference_ : Series
        Median of each feature over the training communities: the "typical community" that
        :meth:`explain` compares with.
    estimator_ : estimator
        The fitted (calibrated) model.

    Examples
    --------
    >>> f = CommunityForecaster(horizon=2).fit(panel, outcomes)        # doctest: +SKIP
    >>> f.risk(panel).head()                                            # doctest: +SKIP
    """

    def __init__(self, model: str = "logit", horizon: int = 3, *, C: float = 0.1, calibration: str = "auto",
                 learning_rate: float = 0.1, max_depth: int = 3, n_rounds: int = 100, min_samples_leaf: int = 5,
                 l2_regularization: float = 1.0, random_state: int = 0) -> None:
        self.model = model
        self.horizon = horizon
        self.C = C
        self.calibration = calibration
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.n_rounds = n_rounds
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state

    def __sklearn_tags__(self):  # noqa: ANN204 - sklearn's Tags type
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        return tags

    # ------------------------------------------------------------------ building
    def _base(self) -> Any:
        if self.model == "logit":
            return make_pipeline(
                _DropEmpty(),
                SimpleImputer(strategy="median", add_indicator=True),
                StandardScaler(),
                # liblinear: 0.02 s a fit here where lbfgs takes 0.05-0.4 s (BLAS threads on 2 shared cores)
                LogisticRegression(C=self.C, class_weight="balanced", solver="liblinear", max_iter=1000),
            )
        if self.model == "hgb":
            return make_pipeline(_DropEmpty(), HistGradientBoostingClassifier(
                learning_rate=self.learning_rate, max_depth=self.max_depth, max_iter=self.n_rounds,
                min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
                class_weight="balanced", early_stopping=False, random_state=self.random_state))
        raise InvalidArgument(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")

    def _matrix(self, X: Any, *, reset: bool, horizon: int | None = None) -> tuple[Any, pd.Index | None]:
        """Features (and community ids when ``X`` is a panel)."""
        if is_panel(X):
            feats = horizon_features(X, self.horizon_ if horizon is None else horizon)
            if not reset:
                feats = feats.reindex(columns=list(self.feature_names_in_))
            return feats, feats.index
        return X, X.index if isinstance(X, pd.DataFrame) else None

    # ------------------------------------------------------------------ fit / predict
    def fit(self, X: Any, y: Any, horizon: int | None = None) -> CommunityForecaster:
        """Fit on a panel and outcomes (or a feature matrix and labels).

        Parameters
        ----------
        X : DataFrame or array-like
            A panel (``community_id, period`` and metric columns): features of periods
            1..horizon of the communities still in it at ``horizon``. Or a feature matrix, one
            row per community.
        y : DataFrame, Series, mapping or array-like
            With a panel: outcomes (``community_id, outcome`` with 1 = died, or a Series indexed by
            community id); communities without an outcome are left out. With a matrix: labels
            aligned with its rows.
        horizon : int, optional
            Overrides ``self.horizon``.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            If fewer than two classes remain, or ``model``/``calibration`` is unknown.
        """
        if self.calibration not in CALIBRATIONS:
            raise InvalidArgument(f"calibration must be one of {', '.join(CALIBRATIONS)}, got {self.calibration!r}")
        panel_input = is_panel(X)
        self.horizon_ = (self.horizon if horizon is None else horizon) if panel_input else None
        feats, ids = self._matrix(X, reset=True, horizon=self.horizon_)
        if panel_input:
            assert ids is not None
            yy = outcome_vector(y, ids)
            known = yy.notna().to_numpy()
            feats, yy = feats[known], yy[known].astype("int64").to_numpy()
        else:
            yy = y
        Xv, yv = validate_data(self, feats, yy, reset=True, ensure_all_finite="allow-nan", dtype="float64")
        check_classification_targets(yv)
        kind = type_of_target(yv)
        if kind != "binary":
            raise InvalidArgument(f"Only binary classification is supported. The type of the target is {kind}: the "
                             "outcomes must be died or survived")
        if len(np.unique(yv)) < 2:
            raise InvalidArgument("the outcomes hold one class only: a forecaster needs communities that died and "
                             "communities that survived")
        self.classes_ = np.unique(yv)
        y01 = (yv == self.classes_[1]).astype(int)
        self.base_rate_ = float(y01.mean())
        n_min = int(min(y01.sum(), len(y01) - y01.sum()))
        cal = self.calibration
        if cal == "auto":
            cal = "sigmoid" if n_min >= 3 else "prior"
        if cal == "sigmoid" and n_min < 2:
            cal = "prior"
        self.calibration_ = cal
        base = self._base()
        if cal == "sigmoid":
            folds = StratifiedKFold(n_splits=min(3, n_min), shuffle=True, random_state=self.random_state)
            est: Any = CalibratedClassifierCV(base, method="sigmoid", cv=folds, ensemble=False)
        elif cal == "prior":
            est = _PriorShift(base)
        else:
            est = base
        with threadpool_limits(1):  # small matrices: BLAS/OpenMP threads only contend (a boosted fit: 46 s -> 0.7 s)
            self.estimator_ = est.fit(Xv, y01)
        names = getattr(self, "feature_names_in_", None)
        cols = list(names) if names is not None else [f"x{i}" for i in range(Xv.shape[1])]
        with warnings.catch_warnings():  # an all-missing feature has no median: 0, as the imputer keeps it
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(Xv, axis=0)
        self.reference_ = pd.Series(np.nan_to_num(med, nan=0.0), index=cols)
        return self

    def _proba(self, X: Any) -> tuple[np.ndarray, pd.Index | None]:
        check_is_fitted(self, "estimator_")
        feats, ids = self._matrix(X, reset=False)
        Xv = validate_data(self, feats, reset=False, ensure_all_finite="allow-nan", dtype="float64")
        with threadpool_limits(1):
            return self.estimator_.predict_proba(Xv)[:, 1], ids

    def predict_proba(self, X: Any) -> np.ndarray:
        """``[P(survives), P(dies)]`` per community (rows of the features of ``X`` at ``horizon_``)."""
        p, _ = self._proba(X)
        return np.column_stack([1 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """The predicted class: ``classes_[1]`` (died) where P(dies) >= 0.5."""
        p, _ = self._proba(X)
        return self.classes_[(p >= 0.5).astype(int)]

    def risk(self, panel: pd.DataFrame) -> pd.DataFrame:
        """P(dies) of each community still in ``panel`` at ``horizon_``, highest first.

        Returns
        -------
        DataFrame
            ``community_id, p_die, rank`` (1 = most at risk).
        """
        if not is_panel(panel):
            raise InvalidArgument("risk() needs a panel (columns community_id, period and metrics): pass the output of "
                              "commlab.analysis.panel.community_panel")
        p, ids = self._proba(panel)
        out = pd.DataFrame({Col.community_id: ids.astype(str) if ids is not None else [], "p_die": p})
        out = out.sort_values(["p_die", Col.community_id], ascending=[False, True]).reset_index(drop=True)
        out["rank"] = np.arange(1, len(out) + 1)
        return out

    def explain(self, panel: pd.DataFrame, *, top: int = 3, lang: str = "en", rules: Any = None) -> pd.DataFrame:
        """Per community, the few metrics that push its risk up most, in words, each with its play.

        See :func:`commlab.forecast.explain.explain_risk`.
        """
        from commlab.forecast.explain import explain_risk

        return explain_risk(self, panel, top=top, lang=lang, rules=rules)

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:  # noqa: N803 - sklearn's signature
        base = super().__repr__(N_CHAR_MAX)
        if not hasattr(self, "estimator_"):
            return base
        n = getattr(self, "n_features_in_", 0)
        h = "" if self.horizon_ is None else f", fitted at period {self.horizon_}"
        return f"{base}  # {n} features{h}, base rate {self.base_rate_:.0%}, calibration {self.calibration_}"

