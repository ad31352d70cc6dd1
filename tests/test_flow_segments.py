"""``flow_pm`` and ``platform_pm`` from the period segments (``seg_flow``, the DuckDB engine's prelude) equal their
former SQL: the events joined to every period holding them and grouped by period. The tables per member and period
(``present``, ``flow_pm``, ``recent_pm``) carry the period key ``pk``, and the joins between them on the key and the
member (``content_counts``, ``present_recent``, ``core_reply_share``, ``buyer_share``, ``referral_rate``,
``checkin_rate``, and the counts of present members shared as ``present_n``: ``members``, ``revenue_per_member``,
``event_attendance_rate``; ``lurker_share``) equal the former joins on the community, period
and member strings.

The periods are those of a one-pass playbook run (months, the whole span and the last 30 days of each community, in
one ``periods`` table: they overlap), over ``tied_case``'s data (events on the first and last microsecond of months,
at the as-of and 30 days before it) with Chinese community and member ids, the same member ids in several
communities, and events with and without a platform. The data tell a right rewrite from a wrong one: a segment's
bound taken inclusive on the other side, or a period's segments taken one too many, changes the oracle's result.
"""

from __future__ import annotations

import pandas as pd
import pytest

from commlab.analysis.metrics import (
    MetricContext,
    Tables,
    engine_periods,
    get_metric,
    prelude_statements,
    split_prelude,
)
from commlab.data import Dataset
from commlab.engines import DuckDBEngine
from commlab.engines.duck import _last_days_start, _union_sets
from test_prelude_rewrites import _FORMER_SHARES, _OLD_FLOW, _OLD_PLATFORM, _sorted, tied_case

#: The main platform's counts as they were in ``main_platform_share`` (its CTE ``k``), the oracle of ``platform_pm``.
_OLD_PLATFORM_PM = """
SELECT p.pk, e.platform, count(*) AS k
FROM period_keys p JOIN act e ON e.community_id = p.community_id AND NOT e.is_staff
  AND e.ts > p.p_start AND e.ts <= p.p_end
GROUP BY p.pk, e.platform
"""


