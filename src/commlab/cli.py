"""The ``commlab`` command line.

Each sub-command parses its arguments and calls the one function Python
callers use (``run_playbook``, ``load_dataset``, ...). Every
:class:`~commlab.errors.CommlabError` becomes one line on stderr and its
``exit_code``; a user mistake never prints a traceback.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from commlab import __version__
from commlab.errors import CommlabError, DataValidationError
from commlab.startup import skip_iri_grammar

__all__ = ["main", "build_parser"]

EPILOG = """\
exit codes:
  0  success
  1  unexpected internal error (a bug: please report it) or an operating-system error
  2  usage error (bad arguments, missing file, missing Jupyter kernel)
  3  bad data (the input failed validation)
  4  bad playbook or parameter (invalid playbook file, unknown, wrongly typed or out-of-range
     parameter, k below 2, communities not in the data, an as-of outside the data's range,
     a notebook or rule file outside the allowed folders, --compare-with a run of other data,
     an engine that cannot run here, e.g. engine: spark without pyspark)
  5  a notebook failed while executing (the failed notebook is kept in the run folder)
  6  a run of the same playbook on the same data is running (its run id is named; --wait queues)
  7  the privacy scan found a raw member id or display name in report.html/summary.json
     (the run is failed, its files renamed *.blocked, `latest` not moved)
  130/143  interrupted (Ctrl-C / SIGTERM)

