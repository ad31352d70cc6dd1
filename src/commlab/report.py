"""The combined, self-contained HTML report of a run.

:func:`build_report` joins the executed notebooks of a run into one notebook
(a heading per step), removes what a client must not see (code, prompts,
the ``parameters`` and papermill's injected-parameters cells, cells tagged
``remove``, error and stderr outputs) and renders it with nbconvert's
:class:`~nbconvert.HTMLExporter`. Figures are embedded as ``data:`` URIs and
nothing is loaded from the network (no MathJax, require.js, mermaid or
widget CDN), so the single file can be e-mailed and opened offline.
"""

from __future__ import annotations

import base64
import copy
import csv
import html
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nbformat
from nbformat import NotebookNode

from commlab.atomic import atomic_write_text

__all__ = ["ReportSection", "notebook_title", "clean_notebook", "combine_notebooks", "render_html",
           "external_references", "build_report", "REMOVE_CELL_TAGS", "pick_language", "add_csv_links",
           "table_rows", "methods_appendix"]

#: Cells with any of these tags are left out of reports.
REMOVE_CELL_TAGS = frozenset({"remove", "remove-cell", "remove_cell", "parameters", "injected-parameters",
                              "papermill-error-cell-tag"})
_REMOVE_OUTPUT_TAGS = frozenset({"remove-output", "remove_output"})
_TEMPLATES = Path(__file__).parent / "templates"
_HTML_LANG = {"zh": "zh-CN", "en": "en"}
_LABELS = {
    "zh": {"client": "客户", "as_of": "数据截至", "generated": "生成时间", "run": "运行编号"},
    "en": {"client": "Prepared for", "as_of": "Data as of", "generated": "Generated", "run": "Run"},
}
_H1 = re.compile(r"^\s*#\s+(.+?)\s*#*\s*$")
_EXTERNAL = re.compile(
    r"""<(script|link|iframe|img)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//[^>]*>""", re.IGNORECASE,
)


_BILINGUAL = re.compile(r"^(?P<lead>\s*#{1,6}\s+)?(?P<zh>.*?[\u3400-\u9fff].*?)\s+·\s+(?P<en>[^\u3400-\u9fff]+?)\s*$")


def pick_language(line: str, lang: str) -> str:
    """``"社群概览 · Community overview"`` (optionally a Markdown heading) in one language.

    Notebooks write headings in both languages, Chinese first, joined by `` · ``; a report is
    in one language, so only the ``lang`` side is kept. Other lines are returned unchanged.
    """
    m = _BILINGUAL.match(line)
    if not m:
        return line
    return (m.group("lead") or "") + (m.group("zh") if lang == "zh" else m.group("en")).strip()


_HAN = re.compile(r"[\u3400-\u9fff]")


def _pick_paragraph(lines: list[str], lang: str) -> list[str]:
    """Keep the ``lang`` lines of a paragraph written in both languages (Chinese lines and Latin lines).

    A paragraph in one language only is kept whole.
    """
    text = [ln for ln in lines if ln.strip()]
    han = [bool(_HAN.search(ln)) for ln in text]
    if len(text) < 2 or all(han) or not any(han):
        return lines
    return [ln for ln in lines if ln.strip() and bool(_HAN.search(ln)) == (lang == "zh")]


def _pick_headings(source: str, lang: str) -> str:
    """Headings ``中文 · English`` and bilingual paragraphs of a markdown cell in one language (code fences kept)."""
    out: list[str] = []
    para: list[str] = []
    fence = False

    def flush() -> None:
        out.extend(_pick_paragraph(para, lang))
        para.clear()

    for line in source.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            flush()
            fence = not fence
            out.append(line)
        elif fence:
            out.append(line)
        elif re.match(r"^\s*#{1,6}\s", line):
            flush()
            out.append(pick_language(line, lang))
        elif not line.strip() or line.lstrip().startswith(("|", "-", "*", ">")) and not para:
            flush()
            out.append(line)
        else:
            para.append(line)
    flush()
    return "\n".join(out)


