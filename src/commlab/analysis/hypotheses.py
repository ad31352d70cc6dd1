"""The behavioural hypotheses of DOMAIN.md §2 (and two §4/§5 claims) as data, and their tests.

Each :class:`Hypothesis` names one metric, the communities it is about (values of an axis),
what they are compared with (the other communities, named groups, or a fixed threshold) and
the expected direction. :func:`test_hypotheses` returns per hypothesis the statistic, p-value,
effect size, n, whether the data support it, and a sentence in zh and en.

Tests (one-sided in the expected direction, two-sided where the claim is "changes"; alpha = 0.05):

``groups``
    Permutation test of the Mann–Whitney U statistic (ties count one half), exact by enumeration
    when feasible, otherwise seeded Monte Carlo; optionally **stratified** (labels permuted within
    the strata of another axis, U summed over strata) when a known confounder such as community
    size would otherwise swamp the comparison. Effect: rank-biserial r in [−1, 1] (pooled over
    strata), positive = in the expected direction.
``threshold``
    Wilcoxon signed-rank test (:func:`scipy.stats.wilcoxon`: exact for small n without ties,
    otherwise the normal approximation) of ``value − threshold`` over the communities where the
    metric is defined; zero differences are dropped. Statistic: the sum of the ranks of the
    positive differences. Effect: median difference.
``kruskal``
    Kruskal–Wallis across every value of the axis ("the axis changes the metric"), epsilon².
``members``
    When the group holds a single community no community-level test can reach p < 0.05; the
    hypothesis is then tested on members (Fisher's exact test of a member-level flag such as
    "bought in the window", group communities' members vs the others'). The sentence says so:
    members of one community are not independent replicates of a type.

Multiple testing: the p-values of the hypotheses a run tests are adjusted together with the
Benjamini–Hochberg procedure (:func:`scipy.stats.false_discovery_control`, ``method="bh"``), which keeps
the expected share of false discoveries among the supported claims at ``alpha``; ``p_adjusted`` holds
the adjusted value (NaN for a hypothesis not tested), ``p_value`` the unadjusted one.

"Supported" means an adjusted p < alpha and an effect in the expected direction. When the design
cannot reach p < alpha (``min_p`` ≥ alpha) the result says "n too small" instead of pretending.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from commlab.analysis.compute import connect
from commlab.analysis.daymask import days_between
from commlab.analysis.metrics import Tables, as_tables, get_metric, make_periods
from commlab.data.schema import Col

__all__ = [
    "Hypothesis", "HYPOTHESES", "OWN", "ALPHA", "test_hypotheses", "adjust_p_values", "is_synthetic",
    "stratified_u_test", "member_flags", "early_days",
]

ALPHA = 0.05
_MAX_EXACT = 200_000


@dataclass(frozen=True)
class Hypothesis:
    """One testable claim.

    Attributes
    ----------
    id : str
        Stable id.
    statement_zh, statement_en : str
        The claim in words.
    metric_id : str
        The registered metric that measures it.
    axis : str
        Column of the communities table the groups come from.
    groups : tuple of str
        Axis values the claim is about.
    versus : tuple of str or None
        Axis values to compare with; ``None`` = every other community.
    direction : {"greater", "less"}
        Expected direction of the claim group against the comparison (or the threshold).
    kind : {"groups", "threshold"}
        Group comparison or comparison with ``threshold``.
    threshold : float or None
        For ``kind="threshold"``.
    strata : str or None
        Axis within which labels are permuted (a confounder), for ``kind="groups"``.
    member_event : str or None
        Event type of the member-level fallback (e.g. ``"purchase"``), used when the group has one community.
    daily_fallback : bool
        For the early-survival threshold: when too few communities have the metric for a test, test each of
        them on its days instead (daily active members of days 1–3 against days 4–30).
    source : str
        Where the claim comes from.
    """

    id: str
    statement_zh: str
    statement_en: str
    metric_id: str
    axis: str
    groups: tuple[str, ...]
    versus: tuple[str, ...] | None = None
    direction: str = "greater"
    kind: str = "groups"
    threshold: float | None = None
    strata: str | None = None
    member_event: str | None = None
    daily_fallback: bool = False
    source: str = "DOMAIN.md §2"


#: ``source`` of a hypothesis the articles do not state: the kit tests it as a control and says so.
OWN = "commlab (not stated by the articles)"

#: The claims of DOMAIN.md §2/§4/§5, and two of the kit's own (:data:`OWN`). "Interest communities
#: are less focused" is not among them: the articles say every type can be vertical (DOMAIN.md §2).
HYPOTHESES: tuple[Hypothesis, ...] = (
    Hypothesis(
        "knowledge_completion", "知识/学习型社群的完课率更高（陪伴式、结果导向）。",
        "Knowledge/learning communities have a higher course completion rate (accompanying, outcome-oriented).",
        "completion_rate", "theme", ("knowledge",), source="DOMAIN.md §2 [A]"),
    Hypothesis(
        "knowledge_referral", "知识/学习型社群的转介绍率更高。",
        "Knowledge/learning communities have a higher referral rate.",
        "referral_rate", "theme", ("knowledge",), source="DOMAIN.md §2 [A]"),
    Hypothesis(
        "service_repurchase", "服务交付型（教育、知识付费、健身）社群的复购率更高。",
        "Service-delivery communities (education, knowledge payment, fitness) have a higher repurchase rate.",
        "repeat_purchase_rate", "business_model", ("service",), source="DOMAIN.md §2 [A]"),
    Hypothesis(
        "brand_product_hub",
        "品牌型和产品型社群中官方参与互动的程度与其他社群不同（文章视之为经验问题：小米是成员互联的品牌社群）。",
        "In brand and product communities the share of interactions involving staff differs from other "
        "communities (an empirical question for the articles: their community-economy example, Xiaomi, is a brand "
        "community whose members connect with each other).",
        "staff_interaction_share", "theme", ("brand", "product"), direction="two-sided",
        source="DOMAIN.md §2 [A][D] (an open question)"),
    Hypothesis(
        "interest_peer", "兴趣型社群靠成员之间的交流运转：成员间互动占比高于品牌、产品和消费型社群。",
        "Interest communities run on member-to-member exchange: a higher member-to-member share than brand, "
        "product and consumption communities.",
        "member_to_member_share", "theme", ("interest",), versus=("brand", "product", "consumption"),
        source="DOMAIN.md §2 [D][E]"),
    Hypothesis(
        "fan_economy_hub", "粉丝经济中互动经由一个中心，社群经济中成员相互回复：粉丝经济的社群经济指数更低。",
        "In a fan economy interactions run through one hub, in a community economy members reply to each other: "
        "fan-economy communities have a lower economy index.",
        "economy_index", "economy", ("fan",), versus=("community",), direction="less",
        source="DOMAIN.md §2 [D]"),
    Hypothesis(
        "industry_ties", "行业型社群的价值在于人脉：成员间关系更强（同一对成员反复互动），在同一生命周期阶段内比较。",
        "Industry communities are a professional network: stronger member-to-member ties (pairs interact "
        "repeatedly), compared within the same lifecycle stage (size confounds tie strength).",
        "peer_tie_strength", "theme", ("industry",), strata="lifecycle", source="DOMAIN.md §2 [E], §4"),
    Hypothesis(
        "consumption_buyers", "消费型社群的购买成员占比更高。",
        "Consumption communities have a higher buyer share.",
        "buyer_share", "theme", ("consumption",), member_event="purchase", source="DOMAIN.md §2 [D][E], §5"),
    Hypothesis(
        "startup_small", "初创期社群规模小。", "Start-up communities are small.",
        "members", "lifecycle", ("startup",), direction="less", source="DOMAIN.md §2 [A]"),
    Hypothesis(
        "startup_deep", "初创期社群互动更深：核心成员占比更高；成熟期社群更大、人均更浅。",
        "Start-up communities interact more deeply: a higher core-member share; mature ones are larger and "
        "shallower per member.",
        "core_share", "lifecycle", ("startup",), source="DOMAIN.md §2 [A]"),
    Hypothesis(
        "early_death", "建群三天必死：新群的活跃在最初三天后崩塌（第4–30天日活不到第1–3天的30%）。",
        "'A new group dies within three days': activity on days 4–30 falls below 30 % of days 1–3.",
        "early_survival_ratio", "theme", (), direction="less", kind="threshold", threshold=0.3,
        daily_fallback=True, source="DOMAIN.md §4"),
    Hypothesis(
        "event_lift", "定期活动带来活跃度提升：活动后7天的成员内容多于活动前7天。",
        "Regular events lift activity: more member content in the 7 days after an event than before.",
        "event_lift", "theme", (), kind="threshold", threshold=1.0, source="DOMAIN.md §4"),
    Hypothesis(
        "platform_activity", "平台（微信与QQ）影响活跃度。",
        "The platform (WeChat vs QQ) changes the activity level.",
        "active_share_30d", "platform", ("wechat",), versus=("qq",), direction="two-sided",
        source=OWN),
    Hypothesis(
        "monetization_interaction", "变现模式改变成员间互动。",
        "The monetization model changes member-to-member interaction.",
        "member_to_member_share", "monetization", (), kind="kruskal", direction="two-sided",
        source=OWN),
    Hypothesis(
        "event_purchase_conversion", "活动后购买增加（活动转化）。",
        "Purchases rise after events (conversion after events).",
        "event_purchase_lift", "theme", (), kind="threshold", threshold=1.0, source="DOMAIN.md §5"),
)


# --------------------------------------------------------------------------- tests


def _u(x: np.ndarray, y: np.ndarray) -> float:
    """Mann–Whitney U of x (count of pairs x > y, ties one half)."""
    if len(x) == 0 or len(y) == 0:
        return 0.0
    d = x[:, None] - y[None, :]
    return float((d > 0).sum() + 0.5 * (d == 0).sum())


def _u_of_draws(v: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """:func:`_u` of ``v[draw]`` against the rest of ``v``, for every row of ``draws`` (indices into ``v``).

    With finite values, ``U = (sum of the drawn values' mid-scores) - n1² / 2``, where a value's
    mid-score counts the values below it plus one half per equal value, itself included (the
    within-draw pairs add up to n1² / 2). Every term is a multiple of one half, so the sums are
    exact and equal :func:`_u`'s. Values that are not all finite (a pair of equal infinities has
    no difference) take the pairwise form, one comparison matrix for all draws.
    """
    draws = np.asarray(draws, dtype=np.int64).reshape(len(draws), -1)
    n1 = draws.shape[1]
    if n1 == 0 or n1 == len(v):
        return np.zeros(len(draws))
    with np.errstate(invalid="ignore"):  # inf - inf: no difference, as in _u
        d = v[:, None] - v[None, :]
    pair = (d > 0) + 0.5 * (d == 0)  # pair[i, j]: what (v_i, v_j) adds to U with i drawn and j not
    if np.isfinite(v).all():
        return pair.sum(axis=1)[draws].sum(axis=1) - n1 * n1 / 2
    member = np.zeros((len(draws), len(v)))
    np.put_along_axis(member, draws, 1.0, axis=1)
    return ((member @ pair) * (1.0 - member)).sum(axis=1)


def stratified_u_test(
    values: Sequence[float],
    in_group: Sequence[bool],
    strata: Sequence[object] | None = None,
    *,
    alternative: str = "greater",
    n_perm: int = 20_000,
    seed: int = 0,
) -> dict[str, float]:
    """Permutation test of the (stratum-summed) Mann–Whitney U of the group against the rest.

    Parameters
    ----------
    values : sequence of float
        One value per community (no NaN).
    in_group : sequence of bool
        Whether each community is in the claim group.
    strata : sequence, optional
        Stratum of each community; labels are permuted within strata.
    alternative : {"greater", "less", "two-sided"}
        Expected direction of the group.
    n_perm : int
        Monte Carlo draws when exact enumeration is too large.
    seed : int
        Seed for the Monte Carlo draws.

    Returns
    -------
    dict
        ``u``, ``p_value``, ``effect`` (pooled rank-biserial, positive = group higher), ``min_p``
        (the smallest attainable one-sided p), ``exact`` (1.0 when enumerated).
    """
    v = np.asarray(values, dtype=float)
    g = np.asarray(in_group, dtype=bool)
    s = np.zeros(len(v), dtype=int) if strata is None else pd.factorize(pd.Series(list(strata)))[0]
    blocks = []
    for k in np.unique(s):
        idx = np.flatnonzero(s == k)
        n1 = int(g[idx].sum())
        if 0 < n1 < len(idx):
            blocks.append((idx, n1))
    if not blocks:
        return {"u": math.nan, "p_value": math.nan, "effect": math.nan, "min_p": math.nan, "exact": math.nan}

    # U of every assignment: per block, from an array of its draws; the blocks' U add up
    observed = sum(_u(v[idx[g[idx]]], v[idx[~g[idx]]]) for idx, _ in blocks)
    pairs = sum(n1 * (len(idx) - n1) for idx, n1 in blocks)
    centre = pairs / 2
    n_combos = math.prod(math.comb(len(idx), n1) for idx, n1 in blocks)
    if n_combos <= _MAX_EXACT:
        # every assignment (itertools.product of each block's combinations; the order does not matter)
        null = np.zeros(1)
        for idx, n1 in blocks:
            combos = np.fromiter(itertools.chain.from_iterable(itertools.combinations(range(len(idx)), n1)),
                                 dtype=np.int64, count=math.comb(len(idx), n1) * n1)
            null = np.add.outer(null, _u_of_draws(v[idx], combos.reshape(-1, n1))).ravel()
        exact = 1.0
    else:
        rng = np.random.default_rng(seed)
        draws = [np.empty((n_perm, n1), dtype=np.int64) for _, n1 in blocks]
        for i in range(n_perm):  # the draws in the order of one permutation after another
            for (idx, n1), out in zip(blocks, draws, strict=True):
                out[i] = rng.choice(len(idx), n1, replace=False)
        null = np.zeros(n_perm)
        for (idx, _), d in zip(blocks, draws, strict=True):
            null = null + _u_of_draws(v[idx], d)
        exact = 0.0
    eps = 1e-9
    if alternative == "greater":
        p = float((null >= observed - eps).mean())
    elif alternative == "less":
        p = float((null <= observed + eps).mean())
    else:
        p = float((np.abs(null - centre) >= abs(observed - centre) - eps).mean())
    if exact == 0.0:
        p = (p * len(null) + 1) / (len(null) + 1)
    min_p = (1.0 / n_combos) * (2 if alternative == "two-sided" else 1)
    return {"u": observed, "p_value": p, "effect": 2 * observed / pairs - 1, "min_p": min(1.0, min_p),
            "exact": exact}


def _signed_rank_test(d: np.ndarray, alternative: str) -> dict[str, float]:
    """Wilcoxon signed-rank test of ``d`` against 0 (:func:`scipy.stats.wilcoxon`), zeros dropped.

    ``u`` is the sum of the ranks of the positive differences (for every ``alternative``; scipy
    reports the smaller rank sum for a two-sided test); ``min_p`` is the smallest p the design can
    reach (all differences of one sign): ``0.5 ** n``, doubled when two-sided.
    """
    d = np.asarray(d, dtype=float)
    d = d[d != 0]
    n = len(d)
    if n == 0:
        return {"u": math.nan, "p_value": math.nan, "min_p": math.nan}
    ranks = stats.rankdata(np.abs(d))
    res = stats.wilcoxon(d, zero_method="wilcox", alternative=alternative)
    min_p = min(1.0, 0.5 ** n * (2 if alternative == "two-sided" else 1))
    return {"u": float(ranks[d > 0].sum()), "p_value": float(res.pvalue), "min_p": min_p}


def adjust_p_values(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values of one family of tests; NaN (not tested) stays NaN.

    Parameters
    ----------
    p_values : sequence of float
        One p-value per hypothesis; NaN for a hypothesis that was not tested (it does not count
        in the family).

    Returns
    -------
    ndarray
        The adjusted p-values (:func:`scipy.stats.false_discovery_control`, ``method="bh"``).

    Examples
    --------
    >>> adjust_p_values([0.01, 0.04, float("nan"), 0.03]).round(3).tolist()
    [0.03, 0.04, nan, 0.04]
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    tested = ~np.isnan(p)
    if tested.any():
        out[tested] = stats.false_discovery_control(p[tested], method="bh")
    return out


def member_flags(data, *, as_of, event_type: str) -> pd.DataFrame:
    """Per non-staff member present at ``as_of``: whether they had an ``event_type`` event by then.

    Returns
    -------
    DataFrame
        ``community_id, member_id, flag`` (member ids stay inside the package; never write them out).
    """
    t: Tables = as_tables(data)
    periods = make_periods(t.frame("communities"), as_of=as_of, window=None)
    con = connect(t, periods, materialize_events=False)  # the events are read once
    try:
        return con.execute("""
