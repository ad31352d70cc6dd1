"""Issue 22: which display names the leak scan searches, decided per word.

Every display name is searched, whatever else the word is (an English word, a word of the kit's
texts); given names (``commlab/wordlists/given-names.txt``) from 3 letters. The words of
:data:`commlab.privacy.EXEMPTIONS` are not searched inside the kit's phrases listed with them (each
phrase checked here against the kit's texts), and are found anywhere else. No kernel needed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from commlab.privacy import (
    COMMON_WORDS,
    EXEMPTIONS,
    MIN_NAME_LENGTH,
    given_names,
    identity_needles,
    normalize_identity,
    scan_text,
)
from kit_texts import kit_texts

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
    "Long": "searched outside the kit's phrases of EXEMPTIONS ('wait too long'); was exempt everywhere",
    "Max": "searched outside the kit's phrases of EXEMPTIONS ('min–max scaled'); was exempt everywhere",
    "Lee": "searched outside the kit's phrases of EXEMPTIONS ('Fader, Hardie & Lee'); was exempt everywhere",
}


@pytest.fixture(scope="module")
def kit() -> set[str]:
    """The kit's own report words (catalogue, metric and rule texts, notebooks, templates)."""
    return {normalize_identity(w) for w in re.findall(r"[A-Za-z0-9_]+(?:['’.-][A-Za-z0-9_]+)*", "\n".join(kit_texts()))}


@pytest.fixture(scope="module")
def kit_text() -> str:
    """The kit's texts and the package's sources and data files (texts such as a hypothesis's
    verdict are written inline in the code)."""
    package = REPO / "src" / "commlab"
    sources = [f.read_text(encoding="utf-8") for f in sorted(package.rglob("*")) if f.suffix in {".py", ".yaml"}]
    return normalize_identity("\n".join(kit_texts() + sources))


def _needles(names: list[str]) -> dict[str, str]:
    members = pd.DataFrame({"member_id": [f"x{i}" for i in range(len(names))], "display_name": names})
    return identity_needles(members)


@pytest.mark.parametrize("word", sorted(EXEMPTIONS))
def test_exemption_holds_while_the_kit_writes_its_phrases(word: str, kit_text: str) -> None:
    """Each exemption holds only while its reason does: the kit's texts still write every phrase
    (else the phrase must go), the phrase holds the word; the name is still searched, and found
    anywhere but in the phrases (a table cell, a sentence of the data)."""
    ex = EXEMPTIONS[word]
    assert ex.phrases and ex.why, word
    needles = _needles([word.title()])
    assert needles == {word: "display_name"}
    for phrase in ex.phrases:
        norm = normalize_identity(phrase)
        assert re.search(rf"(?<![a-z0-9_]){re.escape(word)}(?![a-z0-9_])", norm), (word, phrase)
        assert norm in kit_text, f"the kit no longer writes {phrase!r}: drop it from EXEMPTIONS[{word!r}]"
        # the kit's phrase is no leak, in a page's text, in an attribute or in JSON
        assert scan_text(f"<p>… {phrase.upper()} …</p>", needles) == [], phrase
        assert scan_text(f'<img alt="{phrase}" src="data:image/png;base64,iVBO">', needles) == [], phrase
        assert scan_text(json.dumps({"source": f"x; {phrase}"}), needles) == [], phrase
        # the member shown beside it is
        assert scan_text(f"<p>{phrase}</p><td>{word.title()}</td>", needles) == [("display_name", word)]
    assert scan_text(f"<p>Top poster: <b>{word.upper()}</b></p>", needles) == [("display_name", word)]


@pytest.mark.parametrize("name", [n for n, why in SEARCHED.items() if why])
def test_given_name_is_searched_and_found(name: str) -> None:
    """Searched whatever else the word is, and found in a page that shows it, as a whole word in
    any case; not in a longer word."""
    needle = normalize_identity(name)
    assert _needles([name]) == {needle: "display_name"}, SEARCHED[name]
    needles = _needles([name, "王敏娟"])
    assert scan_text(f"<p>Top poster: <b>{name.upper()}</b>, 12 posts</p>", needles) == [("display_name", needle)]
    assert scan_text(f"<td>{name}x</td><td>x{name}</td>", needles) == []


def test_amy_is_searched_but_not_other_three_letter_words() -> None:
    """The 3-letter floor is for given names only: other short Latin names stay unsearched."""
    needles = _needles(["Amy", "Joe", "Wei", "abc", "Bo", "zz9"])
    assert needles == {"amy": "display_name", "joe": "display_name", "wei": "display_name"}
    assert MIN_NAME_LENGTH == 3


def test_english_and_kit_words_are_searched(kit: set[str]) -> None:
    """Issue 22: no dictionary and no list of the kit's words exempts a name. The Stack Exchange
    members called after a word (``physics``, ``Model``, ``orbit``, ``legend``) are searched, and
    found where a report shows them; the page's markup (``class="cl-legend"``, ``name=``, ``<meta>``)
    is not read, so it finds nothing."""
    words = ["physics", "Model", "orbit", "legend", "kernel", "theme", "tell", "section", "value", "meta"]
    assert {"model", "kernel", "theme", "value"} <= kit  # words the kit writes itself
    needles = _needles(words)
    assert set(needles) == {w.lower() for w in words}
    markup = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
              'content="width=device-width"><title>t</title><style>.cl-legend{color:red} /* value theme */</style>'
              '</head><body><section><p class="cl-legend cl-meta" id="orbit-kernel"><a href="#theme-tell">ok</a></p>'
              '<td class="data row0 col0" id="T_1_row0_col0" data-label="x">1</td></section></body></html>')
    assert scan_text(markup, needles) == []
    shown = markup.replace(">ok<", ">Top posters: Orbit, LEGEND<").replace('data-label="x"', 'data-label="Physics"')
    assert sorted(scan_text(shown, needles)) == [("display_name", "legend"), ("display_name", "orbit"),
                                                 ("display_name", "physics")]


def test_no_other_given_name_is_a_kit_word(kit: set[str]) -> None:
    """A new kit text that writes a given name (``grace period``) must be decided: reworded, or
    added to EXEMPTIONS with its phrase. The kit's words that are given names are exactly the
    exemptions and the words it never shows in searched text."""
    found = {n for n in given_names() & kit if len(n) >= MIN_NAME_LENGTH}
    decided = set(EXEMPTIONS) | set(NOT_SHOWN) | set(COMMON_WORDS)
    assert found <= decided, sorted(found - decided)
    assert set(NOT_SHOWN) <= found


@pytest.mark.parametrize("word", sorted(NOT_SHOWN))
def test_kit_word_not_shown_is_searched(word: str, kit: set[str]) -> None:
    """Checked per word: where the kit writes it, the scan does not read it, so the name is searched."""
    from commlab.i18n import TEXT

    assert _needles([word.title()]) == {word: "display_name"}
    css = (REPO / "src" / "commlab" / "templates" / "report" / "report.css").read_text(encoding="utf-8")
    if word == "han":
        assert "Source Han Sans SC" in css
        assert scan_text(f"<style>{css}</style><p>ok</p>", _needles(["Han"])) == []
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
    assert {"mark", "grace", "will"} <= names
    assert not {"numbers", "many", "else", "see", "man"} & names