#: The former joins on the three strings, the oracles of the joins on ``pk`` and the member.
_FORMER_JOINS = {
    "content_counts": """
SELECT community_id, period, x, count(*) AS c FROM (
  SELECT pr.community_id, pr.period, CAST(coalesce(f.content, 0) AS DOUBLE) AS x
  FROM present pr
  LEFT JOIN flow_pm f ON f.community_id = pr.community_id AND f.period = pr.period AND f.member_id = pr.member_id
) AS m
GROUP BY community_id, period, x""",
    "present_recent": """
SELECT pr.community_id, pr.period, pr.member_id, pr.joined_at, p.p_end, f.member_id IS NOT NULL AS recent,
       f.act_days, f.content_days
FROM present pr
JOIN periods p ON p.community_id = pr.community_id AND p.period = pr.period
LEFT JOIN recent_pm f ON f.community_id = pr.community_id AND f.period = pr.period AND f.member_id = pr.member_id""",
    "core_reply_share": """
WITH core AS (
  SELECT f.community_id, f.period, f.member_id FROM recent_pm f
  JOIN present pr ON pr.community_id = f.community_id AND pr.period = f.period AND pr.member_id = f.member_id
  WHERE CAST(((f.content_days >> 0) & 127) <> 0 AS INTEGER) + CAST(((f.content_days >> 7) & 127) <> 0 AS INTEGER)
    + CAST(((f.content_days >> 14) & 127) <> 0 AS INTEGER) + CAST(((f.content_days >> 21) & 127) <> 0 AS INTEGER) >= 3)
SELECT f.community_id, f.period,
       CAST(coalesce(sum(f.replies) FILTER (WHERE c.member_id IS NOT NULL), 0) AS DOUBLE)
         / CAST(sum(f.replies) AS DOUBLE) AS value,
       CAST(count(c.member_id) AS DOUBLE) AS n
FROM flow_pm f
LEFT JOIN core c ON c.community_id = f.community_id AND c.period = f.period AND c.member_id = f.member_id
WHERE f.replies > 0 AND NOT f.is_bot
GROUP BY f.community_id, f.period""",
    "buyer_share": """
WITH flag AS (
SELECT community_id, period, member_id FROM flow_pm WHERE purchases > 0 AND NOT is_staff)
SELECT pr.community_id, pr.period,
       avg(CASE WHEN f.member_id IS NULL THEN 0.0 ELSE 1.0 END) AS value, count(*)::DOUBLE AS n
FROM present pr
LEFT JOIN (SELECT DISTINCT community_id, period, member_id FROM flag) f
  ON f.community_id = pr.community_id AND f.period = pr.period AND f.member_id = pr.member_id
GROUP BY pr.community_id, pr.period""",
    "referral_rate": """
WITH flag AS (
SELECT community_id, period, member_id FROM flow_pm WHERE referrals > 0 AND NOT is_staff)
SELECT pr.community_id, pr.period,
       avg(CASE WHEN f.member_id IS NULL THEN 0.0 ELSE 1.0 END) AS value, count(*)::DOUBLE AS n
FROM present pr
LEFT JOIN (SELECT DISTINCT community_id, period, member_id FROM flag) f
  ON f.community_id = pr.community_id AND f.period = pr.period AND f.member_id = pr.member_id
GROUP BY pr.community_id, pr.period""",
    "checkin_rate": """
WITH c AS (
  SELECT DISTINCT p.community_id, p.period, e.member_id,
         CAST(CAST(floor((epoch_us(p.p_end) - epoch_us(e.ts)) / 86400000000) AS BIGINT) AS INTEGER) AS d
  FROM periods p JOIN ev_rare e ON e.community_id = p.community_id AND e.event_type = 'checkin'
    AND e.ts > p.p_end - INTERVAL '30 days' AND e.ts <= p.p_end),
k AS (
  SELECT c.community_id, c.period, count(*) AS k FROM c
  JOIN present pr ON pr.community_id = c.community_id AND pr.period = c.period AND pr.member_id = c.member_id
  GROUP BY c.community_id, c.period),
ritual AS (
  SELECT DISTINCT p.community_id, p.period FROM periods p
  JOIN ev_rare e ON e.community_id = p.community_id AND e.event_type = 'checkin' AND e.ts <= p.p_end),
m AS (SELECT community_id, period, count(*) AS n FROM present GROUP BY community_id, period)
SELECT r.community_id, r.period, coalesce(k.k, 0) / (m.n * 30.0) AS value, CAST(m.n AS DOUBLE) AS n
FROM ritual r JOIN m ON m.community_id = r.community_id AND m.period = r.period
LEFT JOIN k ON k.community_id = r.community_id AND k.period = r.period""",
    "members": """
SELECT p.community_id, p.period, count(pr.member_id)::DOUBLE AS value
FROM periods p LEFT JOIN present pr ON pr.community_id = p.community_id AND pr.period = p.period
GROUP BY p.community_id, p.period""",
    "revenue_per_member": """
SELECT p.community_id, p.period, coalesce(a.amount, 0) / nullif(coalesce(m.n, 0), 0) AS value,
       coalesce(m.n, 0)::DOUBLE AS n
FROM periods p
LEFT JOIN (SELECT community_id, period, CAST(sum(amount) AS DOUBLE) AS amount FROM flow_pm WHERE NOT is_staff
           GROUP BY community_id, period) a ON a.community_id = p.community_id AND a.period = p.period
LEFT JOIN (SELECT community_id, period, count(*) AS n FROM present GROUP BY community_id, period) m
  ON m.community_id = p.community_id AND m.period = p.period""",
    "event_attendance_rate": """
WITH
evdays AS (
  SELECT community_id, period, d,
         count(DISTINCT member_id) FILTER (WHERE event_type = 'event_attend' AND NOT is_staff) AS a
  FROM (SELECT p.community_id, p.period, CAST(floor(epoch_us(e.ts) / 86400000000) AS BIGINT) AS d,
               e.member_id, e.event_type, e.is_staff
        FROM periods p JOIN ev_rare e ON e.community_id = p.community_id
          AND e.event_type IN ('event', 'event_attend') AND e.ts > p.p_start AND e.ts <= p.p_end) AS x
  GROUP BY community_id, period, d
  HAVING count(*) FILTER (WHERE event_type = 'event') > 0
      OR count(DISTINCT member_id) FILTER (WHERE event_type = 'event_attend' AND NOT is_staff) >= 3),
m AS (SELECT community_id, period, count(*) AS n FROM present GROUP BY community_id, period)
SELECT x.community_id, x.period, sum(x.a) / (count(*) * max(m.n)) AS value, CAST(max(m.n) AS DOUBLE) AS n
FROM evdays x JOIN m ON m.community_id = x.community_id AND m.period = x.period
GROUP BY x.community_id, x.period""",
    "lurker_share": """
WITH fc AS (
  SELECT community_id, member_id, first_content FROM content_first)
SELECT pr.community_id, pr.period,
  avg(CASE WHEN fc.first_content IS NULL OR fc.first_content > p.p_end THEN 1.0 ELSE 0.0 END) AS value,
  count(*)::DOUBLE AS n
FROM present pr JOIN periods p ON p.community_id = pr.community_id AND p.period = pr.period
LEFT JOIN fc ON fc.community_id = pr.community_id AND fc.member_id = pr.member_id
GROUP BY pr.community_id, pr.period""",
}


