"""Drawing one synthetic community of the samples: its members, their activity and the practices planted.

:func:`draw_community` turns a :class:`~commlab.data.planted.CommunitySpec` into the community's row, members,
events and truth; :func:`commlab.data.generate.generate` calls it once per community.
"""


from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from commlab.data import schema as S
from commlab.data.draws import (
    CHECKIN_HOUR_WEIGHTS,
    DAY_S,
    at_day,
    clip_to_window,
    days_to_utc,
    display_names,
    weighted_pick,
)
from commlab.data.planted import (
    DEPTH,
    EARLY_DEATH_ZOMBIE_MIX,
    ROLE_MIX,
    ROLES,
    STAFF_BEHAVIOUR,
    CommunitySpec,
)
from commlab.data.schema import Col

__all__ = ["draw_community", "staff_count"]


_TYPES = S.EVENT_TYPE.codes
_T = {code: i for i, code in enumerate(_TYPES)}
_CONTENT_MIX_TYPES = ("message", "post", "reply", "mention", "reaction")


@dataclass
class _Members:
    """Members of one community being generated (index = position in the arrays)."""

    ids: np.ndarray  # str
    role: np.ndarray  # str: planted role, "staff", "owner" or "bot"
    joined: np.ndarray  # float days since window start
    a0: np.ndarray  # start of the activity window (days)
    a1: np.ndarray  # end of the activity window (days, exclusive)
    left: np.ndarray  # float days, nan = still in
    is_buyer: np.ndarray  # bool
    circle: np.ndarray  # int, -1 = no circle
    channel: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))  # join channel or None
    inviter: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # index of the inviter, -1 = none
    hubs: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # core members at the centre

    @property
    def is_staff(self) -> np.ndarray:
        return np.isin(self.role, ("owner", "staff"))

    @property
    def owner(self) -> int:
        return int(np.flatnonzero(self.role == "owner")[0])


@dataclass
class _Events:
    """Columns of the events of one community, as integer codes and floats."""

    member: list[np.ndarray] = field(default_factory=list)
    t: list[np.ndarray] = field(default_factory=list)
    etype: list[np.ndarray] = field(default_factory=list)
    target: list[np.ndarray] = field(default_factory=list)
    amount: list[np.ndarray] = field(default_factory=list)
    category: list[np.ndarray] = field(default_factory=list)

    def add(self, member: np.ndarray, t: np.ndarray, etype: np.ndarray | int,
            target: np.ndarray | None = None, amount: np.ndarray | None = None,
            category: np.ndarray | str | None = None) -> None:
        n = len(member)
        cat = np.full(n, None, dtype=object)
        if category is not None:
            cat[:] = category
        self.category.append(cat)
        self.member.append(np.asarray(member, dtype=np.int64))
        self.t.append(np.asarray(t, dtype=np.float64))
        self.etype.append(np.broadcast_to(np.asarray(etype, dtype=np.int64), (n,)).copy())
        self.target.append(np.full(n, -1, np.int64) if target is None else np.asarray(target, dtype=np.int64))
        self.amount.append(np.full(n, np.nan) if amount is None else np.asarray(amount, dtype=np.float64))

    def concat(self) -> dict[str, np.ndarray]:
        empty = {"member": np.int64, "t": np.float64, "etype": np.int64, "target": np.int64, "amount": np.float64,
                 "category": object}
        return {k: np.concatenate(getattr(self, k)) if getattr(self, k) else np.empty(0, dtype=dt)
                for k, dt in empty.items()}


# --------------------------------------------------------------------------- calendar
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


# --------------------------------------------------------------------------- members
def _role_counts(spec: CommunitySpec, n_plain: int) -> dict[str, int]:
    """How many non-staff members get each planted role."""
    mix = dict(ROLE_MIX["early_death" if spec.early_death else spec.lifecycle])
    if spec.buyer_role_share:
        mix["buyer"] = spec.buyer_role_share
        mix["ordinary"] = mix["ordinary"] - spec.buyer_role_share
    counts = {r: int(np.floor(s * n_plain)) for r, s in mix.items()}
    counts["ordinary"] += n_plain - sum(counts.values())
    return counts


def staff_count(n_total: int) -> int:
    """Staff accounts besides the owner."""
    return max(1, round(n_total / 500))


