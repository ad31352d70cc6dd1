"""Cohort retention buckets the instants by their UTC day (integer arithmetic) instead of truncating every
``TIMESTAMPTZ`` through the time zone's calendar. Oracle: the former query, the same SQL with the instants truncated
as they are (``_utc_date`` the identity), on seeded random communities whose events sit on month starts, Mondays and
one microsecond before them, and around 1970-01-01 (instants before the epoch)."""

from __future__ import annotations

import pandas as pd
import pytest

import commlab.analysis.retention as retention
from test_random_parity import random_case


@pytest.fixture(scope="module")
def template(samples_dir) -> pd.DataFrame:
    return pd.read_csv(samples_dir / "communities.csv", dtype="string")


@pytest.mark.parametrize("seed", [0, 1, 4, 5])
@pytest.mark.parametrize("freq", ["month", "week"])
def test_cohorts_equal_the_former_query(seed, freq, template, monkeypatch):
    """Every cohort, offset, size and share equal the former query's (seeds 1 and 4: communities created in 1969,
    the analysis instant 1970-02-01), with the default observed start and with a given one."""
    ds, as_of = random_case(seed, template)
    got = [retention.cohort_retention(ds, as_of=as_of, freq=freq),
           retention.cohort_retention(ds, as_of=as_of, freq=freq, observed_from=as_of - pd.Timedelta(days=90))]
    monkeypatch.setattr(retention, "_utc_date", lambda ts: ts)
    want = [retention.cohort_retention(ds, as_of=as_of, freq=freq),
            retention.cohort_retention(ds, as_of=as_of, freq=freq, observed_from=as_of - pd.Timedelta(days=90))]
    assert len(want[0]) > 0
    for a, b in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(a, b)
