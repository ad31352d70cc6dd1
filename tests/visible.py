"""What a reader sees of an executed notebook, and checks that it is in one language and reads as a report.

Used by the notebook tests. :func:`visible_text` gathers what a report shows of a notebook: its
markdown cells in one language (headings ``中文 · English`` and paragraphs of Chinese lines then
English lines keep the ``lang`` side, as reports do), the text of every HTML and Markdown output,
and of every figure its alt text and the texts drawn in it (recorded by ``commlab.plots.show``).
Cells tagged ``remove`` (and the parameter cells) are left out, as reports leave them out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

HIDDEN_TAGS = frozenset({"remove", "remove-cell", "remove_cell", "parameters", "injected-parameters"})
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
NBCONVERT_DEFAULT_ALT = "No description has been provided for this image"

#: Latin words a Chinese report may hold: names of methods and people, products and platforms.
#: (Upper-case abbreviations such as UTC, CSV, ARI, BIC, UGC, KOL, DAU/MAU, HHI are allowed as a class.)
ALLOWED_IN_ZH = frozenset({
    "Kruskal", "Wallis", "Mann", "Whitney", "Wilcoxon", "Fisher", "Holm", "Fader", "Hardie", "Lee", "Freeman",
    "DuckDB", "Spark", "Discord", "Python", "Stack", "Exchange", "Gini", "k",
    "App",  # the platform 自有App/论坛 (own app or forum): "App" is how Chinese writes it
})


@dataclass
class Visible:
    """The visible text of an executed notebook and its figures."""

    text: str
    figures: list[dict] = field(default_factory=list)  # per image: alt, width, metadata of commlab.plots.show


def _pick(source: str, lang: str) -> list[str]:
    out: list[str] = []
    para: list[str] = []

    def flush() -> None:
        lines = [ln for ln in para if ln.strip()]
        han = [bool(HAN.search(ln)) for ln in lines]
        if len(lines) >= 2 and any(han) and not all(han):
            lines = [ln for ln, h in zip(lines, han, strict=True) if h == (lang == "zh")]
        out.extend(lines)
        para.clear()

    for line in source.splitlines():
        m = re.match(r"^\s*#{1,6}\s+(.*?)\s*$", line)
        if m:
            flush()
            head = m.group(1)
            if " · " in head and HAN.search(head.split(" · ")[0]):
                zh, en = head.split(" · ", 1)
                head = zh if lang == "zh" else en
            out.append(head)
        elif not line.strip():
            flush()
        else:
            para.append(line)
    flush()
    return out


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["style", "script"]):
        tag.decompose()
    return soup.get_text("\n")


def visible_text(notebook: Path, lang: str) -> Visible:
    """What a report shows of ``notebook`` (executed), in ``lang``."""
    import nbformat
    from nbconvert.filters.markdown import markdown2html

    nb = nbformat.read(notebook, as_version=4)
    parts: list[str] = []
    figures: list[dict] = []
    for cell in nb.cells:
        if set(cell.metadata.get("tags", [])) & HIDDEN_TAGS:
            continue
        if cell.cell_type == "markdown":
            parts.extend(_pick(cell.source, lang))
            continue
        if cell.cell_type != "code":
            continue
        for o in cell.get("outputs", []):
            kind = o.get("output_type")
            if kind == "stream" and o.get("name") == "stdout":
                parts.append(o.get("text", ""))
            if kind not in ("display_data", "execute_result"):
                continue
            data = o.get("data", {})
            if "image/png" in data or "image/svg+xml" in data:
                mime = "image/png" if "image/png" in data else "image/svg+xml"
                meta = (o.get("metadata") or {}).get(mime) or {}
                figures.append({"alt": meta.get("alt", ""), "width": meta.get("width"), **meta.get("commlab", {})})
                parts.append(meta.get("alt", ""))
                parts.extend(meta.get("commlab", {}).get("texts", []))
            elif "text/html" in data:
                parts.append(_html_text(data["text/html"]))
            elif "text/markdown" in data:
                parts.append(_html_text(markdown2html(data["text/markdown"])))
            elif "text/plain" in data:
                parts.append(data["text/plain"])
    text = "\n".join(" ".join(p.split()) for p in "\n".join(parts).splitlines() if p.strip())
    return Visible(text, figures)


def without(text: str, names: list[str]) -> str:
    """``text`` with every occurrence of ``names`` (strings from the data: community names, sources) removed."""
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        text = text.replace(name, " ")
    return text


def english_words(text: str) -> list[str]:
    """Latin words in a Chinese text that are not abbreviations, symbols, ids or :data:`ALLOWED_IN_ZH`."""
    found = []
    for m in re.finditer(r"[A-Za-z][A-Za-z0-9'’]*", text):
        word = m.group(0)
        if len(word) == 1 or word in ALLOWED_IN_ZH or re.fullmatch(r"[A-Z0-9]{2,6}", word):
            continue
        if re.search(r"\d", word):  # ids such as c01, k-core labels
            continue
        found.append(word)
    return found


def chinese_chars(text: str) -> list[str]:
    """Runs of Chinese characters in a text that should be English."""
    return re.findall(r"[\u3400-\u9fff\uf900-\ufaff]+", text)


def developer_output(text: str) -> list[str]:
    """What a client should never read: object reprs, column ids, file names, raw number formats."""
    patterns = {
        "object repr": r"\b[A-Z][A-Za-z]+\([a-z_]+=",
        "column id": r"\b[a-z]+_[a-z0-9_]+\b",
        "file name": r"\b[\w-]+\.(?:json|parquet|csv|ipynb|py)\b",
        "scientific notation": r"\d(?:\.\d+)?[eE][+-]?\d",
        "padded decimals": r"\d\.\d{5,}",
        "n too small": r"n too small",
    }
    return [f"{what}: {m.group(0)}" for what, p in patterns.items() for m in re.finditer(p, text)]
