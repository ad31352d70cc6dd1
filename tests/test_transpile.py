"""Every feature and metric SQL definition is writable for Spark by sqlglot (no Spark needed)."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("sqlglot", reason="sqlglot is not installed (pip install sqlglot)")

from commlab.analysis.features import features_sql  # noqa: E402
from commlab.analysis.metrics import list_metrics, prelude_statements  # noqa: E402
from commlab.engines.duck import bind_as_of  # noqa: E402
from commlab.engines.transpile import TranspileError, to_dialect  # noqa: E402


def test_features_sql_transpiles_with_the_utc_and_epoch_rewrites():
    sql = bind_as_of(features_sql("c_events", "c_members"), pd.Timestamp("2024-07-01", tz="UTC"))
    (out,) = to_dialect(sql, "spark")
    assert "TIMEZONE(" not in out.upper()          # timezone('UTC', ts) -> ts in UTC sessions
    assert "UNIX_TIMESTAMP" not in out.upper()     # epoch() keeps its fraction: unix_micros / 1e6
    assert "UNIX_MICROS" in out.upper()


@pytest.mark.parametrize("metric", [m for m in list_metrics() if m.sql is not None], ids=lambda m: m.id)
def test_metric_sql_transpiles(metric):
    assert to_dialect(metric.sql, "spark")


def test_prelude_transpiles():
    stmts = prelude_statements({"communities": "c_communities", "members": "c_members", "events": "c_events"})
    # communities, roles, staff, ev, act, ev_raw, present, period_keys, flow_pm, platform_pm, content_counts,
    # recent_pm, ev_rare, member_keys, member_firsts, content_first, ev_first3d, ev_first365d, day_counts
    assert len(stmts) == 19
    out = to_dialect(";".join(stmts), "spark")
    assert len(out) == 19 and "day_counts" in out[-1]


def test_decimal_literals_become_double_on_spark():
    (out,) = to_dialect("SELECT avg(CASE WHEN x THEN 1.0 ELSE 0.0 END) FROM t", "spark")
    assert out.count("AS DOUBLE") == 2


def test_epoch_us_becomes_unix_micros_on_spark():
    from commlab.analysis.daymask import days_between

    (out,) = to_dialect(f"SELECT {days_between('a', 'b')} FROM t", "spark")
    assert "UNIX_MICROS(B) - UNIX_MICROS(A)" in out.upper() and "EPOCH_US" not in out.upper()


def test_unreadable_sql_raises_project_error():
    with pytest.raises(TranspileError):
        to_dialect("SELECT (((", "spark")


def test_on_demand_prelude_tables_are_split_off():
    from commlab.analysis.metrics import ON_DEMAND, created_name, split_prelude

    stmts = prelude_statements({"communities": "c_communities", "members": "c_members", "events": "c_events"})
    eager, pending = split_prelude(stmts)
    assert [created_name(s) for s in eager] == ["communities", "roles", "staff", "period_keys", "present"]
    assert ON_DEMAND == ("ev", "act", "ev_raw", "seg_flow", "flow_pm", "platform_pm", "content_counts", "recent_pm",
                         "ev_rare", "member_keys", "member_firsts", "content_first", "ev_first3d", "ev_first365d",
                         "day_counts")
    assert tuple(pending) == tuple(n for n in ON_DEMAND if n != "seg_flow")  # seg_flow: DuckDB's by_segment only
    views = {"communities": "c_communities", "members": "c_members", "events": "c_events"}
    eager, pending = split_prelude(prelude_statements(views, by_segment=True))
    assert [created_name(s) for s in eager] == ["communities", "roles", "staff", "period_keys", "present",
                                                "period_segs"]
    assert tuple(pending) == ON_DEMAND
