"""Issue 22: which display names the leak scan searches, decided per word.

Given names (``commlab/wordlists/given-names.txt``) are searched even when they are English words or
words of the kit's own report texts; the only ones not searched are those of
:data:`commlab.privacy.NAME_EXEMPTIONS`, each because the kit writes the word in a report (the
quoted phrase of its reason, checked here against the kit's texts). No kernel needed.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from commlab.privacy import (
    MIN_NAME_LENGTH,
    NAME_EXEMPTIONS,
    english_words,
    given_names,
    identity_needles,
    normalize_identity,
    scan_text,
)

REPO = Path(__file__).resolve().parents[1]

#: Given names in the kit's texts that are searched all the same, because those texts never show
#: them in a report's searched text (each checked below).
NOT_SHOWN = {
    "han": "the style sheet's font list: 'Source Han Sans SC' (style sheets are not searched)",
    "sun": "the English weekday labels 'Mon,Tue,Wed,Thu,Fri,Sat,Sun', drawn into PNG figures",
}

#: Names the issue and the lead's brief name, each searched, with why it was not before this change.
SEARCHED = {
    "Jack": "an English word (SCOWL): was exempt",
    "Mark": "an English word: was exempt",
    "Grace": "an English word: was exempt",
    "Rose": "an English word, and the Changes text 'rose from' (reworded 'grew from'): was exempt",
    "Will": "an English word and a word of the English report texts: was exempt",
    "Amy": "3 letters, below the 4-character floor of other Latin names: was not searched",
    "Kevin": "searched before too",
    "Luna": "searched before too",
    "wangfang": "searched before too",
    "lilei": "searched before too",
    "Sun": "surname 孙; the en weekday label of figures only",
    "Long": None,  # exempt: in NAME_EXEMPTIONS (a kit word), see test_exempt_name_is_a_kit_word
}


@pytest.fixture(scope="module")
def kit() -> set[str]:
    """The kit's own report words, as the runner computes them for every notebook and the default rules."""
    from commlab.rules import default_rules
    from commlab.runner import _report_words

    plans = [SimpleNamespace(notebook=p) for p in sorted((REPO / "notebooks").glob("0*.ipynb"))]
    return _report_words(plans, default_rules())


def _needles(names: list[str], ignore: set[str]) -> dict[str, str]:
    members = pd.DataFrame({"member_id": [f"x{i}" for i in range(len(names))], "display_name": names})
    return identity_needles(members, ignore=ignore)


@pytest.mark.parametrize("word", sorted(NAME_EXEMPTIONS))
def test_exempt_name_is_a_kit_word(word: str, kit: set[str]) -> None:
    """Each exemption holds only while its reason does: the word is a given name (else it needs no
    entry) and the kit's texts still write the quoted phrase (else the name must be searched)."""
    reason = NAME_EXEMPTIONS[word]
    assert word in given_names(), f"{word!r} is no given name: it needs no exemption"
    phrases = re.findall(r'"([^"]+)"', reason)
    assert phrases, f"the reason for {word!r} quotes no phrase of the kit's texts"
    text = normalize_identity("\n".join(sorted(kit)))
    for phrase in phrases:
        assert word in re.findall(r"[a-z]+", normalize_identity(phrase)), (word, phrase)
        assert normalize_identity(phrase) in text, f"the kit no longer writes {phrase!r}: search {word!r}"
    assert _needles([word.title()], kit) == {}


@pytest.mark.parametrize("name", [n for n, why in SEARCHED.items() if why])
def test_given_name_is_searched_and_found(name: str, kit: set[str]) -> None:
    """Searched with the kit's whole report vocabulary as ``ignore`` (as the runner does), and found
    in a page that shows it, as a whole word in any case; not in a longer word."""
    needle = normalize_identity(name)
    assert _needles([name], kit) == {needle: "display_name"}, SEARCHED[name]
    needles = _needles([name, "王敏娟"], kit)
    assert scan_text(f"<p>Top poster: <b>{name.upper()}</b>, 12 posts</p>", needles) == [("display_name", needle)]
    assert scan_text(f"<td>{name}x</td><td>x{name}</td>", needles) == []


