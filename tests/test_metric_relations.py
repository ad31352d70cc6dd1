"""Tables several metrics share (:data:`commlab.analysis.metrics.RELATIONS`): built once per call, when first named.

The six response metrics read ``post_responses`` and the three retention metrics ``newcomer_activity``; each used to
compute its table in a query of its own. ``repeat_purchase_rate`` finds each buyer's first purchase on a later day
than their first instead of counting the distinct days per buyer and period, and ``core_reply_share`` reads the
replies counted in ``flow_pm`` instead of the events; the oracles below are their former SQL.
"""

from __future__ import annotations

import pandas as pd
import pytest

from commlab.analysis.compute import compute_metrics
from commlab.analysis.daymask import day_number
from commlab.analysis.metrics import (
    RELATIONS,
    MetricContext,
    Tables,
    created_name,
    engine_periods,
    get_metric,
    prelude_statements,
    register_relation,
    split_prelude,
)
from commlab.data import load_dataset
from commlab.engines import DuckDBEngine
from commlab.engines.transpile import to_dialect
from commlab.errors import InvalidArgument

AS_OF = "2024-06-30T16:00:00Z"
RESPONSE = ["response_rate", "response_rate_staff", "response_rate_members", "median_first_response_hours",
            "median_first_response_hours_staff", "median_first_response_hours_members"]
RETENTION = ["retention_30d", "retention_60d", "retention_90d"]

#: repeat_purchase_rate as it was: the distinct purchase days of each buyer by the period end, counted per period.
_ORACLE_REPEAT = f"""
WITH b AS (
  SELECT f.community_id, f.period, p.p_end, f.member_id FROM flow_pm f
  JOIN periods p ON p.community_id = f.community_id AND p.period = f.period
  WHERE f.purchases > 0 AND NOT f.is_staff)
SELECT community_id, period,
  avg(CASE WHEN (SELECT count(DISTINCT {day_number("e.ts")}) FROM ev_rare e
                 WHERE e.community_id = b.community_id AND e.member_id = b.member_id
                 AND e.event_type = 'purchase' AND e.ts <= b.p_end) >= 2 THEN 1.0 ELSE 0.0 END) AS value,
  count(*)::DOUBLE AS n
FROM b GROUP BY community_id, period
"""


@pytest.fixture(scope="module")
def samples_ds(samples_dir):
    return load_dataset(samples_dir)


def _oracle_retention(n: int) -> str:
    """retention_<n>d as it was: a look-up of each cohort member's events of its own."""
    return f"""
WITH coh AS (
  SELECT p.community_id, p.period, r.member_id, r.joined_at FROM periods p
  JOIN roles r ON r.community_id = p.community_id
  WHERE NOT r.is_staff AND r.joined_at > p.p_end - INTERVAL '{n + 30} days'
    AND r.joined_at <= p.p_end - INTERVAL '{n} days')
SELECT community_id, period,
  avg(CASE WHEN EXISTS (SELECT 1 FROM act e WHERE e.community_id = coh.community_id
        AND e.member_id = coh.member_id AND e.ts > coh.joined_at + INTERVAL '{n - 30} days'
        AND e.ts <= coh.joined_at + INTERVAL '{n} days') THEN 1.0 ELSE 0.0 END) AS value,
  count(*)::DOUBLE AS n
FROM coh GROUP BY community_id, period
"""


_CORE = " + ".join(f"CAST(((f.content_days >> {7 * w}) & 127) <> 0 AS INTEGER)" for w in range(4)) + " >= 3"
#: core_reply_share as it was: every reply of the period read from the events.
_ORACLE_CORE_REPLY = f"""
WITH core AS (
  SELECT f.community_id, f.period, f.member_id FROM recent_pm f
  JOIN present pr ON pr.community_id = f.community_id AND pr.period = f.period AND pr.member_id = f.member_id
  WHERE {_CORE})
SELECT p.community_id, p.period, avg(CASE WHEN c.member_id IS NULL THEN 0.0 ELSE 1.0 END) AS value,
       CAST(count(DISTINCT c.member_id) AS DOUBLE) AS n
FROM periods p JOIN ev e ON e.community_id = p.community_id AND e.event_type = 'reply' AND NOT e.is_bot
  AND e.ts > p.p_start AND e.ts <= p.p_end
LEFT JOIN core c ON c.community_id = p.community_id AND c.period = p.period AND c.member_id = e.member_id
GROUP BY p.community_id, p.period
"""

ORACLES = {"repeat_purchase_rate": _ORACLE_REPEAT, **{f"retention_{n}d": _oracle_retention(n) for n in (30, 60, 90)},
           "core_reply_share": _ORACLE_CORE_REPLY}


def test_the_shared_tables_are_registered_and_run_on_spark_too():
    get_metric("response_rate")  # the built-in metrics, with their tables, are registered on first use
    assert {"post_responses", "newcomer_activity"} <= set(RELATIONS)
    for name, stmt in RELATIONS.items():
        assert created_name(stmt) == name
        assert to_dialect(stmt, "spark")
    with pytest.raises(InvalidArgument, match="post_responses"):
        register_relation("post_responses", "SELECT 1")


def test_each_shared_table_is_built_once_per_call(samples_ds, monkeypatch):
    built: list[str] = []
    execute = MetricContext.execute

    def spy(self, stmt):
        if stmt.lstrip().upper().startswith("CREATE"):
            built.append(created_name(stmt))
        return execute(self, stmt)

    monkeypatch.setattr(MetricContext, "execute", spy)
    both = compute_metrics(samples_ds, as_of=AS_OF, window="month", metrics=RESPONSE + RETENTION)
    assert built.count("post_responses") == 1 and built.count("newcomer_activity") == 1
    assert both["value"].notna().sum() > 0
    # only what a call names is built
    built.clear()
    compute_metrics(samples_ds, as_of=AS_OF, window="month", metrics=["members"])
    assert not {"post_responses", "newcomer_activity"} & set(built)
    # each metric alone gives the same values as in the call sharing the table
    for mid in ("response_rate_members", "retention_60d"):
        alone = compute_metrics(samples_ds, as_of=AS_OF, window="month", metrics=[mid])
        pd.testing.assert_frame_equal(alone.reset_index(drop=True),
                                      both[both["metric_id"] == mid].reset_index(drop=True), check_exact=True)


@pytest.mark.parametrize("window", ["month", "week", None])
def test_repeat_purchases_and_retention_equal_their_former_definitions(samples_ds, window):
    eng = DuckDBEngine()
    con = eng.connect()
    try:
        v = eng.register_tables(con, communities=samples_ds.communities, members=samples_ds.members,
                                events=samples_ds.events)
        periods = engine_periods(lambda q: con.execute(q).df(), v, as_of=AS_OF, window=window)
        con.register("periods", periods)
        eager, pending = split_prelude(prelude_statements(v))
        for stmt in eager:
            con.execute(stmt)
        ctx = MetricContext(con, Tables(samples_ds.communities, samples_ds.members, samples_ds.events), periods,
                            window, pending=pending)
        keys = ["community_id", "period"]
        pairs = {m: (ctx.query(get_metric(m).sql).sort_values(keys).reset_index(drop=True),
                     ctx.query(oracle).sort_values(keys).reset_index(drop=True)) for m, oracle in ORACLES.items()}
    finally:
        con.close()
    for metric, (got, want) in pairs.items():
        assert len(want) > 3 and want["value"].between(0.01, 0.99).any(), metric
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=metric)