def _chinese(ds: Dataset) -> Dataset:
    """``ds`` with Chinese community and member ids (the same member ids in several communities) and amounts in
    cents."""
    names = {"k1": "社群甲", "k2": "社群乙", "k3": "读书会·丙"}

    def member(s: pd.Series) -> pd.Series:
        return s.str.replace("ghost", "幽灵", regex=False).str.replace("m", "成员", regex=False)

    com = ds.communities.assign(community_id=ds.communities["community_id"].map(names).astype("string"))
    mem = ds.members.assign(community_id=ds.members["community_id"].map(names).astype("string"),
                            member_id=member(ds.members["member_id"]))
    ev = ds.events.assign(community_id=ds.events["community_id"].map(names).astype("string"),
                          member_id=member(ds.events["member_id"]),
                          target_member_id=member(ds.events["target_member_id"]),
                          amount=ds.events["amount"] / 10 + 0.01)  # cents: a float sum is not exact
    return Dataset(com, mem, ev)


def _with_core(ds: Dataset, as_of: pd.Timestamp) -> Dataset:
    """``ds`` plus two core members per community (content in each of the 4 weeks before ``as_of``) who reply and
    check in."""
    day = pd.Timedelta(days=1)
    mem, ev = [], []
    for c in ds.communities["community_id"]:
        for i in range(2):
            m = f"核心{i}"
            mem.append((c, m, as_of - 100 * day, pd.NaT, "member", m, "invite"))
            ev += [(c, m, as_of - d * day, "message") for d in (1, 8, 15, 22)]
            ev += [(c, m, as_of - 2 * day, "reply"), (c, m, as_of - 40 * day, "reply")]
            ev += [(c, m, as_of - d * day, "checkin") for d in (0, 3, 29)]
    mem = pd.DataFrame(mem, columns=["community_id", "member_id", "joined_at", "left_at", "role", "display_name",
                                     "join_channel"])
    mem["left_at"] = pd.to_datetime(mem["left_at"], utc=True)
    ev = pd.DataFrame(ev, columns=["community_id", "member_id", "ts", "event_type"])
    strings = {c: "string" for c in ("community_id", "member_id", "role", "display_name", "join_channel", "event_type")}
    mem = mem.astype({c: t for c, t in strings.items() if c in mem})
    ev = ev.astype({c: t for c, t in strings.items() if c in ev})
    return Dataset(ds.communities, pd.concat([ds.members, mem], ignore_index=True),
                   pd.concat([ds.events, ev], ignore_index=True))


@pytest.fixture(scope="module")
def template(samples_dir) -> pd.DataFrame:
    return pd.read_csv(samples_dir / "communities.csv", dtype="string")


