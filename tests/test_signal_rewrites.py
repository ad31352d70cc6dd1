"""Notebook 05's signals read from one per-member pass over the events: each equals its former SQL, the oracle.

(And the expert-in share, its bot targets left out per target after counting instead of per event.)

:meth:`~commlab.analysis.signals_sql.EventFacts.member_pass` reads the events (joined to the instants) once for
the Orbit love, the quiet top members, the first-cohort retention and the bulk-invited zombies, which each read the
events before. The data are the seeded random communities of ``test_prelude_rewrites`` (events at joins, at the
instant, at ``joined_at + 30 / 60 / 90 days`` and 1 µs around them), with events added exactly at and 1 µs around
the instant minus 30 and 90 days and minus whole Orbit months, and members invited in bulk. Each comparison is
exact; a rewrite with a bound moved by 1 µs is shown to differ from the oracle on these data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from commlab.analysis import signals_sql
from commlab.analysis.orbit import orbit_from_love
from commlab.analysis.signals_sql import _DAY_US, _KEYS, EventFacts, _as_times, _weights
from commlab.data import Dataset
from commlab.data.schema import STAFF_ROLES, Col
from commlab.engines.duck import DuckDBEngine
from test_prelude_rewrites import tied_case

SEEDS = range(12)
MONTH = pd.Timedelta(days=30.4375)


class FormerFacts(EventFacts):
    """The four signals as they were: each one a query over the events."""

    def quiet_top_members(self, *, top_share: float = 0.05, lookback_days: int = 90,
                          quiet_days: tuple[int, int] = (7, 28)) -> pd.Series:
        top = self.rows(f"""
WITH ns AS NOT MATERIALIZED (SELECT * FROM e WHERE NOT s),
k AS (SELECT c, m, count(*) AS content FROM ns
      WHERE et IN ('message', 'post', 'reply') AND t > n - {int(lookback_days)} * {_DAY_US}::BIGINT GROUP BY c, m),
r AS (SELECT *, row_number() OVER (PARTITION BY c ORDER BY content DESC, m) AS rk,
             count(*) OVER (PARTITION BY c) AS sz FROM k),
top AS (SELECT c, m, content FROM r
        WHERE rk <= round_even(greatest(CAST(sz AS DOUBLE) * CAST({float(top_share)!r} AS DOUBLE), 1.0), 0)),
last AS (SELECT ns.c, ns.m, max(ns.t) AS last FROM ns SEMI JOIN top ON top.c = ns.c AND top.m = ns.m
         WHERE ns.et NOT IN ('join', 'leave') GROUP BY ns.c, ns.m)
SELECT top.c AS community_id, top.m AS member_id, last.last FROM top LEFT JOIN last ON last.c = top.c AND last.m = top.m
""")
        now = pd.Series(pd.DatetimeIndex(top[Col.community_id].map(self.ends)), index=top.index)
        quiet = (now - _as_times(top["last"])).dt.total_seconds() / 86400
        lo, hi = quiet_days
        kept = top[(quiet >= lo) & (quiet <= hi)]
        return kept.groupby(Col.community_id).size().reindex(self.ids().astype(str)).fillna(0)

    def first_cohort_gap(self, *, first_days: int = 14, horizon_days: int = 30) -> pd.Series:
        m = self._cohort(horizon_days, first_days)
        self.register("cohort_frame", pd.DataFrame({
            "c": m[Col.community_id].astype(str).to_numpy(dtype=object),
            "m": m[Col.member_id].astype(str).to_numpy(dtype=object),
            "j": pd.DatetimeIndex(m["joined_at"]).as_unit("us").asi8}))
        kept = self.rows(f"""
