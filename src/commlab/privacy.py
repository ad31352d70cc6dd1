"""Keeping member identities out of anything written for a report.

Member ids are replaced by keyed pseudonyms (HMAC-SHA256): the same id and key always give
the same pseudonym, so runs can be compared, but nobody without the key can go back to the
id. The key comes from the ``COMMLAB_PSEUDONYM_KEY`` environment variable (or a caller's
configuration) and is never written out. Without a key, a random per-process key is used:
pseudonyms are then stable within one run only.
"""

from __future__ import annotations

import base64
import binascii
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
    "suppress_table",
    "suppress_metrics",
    "MEMBER_SHARE_METRICS",
    "MEMBER_COUNT_METRICS",
    "small_group_mask",
    "small_groups",
    "without_small_groups",
    "format_count",
    "suppress_count",
    "suppression_note",
    "SUPPRESSED",
    "DEFAULT_K",
    "MIN_K",
    "check_k",
    "MIN_ID_LENGTH",
    "MIN_NUMERIC_ID_LENGTH",
    "MIN_NAME_LENGTH",
    "COMMON_WORDS",
    "NAME_EXEMPTIONS",
    "normalize_identity",
    "english_words",
    "given_names",
    "identity_needles",
    "vocabulary",
    "scan_text",
    "scan_files",
]

KEY_ENV = "COMMLAB_PSEUDONYM_KEY"
#: Groups smaller than this are suppressed in reports.
DEFAULT_K = 5
#: The floor of k: no setting (playbook, ``-p k_min_group``, an argument) may go below it.
MIN_K = 2
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


#: How a suppressed value is shown in a report table (a suppressed count shows ``<k``).
SUPPRESSED = "—"

_NOTE = {
    "zh": "少于 {k} 人的分组不显示：{n} 处（人数记作 <{k}，由其算出的数值记作 {dash}）。",
    "en": "{n} group(s) with fewer than {k} members suppressed (counts shown as <{k}, values computed from them "
          "as {dash}).",
    "zh_out": "少于 {k} 人的分组不参与比较：{n} 处。",
    "en_out": "{n} group(s) with fewer than {k} members left out of the comparison.",
}


def check_k(k: Any) -> int:
    """``k`` as an int if it is a valid small-group threshold.

    Raises
    ------
    ParameterError
        If ``k`` is not an integer or is below :data:`MIN_K` (a group of one member would be
        shown: suppression cannot be switched off).
    """
    from commlab.errors import ParameterError

    if isinstance(k, bool) or not isinstance(k, int | float) or k != int(k):
        raise ParameterError(f"k (the smallest group shown) must be an integer of at least {MIN_K}; given {k!r}")
    if k < MIN_K:
        raise ParameterError(f"k (the smallest group shown) must be at least {MIN_K}: small-group suppression "
                             f"cannot be switched off; given {k!r}")
    return int(k)


def small_group_mask(counts: pd.Series | pd.DataFrame, k: int = DEFAULT_K) -> pd.Series | pd.DataFrame:
    """True where a group has members but fewer than ``k`` (``0 < n < k``); missing counts are False.

    The bare mask (``k <= 1`` masks nothing, as a figure drawn for exploration asks); the helpers
    that suppress what a report shows (:func:`suppress_table` and those built on it,
    :func:`small_groups`, :func:`without_small_groups`, :func:`suppress_count`,
    :func:`format_count`, :func:`suppression_note`) refuse ``k`` below :data:`MIN_K`
    (:func:`check_k`).
    """
    n = counts.apply(pd.to_numeric, errors="coerce") if isinstance(counts, pd.DataFrame) else \
        pd.to_numeric(counts, errors="coerce")
    return ((n > 0) & (n < k)).fillna(False).astype(bool)


def small_groups(sizes: pd.Series, k: int = DEFAULT_K) -> list[Any]:
    """The labels (index values) of ``sizes`` whose group has fewer than ``k`` members (but some)."""
    k = check_k(k)
    return list(sizes.index[small_group_mask(sizes, k).to_numpy()])


