"""The first look at a data set: who is there, how active, when.

Every function takes the analysis instant ``as_of`` explicitly (tz-aware, UTC);
events after it are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import duckdb
import pandas as pd

from commlab.analysis.daymask import BLOCK_DAYS, US_PER_DAY, block_of, day_bit, day_number
from commlab.data import schema as S
from commlab.data.load import Dataset, check_time_zone
from commlab.data.schema import Col
from commlab.engines.duck import DuckDBEngine, bind_as_of
from commlab.i18n import t
from commlab.instant import as_utc

__all__ = [
    "to_utc",
    "community_table",
    "activity_summary",
    "daily_activity",
    "weekday_hour",
    "ActivityOverview",
    "activity_overview",
]

#: Roles counted as staff, not members (:data:`commlab.data.schema.STAFF_ROLES`).
STAFF_ROLES = S.STAFF_ROLES


#: The one as-of reading (:func:`commlab.instant.as_utc`), under the name notebooks 01-02 import.
to_utc = as_utc


def community_table(ds: Dataset, lang: str = "en") -> pd.DataFrame:
    """The communities with their type labels in ``lang``, one row each.

    Parameters
    ----------
    ds : Dataset
        The data (:func:`commlab.data.load.load_dataset`).
    lang : str
        ``"zh"`` or ``"en"``: the column headers and type labels.

    Returns
    -------
    DataFrame
        Id, name, the six type axes (theme, business model, lifecycle, platform, monetization,
        economy) as labels, and the creation date, with headers in ``lang``.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c04"])
    >>> cl.community_table(ds, "en").iloc[0, :3].tolist()
    ['c04', 'Python数据分析学习营', 'knowledge/learning']
    """
    c = ds.communities
    out = pd.DataFrame({t(Col.community_id, lang): c[Col.community_id], t("name", lang): c["name"]})
    for col in ("theme", "business_model", "lifecycle", "platform", "monetization", "economy"):
        vocab = S.VOCABULARIES[col]
        out[t(col, lang)] = [vocab.label(v, lang) if pd.notna(v) else "" for v in c[col]]
    out[t("created_at", lang)] = c["created_at"].dt.strftime("%Y-%m-%d")
    return out


def _members_present(ds: Dataset, now: pd.Timestamp) -> tuple[pd.DataFrame, pd.Series]:
    """Members who joined by ``now`` and had not left, and whether each is staff (owner, staff, bot)."""
    m = ds.members
    m = m[(m["joined_at"] <= now) & (m["left_at"].isna() | (m["left_at"] > now))]
    return m, m["role"].isin(STAFF_ROLES)


#: Events that count as activity in the overview: all but joining and leaving, up to ``$as_of``.
_ACTIVE_EVENTS = """
    SELECT CAST(community_id AS VARCHAR) AS c, CAST(member_id AS VARCHAR) AS m,
           CAST(ts AS TIMESTAMPTZ) AS ts, CAST(event_type AS VARCHAR) AS et
    FROM {events}
    WHERE CAST(ts AS TIMESTAMPTZ) <= $as_of AND CAST(event_type AS VARCHAR) NOT IN ('join', 'leave')
"""


def _local(tz: str, ts: str = "ts") -> str:
    """SQL for the local wall-clock time of instant ``ts`` in ``tz`` (checked: an unknown zone is a UsageError)."""
    return "timezone('" + check_time_zone(tz).replace("'", "''") + "', " + ts + ")"


#: At most this many changes of the zone's offset within the events' span are written out as a
#: ``CASE`` in :func:`_local_day`; more, and each event's time is converted by the zone.
MAX_OFFSET_CHANGES = 64


class _Events:
    """One DuckDB connection over a data set's events (where they are), with ``$as_of`` bound in every query."""

    def __init__(self, con: duckdb.DuckDBPyConnection, rel: str, now: pd.Timestamp) -> None:
        self.con, self.rel, self.now = con, rel, now

    def df(self, sql: str) -> pd.DataFrame:
        """The rows of ``sql`` (``{events}``: the events, ``$as_of``: the instant)."""
        return self.con.execute(bind_as_of(sql.replace("{events}", self.rel), self.now)).df()

    def run(self, sql: str) -> None:
        self.con.execute(bind_as_of(sql.replace("{events}", self.rel), self.now))


