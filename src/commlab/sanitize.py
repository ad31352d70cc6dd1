"""The last line of defence of every HTML page commlab writes: an allow-list sanitizer and a strict CSP.

Pages are rendered by Jinja2 templates with autoescape, so a value from a data file (a community
name, a channel, a nickname) is text, never markup. Notebook outputs are different: a step may
display HTML (a pandas table, a Styler with its ``<style>``) or Markdown, and an output built
carelessly from data could carry ``<script>`` or ``onerror=``. :func:`sanitize_html` passes such
HTML through `nh3 <https://nh3.readthedocs.io>`_ (the Rust ``ammonia`` sanitizer) with an
allow-list: no script, no event-handler attribute, no ``javascript:`` URL, no form, frame or object,
images only as ``data:image/...``, links only to ``http(s)`` and ``mailto``. :data:`CSP` forbids
script and every load but ``data:`` images in the page itself, so even a payload the sanitizer
missed could not run or call home.
"""

from __future__ import annotations

import re

import nh3

__all__ = ["CSP", "sanitize_html"]

#: The report's Content-Security-Policy (a ``<meta http-equiv>``): nothing may run or load, except
#: images embedded as ``data:`` URIs and the page's own inline styles.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

_TAGS = (nh3.ALLOWED_TAGS - {"area", "map"}) | {"style", "details", "summary", "section", "figure", "figcaption"}
_GENERIC = {"class", "id", "title", "lang", "dir", "style"}
_ATTRIBUTES: dict[str, set[str]] = {
    "*": _GENERIC,
    "img": {"src", "alt", "width", "height"},
    "a": {"href", "download", "title"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope"},
    "ol": {"start"},
    "col": {"span"},
    "colgroup": {"span"},
}
_IMG_WITHOUT_SRC = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)
_IMAGE_DATA = re.compile(r"^data:image/(?:png|jpeg|gif|webp|svg\+xml)[;,]", re.IGNORECASE)


def _attribute(element: str, attribute: str, value: str) -> str | None:
    """Keep ``data:`` URLs only as image sources, and images only as ``data:`` URLs (the page is offline)."""
    if element == "img" and attribute == "src":
        return value if _IMAGE_DATA.match(value.strip()) else None
    if attribute == "href" and value.strip().lower().startswith("data:"):
        return None
    return value


def sanitize_html(fragment: str) -> str:
    """``fragment`` with everything that could run, load or navigate somewhere unexpected removed.

    Kept: text, headings, lists, tables, images embedded as ``data:image/...`` URIs, ``<style>``
    sheets (pandas Styler colours; the page's CSP stops them loading anything), ``class``/``id``/
    ``style`` attributes, links to ``http(s)``/``mailto``. Removed with their content: ``<script>``;
    removed: event handlers (``onerror=``), ``javascript:``/``data:`` links, forms, frames, objects,
    ``<link>``, ``<meta>``, external images (an ``<img>`` left without a source goes too).
    """
    clean = nh3.clean(
        fragment, tags=_TAGS, clean_content_tags={"script", "textarea", "noscript", "template"},
        attributes=_ATTRIBUTES, attribute_filter=_attribute, url_schemes={"http", "https", "mailto", "data"},
        strip_comments=True, link_rel="noopener noreferrer",
    )
    return _IMG_WITHOUT_SRC.sub("", clean)  # an image whose source was dropped would show its alt text as litter
