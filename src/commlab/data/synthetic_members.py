"""The members of a synthetic community: roles, joins and join channels, whom they address, their table."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from commlab.data import schema as S
from commlab.data.draws import (
    days_to_utc,
    display_names,
    weighted_pick,
)
from commlab.data.planted import (
    ROLE_MIX,
    ROLES,
    CommunitySpec,
)
from commlab.data.schema import Col

__all__ = ["EVENT_TYPES", "EVENT_CODE", "CONTENT_MIX_TYPES", "Members", "Events", "staff_count", "make_members",
           "present", "role_prob", "finish_interactions", "members_frame"]


#: The event types, in the order of their integer codes.
EVENT_TYPES = S.EVENT_TYPE.codes
#: Event type -> its integer code in the drawing arrays.
EVENT_CODE = {code: i for i, code in enumerate(EVENT_TYPES)}
_T = EVENT_CODE
#: The content event types of a role's mix, in the order of ``RoleSpec.mix``.
CONTENT_MIX_TYPES = ("message", "post", "reply", "mention", "reaction")


@dataclass
class Members:
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
class Events:
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


def make_members(spec: CommunitySpec, n_total: int, days: int, rng: np.random.Generator,
                  practice_rng: np.random.Generator) -> Members:
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
    m = Members(ids, role, joined, a0, a1, left, is_buyer, circle)
    m.hubs = np.flatnonzero(role == "core")[:spec.core_hubs]  # the most senior core members
    m.channel, m.inviter = _join_channels(m, spec, practice_rng)
    return m


def _join_channels(m: Members, spec: CommunitySpec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
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


def present(m: Members, t: np.ndarray) -> np.ndarray:
    """Members x times matrix: inside their activity window at time ``t``."""
    return (m.a0[:, None] <= t[None, :]) & (m.a1[:, None] > t[None, :])


def role_prob(m: Members, attr: str, staff_value: float = 0.0) -> np.ndarray:
    """Per member a probability from the role specs (staff get ``staff_value``)."""
    return np.array([getattr(ROLES[r], attr) if r in ROLES else (staff_value if r != "bot" else 0.0)
                     for r in m.role])


class _TargetPicker:
    """Draws reply/mention/reaction targets that exist at the time of the event."""

    def __init__(self, m: Members, spec: CommunitySpec):
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


def finish_interactions(m: Members, spec: CommunitySpec, cols: dict[str, np.ndarray],
                         rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Targets for replies/mentions/reactions without one; events left without a target become messages."""
    inter = np.isin(cols["etype"], [_T[x] for x in S.INTERACTION_EVENTS]) & (cols["target"] < 0)
    idx = np.flatnonzero(inter)
    target = _TargetPicker(m, spec).pick(cols["member"][idx], cols["t"][idx], rng)
    cols["target"][idx] = target
    cols["etype"][idx[target < 0]] = _T["message"]
    return cols


def members_frame(m: Members, spec: CommunitySpec, start_s: int, rng: np.random.Generator, n_base: int,
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
