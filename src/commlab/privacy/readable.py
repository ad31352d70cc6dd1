"""What the leak scan reads of a shareable file: the text a person is shown, not the kit's markup.

An HTML page is parsed (:mod:`html.parser`, entities undone) into its text and the values of its
attributes; tag names, attribute names, the values of markup attributes (``class``, ``id``,
``style``, ...), style sheets, links to the page's own anchors and embedded ``data:`` payloads are
the kit's markup and are not read (a CSV download is read decoded, as a table of its own). A JSON
file is read as its values, its keys apart (:class:`Readable`); any other file as written and
with HTML entities undone.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote

__all__ = ["Readable", "readable", "MARKUP_ATTRIBUTES", "INLINE_ELEMENTS"]

#: Attributes whose values are the kit's markup, never text a person reads: names of classes,
#: element ids and the cells they point to, style, the document's settings and sizes.
MARKUP_ATTRIBUTES: frozenset[str] = frozenset({
    "class", "id", "style", "name", "rel", "type", "lang", "dir", "charset", "http-equiv", "media",
    "width", "height", "sizes", "scope", "colspan", "rowspan", "headers", "for", "role", "target",
    "loading", "decoding", "crossorigin", "referrerpolicy", "tabindex", "align", "valign", "border",
    "cellpadding", "cellspacing", "open", "hidden", "start", "span",
})
#: ``<meta name=...>`` whose ``content`` is a setting of the page (``width=device-width``), not text.
_SETTING_METAS = frozenset({"viewport", "referrer", "color-scheme", "robots", "generator", "theme-color"})
#: Inline elements: their text is joined to its neighbours' (``高<b></b>佳芳`` is one name); every
#: other element ends a run of text, so the texts of two table cells are not joined.
INLINE_ELEMENTS: frozenset[str] = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "code", "data", "del", "em", "font", "i", "ins", "kbd", "mark", "q",
    "rp", "rt", "ruby", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr",
})
#: Elements whose content is not text a person reads: a style sheet (the kit's own, fonts named in it).
_UNREAD = frozenset({"style"})
_URL_ATTRIBUTES = frozenset({"href", "src", "srcset", "poster", "cite", "action", "data", "background"})
_CSV_URI = re.compile(r"data:text/csv(?:;[\w=.-]+)*;base64,([A-Za-z0-9+/=]+)", re.IGNORECASE)
#: Embedded base64 payloads (images): random base64 would match short ids by chance.
_DATA_URI = re.compile(r"data:[\w/+.-]+(?:;[\w=.-]+)*;base64,[A-Za-z0-9+/=]+", re.IGNORECASE)
#: A JSON key the kit writes as a field name (``community_id``, ``name``): snake-case ASCII.
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]*")
_HTML_SNIFF = re.compile(r"<(?:!doctype\s+html|html|head|body|meta|p|div|span|table|tr|td|th|b|i|a|img|h[1-6]|ul|li|"
                         r"section|article|details|figure|picture|br)\b[^>]*>", re.IGNORECASE)


@dataclass
class Readable:
    """The parts of a file the leak scan searches.

    Attributes
    ----------
    texts : list of str
        Searched for every member id and display name: the page's text, its attribute values,
        decoded CSV downloads; a JSON file's values and its keys that are not field names.
    keys : list of str
        A JSON file's snake-case keys (``community_id``, ``name``): the kit's field names, searched
        for member ids only (a member called ``name`` is not found in ``"name":``, a member id used
        as a key is).
    """

    texts: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


def _decoded(payload: str) -> str:
    """The text of a base64 ``data:`` payload ("" when it is not base64 UTF-8)."""
    try:
        return base64.b64decode(payload, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""


class _PageReader(HTMLParser):
    """Collects a page's text runs, its read attribute values and its CSV downloads."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.values: list[str] = []
        self.tables: list[str] = []
        self._unread = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)
        if tag in _UNREAD:
            self._unread += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _UNREAD and self._unread:
            self._unread -= 1
        if tag not in INLINE_ELEMENTS:
            self.text.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._unread:
            self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.values.append(data)

    def _element(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in INLINE_ELEMENTS:
            self.text.append("\n")
        named = {k: (v or "") for k, v in attrs}
        for name, value in attrs:
            if not value or name in MARKUP_ATTRIBUTES:
                continue
            if tag == "meta" and name == "content" and (
                    "http-equiv" in named or named.get("name", "").lower() in _SETTING_METAS):
                continue  # a policy or a rendering setting of the page
            if name in _URL_ATTRIBUTES:
                value = self._url(value)
            if value:
                self.values.append(value)

    def _url(self, value: str) -> str:
        """A URL's readable part: "" for a link to the page's own anchor (an ``id``, searched as
        the heading it names) and for embedded payloads (a CSV download is kept, decoded)."""
        if value.startswith("#"):
            return ""
        self.tables += [_decoded(m.group(1)) for m in _CSV_URI.finditer(value)]
        return unquote(_DATA_URI.sub(" ", value)).strip()


def _json_parts(value: Any, out: Readable) -> None:
    stack = [value]
    while stack:  # iterative: a deeply nested file cannot exhaust the recursion limit
        v = stack.pop()
        if isinstance(v, dict):
            for k, item in v.items():
                (out.keys if _FIELD_NAME.fullmatch(str(k)) else out.texts).append(str(k))
                stack.append(item)
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str):
            out.texts.append(v)
        elif v is not None and not isinstance(v, bool):
            out.texts.append(json.dumps(v))


def readable(text: str, kind: str | None = None) -> Readable:
    """The parts of ``text`` the leak scan searches (not yet normalised).

    Parameters
    ----------
    text : str
        A file's content.
    kind : {"html", "json", "text"}, optional
        How to read it; by default JSON when it parses as JSON, HTML when it holds an HTML element,
        else plain text.

    Examples
    --------
    >>> readable('<p class="cl-legend" title="Top: Kevin">高<b></b>佳芳</p>').texts
    ['\\n高佳芳\\n', 'Top: Kevin']
    >>> r = readable('{"name": "Kevin", "c01_0004": 1}')
    >>> sorted(r.texts), sorted(r.keys)
    (['1', 'Kevin'], ['c01_0004', 'name'])
    """
    if kind in (None, "json"):
        try:
            data = json.loads(text)
        except ValueError:
            if kind == "json":
                kind = "text"
        else:
            out = Readable()
            _json_parts(data, out)
            return out
    if kind == "html" or (kind is None and _HTML_SNIFF.search(text)):
        reader = _PageReader()
        reader.feed(text)
        reader.close()
        out = Readable(texts=["".join(reader.text)])
        if reader.values:
            out.texts.append("\n".join(reader.values))
        out.texts += [t for t in reader.tables if t]
        return out
    plain = _DATA_URI.sub("data:", text)
    return Readable(texts=list(dict.fromkeys([plain, html.unescape(plain)])))