def _masks(table: pd.DataFrame, k: int, size: str | pd.Series | None, counts: Iterable[str],
           linked: dict[str, Iterable[str]] | None, derived: Iterable[str], keep: Iterable[str],
           shares: dict[str, str] | None,
           group_sizes: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """``(hidden, shown_as_count, n_groups)``: boolean frames shaped like ``table``."""
    hidden = pd.DataFrame(False, index=table.index, columns=table.columns)
    as_count = hidden.copy()
    counts = [c for c in counts if c in table.columns]
    n = 0
    if size is not None:
        sizes = table[size] if isinstance(size, str) else size.reindex(table.index)
        rows = small_group_mask(sizes, k).to_numpy()
        n += int(rows.sum())
        values = [c for c in table.columns if c not in set(keep)
                  and (pd.api.types.is_numeric_dtype(table[c]) or c in set(derived))]
        hidden.loc[rows, values] = True
        count_cols = [c for c in [size, *counts] if isinstance(c, str) and c in values]
        as_count.loc[rows, count_cols] = True
    else:
        rows = pd.Series(False, index=table.index).to_numpy()
    for c in counts:
        cells = small_group_mask(table[c], k).to_numpy() & ~rows
        n += int(cells.sum())
        hidden.loc[cells, c] = True
        as_count.loc[cells, c] = True
        for d in (linked or {}).get(c, ()):
            if d in table.columns:
                hidden.loc[cells, d] = True
    for c, base in (shares or {}).items():
        if c not in table.columns or base not in table.columns:
            continue
        implied = (pd.to_numeric(table[c], errors="coerce") * pd.to_numeric(table[base], errors="coerce")).round()
        cells = small_group_mask(implied, k).to_numpy() & ~rows & ~hidden[c].to_numpy()
        n += int(cells.sum())
        hidden.loc[cells, c] = True
    if group_sizes is not None:
        for c in table.columns.intersection(group_sizes.columns):
            if c in set(keep):
                continue
            cells = small_group_mask(group_sizes[c].reindex(table.index), k).to_numpy() & ~rows
            cells &= ~hidden[c].to_numpy() & table[c].notna().to_numpy()
            n += int(cells.sum())
            hidden.loc[cells, c] = True
    return hidden, as_count, n


def suppress_table(table: pd.DataFrame, k: int = DEFAULT_K, *, size: str | pd.Series | None = None,
                   counts: Iterable[str] = (), linked: dict[str, Iterable[str]] | None = None,
                   shares: dict[str, str] | None = None, derived: Iterable[str] = (), keep: Iterable[str] = (),
                   group_sizes: pd.DataFrame | None = None, numeric: bool = False) -> tuple[pd.DataFrame, int]:
    """Hide every group with fewer than ``k`` members in a table meant for a report.

    Two kinds of group are recognised:

    * **rows**: each row is a group (a community, segment, role, cohort) whose size is the
      ``size`` column (or a Series aligned on the index). When ``0 < size < k`` every numeric
      value of the row is hidden (and the ``derived`` text columns, computed from the group's
      members); label columns stay, so the reader sees *which* group was suppressed.
    * **cells**: the ``counts`` columns (or, for a crosstab, every column) hold member counts
      of sub-groups (active members, role × segment cells). A count with ``0 < n < k`` is
      hidden, and so are the columns ``linked[c]`` computed from it on that row (a share
      ``active / members`` would give the count back).

    * **shares**: a column ``c`` with ``shares[c] = "members"`` is a share of the row's members
      (a 2 % core share of 150 members is 3 core members); when ``share × size`` rounds to a
      count with ``0 < n < k`` the share is hidden.
    * **group sizes**: ``group_sizes`` gives, cell by cell, how many members a value is computed
      over (the retention of a join cohort, the response rate of the members who posted); a
      value whose group has ``0 < n < k`` members is hidden.

    Zero is never suppressed: an empty group singles out nobody.

    Parameters
    ----------
    table : DataFrame
        The table as it would be shown (not modified).
    k : int, default 5
        Smallest group size shown.
    size : str or Series, optional
        The column (or aligned Series) with each row's group size.
    counts : iterable of str
        Columns of member counts to suppress cell by cell.
    linked : dict of str to iterable of str, optional
        For a count column, the columns computed from it.
    shares : dict of str to str, optional
        Share column -> the count column it is a share of.
    derived : iterable of str
        Non-numeric columns that describe the row's members (hidden with the row).
    keep : iterable of str
        Numeric columns that label the row (a segment number) and are never hidden.
    group_sizes : DataFrame, optional
        Same index as ``table`` and some of its columns: the number of members each value is
        computed over (NaN: not applicable). Missing values are not counted as suppressed.
    numeric : bool, default False
        False: a display copy where hidden counts read ``<k`` and other hidden values
        :data:`SUPPRESSED` (use it for tables shown in a report; the CSV download of the table
        repeats it). True: hidden values become missing (NaN / None) and dtypes stay numeric
        where possible (for ``summary.json`` and for figures).

    Returns
    -------
    (DataFrame, int)
        The suppressed copy and the number of groups (rows plus cells) suppressed; see
        :func:`suppression_note`.
    """
    k = check_k(k)
    hidden, as_count, n = _masks(table, k, size, counts, linked, derived, keep, shares, group_sizes)
    out = table.copy()
    for c in out.columns:
        mask = hidden[c].to_numpy()
        if not mask.any():
            continue
        if numeric:
            if pd.api.types.is_numeric_dtype(out[c]):
                out[c] = out[c].astype("float64")
                out.loc[mask, c] = float("nan")
            else:
                out[c] = out[c].astype(object)
                out.loc[mask, c] = None
        else:
            out[c] = out[c].astype(object)
            out.loc[mask, c] = SUPPRESSED
            out.loc[mask & as_count[c].to_numpy(), c] = f"<{k}"
    return out, n


def suppress_small_groups(table: pd.DataFrame | pd.Series, count_col: str | None = None, k: int = DEFAULT_K, *,
                          counts: Iterable[str] = (), linked: dict[str, Iterable[str]] | None = None,
                          shares: dict[str, str] | None = None, derived: Iterable[str] = (),
                          keep: Iterable[str] = ()) -> pd.DataFrame | pd.Series:
    """Blank out groups with fewer than ``k`` members (k-anonymity style), keeping numbers numeric.

    Rows whose ``count_col`` is below ``k`` (but above zero) lose every numeric value; cells of
    ``counts`` below ``k`` and their ``linked`` columns become missing too. A Series is taken as
    counts (each value a group size). See :func:`suppress_table` (``numeric=True``), which this
    calls.
    """
    if isinstance(table, pd.Series):
        frame, _ = suppress_table(table.to_frame("n"), k, counts=["n"], numeric=True)
        return frame["n"].rename(table.name)
    out, _ = suppress_table(table, k, size=count_col, counts=counts, linked=linked, shares=shares, derived=derived,
                            keep=keep, numeric=True)
    return out


#: Registered community metrics that are shares of the community's present members (metric
#: ``members``): share × members is a member count, suppressed like one.
MEMBER_SHARE_METRICS: tuple[str, ...] = (
    "active_share_7d", "active_share_30d", "zombie_share", "lurker_share", "core_share", "buyer_share",
    "referral_rate",
)
#: Registered community metrics that count members.
MEMBER_COUNT_METRICS: tuple[str, ...] = ("kcore_size",)


def suppress_metrics(table: pd.DataFrame, k: int = DEFAULT_K, *, n: pd.DataFrame | None = None,
                     numeric: bool = False, keep: Iterable[str] = ()) -> tuple[pd.DataFrame, int]:
    """:func:`suppress_table` for a wide metric table (one row per community, metric ids as columns).

    A community with fewer than ``k`` members (metric ``members``) loses every value; a member
    count (:data:`MEMBER_COUNT_METRICS`) or a member share (:data:`MEMBER_SHARE_METRICS`) that
    stands for fewer than ``k`` members is hidden on its own; and, with ``n``, so is every value
    computed over fewer than ``k`` members (the retention of a small join cohort, the response
    rate of three posters, the content share of the top 1 % of 150 members).

    Parameters
    ----------
    table : DataFrame
        Communities × metric ids (:func:`commlab.analysis.metrics.wide`).
    k : int, default 5
        Smallest group shown.
    n : DataFrame, optional
        The metrics' group sizes, ``wide(metrics, values="n")``: indexed like ``table``, or by
        community id when ``table`` has a ``community_id`` column. Without it only the community
        size and the member shares and counts are checked.
    numeric, keep
        See :func:`suppress_table`.

    Returns
    -------
    (DataFrame, int)
        The suppressed copy and the number of groups (communities and cells) suppressed.
    """
    if n is not None and "community_id" in table.columns:
        n = n.reindex(pd.Index(table["community_id"].astype(str))).set_axis(table.index)
    return suppress_table(table, k, size="members" if "members" in table.columns else None,
                          counts=MEMBER_COUNT_METRICS, shares=dict.fromkeys(MEMBER_SHARE_METRICS, "members"),
                          keep=keep, group_sizes=n, numeric=numeric)


def without_small_groups(table: pd.DataFrame, sizes: pd.Series, k: int = DEFAULT_K, *,
                         on: str | None = None) -> pd.DataFrame:
    """``table`` without the rows of groups smaller than ``k`` (for figures).

    Parameters
    ----------
    table : DataFrame
        Rows keyed by group on the index, or on the column ``on``.
    sizes : Series
        Group size by group label.
    """
    small = set(small_groups(sizes, k))
    keys = table.index if on is None else table[on]
    return table[~pd.Index(keys).isin(small)]


def suppress_count(n: float | None, k: int = DEFAULT_K) -> int | None:
    """A member count for ``summary.json``: ``None`` when ``0 < n < k`` (or missing), else the int."""
    k = check_k(k)
    if n is None or pd.isna(n) or 0 < n < k:
        return None
    return int(n)


def format_count(n: float | None, k: int = DEFAULT_K) -> str:
    """A member count as shown in report text: ``<k`` when ``0 < n < k``, else the number."""
    k = check_k(k)
    if n is None or pd.isna(n):
        return SUPPRESSED
    return f"<{k}" if 0 < n < k else f"{int(n):,}"


def suppression_note(n: int, k: int = DEFAULT_K, lang: str = "en", *, left_out: bool = False) -> str:
    """The sentence put under a table with ``n`` suppressed groups (empty when ``n`` is 0).

    ``left_out=True`` says the groups were left out of what follows (a comparison, a figure)
    rather than shown as ``<k`` / :data:`SUPPRESSED`.
    """
    k = check_k(k)
    if n <= 0:
        return ""
    key = ("zh" if lang == "zh" else "en") + ("_out" if left_out else "")
    return _NOTE[key].format(n=n, k=k, dash=SUPPRESSED)


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

    path = Path(__file__).parent / "wordlists" / "english-words.txt.gz"
    return frozenset(gzip.decompress(path.read_bytes()).decode("ascii").split())


@lru_cache(maxsize=1)
def given_names() -> frozenset[str]:
    """Given names (lower case, Latin letters) the leak scan searches even when they are English
    words or words of the kit's texts: US Census first names held by 0.01 % of people or more, the
    commonest Chinese surnames and given names in pinyin, and English names common as nicknames in
    Chinese groups (``commlab/wordlists/README.md``). Only :data:`NAME_EXEMPTIONS` are not searched."""
    path = Path(__file__).parent / "wordlists" / "given-names.txt"
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
