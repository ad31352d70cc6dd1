"""Notebook 03's metric pass as the demo playbook runs it, with the CPU seconds of each metric.

Usage::

    rm -rf benchmarks/data/5M/store/tables   # else the run cache hands back a stored table
    .venv/bin/python benchmarks/profile_metric_pass.py benchmarks/data/5M [--metrics density,kcore_stability]
        [--memory-limit 1250MB] [--out table.parquet]

In a playbook run notebook 03 computes the period sets of every step in one pass
(:meth:`commlab.engines.DuckDBEngine._compute_sets`): its months, the whole span (notebook 04) and the
last 30 days (notebook 05). This runs that pass on the data set's cache entry (imported first, untimed)
and prints the pass's CPU and wall seconds, the peak resident memory, and the CPU seconds of each metric
(user + system of every thread of the process: a metric's share of the network pass runs in two threads;
the first metric to name a prelude table pays for it). ``--out`` saves the tidy tables of the three sets,
to compare two versions' results (``PYTHONPATH=<other checkout>/src`` runs another version's library).
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import types
from pathlib import Path


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data")
    ap.add_argument("--metrics", default=None, help="comma-separated metric ids (default: every metric)")
    ap.add_argument("--memory-limit", default=None, help="DuckDB's memory_limit, e.g. 1250MB (a playbook's bound)")
    ap.add_argument("--as-of", default="2024-07-01")
    ap.add_argument("--out", default=None, help="write the three sets' tidy tables here (Parquet)")
    ap.add_argument("--top", type=int, default=25, help="metrics listed, most expensive first")
    args = ap.parse_args(argv)
    data = Path(args.data).resolve()
    os.environ["COMMLAB_DATA_CACHE"] = str(data / "store")
    os.environ.setdefault("COMMLAB_PSEUDONYM_KEY", "benchmark")

    import pandas as pd

    import commlab as cl
    import commlab.analysis.metrics as metrics
    from commlab.engines import DuckDBEngine
    from commlab.engines.duck import _last_days_start, _sources

    metrics.time = types.SimpleNamespace(perf_counter=_cpu)  # run_metrics' timings in CPU seconds
    ds = cl.load_dataset(str(data), cache=data / "store")
    engine = DuckDBEngine(**({"memory_limit": args.memory_limit} if args.memory_limit else {}))
    srcs = _sources(ds)
    chosen = ([metrics.get_metric(m) for m in args.metrics.split(",")] if args.metrics
              else metrics.list_metrics())
    start = _last_days_start({"last_days": 30}, srcs["communities"], args.as_of)
    requests = [(args.as_of, "month", None), (args.as_of, None, None), (args.as_of, None, start)]
    c0, w0 = _cpu(), time.perf_counter()
    parts = engine._compute_sets(srcs, chosen, requests)
    cpu, wall = _cpu() - c0, time.perf_counter() - w0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"pass: cpu {cpu:.2f} s, wall {wall:.2f} s, peak {peak:.0f} MB, load {os.getloadavg()[0]:.1f}, "
          f"{len(chosen)} metrics")
    for name, seconds in sorted(engine.timings_.items(), key=lambda kv: -kv[1])[:args.top]:
        print(f"  {name:32s} {seconds:7.2f}")
    if args.out:
        pd.concat([p.assign(set=i) for i, p in enumerate(parts)], ignore_index=True).to_parquet(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
