"""Where the feature SQL spends its time: DuckDB's profiler, operators by time.

Usage: ``.venv/bin/python benchmarks/profile_features.py benchmarks/data/5M [--threads 2]``.
Prints the ten most expensive operators (DuckDB's ``operator_timing`` is summed over threads,
so the column adds up to more than the wall time when threads > 1).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from commlab.analysis.features import features_sql
from commlab.engines import DuckDBEngine
from commlab.engines.duck import bind_as_of


def _walk(node: dict, depth: int, out: list) -> None:
    out.append((node.get("timing", 0.0), depth, node.get("name"), node.get("intermediate_rows"),
                json.dumps(node.get("extra_info"), ensure_ascii=False)[:140]))
    for child in node.get("children", []):
        _walk(child, depth + 1, out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--as-of", default="2024-07-01")
    a = ap.parse_args()
    d = Path(a.data)
    eng = DuckDBEngine(threads=a.threads)
    con = eng.connect()
    v = eng.register_tables(con, events=d / "events.parquet", members=d / "members.parquet")
    sql = bind_as_of(features_sql(v["events"], v["members"]), pd.Timestamp(a.as_of, tz="UTC"))
    prof = Path(tempfile.mkdtemp()) / "profile.json"
    con.execute("PRAGMA enable_profiling = 'json'")
    con.execute(f"PRAGMA profiling_output = '{prof}'")
    t0 = time.perf_counter()
    con.execute(sql).fetchall()
    print(f"wall {time.perf_counter() - t0:.1f} s")
    ops: list = []
    for node in json.loads(prof.read_text())["operator"]:
        _walk(node, 0, ops)
    print("| operator time (s, summed over threads) | depth | operator | rows out | detail |")
    print("|---|---|---|---|---|")
    for t, depth, name, rows, extra in sorted(ops, key=lambda r: -r[0])[:10]:
        print(f"| {t:.2f} | {depth} | {name} | {rows} | {extra.replace('|', '/')} |")


if __name__ == "__main__":
    main()
