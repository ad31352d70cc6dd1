"""pseudonymize (one-shot HMACs of the distinct ids, taken by code) against the former implementation."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest

from commlab.privacy import pseudonymize
from commlab.privacy.pseudonyms import pseudonym_key


def _former(ids: pd.Series, key=None, *, prefix: str = "m_", length: int = 12) -> pd.Series:
    k = pseudonym_key(key)
    uniq = pd.unique(ids.dropna().astype(str))
    table = {u: prefix + hmac.new(k, u.encode("utf-8"), hashlib.sha256).hexdigest()[:length] for u in uniq}
    return ids.astype("string").map(table).astype("string")


def _ids(seed: int) -> list[pd.Series]:
    rng = np.random.default_rng(seed)
    words = ["u1", "张三", "李四:社群乙", "a'b", "", " x ", "ü", "🙂", "c01:c01_0001"]
    text = rng.choice(words + [f"m{i}" for i in range(300)], 2000).tolist()
    with_na = pd.Series(text, dtype="string").mask(rng.random(2000) < 0.1)
    return [
        with_na,
        pd.Series(text, dtype=object, index=rng.permutation(2000) + 7),  # an index of its own, kept
        with_na.astype(object),
        pd.Series(rng.integers(0, 50, 300)),
        pd.Series([], dtype="string"),
        pd.Series([None, None], dtype="string"),
    ]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("key,prefix,length", [("k", "m_", 12), (b"\x00key", "p", 64), (None, "", 5)])
def test_pseudonyms_equal_the_former_ones(seed, key, prefix, length):
    for ids in _ids(seed):
        got = pseudonymize(ids, key, prefix=prefix, length=length)
        pd.testing.assert_series_equal(got, _former(ids, key, prefix=prefix, length=length))
    assert pseudonymize(pd.Series(["a"]), "k").iloc[0] == "m_" + hmac.new(b"k", b"a", "sha256").hexdigest()[:12]
