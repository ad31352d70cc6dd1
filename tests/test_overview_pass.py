"""Notebook 01's three tables from two reads of the events (``activity_overview``) equal the former queries.

:func:`~commlab.analysis.overview.activity_overview` counts the events per UTC minute once (the weekday-hour table and
the zone's offsets) and groups them once per member and block of local days and per local day (the daily table, and
each member's events, content events and last event, which the summary now counts per community). Before, the
summary was a query of its own (the events semi-joined to the present members, ``count(DISTINCT)`` per window) and
the daily and weekday-hour tables read the events per minute each. The oracles: that former summary query (kept
here), the three functions on their own, and the naive pandas oracles. The data are the seeded random communities of
``test_random_parity`` with events added exactly at and 1 µs around the instant, the 7- and 30-day bounds, local
midnights and the daylight-saving changes of the zone. A rewrite with a bound moved by 1 µs, or a member's last event
taken as the first, is shown to differ on these data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from commlab.analysis import overview
from commlab.analysis.naive import naive_activity_summary, naive_daily_activity, naive_weekday_hour
from commlab.analysis.overview import activity_overview, activity_summary, daily_activity, weekday_hour
from commlab.data import Dataset, load_dataset
from commlab.engines.duck import query_events
from test_random_parity import random_case

US = pd.Timedelta(microseconds=1)
CASES = [(0, "Asia/Shanghai"), (1, "America/New_York"), (2, "UTC"), (3, "America/New_York"), (4, "Europe/London"),
         (5, "Asia/Shanghai")]


def former_summary(ds: Dataset, as_of: pd.Timestamp) -> pd.DataFrame:
    """The summary as it was: the events semi-joined to the present members, ``count(DISTINCT)`` per window."""
    now = overview.to_utc(as_of)
    m, is_staff = overview._members_present(ds, now)
    members = m[~is_staff].groupby("community_id").size()
    staff = m[is_staff].groupby("community_id").size()
    keep = pd.DataFrame({"c": m.loc[~is_staff, "community_id"].astype("string"),
                         "m": m.loc[~is_staff, "member_id"].astype("string")})
    days = lambda n: f"$as_of - INTERVAL {int(n)} DAY"  # noqa: E731
    counts = query_events(ds.events_source, f"""
        SELECT ev.c AS community_id,
               count(DISTINCT ev.m) FILTER (WHERE ev.ts > {days(7)}) AS active_7d,
               count(DISTINCT ev.m) FILTER (WHERE ev.ts > {days(30)}) AS active_30d,
               count(*) AS events,
               count(*) FILTER (WHERE ev.et IN ('message', 'post', 'reply')) AS content
        FROM ({overview._ACTIVE_EVENTS}) ev SEMI JOIN keep ON ev.c = keep.c AND ev.m = keep.m
        GROUP BY ev.c
    """, as_of=now, keep=keep).set_index("community_id")
    ids = pd.Index(ds.communities["community_id"], name="community_id")
    count = lambda col: counts[col].reindex(ids, fill_value=0).astype("int64")  # noqa: E731
    out = pd.DataFrame(index=ids)
    out["members"] = members.reindex(ids, fill_value=0)
    out["staff"] = staff.reindex(ids, fill_value=0)
    out["active_7d"] = count("active_7d")
    out["active_30d"] = count("active_30d")
    denom = out["members"].where(out["members"] > 0)
    out["active_share_30d"] = out["active_30d"] / denom
    out["events"] = count("events")
    out["events_per_member"] = out["events"] / denom
    out["content_per_member"] = count("content") / denom
    return out


def edge_case(seed: int, tz: str, template: pd.DataFrame) -> tuple[Dataset, pd.Timestamp]:
    """``random_case`` plus events of present members at and 1 µs around the instant, the instant minus 7 and 30
    days, local midnights in ``tz`` and the zone's offset changes within the data's span."""
    ds, as_of = random_case(seed, template)
    rng = np.random.default_rng(30_000 + seed)
    mem = ds.members
    lo = ds.events["ts"].min()
    local = pd.date_range(lo.tz_convert(tz).normalize(), as_of.tz_convert(tz), freq="D")
    midnights = list(local[rng.integers(0, len(local), 6)].tz_convert("UTC")) if len(local) else []
    zone = pd.Series(pd.date_range(lo, as_of, freq="h")).dt.tz_convert(tz)
    changes = list(zone[zone.map(lambda t: t.utcoffset()).diff().fillna(pd.Timedelta(0)) != pd.Timedelta(0)])
    bounds = [as_of, as_of - pd.Timedelta(days=7), as_of - pd.Timedelta(days=30), *midnights,
              *[pd.Timestamp(c).tz_convert("UTC") for c in changes]]
    rows = []
    for _, m in mem.sample(frac=0.8, random_state=seed).iterrows():
        for b in bounds:
            for shift in (-US, pd.Timedelta(0), US):
                if rng.random() < 0.3:
                    t = ("message", "reaction", "post", "leave", "checkin")[int(rng.integers(0, 5))]
                    rows.append((m["community_id"], m["member_id"], b + shift, t))
    extra = pd.DataFrame(rows, columns=["community_id", "member_id", "ts", "event_type"])
    for col in ("community_id", "member_id", "event_type"):
        extra[col] = extra[col].astype("string")
    ev = pd.concat([ds.events, extra], ignore_index=True)
    return Dataset(ds.communities, mem, ev), as_of


@pytest.fixture(scope="module")
def template(samples_dir) -> pd.DataFrame:
    return pd.read_csv(samples_dir / "communities.csv", dtype="string")


@pytest.mark.parametrize(("seed", "tz"), CASES)
def test_the_overview_equals_the_former_queries_and_the_oracles(seed, tz, template):
    ds, as_of = edge_case(seed, tz, template)
    got = activity_overview(ds, as_of=as_of, tz=tz)
    want = former_summary(ds, as_of)
    assert want["active_7d"].sum() > 0 and want["events"].sum() > 0  # not an empty comparison
    pd.testing.assert_frame_equal(got.summary, want)
    pd.testing.assert_frame_equal(activity_summary(ds, as_of=as_of), want)
    pd.testing.assert_frame_equal(got.daily, daily_activity(ds, as_of=as_of, tz=tz))
    pd.testing.assert_frame_equal(got.hours, weekday_hour(ds, as_of=as_of, tz=tz))
    pd.testing.assert_frame_equal(got.summary, naive_activity_summary(ds.communities, ds.members, ds.events,
                                                                      as_of=as_of), check_dtype=False)
    pd.testing.assert_frame_equal(got.daily, naive_daily_activity(ds.events, as_of=as_of, tz=tz), check_dtype=False)
    pd.testing.assert_frame_equal(got.hours, naive_weekday_hour(ds.events, as_of=as_of, tz=tz), check_dtype=False,
                                  check_names=False)


def test_the_overview_of_stored_events_reads_them_in_place(samples_dir, tmp_path):
    load_dataset(samples_dir, cache=tmp_path)
    stored = load_dataset(samples_dir, cache=tmp_path)
    memory = load_dataset(samples_dir)
    got = activity_overview(stored, as_of="2024-06-30", tz="America/New_York")
    assert not stored.events_loaded
    want = activity_overview(memory, as_of="2024-06-30", tz="America/New_York")
    for a, b in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(got.summary, former_summary(memory, pd.Timestamp("2024-06-30", tz="UTC")))


@pytest.mark.parametrize(("old", "wrong"), [
    ("pm.last > $as_of - INTERVAL 7 DAY", "pm.last >= $as_of - INTERVAL 7 DAY"),
    ("pm.last > $as_of - INTERVAL 30 DAY", "pm.last > $as_of - INTERVAL 30 DAY - INTERVAL 1 MICROSECOND"),
    ("max(last) AS last", "min(last) AS last"),
    ("sum(k) AS k", "sum(n) AS k"),
])
def test_a_wrong_summary_is_seen(old, wrong, template, monkeypatch):
    """The data tell the rewrite from a wrong one: a window bound moved by 1 µs, the member's first event taken for
    the last, the events counted for the content events."""
    df = overview._Events.df

    def broken(self, sql):
        if old in sql:
            sql = sql.replace(old, wrong)
        return df(self, sql)

    monkeypatch.setattr(overview._Events, "df", broken)
    seen = []
    for seed, tz in CASES:
        ds, as_of = edge_case(seed, tz, template)
        seen.append(not activity_overview(ds, as_of=as_of, tz=tz).summary.equals(former_summary(ds, as_of)))
    assert any(seen)
