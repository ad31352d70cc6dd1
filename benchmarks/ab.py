"""A/B one benchmark step between two versions of commlab, back to back on the same data.

Usage::

    .venv/bin/python benchmarks/ab.py --base HEAD~1 --steps features_duckdb --size 50M [--rounds 2]
    .venv/bin/python benchmarks/ab.py --base main --head /path/to/a/checkout --data some/folder

The machine's speed drifts (up to 2x between nights on the benchmark VM), so a speed-up is only
measured against the old code run the same hour. ``--base`` and ``--head`` are each a git ref
(checked out into a temporary worktree, removed afterwards) or the path of a checkout (a folder
with ``src/commlab``); ``--head`` defaults to this checkout, uncommitted edits included.

Each step runs in a fresh child process of *this* checkout's ``benchmarks/run.py`` (the step's
code is the same on both sides) with ``PYTHONPATH`` set to the side's ``src``, so only the library
differs; the child reports the package directory it imported, which is checked. The sides
alternate A B, B A, A B ... so a drift during the run affects both. Each child saves the step's
result table (features, metrics, role transitions, segment labels); after all runs (not between
them: a child inherits the parent's peak RSS) the two sides' tables are compared: ``identical``,
``equal to 1e-9`` or ``DIFFERENT`` with the first differing column.

Output: a Markdown table on stdout and, with ``--json``, the raw figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import run  # noqa: E402  (benchmarks/run.py: sizes, data generation, the step children)


def _side(spec: str, tmp: Path, name: str) -> tuple[Path, str]:
    """The checkout for ``spec`` (a path, or a git ref put in a worktree) and its description."""
    path = Path(spec)
    if (path / "src" / "commlab").is_dir():
        git = lambda *a: subprocess.run(["git", "-C", str(path), *a], capture_output=True, text=True)  # noqa: E731
        head = git("rev-parse", "--short=9", "HEAD")
        if head.returncode != 0:
            return path.resolve(), f"{spec} (checkout, not a git work tree)"
        dirty = git("status", "--porcelain", "--", "src").stdout.strip()
        return path.resolve(), f"{spec} (checkout at {head.stdout.strip()}" + (
            ", with uncommitted changes in src)" if dirty else ")")
    sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", f"{spec}^{{commit}}"],
                         capture_output=True, text=True)
    if sha.returncode != 0:
        raise SystemExit(f"--{name} {spec!r} is neither a checkout (a folder with src/commlab) nor a git "
                         f"commit of {REPO}: {sha.stderr.strip()}")
    where = tmp / name
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(where), sha.stdout.strip()],
                   check=True)
    return where, f"{spec} ({sha.stdout.strip()[:9]})"


def _measure(step: str, checkout: Path, data: Path, out: Path, args: argparse.Namespace) -> dict:
    """One run of ``step`` in a fresh child importing ``checkout``'s commlab; its table goes to ``out``."""
    cmd = [sys.executable, str(HERE / "run.py"), "--child", step, "--data", str(data), "--out", str(out)]
    for flag, value in (("--memory-limit", args.memory_limit), ("--threads", args.threads)):
        if value:
            cmd += [flag, str(value)]
    env = {**os.environ, "PYTHONPATH": str(checkout / "src")}
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout)
    if p.returncode != 0:
        raise SystemExit(f"{step} failed on {checkout}: {p.stderr.strip().splitlines()[-1:]}")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    if Path(res["commlab"]) != (checkout / "src" / "commlab").resolve():
        raise SystemExit(f"the child imported commlab from {res['commlab']}, not from {checkout}/src: "
                         "is commlab installed in a way that shadows PYTHONPATH?")
    return res


def compare(a: pd.DataFrame, b: pd.DataFrame) -> str:
    """``identical``, ``equal to 1e-9`` or ``DIFFERENT: <reason>`` for two result tables."""
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return f"DIFFERENT: columns {list(a.columns)} / {list(b.columns)}, rows {len(a)} / {len(b)}"
    if a.equals(b):
        return "identical"
    for col in a.columns:
        try:
            pd.testing.assert_series_equal(a[col], b[col], check_exact=False, rtol=1e-9, atol=1e-12)
        except AssertionError:
            bad = (a[col].astype(str) != b[col].astype(str)).to_numpy().nonzero()[0]
            return f"DIFFERENT: column {col!r}, {len(bad)} rows, first at row {bad[0] if len(bad) else '?'}"
    return "equal to 1e-9"


