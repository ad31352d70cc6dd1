"""The leak scan: no raw member id or display name in a file meant for sharing.

Both sides are normalised (:func:`normalize_identity`) and every member id and display name is
searched, but for the few words listed, each with its reason and a test.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "MIN_ID_LENGTH", "MIN_NUMERIC_ID_LENGTH", "MIN_NAME_LENGTH", "COMMON_WORDS", "NAME_EXEMPTIONS",
    "normalize_identity", "english_words", "given_names", "identity_needles", "vocabulary", "scan_text",
    "scan_files",
]

#: Member ids and ASCII display names shorter than this are not searched for (see :func:`identity_needles`).
MIN_ID_LENGTH = 4
#: Member ids made of digits only are searched from this length (see :func:`identity_needles`).
MIN_NUMERIC_ID_LENGTH = 8
#: Identities the leak scan never searches for: words that are also ordinary report vocabulary,
#: compared after :func:`normalize_identity`. A member whose display name or id is one of them
#: (``Community``, ``群主``) cannot be told apart from the report's own text. Each word is here
#: because the kit's own catalogue writes it (``tests/test_privacy_scan.py`` checks every one).
COMMON_WORDS: frozenset[str] = frozenset({
    # English report words that members also choose as names
    "community", "data", "guest", "member", "members", "none", "null", "owner", "staff", "users",
    # Chinese report words that are also common nicknames in WeChat/QQ groups
    "群主", "管理员", "成员", "用户", "社群", "官方", "助理",
})
#: Latin display names that are a given name (:func:`given_names`: ``Amy``, ``Joe``, ``Wei``) are
#: searched from this length, below :data:`MIN_ID_LENGTH`.
MIN_NAME_LENGTH = 3
#: The given names (:func:`given_names`) the leak scan does not search, each decided on its own, with
#: the reason: the kit's own report texts write the word, so a report would hold it whoever the
#: members are, and a member with that name would block every run. The quoted phrase is where the
#: kit writes it (``tests/test_privacy_names.py`` checks each phrase is still in the kit's texts and
#: that no other given name is). Every other given name is searched, even when it is an English word
#: (``Jack``, ``Mark``, ``Grace``, ``Rose``, ``Will``) or a word of the kit's texts: to add a word
#: here, first try rewording the kit's text (``rose from`` became ``grew from``).
NAME_EXEMPTIONS: dict[str, str] = {
    "fan": 'the community-economy term of the metric and rule texts: "fan vs community economy"',
    "lee": 'the source of the BG/NBD model, cited in the methods: "Fader, Hardie & Lee (2005)"',
    "long": 'English rule texts: "wait too long", "long-inactive members"',
    "max": 'metric formulas and figure notes: "max(0, Σ (d_hub", "min–max scaled", "max k-core"',
    "min": 'metric formulas and figure notes: "min d >= 4", "min–max scaled"',
    "may": 'the definition of the lurker share: "they may react or check in"',
    "whitney": 'the test of the hypotheses: "permutation Mann–Whitney U test"',
    "young": 'the early-warning notebook and playbook: "forecasts which young communities"',
}
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[A-Za-z0-9_]+(?:['’.-][A-Za-z0-9_]+)*")
#: Inline HTML elements removed without a trace when the scan reads a page (``高<b></b>佳芳`` is
#: one name); every other tag reads as a space, so the texts of two table cells are not joined.
_INLINE_TAG = re.compile(r"</?(?:a|abbr|b|bdi|bdo|code|data|del|em|font|i|ins|kbd|mark|q|rp|rt|ruby|s|samp|small|"
                         r"span|strong|sub|sup|time|u|var|wbr)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_TAG_NAME = re.compile(r"<\s*/?\s*[A-Za-z][\w:-]*")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _invisible_table() -> dict[int, None]:
    """Code points that render as nothing: format characters (zero-width space and joiners,
    bidi controls, soft hyphen, BOM, tag characters), variation selectors, the combining grapheme
    joiner and the Hangul fillers. Removed before comparing, so ``高\u200b佳芳`` is ``高佳芳``."""
    import sys
    import unicodedata

    out = {cp: None for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)) == "Cf"}
    extra = [0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)]
    out.update(dict.fromkeys(extra))
    return out


def normalize_identity(text: str) -> str:
    """``text`` as the leak scan compares it: NFKC, invisible characters removed, casefolded,
    runs of white space as one space.

    Applied to both the identities and the files searched, so full-width letters (``ｃ０１``),
    a zero-width space inside a name, other letter case or a doubled space cannot hide a name.

    Examples
    --------
    >>> normalize_identity("高\u200b佳芳  ＫＥＶＩＮ")
    '高佳芳 kevin'
    """
    import unicodedata

    text = unicodedata.normalize("NFKC", text).translate(_invisible_table())
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text.casefold()))


def _mask(value: str) -> str:
    return value[0] + "…" + f"({len(value)} chars)" if value else "…"


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The English words (4+ letters, lower case, no proper names) a Latin display name may be
    without being searched: SCOWL's small American list (``commlab/wordlists/README.md``)."""
    import gzip

    path = Path(__file__).parents[1] / "wordlists" / "english-words.txt.gz"
    return frozenset(gzip.decompress(path.read_bytes()).decode("ascii").split())


