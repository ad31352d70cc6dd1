"""KMeans with its restarts run side by side gives ``sklearn.cluster.KMeans.fit``'s result, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans

from commlab.analysis.parallel_kmeans import ParallelInitKMeans
from commlab.analysis.threads import cpu_threads


def _blobs(seed: int, n: int = 4000, p: int = 6, k: int = 5) -> np.ndarray:
    """Overlapping blobs, heavy tails and ties (rounded values): restarts end in different local optima."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 2.0, (k, p))
    X = centres[rng.integers(0, k, n)] + rng.standard_t(3, (n, p))
    return np.round(X, 1)


def _assert_same(a: KMeans, b: KMeans) -> None:
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.inertia_ == b.inertia_ and a.n_iter_ == b.n_iter_


@pytest.mark.parametrize("seed,k,n_init,jobs", [(0, 3, 10, 2), (1, 5, 10, 3), (2, 8, 7, 2), (3, 4, 1, 2),
                                                (4, 6, 10, 10), (5, 2, 4, 2)])
def test_side_by_side_restarts_equal_kmeans_fit(seed, k, n_init, jobs):
    X = _blobs(seed)
    with cpu_threads(1):
        want = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(X)
        got = ParallelInitKMeans(n_clusters=k, n_init=n_init, random_state=seed, init_jobs=jobs).fit(X)
        _assert_same(got, want)
        np.testing.assert_array_equal(got.predict(X[:500]), want.predict(X[:500]))
        # the restarts really differ: the loop's choice among them matters
        inertias = {KMeans(n_clusters=k, n_init=1, random_state=s).fit(X).inertia_ for s in range(4)}
        assert len(inertias) > 1 or k == 2


def test_float32_weights_and_a_random_state_object():
    X = _blobs(9).astype(np.float32)
    w = np.random.default_rng(9).random(len(X))
    with cpu_threads(1):
        want = KMeans(n_clusters=4, n_init=5, random_state=np.random.RandomState(3)).fit(X, sample_weight=w)
        got = ParallelInitKMeans(n_clusters=4, n_init=5, random_state=np.random.RandomState(3)).fit(X, sample_weight=w)
    _assert_same(got, want)
    assert got.cluster_centers_.dtype == np.float32


def test_more_openmp_threads_or_one_job_is_kmeans_fit_itself(monkeypatch):
    """Where the sums could split by thread, the restarts are not run side by side."""
    from commlab.analysis import parallel_kmeans

    called = []
    monkeypatch.setattr(parallel_kmeans.ParallelInitKMeans, "_fit_side_by_side",
                        lambda self, X, w: called.append(1) or self)
    X = _blobs(1, n=500)
    with cpu_threads(2):
        ParallelInitKMeans(n_clusters=3, random_state=0).fit(X)
    with cpu_threads(1):
        ParallelInitKMeans(n_clusters=3, random_state=0, init_jobs=1).fit(X)
        ParallelInitKMeans(n_clusters=3, random_state=0, init=X[:3]).fit(X)
        assert called == []
        ParallelInitKMeans(n_clusters=3, random_state=0).fit(X)
    assert called == [1]


def test_a_later_restart_with_lower_inertia_but_the_same_clustering_is_not_taken(monkeypatch):
    """The loop's rule has two parts: a later restart wins on a lower inertia *and* another clustering.

    Three overlapping blobs stopped after two iterations: a later restart ends in the same partition
    (labels permuted) with a lower inertia; ``KMeans.fit`` keeps the earlier one, and so must the
    side-by-side loop (with the "same clustering" part removed it takes the later one)."""
    from commlab.analysis import parallel_kmeans

    rng = np.random.default_rng(9)
    X = np.vstack([rng.normal(c, 2.0, size=(40, 2)) for c in ([0, 0], [5, 0], [0, 5])])
    same = []
    real = parallel_kmeans._is_same_clustering
    monkeypatch.setattr(parallel_kmeans, "_is_same_clustering", lambda *a: same.append(real(*a)) or same[-1])
    with cpu_threads(1):
        want = KMeans(n_clusters=3, n_init=10, random_state=9, max_iter=2).fit(X)
        got = ParallelInitKMeans(n_clusters=3, n_init=10, random_state=9, max_iter=2).fit(X)
        _assert_same(got, want)
        assert any(same)  # the premise: the rule did turn a lower inertia down
        monkeypatch.setattr(parallel_kmeans, "_is_same_clustering", lambda *a: False)
        taken = ParallelInitKMeans(n_clusters=3, n_init=10, random_state=9, max_iter=2).fit(X)
    assert taken.inertia_ < want.inertia_ and not np.array_equal(taken.labels_, want.labels_)
