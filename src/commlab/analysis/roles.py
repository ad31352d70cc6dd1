"""Rule-based member roles: a transparent baseline for the segments.

Each member gets exactly one role from :data:`ROLE` (DOMAIN.md §3), decided by the first
matching rule, in this order (parameters from :class:`RoleThresholds`)::

    staff        is_staff (owner, staff, bot)
    newcomer     tenure_days < newcomer_days
    zombie       never active, left, or no activity for more than zombie_days
    churn_risk   at least churn_min_events events, none for more than churn_days
    buyer        at least buyer_min_purchases purchases and ugc_30d < buyer_max_ugc_30d
                 (a member who mostly buys: 购买型用户)
    core         ugc_30d >= core_min_ugc_30d and partners_in >= core_min_partners_in
    contributor  ugc_30d >= contributor_min_ugc_30d
    lurker       ugc_30d < lurker_max_ugc_30d (present, hardly ever speaks)
    ordinary     everyone else

``ugc_30d`` (content per 30 days) is measured over the observed part of the tenure (see
:mod:`commlab.analysis.features`). Paying members (付费用户) are also a flag beside the role
(:func:`buyer_flag`, any purchase), because a buyer can also be core or a lurker.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from commlab.data.schema import Term, Vocabulary

__all__ = [
    "ROLE",
    "ROLE_ORDER",
    "RoleThresholds",
    "assign_roles",
    "buyer_flag",
    "role_counts",
    "role_label",
    "role_conditions",
    "role_accuracy",
]

ROLE = Vocabulary(
    "member_segment_role",
    "成员角色",
    "member role (behaviour)",
    (
        Term("core", "核心用户/KOL", "core / KOL", "the few who keep the community alive"),
        Term("contributor", "活跃贡献者", "active contributor", "speak regularly"),
        Term("ordinary", "普通用户", "ordinary member"),
        Term("lurker", "潜水", "lurker", "present, read, hardly ever speak"),
        Term("zombie", "僵尸粉", "zombie", "joined, never or no longer active"),
        Term("newcomer", "新成员", "newcomer", "joined recently"),
        Term("churn_risk", "流失风险", "churn risk", "was active, has gone quiet"),
        Term("staff", "管理团队", "management team", "owner, staff and bots"),
        Term("buyer", "付费用户", "paying member", "mostly buys; any purchase also sets the buyer flag"),
    ),
    "DOMAIN.md §3",
)
#: Role codes in display order (``buyer`` is a flag, not a role).
ROLE_ORDER: tuple[str, ...] = ("core", "contributor", "ordinary", "lurker", "zombie", "newcomer", "churn_risk",
                               "buyer", "staff")


@dataclass(frozen=True)
class RoleThresholds:
    """Parameters of the role rules (see the module docstring for the order).

    Attributes
    ----------
    newcomer_days : float, default 30
        Members with a shorter tenure are newcomers.
    zombie_days : float, default 60
        No activity for longer than this (or never, or left) makes a zombie.
    churn_days : float, default 30
        No activity for longer than this, after having been active, is a churn risk.
    churn_min_events : int, default 10
        Events a member needs to have had to count as "was active" for churn risk.
    buyer_min_purchases : int, default 3
        Purchases of a member who mostly buys (role ``buyer``); any purchase sets the flag.
    buyer_max_ugc_30d : float, default 1
        Content per 30 days below which a repeat purchaser is a ``buyer`` rather than core etc.
    core_min_ugc_30d : float, default 30
        Content per 30 days for core members (about one message, post or reply a day).
    core_min_partners_in : int, default 5
        Distinct members who replied to / mentioned / reacted to a core member.
    contributor_min_ugc_30d : float, default 5
        Content per 30 days for active contributors (more than once a week).
    lurker_max_ugc_30d : float, default 0.5
        Below this content rate a present member is a lurker.

    Examples
    --------
    >>> import commlab as cl
    >>> th = cl.RoleThresholds(zombie_days=90)
    >>> th.zombie_days, th.to_dict()["newcomer_days"]
    (90, 30.0)
    """

    newcomer_days: float = 30.0
    zombie_days: float = 60.0
    churn_days: float = 30.0
    churn_min_events: int = 10
    buyer_min_purchases: int = 3
    buyer_max_ugc_30d: float = 1.0
    core_min_ugc_30d: float = 30.0
    core_min_partners_in: int = 5
    contributor_min_ugc_30d: float = 5.0
    lurker_max_ugc_30d: float = 0.5

    def to_dict(self) -> dict[str, float]:
        """The thresholds as a plain dict (for summaries)."""
        return asdict(self)


def role_conditions(features: pd.DataFrame, thresholds: RoleThresholds | None = None) -> list[tuple[str, pd.Series]]:
    """The ordered (role, boolean mask) rules; the first true one wins."""
    th = thresholds or RoleThresholds()
    f = features
    recency = f["recency_days"].astype("float64")
    rate = f["ugc_30d"].astype("float64")
    left = f["has_left"].astype(bool) if "has_left" in f else pd.Series(False, index=f.index)
    return [
        ("staff", f["is_staff"].astype(bool)),
        ("newcomer", f["tenure_days"] < th.newcomer_days),
        ("zombie", (f["n_events"] == 0) | left | (recency > th.zombie_days)),
        ("churn_risk", (f["n_events"] >= th.churn_min_events) & (recency > th.churn_days)),
        ("buyer", (f["purchases"] >= th.buyer_min_purchases) & (rate < th.buyer_max_ugc_30d)),
        ("core", (rate >= th.core_min_ugc_30d) & (f["partners_in"] >= th.core_min_partners_in)),
        ("contributor", rate >= th.contributor_min_ugc_30d),
        ("lurker", rate < th.lurker_max_ugc_30d),
    ]


def assign_roles(features: pd.DataFrame, thresholds: RoleThresholds | None = None) -> pd.Series:
    """One role code per member from the rules in the module docstring.

    Parameters
    ----------
    features : DataFrame
        From :func:`commlab.analysis.features.member_features`.
    thresholds : RoleThresholds, optional
        Rule parameters; defaults to ``RoleThresholds()``.

    Returns
    -------
    Series of str
        Named ``role``, aligned with ``features``; values from :data:`ROLE_ORDER`.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c04"])
    >>> feats = cl.member_features(ds.events, ds.members, as_of="2024-06-30T16:00:00Z")
    >>> roles = cl.assign_roles(feats, cl.RoleThresholds(zombie_days=90))
    >>> roles.value_counts()[["core", "zombie"]].to_dict()
    {'core': 44, 'zombie': 237}
    """
    conds = role_conditions(features, thresholds)
    codes = np.select([c.to_numpy(dtype=bool) for _, c in conds], [r for r, _ in conds], "ordinary")
    return pd.Series(codes, index=features.index, name="role", dtype="string")


def buyer_flag(features: pd.DataFrame, thresholds: RoleThresholds | None = None) -> pd.Series:
    """Whether each member pays (付费用户): at least one purchase (``thresholds`` unused, kept for symmetry).

    Parameters
    ----------
    features : DataFrame
        From :func:`commlab.analysis.features.member_features` (``purchases``).
    thresholds : RoleThresholds, optional
        Unused.

    Returns
    -------
    Series of bool
        Named ``is_buyer``, aligned with ``features``.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c04"])
    >>> feats = cl.member_features(ds.events, ds.members, as_of="2024-06-30T16:00:00Z")
    >>> int(cl.buyer_flag(feats).sum())
    318
    """
    return (features["purchases"] >= 1).rename("is_buyer")


def role_counts(roles: pd.Series) -> pd.Series:
    """Members per rule role, every role of :data:`ROLE_ORDER` listed in its order (0 when none).

    Parameters
    ----------
    roles : Series of str
        Role codes (:func:`assign_roles`).

    Returns
    -------
    Series of int
        Indexed by role code.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> cl.role_counts(pd.Series(["core", "lurker", "lurker"])).head(4).to_dict()
    {'core': 1, 'contributor': 0, 'ordinary': 0, 'lurker': 2}
    """
    return roles.value_counts().reindex(list(ROLE_ORDER), fill_value=0)


def role_label(code: str, lang: str = "en") -> str:
    """Label of a role code in ``lang``."""
    return ROLE.label(code, lang)


def role_accuracy(predicted: pd.Series, truth: pd.Series) -> pd.DataFrame:
    """Per true role: members, correctly predicted, accuracy (recall) and precision.

    Parameters
    ----------
    predicted, truth : Series
        Aligned role codes (for example rule roles and planted roles of synthetic data).

    Returns
    -------
    DataFrame
        Indexed by role (plus ``all``): ``n``, ``correct``, ``accuracy``, ``precision``.
    """
    p = pd.Series(np.asarray(predicted, dtype=object), name="predicted")
    t = pd.Series(np.asarray(truth, dtype=object), name="truth")
    ok = p == t
    out = pd.DataFrame({"n": t.value_counts(), "correct": ok.groupby(t).sum()}).fillna(0)
    out["accuracy"] = out["correct"] / out["n"]
    out["precision"] = ok.groupby(p).sum().reindex(out.index) / p.value_counts().reindex(out.index)
    out.loc["all"] = [len(t), ok.sum(), ok.mean(), ok.mean()]
    out[["n", "correct"]] = out[["n", "correct"]].astype("int64")
    out.index.name = "role"
    return out
