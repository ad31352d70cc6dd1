"""Where the import spends its time: wall and CPU of each phase of ``load_dataset`` into a fresh cache.

Usage: ``.venv/bin/python benchmarks/profile_import.py benchmarks/data/5M [--run-data]``
(at 50 M under ``flock /work/bench50.lock``). The phases are the functions the import calls, each
wrapped with a timer (wall, and the CPU of every thread of the process); a phase nested in another is
counted in both. ``--run-data`` times the playbook runner's load (:func:`commlab.run_data.load_run_data`)
instead of ``load_dataset``.
"""

from __future__ import annotations

import argparse
import functools
import resource
import shutil
import time
from pathlib import Path

ROWS: list[tuple[str, float, float]] = []


def _timed(owner: object, name: str, label: str | None = None) -> None:
    fn = getattr(owner, name)

    @functools.wraps(fn)
    def wrapper(*a, **k):  # noqa: ANN002, ANN003, ANN202
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return fn(*a, **k)
        finally:
            ROWS.append((label or name, time.perf_counter() - t0, time.process_time() - c0))

    setattr(owner, name, wrapper)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--run-data", action="store_true")
    a = ap.parse_args()
    import commlab.data.checks_sql as cs
    import commlab.data.load as ld
    import commlab.data.ordered_copy as oc
    import commlab.data.streamed as st
    from commlab.data import stored

    _timed(ld, "sha256_file")
    _timed(ld, "_read_tables")
    _timed(st, "check_events_sql")
    _timed(st, "_write_ordered")
    _timed(st, "unknown_keys")
    _timed(ld, "write_cached")
    _timed(cs, "write_member_keys")
    _timed(oc, "_plan")
    _timed(oc, "_deal")
    _timed(oc, "_drain")
    _timed(stored.StoredEvents, "stats")
    d = Path(a.data)
    store = d / "store"
    shutil.rmtree(store, ignore_errors=True)
    t0, c0 = time.perf_counter(), time.process_time()
    if a.run_data:
        from commlab.run_data import load_run_data

        r = load_run_data(d, source="canonical", tz="Asia/Shanghai", communities=[], where="profile", cache=store)
        rows = r.events
    else:
        rows = ld.load_dataset(d, cache=store).n_events
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"| phase | wall s | cpu s |  ({rows} events, {d})")
    print("|---|---|---|")
    agg: dict[str, list[float]] = {}
    for name, w, c in ROWS:
        s = agg.setdefault(name, [0.0, 0.0, 0])
        s[0] += w
        s[1] += c
        s[2] += 1
    for name, (w, c, n) in agg.items():
        print(f"| {name}{f' x{n}' if n > 1 else ''} | {w:.2f} | {c:.2f} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| total | {wall:.2f} | {cpu:.2f} |  peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