SELECT DISTINCT e.c AS community_id, e.m AS member_id FROM e
JOIN cohort_frame k ON CAST(k.c AS VARCHAR) = e.c AND CAST(k.m AS VARCHAR) = e.m
WHERE e.et NOT IN ('join', 'leave') AND e.t - k.j >= {int(horizon_days)} * {_DAY_US}::BIGINT
  AND e.t - k.j < {2 * int(horizon_days)} * {_DAY_US}::BIGINT""")
        m = m.assign(community_id=m[Col.community_id].astype(str), member_id=m[Col.member_id].astype(str))
        m = m.merge(kept.astype(str).assign(retained=True), how="left", on=_KEYS)
        m["retained"] = m["retained"].notna()
        g = m.groupby([Col.community_id, "first"])["retained"].agg(["size", "mean"]).unstack("first")
        out = pd.DataFrame(index=self.communities[Col.community_id].astype(str))
        out["first_retention"] = g.get(("mean", True))
        out["later_retention"] = g.get(("mean", False))
        return out["first_retention"] - out["later_retention"]

    def bulk_zombies(self, *, bulk: int = 10) -> pd.Series:
        ids, members = self.ids(), self.members
        now = members[Col.community_id].astype(str).map(self.ends)
        m = members[(~members["role"].isin(STAFF_ROLES) & (members["joined_at"] <= now)
                     & (members["left_at"].isna() | (members["left_at"] > now))
                     & members["invited_by"].notna()).to_numpy()]
        m = m.assign(_n=m.groupby([Col.community_id, "invited_by"])[Col.member_id].transform("size"))
        m = m[m["_n"] >= bulk]
        self.register("bulk_frame", pd.DataFrame({"c": m[Col.community_id].astype(str).to_numpy(dtype=object),
                                                  "m": m[Col.member_id].astype(str).to_numpy(dtype=object)}))
        recent = self.rows(f"""
SELECT DISTINCT e.c AS community_id, e.m AS member_id FROM e
JOIN bulk_frame b ON CAST(b.c AS VARCHAR) = e.c AND CAST(b.m AS VARCHAR) = e.m
WHERE e.t > e.n - 30 * {_DAY_US}::BIGINT AND e.et NOT IN ('join', 'leave')""")
        m = m.assign(community_id=m[Col.community_id].astype(str), member_id=m[Col.member_id].astype(str))
        m = m.merge(recent.astype(str).assign(_r=True), on=_KEYS, how="left")
        now = m[Col.community_id].map(self.ends)
        zombie = ((m["joined_at"] <= now - pd.Timedelta(days=30)) & m["_r"].isna()).astype(float)
        return zombie.groupby(m[Col.community_id]).mean().reindex(ids.astype(str)).astype(float)

    def _expert_hits(self, win: str, interactions: str) -> pd.DataFrame:
        return self.rows(f"""
WITH hits AS (SELECT w.c, w.tgt, count(*) AS k FROM {win} w
              WHERE w.et IN {interactions} AND w.tgt IS NOT NULL AND w.tgt <> w.m
                AND NOT EXISTS (SELECT 1 FROM roles_frame b WHERE b.role = 'bot' AND b.c = w.c AND b.m = w.tgt)
              GROUP BY w.c, w.tgt)
SELECT c AS community_id, max(k) AS top, sum(k) AS total FROM hits GROUP BY c""")

    def per_member(self) -> dict[str, pd.Series]:
        """What the signals are computed from, per member: non-staff content counts in 90 days, the last event of
        non-staff members, the members active in the last 30 days and the cohort members retained."""
        content = self.rows(f"""
SELECT c AS community_id, m AS member_id, count(*) AS v FROM e
WHERE NOT s AND et IN ('message', 'post', 'reply') AND t > n - 90 * {_DAY_US}::BIGINT GROUP BY c, m""")
        last = self.rows("""
SELECT c AS community_id, m AS member_id, max(t) AS v FROM e WHERE NOT s AND et NOT IN ('join', 'leave')
GROUP BY c, m""")
        recent = self.rows(f"""