@contextmanager
def _events(ds: Dataset, now: pd.Timestamp, **frames: pd.DataFrame) -> Iterator[_Events]:
    """An :class:`_Events` over ``ds``'s events (a fresh connection, closed after), ``frames`` registered."""
    eng = DuckDBEngine()
    con = eng.connect()
    try:
        rel = eng.relation(con, ds.events_source, "events")
        for name, frame in frames.items():
            con.register(name, frame)
        yield _Events(con, rel, now)
    finally:
        con.close()


def _minutes(ev: _Events, zone: str) -> pd.DataFrame:
    """The events per UTC minute (one read of the events): ``mb`` (minute number), ``n``, and the zone's offset
    (µs) at the minute's first and last microsecond (``lo``, ``hi``) with the local weekday (0 = Monday) and hour
    of its first microsecond; ``split`` where the two ends fall in different local hours. Sorted by minute.

    The zone's time of a minute's two ends gives the local weekday, hour and day of all its events: one
    time-zone conversion per minute instead of per event (:func:`weekday_hour`, :func:`_local_day`).
    """
    first, last = _local(zone, "s"), _local(zone, "s + INTERVAL 59999999 MICROSECOND")
    return ev.df(f"""
        WITH u AS (
            SELECT CAST(floor(epoch_us(ts) / 60000000) AS BIGINT) AS mb, count(*) AS n
            FROM ({_ACTIVE_EVENTS}) GROUP BY 1
        ),
        b AS (
            SELECT mb, n, s, {first} AS lo, {last} AS hi
            FROM (SELECT mb, n, make_timestamptz(mb * 60000000) AS s FROM u) AS x
        )
        SELECT mb, n, epoch_us(lo) - epoch_us(s) AS lo_off,
               epoch_us(hi) - epoch_us(s + INTERVAL 59999999 MICROSECOND) AS hi_off,
               CAST(isodow(lo) - 1 AS INTEGER) AS weekday, CAST(hour(lo) AS INTEGER) AS hour,
               isodow(lo) <> isodow(hi) OR hour(lo) <> hour(hi) AS split
        FROM b ORDER BY mb
    """)


def _local_day(minutes: pd.DataFrame, tz: str) -> str:
    """SQL: the local day number (:func:`~commlab.analysis.daymask.day_number`) of each event in ``tz``.

    ``day_number(timezone(tz, ts))`` converts every event's time by the zone, the largest cost of
    :func:`daily_activity`. The zone's offset is the same for every instant of one UTC minute when the
    minute's first and last microseconds have it, and changes only at the few transitions within the
    events' span: the events' minutes and their offsets (:func:`_minutes`) give each event's local day
    as its UTC microseconds plus the offset of its segment (a ``CASE`` on the segments' starts), the same
    integer ``day_number`` takes (50 M events: daily_activity 7.4 -> 5.6 s CPU). A minute whose two ends
    have different offsets, or more than :data:`MAX_OFFSET_CHANGES` changes, keep the conversion per event.
    """
    per_event = day_number(_local(tz))
    if minutes.empty or (minutes["lo_off"] != minutes["hi_off"]).any():
        return per_event
    off = minutes["lo_off"].to_numpy(dtype="int64")
    starts = minutes["mb"].to_numpy(dtype="int64") * 60_000_000
    change = [i for i in range(1, len(off)) if off[i] != off[i - 1]]
    if len(change) > MAX_OFFSET_CHANGES:
        return per_event
    offset = f"{int(off[-1])}"
    if change:  # the offset of the segment each event's minute falls in
        offset = ("CASE " + " ".join(f"WHEN epoch_us(ts) < {int(starts[i])} THEN {int(off[i - 1])}" for i in change)
                  + f" ELSE {int(off[-1])} END")
    return f"CAST(floor((epoch_us(ts) + {offset}) / {US_PER_DAY}) AS BIGINT)"


