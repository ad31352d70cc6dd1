"""kcore_stability per community and period (the Spark engine's path), without Spark: the same values.

On Spark the cores of ``kcore_stability`` are computed by :meth:`MetricContext.per_group` on the executors
(``applyInPandas``), not from edge lists collected to the driver (at 5 M events those did not fit a driver of
1 GB). The per-group function and the query it reads are plain SQL and pandas: run here through the DuckDB
context's own ``per_group`` (the rows come to this process), they must give DuckDB's values exactly. The Spark
run itself is compared in tests/test_spark.py (``test_metrics_spark_monthly_windows``).
"""

from __future__ import annotations

import numpy as np

from commlab.analysis.metrics import MetricContext
from commlab.data import load_dataset
from commlab.engines import DuckDBEngine

AS_OF = "2024-06-30T16:00:00Z"


def test_kcore_stability_per_group_equals_the_collected_cores(samples_dir, monkeypatch):
    ds = load_dataset(samples_dir)
    want = DuckDBEngine().compute_metrics(ds, as_of=AS_OF, window="month", metrics=["kcore_stability"])
    calls = []
    original = MetricContext.per_group

    def counted(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        calls.append(len(out))
        return out

    monkeypatch.setattr(MetricContext, "dialect", "spark")  # the Spark engine's branch, on DuckDB
    monkeypatch.setattr(MetricContext, "per_group", counted)
    got = DuckDBEngine().compute_metrics(ds, as_of=AS_OF, window="month", metrics=["kcore_stability"])
    monkeypatch.undo()
    # one result row per community and period with edges: aggregates, not edge lists
    assert len(calls) == 1 and 0 < calls[0] <= len(want)
    assert want["value"].notna().sum() >= 20 and want["value"].nunique() >= 10
    j = want.merge(got, on=["community_id", "period", "metric_id"], suffixes=("_collected", "_per_group"))
    assert len(j) == len(want)
    np.testing.assert_allclose(j["value_per_group"], j["value_collected"], rtol=0, atol=0, equal_nan=True)