def _join_days(role: str, n: int, spec: CommunitySpec, days: int, rng: np.random.Generator) -> np.ndarray:
    """Join times (float days since the window start) for ``n`` members of ``role``."""
    c = spec.created_day
    u = rng.random(n)
    if spec.early_death:
        return c + 0.05 + 1.95 * u
    mature = spec.lifecycle == "mature"
    lo, hi = {
        "core": (c, 0.0) if mature else (c, c + 10),
        "contributor": (c, 20.0) if mature else (c, c + 40),
        "ordinary": (c, days - 45.0),
        "lurker": (c, days - 90.0),
        "zombie": (max(c, 0.0), days - 90.0),
        "newcomer": (days - 30.0, days - 1.0),
        "churn_risk": (c, 30.0),
        "buyer": (c, days - 60.0),
    }[role]
    return lo + 0.02 + (hi - lo - 0.04) * u


def _make_members(spec: CommunitySpec, n_total: int, days: int, rng: np.random.Generator,
                  practice_rng: np.random.Generator) -> _Members:
    """Staff, bot and planted-role members of one community with their windows."""
    c = spec.created_day
    n_staff = staff_count(n_total)
    head_roles = ["owner"] + ["staff"] * n_staff + (["bot"] if spec.has_bot else [])
    head_join = np.concatenate([[c + 0.001], c + 0.01 + rng.random(n_staff) * 1.5,
                                [c + 0.005] if spec.has_bot else []])
    counts = _role_counts(spec, n_total - len(head_roles))
    roles = list(head_roles)
    joins = [head_join]
    for role, k in counts.items():
        roles += [role] * k
        joins.append(_join_days(role, k, spec, days, rng))
    role = np.array(roles)
    joined = np.concatenate(joins)
    # sort the non-staff part by join time so ids grow with seniority, as on most platforms
    order = np.concatenate([np.arange(len(head_roles)), len(head_roles) + np.argsort(joined[len(head_roles):],
                                                                                     kind="stable")])
    role, joined = role[order], joined[order]
    n = len(role)
    ids = np.array([f"{spec.community_id}_{i:04d}" for i in range(1, n + 1)])
    a0 = np.maximum(joined, 0.0)
    a1 = np.full(n, float(days))
    zombie = role == "zombie"
    a1[zombie] = np.minimum(a0[zombie] + 3.0, days)
    churn = role == "churn_risk"
    a1[churn] = days - rng.integers(31, 54, int(churn.sum()))
    left = np.full(n, np.nan)
    leaves = zombie & (rng.random(n) < 0.35)
    lo, hi = a1 + 1.0, days - 61.0
    left[leaves] = (lo + rng.random(n) * np.maximum(hi - lo, 0.0))[leaves]
    buy_p = np.array([ROLES[r].buyer_mult if r in ROLES else 0.0 for r in role]) * spec.buyer_share
    is_buyer = (rng.random(n) < buy_p) | (role == "buyer")
    circle = np.full(n, -1, np.int64)
    if spec.circle_size:
        eligible = np.flatnonzero(np.isin(role, ("core", "contributor", "ordinary", "newcomer")))
        perm = rng.permutation(len(eligible))
        circle[eligible[perm]] = np.arange(len(eligible)) // spec.circle_size
    m = _Members(ids, role, joined, a0, a1, left, is_buyer, circle)
    m.hubs = np.flatnonzero(role == "core")[:spec.core_hubs]  # the most senior core members
    m.channel, m.inviter = _join_channels(m, spec, practice_rng)
    return m


