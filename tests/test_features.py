"""Member features: DuckDB SQL against a naive pandas oracle, on a hand-made case and the samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from commlab.analysis.features import (
    FEATURE_IDS,
    FEATURES,
    feature_labels,
    features_sql,
    member_features,
    participation_inequality,
)
from commlab.data import load_dataset
from commlab.errors import InvalidArgument

U = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731
INTER = ("reply", "mention", "reaction")


def oracle(events: pd.DataFrame, members: pd.DataFrame, as_of: pd.Timestamp,
           staff_roles=("owner", "staff", "bot")) -> pd.DataFrame:
    """A slow, obvious pandas implementation of every feature, member by member."""
    m = members[members["joined_at"] <= as_of].copy()
    ev = events[(events["ts"] <= as_of) & ~events["event_type"].isin(["join", "leave"])].copy()
    ev["target"] = ev["target_member_id"].where(ev["target_member_id"] != ev["member_id"])
    staff = {(c, i) for c, i, r in zip(m["community_id"], m["member_id"], m["role"], strict=True) if r in staff_roles}
    first = events[events["ts"] <= as_of].groupby("community_id")["ts"].min()
    empty = ev.iloc[:0]
    by_member = {k: g for k, g in ev.groupby(["community_id", "member_id"])}
    inter = ev[ev["event_type"].isin(INTER) & ev["target"].notna()]
    by_target = {k: g for k, g in inter.groupby(["community_id", "target"])}
    rows = []
    for c, i, joined, left in zip(m["community_id"], m["member_id"], m["joined_at"], m["left_at"], strict=True):
        own = by_member.get((c, i), empty)
        inc = by_target.get((c, i), empty)
        start = max(joined, first.get(c, joined))
        observed = (as_of - start).total_seconds() / 86400
        n = len(own)
        counts = own["event_type"].value_counts()
        cnt = lambda t, counts=counts: int(counts.get(t, 0))  # noqa: E731
        inter_own = own[own["event_type"].isin(INTER) & own["target"].notna()]
        out_partners = set(inter_own["target"])
        repliers = set(inc.loc[inc["event_type"] == "reply", "member_id"])
        n_inter = len(inter_own) + len(inc)
        n_staff = sum((c, t) in staff for t in inter_own["target"]) + sum((c, s) in staff for s in inc["member_id"])
        ugc = int(own["event_type"].isin(["message", "post", "reply"]).sum())
        rows.append({
            "community_id": c, "member_id": i,
            "tenure_days": (as_of - joined).total_seconds() / 86400,
            "observed_days": observed,
            "recency_days": (as_of - own["ts"].max()).total_seconds() / 86400 if n else np.nan,
            "n_events": n,
            "active_days": own["ts"].dt.date.nunique(),
            "active_weeks": own["ts"].dt.tz_localize(None).dt.to_period("W-SUN").nunique(),
            "active_day_share": own["ts"].dt.date.nunique() / max(observed, 1.0),
            "n_message": cnt("message"), "n_post": cnt("post"), "n_reply": cnt("reply"),
            "n_mention": cnt("mention"), "n_reaction": cnt("reaction"),
            "ugc": ugc,
            "ugc_30d": ugc * 30 / max(observed, 30.0),
            "replies_given": int(((own["event_type"] == "reply") & own["target"].notna()).sum()),
            "replies_received": int((inc["event_type"] == "reply").sum()),
            "reactions_received": int((inc["event_type"] == "reaction").sum()),
            "partners_out": len(out_partners),
            "partners_in": inc["member_id"].nunique(),
            "reciprocity": len(out_partners & repliers) / len(out_partners) if out_partners else np.nan,
            "staff_interaction_share": n_staff / n_inter if n_inter else np.nan,
            "last30_share": (own["ts"] > as_of - pd.Timedelta(days=30)).mean() if n else np.nan,
            "first_week_events": int(((own["ts"] >= joined) & (own["ts"] < joined + pd.Timedelta(days=7))).sum()),
            "purchases": cnt("purchase"),
            "purchase_total": float(own.loc[own["event_type"] == "purchase", "amount"].sum()),
            "checkins": cnt("checkin"), "events_attended": cnt("event_attend"),
            "courses_completed": cnt("course_complete"), "referrals": cnt("referral"),
            "has_left": bool(pd.notna(left) and left <= as_of),
            "is_staff": (c, i) in staff,
        })
    out = pd.DataFrame(rows)
    out["first_week_active"] = out["first_week_events"] > 0
    return out.sort_values(["community_id", "member_id"]).reset_index(drop=True)


def _tiny() -> tuple[pd.DataFrame, pd.DataFrame]:
    members = pd.DataFrame({
        "community_id": ["c1"] * 5 + ["c2"],
        "member_id": ["a", "b", "s", "z", "late", "a"],
        "joined_at": [U("2024-01-01"), U("2024-01-10"), U("2023-12-01"), U("2024-02-01"), U("2024-04-01"),
                      U("2024-01-05")],
        "left_at": pd.Series([pd.NaT, pd.NaT, pd.NaT, U("2024-02-20"), pd.NaT, pd.NaT], dtype="datetime64[ns, UTC]"),
        "role": ["member", "member", "staff", "member", "member", "owner"],
        "display_name": ["A", "B", "S", "Z", "L", "A2"],
    })
    rows = [
        ("c1", "a", "2024-01-02 10:00", "message", None, None),
        ("c1", "a", "2024-01-02 11:00", "post", None, None),
        ("c1", "b", "2024-01-11 09:00", "reply", "a", None),
        ("c1", "s", "2024-01-12 09:00", "reply", "b", None),
        ("c1", "a", "2024-01-13 09:00", "reply", "b", None),
        ("c1", "b", "2024-02-01 09:00", "reaction", "a", None),
        ("c1", "a", "2024-02-02 09:00", "mention", "s", None),
        ("c1", "a", "2024-02-15 09:00", "purchase", None, 9.9),
        ("c1", "a", "2024-02-16 09:00", "purchase", None, 20.0),
        ("c1", "b", "2024-02-20 09:00", "reply", "b", None),  # self reply: no partner
        ("c1", "z", "2024-02-01 00:00", "join", None, None),
        ("c1", "z", "2024-02-03 00:00", "checkin", None, None),
        ("c1", "z", "2024-02-20 00:00", "leave", None, None),
        ("c1", "a", "2024-05-01 09:00", "message", None, None),  # after as_of
        ("c2", "a", "2024-01-06 09:00", "course_complete", None, None),
        ("c2", "a", "2024-02-28 09:00", "event_attend", None, None),
        ("c2", "a", "2024-02-29 09:00", "referral", None, None),
    ]
    ev = pd.DataFrame(rows, columns=["community_id", "member_id", "ts", "event_type", "target_member_id", "amount"])
    ev["ts"] = pd.to_datetime(ev["ts"]).dt.tz_localize("UTC")
    for c in ("community_id", "member_id", "event_type", "target_member_id"):
        ev[c] = ev[c].astype("string")
    ev["amount"] = ev["amount"].astype("float64")
    members[["community_id", "member_id", "role"]] = members[["community_id", "member_id", "role"]].astype("string")
    return ev, members


def _compare(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got["member_id"]) == list(want["member_id"])
    for col in FEATURE_IDS:
        g, w = got[col].to_numpy(), want[col].to_numpy()
        if got[col].dtype == bool:
            assert (g == w.astype(bool)).all(), col
        else:
            np.testing.assert_allclose(g.astype(float), w.astype(float), rtol=1e-9, atol=1e-9, err_msg=col)


def test_tiny_case_known_values_and_oracle():
    ev, mem = _tiny()
    as_of = U("2024-03-01")
    f = member_features(ev, mem, as_of=as_of)
    assert list(f.columns) == ["community_id", "member_id", *FEATURE_IDS]
    assert "late" not in set(f["member_id"])  # joined after as_of
    a = f[(f["community_id"] == "c1") & (f["member_id"] == "a")].iloc[0]
    assert a["n_events"] == 6 and a["ugc"] == 3 and a["purchases"] == 2
    assert a["purchase_total"] == pytest.approx(29.9)
    assert a["partners_out"] == 2  # b (reply) and s (mention)
    assert a["reciprocity"] == pytest.approx(0.5)  # b replied to a, s did not
    assert a["staff_interaction_share"] == pytest.approx(1 / 4)  # out: b, s; in: b reply, b reaction
    assert a["recency_days"] == pytest.approx((as_of - U("2024-02-16 09:00")).total_seconds() / 86400)
    assert a["first_week_events"] == 2 and a["first_week_active"]
    b = f[(f["community_id"] == "c1") & (f["member_id"] == "b")].iloc[0]
    assert b["partners_out"] == 1 and b["replies_given"] == 1 and b["n_reply"] == 2
    z = f[f["member_id"] == "z"].iloc[0]
    assert z["has_left"] and z["checkins"] == 1 and z["n_events"] == 1
    s = f[f["member_id"] == "s"].iloc[0]
    assert s["is_staff"] and s["observed_days"] == pytest.approx(58 + 14 / 24)  # from c1's first event
    _compare(f, oracle(ev, mem, as_of))


def before_1970() -> tuple[pd.DataFrame, pd.DataFrame]:
    """One member's messages on both sides of a 63-day block edge (Sunday 1970-03-08 / Monday
    1970-03-09), of the Monday the blocks start on (1969-12-29), and before 1970."""
    ts = ["1969-10-26", "1969-10-27", "1969-12-28 10:00", "1969-12-29 01:00", "1969-12-31 23:00",
          "1970-01-01 00:30", "1970-01-04 12:00", "1970-01-05", "1970-03-08", "1970-03-09", "1970-03-09 05:00"]
    ev = pd.DataFrame({"community_id": "c", "member_id": "a", "ts": pd.to_datetime(ts, format="ISO8601"),
                       "event_type": "message", "target_member_id": pd.NA, "amount": np.nan})
    ev["ts"] = ev["ts"].dt.tz_localize("UTC")
    for c in ("community_id", "member_id", "event_type", "target_member_id"):
        ev[c] = ev[c].astype("string")
    mem = pd.DataFrame({"community_id": ["c"], "member_id": ["a"], "joined_at": [U("1969-01-01")],
                        "left_at": pd.Series([pd.NaT], dtype="datetime64[ns, UTC]"), "role": ["member"]})
    mem[["community_id", "member_id", "role"]] = mem[["community_id", "member_id", "role"]].astype("string")
    return ev, mem


def test_days_and_weeks_across_blocks_and_before_1970():
    """Active days and weeks are counted per 63-day block of Monday-start weeks, with no error and as
    in the oracle, for days before 1970 and on both sides of a block edge."""
    ev, mem = before_1970()
    as_of = U("1970-06-01")
    f = member_features(ev, mem, as_of=as_of)
    assert (f["active_days"].iloc[0], f["active_weeks"].iloc[0]) == (10, 7)
    _compare(f, oracle(ev, mem, as_of))


def keyed_case() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Interactions that integer member keys must not confuse: the same member ids in two
    communities, Chinese ids, events of members the members table lacks (as actor, as target,
    both, replying back to a known member), a staff target and a staff member who joined after
    the instant."""
    mem_rows = [
        ("群甲", "张三", "2024-01-01", "member"), ("群甲", "李四", "2024-01-02", "member"),
        ("群甲", "u1", "2024-01-01", "staff"), ("群甲", "a", "2024-01-03", "member"),
        ("c2", "张三", "2024-01-01", "member"), ("c2", "u1", "2024-01-01", "member"),
        ("c2", "李四", "2024-01-05", "owner"), ("c2", "迟到", "2024-06-01", "staff"),  # joins after as_of
    ]
    members = pd.DataFrame(mem_rows, columns=["community_id", "member_id", "joined_at", "role"])
    members["joined_at"] = pd.to_datetime(members["joined_at"]).dt.tz_localize("UTC")
    members["left_at"] = pd.Series([pd.NaT] * len(members), dtype="datetime64[ns, UTC]")
    members[["community_id", "member_id", "role"]] = members[["community_id", "member_id", "role"]].astype("string")
    rows = [
        ("群甲", "张三", "2024-01-05 10:00", "reply", "李四"), ("群甲", "李四", "2024-01-06 10:00", "reply", "张三"),
        ("群甲", "张三", "2024-01-07 10:00", "mention", "u1"), ("群甲", "u1", "2024-01-08 10:00", "reaction", "张三"),
        ("群甲", "张三", "2024-01-09 10:00", "message", None),
        # an unknown member (幽灵) replied to, who replies back; another (访客) only targeted
        ("群甲", "张三", "2024-01-10 10:00", "reply", "幽灵"), ("群甲", "幽灵", "2024-01-11 10:00", "reply", "张三"),
        ("群甲", "幽灵", "2024-01-12 10:00", "reaction", "李四"),
        ("群甲", "李四", "2024-01-13 10:00", "mention", "访客"),
        ("群甲", "幽灵", "2024-01-14 10:00", "reply", "访客"), ("群甲", "访客", "2024-01-15 10:00", "reply", "幽灵"),
        # unknown members x and x1: (a pair of unknowns counts for nobody); y and 1:y, two unknown partners of a
        ("群甲", "x", "2024-01-16 10:00", "reply", "1:y"), ("群甲", "x1:", "2024-01-16 11:00", "reply", "y"),
        ("群甲", "1:y", "2024-01-17 10:00", "reply", "a"), ("群甲", "y", "2024-01-17 11:00", "reply", "a"),
        ("群甲", "a", "2024-01-18 10:00", "reply", "y"), ("群甲", "a", "2024-01-18 11:00", "reply", "1:y"),
        # the same ids in c2 (a different member each), the staff member who joins later, a self reply
        ("c2", "张三", "2024-01-05 10:00", "reply", "u1"), ("c2", "u1", "2024-01-06 10:00", "reply", "张三"),
        ("c2", "张三", "2024-01-07 10:00", "reply", "李四"), ("c2", "张三", "2024-01-08 10:00", "reaction", "迟到"),
        ("c2", "迟到", "2024-01-09 10:00", "reply", "张三"), ("c2", "幽灵", "2024-01-10 10:00", "reply", "张三"),
        ("c2", "u1", "2024-01-11 10:00", "reply", "u1"), ("c2", "李四", "2024-01-12 10:00", "purchase", None),
    ]
    ev = pd.DataFrame(rows, columns=["community_id", "member_id", "ts", "event_type", "target_member_id"])
    ev["ts"] = pd.to_datetime(ev["ts"]).dt.tz_localize("UTC")
    for c in ("community_id", "member_id", "event_type", "target_member_id"):
        ev[c] = ev[c].astype("string")
    ev["amount"] = np.where(ev["event_type"] == "purchase", 12.5, np.nan)
    return ev, members


