"""Fan economy ↔ community economy (粉丝经济 ↔ 社群经济), measured from the interaction network.

DOMAIN.md §2: in a fan economy interactions run through one hub — the star, the owner or the
official account — and fans rarely talk to each other; in a community economy members reply to
each other, and the connections form around core members. So *who the hub is* decides: a hub
that is the owner, staff or an official account, or one single dominant figure, makes a fan
economy; core members at the centre make a community economy. The **economy index** puts a
community on that line, in [0, 1]:

    economy_index = mean(member_to_member_share, 1 − fan_hub_centralization)

- ``member_to_member_share``: share of replies/mentions between members, neither of them a *fan
  hub* (owner, staff, or the one dominant figure touched by at least half of all interactions;
  :data:`commlab.analysis.network.DOMINANT_SHARE`); core members count as members: *who carries
  the conversation*;
- ``1 − fan_hub_centralization``: Freeman centralization taken around the best-connected fan hub
  is 1 for a star around the official account or a star figure, 0 for a mesh or for a star around
  a core member: *the shape of the graph, and who sits at its centre*.

Tested on three planted patterns (``tests/test_economy_hubs.py``): owner-led and official-led
stars read as fan economy, a core-led community (the 小米 pattern: several core members at the
centre, staff at the edge) as community economy, although its plain degree centralization is as
high as the stars'.

Reciprocity is deliberately not a component: it falls with community size in sparse large groups
whatever their economy (on the bundled samples, 0.16–0.18 in large peer communities against
0.27 in large fan groups), so it is reported with the trust-and-ties score instead.

The components are averaged over those that are defined (a graph with fewer than three
members has no centralization); the index is missing when none is. Thresholds
(:data:`THRESHOLDS`): below 0.4 = ``fan``, above 0.6 = ``community``, between = ``mixed``.
The index is **Python over DuckDB results** (it reuses :mod:`commlab.analysis.network`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from commlab.analysis.metrics import Metric, MetricContext, register
from commlab.analysis.network import network_table
from commlab.data.schema import Col

__all__ = ["THRESHOLDS", "COMPONENTS", "economy_index", "classify_economy", "economy_table"]

#: (fan_below, community_above): index < 0.4 is a fan economy, > 0.6 a community economy.
THRESHOLDS: tuple[float, float] = (0.4, 0.6)
#: The two components of the index and whether each enters as ``x`` or ``1 − x``.
COMPONENTS: dict[str, bool] = {"member_to_member_share": False, "fan_hub_centralization": True}

LABELS = {
    "fan": ("粉丝经济", "fan economy"),
    "mixed": ("混合", "mixed"),
    "community": ("社群经济", "community economy"),
}


def economy_index(member_to_member_share: float, fan_hub_centralization: float) -> float:
    """The index from its two components (a NaN component is left out; NaN if both are).

    Examples
    --------
    >>> economy_index(0.0, 1.0)   # a star around the official account: nobody talks past it
    0.0
    >>> economy_index(1.0, 0.2)
    0.9
    """
    parts = [member_to_member_share, 1.0 - fan_hub_centralization]
    vals = [float(p) for p in parts if p is not None and not (isinstance(p, float) and math.isnan(p))]
    return float(np.mean(vals)) if vals else math.nan


def classify_economy(index: float, thresholds: tuple[float, float] = THRESHOLDS) -> str | None:
    """``"fan"``, ``"mixed"`` or ``"community"`` for an index value (``None`` when missing)."""
    if index is None or (isinstance(index, float) and math.isnan(index)):
        return None
    low, high = thresholds
    return "fan" if index < low else "community" if index > high else "mixed"


def economy_table(network: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """Index, its inputs and the measured class per row of a network table.

    Parameters
    ----------
    network : DataFrame
        Columns ``member_to_member_share`` and ``fan_hub_centralization`` (e.g. a wide
        metric table or :func:`commlab.analysis.network.network_table`).
    lang : {"en", "zh"}
        Language of the ``economy_label`` column.
    """
    out = network[list(COMPONENTS)].copy()
    out["economy_index"] = [economy_index(*row) for row in out.itertuples(index=False)]
    out["economy_measured"] = [classify_economy(v) for v in out["economy_index"]]
    i = 0 if lang == "zh" else 1
    out["economy_label"] = [LABELS[c][i] if c else "" for c in out["economy_measured"]]
    return out


def _compute(ctx: MetricContext) -> pd.DataFrame:
    t = network_table(ctx)
    vals = [economy_index(a, b) for a, b in t[list(COMPONENTS)].itertuples(index=False)]
    return pd.DataFrame({Col.community_id: t[Col.community_id], "period": t["period"], "value": vals})


register(Metric(
    "economy_index", "社群经济指数", "economy index (fan 0 ↔ 1 community)",
    "Where the community sits between a fan economy (interactions through one hub that is the owner, staff, an "
    "official account or one dominant figure) and a community economy (members reply to each other; core "
    "members at the centre count as members): the mean of member_to_member_share and 1 − "
    "fan_hub_centralization. < 0.4 fan, > 0.6 community, between mixed. (Python over DuckDB: networkx.)",
    "mean(m2m_share, 1 − fan_hub_centralization)", "index", None, "DOMAIN.md §2 (粉丝经济 vs 社群经济)",
    compute=_compute, group="network"))
