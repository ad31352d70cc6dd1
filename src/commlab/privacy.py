"""Keeping member identities out of anything written for a report.

Member ids are replaced by keyed pseudonyms (HMAC-SHA256): the same id and key always give
the same pseudonym, so runs can be compared, but nobody without the key can go back to the
id. The key comes from the ``COMMLAB_PSEUDONYM_KEY`` environment variable (or a caller's
configuration) and is never written out. Without a key, a random per-process key is used:
pseudonyms are then stable within one run only.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import os
import re
import secrets
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "KEY_ENV",
    "pseudonym_key",
    "pseudonymize",
    "suppress_small_groups",
    "DEFAULT_K",
    "MIN_ID_LENGTH",
    "MIN_NUMERIC_ID_LENGTH",
    "identity_needles",
    "vocabulary",
    "scan_text",
    "scan_files",
]

KEY_ENV = "COMMLAB_PSEUDONYM_KEY"
#: Groups smaller than this are suppressed in reports.
DEFAULT_K = 5
_PROCESS_KEY = secrets.token_bytes(32)


def pseudonym_key(key: str | bytes | None = None) -> bytes:
    """The key to use: ``key`` if given, else ``$COMMLAB_PSEUDONYM_KEY``, else a per-process key."""
    if key is None:
        key = os.environ.get(KEY_ENV) or None
    if key is None:
        return _PROCESS_KEY
    return key.encode("utf-8") if isinstance(key, str) else key


def pseudonymize(ids: pd.Series, key: str | bytes | None = None, *, prefix: str = "m_", length: int = 12) -> pd.Series:
    """Replace each id by a keyed pseudonym such as ``m_3f9a0c1b2d4e``.

    Parameters
    ----------
    ids : Series
        Member ids (any type; compared as text). Missing stays missing.
    key : str or bytes, optional
        Secret key; see :func:`pseudonym_key`.
    prefix : str
        Put before the hex digest, to make pseudonyms recognisable.
    length : int
        Hex characters kept (12 = 48 bits; collisions are negligible below millions of ids).

    Returns
    -------
    Series of str
    """
    k = pseudonym_key(key)
    uniq = pd.unique(ids.dropna().astype(str))
    table = {u: prefix + hmac.new(k, u.encode("utf-8"), hashlib.sha256).hexdigest()[:length] for u in uniq}
    return ids.astype("string").map(table).astype("string")


def suppress_small_groups(table: pd.DataFrame, count_col: str, k: int = DEFAULT_K) -> pd.DataFrame:
    """Blank out rows whose group has fewer than ``k`` members (k-anonymity style).

    Counts below ``k`` (but above zero) become missing, and every other numeric value on that
    row too, so a reader cannot single out a member from a tiny group.
    """
    out = table.copy()
    small = (out[count_col] > 0) & (out[count_col] < k)
    num_cols = out.select_dtypes("number").columns
    out[num_cols] = out[num_cols].astype("float64")
    out.loc[small, num_cols] = float("nan")
    return out


#: Member ids and ASCII display names shorter than this are not searched for (see :func:`identity_needles`).
MIN_ID_LENGTH = 4
#: Member ids made of digits only are searched from this length (see :func:`identity_needles`).
MIN_NUMERIC_ID_LENGTH = 8
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[A-Za-z0-9_]+(?:['’.-][A-Za-z0-9_]+)*")


def _mask(value: str) -> str:
    return value[0] + "…" + f"({len(value)} chars)" if value else "…"


def identity_needles(members: pd.DataFrame, *, min_length: int = MIN_ID_LENGTH,
                     min_numeric_length: int = MIN_NUMERIC_ID_LENGTH, ignore: Iterable[str] = ()) -> dict[str, str]:
    """The strings that must never appear in a shareable file, each with its kind.

    Parameters
    ----------
    members : DataFrame
        The members table (``member_id`` and, when present, ``display_name``).
    min_length : int, default 4
        Member ids and Latin display names shorter than this are skipped: tiny ids such as ``7``
        or ``m1`` occur in any text and would fail every run. Display names containing a Chinese
        character are searched from 2 characters (a Chinese name is 2–3 characters and
        identifying).
    min_numeric_length : int, default 8
        Ids made of digits only are searched from this length: a 4-digit id cannot be told apart
        from a year, a count or a table value (QQ/phone-like ids of 8+ digits can). Short numeric
        ids (and display names made of digits) rely on pseudonymisation alone.
    ignore : iterable of str
        The kit's own words (metric names, headings, community names, ...): a display name such
        as ``Community`` or ``data`` that is one of them cannot be told apart from the report's
        text and is not searched for.

    Returns
    -------
    dict of str to str
        Needle -> ``"member_id"`` or ``"display_name"``.
    """
    skip = set(ignore)
    out: dict[str, str] = {}
    if "display_name" in members.columns:
        for name in pd.unique(members["display_name"].dropna().astype(str).str.strip()):
            need = 2 if _CJK.search(name) else (min_numeric_length if name.isdigit() else min_length)
            if len(name) >= need and name not in skip:
                out[name] = "display_name"
    for mid in pd.unique(members["member_id"].dropna().astype(str).str.strip()):
        if len(mid) >= (min_numeric_length if mid.isdigit() else min_length) and mid not in skip:
            out[mid] = "member_id"
    return out


def vocabulary(texts: Iterable[str]) -> set[str]:
    """Whole words and lines of ``texts`` (for :func:`identity_needles`'s ``ignore``)."""
    out: set[str] = set()
    for t in texts:
        t = str(t)
        out.update(_WORD.findall(t))
        out.update(line.strip() for line in t.splitlines() if line.strip())
    return out


def scan_text(text: str, needles: dict[str, str]) -> list[tuple[str, str]]:
    """``(kind, needle)`` for every needle found in ``text``.

    The text is searched as written and with HTML entities and JSON string escapes undone, so
    ``&amp;`` or ``\\u0041`` cannot hide a name. Embedded ``data:`` payloads and ``<style>``
    sheets (the page template's CSS, full of words such as ``editor`` or ``user``) are skipped;
    scripts, attributes and all text are searched.
    Needles with a Chinese character match anywhere (Chinese has no spaces between words);
    other needles match as whole words (``Mark`` is found in "by Mark," but not in "Markdown").
    """
    if not needles:
        return []
    text = _DATA_URI.sub("data:", _STYLE.sub("<style></style>", text))
    variants = {text, html.unescape(text)}
    try:
        variants.add(json.dumps(json.loads(text), ensure_ascii=False))
    except ValueError:
        pass
    hay = "\n".join(variants)
    cjk = tuple(sorted(n for n in needles if _CJK.search(n)))
    latin = tuple(sorted(n for n in needles if not _CJK.search(n)))
    found: dict[str, None] = {}
    if cjk:
        found.update(dict.fromkeys(m.group(0) for m in _trie_pattern(cjk, False).finditer(hay)))
    if latin:
        found.update(dict.fromkeys(m.group(0) for m in _trie_pattern(latin, True).finditer(hay)))
    return [(needles[n], n) for n in found]


def scan_files(paths: Iterable[str | Path], members: pd.DataFrame, *, min_length: int = MIN_ID_LENGTH,
               ignore: Iterable[str] = ()) -> list[str]:
    """Search shareable files for raw member identities.

    Parameters
    ----------
    paths : iterable of path
        Text files meant for sharing (``report.html``, ``summary.json``); missing files are skipped.
    members : DataFrame
        The input members table.
    min_length, ignore
        See :func:`identity_needles`.

    Returns
    -------
    list of str
        One line per leak, naming the file, the kind and a *masked* form of the identity
        (first character and length), so the message itself leaks nothing. Empty when clean.
    """
    needles = identity_needles(members, min_length=min_length, ignore=ignore)
    leaks: list[str] = []
    for path in paths:
        p = Path(path)
        if not p.is_file():
            continue
        for kind, needle in scan_text(p.read_text(encoding="utf-8", errors="replace"), needles):
            leaks.append(f"{p.name}: {kind} {_mask(needle)}")
    return leaks


_STYLE = re.compile(r"<style\b[^>]*>.*?</style>", re.IGNORECASE | re.DOTALL)
#: Embedded payloads (images, CSV downloads): random base64 would match short ids by chance, and a
#: CSV link only repeats a table that is scanned as text anyway.
_DATA_URI = re.compile(r"data:[\w/+.-]+(?:;[\w=.-]+)*;base64,[A-Za-z0-9+/=]+")


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
