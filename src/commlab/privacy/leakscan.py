"""The leak scan: no raw member id or display name in a file meant for sharing.

Both sides are normalised (:func:`normalize_identity`) and every member id and display name is
searched wherever else the word appears (a dictionary, the kit's own texts), in what a person is
shown of the file (:mod:`commlab.privacy.readable`: text and attribute values, not the markup).
Not searched: the few :data:`COMMON_WORDS`; and the words of :data:`EXEMPTIONS` inside the kit's
own phrases listed with them (``Orbit`` in "Orbit Model": a member called Orbit shown in a table
is found). Each is decided per word, with its reason and a test.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from commlab.data.schema import Col
from commlab.privacy.readable import readable

__all__ = [
    "MIN_ID_LENGTH", "MIN_NUMERIC_ID_LENGTH", "MIN_NAME_LENGTH", "COMMON_WORDS", "Exemption", "EXEMPTIONS",
    "normalize_identity", "given_names", "Needles", "identity_needles", "vocabulary", "scan_text", "scan_files",
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
    # English words the kit writes in too many places to list each (sentences, formulas, headings, the
    # column "name" of the communities table, the unit "index"): found colliding on the members of the
    # Stack Exchange sites and of Cardano
    "index", "metrics", "name", "then", "this", "under",
    # a value of the data model's ``economy`` column ("fan" vs "community", DOMAIN.md §2), written bare in
    # summary.json and tables; also the given name Fan (范)
    "fan",
    # Chinese report words that are also common nicknames in WeChat/QQ groups
    "群主", "管理员", "成员", "用户", "社群", "官方", "助理",
})
#: Latin display names that are a given name (:func:`given_names`: ``Amy``, ``Joe``, ``Wei``) are
#: searched from this length, below :data:`MIN_ID_LENGTH`.
MIN_NAME_LENGTH = 3


class Exemption(NamedTuple):
    """Where the kit itself writes a word a member may be called: the word is not searched inside
    these phrases (compared normalised), and is searched everywhere else."""

    #: The kit's phrases holding the word, as a report or summary shows them.
    phrases: tuple[str, ...]
    #: Where the kit writes them and why they cannot be reworded.
    why: str


#: The words the leak scan does not search inside the kit's own phrases, each decided on its own.
#: A report would hold the phrase whoever the members are, so a member with that name (``Lee``,
#: ``Orbit``) would block every run; the word is masked in the phrase only, so the same member shown
#: anywhere else (a table, a community name) is found. ``tests/test_privacy_names.py`` checks that
#: the kit still writes each phrase and, for given names, that it writes no other; the real runs
#: (Stack Exchange sites, Cardano, CollegeMsg, the samples) show which other words collide. To add a
#: word, first try rewording the kit's text (``rose from`` became ``grew from``).
EXEMPTIONS: dict[str, Exemption] = {
    # given names (searched from 3 letters)
    "lee": Exemption(("hardie & lee", "hardie and lee", "hardie 与 lee"),
                     "the source of the BG/NBD model and of the repeat-purchase metric: Fader, Hardie & Lee (2005)"),
    "long": Exemption(("wait too long", "long-inactive members"), "English rule texts"),
    "max": Exemption(("max(", "min–max", "max k-core"), "metric formulas and figure notes"),
    "min": Exemption(("min d >= 4", "min–max", "min k :"), "metric formulas and figure notes"),
    "may": Exemption(("they may react",), "the definition of the lurker share"),
    "whitney": Exemption(("mann–whitney",), "the tests of the hypotheses and of the early drop"),
    "young": Exemption(("which young communities", "today's young communities"),
                       "the early-warning notebook and playbook"),
    # other words
    "orbit": Exemption(("orbit model", "analysis.orbit", "orbit 模型", "orbit level", "orbit love", "up an orbit",
                        "orbit 第", "orbit 热度"),
                       "the Orbit Model of community engagement, the source of the core-member metrics and "
                       "the orbit levels (DOMAIN.md §3)"),
    "model": Exemption(("orbit model", "business model", "monetization model"),
                       "the Orbit Model (above); the communities' business model and monetization, columns of "
                       "the data model"),
    "task": Exemption(("small task", "first-week task", "a task,"), "English rule actions"),
    "hash": Exemption(("keyed hash",), "the privacy note of the report's appendix"),
    "everyone": Exemption(("everyone equally", "everyone contributes"), "metric definitions (Gini, centralization)"),
    "person": Exemption(("to person|", "most-addressed person"), "the definition of the expert-in share"),
    "kernel": Exemption(("utc kernel",), "the run record: the row after the start time names the Jupyter kernel"),
    "input": Exemption(("input files (sha256)",), "the run record: the checksums of the input files"),
    "nothing": Exemption(("when nothing happened", "nothing to compare", "nothing to draw", "nothing to compute"),
                         "metric definitions and the notes of a section with too few communities"),
    "team": Exemption(("management team",), "the role label of staff (owner and assistants), DOMAIN.md"),
    "tell": Exemption(("cannot tell",), "a hypothesis test that cannot be decided on the data (its reason)"),
    "question": Exemption(("empirical question", "open question", "answer one question", "every question",
                           "entry question"),
                          "the hypotheses the articles leave open; English rule actions"),
}
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[A-Za-z0-9_]+(?:['’.-][A-Za-z0-9_]+)*")
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
    if text.isascii():  # NFKC leaves ASCII as it is, and no invisible character is ASCII
        return _SPACES.sub(" ", text.lower())
    import unicodedata

    text = unicodedata.normalize("NFKC", text).translate(_invisible_table())
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text.casefold()))


#: White space as ``\\s`` matches it in ASCII text (``str.isspace``): the ASCII path of :func:`_normalized`.
_ASCII_SPACES = r"[\t\n\x0b\x0c\r\x1c-\x1f ]+"


def _normalized(values: Any) -> list[str]:
    """``normalize_identity(v).strip()`` of each of ``values`` (strings), in order.

    The ASCII values (member ids, Latin names: a million at 50 M events) are normalised at once by Arrow's
    string kernels, as :func:`normalize_identity`'s ASCII path does one by one: lower case, every run of
    white space one space, then stripped; the others one by one.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(values, type=pa.string())
    if not len(arr):
        return []
    ascii_ = pc.string_is_ascii(arr).to_numpy(zero_copy_only=False)
    fast = pc.utf8_trim(pc.replace_substring_regex(pc.ascii_lower(arr), pattern=_ASCII_SPACES, replacement=" "),
                        characters=" ").to_pylist()
    return [f if a else normalize_identity(v).strip() for f, a, v in zip(fast, ascii_, values, strict=True)]


