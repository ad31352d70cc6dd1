"""Identity across platforms: candidates with reasons, a reviewable file, only accepted rows applied."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from commlab.data.load import Dataset
from commlab.errors import ImportFormatError
from commlab.importers import convert
from commlab.importers.identity import (
    apply_merges,
    candidate_merges,
    normalise_name,
    read_merge_file,
    write_merge_file,
)

FIX = Path(__file__).parent / "fixtures" / "importers"


def _pair(c: pd.DataFrame, a: tuple[str, str], b: tuple[str, str]) -> pd.DataFrame:
    left = (c["left_community_id"] == a[0]) & (c["left_member_id"] == a[1])
    right = (c["right_community_id"] == b[0]) & (c["right_member_id"] == b[1])
    left2 = (c["left_community_id"] == b[0]) & (c["left_member_id"] == b[1])
    right2 = (c["right_community_id"] == a[0]) & (c["right_member_id"] == a[1])
    return c[(left & right) | (left2 & right2)]


def test_normalise_name() -> None:
    assert normalise_name("Ｗａｎｇ　Ｆａｎｇ") == normalise_name("wang fang") == "wangfang"
    assert normalise_name("王芳") == "王芳" and normalise_name("  ") is None and normalise_name(None) is None


@pytest.fixture
def three() -> list[Dataset]:
    return [convert("mapping", FIX / "mapping" / "mapping.yaml")[0],
            convert("slack", FIX / "slack")[0],
            convert("discourse", FIX / "discourse")[0]]


def test_candidates_and_reasons(three: list[Dataset]) -> None:
    c = candidate_merges(three)
    assert list(c.columns)[-1] == "accept" and (c["accept"] == "").all()
    assert _pair(c, ("discourse", "7"), ("slack", "U0DEMO002"))["reason"].item() == "email_hash"
    assert _pair(c, ("discourse", "43"), ("slack", "U0DEMO003"))["reason"].item() == "handle"
    assert _pair(c, ("demo-wechat", "u001"), ("discourse", "42"))["reason"].item() == "display_name"
    # strongest reason only, one row per pair
    assert not c.duplicated(["left_community_id", "left_member_id", "right_community_id", "right_member_id"]).any()
    assert not c["key"].str.contains("@").any()  # e-mails are never written


def test_full_width_display_name() -> None:
    ds = convert("mapping", FIX / "mapping" / "mapping.yaml")[0]
    other = Dataset(ds.communities.assign(community_id="b"), ds.members.assign(community_id="b"),
                    ds.events.assign(community_id="b"))
    other.members.loc[other.members["member_id"] == "u003", "display_name"] = "hanmei"
    other.members["member_id"] = "x-" + other.members["member_id"]
    c = candidate_merges([ds, other])
    row = _pair(c, ("demo-wechat", "u003"), ("b", "x-u003"))
    assert row["reason"].item() == "display_name" and row["key"].item() == "hanmei"


def test_only_accepted_rows_apply(tmp_path: Path, three: list[Dataset]) -> None:
    merged_input = Dataset(*(pd.concat([getattr(d, t) for d in three], ignore_index=True)
                             for t in ("communities", "members", "events")))
    c = candidate_merges(merged_input)
    path = write_merge_file(c, tmp_path / "merges.csv")
    # nothing accepted yet: nothing merges
    same = apply_merges(merged_input, path)
    assert same.members["person_id"].nunique() == len(same.members)
    f = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    pick = (f["reason"] == "email_hash") & (f["left_member_id"] == "7")
    f.loc[pick, "accept"] = "是"
    f.loc[f["reason"] == "display_name", "accept"] = "no"
    f.to_csv(path, index=False, encoding="utf-8-sig")
    assert len(read_merge_file(path)) == 1
    out = apply_merges(merged_input, path)
    m = out.members.set_index(["community_id", "member_id"])["person_id"]
    assert m.loc[("discourse", "7")] == m.loc[("slack", "U0DEMO002")]
    assert m.loc[("discourse", "42")] != m.loc[("slack", "U0DEMO001")]  # not accepted
    assert out.members["person_id"].nunique() == len(out.members) - 1
    assert "person_id" not in merged_input.members.columns  # input untouched


def test_same_community_merge_rewrites_events(tmp_path: Path) -> None:
    ds = convert("mapping", FIX / "mapping" / "mapping.yaml")[0]
    f = tmp_path / "m.csv"
    pd.DataFrame([{"left_community_id": "demo-wechat", "left_member_id": "u003", "right_community_id": "demo-wechat",
                   "right_member_id": "u001", "reason": "manual", "key": "", "accept": "yes"}]).to_csv(f, index=False)
    out = apply_merges(ds, f)
    assert sorted(out.members["member_id"]) == ["u001", "u002"]
    assert set(out.events["member_id"]) == {"u001", "u002"}
    assert (out.events["target_member_id"].dropna() == "u001").all()
    assert len(out.events) == len(ds.events)


def test_bad_merge_files(tmp_path: Path) -> None:
    ds = convert("mapping", FIX / "mapping" / "mapping.yaml")[0]
    f = tmp_path / "m.csv"
    row = {"left_community_id": "demo-wechat", "left_member_id": "u003", "right_community_id": "demo-wechat",
           "right_member_id": "u001", "accept": "maybe"}
    pd.DataFrame([row]).to_csv(f, index=False)
    with pytest.raises(ImportFormatError, match=r"m.csv: row 2: accept is 'maybe'"):
        apply_merges(ds, f)
    pd.DataFrame([{**row, "accept": "y", "right_member_id": "nobody"}]).to_csv(f, index=False)
    with pytest.raises(ImportFormatError, match="member 'nobody' of community 'demo-wechat' is not in the dataset"):
        apply_merges(ds, f)
    pd.DataFrame([{"a": 1}]).to_csv(f, index=False)
    with pytest.raises(ImportFormatError, match="not a merge file"):
        apply_merges(ds, f)
