"""Peak memory of the streaming Stack Exchange XML import on a synthetic Posts.xml.

Usage::

    .venv/bin/python benchmarks/import_xml.py 50            # 50 MB Posts.xml
    .venv/bin/python benchmarks/import_xml.py 50 --compare  # also ElementTree.parse (whole tree) for contrast
    .venv/bin/python benchmarks/import_xml.py 50 --tracemalloc

The file is generated in a temporary folder (deterministic, seeded): ~30 %
questions, ~70 % answers, HTML bodies of 200-1500 characters (bodies are
what makes real dumps large). Each measurement runs in a fresh child
process, and reports its peak resident set size (``ru_maxrss``) and the wall
time; with ``--tracemalloc`` also the peak of Python allocations (slower).
Keep the size at or below ~200 MB on small machines.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = ("community", "member", "question", "answer", "growth", "retention", "社群", "运营", "活跃", "留存",
         "python", "pandas", "data", "reply", "thread", "topic", "engagement", "churn")


def generate(path: Path, size_mb: float, seed: int = 0, body_scale: float = 1.0) -> dict[str, int]:
    """Write a synthetic data-dump ``Posts.xml`` of about ``size_mb`` MB; return row counts.

    ``body_scale`` multiplies the length of the bodies: the same size with a larger
    scale means fewer, longer rows (to separate the cost of rows from the cost of bytes).
    """
    rng = random.Random(seed)
    target = int(size_mb * 1024 * 1024)
    n_q = n_a = 0
    questions: list[int] = []
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('\ufeff<?xml version="1.0" encoding="utf-8"?>\n<posts>\n')
        pid = 0
        t0 = 1_600_000_000
        while fh.tell() < target:
            pid += 1
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 + pid * 37)) + ".000"
            n_words = int(rng.randint(30, 220) * body_scale)
            body = " ".join(rng.choice(WORDS) for _ in range(n_words))
            body = f"&lt;p&gt;{body}&lt;/p&gt;"
            owner = rng.randint(1, max(10, pid // 20))
            if not questions or rng.random() < 0.3:
                questions.append(pid)
                n_q += 1
                tags = "".join(f"&lt;{rng.choice(WORDS[:6])}&gt;" for _ in range(rng.randint(1, 3)))
                fh.write(f'  <row Id="{pid}" PostTypeId="1" CreationDate="{ts}" Score="{rng.randint(-2, 40)}" '
                         f'Body="{body}" OwnerUserId="{owner}" Title="Question {pid}" Tags="{tags}" '
                         f'AnswerCount="0" CommentCount="0" />\n')
            else:
                parent = rng.choice(questions[-500:])
                n_a += 1
                fh.write(f'  <row Id="{pid}" PostTypeId="2" ParentId="{parent}" CreationDate="{ts}" '
                         f'Score="{rng.randint(-2, 40)}" Body="{body}" OwnerUserId="{owner}" CommentCount="0" />\n')
        fh.write("</posts>\n")
    return {"questions": n_q, "answers": n_a, "bytes": path.stat().st_size}


def _child(mode: str, folder: str, trace: bool) -> None:
    """Run one measurement in this (fresh) process and print JSON."""
    import tracemalloc

    from commlab.importers import convert  # imported in both modes, so the RSS baselines match

    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    if mode == "stream":
        ds, rep = convert("stackexchange_xml", folder, progress=False)
        rows = len(ds.events)
    else:  # whole-tree parse, for contrast
        import xml.etree.ElementTree as ET

        root = ET.parse(Path(folder) / "Posts.xml").getroot()
        rows = len(root)
    wall = time.perf_counter() - start
    out = {"mode": mode, "rows": rows, "seconds": round(wall, 2),
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if trace:
        out["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 1024 / 1024, 1)
    print(json.dumps(out))


def _baseline() -> float:
    """Peak RSS (MB) of a child that only imports commlab.importers (pandas, pyarrow...)."""
    code = ("import resource, commlab.importers; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    return round(float(subprocess.check_output([sys.executable, "-c", code], text=True)), 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("size_mb", type=float, help="approximate size of the generated Posts.xml in MB")
    ap.add_argument("--compare", action="store_true", help="also measure ElementTree.parse of the whole file")
    ap.add_argument("--tracemalloc", action="store_true", help="also report the tracemalloc peak (slower)")
    ap.add_argument("--body-scale", type=float, default=1.0,
                    help="multiply body lengths (same size, fewer rows); default 1")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], args.tracemalloc)
        return 0
    with tempfile.TemporaryDirectory(prefix="commlab-bench-") as tmp:
        t = time.perf_counter()
        counts = generate(Path(tmp) / "Posts.xml", args.size_mb, body_scale=args.body_scale)
        print(json.dumps({"generated": counts, "seconds": round(time.perf_counter() - t, 1)}))
        print(json.dumps({"baseline_import_only_peak_rss_mb": _baseline()}))
        modes = ["stream"] + (["parse_whole_tree"] if args.compare else [])
        for mode in modes:
            cmd = [sys.executable, __file__, str(args.size_mb), "--child", mode, tmp]
            if args.tracemalloc:
                cmd.append("--tracemalloc")
            print(subprocess.check_output(cmd, text=True).strip().splitlines()[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
