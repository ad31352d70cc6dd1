"""Integer member keys assigned by the import and stored with the events; the features grouped on them.

The streamed import of a Parquet file to sort (:func:`commlab.data.checks_sql.check_events_sql`) looks
every event's member and target up once, as it assigns their keys (the rank of (community, member)
among the members table's), instead of in the checks: an event without a key is the unknown member
or target the checks report, with the same report. :func:`commlab.analysis.features_sql.features_sql`
then groups and joins the stored events on the keys, with the values of the query on the ids.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import commlab.data.ordered_copy as ordered_copy
from commlab.analysis import features_sql as fsql
from commlab.data import checks_sql, load_dataset, streamed
from commlab.data.checks_sql import eligible
from commlab.data.stored import KEYS_FILE, MEMBER_KEY, TARGET_KEY, StoredEvents
from commlab.engines import duck
from commlab.engines.duck import DuckDBEngine
from commlab.errors import DataValidationError

COMMUNITIES = ("c1", "社群乙", "c3")
TYPES = ("message", "post", "reply", "mention", "reaction", "purchase", "checkin", "join", "leave")


def _data(folder: Path, seed: int, *, n_events: int = 6000, ordered: bool = False) -> tuple[Path, pd.DataFrame]:
    """A seeded data set: member ids repeated across communities, Chinese ids, staff, self-targets.

    The events are in random order (the import sorts them and assigns keys) unless ``ordered``.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    created = pd.Timestamp("2024-01-01", tz="UTC")
    comm = pd.DataFrame({"community_id": list(COMMUNITIES), "name": ["一", "二", "三"], "theme": "interest",
                         "business_model": "product_sales", "lifecycle": "mature", "platform": "wechat",
                         "monetization": "product", "created_at": [created] * 3})
    rows = []
    for c in COMMUNITIES:
        ids = [f"u{i:03d}" for i in rng.choice(80, 40, replace=False)] + ["张三", "李四", "王五"]
        for m in ids:
            rows.append((c, m, created + pd.Timedelta(seconds=int(rng.integers(0, 150 * 86400))),
                         rng.choice(["member", "member", "member", "staff", "owner", "bot"])))
    mem = pd.DataFrame(rows, columns=["community_id", "member_id", "joined_at", "role"])
    mem["left_at"] = [j + pd.Timedelta(days=30) if rng.random() < 0.1 else pd.NaT for j in mem["joined_at"]]
    pick = rng.integers(0, len(mem), n_events)
    ev = pd.DataFrame({"community_id": mem["community_id"].to_numpy()[pick],
                       "member_id": mem["member_id"].to_numpy()[pick],
                       "ts": created + pd.to_timedelta(rng.integers(0, 182 * 86400, n_events), unit="s"),
                       "event_type": rng.choice(TYPES, n_events)})
    inter = ev["event_type"].isin(["reply", "mention", "reaction"]).to_numpy()
    same = {c: g["member_id"].to_numpy() for c, g in mem.groupby("community_id")}
    target = [rng.choice(same[c]) if i else None for c, i in zip(ev["community_id"], inter, strict=True)]
    self_t = rng.random(n_events) < 0.05
    ev["target_member_id"] = [m if s and t is not None else t
                              for m, s, t in zip(ev["member_id"], self_t, target, strict=True)]
    ev["amount"] = np.where(ev["event_type"] == "purchase", rng.integers(1, 500, n_events) / 4, np.nan)
    if ordered:
        rank = {c: i for i, c in enumerate(sorted(COMMUNITIES))}
        ev = ev.assign(_r=ev["community_id"].map(rank)).sort_values(["_r", "ts"], kind="stable").drop(columns="_r")
    ev = ev.reset_index(drop=True).astype({c: "string" for c in ("community_id", "member_id", "event_type",
                                                                 "target_member_id")})
    comm.to_parquet(folder / "communities.parquet", index=False)
    mem.astype({"community_id": "string", "member_id": "string", "role": "string"}).to_parquet(
        folder / "members.parquet", index=False)
    ev.to_parquet(folder / "events.parquet", index=False)
    assert eligible(folder / "events.parquet")
    return folder, ev


