"""Seeded random communities full of edge instants: DuckDB against the naive pandas oracles.

The bundled samples exercise the common paths; these small cases put events and memberships on
the instants where a definition's boundary is easy to get wrong: exactly at ``as_of`` and one second
after, exactly at a join and at join + 7 days, exactly 30 days before ``as_of``, joins at and after
``as_of``, departures at ``as_of``, at the first and the last microsecond of calendar months and ISO
weeks (the edges of monthly and weekly windows), a day before the community's creation, targets that are the
member itself or not a member, events of non-members, staff and bots, and dates around 1970.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from commlab.analysis.compute import compute_metrics
from commlab.analysis.features import FEATURES, member_features
from commlab.analysis.lifecycle import rfm_from_events
from commlab.analysis.metrics import list_metrics, make_periods
from commlab.analysis.naive import NAIVE_METRICS, naive_member_features, naive_metrics, naive_rfm
from commlab.data import Dataset
from commlab.engines import DuckDBEngine

TYPES = ("message", "post", "reply", "mention", "reaction", "checkin", "event_attend", "course_complete",
         "purchase", "referral", "join", "leave")
ROLES = ("member",) * 8 + ("staff", "owner", "bot")
#: The analysis instants the seeds cycle through: an odd time of day, just after 1970, a Monday.
BASES = ("2024-03-10 12:34:56", "1970-02-01", "2021-01-04")
TRAILING = ["active_share_7d", "active_share_30d", "stickiness", "content_days_share", "core_share",
            "zombie_share", "lurker_share", "days_to_activity_floor", "members"]


def random_case(seed: int, template: pd.DataFrame) -> tuple[Dataset, pd.Timestamp]:
    """Three communities (rows of ``template`` with new ids and creation times) and their members and events."""
    rng = np.random.default_rng(seed)
    as_of = pd.Timestamp(BASES[seed % len(BASES)], tz="UTC")
    day = pd.Timedelta(days=1)
    comms = template.iloc[:3].copy().reset_index(drop=True)
    comms["community_id"] = pd.array(["k1", "k2", "k3"], dtype="string")
    comms["created_at"] = [as_of - int(d) * day for d in rng.integers(20, 200, 3)]
    members, events = [], []
    for c, created in zip(comms["community_id"], comms["created_at"], strict=True):
        span = int((as_of - created).total_seconds())
        joined = {}
        for i in range(int(rng.integers(3, 25))):
            j = [created, as_of, as_of + day, *[created + pd.Timedelta(seconds=int(rng.integers(0, span)))] * 3][
                int(rng.integers(0, 6))]
            kind = int(rng.integers(0, 5))
            left = pd.NaT if kind < 3 else as_of if kind == 3 else j + int(rng.integers(0, 60)) * day
            members.append((c, f"m{i}", j, left, ROLES[int(rng.integers(0, len(ROLES)))], f"N{i}"))
            joined[f"m{i}"] = j
        ids = [*joined, "ghost"]  # "ghost" acts without being a member
        for _ in range(int(rng.integers(0, 300))):
            m = ids[int(rng.integers(0, len(ids)))]
            j = joined.get(m, created)
            r = created + pd.Timedelta(seconds=int(rng.integers(-86400, span)))
            month = r.tz_localize(None).to_period("M").start_time.tz_localize("UTC")
            monday = r.normalize() - r.weekday() * day
            us = pd.Timedelta(microseconds=1)
            # at the edges of monthly and weekly windows: a period's first instant and the previous one's last
            ts = [as_of, j, j + 7 * day, as_of - 30 * day, as_of + pd.Timedelta(seconds=1),
                  month, month - us, monday, monday - us, r, r, r, r][int(rng.integers(0, 13))]
            t = TYPES[int(rng.integers(0, len(TYPES)))]
            target = None
            if t in ("reply", "mention", "reaction", "referral") and rng.random() < 0.9:
                target = (m, ids[int(rng.integers(0, len(ids)))], "outsider")[int(rng.integers(0, 3))]
            events.append((c, m, ts, t, target, float(rng.integers(1, 500)) if t == "purchase" else np.nan))
    mem = pd.DataFrame(members, columns=["community_id", "member_id", "joined_at", "left_at", "role", "display_name"])
    mem["joined_at"] = pd.to_datetime(mem["joined_at"], utc=True)
    mem["left_at"] = pd.to_datetime(mem["left_at"], utc=True)
    ev = pd.DataFrame(events, columns=["community_id", "member_id", "ts", "event_type", "target_member_id", "amount"])
    ev["ts"] = pd.to_datetime(ev["ts"], utc=True)
    _practices(ev, mem, seed)
    for frame, cols in ((ev, ("community_id", "member_id", "event_type", "target_member_id")),
                        (mem, ("community_id", "member_id", "role", "display_name"))):
        for col in cols:
            frame[col] = frame[col].astype("string")
    return Dataset(comms, mem, ev), as_of


def _practices(ev: pd.DataFrame, mem: pd.DataFrame, seed: int) -> None:
    """The practice event types and fields (issue 26.5), from a stream of their own (the draws above stay)."""
    rng = np.random.default_rng(10_000 + seed)
    kind = rng.random(len(ev))
    ev.loc[kind < 0.06, "event_type"] = "event"
    ev.loc[(kind >= 0.06) & (kind < 0.12), "event_type"] = "reward"  # targets kept where they were drawn
    ev.loc[(kind >= 0.12) & (kind < 0.15), "event_type"] = "moderation"
    cats = np.array([None, "course", "product", "membership", "shop", "online", "points"], dtype=object)
    ev["category"] = pd.array(cats[rng.integers(0, len(cats), len(ev))], dtype="string")
    ev["platform"] = pd.array(np.array([None, None, "wechat", "qq"], dtype=object)[rng.integers(0, 4, len(ev))],
                              dtype="string")
    channels = np.array([None, "invite", "qr_code", "link"], dtype=object)
    mem["join_channel"] = pd.array(rng.choice(channels, len(mem), p=[0.1, 0.7, 0.1, 0.1]), dtype="string")


@pytest.fixture(scope="module")
def template(samples_dir) -> pd.DataFrame:
    return pd.read_csv(samples_dir / "communities.csv", dtype="string")


def _close(got: pd.Series, want: pd.Series) -> np.ndarray:
    return np.isclose(got.astype(float), want.astype(float), rtol=1e-9, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("seed", range(6))
def test_random_case_duckdb_equals_naive_pandas(seed, template):
    ds, as_of = random_case(seed, template)
    ev, mem = ds.events, ds.members
    assert len(ev) > 20 and (ev["ts"] == as_of).any() and (ev["ts"] > as_of).any()
    f = member_features(ev, mem, as_of=as_of)
    want = naive_member_features(ev, mem, as_of=as_of)
    assert list(f["member_id"]) == list(want["member_id"])
    for feat in FEATURES:
        assert _close(f[feat.id], want[feat.id]).all(), feat.id
    ids = [m.id for m in list_metrics() if m.id in NAIVE_METRICS]
    got = compute_metrics(ds, as_of=as_of, window=None)
    naive = naive_metrics(ds.communities, mem, ev, as_of=as_of, metrics=ids)
    j = naive.merge(got, on=["community_id", "period", "metric_id"], suffixes=("_n", "_d"), how="left")
    assert len(j) == 3 * len(ids) and j["value_d"].notna().mean() > 0.5
    bad = ~_close(j["value_d"], j["value_n"]) | ~_close(j["n_d"], j["n_n"])
    assert not bad.any(), j.loc[bad, ["community_id", "metric_id", "value_d", "value_n", "n_d", "n_n"]].to_string()
    for period in ("D", "W"):
        pd.testing.assert_frame_equal(rfm_from_events(ev, as_of=as_of, period=period), naive_rfm(ev, as_of, period),
                                      check_dtype=False)


@pytest.mark.parametrize(("seed", "window"), [(0, "month"), (1, "month"), (2, "month"), (0, "week"), (1, "week")])
def test_random_case_trailing_metrics_equal_naive_at_each_period_end(seed, window, template):
    """A trailing metric of a month or an ISO week depends only on its end: the naive oracle run up to it agrees."""
    ds, as_of = random_case(seed, template)
    got = DuckDBEngine().compute_metrics(ds, as_of=as_of, window=window, metrics=TRAILING)
    # the last three periods; each ends 1 µs before the next starts, the last at as_of
    ends = make_periods(ds.communities, as_of=as_of, window=window).groupby("period")["p_end"].first()
    assert len(ends) >= 2 and (ends.iloc[-3:].diff().dropna() > pd.Timedelta(0)).all()
    for period, end in ends.iloc[-3:].items():
        want = naive_metrics(ds.communities, ds.members, ds.events, as_of=end, metrics=TRAILING, network=False)
        mine = got[got["period"] == period]
        j = mine.merge(want, on=["community_id", "metric_id"], suffixes=("_d", "_n"))
        # a community created after the period's end has no row for it
        assert len(j) == mine["community_id"].nunique() * len(TRAILING) > 0
        bad = ~_close(j["value_d"], j["value_n"])
        shown = ["community_id", "metric_id", "value_d", "value_n"]
        assert not bad.any(), f"{period}\n" + j.loc[bad, shown].to_string()


@pytest.mark.parametrize(("seed", "window"), [(0, "month"), (1, "week"), (2, "week")])
def test_random_case_every_metric_of_a_window_equals_that_window_computed_alone(seed, window, template):
    """Each of the last three months or weeks, every metric (network ones too, which share one edge table
    across periods), equals the single period ``start .. as_of`` of the same bounds, the path the naive
    oracle checks above."""
    ds, as_of = random_case(seed, template)
    got = DuckDBEngine().compute_metrics(ds, as_of=as_of, window=window)
    periods = make_periods(ds.communities, as_of=as_of, window=window)
    for period, g in list(periods.groupby("period"))[-3:]:
        alone = DuckDBEngine().compute_metrics(ds.subset(list(g["community_id"])), as_of=g["p_end"].iloc[0],
                                               window=None, start=g["p_start"].iloc[0] + pd.Timedelta(microseconds=1))
        mine = got[got["period"] == period]
        j = mine.merge(alone, on=["community_id", "metric_id"], how="outer", suffixes=("_w", "_a"))
        assert len(j) == len(mine) == len(alone) > 0
        bad = ~_close(j["value_w"], j["value_a"]) | ~_close(j["n_w"], j["n_a"])
        shown = ["community_id", "metric_id", "value_w", "value_a"]
        assert not bad.any(), f"{period}\n" + j.loc[bad, shown].to_string()


@pytest.mark.parametrize(("seed", "tz"), [(0, "Asia/Shanghai"), (1, "America/New_York"), (2, "UTC")])
def test_random_case_overview_counts_equal_naive_pandas(seed, tz, template):
    """Notebook 01's counts (local days and hours: edges of UTC months fall mid-day in the zone)."""
    from commlab.analysis.naive import naive_activity_summary, naive_daily_activity, naive_weekday_hour
    from commlab.analysis.overview import activity_summary, daily_activity, weekday_hour

    ds, as_of = random_case(seed, template)
    pd.testing.assert_frame_equal(daily_activity(ds, as_of=as_of, tz=tz),
                                  naive_daily_activity(ds.events, as_of=as_of, tz=tz), check_dtype=False)
    pd.testing.assert_frame_equal(weekday_hour(ds, as_of=as_of, tz=tz),
                                  naive_weekday_hour(ds.events, as_of=as_of, tz=tz), check_dtype=False,
                                  check_names=False)
    pd.testing.assert_frame_equal(activity_summary(ds, as_of=as_of),
                                  naive_activity_summary(ds.communities, ds.members, ds.events, as_of=as_of),
                                  check_dtype=False, check_index_type=False)
