"""The privacy scan of shareable files, and CSV links of report tables (no kernel needed)."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from commlab.privacy import identity_needles, scan_files, scan_text, vocabulary
from commlab.report import add_csv_links

MEMBERS = pd.DataFrame({
    "community_id": ["c1"] * 5,
    "member_id": ["7", "m1", "u_483920", "2024", "13800138000"],
    "display_name": ["王敏娟", "Amy", "A&B Studio", "阿丽", "Community"],
})


def test_needles_skip_tiny_ids_but_keep_chinese_names() -> None:
    needles = identity_needles(MEMBERS)
    # "7", "m1": too short; "2024": digits only and short (a year, a count); "Community": a COMMON_WORDS word;
    # "Amy": a given name, searched from 3 letters (tests/test_privacy_names.py)
    assert needles == {"王敏娟": "display_name", "a&b studio": "display_name", "阿丽": "display_name",
                       "amy": "display_name", "u_483920": "member_id", "13800138000": "member_id"}


def test_scan_sees_through_html_and_json_escaping(tmp_path: Path) -> None:
    needles = identity_needles(MEMBERS)
    assert scan_text("<td>A&amp;B Studio</td>", needles) == [("display_name", "a&b studio")]
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
    # needles prepared before the files exist (as the runner does while the notebooks run) find the same
    prepared = identity_needles(MEMBERS).prepared()
    files = [report, tmp_path / "summary.json", tmp_path / "missing.json"]
    assert scan_files(files, MEMBERS.iloc[:0], needles=prepared) == leaks  # the members are not read again
    (tmp_path / "summary.json").write_text('{"top": "阿丽"}', encoding="utf-8")
    assert scan_files(files, MEMBERS, needles=prepared) == leaks + ["summary.json: display_name 阿…(2 chars)"]


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


def test_a_csv_download_is_searched_decoded() -> None:
    """A CSV link joins a cell's text across the tags inside it ("王敏<div></div>娟" becomes "王敏娟"),
    which the page shows apart: the scan reads the decoded CSV too, not only the page."""
    needles = identity_needles(MEMBERS)
    page = add_csv_links("<table><tr><td>王敏<div></div>娟</td><td>u_<div>483920</div></td></tr></table>")
    assert scan_text(page.split('<div class="cl-csv">', 1)[0] + page.split("</a></div>", 1)[1], needles) == []
    assert sorted(scan_text(page, needles)) == [("display_name", "王敏娟"), ("member_id", "u_483920")]
    payload = base64.b64encode(b"13800138000").decode()
    assert scan_text(f'<a href="data:image/png;base64,{payload}">x</a>', needles) == []  # other payloads: skipped
    assert scan_text('<a href="data:text/csv;base64,@@not-base64">x</a>', needles) == []


def test_invisible_characters_case_and_width_do_not_hide_an_identity() -> None:
    """Issue 22: a zero-width space inside a name (or an id), full-width letters or another case
    slipped past the scan."""
    members = pd.DataFrame({"community_id": ["c1"] * 3, "member_id": ["c01_0004", "u_77", "lilei"],
                            "display_name": ["高佳芳", "Kevin", "wangfang"]})
    needles = identity_needles(members)
    hits = lambda text: sorted(n for _, n in scan_text(text, needles))  # noqa: E731
    assert hits("<td>高\u200b佳芳</td>") == ["高佳芳"]
    assert hits("<td>c01\u200b_0004</td>") == ["c01_0004"]
    assert hits("<td>ｃ０１＿０００４</td>") == ["c01_0004"]            # full-width
    assert hits("<p>KEVIN, Wang\u00adFang</p>") == ["kevin", "wangfang"]  # case, soft hyphen
    assert hits("<p>高<b></b>佳芳 and Li&#8203;Lei</p>") == ["lilei", "高佳芳"]  # an entity for U+200B
    assert hits("<p>高<span>佳</span>芳</p>") == ["高佳芳"]
    # the normalisation does not join the texts of two table cells
    assert hits("<td>高</td><td>佳芳</td>") == []
    # and a name in the visible text is still matched as a whole word
    assert hits("<p>Kevinson lileis</p>") == []


def test_no_identity_is_exempt_because_it_appears_elsewhere(tmp_path: Path) -> None:
    """Issue 22: common names (in the kit's source as generator name pools), English words and the
    kit's own words (``Legend``, ``Model``) and a member id placed in a community name were never
    searched. Now only COMMON_WORDS and a chosen word (the data folder's name) are not."""
    names = ["Kevin", "Luna", "wangfang", "lilei", "王敏娟", "Community", "群主", "Legend", "Model", "grace"]
    members = pd.DataFrame({"community_id": ["c1"] * len(names), "member_id": [f"x{i}" for i in range(len(names))],
                            "display_name": names})
    needles = identity_needles(members, chosen=vocabulary(["data/grace"]))
    assert set(needles) == {"kevin", "luna", "wangfang", "lilei", "王敏娟", "legend", "model"}
    report = tmp_path / "report.html"
    # a member id used as a community name: the community's name shows in every table
    report.write_text("<meta charset='utf-8'><h3>社群 c01_0004</h3><td>Luna</td>", encoding="utf-8")
    members = pd.DataFrame({"member_id": ["c01_0004", "meta"], "display_name": ["Luna", "Meta"]})
    leaks = scan_files([report], members)
    # the <meta> element's name is markup, not the member called Meta
    assert sorted(leaks) == ["report.html: display_name l…(4 chars)", "report.html: member_id c…(8 chars)"]


def test_markup_is_not_read_but_what_a_person_is_shown_is() -> None:
    """Issue 22: the scan parses the page. Tag and attribute names, class names, element ids,
    style sheets, links to the page's own anchors, the page's settings and embedded images are the
    kit's markup; text, alt text, titles, phone labels, comments, links elsewhere and CSV
    downloads are read (entities undone)."""
    members = pd.DataFrame({"member_id": ["u_483920", "x2", "x3", "x4", "x5", "x6", "x7"],
                            "display_name": ["Legend", "viewport", "Orbit", "Kevin", "Physics", "Luna", "section"]})
    needles = identity_needles(members)
    page = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:">'
            '<meta name="viewport" content="width=device-width"><style>.cl-legend { color: red } '
            '/* orbit physics */</style></head><body><section id="kevin" class="cl-section">'
            '<p class="cl-legend"><a href="#luna">x</a></p>'
            '<img src="data:image/png;base64,iVBORu483920w0KGgo=" alt="a chart" width="5">'
            '<td id="T_1_row0_col0" class="data row0 col0">1</td></section></body></html>')
    assert scan_text(page, needles) == []
    shown = {
        '<img alt="Bar chart: LEGEND leads" src="data:image/png;base64,iVBO">': ("display_name", "legend"),
        '<abbr title="Orbit">o</abbr>': ("display_name", "orbit"),
        '<td data-label="Physics">1</td>': ("display_name", "physics"),
        "<!-- Kevin -->": ("display_name", "kevin"),
        '<a href="https://example.org/u/u_483920">profile</a>': ("member_id", "u_483920"),
        '<a href="https://example.org/%4Cuna">x</a>': ("display_name", "luna"),
        "<p>Top: Lu<b></b>na &amp; co</p>": ("display_name", "luna"),
    }
    for html_text, hit in shown.items():
        assert scan_text(page.replace("<p ", html_text + "<p ", 1), needles) == [hit], html_text


def test_json_keys_are_field_names_values_are_read() -> None:
    """summary.json: every value is read (escapes undone); a snake-case key is a field name of the
    kit (``metric_table``, ``value``), searched for member ids only; any other key like a value."""
    members = pd.DataFrame({"member_id": ["u_483920", "x2", "x3", "x4"],
                            "display_name": ["value", "metric_table", "Kevin", "王敏娟"]})
    needles = identity_needles(members)
    assert set(needles) == {"u_483920", "value", "metric_table", "kevin", "王敏娟"}
    assert scan_text(json.dumps({"metric_table": [{"metric": "x", "value": 1}]}), needles) == []
    assert scan_text(json.dumps({"metric": "value"}), needles) == [("display_name", "value")]
    assert scan_text(json.dumps({"top": "Kevin"}), needles) == [("display_name", "kevin")]
    assert scan_text(json.dumps({"u_483920": 3}), needles) == [("member_id", "u_483920")]
    assert scan_text(json.dumps({"王敏娟": 3}, ensure_ascii=True), needles) == [("display_name", "王敏娟")]
    assert scan_text(json.dumps({"Kevin Smith": 3}), needles) == [("display_name", "kevin")]


def test_every_common_word_is_report_vocabulary() -> None:
    """Each exemption is decided per word: it must be a word the kit itself writes in a report
    (its zh/en catalogue, metric and rule texts, the data model's labels), else it is a name like
    any other and must be searched."""
    from commlab.data.schema import describe_tables
    from commlab.i18n import TEXT
    from commlab.privacy import COMMON_WORDS, normalize_identity
    from commlab.recommend import fact_definitions
    from commlab.rules import default_rules

    texts = [describe_tables(), *(v for pair in TEXT.values() for v in pair),
             *fact_definitions().astype(str).to_numpy().ravel().tolist()]
    for r in default_rules():
        texts += [r.title.zh, r.title.en, r.action.zh, r.action.en, r.rationale.zh, r.rationale.en]
    catalogue = normalize_identity("\n".join(texts))
    words = set(re.findall(r"[a-z]+", catalogue))
    missing = [w for w in COMMON_WORDS
               if not (w in words if w.isascii() else w in catalogue)]
    assert missing == []


def _regex_oracle(words: tuple[str, ...], whole_words: bool) -> re.Pattern[str]:
    """The former finder: one alternation of the words (longest first), whole words bounded by ASCII word characters."""
    body = "|".join(map(re.escape, sorted(words, key=len, reverse=True)))
    return re.compile(rf"(?<![A-Za-z0-9_])(?:{body})(?![A-Za-z0-9_])" if whole_words else f"(?:{body})")


@pytest.mark.parametrize("seed", range(6))
def test_lookup_finds_every_word_the_regex_finds_and_only_real_occurrences(seed):
    """The set lookup that replaced a compiled trie regex: on random texts and words (prefixes of each other,
    Chinese and Latin, punctuation inside), every word the regex finds is found, a text is clean for both or
    for neither, and every word found does occur in the text (as a whole word where asked)."""
    import random

    from commlab.privacy.leakscan import _Lookup

    rng = random.Random(seed)
    alphabet = "ab1_ -.高佳芳李"
    for _ in range(60):
        words = tuple(sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))).strip() or "a"
                              for _ in range(rng.randint(1, 12))}))
        hay = "".join(rng.choice(alphabet + "xyz，。\n") for _ in range(rng.randint(0, 80)))
        for whole in (True, False):
            got = _Lookup(words, whole).find(hay)
            want = {m.group(0) for m in _regex_oracle(words, whole).finditer(hay)}
            assert want <= set(got), (words, hay, whole)
            assert bool(got) == bool(want), (words, hay, whole)
            for w in got:
                bounded = _regex_oracle((w,), whole)
                assert bounded.search(hay), (w, hay, whole)
