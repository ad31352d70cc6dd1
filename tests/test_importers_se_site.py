"""A Stack Exchange import names its community after the site, not the folder; the id stays the folder name."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from commlab.importers import convert, import_source
from commlab.importers.stackexchange_site import (
    SiteLinks,
    name_site,
    public_site_texts,
    readable_folder_name,
    site_name,
)
from commlab.privacy import scan_files
from commlab.runner import _chosen_words
from conftest import require_shared_data

HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'


def _dump(folder: Path, bodies: list[str]) -> Path:
    """A two-post dump whose question and answer bodies are ``bodies`` (HTML escaped as in a real dump)."""
    folder.mkdir(parents=True)
    esc = [b.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;") for b in bodies]
    rows = [f'<row Id="1" PostTypeId="1" CreationDate="2024-03-01T10:00:00.000" OwnerUserId="4" Body="{esc[0]}" />',
            f'<row Id="2" PostTypeId="2" ParentId="1" CreationDate="2024-03-01T11:00:00.000" OwnerUserId="5" '
            f'Body="{esc[1]}" />']
    (folder / "Posts.xml").write_text(HEAD + "<posts>\n" + "\n".join(rows) + "\n</posts>\n", encoding="utf-8-sig")
    return folder


def test_site_names_from_hosts_and_folders():
    assert site_name("cardano.stackexchange.com") == "Cardano Stack Exchange"
    assert site_name("quantumcomputing.stackexchange.com") == "Quantum Computing Stack Exchange"
    assert site_name("meta.cardano.stackexchange.com") == "Cardano Stack Exchange Meta"
    assert site_name("stackoverflow.com") == "Stack Overflow"
    assert site_name("ru.stackoverflow.com") == "Stack Overflow (ru)"
    assert readable_folder_name("se_cardano_xml") == "Cardano Stack Exchange"
    assert readable_folder_name("se_beer_posts_xml") == "Beer Stack Exchange"
    assert readable_folder_name("se_xml") == "Stack Exchange"
    # the folder keeps the archive's name: the host is the folder's, whatever the posts link to
    links = SiteLinks()
    links.feed(['<a href="https://math.stackexchange.com/questions/1">'] * 5)
    assert name_site("cardano.stackexchange.com", links) == ("Cardano Stack Exchange", "cardano.stackexchange.com")
    assert name_site("export_2021", links) == ("Mathematics Stack Exchange", "math.stackexchange.com")


def test_links_name_the_site_only_when_one_host_dominates():
    split = SiteLinks()
    split.feed(['https://beer.stackexchange.com/q/1 https://homebrew.stackexchange.com/q/2'] * 3)
    assert split.host() is None and not split.done  # a tie says nothing
    few = SiteLinks()
    few.feed(["https://beer.stackexchange.com/questions/1/x"] * 2)
    assert few.host() is None  # two links are too few
    clear = SiteLinks(enough=10)
    clear.feed(["see https://beer.stackexchange.com/questions/1/x and http://beer.stackexchange.com/a/2"] * 5)
    clear.feed(["https://homebrew.stackexchange.com/q/9"])
    assert clear.host() == "beer.stackexchange.com" and clear.done
    # links elsewhere than to a question, an answer or a user are not counted
    other = SiteLinks()
    other.feed(["https://cardano.stackexchange.com/help/on-topic"] * 9)
    assert other.host() is None


def test_import_names_the_community_after_the_site(tmp_path: Path):
    link = '<p>Duplicate of <a href="https://cardano.stackexchange.com/questions/12/x">this</a></p>'
    bodies = [link * 3, "<p>see https://cardano.stackexchange.com/a/3</p>"]
    out = tmp_path / "out"
    rep = import_source("stackexchange_xml", _dump(tmp_path / "se_export_xml", bodies), out)
    c = pd.read_parquet(out / "communities.parquet").iloc[0]
    assert (c["community_id"], c["name"]) == ("se_export_xml", "Cardano Stack Exchange")
    assert c["source"] == "Stack Exchange data dump (cardano.stackexchange.com), CC BY-SA"
    assert any("named 'Cardano Stack Exchange' after the site cardano.stackexchange.com" in n for n in rep.notes)
    assert pd.read_parquet(out / "events.parquet")["text"].isna().all()  # bodies read for links, not kept
    # no links: the folder's name made readable; a name given by hand wins and the id stays
    ds, _ = convert("stackexchange_xml", _dump(tmp_path / "se_beer_posts_xml", ["<p>a</p>", "<p>b</p>"]))
    assert ds.communities.iloc[0][["community_id", "name"]].tolist() == ["se_beer_posts_xml", "Beer Stack Exchange"]
    ds, _ = convert("stackexchange_xml", tmp_path / "se_export_xml", name="Cardano 问答")
    assert ds.communities.iloc[0][["community_id", "name"]].tolist() == ["se_export_xml", "Cardano 问答"]


@pytest.mark.shared_data
@pytest.mark.parametrize(("site", "name", "host"), [
    ("se_cardano_xml", "Cardano Stack Exchange", "cardano.stackexchange.com"),
    ("se_beer_posts_xml", "Beer Stack Exchange", "beer.stackexchange.com"),
])
def test_real_dumps_are_named_after_their_site(site: str, name: str, host: str):
    ds, _ = convert("stackexchange_xml", require_shared_data(site))
    c = ds.communities.iloc[0]
    assert (c["community_id"], c["name"], c["source"]) == (site, name, f"Stack Exchange data dump ({host}), CC BY-SA")


def test_the_site_name_is_no_leak_but_a_member_name_still_is(tmp_path: Path):
    """Cardano has members called 'Cardano' and 'Cardano Stack Exchange': the report names the site, which is
    no leak of theirs. A community named by hand, or another member's name, is still searched."""
    communities = pd.DataFrame({"community_id": ["se_cardano_xml"], "name": ["Cardano Stack Exchange"],
                                "platform": ["stackexchange"],
                                "source": ["Stack Exchange data dump (cardano.stackexchange.com), CC BY-SA"]})
    assert public_site_texts(communities) == ["Cardano Stack Exchange", "cardano.stackexchange.com"]
    members = pd.DataFrame({"member_id": ["7001", "7002", "7003"],
                            "display_name": ["Cardano Stack Exchange", "Cardano", "Lisa Wong"]})
    report = tmp_path / "report.html"
    report.write_text("<h1>Cardano Stack Exchange</h1><p>cardano.stackexchange.com</p><p>Lisa Wong</p>",
                      encoding="utf-8")
    assert sorted(scan_files([report], members, chosen=_chosen_words(None))) == [
        "report.html: display_name c…(22 chars)", "report.html: display_name c…(7 chars)",
        "report.html: display_name l…(9 chars)"]
    assert scan_files([report], members, chosen=_chosen_words(None, communities)) == [
        "report.html: display_name l…(9 chars)"]
    typed = communities.assign(name="Lisa Wong Stack Exchange")  # not the site's name as the importer writes it
    assert public_site_texts(typed) == []
    other = communities.assign(platform="wechat")
    assert public_site_texts(other) == []