def test_member_keys_keep_colliding_unknown_and_chinese_ids_apart():
    """The integer member keys of the features SQL give the oracle's values where ids repeat across
    communities, are Chinese, or are missing from the members table (they still count as partners)."""
    ev, mem = keyed_case()
    as_of = U("2024-03-01")
    f = member_features(ev, mem, as_of=as_of)
    want = oracle(ev, mem, as_of).sort_values(["community_id", "member_id"]).reset_index(drop=True)
    _compare(f, want)
    assert list(zip(f["community_id"], f["member_id"], strict=True)) == sorted(
        zip(want["community_id"], want["member_id"], strict=True))
    row = f.set_index(["community_id", "member_id"])
    # 李四, u1 (staff) and the unknown 幽灵 in 群甲; 李四 and 幽灵 replied back
    assert row.loc[("群甲", "张三"), "partners_out"] == 3
    assert row.loc[("群甲", "张三"), "reciprocity"] == pytest.approx(2 / 3)
    assert row.loc[("群甲", "张三"), "partners_in"] == 3  # 李四, u1, 幽灵
    # a replied to y and 1:y (two unknown members) and both replied to a
    assert row.loc[("群甲", "a"), "partners_out"] == 2 and row.loc[("群甲", "a"), "reciprocity"] == 1.0
    # c2's 张三 is another member: u1, 李四 and 迟到 (joined later, still a partner, not yet staff)
    assert row.loc[("c2", "张三"), "partners_out"] == 3
    assert row.loc[("c2", "张三"), "partners_in"] == 3  # u1, 迟到, 幽灵
    assert row.loc[("c2", "张三"), "staff_interaction_share"] == pytest.approx(1 / 6)  # the reply to 李四 (owner)
    assert ("c2", "迟到") not in row.index


