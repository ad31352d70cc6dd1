"""The leak scan's needles normalised at once (Arrow for the ASCII values) equal those normalised one by one.

:func:`~commlab.privacy.identity_needles` normalises the ASCII member ids and names of a members table with Arrow's
string kernels (a million ids at 50 M events) and the others one by one, and :class:`~commlab.privacy.Needles` tells
an ASCII needle from a Chinese one without the regular expression. The oracle is the former loop (kept here), on
seeded random members tables full of what normalising must catch: every kind of ASCII white space, in runs and at
both ends, upper case, full-width letters, invisible characters, Chinese names, digits-only ids, given names, the
common words and chosen words; as Arrow-backed and as object columns. The needles, their order, their kinds and their
split must be the same; a normalisation missing one kind of white space is shown to differ.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from commlab.data.schema import Col
from commlab.privacy import leakscan
from commlab.privacy.leakscan import (
    _CJK,
    COMMON_WORDS,
    MIN_ID_LENGTH,
    MIN_NAME_LENGTH,
    MIN_NUMERIC_ID_LENGTH,
    Needles,
    given_names,
    identity_needles,
    normalize_identity,
    scan_text,
)

PIECES = ["m", "M", "user", "Kevin", "amy", "AMY", "Joe", "lee", "Orbit", "community", "Data", "群主", "高佳芳", "李雷",
          "ｃ０１", "ＫＥＶＩＮ", "7", "12345678", "0042", "_", "-", ".", "'", "é", "\u200b", "\u00ad", "\ufeff"]
SPACES = [" ", "  ", "\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1d", "\x1e", "\x1f", "\u3000", "\xa0", "\x85"]


def former_needles(members: pd.DataFrame, *, chosen=()) -> dict[str, str]:
    """``identity_needles`` as it was: every value normalised one by one."""
    common = {normalize_identity(w) for w in COMMON_WORDS}
    names = given_names()
    picked = {normalize_identity(str(w)).strip() for w in chosen}
    out: dict[str, str] = {}

    def add(values: pd.Series, kind: str) -> None:
        for raw in pd.unique(values.dropna().astype(str)):
            name = normalize_identity(raw).strip()
            if not name or name in common or (kind == "display_name" and name in picked):
                continue
            if kind == "display_name":
                cjk_min, latin_min = 2, (min(MIN_ID_LENGTH, MIN_NAME_LENGTH) if name in names else MIN_ID_LENGTH)
            else:
                cjk_min = latin_min = MIN_ID_LENGTH
            need = cjk_min if _CJK.search(name) else (MIN_NUMERIC_ID_LENGTH if name.isdigit() else latin_min)
            if len(name) >= need:
                out.setdefault(name, kind)

    if "display_name" in members.columns:
        add(members["display_name"], "display_name")
    add(members[Col.member_id], Col.member_id)
    return out


def former_split(needles: dict[str, str]) -> tuple:
    def halves(words):
        words = sorted(words)
        return tuple(w for w in words if _CJK.search(w)), tuple(w for w in words if not _CJK.search(w))

    return (*halves(needles), *halves(n for n, k in needles.items() if k == Col.member_id))


def random_members(seed: int, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def value() -> str | None:
        if rng.random() < 0.05:
            return None
        parts = []
        for _ in range(int(rng.integers(1, 5))):
            if rng.random() < 0.35:
                parts.append(SPACES[int(rng.integers(0, len(SPACES)))] * int(rng.integers(1, 3)))
            parts.append(PIECES[int(rng.integers(0, len(PIECES)))])
            if rng.random() < 0.3:
                parts.append(str(int(rng.integers(0, 10**9))))
        return "".join(parts)

    ids = [value() or f"id{i}" for i in range(n)]
    ids += ids[: n // 10]  # repeated ids
    return pd.DataFrame({Col.community_id: "c1", Col.member_id: ids,
                         "display_name": [value() for _ in ids]})


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("dtype", ["string[pyarrow]", "object"])
def test_the_needles_equal_those_normalised_one_by_one(seed, dtype):
    members = random_members(seed).astype({Col.member_id: dtype, "display_name": dtype})
    chosen = ["amy", "Orbit Model", "user 12"]
    got = identity_needles(members, chosen=chosen)
    want = former_needles(members, chosen=chosen)
    assert isinstance(got, Needles)
    assert list(got.items()) == list(want.items())  # the same needles, kinds and order
    assert got.split() == former_split(want)
    kinds = set(want.values())
    assert kinds == {"display_name", Col.member_id} and any(_CJK.search(w) for w in want)
    assert any(not w.isascii() and not _CJK.search(w) for w in want) or seed % 2  # not only ASCII and Chinese


def test_every_ascii_character_is_normalised_as_one_by_one():
    every = "".join(chr(i) for i in range(128))
    values = np.array([every, every[::-1], " " + every * 2 + "\x1f", "", "\x0b\x0c", "A\x1cB"], dtype=object)
    assert leakscan._normalized(values) == [normalize_identity(v).strip() for v in values]


def test_a_leak_is_found_as_before():
    members = pd.DataFrame({Col.community_id: "c1", Col.member_id: ["ID\x0b 12345", "wx_Abc99"],
                            "display_name": ["高 佳芳", "Amy"]}).astype("string[pyarrow]")
    found = scan_text("<p>hello id 12345 and WX_ABC99, 高 佳芳 with amy</p>", identity_needles(members))
    assert sorted(found) == sorted(scan_text("<p>hello id 12345 and WX_ABC99, 高 佳芳 with amy</p>",
                                             former_needles(members)))
    assert len(found) == 4


def test_a_normalisation_missing_a_white_space_is_seen(monkeypatch):
    monkeypatch.setattr(leakscan, "_ASCII_SPACES", r"[\t\n\x0c\r ]+")  # without \x0b and \x1c-\x1f
    seen = 0
    for seed in range(8):
        members = random_members(seed)
        seen += list(identity_needles(members).items()) != list(former_needles(members).items())
    assert seen > 0