def _no_chunks(monkeypatch) -> None:
    def no_chunks(*args, **kwargs):
        raise AssertionError("the events were read in pandas chunks")

    monkeypatch.setattr(streamed, "iter_raw_chunks", no_chunks)


def _oracle_keys(members: pd.DataFrame) -> dict[tuple[str, str], int]:
    pairs = sorted({(str(c), str(m)) for c, m in zip(members["community_id"], members["member_id"], strict=True)})
    return {p: i + 1 for i, p in enumerate(pairs)}


@pytest.mark.parametrize("seed", [1, 2])
def test_the_keys_stored_with_the_events_are_the_rank_of_each_member(tmp_path, monkeypatch, seed):
    d, _ = _data(tmp_path / "d", seed)
    whole = load_dataset(d, cache="", stream=False)
    _no_chunks(monkeypatch)
    ds = load_dataset(d, cache=tmp_path / "cache", stream=True)
    ev = ds.events_source
    assert isinstance(ev, StoredEvents) and ev.keys == ev.path.with_name(KEYS_FILE)
    keys = _oracle_keys(pd.read_parquet(d / "members.parquet"))
    stored = pq.read_table(ev.path).to_pandas()
    want_m = [keys[(c, m)] for c, m in zip(stored["community_id"], stored["member_id"], strict=True)]
    want_t = [None if pd.isna(t) else keys[(c, t)]
              for c, t in zip(stored["community_id"], stored["target_member_id"], strict=True)]
    assert stored[MEMBER_KEY].tolist() == want_m
    assert [None if pd.isna(k) else int(k) for k in stored[TARGET_KEY]] == want_t
    assert stored[TARGET_KEY].notna().sum() == stored["target_member_id"].notna().sum() > 0
    table = pd.read_parquet(ev.keys)
    assert list(zip(table["community_id"], table["member_id"], table[MEMBER_KEY], strict=True)) == \
        [(c, m, k) for (c, m), k in keys.items()]
    # the keys stay out of the events as a DataFrame: the same rows, order and columns as a whole load
    pd.testing.assert_frame_equal(ds.events, whole.events)
    # read back from the cache, the entry still has its keys
    again = load_dataset(d, cache=tmp_path / "cache", stream=True)
    assert again.events_source.keys == ev.keys


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_events_already_in_order_are_keyed_and_keep_their_order(tmp_path, monkeypatch, fmt):
    """A file in (community, time) order gets its keys too (checked in SQL as Parquet, in chunks as CSV), so the
    keyed paths serve it; the stored rows are the file's, in its order."""
    d, ev = _data(tmp_path / "d", 3, ordered=True)
    if fmt == "csv":
        (d / "events.parquet").unlink()
        ev.to_csv(d / "events.csv", index=False)
    else:
        _no_chunks(monkeypatch)
    whole = load_dataset(d, cache="", stream=False)
    ds = load_dataset(d, cache=tmp_path / "cache", stream=True, chunk_rows=700)
    assert ds.events_source.keys is not None
    stored = pq.read_table(ds.events_source.path).to_pandas()
    keys = _oracle_keys(pd.read_parquet(d / "members.parquet"))
    assert stored[MEMBER_KEY].tolist() == [keys[(c, m)] for c, m in
                                           zip(stored["community_id"], stored["member_id"], strict=True)]
    pd.testing.assert_frame_equal(ds.events, whole.events)
    assert stored["member_id"].tolist() == ev["member_id"].tolist()  # the file's rows, in its order
    # the features of the keyed store equal those of the ids' query on the same events
    now = pd.Timestamp(AS_OFS[-1], tz="UTC")
    got = DuckDBEngine()._member_features(ds.events_source, ds.members, now, tuple(fsql.STAFF_ROLES), None, 1)
    plain = DuckDBEngine()._member_features(ds.events, ds.members, now, tuple(fsql.STAFF_ROLES), None, 1)
    pd.testing.assert_frame_equal(got, plain)


