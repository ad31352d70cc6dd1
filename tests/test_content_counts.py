"""The participation-inequality metrics read ``content_counts`` (members per content count, grouped once in the
prelude) instead of grouping ``content_pm`` (one row per present member, materialised) once per metric. Oracle: the
former prelude statement and the former counts, frozen below, in the same connection; seeded random communities over
months, the whole span and the last 30 days, with events on the period bounds and 1 us around them."""

from __future__ import annotations

import pandas as pd
import pytest

from commlab.analysis.compute import connect
from commlab.analysis.metrics import MetricContext, as_tables, get_metric, make_periods
from commlab.analysis.metrics_sql import _CONTENT_COUNTS
from commlab.engines.duck import _union_sets
from test_random_parity import random_case

_FORMER_CONTENT_PM = """
CREATE OR REPLACE TEMP TABLE content_pm AS
  SELECT pr.community_id, pr.period, pr.member_id, CAST(coalesce(f.content, 0) AS DOUBLE) AS x
  FROM present pr
  LEFT JOIN flow_pm f ON f.community_id = pr.community_id AND f.period = pr.period AND f.member_id = pr.member_id
"""
_FORMER_COUNTS = ("d AS (SELECT community_id, period, x, count(*) AS c FROM content_pm "
                  "GROUP BY community_id, period, x)")
IDS = ["gini_content", "content_share_top1", "content_share_next9", "content_share_rest"]


@pytest.fixture(scope="module")
def template(samples_dir) -> pd.DataFrame:
    return pd.read_csv(samples_dir / "communities.csv", dtype="string")


@pytest.mark.parametrize("seed", range(5))
def test_inequality_metrics_equal_the_former_counts(seed, template):
    """Every value and group size equal the former path's, bit for bit; the counts themselves too."""
    ds, as_of = random_case(seed, template)
    t = as_tables(ds)
    sets = [make_periods(t.communities, as_of=as_of, window="month"), make_periods(t.communities, as_of=as_of,
                                                                                     window=None),
            make_periods(t.communities, as_of=as_of, window=None, start=as_of - pd.Timedelta(days=30))]
    con = connect(t, _union_sets(sets), materialize_events=False)
    try:
        ctx = MetricContext(con, t, _union_sets(sets), None)
        new = {i: ctx.query(get_metric(i).sql) for i in IDS}
        counts = ctx.query("SELECT * FROM content_counts")
        con.execute(_FORMER_CONTENT_PM)
        old = {i: ctx.query(get_metric(i).sql.replace(_CONTENT_COUNTS, _FORMER_COUNTS)) for i in IDS}
        former = ctx.query(f"WITH {_FORMER_COUNTS} SELECT * FROM d")
    finally:
        con.close()
    key = ["community_id", "period", "x"]
    pd.testing.assert_frame_equal(counts.sort_values(key).reset_index(drop=True),
                                  former.sort_values(key).reset_index(drop=True))
    assert (counts["x"] == 0).any() and (counts["x"] > 0).any()
    for i in IDS:
        a = new[i].sort_values(["community_id", "period"]).reset_index(drop=True)
        b = old[i].sort_values(["community_id", "period"]).reset_index(drop=True)
        assert a["value"].notna().sum() > 0
        pd.testing.assert_frame_equal(a, b, check_exact=True)
