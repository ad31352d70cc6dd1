"""Seeded synthetic community activity with planted roles and type hypotheses.

The generator writes the three canonical tables (:mod:`commlab.data.schema`)
for a handful of made-up Chinese communities, plus the *truth*: the role each
member was given and which ``DOMAIN.md`` §2 hypotheses were planted. Tests and
notebooks use it to check that the analysis recovers what was planted.

Everything is drawn from ``numpy.random.default_rng(seed)``: the same seed
gives identical tables and byte-identical files.

Time model
----------
The observed window starts at ``start`` (a date read in Asia/Shanghai) and
lasts ``days`` days; ``end = start + days`` is the natural ``as_of`` of the
data. Member activity follows a daily rhythm in local time (evening peak at
20-22h) and a weekly rhythm; times are stored in UTC. Members who joined
before the window have no ``join`` event (a real export starts at ``start``
too); every in-window join has one, at ``joined_at``.

Main entry points
-----------------
:func:`generate`
    The sample data set as DataFrames, with truth and assumptions.
:func:`write_samples`
    Writes it to a folder (the bundled ``data/samples/``).

The planted parameters are in :mod:`commlab.data.planted`, one community is drawn by
:mod:`commlab.data.synthetic_community` (its members :mod:`commlab.data.synthetic_members`, its
practices :mod:`commlab.data.synthetic_practices`), the shared draws and time model are in
:mod:`commlab.data.draws`, the file formats in :mod:`commlab.data.sample_files`; the benchmark data
generator is :mod:`commlab.data.generate_large`.
"""


from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from commlab.data import schema as S
from commlab.data.draws import CHECKIN_HOUR_WEIGHTS, HOUR_WEIGHTS, LOCAL_TZ, start_seconds
from commlab.data.planted import (
    COMMUNITY_SPECS,
    DEPTH,
    EARLY_DEATH_ZOMBIE_MIX,
    HYPOTHESES,
    NOT_PLANTED,
    ROLE_MIX,
    ROLES,
    STAFF_BEHAVIOUR,
)
from commlab.data.sample_files import events_table, write_csv
from commlab.data.schema import Col
from commlab.data.synthetic_community import draw_community, staff_count
from commlab.errors import InvalidArgument

__all__ = ["DEFAULT_SEED", "SyntheticData", "generate", "assumptions_markdown", "write_samples"]


#: Seed of the bundled samples.
DEFAULT_SEED = 20240601


# --------------------------------------------------------------------------- result
@dataclass
class SyntheticData:
    """A generated data set with the truth planted into it.

    Attributes
    ----------
    communities, members, events : DataFrame
        The canonical tables (times ``datetime64[ns, UTC]``, ids ``string``).
    truth : DataFrame
        ``community_id, member_id, planted_role, is_buyer`` for every member
        (staff and owners have ``staff``, bots ``bot``).
    assumptions : dict
        Seed, window, role parameters, per-community parameters with the
        hypotheses planted, and the hypotheses not planted.
    """

    communities: pd.DataFrame
    members: pd.DataFrame
    events: pd.DataFrame
    truth: pd.DataFrame
    assumptions: dict[str, Any]

    def __repr__(self) -> str:
        return (
            f"SyntheticData({len(self.communities)} communities, {len(self.members)} members, "
            f"{len(self.events)} events, seed={self.assumptions.get('seed')})"
        )


