"""One reading of an as-of instant (commlab.instant.as_utc), the same in every module."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import commlab as cl
from commlab.analysis.metrics import resolve_as_of
from commlab.analysis.overview import to_utc
from commlab.errors import InvalidArgument
from commlab.instant import as_utc
from commlab.run_data import parse_as_of

SRC = Path(__file__).resolve().parents[1] / "src" / "commlab"


@pytest.mark.parametrize(("value", "want"), [
    ("2024-06-30", "2024-06-30T00:00:00+00:00"),
    ("2024-06-30T16:00", "2024-06-30T16:00:00+00:00"),
    ("2024-06-30T16:00:00Z", "2024-06-30T16:00:00+00:00"),
    ("2024-07-01T00:00:00+08:00", "2024-06-30T16:00:00+00:00"),
    (pd.Timestamp("2024-06-30 16:00"), "2024-06-30T16:00:00+00:00"),
    (pd.Timestamp("2024-07-01", tz="Asia/Shanghai"), "2024-06-30T16:00:00+00:00"),
])
def test_naive_is_utc_and_aware_is_converted(value, want):
    assert as_utc(value).isoformat() == want
    assert as_utc(value).tz is not None and str(as_utc(value).tz) == "UTC"


@pytest.mark.parametrize("value", [None, "", "  ", pd.NaT, "yesterday-ish"])
def test_missing_or_unreadable_is_a_commlab_error_naming_the_parameter(value):
    with pytest.raises(InvalidArgument, match="as_of") as info:
        as_utc(value)
    assert isinstance(info.value, ValueError) and info.value.exit_code


def test_every_reader_of_an_as_of_agrees():
    ids = pd.DataFrame({"community_id": ["a", "b"]})
    for value in ("2024-06-30", "2024-06-30T16:00", "2024-07-01T00:00:00+08:00"):
        one = as_utc(value)
        assert to_utc(value) == one and cl.as_utc(value) == one
        assert parse_as_of(value) == one
        assert (resolve_as_of(value, ids) == one).all()


def test_no_module_converts_an_instant_to_utc_on_its_own():
    """The pattern `x.tz_localize("UTC") if x.tzinfo is None else ...` lives only in commlab/instant.py."""
    pattern = re.compile(r'tz_localize\(["\']UTC["\']\)\s+if\s+\w+\.tzinfo is None')
    found = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
             if p.name != "instant.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert found == []