@lru_cache(maxsize=1)
def given_names() -> frozenset[str]:
    """Given names (lower case, Latin letters) the leak scan searches even when they are English
    words or words of the kit's texts: US Census first names held by 0.01 % of people or more, the
    commonest Chinese surnames and given names in pinyin, and English names common as nicknames in
    Chinese groups (``commlab/wordlists/README.md``). Only :data:`NAME_EXEMPTIONS` are not searched."""
    path = Path(__file__).parents[1] / "wordlists" / "given-names.txt"
    lines = path.read_text(encoding="ascii").splitlines()
    return frozenset(w for w in lines if w and not w.startswith("#"))


def identity_needles(members: pd.DataFrame, *, min_length: int = MIN_ID_LENGTH,
                     min_numeric_length: int = MIN_NUMERIC_ID_LENGTH,
                     ignore: Iterable[str] = (), chosen: Iterable[str] = ()) -> dict[str, str]:
    """The strings that must never appear in a shareable file, each with its kind.

    Parameters
    ----------
    members : DataFrame
        The members table (``member_id`` and, when present, ``display_name``).
    min_length : int, default 4
        Member ids and Latin display names shorter than this are skipped: tiny ids such as ``7``
        or ``m1`` occur in any text and would fail every run. Display names containing a Chinese
        character are searched from 2 characters (a Chinese name is 2–3 characters and
        identifying), given names (:func:`given_names`) from :data:`MIN_NAME_LENGTH` (``Amy``).
    min_numeric_length : int, default 8
        Ids made of digits only are searched from this length: a 4-digit id cannot be told apart
        from a year, a count or a table value (QQ/phone-like ids of 8+ digits can). Short numeric
        ids (and display names made of digits) rely on pseudonymisation alone.
    ignore : iterable of str
        Further words a *display name* may be without being searched, unless it is a given name:
        the kit's own report texts (see ``commlab.runner``; never the data, never the package's
        code). Member ids are searched whatever they are, but for :data:`COMMON_WORDS`.
    chosen : iterable of str
        Words the user chose and the report shows (the data folder's name, in the run record): a
        display name equal to one is not searched, even a given name (``--data data/grace``).

    Returns
    -------
    dict of str to str
        Normalised needle (see :func:`normalize_identity`) -> ``"member_id"`` or ``"display_name"``.
        Lengths are measured on the normalised form, so invisible characters neither make a short
        name long enough to search nor hide a long one.

    Notes
    -----
    Not searched: :data:`COMMON_WORDS`; a display name that is a given name of
    :data:`NAME_EXEMPTIONS` (each decided on its own: ``Max``, ``Lee``); a display name that is not
    a given name and is one English word of :func:`english_words` (``Model``, ``Legend``: such a name
    cannot be told apart from an English report's text) or a word or line of ``ignore``; a display
    name of ``chosen``. Given names are searched though English words (``Jack``, ``Mark``,
    ``Grace``, ``Rose``) or words of ``ignore``; ``Kevin``, ``Luna``, ``wangfang``, ``lilei`` too.
    """
    common = {normalize_identity(w) for w in COMMON_WORDS}
    words = english_words()
    names = given_names()
    skip = {normalize_identity(str(w)).strip() for w in ignore}
    picked = {normalize_identity(str(w)).strip() for w in chosen}
    out: dict[str, str] = {}

    def add(values: pd.Series, kind: str, cjk_min: int) -> None:
        for raw in pd.unique(values.dropna().astype(str)):
            name = normalize_identity(raw).strip()
            if not name or name in common:
                continue
            latin_min = min_length
            if kind == "display_name":
                if name in picked:
                    continue
                if name in names:  # searched whatever else the word is, but for a decided exemption
                    if name in NAME_EXEMPTIONS:
                        continue
                    latin_min = min(min_length, MIN_NAME_LENGTH)
                elif name in skip or name in words:
                    continue
            need = cjk_min if _CJK.search(name) else (min_numeric_length if name.isdigit() else latin_min)
            if len(name) >= need:
                out.setdefault(name, kind)

    if "display_name" in members.columns:
        add(members["display_name"], "display_name", 2)
    add(members["member_id"], "member_id", min_length)
    return out


def vocabulary(texts: Iterable[str]) -> set[str]:
    """Whole words and lines of ``texts`` (for :func:`identity_needles`'s ``ignore``)."""
    out: set[str] = set()
    for t in texts:
        t = str(t)
        out.update(_WORD.findall(t))
        out.update(line.strip() for line in t.splitlines() if line.strip())
    return out


