"""The member features of the keyed store summed per key in NumPy (:mod:`commlab.engines.keyed_sums`).

Oracle: the same features summed in SQL on the ids by :func:`commlab.analysis.features_sql.features_sql`
(the definition every engine's path is tested against). Fixtures: seeded data
sets with Chinese ids, the same ids in several communities, staff, self-targets, members without events
or without a key, instants before, inside and after the events, and the keys summed in one range or
one community at a time.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from commlab.analysis import features_sql as fsql
from commlab.data import load_dataset
from commlab.data.stored import MEMBER_KEY, TARGET_KEY, StoredEvents
from commlab.engines import keyed_sums
from commlab.engines.duck import DuckDBEngine
from commlab.errors import InvalidArgument
from test_member_keys import AS_OFS, _data

INSTANTS = ["2023-06-01", *AS_OFS, "2024-05-17T08:30:00.000001Z"]


def _new(events: StoredEvents, members: pd.DataFrame, as_of: str) -> pd.DataFrame:
    return DuckDBEngine()._member_features(events, members, pd.Timestamp(as_of, tz="UTC"),
                                           tuple(fsql.STAFF_ROLES), None, 1)


def _former(events: StoredEvents, members: pd.DataFrame, as_of: str) -> pd.DataFrame:
    """The features summed in SQL on the ids (features_sql)."""
    eng = DuckDBEngine()
    con = eng.connect()
    try:
        v = eng.register_tables(con, members=members)
        sql = fsql.features_sql(events.sql(), v["members"])
        out = con.sql(sql, params={"as_of": pd.Timestamp(as_of, tz="UTC").to_pydatetime()}).to_arrow_table()
    finally:
        con.close()
    return fsql.tidy_features(out.to_pandas())


@pytest.fixture(scope="module", params=[11, 12])
def keyed(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"keyed{request.param}")
    d, ev = _data(tmp / "d", request.param, n_events=9000)
    # events on the bounds: at a member's joining, 7 days after it (out of the first week) and 30 days before
    # each instant (out of the last 30 days)
    # c3's first event is a member joining (not activity, yet the community's first event), before a member
    # who joined at its creation is observed
    members = pd.read_parquet(d / "members.parquet")
    first = members.index[members["community_id"] == "c3"][0]
    members.loc[first, "joined_at"] = pd.Timestamp("2024-01-01", tz="UTC")
    members.to_parquet(d / "members.parquet", index=False)
    row = ev.index[ev["community_id"] == "c3"][-1]
    ev.loc[row, ["ts", "event_type", "member_id", "target_member_id"]] = [
        pd.Timestamp("2024-01-01 00:00:01", tz="UTC"), "join", members.loc[first, "member_id"], None]
    joined = members.set_index(["community_id", "member_id"])["joined_at"]
    at = joined.reindex(pd.MultiIndex.from_frame(ev[["community_id", "member_id"]])).to_numpy()
    ev.loc[ev.index[0:40:2], "ts"] = at[0:40:2]
    ev.loc[ev.index[1:40:2], "ts"] = at[1:40:2] + pd.Timedelta(days=7)
    for i, instant in enumerate(INSTANTS[1:]):  # (the first is before the communities)
        ev.loc[ev.index[40 + 5 * i:45 + 5 * i], "ts"] = pd.Timestamp(instant, tz="UTC") - pd.Timedelta(days=30)
    ev.to_parquet(d / "events.parquet", index=False)
    ds = load_dataset(d, cache=tmp / "cache", stream=True)
    stored = ds.events_source
    assert stored.keys is not None
    return stored, ds.members


def _member_tables(members: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The members table, one missing some members, and one with members no event names (no key)."""
    fewer = members.drop(index=members.index[::5]).reset_index(drop=True)
    extra = members.iloc[:3].assign(member_id=["新人甲", "新人乙", "zz-new"], role="staff")
    return {"all": members, "fewer": fewer, "without_key": pd.concat([members, extra], ignore_index=True)}


# the distinct days counted in a table of flags, or (with no cells allowed) by sorting (key, day) codes
@pytest.mark.parametrize(("per_range", "day_cells"), [(1, 0), (1_000_000, keyed_sums.DAY_TABLE_CELLS), (None, None)],
                         ids=["a-range-per-community-days-sorted", "one-range", "default"])
