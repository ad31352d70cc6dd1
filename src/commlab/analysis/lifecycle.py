"""Member lifecycle with the BG/NBD model (Fader, Hardie & Lee 2005).

"Counting your customers the easy way: an alternative to the Pareto/NBD model",
*Marketing Science* 24(2), 275–284. While alive, a member is active as a Poisson process with
rate λ ~ Gamma(r, α); after each activity they drop out ("die") with probability p ~ Beta(a, b).
Per member the data are ``frequency`` x (repeat active periods), ``recency`` t_x (age at the last
activity) and ``T`` (age at ``as_of``), ages counted from the first activity.

Here the "transaction" is an active period (a UTC day or week with any activity), which turns
chat streams into the discrete repeat events the model expects.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeResult, minimize
from scipy.special import digamma, gammaln, hyp2f1
from sklearn.base import BaseEstimator

from commlab.analysis.daymask import block_of, day_bit, days_between
from commlab.analysis.features import ACTIVITY_EXCLUDED, timestamptz_literal
from commlab.analysis.threads import cpu_threads
from commlab.data.schema import Col
from commlab.data.stored import StoredEvents
from commlab.engines.base import Source
from commlab.errors import ConvergenceWarning, InvalidArgument, NotFittedError

__all__ = ["BetaGeoModel", "rfm_from_events", "zombie_share", "simulate_bgnbd", "member_p_alive"]

_PARAMS = ("r", "alpha", "a", "b")
#: Period numbers count from this Monday (UTC).
_EPOCH_MONDAY = pd.Timestamp("1970-01-05", tz="UTC")
#: Bounds of the log-parameters during the search (e^-15 .. e^15).
_LOG_BOUNDS = (-15.0, 15.0)
#: A fit whose line search stalls counts as converged when no gradient component of the mean
#: negative log-likelihood (by the log-parameters) that could still move exceeds this: the
#: parameters are then within ~1e-4 (log scale) of the optimum, far inside their standard errors.
_STATIONARY = 1e-4


class _Distinct:
    """The distinct values of a column and where each row's value is among them.

    Histories take few distinct values per column (whole periods: at 1 M members a few hundred)
    where the rows are many, so each function of one column (``gammaln(r + x)``, ``log(alpha + T)``)
    is computed once per distinct value and gathered: the same numbers, a fraction of the work.
    """

    def __init__(self, values: np.ndarray) -> None:
        self.values, self.index = np.unique(values, return_inverse=True)

    def __call__(self, f) -> np.ndarray:
        return f(self.values)[self.index]


def _loglik_grad(params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray, *,
                 grad: bool = True, distinct: tuple[_Distinct, _Distinct, _Distinct] | None = None,
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-member log-likelihood and, if ``grad``, its derivatives by (r, alpha, a, b), shape (4, n).

    ``ll = A1 + A2 + log(exp(A3) + exp(A4))`` (Fader, Hardie & Lee 2005, eq. 6), with
    ``A4 = -inf`` for members without repeat activity. ``distinct``: :class:`_Distinct` of ``x``,
    ``tx`` and ``T`` (the functions of one column are then computed per distinct value).
    """
    r, alpha, a, b = params
    if distinct is None:
        distinct = (_Distinct(x), _Distinct(tx), _Distinct(T))
    on_x, on_tx, on_T = distinct
    log_aT = on_T(lambda v: np.log(alpha + v))
    log_atx = on_tx(lambda v: np.log(alpha + v))
    a1 = on_x(lambda v: gammaln(r + v)) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + on_x(lambda v: gammaln(b + v)) - gammaln(b) - on_x(lambda v: gammaln(a + b + v))
    a3 = -(r + x) * log_aT
    bx1 = np.maximum(b + x - 1, 1e-300)
    a4 = np.where(x > 0, np.log(a) - on_x(lambda v: np.log(np.maximum(b + v - 1, 1e-300))) - (r + x) * log_atx,
                  -np.inf)
    mix = np.logaddexp(a3, a4)
    ll = a1 + a2 + mix
    if not grad:
        return ll, None
    w4 = np.exp(a4 - mix)  # weight of the "dropped out after the last activity" term
    w3 = 1.0 - w4
    d_r = on_x(lambda v: digamma(r + v)) - digamma(r) + np.log(alpha) - w3 * log_aT - w4 * log_atx
    d_alpha = r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + tx))
    ab = digamma(a + b) - on_x(lambda v: digamma(a + b + v))
    d_a = ab + w4 / a
    d_b = ab + on_x(lambda v: digamma(b + v)) - digamma(b) - w4 / bx1
    return ll, np.vstack([d_r, d_alpha, d_a, d_b])


