"""Peak memory of the Stack Exchange XML import on a generated data dump, up to several GB.

Usage::

    .venv/bin/python benchmarks/import_xml.py 200                 # 200 MB Posts.xml (+ Users, Comments, Votes)
    .venv/bin/python benchmarks/import_xml.py 200 1024 3072       # several sizes, one dump each, deleted after
    .venv/bin/python benchmarks/import_xml.py 200 --compare       # also the in-memory convert() and ET.parse
    .venv/bin/python benchmarks/import_xml.py 50 --posts-only --tracemalloc

For each size (MB of ``Posts.xml``) a dump is generated in a temporary folder
(``--tmp`` to choose where; deterministic, seeded): ~30 % questions, ~70 %
answers with HTML bodies of 30-220 words (bodies are what makes real dumps
large), plus -- unless ``--posts-only`` -- ``Users.xml`` (every author),
``Comments.xml`` (about one comment per two posts) and ``Votes.xml`` (an
acceptance vote for about half of the questions, a few bounties). Each
measurement runs in a fresh child process and reports its peak resident set
size (``ru_maxrss``) and wall time:

* ``stream``: ``import_source("stackexchange_xml", dump, out)`` -- the
  command-line path, which streams the tables into Parquet chunk by chunk;
* ``convert`` (``--compare``): the in-memory ``convert(...)``, which returns
  all the tables as DataFrames;
* ``parse_whole_tree`` (``--compare``): ``ElementTree.parse`` of Posts.xml.

The dump and the output are deleted after each size. Free disk needed: about
1.7 x the size (dump, output and page cache aside).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = ("community", "member", "question", "answer", "growth", "retention", "社群", "运营", "活跃", "留存",
         "python", "pandas", "data", "reply", "thread", "topic", "engagement", "churn")
T0 = 1_600_000_000


def _stamp(t: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".000"


def generate(path: Path, size_mb: float, seed: int = 0, body_scale: float = 1.0) -> dict[str, int]:
    """Write a synthetic data-dump ``Posts.xml`` of about ``size_mb`` MB; return row counts.

    ``body_scale`` multiplies the length of the bodies: the same size with a larger
    scale means fewer, longer rows (to separate the cost of rows from the cost of bytes).
    The counts include ``max_user`` (owners are 1..max_user), ``accepted`` (question id ->
    accepted answer id, for about half of the questions with an answer; written as acceptance
    votes by :func:`generate_dump`, not as ``AcceptedAnswerId``, since a question is written
    before its answers) and ``posts``.
    """
    rng = random.Random(seed)
    target = int(size_mb * 1024 * 1024)
    bodies = []
    for _ in range(1000):  # a pool of bodies: generating a fresh one per row is the slow part
        n_words = int(rng.randint(30, 220) * body_scale)
        bodies.append("&lt;p&gt;" + " ".join(rng.choice(WORDS) for _ in range(n_words)) + "&lt;/p&gt;")
    n_q = n_a = max_user = 0
    questions: list[int] = []
    accepted: dict[int, int] = {}
    written = 0
    with open(path, "wb") as fh:
        head = '\ufeff<?xml version="1.0" encoding="utf-8"?>\n<posts>\n'.encode()
        fh.write(head)
        written += len(head)
        pid = 0
        while written < target:
            pid += 1
            ts = _stamp(T0 + pid * 37)
            body = bodies[rng.randrange(len(bodies))]
            owner = rng.randint(1, max(10, pid // 20))
            max_user = max(max_user, owner)
            if not questions or rng.random() < 0.3:
                questions.append(pid)
                n_q += 1
                tags = "".join(f"&lt;{rng.choice(WORDS[:6])}&gt;" for _ in range(rng.randint(1, 3)))
                line = (f'  <row Id="{pid}" PostTypeId="1" CreationDate="{ts}" Score="{rng.randint(-2, 40)}" '
                        f'Body="{body}" OwnerUserId="{owner}" Title="Question {pid}" Tags="{tags}" '
                        f'AnswerCount="0" CommentCount="0" />\n')
            else:
                parent = rng.choice(questions[-500:])
                n_a += 1
                if parent not in accepted and rng.random() < 0.5:
                    accepted[parent] = pid
                line = (f'  <row Id="{pid}" PostTypeId="2" ParentId="{parent}" CreationDate="{ts}" '
                        f'Score="{rng.randint(-2, 40)}" Body="{body}" OwnerUserId="{owner}" CommentCount="0" />\n')
            data = line.encode()
            fh.write(data)
            written += len(data)
        fh.write(b"</posts>\n")
    return {"questions": n_q, "answers": n_a, "posts": pid, "max_user": max_user,
            "bytes": path.stat().st_size, "accepted": accepted}  # type: ignore[dict-item]


def generate_dump(folder: Path, size_mb: float, seed: int = 0, body_scale: float = 1.0,
                  posts_only: bool = False) -> dict[str, int]:
    """Write ``Posts.xml`` (see :func:`generate`) and, unless ``posts_only``, ``Users``, ``Comments``, ``Votes``.

    Returns row counts per file and the total bytes.
    """
    folder.mkdir(parents=True, exist_ok=True)
    counts = generate(folder / "Posts.xml", size_mb, seed, body_scale)
    accepted: dict[int, int] = counts.pop("accepted")  # type: ignore[assignment]
    if posts_only:
        counts["total_bytes"] = counts["bytes"]
        return counts
    rng = random.Random(seed + 1)
    with open(folder / "Users.xml", "w", encoding="utf-8") as fh:
        fh.write('\ufeff<?xml version="1.0" encoding="utf-8"?>\n<users>\n')
        fh.write(f'  <row Id="-1" Reputation="1" CreationDate="{_stamp(T0 - 86400)}" DisplayName="Community" '
                 'AccountId="-1" />\n')
        for uid in range(1, counts["max_user"] + 1):
            fh.write(f'  <row Id="{uid}" Reputation="{rng.randint(1, 5000)}" CreationDate="{_stamp(T0 - 3600)}" '
                     f'DisplayName="user {uid}" AccountId="{uid + 1000}" Views="0" UpVotes="0" DownVotes="0" />\n')
        fh.write("</users>\n")
    n_c = counts["posts"] // 2
    with open(folder / "Comments.xml", "w", encoding="utf-8") as fh:
        fh.write('\ufeff<?xml version="1.0" encoding="utf-8"?>\n<comments>\n')
        for cid in range(1, n_c + 1):
            pid = rng.randint(1, counts["posts"])
            uid = rng.randint(1, counts["max_user"])
            fh.write(f'  <row Id="{cid}" PostId="{pid}" Score="{rng.randint(0, 5)}" Text="a short comment on '
                     f'post {pid}" CreationDate="{_stamp(T0 + pid * 37 + 60)}" UserId="{uid}" />\n')
        fh.write("</comments>\n")
    n_v = 0
    with open(folder / "Votes.xml", "w", encoding="utf-8") as fh:
        fh.write('\ufeff<?xml version="1.0" encoding="utf-8"?>\n<votes>\n')
        for qid, aid in accepted.items():
            n_v += 1
            fh.write(f'  <row Id="{n_v}" PostId="{aid}" VoteTypeId="1" '
                     f'CreationDate="{_stamp(T0 + aid * 37)[:10]}T00:00:00.000" />\n')
            if qid % 97 == 0:  # a few bounties
                n_v += 2
                fh.write(f'  <row Id="{n_v - 1}" PostId="{qid}" VoteTypeId="8" UserId="1" BountyAmount="50" '
                         f'CreationDate="{_stamp(T0 + qid * 37)[:10]}T00:00:00.000" />\n')
                fh.write(f'  <row Id="{n_v}" PostId="{aid}" VoteTypeId="9" BountyAmount="50" '
                         f'CreationDate="{_stamp(T0 + aid * 37)[:10]}T00:00:00.000" />\n')
        fh.write("</votes>\n")
    counts.update(users=counts["max_user"] + 1, comments=n_c, votes=n_v)
    counts["total_bytes"] = sum(p.stat().st_size for p in folder.iterdir())
    return counts


def _child(mode: str, folder: str, trace: bool) -> None:
    """Run one measurement in this (fresh) process and print JSON."""
    import tracemalloc

    from commlab.importers import convert, import_source  # imported in every mode, so the baselines match

    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    out: dict[str, object] = {"mode": mode}
    if mode == "stream":
        dest = Path(folder).parent / "out"
        rep = import_source("stackexchange_xml", folder, dest, progress=False)
        out["events"], out["members"] = rep.rows_mapped["events"], rep.rows_mapped["members"]
        out["output_mb"] = round(sum(p.stat().st_size for p in dest.iterdir()) / 2**20, 1)
    elif mode == "convert":
        ds, rep = convert("stackexchange_xml", folder, progress=False)
        out["events"], out["members"] = len(ds.events), len(ds.members)
    else:  # whole-tree parse, for contrast
        import xml.etree.ElementTree as ET

        out["rows"] = len(ET.parse(Path(folder) / "Posts.xml").getroot())
    out["seconds"] = round(time.perf_counter() - start, 1)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
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
    ap.add_argument("size_mb", type=float, nargs="+", help="approximate size(s) of the generated Posts.xml in MB")
    ap.add_argument("--compare", action="store_true",
                    help="also measure the in-memory convert() and ElementTree.parse of the whole file")
    ap.add_argument("--posts-only", action="store_true", help="generate Posts.xml only (no Users/Comments/Votes)")
    ap.add_argument("--tracemalloc", action="store_true", help="also report the tracemalloc peak (slower)")
    ap.add_argument("--body-scale", type=float, default=1.0,
                    help="multiply body lengths (same size, fewer rows); default 1")
    ap.add_argument("--tmp", default=None, help="folder for the generated dumps (default: the system temp)")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], args.tracemalloc)
        return 0
    print(json.dumps({"baseline_import_only_peak_rss_mb": _baseline()}), flush=True)
    for size in args.size_mb:
        tmp = Path(tempfile.mkdtemp(prefix="commlab-bench-", dir=args.tmp))
        try:
            dump = tmp / "dump"
            t = time.perf_counter()
            counts = generate_dump(dump, size, body_scale=args.body_scale, posts_only=args.posts_only)
            print(json.dumps({"size_mb": size, "generated": counts, "seconds": round(time.perf_counter() - t, 1)}),
                  flush=True)
            modes = ["stream"] + (["convert", "parse_whole_tree"] if args.compare else [])
            for mode in modes:
                cmd = [sys.executable, __file__, str(size), "--child", mode, str(dump)]
                if args.tracemalloc:
                    cmd.append("--tracemalloc")
                line = subprocess.check_output(cmd, text=True).strip().splitlines()[-1]
                print(json.dumps({"size_mb": size, **json.loads(line)}), flush=True)
                shutil.rmtree(tmp / "out", ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
