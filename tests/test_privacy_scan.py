"""The privacy scan of shareable files, and CSV links of report tables (no kernel needed)."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from pathlib import Path

import pandas as pd

from commlab.privacy import identity_needles, scan_files, scan_text, vocabulary
from commlab.report import add_csv_links

MEMBERS = pd.DataFrame({
    "community_id": ["c1"] * 5,
    "member_id": ["7", "m1", "u_483920", "2024", "13800138000"],
    "display_name": ["王敏娟", "Amy", "A&B Studio", "阿丽", "Community"],
})


def test_needles_skip_tiny_ids_but_keep_chinese_names() -> None:
    needles = identity_needles(MEMBERS, ignore=vocabulary(["Community health", "活跃"]))
    # "7", "m1", "Amy": too short; "2024": digits only and short (a year, a count); "Community": a kit word
    assert needles == {"王敏娟": "display_name", "A&B Studio": "display_name", "阿丽": "display_name",
                       "u_483920": "member_id", "13800138000": "member_id"}


def test_scan_sees_through_html_and_json_escaping(tmp_path: Path) -> None:
    needles = identity_needles(MEMBERS)
    assert scan_text("<td>A&amp;B Studio</td>", needles) == [("display_name", "A&B Studio")]
    escaped = json.dumps({"top": "\u963f\u4e3d"}, ensure_ascii=True)  # "阿丽" written as \\u escapes
    assert "阿丽" not in escaped and scan_text(escaped, needles) == [("display_name", "阿丽")]
    assert scan_text("<p>7 members, 2024-07-01, m1 pseudonym m_3f9a0c1b2d4e</p>", needles) == []
    # Latin needles match whole words only; Chinese ones anywhere
    assert scan_text("<p>xu_483920 u_4839201 A&amp;B Studios</p>", needles) == []
    assert scan_text("<p>(u_483920)</p><p>阿丽说</p>", needles) == [("display_name", "阿丽"), ("member_id", "u_483920")]
    # embedded images/CSV payloads are not searched (random base64 holds id-like runs by chance) ...
    assert scan_text('<img src="data:image/png;base64,iVBO13800138000w0KGgo=">', needles) == []
    # ... but everything around them is
    assert scan_text('<img src="data:image/png;base64,iVBORw0KGgo="><td>13800138000</td>', needles) == [
        ("member_id", "13800138000")]
    report = tmp_path / "report.html"
    report.write_text("<table><tr><td>top member</td><td>u_483920</td></tr></table>", encoding="utf-8")
    (tmp_path / "summary.json").write_text('{"ok": true}', encoding="utf-8")
    leaks = scan_files([report, tmp_path / "summary.json", tmp_path / "missing.json"], MEMBERS)
    assert leaks == ["report.html: member_id u…(8 chars)"]
    assert "u_483920" not in " ".join(leaks)  # the message itself leaks nothing


def test_bundled_samples_have_searchable_identities(samples_dir: Path) -> None:
    """The report tests search for these; make sure there is something to search for."""
    members = pd.read_csv(samples_dir / "members.csv", dtype=str)
    needles = identity_needles(members)
    kinds = pd.Series(needles).value_counts()
    assert kinds["member_id"] == members["member_id"].nunique() and kinds["display_name"] > 1000


def test_every_table_gets_a_csv_link_with_its_cells() -> None:
    page = ("<p>x</p><table><thead><tr><th>社群</th><th>share, %</th></tr></thead>"
            "<tbody><tr><td>读书会</td><td>12 &amp; 3</td></tr></tbody></table><table></table>")
    out = add_csv_links(page)
    links = re.findall(r'<a download="(table-\d+\.csv)" href="data:text/csv;charset=utf-8;base64,([^"]+)">CSV</a>', out)
    assert len(links) == 1 and links[0][0] == "table-1.csv"  # the empty table gets none
    text = base64.b64decode(links[0][1]).decode("utf-8")
    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text.lstrip("\ufeff")))) == [["社群", "share, %"], ["读书会", "12 & 3"]]
    assert out.index("CSV</a>") < out.index("<table>")