def test_naive_as_of_is_utc_as_everywhere():
    """A naive as-of is UTC (commlab.instant.as_utc), as in compute_metrics; a missing one is refused."""
    ev, mem = _tiny()
    pd.testing.assert_frame_equal(member_features(ev, mem, as_of=pd.Timestamp("2024-03-01")),
                                  member_features(ev, mem, as_of=U("2024-03-01")))
    with pytest.raises(InvalidArgument, match="as_of is required"):
        member_features(ev, mem, as_of="")


def test_parquet_on_disk_equals_in_memory(tmp_path):
    ev, mem = _tiny()
    ev.to_parquet(tmp_path / "events.parquet")
    as_of = U("2024-02-25")
    pd.testing.assert_frame_equal(member_features(tmp_path / "events.parquet", mem, as_of=as_of),
                                  member_features(ev, mem, as_of=as_of))


def test_sql_is_one_text_with_the_sources_substituted():
    sql = features_sql("read_parquet('x.parquet')", "members")
    assert "read_parquet('x.parquet')" in sql and "$as_of" in sql
    assert all(f.id in sql for f in FEATURES)


def test_sql_counts_are_64_bit_integers():
    """Every count the SQL returns is BIGINT: DuckDB's sum of BIGINT is a 128-bit HUGEINT, which reached
    pandas as float64 through a slow conversion (the engine now hands the result over as Arrow)."""
    import duckdb

    from commlab.engines.duck import bind_as_of

    ev, mem = _tiny()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("events", ev)
    con.register("members", mem)
    sql = bind_as_of(features_sql("events", "members"), U("2024-03-01"))
    types = dict(con.execute(f"DESCRIBE {sql}").fetchall()[i][:2] for i in range(len(FEATURE_IDS) + 2))
    assert "HUGEINT" not in set(types.values())
    counts = [f.id for f in FEATURES if f.unit in ("events", "days", "weeks", "members") and f.id not in
              ("tenure_days", "observed_days", "recency_days", "ugc_30d")]
    assert {types[c] for c in counts} == {"BIGINT"}
    got = member_features(ev, mem, as_of=U("2024-03-01"))
    assert {str(got[c].dtype) for c in counts} == {"int64"}


