"""Rewrites of the metric prelude and of the one-period metrics for speed: each equals its former SQL, the oracle.

The data are the seeded random communities of ``test_random_parity`` (events on the edges of the windows: at a
join, at ``as_of``, 30 days before it, at the first and last microsecond of months and weeks), with events added
exactly at ``joined_at + 30 / 60 / 90 days`` and 1 µs on either side of those instants, where the retention windows
meet. Each comparison is exact (values, types, rows); each also checks that the data hold the ties that tell a
rewrite from a wrong one (a bound moved by 1 µs, or the period key mixed up, changes the oracle's result).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from commlab.analysis.metrics import (
    Metric,
    MetricContext,
    Tables,
    _run,
    engine_periods,
    get_metric,
    list_metrics,
    prelude_statements,
    run_metrics,
    split_prelude,
    tidy_metrics,
)
from commlab.data import Dataset, load_dataset
from commlab.engines import DuckDBEngine
from test_random_parity import random_case

CONTENT = "('message', 'post', 'reply')"

#: flow_pm as it was: the events joined to the staff rows, grouped by the community and period strings.
_OLD_FLOW = f"""
SELECT p.community_id, p.period, e.member_id, bool_or(e.is_staff) AS is_staff, bool_or(e.is_bot) AS is_bot,
       count(*) FILTER (WHERE e.event_type IN {CONTENT}) AS content,
       count(*) FILTER (WHERE e.event_type NOT IN ('join', 'leave')) AS activity,
       count(*) FILTER (WHERE e.event_type = 'purchase') AS purchases,
       sum(CAST(e.amount AS DECIMAL(38, 10))) FILTER (WHERE e.event_type = 'purchase') AS amount,
       count(*) FILTER (WHERE e.event_type = 'referral') AS referrals,
       count(*) FILTER (WHERE e.event_type = 'course_complete') AS completions,
       count(*) FILTER (WHERE e.event_type = 'reply') AS replies
FROM periods p JOIN ev e ON e.community_id = p.community_id AND e.ts > p.p_start AND e.ts <= p.p_end
GROUP BY p.community_id, p.period, e.member_id
"""

#: recent_pm as it was.
_OLD_RECENT = f"""
SELECT community_id, period, member_id,
       bit_or(CAST(1 AS BIGINT) << day) AS act_days,
       coalesce(bit_or(CAST(1 AS BIGINT) << day) FILTER (WHERE event_type IN {CONTENT}), 0) AS content_days
FROM (SELECT p.community_id, p.period, e.member_id, e.event_type,
             CAST(floor((epoch_us(p.p_end) - epoch_us(e.ts)) / 86400000000) AS BIGINT) AS day
      FROM periods p JOIN act e ON e.community_id = p.community_id
        AND e.ts > p.p_end - INTERVAL '{{days}} days' AND e.ts <= p.p_end
      WHERE NOT e.is_staff) AS x
GROUP BY community_id, period, member_id
"""

#: newcomer_activity as it was: the bounds added to joined_at for each event.
_OLD_NEWCOMER = """
SELECT r.community_id, r.member_id,
       bool_or(e.ts <= r.joined_at + INTERVAL '30 days') AS a30,
       bool_or(e.ts > r.joined_at + INTERVAL '30 days' AND e.ts <= r.joined_at + INTERVAL '{days} days') AS a60,
       bool_or(e.ts > r.joined_at + INTERVAL '60 days') AS a90
FROM roles r JOIN act e ON e.community_id = r.community_id AND e.member_id = r.member_id
  AND e.ts > r.joined_at AND e.ts <= r.joined_at + INTERVAL '90 days'
