"""Thread caps of the numerical libraries (commlab.analysis.threads) and where the estimators apply them."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from threadpoolctl import threadpool_info

from commlab.analysis import lifecycle
from commlab.analysis.lifecycle import BetaGeoModel, simulate_bgnbd, zombie_share
from commlab.analysis.segment import MemberSegmenter
from commlab.analysis.threads import DEFAULT_THREADS, available_cores, cpu_threads, resolve_threads


def _limits() -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for pool in threadpool_info():
        out.setdefault(pool["user_api"], set()).add(pool["num_threads"])
    return out


def test_cpu_threads_limits_openmp_and_blas_inside_and_restores_them():
    import sklearn.cluster  # noqa: F401 - loads scikit-learn's OpenMP runtime

    before = _limits()
    assert {"openmp", "blas"} <= set(before)
    with cpu_threads() as n:
        assert n == DEFAULT_THREADS == 1
        assert _limits() == {api: {1} for api in before}
        with cpu_threads(1):  # the same limit inside: nothing changes, nothing is restored early
            pass
        assert _limits() == {api: {1} for api in before}
    assert _limits() == before
    with cpu_threads(-1) as n:
        assert n == available_cores()


def test_resolve_threads_and_its_errors():
    assert resolve_threads(None) == 1 and resolve_threads(3) == 3
    assert 1 <= resolve_threads(-1) == available_cores()
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(ValueError, match="n_threads"):
            resolve_threads(bad)


def test_the_segmenter_fits_with_the_capped_threads_and_the_same_labels():
    X, _ = make_blobs(n_samples=3000, centers=4, n_features=3, random_state=0)
    X = np.abs(X)
    one = MemberSegmenter(k_min=2, k_max=5, n_init=2, subsample=1000, random_state=0).fit(X)
    assert one.model_._n_threads == 1  # what KMeans read from OpenMP when it was fitted
    many = MemberSegmenter(k_min=2, k_max=5, n_init=2, subsample=1000, random_state=0, n_threads=-1).fit(X)
    assert many.model_._n_threads == available_cores()
    assert (one.labels_ == many.labels_).all() and one.n_clusters_ == many.n_clusters_
    np.testing.assert_allclose(one.cluster_centers_, many.cluster_centers_, rtol=1e-12)
    assert np.array_equal(one.stability(X, n_resamples=2, random_state=0),
                          many.stability(X, n_resamples=2, random_state=0))
    assert _limits()["openmp"] != {1} or available_cores() == 1  # the cap ends with the call


def test_the_bgnbd_fits_run_capped(monkeypatch):
    seen: list[dict[str, set[int]]] = []
    search = BetaGeoModel._search
    monkeypatch.setattr(BetaGeoModel, "_search", lambda self, d, starts: (seen.append(_limits()),
                                                                          search(self, d, starts))[1])
    rfm = simulate_bgnbd(500, 30.0, r=0.25, alpha=4.0, a=0.8, b=2.5, random_state=1)
    model = BetaGeoModel().fit(rfm)
    z = zombie_share(rfm, n_boot=3, random_state=0, model=model)
    assert len(seen) == 4 and all(s["blas"] == {1} for s in seen)  # the fit and three bootstrap refits
    assert z == zombie_share(rfm, n_boot=3, random_state=0)  # the model given = the model refitted
    with pytest.raises(ValueError, match="fitted on 500 members"):
        zombie_share(rfm.iloc[:100], n_boot=3, model=model)
    assert lifecycle.BetaGeoModel(n_threads=2).get_params()["n_threads"] == 2


def test_stability_refits_in_parallel_give_the_same_aris():
    X, _ = make_blobs(n_samples=2000, centers=3, n_features=3, random_state=1)
    seg = MemberSegmenter(n_clusters=3, n_init=2, random_state=0).fit(np.abs(X))
    one = seg.stability(np.abs(X), n_resamples=4, random_state=2, n_jobs=None)
    assert np.array_equal(seg.stability(np.abs(X), n_resamples=4, random_state=2, n_jobs=2), one)
    assert np.array_equal(seg.stability(np.abs(X), n_resamples=4, random_state=2), one)  # default: every core
