"""The metric prelude keeps no copy of the events: ``ev`` is a view read in place, and every table it
builds (``flow_pm``, ``ev_rare``, ``member_firsts``, ...) is an aggregate or a small selection."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import commlab.analysis.metrics as metrics
from commlab.analysis.compute import compute_metrics
from health_data import samples_dataset


def test_metric_pass_builds_no_event_level_table(monkeypatch: pytest.MonkeyPatch):
    """A whole metric pass (every metric but the network's) over the samples: each table the prelude
    creates holds fewer rows than a fifth of the events (``ev`` built as a table, a copy of every event,
    fails this), and the values equal those of the same pass with ``ev`` built as a table."""
    ds = samples_dataset()
    n_events = len(ds.events)
    ids = [m.id for m in metrics.list_metrics() if m.group != "network"]
    sizes: dict[str, int] = {}
    real = metrics.MetricContext.execute

    def execute(ctx, stmt):
        real(ctx, stmt)
        if re.match(r"\s*CREATE\s+OR\s+REPLACE\s+TEMP\s+TABLE", stmt, re.IGNORECASE):
            name = metrics.created_name(stmt)
            sizes[name] = ctx.con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]

    monkeypatch.setattr(metrics.MetricContext, "execute", execute)
    got = compute_metrics(ds, as_of="2024-07-01", window="month", metrics=ids)
    assert {"flow_pm", "ev_rare", "member_firsts", "recent_pm"} <= set(sizes), sorted(sizes)
    prelude = {metrics.created_name(s) for s in metrics.prelude_statements(
        {"events": "e", "members": "m", "communities": "c"})}
    big = {k: v for k, v in sizes.items() if k in prelude and v >= n_events / 5}
    assert not big, (big, n_events)
    # the same pass with ev copied into a table, as before: the same values
    table = metrics.PRELUDE.replace("CREATE OR REPLACE TEMP VIEW ev AS", "CREATE OR REPLACE TEMP TABLE ev AS")
    assert table != metrics.PRELUDE
    monkeypatch.setattr(metrics, "PRELUDE", table)
    sizes.clear()
    want = compute_metrics(ds, as_of="2024-07-01", window="month", metrics=ids)
    assert sizes.get("ev") == n_events
    pd.testing.assert_frame_equal(got, want)