def _join_channels(m: _Members, spec: CommunitySpec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Join channel and inviter of each in-window join (the platform's join message); None/-1 otherwise."""
    n = len(m.role)
    channel = np.full(n, None, dtype=object)
    inviter = np.full(n, -1, np.int64)
    if not spec.join_channels:
        return channel, inviter
    plain = np.isin(m.role, tuple(ROLES)) & (m.joined >= 0)
    names = np.array([c for c, _ in spec.join_channels], dtype=object)
    w = np.array([x for _, x in spec.join_channels], dtype=float)
    pick = names[weighted_pick(w, n, rng)]
    if spec.zombie_channel:
        zombie = m.role == "zombie"
        to_zc = zombie & (rng.random(n) < 0.9)
        pick[to_zc] = spec.zombie_channel
        others = names[names != spec.zombie_channel]
        moved = ~zombie & (pick == spec.zombie_channel) & (rng.random(n) < 0.8)
        if len(others):
            pick[moved] = others[weighted_pick(w[names != spec.zombie_channel], int(moved.sum()), rng)]
    channel[plain] = pick[plain]
    invited = np.flatnonzero(plain & (channel == "invite"))
    if spec.bulk_inviter:
        inviter[invited] = m.owner
        return channel, inviter
    weight = {"core": 5.0, "contributor": 3.0, "ordinary": 1.0, "owner": 2.0, "staff": 2.0}
    cand = np.flatnonzero(np.array([weight.get(r, 0.0) for r in m.role]) > 0)
    cand = cand[np.argsort(m.joined[cand], kind="stable")]
    cw = np.cumsum(np.array([weight[r] for r in m.role[cand]]))
    k = np.searchsorted(m.joined[cand], m.joined[invited], side="left")
    pos = np.minimum(np.searchsorted(cw, rng.random(len(invited)) * cw[np.maximum(k - 1, 0)], side="right"),
                     np.maximum(k - 1, 0))
    ok = k > 0
    inviter[invited[ok]] = cand[pos[ok]]
    channel[invited[~ok]] = "qr_code" if "qr_code" in names else "link"
    return channel, inviter


# --------------------------------------------------------------------------- targets and threads
class _TargetPicker:
    """Draws reply/mention/reaction targets that exist at the time of the event."""

    def __init__(self, m: _Members, spec: CommunitySpec):
        self.m, self.spec = m, spec
        w = np.array([ROLES[r].target_weight if r in ROLES else 0.0 for r in m.role])
        cand = np.flatnonzero(w > 0)
        order = np.argsort(m.joined[cand], kind="stable")
        self.cand = cand[order]
        self.cand_joined = m.joined[self.cand]
        self.cum_w = np.cumsum(w[self.cand])
        self.staff = np.flatnonzero(m.is_staff)
        self.staff_w = np.where(m.role[self.staff] == "owner", 2.0, 1.0)  # the owner answers twice as often
        in_circle = np.flatnonzero(m.circle >= 0)
        self.circ_members = in_circle[np.argsort(m.circle[in_circle], kind="stable")]
        circ_ids = m.circle[self.circ_members]
        n_circ = int(circ_ids.max()) + 1 if len(circ_ids) else 0
        self.circ_start = np.searchsorted(circ_ids, np.arange(n_circ))
        self.circ_size = np.bincount(circ_ids, minlength=n_circ) if n_circ else np.zeros(0, np.int64)
        self.circ_pos = np.full(len(m.role), -1, np.int64)
        self.circ_pos[self.circ_members] = np.arange(len(self.circ_members)) - self.circ_start[circ_ids]

    def peer(self, author: np.ndarray, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Weighted non-staff target joined by ``t`` and not the author (-1 if none)."""
        k = np.searchsorted(self.cand_joined, t, side="right")
        out = np.full(len(t), -1, np.int64)
        ok = k > 0
        if not ok.any() or not len(self.cand):
            return out
        lim = self.cum_w[np.maximum(k - 1, 0)]
        pos = np.searchsorted(self.cum_w, rng.random(len(t)) * lim, side="right")
        pos = np.minimum(pos, np.maximum(k - 1, 0))
        target = self.cand[pos]
        self_hit = target == author
        alt = np.where(pos > 0, pos - 1, pos + 1)
        alt_ok = alt < k
        pos = np.where(self_hit, alt, pos)
        ok &= ~self_hit | alt_ok
        out[ok] = self.cand[np.minimum(pos[ok], len(self.cand) - 1)]
        return out

    def circle_mate(self, author: np.ndarray, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A member of the author's circle joined by ``t`` (-1 if none or no circle)."""
        out = np.full(len(t), -1, np.int64)
        c = self.m.circle[author]
        has = c >= 0
        if not has.any():
            return out
        size = self.circ_size[c[has]]
        step = 1 + (rng.random(int(has.sum())) * np.maximum(size - 1, 1)).astype(np.int64)  # never the author
        pick = self.circ_members[self.circ_start[c[has]] + (self.circ_pos[author[has]] + step) % size]
        valid = (pick != author[has]) & (self.m.joined[pick] <= t[has])
        out[np.flatnonzero(has)[valid]] = pick[valid]
        return out

    def pick(self, author: np.ndarray, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Targets for interaction events by ``author`` at ``t`` (-1 where impossible)."""
        n = len(t)
        author_staff = self.m.is_staff[author]
        target = self.peer(author, t, rng)
        if self.spec.circle_p:
            mate = self.circle_mate(author, t, rng)
            use = (mate >= 0) & (rng.random(n) < self.spec.circle_p)
            target = np.where(use, mate, target)
        hubs = self.m.hubs
        if len(hubs) and self.spec.core_hub_p:
            to_hub = ~author_staff & (rng.random(n) < self.spec.core_hub_p)
            hub = hubs[weighted_pick(1.0 / np.sqrt(np.arange(1, len(hubs) + 1)), n, rng)]
            hub_ok = to_hub & (self.m.joined[hub] <= t) & (hub != author)
            target = np.where(hub_ok, hub, target)
        to_staff = ~author_staff & (rng.random(n) < self.spec.hub_p)
        staff = self.staff[weighted_pick(self.staff_w, n, rng)]
        staff_ok = (self.m.joined[staff] <= t) & (staff != author)
        target = np.where(to_staff & staff_ok, staff, target)
        owner = self.m.owner
        fallback = (target < 0) & (author != owner)
        target[fallback] = owner
        return target


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


# --------------------------------------------------------------------------- events
def _behaviour(m: _Members, spec: CommunitySpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per member: p_day, extra events per active day, content mix (rows)."""
    depth = DEPTH["early_death" if spec.early_death else spec.lifecycle]
    n = len(m.role)
    p = np.zeros(n)
    extra = np.zeros(n)
    mix = np.zeros((n, len(_CONTENT_MIX_TYPES)))
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


def _content_events(m: _Members, spec: CommunitySpec, w: np.ndarray, days: int,
                    rng: np.random.Generator, ev: _Events) -> None:
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
    etype = np.array([_T[x] for x in _CONTENT_MIX_TYPES])[np.minimum(kind, len(_CONTENT_MIX_TYPES) - 1)]
    ev.add(mem, t, etype)
    _lurker_reactions(m, days, rng, ev)


def _force_days(m: _Members, days: int, active: np.ndarray, rng: np.random.Generator) -> None:
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


def _lurker_reactions(m: _Members, days: int, rng: np.random.Generator, ev: _Events) -> None:
    """Lurkers react rarely (1-3 times), at least once in the last 60 days."""
    lurk = np.flatnonzero(m.role == "lurker")
    n = 1 + rng.binomial(2, 0.3, len(lurk))
    mem = np.repeat(lurk, n)
    first = np.concatenate([[True], mem[1:] != mem[:-1]]) if len(mem) else np.zeros(0, bool)
    lo = np.where(first, np.maximum(m.a0[mem], days - 60.0), m.a0[mem])
    day = np.floor(lo + rng.random(len(mem)) * (days - lo)).astype(np.int64)
    t = clip_to_window(at_day(day, rng), m.a0[mem], np.full(len(mem), float(days)), rng)
    ev.add(mem, t, _T["reaction"])


def _present(m: _Members, t: np.ndarray) -> np.ndarray:
    """Members x times matrix: inside their activity window at time ``t``."""
    return (m.a0[:, None] <= t[None, :]) & (m.a1[:, None] > t[None, :])


def _role_prob(m: _Members, attr: str, staff_value: float = 0.0) -> np.ndarray:
    """Per member a probability from the role specs (staff get ``staff_value``)."""
    return np.array([getattr(ROLES[r], attr) if r in ROLES else (staff_value if r != "bot" else 0.0)
                     for r in m.role])


def _attendance(m: _Members, spec: CommunitySpec, event_days: np.ndarray, rng: np.random.Generator,
                ev: _Events) -> None:
    """event_attend at 20:00 local on event days, by role."""
    if not len(event_days):
        return
    start = event_days + 20.0 / 24.0
    mult = 1.4 if spec.theme == "knowledge" else 1.0
    p = np.minimum(0.95, _role_prob(m, "attend", 0.9) * mult)
    att = _present(m, start) & (rng.random((len(m.role), len(start))) < p[:, None])
    mem, k = np.nonzero(att)
    ev.add(mem, start[k] + rng.random(len(k)) * 0.25 / 24.0, _T["event_attend"])


def _checkins(m: _Members, spec: CommunitySpec, days: int, rng: np.random.Generator, ev: _Events) -> None:
    """Daily check-ins (knowledge/service communities)."""
    if not spec.checkins:
        return
    d = np.arange(days)
    in_win = (d[None, :] + 1 > m.a0[:, None]) & (d[None, :] < m.a1[:, None])
    active = in_win & (rng.random((len(m.role), days)) < _role_prob(m, "checkin")[:, None])
    mem, day = np.nonzero(active)
    t = clip_to_window(at_day(day, rng, CHECKIN_HOUR_WEIGHTS), m.a0[mem], m.a1[mem], rng)
    ev.add(mem, t, _T["checkin"])


def _courses(m: _Members, spec: CommunitySpec, days: int, rng: np.random.Generator, ev: _Events) -> None:
    """course_complete at the end of each 14-day module."""
    if not spec.courses:
        return
    ends = np.arange(max(0, int(np.ceil(spec.created_day))) + 14, days, 14) + 21.5 / 24.0
    done = _present(m, ends) & (rng.random((len(m.role), len(ends))) < _role_prob(m, "course")[:, None])
    mem, k = np.nonzero(done)
    ev.add(mem, ends[k] + rng.random(len(k)) * 0.08, _T["course_complete"])


def _purchases(m: _Members, spec: CommunitySpec, days: int, rng: np.random.Generator, ev: _Events) -> None:
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


def _categories(spec: CommunitySpec, n: int, rng: np.random.Generator) -> np.ndarray | None:
    """Purchase categories drawn from the community's weights (None where it records none)."""
    if not spec.purchase_categories:
        return None
    names = np.array([c for c, _ in spec.purchase_categories], dtype=object)
    return names[weighted_pick(np.array([w for _, w in spec.purchase_categories]), n, rng)]


def _events_held(m: _Members, spec: CommunitySpec, event_days: np.ndarray, rng: np.random.Generator,
                 ev: _Events) -> None:
    """One ``event`` row per event day at 19:55 local: its host (staff, a core hub, or the guest) and format."""
    if not len(event_days):
        return
    staff = np.flatnonzero(m.is_staff)
    host = staff[rng.integers(0, len(staff), len(event_days))]
    if spec.event_host == "core" and len(m.hubs):
        host = m.hubs[rng.integers(0, len(m.hubs), len(event_days))]
    elif spec.event_host == "guest":
        guest = np.flatnonzero(m.role == "guest")
        every_other = np.arange(len(event_days)) % 2 == 0
        host[every_other & (m.joined[guest[0]] < event_days)] = guest[0]
    ev.add(host, event_days + (19.0 + 55.0 / 60.0) / 24.0, _T["event"], category=spec.event_category)


def _moderation(m: _Members, spec: CommunitySpec, days: int, rng: np.random.Generator, ev: _Events) -> None:
    """Moderation acts (pin, remove, warn, welcome): by staff, or 80% by the core hubs."""
    if not spec.moderation or spec.moderation_per_day <= 0:
        return
    d = np.arange(max(0, int(np.ceil(spec.created_day))), days)
    day = np.repeat(d, rng.poisson(spec.moderation_per_day, len(d)))
    staff = np.flatnonzero(m.is_staff)
    who = staff[rng.integers(0, len(staff), len(day))]
    if spec.moderation == "core" and len(m.hubs):
        by_core = rng.random(len(day)) < 0.8
        who[by_core] = m.hubs[rng.integers(0, len(m.hubs), int(by_core.sum()))]
    t = at_day(day, rng)
    ok = m.a0[who] <= t
    ev.add(who[ok], t[ok], _T["moderation"])


def _rewards(m: _Members, spec: CommunitySpec, days: int, rng: np.random.Generator, ev: _Events) -> None:
    """Rewards by staff to members; ``answers``/``coupons`` receivers stay more active in the week after."""
    if not spec.rewards or spec.reward_n <= 0:
        return
    lo = max(0.0, spec.created_day) + 8.0
    t = np.sort(lo + rng.random(spec.reward_n) * (days - 8.0 - lo))
    pool = {"random": ("core", "contributor"),
            "answers": ("core", "contributor"), "coupons": ("ordinary", "contributor")}[spec.rewards]
    if spec.rewards == "coupons":
        eligible = np.flatnonzero(np.isin(m.role, pool) & m.is_buyer)
    else:
        eligible = np.flatnonzero(np.isin(m.role, pool))
    present = (m.a0[eligible][:, None] <= t[None, :] - 7.0) & (m.a1[eligible][:, None] > t[None, :] + 7.0)
    receiver = np.full(len(t), -1, np.int64)
    for k in range(len(t)):
        cand = eligible[present[:, k]]
        if len(cand):
            receiver[k] = cand[rng.integers(0, len(cand))]
    ok = receiver >= 0
    t, receiver = t[ok], receiver[ok]
    staff = np.flatnonzero(m.is_staff)
    ev.add(staff[rng.integers(0, len(staff), len(t))], t, _T["reward"], target=receiver, category=spec.reward_category)
    if spec.rewards == "random":
        return  # a draw, not tied to behaviour: nothing changes afterwards
    extra = rng.poisson(5.0 if spec.rewards == "answers" else 2.0, len(t))
    mem = np.repeat(receiver, extra)
    after = np.repeat(t, extra) + 0.05 + rng.random(len(mem)) * 6.9
    kind = np.where(rng.random(len(mem)) < 0.5, _T["reply"], _T["message"])
    ev.add(mem, after, kind)
    if spec.rewards == "coupons":
        buy = rng.random(len(t)) < 0.5
        bt = t[buy] + 0.05 + rng.random(int(buy.sum())) * 6.9
        amount = np.round(np.exp(np.log(spec.price or 99.0) + 0.45 * rng.standard_normal(len(bt))), 2)
        ev.add(receiver[buy], bt, _T["purchase"], amount=amount, category=_categories(spec, len(bt), rng))


def _referrals(m: _Members, spec: CommunitySpec, rng: np.random.Generator, ev: _Events) -> None:
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


def _joins_and_leaves(m: _Members, ev: _Events) -> None:
    """join at joined_at (in-window joins only) and leave at left_at."""
    j = np.flatnonzero(m.joined >= 0)
    ev.add(j, m.joined[j], _T["join"])
    lv = np.flatnonzero(~np.isnan(m.left))
    ev.add(lv, m.left[lv], _T["leave"])


def _bot_events(m: _Members, days: int, rng: np.random.Generator, ev: _Events) -> None:
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


# --------------------------------------------------------------------------- one community
def draw_community(spec: CommunitySpec, *, scale: float, days: int, start_s: int, start_weekday: int,
               rng: np.random.Generator) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Generate one community: its row, members, events and truth."""
    n_total = max(30, round(spec.n_members * scale))
    # the practices (DOMAIN.md §4b) draw from a stream of their own, so the rest is drawn as before them
    practice_rng = rng.spawn(1)[0]
    m = _make_members(spec, n_total, days, rng, practice_rng)
    event_days = _event_days(spec, days)
    w = _day_weights(spec, days, start_weekday, event_days)
    ev = _Events()
    _content_events(m, spec, w, days, rng, ev)
    _attendance(m, spec, event_days, rng, ev)
    _checkins(m, spec, days, rng, ev)
    _courses(m, spec, days, rng, ev)
    _purchases(m, spec, days, rng, ev)
    _referrals(m, spec, rng, ev)
    _joins_and_leaves(m, ev)
    _bot_events(m, days, rng, ev)
    cols = ev.concat()
    cols = _finish_interactions(m, spec, cols, rng)
    events = _events_frame(m, spec, cols, start_s, rng)
    n_base = len(m.ids)
    late = _late_members(m, spec, days, practice_rng)
    events = _with_practices(m, spec, events, event_days, days, start_s, practice_rng, late)
    row = _community_row(spec, start_s)
    members = _members_frame(m, spec, start_s, rng, n_base, practice_rng)
    truth = pd.DataFrame({
        Col.community_id: pd.array([spec.community_id] * len(m.ids), dtype="string"),
        Col.member_id: pd.array(m.ids, dtype="string"),
        "planted_role": pd.array(np.where(np.isin(m.role, ("owner", "staff")), "staff", m.role), dtype="string"),
        "is_buyer": m.is_buyer.astype(bool),
    })
    return row, members, events, truth


def _finish_interactions(m: _Members, spec: CommunitySpec, cols: dict[str, np.ndarray],
                         rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Targets for replies/mentions/reactions without one; events left without a target become messages."""
    inter = np.isin(cols["etype"], [_T[x] for x in S.INTERACTION_EVENTS]) & (cols["target"] < 0)
    idx = np.flatnonzero(inter)
    target = _TargetPicker(m, spec).pick(cols["member"][idx], cols["t"][idx], rng)
    cols["target"][idx] = target
    cols["etype"][idx[target < 0]] = _T["message"]
    return cols


def _topics(spec: CommunitySpec, etype: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Topic tag per event: always on posts, on 35% of messages and replies (Zipf frequencies)."""
    out = np.full(len(etype), None, dtype=object)
    if not spec.topics:
        return out
    has = (etype == _T["post"]) | (np.isin(etype, [_T["message"], _T["reply"]]) & (rng.random(len(etype)) < 0.35))
    w = np.arange(1, len(spec.topics) + 1, dtype=float) ** -spec.topic_alpha
    out[has] = np.array(spec.topics, dtype=object)[weighted_pick(w, int(has.sum()), rng)]
    return out


def _channels(m: _Members, spec: CommunitySpec, member: np.ndarray, etype: np.ndarray,
              rng: np.random.Generator) -> np.ndarray:
    """Channel per content/interaction event where the platform has channels (staff posts go to 公告)."""
    out = np.full(len(etype), None, dtype=object)
    if not spec.channels:
        return out
    content = np.isin(etype, [_T[x] for x in _CONTENT_MIX_TYPES])
    w = np.array([0.3] + [1.0] * (len(spec.channels) - 1))
    ch = np.array(spec.channels, dtype=object)[weighted_pick(w, len(etype), rng)]
    staff_post = m.is_staff[member] & (etype == _T["post"])
    ch[staff_post] = spec.channels[0]
    out[content] = ch[content]
    return out


def _events_frame(m: _Members, spec: CommunitySpec, cols: dict[str, np.ndarray], start_s: int,
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
        "event_type": pd.array(np.array(_TYPES)[etype], dtype="string"),
        "target_member_id": pd.array(target_str, dtype="string"),
        "thread_id": pd.array(thread_str, dtype="string"),
        "amount": cols["amount"].astype("float64"),
        "channel": pd.array(_channels(m, spec, member, etype, rng), dtype="string"),
        "topic": pd.array(_topics(spec, etype, rng), dtype="string"),
        "category": pd.array(cols["category"], dtype="string"),
    })


def _late_members(m: _Members, spec: CommunitySpec, days: int, rng: np.random.Generator) -> _Events:
    """Members added after the rest is drawn (so it stays as drawn): the invited guest, a wave of silent newcomers.

    The guest (an invited expert, role ``guest``) joins 20 days after creation and hosts events; the
    silent newcomers (``silent_newcomers`` x the members) joined in the last 30 days by QR code and only
    react, 1-3 times: they read, never speak. Returns their join and reaction events.
    """
    ev = _Events()
    roles, joined = [], []
    if spec.event_host == "guest":
        roles.append("guest")
        joined.append(np.array([spec.created_day + 20.0]))
    n_silent = int(round(spec.silent_newcomers * len(m.ids)))
    if n_silent:
        roles += ["newcomer"] * n_silent
        joined.append(np.sort(days - 30.0 + 0.02 + rng.random(n_silent) * 28.9))
    if not roles:
        return ev
    j = np.concatenate(joined)
    n0, n = len(m.ids), len(roles)
    start = int(m.ids[-1].rsplit("_", 1)[1]) + 1
    m.ids = np.concatenate([m.ids, [f"{spec.community_id}_{i:04d}" for i in range(start, start + n)]])
    m.role = np.concatenate([m.role, roles])
    m.joined = np.concatenate([m.joined, j])
    m.a0 = np.concatenate([m.a0, np.maximum(j, 0.0)])
    m.a1 = np.concatenate([m.a1, np.full(n, float(days))])
    m.left = np.concatenate([m.left, np.full(n, np.nan)])
    m.is_buyer = np.concatenate([m.is_buyer, np.zeros(n, bool)])
    m.circle = np.concatenate([m.circle, np.full(n, -1, np.int64)])
    silent = np.array(roles) == "newcomer"
    m.channel = np.concatenate([m.channel, np.where(silent, "qr_code" if spec.join_channels else None, None)])
    m.inviter = np.concatenate([m.inviter, np.full(n, -1, np.int64)])
    idx = n0 + np.arange(n)
    inside = idx[j >= 0]
    ev.add(inside, m.joined[inside], _T["join"])
    quiet = idx[silent]
    k = 1 + rng.binomial(2, 0.3, len(quiet))
    mem = np.repeat(quiet, k)
    t = m.a0[mem] + 0.01 + rng.random(len(mem)) * (days - m.a0[mem] - 0.02)
    ev.add(mem, t, _T["reaction"])
    return ev


def _with_practices(m: _Members, spec: CommunitySpec, events: pd.DataFrame, event_days: np.ndarray, days: int,
                    start_s: int, rng: np.random.Generator, late: _Events) -> pd.DataFrame:
    """The events with the practices added: late members, events held, moderation, rewards, purchase
    categories, platforms."""
    ev = late
    _events_held(m, spec, event_days, rng, ev)
    _moderation(m, spec, days, rng, ev)
    _rewards(m, spec, days, rng, ev)
    cols = _finish_interactions(m, spec, ev.concat(), rng)
    etype = cols["etype"].astype(np.int64)
    target = cols["target"].astype(np.int64)
    target_str = np.full(len(target), None, dtype=object)
    target_str[target >= 0] = m.ids[target[target >= 0]]
    none = pd.array(np.full(len(etype), None, dtype=object), dtype="string")
    extra = pd.DataFrame({
        Col.community_id: pd.array([spec.community_id] * len(etype), dtype="string"),
        Col.member_id: pd.array(m.ids[cols["member"].astype(np.int64)], dtype="string"),
        "ts": days_to_utc(cols["t"], start_s),
        "event_type": pd.array(np.array(_TYPES)[etype], dtype="string"),
        "target_member_id": pd.array(target_str, dtype="string"),
        "thread_id": none, "amount": cols["amount"].astype("float64"), "channel": none, "topic": none,
        "category": pd.array(cols["category"], dtype="string"),
    })
    out = pd.concat([events, extra], ignore_index=True) if len(extra) else events
    out = out.sort_values("ts", kind="stable", ignore_index=True)
    buys = (out["event_type"] == "purchase") & out["category"].isna()
    cats = _categories(spec, int(buys.sum()), rng)
    if cats is not None:
        out.loc[buys, "category"] = cats
    member = pd.Index(m.ids).get_indexer(out[Col.member_id].astype(str))
    etype_all = pd.Index(_TYPES).get_indexer(out["event_type"].astype(str))
    out["platform"] = pd.array(_platforms(m, spec, member, etype_all, rng), dtype="string")
    return out


def _platforms(m: _Members, spec: CommunitySpec, member: np.ndarray, etype: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    """Platform of each member event of a community on several (None = the primary platform)."""
    out = np.full(len(etype), None, dtype=object)
    if not spec.platform_split:
        return out
    names = np.array([p for p, _ in spec.platform_split], dtype=object)
    pick = names[weighted_pick(np.array([w for _, w in spec.platform_split]), len(etype), rng)]
    member_event = ~m.is_staff[member] & ~np.isin(etype, [_T["join"], _T["leave"]]) & (m.role[member] != "bot")
    out[member_event] = pick[member_event]
    return out


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


def _members_frame(m: _Members, spec: CommunitySpec, start_s: int, rng: np.random.Generator, n_base: int,
                   late_rng: np.random.Generator) -> pd.DataFrame:
    """The canonical members table of one community (names of the late members from ``late_rng``)."""
    names = display_names(n_base, rng) + display_names(len(m.ids) - n_base, late_rng)
    for i, r in enumerate(m.role):
        if r == "owner":
            names[i] = f"群主-{names[i]}"
        elif r == "staff":
            names[i] = f"助理-{names[i]}"
        elif r == "bot":
            names[i] = "群助手(机器人)"
        elif r == "guest":
            names[i] = f"嘉宾-{names[i]}"
    left = days_to_utc(np.nan_to_num(m.left, nan=0.0), start_s).where(~np.isnan(m.left))  # NaT = still in
    role = np.where(np.isin(m.role, ("owner", "staff", "bot", "guest")), m.role, "member")
    return pd.DataFrame({
        Col.community_id: pd.array([spec.community_id] * len(m.ids), dtype="string"),
        Col.member_id: pd.array(m.ids, dtype="string"),
        "joined_at": days_to_utc(m.joined, start_s),
        "left_at": left,
        "role": pd.array(role, dtype="string"),
        "display_name": pd.array(names, dtype="string"),
        "join_channel": pd.array(m.channel, dtype="string"),
        "invited_by": pd.array(np.where(m.inviter >= 0, m.ids[np.maximum(m.inviter, 0)], None), dtype="string"),
    })
