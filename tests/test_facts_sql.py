"""Notebook 05's facts from DuckDB aggregates: the same facts as the pandas signals, no event-level frame."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from commlab.analysis.orbit import orbit_table
from commlab.analysis.periods import resolve_as_of
from commlab.analysis.practices import platform_activity
from commlab.analysis.signals import operational_facts
from commlab.data import load_dataset
from commlab.data.dataset import Dataset
from commlab.data.schema import STAFF_ROLES
from commlab.data.stored import StoredEvents

AS_OF = "2024-06-30T16:00:00Z"


@pytest.fixture(scope="module")
def fresh(samples_dir):
    return load_dataset(samples_dir)


@pytest.fixture(scope="module")
def stored(tmp_path_factory, samples_dir):
    folder = tmp_path_factory.mktemp("cache")
    load_dataset(samples_dir, cache=folder)
    return lambda: load_dataset(samples_dir, cache=folder, communities=["c01", "c03", "c04", "c09", "c10", "c12"])


def _pandas_facts(ds: Dataset, as_of: str) -> pd.DataFrame:
    """The signal and Orbit facts as build_facts computed them before: pandas over the event frame."""
    events, members, communities = ds.events, ds.members, ds.communities
    ends = resolve_as_of(as_of, communities)
    parts = []
    for end, ids in ends.groupby(ends, sort=True):
        ids = list(ids.index.astype(str))
        cid = communities["community_id"].astype(str)
        ev = events[events["community_id"].astype(str).isin(ids)]
        mem = members[members["community_id"].astype(str).isin(ids)]
        ops = operational_facts(ev, mem, communities[cid.isin(ids).to_numpy()], as_of=end)
        parts.append(ops.assign(source="signals"))
        orbit = orbit_table(ev, mem, as_of=end)
        staff = mem.loc[mem["role"].isin(STAFF_ROLES), ["community_id", "member_id"]].assign(_staff=True)
        orbit = orbit.merge(staff, on=["community_id", "member_id"], how="left")
        near = orbit[orbit["near_next_level"] & orbit["_staff"].isna()].groupby("community_id").size()
        parts.append(pd.DataFrame({"community_id": ids, "metric_id": "near_next_orbit_members",
                                   "value": near.reindex(ids).fillna(0).astype("float64").to_numpy(),
                                   "source": "orbit"}))
    out = pd.concat(parts, ignore_index=True)
    out["value"] = out["value"].astype("float64")
    out["community_id"], out["metric_id"] = out["community_id"].astype(str), out["metric_id"].astype(str)
    return out.sort_values(["community_id", "metric_id"]).reset_index(drop=True)


@pytest.mark.parametrize("as_of", [AS_OF, "created+180d"])
def test_facts_equal_the_pandas_signals_and_no_event_frame_is_made(stored, monkeypatch, as_of):
    from commlab.analysis import signals_sql
    from commlab.recommend import build_facts, platform_notes

    ds = stored()
    want = _pandas_facts(_reference(ds), as_of)
    n_events = int(ds.event_counts().sum())

    def refuse(*args, **kwargs):
        raise AssertionError("build_facts read the events into pandas")

    monkeypatch.setattr(StoredEvents, "read", refuse)
    monkeypatch.setattr(Dataset, "events", property(refuse))
    monkeypatch.setattr(Dataset, "events_of", refuse)
    monkeypatch.setattr(pd, "read_parquet", refuse)
    monkeypatch.setattr(pq, "read_table", refuse)
    seen: list[tuple[int, list[str]]] = []
    real = signals_sql.query_rows

    def spy(con, sql):
        out = real(con, sql)
        seen.append((len(out), list(out.columns)))
        return out

    monkeypatch.setattr(signals_sql, "query_rows", spy)
    facts = build_facts(ds, as_of=as_of)
    notes = platform_notes(ds, facts, as_of=as_of, lang="en")
    assert len(seen) >= 8 and max(n for n, _ in seen) < n_events / 10, seen
    assert not any({"t", "ts", "event_type", "et"} & set(cols) for _, cols in seen), seen
    got = facts[facts["source"].isin(["signals", "orbit"])].drop(columns="n")
    got = got.sort_values(["community_id", "metric_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got["value"].notna().mean() > 0.5 and (got[got["metric_id"] == "near_next_orbit_members"]["value"] > 0).any()
    assert [n["community_id"] for n in notes] == ["c10", "c12"]  # the two samples on several platforms


def _reference(ds: Dataset) -> Dataset:
    """The same communities with their events in memory (the pandas path)."""
    events = ds.events_source.read()
    return Dataset(communities=ds.communities, members=ds.members, events=events)


def test_platform_activity_equals_the_pandas_count(stored):
    from commlab.analysis.signals_sql import event_facts

    ds = stored()
    ends = resolve_as_of(AS_OF, ds.communities)
    with event_facts(ds.events_source, ds.members, ds.communities, ends) as ef:
        got = ef.platform_activity(days=30)
    end = ends.iloc[0]
    want = platform_activity(ds.events_source.read(), ds.members, ds.communities,
                             start=end - pd.Timedelta(days=30), end=end)
    assert len(want) > len(ds.communities)
    pd.testing.assert_frame_equal(got, want, check_exact=True, check_dtype=False)


def _cte_rows(profile: object) -> list[tuple[str, int]]:
    """Each CTE operator of a DuckDB JSON profile: its name and the rows of the relation it holds."""
    found = []
    if isinstance(profile, dict):
        if profile.get("type") == "CTE":
            source = (profile.get("children") or [{}])[0]
            found.append((profile.get("extra_info", {}).get("CTE Name", "?"), int(source.get("intermediate_rows", 0))))
        for value in profile.values():
            found += _cte_rows(value)
    elif isinstance(profile, list):
        for value in profile:
            found += _cte_rows(value)
    return found


def test_no_query_of_the_facts_holds_an_event_level_relation(stored, monkeypatch, tmp_path):
    """A CTE read twice is materialised by DuckDB: over the events (all non-staff events, every content event)
    that held a copy of the event log in memory (notebook 05 at 50 M events: 4 GB). Only per-member ones may."""
    import json

    from commlab.analysis import signals_sql
    from commlab.recommend import build_facts

    ds = stored()
    n_events = int(ds.event_counts().sum())
    ctes: list[tuple[str, int]] = []
    real = signals_sql.query_rows

    def profiled(con, sql):
        out = tmp_path / f"profile-{len(ctes)}.json"
        con.execute("SET enable_profiling = 'json'")
        con.execute(f"SET profiling_output = '{out}'")
        try:
            rows = real(con, sql)
        finally:
            con.execute("SET enable_profiling = 'no_output'")
        ctes.extend(_cte_rows(json.loads(out.read_text())) or [("(none)", 0)])
        return rows

    # the profile is read right: a CTE read twice is seen with the rows it holds
    ends = resolve_as_of(AS_OF, ds.communities)
    with signals_sql.event_facts(ds.events_source, ds.members, ds.communities, ends) as ef:
        profiled(ef.con, "WITH x AS (SELECT c, m FROM e LIMIT 50) SELECT count(*) FROM x JOIN x AS y USING (c, m)")
    assert ctes == [("x", 50)], ctes
    ctes.clear()
    monkeypatch.setattr(signals_sql, "query_rows", profiled)
    build_facts(ds, as_of=AS_OF)
    assert len(ctes) >= 7
    assert [(name, rows) for name, rows in ctes if rows >= n_events / 10] == [], (n_events, ctes)
