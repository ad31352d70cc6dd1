"""The stability refits (rows and signed logs computed once, pair counts from a dense table) against the former code.

The former :meth:`MemberSegmenter.stability` (each refit's ``predict`` of every row through ``transform``, the
agreement by :func:`sklearn.metrics.adjusted_rand_score`) is kept here, frozen, as the oracle: the indices must
be the same floats, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score
from sklearn.utils import check_random_state

from commlab.analysis.segment import MemberSegmenter, adjusted_rand
from commlab.errors import InvalidArgument


def _former_stability(seg, X, n_resamples, *, sample_frac=0.8, max_sample=100_000, random_state=None):
    n = len(X)
    rs = check_random_state(random_state)
    full = seg.predict(X)
    size = max(2, int(sample_frac * n))
    if max_sample is not None:
        size = min(size, max_sample)
    out = []
    for _ in range(n_resamples):
        idx = np.sort(rs.choice(n, size=size, replace=False))
        seed = int(rs.randint(2**31 - 1))
        sub = X.iloc[idx] if isinstance(X, pd.DataFrame) else np.asarray(X)[idx]
        est = clone(seg).set_params(n_clusters=seg.n_clusters_, random_state=seed)
        est.fit(sub)
        out.append(float(adjusted_rand_score(full, est.predict(X))))
    return np.array(out, dtype=float)


def _members(seed: int, n: int = 1500) -> pd.DataFrame:
    """Heavy-tailed counts and days with zeros, a negative column (not logged) and a constant one."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "tenure_days": rng.gamma(2.0, 60.0, n),
        "recency_days": np.where(rng.random(n) < 0.3, 0.0, rng.exponential(20.0, n)),
        "ugc": rng.negative_binomial(1, 0.05, n).astype(float),
        "n_reaction": rng.poisson(rng.gamma(0.5, 8.0, n)).astype(float),
        "delta": rng.normal(0.0, 3.0, n),
        "flat": np.ones(n),
    })


@pytest.mark.parametrize("seed,kw,params", [
    (0, {}, {}),
    (1, {"max_sample": 400}, {"n_clusters": 4}),
    (2, {"sample_frac": 0.5}, {"log": False}),
    (3, {}, {"log": [0, 2], "scale": False}),
    (4, {"max_sample": None}, {"k_min": 2, "k_max": 5, "subsample": 500}),
])
def test_stability_equals_the_former_refits_bit_for_bit(seed, kw, params):
    X = _members(seed)
    seg = MemberSegmenter(random_state=seed, **params).fit(X)
    want = _former_stability(seg, X, 4, random_state=seed, **kw)
    for data in (X, X.to_numpy()):
        fitted = MemberSegmenter(random_state=seed, **params).fit(data)
        for jobs in (None, 2):
            got = fitted.stability(data, n_resamples=4, random_state=seed, n_jobs=jobs, **kw)
            np.testing.assert_array_equal(got, want)
    assert len(set(want.tolist())) > 1  # the refits differ: a shared draw would be seen


def test_adjusted_rand_equals_scikit_learns_on_random_labelings():
    rng = np.random.default_rng(7)
    for case in range(60):
        n = int(rng.integers(1, 3000))
        a = rng.integers(0, int(rng.integers(1, 9)), n)
        b = np.where(rng.random(n) < rng.random(), a, rng.integers(0, int(rng.integers(1, 9)), n))
        assert adjusted_rand(a, b) == adjusted_rand_score(a, b), case
    same = rng.integers(0, 3, 50)
    assert adjusted_rand(same, same) == adjusted_rand_score(same, same) == 1.0
    assert adjusted_rand(np.zeros(5, int), np.zeros(5, int)) == 1.0
    assert adjusted_rand(np.array([0, 0, 0, 0]), np.array([0, 1, 2, 3])) == adjusted_rand_score([0] * 4, [0, 1, 2, 3])
    with pytest.raises(InvalidArgument):
        adjusted_rand(np.array([0, -1]), np.array([0, 1]))
