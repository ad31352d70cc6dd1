"""Fitting and cross-validating the reply model on annotated IRC logs.

Used by ``scripts/train_reply_model.py`` (which writes the shipped artefact) and by the tests
(which check, on held-out files, that the inference beats the name rule). The model is
scikit-learn's ``LogisticRegression`` on the (message, candidate) rows of
:data:`~commlab.replies.features.FEATURES`, label 1 when the candidate is an annotated parent
of the message; features are standardised for fitting and the coefficients stored back in the
raw scale, so applying the model needs only numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from commlab.replies.corpus import Link, LinkScore, read_annotation, read_text, score_links
from commlab.replies.evaluate import corpus_chat, predict_links
from commlab.replies.features import WINDOW, chat_features
from commlab.replies.irclog import LogLine, parse_irc_log
from commlab.replies.link import link_messages
from commlab.replies.model import ReplyModel

__all__ = ["AnnotatedLog", "load_logs", "fit_model", "signal_precision", "score_logs", "cross_validate", "C"]

#: Inverse regularisation strength of the logistic regression (scikit-learn's default).
C = 1.0


@dataclass
class AnnotatedLog:
    """A parsed log with its gold links and the candidate rows of its annotated messages."""

    name: str
    lines: list[LogLine]
    gold: set[Link]
    first: int
    rows: list[tuple[np.ndarray, np.ndarray]]


def load_logs(pairs: Sequence[tuple[Path, Path]], *, window: int = WINDOW, features: bool = True
              ) -> list[AnnotatedLog]:
    """Read (raw, annotation) pairs and compute the candidate features of every annotated message.

    ``features=False`` skips the features (for logs that are only scored).
    """
    out = []
    for raw, ann in pairs:
        lines = parse_irc_log(read_text(raw), name=Path(raw).name)
        gold = read_annotation(ann)
        first = min(c for c, _ in gold)
        chat, line_of = corpus_chat(lines)
        rows = []
        for pos, (cands, X) in enumerate(chat_features(chat, window=window) if features else ()):
            child = line_of[pos]
            if child >= first:
                rows.append((X, np.array([(child, line_of[c]) in gold for c in cands], dtype=int)))
        out.append(AnnotatedLog(Path(raw).name.split(".raw")[0], lines, gold, first, rows))
    return out


def signal_precision(logs: Sequence[AnnotatedLog], model: ReplyModel) -> dict[str, float]:
    """Precision of the links each explicit signal (name, mention, quote) makes on ``logs``."""
    hits: dict[str, list[int]] = {}
    for log in logs:
        chat, line_of = corpus_chat(log.lines)
        for d in link_messages(chat, model=model):
            child = line_of[d.child]
            if child >= log.first and d.source in ("name", "mention", "quote"):
                hits.setdefault(d.source, []).append(int((child, line_of[d.parent]) in log.gold))
    prec = {k: float(np.mean(v)) for k, v in hits.items()}
    prec.setdefault("mention", prec.get("name", 0.5))
    return prec


def fit_model(logs: Sequence[AnnotatedLog], *, seed: int, c: float = C, measure_signals: bool = True
              ) -> ReplyModel:
    """Fit the logistic regression on the candidate rows of ``logs`` (and measure the signals' precision on them)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    X = np.vstack([x for log in logs for x, _ in log.rows])
    y = np.concatenate([y for log in logs for _, y in log.rows])
    order = np.random.default_rng(seed).permutation(len(y))
    X, y = X[order], y[order]
    scaler = StandardScaler().fit(X)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    lr = LogisticRegression(C=c, max_iter=2000, random_state=seed).fit((X - scaler.mean_) / scale, y)
    coef = lr.coef_[0] / scale
    intercept = float(lr.intercept_[0] - np.sum(lr.coef_[0] * scaler.mean_ / scale))
    model = ReplyModel(coef, intercept)
    return ReplyModel(coef, intercept, signal_precision(logs, model)) if measure_signals else model


def score_logs(logs: Sequence[AnnotatedLog], *, method: str = "kit", model: ReplyModel | None = None,
               signals: bool = True) -> LinkScore:
    """The summed link score of ``method`` over ``logs`` (their annotated lines)."""
    total = LinkScore(0, 0, 0)
    for log in logs:
        pred = predict_links(log.lines, method=method, first=log.first, model=model, signals=signals)
        total = total + score_links(pred, log.gold)
    return total


def cross_validate(logs: Sequence[AnnotatedLog], *, folds: int | None = None, seed: int,
                   signals: bool = True) -> tuple[LinkScore, dict[str, float]]:
    """Score of the kit with each log scored by a model fitted on the logs of the other folds.

    Parameters
    ----------
    folds : int, optional
        Number of folds (consecutive groups of logs); default one per log (leave-one-file-out).

    Returns
    -------
    total, per_log : LinkScore and dict
        The summed score, and the F1 of each log.
    """
    k = folds or len(logs)
    groups = np.array_split(np.arange(len(logs)), k)
    total = LinkScore(0, 0, 0)
    per: dict[str, float] = {}
    for held in groups:
        train = [log for i, log in enumerate(logs) if i not in set(held)]
        model = fit_model(train, seed=seed, measure_signals=False)
        for i in held:
            s = score_logs([logs[i]], model=model, signals=signals)
            total = total + s
            per[logs[i].name] = round(s.f1, 4)
    return total, per
