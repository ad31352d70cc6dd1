"""The first look at a data set (notebook 01): DuckDB counts equal the naive pandas oracle.

The overview counts events where they are, so they are checked on a data set held in memory and
on the same data set read back from the data cache (events left in Parquet), in the zone of the
files and in a zone with daylight saving time (local days and hours shift).
"""

from __future__ import annotations

import pandas as pd
import pytest

from commlab.analysis.naive import naive_activity_summary, naive_daily_activity, naive_weekday_hour
from commlab.analysis.overview import activity_summary, daily_activity, weekday_hour
from commlab.data import load_dataset
from commlab.data.generate_large import generate_large

AS_OF = "2024-06-30"


@pytest.fixture(scope="module")
def datasets(tmp_path_factory, samples_dir):
    """(name, in-memory data set, stored data set) for the samples and a generated heavy-tailed set."""
    big = tmp_path_factory.mktemp("large")
    generate_large(big, n_members=3_000, n_events=60_000, seed=7)
    out = []
    for name, folder in (("samples", samples_dir), ("large", big)):
        cache = tmp_path_factory.mktemp(f"cache-{name}")
        load_dataset(folder, cache=cache)
        stored = load_dataset(folder, cache=cache)
        assert not stored.events_loaded
        out.append((name, load_dataset(folder), stored))
    return out


@pytest.mark.parametrize("as_of", [AS_OF, "2024-02-15 12:00"])
def test_activity_summary_equals_the_pandas_oracle(datasets, as_of):
    for name, memory, stored in datasets:
        want = naive_activity_summary(memory.communities, memory.members, memory.events, as_of=as_of)
        assert want["events"].sum() > 0 and want["active_30d"].sum() > 0, name  # not an empty comparison
        for ds in (memory, stored):
            got = activity_summary(ds, as_of=as_of)
            pd.testing.assert_frame_equal(got, want, check_dtype=False, check_index_type=False, obj=name)
        assert not stored.events_loaded


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "America/New_York"])
def test_daily_activity_and_weekday_hour_equal_the_pandas_oracle(datasets, tz):
    for name, memory, stored in datasets:
        want_daily = naive_daily_activity(memory.events, as_of=AS_OF, tz=tz)
        want_hours = naive_weekday_hour(memory.events, as_of=AS_OF, tz=tz)
        assert len(want_daily) > 10 and want_hours.to_numpy().sum() > 0, name
        for ds in (memory, stored):
            got = daily_activity(ds, as_of=AS_OF, tz=tz)
            pd.testing.assert_frame_equal(got, want_daily, check_dtype=False, obj=name)
            assert got["date"].dtype == "datetime64[ns]"
            hours = weekday_hour(ds, as_of=AS_OF, tz=tz)
            pd.testing.assert_frame_equal(hours, want_hours, check_names=False, check_dtype=False, obj=name)
            assert list(hours.index) == list(range(7)) and list(hours.columns) == list(range(24))
        assert not stored.events_loaded


def test_local_days_follow_the_zone_including_daylight_saving(samples_dir, tmp_path):
    """One event at 2024-03-10 06:30 UTC: 01:30 EST on 10 March in New York, 14:30 in Shanghai."""
    ds = load_dataset(samples_dir)
    one = ds.events.iloc[[0]].copy()
    one["ts"] = pd.Timestamp("2024-03-10 06:30", tz="UTC")
    one["event_type"] = "message"
    ds.events = one
    ny = weekday_hour(ds, as_of=AS_OF, tz="America/New_York")
    assert ny.loc[6, 1] == 1 and ny.to_numpy().sum() == 1  # Sunday, 01h
    sh = daily_activity(ds, as_of=AS_OF, tz="Asia/Shanghai")
    assert list(sh["date"]) == [pd.Timestamp("2024-03-10")] and list(sh["events"]) == [1]
    assert weekday_hour(ds, as_of=AS_OF, tz="Asia/Shanghai").loc[6, 14] == 1


