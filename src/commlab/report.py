"""The self-contained HTML report of a run: a client part that stands alone, then an appendix.

:func:`build_report` writes ``report.html`` in two layers:

1. **The client part**, what a consultant mails: one line saying what was analysed, a scorecard per
   community, the top recommended actions with their evidence, what changed since the previous run
   and the few figures that carry the story. It is rendered by the Jinja2 template
   ``templates/report/page.html.j2`` (autoescape on) from the run's structured outputs (each step's
   ``summary.json``, see :mod:`commlab.report_view`), not from notebook outputs. The figures are
   the image outputs of the cells a notebook tags :data:`CLIENT_FIGURE_TAG` (``client-figure``).
2. **The appendix**: one closed ``<details>`` per step (its executed notebook cleaned of what a
   client must not see — code, prompts, the ``parameters`` and papermill cells, cells tagged
   ``remove``, error and stderr outputs — and rendered by nbconvert as a fragment, then passed
   through :func:`commlab.sanitize.sanitize_html`), every recommendation, the methods, the resolved
   parameters and the run record.

The page holds no script and carries a strict Content-Security-Policy (:data:`commlab.sanitize.CSP`);
figures are embedded as ``data:`` URIs and nothing is loaded from the network, so the single file
can be e-mailed and opened offline. Its print stylesheet prints the client part alone on A4, which
is how :mod:`commlab.report_pdf` makes ``report.pdf``. Every label comes from :mod:`commlab.i18n`.
"""

from __future__ import annotations

import base64
import copy
import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
import nbformat
import pandas as pd
from markupsafe import Markup, escape
from nbformat import NotebookNode

from commlab.atomic import atomic_write_text
from commlab.data.schema import Col
from commlab.figure_outputs import PHONE_MEDIA, PHONE_MIME
from commlab.i18n import TEXT, check_lang, t
from commlab.report_view import CLIENT_ACTIONS, client_view, recommendations_summary
from commlab.rules_text import format_value
from commlab.sanitize import CSP, sanitize_html

__all__ = ["ReportSection", "notebook_title", "clean_notebook", "external_references", "build_report",
           "render_report", "REMOVE_CELL_TAGS", "CLIENT_FIGURE_TAG", "pick_language", "add_csv_links",
           "table_rows", "methods_sections", "client_figures", "appendix_fragment", "fragment_exporter", "Figure",
           "AppendixSection",
           "dash_words"]

#: Cells tagged so hold the figures of the client part (their images move there from the appendix).
CLIENT_FIGURE_TAG = "client-figure"
#: Cells with any of these tags are left out of reports.
REMOVE_CELL_TAGS = frozenset({"remove", "remove-cell", "remove_cell", "parameters", "injected-parameters",
                              "papermill-error-cell-tag"})
