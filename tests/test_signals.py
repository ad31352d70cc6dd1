"""Operational signals on tiny hand-made cases (expected numbers worked out by hand)."""

from __future__ import annotations

import pandas as pd
import pytest

from commlab.analysis.signals import (
    bulk_invited_zombie_share,
    days_without_staff_reply,
    first_cohort_retention_gap,
    monetization_preconditions,
    operational_facts,
    recently_inactive_top_members,
)

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def day(n: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=n)


def frame(rows, cols):
    df = pd.DataFrame(rows, columns=cols)
    for c in df.columns:
        if c in ("ts", "joined_at", "created_at"):
            df[c] = pd.to_datetime(df[c], utc=True)
        elif df[c].dtype == object:
            df[c] = df[c].astype("string")
    return df


MEMBERS = frame(
    [("c", "s", day(0), "staff"), ("c", "a", day(0), "member"), ("c", "b", day(0), "member"),
     ("c", "x", day(50), "member")],
    ["community_id", "member_id", "joined_at", "role"],
)


def test_days_without_staff_reply_per_channel():
    ev = frame([
        ("c", "s", day(1), "message", "news"),
        ("c", "a", day(2), "message", "news"),      # waiting since day 2 in "news"
        ("c", "b", day(3), "reply", "news"),
        ("c", "a", day(4), "message", "help"),      # "help": staff never spoke, waiting since day 4
        ("c", "s", day(5), "message", "help"),      # ... until staff answered on day 5
        ("c", "a", day(8), "reaction", "help"),     # reactions are not content
    ], ["community_id", "member_id", "ts", "event_type", "channel"])
    out = days_without_staff_reply(ev, MEMBERS, as_of=day(10)).set_index("channel")
    assert out.loc["news", "days_waiting"] == pytest.approx(8.0)
    assert out.loc["help", "days_waiting"] == 0.0


def test_staff_of_one_community_is_a_member_in_another():
    members = frame(
        [("c", "s", day(0), "staff"), ("d", "s", day(0), "member"), ("d", "t", day(0), "staff")],
        ["community_id", "member_id", "joined_at", "role"],
    )
    ev = frame([
        ("c", "s", day(1), "message", None),   # staff in c: c has nobody waiting
        ("d", "t", day(1), "message", None),
        ("d", "s", day(2), "message", None),   # a member in d: d waits since day 2
    ], ["community_id", "member_id", "ts", "event_type", "channel"])
    waits = days_without_staff_reply(ev, members, as_of=day(10)).set_index("community_id")["days_waiting"]
    assert waits.to_dict() == {"c": 0.0, "d": pytest.approx(8.0)}
    top = recently_inactive_top_members(ev, members, as_of=day(12), top_share=1.0)
    assert top[["community_id", "member_id"]].values.tolist() == [["d", "s"]]  # never staff t, nor s in c


def test_recently_inactive_top_members():
    rows = [("c", "a", day(i), "message") for i in range(10, 60)]  # a: top, last active day 59
    rows += [("c", "b", day(70), "message")]                        # b: one message, active day 70
    ev = frame(rows, ["community_id", "member_id", "ts", "event_type"])
    out = recently_inactive_top_members(ev, MEMBERS, as_of=day(75), top_share=0.5)
    # top 50 % of 2 members = 1 member: a, quiet for 16 days (within 7-28)
    assert out["member_id"].tolist() == ["a"]
    assert out.loc[0, "days_quiet"] == pytest.approx(16.0)
    assert recently_inactive_top_members(ev, MEMBERS, as_of=day(100), top_share=0.5).empty  # 41 days: zombie


def test_first_cohort_gap_and_facts():
    com = frame([("c", day(0))], ["community_id", "created_at"])
    # first cohort a, b (joined day 0); later cohort x (day 50). Retained = active on days 30-59 after join.
    ev = frame([("c", "a", day(40), "message"), ("c", "x", day(85), "message")],
               ["community_id", "member_id", "ts", "event_type"])
    out = first_cohort_retention_gap(ev, MEMBERS, com, as_of=day(120)).iloc[0]
    assert out["first_retention"] == pytest.approx(0.5) and out["later_retention"] == pytest.approx(1.0)
    assert out["gap"] == pytest.approx(-0.5)
    facts = operational_facts(ev.assign(channel=pd.NA), MEMBERS, com, as_of=day(120))
    assert set(facts["metric_id"]) == {"max_days_without_staff_reply", "recently_inactive_top_members",
                                       "first_cohort_retention_gap", "expert_in_share", "guest_hosted_events",
                                       "resource_events", "bulk_invited_zombie_share"}