def test_the_numpy_sums_give_the_features_of_the_sql_sums(keyed, monkeypatch, per_range, day_cells):
    if day_cells is not None:
        monkeypatch.setattr(keyed_sums, "DAY_TABLE_CELLS", day_cells)
    ranges = []
    real = keyed_sums.key_ranges

    def spy(con, keys, members_per_range=None):
        ranges.append(real(con, keys, members_per_range if per_range is None else per_range))
        return ranges[-1]

    monkeypatch.setattr(keyed_sums, "key_ranges", spy)
    stored, members_table = keyed
    tables = _member_tables(members_table)
    # every members table at every instant with the default ranges; the other ranges on the whole table, twice
    for name, members in tables.items() if per_range is None else [("all", tables["all"])]:
        for as_of in INSTANTS if per_range is None else [INSTANTS[0], AS_OFS[-1]]:
            got = _new(stored, members, as_of)
            pd.testing.assert_frame_equal(got, _former(stored, members, as_of), obj=f"{name} at {as_of}")
            if as_of == AS_OFS[-1]:  # the fixtures exercise every sum
                assert (got["partners_out"] > 0).any() and (got["reciprocity"] > 0).any()
                assert (got["staff_interaction_share"] > 0).any() and (got["first_week_events"] > 0).any()
                assert (got["active_weeks"] < got["active_days"]).any() and (got["purchase_total"] > 0).any()
                assert (got["last30_share"] > 0).any() and (got["n_reaction"] > 0).any()
    assert {len(r) for r in ranges} == ({1} if per_range == 1_000_000 else {3})  # (by default a quarter each)
    # and the ids' query, on the events in memory
    plain = DuckDBEngine()._member_features(stored.read(), members_table, pd.Timestamp(AS_OFS[-1], tz="UTC"),
                                            tuple(fsql.STAFF_ROLES), None, 1)
    pd.testing.assert_frame_equal(_new(stored, members_table, AS_OFS[-1]), plain)


def test_other_staff_roles_and_a_subset_of_communities(keyed):
    stored, members = keyed
    events = stored.restrict(["社群乙", "c3"])
    members = members[members["community_id"].isin(["社群乙", "c3"])].reset_index(drop=True)
    for roles in (("member",), ()):
        got = DuckDBEngine()._member_features(events, members, pd.Timestamp(AS_OFS[-1], tz="UTC"), roles, None, 1)
        eng = DuckDBEngine()
        con = eng.connect()
        v = eng.register_tables(con, members=members)
        sql = fsql.features_sql(events.sql(), v["members"], staff_roles=roles)
        want = fsql.tidy_features(con.sql(sql, params={"as_of": pd.Timestamp(AS_OFS[-1], tz="UTC").to_pydatetime()})
                                  .to_arrow_table().to_pandas())
        con.close()
        pd.testing.assert_frame_equal(got, want)
        assert set(got["community_id"]) == {"社群乙", "c3"}


def test_a_target_key_of_another_community_is_a_clear_error(keyed, tmp_path, monkeypatch):
    """Ranges of communities hold every partner of their members; keys that break this are refused."""
    stored, members = keyed
    table = pq.read_table(stored.path).to_pandas()
    keys = pd.read_parquet(stored.keys)
    first_c3 = int(keys.loc[keys["community_id"] == "c3", "member_key"].min())
    row = table.index[(table["community_id"] == "c1") & table[TARGET_KEY].notna()][0]
    table.loc[row, TARGET_KEY] = first_c3
    path = tmp_path / "events.parquet"
    table.to_parquet(path, index=False)
    (tmp_path / stored.keys.name).write_bytes(stored.keys.read_bytes())
    with pytest.raises(InvalidArgument, match="another community"):
        _new(StoredEvents(path), members, AS_OFS[-1])


@pytest.mark.parametrize("dropped", ["first", "last"])
def test_events_of_a_key_missing_from_the_keys_table_are_a_clear_error(keyed, tmp_path, dropped):
    """Every event up to the instant is read by one range of keys: a keys' table without the first or last key
    (not one the import writes) leaves that member's events outside every range, and is refused, not dropped."""
    stored, members = keyed
    keys = pd.read_parquet(stored.keys)
    gone = int(keys["member_key"].min() if dropped == "first" else keys["member_key"].max())
    (tmp_path / stored.path.name).write_bytes(stored.path.read_bytes())
    keys[keys["member_key"] != gone].to_parquet(tmp_path / stored.keys.name, index=False)
    n = int((pq.read_table(stored.path).to_pandas()[MEMBER_KEY] == gone).sum())
    assert n > 0
    with pytest.raises(InvalidArgument, match=f"{n} stored events have no member key among"):
        _new(StoredEvents(tmp_path / stored.path.name), members, AS_OFS[-1])
    # the ranges cover the keys between communities' without a gap
    con = duckdb.connect()
    ranges = keyed_sums.key_ranges(con, f"read_parquet('{stored.keys}')", 7)
    con.close()
    assert ranges[0][0] == 1 and all(b[0] == a[1] + 1 for a, b in zip(ranges, ranges[1:], strict=False))


def test_the_64_bit_codes_give_the_32_bit_codes_sums(keyed, monkeypatch):
    """Codes of (key, day) and (key, partner) are 32-bit where they fit; the 64-bit ones (large ranges, long
    spans) give the same sums."""
    stored, members = keyed
    monkeypatch.setattr(keyed_sums, "DAY_TABLE_CELLS", 0)  # the days sorted as codes too
    seen = []
    real = keyed_sums._pack

    def pack(high, low, bits, high_max, *, wide=False):
        out = real(high, low, bits, 2**40 if wide else high_max)
        seen.append(out.dtype)
        return out

    monkeypatch.setattr(keyed_sums, "_pack", pack)
    narrow = _new(stored, members, AS_OFS[-1])
    assert seen and set(seen) == {np.dtype(np.int32)}
    seen.clear()
    monkeypatch.setattr(keyed_sums, "_pack", lambda *a: pack(*a, wide=True))
    pd.testing.assert_frame_equal(_new(stored, members, AS_OFS[-1]), narrow)
    assert set(seen) == {np.dtype(np.int64)}