_REMOVE_OUTPUT_TAGS = frozenset({"remove-output", "remove_output"})
_TEMPLATES = Path(__file__).parent / "templates"
_HTML_LANG = {"zh": "zh-CN", "en": "en"}
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
    step : str
        The step's name (its ``summary.json`` is ``summary[step]``); "" when unknown.
    """

    notebook: Path
    title: str = ""
    step: str = ""


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


# --------------------------------------------------------------------------- client figures


@dataclass
class Figure:
    """A figure of the client part: an embedded image with its alt text and caption.

    ``phone_src`` (with ``phone_width``), when the notebook drew the figure a second time for a
    phone, is served instead of ``src`` to windows matching :data:`~commlab.figure_outputs.PHONE_MEDIA`.
    """

    src: str
    alt: str
    caption: str
    width: str = ""
    phone_src: str = ""
    phone_width: str = ""


_IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml")
_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]+$")


def _heading_text(line: str, lang: str) -> str:
    return re.sub(r"^\s*#{1,6}\s+", "", pick_language(line, lang)).strip()


def _captions(nb: NotebookNode, lang: str) -> list[str]:
    """For each cell, the last Markdown heading above it (in ``lang``), "" before the first."""
    out, current = [], ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            heads = [ln for ln in cell.source.splitlines() if re.match(r"^\s*#{1,6}\s", ln)]
            if heads:
                current = _heading_text(heads[-1], lang)
        out.append(current)
    return out


def _image_alt(output: NotebookNode, mime: str) -> str:
    meta = output.get("metadata") or {}
    own = meta.get(mime) if isinstance(meta.get(mime), dict) else {}
    return str(own.get("alt") or meta.get("alt") or "")


def _image_width(output: NotebookNode, mime: str) -> str:
    """The CSS width a notebook gave an image (``metadata[mime]["width"]``), digits only; "" without one."""
    own = (output.get("metadata") or {}).get(mime)
    width = str(own.get("width", "")) if isinstance(own, dict) else ""
    return width if width.isdigit() else ""


def _data_uri(mime: str, data: Any) -> str | None:
    if mime == "image/svg+xml":
        text = data if isinstance(data, str) else "".join(data)
        return f"data:{mime};base64,{base64.b64encode(text.encode('utf-8')).decode('ascii')}"
    text = data if isinstance(data, str) else "".join(data)
    return f"data:{mime};base64,{''.join(text.split())}" if _BASE64.match(text) else None


def client_figures(nb: NotebookNode, lang: str) -> list[Figure]:
    """The images of the cells tagged :data:`CLIENT_FIGURE_TAG` in an executed notebook.

    Each keeps its alt text (``output.metadata[mime]["alt"]``, what ``IPython.display.Image(alt=...)``
    writes) or, without one, the heading above the cell; the caption is that heading (in ``lang``).
    An output that also carries :data:`~commlab.figure_outputs.PHONE_MIME` (``show(..., phone=...)``)
    gives the figure its phone rendering.
    """
    captions = _captions(nb, lang)
    figures = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or CLIENT_FIGURE_TAG not in _tags(cell) or _tags(cell) & REMOVE_CELL_TAGS:
            continue
        for o in cell.get("outputs", []):
            data = o.get("data") or {}
            mime = next((m for m in _IMAGE_MIMES if m in data), None)
            src = _data_uri(mime, data[mime]) if mime else None
            if src:
                phone = _data_uri("image/png", data[PHONE_MIME]) if PHONE_MIME in data else None
                figures.append(Figure(src, _image_alt(o, mime) or captions[i], captions[i], _image_width(o, mime),
                                      phone or "", _image_width(o, PHONE_MIME) if phone else ""))
    return figures


# --------------------------------------------------------------------------- appendix fragments


def _appendix_notebook(nb: NotebookNode, lang: str, title: str | None) -> NotebookNode:
    """A cleaned notebook ready for the appendix: one language, headings below the section's, each image
    with alt text, the client figures replaced by a pointer to them, markdown cells as outputs."""
    captions = _captions(nb, lang)
    cells = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            cell.source = _pick_headings(_demote_headings(cell.source), lang)
        elif cell.cell_type == "code":
            kept = []
            for o in cell.get("outputs", []):
                data = o.get("data") or {}
                data.pop(PHONE_MIME, None)  # the appendix is read on a desktop (and nbconvert cannot show it)
                (o.get("metadata") or {}).pop(PHONE_MIME, None)
                mime = next((m for m in _IMAGE_MIMES if m in data), None)
                if mime and CLIENT_FIGURE_TAG in _tags(cell):
                    continue
                if mime and not _image_alt(o, mime):
                    o.setdefault("metadata", {}).setdefault(mime, {})["alt"] = captions[i] or (title or "")
                kept.append(o)
            if CLIENT_FIGURE_TAG in _tags(cell) and len(kept) < len(cell.get("outputs", [])):
                kept.append(nbformat.v4.new_output("display_data",
                                                   data={"text/markdown": t("report_figure_above", lang)}))
            cell.outputs = kept
        cells.append(cell)
    nb.cells = [_markdown_as_output(c) for c in cells]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    return nb


#: An ``<img>`` without an ``alt`` attribute (nbconvert's HTML exporter gives it a placeholder text).
_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\salt\s*=)[^>]*>", re.IGNORECASE)


def fragment_exporter() -> Any:
    """The nbconvert exporter of the appendix fragments (template ``commlab_fragment``).

    One exporter renders every step of a report: each new one compiles nbconvert's templates again
    (about 0.3 s a step). It is nbconvert's ``HTMLExporter`` without the BeautifulSoup pass that ends
    its ``from_notebook_node`` (a third of the report's rendering at 50 M events: the appendix of
    notebook 03 is several MB), when that pass would change nothing the sanitizer keeps: it adds
    ``tabindex`` attributes, which :func:`commlab.sanitize.sanitize_html` removes, and an alt text to
    an image without one, for which the full pass runs (``tests/test_report_fragments.py`` compares
    the two on the demo's notebooks).
    """
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class FragmentExporter(HTMLExporter):  # type: ignore[misc]
        def from_notebook_node(self, nb: NotebookNode, resources: dict[str, Any] | None = None,
                               **kw: Any) -> tuple[str, dict[str, Any]]:
            given = copy.deepcopy(resources)
            # HTMLExporter.from_notebook_node (nbconvert 7) up to its BeautifulSoup pass
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            highlight_code = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
            resources = self._init_resources(resources)
            filter_data_type = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self,
                                                     resources=resources)
            self.register_filter("highlight_code", highlight_code)
            self.register_filter("filter_data_type", filter_data_type)
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            if _IMG_WITHOUT_ALT.search(html):  # the pass gives it its alt text: run it all
                return super().from_notebook_node(nb, given, **kw)
            return html, resources

    return FragmentExporter(
        template_name="commlab_fragment", extra_template_basedirs=[str(_TEMPLATES)],
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True, embed_images=True,
        mathjax_url="", require_js_url="",
    )


def appendix_fragment(nb: NotebookNode, *, lang: str = "zh", title: str | None = None,
                      resources_path: str | Path | None = None, exporter: Any = None) -> Markup:
    """One step's cleaned notebook as a sanitized HTML fragment (no page around it, no script).

    Parameters
    ----------
    nb : NotebookNode
        The step's executed notebook, already passed through :func:`clean_notebook` (its own
        ``#`` title removed).
    lang : {"zh", "en"}
        Headings written ``中文 · English`` and bilingual paragraphs keep one language.
    title : str, optional
        The section's title (alt text of an image under no heading).
    resources_path : str or Path, optional
        Folder against which relative image paths in markdown are embedded.
    exporter : HTMLExporter, optional
        From :func:`fragment_exporter` (default: a new one), shared by the steps of one report.

    Returns
    -------
    Markup
        nbconvert's rendering (template ``commlab_fragment``) after :func:`commlab.sanitize.sanitize_html`.
    """
    nb = _appendix_notebook(copy.deepcopy(nb), lang, title)
    exporter = exporter if exporter is not None else fragment_exporter()
    resources = {"metadata": {"name": title or "", "path": str(resources_path) if resources_path else ""}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return Markup(sanitize_html(body))




#: A table cell holding a dash and nothing else: "—" (:data:`commlab.privacy.SUPPRESSED`, a value hidden
#: for privacy) or "–" (:data:`commlab.fmt.MISSING`, no value).
_DASH_CELL = re.compile(r"(<td\b[^>]*>)\s*([—–])\s*(</td>)")
#: The dash of the suppression note under a table (:func:`commlab.privacy.suppression_note`).
_NOTE_DASH = {"zh": ("记作 —）", "记作“{hidden}”）"), "en": ("as —)", 'as "{hidden}")')}


def dash_words(fragment: str, lang: str) -> Markup:
    """``fragment`` with the appendix tables' dashes written as the scorecard's words.

    A cell holding only "—" (hidden for privacy) reads "隐藏" / "hidden", one holding only "–" (no value)
    "无数据" / "no data", muted as in the scorecard; the suppression note under a table names the word.
    Two dashes that look alike (and "—" reads as 一 in a CJK font) are no longer the reader's to tell apart.

    Examples
    --------
    >>> str(dash_words('<td class="data">—</td><td>–</td><td>1–3</td>', "en"))
    '<td class="data"><span class="cl-na">hidden</span></td><td><span class="cl-na">no data</span></td><td>1–3</td>'
    """
    hidden, none = t("report_hidden", lang), t("report_no_value", lang)

    def word(m: re.Match[str]) -> str:
        # group 1 and 3 are the cell's own tags as nbconvert wrote them (kept as markup); the template
        # escapes the word like any text
        return Markup('{}<span class="cl-na">{}</span>{}').format(
            Markup(m.group(1)), hidden if m.group(2) == "—" else none, Markup(m.group(3)))

    out = _DASH_CELL.sub(word, str(fragment))
    dash, named = _NOTE_DASH["zh" if lang == "zh" else "en"]
    return Markup(out.replace(dash, named.format(hidden=hidden)))


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
_CSV_LINK = jinja2.Environment(autoescape=True).from_string(
    '<div class="cl-csv"><a download="{{ name }}" href="{{ href }}">CSV</a></div>')


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
        return _CSV_LINK.render(name=f"table-{count}.csv", href=f"data:text/csv;charset=utf-8;base64,{data}") \
            + m.group(0)

    return _TABLE.sub(link, page)


# --------------------------------------------------------------------------- the page


@dataclass
class Block:
    """A heading, paragraphs and a table of an appendix section built from data (all text, escaped)."""

    heading: str = ""
    paragraphs: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)


@dataclass
class AppendixSection:
    """One closed ``<details>`` of the appendix."""

    anchor: str
    title: str
    fragment: Markup | None = None
    kind: str = "blocks"
    blocks: list[Block] = field(default_factory=list)
    open: bool = False
    with_status: bool = False


_HIDDEN_PARAMETERS = ("output_dir", "prev_output_dirs")


def _short_path(path: str) -> str:
    parts = Path(path).parts
    return "/".join(parts[-2:]) if len(parts) >= 2 else path


def _parameter_value(name: str, value: Any) -> str:
    if name in ("data_dir", "rules_file", "previous_summary") and isinstance(value, str) and value:
        return _short_path(value) if name != "data_dir" else Path(value).name
    return str(value)


def _instant(value: Any) -> str:
    """``2024-06-30T16:00:00+00:00`` as ``2024-06-30 16:00 UTC`` (a date alone stays a date)."""
    text = str(value or "")
    m = re.match(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(?::[\d.]+)?(Z|[+-]00:?00)?)?$", text)
    if not m:
        return text
    return m.group(1) if not m.group(2) else f"{m.group(1)} {m.group(2)} UTC"


def _as_of_line(as_of: Any, communities: Any, lang: str) -> str:
    """The analysis instant as the header states it, whatever note follows it (the data's range, say).

    A leading ISO instant reads ``2024-06-30 16:00 UTC``; a per-community rule (``created+180d``) is
    written out with its span when the communities' creation times are known.
    """
    text = str(as_of or "")
    rule = re.match(r"^\s*(created\+\d+d)(.*)$", text, re.DOTALL)
    columns = set(getattr(communities, "columns", []))
    if rule and communities is not None and {Col.community_id, Col.created_at} <= columns:
        from commlab.recommend import as_of_text

        try:
            created = pd.to_datetime(communities["created_at"], utc=True, format="mixed")
            return as_of_text(rule.group(1), communities.assign(created_at=created), lang) + rule.group(2)
        except (ValueError, TypeError, KeyError):
            return text
    iso_ = re.match(r"^(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::[\d.]+)?(?:Z|[+-]00:?00)?)?)(.*)$", text, re.DOTALL)
    return _instant(iso_.group(1)) + iso_.group(2) if iso_ else text


def methods_sections(manifest: dict[str, Any], communities: Any, *, lang: str = "zh",
                     k: int = 5) -> list[AppendixSection]:
    """The methods, parameters and run-record sections of the appendix (data for the page template).

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
    list of AppendixSection
        Methods (privacy note, metric definitions, data sources and licences: Stack Exchange as
        CC BY-SA with the sites named), the resolved parameters of every step (output folders
        left out, local paths shortened) and the run record (run id, git commit, versions, input
        sha256). The pseudonym key is never part of it: it is not a parameter and the manifest
        does not hold it.
    """
    from commlab.recommend import fact_definitions
    from commlab.sources import attribution

    defs = fact_definitions(lang)
    name_col = "name_zh" if lang == "zh" else "name_en"
    metrics = Block(t("report_metrics", lang), [t("report_metrics_intro", lang)],
                    [t("col_metric", lang), t("col_id", lang), t("col_definition", lang), t("col_formula", lang),
                     t("col_unit", lang), t("col_direction", lang), t("col_source", lang)],
                    [[*row[:4], t(f"unit_name_{row[4]}", lang) if f"unit_name_{row[4]}" in TEXT else row[4], *row[5:]]
                     for row in defs[[name_col, "id", "definition", "formula", "unit", "direction", "source"]
                                     ].to_numpy().tolist()])
    sources = Block(t("report_sources", lang))
    if communities is not None and "source" in getattr(communities, "columns", []):
        counts = communities["source"].fillna("").astype(str).value_counts()
        sources.header = [t("report_sources", lang), t("col_communities", lang)]
        sources.rows = [[src or "—", format_value(int(n), "count", lang)] for src, n in counts.items()]
        line = attribution(SimpleNamespace(communities=communities), lang)
        if "Stack Exchange" in line:
            line += (" — CC BY-SA 4.0: https://creativecommons.org/licenses/by-sa/4.0/ ; "
                     + ("按许可要求署名并以相同方式共享。" if lang == "zh" else
                        "attribution and share-alike as the licence requires."))
        sources.paragraphs = [p for p in line.split("\n\n") if p]
    else:
        sources.paragraphs = [t("report_no_sources", lang)]
    methods = AppendixSection("methods", t("report_methods", lang), blocks=[
        Block(paragraphs=[t("report_privacy", lang).format(k=k)]), metrics, sources])

    rows = []
    for step in manifest.get("steps", []):
        params = {**(step.get("defaults") or {}), **(step.get("parameters") or {})}
        rows += [[step.get("name", ""), name, _parameter_value(name, params[name])]
                 for name in sorted(params) if name not in _HIDDEN_PARAMETERS]
    params = AppendixSection("parameters", t("report_params", lang), blocks=[
        Block(header=[t("col_step", lang), t("col_parameter", lang), t("col_value", lang)], rows=rows)])

    git = manifest.get("git") or {}
    facts = [("manifest_run_id", manifest.get("run_id")), ("manifest_playbook", manifest.get("playbook")),
             ("manifest_as_of", _instant(manifest.get("as_of"))),
             ("manifest_started", _instant(manifest.get("started"))),
             ("manifest_kernel", manifest.get("kernel")),
             ("manifest_git", f"{git.get('commit') or '—'}{' (dirty)' if git.get('dirty') else ''}")]
    record = AppendixSection("run-record", t("report_manifest", lang), blocks=[
        Block(rows=[[t(key, lang), v if v not in (None, "") else "—"] for key, v in facts]),
        Block(t("report_versions", lang), header=[t("col_package", lang), t("col_version", lang)],
              rows=[[n, v or "—"] for n, v in (manifest.get("versions") or {}).items()]),
        Block(t("report_inputs", lang), header=[t("col_file", lang), "sha256"],
              rows=[[_short_path(p), h] for p, h in (manifest.get("sha256") or {}).items()]),
    ])
    return [methods, params, record]


def _names(communities: Any, summary: dict[str, Any] | None) -> dict[str, str]:
    """Community id → name: from the communities table, else from a step summary's community list."""
    if communities is not None and {Col.community_id, "name"} <= set(getattr(communities, "columns", [])):
        return {str(i): str(n) for i, n in zip(communities[Col.community_id], communities["name"], strict=True)
                if n is not None and str(n) not in ("", "nan", "<NA>")}
    for part in (summary or {}).values():
        rows = part.get("communities") if isinstance(part, dict) else None
        if isinstance(rows, list) and rows and isinstance(rows[0], dict) and "name" in rows[0]:
            key = next((c for c in (Col.community_id, "community id") if c in rows[0]), None)
            if key:
                return {str(r[key]): str(r["name"]) for r in rows}
    return {}


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: The span around a date; ``Markup.format`` escapes what it inserts.
_NOWRAP = Markup('<span class="cl-nowrap">{}</span>')


def _dates_unbroken(text: str) -> Markup:
    """``text`` escaped, each ISO date in a ``<span class="cl-nowrap">`` (a phone broke ``2024-06-`` / ``30``)."""
    escaped = str(escape(text))
    return Markup(_DATE.sub(lambda m: _NOWRAP.format(m.group(0)), escaped))  # noqa: S704 (escaped above, spans by Markup)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_TEMPLATES / "report")),
                             autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["dates_unbroken"] = _dates_unbroken
    return env


def render_report(
    sections: Sequence[ReportSection],
    *,
    title: str,
    lang: str = "zh",
    client: str = "",
    as_of: str | None = None,
    generated: str = "",
    run_id: str = "",
    resources_path: str | Path | None = None,
    summary: dict[str, Any] | None = None,
    communities: Any = None,
    manifest: dict[str, Any] | None = None,
    k: int = 5,
    appendix: bool = True,
    data_range: tuple[str, str] | None = None,
    top_actions: int = CLIENT_ACTIONS,
) -> str:
    """The report page: the client part, then the appendix (see the module docstring).

    Parameters
    ----------
    sections : sequence of ReportSection
        The executed notebooks in report order. The executive summary step (the one whose
        ``summary.json`` carries :data:`commlab.recommend.SCHEMA`) becomes the client part's
        scorecard, actions and changes; every other step is a closed appendix section.
    title : str
        Title of the report (heading and page title).
    lang : {"zh", "en"}
        Language of every label.
    client, as_of, generated, run_id : str
        Shown under the title when not empty.
    resources_path : str or Path, optional
        Folder against which relative image paths in markdown are embedded.
    summary : dict, optional
        The run's ``summary.json`` content (step name → the step's summary).
    communities : DataFrame, optional
        The communities table: names, and the data sources of the methods section.
    manifest : dict, optional
        The run's manifest; with ``appendix``, the methods, parameters and run-record sections.
    k : int, default 5
        The k-anonymity threshold the run used.
    appendix : bool, default True
        Add the methods, parameters and run-record sections.
    data_range : (str, str), optional
        The first and last day of the data (UTC). Said once: in the scope line when the data
        description a step wrote carries it, else in the header.
    top_actions : int, default :data:`commlab.report_view.CLIENT_ACTIONS`
        How many recommendations the client part shows (1 to
        :data:`commlab.report_view.CLIENT_ACTIONS_MAX`; all of them are in the appendix).

    Returns
    -------
    str
        One self-contained page: no script, a strict Content-Security-Policy, images as
        ``data:`` URIs, every table with a CSV download link.
    """
    check_lang(lang)
    names = _names(communities, summary)
    view = client_view(summary, names, lang=lang, k=k, top_actions=top_actions)
    figures: list[Figure] = []
    parts: list[AppendixSection] = []
    exporter = None
    for n, sec in enumerate(sections):
        nb = nbformat.read(str(sec.notebook), as_version=4)
        if sec.step and view.has_summary and recommendations_summary({sec.step: (summary or {}).get(sec.step)}):
            continue  # the executive summary is the client part itself
        figures += client_figures(nb, lang)
        nb = clean_notebook(nb)
        own = notebook_title(nb)
        heading = sec.title or (pick_language(own, lang) if own else "") or Path(sec.notebook).stem
        if own:
            _drop_heading(nb, own)
        exporter = exporter if exporter is not None else fragment_exporter()
        parts.append(AppendixSection(f"step-{n + 1}", heading, appendix_fragment(
            nb, lang=lang, title=heading, resources_path=resources_path, exporter=exporter), kind="step",
            open=not (view.has_summary or view.early_warning)))
    if view.has_summary:
        recs = recommendations_summary(summary) or {}
        parts.append(AppendixSection("all-recommendations", t("report_all_actions", lang), kind="actions",
                                     with_status=recs.get("recommendation_status") is not None))
    if appendix and manifest is not None:
        parts += methods_sections(manifest, communities, lang=lang, k=k)
    span = ""
    if data_range and not (data_range[0] in view.scope and data_range[1] in view.scope):
        span = f"{data_range[0]} – {data_range[1]}" + (" (UTC)" if lang == "en" else "（UTC）")
    meta = [(t(key, lang), value) for key, value in (
        ("report_client", client), ("report_as_of", _as_of_line(as_of, communities, lang)),
        ("report_data_range", span), ("report_generated", _instant(generated)), ("report_run", run_id)) if value]
    labels = {key: t(key, lang) for key in TEXT}
    parts = [replace(p, fragment=dash_words(p.fragment, lang)) if p.fragment is not None else p for p in parts]
    page = _environment().get_template("page.html.j2").render(
        html_lang=_HTML_LANG[lang], csp=CSP, title=title, meta=meta, view=view, figures=figures,
        phone_media=PHONE_MEDIA, appendix_sections=parts, L=labels,
    )
    return add_csv_links(page)


def build_report(sections: Sequence[ReportSection], path: str | Path, **kwargs: Any) -> Path:
    """Render the report (arguments of :func:`render_report`) and write it atomically to ``path``.

    Written to a temporary file first and renamed, so a reader never sees half a report.
    """
    return atomic_write_text(path, render_report(sections, **kwargs))
