"""The distribution sort of the import (:mod:`commlab.data.ordered_copy`) against the sorted SQL copy it replaced.

The oracle is the former copy, kept here: one DuckDB ``ORDER BY`` of the whole file by (community
rank, ``ts``, row in the file), the member keys joined on (community, member). The data are made to
break a sort: many ties of community and time with different rows, member ids repeated across
communities, Chinese and upper/lower-case community ids (ranked by their bytes), a text column of
hostile and Chinese strings, an optional coded column with gaps, amounts stored as integers, times
in milliseconds in another zone, unknown targets, and a file of several row groups whose dictionaries
differ. Buckets and row groups are made small so that a few thousand rows cross many of both.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from commlab.data import checks_sql as cs
from commlab.data import ordered_copy as oc
from commlab.data import schema as S
from commlab.data.stored import MEMBER_KEY, TARGET_KEY

COMMUNITIES = ["b", "B", "群甲", "a", "社群乙", "c-1", "c_2"]
TYPES = ["message", "post", "reply", "mention", "reaction", "purchase", "checkin"]


def _events(path: Path, seed: int, n: int = 4000, row_group: int = 700) -> pa.Table:
    """Events to sort (see the module), written in row groups of ``row_group`` rows; the members table returned."""
    rng = np.random.default_rng(seed)
    members = pa.table({"c": [c for c in COMMUNITIES for _ in range(30)],
                        "m": [f"u{i:02d}" if i < 25 else f"成员{i}" for _ in COMMUNITIES for i in range(30)]})
    pick = rng.integers(0, members.num_rows, n)
    c = members.column("c").take(pa.array(pick))
    t0 = 1_704_067_200_000  # 2024-01-01 in ms
    ts = t0 + rng.integers(0, 40, n) * 3_600_000 * 7  # few distinct times: many ties in a community
    target = members.column("m").take(pa.array(rng.integers(0, 30, n)))
    unknown = rng.random(n) < 0.03
    target = pc.if_else(pa.array(unknown), pa.scalar("不在群里"), target)
    target = pc.if_else(pa.array(rng.random(n) < 0.5), pa.nulls(n, pa.string()), target)
    text = [f"<script>alert({i})</script>第{i}条" if i % 3 else None for i in range(n)]
    platform = pa.array([["wechat", "qq", None][i % 3] for i in rng.integers(0, 3, n)])
    table = pa.table({
        "community_id": c, "member_id": members.column("m").take(pa.array(pick)),
        "ts": pa.array(ts, pa.timestamp("ms", tz="Asia/Shanghai")),
        "event_type": pa.array(rng.choice(TYPES, n)), "target_member_id": target,
        "amount": pa.array(rng.integers(0, 500, n)), "text": pa.array(text, pa.large_string()),
        "platform": platform,
    })
    pq.write_table(table, path, row_group_size=row_group)
    return members


def _output_column(name: str, present: bool) -> str:
    """A column in the type the chunked path writes it (times in ns UTC, amounts double, text)."""
    col = S.EVENTS.column(name)
    t = "TIMESTAMPTZ_NS" if col.dtype == "timestamp" else "DOUBLE" if col.dtype == "float" else "VARCHAR"
    return f"CAST({'e.' + name if present else 'NULL'} AS {t}) AS {name}"


def _oracle(src: Path, out: Path, members: pa.Table) -> None:
    """The former sorted SQL copy (checks_sql before the distribution sort)."""
    schema = pq.read_schema(src)
    cols = ", ".join(_output_column(n, n in schema.names) for n in cs._output_names(schema))
    con = duckdb.connect()
    con.register("comm", pa.table({"c": COMMUNITIES}))
    con.execute("CREATE TEMP TABLE rank AS SELECT c, row_number() OVER (ORDER BY c) AS k "
                "FROM (SELECT DISTINCT c FROM comm)")
    cs.write_member_keys(con, members, out.with_name("oracle_keys.parquet"))
    con.execute(f"COPY (SELECT {cols}, km.k AS {MEMBER_KEY}, kt.k AS {TARGET_KEY} "
                f"FROM read_parquet('{src}', file_row_number = true) e JOIN rank r ON r.c = e.community_id "
                "LEFT JOIN member_keys km ON km.c = e.community_id AND km.m = e.member_id "
                "LEFT JOIN member_keys kt ON kt.c = e.community_id AND kt.m = e.target_member_id "
                f"ORDER BY r.k, e.ts, e.file_row_number) TO '{out}' (FORMAT parquet)")
    con.close()


def _copy(src: Path, out: Path, members: pa.Table, *, keyed: bool = True, **kw) -> None:
    con = duckdb.connect()
    con.register("key_frame", members)
    keys = con.sql("SELECT DISTINCT c, m FROM key_frame ORDER BY c, m").to_arrow_table() if keyed else None
    communities = pc.unique(pa.array(COMMUNITIES)).sort()
    oc.ordered_copy(src, out, names=cs._output_names(pq.read_schema(src)), communities=communities, keys=keys,
                    spill=out.parent / "spill", con=con, **kw)
    con.close()


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("bucket_rows", [7, 300, 1_000_000])
def test_the_copy_equals_the_sorted_sql_copy(tmp_path, monkeypatch, seed, bucket_rows):
    monkeypatch.setattr(oc, "ROW_GROUP_ROWS", 500)
    monkeypatch.setattr(oc, "READ_ROWS", 900)  # batches that straddle row groups of other dictionaries
    src = tmp_path / "events.parquet"
    members = _events(src, seed)
    _oracle(src, tmp_path / "oracle.parquet", members)
    _copy(src, tmp_path / "out.parquet", members, bucket_rows=bucket_rows)
    want, got = pq.read_table(tmp_path / "oracle.parquet"), pq.read_table(tmp_path / "out.parquet")
    # the same types; DuckDB also marks a column required when it holds no null (amounts here)
    assert [(f.name, f.type) for f in got.schema] == [(f.name, f.type) for f in want.schema]
    assert got.cast(want.schema).equals(want)
    assert got.column(TARGET_KEY).null_count > got.column("target_member_id").null_count  # unknown targets
    sizes = [g.num_rows for g in (pq.ParquetFile(tmp_path / "out.parquet").metadata.row_group(i)
                                  for i in range(pq.ParquetFile(tmp_path / "out.parquet").metadata.num_row_groups))]
    assert sizes[:-1] == [500] * (len(sizes) - 1) and 0 < sizes[-1] <= 500
    assert not list((tmp_path / "spill").iterdir())  # each bucket's file removed once read


def test_without_keys_the_copy_has_no_key_columns(tmp_path):
    src = tmp_path / "events.parquet"
    members = _events(src, 3, n=500)
    _copy(src, tmp_path / "out.parquet", members, keyed=False, bucket_rows=50)
    got = pq.read_table(tmp_path / "out.parquet")
    assert MEMBER_KEY not in got.column_names and TARGET_KEY not in got.column_names
    _oracle(src, tmp_path / "oracle.parquet", members)
    want = pq.read_table(tmp_path / "oracle.parquet").drop_columns([MEMBER_KEY, TARGET_KEY])
    assert got.cast(want.schema).equals(want)


def test_buckets_hold_about_the_asked_rows(tmp_path):
    src = tmp_path / "events.parquet"
    _events(src, 4, n=6000)
    con = duckdb.connect()
    cuts, dmin, days = oc._plan(con, src, pc.unique(pa.array(COMMUNITIES)).sort(), 500)
    day = (pq.read_table(src).column("ts").cast(pa.int64()).to_numpy() * 10**6) // oc._DAY_NS - dmin
    rank = pc.index_in(pq.read_table(src).column("community_id"), value_set=pc.unique(pa.array(COMMUNITIES)).sort())
    cell = rank.to_numpy() * days + day
    rows = np.bincount(np.searchsorted(cuts, cell, side="right") - 1)
    biggest_cell = np.bincount(np.unique(cell, return_inverse=True)[1]).max()
    assert 10 <= len(cuts) <= 13  # about 6000 / 500
    assert rows.max() < 500 + biggest_cell


def test_an_empty_file_gives_an_empty_copy_of_the_columns(tmp_path):
    src = tmp_path / "events.parquet"
    members = _events(src, 5, n=10)
    pq.write_table(pq.read_table(src).slice(0, 0), src)
    _copy(src, tmp_path / "out.parquet", members)
    _oracle(src, tmp_path / "oracle.parquet", members)
    got = pq.read_table(tmp_path / "out.parquet")
    want = pq.read_table(tmp_path / "oracle.parquet")
    assert got.num_rows == 0 and [f.type for f in got.schema] == [f.type for f in want.schema]


def test_times_spanning_centuries_are_sorted_on_two_keys(tmp_path):
    """A bucket whose (community, time) pairs do not fit one 64-bit key falls back to a sort on both."""
    src = tmp_path / "events.parquet"
    members = _events(src, 6, n=800)
    t = pq.read_table(src)
    far = pa.array(np.where(np.arange(t.num_rows) % 2, -5_000_000_000_000, 6_000_000_000_000), pa.int64())
    t = t.set_column(2, "ts", pc.add(t.column("ts").cast(pa.int64()), far).cast(pa.timestamp("ms", tz="UTC")))
    pq.write_table(t, src)
    _oracle(src, tmp_path / "oracle.parquet", members)
    _copy(src, tmp_path / "out.parquet", members)
    want = pq.read_table(tmp_path / "oracle.parquet")
    assert pq.read_table(tmp_path / "out.parquet").cast(want.schema).equals(want)
