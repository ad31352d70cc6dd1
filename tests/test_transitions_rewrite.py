"""The role features of the coded transitions (sums per bucket in SQL, instants in NumPy) against the former query.

The former implementation (one SQL statement: the running sums by a join of the buckets to the instants and
two groupings, the members' rows at every instant by two hash joins, read back in batches) is kept here,
frozen, as the oracle. The cases put events, joins, departures and each community's first event exactly on
every instant and 1 µs either side, with random microseconds, so that a bound or an ``epoch()`` rounding
done differently shows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from commlab.analysis import transitions
from commlab.analysis.features_sql import ACTIVITY_EXCLUDED, ROLE_FEATURE_IDS, SNAPSHOT_VALUES, bound_literals
from commlab.analysis.roles import RoleThresholds, role_conditions
from commlab.analysis.transitions import role_feature_frames, role_members_sql
from commlab.data import schema as S
from commlab.data.stored import StoredEvents
from commlab.engines.duck import DuckDBEngine

U = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731
US = pd.Timedelta(microseconds=1)
_sql_list = transitions._sql_list


def _former_role_features_sql(events: str, mm: str, bounds: list[pd.Timestamp]) -> str:
    """The former role-feature query (one SQL statement, the running sums by joins), frozen as the oracle."""
    lits = bound_literals(bounds)
    values = ", ".join(f"({k}, {lit})" for k, lit in enumerate(lits))
    bucket = "CASE " + " ".join(f"WHEN t <= {lit} THEN {k}" for k, lit in enumerate(lits)) + " END"
    content, inter = _sql_list(S.CONTENT_EVENTS), _sql_list(S.INTERACTION_EVENTS)
    activity = (f"(SELECT CAST(community_id AS VARCHAR) AS community_id, CAST(member_id AS VARCHAR) AS member_id, "
                f"CAST(ts AS TIMESTAMPTZ) AS t, CAST(event_type AS VARCHAR) AS event_type, "
                f"CAST(target_member_id AS VARCHAR) AS target_member_id "
                f"FROM {events} WHERE CAST(ts AS TIMESTAMPTZ) <= {lits[-1]} "
                f"AND CAST(event_type AS VARCHAR) NOT IN ({_sql_list(ACTIVITY_EXCLUDED)}))")
    return f"""
WITH bnd AS (
    SELECT * FROM (VALUES {values}) AS v(k, as_of)
),
-- per member number and bucket; events of unknown members find no row of mm
a AS (
    SELECT mm.m, {bucket} AS j,
        count(*) AS n_events, max(t) AS last_ts,
        count_if(e.event_type IN ({content})) AS ugc,
        count_if(e.event_type = 'purchase') AS purchases
    FROM {activity} AS e
    JOIN {mm} AS mm ON mm.community_id = e.community_id AND mm.member_id = e.member_id
    GROUP BY 1, 2
),
-- the bucket of each (source, target) pair's first interaction, both sides by number (the target's
-- fixes the community); a source without a number (not a member by the last instant, who still counts
-- as a partner) keeps its name, so the pairs group on two integers and a NULL
pr AS (
    SELECT t.m, s.m AS source, CASE WHEN s.m IS NULL THEN e.member_id END AS unnumbered, min({bucket}) AS j
    FROM {activity} AS e
    JOIN {mm} AS t ON t.community_id = e.community_id AND t.member_id = e.target_member_id
    LEFT JOIN {mm} AS s ON s.community_id = e.community_id AND s.member_id = e.member_id
    WHERE e.event_type IN ({inter}) AND NULLIF(e.target_member_id, e.member_id) IS NOT NULL
    GROUP BY 1, 2, 3
),
-- per member and instant k: the sums over the buckets j <= k (the partners first counted per bucket)
ak AS (
    SELECT a.m, b.k, CAST(sum(a.n_events) AS BIGINT) AS n_events, max(a.last_ts) AS last_ts,
           CAST(sum(a.ugc) AS BIGINT) AS ugc, CAST(sum(a.purchases) AS BIGINT) AS purchases
    FROM a JOIN bnd b ON a.j <= b.k
    GROUP BY 1, 2
),
pj AS (
    SELECT m, j, count(*) AS partners FROM pr GROUP BY 1, 2
),
pk AS (
    SELECT pj.m, b.k, CAST(sum(pj.partners) AS BIGINT) AS partners_in
    FROM pj JOIN bnd b ON pj.j <= b.k
    GROUP BY 1, 2
),
f AS (
    SELECT b.k, b.as_of, mm.m, mm.joined_at, mm.left_at, mm.is_staff,
           (epoch(b.as_of) - epoch(greatest(mm.joined_at, coalesce(
               CASE WHEN mm.first_ts <= b.as_of THEN mm.first_ts END, mm.joined_at)))) / 86400.0 AS observed_days,
           ak.n_events, ak.last_ts, ak.ugc, ak.purchases, pk.partners_in
    FROM {mm} AS mm
    JOIN bnd b ON mm.joined_at <= b.as_of
    LEFT JOIN ak ON ak.m = mm.m AND ak.k = b.k
    LEFT JOIN pk ON pk.m = mm.m AND pk.k = b.k
)
SELECT
    CAST(k AS INTEGER) AS k,
    m,
    {SNAPSHOT_VALUES}
