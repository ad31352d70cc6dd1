"""Numbers written one way per kind, and report tables: formatted, labelled, aligned and escaped."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from commlab import fmt
from commlab.display import data_line, escape_md, table
from commlab.fmt import MISSING, count, fmt_value, kind_of_unit, number, p_value, percent


@pytest.mark.parametrize(("value", "kind", "shown"), [
    (0.034, "share", "3.4%"), (0.65, "share", "65%"), (0.05, "share", "5%"), (1.0, "share", "100%"),
    (0.0, "share", "0%"), (9120, "count", "9,120"), (np.int64(365845), "count", "365,845"),
    (2280.0, "number", "2,280"), (0.0032, "index", "0.0032"), (0.034, "ratio", "0.03"), (0.0004, "index", "<0.001"),
    (0.2812, "index", "0.28"),
    (104.17, "ratio", "104"), (25.04, "ratio", "25.0"),
    (1030.4, "days", "1,030"), (12.34, "hours", "12.3"), (205.321, "currency", "205.32"),
    (7.5, "events", "7.5"), (0.0004, "p", "<0.001"), (0.0312, "p", "0.031"), (-1.23, "z", "−1.2"), (0.4, "z", "+0.4"),
    (None, "count", MISSING), (float("nan"), "share", MISSING), (pd.NA, "number", MISSING), ("<5", "count", "<5"),
    (math.inf, "number", "∞"),
])
def test_each_kind_is_written_one_way(value, kind, shown):
    assert fmt_value(value, kind) == shown


@pytest.mark.parametrize("value", [1e-7, 2.28e3, 3.1e9, 123456.789, 0.000123, -4.5e-5])
def test_never_scientific_notation_nor_padded_zeros(value):
    for kind in ("number", "share", "count", "days", "currency", "index"):
        text = fmt_value(value, kind)
        assert not re.search(r"\d[eE][+-]?\d", text) and not re.search(r"\.\d{5,}", text), (kind, text)


def test_helpers_and_units():
    assert percent(0.6154) == "62%" and percent(0.6154, decimals=1) == "61.5%"
    assert count(1234.6) == "1,235" and number(0.5) == "0.50" and p_value(None) == MISSING
    assert kind_of_unit("events / 30 days") == "average" and kind_of_unit("bool") == "share"
    assert kind_of_unit("share") == "share" and kind_of_unit("something new") == "number"


def test_table_formats_labels_aligns_and_escapes():
    df = pd.DataFrame({"active_share_30d": [0.654, 0.1], "events": [32874, 935], "note": ["<b>x</b>", "ok"]},
                      index=["咖啡<script>alert(1)</script>", "c02"])
    html = table(df, {"active_share_30d": "share"}, default="count",
                 labels={"active_share_30d": "30日活跃率", "events": "事件数", "note": "说明"},
                 index_label="社群").to_html()
    assert "65%" in html and "32,874" in html and "0.654" not in html
    assert "30日活跃率" in html and "active_share_30d" not in html and "社群" in html
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>x</b>" not in html
    assert "text-align: left" in html and "text-align: right" in html
    # suppressed cells (strings in a numeric column) are kept as they are
    df = pd.DataFrame({"members": [120, "<5"], "share": [0.5, "—"]}, dtype=object)
    html = table(df, {"members": "count", "share": "share"}).to_html()
    assert "&lt;5" in html and "—" in html and "50%" in html


def test_markdown_escape_and_data_line():
    assert escape_md("*a*_[b](c)<i>") == "\\*a\\*\\_\\[b\\](c)&lt;i&gt;"
    from commlab.data.load import DataSummary

    s = DataSummary(11, 9120, 365845, pd.Timestamp("2023-12-31", tz="UTC"), pd.Timestamp("2024-06-30", tz="UTC"))
    assert data_line(s, "zh") == "11 个社群，9,120 名成员，365,845 条事件，2023-12-31 至 2024-06-30（UTC）"
    assert data_line(s, "en") == "11 communities, 9,120 members, 365,845 events, 2023-12-31 to 2024-06-30 (UTC)"
    one = DataSummary(1, 1, 1, pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-01", tz="UTC"))
    assert data_line(one, "en").startswith("1 community, 1 member, 1 event")


def test_every_feature_has_a_chinese_definition():
    from commlab.analysis.features import DEFINITIONS_ZH, FEATURES

    assert {f.id for f in FEATURES} == set(DEFINITIONS_ZH)
    assert all(re.search(r"[\u4e00-\u9fff]", f.describe("zh")) for f in FEATURES)
    assert FEATURES[0].describe("en") == FEATURES[0].definition


def test_every_test_a_hypothesis_can_use_has_a_name_in_both_languages():
    """The test names hypotheses.py records (English, for summary.json) each have a catalogue name."""
    from commlab.analysis import hypotheses
    from commlab.display_types import test_name

    source = Path(hypotheses.__file__).read_text(encoding="utf-8")
    recorded = re.findall(r'test="([^"]+)"', source)
    assert len(recorded) >= 5
    for test in recorded:
        assert re.search(r"[\u4e00-\u9fff]", test_name(test, "zh")), test
        assert test_name(test, "en") != test or test.startswith("Kruskal"), test


@pytest.mark.parametrize("value", [0, 0.0004, 0.0032, 0.034, 0.5, 1.0, 3.26, 12.34, 99.96, 104.17, 2280.0, 1e7,
                                   -0.0004, -0.25, -3.5, -1234.5, -0.001, math.inf, -math.inf])
def test_the_report_sentences_write_numbers_with_the_one_formatter(value):
    """rules_text delegates every number to commlab.fmt: the same digits in tables and sentences."""
    from commlab.rules_text import format_number, format_value

    assert format_number(value) == number(value)
    for unit in ("share", "count", "ratio", "index", "currency", "days", "hours", "members"):
        for lang in ("zh", "en"):
            assert fmt_value(value, unit) in format_value(value, unit, lang)
    assert "-" not in number(value) and "-" not in percent(value) and "-" not in count(value)
    assert not re.fullmatch(r"−0(\.0+)?%?", fmt_value(value, "currency"))


@pytest.mark.parametrize(("n", "plural", "expected"), [
    (1, "communities", "1 community"), (2, "communities", "2 communities"), (0, "members", "0 members"),
    (1, "members", "1 member"), (1, "events", "1 event"), (1, "replies", "1 reply"),
])
def test_tally_says_one_in_the_singular(n: int, plural: str, expected: str) -> None:
    """The command line's accounts read '1 community', not '1 communities' (seen on a Cardano import)."""
    assert fmt.tally(n, plural) == expected


def test_dataset_summary_and_import_account_use_the_singular() -> None:
    from commlab.data.dataset import DataSummary
    from commlab.importers.import_report import ImportReport

    assert str(DataSummary(1, 1, 0, None, None)) == "1 community, 1 member, 0 events"
    report = ImportReport(format="telegram_json", source="x.json")
    report.rows_mapped.update({"communities": 1, "members": 3988, "events": 1})
    assert report.summary().startswith("telegram_json import of x.json: 1 community, 3988 members, 1 event;")
