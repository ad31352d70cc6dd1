"""The streaming Stack Exchange XML import: chunked Parquet output, compact lookups, errors that write nothing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from commlab.data import schema as S
from commlab.data.load import load_dataset
from commlab.errors import DataValidationError, ImportFormatError
from commlab.importers import WRITERS, convert, import_source, register
from commlab.importers import stackexchange_xml as sx
from commlab.importers.streaming import NONE, ChunkValidator, IntLookup, MinByKey, ParquetChunkWriter
from conftest import require_shared_data

HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'


def _cardano() -> Path:
    return require_shared_data("se_cardano_xml")


def _write(folder: Path, part: str, rows: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tag = part.lower()
    (folder / f"{part}.xml").write_text(HEAD + f"<{tag}>\n" + "".join(f"  {r}\n" for r in rows) + f"</{tag}>\n",
                                        encoding="utf-8-sig")


def _events_sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["ts", "source_ref"]).reset_index(drop=True)


# --- the real dump, streamed in many chunks --------------------------------------------------------


@pytest.mark.shared_data
def test_streamed_import_equals_in_memory_convert_in_small_chunks(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    src = _cardano()
    ds_mem, rep_mem = convert("stackexchange_xml", src, progress=False)
    monkeypatch.setattr(sx, "CHUNK_ROWS", 400)  # 2,630 posts, 1,829 comments, 3,988 users: many chunks each
    out = tmp_path / "out"
    rep = import_source("stackexchange_xml", src, out, progress=False)
    assert pq.ParquetFile(out / "events.parquet").num_row_groups >= 10
    assert pq.ParquetFile(out / "members.parquet").num_row_groups == 10  # ceil(3988 / 400)
    back = load_dataset(out, tz="UTC")
    assert rep.rows_mapped == rep_mem.rows_mapped == {"communities": 1, "members": 3988, "events": len(back.events)}
    assert rep.dropped == rep_mem.dropped and rep.rows_read == rep_mem.rows_read
    a, b = _events_sorted(back.events), _events_sorted(ds_mem.events)
    for col in ("member_id", "ts", "event_type", "target_member_id", "thread_id", "topic", "score", "accepted",
                "accepted_on", "bounty_offered", "bounty_offered_by", "bounty_awarded"):
        pd.testing.assert_series_equal(a[col], b[col], check_dtype=False, obj=col)
    m1 = back.members.sort_values("member_id").reset_index(drop=True)
    m2 = ds_mem.members.sort_values("member_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(m1[["member_id", "joined_at", "role", "display_name", "account_id"]],
                                  m2[["member_id", "joined_at", "role", "display_name", "account_id"]],
                                  check_dtype=False)
    assert back.communities.iloc[0]["created_at"] == back.events["ts"].min()


# --- order, duplicates, members without Users.xml --------------------------------------------------


def test_answer_before_its_question_and_duplicates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sx, "CHUNK_ROWS", 1)  # the answer is mapped before its question has been read
    d = tmp_path / "dump"
    _write(d, "Posts", [
        '<row Id="5" PostTypeId="2" ParentId="9" CreationDate="2024-03-02T10:00:00.000" Score="1" OwnerUserId="3" />',
        '<row Id="9" PostTypeId="1" AcceptedAnswerId="5" CreationDate="2024-03-01T10:00:00.000" Score="2" '
        'OwnerUserId="4" Tags="&lt;a&gt;&lt;b&gt;" />',
        '<row Id="9" PostTypeId="1" CreationDate="2024-03-01T11:00:00.000" Score="2" OwnerUserId="6" />',
        '<row Id="7" PostTypeId="2" ParentId="404" CreationDate="2024-03-03T10:00:00.000" OwnerUserId="6" />',
        '<row Id="8" PostTypeId="5" CreationDate="2024-03-03T10:00:00.000" />',
    ])
    _write(d, "Comments", [
        '<row Id="1" PostId="5" Score="0" CreationDate="2024-03-02T11:00:00.000" UserId="4" />',
        '<row Id="2" PostId="8" Score="0" CreationDate="2024-03-03T11:00:00.000" UserId="3" />',
    ])
    ds, rep = convert("stackexchange_xml", d, progress=False)
    ev = ds.events.set_index("source_ref")
    assert ev.loc["answer/5", "target_member_id"] == "4"  # resolved once question 9 was read
    assert bool(ev.loc["answer/5", "accepted"]) is True
    assert ev.loc["answer/5", "thread_id"] == "9"
    assert pd.isna(ev.loc["answer/7", "target_member_id"]) and ev.loc["answer/7", "thread_id"] == "404"
    assert ev.loc["question/9", "member_id"] == "4" and ev.loc["question/9", "topic"] == "a;b"
    assert ev.loc["comment/1", "target_member_id"] == "3" and ev.loc["comment/1", "thread_id"] == "9"
    assert pd.isna(ev.loc["comment/2", "target_member_id"])  # on a tag wiki
    assert rep.dropped == {"duplicate post row (same Id; the first is kept)": 1}
    assert rep.not_mapped["post of PostTypeId 5 (tag wiki, nomination or other: not a question or answer)"] == 1
    # no Users.xml: members are authors and targets, joined when first seen
    joined = ds.members.set_index("member_id")["joined_at"]
    assert sorted(joined.index) == ["3", "4", "6"]
    assert joined["4"] == pd.Timestamp("2024-03-01 10:00", tz="UTC")
    assert joined["3"] == pd.Timestamp("2024-03-02 10:00", tz="UTC")


def test_users_dedup_and_unknown_authors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sx, "CHUNK_ROWS", 2)
    d = tmp_path / "dump"
    _write(d, "Users", [
        '<row Id="-1" CreationDate="2024-01-01T00:00:00.000" DisplayName="Community" AccountId="-1" />',
        '<row Id="4" CreationDate="2024-01-02T00:00:00.000" DisplayName="Ann" AccountId="40" />',
        '<row Id="4" CreationDate="2024-01-03T00:00:00.000" DisplayName="Ann again" />',
        '<row CreationDate="2024-01-03T00:00:00.000" DisplayName="no id" />',
        '<row Id="2" CreationDate="2024-01-04T00:00:00.000" DisplayName="Bo" />',
    ])
    _write(d, "Posts", [
        '<row Id="1" PostTypeId="1" CreationDate="2024-03-01T10:00:00.000" OwnerUserId="4" />',
        '<row Id="2" PostTypeId="2" ParentId="1" CreationDate="2024-03-01T11:00:00.000" OwnerUserId="99" />',
        '<row Id="3" PostTypeId="2" ParentId="1" CreationDate="2024-03-01T12:00:00.000" OwnerUserId="2" />',
    ])
    out = tmp_path / "out"
    rep = import_source("stackexchange_xml", d, out)
    ds = load_dataset(out, tz="UTC")
    m = ds.members.set_index("member_id")
    assert sorted(m.index) == ["-1", "2", "4"] and m.loc["4", "display_name"] == "Ann"
    assert m.loc["-1", "role"] == "bot" and m.loc["4", "account_id"] == "40"
    assert rep.dropped == {"duplicate user row": 1, "user row without an Id": 1,
                           "answer: by a user absent from Users.xml": 1}
    assert list(ds.events["source_ref"]) == ["question/1", "answer/3"]
    assert rep.rows_read["Users"] == 5


# --- errors: clear, and nothing written ------------------------------------------------------------


def test_bad_id_names_file_attribute_and_rows_and_writes_nothing(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sx, "CHUNK_ROWS", 2)  # the first chunks are mapped and written before the error is seen
    d = tmp_path / "dump"
    rows = [f'<row Id="{i}" PostTypeId="1" CreationDate="2024-03-01T10:00:00.000" OwnerUserId="{i}" />'
            for i in range(1, 7)]
    rows[4] = rows[4].replace('OwnerUserId="5"', 'OwnerUserId="five"')
    rows.append('<row Id="7" PostTypeId="1" CreationDate="yesterday" OwnerUserId="7" />')
    _write(d, "Posts", rows)
    out = tmp_path / "out"
    with pytest.raises(ImportFormatError) as err:
        import_source("stackexchange_xml", d, out)
    msg = str(err.value)
    assert "Posts.xml" in msg
    assert ("attribute OwnerUserId: 1 value(s) not an integer id (a whole number of at most 18 digits) — "
            "row element 5: 'five'") in msg
    assert "attribute CreationDate: 1 unparseable or out-of-range time(s) — row element 7: 'yesterday'" in msg
    assert "fix:" in msg
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dump"]  # no temporary folder left


def test_truncated_xml_after_chunks_were_written_leaves_previous_output(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "dump"
    rows = [f'<row Id="{i}" PostTypeId="1" CreationDate="2024-03-01T10:00:00.000" OwnerUserId="{i}" />'
            for i in range(1, 30)]
    _write(d, "Posts", rows)
    out = tmp_path / "out"
    first = import_source("stackexchange_xml", d, out, community_id="v1")
    assert first.rows_mapped["events"] == 29
    text = (d / "Posts.xml").read_text(encoding="utf-8-sig")
    (d / "Posts.xml").write_text(text[: text.index('<row Id="25"') + 20], encoding="utf-8")
    monkeypatch.setattr(sx, "CHUNK_ROWS", 3)
    with pytest.raises(ImportFormatError, match=r"Posts.xml: malformed or truncated XML at line 2[67]"):
        import_source("stackexchange_xml", d, out, community_id="v2")
    back = load_dataset(out, tz="UTC")  # the earlier import is untouched
    assert back.communities.iloc[0]["community_id"] == "v1" and len(back.events) == 29
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dump", "out"]


def test_bad_community_option_fails_before_reading(tmp_path: Path) -> None:
    d = tmp_path / "dump"
    d.mkdir()
    (d / "Posts.xml").write_text(HEAD + "<posts>\n  <row Id=", encoding="utf-8")  # truncated: read would fail
    with pytest.raises(DataValidationError, match="column 'theme'.*'gaming'"):
        import_source("stackexchange_xml", d, tmp_path / "out", theme="gaming")
    assert not (tmp_path / "out").exists()


def test_parquet_chunk_writer_keeps_dtypes_and_writes_empty_tables(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": pd.Series(["x", None], dtype="string"), "b": pd.array([True, None], "boolean")})
    with ParquetChunkWriter(tmp_path / "t.parquet") as w:
        w.write(frame)
        w.write(frame)
    back = pd.read_parquet(tmp_path / "t.parquet")
    assert len(back) == 4 and str(back["b"].dtype) == "boolean" and back["a"].isna().sum() == 2
    assert pq.ParquetFile(tmp_path / "t.parquet").num_row_groups == 2
    with ParquetChunkWriter(tmp_path / "e.parquet", template=frame.iloc[:0]):
        pass
    assert list(pd.read_parquet(tmp_path / "e.parquet").columns) == ["a", "b"]


def test_writer_registry() -> None:
    assert WRITERS["stackexchange_xml"] is sx.write_parquet
    original = sx.convert
    register("stackexchange_xml", original)  # a replaced converter drops the format's writer
    try:
        assert "stackexchange_xml" not in WRITERS
    finally:
        from commlab.importers import register_writer

        register_writer("stackexchange_xml", sx.write_parquet)


# --- the building blocks ---------------------------------------------------------------------------


def test_int_lookup_ascending_duplicates_and_out_of_order() -> None:
    lk = IntLookup(2)
    dup = lk.add(np.array([3, 1, 2]), np.array([[30, 31], [10, 11], [20, 21]]))
    assert not dup.any()
    dup = lk.add(np.array([5, 5, 2, 4]), np.array([[50, 0], [51, 0], [99, 0], [40, 41]]))
    assert dup.tolist() == [False, True, True, False]  # 4 < 5 arrives in the same chunk: still sorted
    assert lk.out_of_order == 0
    assert lk.add(np.array([0]), np.array([[7, 7]])).tolist() == [False]  # below the largest key
    assert lk.out_of_order == 1 and len(lk) == 6
    found, vals = lk.get(np.array([0, 1, 4, 5, 6, NONE]))
    assert found.tolist() == [True, True, True, True, False, False]
    assert vals[:, 0].tolist() == [7, 10, 40, 50, NONE, NONE]
    assert lk.contains(np.array([2, 3, 8])).tolist() == [True, True, False]
    assert lk.narrow and lk.nbytes == 1024 * 4 * 3  # int32 key + 2 values per slot
    empty = IntLookup(0)
    assert empty.contains(np.array([1])).tolist() == [False]
    assert empty.get(np.array([1]))[1].shape == (1, 0)


def test_int_lookup_grows_past_its_capacity() -> None:
    lk = IntLookup(1)
    keys = np.arange(5000, dtype=np.int64) * 2
    for part in np.array_split(keys, 7):
        lk.add(part, part.reshape(-1, 1) + 1)
    found, vals = lk.get(np.array([0, 9998, 9999]))
    assert found.tolist() == [True, True, False] and vals[:2, 0].tolist() == [1, 9999]
    assert lk.nbytes <= 2 * 5000 * 16 and lk.out_of_order == 0


def test_int_lookup_keeps_missing_values_and_widens_past_int32() -> None:
    lk = IntLookup(2)
    lk.add(np.array([1, 2]), np.array([[NONE, 5], [-1, NONE]]))
    assert lk.narrow
    assert lk.get(np.array([1, 2]))[1].tolist() == [[NONE, 5], [-1, NONE]]
    assert lk.get(np.array([2**40]))[0].tolist() == [False]  # a query beyond int32 is simply not found
    lk.add(np.array([3]), np.array([[2**35, 7]]))  # a value beyond int32: the arrays become int64
    lk.add(np.array([2**40]), np.array([[8, NONE]]))
    assert not lk.narrow and lk.nbytes == 1024 * 8 * 3
    found, vals = lk.get(np.array([1, 2, 3, 2**40, 4]))
    assert found.tolist() == [True, True, True, True, False]
    assert vals.tolist() == [[NONE, 5], [-1, NONE], [2**35, 7], [8, NONE], [NONE, NONE]]


def test_min_by_key_matches_groupby() -> None:
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 500, 20_000)
    vals = rng.integers(0, 10**9, 20_000)
    acc = MinByKey()
    for k, v in zip(np.array_split(keys, 9), np.array_split(vals, 9), strict=True):
        acc.add(k, v)
    got_k, got_v = acc.result()
    expect = pd.Series(vals).groupby(keys).min()
    assert got_k.tolist() == expect.index.tolist() and got_v.tolist() == expect.tolist()


def test_chunk_validator_merges_problems_with_table_row_numbers() -> None:
    check = ChunkValidator(S.EVENTS, "x -> events")
    ts = pd.Series(pd.to_datetime(["2024-01-01"] * 3, utc=True))
    for types in (["post", "like", "reply"], ["vote", "post", "post"]):
        frame = pd.DataFrame({"community_id": "c", "member_id": "1", "ts": ts, "event_type": types})
        check(frame)
    (problem,) = check.problems
    assert problem.column == "event_type" and problem.count == 2
    assert problem.rows == [3, 5]  # rows 2 and 4 of the whole table (0-based 1 and 3), header = row 1
    assert problem.values == ["like", "vote"]
    assert check.rows == 6


def test_benchmark_dump_generator_imports_completely(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "import_xml_bench", Path(__file__).resolve().parents[1] / "benchmarks" / "import_xml.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    counts = bench.generate_dump(tmp_path / "dump", 0.3)
    rep = import_source("stackexchange_xml", tmp_path / "dump", tmp_path / "out", progress=False)
    assert rep.rows_read["Users"] == counts["users"] and rep.rows_read["Comments"] == counts["comments"]
    assert rep.rows_mapped["events"] == counts["questions"] + counts["answers"] + counts["comments"]
    assert rep.total_dropped == 0
    ev = load_dataset(tmp_path / "out", tz="UTC").events
    # the generator writes acceptance votes (no AcceptedAnswerId: questions are written before their answers)
    assert ev["accepted_on"].notna().sum() == rep.rows_read["Votes: VoteTypeId 1"] > 0
    assert ev["bounty_awarded"].sum() == 50 * rep.rows_read.get("Votes: VoteTypeId 9", 0)
