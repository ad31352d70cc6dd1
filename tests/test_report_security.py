"""Nothing from a data file or a notebook output can run in a report (issue 22, point 1), without a kernel.

Hostile text enters a report two ways: through the structured outputs the client part is rendered
from (community names, recommendation texts: Jinja2 autoescape) and through notebook outputs of the
appendix (HTML, Markdown, pandas Styler: the nh3 sanitizer). The page also forbids script by CSP.
The end-to-end check (a payload in the data, through the CLI, in headless Chromium) is in
``test_report_browser.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from commlab.recommend import SCHEMA
from commlab.report import ReportSection, build_report
from commlab.sanitize import sanitize_html

PAYLOAD = "<img src=x onerror=alert(1)>云朵家电<script>alert(2)</script>"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def _hostile_notebook(path: Path) -> Path:
    """Outputs built carelessly from a name: raw HTML, Markdown, an unescaped Styler, a javascript output."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("show()")
    styler = pd.DataFrame({"name": [PAYLOAD]}, index=[PAYLOAD]).style.to_html()  # Styler does not escape
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": f"<p>{PAYLOAD}</p>"}),
        nbformat.v4.new_output("display_data", data={"text/markdown": f"**社群** {PAYLOAD} [x](javascript:alert(3))"}),
        nbformat.v4.new_output("display_data", data={"text/html": styler}),
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert(4)"}),
        nbformat.v4.new_output("display_data", data={"text/html": '<a href="data:text/html,<script>alert(5)</script>">'
                                                                  'd</a><iframe src="https://example.com"></iframe>'
                                                                  '<img src="https://example.com/t.png">'}),
        nbformat.v4.new_output("display_data", data={"image/png": PNG}),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# 概览 · Overview\n\n<svg onload=alert(6)></svg>{PAYLOAD}"), cell]
    nbformat.write(nb, path)
    return path


def _hostile_summary() -> dict:
    rec = {"community_id": "c1", "rule_id": "r1", "severity": "high", "title": f"标题{PAYLOAD}",
           "action": f"行动{PAYLOAD}", "evidence_text": f"依据{PAYLOAD}", "evidence": []}
    return {"recommendations": {
        "schema": SCHEMA, "as_of": "2024-06-30T16:00:00+00:00", "lang": "zh", "suppressed_communities": [],
        "facts": [{"community_id": "c1", "metric_id": "members", "value": 120.0},
                  {"community_id": "c1", "metric_id": "active_share_30d", "value": 0.5}],
        "recommendations": [rec], "previous": {"as_of": "2024-05-31"},
        "changes": [{"community_id": "c1", "metric_id": "active_share_30d", "before": 0.4, "after": 0.5,
                     "change": 0.1, "better": True}],
        "recommendation_status": [{"community_id": "c1", "rule_id": "r1", "status": "new", "title": rec["title"]}],
    }}


def _no_active_content(page: str) -> None:
    assert "<script" not in page.lower()
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", page, re.IGNORECASE), "an event-handler attribute survived"
    assert "javascript:" not in page.lower()
    assert "<iframe" not in page and "example.com" not in page
    assert not re.search(r'href="data:text/html', page)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_hostile_names_and_outputs_cannot_run(tmp_path: Path, lang: str) -> None:
    nb = _hostile_notebook(tmp_path / "a.ipynb")
    communities = pd.DataFrame({"community_id": ["c1"], "name": [PAYLOAD], "source": [PAYLOAD]})
    manifest = {"run_id": PAYLOAD, "steps": [{"name": "a", "parameters": {"x": PAYLOAD}}], "versions": {}}
    page = build_report([ReportSection(nb, step="a")], tmp_path / "report.html", title=f"T{PAYLOAD}", lang=lang,
                        client=PAYLOAD, summary=_hostile_summary(), communities=communities,
                        manifest=manifest).read_text(encoding="utf-8")
    _no_active_content(page)
    escaped = "&lt;img src=x onerror=alert(1)&gt;云朵家电&lt;script&gt;alert(2)&lt;/script&gt;"
    client = page[:page.index('id="appendix"')]
    # the client part is rendered from data by autoescaping templates: the name shows literally
    assert client.count(escaped) >= 6  # title, client, scorecard, action card, evidence, changes
    assert page.count("data:image/png;base64,") == 1  # the notebook's own image is kept


def test_sanitizer_keeps_report_markup_and_drops_the_rest() -> None:
    kept = ('<style>#T_1 td { color: red; }</style><table id="T_1" class="dataframe"><thead><tr>'
            '<th scope="col">社群</th></tr></thead><tbody><tr><td style="color:blue" colspan="2">1</td></tr></tbody>'
            f'</table><img src="data:image/png;base64,{PNG}" alt="图"><details><summary>s</summary>x</details>')
    assert sanitize_html(kept) == kept
    assert sanitize_html(PAYLOAD) == "云朵家电"
    link = '<a href="https://cc.org/l">l</a>'
    assert sanitize_html(link) == '<a href="https://cc.org/l" rel="noopener noreferrer">l</a>'
    for bad in ('<form action="https://x"><input name="a"></form>', '<object data="x"></object>',
                '<link rel="stylesheet" href="https://x/s.css">', '<meta http-equiv="refresh" content="0;url=https://x">',
                '<img src="data:text/html;base64,PHNjcmlwdD4=">', '<a href="javascript:alert(1)">x</a>'):
        out = sanitize_html(bad)
        assert not any(w in out for w in ("https://x", "javascript", "text/html", "<input")), out