def generate(seed: int = DEFAULT_SEED, *, scale: float = 1.0, start: str = "2024-01-01",
             days: int = 182) -> SyntheticData:
    """Generate the synthetic sample data set with planted roles and hypotheses.

    Parameters
    ----------
    seed : int, default 20240601
        Seed of ``numpy.random.default_rng``; the same seed gives identical output.
    scale : float, default 1.0
        Multiplier of every community's member count (at least 30 members each).
    start : str, default "2024-01-01"
        First day of the observed window, a date in Asia/Shanghai.
    days : int, default 182
        Length of the window; ``start + days`` is the natural ``as_of``.

    Returns
    -------
    SyntheticData
        Canonical tables, the planted truth per member and the assumptions.

    Raises
    ------
    ValueError
        If ``days`` is shorter than 120 (the roles need 90 + 30 days) or
        ``scale`` is not positive.

    Examples
    --------
    >>> data = generate(scale=0.1)
    >>> sorted(data.truth["planted_role"].unique())[:4]
    ['bot', 'buyer', 'churn_risk', 'contributor']
    """
    if days < 120:
        raise InvalidArgument(f"days must be at least 120 (got {days}): roles need 90 days of history plus 30")
    if scale <= 0:
        raise InvalidArgument(f"scale must be positive (got {scale})")
    start_s, weekday = start_seconds(start)
    rngs = np.random.default_rng(seed).spawn(len(COMMUNITY_SPECS))
    rows, members, events, truth = [], [], [], []
    for spec, rng in zip(COMMUNITY_SPECS, rngs, strict=True):
        row, mem, ev, tr = draw_community(spec, scale=scale, days=days, start_s=start_s, start_weekday=weekday,
                                      rng=rng)
        rows.append(row)
        members.append(mem)
        events.append(ev)
        truth.append(tr)
    communities = pd.DataFrame(rows)
    for col in S.COMMUNITIES.names:
        if col not in ("created_at",) and col in communities:
            communities[col] = communities[col].astype("string")
    communities["created_at"] = communities["created_at"].astype("datetime64[ns, UTC]")
    return SyntheticData(
        communities=communities,
        members=pd.concat(members, ignore_index=True),
        events=pd.concat(events, ignore_index=True),
        truth=pd.concat(truth, ignore_index=True),
        assumptions=_assumptions(seed, scale, start, days),
    )


def _assumptions(seed: int, scale: float, start: str, days: int) -> dict[str, Any]:
    """Everything planted, as plain JSON-ready data."""
    end = (np.datetime64(start, "D") + np.timedelta64(days, "D")).astype(str)
    return {
        "generator": "commlab.data.generate",
        "seed": seed,
        "scale": scale,
        "window": {"start": start, "end": end, "days": days, "local_tz": LOCAL_TZ,
                   "note": "as_of = end (local midnight); times stored in UTC"},
        "rhythm": {"hour_weights_local": HOUR_WEIGHTS.tolist(),
                   "checkin_hour_weights_local": CHECKIN_HOUR_WEIGHTS.tolist()},
        "roles": {code: asdict(r) for code, r in ROLES.items()},
        "role_mix": ROLE_MIX,
        "depth": DEPTH,
        "staff_behaviour": STAFF_BEHAVIOUR,
        "communities": {s.community_id: {**asdict(s), "n_members_scaled": max(30, round(s.n_members * scale)),
                                         "n_staff_besides_owner": staff_count(max(30, round(s.n_members * scale)))}
                        for s in COMMUNITY_SPECS},
        "hypotheses_planted": HYPOTHESES,
        "hypotheses_not_planted": NOT_PLANTED,
    }


def write_samples(out_dir: str | Path, seed: int = DEFAULT_SEED, scale: float = 1.0) -> dict[str, Path]:
    """Write the sample data set, its truth and its documented assumptions.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write into (created if needed; existing files are replaced).
    seed : int, default 20240601
        Seed passed to :func:`generate`.
    scale : float, default 1.0
        Member-count multiplier passed to :func:`generate`.

    Returns
    -------
    dict of str to Path
        ``communities``, ``members``, ``events``, ``truth``, ``assumptions``
        and ``assumptions_md`` to the files written: ``communities.csv``,
        ``members.csv``, ``events.parquet``, ``truth/member_roles.csv``,
        ``truth/assumptions.json`` and ``ASSUMPTIONS.md``.
    """
    out = Path(out_dir)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    data = generate(seed, scale=scale)
    paths = {
        "communities": out / "communities.csv",
        "members": out / "members.csv",
        "events": out / "events.parquet",
        "truth": out / "truth" / "member_roles.csv",
        "assumptions": out / "truth" / "assumptions.json",
        "assumptions_md": out / "ASSUMPTIONS.md",
    }
    write_csv(data.communities, paths["communities"])
    write_csv(data.members, paths["members"])
    pq.write_table(events_table(data.events), paths["events"], compression="zstd", compression_level=9,
                   row_group_size=1_000_000)
    write_csv(data.truth, paths["truth"])
    paths["assumptions"].write_text(json.dumps(data.assumptions, ensure_ascii=False, indent=2) + "\n",
                                    encoding="utf-8")
    paths["assumptions_md"].write_text(assumptions_markdown(data), encoding="utf-8")
    return paths


