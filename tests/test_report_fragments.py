"""The appendix fragments rendered without nbconvert's BeautifulSoup pass show what they showed with it.

:func:`commlab.report.fragment_exporter` renders a step as nbconvert's ``HTMLExporter`` does, without the pass that
re-serialises its page with BeautifulSoup (adding ``tabindex`` attributes, which the sanitizer removes, and an alt
text to an image without one: there the full pass still runs). After :func:`commlab.sanitize.sanitize_html` the two
fragments are the same page: the same elements with the same attributes and the same text, only the attributes'
order and the white space between elements differ; and what the leak scan reads of them is the same. The notebook
holds what steps display: Markdown, a pandas table with a name in it, figures with and without alt text, an HTML
output with an image without one, plain text, Chinese.
"""

from __future__ import annotations

import base64
from html.parser import HTMLParser

import nbformat
import pandas as pd
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from commlab.privacy.readable import readable
from commlab.report import appendix_fragment, fragment_exporter

PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()


class _Page(HTMLParser):
    """Elements (tag, attributes sorted, class words normalised) and non-blank text, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple] = []

    def handle_starttag(self, tag, attrs):
        self.items.append(("<", tag, tuple(sorted((k, " ".join((v or "").split()) if k == "class" else v)
                                                  for k, v in attrs))))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        self.items.append((">", tag))

    def handle_data(self, data):
        if data.strip():
            self.items.append(("t", " ".join(data.split())))


def _items(html: str) -> list[tuple]:
    page = _Page()
    page.feed(html)
    page.close()
    return page.items


def _notebook(with_bare_image: bool = False) -> nbformat.NotebookNode:
    table = pd.DataFrame({"社群": ["c01", "c02"], "members": [12, 7], "top": ["Kevin 高佳芳", "—"]}).to_html()
    cells = [
        new_markdown_cell("## 概览 · Overview\n\nSome *text* with a [link](https://example.org) and 高<b></b>佳芳."),
        new_code_cell("x", outputs=[new_output("display_data", data={"text/html": table, "text/plain": "t"})]),
        new_code_cell("x", outputs=[new_output("display_data", data={"image/png": PNG, "text/plain": "fig"},
                                               metadata={"image/png": {"alt": "图：每日活跃 Kevin", "width": 600}})]),
        new_code_cell("x", outputs=[new_output("display_data", data={"image/png": PNG, "text/plain": "fig"})]),
        new_code_cell("x", outputs=[new_output("stream", name="stdout", text="done: 3 < 4 & 5 > 2\n")]),
    ]
    if with_bare_image:
        cells.append(new_code_cell("x", outputs=[new_output("display_data", data={
            "text/html": f'<p>see <img src="data:image/png;base64,{PNG}"></p>', "text/plain": "img"})]))
    nb = new_notebook(cells=cells, metadata={"language_info": {"name": "python"}})
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    return nb


def _plain(nb: nbformat.NotebookNode) -> str:
    from nbconvert import HTMLExporter

    from commlab.report import _TEMPLATES

    exporter = HTMLExporter(
        template_name="commlab_fragment", extra_template_basedirs=[str(_TEMPLATES)],
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True, embed_images=True,
        mathjax_url="", require_js_url="",
    )
    return str(appendix_fragment(nb, lang="zh", title="概览", exporter=exporter))


def test_a_fragment_without_the_soup_pass_is_the_same_page():
    nb = _notebook()
    got = str(appendix_fragment(nb, lang="zh", title="概览", exporter=fragment_exporter()))
    want = _plain(nb)
    assert got != want  # the markup's order and white space differ ...
    assert _items(got) == _items(want)  # ... not the elements, attributes or text
    assert len(_items(got)) > 50 and "高佳芳" in got and 'alt="图：每日活跃 Kevin"' in got
    norm = lambda texts: [" ".join(t.split()) for t in texts]  # noqa: E731
    assert norm(readable(got, "html").texts) == norm(readable(want, "html").texts)  # what the leak scan reads


def test_an_image_without_alt_text_gets_the_full_pass():
    nb = _notebook(with_bare_image=True)
    exporter = fragment_exporter()
    got = str(appendix_fragment(nb, lang="zh", title="概览", exporter=exporter))
    assert got == _plain(nb)
    assert "No description has been provided for this image" in got
    # the same exporter renders the next step without the pass again
    again = str(appendix_fragment(_notebook(), lang="zh", title="概览", exporter=exporter))
    assert _items(again) == _items(_plain(_notebook()))
