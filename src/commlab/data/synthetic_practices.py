"""The practices planted in a synthetic community (DOMAIN.md §4b, H10): events held, moderation, rewards,
purchase categories, late members and the platforms of a community on several.

They draw from a random stream of their own (``practice_rng``), so the rest of a community is drawn
exactly as before they were added.
"""


from __future__ import annotations

import numpy as np
import pandas as pd

from commlab.data.draws import (
    at_day,
    days_to_utc,
    weighted_pick,
)
from commlab.data.planted import (
    CommunitySpec,
)
from commlab.data.schema import Col
from commlab.data.synthetic_members import EVENT_CODE as _T
from commlab.data.synthetic_members import EVENT_TYPES, Events, Members, finish_interactions

__all__ = ["purchase_categories", "late_members", "with_practices"]


def purchase_categories(spec: CommunitySpec, n: int, rng: np.random.Generator) -> np.ndarray | None:
    """Purchase categories drawn from the community's weights (None where it records none)."""
    if not spec.purchase_categories:
        return None
    names = np.array([c for c, _ in spec.purchase_categories], dtype=object)
    return names[weighted_pick(np.array([w for _, w in spec.purchase_categories]), n, rng)]


def _events_held(m: Members, spec: CommunitySpec, event_days: np.ndarray, rng: np.random.Generator,
                 ev: Events) -> None:
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


def _moderation(m: Members, spec: CommunitySpec, days: int, rng: np.random.Generator, ev: Events) -> None:
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


def _rewards(m: Members, spec: CommunitySpec, days: int, rng: np.random.Generator, ev: Events) -> None:
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
        ev.add(receiver[buy], bt, _T["purchase"], amount=amount, category=purchase_categories(spec, len(bt), rng))


def late_members(m: Members, spec: CommunitySpec, days: int, rng: np.random.Generator) -> Events:
    """Members added after the rest is drawn (so it stays as drawn): the invited guest, a wave of silent newcomers.

    The guest (an invited expert, role ``guest``) joins 20 days after creation and hosts events; the
    silent newcomers (``silent_newcomers`` x the members) joined in the last 30 days by QR code and only
    react, 1-3 times: they read, never speak. Returns their join and reaction events.
    """
    ev = Events()
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


def with_practices(m: Members, spec: CommunitySpec, events: pd.DataFrame, event_days: np.ndarray, days: int,
                    start_s: int, rng: np.random.Generator, late: Events) -> pd.DataFrame:
    """The events with the practices added: late members, events held, moderation, rewards, purchase
    categories, platforms."""
    ev = late
    _events_held(m, spec, event_days, rng, ev)
    _moderation(m, spec, days, rng, ev)
    _rewards(m, spec, days, rng, ev)
    cols = finish_interactions(m, spec, ev.concat(), rng)
    etype = cols["etype"].astype(np.int64)
    target = cols["target"].astype(np.int64)
    target_str = np.full(len(target), None, dtype=object)
    target_str[target >= 0] = m.ids[target[target >= 0]]
    none = pd.array(np.full(len(etype), None, dtype=object), dtype="string")
    extra = pd.DataFrame({
        Col.community_id: pd.array([spec.community_id] * len(etype), dtype="string"),
        Col.member_id: pd.array(m.ids[cols["member"].astype(np.int64)], dtype="string"),
        "ts": days_to_utc(cols["t"], start_s),
        "event_type": pd.array(np.array(EVENT_TYPES)[etype], dtype="string"),
        "target_member_id": pd.array(target_str, dtype="string"),
        "thread_id": none, "amount": cols["amount"].astype("float64"), "channel": none, "topic": none,
        "category": pd.array(cols["category"], dtype="string"),
    })
    out = pd.concat([events, extra], ignore_index=True) if len(extra) else events
    out = out.sort_values("ts", kind="stable", ignore_index=True)
    buys = (out["event_type"] == "purchase") & out["category"].isna()
    cats = purchase_categories(spec, int(buys.sum()), rng)
    if cats is not None:
        out.loc[buys, "category"] = cats
    member = pd.Index(m.ids).get_indexer(out[Col.member_id].astype(str))
    etype_all = pd.Index(EVENT_TYPES).get_indexer(out["event_type"].astype(str))
    out["platform"] = pd.array(_platforms(m, spec, member, etype_all, rng), dtype="string")
    return out


def _platforms(m: Members, spec: CommunitySpec, member: np.ndarray, etype: np.ndarray,
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