def _hours(ev: _Events, minutes: pd.DataFrame, zone: str) -> pd.DataFrame:
    """The table of :func:`weekday_hour` from the events per minute; where a minute's two ends fall in different
    local hours (an offset that is not whole minutes), from the zone's time of every event (a read of them)."""
    if minutes["split"].any():
        local = _local(zone)
        long = ev.df(f"""
            SELECT CAST(isodow({local}) - 1 AS INTEGER) AS weekday, CAST(hour({local}) AS INTEGER) AS hour,
                   count(*) AS n
            FROM ({_ACTIVE_EVENTS}) GROUP BY ALL
        """)
    else:
        long = minutes.groupby(["weekday", "hour"], as_index=False)["n"].sum()
    table = long.pivot(index="weekday", columns="hour", values="n")
    return table.reindex(index=range(7), columns=range(24)).fillna(0).astype("int64").rename_axis(
        index="weekday", columns="hour")


def _group_days(ev: _Events, day: str) -> None:
    """The temp table ``g``, from one read of the events: per community, member and block of 63 local days
    (``by_day = 0``) the events ``n``, the content events ``k``, the last event ``last`` and the active days as a
    bit mask ``mask``; per community and local day (``by_day = 1``) the events ``n``. ``day``: SQL of the local
    day number (:func:`_local_day`)."""
    content = ", ".join(f"'{e}'" for e in S.CONTENT_EVENTS)
    ev.run(f"""
        CREATE TEMP TABLE g AS
        WITH d AS (SELECT c, m, ts, et, {day} AS day FROM ({_ACTIVE_EVENTS}))
        SELECT c, m, {block_of("day")} AS blk, day, grouping(m) AS by_day, count(*) AS n,
               count(*) FILTER (WHERE et IN ({content})) AS k, max(ts) AS last, bit_or({day_bit("day")}) AS mask
        FROM d GROUP BY GROUPING SETS ((c, m, blk), (c, day))
    """)


def _daily(ev: _Events) -> pd.DataFrame:
    """:func:`daily_activity`'s table from ``g`` (:func:`_group_days`): the active members of a day are the
    masks with its bit set."""
    bits = ", ".join(f"sum((mask >> {i}) & 1)" for i in range(BLOCK_DAYS))
    out = ev.df(f"""
        WITH members AS (
            SELECT c, blk * {BLOCK_DAYS} + unnest(range({BLOCK_DAYS})) AS day, unnest([{bits}]) AS active_members
            FROM g WHERE by_day = 0 GROUP BY c, blk
        )
        SELECT e.c AS community_id, CAST(DATE '1970-01-01' + CAST(e.day AS INTEGER) AS TIMESTAMP) AS date,
               e.n AS events, a.active_members
        FROM g e JOIN members a ON a.c = e.c AND a.day = e.day
        WHERE e.by_day = 1
        ORDER BY community_id, date
    """)
    return out.astype({Col.community_id: "string", "date": "datetime64[ns]", "events": "int64",
                       "active_members": "int64"})


def _present(ds: Dataset, now: pd.Timestamp) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """Members (not staff) and staff present at ``now`` per community, and the members' keys ``keep`` (``c, m``)."""
    m, is_staff = _members_present(ds, now)
    keep = pd.DataFrame({"c": m.loc[~is_staff, Col.community_id].astype("string"),
                         "m": m.loc[~is_staff, Col.member_id].astype("string")})
    return m[~is_staff].groupby(Col.community_id).size(), m[is_staff].groupby(Col.community_id).size(), keep


