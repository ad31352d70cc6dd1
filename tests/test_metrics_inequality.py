"""The inequality metrics rank the distinct content counts, and equal a ranking of every member bit for bit.

So does ``contributor_absence_factor`` (the fewest contributors with half the content), over ``flow_pm``.

``gini_content`` and ``content_share_*`` read the prelude's ``content_counts`` (present members per content count,
:mod:`commlab.analysis.metrics_sql`); the oracle below is their former SQL, which numbered every member with
``row_number()`` (ties by member id). Random counts with many ties and zeros, a period without content, periods of
one and of two members.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from commlab.analysis.metrics import get_metric

#: The former definitions: every member ranked (ties by id).
_ORACLE_GINI = """
WITH r AS (SELECT *, row_number() OVER (PARTITION BY community_id, period ORDER BY x, member_id) AS i,
                  count(*) OVER (PARTITION BY community_id, period) AS n FROM content_pm)
SELECT community_id, period,
  CASE WHEN sum(x) > 0 THEN 2.0 * sum(i * x) / (max(n) * sum(x)) - (max(n) + 1.0) / max(n) END AS value,
  max(n)::DOUBLE AS n
FROM r GROUP BY community_id, period
"""
_ORACLE_TIER = """
WITH r AS (SELECT *, row_number() OVER (PARTITION BY community_id, period ORDER BY x DESC, member_id) AS rk,
                  count(*) OVER (PARTITION BY community_id, period) AS n FROM content_pm)
SELECT community_id, period,
  CASE WHEN sum(x) > 0 THEN coalesce(sum(x) FILTER (WHERE {cond}), 0) / sum(x) END AS value,
  count(*) FILTER (WHERE {cond})::DOUBLE AS n
FROM r GROUP BY community_id, period
"""
_ORACLE_CAF = """
WITH c AS (
  SELECT community_id, period, member_id, content::DOUBLE AS x FROM flow_pm WHERE content > 0 AND NOT is_bot),
r AS (SELECT *,
  sum(x) OVER (PARTITION BY community_id, period ORDER BY x DESC, member_id ROWS UNBOUNDED PRECEDING) AS cum,
  sum(x) OVER (PARTITION BY community_id, period) AS tot,
  row_number() OVER (PARTITION BY community_id, period ORDER BY x DESC, member_id) AS rk FROM c)
SELECT community_id, period, min(rk) FILTER (WHERE 2 * cum >= tot)::DOUBLE AS value
FROM r GROUP BY community_id, period
"""
_TIERS = {"content_share_top1": "rk <= ceil(0.01 * n)",
          "content_share_next9": "rk > ceil(0.01 * n) AND rk <= ceil(0.10 * n)",
          "content_share_rest": "rk > ceil(0.10 * n)"}


@pytest.fixture(scope="module")
def con():
    rng = np.random.default_rng(7)
    rows = []
    for c in range(6):
        for p, size in enumerate((1, 2, 37, 250, 1999)):
            # heavy-tailed counts: most members 0, a few large, many ties
            x = np.where(rng.random(size) < 0.6, 0, rng.zipf(1.7, size).clip(max=5000))
            if (c, p) == (0, 2):
                x[:] = 0  # a period without content: the values are NULL, n is the members
            rows += [(f"c{c}", f"2024-{p + 1:02d}", f"m{rng.integers(10**9):09d}-{i}", float(v))
                     for i, v in enumerate(x)]
    con = duckdb.connect()
    con.register("rows_", pd.DataFrame(rows, columns=["community_id", "period", "member_id", "x"]))
    con.execute("CREATE TABLE content_pm AS SELECT * FROM rows_")
    # what the metrics read: the prelude's members per content count
    con.execute("CREATE TABLE content_counts AS SELECT community_id, period, x, count(*) AS c FROM content_pm "
                "GROUP BY ALL")
    # the period's members (flow_pm: content > 0 for most, with many small ties), a few of them bots
    con.execute("CREATE TABLE flow_pm AS SELECT community_id, period, member_id, "
                "CAST(x AS BIGINT) + CAST(hash(member_id) % 4 AS BIGINT) AS content, "
                "hash(member_id) % 20 = 0 AS is_bot FROM rows_")
    yield con
    con.close()


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[["community_id", "period", "value", "n"]].sort_values(["community_id", "period"])
    return out.reset_index(drop=True).astype({"value": "float64", "n": "float64"})


@pytest.mark.parametrize("metric", ["gini_content", *_TIERS])
def test_the_distribution_gives_the_values_of_a_ranking_of_every_member(con, metric):
    oracle = _ORACLE_GINI if metric == "gini_content" else _ORACLE_TIER.format(cond=_TIERS[metric])
    want = _sorted(con.execute(oracle).df())
    got = _sorted(con.execute(get_metric(metric).sql).df())
    assert len(want) == 30 and want["value"].isna().any() and want["value"].notna().sum() >= 20
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_the_contributor_absence_factor_is_the_rank_of_a_ranking_of_every_contributor(con):
    want = con.execute(_ORACLE_CAF).df().sort_values(["community_id", "period"]).reset_index(drop=True)
    got = con.execute(get_metric("contributor_absence_factor").sql).df()
    got = got.sort_values(["community_id", "period"]).reset_index(drop=True)
    assert len(want) >= 25 and want["value"].nunique() >= 5 and want["value"].max() > 10
    pd.testing.assert_frame_equal(got, want, check_exact=True)
