"""The demo report in a real browser, in both languages, and a scheduled second run that compares itself
with the first.

Two runs of ``playbooks/demo.yaml`` share one runs folder (module-scoped, ~2–3 min each here):

1. ``lang: zh`` (the playbook's own language) with ``--as-of 2024-06-01``;
2. ``-p lang en`` with ``--as-of 2024-07-01``: the runner finds run 1 through ``latest`` and passes
   its ``summary.json`` as ``previous_summary``, so the executive summary shows what changed.
"""

from __future__ import annotations

import json
import os
import re
import secrets

import pandas as pd
import pytest

from browser import PageReport, open_report
from commlab.privacy import identity_needles, scan_text
from commlab.runner import RunResult, latest_run, run_playbook
from conftest import REPO

pytestmark = [pytest.mark.browser, pytest.mark.notebook]

DEMO = REPO / "playbooks" / "demo.yaml"
KEY = "demo-key-" + secrets.token_hex(12)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunResult]:
    runs_dir = tmp_path_factory.mktemp("demo-runs")
    before = os.environ.get("COMMLAB_PSEUDONYM_KEY")
    os.environ["COMMLAB_PSEUDONYM_KEY"] = KEY
    try:
        zh = run_playbook(DEMO, runs_dir=runs_dir, as_of="2024-06-01")
        en = run_playbook(DEMO, runs_dir=runs_dir, as_of="2024-07-01", overrides={"lang": "en"})
    finally:
        if before is None:
            os.environ.pop("COMMLAB_PSEUDONYM_KEY", None)
        else:
            os.environ["COMMLAB_PSEUDONYM_KEY"] = before
    assert latest_run(runs_dir, "demo") == en.run_dir
    return {"zh": zh, "en": en}


@pytest.fixture(scope="module")
def pages(runs: dict[str, RunResult], tmp_path_factory: pytest.TempPathFactory) -> dict[str, PageReport]:
    shots = tmp_path_factory.mktemp("shots")
    return {lang: open_report(r.report, screenshot=shots / f"{lang}.png") for lang, r in runs.items()}


def _recs(run: RunResult) -> dict:
    return run.summary["recommendations"]


HEADINGS = {
    "zh": ["执行摘要", "计分卡", "全部建议", "与上次运行相比", "社群概览", "社群健康度", "方法附录"],
    "en": ["Executive summary", "Scorecard", "All recommendations", "Since the previous run", "Community overview",
           "Community health", "Methods appendix"],
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_loads_cleanly_offline_on_a_phone(pages: dict[str, PageReport], runs: dict[str, RunResult],
                                                 lang: str) -> None:
    page = pages[lang]
    assert page.console_errors == [] and page.failed_requests == []
    assert page.images >= 3 and page.broken_images == []
    assert page.cjk_renders  # community names are Chinese in both languages
    assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}"' in page.html
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page.html
    n_tables = len(re.findall(r"<table\b", page.html))
    assert n_tables >= 5 and page.html.count(">CSV</a>") == n_tables  # every table has its CSV link
    assert page.title == runs["zh"].playbook.title.get(lang)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_executive_summary_comes_first_in_the_chosen_language(pages: dict[str, PageReport],
                                                              runs: dict[str, RunResult], lang: str) -> None:
    text = pages[lang].text
    positions = [text.find(h) for h in HEADINGS[lang]]
    assert -1 not in positions, dict(zip(HEADINGS[lang], positions, strict=True))
    assert positions == sorted(positions)  # summary, then the other sections, then the appendix
    other = "en" if lang == "zh" else "zh"
    assert not any(h in text for h in HEADINGS[other][:4] + HEADINGS[other][-1:])
    recs = _recs(runs[lang])["recommendations"]
    assert recs, "the samples fire recommendations"
    first = recs[0]
    assert first["title"] in text and first["action"] in text and first["evidence_text"] in text
    assert first["title"] == next(r for r in runs[lang].playbook.rules.resolved()
                                  if r.id == first["rule_id"]).title.get(lang)


def test_second_run_compares_with_the_first(runs: dict[str, RunResult], pages: dict[str, PageReport]) -> None:
    first, second = _recs(runs["zh"]), _recs(runs["en"])
    assert runs["zh"].manifest["previous_run"] is None and first["previous"] is None
    assert runs["en"].manifest["previous_run"] == runs["zh"].run_dir.name
    assert second["previous"]["as_of"].startswith("2024-06-01")
    status = pd.DataFrame(second["recommendation_status"])
    before = {(r["community_id"], r["rule_id"]) for r in first["recommendations"]}
    after = {(r["community_id"], r["rule_id"]) for r in second["recommendations"]}
    expected = ({k: "new" for k in after - before} | {k: "ongoing" for k in after & before}
                | {k: "resolved" for k in before - after})
    assert dict(zip(zip(status["community_id"], status["rule_id"], strict=True), status["status"],
                    strict=True)) == expected
    assert after != before, "a month apart, the samples change which rules fire"
    assert second["changes"], "key metrics moved between 2024-06-01 and 2024-07-01"
    text = pages["en"].text
    counts = status["status"].value_counts()
    line = " · ".join(f"{s}: {counts.get(s, 0)}" for s in ("new", "ongoing", "resolved"))
    assert line in text
    assert "first run of this playbook" not in text
    assert "这是本剧本的第一次运行" in pages["zh"].text


def test_no_member_identity_or_key_in_shareable_files(runs: dict[str, RunResult],
                                                      pages: dict[str, PageReport]) -> None:
    members = pd.read_csv(REPO / "data" / "samples" / "members.csv", dtype=str)
    needles = identity_needles(members)
    assert len(needles) > 5000
    for lang, run in runs.items():
        for text in (pages[lang].text, pages[lang].html, run.report.read_text(encoding="utf-8"),
                     (run.run_dir / "summary.json").read_text(encoding="utf-8")):
            assert scan_text(text, needles) == [], lang
        assert run.manifest["privacy"]["keyed"] is True
        for f in run.run_dir.rglob("*"):
            if f.is_file() and f.suffix in (".html", ".json", ".yaml", ".ipynb", ".log"):
                assert KEY not in f.read_text(encoding="utf-8", errors="replace"), f
        manifest = json.loads((run.run_dir / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["status"] == "succeeded" and KEY not in json.dumps(manifest)
