"""The kit's own report texts, for the leak-scan tests that check the phrases of
:data:`commlab.privacy.EXEMPTIONS` are still written by the kit (and no other given name is)."""

from __future__ import annotations

from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]


def kit_texts() -> list[str]:
    """The zh/en catalogue, the metric and rule texts, the data model's labels, the default rules,
    the notebooks' cells, the playbooks and the report templates."""
    from commlab.data.schema import describe_tables
    from commlab.i18n import TEXT
    from commlab.recommend import fact_definitions
    from commlab.rules import default_rules
    from commlab.rules_text import catalogue_texts

    texts: list[str] = [describe_tables()]
    texts += [v for pair in TEXT.values() for v in pair]
    texts += catalogue_texts()
    texts += [v for lang in ("en", "zh") for v in fact_definitions(lang).astype(str).to_numpy().ravel()]
    texts += [f.read_text(encoding="utf-8", errors="replace")
              for f in (REPO / "src" / "commlab" / "templates").rglob("*") if f.is_file()]
    texts += [f.read_text(encoding="utf-8") for f in (REPO / "playbooks").glob("*.yaml")]
    for r in default_rules():
        texts += [r.title.zh, r.title.en, r.action.zh, r.action.en, r.rationale.zh, r.rationale.en, r.practice]
    for nb in sorted((REPO / "notebooks").glob("0*.ipynb")):
        texts += [c.source for c in nbformat.read(str(nb), as_version=4).cells]
    return texts
