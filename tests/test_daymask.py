"""The day-counting SQL of commlab.analysis.daymask, on DuckDB, against Python's integer arithmetic."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from commlab.analysis.daymask import BLOCK_DAYS, bit_of, block_of, day_bit, day_number, days_between
from commlab.engines import DuckDBEngine

US = pd.Timedelta(microseconds=1)
DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = DuckDBEngine().connect()
    yield c
    c.close()


def test_days_between_is_exact_at_microsecond_edges(con):
    """Instants exactly N days apart, with fractions of a second, before 1970 and today: N, not N - 1.

    (``floor((epoch(b) - epoch(a)) / 86400)`` in DOUBLE seconds gave 6 for the first pair: a weekly
    period ending at 23:59:59.999999 counted an event exactly 7 days earlier as inside its 7 days.)
    """
    ends = [pd.Timestamp("1970-01-25 23:59:59.999999", tz="UTC"), pd.Timestamp("2024-03-31 23:59:59.999999", tz="UTC"),
            pd.Timestamp("1969-07-20 20:17:40.000001", tz="UTC"), pd.Timestamp("2100-02-28 00:00:00.5", tz="UTC")]
    rows = [(end - n * DAY + d, end) for end in ends for n in (0, 1, 7, 30, 365) for d in (-US, 0 * US, US)]
    frame = pd.DataFrame(rows, columns=["a", "b"]).astype("datetime64[us, UTC]")
    con.register("pairs", frame)
    got = con.execute(f"SELECT {days_between('a', 'b')} AS n FROM pairs").df()["n"].tolist()
    want = [(b - a) // DAY for a, b in rows]
    assert got == want
    assert want[:3] == [0, 0, -1]  # one microsecond after the end is day -1


def test_block_and_bit_cover_every_day_once_around_1970(con):
    days = list(range(-2 * BLOCK_DAYS - 5, 2 * BLOCK_DAYS + 5))
    con.register("days", pd.DataFrame({"d": days}))
    got = con.execute(f"SELECT d, {block_of('d')} AS blk, {bit_of('d')} AS bit, {day_bit('d')} AS mask FROM days").df()
    assert got["blk"].tolist() == [d // BLOCK_DAYS for d in days]
    assert got["bit"].tolist() == [d % BLOCK_DAYS for d in days]  # Python's % is never negative here
    assert (got["mask"] == 2 ** got["bit"].astype("int64")).all() and got["mask"].min() >= 1


def test_day_number_is_exact_at_midnight_edges_across_its_range(con):
    """The last and the first microsecond of a day, near both ends of the documented range and around 1970."""
    days = ("1697-01-01", "1969-12-31", "1970-01-01", "2024-02-29", "2243-01-01")
    ts = [pd.Timestamp(d, tz="UTC") + k * US for d in days for k in (-1, 0, 1)]
    con.register("instants", pd.DataFrame({"t": ts}).astype("datetime64[us, UTC]"))
    got = con.execute(f"SELECT {day_number('t')} AS d FROM instants").df()["d"].tolist()
    assert got == [(t - pd.Timestamp("1970-01-01", tz="UTC")) // DAY for t in ts]
