"""Measure whether a text is in one language: Latin words in Chinese text, Chinese characters in English."""

from __future__ import annotations

import re
from collections.abc import Iterable

from commlab.data.schema import PLATFORM

#: Chinese characters and the full-width punctuation that goes with them.
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\u3000-\u303f\uff01-\uff5e]")
LATIN_WORD = re.compile(r"[A-Za-z]+")
#: Platforms a Chinese text calls by their own names: the Latin words of the platform vocabulary's zh
#: labels (Discord, Slack, Telegram, Stack Exchange, 自有App/论坛, ...).
PLATFORM_NAMES: frozenset[str] = frozenset(w for term in PLATFORM.terms for w in LATIN_WORD.findall(term.zh))
#: Latin words a Chinese text may carry: the time zone and names of products and data sources.
ALLOWED_LATIN: frozenset[str] = frozenset({"UTC"}) | PLATFORM_NAMES


def _without(text: str, names: Iterable[str]) -> str:
    for name in sorted({str(n) for n in names if n}, key=len, reverse=True):
        text = text.replace(name, " ")
    return text


def foreign(text: str, lang: str, *, names: Iterable[str] = (), allowed: Iterable[str] = ()) -> list[str]:
    """What in ``text`` is not in ``lang``: Latin words in ``zh``, Chinese characters in ``en``.

    ``names`` (community names and ids, taken from the data) are removed first; ``allowed``
    adds Latin words a Chinese text may carry besides :data:`ALLOWED_LATIN`.
    """
    text = _without(text, names)
    if lang == "zh":
        ok = ALLOWED_LATIN | set(allowed)
        return [w for w in LATIN_WORD.findall(text) if w not in ok]
    return HAN.findall(text)


def visible_text(markup: str) -> str:
    """The text of an HTML fragment as a reader sees it (tags dropped, scripts and styles left out)."""
    from html.parser import HTMLParser

    class _Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self._skip = 0

        def handle_starttag(self, tag: str, attrs: list) -> None:
            self._skip += tag in ("script", "style")
            self.parts.append(" ")

        def handle_endtag(self, tag: str) -> None:
            self._skip -= tag in ("script", "style")
            self.parts.append(" ")

        def handle_data(self, data: str) -> None:
            if not self._skip:
                self.parts.append(data)

    parser = _Text()
    parser.feed(markup)
    return re.sub(r"\s+", " ", "".join(parser.parts)).strip()