WHERE NOT r.is_staff
GROUP BY r.community_id, r.member_id
"""

#: content_first as it was: from the events joined to the staff rows, every member with content (now the
#: non-staff members only, the ones the lurker metrics ask about).
_OLD_CONTENT_FIRST = f"""
SELECT community_id, member_id, min(ts) AS first_content FROM ev
WHERE event_type IN {CONTENT} GROUP BY community_id, member_id
"""
_NON_STAFF = "(community_id, member_id) IN (SELECT community_id, member_id FROM roles WHERE NOT is_staff)"

#: main_platform_share as it was.
_OLD_PLATFORM = """
WITH a AS (
  SELECT p.community_id, p.period, coalesce(e.platform, c.platform) AS pf, count(*) AS k
  FROM periods p JOIN act e ON e.community_id = p.community_id AND NOT e.is_staff
    AND e.ts > p.p_start AND e.ts <= p.p_end
  JOIN communities c ON c.community_id = p.community_id
  GROUP BY p.community_id, p.period, coalesce(e.platform, c.platform))
SELECT community_id, period, CAST(max(k) AS DOUBLE) / sum(k) AS value FROM a GROUP BY community_id, period
"""


_DAYS = lambda a, b: f"CAST(floor((epoch_us({b}) - epoch_us({a})) / 86400000000) AS BIGINT)"  # noqa: E731

#: The two metrics of a community's first days as they were: each read its days from ``act`` (the events joined to
#: the staff rows) on its own; they now share the table ``first_days_dau``.
_FORMER_EARLY = {
    "early_survival_ratio": f"""
WITH base AS (
  SELECT p.community_id, p.period, c.created_at FROM periods p JOIN communities c USING (community_id)
  WHERE c.created_at + INTERVAL '30 days' <= p.p_end),
d AS (
  SELECT b.community_id, b.period, {_DAYS("b.created_at", "e.ts")} + 1 AS day, count(DISTINCT e.member_id) AS dau
  FROM base b JOIN act e ON e.community_id = b.community_id AND e.ts >= b.created_at
    AND e.ts < b.created_at + INTERVAL '30 days'
  WHERE NOT e.is_staff GROUP BY ALL)
SELECT b.community_id, b.period,
  (coalesce(sum(d.dau) FILTER (WHERE d.day >= 4), 0) / 27.0) / (sum(d.dau) FILTER (WHERE d.day <= 3) / 3.0)
    AS value
FROM base b LEFT JOIN d ON d.community_id = b.community_id AND d.period = b.period
GROUP BY b.community_id, b.period
""",
    "days_to_activity_floor": f"""
WITH base AS (
  SELECT p.community_id, p.period, c.created_at, least(365, {_DAYS("c.created_at", "p.p_end")}) AS n_days
  FROM periods p JOIN communities c USING (community_id)),
young AS (
  SELECT DISTINCT e.community_id FROM act e JOIN communities c USING (community_id)
  WHERE NOT e.is_staff AND e.ts >= c.created_at AND e.ts < c.created_at + INTERVAL '3 days'),
blocks AS (
  SELECT community_id, member_id, CAST(floor(d0 / 63) AS BIGINT) AS blk,
         bit_or(CAST(1 AS BIGINT) << CAST(d0 - 63 * floor(d0 / 63) AS INTEGER)) AS mask
  FROM (
    SELECT e.community_id, e.member_id, {_DAYS("c.created_at", "e.ts")} AS d0
    FROM act e JOIN communities c USING (community_id)
    WHERE NOT e.is_staff AND e.ts >= c.created_at AND e.ts < c.created_at + INTERVAL '365 days'
      AND e.community_id IN (SELECT community_id FROM young)) AS x
  GROUP BY community_id, member_id, CAST(floor(d0 / 63) AS BIGINT)),
dau AS (
  SELECT b.community_id, b.blk * 63 + r.i + 1 AS day, count(*) AS dau
  FROM blocks b CROSS JOIN (SELECT unnest(range(63)) AS i) AS r
  WHERE (b.mask >> r.i) & 1 = 1
  GROUP BY b.community_id, b.blk * 63 + r.i + 1),
series AS (
  SELECT b.community_id, b.period, s.day FROM base b, LATERAL (SELECT unnest(range(1, b.n_days + 1)) AS day) s),
