"""Seeded synthetic communities with planted fates: which die and which survive, and why.

Many small groups (a brand's WeChat groups, a network of servers) are created at different dates
and followed for months. Each community draws three early dynamics — how many **core members**
form in its first weeks, how **dependent on staff** its content is, and how **fast first replies**
come — and its fate is a noisy function of them (the *fate rule*, :data:`FATE_RULE`, written into
the assumptions). A community that dies goes quiet from its death month on: members stop, the owner
posts into the void, half of the members leave. The rest keep going until the end of the data.

The forecaster (:mod:`commlab.forecast`) is tested on it for recovering the planted signal from the
first periods only, and — with ``planted=False`` (fates drawn independently of the dynamics) or
shuffled outcomes — for *not* finding one.

Time model
----------
Days are counted from ``start`` (local midnight, Asia/Shanghai); a month is 30 days, as in
:mod:`commlab.analysis.panel`. *Old* communities are created in the first ``spread_days`` days and
observed at least ``months`` months: their fate is known (``outcomes``). *Young* communities are
created 1–3 months before the end: their fate is planted in the truth but not in ``outcomes`` (they
are the "today's young communities" to rank). ``as_of`` is the end of the data.

Entry points: :func:`generate_fates` (DataFrames) and :func:`write_fates` (a data folder with
``outcomes.csv``, ``truth/fates.csv`` and ``ASSUMPTIONS.md``).
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
from commlab.data.draws import days_to_utc, display_names, hours_of_day, start_seconds
from commlab.data.sample_files import events_table, write_csv
from commlab.data.schema import Col
from commlab.errors import InvalidArgument

__all__ = ["FATES_SEED", "SHIPPED_FATES", "FateRule", "FATE_RULE", "FatesData", "generate_fates", "write_fates",
           "fates_markdown"]

#: Seed of :func:`generate_fates` by default.
FATES_SEED = 20240624
_MONTH = 30  # days
#: The arguments of :func:`generate_fates` that made the shipped ``data/fates`` (with :data:`FATES_SEED`):
#: ``commlab generate data/fates --fates`` writes it again, byte for byte.
SHIPPED_FATES: dict[str, Any] = {"n_communities": 120, "young": 12, "members": (5, 10)}


@dataclass(frozen=True)
class FateRule:
    """The planted rule: how early dynamics set a community's fate.

    ``P(dies) = sigmoid(intercept + w_core·z_core + w_staff·z_staff + w_reply·z_reply)`` where

    * ``z_core = -(core - 2) / 1.4``: fewer core members than the typical 2 raise the risk;
    * ``z_staff = (staff_dependence - 0.4) / 0.2``: more of the content made by staff raises it;
    * ``z_reply = log(reply_hours / 6)``: slower first replies (typical 6 h) raise it.

    The fate is then one Bernoulli draw: the noise of the rule. With ``planted=False`` the same
    probability is drawn for every community (the base rate), independent of the dynamics.
    """

    intercept: float = -0.6
    w_core: float = 1.2
    w_staff: float = 1.0
    w_reply: float = 1.0

    def probability(self, core: np.ndarray, staff_dependence: np.ndarray, reply_hours: np.ndarray) -> np.ndarray:
        """P(dies) of each community under the rule."""
        z = (self.intercept - self.w_core * (core - 2.0) / 1.4 + self.w_staff * (staff_dependence - 0.4) / 0.2
             + self.w_reply * np.log(reply_hours / 6.0))
        return 1.0 / (1.0 + np.exp(-z))


#: The rule of the shipped generator.
FATE_RULE = FateRule()

#: How the early dynamics are drawn (per community, independently).
DYNAMICS = {
    "core": "core members formed in the first week: Poisson(2), at most 5 and fewer than the members",
    "staff_dependence": "share of content made by the owner/assistant: Beta(2, 3) (mean 0.4)",
    "reply_hours": "typical delay of a first reply to a post: lognormal, median 6 h, sigma 1",
    "activity": "overall activity multiplier, unrelated to the fate: lognormal, median 1, sigma 0.35",
    "members": "members besides the owner: uniform on [members_min, members_max]; 70 % join in the first "
               "14 days, the rest in days 15-120 (while the community is alive)",
    "death_month": "month (30 days) from which a dying community goes quiet: uniform on 3-9",
}

#: What members and staff do, per day.
BEHAVIOUR = {
    "core": "content on 45 % of days x activity (message 40 %, post 25 %, reply 35 %)",
    "ordinary": "content on 5 % of days x activity (message 60 %, post 30 %, reply 10 %)",
    "staff": "owner (and an assistant in 30 % of communities) make staff_dependence / (1 - staff_dependence) "
             "of the members' expected content",
    "first_reply": "a post gets a first reply with probability 0.9 (core > 0) or 0.6, after an exponential "
                   "delay with mean reply_hours, by a core member (if any, 60 %) or staff",
    "after_death": "members stop; the owner posts on 10 % of days; half of the members leave in the next 60 days",
}


@dataclass
class FatesData:
    """A generated data set with planted fates.

    Attributes
    ----------
    communities, members, events : DataFrame
        The canonical tables.
    outcomes : DataFrame
        ``community_id, outcome`` (``died``/``survived``) of the old communities (fate known).
    truth : DataFrame
        One row per community: ``cohort`` (old/young), the early dynamics, ``p_die`` under the rule,
        ``died`` (0/1) and ``death_month`` (NaN for survivors).
    as_of : Timestamp
        The end of the data (UTC).
    assumptions : dict
        Seed, window, the rule, the dynamics and behaviour.
    """

    communities: pd.DataFrame
    members: pd.DataFrame
    events: pd.DataFrame
    outcomes: pd.DataFrame
    truth: pd.DataFrame
    as_of: pd.Timestamp
    assumptions: dict[str, Any]

    def __repr__(self) -> str:
        died = int(self.outcomes["outcome"].eq("died").sum())
        return (f"FatesData({len(self.communities)} communities ({len(self.outcomes)} with a known fate, "
                f"{died} died), {len(self.members)} members, {len(self.events)} events, "
                f"as_of={self.as_of:%Y-%m-%d})")


class _Log:
    """Events of one community being generated (float local days since ``start``)."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, t: np.ndarray, member: np.ndarray, etype: str, target: np.ndarray | None = None,
            thread: np.ndarray | None = None) -> None:
        n = len(t)
        if n == 0:
            return
        self.parts.append((np.asarray(t, float), np.asarray(member, int), np.full(n, etype, dtype=object),
                           np.full(n, -1) if target is None else np.asarray(target, int),
                           np.full(n, -1) if thread is None else np.asarray(thread, int)))

    def arrays(self) -> tuple[np.ndarray, ...]:
        if not self.parts:
            return (np.array([], float), np.array([], int), np.array([], object), np.array([], int),
                    np.array([], int))
        return tuple(np.concatenate([p[i] for p in self.parts]) for i in range(5))


