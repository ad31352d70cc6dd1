"""Shared, cached inputs of the health/comparison tests (computed once per test process)."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from conftest import SAMPLES

#: The analysis instant of the bundled samples (end of their window, local midnight in Shanghai).
SAMPLES_AS_OF = "2024-07-01T00:00:00+08:00"


@lru_cache(maxsize=1)
def samples_dataset():
    """The bundled samples, loaded once."""
    from commlab.data import load_dataset

    assert (SAMPLES / "communities.csv").exists(), "data/samples is missing: run `make samples`"
    return load_dataset(SAMPLES)


@lru_cache(maxsize=1)
def samples_metrics() -> pd.DataFrame:
    """Every registered metric of the samples over their whole window (one period up to as_of)."""
    from commlab.analysis.compute import compute_metrics

    return compute_metrics(samples_dataset(), as_of=SAMPLES_AS_OF, window=None)