def _summary(ds: Dataset, ev: _Events, per_member: str, members: pd.Series, staff: pd.Series) -> pd.DataFrame:
    """:func:`activity_summary`'s table from ``per_member``: SQL of one row per community and member with their
    events ``n``, content events ``k`` and last event ``last`` (members not in ``keep`` are left out)."""
    days = lambda n: f"$as_of - INTERVAL {int(n)} DAY"  # noqa: E731
    counts = ev.df(f"""
        SELECT pm.c AS community_id,
               count(*) FILTER (WHERE pm.last > {days(7)}) AS active_7d,
               count(*) FILTER (WHERE pm.last > {days(30)}) AS active_30d,
               sum(pm.n) AS events, sum(pm.k) AS content
        FROM ({per_member}) pm SEMI JOIN keep ON pm.c = keep.c AND pm.m = keep.m
        GROUP BY pm.c
    """).set_index(Col.community_id)
    ids = pd.Index(ds.communities[Col.community_id], name=Col.community_id)
    count = lambda col: counts[col].reindex(ids, fill_value=0).astype("int64")  # noqa: E731
    out = pd.DataFrame(index=ids)
    out["members"] = members.reindex(ids, fill_value=0)
    out["staff"] = staff.reindex(ids, fill_value=0)
    out["active_7d"] = count("active_7d")
    out["active_30d"] = count("active_30d")
    denom = out["members"].where(out["members"] > 0)
    out["active_share_30d"] = out["active_30d"] / denom
    out["events"] = count("events")
    out["events_per_member"] = out["events"] / denom
    out["content_per_member"] = count("content") / denom
    return out


def activity_summary(ds: Dataset, *, as_of: str | pd.Timestamp) -> pd.DataFrame:
    """Per community: members, staff, active members (7/30 days), events per member.

    Members are those who joined by ``as_of`` and had not left; staff and bots are
    counted apart and excluded from the member figures. A member is active in a
    window when they have any event other than ``join``/``leave`` in it. The events are
    counted by DuckDB where they are (in memory or in the stored Parquet file), per member first
    (their events, content events and last event) and then per community;
    :func:`commlab.analysis.naive.naive_activity_summary` is the pandas oracle. :func:`activity_overview`
    gives this table with the two others of notebook 01 from two reads of the events.

    Returns
    -------
    DataFrame
        Indexed by ``community_id`` with columns ``members``, ``staff``, ``active_7d``,
        ``active_30d``, ``active_share_30d``, ``events``, ``events_per_member``,
        ``content_per_member``.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c04"])
    >>> cl.activity_summary(ds, as_of="2024-06-30T16:00:00Z")[["members", "active_30d"]]
                  members  active_30d
    community_id
    c04              1407         941
    """
    now = to_utc(as_of)
    members, staff, keep = _present(ds, now)
    content = ", ".join(f"'{e}'" for e in S.CONTENT_EVENTS)
    with _events(ds, now, keep=keep) as ev:
        return _summary(ds, ev, f"""
            SELECT c, m, count(*) AS n, count(*) FILTER (WHERE et IN ({content})) AS k, max(ts) AS last
            FROM ({_ACTIVE_EVENTS}) GROUP BY c, m""", members, staff)


def daily_activity(ds: Dataset, *, as_of: str | pd.Timestamp, tz: str | None = None) -> pd.DataFrame:
    """Events and active members per community and local calendar day.

    Counted by DuckDB where the events are (see :func:`activity_summary`); oracle:
    :func:`commlab.analysis.naive.naive_daily_activity`.

    Parameters
    ----------
    ds : Dataset
        The data.
    as_of : str or Timestamp
        The analysis instant (UTC); later events are ignored.
    tz : str, optional
        The zone of the calendar days (default: the data set's).

    Returns
    -------
    DataFrame
        Tidy: ``community_id``, ``date`` (local midnight, naive), ``events``, ``active_members``;
        sorted by community and date.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c04"])
    >>> daily = cl.daily_activity(ds, as_of="2024-06-30T16:00:00Z", tz="Asia/Shanghai")
    >>> daily.tail(1)
        community_id       date  events  active_members
    181          c04 2024-06-30     412             247
    """
    now = to_utc(as_of)
    zone = tz or ds.tz
    # One pass over the events, two groupings: events per (community, local day), and per member
    # and block of 63 days the active days as a bit mask; the active members of a day are the
    # masks with its bit set. (A DISTINCT over every member and day cost 1.6x as much at 50 M.)
    with _events(ds, now) as ev:
        _group_days(ev, _local_day(_minutes(ev, zone), zone))
        return _daily(ev)