def _readable_forms(text: str) -> list[str]:
    """The forms of a shareable file's text the scan searches, each normalised.

    As written; with HTML entities undone; with JSON string escapes undone; and as the page's
    text (inline tags removed, other tags read as spaces), so ``&amp;``, ``\\u0041`` or
    ``高<b></b>佳芳`` cannot hide a name.
    """
    # a CSV download repeats its table's cells, but joins a cell's text across the tags inside it:
    # searched decoded, as a form of its own, rather than skipped with the other payloads
    tables = "\n".join(_decoded(m.group(1)) for m in _CSV_URI.finditer(text))
    text = _DATA_URI.sub("data:", _STYLE.sub("<style></style>", text))
    visible = html.unescape(_TAG.sub(" ", _INLINE_TAG.sub("", text)))
    # element names (``<meta``, ``<legend``) are the page's markup, not its content
    text = _TAG_NAME.sub("<", text)
    forms = [text, html.unescape(text)]
    try:
        forms.append(json.dumps(json.loads(text), ensure_ascii=False))
    except ValueError:
        pass
    forms.append(visible)
    if tables:
        forms.append(tables)
    return [normalize_identity(f) for f in dict.fromkeys(forms)]


def _decoded(payload: str) -> str:
    """The text of a base64 ``data:`` payload ("" when it is not base64 UTF-8)."""
    try:
        return base64.b64decode(payload, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""


def scan_text(text: str, needles: dict[str, str]) -> list[tuple[str, str]]:
    """``(kind, needle)`` for every needle found in ``text``.

    Both sides are compared normalised (:func:`normalize_identity`: NFKC, invisible characters
    removed, casefolded). The text is searched as written, with HTML entities and JSON string
    escapes undone, and as the page's visible text (see :func:`_readable_forms`). Embedded
    ``data:`` payloads and ``<style>`` sheets are skipped (CSV downloads are searched decoded);
    scripts, attributes and all text are searched. Needles with a Chinese character match anywhere
    (Chinese has no spaces between words); other needles match as whole words (``Mark`` is found
    in "by mark," but not in "Markdown").

    Parameters
    ----------
    text : str
        The file's content.
    needles : dict of str to str
        From :func:`identity_needles` (keys already normalised; raw keys are normalised here).
    """
    if not needles:
        return []
    needles = {normalize_identity(n).strip(): kind for n, kind in needles.items()}
    hay = "\n".join(_readable_forms(text))
    cjk = tuple(sorted(n for n in needles if _CJK.search(n)))
    latin = tuple(sorted(n for n in needles if not _CJK.search(n)))
    found: dict[str, None] = {}
    if cjk:
        found.update(dict.fromkeys(m.group(0) for m in _trie_pattern(cjk, False).finditer(hay)))
    if latin:
        found.update(dict.fromkeys(m.group(0) for m in _trie_pattern(latin, True).finditer(hay)))
    return [(needles[n], n) for n in found]


def scan_files(paths: Iterable[str | Path], members: pd.DataFrame, *, min_length: int = MIN_ID_LENGTH,
               ignore: Iterable[str] = (), chosen: Iterable[str] = ()) -> list[str]:
    """Search shareable files for raw member identities.

    Parameters
    ----------
    paths : iterable of path
        Text files meant for sharing (``report.html``, ``summary.json``); missing files are skipped.
    members : DataFrame
        The input members table.
    min_length, ignore, chosen
        See :func:`identity_needles`.

    Returns
    -------
    list of str
        One line per leak, naming the file, the kind and a *masked* form of the identity
        (first character and length), so the message itself leaks nothing. Empty when clean.
    """
    needles = identity_needles(members, min_length=min_length, ignore=ignore, chosen=chosen)
    leaks: list[str] = []
    for path in paths:
        p = Path(path)
        if not p.is_file():
            continue
        for kind, needle in scan_text(p.read_text(encoding="utf-8", errors="replace"), needles):
            leaks.append(f"{p.name}: {kind} {_mask(needle)}")
    return leaks


_STYLE = re.compile(r"<style\b[^>]*>.*?</style>", re.IGNORECASE | re.DOTALL)
#: Embedded payloads (images, CSV downloads): random base64 would match short ids by chance. A CSV
#: link is searched decoded (:data:`_CSV_URI`): it repeats its table, but joins each cell's text.
_DATA_URI = re.compile(r"data:[\w/+.-]+(?:;[\w=.-]+)*;base64,[A-Za-z0-9+/=]+")
_CSV_URI = re.compile(r"data:text/csv(?:;[\w=.-]+)*;base64,([A-Za-z0-9+/=]+)", re.IGNORECASE)


@lru_cache(maxsize=8)
def _trie_pattern(words: tuple[str, ...], whole_words: bool) -> re.Pattern[str]:
    """One regular expression matching any of ``words``, shaped as a trie.

    A flat alternation of thousands of names is tried name by name at every position of the text
    (seconds per report); the trie branches on each next character instead.
    """
    trie: dict[str, Any] = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    pattern = build(trie)
    if whole_words:
        pattern = rf"(?<![A-Za-z0-9_])(?:{pattern})(?![A-Za-z0-9_])"
    return re.compile(pattern)
