"""Profile a notebook cell by cell: wall time, CPU time and resident memory of each code cell.

Usage::

    .venv/bin/python benchmarks/profile_notebook.py notebooks/02_member_segments.ipynb \
        --data benchmarks/data/5M -p as_of 2024-07-01 [--cache DIR] [--json out.json]

The code cells run in this process, in order, as a kernel would run them (the ``parameters`` cell,
then the given ``-p name value`` overrides, values read as JSON when they parse, else as text).
The data set is imported into the data cache (``--cache``, default ``<data>/store``) before the
first cell, untimed, as notebook 01 does in a playbook. The notebook writes its outputs into a new temporary
folder unless ``-p output_dir DIR`` names one. For each cell: wall seconds, CPU seconds
(user + system of every thread of the process), resident memory at its end and the highest
resident memory sampled every 0.05 s while it ran. Display calls run for real (figures are
rendered to PNG) but print nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class _Peak:
    """Highest resident memory of this process since the last :meth:`reset`, sampled in a thread."""

    def __init__(self, every: float = 0.05) -> None:
        self.proc, self.every, self.peak = psutil.Process(), every, 0
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.every)

    def reset(self) -> int:
        now = self.proc.memory_info().rss
        self.peak = now
        return now


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebook")
    ap.add_argument("--data", required=True)
    ap.add_argument("--cache", default=None)
    ap.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    ap.add_argument("--json", default=None, help="write the per-cell figures here")
    args = ap.parse_args(argv)
    nb = json.loads(Path(args.notebook).read_text())
    cache = Path(args.cache or Path(args.data) / "store").resolve()
    os.environ["COMMLAB_DATA_CACHE"] = str(cache)
    os.environ.setdefault("COMMLAB_PSEUDONYM_KEY", "benchmark")
    overrides = {"data_dir": str(Path(args.data).resolve())}
    for name, value in args.p:
        try:
            overrides[name] = json.loads(value)
        except json.JSONDecodeError:
            overrides[name] = value
    # the notebook's outputs (summary.json, tables) into a folder of their own, not the working directory
    overrides.setdefault("output_dir", tempfile.mkdtemp(prefix="commlab-profile-"))

    import IPython.display

    IPython.display.display = lambda *a, **k: None  # outputs are built (figures rendered), not printed

    import commlab as cl

    t0 = time.perf_counter()
    cl.load_dataset(overrides["data_dir"], cache=cache)  # notebook 01's import, untimed
    print(f"import (untimed): {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    ns: dict = {}
    peak = _Peak()
    rows = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            src += "\n" + "\n".join(f"{k} = {v!r}" for k, v in overrides.items())
        peak.reset()
        w0, c0 = time.perf_counter(), _cpu()
        exec(compile(src, f"<cell {i}>", "exec"), ns)
        wall, cpu = time.perf_counter() - w0, _cpu() - c0
        rss = psutil.Process().memory_info().rss
        first = next((ln for ln in src.splitlines() if ln.strip() and not ln.startswith(("#", "from", "import"))), "")
        rows.append({"cell": i, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "rss_end_mb": round(rss / 2**20),
                     "peak_mb": round(max(peak.peak, rss) / 2**20), "code": first[:70]})
        print(f"cell {i:2d}  {wall:7.2f} s  cpu {cpu:7.2f} s  end {rss / 2**20:6.0f} MB  "
              f"peak {max(peak.peak, rss) / 2**20:6.0f} MB  {first[:60]}", file=sys.stderr, flush=True)
    total = {"wall_s": round(sum(r["wall_s"] for r in rows), 2), "cpu_s": round(sum(r["cpu_s"] for r in rows), 2),
             "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
             "loadavg": os.getloadavg()}
    print(f"total {total}", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps({"cells": rows, "total": total, "params": overrides}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
