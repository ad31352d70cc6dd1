"""What notebook 01 spends, step by step: loading and validating, caching, the overview counts.

Usage: ``.venv/bin/python benchmarks/profile_overview.py benchmarks/data/5M [--stream always]``.
``--stream never`` loads the events whole into pandas, then writes the data cache entry;
``always`` validates them chunk by chunk into the entry (:mod:`commlab.data.streamed`), as a
playbook run does from 5 M events (``auto``).
Prints, after each step, the elapsed time, the resident memory and the peak so far
(``getrusage(RUSAGE_SELF).ru_maxrss``, which includes DuckDB's and Arrow's native memory).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from commlab.analysis.overview import activity_summary, daily_activity, to_utc, weekday_hour
from commlab.data import load_dataset
from commlab.data.cache import write_cached


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--as-of", default="2024-07-01")
    ap.add_argument("--tz", default="Asia/Shanghai")
    ap.add_argument("--stream", choices=("never", "always", "auto"), default="never")
    args = ap.parse_args()
    t0 = time.perf_counter()

    def report(step: str) -> None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{step:26s} {time.perf_counter() - t0:7.1f} s   rss {_rss_mb():7.0f} MB   peak {peak:7.0f} MB",
              flush=True)

    report("imports")
    with tempfile.TemporaryDirectory(dir=args.data) as tmp:
        if args.stream == "never":
            ds = load_dataset(args.data, tz=args.tz, cache="", stream=False)  # "": no cache, always validate
            report("load_dataset")
            write_cached(Path(tmp), "profile", ds)
            report("write_cached")
        else:
            ds = load_dataset(args.data, tz=args.tz, cache=tmp, stream=args.stream == "always" or None)
            report(f"load_dataset ({'streamed' if not ds.events_loaded else 'whole'})")
        now = to_utc(args.as_of)
        activity_summary(ds, as_of=now)
        report("activity_summary")
        daily_activity(ds, as_of=now, tz=args.tz)
        report("daily_activity")
        weekday_hour(ds, as_of=now, tz=args.tz)
        report("weekday_hour")


if __name__ == "__main__":
    main()