SELECT pr.community_id, pr.member_id,
       EXISTS (SELECT 1 FROM ev e JOIN periods p ON p.community_id = e.community_id
               WHERE e.community_id = pr.community_id AND e.member_id = pr.member_id
                 AND e.event_type = ? AND e.ts <= p.p_end) AS flag
FROM present pr
""", [event_type]).df()
    finally:
        con.close()


def _groups_mask(table: pd.DataFrame, h: Hypothesis) -> tuple[pd.Series, pd.Series]:
    ax = table[h.axis].astype("string")
    inside = ax.isin(h.groups).fillna(False)
    other = ~inside & ax.notna() if h.versus is None else ax.isin(h.versus).fillna(False)
    return inside.astype(bool), other.astype(bool)


def _p_text(p) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "=NA"
    return "<0.001" if p < 0.001 else f"={p:.3f}"


def _sentence(h: Hypothesis, res: dict, lang: str) -> str:
    zh = lang == "zh"
    p, eff, n = res.get("p_value"), res.get("effect"), res.get("n")
    n = f"{n:,}" if isinstance(n, int | np.integer) else n  # 8,528 members, as every count in a report
    pv = _p_text(p)
    pa = res.get("p_adjusted")
    if pa is not None and not (isinstance(pa, float) and math.isnan(pa)):
        pv += f"（多重检验校正后 p{_p_text(pa)}）" if zh else f" (adjusted for multiple testing: p{_p_text(pa)})"
    ev = "NA" if eff is None or (isinstance(eff, float) and math.isnan(eff)) else f"{eff:+.2f}"
    if res["note"] == "n too small":
        mp = res.get("min_p")
        if mp is None or (isinstance(mp, float) and math.isnan(mp)):
            return (f"无法判断：可比较的组太少（n={n}）。" if zh else
                    f"Cannot tell: too few groups to compare (n={n}).")
        return (f"无法判断：样本太小（n={n}），该设计最小可能p值为{mp:.3f}，达不到0.05。" if zh else
                f"Cannot tell: n is too small (n={n}); the smallest attainable p is {mp:.3f}, above 0.05.")
    if res["note"] == "no variation":
        return ("无法判断：该指标在所有社群中取值相同（数据中可能没有相应事件）。" if zh else
                "Cannot tell: the metric is the same for every community (the data may lack such events).")
    if res["note"] == "no data":
        return ("无法判断：该指标在这些社群中没有数据。" if zh else
                "Cannot tell: the metric has no data for these communities.")
    extra = ""
    if res.get("level") == "days":
        extra = (f"（只有{n}个社群的建群期在数据内，按天检验：第1–3天与第4–30天的日活）" if zh else
                 f" (only {n} community's first days are in the data, so each is tested on its days: daily "
                 "active members of days 1–3 against days 4–30)")
    if res.get("level") == "members":
        extra = ("（成员层面检验：组内只有一个社群，结论只针对该社群，不能推广到类型）" if zh else
                 " (member-level test: the group holds one community, so this speaks for that community, "
                 "not for the type)")
    if h.source == OWN:
        extra += ("（本工具自拟的对照假设，文章并未提出）" if zh else
                  " (the kit's own control, not a claim of the articles)")
    if res.get("synthetic"):
        # generated data agree with what was planted: a demonstration of the method, not evidence for the articles
        if res["supported"]:
            return (f"合成数据演示（与假设一致）：{h.statement_zh} p{pv}，效应={ev}，n={n}{extra}。" if zh else
                    f"Synthetic-data demonstration (consistent with the claim): {h.statement_en} p{pv}, "
                    f"effect={ev}, n={n}{extra}.")
        return (f"合成数据演示（与假设不一致）：{h.statement_zh} p{pv}，效应={ev}，n={n}{extra}。" if zh else
                f"Synthetic-data demonstration (not consistent with the claim): {h.statement_en} p{pv}, "
                f"effect={ev}, n={n}{extra}.")
    if res["supported"]:
        return (f"数据支持：{h.statement_zh} p{pv}，效应={ev}，n={n}{extra}。" if zh else
                f"Supported by the data: {h.statement_en} p{pv}, effect={ev}, n={n}{extra}.")
    return (f"数据不支持：{h.statement_zh} p{pv}，效应={ev}，n={n}{extra}。" if zh else
            f"Not supported by the data: {h.statement_en} p{pv}, effect={ev}, n={n}{extra}.")


def is_synthetic(table: pd.DataFrame) -> bool:
    """Whether every community of ``table`` comes from generated data (``source`` starts with
    ``synthetic``, as the kit's generator writes it). Verdicts on such data are demonstrations."""
    if "source" not in table.columns:
        return False
    src = table["source"].dropna().astype(str).str.strip().str.lower()
    return bool(len(src)) and bool(src.str.startswith("synthetic").all())


def _test_one(h: Hypothesis, table: pd.DataFrame, data, as_of, seed: int) -> dict:
    res: dict = {"hypothesis_id": h.id, "metric_id": h.metric_id, "axis": h.axis,
                 "groups": ", ".join(h.groups), "versus": "rest" if h.versus is None else ", ".join(h.versus),
                 "direction": h.direction, "test": "", "level": "communities", "n": 0, "n_group": 0,
                 "n_compare": 0, "statistic": math.nan, "p_value": math.nan, "p_adjusted": math.nan, "effect": math.nan,
                 "min_p": math.nan, "supported": False, "note": ""}
    if h.metric_id not in table.columns:
        res["note"] = "no data"
        return res
    x = table[h.metric_id].astype(float)
    if h.kind == "threshold":
        vals = x.dropna().to_numpy()
        res.update(test="Wilcoxon signed-rank vs threshold", n=len(vals), n_group=len(vals))
        if len(vals) == 0:
            res["note"] = "no data"
            return res
        d = vals - float(h.threshold or 0.0)
        r = _signed_rank_test(d, h.direction)
        res.update(statistic=r["u"], p_value=r["p_value"], min_p=r["min_p"],
                   effect=float(np.median(d)) * (-1 if h.direction == "less" else 1))
        right = True if h.direction == "two-sided" else res["effect"] > 0
        if r["min_p"] >= ALPHA and h.daily_fallback and data is not None:
            return _daily_level(h, res, table, data, as_of)
        if r["min_p"] >= ALPHA:
            # too few communities for a test: say what is seen, do not claim support
            res["note"] = "n too small"
            res["descriptive"] = bool(right)
            return res
        res["supported"] = bool(right and r["p_value"] < ALPHA)
        return res
    if h.kind == "kruskal":
        from commlab.analysis.compare import test_differences

        k = test_differences(table, h.axis, metrics=[h.metric_id]).iloc[0]
        note = k["note"] if k["note"] in ("no variation",) or k["n_groups"] < 2 else (
            f"smallest group n={int(k['min_group_n'])}" if k["min_group_n"] < 2 else "")
        res.update(test="Kruskal-Wallis", n=int(k["n"]), n_group=int(k["n_groups"]), statistic=k["statistic"],
                   p_value=k["p_value"], effect=k["epsilon_sq"], min_p=math.nan,
                   note="n too small" if k["n_groups"] < 2 else note)
        res["supported"] = bool(k["p_value"] < ALPHA)
        return res
    inside, other = _groups_mask(table, h)
    keep = (inside | other) & x.notna()
    n_group, n_compare = int((inside & keep).sum()), int((other & keep).sum())
    res.update(n=n_group + n_compare, n_group=n_group, n_compare=n_compare)
    if n_group == 0 or n_compare == 0:
        res["note"] = "no data"
        return res
    if x[keep].nunique() < 2:
        res["note"] = "no variation"
        return res
    strata = table.loc[keep, h.strata].astype(str).tolist() if h.strata else None
    r = stratified_u_test(x[keep].to_numpy(), inside[keep].to_numpy(), strata, alternative=h.direction, seed=seed)
    res.update(test="permutation Mann-Whitney U" + (f" stratified by {h.strata}" if h.strata else ""),
               statistic=r["u"], p_value=r["p_value"], min_p=r["min_p"],
               effect=r["effect"] if h.direction != "less" else -r["effect"])
    if h.direction == "two-sided":
        res["effect"] = r["effect"]
    if r["min_p"] >= ALPHA and h.member_event and data is not None:
        return _member_level(h, res, table, data, as_of)
    if r["min_p"] >= ALPHA:
        res["note"] = "n too small"
        return res
    right = True if h.direction == "two-sided" else res["effect"] > 0
    res["supported"] = bool(right and res["p_value"] < ALPHA)
    return res


def _member_level(h: Hypothesis, res: dict, table: pd.DataFrame, data, as_of) -> dict:
    flags = member_flags(data, as_of=as_of, event_type=str(h.member_event))
    inside, other = _groups_mask(table, h)
    g_ids = set(table.loc[inside, Col.community_id].astype(str))
    o_ids = set(table.loc[other, Col.community_id].astype(str))
    cid = flags[Col.community_id].astype(str)
    a = flags.loc[cid.isin(g_ids), "flag"].astype(bool)
    b = flags.loc[cid.isin(o_ids), "flag"].astype(bool)
    tab = [[int(a.sum()), int((~a).sum())], [int(b.sum()), int((~b).sum())]]
    alt = "greater" if h.direction == "greater" else "less"
    odds, p = stats.fisher_exact(tab, alternative=alt)
    diff = float(a.mean() - b.mean()) if len(a) and len(b) else math.nan
    res.update(test="Fisher exact on members (group has one community)", level="members", n=len(a) + len(b),
               statistic=float(odds), p_value=float(p), effect=diff if h.direction != "less" else -diff,
               min_p=0.0, note="member-level")
    res["supported"] = bool(res["effect"] > 0 and p < ALPHA)
    return res


def early_days(data, community_ids: Iterable[str]) -> pd.DataFrame:
    """Daily active members (non-staff) on days 1–30 after each community's creation.

    Returns
    -------
    DataFrame
        ``community_id, day, dau`` with zeros for silent days.
    """
    t: Tables = as_tables(data)
    comm = t.frame("communities")
    comm = comm[comm[Col.community_id].astype(str).isin(list(community_ids))]
    periods = make_periods(comm, as_of="created+30d", window=None)
    con = connect(t, periods, materialize_events=False)  # the events are read once
    try:
        return con.execute(f"""
WITH days AS (SELECT p.community_id, d.day FROM periods p, LATERAL (SELECT unnest(range(1, 31)) AS day) d),
a AS (SELECT e.community_id, {days_between("c.created_at", "e.ts")} + 1 AS day,
             count(DISTINCT e.member_id) AS dau
      FROM act e JOIN communities c USING (community_id)
      WHERE NOT e.is_staff AND e.ts >= c.created_at AND e.ts < c.created_at + INTERVAL '30 days'
      GROUP BY ALL)
SELECT d.community_id, d.day, coalesce(a.dau, 0) AS dau FROM days d
LEFT JOIN a ON a.community_id = d.community_id AND a.day = d.day ORDER BY 1, 2
""").df()
    finally:
        con.close()


def _daily_level(h: Hypothesis, res: dict, table: pd.DataFrame, data, as_of) -> dict:
    ids = table.loc[table[h.metric_id].notna(), Col.community_id].astype(str).tolist()
    days = early_days(data, ids)
    ps, ratios = [], []
    for _, g in days.groupby(Col.community_id):
        early = g.loc[g["day"] <= 3, "dau"].to_numpy(float)
        late = g.loc[g["day"] >= 4, "dau"].to_numpy(float)
        r = stratified_u_test(np.concatenate([early, late]), [True] * len(early) + [False] * len(late),
                              alternative="greater")
        ps.append(r["p_value"])
        ratios.append(late.mean() / early.mean() if early.mean() > 0 else math.nan)
    p = max(ps) if ps else math.nan
    ratio = float(np.nanmax(ratios)) if ratios else math.nan
    res.update(test="per community: permutation Mann-Whitney of daily active members, days 1-3 vs 4-30",
               level="days", statistic=ratio, p_value=p, effect=float(h.threshold or 0) - ratio,
               min_p=1 / math.comb(30, 3), note="day-level")
    res["supported"] = bool(ps and p < ALPHA and ratio < float(h.threshold or 0))
    return res


def test_hypotheses(
    table: pd.DataFrame,
    *,
    hypotheses: Iterable[Hypothesis] = HYPOTHESES,
    data=None,
    as_of=None,
    seed: int = 0,
    synthetic: bool | None = None,
) -> pd.DataFrame:
    """Test each hypothesis on a communities × metrics table.

    Parameters
    ----------
    table : DataFrame
        One row per community with the axis columns and metric columns
        (:func:`commlab.analysis.compare.with_axes`).
    hypotheses : iterable of Hypothesis
        Default: :data:`HYPOTHESES`.
    data : Dataset or tables, optional
        Needed for the member-level fallback of single-community groups.
    as_of : str, optional
        The analysis instant of the member-level fallback.
    seed : int
        Seed of Monte Carlo permutations (exact enumeration is used when small).
    synthetic : bool, optional
        Whether the data are generated; default: :func:`is_synthetic` of ``table``. On synthetic
        data every verdict reads "合成数据演示 / synthetic-data demonstration", never "数据支持 /
        supported by the data": the generator planted what the test finds.

    Returns
    -------
    DataFrame
        One row per hypothesis: ids, test, n, statistic, ``p_value`` (unadjusted), ``p_adjusted``
        (Benjamini–Hochberg over the hypotheses tested in this call), effect, min_p, ``supported``
        (adjusted p < alpha and the effect in the expected direction), note, synthetic, source, own
        (the kit's own control, not a claim of the articles), the statements and a sentence in zh
        and en.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> from commlab.analysis.hypotheses import Hypothesis
    >>> table = pd.DataFrame({"community_id": list("abcdefgh"), "theme": list("xxxxxyyy"),
    ...                       "members": [1.0, 2, 3, 4, 5, 6, 7, 8]})
    >>> claim = Hypothesis("big_y", "y 社群更大", "y communities are bigger", "members", "theme", ("y",))
    >>> row = cl.test_hypotheses(table, hypotheses=[claim]).iloc[0]
    >>> round(float(row["p_value"]), 4), bool(row["supported"])
    (0.0179, True)
    """
    synthetic = is_synthetic(table) if synthetic is None else bool(synthetic)
    hs = list(hypotheses)
    rows = []
    for h in hs:
        get_metric(h.metric_id)
        res = _test_one(h, table, data, as_of, seed)
        res.update(synthetic=synthetic, source=h.source, own=h.source == OWN)
        res.pop("descriptive", None)
        rows.append(res)
    # one family per run: Benjamini-Hochberg over the hypotheses that were tested; a claim stays
    # supported only if its adjusted p is below alpha too
    adjusted = adjust_p_values([r["p_value"] for r in rows])
    for h, res, p_adj in zip(hs, rows, adjusted, strict=True):
        res["p_adjusted"] = float(p_adj)
        res["supported"] = bool(res["supported"] and p_adj < ALPHA)
        res["statement_zh"], res["statement_en"] = h.statement_zh, h.statement_en
        res["sentence_zh"], res["sentence_en"] = _sentence(h, res, "zh"), _sentence(h, res, "en")
    return pd.DataFrame(rows)


test_hypotheses.__test__ = False  # a statistics function, not a pytest test