def test_purchase_total_is_an_exact_sum():
    """Amounts are summed exactly (DECIMAL), so the total does not depend on the order DuckDB's threads add them
    in: with floats, 0.1 + 0.2 + 0.3 is 0.6000000000000001 in one order and 0.6 in another (at 5M events two runs
    differed for 634 members in the last digits)."""
    ev, mem = _tiny()
    buys = pd.DataFrame({"community_id": "c1", "member_id": "b", "event_type": "purchase",
                         "ts": [U("2024-01-15"), U("2024-01-16"), U("2024-01-17")], "amount": [0.1, 0.2, 0.3]})
    ev = pd.concat([ev, buys.reindex(columns=ev.columns)], ignore_index=True)
    got = member_features(ev, mem, as_of=U("2024-03-01")).set_index(["community_id", "member_id"])
    assert got.loc[("c1", "b"), "purchase_total"] == 0.6
    assert got.loc[("c1", "a"), "purchase_total"] == 29.9


def test_registry_labels_are_complete():
    zh, en = feature_labels("zh"), feature_labels("en")
    assert set(zh) == set(en) == set(FEATURE_IDS)
    assert all(f.definition and f.unit for f in FEATURES)
    assert len(set(FEATURE_IDS)) == len(FEATURE_IDS)


def test_samples_duckdb_equals_pandas_oracle(samples_dir):
    ds = load_dataset(samples_dir)
    as_of = U("2024-06-30T16:00:00")
    f = member_features(samples_dir / "events.parquet", ds.members, as_of=as_of)
    assert len(f) == (ds.members["joined_at"] <= as_of).sum()
    # the oracle is slow: check one whole community (every member of it)
    small = ds.communities["community_id"].iloc[[8]].tolist()
    keep = lambda d: d[d["community_id"].isin(small)].reset_index(drop=True)  # noqa: E731
    got = keep(f)
    assert len(got) > 100
    _compare(got, oracle(keep(ds.events), keep(ds.members), as_of))