def assumptions_markdown(data: SyntheticData) -> str:
    """Human-readable description of what :func:`generate` planted (the ``ASSUMPTIONS.md``).

    Parameters
    ----------
    data : SyntheticData
        A generated data set.

    Returns
    -------
    str
        Markdown text.
    """
    a = data.assumptions
    w = a["window"]
    lines = [
        "# Synthetic sample data: what was planted",
        "",
        f"Generated by `commlab.data.generate.write_samples` with seed {a['seed']} and scale {a['scale']}. "
        "Every value below is a parameter of the generator; the analysis is expected to recover it.",
        "",
        f"- Window: {w['start']} to {w['end']} ({w['days']} days), dates in {w['local_tz']}; "
        f"use `as_of = {w['end']}T00:00:00+08:00` (16:00 UTC the day before); no event is at or after it.",
        "- Times are stored in UTC; activity follows a local daily rhythm (evening peak 20-22h, quiet 1-6h) "
        "and a weekly rhythm (`weekend_factor`).",
        "- Members who joined before the window have no `join` event; in-window joins have one at `joined_at`; "
        "members who left have a `leave` event at `left_at`.",
        "- `display_name` values are made up but are PII in real data: never show them in reports.",
        "- Activity below means any event except `join`/`leave`; content = message, post, reply.",
        "",
        "## Data",
        "",
        f"{len(data.communities)} communities, {len(data.members)} members, {len(data.events)} events.",
        "",
        "| id | name | theme | business model | lifecycle | platform | monetization | economy | members | events |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    n_mem = data.members.groupby(Col.community_id).size()
    n_ev = data.events.groupby(Col.community_id).size()
    for r in data.communities.itertuples(index=False):
        lines.append(
            f"| {r.community_id} | {r.name} | {r.theme} | {r.business_model} | {r.lifecycle} | {r.platform} | "
            f"{r.monetization} | {r.economy} | {n_mem.get(r.community_id, 0)} | {n_ev.get(r.community_id, 0)} |"
        )
    lines += _roles_markdown(a, data.truth)
    lines += _communities_markdown(a)
    lines += ["", "## Hypotheses planted", ""]
    for hid, h in a["hypotheses_planted"].items():
        comms = [c for c, s in a["communities"].items() if hid in s["hypotheses"]]
        lines.append(f"- **{hid}** ({h['source']}): {h['statement']} *How:* {h['how']} "
                     f"*Communities:* {', '.join(comms)}.")
    lines += ["", "## Hypotheses deliberately NOT planted (should come out unsupported)", ""]
    for hid, h in a["hypotheses_not_planted"].items():
        comms = [c for c, s in a["communities"].items() if hid in s["controls"]]
        where = f" *Controls:* {', '.join(comms)}." if comms else ""
        lines.append(f"- **{hid}**: {h['statement']} *Why unsupported:* {h['why']}{where}")
    return "\n".join(lines) + "\n"


def _roles_markdown(a: dict[str, Any], truth: pd.DataFrame) -> list[str]:
    """The planted-roles section of ``ASSUMPTIONS.md``."""
    counts = truth["planted_role"].value_counts()
    lines = [
        "",
        "## Planted member roles (`truth/member_roles.csv`)",
        "",
        "One `planted_role` per member; owners and assistants are `staff`, bots `bot`. `is_buyer` is a separate "
        "flag (at least one purchase). Behaviour per role (before the community's depth: startup x1.5 events per "
        "active day and x1.22 `p_day`, mature x0.8 and x0.89):",
        "",
        "| role | zh | n | joined | activity window | p_day | extra events/active day | "
        "mix msg/post/reply/mention/reaction | target weight | attend | check-in | course | buyer x |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for code, r in a["roles"].items():
        mix = "/".join(f"{x:.2f}" for x in r["mix"])
        lines.append(
            f"| {code} | {r['zh']} | {counts.get(code, 0)} | {r['joined']} | {r['window']} | {r['p_day']} | "
            f"{r['extra_per_day']} | {mix} | {r['target_weight']} | {r['attend']} | {r['checkin']} | "
            f"{r['course']} | {r['buyer_mult']} |"
        )
    lines += [
        f"| staff | 群主/助理 | {counts.get('staff', 0)} | at creation | whole window | fan 0.85 / community 0.60 "
        "(owner +0.05) | fan 5 / community 1.2 | fan .20/.15/.50/.10/.05, community .40/.30/.15/.10/.05 | "
        "target of hub_p of member interactions | 0.9 | - | - | 0 |",
        f"| bot | 机器人 | {counts.get('bot', 0)} | at creation | @-mentions each newcomer within 2 minutes of "
        "joining; a 09:00 reminder on 90% of days | - | - | - | 0 | - | - | - | 0 |",
        "",
        "Rule thresholds implied (as_of = end of window; recency = days since the last non-join/leave event):",
        "",
        "- `newcomer`: tenure < 30 days (joined in the last 30 days) and at least one activity.",
        "- `zombie`: tenure >= 90 days, recency > 60 days (or left), at most 3 active days, all within 3 days of "
        "joining.",
        "- `lurker`: tenure >= 90 days, zero content events (message/post/reply/mention), 1-3 reactions, "
        "recency <= 60 days.",
        "- `churn_risk`: tenure >= 120 days, recency 30-60 days (quiet since 31-53 days), ~0.2 x p_day active "
        "days before going quiet.",
        "- `ordinary`: recency <= 30 days, active on ~5% of days (about 5-15 active days).",
        "- `contributor`: active on ~25% of days (~30-60 active days), ~2 events per active day.",
        "- `core`: active on ~65% of days (~100+ active days), ~3.5 events per active day, most replies "
        "received (target weight 12 vs 4 contributor, 1 ordinary).",
        "- `buyer`: >= 3 purchases, active on ~1% of days, no posts/replies.",
        "- early-death community c09: 90% zombies and 10% ordinary, everyone joined in its first 2 days; its "
        f"zombies are lively in their 3 days (p_day 0.9, 2.5 extra events/day, mix {EARLY_DEATH_ZOMBIE_MIX}).",
    ]
    return lines


def _communities_markdown(a: dict[str, Any]) -> list[str]:
    """The per-community parameters section of ``ASSUMPTIONS.md``."""
    keys = ("hub_p", "circle_size", "circle_p", "buyer_share", "repeat_rate", "price", "buyer_role_share",
            "checkins", "courses", "referral_rate", "event_every", "event_lift", "weekend_factor", "topic_alpha",
            "created_day", "has_bot", "early_death")
    lines = ["", "## Community parameters", "",
             "`hub_p`: probability that a member's reply/mention/reaction targets staff; circles: peer ties kept "
             "inside small circles with probability `circle_p`; `created_day` is relative to the window start.",
             "",
             "| id | " + " | ".join(keys) + " | topics | channels | hypotheses |",
             "|---|" + "---|" * (len(keys) + 3)]
    for cid, s in a["communities"].items():
        vals = " | ".join(str(s[k]) for k in keys)
        lines.append(f"| {cid} | {vals} | {'、'.join(s['topics'])} | {'、'.join(s['channels']) or '-'} | "
                     f"{', '.join(s['hypotheses'])} |")
    lines += ["", "## Practices planted (H10, DOMAIN.md §4b)", "",
              "Secondary types follow the primary one in the communities table (`brand;product`). Events held: "
              "one `event` row per event day (host and format); moderation acts a day; rewards over the window; "
              "join channels of in-window joins (weights; the zombie channel takes 90% of the zombies); the "
              "platforms of member events; silent newcomers as a share of the members.", "",
              "| id | goal | secondary | event host / format | event gaps | moderation | rewards | join channels | "
              "zombie channel | bulk inviter | purchase categories | platforms | silent newcomers |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def pairs(v: list) -> str:
        return ", ".join(f"{a} {b:g}" if isinstance(b, float) else f"{a} {b}" for a, b in v) or "-"

    for cid, s in a["communities"].items():
        mod = f"{s['moderation']} {s['moderation_per_day']:g}/day" if s["moderation"] else "-"
        rew = f"{s['rewards']} ({s['reward_category']}, {s['reward_n']})" if s["rewards"] else "-"
        gaps = ", ".join(map(str, s["event_gaps"])) or (f"every {s['event_every']}" if s["event_every"] else "-")
        lines.append(f"| {cid} | {s['goal'] or '-'} | {pairs(s['secondary'])} | {s['event_host']} / "
                     f"{s['event_category']} | {gaps} | {mod} | {rew} | {pairs(s['join_channels'])} | "
                     f"{s['zombie_channel'] or '-'} | {'owner' if s['bulk_inviter'] else '-'} | "
                     f"{pairs(s['purchase_categories'])} | {pairs(s['platform_split'])} | "
                     f"{s['silent_newcomers'] or '-'} |")
    return lines