SELECT DISTINCT c AS community_id, m AS member_id, true AS v FROM e
WHERE t > n - 30 * {_DAY_US}::BIGINT AND et NOT IN ('join', 'leave')""")
        m = self._cohort(30, 14)
        self.register("cohort_frame", pd.DataFrame({
            "c": m[Col.community_id].astype(str).to_numpy(dtype=object),
            "m": m[Col.member_id].astype(str).to_numpy(dtype=object),
            "j": pd.DatetimeIndex(m["joined_at"]).as_unit("us").asi8}))
        retained = self.rows(f"""
SELECT DISTINCT e.c AS community_id, e.m AS member_id, true AS v FROM e
JOIN cohort_frame k ON CAST(k.c AS VARCHAR) = e.c AND CAST(k.m AS VARCHAR) = e.m
WHERE e.et NOT IN ('join', 'leave') AND e.t - k.j >= 30 * {_DAY_US}::BIGINT AND e.t - k.j < 60 * {_DAY_US}::BIGINT""")
        return {"content": _by_member(content), "last": _by_member(last), "recent": _by_member(recent),
                "retained": _by_member(retained)}

    def love(self) -> pd.Series:
        self.register("weights_frame", _weights())
        love = self.rows("""
SELECT e.c AS community_id, e.m AS member_id,
       sum(w.w * pow(CAST(0.9 AS DOUBLE), floor(CAST(e.n - e.t AS DOUBLE) / 1e6 / 86400.0 / 30.4375))) AS love
