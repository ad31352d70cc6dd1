"""KMeans whose restarts run side by side, with the result of scikit-learn's one-after-the-other loop.

:class:`sklearn.cluster.KMeans` runs its ``n_init`` restarts one after the other: each draws its
k-means++ start from the shared random state, runs Lloyd's iterations, and the best inertia so far is
kept (a later run only when its inertia is lower and its clustering differs). With one OpenMP thread,
as :mod:`commlab.analysis.segment` runs it (:mod:`commlab.analysis.threads`), a second core stays idle.

:class:`ParallelInitKMeans` draws every start first, in the same order from the same random state
(the draws do not depend on the runs), runs the restarts' Lloyd iterations in ``init_jobs`` threads
(scikit-learn's Lloyd releases the GIL), each with the one OpenMP thread the loop would have used, and
then picks the best in restart order by the same rule. Each restart's arithmetic is unchanged, so the
labels, centres, inertia and iteration count are those of ``KMeans.fit``, bit for bit (tested). Where
that cannot be promised (more than one OpenMP thread, whose sums split by thread; sparse input; another
algorithm or start; ``init_jobs=1``) it is ``KMeans.fit`` itself.

It relies on private helpers of scikit-learn's ``_kmeans`` module (the same ones ``KMeans.fit`` calls);
``tests/test_parallel_kmeans.py`` compares it with ``KMeans.fit`` on every installed version.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

__all__ = ["ParallelInitKMeans"]

try:  # the private helpers KMeans.fit calls; without them (another scikit-learn), KMeans.fit itself
    from sklearn.cluster._kmeans import _is_same_clustering, _kmeans_single_lloyd
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
    from sklearn.utils.extmath import row_norms
    from sklearn.utils.validation import _check_sample_weight, validate_data
except ImportError:  # pragma: no cover - depends on the installed scikit-learn
    _kmeans_single_lloyd = None


class ParallelInitKMeans(KMeans):
    """:class:`sklearn.cluster.KMeans` with its restarts run in ``init_jobs`` threads (same result).

    Parameters
    ----------
    init_jobs : int, default 2
        Restarts run at once. With 1, or where the result could differ (see the module), ``KMeans.fit``.
    **kwargs
        As :class:`sklearn.cluster.KMeans`.
    """

    _parameter_constraints = {**KMeans._parameter_constraints,
                              "init_jobs": [Interval(Integral, 1, None, closed="left")]}

    def __init__(self, n_clusters: int = 8, *, init="k-means++", n_init="auto", max_iter: int = 300,
                 tol: float = 1e-4, verbose: int = 0, random_state=None, copy_x: bool = True,
                 algorithm: str = "lloyd", init_jobs: int = 2) -> None:
        super().__init__(n_clusters=n_clusters, init=init, n_init=n_init, max_iter=max_iter, tol=tol,
                         verbose=verbose, random_state=random_state, copy_x=copy_x, algorithm=algorithm)
        self.init_jobs = init_jobs

    def fit(self, X, y=None, sample_weight=None):
        """Compute the clustering (as ``KMeans.fit``)."""
        plain = (_kmeans_single_lloyd is None or self.init_jobs <= 1 or sp.issparse(X) or not isinstance(self.init, str)
                 or self.init != "k-means++" or self.algorithm != "lloyd" or self.verbose
                 or _openmp_effective_n_threads() != 1)
        if plain:
            return super().fit(X, y, sample_weight=sample_weight)
        self._validate_params()
        return self._fit_side_by_side(X, sample_weight)

    def _fit_side_by_side(self, X, sample_weight):
        # as KMeans.fit, line for line, up to the restarts
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32], order="C",
                          copy=self.copy_x, accept_large_sparse=False)
        self._check_params_vs_input(X)
        random_state = check_random_state(self.random_state)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        self._n_threads = 1
        X_mean = X.mean(axis=0)
        X -= X_mean
        x_squared_norms = row_norms(X, squared=True)
        self._check_mkl_vcomp(X, X.shape[0])
        # every start drawn first, in the loop's order from the same random state
        starts = [self._init_centroids(X, x_squared_norms=x_squared_norms, init=self.init,
                                       random_state=random_state, sample_weight=sample_weight)
                  for _ in range(self._n_init)]

        def run(centers_init: np.ndarray):
            return _kmeans_single_lloyd(X, sample_weight, centers_init, max_iter=self.max_iter, verbose=False,
                                        tol=self._tol, n_threads=1)

        with ThreadPoolExecutor(max_workers=min(self.init_jobs, len(starts))) as pool:
            runs = list(pool.map(run, starts))
        best_inertia, best_labels = None, None
        for labels, inertia, centers, n_iter_ in runs:  # the loop's rule, in the loop's order
            if best_inertia is None or (inertia < best_inertia
                                        and not _is_same_clustering(labels, best_labels, self.n_clusters)):
                best_labels, best_centers, best_inertia, best_n_iter = labels, centers, inertia, n_iter_
        if not self.copy_x:
            X += X_mean
        best_centers += X_mean
        distinct_clusters = len(set(best_labels))
        if distinct_clusters < self.n_clusters:
            warnings.warn(f"Number of distinct clusters ({distinct_clusters}) found smaller than n_clusters "
                          f"({self.n_clusters}). Possibly due to duplicate points in X.", ConvergenceWarning,
                          stacklevel=2)
        self.cluster_centers_ = best_centers
        self._n_features_out = self.cluster_centers_.shape[0]
        self.labels_ = best_labels
        self.inertia_ = best_inertia
        self.n_iter_ = best_n_iter
        return self