full_ AS (
  SELECT s.community_id, s.period, s.day, coalesce(d.dau, 0) AS dau
  FROM series s LEFT JOIN dau d ON d.community_id = s.community_id AND d.day = s.day),
early AS (
  SELECT community_id, period, avg(dau) AS e3 FROM full_ WHERE day <= 3
  GROUP BY community_id, period HAVING count(*) = 3),
roll AS (
  SELECT community_id, period, day,
         avg(dau) OVER (PARTITION BY community_id, period ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW)
           AS m7
  FROM full_ WHERE day >= 4)
SELECT r.community_id, r.period, min(r.day) FILTER (WHERE r.m7 < 0.25 * e.e3)::DOUBLE AS value
FROM roll r JOIN early e ON e.community_id = r.community_id AND e.period = r.period
WHERE e.e3 > 0
GROUP BY r.community_id, r.period
""",
}


def _former_lift(count: str) -> str:
    """``event_lift`` (``count`` = content) or ``event_purchase_lift`` (purchases) as it was: each metric found the
    event days and summed the days around them on its own; they now share the table ``event_lift_days``."""
    return f"""
WITH days AS (
  SELECT p.community_id, p.period, p.p_end, CAST(floor(epoch_us(e.ts) / 86400000000) AS BIGINT) AS d FROM periods p
  JOIN ev_rare e ON e.community_id = p.community_id AND e.event_type = 'event_attend'
    AND e.ts > p.p_start AND e.ts <= p.p_end
  WHERE NOT e.is_staff
  GROUP BY p.community_id, p.period, p.p_end, CAST(floor(epoch_us(e.ts) / 86400000000) AS BIGINT)
  HAVING count(DISTINCT e.member_id) >= 3),
w AS (
  SELECT x.community_id, x.period, x.d,
    coalesce(sum(c.{count}) FILTER (WHERE c.d > x.d), 0) AS after_n,
    coalesce(sum(c.{count}) FILTER (WHERE c.d < x.d), 0) AS before_n
  FROM days x
  LEFT JOIN day_counts c ON c.community_id = x.community_id AND c.d >= x.d - 7 AND c.d <= x.d + 7
    AND c.d <> x.d
  WHERE (x.d + 8) * 86400000000 <= epoch_us(x.p_end)
  GROUP BY x.community_id, x.period, x.d)
SELECT community_id, period, sum(after_n)::DOUBLE / nullif(sum(before_n), 0) AS value
FROM w GROUP BY community_id, period
"""


#: The shares of present members as they were: each joined present to recent_pm (and the zombie share to roles) on
#: its own; they now read the shared ``present_recent``. revenue_per_member had two subqueries per period.
_FORMER_RECENT_SHARE = """
SELECT pr.community_id, pr.period, avg(CASE WHEN {cond} THEN 1.0 ELSE 0.0 END) AS value, count(*)::DOUBLE AS n
FROM present pr
LEFT JOIN recent_pm f ON f.community_id = pr.community_id AND f.period = pr.period AND f.member_id = pr.member_id
GROUP BY pr.community_id, pr.period
"""
_FORMER_SHARES = {
    "active_share_7d": _FORMER_RECENT_SHARE.format(cond="((f.act_days >> 0) & 127) <> 0"),
    "active_share_30d": _FORMER_RECENT_SHARE.format(cond="((f.act_days >> 0) & 1073741823) <> 0"),
    "core_share": _FORMER_RECENT_SHARE.format(cond=" + ".join(
        f"CAST(((f.content_days >> {7 * w}) & 127) <> 0 AS INTEGER)" for w in range(4)) + " >= 3"),
    "zombie_share": """
SELECT pr.community_id, pr.period,
  avg(CASE WHEN r.joined_at <= p.p_end - INTERVAL '30 days' AND f.member_id IS NULL THEN 1.0 ELSE 0.0 END) AS value,
  count(*)::DOUBLE AS n
