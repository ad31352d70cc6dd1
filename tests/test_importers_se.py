"""The reader of the 180-day Stack Exchange CSV layout against the real data and its PROVENANCE.md."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pandas as pd
import pytest

from commlab.data.load import Dataset, load_dataset
from commlab.errors import ImportFormatError
from commlab.importers.output import write_dataset_atomic
from commlab.importers.se_csv import SITES, convert_se_180d, read_se_180d, read_se_180d_all
from conftest import skip_unless_ci

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ROOT = SHARED / "se_communities_180d"

#: Rows per file as listed in se_communities_180d/PROVENANCE.md: questions, answers, comments, users, votes.
PROVENANCE = {
    "literature": (970, 995, 3702, 1807, 21328),
    "astronomy": (642, 955, 2157, 1188, 9504),
    "mathematica": (2234, 4864, 17980, 1546, 59738),
    "economics": (1018, 1399, 3528, 1543, 9933),
    "math": (5101, 10597, 29403, 3900, 60367),
    "physics": (2388, 5805, 18049, 2268, 33339),
    "startups": (757, 1354, 1995, 2275, 7251),
    "122013-answers-onstartups": (1521, 6802, 4434, 1146, 17796),
    "052012-literature": (319, 526, 1105, 808, 7444),
    "052012astronomy": (472, 952, 1450, 815, 7377),
    "052012economics": (367, 457, 1264, 844, 4039),
    "052012-theoretical-physics": (356, 572, 2257, 889, 7618),
}


def _root() -> Path:
    if not ROOT.exists():
        skip_unless_ci(f"real data not found at {ROOT} (the shared/ folder beside the repo)")
    return ROOT


def _raw(site: str, part: str) -> pd.DataFrame:
    return pd.read_csv(ROOT / site / f"{site}_{part}.csv.gz", dtype=str, keep_default_na=False, na_values=[""])


def _ids(s: pd.Series) -> pd.Series:
    return s.str.replace(r"\.0$", "", regex=True)


@pytest.fixture(scope="module")
def all_sites() -> Dataset:
    return read_se_180d_all(_root())


@pytest.mark.shared_data
@pytest.mark.parametrize("site", ["literature", "052012economics", "startups"])
def test_counts_match_provenance_and_raw_files(site: str) -> None:
    ds, rep = convert_se_180d(_root() / site)
    nq, na, nc, nu, nv = PROVENANCE[site]
    assert rep.rows_read["questions"] == nq
    assert rep.rows_read["answers"] == na
    assert rep.rows_read["comments"] == nc
    assert rep.rows_read["users"] == nu
    assert rep.not_mapped["vote (no voter id in this layout)"] == nv
    assert len(ds.members) == nu
    assert len(ds.communities) == 1

    # independent recount from the raw files: rows whose user id is missing or unknown are dropped
    users = set(_ids(_raw(site, "users")["@UserId"]))
    for part, col, kind in (
        ("questions", "QUserId", "question"),
        ("answers", "AUserId", "answer"),
        ("comments", "CUserId", "comment"),
    ):
        raw = _ids(_raw(site, part)[col])
        deleted = int(raw.isna().sum())
        unknown = int((raw.notna() & ~raw.isin(users)).sum())
        assert rep.dropped.get(f"{kind}: event by a deleted account (missing user id)", 0) == deleted
        assert rep.dropped.get(f"{kind}: event by a user absent from the users table", 0) == unknown
        mapped = ds.events["source_ref"].str.startswith(kind + "/").sum()
        assert mapped == len(raw) - deleted - unknown
    assert (ds.events["event_type"] == "post").sum() == nq - sum(
        v for k, v in rep.dropped.items() if k.startswith("question:")
    )
    assert (ds.events["event_type"] == "reply").sum() == na + nc - sum(
        v for k, v in rep.dropped.items() if not k.startswith("question:")
    )
    assert rep.rows_mapped == {"communities": 1, "members": nu, "events": len(ds.events)}


@pytest.mark.shared_data
def test_mapping_details_on_literature() -> None:
    ds = read_se_180d(_root() / "literature")
    ev = ds.events.set_index("source_ref")
    q1 = ev.loc["question/1"]
    assert q1["event_type"] == "post" and q1["member_id"] == "3" and q1["thread_id"] == "1"
    assert q1["topic"] == "russian-literature;fyodor-dostoyevsky;crime-and-punishment"
    assert q1["ts"] == pd.Timestamp("2017-01-18 17:20:34.290", tz="UTC")
    # answer 16 answers question 6; its target is the asker of 6
    answers = _raw("literature", "answers").set_index("AId")
    questions = _raw("literature", "questions").set_index("QId")
    a16 = ev.loc["answer/16"]
    assert a16["thread_id"] == answers.loc["16", "QId"] == "6"
    assert a16["target_member_id"] == _ids(questions["QUserId"]).loc["6"]
    # accepted answer 37 (question 4) is flagged
    assert bool(ev.loc["answer/37", "accepted"]) is True
    # a comment on an answer: target = answerer, thread = the answer's question
    comments = _raw("literature", "comments")
    on_answer = comments[comments["PId"].isin(answers.index) & comments["CUserId"].notna()].iloc[0]
    row = ev.loc["comment/" + on_answer["CId"]]
    aid = on_answer["PId"]
    assert row["thread_id"] == answers.loc[aid, "QId"]
    assert row["target_member_id"] == _ids(answers["AUserId"]).loc[aid]
    m = ds.members.set_index("member_id")
    assert m.loc["-1", "role"] == "bot" and m.loc["-1", "display_name"] == "Community"
    assert (m.drop(index="-1")["role"] == "member").all()
    c = ds.communities.iloc[0]
    assert c["theme"] == "interest" and c["platform"] == "stackexchange" and c["status"] == "active"
    assert c["created_at"] <= ds.events["ts"].min()
    assert c["created_at"] <= ds.members["joined_at"].min()
    assert str(ds.events["ts"].dtype) == "datetime64[ns, UTC]"


@pytest.mark.shared_data
def test_all_twelve_sites(all_sites: Dataset) -> None:
    ds = all_sites
    assert sorted(ds.communities["community_id"]) == sorted(PROVENANCE)
    assert len(ds.members) == sum(v[3] for v in PROVENANCE.values())
    themes = ds.communities.set_index("community_id")["theme"].to_dict()
    assert themes == {k: v[1] for k, v in SITES.items()}
    status = ds.communities.set_index("community_id")["status"]
    assert (status[status.index.str.match(r"^(05|12)20\d\d")] == "closed").all()
    assert (status[~status.index.str.match(r"^(05|12)20\d\d")] == "active").all()
    per = ds.events.groupby("community_id")["event_type"].value_counts().unstack(fill_value=0)
    for site, (nq, na, nc, _, _) in PROVENANCE.items():
        assert 0.8 * nq <= per.loc[site, "post"] <= nq
        assert 0.8 * (na + nc) <= per.loc[site, "reply"] <= na + nc


@pytest.mark.shared_data
def test_roundtrip_through_load_dataset(tmp_path: Path) -> None:
    ds, rep = convert_se_180d(_root() / "052012economics")
    out = write_dataset_atomic(ds, tmp_path / "out", rep)
    back = load_dataset(out, tz="UTC")
    assert len(back.events) == len(ds.events)
    assert len(back.members) == len(ds.members)
    assert (back.events["ts"] == ds.events["ts"]).all()


def _copy_site(tmp_path: Path, site: str = "052012economics") -> Path:
    dst = tmp_path / site
    shutil.copytree(_root() / site, dst)
    return dst


@pytest.mark.shared_data
def test_missing_file_and_column_are_named(tmp_path: Path) -> None:
    d = _copy_site(tmp_path)
    (d / "052012economics_users.csv.gz").unlink()
    with pytest.raises(ImportFormatError, match="052012economics_users.csv.gz.*missing file"):
        read_se_180d(d)
    d2 = _copy_site(tmp_path / "b")
    with gzip.open(d2 / "052012economics_answers.csv.gz", "wt") as fh:
        fh.write("AId,Who,QId,ATime\n1,2,3,2011-10-12 00:00:00\n")
    with pytest.raises(ImportFormatError, match="answers.csv.gz: missing column.*AUserId"):
        read_se_180d(d2)


@pytest.mark.shared_data
def test_bad_time_is_named(tmp_path: Path) -> None:
    d = _copy_site(tmp_path)
    f = d / "052012economics_questions.csv.gz"
    q = pd.read_csv(f, dtype=str, keep_default_na=False, na_values=[""])
    q.loc[0, "QTime"] = "not a time"
    q.to_csv(f, index=False)
    with pytest.raises(ImportFormatError, match="questions.csv.gz: column QTime: 1 unparseable time.*row 2"):
        read_se_180d(d)


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="not a folder"):
        read_se_180d(tmp_path / "nope")
    with pytest.raises(ImportFormatError, match="no site folder"):
        read_se_180d_all(tmp_path)