def test_amy_is_searched_but_not_other_three_letter_words() -> None:
    """The 3-letter floor is for given names only: other short Latin names stay unsearched."""
    needles = _needles(["Amy", "Joe", "Wei", "abc", "Bo", "zz9"], set())
    assert needles == {"amy": "display_name", "joe": "display_name", "wei": "display_name"}
    assert MIN_NAME_LENGTH == 3


def test_english_words_that_are_no_given_name_stay_exempt(kit: set[str]) -> None:
    """The Stack Exchange members called after their site's subject (``physics``, ``model``,
    ``orbit``, ``legend``) stay unsearched: no given name, an English word."""
    words = ["physics", "Model", "orbit", "legend", "kernel", "metrics", "tell", "this"]
    assert not {w.lower() for w in words} & given_names()
    assert _needles(words, kit) == {}


def test_no_other_given_name_is_a_kit_word(kit: set[str]) -> None:
    """A new kit text that writes a given name (``grace period``) must be decided: reworded, or
    added to NAME_EXEMPTIONS with its reason. The kit's words that are given names are exactly the
    exemptions and the words it never shows in searched text."""
    words = {normalize_identity(w) for w in kit}
    found = {n for n in given_names() & words if len(n) >= MIN_NAME_LENGTH}
    assert found == set(NAME_EXEMPTIONS) | set(NOT_SHOWN)


@pytest.mark.parametrize("word", sorted(NOT_SHOWN))
def test_kit_word_not_shown_is_searched(word: str, kit: set[str]) -> None:
    """Checked per word: where the kit writes it, the scan does not read it, so the name is searched."""
    from commlab.i18n import TEXT

    assert _needles([word.title()], kit) == {word: "display_name"}
    css = (REPO / "src" / "commlab" / "templates" / "report" / "report.css").read_text(encoding="utf-8")
    if word == "han":
        assert "Source Han Sans SC" in css
        assert scan_text(f"<style>{css}</style><p>ok</p>", _needles(["Han"], kit)) == []
    else:
        assert TEXT["weekdays"][1].split(",")[-1] == "Sun"
        plots = (REPO / "src" / "commlab" / "plots" / "overview.py").read_text(encoding="utf-8")
        assert 't("weekdays", lang)' in plots  # the labels of a figure (a PNG), not of a table


def test_data_folder_name_is_chosen_not_searched() -> None:
    """The run record shows the data folder's name: a given name there (``data/grace``) is the
    consultant's choice, not searched; other given names still are."""
    members = pd.DataFrame({"member_id": ["x1", "x2"], "display_name": ["Grace", "Jack"]})
    assert identity_needles(members, chosen={"grace"}) == {"jack": "display_name"}


def test_given_names_list_is_sound() -> None:
    """The list loads, is lower-case Latin, holds the names the issue names, and its parts add up to
    the counts its README states."""
    names = given_names()
    assert all(re.fullmatch(r"[a-z]+", n) for n in names)
    assert {"jack", "kevin", "amy", "luna", "grace", "rose", "mark", "will", "wang", "fang", "lei"} <= names
    lines = (REPO / "src" / "commlab" / "wordlists" / "given-names.txt").read_text(encoding="ascii").splitlines()
    heads = [line for line in lines if line.startswith("#")]
    counts = [int(h.rsplit(": ", 1)[1]) for h in heads]
    assert counts == [1555, 93, 59, 18] and len(lines) - len(heads) == sum(counts)
    readme = (REPO / "src" / "commlab" / "wordlists" / "README.md").read_text(encoding="utf-8")
    assert "given-names.txt" in readme and "public domain" in readme and f"{len(names):,}" in readme
    # the census part keeps names that are English words but not the census' rare word entries
    assert {"mark", "grace", "will"} <= names & english_words()
    assert not {"numbers", "many", "else", "see", "man"} & names
