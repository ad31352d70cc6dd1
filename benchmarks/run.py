"""Benchmark the DuckDB engine against naive pandas on large synthetic data.

Usage::

    .venv/bin/python benchmarks/run.py --sizes 0.5M,5M [--memory-limit 2GB] [--threads 2]

For each size the data is generated once with :func:`commlab.data.generate_large.generate_large`
into ``benchmarks/data/<size>/`` (git-ignored; 10k / 100k / 1M members for 0.5M / 5M / 50M
events). Every measured step then runs in a fresh child process (``python benchmarks/run.py
--child STEP ...``), which reports its wall time (the step only, after imports) and its peak
resident set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which includes DuckDB's and
Arrow's native memory), and ``cpu_s``, the CPU time of all its threads over the step (less
sensitive than the wall time to the machine's other users; the playbook's kernels are not
counted). Steps:

``features_duckdb``     DuckDB over the Parquet files (``read_parquet``), result to pandas
``features_pandas``     ``pd.read_parquet`` of members and events, then naive group-bys
``segment``             notebook 02's clustering with its defaults: ``MemberSegmenter`` KMeans with k = 2..8
                        chosen by silhouette on a seeded 10 000-member subsample, then fitted (10
                        restarts) on every member; the Gaussian mixture (``method="gmm"``, chosen and
                        fitted on the subsample) is timed apart (the same code follows either features
                        path, so it is run once)
``metrics_duckdb``      every non-network metric (window=None), DuckDB over Parquet
``metrics_pandas``      the same metrics, naive pandas (``commlab.analysis.naive``)
``network_duckdb``      network and high-value metrics (DuckDB selects edges, networkx)
``network_pandas``      the same, pandas selecting edges, same networkx code
``transitions``         notebook 02's month-over-month rule roles: ``role_transitions`` over the 6 months
                        to ``AS_OF`` (7 month starts), the role features of every month start in one query
``transitions_per_instant``  the same transitions with one feature query per month start (the path a
                        custom ``labeler`` or an engine without ``snapshot_features`` takes; notebook
                        02's path before 2026-11-29)
``import``              ``load_dataset`` of the three files into a fresh data cache folder
                        (``benchmarks/data/<size>/store/``): reading, validating (chunk by chunk from
                        5 M events) and writing the events ordered by community and time, as notebook
                        01 does; notebooks 02-05 then read the events from that entry
``import_whole``        the same with ``stream=False``: the events read, validated and ordered whole in
                        pandas (the loading path below 5 M events; the naive side of ``import``)
``features_stored``     ``features_duckdb`` on the imported events (the cache entry of ``import``), the
                        way notebooks 02-05 compute them; ``metrics_stored`` and ``network_stored``
                        likewise. Reading the entry back (members and communities into pandas, the
                        events left on disk) is not timed; ``import`` must have run first. The
                        entry's run cache of tables is removed first, so the step computes
``baseline``            a child that only imports (subtract for the cost above the interpreter)

Results go to ``benchmarks/results/<size>.json``; ``--table`` prints the Markdown tables of
all result files for ``benchmarks/README.md``. ``--max-rss-gb N`` stops a step whose process
passes N GB resident and records that as the step's error (to try the naive pandas path at a size
that may not fit in memory, without the kernel's out-of-memory killer choosing the victim).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "results"
AS_OF = "2024-07-01"
SIZES = {"0.5M": (10_000, 500_000), "5M": (100_000, 5_000_000), "50M": (1_000_000, 50_000_000)}
STEPS = ("baseline", "import", "import_whole", "features_duckdb", "features_stored", "features_pandas", "segment",
         "metrics_duckdb", "metrics_stored", "metrics_pandas", "network_duckdb", "network_stored",
         "network_pandas", "transitions", "transitions_per_instant", "playbook", "playbook_spark")
#: The ``*_stored`` steps, each the ``*_duckdb`` step on the events ``import`` wrote.
STORED = {"features_stored": "features_duckdb", "metrics_stored": "metrics_duckdb",
          "network_stored": "network_duckdb"}
NETWORK_EXTRA = ("vertical_focus", "repeated_ties_share", "peer_tie_strength", "trust_ties")


def _network_ids() -> list[str]:
    from commlab.analysis.metrics import list_metrics

    return [m.id for m in list_metrics() if m.group == "network" or m.id in NETWORK_EXTRA]


def _other_ids() -> list[str]:
    from commlab.analysis.metrics import list_metrics

    net = set(_network_ids())
    return [m.id for m in list_metrics() if m.id not in net]


# --------------------------------------------------------------------------- child steps
def _child(step: str, data: Path, memory_limit: str | None, threads: int | None, batches: int = 1,
           out: Path | None = None) -> dict:
    """Run ``step`` once; its result table goes to ``out`` (Parquet, after the clock stops) when given."""
    import pandas as pd

    from commlab.analysis.naive import naive_member_features, naive_metrics
    from commlab.data.stored import StoredEvents
    from commlab.engines import DuckDBEngine

    files: dict = {n: data / f"{n}.parquet" for n in ("communities", "members", "events")}
    eng = DuckDBEngine(memory_limit=memory_limit, threads=threads, temp_directory=data / "duckdb_tmp")
    info: dict = {}
    if step in STORED:
        from commlab.data.load import load_dataset

        store = data / "store"
        if not store.is_dir() or not any(store.iterdir()):
            raise SystemExit(f"{step}: run the import step first (no cache entry in {store})")
        ds = load_dataset(data, cache=store)
        if not isinstance(ds.events_source, StoredEvents):
            raise SystemExit(f"{step}: the entry in {store} holds its events in memory, not on disk")
        files = {"communities": ds.communities, "members": ds.members, "events": ds.events_source}
        info["events_file"] = str(ds.events_source.path)
        # the step measures computing the table: drop what an earlier step or run left in the entry's
        # run cache (engines.runcache), which the engine would otherwise read back
        from commlab.engines.runcache import run_tables

        cached = run_tables(ds.events_source)
        if cached is not None and cached.is_dir():
            shutil.rmtree(cached)
            info["dropped_run_cache"] = True
        step = STORED[step]
    t0, c0 = time.perf_counter(), time.process_time()  # wall, and CPU of every thread of the process
    if step == "baseline":
        pass
    elif step in ("import", "import_whole"):
        from commlab.data.load import load_dataset

        # import_whole: the events read, validated and ordered whole in pandas (stream=False), into a
        # folder of its own (the stored steps read the one of "import"), removed after the clock stops
        store = data / ("store" if step == "import" else "store_whole")
        shutil.rmtree(store, ignore_errors=True)
        ds = load_dataset(data, cache=store, stream=None if step == "import" else False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        info.update(rows=ds.n_events, stored=not ds.events_loaded,
                    store_mb=round(sum(f.stat().st_size for f in store.rglob("*") if f.is_file()) / 2**20, 1))
        if step == "import_whole":
            shutil.rmtree(store, ignore_errors=True)
        return {"wall_s": wall, "cpu_s": cpu, **info}
    elif step == "features_duckdb":
        f = eng.member_features(files["events"], files["members"], as_of=AS_OF, batches=batches)
        info["rows"] = len(f)
        info["batches"] = batches
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        f.to_parquet(out or data / "features.parquet", index=False)   # input of "segment"; not timed
        return {"wall_s": wall, "cpu_s": cpu, **info}
    elif step == "features_pandas":
        ev = pd.read_parquet(files["events"])
        mem = pd.read_parquet(files["members"])
        info["load_s"] = time.perf_counter() - t0
        r = f = naive_member_features(ev, mem, as_of=AS_OF)
        info["rows"] = len(f)
    elif step == "segment":
        from commlab.analysis.segment import MemberSegmenter, segment_matrix

        f = pd.read_parquet(data / "features.parquet")
        X = segment_matrix(f[~f["is_staff"]])
        # what notebook 02 runs (its defaults): k = 2..8 chosen on the seeded 10 000-member
        # subsample, KMeans (10 restarts) at that k on every member; the wall time is this
        t0 = time.perf_counter()
        km = MemberSegmenter(method="kmeans", n_clusters="auto", random_state=0).fit(X)
        info["kmeans_auto_s"] = time.perf_counter() - t0
        # reported apart, not in the wall time: the Gaussian mixture (method="gmm"), fitted and
        # chosen on the subsample, then assigning every member
        t1 = time.perf_counter()
        gmm = MemberSegmenter(method="gmm", n_clusters="auto", random_state=0).fit(X)
        info["gmm_auto_s"] = time.perf_counter() - t1
        info.update(rows=len(X), k_kmeans=int(km.n_clusters_), k_gmm=int(gmm.n_clusters_))
        if out is not None:
            pd.DataFrame({"kmeans": km.labels_, "gmm": gmm.labels_}).to_parquet(out, index=False)
        return {"wall_s": info["kmeans_auto_s"], **info}
    elif step == "metrics_duckdb":
        ids = _other_ids()
        r = eng.compute_metrics(files, as_of=AS_OF, window=None, metrics=ids)
        info.update(metrics=len(ids), defined=int(r["value"].notna().sum()),
                    top=sorted(eng.timings_.items(), key=lambda kv: -kv[1])[:8])
    elif step == "metrics_pandas":
        ids = _other_ids()
        tabs = {n: pd.read_parquet(p) for n, p in files.items()}
        info["load_s"] = time.perf_counter() - t0
        r = naive_metrics(tabs["communities"], tabs["members"], tabs["events"], as_of=AS_OF, metrics=ids,
                          network=False)
        info.update(metrics=len(ids), defined=int(r["value"].notna().sum()))
    elif step == "network_duckdb":
        ids = _network_ids()
        r = eng.compute_metrics(files, as_of=AS_OF, window=None, metrics=ids)
        info.update(metrics=len(ids), defined=int(r["value"].notna().sum()),
                    top=sorted(eng.timings_.items(), key=lambda kv: -kv[1])[:5])
    elif step == "network_pandas":
        ids = _network_ids()
        tabs = {n: pd.read_parquet(p) for n, p in files.items()}
        info["load_s"] = time.perf_counter() - t0
        r = naive_metrics(tabs["communities"], tabs["members"], tabs["events"], as_of=AS_OF, metrics=ids)
        info.update(metrics=len(ids), defined=int(r["value"].notna().sum()))
    elif step in ("transitions", "transitions_per_instant"):
        from commlab.analysis.roles import assign_roles
        from commlab.analysis.transitions import role_transitions

        end = pd.Timestamp(AS_OF, tz="UTC")
        labeler = assign_roles if step == "transitions_per_instant" else None
        r = tr = role_transitions(files["events"], files["members"], start=end - pd.DateOffset(months=6), end=end,
                                  labeler=labeler, engine=eng)
        info.update(boundaries=int(tr["period_end"].nunique()) + 1, moves=int(tr["count"].sum()))
    elif step in ("playbook", "playbook_spark"):
        # the demo playbook (notebooks 01-05 and the report) on this data, as a user runs it; playbook_spark:
        # demo-spark.yaml, notebooks 02-04 on Spark local[2] with spark.driver.memory=1g (its JVM is a child of
        # the kernel, so the tree's peak counts it)
        env = {**os.environ, "COMMLAB_PSEUDONYM_KEY": os.environ.get("COMMLAB_PSEUDONYM_KEY", "benchmark")}
        cli = Path(sys.executable).with_name("commlab")
        book = "demo-spark.yaml" if step == "playbook_spark" else "demo.yaml"
        cmd = [str(cli), "run", str(HERE.parent / "playbooks" / book), "--data", str(_tables_only(data)),
               "--as-of", AS_OF]
        if step == "playbook_spark":  # a Spark cell may pass the runner's 30 minutes per cell on a loaded machine
            cmd += ["--timeout", "0"]
        if (memory_limit or threads) and step == "playbook":
            opts = {k: v for k, v in (("memory_limit", memory_limit), ("threads", threads)) if v}
            cmd += ["-p", "engine_options", json.dumps(opts)]
        info["command"] = " ".join(cmd[1:])
        p, samples = _sampled(cmd, env)
        if p.returncode != 0:
            raise SystemExit(f"playbook failed ({p.returncode}): {p.stderr.strip().splitlines()[-1:]}")
        info["report"] = p.stdout.strip().splitlines()[-1]
        # the notebooks run in kernel processes: their peak is the largest child's
        info["peak_rss_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        info["notebooks"] = _per_step(Path(info["report"]).parent / "manifest.json", samples)
        info["peak_tree_mb"] = round(max((x[2] for x in samples), default=0.0))
        info["loadavg_at_end"] = os.getloadavg()
    else:
        raise SystemExit(f"unknown step {step}")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if out is not None and step not in ("baseline", "playbook", "playbook_spark"):
        r.to_parquet(out, index=False)
    return {"wall_s": wall, "cpu_s": cpu, **info}


# --------------------------------------------------------------------------- parent
def _sampled(cmd: list[str], env: dict, every: float = 0.5) -> tuple[subprocess.CompletedProcess, list]:
    """Run ``cmd``, sampling the resident memory of its process tree every ``every`` seconds.

    Returns the completed process and samples ``(unix time, largest process MB, whole tree MB)``.
    """
    import psutil

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    samples: list[tuple[float, float, float]] = []
    out: list[tuple[str, str]] = []
    reader = threading.Thread(target=lambda: out.append(proc.communicate()), daemon=True)
    reader.start()
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        rss = []
        try:
            for q in [root, *root.children(recursive=True)]:
                try:
                    rss.append(q.memory_info().rss / 2**20)
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        if rss:
            samples.append((time.time(), max(rss), sum(rss)))
        time.sleep(every)
    reader.join()
    stdout, stderr = out[0] if out else ("", "")
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr), samples


def _tables_only(data: Path) -> Path:
    """``<data>-tables/``: hard links of the data's three tables, without this script's leftovers (the import's
    ``store/``, ``features.parquet``, DuckDB's spill folder), which a run would hash as files of its data
    folder (about 0.5 s at 50 M) and a user's data folder does not hold."""
    folder = data.with_name(f"{data.name}-tables")
    folder.mkdir(exist_ok=True)
    for f in data.iterdir():
        if f.is_file() and f.name.split(".")[0] in ("communities", "members", "events"):
            link = folder / f.name
            if not link.exists() or not link.samefile(f):
                link.unlink(missing_ok=True)
                os.link(f, link)
    return folder


def _per_step(manifest: Path, samples: list) -> dict:
    """Wall time and sampled peak memory of each playbook step, from the run's manifest."""
    steps = json.loads(manifest.read_text())["steps"]
    res = {}
    for st in steps:
        a, b = (datetime.fromisoformat(st[k].replace("Z", "+00:00")).timestamp() for k in ("started", "ended"))
        inside = [s for s in samples if a <= s[0] <= b + 1]
        res[st["name"]] = {"wall_s": b - a,
                           "peak_process_mb": round(max((s[1] for s in inside), default=0.0)),
                           "peak_tree_mb": round(max((s[2] for s in inside), default=0.0))}
    return res


def _machine() -> dict:
    import duckdb
    import numpy
    import pandas
    import sklearn

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"nproc": os.cpu_count(), "ram_gb": round(mem_gb, 1), "cpu": cpu, "python": platform.python_version(),
            "duckdb": duckdb.__version__, "pandas": pandas.__version__, "numpy": numpy.__version__,
            "scikit-learn": sklearn.__version__, "loadavg_at_start": os.getloadavg()}