def main(argv: list[str] | None = None) -> int:
    """Run the A/B; exit status 1 when a step's two result tables differ."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="git ref or checkout path of the old code (A)")
    ap.add_argument("--head", default=str(REPO), help="git ref or checkout path of the new code (B); "
                    "default: this checkout")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--size", choices=list(run.SIZES), default="0.5M",
                       help="benchmark data size (generated into benchmarks/data/ when missing)")
    where.add_argument("--data", help="a folder with communities/members/events.parquet instead")
    ap.add_argument("--steps", default="features_duckdb", help=f"comma-separated, of: {', '.join(run.STEPS)}")
    ap.add_argument("--rounds", type=int, default=2, help="runs of each side per step")
    ap.add_argument("--memory-limit", default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per child")
    ap.add_argument("--json", help="write the raw figures here")
    args = ap.parse_args(argv)
    steps = args.steps.split(",")
    unknown = sorted(set(steps) - set(run.STEPS))
    if unknown or "playbook" in steps:
        raise SystemExit(f"cannot A/B step(s) {unknown or ['playbook']}; choose from {', '.join(run.STEPS)}")
    data = Path(args.data) if args.data else run._generate(args.size)
    report: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "data": str(data),
                    "machine": run._machine(), "steps": {}}
    with tempfile.TemporaryDirectory(prefix="commlab-ab-") as t:
        tmp = Path(t)
        worktrees = []
        try:
            sides = {}
            for name in ("base", "head"):
                path, label = _side(getattr(args, name), tmp, name)
                sides[name] = path
                report[name] = label
                if path.parent == tmp:
                    worktrees.append(path)
            for step in steps:
                runs: dict[str, list[dict]] = {"base": [], "head": []}
                for i in range(args.rounds):
                    for name in (("base", "head") if i % 2 == 0 else ("head", "base")):
                        res = _measure(step, sides[name], data, tmp / f"{step}-{name}-{i}.parquet", args)
                        runs[name].append(res)
                        print(f"{step} {name} round {i + 1}: {res['wall_s']:.2f} s, {res['peak_rss_mb']:.0f} MB",
                              file=sys.stderr, flush=True)
                report["steps"][step] = {"runs": runs}
            # compared only now: a child inherits this process's peak RSS (ru_maxrss survives
            # fork/exec), so no result table is read here while children are still measured
            for step in steps:
                tables = {n: pd.read_parquet(tmp / f"{step}-{n}-0.parquet") for n in ("base", "head")}
                report["steps"][step]["results"] = compare(tables["base"], tables["head"])
        finally:
            for w in worktrees:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(w)], check=False)
    print(table(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 1 if any(v["results"].startswith("DIFFERENT") for v in report["steps"].values()) else 0


def table(report: dict) -> str:
    """The Markdown table of an A/B report."""
    m = report["machine"]
    rows = [f"A/B {report['date'][:16]} UTC on {report['data']}; {m['nproc']} CPUs, DuckDB {m['duckdb']}, "
            f"load average at start {m['loadavg_at_start'][0]:.1f}",
            f"A = {report['base']}, B = {report['head']}", "",
            "| step | A wall (each run) | B wall (each run) | B / A (medians) | A peak | B peak | results |",
            "|---|---|---|---|---|---|---|"]
    for step, v in report["steps"].items():
        a, b = v["runs"]["base"], v["runs"]["head"]
        walls = lambda rs: " / ".join(f"{r['wall_s']:.2f}" for r in rs) + " s"  # noqa: E731
        ratio = statistics.median(r["wall_s"] for r in b) / max(statistics.median(r["wall_s"] for r in a), 1e-9)
        peak = lambda rs: f"{max(r['peak_rss_mb'] for r in rs):,.0f} MB"  # noqa: E731
        rows.append(f"| {step} | {walls(a)} | {walls(b)} | {ratio:.2f} | {peak(a)} | {peak(b)} | {v['results']} |")
    return "\n".join(rows)


if __name__ == "__main__":
    raise SystemExit(main())