def _projected_gradient(logp: np.ndarray, jac: np.ndarray) -> float:
    """Largest gradient component that could still move inside :data:`_LOG_BOUNDS`."""
    lo, hi = _LOG_BOUNDS
    g = np.where((logp <= lo) & (jac > 0) | (logp >= hi) & (jac < 0), 0.0, jac)
    return float(np.abs(g).max())


@dataclass
class _Data:
    x: np.ndarray
    tx: np.ndarray
    T: np.ndarray
    w: np.ndarray

    def distinct(self) -> tuple[_Distinct, _Distinct, _Distinct]:
        """:class:`_Distinct` of ``x``, ``tx`` and ``T``, computed once per data."""
        if not hasattr(self, "_distinct"):
            self._distinct = (_Distinct(self.x), _Distinct(self.tx), _Distinct(self.T))
        return self._distinct


#: The columns of an RFM table, in the order of an array's columns.
RFM_COLUMNS = ("frequency", "recency", "T")


def _histories(X, recency=None, T=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``frequency``, ``recency`` and ``T`` as float arrays from an RFM table, an (n, 3) array or three arrays."""
    if recency is None and T is None:
        if isinstance(X, pd.DataFrame):
            missing = [c for c in RFM_COLUMNS if c not in X.columns]
            if missing:
                raise InvalidArgument(f"the RFM table lacks the column(s) {', '.join(missing)}; it needs "
                                      "frequency, recency and T (as rfm_from_events returns)")
            return tuple(X[c].to_numpy(dtype=float) for c in RFM_COLUMNS)  # type: ignore[return-value]
        arr = np.asarray(X, dtype=float)
        if arr.ndim != 2 or arr.shape[1] != 3:
            raise InvalidArgument(f"expected an RFM table or an array of shape (n, 3) (frequency, recency, T); "
                                  f"got shape {arr.shape}: pass recency and T too when X is the frequency alone")
        return arr[:, 0], arr[:, 1], arr[:, 2]
    if recency is None or T is None:
        raise InvalidArgument("give both recency and T with the frequency, or one RFM table")
    return (np.asarray(X, dtype=float).ravel(), np.asarray(recency, dtype=float).ravel(),
            np.asarray(T, dtype=float).ravel())


def _compress(frequency, recency, T) -> _Data:
    df = pd.DataFrame({
        "x": np.asarray(frequency, dtype=float),
        "tx": np.asarray(recency, dtype=float),
        "T": np.asarray(T, dtype=float),
    })
    if df.isna().any().any():
        raise InvalidArgument("frequency, recency and T must not contain missing values")
    if (df["x"] < 0).any() or (df["tx"] < 0).any() or (df["tx"] > df["T"] + 1e-9).any():
        raise InvalidArgument("need frequency >= 0 and 0 <= recency <= T")
    if ((df["x"] == 0) & (df["tx"] > 0)).any():
        raise InvalidArgument("recency must be 0 when frequency is 0")
    g = df.groupby(["x", "tx", "T"], sort=False).size().reset_index(name="w")
    return _Data(g["x"].to_numpy(), g["tx"].to_numpy(), g["T"].to_numpy(), g["w"].to_numpy(dtype=float))


class BetaGeoModel(BaseEstimator):
    """The BG/NBD model fitted by maximum likelihood.

    A scikit-learn estimator: ``get_params``/``set_params``/``clone`` work, ``fit`` returns the model,
    learned state ends in ``_``, and using it unfitted raises :class:`~commlab.errors.NotFittedError`
    (``sklearn.utils.validation.check_is_fitted`` agrees). ``fit`` takes an RFM table (as from
    :func:`rfm_from_events`), an array of shape (n, 3), or the three columns apart.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on the log-parameters (a small value such as 0.001 helps on tiny data).
    n_threads : int or None, default None
        BLAS threads while fitting (:func:`commlab.analysis.threads.cpu_threads`): ``None`` is one,
        ``-1`` every core available to the process.

    Attributes
    ----------
    params_ : Series
        ``r``, ``alpha``, ``a``, ``b``.
    standard_errors_ : Series
        From the inverse Hessian of the negative log-likelihood (delta method from the
        log-parameters); NaN when the Hessian is not invertible.
    log_likelihood_ : float
    n_ : int
        Members fitted.
    converged_ : bool
        Whether the optimiser converged; when it did not, ``fit`` warns with
        :class:`~commlab.errors.ConvergenceWarning`.

    Warns
    -----
    ConvergenceWarning
        From ``fit``, when no optimiser run converged (the estimates may be off).

    Examples
    --------
    >>> import commlab as cl
    >>> from commlab.analysis.lifecycle import simulate_bgnbd
    >>> rfm = simulate_bgnbd(2000, 30.0, r=0.25, alpha=4.0, a=0.8, b=2.5, random_state=1)
    >>> model = cl.BetaGeoModel().fit(rfm)
    >>> model.converged_, model.get_params()
    (True, {'n_threads': None, 'penalizer': 0.0})
    >>> p = model.p_alive(rfm)  # P(alive) per member, in [0, 1]
    >>> bool(((p >= 0) & (p <= 1)).all())
    True
    """

    def __init__(self, penalizer: float = 0.0, n_threads: int | None = None) -> None:
        self.penalizer = penalizer
        self.n_threads = n_threads

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "params_")

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"BetaGeoModel(penalizer={self.penalizer}) (not fitted)"
        p = ", ".join(f"{k}={v:.3g}" for k, v in self.params_.items())
        return f"BetaGeoModel({p}; fitted on {self.n_} members, log-likelihood {self.log_likelihood_:.1f})"

    def _nll(self, logp: np.ndarray, d: _Data) -> float:
        return self._nll_grad(logp, d, grad=False)[0]

    def _nll_grad(self, logp: np.ndarray, d: _Data, grad: bool = True) -> tuple[float, np.ndarray]:
        """Mean negative log-likelihood (weighted by ``d.w``) and its gradient by the log-parameters."""
        with np.errstate(all="ignore"):  # extreme trial points give inf/nan: rejected below
            p = np.exp(logp)
            ll, g = _loglik_grad(p, d.x, d.tx, d.T, grad=grad, distinct=d.distinct())
            n = d.w.sum()
            val = -(d.w @ ll) / n + self.penalizer * (logp ** 2).sum()
            jac = -(g @ d.w) / n * p + 2 * self.penalizer * logp if grad else np.zeros(4)
        if not (np.isfinite(val) and np.isfinite(jac).all()):
            return 1e100, np.zeros(4)
        return float(val), jac

    def _search(self, d: _Data, starts: list[np.ndarray]) -> OptimizeResult:
        """Minimise from each start (L-BFGS-B on the analytic gradient); polish if none converged."""
        best = None
        for x0 in starts:
            res = minimize(self._nll_grad, x0, args=(d,), jac=True, method="L-BFGS-B", bounds=[_LOG_BOUNDS] * 4,
                           options={"ftol": 1e-12, "gtol": 1e-8, "maxiter": 1000})
            if best is None or res.fun < best.fun:
                best = res
        if not best.success and _projected_gradient(best.x, best.jac) < _STATIONARY:
            # the line search stalls where the mean log-likelihood no longer changes in float64
            # (typically with a on its lower bound, when nobody seems to drop out): converged
            best.success = True
        if not best.success:  # polish with a derivative-free method
            nm = minimize(self._nll, best.x, args=(d,), method="Nelder-Mead",
                          options={"xatol": 1e-7, "fatol": 1e-10, "maxiter": 4000})
            if nm.fun < best.fun:
                return nm
        return best

    def fit(self, X, recency=None, T=None, *,
            initial: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0), standard_errors: bool = True):
        """Fit r, alpha, a and b.

        Parameters
        ----------
        X : DataFrame, array-like of shape (n, 3), or array-like of shape (n,)
            An RFM table with the columns ``frequency`` (repeat active periods), ``recency`` (age at
            the last activity) and ``T`` (age at the analysis instant), in one unit, as
            :func:`rfm_from_events` returns; or those three as the columns of an array; or the
            frequency alone, with ``recency`` and ``T`` given.
        recency, T : array-like, optional
            With ``X`` the frequency: the other two columns.
        initial : tuple of 4 float
            Starting values of r, alpha, a, b (a second start scaled to the data is also tried).
        standard_errors : bool, default True
            Compute ``standard_errors_`` from a numerical Hessian (skip for bootstrap refits).

        Returns
        -------
        self

        Raises
        ------
        InvalidArgument
            On missing values, inconsistent histories, or an empty input (also a ``ValueError``).

        Warns
        -----
        ConvergenceWarning
            When the optimiser did not converge.
        """
        d = _compress(*_histories(X, recency, T))
        if d.w.sum() == 0:
            raise InvalidArgument("no members to fit")
        starts = [np.log(initial), np.log([0.5, max(float(np.mean(d.T)), 1.0) / 4, 0.5, 2.0])]
        return self._fit_data(d, starts, standard_errors=standard_errors)

    def _fit_data(self, d: _Data, starts: list[np.ndarray], *, standard_errors: bool = True,
                  warn: bool = True):
        with cpu_threads(self.n_threads):
            return self._fit_threads(d, starts, standard_errors=standard_errors, warn=warn)

    def _fit_threads(self, d: _Data, starts: list[np.ndarray], *, standard_errors: bool, warn: bool):
        res = self._search(d, starts)
        logp = res.x
        self.params_ = pd.Series(np.exp(logp), index=list(_PARAMS), name="value")
        n = d.w.sum()
        self.n_ = int(n)
        self.log_likelihood_ = float(-(self._nll(logp, d) - self.penalizer * (logp ** 2).sum()) * n)
        self.converged_ = bool(getattr(res, "success", True))
        if warn and not self.converged_:
            warnings.warn(
                f"BetaGeoModel: the optimiser did not converge on {self.n_} members ({getattr(res, 'message', '')}); "
                "the parameters may be off: try a small penalizer (e.g. 0.001) or other initial values",
                ConvergenceWarning, stacklevel=4)
        self.standard_errors_ = (self._standard_errors(logp, d) if standard_errors
                                 else pd.Series(np.nan, index=list(_PARAMS), name="se"))
        return self

    def _standard_errors(self, logp: np.ndarray, d: _Data) -> pd.Series:
        n = d.w.sum()
        f = lambda v: self._nll(v, d) * n  # noqa: E731
        h = 1e-4
        k = len(logp)
        H = np.empty((k, k))
        for i in range(k):
            for j in range(i, k):
                ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
                H[i, j] = H[j, i] = (
                    f(logp + ei + ej) - f(logp + ei - ej) - f(logp - ei + ej) + f(logp - ei - ej)
                ) / (4 * h * h)
        try:
            cov = np.linalg.inv(H)
            se_log = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
        except np.linalg.LinAlgError:
            se_log = np.full(k, np.nan)
        return pd.Series(np.exp(logp) * se_log, index=list(_PARAMS), name="se")

    def _check(self) -> pd.Series:
        if not self.__sklearn_is_fitted__():
            raise NotFittedError("BetaGeoModel is not fitted yet: call fit(rfm) first")
        return self.params_

    def summary(self) -> pd.DataFrame:
        """Parameters with standard errors and 95 % Wald intervals."""
        p = self._check()
        se = self.standard_errors_
        return pd.DataFrame({
            "value": p, "se": se, "lower_95": p - 1.96 * se, "upper_95": p + 1.96 * se,
        }).rename_axis("param")

    def p_alive(self, X, recency=None, T=None) -> np.ndarray:
        """Probability that each member is still alive at age ``T``.

        Parameters
        ----------
        X, recency, T
            The histories, as for :meth:`fit`.

        Returns
        -------
        ndarray
            One probability per member.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        """
        r, alpha, a, b = self._check().to_numpy()
        x, tx, TT = _histories(X, recency, T)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ratio = np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + (r + x) * (
                np.log(alpha + TT) - np.log(alpha + tx))
        odds = np.where(x > 0, np.exp(log_ratio), 0.0)
        return 1.0 / (1.0 + odds)

    def expected_activity(self, t, X=None, recency=None, T=None) -> np.ndarray:
        """Expected active periods in the next ``t`` periods.

        Without a history: E[X(t)] for a new member. With the histories (``X``, ``recency``, ``T``
        as for :meth:`fit`): E[Y(t) | x, t_x, T] for each member (Fader, Hardie & Lee 2005, eq. 10).

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        """
        r, alpha, a, b = self._check().to_numpy()
        t = np.asarray(t, dtype=float)
        if X is None:
            z = t / (alpha + t)
            return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))
        x, tx, TT = _histories(X, recency, T)
        z = t / (alpha + TT + t)
        head = (a + b + x - 1) / (a - 1)
        body = 1 - ((alpha + TT) / (alpha + TT + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
        denom = 1 + np.where(x > 0, a / np.maximum(b + x - 1, 1e-300) * ((alpha + TT) / (alpha + tx)) ** (r + x), 0)
        return head * body / denom


def rfm_from_events(events: Source, as_of: pd.Timestamp, period: str = "D", *,
                    event_types: tuple[str, ...] | None = None, engine: Any = None) -> pd.DataFrame:
    """Frequency, recency and T per member from active periods.

    Computed by DuckDB (one pass over the events), so the events may be a DataFrame or stay on
    disk (Parquet/CSV paths, or the stored events of a cached data set). The naive pandas
    version, :func:`commlab.analysis.naive.naive_rfm`, is the test oracle. Stored events with the
    import's member keys (:attr:`commlab.data.stored.StoredEvents.keys`) are grouped by that key and
    named back from the keys' table; other stored events of a data cache entry by a 64-bit hash of
    (community, member), named back from the entry's members table when no two of its members share a
    hash; any other events, or a shared hash, by the names.

    Parameters
    ----------
    events : DataFrame, path(s) or StoredEvents
        Canonical events (at least ``community_id``, ``member_id``, ``ts``, ``event_type``);
        only ``ts <= as_of`` counts.
    as_of : Timestamp
        Tz-aware analysis instant.
    period : {"D", "W"}
        UTC day or ISO week (Monday start).
    event_types : tuple of str, optional
        Which events are activity; default every type except join/leave.
    engine : DuckDBEngine, optional
        Runs the query with its settings (``memory_limit``, ``threads``, ``temp_directory``); another
        engine (Spark) or none: DuckDB with its defaults.

    Returns
    -------
    DataFrame
        ``community_id``, ``member_id``, ``frequency`` (active periods − 1), ``recency``
        (periods from the first to the last active period), ``T`` (periods from the first
        active period to the period of ``as_of``), sorted by community and member. Members
        without activity have no row.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c01"])
    >>> rfm = cl.rfm_from_events(ds.events, pd.Timestamp("2024-06-30T16:00:00Z"))
    >>> rfm.columns.tolist()
    ['community_id', 'member_id', 'frequency', 'recency', 'T']
    >>> model = cl.BetaGeoModel().fit(rfm)
    """
    from commlab.engines.duck import DuckDBEngine, bind_as_of

    if period not in ("D", "W"):
        raise InvalidArgument(f"period must be 'D' or 'W', got {period!r}")
    now = pd.Timestamp(as_of)
    if now.tzinfo is None:
        raise InvalidArgument("as_of must be tz-aware (UTC)")
    now = now.tz_convert("UTC")
    step = 7 if period == "W" else 1
    now_idx = (now - _EPOCH_MONDAY).days // step
    kinds = ", ".join("'" + str(v).replace("'", "''") + "'" for v in (event_types or ACTIVITY_EXCLUDED))
    keep = f"IN ({kinds})" if event_types else f"NOT IN ({kinds})"
    period_no = days_between(timestamptz_literal(_EPOCH_MONDAY), "CAST(ts AS TIMESTAMPTZ)", days=step)
    where = f"CAST(ts AS TIMESTAMPTZ) <= $as_of AND CAST(event_type AS VARCHAR) {keep}"
    eng = engine if isinstance(engine, DuckDBEngine) else DuckDBEngine()
    con = eng.connect()
    try:
        rel = eng.relation(con, events, "events")
        keys = events.keys if isinstance(events, StoredEvents) else None
        out = None if keys is None else _rfm_by_stored_key(con, rel, keys, where, period_no, now_idx, now)
        members = _entry_members(events) if out is None else None
        out = out if members is None else _rfm_by_member_hash(con, rel, members, where, period_no, now_idx, now)
        if out is None:
            out = con.execute(bind_as_of(_rfm_by_name_sql(rel, where, period_no, now_idx), now)).df()
    finally:
        con.close()
    return out.astype({Col.community_id: "string", Col.member_id: "string"})


#: SQL of the 64-bit key of a member in :func:`rfm_from_events`' grouping by key (tests replace it to force
#: collisions).
_MEMBER_HASH = "hash(CAST(community_id AS VARCHAR), CAST(member_id AS VARCHAR))"


def _entry_members(events: Source) -> Path | None:
    """The members table of the data cache entry holding ``events``, or ``None`` (events not in an entry).

    The events of an entry are validated against that table: every (community, member) of an event is
    one of its rows (:func:`commlab.data.load.load_dataset` stops on an event by an unknown member).
    """
    if not isinstance(events, StoredEvents) or events.cache is None:
        return None
    path = events.path.parent / "members.parquet"
    return path if path.is_file() else None


def _rfm_blocks(source: str, keys: dict[str, str], where: str, period_no: str) -> str:
    """SQL (two CTEs, ``e`` and ``b``): the active periods of each key per block of 63 periods.

    ``keys`` maps each key column to its SQL over ``source``. The active periods of a key are counted
    as the bits of one mask per block of 63 periods (:mod:`commlab.analysis.daymask`), not with a
    DISTINCT over every (key, period): one group-by of the events instead of two. ``period_no`` is
    the period number: whole periods since Monday 1970-01-05 (``daymask.days_between``, exact).
    """
    cols = ", ".join(keys)
    return f"""
        e AS (
            SELECT {", ".join(f"{sql} AS {name}" for name, sql in keys.items())}, {period_no} AS p
            FROM {source}
            WHERE {where}
        ),
        b AS (
            SELECT {cols}, min(p) AS first_p, max(p) AS last_p, bit_or({day_bit("p")}) AS mask
            FROM e GROUP BY {cols}, {block_of("p")}
        )"""


def _rfm_columns(now_idx: int) -> str:
    return (f"CAST(sum(bit_count(mask)) - 1 AS DOUBLE) AS frequency, "
            f"CAST(max(last_p) - min(first_p) AS DOUBLE) AS recency, CAST({now_idx} - min(first_p) AS DOUBLE) AS T")


def _rfm_by_name_sql(source: str, where: str, period_no: str, now_idx: int) -> str:
    """The RFM query grouping the events by (community, member) names: any events."""
    names = {c: f"CAST({c} AS VARCHAR)" for c in (Col.community_id, Col.member_id)}
    return f"""
        WITH {_rfm_blocks(source, names, where, period_no)}
        SELECT community_id, member_id, {_rfm_columns(now_idx)}
        FROM b GROUP BY community_id, member_id ORDER BY community_id, member_id
    """


def _rfm_by_member_hash(con: Any, source: str, members: Path, where: str, period_no: str, now_idx: int,
                        now: pd.Timestamp) -> pd.DataFrame | None:
    """The RFM query grouping the events by a 64-bit hash of (community, member), or ``None`` when unsafe.

    Grouping by one integer instead of two strings: the benchmark's 50 M stored events (1 M members) 6.6 -> 4.0 s
    CPU, 3.5 -> 2.2 s wall (no change at 5 M, where the strings' hash tables fit the caches).
    The names come back from the members table by the key. Safe when no two members share a key (checked
    on the members table, every time) and every event's key is a member's (the entry's events are
    validated against its members; checked again on the result): ``None`` otherwise, and the caller
    groups by the names.
    """
    from commlab.engines.duck import bind_as_of

    mem = f"read_parquet({_sql_str(str(members))})"
    keyed = (f"SELECT DISTINCT CAST(community_id AS VARCHAR) AS community_id, "
             f"CAST(member_id AS VARCHAR) AS member_id FROM {mem}")
    pairs, keys = con.execute(f"SELECT count(*), count(DISTINCT {_MEMBER_HASH}) FROM ({keyed})").fetchone()
    if pairs != keys:  # two members share a key: group by the names
        return None
    sql = f"""
        WITH {_rfm_blocks(source, {"h": _MEMBER_HASH}, where, period_no)},
        r AS (SELECT h, {_rfm_columns(now_idx)} FROM b GROUP BY h),
        k AS (SELECT community_id, member_id, {_MEMBER_HASH} AS h FROM ({keyed}))
        SELECT k.community_id, k.member_id, r.frequency, r.recency, r.T
        FROM r LEFT JOIN k ON k.h = r.h
        ORDER BY k.community_id, k.member_id
    """
    out = con.execute(bind_as_of(sql, now)).df()
    if out[Col.member_id].isna().any():  # an event by no member of the table: group by the names
        return None
    return out


def _rfm_by_stored_key(con: Any, source: str, keys: Path, where: str, period_no: str, now_idx: int,
                       now: pd.Timestamp) -> pd.DataFrame | None:
    """The RFM query grouping stored events by the member key the import stored with them, or ``None``.

    Every event of a keyed store has a key of the keys' table (the import checks it), one per (community,
    member): the events are grouped by that integer, without reading or hashing their ids, and named back
    from the table. ``None`` (the caller groups otherwise) when a grouped key finds no name there.
    """
    from commlab.data.stored import MEMBER_KEY
    from commlab.engines.duck import bind_as_of

    sql = f"""
        WITH {_rfm_blocks(source, {"h": f"CAST({MEMBER_KEY} AS BIGINT)"}, where, period_no)},
        r AS (SELECT h, {_rfm_columns(now_idx)} FROM b GROUP BY h)
        SELECT CAST(k.community_id AS VARCHAR) AS community_id, CAST(k.member_id AS VARCHAR) AS member_id,
               r.frequency, r.recency, r.T
        FROM r LEFT JOIN read_parquet({_sql_str(str(keys))}) AS k ON CAST(k.{MEMBER_KEY} AS BIGINT) = r.h
        ORDER BY 1, 2
    """
    out = con.execute(bind_as_of(sql, now)).df()
    if out[Col.member_id].isna().any():
        return None
    return out


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def zombie_share(
    rfm: pd.DataFrame,
    *,
    threshold: float = 0.5,
    n_boot: int = 100,
    level: float = 0.95,
    random_state: int | None = None,
    penalizer: float = 0.0,
    model: BetaGeoModel | None = None,
    n_threads: int | None = None,
) -> dict[str, float]:
    """Share of members with P(alive) below ``threshold``, with a bootstrap interval.

    The model is refitted on each bootstrap resample of members (percentile interval), so the
    interval carries the parameter uncertainty as well as the sampling of members. Members with
    the same history (frequency, recency, T) are one weighted row, and a resample of members is
    drawn as multinomial counts over those rows, which is the same resampling; each refit starts
    from the full-sample estimate.

    Parameters
    ----------
    rfm : DataFrame
        ``frequency``, ``recency`` and ``T`` per member (as :func:`rfm_from_events` returns).
    threshold : float
        P(alive) below which a member counts.
    n_boot : int
        Bootstrap refits.
    level : float
        Coverage of the percentile interval.
    random_state : int, optional
        Seed of the resamples.
    penalizer : float
        As :class:`BetaGeoModel`.
    model : BetaGeoModel, optional
        The model already fitted on ``rfm`` with this ``penalizer`` (saves fitting it again; the
        result is the same). Its member count must equal ``rfm``'s.
    n_threads : int, optional
        BLAS threads of the fits (:func:`commlab.analysis.threads.cpu_threads`; default one).

    Returns
    -------
    dict
        ``share``, ``lower``, ``upper``, ``threshold``, ``n`` (members), ``n_boot``.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c04"])
    >>> rfm = cl.rfm_from_events(ds.events, as_of="2024-06-30T16:00:00Z")
    >>> z = cl.zombie_share(rfm, threshold=0.5, n_boot=5, random_state=0)
    >>> z["lower"] <= z["share"] <= z["upper"], z["n"] == len(rfm)
    (True, True)
    """
    x, tx, T = (rfm[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    n = len(x)
    if n == 0:
        raise InvalidArgument("no members with activity")
    d = _compress(x, tx, T)
    if model is None:
        model = BetaGeoModel(penalizer=penalizer, n_threads=n_threads).fit(x, tx, T)
    elif getattr(model, "n_", None) != n or model.penalizer != penalizer:
        raise InvalidArgument(f"model was fitted on {getattr(model, 'n_', 'no')} members with penalizer "
                              f"{model.penalizer}; zombie_share got {n} members and penalizer {penalizer}: "
                              "pass the model fitted on this RFM table, or none")
    below = model.p_alive(d.x, d.tx, d.T) < threshold
    share = float(d.w[below].sum() / n)
    start = [np.log(model.params_.to_numpy())]
    rs = np.random.default_rng(random_state)
    boots = []
    with cpu_threads(n_threads):  # one limit for every refit
        for _ in range(n_boot):
            w = rs.multinomial(n, d.w / n).astype(float)
            keep = w > 0
            sample = _Data(d.x[keep], d.tx[keep], d.T[keep], w[keep])
            m = BetaGeoModel(penalizer=penalizer, n_threads=n_threads)._fit_data(sample, start, standard_errors=False,
                                                                                 warn=False)
            boots.append(float(sample.w[m.p_alive(sample.x, sample.tx, sample.T) < threshold].sum() / n))
    lo, hi = (np.quantile(boots, [(1 - level) / 2, (1 + level) / 2]) if boots else (np.nan, np.nan))
    return {"share": share, "lower": float(lo), "upper": float(hi), "threshold": threshold, "n": n,
            "n_boot": n_boot}


def simulate_bgnbd(n: int, T: float | np.ndarray, *, r: float, alpha: float, a: float, b: float,
                   random_state: int | None = None) -> pd.DataFrame:
    """Simulate ``frequency``, ``recency`` and ``T`` from the BG/NBD process itself.

    Each member starts with an activity at age 0; λ ~ Gamma(r, rate α), p ~ Beta(a, b); after
    every repeat activity the member dies with probability p; activity times are a Poisson process.
    """
    rs = np.random.default_rng(random_state)
    TT = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    lam = rs.gamma(r, 1.0 / alpha, n)
    p = rs.beta(a, b, n)
    freq = np.zeros(n)
    rec = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rs.exponential(1.0 / lam[i]) if lam[i] > 0 else np.inf
            if t > TT[i]:
                break
            freq[i] += 1
            rec[i] = t
            if rs.random() < p[i]:  # dies after this repeat activity
                break
    return pd.DataFrame({"frequency": freq, "recency": rec, "T": TT})


def member_p_alive(model: BetaGeoModel, rfm: pd.DataFrame) -> pd.Series:
    """P(alive) of each row of an RFM table (as from :func:`rfm_from_events`), same index.

    Parameters
    ----------
    model : BetaGeoModel
        A fitted model.
    rfm : DataFrame
        ``frequency``, ``recency`` and ``T`` per member.

    Returns
    -------
    Series
        Named ``p_alive``, between 0 and 1.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c04"])
    >>> rfm = cl.rfm_from_events(ds.events, as_of="2024-06-30T16:00:00Z")
    >>> model = cl.BetaGeoModel().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    >>> p = cl.member_p_alive(model, rfm)
    >>> bool(p.between(0, 1).all()), len(p) == len(rfm)
    (True, True)
    """
    p = model.p_alive(rfm["frequency"], rfm["recency"], rfm["T"])
    return pd.Series(p, index=rfm.index, name="p_alive")