def _content_days(rate: float, lo: float, hi: float, rng: np.random.Generator) -> np.ndarray:
    """Times of content on the days of ``[lo, hi)`` with probability ``rate`` per day (one event a day)."""
    days = np.arange(np.ceil(lo), np.floor(hi))
    if len(days) == 0 or rate <= 0:
        return np.array([], float)
    on = days[rng.random(len(days)) < min(rate, 1.0)]
    return on + hours_of_day(len(on), rng) / 24.0


def _community(created: float, end: float, rule: FateRule, planted: bool, base_rate: float,
               members_range: tuple[int, int], rng: np.random.Generator
               ) -> tuple[dict[str, Any], np.ndarray, _Log, np.ndarray, np.ndarray]:
    """One community: its planted fate, member roles, events, join and leave days."""
    n_members = int(rng.integers(members_range[0], members_range[1] + 1))
    core = int(min(rng.poisson(2.0), 5, n_members - 1))
    staff_dep = float(rng.beta(2.0, 3.0))
    reply_hours = float(np.exp(np.log(6.0) + rng.normal(0.0, 1.0)))
    activity = float(np.exp(rng.normal(0.0, 0.35)))
    p_rule = float(rule.probability(np.array([core]), np.array([staff_dep]), np.array([reply_hours]))[0])
    died = bool(rng.random() < (p_rule if planted else base_rate))
    death_month = int(rng.integers(3, 10)) if died else 0
    quiet_from = created + (death_month - 1) * _MONTH if died else np.inf

    # members: 0 = owner, 1 = assistant (30 %), then core members (first joiners), then ordinary
    has_assistant = bool(rng.random() < 0.3)
    n_staff = 2 if has_assistant else 1
    n_all = n_staff + n_members
    joined = np.empty(n_all)
    joined[:n_staff] = created
    early = rng.random(n_members) < 0.7
    early[:core] = True  # core members are among the first
    joined[n_staff:] = np.where(early, created + rng.uniform(0, 14, n_members),
                                created + rng.uniform(15, 120, n_members))
    joined[n_staff:n_staff + core] = created + rng.uniform(0, 7, core)
    keep = (joined < min(quiet_from, end)) | (np.arange(n_all) < n_staff)
    joined = joined[keep]
    n_all = len(joined)
    roles = np.array(["owner"] + (["staff"] if has_assistant else []) + ["member"] * (n_all - n_staff), dtype=object)
    is_core = np.zeros(n_all, bool)
    is_core[n_staff:n_staff + core] = True
    left = np.full(n_all, np.nan)
    if died:
        leavers = np.flatnonzero((roles == "member") & (rng.random(n_all) < 0.5))
        left[leavers] = np.maximum(quiet_from, joined[leavers]) + rng.uniform(1, 60, len(leavers))
        left[left >= end] = np.nan

    log = _Log()
    stop = min(quiet_from, end)
    # member content
    member_idx = np.flatnonzero(roles == "member")
    expected_member_content = 0.0
    for m in member_idx:
        rate = (0.45 if is_core[m] else 0.05) * activity
        t = _content_days(rate, joined[m], min(stop, left[m] if not np.isnan(left[m]) else np.inf), rng)
        t = t[t > joined[m]]
        expected_member_content += rate * max(0.0, stop - joined[m])
        kind = rng.random(len(t))
        mix = (0.40, 0.65) if is_core[m] else (0.60, 0.90)  # message < a, post < b, else reply
        log.add(t[kind < mix[0]], np.full(int((kind < mix[0]).sum()), m), "message")
        log.add(t[(kind >= mix[0]) & (kind < mix[1])], np.full(int(((kind >= mix[0]) & (kind < mix[1])).sum()), m),
                "post")
        rep = t[kind >= mix[1]]
        if len(rep):  # replies to someone else in the group (a core member, staff or anyone)
            others = np.flatnonzero(np.arange(n_all) != m)
            log.add(rep, np.full(len(rep), m), "reply", target=rng.choice(others, len(rep)))
    # staff content: staff_dep of all content while alive
    staff_idx = np.flatnonzero(roles != "member")
    span = max(stop - created, 1.0)
    staff_rate = staff_dep / max(1.0 - staff_dep, 0.05) * expected_member_content / span / len(staff_idx)
    for s in staff_idx:
        t = _content_days(staff_rate, created, stop, rng)
        kind = rng.random(len(t))
        log.add(t[kind < 0.5], np.full(int((kind < 0.5).sum()), s), "post")
        log.add(t[kind >= 0.5], np.full(int((kind >= 0.5).sum()), s), "message")
    if died:  # the owner posts into the void
        t = _content_days(0.10, quiet_from, end, rng)
        log.add(t, np.zeros(len(t), int), "post")
    # threads and first replies to posts made while the community is alive
    t, who, kind, target, _ = log.arrays()
    posts = np.flatnonzero(kind == "post")
    thread = np.full(len(t), -1)
    thread[posts] = np.arange(len(posts))
    log.parts = [(t, who, kind, target, thread)]
    p_answer = 0.9 if core > 0 else 0.6
    core_idx = np.flatnonzero(is_core)
    for j, p in enumerate(posts):
        if t[p] >= stop or rng.random() >= p_answer:
            continue
        delay = rng.exponential(reply_hours) / 24.0
        when = t[p] + max(delay, 1 / 1440)
        if when >= stop:
            continue
        pool = core_idx if len(core_idx) and rng.random() < 0.6 else staff_idx
        pool = pool[(pool != who[p]) & (joined[pool] <= when)]
        if len(pool) == 0:  # a staff post with no other staff: any member who is there
            pool = member_idx[(member_idx != who[p]) & (joined[member_idx] <= when)]
        if len(pool) == 0:
            continue
        replier = int(rng.choice(pool))
        log.add(np.array([when]), np.array([replier]), "reply", target=np.array([who[p]]), thread=np.array([j]))
    # joins and leaves
    in_window = np.flatnonzero(roles == "member")
    log.add(joined[in_window], in_window, "join")
    gone = np.flatnonzero(~np.isnan(left))
    log.add(left[gone], gone, "leave")

    fate = {"core": core, "staff_dependence": round(staff_dep, 4), "reply_hours": round(reply_hours, 3),
            "activity": round(activity, 4), "members": n_members, "p_die": round(p_rule, 4), "died": int(died),
            "death_month": death_month if died else np.nan}
    return fate, roles, log, joined, left