scheduled runs (cron, Airflow): pass --as-of explicitly (without it a run analyses at the end of the
data's last day); each run compares itself with the latest successful run of the same playbook on the
same data (data folder and communities), never with another data set's. Retry on 1 and 6
(transient); do not retry 2, 3, 4, 5 or 7 without a fix.

examples:
  commlab run playbooks/demo.yaml --as-of 2024-06-30
  commlab run playbooks/demo.yaml -p lang en -p communities '[c01, c02]'
  commlab validate data/samples
  commlab params notebooks/01_overview.ipynb
"""

log = logging.getLogger("commlab")


def _out(text: str = "") -> None:
    print(text, flush=True)


# --- commands -------------------------------------------------------------------------------------


def _cmd_run(args: argparse.Namespace) -> int:
    from commlab.runner import run_playbook

    overrides = dict(args.param or [])
    result = run_playbook(
        args.playbook, runs_dir=args.runs_dir, as_of=args.as_of, kernel_name=args.kernel,
        timeout=args.timeout if args.timeout and args.timeout > 0 else None, overrides=overrides or None,
        data_dir=args.data, notebooks_dirs=args.notebooks_dir or (), rules_library=args.rules,
        compare_with=args.compare_with, allow_stale_as_of=args.allow_stale_as_of, wait=args.wait,
        jobs=args.jobs,
    )
    for warning in result.manifest.get("warnings", []):
        log.warning("warning: %s", warning)
    _out(str(result.report))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from commlab.data.load import check_dataset
    from commlab.settings import settings_from_env

    # checks only: large event files are not ordered and written, as a load would
    _out(str(check_dataset(args.data_dir, tz=args.tz, stream=settings_from_env().stream_events)))
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from commlab.data.schema import describe_tables

    _out(describe_tables())
    return 0


def _cmd_playbooks(args: argparse.Namespace) -> int:
    from commlab.errors import PlaybookError
    from commlab.playbook import find_playbooks

    found = find_playbooks(args.dir)
    if not found:
        _out(f"no playbooks (*.yaml) in {args.dir}")
        return 0
    bad = 0
    for path, pb in found:
        if isinstance(pb, PlaybookError):
            bad += 1
            _out(f"{path}  INVALID: {pb.one_line()}")
        else:
            title = " / ".join(t for t in dict.fromkeys((pb.title.zh, pb.title.en)) if t)
            absent = f"; its data folder {pb.data} is absent: run it with --data DIR" if (
                pb.data is not None and not pb.data.is_dir()) else ""
            _out(f"{pb.name:<20} {title}  ({len(pb.steps)} step(s); {path}{absent})")
    return 4 if bad else 0


def _cmd_params(args: argparse.Namespace) -> int:
    from commlab.parameters import notebook_parameters

    params = notebook_parameters(args.notebook)
    if not params:
        _out(f"{args.notebook}: no cell tagged 'parameters'")
        return 0
    rows = [(p.name, p.type or "any", p.default, p.help) for p in params.values()]
    widths = [max(len(r[i]) for r in [("name", "type", "default", ""), *rows]) for i in range(3)]
    _out(f"{'name':<{widths[0]}}  {'type':<{widths[1]}}  {'default':<{widths[2]}}  help")
    for r in rows:
        _out(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}".rstrip())
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    if args.fates:
        from commlab.data.generate_fates import FATES_SEED, SHIPPED_FATES, write_fates
        from commlab.errors import UsageError

        if args.scale is not None:
            raise UsageError("--scale is for the samples; --fates writes the planted-fates set as shipped "
                             "(drop --scale, or drop --fates for the samples)")
        seed = FATES_SEED if args.seed is None else args.seed
        written = write_fates(args.out_dir, seed=seed, **SHIPPED_FATES)
        for name, path in written.items():
            _out(f"{name}: {path}")
        _out(str(args.out_dir))
        return 0
    from commlab.data.generate import write_samples  # written by the data team; imported only when needed

    written = write_samples(args.out_dir, seed=20240601 if args.seed is None else args.seed,
                            scale=1.0 if args.scale is None else args.scale)
    for name, path in (written or {}).items():
        _out(f"{name}: {path}")
    _out(str(args.out_dir))
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from commlab.errors import UsageError
    from commlab.importers import import_source
    from commlab.settings import settings_from_env

    options: dict[str, str] = {}
    for item in args.option or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--option expects KEY=VALUE, got {item!r}")
        options[key.strip().replace("-", "_")] = value
    report = import_source(args.format, args.source, args.out, pseudonym_key=settings_from_env().pseudonym_key,
                           **options)
    _out(report.summary())
    _out(str(args.out))
    return 0


def _cmd_panel(args: argparse.Namespace) -> int:
    from commlab.forecast.commands import write_panel
    from commlab.settings import settings_from_env

    _out(write_panel(args.data_dir, args.out, as_of=args.as_of, period=args.period, source=args.source,
                     tz=args.tz, metrics=args.metrics, max_periods=args.max_periods,
                     dormant_days=args.dormant_days, load_options=settings_from_env().load_options()))
    return 0


def _cmd_forecast(args: argparse.Namespace) -> int:
    from commlab.forecast import commands
    from commlab.settings import settings_from_env

    if args.action == "evaluate":
        _out(commands.evaluate_files(args.panel, args.outcomes, at=args.at, model=args.model,
                                     as_json=args.json, died=args.died, survived=args.survived,
                                     repeats=args.repeats, boot=args.boot, seed=args.seed, shuffle=args.shuffle))
    else:
        _out(commands.write_outcomes(args.data_dir, args.out, source=args.source, tz=args.tz, as_of=args.as_of,
                                     from_column=args.from_column, died=args.died,
                                     window_days=args.window_days, min_active=args.min_active,
                                     load_options=settings_from_env().load_options()))
    return 0


def _cmd_replies_score(args: argparse.Namespace) -> int:
    import json

    from commlab.replies.evaluate import pairs_of, report_json, report_text, score_pairs

    per, totals = score_pairs(pairs_of(args.raw, args.annotation))
    _out(json.dumps(report_json(per, totals), indent=1) if args.json else report_text(per, totals))
    return 0


# --- parser ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``commlab`` (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="commlab",
        description="commlab: research and playbook kit for community operations (社群运营).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"commlab {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only results and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    # -q is accepted after the command too (commlab run x.yaml -q); SUPPRESS keeps the top-level value otherwise
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="print only results and errors")

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_, description=help_, epilog=EPILOG, parents=[common],
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    p = add("run", "run a playbook; prints the path of the report as the last line")
    p.add_argument("playbook", metavar="PLAYBOOK", help="playbook file, e.g. playbooks/demo.yaml")
    p.add_argument("--as-of", metavar="DATE", help="ISO date/time (UTC) the analysis is computed at, for every step")
    p.add_argument("--data", metavar="DIR",
                   help="run on this data folder instead of the playbook's 'data' (without --as-of: analysed at "
                        "the end of the data's last day)")
    p.add_argument("--allow-stale-as-of", action="store_true",
                   help="accept an as-of before the data's first event or more than 30 days after its last")
    p.add_argument("--compare-with", metavar="RUN_DIR",
                   help="compare with this run folder (a successful run of the playbook on the same data); "
                        "default: the latest such run")
    p.add_argument("--notebooks-dir", metavar="DIR", action="append",
                   help="also allow the playbook's steps to run notebooks from DIR (repeatable); by default only "
                        "notebooks/ beside the playbook and the kit's own notebooks/")
    p.add_argument("--rules", metavar="FILE",
                   help="rule library to evaluate instead of the playbook's rules.library (may lie anywhere)")
    p.add_argument("--wait", action="store_true",
                   help="if the playbook is already running on the same data, wait for it instead of exiting 6")
    p.add_argument("--runs-dir", metavar="DIR", default="runs", help="root of the run folders (default: runs)")
    p.add_argument("--kernel", metavar="NAME", default="commlab", help="Jupyter kernel (default: commlab)")
    p.add_argument("--timeout", metavar="S", type=float, default=1800,
                   help="seconds a single cell may run; 0 for no limit (default: 1800)")
    p.add_argument("-j", "--jobs", metavar="N", type=int,
                   help="run up to N steps at once (1-8; default: the playbook's jobs, else 1); each running step "
                        "has its own memory bound")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"),
                   help="set a parameter for every step that declares it; converted to the declared type "
                        "(lists as [a, b] or JSON)")
    p.set_defaults(func=_cmd_run)

    p = add("validate", "validate a data folder (communities, members, events)")
    p.add_argument("data_dir", metavar="DATA_DIR")
    p.add_argument("--tz", metavar="ZONE", default="Asia/Shanghai",
                   help="zone naive times are read in (default: Asia/Shanghai)")
    p.set_defaults(func=_cmd_validate)

    p = add("schema", "print the columns and vocabularies of the three tables (Markdown)")
    p.set_defaults(func=_cmd_schema)

    p = add("playbooks", "list the playbooks in a folder with their titles")
    p.add_argument("dir", metavar="DIR", nargs="?", default="playbooks", help="folder (default: playbooks)")
    p.set_defaults(func=_cmd_playbooks)

    p = add("params", "list a notebook's parameters with types and defaults")
    p.add_argument("notebook", metavar="NOTEBOOK")
    p.set_defaults(func=_cmd_params)

    p = add("generate", "write a seeded synthetic data set: the samples, or with --fates the planted-fates set")
    p.add_argument("out_dir", metavar="OUT_DIR")
    p.add_argument("--fates", action="store_true",
                   help="write the communities with planted fates of the early-warning playbook (data/fates: "
                        "132 communities, outcomes.csv, truth/, ASSUMPTIONS.md) instead of the samples")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed (default: 20240601 for the samples, 20240624 with --fates)")
    p.add_argument("--scale", type=float, default=None, help="member-count multiplier of the samples (default: 1.0)")
    p.set_defaults(func=_cmd_generate)

    p = add("import", "convert a platform export into the canonical tables (Parquet), all or nothing")
    p.add_argument("format", metavar="FORMAT",
                   help="stackexchange_xml, se_180d, snap, telegram, slack, discord, discourse, wechat, qq, wecom, "
                        "irc, mapping (see docs/IMPORTERS.md)")
    p.add_argument("source", metavar="SOURCE", help="the export file or folder")
    p.add_argument("--out", metavar="DIR", required=True, help="folder to write (must not hold other data)")
    p.add_argument("-o", "--option", action="append", metavar="KEY=VALUE",
                   help="format option, e.g. -o mapping=map.yaml or -o theme=interest (repeatable)")
    p.set_defaults(func=_cmd_import)

    p = add("panel", "write each community's metrics per period since its creation (no look-ahead) as a CSV")
    p.add_argument("data_dir", metavar="DATA_DIR")
    p.add_argument("--out", metavar="FILE", required=True, help="CSV to write (e.g. panel.csv)")
    p.add_argument("--as-of", metavar="DATE",
                   help="end of the data (UTC), or created+180d (each community's creation + 180 days); default: "
                        "created+180d with --source se_180d, else the end of the data's last day")
    p.add_argument("--period", choices=("day", "week", "month"), default="month",
                   help="period length (month = 30 days; default: month)")
    p.add_argument("--source", choices=("canonical", "se_180d"), default="canonical",
                   help="layout of DATA_DIR (default: canonical)")
    p.add_argument("--tz", metavar="ZONE", default="Asia/Shanghai", help="zone of naive times (default: Asia/Shanghai)")
    p.add_argument("--metrics", metavar="IDS", help="comma-separated metric ids (default: all registered)")
    p.add_argument("--max-periods", metavar="N", type=int, help="at most N periods per community")
    p.add_argument("--dormant-days", metavar="D", type=int, default=30,
                   help="a community leaves the panel after D days without member activity; 0 keeps every period "
                        "(default: 30)")
    p.set_defaults(func=_cmd_panel)

    p = add("forecast", "early warning: evaluate the forecast of which communities die, or write outcomes")
    fsub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    e = fsub.add_parser("evaluate", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
                        help="out-of-sample scores per horizon, model against a majority-class baseline",
                        description="Repeated stratified cross-validation over communities, per horizon k: the "
                                    "communities still in the panel at k, the base rate, ROC AUC, accuracy, "
                                    "balanced accuracy and Brier score with bootstrap intervals, for the model "
                                    "and a majority-class baseline on the same folds.")
    e.add_argument("--panel", metavar="CSV", required=True,
                   help="community_id, period and any numeric metric columns (e.g. from commlab panel)")
    e.add_argument("--outcomes", metavar="CSV", required=True, help="community_id, outcome (died/survived or 1/0)")
    e.add_argument("--at", metavar="K,K", default="1,2,3,6,8,12", help="horizons (default: 1,2,3,6,8,12)")
    e.add_argument("--model", choices=("logit", "hgb"), default="logit", help="default: logit")
    e.add_argument("--json", action="store_true", help="print JSON instead of a table")
    e.add_argument("--died", metavar="LABEL", action="append", help="outcome label meaning died (repeatable)")
    e.add_argument("--survived", metavar="LABEL", action="append", help="outcome label meaning survived (repeatable)")
    e.add_argument("--repeats", metavar="N", type=int, default=5, help="cross-validation repeats (default: 5)")
    e.add_argument("--boot", metavar="N", type=int, default=1000, help="bootstrap resamples (default: 1000)")
    e.add_argument("--seed", metavar="N", type=int, default=0, help="random seed (default: 0)")
    e.add_argument("--shuffle", metavar="SEED", type=int,
                   help="first permute the outcomes among the communities with this seed: the no-signal check "
                        "(its AUC should sit near 0.5)")
    o = fsub.add_parser("outcomes", parents=[common], help="write outcomes.csv from a column or a rule on activity")
    o.add_argument("data_dir", metavar="DATA_DIR")
    o.add_argument("--out", metavar="FILE", required=True, help="CSV to write")
    o.add_argument("--source", choices=("canonical", "se_180d"), default="canonical")
    o.add_argument("--tz", metavar="ZONE", default="Asia/Shanghai")
    o.add_argument("--from-column", metavar="COLUMN", help="take the fate from this communities column (e.g. status)")
    o.add_argument("--died", metavar="VALUE", action="append", help="value of that column meaning died (repeatable)")
    o.add_argument("--as-of", metavar="DATE",
                   help="end of the data for the activity rule (or created+180d); default: created+180d with "
                        "--source se_180d, else the end of the data's last day")
    o.add_argument("--window-days", metavar="D", type=int, default=90,
                   help="activity rule: died = fewer than --min-active active members in the last D days (default: 90)")
    o.add_argument("--min-active", metavar="N", type=int, default=3, help="activity rule threshold (default: 3)")
    p.set_defaults(func=_cmd_forecast)

    p = add("replies", "reply inference for chat logs (who answered whom)")
    rsub = p.add_subparsers(dest="replies_command", metavar="ACTION", required=True)
    p = rsub.add_parser(
        "score", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
        help="link precision, recall and F1 of the kit's reply inference against an annotated IRC log",
        description="Score the kit's reply inference, and the rules 'previous message' and 'name at start', "
                    "against annotation files in the format of Kummerfeld et al. 2019 ('parent child -' per "
                    "line; 0-based line numbers of the raw log), with the paper's link precision/recall/F1.")
    p.add_argument("raw", metavar="RAW_LOG", help="raw IRC log (.gz accepted), or a folder of "
                   "X.raw.txt / X.annotation.txt pairs")
    p.add_argument("annotation", metavar="ANNOTATION", nargs="?", help="its annotation (omit for a folder)")
    p.add_argument("--json", action="store_true", help="print JSON (totals and per file)")
    p.set_defaults(func=_cmd_replies_score)
    return parser


# --- entry point ----------------------------------------------------------------------------------


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _setup_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("commlab: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).
    """
    skip_iri_grammar()  # before anything imports nbformat: 0.9 s of every start (commlab.startup)
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on an argparse error
    _setup_logging(args.quiet)
    if args.command == "run":
        # Let a scheduler's SIGTERM unwind like Ctrl-C, so the run is marked interrupted.
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return int(args.func(args))
    except DataValidationError as exc:
        print(f"commlab: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except CommlabError as exc:
        print(f"commlab: error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("commlab: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:
        if exc.code == 128 + signal.SIGTERM:
            print("commlab: terminated (SIGTERM)", file=sys.stderr)
        raise
    except OSError as exc:
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"commlab: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - the last resort: a bug
        traceback.print_exc(file=sys.stderr)
        print(f"commlab: internal error: {type(exc).__name__}: {exc} (a bug: please report it with the "
              "traceback above)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