FROM present pr
JOIN periods p ON p.community_id = pr.community_id AND p.period = pr.period
JOIN roles r ON r.community_id = pr.community_id AND r.member_id = pr.member_id
LEFT JOIN recent_pm f ON f.community_id = pr.community_id AND f.period = pr.period AND f.member_id = pr.member_id
GROUP BY pr.community_id, pr.period
""",
    "revenue_per_member": """
SELECT p.community_id, p.period,
  coalesce((SELECT CAST(sum(f.amount) AS DOUBLE) FROM flow_pm f WHERE f.community_id = p.community_id
            AND f.period = p.period AND NOT f.is_staff), 0)
  / nullif((SELECT count(*) FROM present pr WHERE pr.community_id = p.community_id AND pr.period = p.period), 0)
    AS value,
  (SELECT count(*) FROM present pr WHERE pr.community_id = p.community_id AND pr.period = p.period)::DOUBLE AS n
FROM periods p
""",
}

#: ev_rare as it was: every column of ``ev`` (now only those its readers use).
_FORMER_RARE = ("CREATE OR REPLACE TEMP TABLE former_rare AS SELECT * FROM ev WHERE event_type IN "
                "('checkin', 'event', 'event_attend', 'purchase', 'reward', 'moderation')")


def tied_case(seed: int, template: pd.DataFrame) -> tuple[Dataset, pd.Timestamp]:
    """``random_case`` plus activity at and 1 µs around ``joined_at + 30 / 60 / 90 days`` of random members."""
    ds, as_of = random_case(seed, template)
    rng = np.random.default_rng(20_000 + seed)
    mem = ds.members
    rows = []
    us = pd.Timedelta(microseconds=1)
    for _, m in mem.sample(frac=0.7, random_state=seed).iterrows():
        for days in (30, 60, 90):
            for shift in (-us, pd.Timedelta(0), us):
                if rng.random() < 0.4:
                    t = ("message", "reaction", "purchase", "join")[int(rng.integers(0, 4))]
                    rows.append((m["community_id"], m["member_id"], m["joined_at"] + pd.Timedelta(days=days) + shift,
                                 t, 10.0 if t == "purchase" else np.nan))
    # event days (>= 3 attendees) with content and purchases on the first and last microsecond of the 7 days before
    # and after them and 1 us outside; one event day whose 7 following days end exactly at the as-of
    day = pd.Timedelta(days=1)
    for c, ms in mem.groupby("community_id")["member_id"]:
        ids = list(ms)
        for d in (as_of.normalize() - 8 * day, as_of.normalize() - int(rng.integers(12, 40)) * day):
            for m in ids[:4]:
                rows.append((c, m, d + pd.Timedelta(hours=int(rng.integers(0, 24))), "event_attend", np.nan))
            for t in (d - 7 * day, d - 7 * day - us, d + 8 * day - us, d + 8 * day, d + 3 * day, d - 2 * day, d):
                m = ids[int(rng.integers(0, len(ids)))]
                kind = ("message", "purchase", "reply")[int(rng.integers(0, 3))]
                rows.append((c, m, t, kind, 20.0 if kind == "purchase" else np.nan))
    # a community's third and thirtieth day: activity on their last microsecond and the next one
    for c, created in zip(ds.communities["community_id"], ds.communities["created_at"], strict=True):
        ids = list(mem.loc[mem["community_id"] == c, "member_id"])
        for t in (created + 3 * day, created + 3 * day - us, created + 30 * day - us, created + 30 * day):
            if rng.random() < 0.6:
                rows.append((c, ids[int(rng.integers(0, len(ids)))], t, "reaction", np.nan))
    extra = pd.DataFrame(rows, columns=["community_id", "member_id", "ts", "event_type", "amount"])
    for col in ("community_id", "member_id", "event_type"):
        extra[col] = extra[col].astype("string")
    ev = pd.concat([ds.events, extra], ignore_index=True)
    # members who joined exactly 30 days before the as-of and 1 us either side (the zombie share's bound)
    joiners = []
    for c in ds.communities["community_id"]:
        for i, shift in enumerate((-us, pd.Timedelta(0), us)):
            joiners.append((c, f"z{i}", as_of - pd.Timedelta(days=30) + shift, pd.NaT, "member", f"Z{i}", "invite"))
    extra_mem = pd.DataFrame(joiners, columns=["community_id", "member_id", "joined_at", "left_at", "role",
                                               "display_name", "join_channel"])
    extra_mem["left_at"] = pd.to_datetime(extra_mem["left_at"], utc=True)
    mem = pd.concat([mem, extra_mem.astype({c: "string" for c in ("community_id", "member_id", "role", "display_name",
                                                                  "join_channel")})], ignore_index=True)
    return Dataset(ds.communities, mem, ev), as_of


@pytest.fixture(scope="module")
def template(samples_dir) -> pd.DataFrame:
    return pd.read_csv(samples_dir / "communities.csv", dtype="string")


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns[:3])).reset_index(drop=True)


@pytest.mark.parametrize(("seed", "window"), [(0, "month"), (1, "week"), (2, None), (3, "month"), (4, None)])
def test_rewritten_tables_and_metrics_equal_their_former_sql(seed, window, template):
    ds, as_of = tied_case(seed, template)
    eng = DuckDBEngine()
    con = eng.connect()
    try:
        v = eng.register_tables(con, communities=ds.communities, members=ds.members, events=ds.events)
        periods = engine_periods(lambda q: con.execute(q).df(), v, as_of=as_of, window=window)
        con.register("periods", periods)
        # as the engine: recent_pm and the first days' events with their constant bounds
        created = con.execute(f"SELECT max(created_at) FROM {v['communities']}").fetchone()[0]
        statements = prelude_statements(v, periods, created, by_segment=True)
        plain = prelude_statements(v)
        for name, bound in (("TEMP TABLE recent_pm", "AND e.ts > CAST("), ("TEMP VIEW ev_first3d", "AND e.ts < CAST("),
                            ("TEMP VIEW ev_first365d", "AND e.ts < CAST(")):
            stmt = next(s for s in statements if name in s)
            assert bound in stmt and stmt != next(s for s in plain if name in s), name
        eager, pending = split_prelude(statements)
        for stmt in eager:
            con.execute(stmt)
        ctx = MetricContext(con, Tables(ds.communities, ds.members, ds.events), periods, window, pending=pending)
        q = lambda sql: _sorted(ctx.query(sql))  # noqa: E731
        ctx.ensure("ev ev_rare")
        con.execute(_FORMER_RARE)
        rare_readers = [m for m in list_metrics() if m.sql is not None and re.search(r"\bev_rare\b", m.sql)]
        assert len(rare_readers) >= 10
        pairs = {
            "flow_pm": (q("SELECT * EXCLUDE (pk) FROM flow_pm"), q(_OLD_FLOW)),
            "recent_pm": (q("SELECT * EXCLUDE (pk) FROM recent_pm"), q(_OLD_RECENT.format(days=30))),
            "newcomer_activity": (q("SELECT * FROM newcomer_activity"), q(_OLD_NEWCOMER.format(days=60))),
            "main_platform_share": (q(get_metric("main_platform_share").sql), q(_OLD_PLATFORM)),
            **{m: (q(get_metric(m).sql), q(sql)) for m, sql in _FORMER_EARLY.items()},
            **{m: (q(get_metric(m).sql), q(sql)) for m, sql in _FORMER_SHARES.items()},
            **{m: (q(get_metric(m).sql), q(_former_lift(k)))
               for m, k in (("event_lift", "content"), ("event_purchase_lift", "purchases"))},
            # every metric reading ev_rare, over the former ev_rare with all of ev's columns
            **{f"{m.id} (ev_rare)": (q(m.sql), q(re.sub(r"\bev_rare\b", "former_rare", m.sql)))
               for m in rare_readers},
            "content_first": (q("SELECT * FROM content_first"),
                              q(f"SELECT * FROM ({_OLD_CONTENT_FIRST}) AS x WHERE {_NON_STAFF}")),
            "lurker_share": (q(get_metric("lurker_share").sql), q(get_metric("lurker_share").sql.replace(
                "FROM content_first", f"FROM ({_OLD_CONTENT_FIRST}) AS old"))),
            "lurker_share_change_30d": (q(get_metric("lurker_share_change_30d").sql), q(get_metric(
                "lurker_share_change_30d").sql.replace("FROM content_first", f"FROM ({_OLD_CONTENT_FIRST}) AS old"))),
        }
        # the data tell a right rewrite from a wrong one: a window 1 µs off, the staff's activity kept (flow_pm and
        # recent_pm now set the staff apart after grouping), the retention bound off by one day
        moved = {"recent_pm": q(_OLD_RECENT.format(days=30).replace("e.ts > p.p_end", "e.ts >= p.p_end")),
                 "recent_pm ": q(_OLD_RECENT.format(days=30).replace("NOT e.is_staff", "true")),
                 "newcomer_activity": q(_OLD_NEWCOMER.format(days=59)),
                 "zombie_share": q(_FORMER_SHARES["zombie_share"].replace("r.joined_at <=", "r.joined_at <"))}
        # period keys in another order than the labels: the key must be joined back, not taken for the label
        con.execute("CREATE OR REPLACE TEMP TABLE period_keys AS SELECT CAST(row_number() OVER "
                    "(ORDER BY community_id DESC, period DESC) AS INTEGER) AS pk, community_id, period, p_start, p_end "
                    "FROM periods")
        con.execute(next(s for s in prelude_statements(v) if "TEMP TABLE flow_pm" in s))
        again = q("SELECT * EXCLUDE (pk) FROM flow_pm")
    finally:
        con.close()
    assert len(periods) >= 3
    for name, (got, want) in pairs.items():
        # some readers of ev_rare are defined on no random case (categories); a week holds no 7 days after an event
        if not name.endswith("(ev_rare)") and not (window == "week" and "lift" in name):
            assert len(want) >= 1 and want.iloc[:, -1].notna().any(), name
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=name)
    defined = [n for n, (_, want) in pairs.items() if n.endswith("(ev_rare)") and want["value"].notna().any()]
    assert len(defined) >= 6, defined
    for name, wrong in moved.items():
        assert not wrong.equals(pairs[name.strip()][1]), f"{name}: the data hold no tie at its window's bounds"
    assert pairs["flow_pm"][1]["amount"].notna().any() and pairs["flow_pm"][1]["is_staff"].any()
    pd.testing.assert_frame_equal(again, pairs["flow_pm"][1], check_exact=True)



def _former_run_metrics(ctx: MetricContext, metrics: list, on_error) -> pd.DataFrame:
    """run_metrics as it was: each metric's result merged with the periods on its own."""
    keys = ctx.periods[["community_id", "period"]].astype({"community_id": "string", "period": "string"})
    parts = []
    for m in metrics:
        try:
            res = keys.merge(_run(m, ctx), on=["community_id", "period"], how="left")
        except Exception as exc:
            on_error(m, exc)
            res = keys.assign(value=float("nan"), n=float("nan"))
        res.insert(2, "metric_id", m.id)
        parts.append(res)
    out = tidy_metrics(parts)
    out["n"] = pd.to_numeric(out["n"], errors="coerce").astype("float64")
    return out