FROM e JOIN weights_frame w ON CAST(w.et AS VARCHAR) = e.et GROUP BY e.c, e.m""")
        return _love_series(love)


def _same(got: pd.Series, want: pd.Series, name: str) -> bool:
    """Equal (the love to 12 significant digits: sums of the same terms in another order)."""
    if name != "love":
        return got.equals(want)
    return got.index.equals(want.index) and bool(np.allclose(got, want, rtol=1e-12, atol=0))


def _love_series(love: pd.DataFrame) -> pd.Series:
    idx = pd.MultiIndex.from_arrays([love[Col.community_id].astype(str), love[Col.member_id].astype(str)], names=_KEYS)
    return pd.Series(love["love"].to_numpy(dtype=float), index=idx).sort_index()


def _by_member(rows: pd.DataFrame) -> pd.Series:
    idx = pd.MultiIndex.from_arrays([rows[Col.community_id].astype(str), rows[Col.member_id].astype(str)], names=_KEYS)
    return pd.Series(rows["v"].to_numpy(), index=idx).sort_index()


def _new_per_member(ef: EventFacts) -> dict[str, pd.Series]:
    pm, ns = ef.member_pass(), "NOT EXISTS (SELECT 1 FROM staff st WHERE st.c = p.c AND st.m = p.m)"
    sql = "SELECT c AS community_id, m AS member_id, {v} AS v FROM {pm} p WHERE {where}"
    return {name: _by_member(ef.rows(sql.format(v=v, pm=pm, where=where))) for name, v, where in [
        ("content", "content", f"content > 0 AND {ns}"), ("last", "last", f"last IS NOT NULL AND {ns}"),
        ("recent", "true", f"last > (SELECT n FROM lim WHERE lim.c = p.c) - 30 * {_DAY_US}::BIGINT"),
        ("retained", "true", "retained")]}


def _new_love(ef: EventFacts) -> pd.Series:
    return _love_series(ef.rows(f"SELECT c AS community_id, m AS member_id, love FROM {ef.member_pass()} "
                                "WHERE love IS NOT NULL"))


def signal_case(seed: int, template: pd.DataFrame) -> tuple[Dataset, pd.Timestamp]:
    """``tied_case`` plus events at and 1 µs around the instant minus 7, 28, 30, 90 days and 1-3 Orbit months, an
    inviter per member (most members of a community invited by one member: in bulk) and content in channels."""
    ds, as_of = tied_case(seed, template)
    rng = np.random.default_rng(30_000 + seed)
    us = pd.Timedelta(microseconds=1)
    rows = []
    for _, m in ds.members.sample(frac=0.5, random_state=seed).iterrows():
        for back in (pd.Timedelta(days=7), pd.Timedelta(days=28), pd.Timedelta(days=30), pd.Timedelta(days=90),
                     MONTH, 2 * MONTH, 3 * MONTH):
            for shift in (-us, pd.Timedelta(0), us):
                if rng.random() < 0.3:
                    t = ("message", "post", "reply", "reaction", "join", "leave")[int(rng.integers(0, 6))]
                    rows.append((m["community_id"], m["member_id"], as_of - back + shift, t, np.nan))
    # members whose only events sit on a bound: retained by an event at joined + 60 days (out) or 30 days (in),
    # in the top by one message 90 days before the instant (out), active 30 days before it (out)
    day, joined, tied = pd.Timedelta(days=1), as_of - 100 * pd.Timedelta(days=1), []
    for c in ds.communities[Col.community_id].astype(str):
        tied += [(c, "tie60", joined, pd.NaT, "member", "T60"), (c, "tie30", joined, pd.NaT, "member", "T30"),
                 (c, "tie90", joined, pd.NaT, "member", "T90"), (c, "tie_30", joined, pd.NaT, "member", "T_30")]
        rows += [(c, "tie60", joined + 60 * day, "message", np.nan),
                 (c, "tie30", joined + 30 * day, "reaction", np.nan),
                 (c, "tie90", as_of - 90 * day, "post", np.nan), (c, "tie90", as_of - 10 * day, "reaction", np.nan),
                 (c, "tie_30", as_of - 30 * day, "message", np.nan)]
    extra = pd.DataFrame(rows, columns=["community_id", "member_id", "ts", "event_type", "amount"])
    for col in ("community_id", "member_id", "event_type"):
        extra[col] = extra[col].astype("string")
    ev = pd.concat([ds.events, extra], ignore_index=True)
    # content in channels: a member's counts add up over them
    pick = rng.integers(0, 3, len(ev))
    ev["channel"] = pd.array(np.where(ev["event_type"].isin(["message", "post", "reply"]).to_numpy() & (pick > 0),
                                      np.where(pick == 1, "答疑", "闲聊"), None), dtype="string")
    tied = pd.DataFrame(tied, columns=["community_id", "member_id", "joined_at", "left_at", "role", "display_name"])
    tied["joined_at"], tied["left_at"] = pd.to_datetime(tied["joined_at"]), pd.to_datetime(tied["left_at"], utc=True)
    mem = pd.concat([ds.members, tied.astype({k: "string" for k in ("community_id", "member_id", "role",
                                                                      "display_name")})], ignore_index=True)
    mem["invited_by"] = pd.array(np.where(rng.random(len(mem)) < 0.85, "m0",
                                          np.where(rng.random(len(mem)) < 0.5, None, "m1")), dtype="string")
    return Dataset(ds.communities, mem, ev), as_of


@pytest.fixture(scope="module")
def template(samples_dir) -> pd.DataFrame:
    return pd.read_csv(samples_dir / "communities.csv", dtype="string")


@pytest.fixture(scope="module")
def cases(template) -> list[tuple[Dataset, pd.Series]]:
    out = []
    for seed in SEEDS:
        ds, as_of = signal_case(seed, template)
        ends = pd.Series(as_of, index=ds.communities[Col.community_id].astype(str))
        if seed % 3 == 1:  # communities at different instants in one query
            ends.iloc[0] = as_of - pd.Timedelta(days=45, microseconds=1)
        out.append((ds, ends))
    return out


def _facts(ds: Dataset, ends: pd.Series, cls: type[EventFacts]) -> dict[str, pd.Series]:
    engine = DuckDBEngine()
    con = engine.connect()
    try:
        engine.register_tables(con, events=ds.events, members=ds.members, communities=ds.communities)
        ef = cls(con, ds.members, ds.communities, ends)
        former = isinstance(ef, FormerFacts)
        love = ef.love() if former else _new_love(ef)
        return {**(ef.per_member() if former else _new_per_member(ef)),
                "quiet": ef.quiet_top_members(), "quiet_30d": ef.quiet_top_members(lookback_days=30),
                "quiet_all": ef.quiet_top_members(top_share=1.0), "bulk_3": ef.bulk_zombies(bulk=3),
                "cohort": ef.first_cohort_gap(), "cohort_short": ef.first_cohort_gap(horizon_days=7),
                "bulk": ef.bulk_zombies(), "love": love, "near": ef.near_next_orbit(),
                **{k: v for k, v in ef.preconditions().set_index(Col.community_id).items()},
                "expert_30d": ef.preconditions(days=30)["expert_in_share"]}
    finally:
        con.close()


@pytest.fixture(scope="module")
def former(cases) -> list[dict[str, pd.Series]]:
    return [_facts(ds, ends, FormerFacts) for ds, ends in cases]


def test_the_member_pass_signals_equal_the_former_queries(cases, former):
    seen = {"content": 0, "last": 0, "recent": 0, "retained": 0, "quiet": 0, "quiet_all": 0, "cohort": 0,
            "cohort_short": 0, "bulk_3": 0, "near": 0, "expert_in_share": 0}
    for (ds, ends), want in zip(cases, former, strict=True):
        got = _facts(ds, ends, EventFacts)
        for name, series in want.items():  # the love: sums of the same terms, per channel first (the Orbit rounds it)
            pd.testing.assert_series_equal(got[name], series, check_exact=name != "love", rtol=1e-12,
                                           check_names=False, obj=name)
        for name in seen:
            seen[name] += int((want[name].fillna(0) != 0).sum())
    assert all(n > 0 for n in seen.values()), seen  # each signal has values other than 0 in the data


def test_the_member_pass_is_one_row_per_member_and_keeps_the_love_levels(cases):
    ds, ends = cases[0]
    with signals_sql.event_facts(ds.events, ds.members, ds.communities, ends) as ef:
        rows = ef.rows(f"SELECT count(*) AS n, count(DISTINCT (c, m)) AS k FROM {ef.member_pass()}")
        members = ef.rows("SELECT count(DISTINCT (c, m)) AS k FROM e")
        assert ef.member_pass() == ef.member_pass()  # built once
    assert rows["n"].iloc[0] == rows["k"].iloc[0] == members["k"].iloc[0] < len(ds.events) / 3
    love = _facts(ds, ends, EventFacts)["love"]
    assert orbit_from_love(love.rename("love"))["orbit_level"].nunique() > 1


@pytest.mark.parametrize(("old", "wrong"), [
    ("e.t > e.n - 90 * ", "e.t >= e.n - 90 * "),  # the quiet top members' lookback
    ("e.t - k.j < 60 * ", "e.t - k.j <= 60 * "),  # the cohort's retention window
    ("p.last > l.n - 30 * ", "p.last >= l.n - 30 * "),  # the bulk zombies' last 30 days
    ("30.4375) AS BIGINT)", "30.4375 + 1e-9) AS BIGINT)"),  # the Orbit month (an event's age in whole months)
    ("b.role = 'bot' AND b.c = h.c", "b.role = 'guest' AND b.c = h.c"),  # the bots among the experts' targets
])
def test_a_bound_moved_by_one_microsecond_is_seen(cases, former, monkeypatch, old, wrong):
    real = signals_sql.query_rows
    changed = []

    def mutate(con, sql):  # the rewrite's queries only: the former ones were run by the fixture
        changed.append(old in sql)
        return real(con, sql.replace(old, wrong))

    monkeypatch.setattr(signals_sql, "query_rows", mutate)
    differ = 0
    for (ds, ends), want in zip(cases, former, strict=True):
        got = _facts(ds, ends, EventFacts)
        differ += sum(not _same(got[k], want[k], k) for k in want)
    assert any(changed) and differ > 0
