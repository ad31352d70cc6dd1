"""Drawing one synthetic community of the samples: its members, their activity and the practices planted.

:func:`draw_community` turns a :class:`~commlab.data.planted.CommunitySpec` into the community's row, members,
events and truth; :func:`commlab.data.generate.generate` calls it once per community.
"""


from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from commlab.data.draws import (
    CHECKIN_HOUR_WEIGHTS,
    DAY_S,
    at_day,
    clip_to_window,
    days_to_utc,
    weighted_pick,
)
from commlab.data.planted import (
    DEPTH,
    EARLY_DEATH_ZOMBIE_MIX,
    ROLES,
    STAFF_BEHAVIOUR,
    CommunitySpec,
)
from commlab.data.schema import Col
from commlab.data.synthetic_members import (
    CONTENT_MIX_TYPES,
    EVENT_TYPES,
    Events,
    Members,
    finish_interactions,
    make_members,
    members_frame,
    present,
    role_prob,
    staff_count,
)
from commlab.data.synthetic_members import EVENT_CODE as _T
from commlab.data.synthetic_practices import late_members, with_practices

__all__ = ["draw_community", "staff_count"]


def _event_days(spec: CommunitySpec, days: int) -> np.ndarray:
    """Days (relative to the window start) of the community's events."""
    first = max(0, int(np.ceil(spec.created_day)) + 10)
    if spec.event_gaps:
        gaps = np.resize(np.array(spec.event_gaps, dtype=np.int64), days)
        d = first + np.concatenate([[0], np.cumsum(gaps)])
        return d[d < days - 1]
    if spec.event_every <= 0:
        return np.empty(0, dtype=np.int64)
    return np.arange(first, days - 1, spec.event_every, dtype=np.int64)


def _day_weights(spec: CommunitySpec, days: int, start_weekday: int, event_days: np.ndarray) -> np.ndarray:
    """Relative activity of each day of the window (weekly rhythm, event lift, early death)."""
    d = np.arange(days)
    weekday = (start_weekday + d) % 7
    w = np.where(weekday >= 5, spec.weekend_factor, 1.0)
    for lag in (1, 2):
        idx = event_days + lag
        w[idx[idx < days]] *= 1.0 + spec.event_lift
    created = int(np.floor(spec.created_day))
    w[d < created] = 0.0
    if spec.early_death:
        w[d >= created + 3] *= 0.05
    return w


