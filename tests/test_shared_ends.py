"""``recent_pm`` grouped once per community and period end: periods of a one-pass run ending at the same instant
(the whole span and the last 30 days both end at the as-of) share it, with the same rows as the former SQL (one
grouping per period, over ``act``) on random communities with events on the windows' bounds."""

from __future__ import annotations

import pandas as pd
import pytest

from commlab.analysis.metrics import MetricContext, Tables, engine_periods, prelude_statements, split_prelude
from commlab.engines import DuckDBEngine
from commlab.engines.duck import _union_sets
from test_prelude_rewrites import _OLD_RECENT, tied_case


@pytest.fixture(scope="module")
def template(samples_dir) -> pd.DataFrame:
    return pd.read_csv(samples_dir / "communities.csv", dtype="string")


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns[:3])).reset_index(drop=True)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_recent_pm_of_three_period_sets_equals_the_former_sql(seed, template):
    ds, as_of = tied_case(seed, template)
    eng = DuckDBEngine()
    con = eng.connect()
    try:
        v = eng.register_tables(con, communities=ds.communities, members=ds.members, events=ds.events)
        sets = [engine_periods(lambda q: con.execute(q).df(), v, as_of=as_of, window=w, start=st)
                for w, st in (("month", None), (None, None), (None, as_of - pd.Timedelta(days=30)))]
        periods = _union_sets(sets)
        con.register("periods", periods)
        eager, pending = split_prelude(prelude_statements(v))
        for stmt in eager:
            con.execute(stmt)
        ctx = MetricContext(con, Tables(ds.communities, ds.members, ds.events), periods, None, pending=pending)
        got = _sorted(ctx.query("SELECT * EXCLUDE (pk) FROM recent_pm"))
        want = _sorted(ctx.query(_OLD_RECENT.format(days=30)))
        wrong = _sorted(ctx.query(_OLD_RECENT.format(days=30).replace("e.ts > p.p_end", "e.ts >= p.p_end")))
        ends = ctx.query("SELECT community_id, p_end, count(*) AS n FROM periods GROUP BY 1, 2")
    finally:
        con.close()
    assert (ends["n"] >= 2).sum() == ds.communities["community_id"].nunique()  # the as-of ends two periods each
    assert len(want) >= 10 and want["period"].str.contains("all").any()
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert not wrong.equals(want)  # the data hold events on the windows' bounds