def generate_fates(n_communities: int = 200, *, young: int = 20, seed: int = FATES_SEED, months: int = 12,
                   members: tuple[int, int] = (6, 14), planted: bool = True, rule: FateRule = FATE_RULE,
                   start: str = "2023-01-01", spread_days: int = 60) -> FatesData:
    """Generate communities with planted fates.

    Parameters
    ----------
    n_communities : int, default 200
        Old communities (fate known, in ``outcomes``).
    young : int, default 20
        Young communities created 30–100 days before the end (fate planted in the truth only).
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives identical tables.
    months : int, default 12
        Months (30 days) every old community is observed at least; a dying community goes quiet in
        months 3–9, so the last 90 days of an old community say whether it died.
    members : (int, int), default (6, 14)
        Range of the number of members besides staff.
    planted : bool, default True
        ``False`` draws every fate with the same probability (the base rate of the rule over the
        communities), independent of the early dynamics: nothing to find.
    rule : FateRule
        The planted rule.
    start : str, default "2023-01-01"
        First day (Asia/Shanghai).
    spread_days : int, default 60
        Old communities are created uniformly in the first ``spread_days`` days.

    Returns
    -------
    FatesData

    Raises
    ------
    ValueError
        If ``n_communities`` < 2, ``months`` < 7 or the member range is invalid.
    """
    if n_communities < 2:
        raise InvalidArgument(f"n_communities must be at least 2, got {n_communities}")
    if months < 12:
        raise InvalidArgument(
            f"months must be at least 12 (deaths happen in months 3-9, then 90 quiet days), got {months}")
    if not (1 <= members[0] <= members[1]):
        raise InvalidArgument(f"members must be a range (min, max) with 1 <= min <= max, got {members}")
    start_s, _ = start_seconds(start)
    end = float(spread_days + months * _MONTH)
    rng = np.random.default_rng(seed)
    n_total = n_communities + young
    created = np.concatenate([rng.uniform(0, spread_days, n_communities), end - rng.uniform(30, 100, young)])
    # the base rate of the rule over this population, for planted=False (drawn from the same dynamics)
    probe = np.random.default_rng(seed + 1)
    base_rate = float(rule.probability(np.minimum(probe.poisson(2.0, 4000), 5), probe.beta(2, 3, 4000),
                                       np.exp(np.log(6.0) + probe.normal(0, 1, 4000))).mean())
    themes = [t.code for t in S.THEME.terms]
    rows, mem_frames, ev_frames, truth = [], [], [], []
    for i, rg in enumerate(rng.spawn(n_total)):
        cid = f"g{i + 1:03d}"
        fate, roles, log, joined, left = _community(created[i], end, rule, planted, base_rate, members, rg)
        n = len(roles)
        ids = np.array([f"{cid}-u{j:02d}" for j in range(n)], dtype=object)
        names = display_names(n, rg)
        mem_frames.append(pd.DataFrame({
            Col.community_id: pd.array([cid] * n, dtype="string"),
            Col.member_id: pd.array(ids, dtype="string"),
            "joined_at": days_to_utc(joined, start_s),
            "left_at": days_to_utc(np.nan_to_num(left, nan=0.0), start_s).where(~np.isnan(left)),
            "role": pd.array(roles, dtype="string"),
            "display_name": pd.array(names, dtype="string"),
        }))
        t, who, kind, target, thread = log.arrays()
        order = np.lexsort((who, t))
        t, who, kind, target, thread = (a[order] for a in (t, who, kind, target, thread))
        tgt = np.full(len(t), None, dtype=object)
        tgt[target >= 0] = ids[target[target >= 0]]
        thr = np.full(len(t), None, dtype=object)
        thr[thread >= 0] = [f"{cid}-t{x:04d}" for x in thread[thread >= 0]]
        ev_frames.append(pd.DataFrame({
            Col.community_id: pd.array([cid] * len(t), dtype="string"),
            Col.member_id: pd.array(ids[who], dtype="string"),
            "ts": days_to_utc(t, start_s),
            "event_type": pd.array(kind, dtype="string"),
            "target_member_id": pd.array(tgt, dtype="string"),
            "thread_id": pd.array(thr, dtype="string"),
        }))
        theme = themes[i % len(themes)]
        rows.append({Col.community_id: cid, "name": f"{S.THEME.label(theme, 'zh')}社群{i + 1:03d}", "theme": theme,
                     "business_model": "creator", "lifecycle": "startup", "platform": "wechat",
                     "monetization": "none", "created_at": days_to_utc(np.array([created[i]]), start_s)[0],
                     "economy": "fan" if fate["staff_dependence"] > 0.5 else "community",
                     "source": "synthetic (commlab.data.generate_fates), CC0"})
        truth.append({Col.community_id: cid, "cohort": "old" if i < n_communities else "young", **fate,
                      "created_at": rows[-1]["created_at"]})
    communities = pd.DataFrame(rows)
    for col in communities.columns:
        if col != "created_at":
            communities[col] = communities[col].astype("string")
    truth_df = pd.DataFrame(truth)
    old = truth_df[truth_df["cohort"] == "old"]
    outcomes = pd.DataFrame({Col.community_id: pd.array(old[Col.community_id], dtype="string"),
                             "outcome": np.where(old["died"] == 1, "died", "survived")})
    as_of = days_to_utc(np.array([end]), start_s)[0]
    assumptions = {
        "generator": "commlab.data.generate_fates", "seed": seed, "start": start, "end_day": end,
        "as_of": as_of.isoformat(), "month_days": _MONTH, "n_old": n_communities, "n_young": young,
        "months_observed_min": months, "spread_days": spread_days, "members": list(members), "planted": planted,
        "rule": {**asdict(rule), "formula": FateRule.__doc__.split("\n\n")[1].strip() if FateRule.__doc__ else ""},
        "base_rate_if_not_planted": round(base_rate, 4), "dynamics": DYNAMICS, "behaviour": BEHAVIOUR,
    }
    return FatesData(communities, pd.concat(mem_frames, ignore_index=True), pd.concat(ev_frames, ignore_index=True),
                     outcomes, truth_df, as_of, assumptions)


