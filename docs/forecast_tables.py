"""Regenerate the evaluation tables of docs/FORECAST.md through the command line (`commlab panel`, `commlab forecast`).

Run from the repository root (about 6 minutes on 2 cores; needs ../shared/data for the Stack Exchange part):

    .venv/bin/python docs/forecast_tables.py

It writes the tables between the markers ``<!-- tables:start -->`` and ``<!-- tables:end -->`` of
docs/FORECAST.md and prints them. Every figure in that block comes from this script.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from commlab.cli import main
from commlab.data.generate_fates import write_fates

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "FORECAST.md"
SE = REPO.parent / "shared" / "data" / "se_communities_180d"


def run(*args: str) -> str:
    """``commlab ARGS``; its standard output (fails loudly on a non-zero exit)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(list(args))
    if code != 0:
        raise SystemExit(f"commlab {' '.join(args)} exited {code}")
    return buf.getvalue()


def table(title: str, out: str, command: str, seconds: float) -> str:
    body = out.split("\n\n", 1)[1].strip() if "\n\n" in out else out.strip()
    return f"#### {title}\n\n`{command}` ({seconds:.0f} s)\n\n{body}\n"


def evaluate(title: str, panel: Path, outcomes: Path, at: str, *extra: str) -> str:
    t0 = time.perf_counter()
    out = run("forecast", "evaluate", "--panel", str(panel), "--outcomes", str(outcomes), "--at", at, *extra)
    cmd = (f"commlab forecast evaluate --panel {panel.name} --outcomes {outcomes.name} --at {at}"
           + (" " + " ".join(extra) if extra else ""))
    return table(title, out, cmd, time.perf_counter() - t0)


def planted_part(tmp: Path) -> list[str]:
    parts = []
    for planted in (True, False):
        data = tmp / ("fates" if planted else "fates_null")
        write_fates(data, planted=planted)
        as_of = json.loads((data / "truth" / "assumptions.json").read_text(encoding="utf-8"))["as_of"]
        panel = tmp / ("panel.csv" if planted else "panel_null.csv")
        t0 = time.perf_counter()
        run("panel", str(data), "--as-of", as_of, "--out", str(panel), "--tz", "UTC", "--max-periods", "12")
        secs = time.perf_counter() - t0
        truth = pd.read_csv(data / "truth" / "fates.csv").query("cohort == 'old'")
        if planted:
            oracle = roc_auc_score(truth["died"], truth["p_die"])
            parts.append(f"Planted data: 200 communities with a known fate ({int(truth['died'].sum())} died), "
                         f"panel of {len(pd.read_csv(panel)):,} community-months, all "
                         f"{len(pd.read_csv(panel, nrows=1).columns) - 4} registered metrics, written by `commlab "
                         f"panel` in {secs:.0f} s. The planted rule's own probability ranks the fates with an AUC "
                         f"of {oracle:.2f}: the ceiling any forecaster can reach on these draws.\n")
            outcomes = data / "outcomes.csv"
            parts.append(evaluate("Planted fates, logistic model (default)", panel, outcomes, "1,2,3,6,8,12"))
            parts.append(evaluate("Planted fates, gradient boosting", panel, outcomes, "1,2,3,6", "--model", "hgb"))
            o = pd.read_csv(outcomes)
            o["outcome"] = np.random.default_rng(0).permutation(o["outcome"].to_numpy())
            shuffled = tmp / "outcomes_shuffled.csv"
            o.to_csv(shuffled, index=False)
            parts.append(evaluate("Shuffled outcomes (same panel, fates permuted, seed 0)", panel, shuffled,
                                  "1,2,3,6,8,12"))
        else:
            parts.append(evaluate("Nothing planted (`generate_fates(planted=False)`: every fate drawn with the "
                                  "same probability)", panel, data / "outcomes.csv", "1,2,3,6"))
    return parts


def se_part(tmp: Path) -> list[str]:
    if not SE.exists():
        return ["(../shared/data/se_communities_180d not found: Stack Exchange tables not regenerated)\n"]
    panel, outcomes = tmp / "se_panel.csv", tmp / "se_outcomes.csv"
    t0 = time.perf_counter()
    run("panel", str(SE), "--source", "se_180d", "--as-of", "created+180d", "--out", str(panel))
    secs = time.perf_counter() - t0
    run("forecast", "outcomes", str(SE), "--source", "se_180d", "--from-column", "status", "--died", "closed",
        "--out", str(outcomes))
    o = pd.read_csv(outcomes)
    parts = [f"Stack Exchange: {len(o)} sites, {int((o['outcome'] == 'died').sum())} closed "
             f"({', '.join(o.loc[o['outcome'] == 'died', 'community_id'])}); panel of "
             f"{len(pd.read_csv(panel))} site-months written by `commlab panel --source se_180d --as-of "
             f"created+180d` in {secs:.0f} s; outcomes by `commlab forecast outcomes --from-column status "
             "--died closed`.\n"]
    parts.append(evaluate("Stack Exchange, logistic model", panel, outcomes, "1,2,3,4,5,6,8,12"))
    parts.append(evaluate("Stack Exchange, gradient boosting", panel, outcomes, "1,2,3,4,5,6", "--model", "hgb"))
    return parts


def main_() -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        parts = planted_part(tmp) + se_part(tmp)
    block = "\n".join(parts)
    print(block)
    text = DOC.read_text(encoding="utf-8")
    a, b = "<!-- tables:start -->", "<!-- tables:end -->"
    if a in text and b in text:
        head, rest = text.split(a, 1)
        _, tail = rest.split(b, 1)
        DOC.write_text(f"{head}{a}\n\n{block}\n{b}{tail}", encoding="utf-8")
        print(f"written into {DOC}", file=sys.stderr)


if __name__ == "__main__":
    main_()