def test_participation_inequality_by_hand():
    f = pd.DataFrame({"community_id": ["c"] * 10, "ugc": [0, 0, 0, 1, 1, 2, 3, 3, 10, 80],
                      "is_staff": [False] * 9 + [True]})
    # staff (80) dropped: 9 members, content 20
    out = participation_inequality(f).iloc[0]
    assert out["members"] == 9
    assert out["never_share"] == pytest.approx(3 / 9) and out["once_share"] == pytest.approx(2 / 9)
    assert out["top1_share"] == pytest.approx(10 / 20)  # top 1 % = at least one member
    assert out["next9_share"] == pytest.approx(0.0)  # ceil(0.9) = 1 member in the top 10 %
    assert out["top1_share"] + out["next9_share"] + out["rest90_share"] == pytest.approx(1.0)
    assert 0 < out["gini"] < 1


@pytest.mark.shared_data
def test_participation_inequality_on_real_stack_exchange_site(shared_data):
    from commlab.importers.se_csv import read_se_180d

    ds = read_se_180d(shared_data / "se_communities_180d" / "mathematica")
    as_of = ds.communities["created_at"].iloc[0] + pd.Timedelta(days=180)
    f = member_features(ds.events, ds.members, as_of=as_of)
    ineq = participation_inequality(f).iloc[0]
    print(ineq.drop(labels="community_id").to_dict())
    # the 90-9-1 pattern: most accounts never post, and the top 10 % write most of the content
    assert ineq["never_share"] > 0.4
    assert ineq["top1_share"] + ineq["next9_share"] > 0.7
    assert ineq["top1_share"] > 0.1
    content = f.loc[~f["is_staff"], "ugc"]
    assert ineq["never_share"] == pytest.approx((content == 0).mean())


