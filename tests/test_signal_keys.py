"""Notebook 05's facts over stored events with member keys equal those over the same events by id.

The import stores each event's integer member and target key with the sorted events
(:data:`commlab.data.stored.KEYS_FILE`). :func:`commlab.analysis.signals_sql.event_facts` then groups the member pass
and the experts' targets on the keys and flags staff by key; without keys (a DataFrame, a store without them) it
groups on the ids. The data are the seeded random communities of ``test_signal_rewrites`` (events at and 1 µs around
every bound the signals have), with Chinese community and member ids, staff posting in channels, written to Parquet
in shuffled order and imported, so the import sorts them and assigns the keys.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from commlab.analysis import signals_sql
from commlab.data import Dataset, load_dataset
from commlab.data.schema import Col
from commlab.data.stored import StoredEvents
from test_signal_rewrites import _new_love, _new_per_member, signal_case

SEEDS = (0, 1, 5)


def _chinese(ds: Dataset, seed: int, as_of: pd.Timestamp) -> Dataset:
    """``ds`` with one community and every other member renamed in Chinese, and staff posts in two channels."""
    rng = np.random.default_rng(40_000 + seed)
    first = str(ds.communities[Col.community_id].iloc[0])
    cid = {first: "社群甲"}
    mids = pd.unique(ds.members[Col.member_id].astype(str))
    mid = {m: f"成员{m}" for m in mids[::2]}

    def rename(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        out[Col.community_id] = out[Col.community_id].astype(str).replace(cid).astype("string")
        for col in (Col.member_id, "target_member_id", "invited_by"):
            if col in out.columns:
                out[col] = out[col].astype("string").replace(mid)
        return out

    ev = rename(ds.events)
    content = ev["event_type"].isin(["message", "post", "reply"]).to_numpy()
    ev["channel"] = pd.array(np.where(content & (rng.random(len(ev)) < 0.5), "答疑", None), dtype="string")
    staff = rename(ds.members)
    staff = staff[staff["role"].isin(["owner", "staff"])]
    posts = staff.sample(n=min(len(staff), 12), random_state=seed, replace=True)
    extra = pd.DataFrame({Col.community_id: posts[Col.community_id].to_numpy(),
                          Col.member_id: posts[Col.member_id].to_numpy(),
                          "ts": [as_of - pd.Timedelta(days=int(d)) for d in rng.integers(1, 60, len(posts))],
                          "event_type": "reply", "channel": rng.choice(["答疑", "闲聊"], len(posts))})
    # a member's message at the instant of each staff post, in its channel; in a channel of its own, a staff
    # post and a member's message at one instant and nothing else
    others = ds.members[~ds.members["role"].isin(["owner", "staff"])].groupby(Col.community_id)[Col.member_id].first()
    tie = extra.assign(event_type="message")
    tie[Col.member_id] = rename(tie)[Col.community_id].map(
        rename(others.reset_index()).set_index(Col.community_id)[Col.member_id]).to_numpy()
    alone = pd.concat([extra.iloc[:2], tie.iloc[:2]]).assign(channel="公告", ts=as_of - pd.Timedelta(days=3))
    extra = pd.concat([extra, tie, alone], ignore_index=True)
    ev = pd.concat([ev, extra.astype({Col.community_id: "string", Col.member_id: "string", "event_type": "string",
                                      "channel": "string"})], ignore_index=True)
    mem, comm = rename(ds.members), rename(ds.communities)
    # valid for the import: events by members, targets that are members, nothing before the community's creation
    known = set(zip(mem[Col.community_id].astype(str), mem[Col.member_id].astype(str), strict=True))
    by = [(c, m) in known for c, m in zip(ev[Col.community_id].astype(str), ev[Col.member_id].astype(str), strict=True)]
    created = ev[Col.community_id].astype(str).map(dict(zip(comm[Col.community_id].astype(str), comm["created_at"],
                                                            strict=True)))
    ev = ev[np.array(by) & (ev["ts"] >= created).to_numpy()].reset_index(drop=True)
    to = [(c, t) in known for c, t in zip(ev[Col.community_id].astype(str), ev["target_member_id"].astype(str),
                                          strict=True)]
    ev["target_member_id"] = ev["target_member_id"].where(np.array(to))
    return Dataset(comm, mem, ev)


def _stored(ds: Dataset, folder: Path, seed: int) -> Dataset:
    """``ds`` written to Parquet (the events shuffled) and imported with a data cache: stored with keys."""
    folder.mkdir()
    ds.communities.to_parquet(folder / "communities.parquet", index=False)
    ds.members.to_parquet(folder / "members.parquet", index=False)
    ds.events.sample(frac=1.0, random_state=seed).to_parquet(folder / "events.parquet", index=False)
    # the streamed import (as for a large file): sorted by DuckDB, which assigns the keys
    load_dataset(folder, cache=folder / "cache", stream=True)
    return load_dataset(folder, cache=folder / "cache", stream=True)  # the stored events, read in place


def _all_facts(events, ds: Dataset, ends: pd.Series, keyed: bool) -> dict[str, pd.Series]:
    with signals_sql.event_facts(events, ds.members, ds.communities, ends) as ef:
        assert ef.keyed is keyed
        out = {**_new_per_member(ef), "love": _new_love(ef), "waits": ef.waits(),
               "quiet": ef.quiet_top_members(), "quiet_all": ef.quiet_top_members(top_share=1.0),
               "cohort": ef.first_cohort_gap(), "cohort_short": ef.first_cohort_gap(horizon_days=7),
               "bulk": ef.bulk_zombies(), "bulk_3": ef.bulk_zombies(bulk=3), "near": ef.near_next_orbit(),
               **{k: v for k, v in ef.preconditions().set_index(Col.community_id).items()},
               "expert_30d": ef.preconditions(days=30)["expert_in_share"],
               "platforms": ef.platform_activity(days=30).set_index([Col.community_id, "platform"])["events"]}
        out["ops"] = ef.operational_facts().set_index([Col.community_id, "metric_id"])["value"]
        return out


@pytest.fixture(scope="module")
def pairs(tmp_path_factory, samples_dir) -> list[tuple[Dataset, pd.Series]]:
    template = pd.read_csv(samples_dir / "communities.csv", dtype="string")
    out = []
    for seed in SEEDS:
        ds, as_of = signal_case(seed, template)
        stored = _stored(_chinese(ds, seed, as_of), tmp_path_factory.mktemp(f"keys{seed}") / "data", seed)
        assert isinstance(stored.events_source, StoredEvents) and stored.events_source.keys is not None  # keyed
        ends = pd.Series(as_of, index=stored.communities[Col.community_id].astype(str))
        if seed % 2:  # communities at different instants in one query
            ends.iloc[1] = as_of - pd.Timedelta(days=45, microseconds=1)
        out.append((stored, ends))
    return out


def test_the_facts_from_the_keys_equal_those_from_the_ids(pairs):
    seen = dict.fromkeys(("waits", "quiet", "cohort", "bulk_3", "near", "expert_in_share", "retained", "platforms"), 0)
    for stored, ends in pairs:
        source = stored.events_source  # the stored events (before .events reads them into memory)
        by_id = _all_facts(stored.events_of(list(ends.index)), stored, ends, keyed=False)
        by_key = _all_facts(source, stored, ends, keyed=True)
        for name, want in by_id.items():
            got = by_key[name]
            if name == "love":  # sums of the same terms, maybe added in another order
                pd.testing.assert_series_equal(got, want, check_exact=False, rtol=1e-12, check_names=False, obj=name)
            else:
                pd.testing.assert_series_equal(got, want, check_exact=True, check_names=False, obj=name)
        ids = set(stored.communities[Col.community_id].astype(str))
        assert "社群甲" in ids and by_id["content"].index.get_level_values(1).str.startswith("成员").any()
        for name in seen:
            seen[name] += int((by_id[name].fillna(0) != 0).sum())
    assert all(n > 0 for n in seen.values()), seen  # each signal has values other than 0 in the data


def _former_waits(ef: signals_sql.EventFacts) -> pd.Series:
    """``max_days_without_staff_reply`` by the former query (two reads of the content events), the oracle."""
    got = ef.rows("""
