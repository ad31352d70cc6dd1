"""Loading and validating the canonical tables."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from commlab.data import load_dataset
from commlab.data.io import decode_bytes, parse_times
from commlab.errors import DataValidationError, UsageError

COMMUNITIES = """community_id,name,theme,business_model,lifecycle,platform,monetization,created_at
c1,读书会,interest,creator,startup,wechat,none,2024-01-01 09:00:00
"""
MEMBERS = """community_id,member_id,joined_at,role,display_name
c1,m1,2024-01-01 09:00,owner,王芳
c1,m2,2024-01-02T10:00:00+00:00,member,李雷
"""
EVENTS = """community_id,member_id,ts,event_type,target_member_id,amount
c1,m1,2024-01-03 10:00,message,,
c1,m2,2024-01-03 11:00,reply,m1,
c1,m2,2024-01-03 12:00,purchase,,9.9
"""


def write_tiny(d: Path, encoding: str = "utf-8") -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, text in (("communities", COMMUNITIES), ("members", MEMBERS), ("events", EVENTS)):
        (d / f"{name}.csv").write_bytes(text.encode(encoding))
    return d


def test_tiny_dataset_loads_with_times_in_utc(tmp_path):
    ds = load_dataset(write_tiny(tmp_path))
    assert len(ds.communities) == 1 and len(ds.members) == 2 and len(ds.events) == 3
    # naive times are read in Asia/Shanghai (UTC+8) and stored in UTC
    assert ds.communities.loc[0, "created_at"] == pd.Timestamp("2024-01-01 01:00", tz="UTC")
    # an explicit offset is kept
    assert ds.members.loc[1, "joined_at"] == pd.Timestamp("2024-01-02 10:00", tz="UTC")
    assert str(ds.events["ts"].dtype) == "datetime64[ns, UTC]"
    assert ds.events["amount"].tolist()[2] == pytest.approx(9.9)
    assert ds.members.loc[0, "display_name"] == "王芳"


def test_configurable_zone(tmp_path):
    ds = load_dataset(write_tiny(tmp_path), tz="UTC")
    assert ds.communities.loc[0, "created_at"] == pd.Timestamp("2024-01-01 09:00", tz="UTC")


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig"])
def test_chinese_encodings_load_identically(tmp_path, encoding):
    utf8 = load_dataset(write_tiny(tmp_path / "utf8"))
    other = load_dataset(write_tiny(tmp_path / encoding, encoding))
    assert other.encodings["members"] == ("utf-8-sig" if encoding == "utf-8-sig" else "gb18030")
    for name in ("communities", "members", "events"):
        pd.testing.assert_frame_equal(getattr(utf8, name), getattr(other, name))


def test_gbk_copy_of_samples_loads_identically(tmp_path, samples_dir):
    """The bundled samples re-saved as GBK (as Excel on a Chinese Windows would) load the same."""
    utf8 = load_dataset(samples_dir)
    gbk = tmp_path / "gbk"
    shutil.copytree(samples_dir, gbk)
    for name in ("communities", "members"):
        text = (gbk / f"{name}.csv").read_text(encoding="utf-8")
        assert any(ord(ch) > 0x2E80 for ch in text), "samples should carry Chinese text"
        (gbk / f"{name}.csv").write_bytes(text.encode("gbk"))
    again = load_dataset(gbk)
    assert again.encodings["communities"] == "gb18030"
    for name in ("communities", "members", "events"):
        pd.testing.assert_frame_equal(getattr(utf8, name), getattr(again, name))


def test_decode_rejects_binary_garbage():
    with pytest.raises(UnicodeDecodeError, match="neither UTF-8 nor GBK"):
        decode_bytes(b"\xff\xfe\xfa\x80\x81", name="x.csv")


def test_parse_times_flags_bad_values_only():
    s = pd.Series(["2024-01-01 08:00", "2024-01-01T00:00:00Z", "", None, "yesterday"])
    parsed, bad = parse_times(s, "Asia/Shanghai")
    assert parsed[0] == parsed[1] == pd.Timestamp("2024-01-01 00:00", tz="UTC")
    assert bad.tolist() == [False, False, False, False, True]


def test_parse_times_reads_hour_offsets_and_refuses_zone_names():
    """``+00`` after a time (how PostgreSQL and DuckDB print zone-aware times) is an offset; a date alone is not
    (``-16`` is its day). A zone name is refused, not read: pandas would read ``GMT+8`` as 8 hours behind UTC."""
    s = pd.Series(["2024-04-16 10:00:25+00", "2024-04-16 10:00:25.5-05", "2024-04-16T10:00+0800", "2024-04-16",
                   "2024-04-16 10:00:25 GMT+8", "2024-04-16 10:00:25 UTC", "2024-04-16 10:00:25 CST"],
                  dtype="string")
    parsed, bad = parse_times(s, "Asia/Shanghai")
    assert parsed[:4].tolist() == [pd.Timestamp(t, tz="UTC") for t in ("2024-04-16 10:00:25", "2024-04-16 15:00:25.5",
                                                                       "2024-04-16 02:00", "2024-04-15 16:00")]
    assert bad.tolist() == [False] * 4 + [True] * 3
    for alone in (["2024-04-16 10:00:25 GMT+8"], ["2024-04-16 10:00 UTC", "2024-04-17 10:00 UTC"]):  # whole columns
        parsed, bad = parse_times(pd.Series(alone, dtype="string"), "Asia/Shanghai")
        assert parsed.isna().all() and bad.all()


@pytest.mark.parametrize("stream", [False, True])
def test_times_with_zone_names_are_a_problem_of_the_rows_not_an_unreadable_file(tmp_path, monkeypatch, stream):
    """A CSV whose times carry hour offsets loads, whole or in chunks; one with a zone name in two rows gets the
    unparseable-time problem naming those rows, not an unreadable file (it raised a TypeError before)."""
    d = write_tiny(tmp_path / "d")
    text = (d / "events.csv").read_text()
    (d / "events.csv").write_text(text.replace("2024-01-03 10:00,", "2024-01-03 10:00+00,")
                                  .replace("2024-01-03 11:00,", "2024-01-03 11:00:00.25+08,"))
    monkeypatch.setenv("COMMLAB_STREAM_EVENTS", "always" if stream else "never")
    ds = load_dataset(d, cache=tmp_path / "cache" if stream else "", stream=stream)
    assert ds.events["ts"].tolist() == [pd.Timestamp(t, tz="UTC") for t in  # ordered by time; 12:00 read in UTC+8
                                        ("2024-01-03 03:00:00.25", "2024-01-03 04:00", "2024-01-03 10:00")]
    (d / "events.csv").write_text(text.replace("2024-01-03 10:00,", "2024-01-03 10:00 GMT+8,")
                                  .replace("2024-01-03 12:00,", "2024-01-03 12:00 UTC,"))
    with pytest.raises(DataValidationError) as err:
        load_dataset(d, cache=tmp_path / "cache2" if stream else "", stream=stream)
    (p,) = err.value.problems
    assert (p.column, p.check, p.count) == ("ts", "unparseable time", 2)
    assert "ISO 8601 with an offset" in p.fix and "GMT+8" in str(p.values)


def test_missing_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        load_dataset(tmp_path / "nope")


def test_unknown_zone_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="time zone"):
        load_dataset(write_tiny(tmp_path), tz="Mars/Olympus")


def test_subset_of_unknown_community_is_an_error(tmp_path):
    with pytest.raises(UsageError, match="unknown community"):
        load_dataset(write_tiny(tmp_path), communities=["nope"])


# --- a broken copy of the samples: one of each problem ------------------------------------

EXPECTED_PROBLEMS = {
    # (file stem, column, check)
    ("communities", "platform", "missing column"),
    ("events", "event_type", "unknown event_type value"),
    ("events", "ts", "unparseable time"),
    ("members", "community_id+member_id", "duplicate community_id+member_id"),
    ("events", "member_id", "event by a member not in the members table"),
    ("events", "target_member_id", "reply/mention target that does not exist"),
    ("events", "amount", "negative amount"),
    ("events", "ts", "event before the community was created"),
}


def make_broken_copy(samples_dir: Path, out: Path) -> Path:
    """Copy the samples as CSV and plant exactly one of each problem the loader must find."""
    ds = load_dataset(samples_dir)
    out.mkdir(parents=True)
    com = ds.communities.drop(columns=["platform"])  # missing column
    mem = ds.members.copy()
    mem = pd.concat([mem, mem.iloc[[5]]], ignore_index=True)  # duplicate member id (row 2+len)
    ev = ds.events.copy()
    ev["ts"] = ev["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    ev.loc[10, "event_type"] = "teleport"  # unknown event type
    ev.loc[11, "ts"] = "31/02/2024 25:61"  # unparseable time
    ev.loc[12, "member_id"] = "ghost-member"  # event by a member not in members
    replies = ev.index[(ev["event_type"] == "reply") & (ev.index > 20)]
    ev.loc[replies[0], "target_member_id"] = "nobody-here"  # reply target that does not exist
    buys = ev.index[ev["event_type"] == "purchase"]
    ev.loc[buys[0], "amount"] = -5.0  # negative amount
    ev.loc[13, "ts"] = "1999-01-01T00:00:00+00:00"  # before the community was created
    com.to_csv(out / "communities.csv", index=False)
    mem.to_csv(out / "members.csv", index=False)
    ev.to_csv(out / "events.csv", index=False)
    return out


def test_broken_samples_list_every_problem(tmp_path, samples_dir):
    broken = make_broken_copy(samples_dir, tmp_path / "broken")
    with pytest.raises(DataValidationError) as info:
        load_dataset(broken)
    found = {(Path(p.file).name.split(".")[0], p.column, p.check) for p in info.value.problems}
    assert EXPECTED_PROBLEMS <= found, f"missing: {EXPECTED_PROBLEMS - found}"
    by_check = {p.check: p for p in info.value.problems}
    assert by_check["unknown event_type value"].rows == [12]  # index 10 -> row 12 (header is row 1)
    assert by_check["unknown event_type value"].values == ["teleport"]
    assert "use one of" in by_check["unknown event_type value"].fix
    assert by_check["event by a member not in the members table"].rows == [14]
    text = str(info.value)
    assert "events.csv" in text and "teleport" in text and "fix:" in text


def test_validate_cli_lists_every_problem(tmp_path, samples_dir):
    broken = make_broken_copy(samples_dir, tmp_path / "broken")
    cli = [sys.executable, "-m", "commlab", "validate"]
    bad = subprocess.run([*cli, str(broken)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 3, bad.stderr
    assert "Traceback" not in bad.stderr
    for _, _column, check in EXPECTED_PROBLEMS:
        assert check in bad.stderr + bad.stdout
    good = subprocess.run([*cli, str(samples_dir)], capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stderr
    assert "communities" in good.stdout


def test_nothing_is_half_loaded(tmp_path):
    d = write_tiny(tmp_path)
    (d / "events.csv").write_text(EVENTS + "c1,m2,not a time,message,,\n", encoding="utf-8")
    with pytest.raises(DataValidationError):
        load_dataset(d)


def test_optional_columns_may_be_absent(tmp_path):
    d = write_tiny(tmp_path)
    (d / "events.csv").write_text(
        "community_id,member_id,ts,event_type\nc1,m1,2024-01-03 10:00,message\n", encoding="utf-8"
    )
    ds = load_dataset(d)
    assert ds.events["amount"].isna().all() and str(ds.events["amount"].dtype) == "float64"
    assert ds.events["target_member_id"].isna().all() and ds.members["left_at"].isna().all()


def _copy_with_events(samples_dir: Path, out: Path, events: pd.DataFrame) -> Path:
    out.mkdir()
    for name in ("communities", "members"):
        shutil.copy(samples_dir / f"{name}.csv", out / f"{name}.csv")
    events.to_parquet(out / "events.parquet", index=False)
    return out


def _oracle_order(d: Path) -> pd.DataFrame:
    """The events of ``d`` coerced, then ordered by ``sort_values`` (stable), as load_dataset promises."""
    from commlab.data import schema as S
    from commlab.data.load import coerce_table, read_raw_table

    raw, _ = read_raw_table(d / "events.parquet")
    coerced, found = coerce_table(raw, S.TABLES["events"], "events", "Asia/Shanghai")
    assert not found
    return coerced.sort_values(["community_id", "ts"], kind="stable").reset_index(drop=True)


def test_events_are_ordered_by_community_then_time_with_ties_in_file_order(tmp_path, samples_dir):
    ev = pd.read_parquet(samples_dir / "events.parquet")
    rng = np.random.default_rng(7)
    shuffled = ev.iloc[rng.permutation(len(ev))].reset_index(drop=True)
    # ties: a block of events of one community at one instant, in a known file order
    c = shuffled["community_id"].iloc[0]
    tie = shuffled.index[shuffled["community_id"] == c][:20]
    shuffled.loc[tie, "ts"] = shuffled.loc[tie[0], "ts"]
    d = _copy_with_events(samples_dir, tmp_path / "shuffled", shuffled)
    got = load_dataset(d, cache="").events
    expected = _oracle_order(d)
    pd.testing.assert_frame_equal(got, expected)
    # string order of the ids, not first appearance
    assert got["community_id"].tolist() == sorted(got["community_id"].tolist())
    # the tied events keep their file order
    when = pd.Timestamp(shuffled.loc[tie[0], "ts"])
    in_file = shuffled[(shuffled["community_id"] == c) & (pd.to_datetime(shuffled["ts"], utc=True) == when)]
    in_got = got[(got["community_id"] == c) & (got["ts"] == when)]
    assert len(in_got) >= 20 and in_got["member_id"].tolist() == in_file["member_id"].tolist()


def test_events_already_in_order_load_the_same(tmp_path, samples_dir):
    ev = pd.read_parquet(samples_dir / "events.parquet")
    ordered = ev.sort_values(["community_id", "ts"], kind="stable").reset_index(drop=True)
    d = _copy_with_events(samples_dir, tmp_path / "ordered", ordered)
    pd.testing.assert_frame_equal(load_dataset(d, cache="").events, _oracle_order(d))


def test_numeric_amounts_in_parquet_are_checked_for_sign(tmp_path, samples_dir):
    ev = pd.read_parquet(samples_dir / "events.parquet")
    ev["amount"] = ev["amount"].astype("float64")
    ev.loc[ev.index[3], "amount"] = -5.0
    d = _copy_with_events(samples_dir, tmp_path / "negative", ev)
    with pytest.raises(DataValidationError) as err:
        load_dataset(d, cache="")
    (p,) = [p for p in err.value.problems if p.column == "amount"]
    assert p.check == "negative amount" and p.rows == [3 + 2] and p.values == [-5.0]


def test_events_before_their_own_community_was_created_are_flagged():
    from commlab.data.validate import cross_table_problems

    utc = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731
    com = pd.DataFrame({"community_id": pd.array(["b", "a"], dtype="string"),
                        "created_at": [utc("2024-03-01"), utc("2024-01-01")]})
    mem = pd.DataFrame({"community_id": pd.array(["a", "b"], dtype="string"),
                        "member_id": pd.array(["m", "m"], dtype="string")})
    ev = pd.DataFrame({
        "community_id": pd.array(["a", "b", "b", "a", "zz"], dtype="string"),
        "member_id": pd.array(["m", "m", "m", "m", "m"], dtype="string"),
        # a after its creation; b before its own (but after a's); b after; a before; unknown community
        "ts": [utc("2024-02-01"), utc("2024-02-01"), utc("2024-03-02"), utc("2023-12-31"), utc("2000-01-01")],
    })
    files = {"communities": "c.csv", "members": "m.csv", "events": "e.csv"}
    (p,) = [p for p in cross_table_problems(com, mem, ev, files) if p.check == "event before the community was created"]
    assert p.rows == [1 + 2, 3 + 2] and p.count == 2 and p.values[0].startswith("b/2024-02-01")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_ids_are_stripped_of_surrounding_spaces(tmp_path, fmt):
    d = write_tiny(tmp_path)
    ev = pd.read_csv(d / "events.csv", dtype=str)
    ev.loc[1, "member_id"] = "  m2\t"
    ev.loc[1, "target_member_id"] = " m1"
    (d / "events.csv").unlink()
    if fmt == "csv":
        ev.to_csv(d / "events.csv", index=False)
    else:
        ev.to_parquet(d / "events.parquet", index=False)
    got = load_dataset(d, cache="").events
    assert got["member_id"].tolist() == ["m1", "m2", "m2"]
    assert got["target_member_id"].tolist()[1] == "m1"


def test_numeric_ids_stored_as_floats_read_as_integers(tmp_path):
    """A Parquet id column with missing values arrives as floats (9.0); the id is "9", not "9.0"."""
    d = write_tiny(tmp_path)
    (d / "members.csv").write_text(MEMBERS.replace("m1", "9").replace("m2", "12"), encoding="utf-8")
    (d / "events.csv").unlink()
    pd.DataFrame({
        "community_id": ["c1", "c1"], "member_id": [9.0, 12.0], "ts": ["2024-01-03 10:00", "2024-01-03 11:00"],
        "event_type": ["message", "reply"], "target_member_id": [float("nan"), 9.0],
    }).to_parquet(d / "events.parquet", index=False)
    ev = load_dataset(d, cache="").events
    assert ev["member_id"].tolist() == ["9", "12"]
    assert ev["target_member_id"].isna().tolist() == [True, False] and ev["target_member_id"].iloc[1] == "9"


def test_csv_with_a_delimiter_at_the_end_of_every_data_line_loads_as_without(tmp_path):
    """Some exports end each row with a comma; pandas would take the first column as the index."""
    plain = load_dataset(write_tiny(tmp_path / "plain"), cache="").events
    d = write_tiny(tmp_path / "trailing")
    head, *rows = EVENTS.strip().splitlines()
    (d / "events.csv").write_text("\n".join([head] + [r + "," for r in rows]) + "\n", encoding="utf-8")
    pd.testing.assert_frame_equal(load_dataset(d, cache="").events, plain)


def test_a_notebook_reading_the_runs_validated_data_does_not_import_pandera(tmp_path, samples_dir):
    """pandera (with pyspark.pandas, when the spark extra is installed) costs each kernel ~0.8 s at import; the
    notebooks of a run read data the runner validated, so they must not pay it. Validating still uses it."""
    cache = tmp_path / "cache"
    load_dataset(samples_dir, cache=cache)  # the runner's validation
    code = ("import sys; from commlab.data import load_dataset; "
            f"ds = load_dataset({str(samples_dir)!r}, cache={str(cache)!r}, communities=['c01']); "
            "ds.members; print(len(ds.communities), 'pandera' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1", "False"]
    fresh = ("import sys; from commlab.data import load_dataset; "
             f"load_dataset({str(samples_dir)!r}, communities=['c01']); print('pandera' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", fresh], capture_output=True, text=True, check=True).stdout.split() == [
        "True"]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_infinite_amount_is_a_problem_of_its_rows(tmp_path, monkeypatch, stream, fmt):
    """``1e999`` reads as infinity and Parquet holds ``inf``: an amount must be finite, in a CSV or a Parquet file,
    whole or in chunks (a Parquet file of canonical types is checked in SQL first, which sends it on to the chunks
    for the report). Both rows are named; they were loaded as infinite purchases before."""
    d = write_tiny(tmp_path / "d")
    text = (d / "events.csv").read_text().replace(",purchase,,9.9", ",purchase,,1e999")
    text += "c1,m1,2024-01-04 12:00,purchase,,inf\n"
    (d / "events.csv").write_text(text)
    if fmt == "parquet":
        ev = pd.read_csv(d / "events.csv", dtype={"amount": float})
        ev["ts"] = pd.to_datetime(ev["ts"]).dt.tz_localize("Asia/Shanghai")
        ev.to_parquet(d / "events.parquet", index=False)
        (d / "events.csv").unlink()
    monkeypatch.setenv("COMMLAB_STREAM_EVENTS", "always" if stream else "never")
    with pytest.raises(DataValidationError) as err:
        load_dataset(d, cache=tmp_path / "cache" if stream else "", stream=stream)
    (p,) = err.value.problems
    assert (p.column, p.check, p.count, p.rows) == ("amount", "infinite amount", 2, [4, 5])
    assert "plain numbers" in p.fix
