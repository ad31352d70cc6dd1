"""Each member's sums of events from the keyed store, in NumPy: the fast path of the member features.

When the import stored an integer key with every event's member and target
(:attr:`commlab.data.stored.StoredEvents.keys`), the keys are dense (1 to the number of members), so
the sums per member are array positions, not hash-table entries: one ``bincount`` per count, a table of
flags per (member, day), and one sort of 32- or 64-bit codes for the distinct (member, partner) pairs and the
partners who replied back. DuckDB reads the events (five columns, filtered as
:func:`commlab.analysis.features_sql.features_sql` filters them) and applies the feature arithmetic to the sums
(:func:`~commlab.analysis.features_sql.keyed_features_sql`); NumPy only counts. The benchmark's
``features_stored`` step took 1.03-1.12 s at 5 M events and 8.4 s at 50 M (peak 0.6 and 1.8 GB), against
1.14-1.36 s and 9.5-11.0 s with the (member, day) and pair codes sorted and the amounts read a second time
(alternating in the same hour, ``benchmarks/ab.py``), and 1.63 s and 18.7 s CPU (0.7 and 3.3 GB) summing in SQL:
it grows with the data (no hash table outgrows the caches as the member count grows).

Every sum is defined as in :func:`~commlab.analysis.features_sql.features_sql` (on the ids), and the
features are equal (tested against that query).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from commlab.analysis.daymask import US_PER_DAY
from commlab.analysis.features_sql import (
    ACTIVITY_EXCLUDED,
    STAFF_ROLES,
    TYPE_COUNTS,
    keyed_features_sql,
    keyed_members_sql,
    timestamptz_literal,
)
from commlab.data import schema as S
from commlab.errors import InvalidArgument
from commlab.instant import as_utc

__all__ = ["EVENT_CODES", "NOT_ACTIVITY", "key_ranges", "key_sums", "keyed_features_query", "map_key_ranges"]

#: The event types told apart by the sums: a code each from 1 (0: any other activity).
#: The interaction types come first, so that an interaction is a code from 1 to their number.
EVENT_CODES: tuple[str, ...] = tuple(dict.fromkeys([*S.INTERACTION_EVENTS, *TYPE_COUNTS.values(), *S.CONTENT_EVENTS]))
#: The type code of the events that are not activity (:data:`ACTIVITY_EXCLUDED`).
NOT_ACTIVITY = 255


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _events_sql(events: str, first: int, last: int, *, amounts: bool = True) -> str:
    """SQL: the events up to ``$as_of`` of the member keys ``first`` to ``last`` as five numbers: member key,
    target key (0: none, or the member itself), microseconds since 1970, the type's code in :data:`EVENT_CODES`
    (:data:`NOT_ACTIVITY` for joining and leaving) and, with ``amounts``, the amount."""
    codes = " ".join(f"WHEN {_quote(t)} THEN {i + 1}" for i, t in enumerate(EVENT_CODES))
    codes += " ".join(f" WHEN {_quote(t)} THEN {NOT_ACTIVITY}" for t in ACTIVITY_EXCLUDED)
    amt = ",\n       CAST(amount AS DOUBLE) AS amt" if amounts else ""
    return f"""
SELECT CAST(member_key AS INTEGER) AS mk,
       CAST(coalesce(NULLIF(CAST(target_key AS BIGINT), CAST(member_key AS BIGINT)), 0) AS INTEGER) AS tk,
       epoch_us(CAST(ts AS TIMESTAMPTZ)) AS us,
       CAST(CASE CAST(event_type AS VARCHAR) {codes} ELSE 0 END AS UTINYINT) AS et{amt}