@pytest.mark.parametrize("column,value,ordered", [("member_id", "幽灵", False), ("target_member_id", "鬼", False),
                                                  ("target_member_id", "elsewhere", False),
                                                  ("member_id", "幽灵", True), ("target_member_id", "鬼", True)])
def test_an_event_without_a_key_gets_the_problem_report_of_the_checks(tmp_path, caplog, column, value, ordered):
    """In a shuffled file and in one already in order (keyed by the same copy, which keeps its order)."""
    d, ev = _data(tmp_path / "d", 4, ordered=ordered)
    inter = ev.index[ev["target_member_id"].notna()]
    rows = [inter[3], inter[40]]
    if value == "elsewhere":  # a member of another community only: no key in this one
        members = pd.read_parquet(d / "members.parquet")
        ids = {c: set(g["member_id"]) for c, g in members.groupby("community_id")}
        value = sorted(ids["c1"] - ids["c3"])[0]
        ev.loc[rows, ["community_id", "member_id"]] = ["c3", "李四"]
    ev.loc[rows, column] = value
    ev.to_parquet(d / "events.parquet", index=False)
    reports = {}
    for stream in (False, True):
        with caplog.at_level(logging.INFO, logger="commlab.data.streamed"), \
                caplog.at_level(logging.INFO, logger="commlab.data.checks_sql"), \
                pytest.raises(DataValidationError) as err:
            load_dataset(d, cache=tmp_path / f"cache{stream}", stream=stream)
        reports[stream] = [(p.file, p.column, p.check, p.rows, p.values, p.count, p.fix) for p in err.value.problems]
    assert reports[True] == reports[False]
    kind = "unknown_member" if column == "member_id" else "unknown_target"
    assert f"{{'{kind}': 2}}" in caplog.text  # found by the keyed copy, not by the checks before it
    assert "members looked up as keyed" in caplog.text
    assert [(c, n) for _, c, _, _, _, n, _ in reports[True]] == [(column, 2)]
    assert not any((tmp_path / "cacheTrue").glob("*/events.parquet"))  # nothing stored


def test_a_padded_id_has_no_key_and_goes_to_the_chunks_which_strip_and_key_it(tmp_path):
    d, ev = _data(tmp_path / "d", 4)
    ev.loc[ev.index[[5, 50]], "member_id"] = ev.loc[ev.index[[5, 50]], "member_id"] + "\u3000"
    ev.to_parquet(d / "events.parquet", index=False)
    ds = load_dataset(d, cache=tmp_path / "cache", stream=True)
    path = ds.events_source.path
    pd.testing.assert_frame_equal(ds.events, load_dataset(d, cache="", stream=False).events)
    # the chunked path's copy keys the stripped ids
    keys = _oracle_keys(pd.read_parquet(d / "members.parquet"))
    stored = pq.read_table(path).to_pandas()
    assert stored[MEMBER_KEY].tolist() == [keys[(c, m)] for c, m in zip(stored["community_id"], stored["member_id"],
                                                                         strict=True)]


AS_OFS = ["2024-03-01", "2024-05-17T08:30:00Z", "2024-07-01"]


def _features(events, members, as_of: str) -> pd.DataFrame:
    return DuckDBEngine()._member_features(events, members, pd.Timestamp(as_of, tz="UTC"),
                                           tuple(fsql.STAFF_ROLES), None, 1)


