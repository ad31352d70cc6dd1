"""The Chinese texts of the metric registry (``metric_text_zh.yaml``): complete, Chinese, and used in zh only."""

from __future__ import annotations

import re

from commlab.analysis.metric_text import missing_zh, zh_texts
from commlab.analysis.metrics import list_metrics, metric_table
from commlab.facts import EXTRA_FACTS, fact_definitions
from commlab.report import methods_sections
from language import foreign

#: Latin a Chinese definition may carry: names of methods, data sets and people, the kit's name,
#: math variables (one letter, ``ceil``, ``max``) and the section letter of ``§4b``.
NAMES = {"CHAOSS", "Orbit", "Discourse", "Fader", "Hardie", "Lee", "CDNOW", "Freeman", "Jaccard", "commlab",
         "ceil", "max", "UTC"}


def _latin(text: str) -> list[str]:
    return [w for w in foreign(text, "zh", allowed=NAMES) if len(w) > 1]


def test_every_metric_and_fact_has_a_chinese_definition_formula_and_source():
    metrics = list_metrics()
    ids = [m.id for m in metrics] + list(EXTRA_FACTS)
    sources = [m.source for m in metrics] + [f.source for f in EXTRA_FACTS.values()]
    assert len(ids) >= 78
    assert missing_zh(ids, sources) == []
    assert set(zh_texts()["metrics"]) == set(ids), "catalogue entries without a metric: remove them"


def test_chinese_texts_carry_no_english():
    zh = fact_definitions("zh")
    for col in ("definition", "formula", "source"):
        bad = {i: _latin(v) for i, v in zip(zh["id"], zh[col], strict=True) if _latin(v)}
        assert bad == {}, (col, bad)
        assert zh[col].map(lambda v: bool(re.search(r"[\u4e00-\u9fff]", v))).sum() >= 70, col


def test_english_is_unchanged_and_zh_differs():
    en, zh = fact_definitions("en"), fact_definitions("zh")
    registry = {m.id: m for m in list_metrics()}
    for row in en.itertuples():
        want = registry[row.id] if row.id in registry else EXTRA_FACTS[row.id]
        assert (row.definition, row.formula, row.source) == (want.definition, want.formula, want.source)
    assert (en["definition"] != zh["definition"]).all()
    assert metric_table("en")["definition"].tolist() == [m.definition for m in list_metrics()]
    table = metric_table("zh").set_index("metric_id")
    assert table.loc["lurker_share", "definition"] == zh_texts()["metrics"]["lurker_share"]["definition"]
    assert "潜水" in table.loc["lurker_share", "definition"] and "僵尸粉" in table.loc["zombie_share", "definition"]


def test_zh_methods_appendix_has_no_english_definition_line():
    methods = methods_sections({"steps": []}, None, lang="zh")[0]
    table = next(b for b in methods.blocks if b.rows and len(b.header) == 7)
    assert len(table.rows) == len(fact_definitions("zh"))
    # columns: name, id (an id is not a word), definition, formula, unit, direction, source
    lines = [[c for i, c in enumerate(row) if i != 1] for row in table.rows]
    assert [r for r in lines if any(_latin(str(c)) for c in r)] == []
    en = methods_sections({"steps": []}, None, lang="en")[0]
    en_rows = next(b for b in en.blocks if b.rows and len(b.header) == 7).rows
    assert [r[2] for r in en_rows] == fact_definitions("en")["definition"].tolist()