FROM {events}
WHERE CAST(ts AS TIMESTAMPTZ) <= $as_of AND member_key BETWEEN {first} AND {last}"""


def _pack(high: np.ndarray, low: np.ndarray, bits: int, high_max: int) -> np.ndarray:
    """``high << bits | low`` (``low`` below ``2**bits``): 32-bit codes where they fit (faster to sort), else 64."""
    dtype = np.int32 if (high_max + 1) << bits <= 2**31 else np.int64
    return (high.astype(dtype) << dtype(bits)) | low.astype(dtype)


def _distinct(codes: np.ndarray) -> np.ndarray:
    """The distinct values of ``codes``, sorted."""
    s = np.sort(codes)
    keep = np.empty(len(s), dtype=bool)
    keep[:1] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


#: The most cells (keys x days, one byte each) of the table of active days: a range whose events span more
#: days counts its distinct days by sorting (key, day) codes instead. At the benchmark's density (25,000 keys,
#: 182 days: 4.6 M cells) the table took 27 ms of a range's 1.2 M events, the sort 52 ms.
DAY_TABLE_CELLS = 2**25


def _days_and_weeks(mk: np.ndarray, day3: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per key position (``mk``, below ``size``): its distinct days ``day3`` and distinct weeks ``day3 // 7``."""
    if not len(day3):
        return np.zeros(size, dtype=np.int64), np.zeros(size, dtype=np.int64)
    w0 = int(day3.min()) // 7
    width = 7 * (int(day3.max()) // 7 - w0 + 1)  # whole weeks, Monday to Sunday
    if size * width <= DAY_TABLE_CELLS:  # a flag per (key, day)
        seen = np.zeros((size, width), dtype=bool)
        seen[mk, day3 - 7 * w0] = True
        return (np.count_nonzero(seen, axis=1).astype(np.int64),
                np.count_nonzero(seen.reshape(size, width // 7, 7).any(axis=2), axis=1).astype(np.int64))
    day0 = int(day3.min())
    bits = max(1, (int(day3.max()) - day0).bit_length())
    days = _distinct(_pack(mk, day3 - day0, bits, size - 1))  # (key, day), sorted
    key = days >> bits
    # the weeks of the distinct days, in (key, day) order: distinct where they change
    week = np.floor_divide((days & ((1 << bits) - 1)).astype(np.int64) + day0, 7)
    change = np.empty(len(days), dtype=bool)
    change[:1] = True
    change[1:] = (key[1:] != key[:-1]) | (week[1:] != week[:-1])
    return (np.bincount(key, minlength=size).astype(np.int64),
            np.bincount(key[change], minlength=size).astype(np.int64))


def _partners(pm: np.ndarray, pt: np.ndarray, reply: np.ndarray, size: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per key position: its distinct out-partners, in-partners, and out-partners who replied back to it.

    ``pm``, ``pt``: each interaction's member and target positions (below ``size``); ``reply``: which are replies.
    One sort of codes (member, partner, flag): flag 0 for an interaction from member to partner, 1 for a reply
    from partner to member. A pair with both is reciprocated; the 0 comes first.
    """
    bits = max(1, (size - 1).bit_length()) + 1
    codes = _distinct(np.concatenate([_pack(pm, pt << 1, bits, size - 1),
                                      _pack(pt[reply], (pm[reply] << 1) | 1, bits, size - 1)]))
    forward = (codes & 1) == 0
    both = np.zeros(len(codes), dtype=bool)
    both[:-1] = forward[:-1] & (codes[1:] == codes[:-1] + 1)
    pairs = codes[forward]
    return (np.bincount(pairs >> bits, minlength=size).astype(np.int64),
            np.bincount((pairs & ((1 << bits) - 1)) >> 1, minlength=size).astype(np.int64),
            np.bincount(codes[both] >> bits, minlength=size).astype(np.int64))


def key_sums(mk: np.ndarray, tk: np.ndarray, us: np.ndarray, et: np.ndarray, *, first: int, joined: np.ndarray,
             week_end: np.ndarray, staff: np.ndarray, last30_after: int) -> pa.Table:
    """The sums of the keys ``first`` to ``first + len(joined) - 1``: rows of the relation ``sums`` of
    :func:`keyed_features_sql`.

    Parameters
    ----------
    mk, tk : ndarray of int32
        Each event's member key and target key (0: no target, or the member itself), every one in the
        range: all the events of these members, whose targets are among them.
    us : ndarray of int64
        Each event's instant, microseconds since 1970-01-01 UTC.
    et : ndarray of uint8
        Each event's type code: ``i + 1`` for :data:`EVENT_CODES` ``[i]``, :data:`NOT_ACTIVITY` for joining and
        leaving (counted only for ``first_ts``), 0 for any other type.
    first : int
        The first key of the range.
    joined, week_end : ndarray of int64
        Per key of the range (index 0: key ``first``): the member's ``joined_at`` and ``first_week_end`` in
        microseconds, the largest int64 for a key of no member who joined by the instant (no first-week event).
    staff : ndarray of bool
        Per key of the range: a staff member who joined by the instant.
    last30_after : int
        The microseconds after which an event is in the last 30 days.

    Returns
    -------
    pyarrow.Table
        One row per key of the range, in key order.
    """
    size = len(joined)
    mk = mk - np.int32(first)  # positions in the range
    earliest = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(earliest, mk, us)
    activity = et != NOT_ACTIVITY
    if not activity.all():
        mk, tk, us, et = mk[activity], tk[activity], us[activity], et[activity]

    def count(keys: np.ndarray) -> np.ndarray:
        return np.bincount(keys, minlength=size).astype(np.int64)

    n_types = len(EVENT_CODES) + 1
    by_type = np.bincount(mk.astype(np.int64) * n_types + et, minlength=size * n_types).reshape(size, n_types)
    col: dict[str, np.ndarray] = {"n_events": by_type.sum(axis=1)}
    code = {t: i + 1 for i, t in enumerate(EVENT_CODES)}
    for feature, kind in TYPE_COUNTS.items():
        col[feature] = by_type[:, code[kind]]
    col["ugc"] = sum(by_type[:, code[t]] for t in S.CONTENT_EVENTS)
    last = np.full(size, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, mk, us)
    col["n_last30"] = count(mk[us > last30_after])
    col["first_week_events"] = count(mk[(us >= joined[mk]) & (us < week_end[mk])])
    # distinct UTC days, as daymask.day_number counts them: floor of the microseconds / a day's in double
    # precision, then + 3 so that multiples of 7 are Mondays (ISO weeks)
    col["active_days"], col["active_weeks"] = _days_and_weeks(
        mk, np.floor(us / float(US_PER_DAY)).astype(np.int64) + 3, size)
    # interactions aimed at another member
    inter = np.flatnonzero((et - np.uint8(1) < np.uint8(len(S.INTERACTION_EVENTS))) & (tk > 0))  # codes 1 to n
    pm, pt, pe = mk[inter].astype(np.int64), tk[inter].astype(np.int64) - first, et[inter]
    reply = pe == code["reply"]
    col["inter_out"] = count(pm)
    col["replies_given"] = count(pm[reply])
    col["inter_out_staff"] = count(pm[staff[pt]])
    col["inter_in"] = count(pt)
    col["replies_received"] = count(pt[reply])
    col["reactions_received"] = count(pt[pe == code["reaction"]])
    col["inter_in_staff"] = count(pt[staff[pm]])
    col["partners_out"], col["partners_in"], col["reciprocated"] = _partners(pm, pt, reply, size)
    none = last == np.iinfo(np.int64).min
    stamp = pa.timestamp("us", tz="UTC")
    return pa.table({"k": np.arange(first, first + size, dtype=np.int64),
                     "first_ts": pa.array(earliest, type=stamp, mask=earliest == np.iinfo(np.int64).max),
                     "last_ts": pa.array(last, type=stamp, mask=none), **col})


def key_ranges(con: duckdb.DuckDBPyConnection, keys: str, members_per_range: int | None = None
               ) -> list[tuple[int, int]]:
    """The keys of ``keys`` in ranges of whole communities, each of about ``members_per_range`` members or one
    community (ranges of consecutive keys: the keys are ranked by community, then member). The ranges follow each
    other without a gap, from the smallest key to the largest: every event with a key between them is read once.

    By default a range holds a quarter of the members, at most :data:`MEMBERS_PER_RANGE`: at least about
    ``2 * _WORKERS`` ranges, so that the threads of :func:`map_key_ranges` share the work.
    """
    if members_per_range is None:
        ((n_keys,),) = con.sql(f"SELECT count(*) FROM {keys}").fetchall()
        members_per_range = max(1, min(MEMBERS_PER_RANGE, -(-int(n_keys) // (2 * _WORKERS))))
    bounds = con.sql(f"SELECT min(member_key), max(member_key) FROM {keys} GROUP BY community_id ORDER BY 1").fetchall()
    ranges: list[tuple[int, int]] = []
    for lo, hi in ((int(a), int(b)) for a, b in bounds):
        if ranges and hi <= ranges[-1][1]:  # within the range before (a keys' table the import did not write)
            continue
        if ranges and hi - ranges[-1][0] < members_per_range:
            ranges[-1] = (ranges[-1][0], hi)
        else:
            ranges.append((ranges[-1][1] + 1 if ranges else lo, hi))
    return ranges


#: Members per range of keys summed at a time (:func:`keyed_features_query`), at most: at the benchmark's
#: density (50 events per member) about 1.2 M events, about 20 MB of arrays. At 50 M events ranges of 25k and
#: 100k members took the same CPU time (9.4-9.5 s); the smaller ones kept the peak lower (1.9 GB, not 2.5).
MEMBERS_PER_RANGE = 25_000
#: Threads summing ranges at once (NumPy's sorts, bincounts and ufuncs release the GIL).
_WORKERS = 2

T = TypeVar("T")


def map_key_ranges(con: duckdb.DuckDBPyConnection, events: str, ranges: list[tuple[int, int]], as_of: str,
                   fn: Callable[[int, int, dict[str, Any]], T], *, keys: str = "the member keys",
                   amounts: bool = True) -> list[T]:
    """``fn(lo, hi, ev)`` of the keyed events of each range of member keys ``lo`` to ``hi``, in range order.

    ``ev`` holds the range's events up to ``as_of`` (a SQL ``TIMESTAMPTZ`` literal) as NumPy arrays
    (:func:`_events_sql`: ``mk``, ``tk``, ``us``, ``et``) and, with ``amounts``, ``amt`` as an Arrow array (with its
    NULLs). DuckDB reads a range while ``fn`` runs on the ranges read before, in :data:`_WORKERS` threads (at most
    that many ranges summed and one read at a time). Used by the member features (:func:`keyed_features_query`)
    and notebook 02's role transitions (:mod:`commlab.analysis.transitions`).

    Raises
    ------
    InvalidArgument
        If an event up to ``as_of`` has no member key within the ranges, or an event of a range aims at a member
        key outside it: the keys (``keys`` names them in the message) do not fit the events, whose interactions
        stay within a community.
    """
    # the ranges follow each other (key_ranges): an event outside the first and last is read by none (a count
    # pruned by the row groups' statistics of a stored file: 15-22 ms at 50 M events)
    span = f"member_key BETWEEN {ranges[0][0]} AND {ranges[-1][1]}" if ranges else "FALSE"
    ((outside,),) = con.sql(f"SELECT count(*) FROM {events} WHERE CAST(ts AS TIMESTAMPTZ) <= {as_of} "
                            f"AND (member_key IS NULL OR NOT ({span}))").fetchall()
    if outside:
        raise InvalidArgument(f"{outside} stored events have no member key among {keys}: the keys do not fit "
                              f"these events; delete the data cache entry, and the next load writes both again")
    out: list[T] = []
    with ThreadPoolExecutor(_WORKERS) as pool:
        pending: list = []
        for lo, hi in ranges:
            # through Arrow: 0.81-0.92 s for 19 M events where fetchnumpy took 1.06-1.16 s
            got = con.sql(_events_sql(events, lo, hi, amounts=amounts).replace("$as_of", as_of)).to_arrow_table()
            ev = {c: got.column(c).to_numpy() for c in ("mk", "tk", "us", "et")}
            if amounts:
                ev["amt"] = got.column("amt")
            tk = ev["tk"]
            if ((tk != 0) & ((tk < lo) | (tk > hi))).any():
                raise InvalidArgument(f"the stored events of member keys {lo}-{hi} aim at members of another "
                                      f"community: the member keys of {keys} do not fit these events")
            if len(pending) == _WORKERS:
                out.append(pending.pop(0).result())
            pending.append(pool.submit(fn, lo, hi, ev))
        out += [p.result() for p in pending]
    return out


def keyed_features_query(con: duckdb.DuckDBPyConnection, events: str, members: str, keys: str,
                         as_of: pd.Timestamp, *, staff_roles: tuple[str, ...] = STAFF_ROLES,
                         members_per_range: int | None = None) -> str:
    """The member features of the keyed events ``events``, summed in NumPy: the query that returns them.

    Materialises the member rows (:func:`keyed_members_sql`) as the temporary table ``kf_members`` and
    registers the sums (:func:`key_sums`) as ``kf_sums`` and the purchases as ``kf_purchases`` on ``con``; the
    returned query (:func:`keyed_features_sql`) reads the three. The events are read and summed by ranges of whole
    communities (a member's partners are of its community), so the arrays stay small whatever the data's
    size; two threads sum ranges while DuckDB reads the next.

    Parameters
    ----------
    con : DuckDB connection
        With the session time zone UTC.
    events, members, keys : str
        SQL relations: the stored events (with ``member_key``), the members table and the stored member keys
        (as for :func:`commlab.analysis.features_sql.keyed_members_sql`).
    as_of : Timestamp
        The instant (a naive one is UTC).
    staff_roles : tuple of str
        Member roles counted as staff.
    members_per_range : int, optional
        About how many members' events are read and summed at a time (default: a quarter of the members, at
        most :data:`MEMBERS_PER_RANGE`).

    Returns
    -------
    str
        The feature query, with the parameter ``$as_of``.
    """
    now = timestamptz_literal(as_utc(as_of))
    con.execute("CREATE OR REPLACE TEMP TABLE kf_members AS "
                + keyed_members_sql(events, members, keys, staff_roles=staff_roles).replace("$as_of", now))
    mem = con.sql("SELECT k, epoch_us(joined_at) AS j, epoch_us(first_week_end) AS w, coalesce(is_staff, false) AS s "
                  "FROM kf_members WHERE k > 0").fetchnumpy()
    ((last30_after,),) = con.sql(f"SELECT epoch_us({now} - INTERVAL 30 DAY)").fetchall()
    ranges = key_ranges(con, keys, members_per_range)
    k = np.asarray(mem["k"], dtype=np.int64)
    size = max(int(k.max(initial=0)), ranges[-1][1] if ranges else 0) + 1
    never = np.iinfo(np.int64).max
    joined = np.full(size, never, dtype=np.int64)
    week_end = np.full(size, never, dtype=np.int64)
    staff = np.zeros(size, dtype=bool)
    joined[k], week_end[k], staff[k] = mem["j"], mem["w"], mem["s"]
    purchase = np.uint8(EVENT_CODES.index("purchase") + 1)

    def sums(lo: int, hi: int, ev: dict[str, Any]) -> tuple[pa.Table, pa.Table | None]:
        mk, tk, us, et = (ev[c] for c in ("mk", "tk", "us", "et"))
        buy = np.flatnonzero(et == purchase)
        bought = None
        if len(buy):  # the purchases: member key and amount, summed exactly in SQL
            amount = ev["amt"].take(pa.array(buy)).cast(pa.float64())
            bought = pa.table({"k": mk[buy].astype(np.int64), "amount": amount})
        return key_sums(mk, tk, us, et, first=lo, joined=joined[lo:hi + 1], week_end=week_end[lo:hi + 1],
                        staff=staff[lo:hi + 1], last30_after=int(last30_after)), bought

    done = map_key_ranges(con, events, ranges, now, sums, keys=keys)
    parts = [t for t, _ in done]
    bought = [b for _, b in done if b is not None]
    con.register("kf_sums", pa.concat_tables(parts) if parts else key_sums(
        *(np.zeros(0, t) for t in (np.int32, np.int32, np.int64, np.uint8)), first=1, joined=joined[1:1],
        week_end=week_end[1:1], staff=staff[1:1], last30_after=0))
    con.register("kf_purchases", pa.concat_tables(bought) if bought else pa.table(
        {"k": pa.array([], pa.int64()), "amount": pa.array([], pa.float64())}))
    return keyed_features_sql("kf_members", "kf_sums", "kf_purchases", keys)