@pytest.mark.parametrize(("seed", "window"), [(0, "month"), (1, "week"), (3, "month")])
def test_segment_flow_equals_the_grouping_by_period(seed, window, template):
    ds, as_of = tied_case(seed, template)
    ds = _with_core(_chinese(ds), as_of)
    eng = DuckDBEngine()
    con = eng.connect()
    try:
        v = eng.register_tables(con, communities=ds.communities, members=ds.members, events=ds.events)
        start = _last_days_start({"last_days": 30}, ds.communities, as_of)
        sets = [engine_periods(lambda q: con.execute(q).df(), v, as_of=as_of, window=w, start=st)
                for w, st in ((window, None), (None, None), (None, start))]
        periods = _union_sets(sets)
        con.register("periods", periods)
        created = con.execute(f"SELECT max(created_at) FROM {v['communities']}").fetchone()[0]
        statements = prelude_statements(v, periods, created, by_segment=True)
        by_period = prelude_statements(v, periods, created)
        assert any("TEMP TABLE seg_flow" in s for s in statements)
        assert not any("seg_flow" in s for s in by_period)
        eager, pending = split_prelude(statements)
        for stmt in eager:
            con.execute(stmt)
        ctx = MetricContext(con, Tables(ds.communities, ds.members, ds.events), periods, None, pending=pending)
        q = lambda sql: _sorted(ctx.query(sql))  # noqa: E731
        got = {"flow_pm": q("SELECT * EXCLUDE (pk) FROM flow_pm"), "platform_pm": q("SELECT * FROM platform_pm"),
               "main_platform_share": q(get_metric("main_platform_share").sql)}
        n_segments = con.execute("SELECT count(*) FROM period_segs").fetchone()[0]
        # each table's pk is its period's key; the joins on it equal the joins on the strings
        ctx.ensure("recent_pm content_counts present_recent")
        keyed = {t: con.execute(f"SELECT count(*), count(*) FILTER (WHERE p.pk IS NULL OR p.community_id <> "
                                f"x.community_id OR p.period <> x.period) FROM {t} x "
                                "LEFT JOIN period_keys p ON p.pk = x.pk").fetchone()
                 for t in ("present", "flow_pm", "recent_pm", "present_recent")}
        keyed_sql = {"content_counts": "SELECT * FROM content_counts",
                     "present_recent": "SELECT * EXCLUDE (pk) FROM present_recent",
                     **{m: get_metric(m).sql for m in ("core_reply_share", "buyer_share", "referral_rate",
                                                       "checkin_rate", "members", "revenue_per_member",
                                                       "event_attendance_rate", "lurker_share")}}
        shares = ("active_share_7d", "active_share_30d", "core_share", "zombie_share")  # present_recent by pk
        keyed_sql.update({m: get_metric(m).sql for m in shares})
        former_sql = {**_FORMER_JOINS, **{m: _FORMER_SHARES[m] for m in shares}}
        joins = {name: (q(keyed_sql[name]), q(sql)) for name, sql in former_sql.items()}
        want = {"flow_pm": q(_OLD_FLOW), "platform_pm": q(_OLD_PLATFORM_PM), "main_platform_share": q(_OLD_PLATFORM)}
        # the former flow_pm statement (by period) of the same prelude, and the segment one with the period keys in
        # another order than the labels: the key must be joined back, not taken for the label
        con.execute(next(s for s in by_period if "TEMP TABLE flow_pm" in s).replace(
            "TEMP TABLE flow_pm", "TEMP TABLE flow_by_period"))
        former = q("SELECT * EXCLUDE (pk) FROM flow_by_period")
        con.execute("CREATE OR REPLACE TEMP TABLE period_keys AS SELECT CAST(row_number() OVER "
                    "(ORDER BY community_id DESC, period DESC) AS INTEGER) AS pk, community_id, period, p_start, p_end "
                    "FROM periods")
        con.execute(next(s for s in statements if "TEMP TABLE flow_pm" in s))
        again = q("SELECT * EXCLUDE (pk) FROM flow_pm")
        # wrong rewrites the data must catch: a segment's lower bound inclusive, a period's segments one too many
        seg = next(s for s in statements if "TEMP TABLE seg_flow" in s)
        con.execute(seg.replace("TEMP TABLE seg_flow", "TEMP TABLE seg_wrong").replace("e.ts > s.lo", "e.ts >= s.lo"))
        flow = next(s for s in statements if "TEMP TABLE flow_pm" in s)
        wrong_bound = q(flow.replace("CREATE OR REPLACE TEMP TABLE flow_pm AS", "").replace("seg_flow", "seg_wrong"))
        wrong_span = q(flow.replace("CREATE OR REPLACE TEMP TABLE flow_pm AS", "").replace(
            "s.lo >= p.p_start", "s.hi >= p.p_start"))
    finally:
        con.close()
    assert len(periods) > periods["community_id"].nunique() * 3
    assert n_segments < len(periods) + 2 * periods["community_id"].nunique()
    for name, frame in want.items():
        assert len(frame) >= 5 and frame.iloc[:, -1].notna().any(), name
        pd.testing.assert_frame_equal(got[name], frame, check_exact=True, obj=name)
    pd.testing.assert_frame_equal(former, want["flow_pm"], check_exact=True)
    pd.testing.assert_frame_equal(again, want["flow_pm"], check_exact=True)
    flows = want["flow_pm"]
    assert flows["amount"].notna().any() and flows["is_staff"].any()
    assert flows["community_id"].str.startswith("社群").any() and flows["member_id"].str.startswith("成员").any()
    assert want["platform_pm"]["platform"].isna().any() and want["platform_pm"]["platform"].notna().any()
    for table, (rows, wrong) in keyed.items():
        assert rows >= 5 and wrong == 0, (table, rows, wrong)
    for name, (got_join, want_join) in joins.items():
        assert len(want_join) >= 5 and want_join.iloc[:, -1].notna().any(), name
        pd.testing.assert_frame_equal(got_join, want_join, check_exact=True, obj=name)
    # some present member counted in each
    for name in ("core_reply_share", "checkin_rate", "buyer_share", "referral_rate", "members", "revenue_per_member",
                 "event_attendance_rate", "lurker_share", "active_share_7d", "core_share", "zombie_share"):
        assert joins[name][1]["value"].gt(0).any(), name
    assert not wrong_bound.equals(flows), "the data hold no event on a segment's bound"
    assert not wrong_span.equals(flows), "a period with one segment too many changes nothing"