@pytest.mark.parametrize("window", ["month", None])
def test_run_metrics_merges_once_with_the_former_result(samples_dir, window):
    """One merge of every metric's rows gives the table of one merge per metric: same rows, order and types, a
    failed metric NaN in every period, a metric asked twice listed twice, a metric without ``n`` NaN there."""
    ds = load_dataset(samples_dir)
    broken = Metric("broken_for_test", "坏", "broken", "d", "f", "share", None, "test", sql="SELECT nonsense")
    chosen = [get_metric(m) for m in ("members", "ugc_share", "retention_30d", "gini_content")]
    chosen = [*chosen, broken, chosen[1]]
    eng = DuckDBEngine()
    con = eng.connect()
    failed: list[str] = []
    try:
        v = eng.register_tables(con, communities=ds.communities, members=ds.members, events=ds.events)
        periods = engine_periods(lambda q: con.execute(q).df(), v, as_of="2024-06-30T16:00:00Z", window=window)
        con.register("periods", periods)
        eager, pending = split_prelude(prelude_statements(v))
        for stmt in eager:
            con.execute(stmt)
        ctx = MetricContext(con, Tables(ds.communities, ds.members, ds.events), periods, window, pending=pending)
        got = run_metrics(ctx, chosen, on_error=lambda m, e: failed.append(m.id))
        want = _former_run_metrics(ctx, chosen, on_error=lambda m, e: failed.append(m.id))
    finally:
        con.close()
    assert failed == ["broken_for_test", "broken_for_test"]
    assert len(got) == len(chosen) * len(periods) and got["value"].notna().sum() > len(periods)
    assert got.loc[got["metric_id"] == "broken_for_test", "value"].isna().all()
    pd.testing.assert_frame_equal(got, want, check_exact=True)