@dataclass
class ReportSection:
    """One step of the report: its heading and its executed notebook.

    Attributes
    ----------
    notebook : Path
        The executed notebook.
    title : str
        Heading; empty to use the notebook's first ``#`` heading.
    """

    notebook: Path
    title: str = ""


def _tags(cell: NotebookNode) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []) or [])


def notebook_title(nb: NotebookNode) -> str | None:
    """The ``# `` heading that opens the first markdown cell, if it opens with one."""
    for cell in nb.cells:
        if cell.cell_type != "markdown" or _tags(cell) & REMOVE_CELL_TAGS:
            continue
        for line in cell.source.splitlines():
            if line.strip():
                m = _H1.match(line)
                return m.group(1) if m else None
        return None
    return None


def clean_notebook(nb: NotebookNode) -> NotebookNode:
    """A copy of ``nb`` with everything removed that a report must not show.

    Removes cells tagged with :data:`REMOVE_CELL_TAGS` (``remove``,
    ``parameters``, papermill's ``injected-parameters`` and error cells),
    outputs of cells tagged ``remove-output``, every ``error`` output
    (tracebacks) and every ``stderr`` stream (warnings, logs).
    """
    nb = copy.deepcopy(nb)
    kept = []
    for cell in nb.cells:
        tags = _tags(cell)
        if tags & REMOVE_CELL_TAGS:
            continue
        if cell.cell_type == "code":
            if tags & _REMOVE_OUTPUT_TAGS:
                cell.outputs = []
            cell.outputs = [
                o for o in cell.get("outputs", [])
                if o.get("output_type") != "error"
                and not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
            if not cell.outputs and not cell.source.strip():
                continue
        kept.append(cell)
    nb.cells = kept
    return nb


def _drop_heading(nb: NotebookNode, title: str) -> None:
    """Remove the ``# title`` line the step heading replaces."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for j, line in enumerate(lines):
            m = _H1.match(line)
            if m and m.group(1) == title:
                rest = "\n".join(lines[:j] + lines[j + 1:]).strip()
                if rest:
                    cell.source = rest
                else:
                    del nb.cells[i]
                return
            if line.strip():
                return
        return


def combine_notebooks(
    sections: Sequence[ReportSection],
    *,
    title: str,
    lang: str = "zh",
    client: str = "",
    as_of: str | None = None,
    generated: str = "",
    run_id: str = "",
    appendix: str = "",
) -> NotebookNode:
    """One cleaned notebook holding every section under its own heading.

    Parameters
    ----------
    sections : sequence of ReportSection
        The executed notebooks, in report order.
    title : str
        Title of the report (first heading and page title).
    lang : {"zh", "en"}
        Language of the labels.
    client, as_of, generated, run_id : str
        Shown under the title when not empty.
    appendix : str
        HTML put after the last section (the methods appendix, see :func:`methods_appendix`).

    Returns
    -------
    NotebookNode
    """
    labels = _LABELS.get(lang, _LABELS["en"])
    meta = [
        (labels["client"], client), (labels["as_of"], as_of or ""),
        (labels["generated"], generated), (labels["run"], run_id),
    ]
    header = f"# {html.escape(title)}\n\n" + "  \n".join(
        f"**{k}**: {html.escape(str(v))}" for k, v in meta if v
    )
    cells = [nbformat.v4.new_markdown_cell(header)]
    first_meta = None
    for sec in sections:
        nb = nbformat.read(str(sec.notebook), as_version=4)
        first_meta = first_meta or nb.metadata
        nb = clean_notebook(nb)
        own = notebook_title(nb)
        heading = sec.title or (pick_language(own, lang) if own else "") or Path(sec.notebook).stem
        if own:
            _drop_heading(nb, own)
        cells.append(nbformat.v4.new_markdown_cell(f"## {html.escape(heading)}"))
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = _pick_headings(_demote_headings(cell.source), lang)
            cells.append(cell)
    if appendix:
        cell = nbformat.v4.new_code_cell(source="")
        cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": appendix})]
        cells.append(cell)
    out = nbformat.v4.new_notebook()
    out.cells = [_markdown_as_output(c) for c in cells]
    for i, cell in enumerate(out.cells):  # ids must be unique across the joined notebooks
        cell["id"] = f"cell-{i}"
    if first_meta is not None:
        for key in ("kernelspec", "language_info"):
            if key in first_meta:
                out.metadata[key] = copy.deepcopy(first_meta[key])
    out.metadata["title"] = title
    return out


def _demote_headings(source: str) -> str:
    """``# x`` becomes ``## x`` (and so on), outside code fences: steps sit under the report's ``##``."""
    out, fence = [], False
    for line in source.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        elif not fence and re.match(r"^#{1,5}\s", line):
            line = "#" + line
        out.append(line)
    return "\n".join(out)


def _markdown_as_output(cell: NotebookNode) -> NotebookNode:
    """Turn a markdown cell into a code cell without source whose output is that markdown.

    With inputs excluded, nbconvert still renders markdown cells inside an input
    area; as outputs they render the same, and the page holds no input area at all.
    Attachments are inlined as data URIs.
    """
    if cell.cell_type != "markdown":
        return cell
    text = cell.source
    for name, bundle in (cell.get("attachments") or {}).items():
        for mime, data in bundle.items():
            if mime.startswith("image/"):
                text = text.replace(f"attachment:{name}", f"data:{mime};base64,{data}")
                break
    out = nbformat.v4.new_code_cell(source="")
    out.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": text})]
    return out


def external_references(page: str) -> list[str]:
    """Tags of ``page`` that load something from the network (should be empty)."""
    return [m.group(0) for m in _EXTERNAL.finditer(page)]


def render_html(nb: NotebookNode, *, lang: str = "zh", resources_path: str | Path | None = None) -> str:
    """Render a (combined, cleaned) notebook to one self-contained HTML page.

    Parameters
    ----------
    nb : NotebookNode
        The notebook; its ``metadata.title`` becomes the page title.
    lang : {"zh", "en"}
        ``<html lang="zh-CN">`` or ``<html lang="en">``.
    resources_path : str or Path, optional
        Folder against which relative image paths in markdown are embedded.

    Returns
    -------
    str
        The HTML page: no input cells, no prompts, images as data URIs,
        no ``<script src>`` or ``<link href>`` pointing at the network.
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="commlab_report",
        extra_template_basedirs=[str(_TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        language_code="zh" if lang == "zh" else "en",
        mathjax_url="",
        require_js_url="",
    )
    resources = {"metadata": {"name": nb.metadata.get("title", "report"),
                              "path": str(resources_path) if resources_path else ""}}
    page, _ = exporter.from_notebook_node(nb, resources=resources)
    page = re.sub(r'<html lang="[^"]*">', f'<html lang="{_HTML_LANG.get(lang, "en")}">', page, count=1)
    page = re.sub(
        r'<meta\b[^>]*name="viewport"[^>]*>', '<meta name="viewport" content="width=device-width, initial-scale=1">',
        page, count=1,
    )
    # Belt and braces: an output's own HTML (a plotting library, say) may still reference a CDN.
    return add_csv_links(_EXTERNAL.sub("", page))


def build_report(
    sections: Sequence[ReportSection],
    path: str | Path,
    *,
    title: str,
    lang: str = "zh",
    client: str = "",
    as_of: str | None = None,
    generated: str = "",
    run_id: str = "",
    resources_path: str | Path | None = None,
    appendix: str = "",
) -> Path:
    """Combine, render and atomically write the report; return its path.

    Parameters are those of :func:`combine_notebooks` and :func:`render_html`;
    ``path`` is the ``report.html`` to write (written to a temporary file first
    and renamed, so a reader never sees half a report).
    """
    nb = combine_notebooks(sections, title=title, lang=lang, client=client, as_of=as_of,
                           generated=generated, run_id=run_id, appendix=appendix)
    page = render_html(nb, lang=lang, resources_path=resources_path)
    return atomic_write_text(path, page)


# --------------------------------------------------------------------------- CSV downloads


class _TableText(HTMLParser):
    """Rows of cell texts of one HTML table (``th`` and ``td``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip = max(0, self._skip - 1)
        elif tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row:
                self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._skip:
            self._cell.append(data)


def table_rows(table_html: str) -> list[list[str]]:
    """The cell texts of an HTML table, row by row (header rows included)."""
    parser = _TableText()
    parser.feed(table_html)
    parser.close()
    return parser.rows


_TABLE = re.compile(r"<table\b.*?</table>", re.IGNORECASE | re.DOTALL)


def add_csv_links(page: str) -> str:
    """Put a small "CSV" download link before every table of ``page``.

    Each link is a ``data:text/csv;base64,...`` URI made now from the table's own HTML (UTF-8
    with a byte-order mark, so spreadsheet programs read Chinese correctly): no script, no
    network. Tables without rows get no link.
    """
    count = 0

    def link(m: re.Match[str]) -> str:
        nonlocal count
        rows = table_rows(m.group(0))
        if not rows:
            return m.group(0)
        count += 1
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows(rows)
        data = base64.b64encode(("\ufeff" + buf.getvalue()).encode("utf-8")).decode("ascii")
        return (f'<div class="cl-csv"><a download="table-{count}.csv" '
                f'href="data:text/csv;charset=utf-8;base64,{data}">CSV</a></div>' + m.group(0))

    return _TABLE.sub(link, page)


# --------------------------------------------------------------------------- methods appendix

_APPENDIX = {
    "title": ("方法附录", "Methods appendix"),
    "metrics": ("指标定义", "Metric definitions"),
    "metrics_intro": ("每个指标在 commlab 的指标登记表中定义一次；方向：↑ 越高越好，↓ 越低越好，· 无方向。",
                      "Each metric is defined once in commlab's metric registry; direction: ↑ higher is better, "
                      "↓ lower is better, · neither."),
    "sources": ("数据来源与许可", "Data sources and licences"),
    "params": ("运行参数", "Resolved parameters"),
    "manifest": ("运行记录", "Run manifest"),
    "inputs": ("输入文件 (sha256)", "Input files (sha256)"),
    "versions": ("软件版本", "Versions"),
    "communities": ("社群数", "communities"),
    "step": ("步骤", "step"),
    "parameter": ("参数", "parameter"),
    "value": ("取值", "value"),
    "file": ("文件", "file"),
    "package": ("软件包", "package"),
    "version": ("版本", "version"),
    "none": ("（没有数据来源信息）", "(no source information in the data)"),
    "privacy": ("成员编号已用密钥假名化，昵称与自由文本不出现在报告中；少于 {k} 人的分组不显示。",
                "Member ids are pseudonymised with a keyed hash; display names and free text never appear; "
                "groups of fewer than {k} members are suppressed."),
}
_HIDDEN_PARAMETERS = ("output_dir", "prev_output_dirs")


def _a(key: str, lang: str) -> str:
    zh, en = _APPENDIX[key]
    return zh if lang == "zh" else en


def _html_table(header: list[str], rows: list[list[Any]]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table class='cl-appendix'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _short_path(path: str) -> str:
    parts = Path(path).parts
    return "/".join(parts[-2:]) if len(parts) >= 2 else path


def _parameter_value(name: str, value: Any) -> str:
    if name in ("data_dir", "rules_file", "previous_summary") and isinstance(value, str) and value:
        return _short_path(value) if name != "data_dir" else Path(value).name
    return str(value)


def methods_appendix(manifest: dict[str, Any], communities: Any, *, lang: str = "zh", k: int = 5) -> str:
    """The methods appendix of a report, as HTML.

    Parameters
    ----------
    manifest : dict
        The run's ``manifest.json`` content (steps with their parameters, versions, sha256).
    communities : DataFrame or None
        The communities table (``source`` and ``name`` columns give the data sources).
    lang : {"zh", "en"}
    k : int
        The k-anonymity threshold, stated in the privacy note.

    Returns
    -------
    str
        Headings and tables: metric definitions (registry id, zh/en names, definition, formula,
        unit, direction, source), data sources and licences (Stack Exchange: CC BY-SA with the
        sites named), the resolved parameters of every step (output folders left out, local paths
        shortened), and the manifest (run id, git commit, versions, input sha256). The pseudonym
        key is never part of it: it is not a parameter and the manifest does not hold it.
    """
    from commlab.recommend import fact_definitions
    from commlab.sources import attribution

    e = html.escape
    out = [f"<h2 id='methods-appendix'>{e(_a('title', lang))}</h2>",
           f"<p>{e(_APPENDIX['privacy'][0 if lang == 'zh' else 1].format(k=k))}</p>",
           f"<h3>{e(_a('metrics', lang))}</h3><p>{e(_a('metrics_intro', lang))}</p>"]
    defs = fact_definitions(lang)
    out.append(_html_table(["id", "名称", "name", "definition", "formula", "unit", "dir.", "source"],
                           defs[["id", "name_zh", "name_en", "definition", "formula", "unit", "direction",
                                 "source"]].to_numpy().tolist()))
    out.append(f"<h3>{e(_a('sources', lang))}</h3>")
    if communities is not None and "source" in getattr(communities, "columns", []):
        counts = communities["source"].fillna("").astype(str).value_counts()
        rows = [[src or "—", int(n)] for src, n in counts.items()]
        out.append(_html_table([_a("sources", lang), _a("communities", lang)], rows))
        line = attribution(SimpleNamespace(communities=communities), lang)
        if "Stack Exchange" in line:
            line += (" — CC BY-SA 4.0: https://creativecommons.org/licenses/by-sa/4.0/ ; "
                     + ("按许可要求署名并以相同方式共享。" if lang == "zh" else
                        "attribution and share-alike as the licence requires."))
        out.extend(f"<p>{e(p)}</p>" for p in line.split("\n\n") if p)
    else:
        out.append(f"<p>{e(_a('none', lang))}</p>")
    out.append(f"<h3>{e(_a('params', lang))}</h3>")
    rows = []
    for step in manifest.get("steps", []):
        params = {**(step.get("defaults") or {}), **(step.get("parameters") or {})}
        for name in sorted(params):
            if name not in _HIDDEN_PARAMETERS:
                rows.append([step.get("name", ""), name, _parameter_value(name, params[name])])
    out.append(_html_table([_a("step", lang), _a("parameter", lang), _a("value", lang)], rows))
    out.append(f"<h3>{e(_a('manifest', lang))}</h3>")
    git = manifest.get("git") or {}
    facts = [("run", manifest.get("run_id")), ("playbook", manifest.get("playbook")),
             ("as_of", manifest.get("as_of")), ("started", manifest.get("started")),
             ("kernel", manifest.get("kernel")),
             ("git", f"{git.get('commit') or '—'}{' (dirty)' if git.get('dirty') else ''}")]
    out.append(_html_table(["", ""], [[k_, v if v is not None else "—"] for k_, v in facts]))
    out.append(f"<h4>{e(_a('versions', lang))}</h4>")
    out.append(_html_table([_a("package", lang), _a("version", lang)],
                           [[n, v or "—"] for n, v in (manifest.get("versions") or {}).items()]))
    out.append(f"<h4>{e(_a('inputs', lang))}</h4>")
    out.append(_html_table([_a("file", lang), "sha256"],
                           [[_short_path(p), h] for p, h in (manifest.get("sha256") or {}).items()]))
    return "\n".join(out)
