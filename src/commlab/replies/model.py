"""The fitted reply model: a logistic regression over candidate pairs, stored as JSON.

The artefact ``reply_model.json`` beside this module holds the coefficients (in the raw feature
scale), the intercept, the feature names it was fitted on, the data and seed it was fitted with,
and the precision measured for each explicit signal. It is written by
``scripts/train_reply_model.py`` and never pickled: reading it runs no code.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from commlab.errors import CommlabError
from commlab.replies.features import FEATURES

__all__ = ["ReplyModel", "ModelFileError", "default_model", "MODEL_FILE"]

#: The shipped artefact.
MODEL_FILE = Path(__file__).with_name("reply_model.json")


class ModelFileError(CommlabError):
    """A reply-model file is missing, unreadable or fitted on other features than this version computes."""

    exit_code = 2


@dataclass(frozen=True)
class ReplyModel:
    """Linear scores of reply candidates; the best candidate of a message is its parent.

    Attributes
    ----------
    coef : ndarray
        One weight per feature of :data:`~commlab.replies.features.FEATURES`.
    intercept : float
    signal_precision : dict
        Precision of the explicit signals (``name``, ``mention``) measured on the training data,
        used as their confidence.
    meta : dict
        How the model was fitted (data, split, seed, scikit-learn version, cross-validated scores).

    Examples
    --------
    >>> model = ReplyModel.load()  # the shipped artefact, fitted by scripts/train_reply_model.py
    >>> model.meta["fitted_on"]
    'irc_disentanglement/dev (10 files, 2337 annotated messages)'
    >>> model.summary()[0][0]
    'self_address'
    """

    coef: np.ndarray
    intercept: float
    signal_precision: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def logits(self, X: np.ndarray) -> np.ndarray:
        """The linear score of each candidate row of ``X``."""
        return X @ self.coef + self.intercept

    def choose(self, X: np.ndarray, *, allow_self: bool = True, first_is_self: bool = True) -> tuple[int, float]:
        """The row of the best candidate and its confidence (softmax share among the candidates).

        Parameters
        ----------
        X : ndarray
            Candidate features; row 0 is the message itself (it starts a conversation).
        allow_self : bool
            ``False`` for a message known to be a reply (e.g. a quote whose target is unknown).
        """
        z = self.logits(X)
        if first_is_self and not allow_self and len(z) > 1:
            z = z.copy()
            z[0] = -np.inf
        best = int(np.argmax(z))
        w = np.exp(z - z[best])
        return best, float(1.0 / w.sum())

    def to_json(self) -> dict[str, Any]:
        """The artefact as a JSON-ready dict."""
        return {
            "kind": "logistic_regression",
            "features": list(FEATURES),
            "coef": [round(float(c), 6) for c in self.coef],
            "intercept": round(float(self.intercept), 6),
            "signal_precision": {k: round(float(v), 4) for k, v in self.signal_precision.items()},
            "meta": self.meta,
        }

    def save(self, path: str | Path = MODEL_FILE) -> Path:
        """Write the artefact (UTF-8 JSON)."""
        p = Path(path)
        p.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return p

    @classmethod
    def load(cls, path: str | Path = MODEL_FILE) -> ReplyModel:
        """Read an artefact written by :meth:`save`.

        Raises
        ------
        ModelFileError
            If the file is missing, not JSON, or lists other features than :data:`FEATURES`.
        """
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelFileError(f"{p}: cannot read the reply model ({exc})") from exc
        if data.get("kind") != "logistic_regression" or data.get("features") != list(FEATURES):
            raise ModelFileError(
                f"{p}: fitted on other features than this version of commlab computes; "
                "refit it with scripts/train_reply_model.py")
        coef = np.asarray(data["coef"], dtype="float64")
        if coef.shape != (len(FEATURES),) or not all(math.isfinite(c) for c in coef):
            raise ModelFileError(f"{p}: the coefficients are not {len(FEATURES)} finite numbers")
        return cls(coef, float(data["intercept"]), dict(data.get("signal_precision", {})), dict(data.get("meta", {})))

    def __repr__(self) -> str:
        top = sorted(zip(FEATURES, self.coef, strict=True), key=lambda kv: -abs(kv[1]))[:5]
        fitted = self.meta.get("fitted_on", "?")
        return (f"ReplyModel({len(self.coef)} features, fitted on {fitted}; strongest: "
                + ", ".join(f"{n} {c:+.2f}" for n, c in top) + ")")

    def summary(self) -> list[tuple[str, float]]:
        """(feature, coefficient) pairs, largest effect first."""
        return sorted(zip(FEATURES, map(float, self.coef), strict=True), key=lambda kv: -abs(kv[1]))


@lru_cache(maxsize=1)
def default_model() -> ReplyModel:
    """The shipped model (:data:`MODEL_FILE`), read once."""
    return ReplyModel.load(MODEL_FILE)