@pytest.mark.parametrize("seed", [5, 6])
def test_features_from_the_keyed_store_equal_those_from_the_ids(tmp_path, monkeypatch, seed):
    d, _ = _data(tmp_path / "d", seed, n_events=8000)
    ds = load_dataset(d, cache=tmp_path / "cache", stream=True)
    stored, frame = ds.events_source, ds.events
    assert stored.keys is not None
    seen = []
    real, real_keyed = duck.features_sql, duck.keyed_features_query

    def spy(*args, **kwargs):
        seen.append(None)
        return real(*args, **kwargs)

    def spy_keyed(*args, **kwargs):
        seen.append(args[3])  # the keys
        return real_keyed(*args, **kwargs)

    monkeypatch.setattr(duck, "features_sql", spy)
    monkeypatch.setattr(duck, "keyed_features_query", spy_keyed)
    members = ds.members
    # a members table missing some members (their events become those of unknown members and targets)
    fewer = members.drop(index=members.index[::7]).reset_index(drop=True)
    for as_of in AS_OFS:
        for mem in (members, fewer):
            keyed = _features(stored, mem, as_of)
            assert seen[-1] is not None, "the keyed query was not used"
            plain = _features(frame, mem, as_of)
            assert seen[-1] is None
            pd.testing.assert_frame_equal(keyed, plain)
            assert keyed["partners_out"].sum() > 0 and keyed["reciprocity"].notna().any()
    # restricted to some communities, and in batches
    two = ds.subset(["社群乙", "c3"])
    pd.testing.assert_frame_equal(_features(two.events_source, two.members, AS_OFS[-1]),
                                  _features(two.events, two.members, AS_OFS[-1]))
    batched = DuckDBEngine()._member_features(stored, members, pd.Timestamp(AS_OFS[-1]), tuple(fsql.STAFF_ROLES),
                                              None, 2)
    pd.testing.assert_frame_equal(batched, _features(frame, members, AS_OFS[-1]))


def test_the_features_read_the_stored_keys(tmp_path):
    """Keys moved between two members change the keyed features: the query groups on them, not on the ids."""
    d, _ = _data(tmp_path / "d", 7)
    ds = load_dataset(d, cache=tmp_path / "cache", stream=True)
    path = ds.events_source.path
    table = pq.read_table(path).to_pandas()
    keyed_before = _features(ds.events_source, ds.members, AS_OFS[-1])
    same = table[table["community_id"] == table["community_id"].iloc[0]]  # (a member's partners are of its community)
    a, b = same[MEMBER_KEY].iloc[0], same[MEMBER_KEY].iloc[-1]
    assert a != b
    table[TARGET_KEY] = table[TARGET_KEY].replace({a: b})
    table.to_parquet(path, index=False)
    keyed_after = _features(StoredEvents(path, cache=tmp_path / "cache"), ds.members, AS_OFS[-1])
    assert not keyed_after.equals(keyed_before)
    pd.testing.assert_frame_equal(keyed_before, _features(ds.events, ds.members, AS_OFS[-1]))


