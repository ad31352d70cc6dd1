"""report.pdf: the client part printed to A4 by the system Chromium, and a run that says so when it cannot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from browser import chromium_path
from commlab.recommend import SCHEMA
from commlab.report import ReportSection, build_report
from commlab.report_pdf import PdfUnavailable, write_pdf
from commlab.runner import run_playbook
from runs_helpers import ONE_STEP, make_project, write_playbook
from test_report import executed_notebook


def fonts_embedded(raw: bytes) -> bool:
    """Every font of a PDF travels with it: glyph programs (Type3, which Chromium's Skia writes for the
    CFF-based Noto CJK) or an embedded font file; none is only named."""
    kinds = set(re.findall(rb"/Subtype /(Type3|Type0|TrueType|Type1)\b", raw))
    return bool(kinds) and (kinds <= {b"Type3"} or b"/FontFile" in raw)


def _summary() -> dict:
    facts = [{"community_id": c, "metric_id": m, "value": v} for c in ("c1", "c2")
             for m, v in (("members", 120.0), ("active_share_30d", 0.4 if c == "c1" else 0.7))]
    recs = [{"community_id": "c1", "rule_id": f"r{i}", "severity": "high", "title": f"新成员留存低{i}",
             "action": "设计入群仪式。" * 8, "evidence_text": "新成员 30 日留存 62%，同类社群中位数 100%"}
            for i in range(6)]
    return {"recommendations": {"schema": SCHEMA, "facts": facts, "recommendations": recs,
                                "suppressed_communities": [], "previous": {"as_of": "2024-05-31"}, "changes": [],
                                "recommendation_status": []}}


def test_pdf_is_a4_with_the_client_part_only(tmp_path: Path) -> None:
    pdfium = pytest.importorskip("pypdfium2")
    chromium_path()
    nb = executed_notebook(tmp_path / "a.ipynb")
    html = build_report([ReportSection(nb, "附录里的一节")], tmp_path / "report.html", title="诊断报告",
                        lang="zh", summary=_summary(), manifest={"steps": []},
                        communities=None)
    pdf = write_pdf(html)
    assert pdf == tmp_path / "report.pdf" and not list(tmp_path.glob(".report.pdf*"))
    raw = pdf.read_bytes()
    assert fonts_embedded(raw) and b"NotoSansCJK" in raw
    doc = pdfium.PdfDocument(str(pdf))
    try:
        pages = [(pg.get_width() / 72 * 25.4, pg.get_height() / 72 * 25.4) for pg in doc]
        text = "\n".join(pg.get_textpage().get_text_range() for pg in doc)
    finally:
        doc.close()
    assert all(abs(w - 210) < 1 and abs(h - 297) < 1 for w, h in pages), pages
    assert len(pages) == 3  # the scorecard, the actions and the changes each start a page
    assert "诊断报告" in text and "计分卡" in text and "新成员 30 日留存 62%" in text
    assert "附录里的一节" not in text and "kept stdout line" not in text  # the appendix stays in the HTML
    assert "附录" in text  # ... and the PDF says where it is


def test_without_chromium_the_run_says_so_and_succeeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path)
    monkeypatch.setenv("PATH", str(Path(__import__("sys").executable).parent))  # python and jupyter, no browser
    with pytest.raises(PdfUnavailable, match="Chromium is not installed, so report.pdf was not written"):
        write_pdf(tmp_path / "nothing.html")
    result = run_playbook(write_playbook(root, steps=ONE_STEP), runs_dir=root / "runs")
    assert result.status == "succeeded" and result.report.is_file()
    assert not (result.run_dir / "report.pdf").exists() and result.manifest["report_pdf"] is None
    assert any("report.pdf was not written" in w and "make browser" in w for w in result.manifest["warnings"])
