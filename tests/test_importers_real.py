"""Stack Exchange XML and SNAP importers against the real dumps and their PROVENANCE.md; import_source."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from commlab.data.load import load_dataset
from commlab.errors import ImportFormatError, UsageError
from commlab.importers import FORMATS, convert, get, import_source, register
from conftest import skip_unless_ci

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

#: From se_*_xml/PROVENANCE.md: questions, answers, users, comments, votes, badges, bounty reputation.
XML_PROVENANCE = {
    "se_cardano_xml": (1042, 1496, 3988, 1829, 9147, 4467, 775),
    "se_quantumcomputing_xml": (612, 1060, 3461, 3413, 12560, 4671, 2550),
}


def _data(name: str) -> Path:
    path = SHARED / name
    if not path.exists():
        skip_unless_ci(f"real data not found at {path} (the shared/ folder beside the repo)")
    return path


def _raw_rows(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8-sig") as fh:
        return [ln for ln in fh if ln.lstrip().startswith("<row ")]


def _attr(row: str, name: str) -> str | None:
    m = re.search(rf'\b{name}="([^"]*)"', row)
    return m.group(1) if m else None


@pytest.mark.shared_data
@pytest.mark.parametrize("site", sorted(XML_PROVENANCE))
def test_stackexchange_xml_counts(site: str) -> None:
    d = _data(site)
    nq, na, nu, nc, nv, nb, bounty = XML_PROVENANCE[site]
    ds, rep = convert("stackexchange_xml", d)
    assert rep.rows_read["Posts: questions"] == nq
    assert rep.rows_read["Posts: answers"] == na
    assert rep.rows_read["Users"] == nu == len(ds.members)
    assert rep.rows_read["Comments"] == nc
    assert sum(v for k, v in rep.rows_read.items() if k.startswith("Votes")) == nv
    assert rep.rows_read["Badges"] == nb
    # independent recount of rows without an owner (deleted accounts) from the raw XML text
    posts = _raw_rows(d / "Posts.xml.gz")
    q_deleted = sum(1 for r in posts if _attr(r, "PostTypeId") == "1" and _attr(r, "OwnerUserId") is None)
    a_deleted = sum(1 for r in posts if _attr(r, "PostTypeId") == "2" and _attr(r, "OwnerUserId") is None)
    c_deleted = sum(1 for r in _raw_rows(d / "Comments.xml.gz") if _attr(r, "UserId") is None)
    ev = ds.events
    assert (ev["event_type"] == "post").sum() == nq - q_deleted
    assert ev["source_ref"].str.startswith("answer/").sum() == na - a_deleted
    assert ev["source_ref"].str.startswith("comment/").sum() == nc - c_deleted
    assert rep.total_dropped == q_deleted + a_deleted + c_deleted
    # accepted answers and bounties are kept as columns
    accepted_raw = {_attr(r, "AcceptedAnswerId") for r in posts if _attr(r, "AcceptedAnswerId")}
    flagged = set(ev.loc[ev["accepted"].fillna(False).astype(bool), "source_ref"].str.removeprefix("answer/"))
    assert flagged <= accepted_raw and len(flagged) >= 0.95 * len(accepted_raw)
    # PROVENANCE's "reputation offered" equals the sum of BountyAmount over vote types 8 and 9
    assert ev["bounty_offered"].sum() + ev["bounty_awarded"].sum() == bounty
    assert ds.members.set_index("member_id").loc["-1", "role"] == "bot"
    assert ds.communities.iloc[0]["created_at"] == ev["ts"].min()


@pytest.mark.shared_data
def test_stackexchange_posts_only_beer() -> None:
    d = _data("se_beer_posts_xml")
    ds, rep = convert("stackexchange_xml", d, theme="interest")
    assert rep.rows_read["Posts: questions"] == 663
    assert rep.rows_read["Posts: answers"] == 1572
    posts = _raw_rows(d / "Posts.xml.gz")
    assert len(posts) == 2354
    owners_all = {_attr(r, "OwnerUserId") for r in posts} - {None}
    assert len(owners_all) == 782  # "782 distinct post authors" (all post types)
    qa = [r for r in posts if _attr(r, "PostTypeId") in ("1", "2")]
    owners_qa = {_attr(r, "OwnerUserId") for r in qa} - {None}
    assert set(ds.members["member_id"]) == owners_qa
    deleted = sum(1 for r in qa if _attr(r, "OwnerUserId") is None)
    assert sum(1 for r in posts if _attr(r, "OwnerUserId") is None) == 12  # "12 posts by deleted accounts"
    assert rep.total_dropped == deleted
    assert len(ds.events) == 663 + 1572 - deleted
    assert ds.communities.iloc[0]["theme"] == "interest"
    first = ds.events.groupby("member_id")["ts"].min()
    joined = ds.members.set_index("member_id")["joined_at"]
    assert (joined.reindex(first.index) <= first).all()


@pytest.mark.shared_data
def test_snap_collegemsg_counts() -> None:
    ds, rep = convert("snap", _data("snap_collegemsg") / "CollegeMsg.txt.gz")
    assert len(ds.events) == 59835 and len(ds.members) == 1899
    assert ds.events["member_id"].nunique() == 1350
    assert ds.events["ts"].min() == pd.Timestamp("2004-04-15 14:56:01", tz="UTC")
    assert ds.events["ts"].max() == pd.Timestamp("2004-10-26 07:52:22", tz="UTC")
    assert (ds.events["event_type"] == "reply").all() and ds.events["target_member_id"].notna().all()
    assert rep.total_dropped == 0


def test_snap_bad_line_named(tmp_path: Path) -> None:
    f = tmp_path / "edges.txt"
    f.write_text("# comment\n1 2 1082040961\n3 x 1082155839\n")
    with pytest.raises(ImportFormatError, match=r"edges.txt: line 3, field 'DST': not three integers"):
        convert("snap", f)
    f.write_text("1 2 1082040961\n2 1 1082040999\n")
    ds, _ = convert("snap", f, event_type="message", theme="knowledge")
    assert list(ds.events["event_type"]) == ["message", "message"]


def _tiny_dump(folder: Path, posts: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Posts.xml").write_text(posts, encoding="utf-8-sig")
    return folder


POSTS = (Path(__file__).parent / "fixtures" / "importers" / "stackexchange_xml" / "Posts.xml").read_text(
    encoding="utf-8-sig"
)


def test_xml_tiny_dump_and_import_source(tmp_path: Path) -> None:
    src = _tiny_dump(tmp_path / "dump", POSTS)
    out = tmp_path / "out"
    rep = import_source("stackexchange_xml", src, out, community_id="demo", theme="interest")
    assert sorted(p.name for p in out.iterdir()) == [
        "communities.parquet", "events.parquet", "import_report.json", "members.parquet"]
    saved = json.loads((out / "import_report.json").read_text(encoding="utf-8"))
    assert saved["rows_mapped"] == {"communities": 1, "members": 2, "events": 2} == rep.rows_mapped
    assert saved["dropped"] == {"answer: by a deleted account (no user id)": 1}
    ds = load_dataset(out, tz="UTC")
    ev = ds.events.set_index("source_ref")
    assert ev.loc["question/10", "topic"] == "demo;入门"
    assert ev.loc["answer/11", "target_member_id"] == "7" and bool(ev.loc["answer/11", "accepted"])
    # a second import replaces the first one's files
    import_source("stackexchange_xml", src, out, community_id="demo2")
    assert load_dataset(out, tz="UTC").communities.iloc[0]["community_id"] == "demo2"


def test_truncated_xml_writes_nothing(tmp_path: Path) -> None:
    src = _tiny_dump(tmp_path / "dump", POSTS[: POSTS.index('<row Id="12"') + 30])
    out = tmp_path / "out"
    with pytest.raises(ImportFormatError, match=r"Posts.xml: malformed or truncated XML at line \d+"):
        import_source("stackexchange_xml", src, out)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["dump"]  # no temp folder left behind
    gz = tmp_path / "gz"
    gz.mkdir()
    data = gzip.compress(POSTS.encode("utf-8"))
    (gz / "Posts.xml.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImportFormatError, match="Posts.xml.gz: truncated"):
        import_source("stackexchange_xml", gz, out)
    assert not out.exists()


def test_registry_and_usage_errors(tmp_path: Path) -> None:
    assert {"stackexchange_xml", "se_180d", "snap", "telegram", "slack", "discord", "discourse", "wechat", "qq",
            "wecom", "mapping"} <= set(FORMATS)
    with pytest.raises(UsageError, match="unknown import format 'nope'"):
        get("nope")
    with pytest.raises(UsageError, match="source not found"):
        import_source("snap", tmp_path / "missing.txt", tmp_path / "out")
    f = tmp_path / "e.txt"
    f.write_text("1 2 1082040961\n")
    with pytest.raises(UsageError, match="unknown option.*colour"):
        import_source("snap", f, tmp_path / "out", colour="red")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ImportFormatError, match="not empty"):
        import_source("snap", f, tmp_path / "busy")
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["notes.txt"]

    def fake(source: Path, **options: object) -> tuple:
        return convert("snap", source, **options)

    register("fake_edges", fake)
    try:
        assert get("fake_edges") is fake
        assert import_source("fake_edges", f, tmp_path / "o2").rows_mapped["events"] == 1
    finally:
        FORMATS.pop("fake_edges")


def test_invalid_theme_fails_validation_and_writes_nothing(tmp_path: Path) -> None:
    from commlab.errors import DataValidationError

    f = tmp_path / "e.txt"
    f.write_text("1 2 1082040961\n")
    with pytest.raises(DataValidationError, match="column 'theme'.*'gaming'"):
        import_source("snap", f, tmp_path / "out", theme="gaming")
    assert not (tmp_path / "out").exists()


def test_benchmark_generator_and_streaming(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "import_xml_bench", Path(__file__).resolve().parents[1] / "benchmarks" / "import_xml.py")
    bench = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(bench)
    counts = bench.generate(tmp_path / "Posts.xml", 0.3)
    assert counts["bytes"] >= 0.3 * 1024 * 1024
    ds, rep = convert("stackexchange_xml", tmp_path, progress=False)
    assert rep.rows_read["Posts: questions"] == counts["questions"]
    assert len(ds.events) == counts["questions"] + counts["answers"]


def test_progress_bar_only_on_large_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from commlab.importers import progress

    f = tmp_path / "edges.txt"
    f.write_text("1 2 1082040961\n2 1 1082040999\n")
    convert("snap", f)
    assert "edges.txt" not in capsys.readouterr().err
    monkeypatch.setattr(progress, "LARGE_INPUT_BYTES", 10)
    convert("snap", f)
    assert "edges.txt" in capsys.readouterr().err
    convert("snap", f, progress="false")
    assert "edges.txt" not in capsys.readouterr().err
    with pytest.raises(UsageError, match="progress must be true or false"):
        convert("snap", f, progress="maybe")
