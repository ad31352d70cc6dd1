"""``flow_pm`` and ``platform_pm`` from the period segments (``seg_flow``, the DuckDB engine's prelude) equal their
former SQL: the events joined to every period holding them and grouped by period.

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
from test_prelude_rewrites import _OLD_FLOW, _OLD_PLATFORM, _sorted, tied_case

#: The main platform's counts as they were in ``main_platform_share`` (its CTE ``k``), the oracle of ``platform_pm``.
_OLD_PLATFORM_PM = """
SELECT p.pk, e.platform, count(*) AS k
FROM period_keys p JOIN act e ON e.community_id = p.community_id AND NOT e.is_staff
  AND e.ts > p.p_start AND e.ts <= p.p_end
GROUP BY p.pk, e.platform
"""


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


@pytest.fixture(scope="module")
def template(samples_dir) -> pd.DataFrame:
    return pd.read_csv(samples_dir / "communities.csv", dtype="string")


@pytest.mark.parametrize(("seed", "window"), [(0, "month"), (1, "week"), (3, "month")])
def test_segment_flow_equals_the_grouping_by_period(seed, window, template):
    ds, as_of = tied_case(seed, template)
    ds = _chinese(ds)
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
        got = {"flow_pm": q("SELECT * FROM flow_pm"), "platform_pm": q("SELECT * FROM platform_pm"),
               "main_platform_share": q(get_metric("main_platform_share").sql)}
        n_segments = con.execute("SELECT count(*) FROM period_segs").fetchone()[0]
        want = {"flow_pm": q(_OLD_FLOW), "platform_pm": q(_OLD_PLATFORM_PM), "main_platform_share": q(_OLD_PLATFORM)}
        # the former flow_pm statement (by period) of the same prelude, and the segment one with the period keys in
        # another order than the labels: the key must be joined back, not taken for the label
        con.execute(next(s for s in by_period if "TEMP TABLE flow_pm" in s).replace(
            "TEMP TABLE flow_pm", "TEMP TABLE flow_by_period"))
        former = q("SELECT * FROM flow_by_period")
        con.execute("CREATE OR REPLACE TEMP TABLE period_keys AS SELECT CAST(row_number() OVER "
                    "(ORDER BY community_id DESC, period DESC) AS INTEGER) AS pk, community_id, period, p_start, p_end "
                    "FROM periods")
        con.execute(next(s for s in statements if "TEMP TABLE flow_pm" in s))
        again = q("SELECT * FROM flow_pm")
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
    assert not wrong_bound.equals(flows), "the data hold no event on a segment's bound"
    assert not wrong_span.equals(flows), "a period with one segment too many changes nothing"
