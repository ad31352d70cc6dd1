"""The demo playbook on Spark, end to end: aggregates only come back to the driver, and the numbers are DuckDB's.

One seeded small data set (the samples' generator at 5 % of the members: 12 communities, 611 members, ~40,000
events), the demo playbook run twice with ``commlab run``: on DuckDB (``playbooks/demo.yaml``) and on Spark in
local mode with 1 GB of driver memory (``playbooks/demo-spark.yaml``: notebooks 02-04 compute features, role
snapshots and metrics on Spark).

* **Collect spy.** The kernels of the Spark run start with a ``sitecustomize`` that wraps pyspark's
  ``DataFrame.toPandas``/``collect``/``toArrow`` and logs every call (rows, columns, whether its columns other
  than floats are unique per row, the step's folder), and ``StoredEvents.read`` (events read into pandas on the driver).
  The test fails on a Spark collect with event columns, with repeated keys (not one row per member, pair or
  community and period), or with half a row per event or more (the largest, the network's monthly pairs,
  9,224 rows for 39,953 events), and on any read of the stored events into pandas.
* **Equality.** Every number of the two ``summary.json`` files is equal: integers exactly, other numbers to a
  relative 1e-9 (absolute 1e-12 near zero). Both engines run the same SQL text in double precision; what may
  differ is only the order in which parallel aggregates add floating-point terms (DuckDB's threads, Spark's
  partitions): over n terms that moves a sum by at most about n x 2.2e-16 relatively (1e-11 for 40,000 events),
  usually 1e-16. 1e-9 admits the summation order and nothing a definition could get wrong (a day off, a
  boundary instant, a missing member moves a value by 1e-4 or more here). Texts, lists and keys must be equal.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, skip_unless_ci, spark_missing

pytestmark = [pytest.mark.spark, pytest.mark.notebook, pytest.mark.timeout(2400)]

#: Logged by the kernels of the Spark run (see the module docstring); installed with PYTHONPATH.
SPY = '''
import json, os

def _log(record):
    record.update(pid=os.getpid(), cwd=os.getcwd())
    with open(os.environ["COMMLAB_TEST_SPARK_SPY"], "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\\n")

def _install():
    try:
        from pyspark.sql.classic.dataframe import DataFrame
    except ImportError:
        from pyspark.sql.dataframe import DataFrame
    from commlab.data.stored import StoredEvents

    def spy(name):
        original = getattr(DataFrame, name)
        def wrapped(self, *args, **kwargs):
            out = original(self, *args, **kwargs)
            rows = out.num_rows if hasattr(out, "num_rows") else len(out)
            record = {"call": name, "rows": rows, "columns": list(self.columns)}
            if hasattr(out, "duplicated"):  # an aggregate has one row per key (its columns other than floats)
                keys = [c for c in out.columns if out[c].dtype.kind not in "fc"]
                record["keys"] = keys
                record["unique_keys"] = bool(keys) and not bool(out.duplicated(subset=keys).any())
            _log(record)
            return out
        return wrapped

    for name in ("toPandas", "collect", "toArrow"):
        setattr(DataFrame, name, spy(name))
    read = StoredEvents.read
    def read_spied(self, *args, **kwargs):
        out = read(self, *args, **kwargs)
        _log({"call": "StoredEvents.read", "rows": len(out), "columns": list(out.columns)})
        return out
    StoredEvents.read = read_spied

if os.environ.get("COMMLAB_TEST_SPARK_SPY"):
    _install()
'''

REL, ABS = 1e-9, 1e-12


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    reason = spark_missing()
    if reason is not None:
        skip_unless_ci(reason, under_ci="CI=true, so the Spark playbook test must run: `make setup` installs the "
                                        "`spark` extra and `make test` Java")
    root = tmp_path_factory.mktemp("spark_playbook")
    data = root / "data"
    gen = subprocess.run([sys.executable, "-m", "commlab", "-q", "generate", str(data), "--scale", "0.05"],
                         capture_output=True, text=True, timeout=300)
    assert gen.returncode == 0, gen.stderr
    spy_dir = root / "spy"
    spy_dir.mkdir()
    (spy_dir / "sitecustomize.py").write_text(SPY, encoding="utf-8")
    out = {}
    for engine, playbook in (("duckdb", "demo.yaml"), ("spark", "demo-spark.yaml")):
        env = dict(os.environ)
        if engine == "spark":
            env["PYTHONPATH"] = os.pathsep.join([str(spy_dir), *filter(None, [env.get("PYTHONPATH")])])
            env["COMMLAB_TEST_SPARK_SPY"] = str(root / "spy.jsonl")
        run = subprocess.run([sys.executable, "-m", "commlab", "-q", "run", str(REPO / "playbooks" / playbook),
                              "--data", str(data), "--runs-dir", str(root / engine)],
                             capture_output=True, text=True, timeout=1800, cwd=root, env=env)
        assert run.returncode == 0, f"{engine}: {run.stderr[-3000:]}"
        out[engine] = Path(root / run.stdout.strip().splitlines()[-1]).parent
    spied = [json.loads(line) for line in (root / "spy.jsonl").read_text(encoding="utf-8").splitlines()]
    return out, spied, _n_rows(data)


def _n_rows(data: Path) -> dict[str, int]:
    import pandas as pd
    import pyarrow.parquet as pq

    return {"events": pq.ParquetFile(data / "events.parquet").metadata.num_rows,
            "members": len(pd.read_csv(data / "members.csv", dtype="string"))}


def _step(record: dict[str, Any]) -> str:
    return Path(record["cwd"]).name


def test_spark_run_collects_aggregates_only(runs):
    """Spark did the work of notebooks 02-04 (features: one row per member, monthly and one-period metrics, the
    network's pairs), and nothing it handed to the driver is event-level."""
    _, spied, n = runs
    n_events = n["events"]
    spark = [r for r in spied if r["call"] != "StoredEvents.read"]
    assert {_step(r) for r in spark} == {"02_member_segments", "03_community_health", "04_compare_types"}, spark
    feature_rows = [r["rows"] for r in spark if "tenure_days" in r["columns"]]
    assert n["members"] in feature_rows, (feature_rows, n)  # the features: one row per member
    snapshots = [r["rows"] for r in spark if "as_of" in r["columns"] or "k" in r["columns"]]
    assert snapshots and max(snapshots) > n["members"], (snapshots, n)  # the role snapshots: per member and instant
    assert any("metric_id" in r["columns"] or "value" in r["columns"] for r in spark), spark
    # event-level: the event columns, or repeated keys (e.g. a row per member and event), or half a row per event
    event_level = [r for r in spark if {"ts", "event_type"} & set(r["columns"]) or r["rows"] >= n_events / 2
                   or r["rows"] > 100 and not r.get("unique_keys", True)]
    assert not event_level, event_level
    assert all("unique_keys" in r for r in spark if r["call"] == "toPandas"), spark
    # and no notebook reads the stored events into pandas itself (notebooks 01 and 05 and the other analyses
    # query them with DuckDB in place, as aggregates)
    reads = [(_step(r), r["rows"]) for r in spied if r["call"] == "StoredEvents.read"]
    assert not reads, reads


def _compare(a: Any, b: Any, where: str, bad: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            bad.append(f"{where}: keys {sorted(set(a) ^ set(b))}")
        for k in set(a) & set(b):
            _compare(a[k], b[k], f"{where}.{k}", bad)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            bad.append(f"{where}: {len(a)} != {len(b)} items")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            _compare(x, y, f"{where}[{i}]", bad)
    elif isinstance(a, bool) or isinstance(b, bool) or isinstance(a, int) and isinstance(b, int):
        if a != b:
            bad.append(f"{where}: {a!r} != {b!r}")
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if not (math.isclose(a, b, rel_tol=REL, abs_tol=ABS) or (math.isnan(a) and math.isnan(b))):
            bad.append(f"{where}: {a!r} != {b!r}")
    elif a != b:
        bad.append(f"{where}: {a!r} != {b!r}")


def test_spark_summary_equals_duckdb(runs):
    dirs, _, _ = runs
    duck = json.loads((dirs["duckdb"] / "summary.json").read_text(encoding="utf-8"))
    spark = json.loads((dirs["spark"] / "summary.json").read_text(encoding="utf-8"))
    assert list(duck) == list(spark) == ["01_overview", "02_member_segments", "03_community_health",
                                         "04_compare_types", "recommendations"]
    numbers = []

    def count(x: Any) -> None:
        if isinstance(x, dict):
            [count(v) for v in x.values()]
        elif isinstance(x, list):
            [count(v) for v in x]
        elif isinstance(x, float):
            numbers.append(x)

    count(spark)
    assert len(numbers) > 500  # the comparison covers the metric tables, segments, tests, scorecard
    bad: list[str] = []
    _compare(duck, spark, "summary", bad)
    assert not bad, "\n".join(bad[:40])
    manifest = json.loads((dirs["spark"] / "manifest.json").read_text(encoding="utf-8"))
    engines = {s["name"]: s["parameters"].get("engine") for s in manifest["steps"]}
    assert engines == {"01_overview": None, "02_member_segments": "spark", "03_community_health": "spark",
                       "04_compare_types": "spark", "recommendations": None}, engines
