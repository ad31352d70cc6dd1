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

import copy
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from commlab.atomic import atomic_write_text

__all__ = ["ReportSection", "notebook_title", "clean_notebook", "combine_notebooks", "render_html",
           "external_references", "build_report", "REMOVE_CELL_TAGS"]

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
        heading = sec.title or own or Path(sec.notebook).stem
        if own:
            _drop_heading(nb, own)
        cells.append(nbformat.v4.new_markdown_cell(f"## {html.escape(heading)}"))
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = _demote_headings(cell.source)
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
    return _EXTERNAL.sub("", page)


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
) -> Path:
    """Combine, render and atomically write the report; return its path.

    Parameters are those of :func:`combine_notebooks` and :func:`render_html`;
    ``path`` is the ``report.html`` to write (written to a temporary file first
    and renamed, so a reader never sees half a report).
    """
    nb = combine_notebooks(sections, title=title, lang=lang, client=client, as_of=as_of,
                           generated=generated, run_id=run_id)
    page = render_html(nb, lang=lang, resources_path=resources_path)
    return atomic_write_text(path, page)
