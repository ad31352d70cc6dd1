"""The facts the rules of the executive summary read, and what each community's data hold.

:func:`build_facts` gathers one long table ``community_id, metric_id, value, source`` per community:
the registered community metrics over the latest period (the ``period_days`` days up to ``as_of``),
the operational signals and the Orbit "one step from the next level" count, computed by DuckDB where
the events are (:mod:`commlab.analysis.signals_sql`). :func:`community_profile` says what each
community's data hold, for the rules' ``requires``; :func:`suppress_small_communities` hides every
fact that stands for fewer than ``k`` members. Part of :mod:`commlab.recommend` (which re-exports
every name).
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from commlab.analysis.compute import compute_metrics
from commlab.analysis.metrics import resolve_as_of
from commlab.analysis.signals_sql import event_facts
from commlab.data.load import Dataset
from commlab.data.schema import EVENT_TYPE, Col
from commlab.facts import MEMBER_COUNT_FACTS
from commlab.privacy import DEFAULT_K, MEMBER_SHARE_METRICS, check_k, small_group_mask
from commlab.rules import (
    PROFILE_COLUMNS,
    STAFF_MEMBER_ROLES,
)
from commlab.rules_text import tr

__all__ = [
    "SCHEMA",
    "SCORECARD_METRICS",
    "build_facts",
    "community_profile",
    "as_of_text",
    "suppress_small_communities",
]


#: Marks the ``summary.json`` of a recommendations step (found inside a run's summary by it).
SCHEMA = "commlab.recommendations/1"

#: The handful of metrics on the scorecard, in display order.
SCORECARD_METRICS: tuple[str, ...] = (
    "members", "active_share_30d", "ugc_share", "response_rate", "retention_30d", "zombie_share",
    "member_to_member_share", "buyer_share",
)


# --------------------------------------------------------------------------- facts


def build_facts(data: Dataset, *, as_of: Any, period_days: int = 30) -> pd.DataFrame:
    """The facts the rules read, one row per community and fact.

    Parameters
    ----------
    data : Dataset
        Loaded, validated tables (``communities``, ``members``, ``events``).
    as_of : str, Timestamp, mapping or Series
        The analysis instant: one ISO date/time (UTC when naive) for every community, the rule
        ``"created+<N>d"`` (each community at its creation + N days, as the Stack Exchange
        playbook measures sites that live in different years), or ``community_id -> instant``;
        resolved by :func:`commlab.analysis.metrics.resolve_as_of`.
    period_days : int, default 30
        Length of the latest period over which flow metrics (content, purchases, responses) are
        counted; stock and trailing metrics are taken at each community's instant.

    Returns
    -------
    DataFrame
        ``community_id, metric_id, value, source, n`` (``source``: ``metrics``, ``signals``,
        ``orbit``); NaN where a metric is not defined. ``n`` is the metric's group size (the
        members its value is computed over, see :mod:`commlab.analysis.metrics`), NaN where
        there is none.

    Raises
    ------
    ValueError
        If ``as_of`` is empty, malformed, or leaves a community without an instant.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c01", "c04"])
    >>> facts = cl.build_facts(ds, as_of="2024-06-30T16:00:00Z")
    >>> facts.columns.tolist()
    ['community_id', 'metric_id', 'value', 'source', 'n']
    """
    communities = data.communities
    ends = resolve_as_of(as_of, communities)
    metrics = compute_metrics(data, as_of=ends, window=None, start=ends - pd.Timedelta(days=period_days))
    parts = [metrics[[Col.community_id, "metric_id", "value", "n"]].assign(source="metrics")]
    # the signals and Orbit levels: DuckDB reads the events where they are (the stored file of a run)
    # and returns rows per community or member, never per event (commlab.analysis.signals_sql)
    with event_facts(data.events_source, data.members, communities, ends) as ef:
        ops, near = ef.operational_facts(), ef.near_next_orbit()
    ops[Col.community_id] = ops[Col.community_id].astype(str)
    # in the order the facts had when computed per group of communities sharing one instant
    for _, ids in ends.groupby(ends, sort=True):
        ids = pd.Index(ids.index.astype(str))
        parts += [ops[ops[Col.community_id].isin(ids)].assign(source="signals"),
                  pd.DataFrame({Col.community_id: ids.to_numpy(), "metric_id": "near_next_orbit_members",
                                "value": near.reindex(ids).to_numpy(), "source": "orbit"})]
    out = pd.concat(parts, ignore_index=True)
    out[Col.community_id] = out[Col.community_id].astype(str)
    out["metric_id"] = out["metric_id"].astype(str)
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype("float64")
    out["n"] = pd.to_numeric(out["n"], errors="coerce").astype("float64")
    out = out[[Col.community_id, "metric_id", "value", "source", "n"]]
    return out.drop_duplicates([Col.community_id, "metric_id"], keep="first").reset_index(drop=True)


def _type_counts_in_memory(events: pd.DataFrame, ends: pd.Series) -> pd.DataFrame:
    ev = events[[Col.community_id, "ts", "event_type"]]
    end = ev[Col.community_id].astype(str).map(ends)
    ev = ev[ev["ts"] <= end]
    return ev.groupby([ev[Col.community_id].astype(str), ev["event_type"].astype(str)]).size().rename("n").reset_index()


def _type_counts_stored(relation: str, ends: pd.Series) -> pd.DataFrame:
    import duckdb

    limits = pd.DataFrame({Col.community_id: ends.index.astype(str),
                           "end_us": (ends.astype("datetime64[us, UTC]").astype("int64")).to_numpy()})
    con = duckdb.connect()
    try:
        con.register("limits", limits)
        # every event up to every instant (the last one's time from the file's statistics): counted without
        # reading the times or joining the instants
        (last,) = con.execute(f"SELECT epoch_us(CAST(max(e.ts) AS TIMESTAMPTZ)) FROM {relation} e").fetchall()[0]
        if last is None or not len(limits) or last <= int(limits["end_us"].min()):
            rows_of = "WHERE CAST(e.community_id AS VARCHAR) IN (SELECT community_id FROM limits)"
        else:
            rows_of = ("JOIN limits l ON CAST(e.community_id AS VARCHAR) = l.community_id "
                       "WHERE epoch_us(CAST(e.ts AS TIMESTAMPTZ)) <= l.end_us")
        rows = con.execute(f"SELECT CAST(e.community_id AS VARCHAR), CAST(e.event_type AS VARCHAR), count(*) "
                           f"FROM {relation} e {rows_of} GROUP BY 1, 2").fetchall()
    finally:
        con.close()
    return pd.DataFrame(rows, columns=[Col.community_id, "event_type", "n"])


def community_profile(data: Dataset, *, as_of: Any) -> pd.DataFrame:
    """What each community's data hold, for the rules' ``requires`` (:data:`commlab.rules.PROFILE_COLUMNS`).

    Parameters
    ----------
    data : Dataset
    as_of : str, Timestamp, mapping or Series
        As for :func:`build_facts`; only events up to each community's instant count.

    Returns
    -------
    DataFrame
        One row per community: ``community_id``, ``staff_members`` (members whose role is owner
        or staff; bots do not count) and ``events_<type>`` for every event type, the number of
        such events up to the instant. Stored events are counted by DuckDB in the file.
    """
    communities = data.communities
    ends = resolve_as_of(as_of, communities)
    ends.index = ends.index.astype(str)
    if data.events_loaded:
        counts = _type_counts_in_memory(data.events, ends)
    else:
        counts = _type_counts_stored(data.events_source.sql(), ends)
    ids = communities[Col.community_id].astype(str)
    wide = counts.pivot_table(index=Col.community_id, columns="event_type", values="n", aggfunc="sum", fill_value=0)
    wide = wide.reindex(index=ids, columns=EVENT_TYPE.codes, fill_value=0).fillna(0).astype("int64")
    wide.columns = [f"events_{c}" for c in wide.columns]
    members = data.members
    staff = members[members["role"].isin(STAFF_MEMBER_ROLES)].groupby(members[Col.community_id].astype(str)).size()
    out = wide.reset_index(names=Col.community_id)
    out.insert(1, "staff_members", staff.reindex(ids).fillna(0).astype("int64").to_numpy())
    return out[list(PROFILE_COLUMNS)]


def as_of_text(as_of: Any, communities: pd.DataFrame, lang: str = "en") -> str:
    """The analysis instant as the report states it, in ``lang``.

    One instant for all communities: ``2024-06-30 16:00 UTC``. Otherwise the rule and the
    span of the instants, e.g. ``各社群建群后 180 天（2010-06-01 至 2014-02-11，UTC）`` /
    ``180 days after each community's creation (2010-06-01 to 2014-02-11 UTC)``.
    """
    ends = resolve_as_of(as_of, communities)
    if ends.nunique() == 1:
        return tr("as_of_one", lang, when=f"{ends.iloc[0]:%Y-%m-%d %H:%M}")
    span = {"first": f"{ends.min():%Y-%m-%d}", "last": f"{ends.max():%Y-%m-%d}"}
    rule = re.fullmatch(r"\s*created\+(\d+)d\s*", as_of) if isinstance(as_of, str) else None
    if rule:
        return tr("as_of_rule", lang, days=int(rule.group(1)), **span)
    return tr("as_of_each", lang, **span)


def suppress_small_communities(facts: pd.DataFrame, k: int = DEFAULT_K) -> tuple[pd.DataFrame, list[str]]:
    """Blank every fact that stands for fewer than ``k`` members.

    Hidden (the value becomes NaN and the row's ``suppressed`` flag True):

    * every fact of a community with ``0 < members < k`` (the ``members`` fact stays: the
      scorecard says the community was suppressed);
    * a fact whose group size ``n`` (column ``n``, when present: the members its value is computed
      over) is ``0 < n < k``: the retention of a join cohort of three, the response rate of two
      posters, the content share of the top 1 %;
    * a member share (:data:`commlab.privacy.MEMBER_SHARE_METRICS`) standing for fewer than ``k``
      members inside a larger community (``round(share × members)``): a 2 % core share of 150
      members is 3 people;
    * a member count (:data:`MEMBER_COUNT_FACTS`) with ``0 < value < k``.

    Zero is never hidden: an empty group singles out nobody.

    Parameters
    ----------
    facts : DataFrame
        From :func:`build_facts` (``community_id, metric_id, value`` and optionally ``n``).
    k : int, default 5
        Smallest group shown; at least :data:`commlab.privacy.MIN_K` (else ``ParameterError``).

    Returns
    -------
    (DataFrame, list of str)
        The facts with a boolean ``suppressed`` column, and the ids of the communities suppressed
        as a whole.
    """
    k = check_k(k)
    out = facts.copy()
    out["suppressed"] = False
    size = facts[facts["metric_id"] == "members"].set_index(Col.community_id)["value"]
    small = sorted(size[(size > 0) & (size < k)].index.astype(str))
    value = pd.to_numeric(out["value"], errors="coerce")
    hide = out[Col.community_id].isin(small) & (out["metric_id"] != "members")
    if "n" in out.columns:
        hide |= small_group_mask(out["n"], k) & value.notna()
    members = out[Col.community_id].map(size).astype("float64")
    is_share = out["metric_id"].isin(MEMBER_SHARE_METRICS)
    hide |= is_share & small_group_mask((value * members).round(), k)
    hide |= out["metric_id"].isin(MEMBER_COUNT_FACTS) & small_group_mask(value, k)
    out.loc[hide, "value"] = float("nan")
    out["suppressed"] = hide.to_numpy()
    return out, small