def weekday_hour(ds: Dataset, *, as_of: str | pd.Timestamp, tz: str | None = None) -> pd.DataFrame:
    """Event counts by local weekday (rows 0 = Monday) and hour (columns 0–23).

    Counted by DuckDB where the events are (see :func:`activity_summary`); oracle:
    :func:`commlab.analysis.naive.naive_weekday_hour`.

    Parameters
    ----------
    ds : Dataset
        The data.
    as_of : str or Timestamp
        The analysis instant (UTC); later events are ignored.
    tz : str, optional
        The zone of the local weekday and hour (default: the data set's).

    Returns
    -------
    DataFrame
        7 rows (``weekday``) × 24 columns (``hour``) of event counts, joins and leaves not counted.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c04"])
    >>> cl.weekday_hour(ds, as_of="2024-06-30T16:00:00Z", tz="Asia/Shanghai").shape
    (7, 24)
    """
    now = to_utc(as_of)
    zone = tz or ds.tz
    # The events counted per UTC minute first; the zone's time of each minute's first and last
    # microsecond then gives the weekday and hour of all its events, one time-zone conversion per
    # minute instead of per event (5 M events: 0.52 -> 0.24 s CPU). A minute whose ends fall in two
    # different local hours (an offset that is not whole minutes) is counted event by event.
    with _events(ds, now) as ev:
        return _hours(ev, _minutes(ev, zone), zone)


class ActivityOverview(NamedTuple):
    """Notebook 01's three tables (:func:`activity_overview`)."""

    #: As :func:`activity_summary`.
    summary: pd.DataFrame
    #: As :func:`daily_activity`.
    daily: pd.DataFrame
    #: As :func:`weekday_hour`.
    hours: pd.DataFrame


def activity_overview(ds: Dataset, *, as_of: str | pd.Timestamp, tz: str | None = None) -> ActivityOverview:
    """Notebook 01's three tables, as :func:`activity_summary`, :func:`daily_activity` and :func:`weekday_hour`.

    They come from two reads of the events, where the three functions read them four times between
    them: one read counts the events per UTC minute (the weekday-hour table, and the zone's offsets
    that give each event's local day); one groups them per member and block of local days (the daily
    table's active members) and per local day (its events), with each member's events, content
    events and last event, of which the summary counts the members per community.
    The tables are those of the three functions (tested equal, and against the pandas oracles).

    Parameters
    ----------
    ds : Dataset
        The data.
    as_of : str or Timestamp
        The analysis instant (UTC); later events are ignored.
    tz : str, optional
        The zone of the local days, weekdays and hours (default: the data set's).

    Returns
    -------
    ActivityOverview
        ``summary``, ``daily``, ``hours``.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c04"])
    >>> view = cl.activity_overview(ds, as_of="2024-06-30T16:00:00Z", tz="Asia/Shanghai")
    >>> int(view.summary.loc["c04", "active_30d"]), int(view.daily["events"].iloc[-1]), view.hours.shape
    (941, 412, (7, 24))
    """
    now = to_utc(as_of)
    zone = tz or ds.tz
    members, staff, keep = _present(ds, now)
    with _events(ds, now, keep=keep) as ev:
        minutes = _minutes(ev, zone)
        hours = _hours(ev, minutes, zone)
        _group_days(ev, _local_day(minutes, zone))
        daily = _daily(ev)
        summary = _summary(ds, ev, "SELECT c, m, sum(n) AS n, sum(k) AS k, max(last) AS last FROM g "
                                   "WHERE by_day = 0 GROUP BY c, m", members, staff)
    return ActivityOverview(summary, daily, hours)