def _generate(size: str) -> Path:
    n_members, n_events = SIZES[size]
    out = DATA / size
    if (out / "events.parquet").exists():
        return out
    code = ("from commlab.data.generate_large import generate_large as g; "
            f"g({str(out)!r}, n_members={n_members}, n_events={n_events}, seed=20240601, chunk_events=2_500_000)")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    print(f"[{size}] generated in {time.perf_counter() - t0:.1f}s", flush=True)
    return out


def _top1_share(data: Path, n_members: int) -> float:
    """Share of the events made by the top 1 % of all members (by events): the heavy tail asked for.

    Counted in a child process: the children inherit this process's peak RSS (``ru_maxrss``
    survives ``fork``/``exec``), so the parent must not run DuckDB itself.
    """
    query = f"""
        WITH c AS (SELECT count(*) AS n FROM read_parquet('{data / "events.parquet"}')
                   GROUP BY community_id, member_id)
        SELECT sum(n) FILTER (WHERE rk <= {n_members // 100}) / sum(n)
        FROM (SELECT n, row_number() OVER (ORDER BY n DESC) AS rk FROM c)"""
    code = ("import duckdb, sys; con = duckdb.connect(); con.execute('SET enable_progress_bar = false'); "
            "print(con.execute(sys.argv[1]).fetchone()[0])")
    out = subprocess.run([sys.executable, "-c", code, query], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def _run_step(step: str, data: Path, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--child", step, "--data", str(data)]
    if args.memory_limit:
        cmd += ["--memory-limit", args.memory_limit]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.batches > 1:
        cmd += ["--batches", str(args.batches)]
    t0 = time.perf_counter()
    if args.max_rss_gb:
        p, error = _watched(cmd, args.timeout, args.max_rss_gb)
        if error:
            return {"error": error, "process_s": time.perf_counter() - t0}
    else:
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"timeout after {args.timeout}s"}
    if p.returncode != 0:
        lines = [ln for ln in p.stderr.strip().splitlines() if "Error" in ln] or p.stderr.strip().splitlines()
        return {"error": lines[-1][:300] if lines else f"exit {p.returncode}", "process_s": time.perf_counter() - t0}
    res = json.loads(p.stdout.strip().splitlines()[-1])
    res["process_s"] = time.perf_counter() - t0
    return res


def _watched(cmd: list[str], timeout: int, max_rss_gb: float) -> tuple[subprocess.CompletedProcess, str]:
    """Run ``cmd``, killing it when its resident memory passes ``max_rss_gb`` or after ``timeout`` s.

    Lets a step that may not fit in the machine's memory (the naive pandas path at 50 M) be tried
    without the kernel's out-of-memory killer choosing a victim. Returns the completed process and
    an error text ("" when the step ended by itself).
    """
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out: list = []
    reader = threading.Thread(target=lambda: out.append(proc.communicate()), daemon=True)
    reader.start()
    import psutil

    started, error = time.perf_counter(), ""
    while proc.poll() is None:
        try:
            rss = psutil.Process(proc.pid).memory_info().rss / 2**30
        except psutil.Error:
            rss = 0.0
        elapsed = time.perf_counter() - started
        if rss > max_rss_gb or elapsed > timeout:
            proc.kill()
            error = (f"stopped at {rss:.1f} GB resident after {elapsed:.0f} s (limit {max_rss_gb:g} GB)"
                     if rss > max_rss_gb else f"timeout after {timeout}s")
            break
        time.sleep(0.2)
    reader.join()
    stdout, stderr = out[0] if out else ("", "")
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr), error


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="0.5M", help="comma-separated: 0.5M,5M,50M")
    ap.add_argument("--steps", default=",".join(STEPS))
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory_limit, e.g. 2GB")
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads")
    ap.add_argument("--batches", type=int, default=1, help="features in this many community groups")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per step")
    ap.add_argument("--max-rss-gb", type=float, default=None,
                    help="stop a step whose process passes this resident memory (GB), reported as its error")
    ap.add_argument("--tag", default="", help="suffix of the result file, e.g. 'mem1GB' -> results/5M-mem1GB.json")
    ap.add_argument("--update", action="store_true",
                    help="keep the other steps of an existing result file, replace only the steps run")
    ap.add_argument("--table", action="store_true", help="print Markdown tables of benchmarks/results/*.json")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        res = _child(args.child, Path(args.data), args.memory_limit, args.threads, args.batches,
                     Path(args.out) if args.out else None)
        res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        import commlab

        res["commlab"] = str(Path(commlab.__file__).resolve().parent)  # which source tree was measured
        print(json.dumps(res))
        return 0
    if args.table:
        print(tables())
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    for size in args.sizes.split(","):
        data = _generate(size)
        out = {"size": size, "members": SIZES[size][0], "events": SIZES[size][1], "as_of": AS_OF,
               "date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": _machine(),
               "duckdb_settings": {"memory_limit": args.memory_limit, "threads": args.threads},
               "top1_share": round(_top1_share(data, SIZES[size][0]), 4),
               "data_mb": round(sum(f.stat().st_size for f in data.glob("*.parquet")
                                    if f.name != "features.parquet") / 2**20, 1),
               "steps": {}}
        name = f"{size}-{args.tag}" if args.tag else size
        if args.update and (RESULTS / f"{name}.json").exists():
            earlier = json.loads((RESULTS / f"{name}.json").read_text())
            for v in earlier["steps"].values():  # steps kept from an earlier run carry that run's date
                v.setdefault("date", earlier["date"])
            # the header stays the earlier run's; each replaced step carries its own date and load
            out.update(date=earlier["date"], machine=earlier["machine"], steps=earlier["steps"])
        for step in args.steps.split(","):
            started = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "loadavg_at_start": os.getloadavg()}
            res = {**_run_step(step, data, args), **started}
            out["steps"][step] = res
            print(f"[{size}] {step}: {json.dumps(res)}", flush=True)
            (RESULTS / f"{name}.json").write_text(json.dumps(out, indent=2) + "\n")
    return 0