def test_tidy_features_sorts_rows_out_of_order_and_keeps_rows_in_order():
    """Rows already in (community, member) order are kept as they are (no sort); any other order is sorted."""
    from commlab.analysis.features_sql import FEATURE_IDS, tidy_features

    ids = [("c1", "a"), ("c1", "b"), ("c1", "张三"), ("c2", "a"), ("社群乙", "u1"), ("社群乙", "u2")]
    rng = np.random.default_rng(3)
    base = pd.DataFrame({"community_id": [c for c, _ in ids], "member_id": [m for _, m in ids],
                         **{f: rng.integers(0, 9, len(ids)) for f in FEATURE_IDS}})
    want = tidy_features(base)
    assert list(zip(want["community_id"], want["member_id"], strict=True)) == ids
    for order in ([1, 0, 2, 3, 4, 5], [0, 1, 2, 3, 5, 4], [3, 0, 1, 2, 4, 5], [5, 4, 3, 2, 1, 0]):
        got = tidy_features(base.iloc[order])
        pd.testing.assert_frame_equal(got, want)
    # equal ids (a tie) keep their order, as a stable sort keeps it
    tie = pd.concat([base.iloc[[0]], base.iloc[[0]].assign(n_events=99), base.iloc[1:]], ignore_index=True)
    assert tidy_features(tie)["n_events"].tolist()[:2] == [base["n_events"].iloc[0], 99]
    # a missing id: sorted as pandas sorts it (last)
    gap = base.astype({"member_id": "string"})
    gap.loc[1, "member_id"] = pd.NA
    assert tidy_features(gap)["member_id"].isna().tolist() == [False, False, True, False, False, False]
