"""Time the report stage of a finished playbook run again: what the runner does after the last notebook.

Usage::

    .venv/bin/python benchmarks/profile_report.py runs/demo/<run id> --data benchmarks/data/5M \
        [--playbook playbooks/demo.yaml] [--rounds 3] [--profile out.prof]

The run folder's executed notebooks, step summaries and manifest are copied into a temporary run
folder, and :func:`commlab.runner._write_shareable` writes ``summary.json``, ``report.html`` and
``report.pdf`` there as the run did: the report rendered, the privacy scan of every shareable file
against the data's members, the PDF printed by Chromium. For each round: wall and CPU seconds of
the whole stage and of its parts (CPU of this process; Chromium's is counted apart, as children's),
then the median of each over the rounds. ``--profile`` writes a cProfile of the last round.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _copy_run(src: Path, dst: Path) -> None:
    for item in src.iterdir():
        if item.name in ("report.html", "report.pdf", "summary.json", ".staging") or item.name.endswith(".blocked"):
            continue
        if item.is_dir():
            shutil.copytree(item, dst / item.name)
        else:
            shutil.copy2(item, dst / item.name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("--data", required=True)
    ap.add_argument("--playbook", default=str(ROOT / "playbooks" / "demo.yaml"))
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--profile", default=None, help="write a cProfile of the last round here")
    ap.add_argument("--json", default=None, help="write the figures here")
    ap.add_argument("--keep", default=None, help="copy the last round's report.html, report.pdf and summary.json here")
    args = ap.parse_args(argv)
    os.environ.setdefault("COMMLAB_PSEUDONYM_KEY", "benchmark")

    from commlab import runner
    from commlab.manifest import iso, utc_now  # noqa: F401  (imported as the runner does)
    from commlab.plan import plan_run

    src = Path(args.run_dir).resolve()
    manifest = json.loads((src / "manifest.json").read_text())
    pb, other = runner._playbook_to_run(args.playbook, data_dir=args.data, notebooks_dirs=(), rules_library=None)
    plans = plan_run(pb, as_of=manifest["as_of"], overrides=manifest.get("overrides") or None)
    summary = {p.name: json.loads((src / p.name / "summary.json").read_text()) for p in plans}
    lang = str((manifest.get("overrides") or {}).get("lang") or pb.report.lang)
    run_data = runner._load_data(pb, plans, os.environ.get("COMMLAB_DATA_CACHE"))
    parts = {"build_report": "build_report", "_privacy_scan": "_privacy_scan", "_print_pdf": "_print_pdf",
             "_input_tables": "_input_tables", "_chosen_words": "_chosen_words", "_scan_inputs": "_scan_inputs"}
    times: dict[str, list[tuple[float, float]]] = {}

    def timed(name: str, fn):
        def wrapper(*a, **k):
            w0, c0 = time.perf_counter(), _cpu()
            try:
                return fn(*a, **k)
            finally:
                times.setdefault(name, []).append((time.perf_counter() - w0, _cpu() - c0))
        return wrapper

    for name, attr in parts.items():
        setattr(runner, attr, timed(name, getattr(runner, attr)))
    rounds = []
    for i in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="commlab-report-") as tmp:
            run_dir = Path(tmp) / src.name
            run_dir.mkdir()
            _copy_run(src, run_dir)
            record = runner._Record(run_dir / "manifest.json", json.loads((run_dir / "manifest.json").read_text()))
            prof = None
            if args.profile and i == args.rounds - 1:
                import cProfile

                prof = cProfile.Profile()
                prof.enable()
            w0, c0, k0 = time.perf_counter(), _cpu(), _children_cpu()
            runner._write_shareable(pb, plans, run_dir, record, summary, lang=lang,
                                    as_of=(manifest["as_of"], manifest.get("as_of_source") or "given"),
                                    run_data=run_data, k=manifest["privacy"]["k_anonymity"],
                                    cache=os.environ.get("COMMLAB_DATA_CACHE"), other_data=other)
            row = {"wall_s": time.perf_counter() - w0, "cpu_s": _cpu() - c0, "children_cpu_s": _children_cpu() - k0}
            if prof is not None:
                prof.disable()
                prof.dump_stats(args.profile)
            row.update({f"{n}_wall_s": v[-1][0] for n, v in times.items()})
            row.update({f"{n}_cpu_s": v[-1][1] for n, v in times.items()})
            row["report_mb"] = (run_dir / "report.html").stat().st_size / 2**20
            if args.keep and i == args.rounds - 1:
                Path(args.keep).mkdir(parents=True, exist_ok=True)
                for name in ("report.html", "report.pdf", "summary.json"):
                    shutil.copy2(run_dir / name, Path(args.keep) / name)
            rounds.append(row)
            print(f"round {i + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()), file=sys.stderr, flush=True)
    med = {k: round(statistics.median(r[k] for r in rounds), 3) for k in rounds[0]}
    print(json.dumps({"median": med, "loadavg": os.getloadavg()}, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps({"rounds": rounds, "median": med, "run": str(src)}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