def tables() -> str:
    """Markdown tables of every ``benchmarks/results/*.json``."""
    rows = []
    for path in sorted(RESULTS.glob("*.json"), key=lambda p: (float(p.stem.split("-")[0].rstrip("M")), p.stem)):
        r = json.loads(path.read_text())
        s = r["steps"]
        m = r["machine"]
        tag = f" [{path.stem.split('-', 1)[1]}]" if "-" in path.stem else ""
        dates = sorted({v.get("date", r["date"])[:16] for v in s.values()})
        span = dates[0] if len(dates) == 1 else f"steps measured {dates[0]} to {dates[-1]}"
        rows.append(f"\n### {r['size']} events{tag} ({r['members']:,} members, {r['events']:,} events, "
                    f"Parquet {r['data_mb']} MB) — {span}\n")
        if "top1_share" in r:
            rows.append(f"Top 1 % of members ({r['members'] // 100:,}): {r['top1_share']:.1%} of the events.\n")
        load = ", ".join(f"{x:.1f}" for x in m["loadavg_at_start"])
        rows.append(f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gb']} GB RAM; Python {m['python']}, "
                    f"DuckDB {m['duckdb']}, pandas {m['pandas']}, numpy {m['numpy']}, scikit-learn "
                    f"{m['scikit-learn']}; load average at start {load}; "
                    f"DuckDB settings {r['duckdb_settings']}.\n")
        base = s.get("baseline", {}).get("peak_rss_mb")
        rows.append("| step | DuckDB wall | DuckDB peak RSS | naive pandas wall (load) | naive pandas peak RSS "
                    "| speed-up |")
        rows.append("|---|---|---|---|---|---|")

        def cell(x: dict, key: str, fmt: str) -> str:
            if "error" in x:
                return x["error"]
            return fmt.format(x[key]) if key in x else "–"

        on_store = ", on the imported events"
        for name, d_key, p_key in (("import (validate, order and store the events; notebook 01; naive: whole in "
                                    "pandas)", "import", "import_whole"),
                                   ("features", "features_duckdb", "features_pandas"),
                                   ("features" + on_store, "features_stored", "features_pandas"),
                                   ("community metrics", "metrics_duckdb", "metrics_pandas"),
                                   ("community metrics" + on_store, "metrics_stored", "metrics_pandas"),
                                   ("network metrics", "network_duckdb", "network_pandas"),
                                   ("network metrics" + on_store, "network_stored", "network_pandas")):
            d, p = s.get(d_key, {}), s.get(p_key, {})
            if not d and not p:
                continue
            ratio = (f"{p['wall_s'] / d['wall_s']:.1f}×" if "wall_s" in d and "wall_s" in p and d["wall_s"] > 0
                     else "–")
            load = f" ({p['load_s']:.1f} s)" if "load_s" in p else ""
            rows.append(f"| {name} | {cell(d, 'wall_s', '{:.1f} s')} | {cell(d, 'peak_rss_mb', '{:.0f} MB')} | "
                        f"{cell(p, 'wall_s', '{:.1f} s')}{load} | {cell(p, 'peak_rss_mb', '{:.0f} MB')} | {ratio} |")
        seg = s.get("segment", {})
        if seg:
            rows.append(f"| segmentation (same code both paths) | {cell(seg, 'wall_s', '{:.1f} s')} | "
                        f"{cell(seg, 'peak_rss_mb', '{:.0f} MB')} | | | |")
        pb = s.get("playbook", {})
        if pb:
            when = f", run {pb['date'][:16]}" if pb.get("date", r["date"]) != r["date"] else ""
            rows.append(f"| whole demo playbook (5 notebooks + report; peak = largest process{when}) | "
                        f"{cell(pb, 'wall_s', '{:.1f} s')} | {cell(pb, 'peak_rss_children_mb', '{:.0f} MB')} | | | |")
        if pb.get("notebooks"):
            per = ", ".join(f"{k} {v['wall_s']:.0f} s / {v['peak_process_mb']:,} MB"
                            for k, v in pb["notebooks"].items())
            opts = f" (`{pb['command'].split(' -p ', 1)[1]}`)" if " -p " in pb.get("command", "") else ""
            rows.append(f"\nPlaybook{opts} per step (wall / sampled peak of the largest process): {per}.")
        if len(dates) > 1:  # steps replaced with --update: when each was measured, and the load then
            when = ", ".join(f"{k} {v.get('date', r['date'])[:16]}"
                             + (f" (load {v['loadavg_at_start'][0]:.1f})" if "loadavg_at_start" in v else "")
                             for k, v in s.items())
            rows.append(f"\nMeasured: {when}.")
        for note in r.get("notes", []):
            rows.append(f"\nNote: {note}.")
        if base:
            rows.append(f"\nBaseline child (imports only): {base:.0f} MB.")
        if "segment" in s and "kmeans_auto_s" in seg:
            rows.append(f"Segmentation ({seg['date'][:16]}): KMeans with k chosen on the seeded 10 000-member "
                        f"subsample (k = {seg['k_kmeans']}), fitted on all {seg['rows']:,} members, "
                        f"{seg['kmeans_auto_s']:.1f} s (the wall time above); the Gaussian mixture "
                        f"(k = {seg['k_gmm']}) {seg['gmm_auto_s']:.1f} s.")
        elif "segment" in s and "kmeans_s" in seg:
            rows.append(f"Segmentation: KMeans k=6 on {seg['rows']:,} members {seg['kmeans_s']:.1f} s; "
                        f"silhouette k-selection + GMM on a 10 000 subsample {seg['subsample_s']:.1f} s.")
        tr, per = s.get("transitions", {}), s.get("transitions_per_instant", {})
        if "wall_s" in tr:
            slow = (f"; one feature query per month start (a custom labeler's path) "
                    f"{per['wall_s']:.1f} s / {per['peak_rss_mb']:,.0f} MB, {per['wall_s'] / tr['wall_s']:.1f}× slower"
                    if "wall_s" in per else "")
            rows.append(f"Role transitions ({tr['date'][:16]}; notebook 02, {tr['boundaries']} month starts): "
                        f"{tr['wall_s']:.1f} s / {tr['peak_rss_mb']:,.0f} MB in one query{slow}.")
        for key in ("metrics_duckdb", "metrics_stored", "network_duckdb", "network_stored"):
            if "top" in s.get(key, {}):
                top = ", ".join(f"{k} {v:.1f} s" for k, v in s[key]["top"])
                rows.append(f"Slowest in {key}: {top}.")
    return "\n".join(rows)


if __name__ == "__main__":
    raise SystemExit(main())