def _thread_ids(spec: CommunitySpec, t: np.ndarray, etype: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Thread number for posts (new threads, in time order) and replies (a recent thread); -1 otherwise."""
    out = np.full(len(t), -1, np.int64)
    posts = np.flatnonzero(etype == _T["post"])
    posts = posts[np.argsort(t[posts], kind="stable")]
    out[posts] = np.arange(len(posts))
    replies = np.flatnonzero(etype == _T["reply"])
    k = np.searchsorted(t[posts], t[replies], side="right")
    back = rng.geometric(0.15, len(replies)) - 1
    chosen = k - 1 - np.minimum(back, np.maximum(k - 1, 0))
    out[replies] = np.where(k > 0, chosen, -1)
    return out


def _behaviour(m: Members, spec: CommunitySpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per member: p_day, extra events per active day, content mix (rows)."""
    depth = DEPTH["early_death" if spec.early_death else spec.lifecycle]
    n = len(m.role)
    p = np.zeros(n)
    extra = np.zeros(n)
    mix = np.zeros((n, len(CONTENT_MIX_TYPES)))
    for i, r in enumerate(m.role):
        if r in ("owner", "staff"):
            b = STAFF_BEHAVIOUR[spec.economy]
            p[i] = b["p_day"] + (0.05 if r == "owner" else 0.0)
            extra[i] = b["extra_per_day"]
            mix[i] = b["mix"]
        elif r in ROLES and r != "lurker":
            rs = ROLES[r]
            p[i] = min(0.95, rs.p_day * depth**0.5)
            extra[i] = rs.extra_per_day * depth
            mix[i] = rs.mix
            if r == "zombie" and spec.early_death:  # the lively first days of a doomed group
                p[i], extra[i], mix[i] = 0.9, 2.5, EARLY_DEATH_ZOMBIE_MIX
    return p, extra, mix


def _content_events(m: Members, spec: CommunitySpec, w: np.ndarray, days: int,
                    rng: np.random.Generator, ev: Events) -> None:
    """Messages, posts, replies, mentions and reactions of staff and planted roles."""
    p, extra, mix = _behaviour(m, spec)
    d = np.arange(days)
    in_win = (d[None, :] + 1 > m.a0[:, None]) & (d[None, :] < m.a1[:, None])
    active = (rng.random((len(p), days)) < np.minimum(0.98, p[:, None] * w[None, :])) & in_win
    _force_days(m, days, active, rng)
    mem, day = np.nonzero(active)
    per_day = 1 + rng.poisson(extra[mem])
    mem, day = np.repeat(mem, per_day), np.repeat(day, per_day)
    t = clip_to_window(at_day(day, rng), m.a0[mem], m.a1[mem], rng)
    cum = np.cumsum(mix[mem], axis=1)
    kind = (rng.random(len(mem))[:, None] * cum[:, -1:] > cum).sum(axis=1)
    etype = np.array([_T[x] for x in CONTENT_MIX_TYPES])[np.minimum(kind, len(CONTENT_MIX_TYPES) - 1)]
    ev.add(mem, t, etype)
    _lurker_reactions(m, days, rng, ev)


def _force_days(m: Members, days: int, active: np.ndarray, rng: np.random.Generator) -> None:
    """Guarantee the activity that defines some roles (recent day, first day, last day before quiet)."""
    def force(mask: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        idx = np.flatnonzero(mask)
        if len(idx):
            lo_i, hi_i = np.floor(lo[idx]).astype(int), np.ceil(hi[idx]).astype(int)
            day = lo_i + (rng.random(len(idx)) * np.maximum(hi_i - lo_i, 1)).astype(int)
            active[idx, np.clip(day, 0, days - 1)] = True

    r = m.role
    force(r == "ordinary", np.maximum(m.a0, days - 30.0), m.a1)
    force(r == "newcomer", m.a0, m.a1)
    force(r == "churn_risk", m.a1 - 7.0, m.a1)
    zombie = r == "zombie"
    force(zombie, m.a0, m.a0 + 1.0)


def _lurker_reactions(m: Members, days: int, rng: np.random.Generator, ev: Events) -> None:
    """Lurkers react rarely (1-3 times), at least once in the last 60 days."""
    lurk = np.flatnonzero(m.role == "lurker")
    n = 1 + rng.binomial(2, 0.3, len(lurk))
    mem = np.repeat(lurk, n)
    first = np.concatenate([[True], mem[1:] != mem[:-1]]) if len(mem) else np.zeros(0, bool)
    lo = np.where(first, np.maximum(m.a0[mem], days - 60.0), m.a0[mem])
    day = np.floor(lo + rng.random(len(mem)) * (days - lo)).astype(np.int64)
    t = clip_to_window(at_day(day, rng), m.a0[mem], np.full(len(mem), float(days)), rng)
    ev.add(mem, t, _T["reaction"])


def _attendance(m: Members, spec: CommunitySpec, event_days: np.ndarray, rng: np.random.Generator,
                ev: Events) -> None:
    """event_attend at 20:00 local on event days, by role."""
    if not len(event_days):
        return
    start = event_days + 20.0 / 24.0
    mult = 1.4 if spec.theme == "knowledge" else 1.0
    p = np.minimum(0.95, role_prob(m, "attend", 0.9) * mult)
    att = present(m, start) & (rng.random((len(m.role), len(start))) < p[:, None])
    mem, k = np.nonzero(att)
    ev.add(mem, start[k] + rng.random(len(k)) * 0.25 / 24.0, _T["event_attend"])


def _checkins(m: Members, spec: CommunitySpec, days: int, rng: np.random.Generator, ev: Events) -> None:
    """Daily check-ins (knowledge/service communities)."""
    if not spec.checkins:
        return
    d = np.arange(days)
    in_win = (d[None, :] + 1 > m.a0[:, None]) & (d[None, :] < m.a1[:, None])
    active = in_win & (rng.random((len(m.role), days)) < role_prob(m, "checkin")[:, None])
    mem, day = np.nonzero(active)
    t = clip_to_window(at_day(day, rng, CHECKIN_HOUR_WEIGHTS), m.a0[mem], m.a1[mem], rng)
    ev.add(mem, t, _T["checkin"])


def _courses(m: Members, spec: CommunitySpec, days: int, rng: np.random.Generator, ev: Events) -> None:
    """course_complete at the end of each 14-day module."""
    if not spec.courses:
        return
    ends = np.arange(max(0, int(np.ceil(spec.created_day))) + 14, days, 14) + 21.5 / 24.0
    done = present(m, ends) & (rng.random((len(m.role), len(ends))) < role_prob(m, "course")[:, None])
    mem, k = np.nonzero(done)
    ev.add(mem, ends[k] + rng.random(len(k)) * 0.08, _T["course_complete"])


def _purchases(m: Members, spec: CommunitySpec, days: int, rng: np.random.Generator, ev: Events) -> None:
    """Purchases of buyers: count, day (no event lift), amount."""
    buyers = np.flatnonzero(m.is_buyer)
    n = np.where(m.role[buyers] == "buyer", 3 + rng.poisson(2.0, len(buyers)),
                 1 + rng.poisson(spec.repeat_rate, len(buyers)))
    mem = np.repeat(buyers, n)
    day = np.floor(m.a0[mem] + rng.random(len(mem)) * (m.a1[mem] - m.a0[mem])).astype(np.int64)
    t = clip_to_window(at_day(day, rng), m.a0[mem], m.a1[mem], rng)
    price = spec.price or 99.0
    amount = np.round(np.exp(np.log(price) + 0.45 * rng.standard_normal(len(mem))), 2)
    ev.add(mem, t, _T["purchase"], amount=amount)


def _referrals(m: Members, spec: CommunitySpec, rng: np.random.Generator, ev: Events) -> None:
    """Referral events shortly before some in-window joins, by core/contributors/buyers."""
    plain = np.isin(m.role, tuple(ROLES))
    referred = np.flatnonzero(plain & (m.joined > max(spec.created_day, 0.0) + 1.0)
                              & (rng.random(len(m.role)) < spec.referral_rate))
    t = m.joined[referred] - (1.0 + rng.random(len(referred)) * 47.0) / 24.0
    weight = {"core": 5.0, "contributor": 3.0, "ordinary": 1.0, "buyer": 2.0, "newcomer": 0.5}
    w = np.array([weight.get(r, 0.0) for r in m.role])
    cand = np.flatnonzero(w > 0)
    cand = cand[np.argsort(m.a0[cand], kind="stable")]
    if not len(cand):
        return
    cw = np.cumsum(w[cand])
    k = np.searchsorted(m.a0[cand], t, side="right")
    pos = np.minimum(np.searchsorted(cw, rng.random(len(t)) * cw[np.maximum(k - 1, 0)], side="right"),
                     np.maximum(k - 1, 0))
    ok = (k > 0) & (t >= 0)
    ev.add(cand[pos[ok]], t[ok], _T["referral"], target=referred[ok])


def _joins_and_leaves(m: Members, ev: Events) -> None:
    """join at joined_at (in-window joins only) and leave at left_at."""
    j = np.flatnonzero(m.joined >= 0)
    ev.add(j, m.joined[j], _T["join"])
    lv = np.flatnonzero(~np.isnan(m.left))
    ev.add(lv, m.left[lv], _T["leave"])


def _bot_events(m: Members, days: int, rng: np.random.Generator, ev: Events) -> None:
    """The bot @-mentions every newcomer and posts a morning reminder most days."""
    bots = np.flatnonzero(m.role == "bot")
    if not len(bots):
        return
    bot = int(bots[0])
    new = np.flatnonzero((m.joined >= max(m.joined[bot], 0.0)) & (np.arange(len(m.role)) != bot))
    ev.add(np.full(len(new), bot), m.joined[new] + (10 + rng.random(len(new)) * 110) / DAY_S, _T["mention"],
           target=new)
    d = np.arange(int(np.ceil(max(m.a0[bot], 0.0))), days)
    d = d[rng.random(len(d)) < 0.9]
    ev.add(np.full(len(d), bot), d + (9.0 + rng.random(len(d)) * 0.05) / 24.0, _T["message"])


def draw_community(spec: CommunitySpec, *, scale: float, days: int, start_s: int, start_weekday: int,
               rng: np.random.Generator) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Generate one community: its row, members, events and truth."""
    n_total = max(30, round(spec.n_members * scale))
    # the practices (DOMAIN.md §4b) draw from a stream of their own, so the rest is drawn as before them
    practice_rng = rng.spawn(1)[0]
    m = make_members(spec, n_total, days, rng, practice_rng)
    event_days = _event_days(spec, days)
    w = _day_weights(spec, days, start_weekday, event_days)
    ev = Events()
    _content_events(m, spec, w, days, rng, ev)
    _attendance(m, spec, event_days, rng, ev)
    _checkins(m, spec, days, rng, ev)
    _courses(m, spec, days, rng, ev)
    _purchases(m, spec, days, rng, ev)
    _referrals(m, spec, rng, ev)
    _joins_and_leaves(m, ev)
    _bot_events(m, days, rng, ev)
    cols = ev.concat()
    cols = finish_interactions(m, spec, cols, rng)
    events = _events_frame(m, spec, cols, start_s, rng)
    n_base = len(m.ids)
    late = late_members(m, spec, days, practice_rng)
    events = with_practices(m, spec, events, event_days, days, start_s, practice_rng, late)
    row = _community_row(spec, start_s)
    members = members_frame(m, spec, start_s, rng, n_base, practice_rng)
    truth = pd.DataFrame({
        Col.community_id: pd.array([spec.community_id] * len(m.ids), dtype="string"),
        Col.member_id: pd.array(m.ids, dtype="string"),
        "planted_role": pd.array(np.where(np.isin(m.role, ("owner", "staff")), "staff", m.role), dtype="string"),
        "is_buyer": m.is_buyer.astype(bool),
    })
    return row, members, events, truth


def _topics(spec: CommunitySpec, etype: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Topic tag per event: always on posts, on 35% of messages and replies (Zipf frequencies)."""
    out = np.full(len(etype), None, dtype=object)
    if not spec.topics:
        return out
    has = (etype == _T["post"]) | (np.isin(etype, [_T["message"], _T["reply"]]) & (rng.random(len(etype)) < 0.35))
    w = np.arange(1, len(spec.topics) + 1, dtype=float) ** -spec.topic_alpha
    out[has] = np.array(spec.topics, dtype=object)[weighted_pick(w, int(has.sum()), rng)]
    return out


def _channels(m: Members, spec: CommunitySpec, member: np.ndarray, etype: np.ndarray,
              rng: np.random.Generator) -> np.ndarray:
    """Channel per content/interaction event where the platform has channels (staff posts go to 公告)."""
    out = np.full(len(etype), None, dtype=object)
    if not spec.channels:
        return out
    content = np.isin(etype, [_T[x] for x in CONTENT_MIX_TYPES])
    w = np.array([0.3] + [1.0] * (len(spec.channels) - 1))
    ch = np.array(spec.channels, dtype=object)[weighted_pick(w, len(etype), rng)]
    staff_post = m.is_staff[member] & (etype == _T["post"])
    ch[staff_post] = spec.channels[0]
    out[content] = ch[content]
    return out


def _events_frame(m: Members, spec: CommunitySpec, cols: dict[str, np.ndarray], start_s: int,
                  rng: np.random.Generator) -> pd.DataFrame:
    """The canonical events table of one community, sorted by time."""
    order = np.lexsort((cols["etype"], cols["member"], cols["t"]))
    cols = {k: v[order] for k, v in cols.items()}
    etype, member, target = cols["etype"], cols["member"], cols["target"]
    thread = _thread_ids(spec, cols["t"], etype, rng)
    thread_str = np.full(len(thread), None, dtype=object)
    has = thread >= 0
    thread_str[has] = np.char.add(f"{spec.community_id}-t", np.char.zfill(thread[has].astype(str), 5)).astype(object)
    target_str = np.full(len(target), None, dtype=object)
    target_str[target >= 0] = m.ids[target[target >= 0]]
    return pd.DataFrame({
        Col.community_id: pd.array([spec.community_id] * len(etype), dtype="string"),
        Col.member_id: pd.array(m.ids[member], dtype="string"),
        "ts": days_to_utc(cols["t"], start_s),
        "event_type": pd.array(np.array(EVENT_TYPES)[etype], dtype="string"),
        "target_member_id": pd.array(target_str, dtype="string"),
        "thread_id": pd.array(thread_str, dtype="string"),
        "amount": cols["amount"].astype("float64"),
        "channel": pd.array(_channels(m, spec, member, etype, rng), dtype="string"),
        "topic": pd.array(_topics(spec, etype, rng), dtype="string"),
        "category": pd.array(cols["category"], dtype="string"),
    })


def _community_row(spec: CommunitySpec, start_s: int) -> dict[str, Any]:
    """The communities-table row of ``spec``."""
    def axis(name: str) -> str:
        return ";".join([getattr(spec, name)] + [v for a, v in spec.secondary if a == name])

    return {
        Col.community_id: spec.community_id, "name": spec.name, "theme": axis("theme"),
        "business_model": axis("business_model"), "lifecycle": spec.lifecycle, "platform": axis("platform"),
        "monetization": axis("monetization"),
        "created_at": days_to_utc(np.array([spec.created_day]), start_s)[0],
        "economy": spec.economy, "goal": spec.goal or None, "source": "synthetic (commlab.data.generate), CC0",
    }