def _mask(value: str) -> str:
    return value[0] + "…" + f"({len(value)} chars)" if value else "…"


@lru_cache(maxsize=1)
def given_names() -> frozenset[str]:
    """Given names (lower case, Latin letters) the leak scan searches even when they are English
    words or words of the kit's texts: US Census first names held by 0.01 % of people or more, the
    commonest Chinese surnames and given names in pinyin, and English names common as nicknames in
    Chinese groups (``commlab/wordlists/README.md``). """
    path = Path(__file__).parents[1] / "wordlists" / "given-names.txt"
    lines = path.read_text(encoding="ascii").splitlines()
    return frozenset(w for w in lines if w and not w.startswith("#"))


class Needles(dict[str, str]):
    """Normalised identities (:func:`normalize_identity`) -> kind, as :func:`identity_needles` returns them.

    :func:`scan_text` normalises the keys of a plain dict on every call (a 100 k-member table: 0.7 s per
    file); these are normalised already, and their split into Chinese and other needles is kept for the
    next file.
    """

    def prepared(self) -> Needles:
        """These needles with their split and their lookups built (see :func:`scan_text`), so that a scan
        started later does not build them: the runner prepares them while the notebooks run."""
        for words, whole in zip(self.split(), (False, True, False, True), strict=True):
            if words:
                _lookup(words, whole)
        return self

    def split(self) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """``(Chinese needles, other needles)`` of all, then of the member ids only; computed once."""
        cached = self.__dict__.get("_split")
        if cached is None:
            def halves(words: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
                words = sorted(words)
                cjk = [not w.isascii() and _CJK.search(w) is not None for w in words]  # ASCII has no Chinese
                return (tuple(w for w, c in zip(words, cjk, strict=True) if c),
                        tuple(w for w, c in zip(words, cjk, strict=True) if not c))

            cached = self.__dict__["_split"] = (*halves(self), *halves(n for n, k in self.items()
                                                                         if k == Col.member_id))
        return cached


def identity_needles(members: pd.DataFrame, *, min_length: int = MIN_ID_LENGTH,
                     min_numeric_length: int = MIN_NUMERIC_ID_LENGTH,
                     chosen: Iterable[str] = ()) -> Needles:
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
    chosen : iterable of str
        Words the user chose and the report shows: the data folder's name (in the run record), a
        public site's name and subject (``Physics Stack Exchange``, ``physics``). A display name
        equal to one is not searched, even a given name (``--data data/grace``).

    Returns
    -------
    Needles
        A dict: normalised needle (see :func:`normalize_identity`) -> ``"member_id"`` or ``"display_name"``.
        Lengths are measured on the normalised form, so invisible characters neither make a short
        name long enough to search nor hide a long one.

    Notes
    -----
    Every id and name is searched whatever else the word is (an English word, a word of the kit's
    texts: ``Legend``, ``Orbit``, ``Jack``, ``Kevin``), but for :data:`COMMON_WORDS` and a display
    name of ``chosen``; the words of :data:`EXEMPTIONS` are searched too, outside their phrases
    (:func:`scan_text`).
    """
    common = {normalize_identity(w) for w in COMMON_WORDS}
    names = given_names()
    picked = {normalize_identity(str(w)).strip() for w in chosen}
    out: dict[str, str] = {}

    def add(values: pd.Series, kind: str) -> None:
        # as a NumPy array of str: an Arrow-backed column is slow to iterate value by value
        for name in _normalized(pd.unique(values.dropna().astype(str).to_numpy(dtype=object))):
            if not name or name in common or (kind == "display_name" and name in picked):
                continue
            if kind == "display_name":
                cjk_min, latin_min = 2, (min(min_length, MIN_NAME_LENGTH) if name in names else min_length)
            else:
                cjk_min = latin_min = min_length
            if name.isascii():  # no Chinese character: the test below without the regular expression
                need = min_numeric_length if name.isdigit() else latin_min
            else:
                need = cjk_min if _CJK.search(name) else (min_numeric_length if name.isdigit() else latin_min)
            if len(name) >= need:
                out.setdefault(name, kind)

    if "display_name" in members.columns:
        add(members["display_name"], "display_name")
    add(members[Col.member_id], Col.member_id)
    return Needles(out)


def vocabulary(texts: Iterable[str]) -> set[str]:
    """Whole words and lines of ``texts`` (for :func:`identity_needles`'s ``chosen``)."""
    out: set[str] = set()
    for t in texts:
        t = str(t)
        out.update(_WORD.findall(t))
        out.update(line.strip() for line in t.splitlines() if line.strip())
    return out


@lru_cache(maxsize=1)
def _phrase_masks() -> tuple[tuple[str, str], ...]:
    """``(phrase, phrase with its exempt words blanked)`` for every phrase of :data:`EXEMPTIONS`,
    longest first; a phrase exempting two words (``min–max scaled``) blanks both."""
    words: dict[str, set[str]] = {}
    for word, ex in EXEMPTIONS.items():
        for phrase in ex.phrases:
            words.setdefault(normalize_identity(phrase), set()).add(normalize_identity(word))
    out = []
    for phrase, ws in words.items():
        pattern = re.compile(r"(?<![a-z0-9_])(?:" + "|".join(map(re.escape, sorted(ws))) + r")(?![a-z0-9_])")
        out.append((phrase, pattern.sub(lambda m: "\x00" * len(m.group(0)), phrase)))
    return tuple(sorted(out, key=lambda pm: -len(pm[0])))


def _masked(text: str) -> str:
    """``text`` (normalised) with the exempt words of the kit's phrases blanked (:data:`EXEMPTIONS`)."""
    for phrase, masked in _phrase_masks():
        if phrase in text:
            text = text.replace(phrase, masked)
    return text


def _find(hay: str, cjk: tuple[str, ...], latin: tuple[str, ...]) -> dict[str, None]:
    """The needles of ``cjk`` (anywhere) and ``latin`` (as whole words) that occur in ``hay``."""
    found: dict[str, None] = {}
    if cjk:
        found.update(_lookup(cjk, False).find(hay))
    if latin:
        found.update(_lookup(latin, True).find(hay))
    return found


class _Lookup:
    """Finds any of many words in a text by set lookups at the positions where one could start.

    At each position whose character starts some word (and, for whole words, that no ASCII word
    character precedes), the text's slices of the words' lengths for that first character are looked
    up in the set of words; a whole word must also end before a non-word character. Every occurrence
    is found, overlapping ones too. A regular expression of a million member ids, even shaped as a
    trie, took 16 s to compile (1 M members, 50 M events); this takes about a second to build.
    """

    _WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")

    def __init__(self, words: tuple[str, ...], whole_words: bool) -> None:
        self.words = frozenset(words)
        self.whole_words = whole_words
        lengths: dict[str, set[int]] = {}
        for w in words:
            if w:
                lengths.setdefault(w[0], set()).add(len(w))
        self.lengths = {ch: tuple(sorted(ls)) for ch, ls in lengths.items()}
        starts = "".join(re.escape(ch) for ch in sorted(self.lengths))
        before = "(?<![A-Za-z0-9_])" if whole_words else ""
        self.starts = re.compile(f"{before}[{starts}]") if starts else None

    def find(self, hay: str) -> dict[str, None]:
        """The words occurring in ``hay`` (as whole words if so built), in order of first occurrence."""
        found: dict[str, None] = {}
        if self.starts is None:
            return found
        words, lengths, n = self.words, self.lengths, len(hay)
        word_chars = self._WORD_CHARS
        for m in self.starts.finditer(hay):
            i = m.start()
            for length in lengths[hay[i]]:
                end = i + length
                if end > n:
                    break
                piece = hay[i:end]
                if piece in words and not (self.whole_words and end < n and hay[end] in word_chars):
                    found[piece] = None
        return found


@lru_cache(maxsize=8)
def _lookup(words: tuple[str, ...], whole_words: bool) -> _Lookup:
    return _Lookup(words, whole_words)


def scan_text(text: str, needles: dict[str, str], *, kind: str | None = None) -> list[tuple[str, str]]:
    """``(kind, needle)`` for every needle found in ``text``.

    Both sides are compared normalised (:func:`normalize_identity`: NFKC, invisible characters
    removed, casefolded). What is searched is what a person is shown (:func:`commlab.privacy.readable.readable`):
    an HTML page's text (inline elements joined: ``高<b></b>佳芳``) and attribute values (``alt``,
    ``title``, a table's phone labels, links to elsewhere), entities undone, and its CSV downloads
    decoded; not its tag and attribute names, markup attributes (``class``, ``id``, ``style``),
    style sheets, links to its own anchors or embedded images. A JSON file's values (escapes
    undone); its snake-case keys (field names) for member ids only. Other text as written and with
    entities undone. The words of :data:`EXEMPTIONS` are blanked inside their phrases first.
    Needles with a Chinese character match anywhere (Chinese has no spaces between words); other
    needles match as whole words (``Mark`` is found in "by mark," but not in "Markdown").

    Parameters
    ----------
    text : str
        The file's content.
    needles : dict of str to str
        From :func:`identity_needles` (a :class:`Needles`: keys normalised already); the keys of any
        other dict are normalised here.
    kind : {"html", "json", "text"}, optional
        How to read ``text`` (by default sniffed: see :func:`commlab.privacy.readable.readable`).
    """
    if not needles:
        return []
    if not isinstance(needles, Needles):
        needles = Needles({normalize_identity(n).strip(): k for n, k in needles.items()})
    cjk, latin, id_cjk, id_latin = needles.split()
    parts = readable(text, kind)
    hay = _masked("\n".join(normalize_identity(t) for t in dict.fromkeys(parts.texts)))
    found = _find(hay, cjk, latin)
    if parts.keys and (id_cjk or id_latin):
        found.update(_find(normalize_identity("\n".join(dict.fromkeys(parts.keys))), id_cjk, id_latin))
    return [(needles[n], n) for n in found]


_KINDS = {".html": "html", ".htm": "html", ".json": "json"}


def scan_files(paths: Iterable[str | Path], members: pd.DataFrame, *, min_length: int = MIN_ID_LENGTH,
               chosen: Iterable[str] = (), needles: Needles | None = None) -> list[str]:
    """Search shareable files for raw member identities.

    Parameters
    ----------
    paths : iterable of path
        Text files meant for sharing (``report.html``, ``summary.json``); missing files are skipped.
        Read as HTML or JSON by their suffix, else sniffed.
    members : DataFrame
        The input members table.
    min_length, chosen
        See :func:`identity_needles`.
    needles : Needles, optional
        ``identity_needles(members, min_length=min_length, chosen=chosen)``, computed already (then
        ``members``, ``min_length`` and ``chosen`` are not read again).

    Returns
    -------
    list of str
        One line per leak, naming the file, the kind and a *masked* form of the identity
        (first character and length), so the message itself leaks nothing. Empty when clean.
    """
    if needles is None:
        needles = identity_needles(members, min_length=min_length, chosen=chosen)
    leaks: list[str] = []
    for path in paths:
        p = Path(path)
        if not p.is_file():
            continue
        text = p.read_text(encoding="utf-8", errors="replace")
        for kind, needle in scan_text(text, needles, kind=_KINDS.get(p.suffix.lower())):
            leaks.append(f"{p.name}: {kind} {_mask(needle)}")
    return leaks