@pytest.mark.parametrize("created", ["2024-03-05T16:00:00Z", "2024-03-05T00:00:00Z", "2024-03-05T23:59:59.999999Z"])
def test_first_days_views_keep_every_event_of_the_first_days(created, template):
    """``ev_first3d`` / ``ev_first365d`` hold every event before the latest community's creation plus 3 / 365 days
    (their constant bound only prunes what no first-days table reads); without the instant they are ``ev_raw``."""
    last = pd.Timestamp(created)
    us = pd.Timedelta(microseconds=1)
    comms = template.iloc[:2].copy().reset_index(drop=True)
    comms["community_id"] = pd.array(["a", "b"], dtype="string")
    comms["created_at"] = [last - pd.Timedelta(days=40), last]
    mem = pd.DataFrame({"community_id": pd.array(["a", "b"], dtype="string"),
                        "member_id": pd.array(["m", "m"], dtype="string"),
                        "joined_at": [last - pd.Timedelta(days=40), last], "left_at": pd.NaT,
                        "role": pd.array(["member", "member"], dtype="string"),
                        "display_name": pd.array(["M", "M"], dtype="string")})
    mem["left_at"] = pd.to_datetime(mem["left_at"], utc=True)
    ts = [last + pd.Timedelta(days=d) + s for d in (3, 365) for s in (-us, pd.Timedelta(0), pd.Timedelta(days=2))]
    ev = pd.DataFrame({"community_id": pd.array(["b"] * len(ts), dtype="string"),
                       "member_id": pd.array(["m"] * len(ts), dtype="string"), "ts": pd.to_datetime(ts, utc=True),
                       "event_type": pd.array(["message"] * len(ts), dtype="string")})
    eng = DuckDBEngine()
    con = eng.connect()
    try:
        v = eng.register_tables(con, communities=comms, members=mem, events=ev)
        con.register("periods", pd.DataFrame({"community_id": ["b"], "period": ["all"], "p_start": [last],
                                              "p_end": [last + pd.Timedelta(days=400)]}))
        latest = con.execute(f"SELECT max(created_at) FROM {v['communities']}").fetchone()[0]
        for stmt in prelude_statements(v, None, latest):
            con.execute(stmt)
        got = {n: set(con.execute(f"SELECT ts FROM {n}").df()["ts"]) for n in ("ev_first3d", "ev_first365d", "ev_raw")}
    finally:
        con.close()
    assert {last + pd.Timedelta(days=3) - us} <= got["ev_first3d"] < got["ev_first365d"] < got["ev_raw"]
    assert last + pd.Timedelta(days=365) - us in got["ev_first365d"]
    assert max(got["ev_first365d"]) < last + pd.Timedelta(days=367)  # the bound prunes