def fates_markdown(data: FatesData) -> str:
    """The ``ASSUMPTIONS.md`` of a fates data set: what was planted, and how to check it."""
    a = data.assumptions
    r = a["rule"]
    t = data.truth
    old = t[t["cohort"] == "old"]
    lines = [
        "# Synthetic communities with planted fates",
        "",
        f"Generated by `commlab.data.generate_fates.write_fates(out, n_communities={a['n_old']}, young={a['n_young']}, "
        f"members={tuple(a['members'])}, seed={a['seed']})`: {a['n_old']} old communities "
        f"(fate known, `outcomes.csv`) and {a['n_young']} young ones (created 30-100 days before the end; fate in "
        "`truth/fates.csv` only). Use `as_of = " + a["as_of"] + "` (the end of the data).",
        "",
        *(["The shipped `data/fates` is this set: `commlab generate data/fates --fates` (or `make fates`) writes it "
           "again, byte for byte.", ""]
          if {"n_communities": a["n_old"], "young": a["n_young"], "members": tuple(a["members"])}
          == SHIPPED_FATES and a["seed"] == FATES_SEED else []),
        f"- Months are {a['month_days']} days. Old communities are created in the first {a['spread_days']} days "
        f"and observed at least {a['months_observed_min']} months.",
        f"- Died: {int(old['died'].sum())} of {len(old)} old communities ({old['died'].mean():.0%}).",
        "",
        "## The fate rule" + ("" if a["planted"] else " (NOT planted in this data set)"),
        "",
        "P(dies) = sigmoid(" + f"{r['intercept']} + {r['w_core']}·z_core + {r['w_staff']}·z_staff + "
        f"{r['w_reply']}·z_reply), with",
        "",
        "- z_core = -(core - 2) / 1.4 — fewer core members formed in the first week → higher risk "
        "(DOMAIN.md §4 核心用户协助运营);",
        "- z_staff = (staff_dependence - 0.4) / 0.2 — more of the content made by staff → higher risk "
        "(§4 维护基本活跃, 用户自发产生内容; fan vs community economy);",
        "- z_reply = log(reply_hours / 6) — slower first replies → higher risk (§4 对接用户获得反馈).",
        "",
        "The fate is one Bernoulli draw with that probability (the rule's noise)."
        + ("" if a["planted"] else f" In this data set every fate was drawn with the same probability "
           f"{a['base_rate_if_not_planted']}, independent of the dynamics: a forecaster should find nothing."),
        "A dying community goes quiet from its death month (3-9) on: members stop, the owner posts on 10 % of "
        "days, half of the members leave within 60 days.",
        "",
        "## Early dynamics (drawn per community)",
        "",
        *[f"- `{k}`: {v}" for k, v in a["dynamics"].items()],
        "",
        "## Behaviour",
        "",
        *[f"- {k}: {v}" for k, v in a["behaviour"].items()],
        "",
    ]
    return "\n".join(lines)