def test_a_180_day_site_subject_is_chosen_text(tmp_path: Path):
    """Issue 22: the se_180d sites show their subject in every table (community id ``physics``,
    ``math``): a member called so is no leak in those sites' report, as a site's name is not. The
    same name in a report on other data, or a name typed by hand, is still searched."""
    from commlab.importers.se_csv import SITES

    communities = pd.DataFrame({"community_id": ["physics", "math"], "platform": ["stackexchange"] * 2,
                                "name": [SITES["physics"][0], SITES["math"][0]],
                                "source": [f"Stack Exchange ({s}), CC BY-SA — via Vranić et al. 2023"
                                           for s in ("physics", "math")]})
    assert public_site_texts(communities) == ["Physics Stack Exchange (2010)", "physics",
                                              "Mathematics Stack Exchange (2010)", "math"]
    members = pd.DataFrame({"member_id": ["7001", "7002", "7003"], "display_name": ["physics", "Math", "Orbit"]})
    report = tmp_path / "report.html"
    report.write_text("<table><tr><td>physics</td><td>math</td><td>Orbit</td></tr></table>", encoding="utf-8")
    assert scan_files([report], members, chosen=_chosen_words(None, communities)) == [
        "report.html: display_name o…(5 chars)"]
    assert sorted(scan_files([report], members, chosen=_chosen_words(None))) == [
        "report.html: display_name m…(4 chars)", "report.html: display_name o…(5 chars)",
        "report.html: display_name p…(7 chars)"]
    typed = communities.assign(name=["Physics fans", "Mathematics Stack Exchange (2010)"])
    assert public_site_texts(typed) == ["Mathematics Stack Exchange (2010)", "math"]
