"""The estimators' error and warning, deriving from scikit-learn's and from commlab's tree.

Kept apart from :mod:`commlab.errors` (which re-exports them lazily) because importing
:mod:`sklearn.exceptions` imports scikit-learn, about a second that the command line's start and
``import commlab`` should not pay.
"""

from __future__ import annotations

from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

from commlab.errors import CommlabError, CommlabWarning

__all__ = ["NotFittedError", "ConvergenceWarning"]


class NotFittedError(CommlabError, _SklearnNotFittedError):
    """An estimator was used before ``fit`` (scikit-learn's ``NotFittedError``, so ``check_is_fitted`` agrees).

    Examples
    --------
    >>> import commlab as cl
    >>> try:
    ...     cl.BetaGeoModel().p_alive([1], [1], [2])
    ... except cl.NotFittedError as exc:
    ...     print(type(exc).__name__, isinstance(exc, ValueError))
    NotFittedError True
    """

    exit_code = 1


class ConvergenceWarning(CommlabWarning, _SklearnConvergenceWarning):
    """An estimator's optimiser stopped before it converged: its estimates may be off.

    Examples
    --------
    >>> import warnings
    >>> import commlab as cl
    >>> issubclass(cl.ConvergenceWarning, cl.CommlabWarning)
    True
    """


NotFittedError.__module__ = ConvergenceWarning.__module__ = "commlab.errors"