def write_fates(out_dir: str | Path, **kwargs: Any) -> dict[str, Path]:
    """Write a fates data set: the canonical tables, ``outcomes.csv``, the truth and ``ASSUMPTIONS.md``.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write (created; existing files of the same names are replaced).
    **kwargs
        Passed to :func:`generate_fates`.

    Returns
    -------
    dict of str to Path
        ``communities``, ``members``, ``events``, ``outcomes``, ``truth``, ``assumptions``, ``assumptions_md``.
    """
    out = Path(out_dir)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    data = generate_fates(**kwargs)
    paths = {"communities": out / "communities.csv", "members": out / "members.csv",
             "events": out / "events.parquet", "outcomes": out / "outcomes.csv",
             "truth": out / "truth" / "fates.csv", "assumptions": out / "truth" / "assumptions.json",
             "assumptions_md": out / "ASSUMPTIONS.md"}
    write_csv(data.communities, paths["communities"])
    write_csv(data.members, paths["members"])
    pq.write_table(events_table(data.events), paths["events"], compression="zstd", compression_level=9)
    write_csv(data.outcomes, paths["outcomes"])
    write_csv(data.truth, paths["truth"])
    paths["assumptions"].write_text(json.dumps(data.assumptions, ensure_ascii=False, indent=2, default=str) + "\n",
                                    encoding="utf-8")
    paths["assumptions_md"].write_text(fates_markdown(data), encoding="utf-8")
    return paths