def test_an_instant_before_any_event_gives_zero_counts_not_an_error(datasets):
    _, memory, stored = datasets[0]
    for ds in (memory, stored):
        summary = activity_summary(ds, as_of="2000-01-01")
        assert list(summary.index) == list(ds.communities["community_id"])
        assert (summary[["members", "active_30d", "events"]] == 0).all().all()
        assert daily_activity(ds, as_of="2000-01-01").empty
        assert weekday_hour(ds, as_of="2000-01-01").shape == (7, 24)
        assert weekday_hour(ds, as_of="2000-01-01").to_numpy().sum() == 0


def test_an_unknown_zone_is_a_usage_error_naming_it(datasets):
    from commlab.errors import UsageError

    _, memory, _ = datasets[0]
    for fn in (daily_activity, weekday_hour):
        with pytest.raises(UsageError, match="unknown time zone 'Asia/Shanghi'.*IANA"):
            fn(memory, as_of=AS_OF, tz="Asia/Shanghi")


def test_weekday_hour_of_a_zone_offset_in_seconds_counts_each_event(samples_dir):
    """Shanghai's local mean time of 1900 is 8:05:43 ahead of UTC: two events of one UTC minute fall in two
    local hours (and days), so the per-minute count cannot place them; each event is placed on its own, as
    the pandas oracle does."""
    ds = load_dataset(samples_dir)
    two = ds.events.iloc[[0, 1, 2]].copy()
    two["ts"] = pd.to_datetime(["1900-01-01 15:54:10", "1900-01-01 15:54:30", "2024-03-10 06:30:00"], utc=True)
    two["event_type"] = "message"
    ds.events = two
    got = weekday_hour(ds, as_of=AS_OF, tz="Asia/Shanghai")
    want = naive_weekday_hour(two, as_of=AS_OF, tz="Asia/Shanghai")
    pd.testing.assert_frame_equal(got, want, check_names=False, check_dtype=False)
    assert got.loc[0, 23] == 1 and got.loc[1, 0] == 1 and got.loc[6, 14] == 1  # Monday 23h, Tuesday 0h


def test_local_days_by_offset_segments_and_per_event_where_a_minute_splits(samples_dir, monkeypatch):
    """The local day is the UTC time plus the offset of its segment: New York's two changes of 2024 as a CASE,
    Shanghai's LMT of 1900 (8:05:43) too, one UTC minute then spanning two local days. Where the offset
    changes inside a minute (Shanghai leaving LMT at 1900-12-31 15:54:17 UTC) each event is converted by the
    zone. Every case as the pandas oracle counts, and each path is the one taken."""
    import commlab.analysis.overview as overview

    ds = load_dataset(samples_dir)
    ev = ds.events.iloc[:8].copy()
    ev["event_type"] = "message"
    ev["ts"] = pd.to_datetime(["2024-03-10 04:59:59", "2024-03-10 07:00:00", "2024-11-03 03:59:00",
                               "2024-11-03 06:30:00", "1900-01-01 15:54:10", "1900-01-01 15:54:30",
                               "1900-12-31 15:54:10", "1900-12-31 15:54:30"], utc=True)
    taken = []
    real = overview._local_day
    monkeypatch.setattr(overview, "_local_day", lambda *a: taken.append(real(*a)) or taken[-1])
    cases = (("America/New_York", [0, 1, 2, 3], "CASE WHEN"), ("Asia/Shanghai", [4, 5], "epoch_us(ts) + 29143000000"),
             ("Asia/Shanghai", [4, 5, 6, 7], "timezone("))
    for tz, rows, form in cases:
        ds.events = ev.iloc[rows]
        got = daily_activity(ds, as_of=AS_OF, tz=tz)
        want = naive_daily_activity(ds.events, as_of=AS_OF, tz=tz)
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
        assert form in taken[-1], (tz, rows)
        if rows == [4, 5]:
            assert list(got["date"]) == [pd.Timestamp("1900-01-01"), pd.Timestamp("1900-01-02")]