FROM f
"""



def _former_codes(ev, mem, bounds, th):
    """(k, m, code) of every member at every instant by the former query, sorted by (k, m), and its features."""
    eng = DuckDBEngine()
    con = eng.connect()
    try:
        v = eng.register_tables(con, events=ev, members=mem)
        con.execute(f"CREATE TEMP TABLE role_members AS {role_members_sql(v['events'], v['members'], bounds[-1])}")
        f = con.execute(_former_role_features_sql(v["events"], "role_members", bounds) + " ORDER BY k, m").df()
    finally:
        con.close()
    conds = role_conditions(f, th)
    code = np.select([c.to_numpy(dtype=bool) for _, c in conds], np.arange(len(conds)), len(conds))
    return f, code


def _new_features(ev, mem, bounds):
    eng = DuckDBEngine()
    con = eng.connect()
    try:
        v = eng.register_tables(con, events=ev, members=mem)
        con.execute(f"CREATE TEMP TABLE role_members AS {role_members_sql(v['events'], v['members'], bounds[-1])}")
        parts = [f.assign(k=k, m=m) for k, m, f in role_feature_frames(con, v["events"], "role_members", bounds)]
    finally:
        con.close()
    return pd.concat(parts, ignore_index=True).sort_values(["k", "m"], ignore_index=True)


def _bound_case(seed: int, n_mem: int = 80, n_ev: int = 1500):
    """Members, events and instants with joins, departures, events and first events on and 1 µs around each instant."""
    rng = np.random.default_rng(seed)
    # DuckDB's epoch() of the last instant is not its microseconds / 1e6
    bounds = [U("2024-01-01"), U("2024-02-01"), U("2024-03-01"), U("2024-03-15 12:30:00.196436")]
    near = np.array([b + d for b in bounds for d in (-US, pd.Timedelta(0), US)], dtype=object)
    comms = ["c", "d", "e", "f"]

    def instants(n, lo, days):
        t = U(lo) + pd.to_timedelta(rng.integers(0, days * 86_400_000_000, n), unit="us")
        on = rng.random(n) < 0.25  # a quarter exactly on an instant or 1 µs either side
        return pd.Series(np.where(on, rng.choice(near, n), t.to_numpy(dtype=object))).astype("datetime64[ns, UTC]")

    members = pd.DataFrame({
        "community_id": rng.choice(comms, n_mem),
        "member_id": [f"m{i}" for i in range(n_mem)],
        "joined_at": instants(n_mem, "2023-11-01", 150),
        "left_at": instants(n_mem, "2023-12-01", 120).where(rng.random(n_mem) < 0.3),
        "role": rng.choice(["member", "member", "member", "staff", "owner", "bot"], n_mem),
    })
    ids = [*members["member_id"], "ghost1", "ghost2"]
    ev = pd.DataFrame({
        "community_id": rng.choice(comms, n_ev), "member_id": rng.choice(ids, n_ev),
        "ts": instants(n_ev, "2023-11-10", 140),
        "event_type": rng.choice(["message", "reply", "mention", "reaction", "purchase", "post", "join", "leave",
                                  "checkin"], n_ev),
        "target_member_id": np.where(rng.random(n_ev) < 0.6, rng.choice(ids, n_ev), None),
    })
    # community f's first event exactly on, or 1 µs after, the second instant
    ev.loc[ev["community_id"] == "f", "ts"] = ev.loc[ev["community_id"] == "f", "ts"].clip(
        lower=bounds[1] + (US if seed % 2 else pd.Timedelta(0)))
    ev["amount"] = np.where(ev["event_type"] == "purchase", 3.0, np.nan)
    return ev, members, bounds


TH = RoleThresholds(newcomer_days=20, churn_days=10, zombie_days=25, core_min_ugc_30d=2, core_min_partners_in=2,
                    contributor_min_ugc_30d=0.8, lurker_max_ugc_30d=0.3)


@pytest.mark.parametrize("seed", range(8))
def test_role_features_and_codes_equal_the_former_query(seed):
    ev, mem, bounds = _bound_case(seed)
    want, want_code = _former_codes(ev, mem, bounds, TH)
    got = _new_features(ev, mem, bounds)
    assert len(got) == len(want) > 150
    for c in ["k", "m", *ROLE_FEATURE_IDS]:
        a, b = got[c].to_numpy(), want[c].to_numpy()
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            np.testing.assert_array_equal(a.astype(float), b.astype(float), err_msg=c)
        else:
            assert (a == b).all(), c
    assert got["n_events"].dtype == want["n_events"].dtype and got["tenure_days"].dtype == want["tenure_days"].dtype
    # the codes the rules give, and the transitions counted from them, equal the former ones
    k, m, code, _ = transitions._rule_role_codes(None, ev, mem, bounds, TH, S.STAFF_ROLES)
    order = np.lexsort((m, k))
    assert (code[order] == want_code).all()
    # the cases reach the bounds: tenure 0 at an instant, a member leaving exactly then, partners, silence
    assert (want["tenure_days"] == 0).any() and want["has_left"].any() and want["partners_in"].max() > 1
    assert want["recency_days"].isna().any() and (want["recency_days"] == 0).any()


def _keyed_store(folder, seed: int, *, n_mem: int = 90, n_ev: int = 2500):
    """A data folder of :func:`_bound_case`'s kind without unknown members or targets (the import would refuse
    them), events in random order: the streamed import sorts them and stores the member keys with them."""
    from commlab.data.checks_sql import eligible

    ev, mem, bounds = _bound_case(seed, n_mem=n_mem, n_ev=n_ev)
    known = set(zip(mem["community_id"], mem["member_id"], strict=True))
    by_comm = mem.groupby("community_id")["member_id"].agg(list)
    rng = np.random.default_rng(seed)
    ev = ev[ev["community_id"].isin(by_comm.index)].reset_index(drop=True)
    ev["member_id"] = [m if (c, m) in known else rng.choice(by_comm[c]) for c, m in zip(ev["community_id"],
                                                                                         ev["member_id"], strict=True)]
    ev["target_member_id"] = [None if t is None else t if (c, t) in known else rng.choice(by_comm[c])
                              for c, t in zip(ev["community_id"], ev["target_member_id"], strict=True)]
    self_target = ev["target_member_id"].notna() & (rng.random(len(ev)) < 0.1)
    ev.loc[self_target, "target_member_id"] = ev.loc[self_target, "member_id"]
    ev = ev.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # not in (community, time) order
    mem["joined_at"] = mem["joined_at"].clip(upper=U("2024-03-20"))
    created = min(ev["ts"].min(), mem["joined_at"].min()) - pd.Timedelta(days=1)
    comm = pd.DataFrame({"community_id": sorted(by_comm.index), "name": "n", "theme": "interest",
                         "business_model": "product_sales", "lifecycle": "mature", "platform": "wechat",
                         "monetization": "product", "created_at": created})
    folder.mkdir(parents=True)
    comm.to_parquet(folder / "communities.parquet", index=False)
    mem.astype({"community_id": "string", "member_id": "string", "role": "string"}).to_parquet(
        folder / "members.parquet", index=False)
    ev.astype({c: "string" for c in ("community_id", "member_id", "event_type", "target_member_id")}).to_parquet(
        folder / "events.parquet", index=False)
    assert eligible(folder / "events.parquet")
    return bounds


def _named_codes(events, members, bounds):
    """(k, community, member, role code, role features) of :func:`transitions._rule_role_codes`, sorted, and
    whether it went by the keys."""
    seen, frames = [], []
    real = transitions.role_feature_frames

    def spy(con, ev, mm, bnd, *, keys=None):
        seen.append(keys is not None)
        for k, m, f in real(con, ev, mm, bnd, keys=keys):
            frames.append(f.assign(k=k, m=m))
            yield k, m, f

    mp = pytest.MonkeyPatch()
    mp.setattr(transitions, "role_feature_frames", spy)
    try:
        k, m, code, _ = transitions._rule_role_codes(None, events, members, bounds, TH, S.STAFF_ROLES)
    finally:
        mp.undo()
    eng = DuckDBEngine()
    con = eng.connect()
    try:  # the names behind the numbers, as the path numbered them
        v = eng.register_tables(con, events=events, members=members)
        key_sql = f"read_parquet('{events.keys}')" if seen[0] else None
        mm_sql = role_members_sql(v["events"], v["members"], bounds[-1], keys=key_sql)
        names = con.execute(f"SELECT m, community_id, member_id FROM ({mm_sql})").df()
    finally:
        con.close()
    out = pd.DataFrame({"k": k, "m": m, "code": code}).merge(pd.concat(frames), on=["k", "m"], how="left")
    out = out.merge(names, on="m", how="left")
    assert out["member_id"].notna().all() and out["tenure_days"].notna().all()
    return out.drop(columns="m").sort_values(["k", "community_id", "member_id"], ignore_index=True), seen[0]


@pytest.mark.parametrize("seed", range(4))
def test_role_codes_from_the_keyed_store_equal_those_from_the_ids(tmp_path, monkeypatch, seed):
    """Stored events with the import's member keys are counted by key in NumPy (no join, no grouping), with the
    features (to the bit) and codes of the ids' path; with the communities restricted too, and by the ids when a
    member of the table has no key."""
    from commlab.data import load_dataset

    counted = []
    real = transitions._keyed_bucket_rows
    monkeypatch.setattr(transitions, "_keyed_bucket_rows", lambda *a: counted.append(a[2]) or real(*a))
    bounds = _keyed_store(tmp_path / "d", seed)
    ds = load_dataset(tmp_path / "d", cache=tmp_path / "cache", stream=True)
    stored = ds.events_source  # taken first: reading ds.events loads them into a DataFrame
    assert isinstance(stored, StoredEvents) and stored.keys is not None
    by_ids, keyed = _named_codes(ds.events, ds.members, bounds)
    assert not keyed and len(by_ids) > 150 and by_ids["code"].nunique() >= 5 and by_ids["partners_in"].max() > 2
    by_keys, keyed = _named_codes(stored, ds.members, bounds)
    assert keyed and counted == [f"read_parquet('{stored.keys}')"]
    pd.testing.assert_frame_equal(by_keys, by_ids, check_exact=True)  # the same doubles, bit for bit
    # the former query on the same data
    want, want_code = _former_codes(ds.events, ds.members, bounds, TH)
    assert sorted(want_code.tolist()) == sorted(by_keys["code"].tolist())
    # restricted to two communities
    two = load_dataset(tmp_path / "d", cache=tmp_path / "cache", stream=True, communities=["c", "f"])
    part_keys, keyed = _named_codes(two.events_source, two.members, bounds)
    assert keyed and set(part_keys["community_id"]) == {"c", "f"}
    pd.testing.assert_frame_equal(part_keys, _named_codes(two.events, two.members, bounds)[0], check_exact=True)
    # a member the keys do not know: numbered and summed by the ids
    extra = pd.concat([ds.members, ds.members.iloc[[0]].assign(member_id="newcomer")], ignore_index=True)
    fallback, keyed = _named_codes(stored, extra, bounds)
    assert not keyed
    pd.testing.assert_frame_equal(fallback, _named_codes(ds.events, extra, bounds)[0], check_exact=True)


def test_duckdb_epochs_are_those_of_the_query_row_for_row():
    """The epochs of the keyed path's last events are DuckDB's ``epoch()`` in the rows' order, on a connection of the
    engine (DuckDB's threads free to reorder the rows of a large table), and the connection's setting is kept."""
    rng = np.random.default_rng(7)
    us = rng.integers(1_600_000_000_000_000, 1_800_000_000_000_000, 1_500_000)
    con = DuckDBEngine(threads=2).connect()
    try:
        got = transitions.duckdb_epochs(con, us)
        con.register("u", pd.DataFrame({"i": np.arange(len(us)), "us": us}))
        want = con.execute("SELECT epoch(make_timestamptz(us)) AS e FROM u ORDER BY i").fetchnumpy()["e"]
        ((kept,),) = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()
    finally:
        con.close()
    np.testing.assert_array_equal(got, want)
    assert (got != us / 1e6).mean() > 0.1  # the division would not do
    assert kept is False
