"""Who the hub is (issue 26, DOMAIN.md §2): an owner, staff/official account or one dominant figure
at the centre is a fan economy; core members at the centre are a community economy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from commlab.analysis.economy import classify_economy, economy_index
from commlab.analysis.network import build_graph, edge_measures, graph_measures

N = 40  # ordinary members m00..m39


def _edges(pairs: list[tuple[str, str, int]], staff: set[str]) -> pd.DataFrame:
    e = pd.DataFrame(pairs, columns=["source", "target", "weight"])
    e = e.groupby(["source", "target"], as_index=False)["weight"].sum()
    e["source_staff"] = e["source"].isin(staff)
    e["target_staff"] = e["target"].isin(staff)
    return e


def _star(hub: str) -> list[tuple[str, str, int]]:
    """Every member asks the hub and the hub answers; members hardly talk to each other."""
    out = []
    for i in range(N):
        out += [(f"m{i:02d}", hub, 3), (hub, f"m{i:02d}", 2)]
    out += [(f"m{i:02d}", f"m{i + 1:02d}", 1) for i in range(0, 6)]
    return out


def owner_led() -> tuple[pd.DataFrame, str]:
    return _edges(_star("owner"), {"owner"}), "fan"


def official_led() -> tuple[pd.DataFrame, str]:
    # the brand's official account at the centre, one assistant beside it
    pairs = _star("official") + [("assistant", f"m{i:02d}", 1) for i in range(5)]
    return _edges(pairs, {"official", "assistant"}), "fan"


def celebrity_led() -> tuple[pd.DataFrame, str]:
    # one star figure who is not staff (the 锤子 pattern); staff only greet a few
    pairs = _star("star") + [("staff", f"m{i:02d}", 1) for i in range(3)]
    return _edges(pairs, {"staff"}), "fan"


def core_led() -> tuple[pd.DataFrame, str]:
    """The 小米 pattern: five core members at the centre, members answer each other, staff at the edge."""
    core = [f"core{j}" for j in range(5)]
    pairs = []
    for i in range(N):
        c = core[i % 5]
        pairs += [(f"m{i:02d}", c, 2), (c, f"m{i:02d}", 2)]
        # circles of four members talking among themselves
        for d in (1, 2):
            j = (i // 4) * 4 + (i + d) % 4
            pairs.append((f"m{i:02d}", f"m{j:02d}", 2))
    pairs += [(a, b, 3) for a in core for b in core if a != b]
    # core0 also reaches everyone once: the plain graph has a clear centre
    pairs += [("core0", f"m{i:02d}", 1) for i in range(N)]
    pairs += [("staff", "core0", 1), ("m03", "staff", 1)]
    return _edges(pairs, {"staff"}), "community"


PATTERNS = {"owner-led": owner_led, "official-led": official_led, "celebrity-led": celebrity_led,
            "core-led": core_led}


def _fast(edges: pd.DataFrame) -> dict[str, float]:
    codes, names = pd.factorize(pd.concat([edges["source"], edges["target"]]), sort=True)
    m = len(edges)
    staff = np.zeros(len(names), dtype=bool)
    staff[codes[:m][edges["source_staff"].to_numpy()]] = True
    staff[codes[m:][edges["target_staff"].to_numpy()]] = True
    measures, _ = edge_measures(codes[:m], codes[m:], edges["weight"].to_numpy(float), staff,
                                np.asarray(names, dtype=object))
    return measures


@pytest.mark.parametrize("name", list(PATTERNS))
def test_economy_follows_who_the_hub_is(name: str) -> None:
    edges, planted = PATTERNS[name]()
    ref = graph_measures(build_graph(edges))
    fast = _fast(edges)
    for key, value in ref.items():  # the networkx reference and the sparse path agree
        assert math.isclose(value, fast[key], rel_tol=1e-9, abs_tol=1e-12) or (
            math.isnan(value) and math.isnan(fast[key])), key
    index = economy_index(ref["member_to_member_share"], ref["fan_hub_centralization"])
    assert classify_economy(index) == planted, (name, index, ref)


def test_a_core_member_hub_is_not_a_fan_hub() -> None:
    """The core-led graph is as centralised as a star to the plain measure, but its centre is a
    core member: the fan-hub measures, and so the index, see through it."""
    core = graph_measures(build_graph(core_led()[0]))
    owner = graph_measures(build_graph(owner_led()[0]))
    assert core["degree_centralization"] > 0.85 and owner["degree_centralization"] > 0.9
    assert core["fan_hub_centralization"] == 0.0 and owner["fan_hub_centralization"] > 0.9
    # the top-1 % hub (core0) touches a fifth of all interactions, yet that is member-to-member exchange
    assert core["hub_interaction_share"] > 0.2 and core["member_to_member_share"] > 0.95
    assert owner["member_to_member_share"] < 0.1
    # the definition before issue 26 (top hubs and plain centralization) called the 小米 pattern "mixed"
    before = economy_index(1 - core["hub_interaction_share"], core["degree_centralization"])
    assert classify_economy(before) == "mixed"


def test_a_dominant_figure_needs_half_of_the_interactions_and_no_tie() -> None:
    # two equally strong non-staff members: no single dominant figure
    pairs = [("a", "b", 10)] + [(f"m{i}", "a", 1) for i in range(3)] + [(f"m{i}", "b", 1) for i in range(3, 6)]
    tie = graph_measures(build_graph(_edges(pairs, set())))
    assert tie["fan_hub_share"] == 0.0 and tie["fan_hub_centralization"] == 0.0
    assert _fast(_edges(pairs, set()))["fan_hub_share"] == 0.0
    # one member touched by 40 % of interactions is a top member, not a dominant figure
    pairs = [(f"m{i}", "k", 1) for i in range(4)] + [(f"m{i}", f"m{i + 1}", 1) for i in range(6)]
    some = graph_measures(build_graph(_edges(pairs, set())))
    assert some["fan_hub_share"] == 0.0 and some["member_to_member_share"] == 1.0
