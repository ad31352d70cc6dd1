"""Naive pandas versions of the member features and community metrics: the test oracle.

Plain ``groupby``/``merge`` code written from the *definitions* (the docstrings of
:data:`commlab.analysis.features.FEATURES` and of the metric registry), independently of the
SQL, so that ``tests/test_parity.py`` can check the SQL engines against it and
``benchmarks/run.py`` can measure what the engines save over the obvious pandas approach.
Everything is loaded in memory; nothing here is meant to be fast.

Metrics are computed for the single period ``"all"`` (``window=None``: everything up to
``as_of``). The graph measures reuse the graph arithmetic of
:mod:`commlab.analysis.network` (networkx); what is independent here is the selection and
counting of edges. The group size ``n`` (members a value is computed over, see
:mod:`commlab.analysis.metrics`) is recomputed here too for every metric that declares one.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd

from commlab.analysis.economy import economy_index
from commlab.analysis.features import ACTIVITY_EXCLUDED, tidy_features
from commlab.analysis.highvalue import speed_score
from commlab.analysis.network import DEFAULT_KINDS, build_graph, graph_measures, jaccard, main_core
from commlab.data import schema as S
from commlab.data.schema import STAFF_ROLES, Col
from commlab.instant import as_utc

__all__ = ["naive_member_features", "naive_metrics", "naive_rfm", "naive_activity_summary",
           "naive_daily_activity", "naive_weekday_hour", "NAIVE_METRICS"]

K = [Col.community_id, Col.member_id]
DAY = pd.Timedelta(days=1)
#: Features in days that are real numbers, not counts.
_INT_UNITS_EXCEPT_FLOATS = frozenset({"tenure_days", "observed_days", "recency_days"})
INTER = list(S.INTERACTION_EVENTS)
CONTENT = list(S.CONTENT_EVENTS)


def _ids(frame: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for c in cols:
        if c in out:
            out[c] = out[c].astype("string")
    return out


def _days(delta: pd.Series) -> pd.Series:
    return delta.dt.total_seconds() / 86400.0


# --------------------------------------------------------------------------- features
def naive_member_features(events: pd.DataFrame, members: pd.DataFrame, *, as_of,
                          staff_roles: tuple[str, ...] = STAFF_ROLES) -> pd.DataFrame:
    """Every member feature with plain pandas group-bys (same output shape as the SQL).

    Parameters
    ----------
    events, members : DataFrame
        Canonical tables in memory.
    as_of : str or Timestamp
        Naive = UTC.
    staff_roles : tuple of str
        Roles flagged ``is_staff``.

    Returns
    -------
    DataFrame
        ``community_id, member_id`` and every feature id, sorted by community and member.
    """
    T = as_utc(as_of)
    ev_all = _ids(events[events["ts"] <= T], [Col.community_id, Col.member_id, "event_type", "target_member_id"])
    m = _ids(members[members["joined_at"] <= T], [Col.community_id, Col.member_id, "role"])
    m = m[[Col.community_id, Col.member_id, "joined_at", "left_at", "role"]].copy()
    m["is_staff"] = m["role"].isin(staff_roles).fillna(False).astype(bool)
    first = ev_all.groupby(Col.community_id)["ts"].min().rename("first_ts")
    m = m.merge(first, left_on=Col.community_id, right_index=True, how="left")
    start = m["joined_at"].where(m["first_ts"].isna() | (m["first_ts"] <= m["joined_at"]), m["first_ts"])
    m["observed_days"] = _days(T - start)

    e = ev_all[~ev_all["event_type"].isin(ACTIVITY_EXCLUDED)].copy()
    e["target"] = e["target_member_id"].where(e["target_member_id"] != e[Col.member_id])
    e["amount"] = e["amount"].astype("float64") if "amount" in e else np.nan
    staff_of = m.set_index(K)["is_staff"]
    own = e.merge(m[[*K, "joined_at"]], on=K, how="inner")
    tkey = pd.MultiIndex.from_arrays([own[Col.community_id], own["target"]])
    own["target_is_staff"] = staff_of.reindex(tkey).to_numpy(dtype=object) == True  # noqa: E712
    own["day"] = own["ts"].dt.floor("D")
    own["week"] = own["day"] - pd.to_timedelta(own["day"].dt.day_of_week, unit="D")
    is_inter = own["event_type"].isin(INTER)
    flags = pd.DataFrame({
        Col.community_id: own[Col.community_id], Col.member_id: own[Col.member_id],
        "ugc": own["event_type"].isin(CONTENT),
        "replies_given": (own["event_type"] == "reply") & own["target"].notna(),
        "inter_out": is_inter & own["target"].notna(),
        "inter_out_staff": is_inter & own["target_is_staff"],
        "n_last30": own["ts"] > T - 30 * DAY,
        "first_week_events": (own["ts"] >= own["joined_at"]) & (own["ts"] < own["joined_at"] + 7 * DAY),
        "purchase_amount": own["amount"].where(own["event_type"] == "purchase", 0.0).fillna(0.0),
    })
    for t in ("message", "post", "reply", "mention", "reaction", "purchase", "checkin", "event_attend",
              "course_complete", "referral"):
        flags[f"t_{t}"] = own["event_type"] == t
    g = flags.groupby(K)
    o = g.sum()
    o["n_events"] = g.size()
    go = own.groupby(K)
    o["last_ts"] = go["ts"].max()
    o["active_days"] = go["day"].nunique()
    o["active_weeks"] = go["week"].nunique()
    o["partners_out"] = own[is_inter].groupby(K)["target"].nunique()

    inc = e[e["target"].notna() & e["event_type"].isin(INTER)].copy()
    skey = pd.MultiIndex.from_arrays([inc[Col.community_id], inc[Col.member_id]])
    inc["source_is_staff"] = staff_of.reindex(skey).to_numpy(dtype=object) == True  # noqa: E712
    inc["is_reply"] = inc["event_type"] == "reply"
    inc["is_reaction"] = inc["event_type"] == "reaction"
    gi = inc.groupby([Col.community_id, "target"])
    i = pd.DataFrame({
        "replies_received": gi["is_reply"].sum(),
        "reactions_received": gi["is_reaction"].sum(),
        "partners_in": gi[Col.member_id].nunique(),
        "inter_in": gi.size(),
        "inter_in_staff": gi["source_is_staff"].sum(),
    })
    i.index = i.index.set_names(K)

    p = e.loc[e["event_type"].isin(INTER) & e["target"].notna(), [Col.community_id, Col.member_id, "target"]]
    q = e.loc[(e["event_type"] == "reply") & e["target"].notna(), [Col.community_id, Col.member_id, "target"]]
    p, q = p.drop_duplicates(), q.drop_duplicates()
    back = p.merge(q.rename(columns={Col.member_id: "target", "target": Col.member_id}),
                   on=[Col.community_id, Col.member_id, "target"], how="inner")
    r = back.groupby(K).size().rename("reciprocated")

    out = m.set_index(K).join(o, how="left").join(i, how="left").join(r, how="left")
    z = lambda c: out[c].fillna(0)  # noqa: E731
    n = z("n_events")
    inter = z("inter_out") + z("inter_in")
    res = pd.DataFrame(index=out.index)
    res["tenure_days"] = _days(T - out["joined_at"])
    res["observed_days"] = out["observed_days"]
    res["recency_days"] = _days(T - out["last_ts"])
    res["n_events"] = n
    res["active_days"] = z("active_days")
    res["active_weeks"] = z("active_weeks")
    res["active_day_share"] = res["active_days"] / out["observed_days"].clip(lower=1.0)
    for t in ("message", "post", "reply", "mention", "reaction"):
        res[f"n_{t}"] = z(f"t_{t}")
    res["ugc"] = z("ugc")
    res["ugc_30d"] = res["ugc"] * 30.0 / out["observed_days"].clip(lower=30.0)
    res["replies_given"] = z("replies_given")
    res["replies_received"] = z("replies_received")
    res["reactions_received"] = z("reactions_received")
    res["partners_out"] = z("partners_out")
    res["partners_in"] = z("partners_in")
    res["reciprocity"] = (z("reciprocated") / res["partners_out"]).where(res["partners_out"] > 0)
    res["staff_interaction_share"] = ((z("inter_out_staff") + z("inter_in_staff")) / inter).where(inter > 0)
    res["last30_share"] = (z("n_last30") / n).where(n > 0)
    res["first_week_events"] = z("first_week_events")
    res["first_week_active"] = res["first_week_events"] > 0
    res["purchases"] = z("t_purchase")
    res["purchase_total"] = z("purchase_amount").astype(float)
    res["checkins"] = z("t_checkin")
    res["events_attended"] = z("t_event_attend")
    res["courses_completed"] = z("t_course_complete")
    res["referrals"] = z("t_referral")
    res["has_left"] = (out["left_at"].notna() & (out["left_at"] <= T)).astype(bool)
    res["is_staff"] = out["is_staff"].astype(bool)
    return tidy_features(res.reset_index())


# --------------------------------------------------------------------------- metrics
class _Data:
    """The relations of the metric engine, in pandas, for one period per community ending at ``T``."""

    def __init__(self, communities: pd.DataFrame, members: pd.DataFrame, events: pd.DataFrame, T: pd.Timestamp,
                 staff_roles: tuple[str, ...] = STAFF_ROLES):
        self.T = T
        self.comm = _ids(communities, [Col.community_id])
        self.ids = sorted(self.comm[Col.community_id].astype(str))
        roles = _ids(members, [Col.community_id, Col.member_id, "role"])
        if "join_channel" not in roles:
            roles["join_channel"] = pd.Series(pd.NA, index=roles.index, dtype="string")
        roles = roles[[Col.community_id, Col.member_id, "joined_at", "left_at", "role", "join_channel"]].copy()
        roles["is_staff"] = roles["role"].isin(staff_roles).astype(bool)
        roles["is_bot"] = (roles["role"] == "bot").astype(bool)
        self.roles = roles
        ev = _ids(events, [Col.community_id, Col.member_id, "event_type", "target_member_id", "thread_id", "topic"])
        for c in ("thread_id", "topic", "target_member_id", "category", "platform"):
            if c not in ev:
                ev[c] = pd.Series(pd.NA, index=ev.index, dtype="string")
        if "amount" not in ev:
            ev["amount"] = np.nan
        ev = ev.merge(roles[[*K, "is_staff", "is_bot"]], on=K, how="left")
        ev["is_staff"] = ev["is_staff"].fillna(False).astype(bool)
        ev["is_bot"] = ev["is_bot"].fillna(False).astype(bool)
        self.ev = ev[ev["ts"] <= T]          # period "all": p_start is before any event
        self.ev_any = ev                     # windows that may reach past nothing later than T
        self.act = self.ev[~self.ev["event_type"].isin(["join", "leave"])]
        left = roles["left_at"]
        self.present = roles[~roles["is_staff"] & (roles["joined_at"] <= T) & (left.isna() | (left > T))][K]
        #: Members present per community (NaN where none).
        self.present_n = self.series(self.present.groupby(Col.community_id).size())
        #: Group size ``n`` per metric id (filled by the metric families).
        self.n: dict[str, pd.Series] = {}

    def series(self, values: pd.Series | dict) -> pd.Series:
        return pd.Series(values, dtype="float64").reindex(self.ids)

    def member_share(self, flagged: pd.DataFrame) -> pd.Series:
        """Share of present members whose (community, member) is in ``flagged``."""
        f = flagged[K].drop_duplicates().assign(flag=1.0)
        x = self.present.merge(f, on=K, how="left")
        return self.series(x["flag"].fillna(0.0).groupby(x[Col.community_id]).mean())

    def trailing(self, frame: pd.DataFrame, days: int, upto: int = 0) -> pd.DataFrame:
        return frame[(frame["ts"] > self.T - days * DAY) & (frame["ts"] <= self.T - upto * DAY)]


def _m_size(d: _Data) -> dict[str, pd.Series]:
    out: dict[str, pd.Series] = {}
    out["members"] = d.series(d.present.groupby(Col.community_id).size()).fillna(0.0)
    act_m = d.act[~d.act["is_staff"]]
    for n in (7, 30):
        out[f"active_share_{n}d"] = d.member_share(d.trailing(act_m, n))
        d.n[f"active_share_{n}d"] = d.present_n
    t30 = d.trailing(act_m, 30).copy()
    t30["day"] = np.floor(_days(d.T - t30["ts"]))
    dd = t30[[Col.community_id, Col.member_id, "day"]].drop_duplicates()
    g = dd.groupby(Col.community_id)
    out["stickiness"] = d.series(g.size() / 30.0 / g[Col.member_id].nunique())
    d.n["stickiness"] = d.series(g[Col.member_id].nunique())
    c30 = d.trailing(d.ev[d.ev["event_type"].isin(CONTENT) & ~d.ev["is_staff"]], 30).copy()
    c30["day"] = np.floor(_days(d.T - c30["ts"]))
    out["content_days_share"] = d.series(c30.groupby(Col.community_id)["day"].nunique() / 30.0)
    d.n["content_days_share"] = d.series(c30.groupby(Col.community_id)[Col.member_id].nunique())
    recent = d.trailing(d.act, 30)[K].drop_duplicates().assign(recent=True)
    z = d.present.merge(d.roles[[*K, "joined_at"]], on=K).merge(recent, on=K, how="left")
    z["v"] = ((z["joined_at"] <= d.T - 30 * DAY) & z["recent"].isna()).astype(float)
    out["zombie_share"] = d.series(z.groupby(Col.community_id)["v"].mean())
    spoke = d.ev[d.ev["event_type"].isin(CONTENT)][K].drop_duplicates().assign(spoke=True)
    lz = d.present.merge(spoke, on=K, how="left")
    out["lurker_share"] = d.series(lz["spoke"].isna().astype(float).groupby(lz[Col.community_id]).mean())
    d.n["zombie_share"] = d.n["lurker_share"] = d.present_n
    return out


def _content_per_present(d: _Data) -> pd.DataFrame:
    cnt = d.ev[d.ev["event_type"].isin(CONTENT)].groupby(K).size().rename("x").reset_index()
    x = d.present.merge(cnt, on=K, how="left")
    x["x"] = x["x"].fillna(0.0).astype(float)
    return x


def _m_participation(d: _Data) -> dict[str, pd.Series]:
    out: dict[str, pd.Series] = {}
    x = _content_per_present(d)
    gini, tiers = {}, {"top1": {}, "next9": {}, "rest": {}}
    sizes: dict[str, dict[str, float]] = {"top1": {}, "next9": {}, "rest": {}}
    for cid, g in x.groupby(Col.community_id):
        v = np.sort(g["x"].to_numpy())
        n, tot = len(v), v.sum()
        gini[cid] = 2.0 * (np.arange(1, n + 1) * v).sum() / (n * tot) - (n + 1.0) / n if tot > 0 else np.nan
        desc = v[::-1]
        k1, k10 = math.ceil(0.01 * n), math.ceil(0.10 * n)
        for name, part in (("top1", desc[:k1]), ("next9", desc[k1:k10]), ("rest", desc[k10:])):
            tiers[name][cid] = part.sum() / tot if tot > 0 else np.nan
            sizes[name][cid] = float(len(part))
    out["gini_content"] = d.series(gini)
    d.n["gini_content"] = d.present_n
    for name, vals in tiers.items():
        out[f"content_share_{name}"] = d.series(vals)
        d.n[f"content_share_{name}"] = d.series(sizes[name])
    c28 = d.trailing(d.ev[d.ev["event_type"].isin(CONTENT) & ~d.ev["is_staff"]], 28).copy()
    c28["wk"] = np.floor((d.T - c28["ts"]).dt.total_seconds() / 604800)
    weeks = c28[[*K, "wk"]].drop_duplicates().groupby(K).size()
    out["core_share"] = d.member_share(weeks[weeks >= 3].reset_index())
    d.n["core_share"] = d.present_n
    content = d.ev[d.ev["event_type"].isin(CONTENT)]
    out["ugc_share"] = d.series((~content["is_staff"]).astype(float).groupby(content[Col.community_id]).mean())
    authors = content[Col.member_id].where(~content["is_staff"])
    d.n["ugc_share"] = d.series(authors.groupby(content[Col.community_id]).nunique())
    cab = {}
    for cid, g in content[~content["is_bot"]].groupby(Col.community_id):
        v = np.sort(g.groupby(Col.member_id).size().to_numpy())[::-1].astype(float)
        cab[cid] = float(np.argmax(2 * np.cumsum(v) >= v.sum()) + 1)
    out["contributor_absence_factor"] = d.series(cab)
    return out


def _m_response(d: _Data) -> dict[str, pd.Series]:
    ev = d.ev
    posts = ev[(ev["event_type"] == "post") & ~ev["is_staff"] & ev["thread_id"].notna()]
    posts = posts[[Col.community_id, Col.member_id, "thread_id", "ts"]].drop_duplicates()
    posts = posts.rename(columns={Col.member_id: "poster", "ts": "post_ts"})
    rep = ev[(ev["event_type"] == "reply") & ~ev["is_bot"] & ev["thread_id"].notna()]
    rep = rep[[Col.community_id, "thread_id", Col.member_id, "ts", "is_staff"]]
    j = posts.merge(rep, on=[Col.community_id, "thread_id"], how="inner")
    j = j[(j[Col.member_id] != j["poster"]) & (j["ts"] > j["post_ts"])]
    j = j.sort_values("ts", kind="stable").drop_duplicates([Col.community_id, "poster", "thread_id", "post_ts"])
    f = posts.merge(j[[Col.community_id, "poster", "thread_id", "post_ts", "ts", "is_staff"]],
                    on=[Col.community_id, "poster", "thread_id", "post_ts"], how="left")
    f["answered"] = f["ts"].notna()
    f["by_staff"] = f["is_staff"].astype("boolean").fillna(False).astype(bool)
    f["hours"] = (f["ts"] - f["post_ts"]).dt.total_seconds() / 3600.0
    g = f.groupby(Col.community_id)
    posters = g["poster"].nunique()
    answered = f[f["answered"]]
    for mid in ("response_rate", "response_rate_staff", "response_rate_members", "problem_solving"):
        d.n[mid] = d.series(posters)
    d.n["median_first_response_hours"] = d.series(answered.groupby(Col.community_id)["poster"].nunique()
                                                  .reindex(posters.index, fill_value=0))
    for mid, who in (("staff", answered["by_staff"]), ("members", ~answered["by_staff"])):
        d.n[f"median_first_response_hours_{mid}"] = d.series(
            answered[who].groupby(Col.community_id)["poster"].nunique().reindex(posters.index, fill_value=0))
    return {
        "response_rate": d.series(g["answered"].mean()),
        "response_rate_staff": d.series((f["answered"] & f["by_staff"]).groupby(f[Col.community_id]).mean()),
        "response_rate_members": d.series((f["answered"] & ~f["by_staff"]).groupby(f[Col.community_id]).mean()),
        "median_first_response_hours": d.series(g["hours"].median()),
        "median_first_response_hours_staff": d.series(f[f["by_staff"]].groupby(Col.community_id)["hours"].median()),
        "median_first_response_hours_members": d.series(
            f[f["answered"] & ~f["by_staff"]].groupby(Col.community_id)["hours"].median()),
    }


def _kept(d: _Data, cohort: pd.DataFrame, lo_days: int, hi_days: int) -> pd.Series:
    """Per cohort row: any activity with joined_at + lo < ts <= joined_at + hi."""
    a = d.act[[*K, "ts"]].merge(cohort[[*K, "joined_at"]].drop_duplicates(), on=K)
    a = a[(a["ts"] > a["joined_at"] + lo_days * DAY) & (a["ts"] <= a["joined_at"] + hi_days * DAY)]
    hit = a[K].drop_duplicates().assign(kept=1.0)
    return cohort.merge(hit, on=K, how="left")["kept"].fillna(0.0)


def _m_retention(d: _Data) -> dict[str, pd.Series]:
    out: dict[str, pd.Series] = {}
    r = d.roles[~d.roles["is_staff"]]
    for n in (30, 60, 90):
        coh = r[(r["joined_at"] > d.T - (n + 30) * DAY) & (r["joined_at"] <= d.T - n * DAY)].reset_index(drop=True)
        coh = coh.assign(kept=_kept(d, coh, n - 30, n).to_numpy())
        out[f"retention_{n}d"] = d.series(coh.groupby(Col.community_id)["kept"].mean())
        d.n[f"retention_{n}d"] = d.series(coh.groupby(Col.community_id).size())
    surv, floor_ = {}, {}
    act_m = d.act[~d.act["is_staff"]]
    for row in d.comm.itertuples(index=False):
        cid, created = str(row.community_id), row.created_at
        a = act_m[(act_m[Col.community_id] == cid) & (act_m["ts"] >= created) & (act_m["ts"] < created + 365 * DAY)]
        day = np.floor(_days(a["ts"] - created)).astype(int) + 1
        dau = a.assign(day=day).groupby("day")[Col.member_id].nunique()
        if created + 30 * DAY <= d.T:
            early = dau[dau.index <= 3].sum() / 3.0 if (dau.index <= 3).any() else np.nan
            late = dau[(dau.index >= 4) & (dau.index <= 30)].sum() / 27.0
            surv[cid] = late / early if early else np.nan
        n_days = int(min(365, math.floor(_days(pd.Series([d.T - created])).iloc[0])))
        full = dau.reindex(range(1, n_days + 1), fill_value=0).astype(float)
        if n_days >= 3 and full.iloc[:3].mean() > 0:
            m7 = full[full.index >= 4].rolling(7, min_periods=1).mean()
            below = m7[m7 < 0.25 * full.iloc[:3].mean()]
            floor_[cid] = float(below.index[0]) if len(below) else np.nan
    out["early_survival_ratio"] = d.series(surv)
    out["days_to_activity_floor"] = d.series(floor_)
    return out


def _m_money(d: _Data) -> dict[str, pd.Series]:
    out: dict[str, pd.Series] = {}
    ev = d.ev[~d.ev["is_staff"]]
    buys = ev[ev["event_type"] == "purchase"]
    out["buyer_share"] = d.member_share(buys)
    d.n["buyer_share"] = d.n["referral_rate"] = d.present_n
    d.n["revenue_per_member"] = d.present_n.fillna(0.0)
    present_n = d.present.groupby(Col.community_id).size().reindex(d.ids)
    rev = buys.groupby(Col.community_id)["amount"].sum().reindex(d.ids).fillna(0.0)
    out["revenue_per_member"] = d.series(rev / present_n.where(present_n > 0))
    purchases = d.ev[d.ev["event_type"] == "purchase"]
    n_buys = purchases.assign(day=purchases["ts"].dt.floor("D")).groupby(K)["day"].nunique()  # distinct UTC days
    buyers = buys[K].drop_duplicates()
    rep = (n_buys.reindex(pd.MultiIndex.from_frame(buyers)).to_numpy() >= 2).astype(float)
    out["repeat_purchase_rate"] = d.series(pd.Series(rep).groupby(buyers[Col.community_id].to_numpy()).mean())
    d.n["repeat_purchase_rate"] = d.series(buyers.groupby(Col.community_id).size())
    out["referral_rate"] = d.member_share(ev[ev["event_type"] == "referral"])
    a = d.act[~d.act["is_staff"]]
    done = (a["event_type"] == "course_complete").groupby([a[Col.community_id], a[Col.member_id]]).max()
    out["completion_rate"] = d.series(done.astype(float).groupby(level=0).mean())
    d.n["completion_rate"] = d.series(done.groupby(level=0).size())
    att = ev[ev["event_type"] == "event_attend"].copy()
    att["d"] = att["ts"].dt.floor("D")
    days = att.groupby([Col.community_id, "d"])[Col.member_id].nunique()
    days = days[days >= 3].reset_index()
    days = days[days["d"] + 8 * DAY <= d.T]
    for mid, kinds in (("event_lift", CONTENT), ("event_purchase_lift", ["purchase"])):
        src = d.ev_any[~d.ev_any["is_staff"] & d.ev_any["event_type"].isin(kinds)]
        vals = {}
        for cid, g in days.groupby(Col.community_id):
            ts = np.sort(src.loc[src[Col.community_id] == cid, "ts"].dt.tz_convert(None).to_numpy("datetime64[ns]"))
            after = before = 0
            for day in g["d"]:
                dd = day.tz_convert(None).to_datetime64().astype("datetime64[ns]")
                after += np.searchsorted(ts, dd + np.timedelta64(8, "D"), "left") - np.searchsorted(
                    ts, dd + np.timedelta64(1, "D"), "left")
                before += np.searchsorted(ts, dd, "left") - np.searchsorted(ts, dd - np.timedelta64(7, "D"), "left")
            vals[cid] = after / before if before else np.nan
        out[mid] = d.series(vals)
    return out


def _edges(d: _Data, ev: pd.DataFrame, *, staff_filter: bool = False) -> pd.DataFrame:
    e = ev[ev["event_type"].isin(DEFAULT_KINDS) & ev["target_member_id"].notna()
           & (ev["target_member_id"] != ev[Col.member_id]) & ~ev["is_bot"]]
    t = d.roles[[*K, "is_staff", "is_bot"]].rename(
        columns={Col.member_id: "target_member_id", "is_staff": "t_staff", "is_bot": "t_bot"})
    e = e.merge(t, on=[Col.community_id, "target_member_id"], how="left")
    e["t_staff"] = e["t_staff"].astype("boolean").fillna(False).astype(bool)
    e["t_bot"] = e["t_bot"].astype("boolean").fillna(False).astype(bool)
    e = e[~e["t_bot"]]
    if staff_filter:
        e = e[~e["is_staff"] & ~e["t_staff"]]
    return (e.groupby([Col.community_id, Col.member_id, "target_member_id"])
            .agg(weight=("ts", "size"), source_staff=("is_staff", "any"), target_staff=("t_staff", "any"))
            .reset_index().rename(columns={Col.member_id: "source", "target_member_id": "target"}))


def _m_network(d: _Data) -> dict[str, pd.Series]:
    edges = _edges(d, d.ev)
    by = {cid: g for cid, g in edges.groupby(Col.community_id)}
    rows = {cid: graph_measures(build_graph(by.get(cid, edges.iloc[:0]))) for cid in d.ids}
    net = pd.DataFrame(rows).T
    out = {c: d.series(net[c]) for c in ("density", "reciprocity", "avg_clustering", "degree_centralization",
                                         "kcore_max", "kcore_size", "staff_interaction_share",
                                         "hub_interaction_share", "fan_hub_share", "member_to_member_share",
                                         "fan_hub_centralization")}
    now, before = _edges(d, d.trailing(d.ev, 30)), _edges(d, d.trailing(d.ev, 60, 30))
    core = lambda e, cid: main_core(build_graph(e[e[Col.community_id] == cid]) if len(e) else nx.DiGraph())  # noqa: E731
    out["kcore_stability"] = d.series({cid: jaccard(core(now, cid), core(before, cid)) for cid in d.ids})
    out["economy_index"] = d.series({cid: economy_index(out["member_to_member_share"][cid],
                                                        out["fan_hub_centralization"][cid]) for cid in d.ids})
    und = edges.assign(a=np.minimum(edges["source"], edges["target"]), b=np.maximum(edges["source"], edges["target"]))
    pairs = und.groupby([Col.community_id, "a", "b"])["weight"].sum().reset_index()
    out["repeated_ties_share"] = d.series((pairs["weight"] >= 2).astype(float).groupby(pairs[Col.community_id]).mean())
    d.n["repeated_ties_share"] = _pair_accounts(d, pairs)
    pe = _edges(d, d.ev, staff_filter=True)
    pe = pe.assign(a=np.minimum(pe["source"], pe["target"]), b=np.maximum(pe["source"], pe["target"]))
    pp = pe.groupby([Col.community_id, "a", "b"])["weight"].sum().reset_index()
    out["peer_tie_strength"] = d.series(pp.groupby(Col.community_id)["weight"].mean())
    d.n["peer_tie_strength"] = _pair_accounts(d, pp)
    tags = d.ev[d.ev["event_type"].isin(CONTENT) & d.ev["topic"].notna()][[Col.community_id, Col.member_id, "topic"]]
    tags = tags.assign(tag=tags["topic"].str.split(";")).explode("tag")
    tags["tag"] = tags["tag"].str.strip()
    tags = tags[tags["tag"] != ""]
    cnt = tags.groupby([Col.community_id, "tag"]).size().astype(float)
    out["vertical_focus"] = d.series((cnt**2).groupby(level=0).sum() / cnt.groupby(level=0).sum() ** 2)
    d.n["vertical_focus"] = d.series(tags.groupby(Col.community_id)[Col.member_id].nunique())
    return out


def _pair_accounts(d: _Data, pairs: pd.DataFrame) -> pd.Series:
    """Distinct accounts at either end of undirected ``pairs`` (``community_id, a, b``), per community."""
    ends = pd.concat([pairs[[Col.community_id, "a"]].set_axis([Col.community_id, "m"], axis=1),
                      pairs[[Col.community_id, "b"]].set_axis([Col.community_id, "m"], axis=1)])
    return d.series(ends.groupby(Col.community_id)["m"].nunique())


def _m_practices(d: _Data) -> dict[str, pd.Series]:
    """The metrics of :mod:`commlab.analysis.practices`, from their definitions."""
    out: dict[str, pd.Series] = {}
    T, ev, roles = d.T, d.ev, d.roles
    # lurker share now and 30 days ago, each over the members present at that instant
    first = d.ev_any[d.ev_any["event_type"].isin(CONTENT)].groupby(K)["ts"].min().rename("fc").reset_index()
    shares = []
    for t in (T, T - 30 * DAY):
        r = roles[~roles["is_staff"] & (roles["joined_at"] <= t) & (roles["left_at"].isna() | (roles["left_at"] > t))]
        r = r[K].merge(first, on=K, how="left")
        lurk = (r["fc"].isna() | (r["fc"] > t)).astype(float)
        shares.append((lurk.groupby(r[Col.community_id]).mean(), r.groupby(Col.community_id).size()))
    out["lurker_share_change_30d"] = d.series(shares[0][0] - shares[1][0])
    d.n["lurker_share_change_30d"] = d.series(shares[0][1].where(shares[1][1].reindex(shares[0][1].index).notna()))

    def event_days(since: pd.Timestamp) -> pd.DataFrame:
        e = d.ev_any[(d.ev_any["ts"] > since) & (d.ev_any["ts"] <= T)]
        e = e[e["event_type"].isin(["event", "event_attend"])].assign(d=lambda f: f["ts"].dt.floor("D"))
        held = e[e["event_type"] == "event"].groupby([Col.community_id, "d"]).size()
        att = e[(e["event_type"] == "event_attend") & ~e["is_staff"]].groupby([Col.community_id, "d"])[Col.member_id]
        a = att.nunique()
        days = held.index.union(a[a >= 3].index)
        return pd.DataFrame({"a": a.reindex(days).fillna(0).to_numpy()}, index=days).reset_index()

    rhythm = event_days(T - 180 * DAY)
    cv = {}
    for cid, g in rhythm.groupby(Col.community_id):
        gaps = np.diff(np.sort(g["d"].dt.tz_convert(None).to_numpy()).astype("datetime64[D]").astype("int64"))
        gaps = gaps.astype(float)
        if len(gaps) >= 2:
            cv[cid] = float(gaps.std() / gaps.mean())
    out["event_gap_cv"] = d.series(cv)
    days = event_days(pd.Timestamp("1000-01-01", tz="UTC"))
    att_sum = days.groupby(Col.community_id)["a"].sum()
    out["event_attendance_rate"] = d.series(att_sum / (days.groupby(Col.community_id).size() * d.present_n.reindex(
        att_sum.index)))
    d.n["event_attendance_rate"] = d.series(d.present_n.reindex(att_sum.index))
    # check-ins: (member, day counted back from T) over the last 30 days, members present at T
    ck = ev[ev["event_type"] == "checkin"]
    ritual = ck.groupby(Col.community_id).size().index
    c30 = d.trailing(ck, 30).assign(day=lambda f: np.floor(_days(T - f["ts"])))
    c30 = c30.merge(d.present, on=K)[[*K, "day"]].drop_duplicates()
    k = c30.groupby(Col.community_id).size().reindex(ritual).fillna(0)
    pn = d.present_n.reindex(ritual)
    out["checkin_rate"] = d.series(k / (pn * 30.0))
    d.n["checkin_rate"] = d.series(pn)
    held = ev[ev["event_type"] == "event"]
    out["member_hosted_events_share"] = d.series(
        (~held["is_staff"]).astype(float).groupby(held[Col.community_id]).mean())
    d.n["member_hosted_events_share"] = d.series(held[Col.member_id].where(~held["is_staff"]).groupby(
        held[Col.community_id]).nunique())
    # rewards: receivers' events in the 7 days after and before each reward
    rw = ev[ev["event_type"] == "reward"]
    rw = rw.assign(m=rw["target_member_id"].fillna(rw[Col.member_id]).astype("string"))
    rw = rw[rw["ts"] + 7 * DAY <= T][[Col.community_id, "m", "ts"]].drop_duplicates()
    staff = roles.loc[roles["is_staff"], K].rename(columns={Col.member_id: "m"}).assign(_s=True)
    rw = rw.merge(staff, on=[Col.community_id, "m"], how="left")
    rw = rw[rw["_s"].isna()]
    acts = d.ev_any[~d.ev_any["event_type"].isin(["join", "leave", "reward"])]
    for mid, kinds in (("reward_activity_lift", None), ("reward_purchase_lift", ["purchase"])):
        src = acts if kinds is None else acts[acts["event_type"].isin(kinds)]
        x = rw.merge(src[K + ["ts"]].rename(columns={Col.member_id: "m", "ts": "t"}), on=[Col.community_id, "m"])
        after = x[(x["t"] > x["ts"]) & (x["t"] <= x["ts"] + 7 * DAY)].groupby(Col.community_id).size()
        before = x[(x["t"] >= x["ts"] - 7 * DAY) & (x["t"] < x["ts"])].groupby(Col.community_id).size()
        got = rw.groupby(Col.community_id).size().index
        a, b = after.reindex(got).fillna(0), before.reindex(got).fillna(0)
        out[mid] = d.series(a / b.where(b > 0))
        d.n[mid] = d.series(rw.groupby(Col.community_id)["m"].nunique())
    # zombies by join channel (at least 10 present members of the channel)
    recent = d.trailing(d.act, 30)[K].drop_duplicates().assign(recent=True)
    z = d.present.merge(roles[[*K, "joined_at", "join_channel"]], on=K).merge(recent, on=K, how="left")
    z["v"] = ((z["joined_at"] <= T - 30 * DAY) & z["recent"].isna()).astype(float)
    for ch in S.JOIN_CHANNEL.codes:
        g = z[z["join_channel"] == ch].groupby(Col.community_id)["v"]
        size = g.size()
        out[f"zombie_share_{ch}"] = d.series(g.mean()[size >= 10])
        d.n[f"zombie_share_{ch}"] = d.series(size[size >= 10].astype(float))
    # purchases by category, membership renewals
    buys = ev[(ev["event_type"] == "purchase") & ~ev["is_staff"]]
    known = buys[buys["category"].notna()]
    for cat in ("course", "product", "membership", "shop"):
        out[f"purchase_share_{cat}"] = d.series((known["category"] == cat).astype(float).groupby(
            known[Col.community_id]).mean())
        d.n[f"purchase_share_{cat}"] = d.series(known.groupby(Col.community_id)[Col.member_id].nunique())
    ms = buys[buys["category"] == "membership"].groupby(K)["ts"].agg(["min", "size"]).reset_index()
    ms = ms[ms["min"] <= T - 365 * DAY]
    out["membership_renewal_rate"] = d.series((ms["size"] >= 2).astype(float).groupby(ms[Col.community_id]).mean())
    d.n["membership_renewal_rate"] = d.series(ms.groupby(Col.community_id).size())
    # core members' replies, members' moderation
    c28 = d.trailing(d.ev[d.ev["event_type"].isin(CONTENT) & ~d.ev["is_staff"]], 28).copy()
    c28["wk"] = np.floor((T - c28["ts"]).dt.total_seconds() / 604800)
    weeks = c28[[*K, "wk"]].drop_duplicates().groupby(K).size()
    core = weeks[weeks >= 3].reset_index()[K].merge(d.present, on=K).assign(core=True)
    rep = ev[(ev["event_type"] == "reply") & ~ev["is_bot"]].merge(core, on=K, how="left")
    out["core_reply_share"] = d.series(rep["core"].notna().astype(float).groupby(rep[Col.community_id]).mean())
    d.n["core_reply_share"] = d.series(rep[Col.member_id].where(rep["core"].notna()).groupby(
        rep[Col.community_id]).nunique())
    mod = ev[(ev["event_type"] == "moderation") & ~ev["is_bot"]]
    out["member_moderation_share"] = d.series((~mod["is_staff"]).astype(float).groupby(mod[Col.community_id]).mean())
    d.n["member_moderation_share"] = d.series(mod[Col.member_id].where(~mod["is_staff"]).groupby(
        mod[Col.community_id]).nunique())
    # main platform: the event's platform, else the community's primary one
    a = d.act[~d.act["is_staff"]]
    primary = d.comm.set_index(Col.community_id)["platform"].astype("string")
    pf = a["platform"].astype("string").fillna(a[Col.community_id].map(primary))
    k = a.groupby([a[Col.community_id], pf]).size()
    out["main_platform_share"] = d.series(k.groupby(level=0).max() / k.groupby(level=0).sum())
    return out


def _nanmean(*vals: float) -> float:
    v = [x for x in vals if not (x is None or math.isnan(x))]
    return float(np.mean(v)) if v else math.nan


#: Metric families computed by :func:`naive_metrics`, in order.
_FAMILIES = (_m_size, _m_participation, _m_response, _m_retention, _m_money, _m_network, _m_practices)


def naive_metrics(communities: pd.DataFrame, members: pd.DataFrame, events: pd.DataFrame, *, as_of,
                  metrics: list[str] | None = None, network: bool = True) -> pd.DataFrame:
    """Every registered community metric for the single period ``"all"`` up to ``as_of``, in pandas.

    Parameters
    ----------
    communities, members, events : DataFrame
        Canonical tables in memory.
    as_of : str or Timestamp
        End of the period (naive = UTC).
    metrics : list of str, optional
        Keep only these ids (all families are still computed).
    network : bool, default True
        Also compute the network and high-value family (graph work); ``False`` skips it and
        every metric that depends on it (``metrics`` must then not ask for them).

    Returns
    -------
    DataFrame
        ``community_id, period, metric_id, value, n`` like
        :func:`commlab.analysis.compute.compute_metrics` with ``window=None`` (``n`` NaN for the
        metrics that declare no group size).
    """
    d = _Data(communities, members, events, as_utc(as_of))
    vals: dict[str, pd.Series] = {}
    for fam in _FAMILIES:
        if fam is _m_network and not network:
            continue
        vals.update(fam(d))
    vals["problem_solving"] = d.series({
        c: math.nan if math.isnan(vals["response_rate"][c]) else
        _nanmean(vals["response_rate"][c], speed_score(vals["median_first_response_hours"][c])) for c in d.ids})
    if network:
        vals["trust_ties"] = d.series({c: _nanmean(vals["reciprocity"][c], vals["repeated_ties_share"][c],
                                                   vals["avg_clustering"][c]) for c in d.ids})
    keep = metrics if metrics is not None else list(vals)
    nan = d.series({})
    rows = [pd.DataFrame({Col.community_id: d.ids, "period": "all", "metric_id": mid,
                          "value": vals[mid].to_numpy(dtype="float64"),
                          "n": d.n.get(mid, nan).to_numpy(dtype="float64")}) for mid in keep]
    out = pd.concat(rows, ignore_index=True)
    for c in (Col.community_id, "period", "metric_id"):
        out[c] = out[c].astype("string")
    return out


#: Metric ids :func:`naive_metrics` computes.
NAIVE_METRICS: tuple[str, ...] = (
    "members", "active_share_7d", "active_share_30d", "stickiness", "content_days_share", "zombie_share",
    "lurker_share", "gini_content", "content_share_top1", "content_share_next9", "content_share_rest",
    "core_share", "ugc_share", "contributor_absence_factor", "response_rate", "response_rate_staff",
    "response_rate_members", "median_first_response_hours", "median_first_response_hours_staff",
    "median_first_response_hours_members", "retention_30d", "retention_60d", "retention_90d",
    "early_survival_ratio", "days_to_activity_floor", "buyer_share",
    "revenue_per_member", "repeat_purchase_rate", "referral_rate", "completion_rate", "event_lift",
    "event_purchase_lift", "density", "reciprocity", "avg_clustering", "degree_centralization", "kcore_max",
    "kcore_size", "staff_interaction_share", "hub_interaction_share", "fan_hub_share", "member_to_member_share",
    "fan_hub_centralization",
    "kcore_stability", "economy_index", "vertical_focus", "repeated_ties_share", "peer_tie_strength",
    "problem_solving", "trust_ties",
    # commlab.analysis.practices
    "lurker_share_change_30d", "event_gap_cv", "event_attendance_rate", "checkin_rate", "member_hosted_events_share",
    "reward_activity_lift", "reward_purchase_lift", *(f"zombie_share_{c}" for c in S.JOIN_CHANNEL.codes),
    *(f"purchase_share_{c}" for c in ("course", "product", "membership", "shop")), "membership_renewal_rate",
    "core_reply_share", "member_moderation_share", "main_platform_share",
)


def naive_rfm(events: pd.DataFrame, as_of: pd.Timestamp, period: str = "D") -> pd.DataFrame:
    """BG/NBD inputs per member (:func:`commlab.analysis.lifecycle.rfm_from_events`), in pandas."""
    now = as_utc(as_of)
    ev = events[(events["ts"] <= now) & ~events["event_type"].isin(ACTIVITY_EXCLUDED)]
    step = 7 if period == "W" else 1
    epoch = pd.Timestamp("1970-01-05", tz="UTC")  # a Monday
    idx = ((ev["ts"].dt.tz_convert("UTC") - epoch).dt.days // step).astype("int64")
    now_idx = (now - epoch).days // step
    p = pd.DataFrame({Col.community_id: ev[Col.community_id], Col.member_id: ev[Col.member_id], "p": idx})
    g = p.drop_duplicates().groupby(K)["p"].agg(["min", "max", "size"])
    return pd.DataFrame({
        "frequency": g["size"] - 1,
        "recency": g["max"] - g["min"],
        "T": now_idx - g["min"],
    }).astype("float64").reset_index()


# --------------------------------------------------------------------------- overview (notebook 01)


def _active_until(events: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    ev = events[events["ts"] <= now]
    return ev[~ev["event_type"].isin(["join", "leave"])]


def naive_activity_summary(communities: pd.DataFrame, members: pd.DataFrame, events: pd.DataFrame, *,
                           as_of) -> pd.DataFrame:
    """Oracle of :func:`commlab.analysis.overview.activity_summary` (same columns and index)."""
    now = as_utc(as_of)
    m = members[(members["joined_at"] <= now) & (members["left_at"].isna() | (members["left_at"] > now))]
    is_staff = m["role"].isin(STAFF_ROLES)
    ev = _active_until(events, now)
    key = ev[Col.community_id] + "\x1f" + ev[Col.member_id]
    staff_keys = set(m.loc[is_staff, Col.community_id] + "\x1f" + m.loc[is_staff, Col.member_id])
    member_keys = set(m.loc[~is_staff, Col.community_id] + "\x1f" + m.loc[~is_staff, Col.member_id])
    ev = ev[key.isin(member_keys) & ~key.isin(staff_keys)]

    def active(days: int) -> pd.Series:
        return ev[ev["ts"] > now - pd.Timedelta(days=days)].groupby(Col.community_id)[Col.member_id].nunique()

    ids = pd.Index(communities[Col.community_id], name=Col.community_id)
    out = pd.DataFrame(index=ids)
    out["members"] = m[~is_staff].groupby(Col.community_id).size().reindex(ids, fill_value=0)
    out["staff"] = m[is_staff].groupby(Col.community_id).size().reindex(ids, fill_value=0)
    out["active_7d"] = active(7).reindex(ids, fill_value=0)
    out["active_30d"] = active(30).reindex(ids, fill_value=0)
    denom = out["members"].where(out["members"] > 0)
    out["active_share_30d"] = out["active_30d"] / denom
    out["events"] = ev.groupby(Col.community_id).size().reindex(ids, fill_value=0)
    out["events_per_member"] = out["events"] / denom
    content = ev[ev["event_type"].isin(CONTENT)].groupby(Col.community_id).size()
    out["content_per_member"] = content.reindex(ids, fill_value=0) / denom
    return out


def naive_daily_activity(events: pd.DataFrame, *, as_of, tz: str) -> pd.DataFrame:
    """Oracle of :func:`commlab.analysis.overview.daily_activity`."""
    ev = _active_until(events, as_utc(as_of))
    day = ev["ts"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    g = ev.assign(date=day).groupby([Col.community_id, "date"])
    return g.agg(events=(Col.member_id, "size"), active_members=(Col.member_id, "nunique")).reset_index()


def naive_weekday_hour(events: pd.DataFrame, *, as_of, tz: str) -> pd.DataFrame:
    """Oracle of :func:`commlab.analysis.overview.weekday_hour`."""
    local = _active_until(events, as_utc(as_of))["ts"].dt.tz_convert(tz)
    table = pd.crosstab(local.dt.day_of_week, local.dt.hour)
    return table.reindex(index=range(7), columns=range(24), fill_value=0)