def test_no_wait_for_staff_where_nobody_is_on_staff():
    """A community with only a bot and members (a Q&A site, a message network) has no staff wait to report."""
    members = frame([("c", "s", day(0), "staff"), ("c", "a", day(0), "member"),
                     ("q", "bot", day(0), "bot"), ("q", "a", day(0), "member")],
                    ["community_id", "member_id", "joined_at", "role"])
    com = frame([("c", day(0)), ("q", day(0))], ["community_id", "created_at"])
    ev = frame([(c, "a", day(2), "message", pd.NA) for c in ("c", "q")], ["community_id", "member_id", "ts",
                                                                         "event_type", "channel"])
    facts = operational_facts(ev, members, com, as_of=day(10))
    wait = facts[facts["metric_id"] == "max_days_without_staff_reply"].set_index("community_id")["value"]
    assert wait["c"] == pytest.approx(8.0) and pd.isna(wait["q"])


def test_monetization_preconditions_by_hand():
    """A known expert (the one the others address, or a guest host) and real resources (courses, events)."""
    members = frame([("c", "o", day(0), "owner"), ("c", "g", day(0), "guest"), ("c", "bot", day(0), "bot"),
                     *(("c", f"m{i}", day(0), "member") for i in range(4)), ("d", "a", day(0), "member")],
                    ["community_id", "member_id", "joined_at", "role"])
    com = frame([("c", day(0)), ("d", day(0))], ["community_id", "created_at"])
    ev = frame([
        ("c", "m0", day(100), "reply", "o", None), ("c", "m1", day(101), "mention", "o", None),
        ("c", "m2", day(102), "reaction", "o", None), ("c", "m3", day(103), "reply", "m0", None),
        ("c", "m0", day(104), "reply", "bot", None),            # to a bot: not a person the others address
        ("c", "m1", day(105), "reply", "m1", None),             # to oneself: not counted
        ("c", "m2", day(10), "reply", "m3", None),              # more than 180 days before as_of
        ("c", "g", day(110), "event", None, "live"), ("c", "o", day(120), "event", None, "online"),
        *(("c", f"m{i}", day(130), "event_attend", None, None) for i in range(3)),   # a third event day
        ("c", "m0", day(140), "course_complete", None, None), ("c", "m1", day(141), "purchase", None, "course"),
        ("c", "m2", day(142), "purchase", None, "shop"),
        ("d", "a", day(150), "message", None, None),
    ], ["community_id", "member_id", "ts", "event_type", "target_member_id", "category"])
    out = monetization_preconditions(ev, members, com, as_of=day(200)).set_index("community_id")
    assert out.loc["c", "expert_in_share"] == pytest.approx(3 / 4)  # o gets 3 of the 4 counted interactions
    assert out.loc["c", "guest_hosted_events"] == 1
    assert out.loc["c", "resource_events"] == 3 + 2  # event days 110, 120, 130; a completion, a course purchase
    assert pd.isna(out.loc["d", "expert_in_share"]) and out.loc["d", "resource_events"] == 0


def test_bulk_invited_zombie_share_by_hand():
    invitees = [("c", f"q{i}", day(0), "member", "boss") for i in range(10)] + [
        ("c", "r0", day(0), "member", "amy"), ("c", "r1", day(0), "member", "amy"),
        ("c", "boss", day(0), "member", None), ("c", "amy", day(0), "member", None)]
    members = frame(invitees, ["community_id", "member_id", "joined_at", "role", "invited_by"])
    members["left_at"] = pd.Series(pd.NaT, index=members.index, dtype="datetime64[ns, UTC]")
    com = frame([("c", day(0))], ["community_id", "created_at"])
    ev = frame([("c", f"q{i}", day(95), "message") for i in range(3)] + [("c", "r0", day(95), "message")],
               ["community_id", "member_id", "ts", "event_type"])
    got = bulk_invited_zombie_share(ev, members, com, as_of=day(100))
    assert got["c"] == pytest.approx(7 / 10)  # boss brought 10, 7 never active again; amy's 2 are not a bulk
    assert pd.isna(bulk_invited_zombie_share(ev, members.drop(columns="invited_by"), com, as_of=day(100))["c"])