WITH w AS NOT MATERIALIZED (SELECT c, coalesce(channel, '(main)') AS ch, t, s FROM e
                            WHERE et IN ('message', 'post', 'reply')),
ls AS (SELECT c, ch, max(t) FILTER (WHERE s) AS ls FROM w GROUP BY c, ch),
wt AS (SELECT w.c, w.ch, min(w.t) FILTER (WHERE NOT w.s AND (ls.ls IS NULL OR w.t > ls.ls)) AS waiting
       FROM w JOIN ls ON ls.c = w.c AND ls.ch = w.ch GROUP BY w.c, w.ch)
SELECT c AS community_id, min(waiting) AS waiting FROM wt GROUP BY c""")
    now = pd.Series(pd.DatetimeIndex(got[Col.community_id].map(ef.ends)), index=got.index)
    days = ((now - signals_sql._as_times(got["waiting"])).dt.total_seconds() / 86400).fillna(0.0)
    return pd.Series(days.to_numpy(), index=got[Col.community_id].astype(str)).reindex(ef.ends.index).fillna(0.0)


def test_the_waits_settle_ties_with_the_last_staff_post_as_the_former_query(tmp_path):
    """A member's post at the instant of the last staff post is no wait; the next one, 1 µs later, is. In a channel
    whose first post by a member ties with the last staff post, the wait is the member's next post."""
    as_of, us, hour = pd.Timestamp("2024-06-01", tz="UTC"), pd.Timedelta(microseconds=1), pd.Timedelta(hours=1)
    t1, t2 = as_of - pd.Timedelta(days=30), as_of - pd.Timedelta(days=50)
    comm = pd.DataFrame({Col.community_id: ["社群甲", "c2"], "name": ["甲", "乙"], "theme": "interest",
                         "business_model": "creator", "lifecycle": "mature", "platform": "wechat",
                         "monetization": "none", "created_at": pd.Timestamp("2024-01-01", tz="UTC")})
    people = [("管理员", "staff"), ("张三", "member"), ("李四", "member"), ("王五", "member")]
    mem = pd.DataFrame([(c, m, pd.Timestamp("2024-01-02", tz="UTC"), r) for c in comm[Col.community_id]
                        for m, r in people], columns=[Col.community_id, Col.member_id, "joined_at", "role"])
    rows = [("社群甲", "管理员", t2 - hour, "reply", "公告"), ("社群甲", "管理员", t2, "reply", "公告"),
            ("社群甲", "李四", t2, "message", "公告"), ("社群甲", "王五", t2 + hour, "post", "公告"),
            ("社群甲", "张三", t1, "message", "答疑"), ("社群甲", "管理员", t1 - us, "reply", "答疑"),
            ("c2", "张三", t1 - hour, "message", None), ("c2", "管理员", t1, "reply", None),
            ("c2", "李四", t1, "message", None), ("c2", "王五", t1 + us, "message", None),
            ("c2", "张三", as_of - hour, "message", "闲聊")]
    ev = pd.DataFrame(rows, columns=[Col.community_id, Col.member_id, "ts", "event_type", "channel"])
    ds = Dataset(comm, mem.astype({Col.community_id: "string", Col.member_id: "string", "role": "string"}),
                 ev.astype({c: "string" for c in (Col.community_id, Col.member_id, "event_type", "channel")}))
    stored = _stored(ds, tmp_path / "data", 0)
    ends = pd.Series(as_of, index=["社群甲", "c2"])
    for events in (ds.events, stored.events_source):
        with signals_sql.event_facts(events, stored.members, stored.communities, ends) as ef:
            got, want = ef.waits(), _former_waits(ef)
        pd.testing.assert_series_equal(got, want, check_exact=True, check_names=False)
    assert got["社群甲"] == pytest.approx(50 - 1 / 24) and got["c2"] == pytest.approx(30 - 1e-6 / 86400, abs=1e-12)
