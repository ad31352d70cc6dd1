"""The early-warning playbook (notebook 06) through ``commlab run`` on a small planted-fates data set: its summary,
its notebook, and its report opened in headless Chromium at 1280 and 390 px."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from browser import CHROMIUM_ARGS, chromium_path
from commlab.data.generate_fates import write_fates
from commlab.rules import default_rules
from conftest import REPO
from language import foreign, visible_text

pytestmark = pytest.mark.notebook
HOSTILE = "<script>alert(1)</script>群"


def _outputs(nb) -> tuple[str, int]:
    """The visible text of the cells a report shows, and the number of figures."""
    parts, figures = [], 0
    for cell in nb.cells:
        if cell.cell_type != "code" or {"remove", "parameters"} & set(cell.metadata.get("tags", [])):
            continue
        for out in cell.outputs:
            data = out.get("data", {})
            figures += "image/png" in data
            if "text/html" in data:
                parts.append(data["text/html"])
            elif "text/markdown" in data:
                parts.append(data["text/markdown"])
            else:
                parts.append(out.get("text", ""))
    return "\n".join(parts), figures


def test_early_warning_ranks_the_young_communities_with_their_plays(tmp_path: Path) -> None:
    import nbformat

    data = tmp_path / "fates"
    write_fates(data, n_communities=60, young=6, members=(5, 9), seed=21)
    communities = pd.read_csv(data / "communities.csv", dtype=str)
    young = pd.read_csv(data / "truth" / "fates.csv", dtype=str).query("cohort == 'young'")["community_id"].tolist()
    communities.loc[communities["community_id"] == young[0], "name"] = HOSTILE
    communities.to_csv(data / "communities.csv", index=False)
    as_of = json.loads((data / "truth" / "assumptions.json").read_text(encoding="utf-8"))["as_of"]
    proc = subprocess.run(
        [sys.executable, "-m", "commlab", "-q", "run", str(REPO / "playbooks" / "early-warning.yaml"),
         "--data", str(data), "--as-of", as_of, "--runs-dir", str(tmp_path / "runs"),
         "-p", "lang", "en", "-p", "tz", "UTC",
         "-p", "horizons", "[1, 2]", "-p", "max_periods", "4", "-p", "n_repeats", "2", "-p", "n_boot", "200",
         "-p", "n_shuffles", "4"],
        capture_output=True, text=True, timeout=1200, check=False, cwd=tmp_path,
        env={**os.environ, "COMMLAB_PSEUDONYM_KEY": "test-key-early-warning"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = Path(proc.stdout.strip().splitlines()[-1])
    run = report.parent
    out = run / "early_warning.ipynb"
    s = json.loads((run / "summary.json").read_text(encoding="utf-8"))["early_warning"]
    assert s["schema"] == "commlab.early_warning/1"
    assert [h["horizon"] for h in s["evaluation"]["horizons"]] == [1, 2]
    assert s["evaluation"]["horizons"][0]["n"] == 60 and s["horizon"] == 2
    assert {r["community_id"] for r in s["ranking"]} == set(young)  # today's young communities, nothing else
    rules = {r.id for r in default_rules()}
    shown = [r for r in s["ranking"] if not r.get("suppressed")]
    assert shown and all(0 <= r["p_die"] <= 1 and r["basis"] == "forecast" for r in shown)
    assert all(set(r["plays"]) <= rules for r in shown) and any(r["plays"] for r in shown)
    # the reasons in words travel with the ranking, each with the play that addresses it (or none)
    assert all(r["drivers"] and all(d["reason"] and d["reason"] in d["text"] for d in r["drivers"]) for r in shown)
    assert all({d["rule_id"] for d in r["drivers"]} - {""} == set(r["plays"]) for r in shown)
    # the shuffled-fates check ran at the ages the shown forecasts were made at
    assert {h["horizon"] for h in s["shuffled"]["horizons"]} == {r["horizon"] for r in shown}
    assert all(h["n_shuffles"] == 4 and 0 <= h["reached"] <= 4 and 0 <= h["roc_auc"]["value"] <= 1
               for h in s["shuffled"]["horizons"])
    for r in s["ranking"]:
        if r["community_id"] in s["suppressed_communities"]:
            assert set(r) == {"community_id", "rank", "suppressed"}  # no value of a community under k members

    nb = nbformat.read(out, as_version=4)
    html, figures = _outputs(nb)
    assert figures == 2  # AUC by horizon, calibration
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    text = visible_text(html)
    assert "communities scored (died)" in text and "what drives it" in text and "recommended play" in text
    names = communities["name"].tolist() + communities["community_id"].tolist()
    practices = [r.practice for r in default_rules()]  # the practice quotes DOMAIN.md's Chinese terms
    assert foreign(text, "en", names=names + practices) == []
    _check_report(report, young)


# What the test reads of the page: the client part's early-warning section, and the ranking table once opened.
_LAYOUT = """
() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const rank = document.querySelector('table.cl-forecast-rank');
  const ew = document.getElementById('early-warning');
  const client = document.getElementById('client');
  return {
    scroll_width: document.documentElement.scrollWidth, inner_width: window.innerWidth,
    rank_scroll: rank.scrollWidth, rank_client: rank.clientWidth,
    rank_right: Math.round(rank.getBoundingClientRect().right),
    rank_row_display: getComputedStyle(rank.querySelector('tbody tr')).display,
    label: getComputedStyle(rank.querySelector('tbody td'), '::before').content,
    in_client: !!ew && client.contains(ew), cards: ew ? ew.querySelectorAll('.cl-ew-card').length : 0,
    ew_text: ew ? ew.innerText : '',
  };
}
"""


def _check_report(report: Path, young: list[str]) -> None:
    """In the client part: the young communities at risk as cards, with the AUC beside shuffled fates. At 390 px
    nothing scrolls sideways, not even the ranking table (it becomes cards with labelled lines)."""
    from playwright.sync_api import sync_playwright

    html = report.read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;群" in html
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            seen = {}
            for width in (1280, 390):
                page = browser.new_page(viewport={"width": width, "height": 844})
                page.route("http*://**", lambda route: route.abort())
                page.goto(report.resolve().as_uri(), wait_until="load")
                seen[width] = page.evaluate(_LAYOUT)
                page.close()
        finally:
            browser.close()
    wide, phone = seen[1280], seen[390]
    assert wide["in_client"] and wide["cards"] == min(6, len(young))
    assert "Can the forecast be trusted" in wide["ew_text"] and "with shuffled fates" in wide["ew_text"]
    assert "Verdict:" in wide["ew_text"] and "Play" in wide["ew_text"]
    assert wide["rank_row_display"] == "table-row" and wide["label"] == "none"
    assert phone["scroll_width"] <= phone["inner_width"] == 390
    assert phone["rank_row_display"] == "block" and phone["label"] == '"rank"'
    assert phone["rank_scroll"] <= phone["rank_client"] + 1 and phone["rank_right"] <= 390  # no sideways scroll inside