def test_a_load_dealt_into_many_small_buckets_equals_a_whole_load(tmp_path, monkeypatch):
    """The import's distribution sort (commlab.data.ordered_copy) with buckets, batches and row groups of a few rows."""
    from commlab.data import ordered_copy

    monkeypatch.setattr(ordered_copy, "BUCKET_ROWS", 97)
    monkeypatch.setattr(ordered_copy, "READ_ROWS", 333)
    monkeypatch.setattr(ordered_copy, "ROW_GROUP_ROWS", 250)
    d, _ = _data(tmp_path / "d", 4)
    whole = load_dataset(d, cache="", stream=False)
    _no_chunks(monkeypatch)
    ds = load_dataset(d, cache=tmp_path / "cache", stream=True)
    path = ds.events_source.path
    pd.testing.assert_frame_equal(ds.events, whole.events)
    stored = pq.read_table(path).to_pandas()
    keys = _oracle_keys(pd.read_parquet(d / "members.parquet"))
    assert stored[MEMBER_KEY].tolist() == [keys[(c, m)] for c, m in
                                           zip(stored["community_id"], stored["member_id"], strict=True)]
    groups = pq.ParquetFile(path).metadata
    assert groups.num_row_groups == -(-len(stored) // 250)


def test_a_failure_while_the_ordered_copy_is_written_leaves_nothing(tmp_path, monkeypatch):
    """No room left in the middle of the copy: a clear error, no cache entry, no spill files, no thread left."""
    import threading

    from commlab.data import ordered_copy
    from commlab.errors import CommlabError

    monkeypatch.setattr(ordered_copy, "BUCKET_ROWS", 500)
    monkeypatch.setattr(ordered_copy, "ROW_GROUP_ROWS", 400)
    d, _ = _data(tmp_path / "d", 5)
    calls = []
    real = ordered_copy._sorted_bucket

    def full(*args, **kwargs):  # the third bucket finds no room, while the second is being written
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(ordered_copy, "_sorted_bucket", full)
    threads = threading.active_count()
    with pytest.raises(CommlabError, match=r"could not write the validated events .*No space left on device"):
        load_dataset(d, cache=tmp_path / "cache", stream=True)
    assert len(calls) == 3  # it failed in the middle of the copy
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []
    assert threading.active_count() == threads


@pytest.mark.parametrize("seed", [5, 6])
def test_a_csv_file_is_sorted_and_keyed_as_the_parquet_file(tmp_path, monkeypatch, seed):
    """The events as CSV (read in pandas chunks, not checked in SQL) are ordered by the same distribution sort and
    get the same member keys as the Parquet file of the same events: the stored tables are equal, keys included,
    and the loaded events equal a whole load's. Chunks of 700 rows, buckets of 500."""
    d, ev = _data(tmp_path / "d", seed)
    csv = tmp_path / "csv"
    shutil.copytree(d, csv)
    (csv / "events.parquet").unlink()
    ev.to_csv(csv / "events.csv", index=False)
    monkeypatch.setattr(ordered_copy, "BUCKET_ROWS", 500)
    sorts = []
    real = ordered_copy.ordered_copy
    monkeypatch.setattr(streamed, "ordered_copy", lambda *a, **k: sorts.append(k["keys"] is not None) or real(*a, **k))
    parquet = load_dataset(d, cache=tmp_path / "c1", stream=True)
    from_csv = load_dataset(csv, cache=tmp_path / "c2", stream=True, chunk_rows=700)
    assert sorts == [True]  # the CSV's chunks: one keyed copy (the Parquet file went through the SQL checks)
    assert from_csv.events_source.keys is not None
    want, got = (pq.read_table(x.events_source.path).to_pandas() for x in (parquet, from_csv))
    assert pq.read_schema(from_csv.events_source.path) == pq.read_schema(parquet.events_source.path)
    pd.testing.assert_frame_equal(got, want)
    pd.testing.assert_frame_equal(pd.read_parquet(from_csv.events_source.keys),
                                  pd.read_parquet(parquet.events_source.keys))
    pd.testing.assert_frame_equal(from_csv.events, load_dataset(csv, cache="", stream=False).events)


def test_a_member_without_a_key_after_the_chunks_leaves_the_copy_without_keys(tmp_path, monkeypatch):
    """If a member the chunks' checks found got no key (keys written for fewer members than the table holds), the
    copy is written again without keys: the store is complete and in order, only unkeyed."""
    d, ev = _data(tmp_path / "d", 7)
    (d / "events.parquet").unlink()
    ev.to_csv(d / "events.csv", index=False)
    real = checks_sql.write_member_keys
    monkeypatch.setattr(streamed, "write_member_keys", lambda con, members, out: real(con, members.slice(3), out))
    ds = load_dataset(d, cache=tmp_path / "cache", stream=True, chunk_rows=1000)
    assert ds.events_source.keys is None and isinstance(ds.events_source, StoredEvents)
    assert MEMBER_KEY not in pq.read_schema(ds.events_source.path).names
    pd.testing.assert_frame_equal(ds.events, load_dataset(d, cache="", stream=False).events)
