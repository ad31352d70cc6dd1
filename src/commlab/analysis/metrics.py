"""Community health metrics: one registry, one engine, time as a dimension.

Every community metric is registered exactly once as a :class:`Metric`: its id, zh/en
names, definition, formula, unit, direction and the source it comes from (a section of
``DOMAIN.md`` or an anchor such as the Orbit Model, CHAOSS or Discourse reports).

How a metric is computed
------------------------
Most metrics are **SQL text** run by DuckDB. The SQL refers to a few relations that the
engine sets up for each call (see :data:`PRELUDE`):

``periods``
    ``community_id, period, p_start, p_end``: the evaluation windows. Flow metrics count
    events with ``p_start < ts <= p_end``; stock metrics are evaluated at the instant
    ``p_end``; trailing metrics look at the days before ``p_end``.
``roles``
    The members table (with the optional ``join_channel``) plus ``is_staff`` (owner, staff or bot)
    and ``is_bot``.
``staff``
    ``community_id, member_id, is_bot``: the staff rows of ``roles`` (a few per community), for
    joins that only need to know whether a member is staff or a bot.
``ev`` / ``act``
    The events (with the optional ``category`` and ``platform``) joined to ``roles``; ``act``
    drops ``join`` and ``leave`` (the events that make a member *active*). Views, not tables: each
    query reads the events where they are (a stored Parquet file is read column by column, its
    dictionary-encoded ids and types filtered as they are read), which costs DuckDB no more CPU
    than scanning an in-memory copy, and the copy (about 4 GB at 50 M events, more than a
    playbook's memory bound) is never made. The Spark engine caches ``ev``.
``ev_raw``
    The events as they are, without the staff flags (a view), for the tables that need no flag per event:
    ``flow_pm`` and ``recent_pm`` flag or drop the staff after grouping (a join of the grouped rows, not of every
    event); ``member_firsts`` joins the non-staff members.
``present``
    ``community_id, period, member_id, joined_at``: non-staff members present at ``p_end`` (joined by
    then and not left).
``period_keys``
    ``pk, community_id, period, p_start, p_end, ek``: ``periods`` with an ``INTEGER`` key. The tables built per period
    (``flow_pm``, ``recent_pm``) group the events by this key and the member, then join the labels back: hashing one
    integer instead of the community and period strings for every event (5 M events, ``flow_pm`` 0.52 -> 0.38 s CPU).
    ``ek`` keys the community's period end: ``recent_pm``, which depends on the end only, groups by it, so periods
    ending at the same instant (a one-pass run's whole span and last 30 days both end at the as-of) share one grouping.
``flow_pm``
    ``community_id, period, member_id, is_staff, is_bot, content, activity, purchases, amount,
    referrals, completions, replies``: one row per member with any event in the period (staff included)
    and what they did in it: content (message, post, reply), activity (anything but join and
    leave), purchases and their amount, referrals, course completions, replies. The per-period metrics
    read this instead of re-scanning ``ev``. Amounts are summed as ``DECIMAL(38, 10)``: a sum of
    money that does not depend on the order DuckDB's threads add the rows in (a float sum did, in its
    16th digit), so the same periods give the same figures in any run or grouping of periods.
``platform_pm``
    ``pk, platform, k``: non-staff activity (any event but join and leave) per period key and event platform (NULL
    where the event names none); ``main_platform_share`` reads it.
``period_segs``, ``seg_flow`` (with ``by_segment``, see :func:`prelude_statements`)
    ``period_segs``: ``sk, community_id, lo, hi``, each community's time cut at every ``p_start`` and ``p_end`` of its
    periods into segments ``lo < ts <= hi``: each lies wholly inside or outside each period, and an event falls in
    one segment however many periods hold it. ``seg_flow``: the ``flow_pm`` counts per segment, member and platform,
    from one join of the events to the segments; ``flow_pm`` and ``platform_pm`` then sum the segments of each
    period. The counts and ``DECIMAL`` amounts are exact, so the sums are those of a grouping by period.
``content_counts``
    ``community_id, period, x, c``: how many members in ``present`` (``c``) made ``x`` content events
    (message, post, reply) in the period, 0 included; shared by the participation metrics, which only
    depend on the multiset of counts (one grouping, no table of every member).
``recent_pm``
    ``community_id, period, member_id, act_days, content_days``: one row per non-staff member
    with activity in the 30 days up to ``p_end``; ``act_days`` and ``content_days`` are bit
    masks of the days with any activity and with content, bit ``i`` for the 24-hour day
    ``floor((p_end - ts) / 1 day) = i`` (0 = the last day). The trailing-window metrics (active
    shares, stickiness, content days, core and zombie shares) read these bits instead of each
    re-scanning ``act``.
``ev_rare``
    ``community_id, member_id, ts, event_type, target_member_id, category, is_staff, is_bot``: the rows of ``ev``
    whose type is one of :data:`RARE_EVENTS` (check-ins, events, attendance, purchases, rewards, moderation: about
    6 % of the events): the metrics that select one of these types read it instead of scanning every event. Only
    the columns those metrics read: DuckDB's Parquet reader decodes every selected column of every row before the
    type filter (5 M events: 0.23 -> 0.17 s CPU without ``thread_id``, ``amount``, ``topic`` and ``platform``).
``member_keys``
    ``rk, community_id, member_id, joined_at``: the non-staff members with an ``INTEGER`` key (in id order).
``member_firsts``
    ``community_id, member_id, first_content, a30, a60, a90``: one row per non-staff member with any event: their
    first content event (message, post, reply; NULL for none) and, as the retention metrics' ``newcomer_activity``
    reads them, whether they did anything (not join or leave) in (joined_at, +30 d], (+30 d, +60 d] and
    (+60 d, +90 d] (all three NULL without activity in the 90 days after joining). One join of the events to
    ``member_keys`` and one grouping by its key instead of the two id strings: at 50 M events (a million members)
    DuckDB's grouping of the content events by the strings cost 6.7 s CPU, by the key 3.2 s (at 5 M, 0.18 and
    0.25 s); the retention flags in the same grouping save a second join of every event (5 M: 0.53 -> 0.37 s,
    with the window's condition evaluated once per event, not in each flag's FILTER).
    The bounds are added to ``joined_at`` once per member: a TIMESTAMPTZ plus an INTERVAL is calendar arithmetic in
    the session's time zone, about 0.1 µs a value.
``content_first``
    ``community_id, member_id, first_content``: the rows of ``member_firsts`` with content (a view); read by
    ``lurker_share`` and ``lurker_share_change_30d``, which ask it about present members only.
``ev_first3d``, ``ev_first365d``
    ``ev_raw`` (views), for the tables of a community's first 3 and 365 days: given the latest ``created_at`` (see
    :func:`prelude_statements`), only the events before it plus those days (and one more), a constant bound a stored
    file is pruned by, where each community's own bound in the join prunes nothing.
``day_counts``
    ``community_id, d, content, purchases``: non-staff content and purchase events per UTC day
    ``d`` (days since 1970-01-01), for the lifts around event days.
``communities``
    The communities table.

The views are built from the placeholders ``{events}``, ``{members}`` and ``{communities}``,
which the engine replaces by a relation: a registered in-memory DataFrame or
``read_parquet('...')`` over a file. The same definition therefore runs over pandas frames
and Parquet files; a later engine only has to provide these relations.

Metrics that need graph work or iterative logic (the interaction network, the economy
index, the high-value scores) are **Python over DuckDB query results**; their
:attr:`Metric.kind` is ``"python"`` and their docstring says so.

Each SQL metric returns ``community_id, period, value`` for the (community, period) pairs
where it is defined; the engine fills the others with NaN (a missing value means "not
defined", e.g. a rate with an empty denominator).

Group size ``n``
----------------
A value computed over a subset of members (the members of a join cohort, the posters of
questions, the buyers of the period, the top 1 % of contributors) says something about those
members only. So that a report can suppress a value standing for fewer than *k* people, a
metric may return a fourth column ``n``: the number of members the value is computed over
(its denominator, counted in members). A metric that does so declares what ``n`` counts in
:attr:`Metric.group_size` (shown in ``docs/METRICS.md``); the tidy table carries ``n`` for
every metric, NaN where the metric declares none. ``n`` is not a value to report: it is what
:func:`commlab.privacy.suppress_metrics` and :func:`commlab.recommend.suppress_small_communities`
compare with *k*.
"""

from __future__ import annotations

import importlib
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from commlab.analysis import metric_text
from commlab.analysis.daymask import day_number, days_between
from commlab.analysis.features_sql import timestamptz_literal
from commlab.analysis.periods import WINDOWS, engine_periods, make_periods, resolve_as_of
from commlab.data import schema as S
from commlab.data.load import Dataset
from commlab.data.schema import Col
from commlab.data.stored import StoredEvents
from commlab.errors import InvalidArgument, InvalidType, MetricNotFound
from commlab.instant import as_utc

__all__ = [
    "Metric",
    "MetricDescription",
    "MetricContext",
    "REGISTRY",
    "register",
    "get_metric",
    "list_metrics",
    "metric_table",
    "metric_names",
    "metrics_markdown",
    "without_inferred",
    "run_metrics",
    "tidy_metrics",
    "prelude_statements",
    "split_prelude",
    "RELATIONS",
    "register_relation",
    "created_name",
    "ON_DEMAND",
    "engine_periods",
    "make_periods",
    "resolve_as_of",
    "Tables",
    "as_tables",
    "wide",
    "STAFF_ROLES",
    "WINDOWS",
]

#: Roles counted as staff (not members) in every metric (:data:`commlab.data.schema.STAFF_ROLES`).
STAFF_ROLES = S.STAFF_ROLES
#: Modules that register metrics; imported on first use of the registry.
_BUILTIN_MODULES: tuple[str, ...] = (
    "commlab.analysis.metrics_sql",
    "commlab.analysis.network",
    "commlab.analysis.economy",
    "commlab.analysis.highvalue",
    "commlab.analysis.practices",
)


@dataclass(frozen=True)
class MetricDescription:
    """What a metric is, in words: names, definition, formula, unit, good direction and source.

    Every registered :class:`Metric` is one (plus how it is computed); the facts the rules read
    that are not registered metrics are described the same way (:data:`commlab.facts.EXTRA_FACTS`).

    Attributes
    ----------
    id : str
        Stable identifier used in tables, rules and playbooks (``active_share_30d``).
    name_zh, name_en : str
        Display names.
    definition : str
        What it measures, in words (English; precise enough to recompute by hand).
    formula : str
        The formula in compact notation.
    unit : str
        ``share`` (0–1), ``count``, ``hours``, ``days``, ``ratio``, ``currency``, ``index`` (0–1).
    direction : bool or None
        ``True`` when higher is better, ``False`` when lower is better, ``None`` when neither.
    source : str
        Where the metric comes from: ``DOMAIN.md §4``, ``Orbit Model``, ``CHAOSS``, ...
    """

    id: str
    name_zh: str
    name_en: str
    definition: str
    formula: str
    unit: str
    direction: bool | None
    source: str

    def name(self, lang: str = "en") -> str:
        """Display name in ``lang``."""
        return self.name_zh if lang == "zh" else self.name_en


@dataclass(frozen=True)
class Metric(MetricDescription):
    """One community metric: its description (:class:`MetricDescription`) and how it is computed.

    Attributes
    ----------
    id, name_zh, name_en, definition, formula, unit, direction, source
        As :class:`MetricDescription`.
    sql : str or None
        DuckDB SQL over the engine's relations (see module docstring), returning
        ``community_id, period, value`` (and ``n`` when :attr:`group_size` is set).
    compute : callable or None
        ``compute(ctx: MetricContext) -> DataFrame(community_id, period, value[, n])`` for
        metrics computed in Python over DuckDB results.
    group : str
        Family used to order tables (``activity``, ``participation``, ``response``, ...).
    group_size : str or None
        What the result's ``n`` column counts: the members the value is computed over (e.g.
        ``"members of the join cohort"``). ``None``: the metric returns no ``n`` (a value about
        the whole community, a count, or a graph measure); its ``n`` is NaN.
    """

    sql: str | None = None
    compute: Callable[[MetricContext], pd.DataFrame] | None = None
    group: str = "other"
    group_size: str | None = None

    def __post_init__(self) -> None:
        if (self.sql is None) == (self.compute is None):
            raise InvalidArgument(f"metric {self.id!r}: give exactly one of sql or compute")

    @property
    def kind(self) -> str:
        """``"sql"`` or ``"python"``."""
        return "sql" if self.sql is not None else "python"

    def description(self) -> MetricDescription:
        """The description alone (what :func:`commlab.facts.fact_info` gives), without how it is computed."""
        return MetricDescription(**{f.name: getattr(self, f.name) for f in fields(MetricDescription)})


#: All registered metrics by id, in registration order.
REGISTRY: dict[str, Metric] = {}


def register(metric: Metric) -> Metric:
    """Add ``metric`` to :data:`REGISTRY`.

    Raises
    ------
    ValueError
        If a metric with the same id is already registered (each metric is defined once).
    """
    if metric.id in REGISTRY:
        raise InvalidArgument(f"metric {metric.id!r} is already registered")
    REGISTRY[metric.id] = metric
    return metric


def _ensure_builtins() -> None:
    for mod in _BUILTIN_MODULES:
        importlib.import_module(mod)


def get_metric(metric_id: str) -> Metric:
    """The registered metric ``metric_id``.

    Raises
    ------
    KeyError
        Naming the known ids when ``metric_id`` is unknown.
    """
    _ensure_builtins()
    try:
        return REGISTRY[metric_id]
    except KeyError:
        raise MetricNotFound(metric_id, REGISTRY) from None


#: Order of metric families in tables and figures.
GROUPS: tuple[str, ...] = ("activity", "participation", "response", "retention", "monetization", "network",
                           "high_value", "practices", "other")


def list_metrics() -> list[Metric]:
    """Every registered metric, by family (:data:`GROUPS`), then in registration order.

    Examples
    --------
    >>> import commlab as cl
    >>> first = cl.list_metrics()[0]
    >>> first.id, first.name("zh"), first.group
    ('members', '成员数', 'activity')
    """
    _ensure_builtins()
    rank = {g: i for i, g in enumerate(GROUPS)}
    return sorted(REGISTRY.values(), key=lambda m: rank.get(m.group, len(GROUPS)))


def metric_names(lang: str = "en") -> dict[str, str]:
    """Metric id -> display name in ``lang`` (for renaming table columns)."""
    return {m.id: m.name(lang) for m in list_metrics()}


def metric_table(lang: str = "en") -> pd.DataFrame:
    """The registry as a table: id, name, definition, formula, unit, direction, source, kind, group size.

    Name, definition, formula and source in ``lang`` (the Chinese from :mod:`commlab.analysis.metric_text`).
    """
    rows = [
        {
            "metric_id": m.id,
            "name": m.name(lang),
            "group": m.group,
            "definition": metric_text.definition(m.id, lang, m.definition),
            "formula": metric_text.formula(m.id, lang, m.formula),
            "unit": m.unit,
            "higher_is_better": m.direction,
            "source": metric_text.source(m.source, lang),
            "kind": m.kind,
            "group_size": m.group_size,
        }
        for m in list_metrics()
    ]
    return pd.DataFrame(rows)


def metrics_markdown() -> str:
    """The registry as a Markdown document (``docs/METRICS.md`` is this text; a test keeps them equal)."""
    out = [
        "# Community health metrics (generated from `commlab.analysis.metrics`)",
        "",
        "Regenerate with `python -c \"from commlab.analysis.metrics import metrics_markdown as m; "
        "open('docs/METRICS.md', 'w').write(m())\"`. Direction: ↑ higher is better, ↓ lower is better, "
        "· neither. Kind: `sql` = DuckDB SQL over the engine's relations; `python` = Python over DuckDB results. "
        "n: what the metric's group size `n` counts (the members the value is computed over; reports suppress a "
        "value whose n is below k, see README § Privacy); – where the metric has none.",
        "",
        "| id | 名称 / name | definition | formula | unit | dir. | source | kind | n |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    arrow = {True: "↑", False: "↓", None: "·"}
    for m in list_metrics():
        cells = [f"`{m.id}`", f"{m.name_zh} / {m.name_en}", m.definition, f"`{m.formula}`", m.unit,
                 arrow[m.direction], m.source, m.kind, m.group_size or "–"]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- tables


@dataclass
class Tables:
    """The three canonical tables as DuckDB relation sources.

    Each attribute is a DataFrame (registered in the connection) or a path to a Parquet file
    (read with ``read_parquet``); ``events`` may also be a
    :class:`~commlab.data.stored.StoredEvents`, read in place.
    """

    communities: pd.DataFrame | str | Path
    members: pd.DataFrame | str | Path
    events: pd.DataFrame | StoredEvents | str | Path

    def frame(self, name: str) -> pd.DataFrame:
        """The table ``name`` as a DataFrame (reading Parquet when needed)."""
        src = getattr(self, name)
        if isinstance(src, StoredEvents):
            return src.read()
        return src if isinstance(src, pd.DataFrame) else pd.read_parquet(src)


def as_tables(data: Dataset | Tables | Mapping[str, Any]) -> Tables:
    """Normalise a :class:`~commlab.data.dataset.Dataset`, a :class:`Tables` or a mapping.

    Raises
    ------
    TypeError
        If ``data`` is none of these or lacks one of the three tables.
    """
    if isinstance(data, Tables):
        return data
    if isinstance(data, Dataset):  # stored events stay in their file: the SQL reads them in place
        return Tables(data.communities, data.members, data.events_source)
    if isinstance(data, Mapping):
        missing = [n for n in ("communities", "members", "events") if n not in data]
        if missing:
            raise InvalidType(f"tables missing: {', '.join(missing)}")
        return Tables(data["communities"], data["members"], data["events"])
    raise InvalidType(f"expected a Dataset, Tables or a mapping of tables, got {type(data).__name__}")


#: Relations every metric may use; ``{events}``, ``{members}``, ``{communities}`` are the sources.
#: ``roles``, ``staff``, ``ev``, ``present``, ``flow_pm``, ``content_counts``, ``recent_pm``, ``ev_rare``,
#: ``content_first`` and ``day_counts``
#: are materialised once per call (temporary tables), so the join of events to roles and the passes over
#: the period's events, the trailing 30 days and the days are not repeated by every metric. ``ev`` is
#: joined to the staff rows only (a few per community; every other member is not staff): a join against
#: a small build side (19 s -> 11 s at 50 M events).
PRELUDE = """
CREATE OR REPLACE TEMP VIEW communities AS SELECT * FROM {communities};
CREATE OR REPLACE TEMP TABLE roles AS
  SELECT community_id, member_id, joined_at, left_at, role, join_channel,
         role IN {staff_roles} AS is_staff, role = 'bot' AS is_bot
  FROM {members};
CREATE OR REPLACE TEMP TABLE staff AS
  SELECT community_id, member_id, is_bot FROM roles WHERE is_staff;
CREATE OR REPLACE TEMP VIEW ev AS
  SELECT e.community_id, e.member_id, e.ts, e.event_type, e.target_member_id, e.thread_id,
         e.amount, e.topic, e.category, e.platform,
         s.member_id IS NOT NULL AS is_staff, coalesce(s.is_bot, false) AS is_bot
  FROM {events} e
  LEFT JOIN staff s USING (community_id, member_id);
CREATE OR REPLACE TEMP VIEW act AS SELECT * FROM ev WHERE event_type NOT IN ('join', 'leave');
CREATE OR REPLACE TEMP VIEW ev_raw AS
  SELECT community_id, member_id, ts, event_type, target_member_id, thread_id, amount, topic, category, platform
  FROM {events};
CREATE OR REPLACE TEMP TABLE period_keys AS
  SELECT CAST(row_number() OVER (ORDER BY community_id, period) AS INTEGER) AS pk, community_id, period, p_start, p_end,
         CAST(dense_rank() OVER (ORDER BY community_id, p_end) AS INTEGER) AS ek
  FROM periods;
CREATE OR REPLACE TEMP TABLE present AS
  SELECT p.community_id, p.period, r.member_id, r.joined_at, p.pk
  FROM period_keys p JOIN roles r ON r.community_id = p.community_id
  WHERE NOT r.is_staff AND r.joined_at <= p.p_end AND (r.left_at IS NULL OR r.left_at > p.p_end);
{flow_tables}
CREATE OR REPLACE TEMP TABLE content_counts AS
  SELECT community_id, period, x, count(*) AS c FROM (
    SELECT pr.community_id, pr.period, CAST(coalesce(f.content, 0) AS DOUBLE) AS x
    FROM present pr
    LEFT JOIN flow_pm f ON f.pk = pr.pk AND f.member_id = pr.member_id
  ) AS m
  GROUP BY community_id, period, x;
CREATE OR REPLACE TEMP TABLE recent_pm AS
  SELECT p.community_id, p.period, r.member_id, r.act_days, r.content_days, p.pk
  FROM (
    SELECT ek, member_id,
           bit_or(CAST(1 AS BIGINT) << day) AS act_days,
           coalesce(bit_or(CAST(1 AS BIGINT) << day) FILTER (WHERE event_type IN {content}), 0) AS content_days
    FROM (SELECT p.ek, e.member_id, e.event_type, CAST({days_to_end} AS INTEGER) AS day
          FROM (SELECT DISTINCT ek, community_id, p_end FROM period_keys) p JOIN ev_raw e
            ON e.community_id = p.community_id AND e.ts > p.p_end - INTERVAL '30 days' AND e.ts <= p.p_end
          WHERE e.event_type NOT IN ('join', 'leave'){recent_since}) AS x
    GROUP BY ek, member_id) AS r
  JOIN period_keys p ON p.ek = r.ek
  LEFT JOIN staff s ON s.community_id = p.community_id AND s.member_id = r.member_id
  WHERE s.member_id IS NULL;
CREATE OR REPLACE TEMP TABLE ev_rare AS
  SELECT community_id, member_id, ts, event_type, target_member_id, category, is_staff, is_bot
  FROM ev WHERE event_type IN {rare};
CREATE OR REPLACE TEMP TABLE member_keys AS
  SELECT CAST(row_number() OVER (ORDER BY community_id, member_id) AS INTEGER) AS rk, community_id, member_id,
         joined_at
  FROM roles WHERE NOT is_staff;
CREATE OR REPLACE TEMP TABLE member_firsts AS
  SELECT r.community_id, r.member_id, g.first_content, CASE WHEN g.w THEN g.a30 END AS a30,
         CASE WHEN g.w THEN g.a60 END AS a60, CASE WHEN g.w THEN g.a90 END AS a90
  FROM (
    SELECT rk, min(ts) FILTER (WHERE content) AS first_content, bool_or(w) AS w, bool_or(w AND ts <= j30) AS a30,
           bool_or(w AND ts > j30 AND ts <= j60) AS a60, bool_or(w AND ts > j60) AS a90
    FROM (SELECT r.rk, e.ts, r.j30, r.j60, e.event_type IN {content} AS content,
                 e.event_type NOT IN ('join', 'leave') AND e.ts > r.joined_at AND e.ts <= r.j90 AS w
          FROM (SELECT rk, community_id, member_id, joined_at, joined_at + INTERVAL '30 days' AS j30,
                       joined_at + INTERVAL '60 days' AS j60, joined_at + INTERVAL '90 days' AS j90
                FROM member_keys) AS r
          JOIN ev_raw e ON e.community_id = r.community_id AND e.member_id = r.member_id) AS x
    GROUP BY rk) AS g
  JOIN member_keys r ON r.rk = g.rk;
CREATE OR REPLACE TEMP VIEW content_first AS
  SELECT community_id, member_id, first_content FROM member_firsts WHERE first_content IS NOT NULL;
CREATE OR REPLACE TEMP VIEW ev_first3d AS
  SELECT * FROM ev_raw e WHERE TRUE{first3d_until};
CREATE OR REPLACE TEMP VIEW ev_first365d AS
  SELECT * FROM ev_raw e WHERE TRUE{first365d_until};
CREATE OR REPLACE TEMP TABLE day_counts AS
  SELECT community_id, {day_of_ts} AS d,
         count(*) FILTER (WHERE event_type IN {content}) AS content,
         count(*) FILTER (WHERE event_type = 'purchase') AS purchases
  FROM ev WHERE NOT is_staff
  GROUP BY community_id, {day_of_ts};
"""


#: ``flow_pm`` and ``platform_pm`` from a join of every event to the periods holding it: one hash-table row per
#: event and period (a one-pass run's months, whole span and last 30 days: about 2.2 per event). The Spark engine's.
_FLOW_BY_PERIOD = """
CREATE OR REPLACE TEMP TABLE flow_pm AS
  SELECT p.community_id, p.period, f.member_id, s.member_id IS NOT NULL AS is_staff,
         coalesce(s.is_bot, false) AS is_bot, f.content, f.activity, f.purchases, f.amount, f.referrals,
         f.completions, f.replies, p.pk
  FROM (
    SELECT p.pk, e.member_id,
           count(*) FILTER (WHERE e.event_type IN {content}) AS content,
           count(*) FILTER (WHERE e.event_type NOT IN ('join', 'leave')) AS activity,
           count(*) FILTER (WHERE e.event_type = 'purchase') AS purchases,
           sum(CAST(e.amount AS DECIMAL(38, 10))) FILTER (WHERE e.event_type = 'purchase') AS amount,
           count(*) FILTER (WHERE e.event_type = 'referral') AS referrals,
           count(*) FILTER (WHERE e.event_type = 'course_complete') AS completions,
           count(*) FILTER (WHERE e.event_type = 'reply') AS replies
    FROM period_keys p JOIN ev_raw e ON e.community_id = p.community_id AND e.ts > p.p_start AND e.ts <= p.p_end
    GROUP BY p.pk, e.member_id) AS f
  JOIN period_keys p ON p.pk = f.pk
  LEFT JOIN staff s ON s.community_id = p.community_id AND s.member_id = f.member_id;
CREATE OR REPLACE TEMP TABLE platform_pm AS
  SELECT p.pk, e.platform, count(*) AS k
  FROM period_keys p JOIN act e ON e.community_id = p.community_id AND NOT e.is_staff
    AND e.ts > p.p_start AND e.ts <= p.p_end
  GROUP BY p.pk, e.platform;
"""

#: The same ``flow_pm`` and ``platform_pm`` from ``seg_flow`` (see the module docstring): every event is joined to
#: and grouped in its one segment, then the few rows per segment and member are summed over each period's segments
#: (50 M events, three period sets: ``flow_pm`` and ``main_platform_share`` 9.6 + 3.4 s -> see the commit). The
#: segment-to-period pairs are found in each statement from ``period_keys`` (segments of hundreds, not events).
_FLOW_BY_SEGMENT = """
CREATE OR REPLACE TEMP TABLE period_segs AS
  SELECT CAST(row_number() OVER (ORDER BY community_id, lo) AS INTEGER) AS sk, community_id, lo, hi
  FROM (
    SELECT community_id, t AS lo, lead(t) OVER (PARTITION BY community_id ORDER BY t) AS hi
    FROM (SELECT community_id, p_start AS t FROM periods WHERE p_start IS NOT NULL
          UNION SELECT community_id, p_end AS t FROM periods WHERE p_end IS NOT NULL) AS b) AS s
  WHERE hi IS NOT NULL;
CREATE OR REPLACE TEMP TABLE seg_flow AS
  SELECT s.sk, e.member_id, e.platform,
         count(*) FILTER (WHERE e.event_type IN {content}) AS content,
         count(*) FILTER (WHERE e.event_type NOT IN ('join', 'leave')) AS activity,
         count(*) FILTER (WHERE e.event_type = 'purchase') AS purchases,
         sum(CASE WHEN e.event_type = 'purchase' THEN CAST(e.amount AS DECIMAL(38, 10)) END) AS amount,
         count(*) FILTER (WHERE e.event_type = 'referral') AS referrals,
         count(*) FILTER (WHERE e.event_type = 'course_complete') AS completions,
         count(*) FILTER (WHERE e.event_type = 'reply') AS replies
  FROM period_segs s JOIN ev_raw e ON e.community_id = s.community_id AND e.ts > s.lo AND e.ts <= s.hi
  GROUP BY s.sk, e.member_id, e.platform;
CREATE OR REPLACE TEMP TABLE flow_pm AS
  WITH sp AS (
    SELECT s.sk, p.pk FROM period_segs s
    JOIN period_keys p ON p.community_id = s.community_id AND s.lo >= p.p_start AND s.hi <= p.p_end)
  SELECT p.community_id, p.period, f.member_id, s.member_id IS NOT NULL AS is_staff,
         coalesce(s.is_bot, false) AS is_bot, f.content, f.activity, f.purchases, f.amount, f.referrals,
         f.completions, f.replies, p.pk
  FROM (
    SELECT sp.pk, g.member_id, CAST(sum(g.content) AS BIGINT) AS content,
           CAST(sum(g.activity) AS BIGINT) AS activity, CAST(sum(g.purchases) AS BIGINT) AS purchases,
           sum(g.amount) AS amount, CAST(sum(g.referrals) AS BIGINT) AS referrals,
           CAST(sum(g.completions) AS BIGINT) AS completions, CAST(sum(g.replies) AS BIGINT) AS replies
    FROM seg_flow g JOIN sp ON sp.sk = g.sk
    GROUP BY sp.pk, g.member_id) AS f
  JOIN period_keys p ON p.pk = f.pk
  LEFT JOIN staff s ON s.community_id = p.community_id AND s.member_id = f.member_id;
CREATE OR REPLACE TEMP TABLE platform_pm AS
  WITH sp AS (
    SELECT s.sk, p.pk FROM period_segs s
    JOIN period_keys p ON p.community_id = s.community_id AND s.lo >= p.p_start AND s.hi <= p.p_end)
  SELECT sp.pk, g.platform, CAST(sum(g.activity) AS BIGINT) AS k
  FROM seg_flow g JOIN period_segs s ON s.sk = g.sk JOIN sp ON sp.sk = g.sk
  LEFT JOIN staff t ON t.community_id = s.community_id AND t.member_id = g.member_id
  WHERE t.member_id IS NULL AND g.activity > 0
  GROUP BY sp.pk, g.platform;
"""

#: The event types of ``ev_rare``: the few percent of the events that the ritual, incentive and money
#: metrics select by type (check-ins, events held and attended, purchases, rewards, moderation).
RARE_EVENTS: tuple[str, ...] = ("checkin", "event", "event_attend", "purchase", "reward", "moderation")

#: Prelude relations created when a query first names them (see :meth:`MetricContext.query`), so a call
#: computing only network metrics does not pay for them (``ev`` and ``act`` are views reading the events in place).
ON_DEMAND: tuple[str, ...] = ("ev", "act", "ev_raw", "seg_flow", "flow_pm", "platform_pm", "content_counts",
                              "recent_pm", "ev_rare", "member_keys", "member_firsts", "content_first", "ev_first3d",
                              "ev_first365d", "day_counts")


def created_name(stmt: str) -> str:
    """The table or view a ``CREATE ... name AS`` statement of the prelude creates."""
    m = re.search(r"CREATE\s+(?:OR\s+REPLACE\s+)?TEMP\s+(?:TABLE|VIEW)\s+(\w+)", stmt, re.IGNORECASE)
    if m is None:
        raise InvalidArgument(f"not a CREATE statement: {stmt.strip()[:80]}")
    return m.group(1)


def split_prelude(statements: Iterable[str]) -> tuple[list[str], dict[str, str]]:
    """The statements to run now, and the :data:`ON_DEMAND` ones by table name (for :class:`MetricContext`)."""
    eager: list[str] = []
    pending: dict[str, str] = {}
    for stmt in statements:
        name = created_name(stmt)
        if name in ON_DEMAND:
            pending[name] = stmt
        else:
            eager.append(stmt)
    return eager, pending


#: Tables over the prelude's relations that several registered metrics read (the first reply to each post, the
#: activity of each newcomer in their first 90 days), by name: registered beside their metrics
#: (:func:`register_relation`), built by the first query of a call that names them (as :data:`ON_DEMAND`), so the
#: metrics sharing one do not each compute it again.
RELATIONS: dict[str, str] = {}


def register_relation(name: str, sql: str) -> None:
    """Register the shared table ``name``: the result of ``sql`` over the prelude's relations (see :data:`RELATIONS`).

    Raises
    ------
    ValueError
        If ``name`` is already registered, or is a prelude relation.
    """
    if name in RELATIONS or name in ON_DEMAND or not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise InvalidArgument(f"relation {name!r} is already registered or not a plain lower-case name")
    RELATIONS[name] = f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}"


def _recent_since(periods: pd.DataFrame | None) -> str:
    """A condition on ``e.ts`` that every event of ``recent_pm`` meets: after a day before the earliest ``p_end``
    minus 30 days (``""`` without periods).

    Redundant with ``recent_pm``'s join, but a constant: DuckDB prunes the row groups of a stored events file by it
    (the file is ordered by community and time), where the join's bounds, one per community, prune nothing
    (5 M events, one period: 41 -> 27 row groups read, ``recent_pm`` 0.17 -> 0.11 s CPU).
    """
    if periods is None or not len(periods):
        return ""
    try:
        end = pd.to_datetime(periods["p_end"], utc=True).min()
        if pd.isna(end):
            return ""
        since = (end - pd.Timedelta(days=31)).floor("D")
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        return ""
    return f" AND e.ts > {timestamptz_literal(since)}"


def _first_days_until(created: Any, days: int) -> str:
    """A condition on ``e.ts`` that every event of a community's first ``days`` days meets: before a day after the
    latest ``created`` plus ``days`` (``""`` when unknown). For ``ev_first3d`` and ``ev_first365d``, which the first
    days' metrics read instead of ``ev_raw``: as :func:`_recent_since`, a constant a stored file's row groups are
    pruned by (5 M events, communities created before the export: ``first_days_dau`` 0.15 -> 0.01 s CPU).
    """
    try:
        last = pd.Timestamp(created)
        if pd.isna(last):
            return ""
        until = as_utc(last, name="created_at") + pd.Timedelta(days=days + 1)
        return f" AND e.ts < {timestamptz_literal(until.ceil('D'))}"
    except (OverflowError, ValueError, TypeError, pd.errors.OutOfBoundsDatetime):
        return ""


def prelude_statements(views: Mapping[str, str], periods: pd.DataFrame | None = None,
                       created: Any = None, *, by_segment: bool = False) -> list[str]:
    """The :data:`PRELUDE` statements over the canonical views ``views`` (table name -> relation).

    ``periods`` (the ``periods`` relation's frame) and ``created`` (the latest ``created_at`` of the communities),
    both optional, let a few tables filter the events by a constant bound that a stored file's row groups are
    pruned by (:func:`_recent_since`, :func:`_first_days_until`); the tables are the same with or without them.
    ``by_segment`` builds ``flow_pm`` and ``platform_pm`` from the period segments (``seg_flow``, see the module
    docstring; DuckDB), else from a join of the events to every period holding them; the tables are the same.
    """
    from commlab.data.schema import CONTENT_EVENTS

    staff = "(" + ", ".join(f"'{r}'" for r in STAFF_ROLES) + ")"
    content = "(" + ", ".join(f"'{e}'" for e in CONTENT_EVENTS) + ")"
    rare = "(" + ", ".join(f"'{e}'" for e in RARE_EVENTS) + ")"
    flow = (_FLOW_BY_SEGMENT if by_segment else _FLOW_BY_PERIOD).format(content=content).strip()
    text = PRELUDE.format(flow_tables=flow, staff_roles=staff, content=content, rare=rare,
                         days_to_end=days_between("e.ts", "p.p_end"),
                         day_of_ts=day_number("ts"), recent_since=_recent_since(periods),
                         first3d_until=_first_days_until(created, 3), first365d_until=_first_days_until(created, 365),
                         **views)
    return [stmt for stmt in text.split(";") if stmt.strip()]


def _as_view(stmt: str) -> str:
    """A prelude ``CREATE ... TEMP TABLE`` statement as the same ``TEMP VIEW``."""
    return re.sub(r"TEMP\s+TABLE", "TEMP VIEW", stmt, count=1, flags=re.IGNORECASE)


def _as_table(stmt: str) -> str:
    """A prelude ``CREATE ... TEMP VIEW`` statement as the same ``TEMP TABLE`` (a copy of its rows)."""
    return re.sub(r"TEMP\s+VIEW", "TEMP TABLE", stmt, count=1, flags=re.IGNORECASE)


# --------------------------------------------------------------------------- engine


@dataclass
class MetricContext:
    """What a metric computation sees.

    Attributes
    ----------
    con : duckdb connection
        With the relations of the module docstring.
    tables : Tables
        The source tables.
    periods : DataFrame
        ``community_id, period, p_start, p_end``.
    window : str or None
        The window the periods were built with.
    cache : dict
        Shared between metrics of one call (e.g. the interaction graphs).
    pending : dict
        Prelude statements not run yet (:data:`ON_DEMAND`, and the metrics' shared :data:`RELATIONS`), by
        table name: each runs before the first query that names its table.
    """

    con: duckdb.DuckDBPyConnection
    tables: Tables
    periods: pd.DataFrame
    window: str | None
    cache: dict[str, Any] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _ensure_builtins()
        for name, stmt in RELATIONS.items():  # the shared tables of the registered metrics, built when named
            self.pending.setdefault(name, stmt)

    def execute(self, stmt: str) -> None:
        """Run one statement that returns nothing (``CREATE ...``)."""
        self.con.execute(stmt)

    def ensure(self, sql: str) -> None:
        """Build the pending prelude tables that ``sql`` names (and those they need) first."""
        for name in list(self.pending):
            if name in self.pending and re.search(rf"\b{name}\b", sql):
                stmt = self.pending.pop(name)
                self.ensure(stmt)
                self.execute(stmt)

    def query(self, sql: str, **params: Any) -> pd.DataFrame:
        """Run ``sql`` and return a DataFrame."""
        self.ensure(sql)
        return self.con.execute(sql, params or None).df() if params else self.con.execute(sql).df()

    #: SQL dialect the context runs (``"duckdb"``; the Spark engine's context says ``"spark"``).
    dialect = "duckdb"

    def materialize(self, name: str, sql: str) -> None:
        """Store the result of ``sql`` as the temporary table ``name`` for later queries of this call."""
        self.ensure(sql)
        self.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def arrow(self, sql: str) -> pa.Table:
        """Run ``sql`` and return an Arrow table.

        For results with millions of string values (edge lists): DuckDB hands them over as Arrow
        buffers, about 10× faster than building a DataFrame of Python strings.
        """
        self.ensure(sql)
        return self.con.sql(sql).to_arrow_table()

    def per_group(self, sql: str, keys: list[str], fn: Callable[[pd.DataFrame], pd.DataFrame],
                  schema: str) -> pd.DataFrame:
        """``fn`` applied to the rows of ``sql`` of each distinct ``keys``, the results concatenated.

        ``fn`` takes one group's rows and returns a small frame with the columns of ``schema`` (Spark's DDL
        form, ``"community_id string, value double"``). Here the rows come to this process; the Spark engine
        runs ``fn`` on its executors (``applyInPandas``), so only the results reach its driver.
        """
        rows = self.query(sql)
        parts = [fn(g) for _, g in rows.groupby(keys, sort=False)]
        columns = [c.split()[0] for c in schema.split(",")]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def _run(metric: Metric, ctx: MetricContext) -> pd.DataFrame:
    """``community_id, period, value, n`` of one metric (``n`` NaN when it declares no group size).

    Raises
    ------
    ValueError
        If the result has an ``n`` column and the metric declares no :attr:`Metric.group_size`,
        or the other way round (what ``n`` counts must be documented).
    """
    key = f"metric:{metric.id}"
    if key in ctx.cache:  # already computed in this call (a composite metric may need it first)
        return ctx.cache[key]
    if metric.sql is not None:
        out = ctx.query(metric.sql)
    else:
        assert metric.compute is not None
        out = metric.compute(ctx)
    has_n = "n" in out.columns
    if has_n != (metric.group_size is not None):
        why = "returns n without declaring group_size" if has_n else "declares group_size but returns no n"
        raise InvalidArgument(f"metric {metric.id!r}: {why}")
    out = out[[Col.community_id, "period", "value", *(["n"] if has_n else [])]].copy()
    out[Col.community_id] = out[Col.community_id].astype("string")
    out["period"] = out["period"].astype("string")
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype("float64")
    out["n"] = pd.to_numeric(out["n"], errors="coerce").astype("float64") if has_n else float("nan")
    ctx.cache[key] = out
    return out


def tidy_metrics(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-metric results into the tidy ``community_id, period, metric_id, value`` table."""
    if not parts:
        return pd.DataFrame({Col.community_id: pd.Series(dtype="string"), "period": pd.Series(dtype="string"),
                             "metric_id": pd.Series(dtype="string"), "value": pd.Series(dtype="float64")})
    out = pd.concat(parts, ignore_index=True)
    for c in (Col.community_id, "period", "metric_id"):
        out[c] = out[c].astype("string")
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype("float64")
    return out


def run_metrics(ctx: MetricContext, metrics: Iterable[Metric], *,
                on_error: Callable[[Metric, Exception], None] | None = None,
                timings: dict[str, float] | None = None) -> pd.DataFrame:
    """Compute ``metrics`` in ``ctx``: the one loop every engine runs.

    Parameters
    ----------
    ctx : MetricContext
        The engine's relations and periods.
    metrics : iterable of Metric
        What to compute, in order.
    on_error : callable, optional
        Called with the metric and the exception when a metric fails; that metric is then NaN
        for every period. Default: the exception propagates.
    timings : dict, optional
        Filled with seconds per metric id.

    Returns
    -------
    DataFrame
        Tidy ``community_id, period, metric_id, value, n``: one row per (community, period) of
        ``ctx.periods`` and metric, NaN where a metric is not defined; ``n`` is the group size
        (see the module docstring), NaN where the metric declares none.
    """
    metrics = list(metrics)
    ctx.cache["metrics:asked"] = frozenset(m.id for m in metrics)  # what is still to come (shared work plans on it)
    keys = ctx.periods[[Col.community_id, "period"]].astype({Col.community_id: "string", "period": "string"})
    ids: list[str] = []
    results: dict[str, pd.DataFrame] = {}  # a failed metric has none: NaN in every row
    for m in metrics:
        t0 = time.perf_counter()
        try:
            results[m.id] = _run(m, ctx)
        except Exception as exc:
            if on_error is None:
                raise
            on_error(m, exc)
        if timings is not None:
            timings[m.id] = time.perf_counter() - t0
        ids.append(m.id)
    if not ids:
        out = tidy_metrics([])
        out["n"] = pd.Series(dtype="float64", index=out.index)
        return out
    # every (community, period) of every metric, in the order of the metrics and then of the periods, and the
    # results in one merge (one per metric cost ~2 ms each: a tenth of a 5 M events pass)
    grid = keys.iloc[np.tile(np.arange(len(keys)), len(ids))].reset_index(drop=True)
    grid.insert(2, "metric_id", pd.array(np.repeat(np.asarray(ids, dtype=object), len(keys)), dtype="string"))
    found = [r.assign(metric_id=pd.array([mid] * len(r), dtype="string")) for mid, r in results.items()]
    columns = [Col.community_id, "period", "value", "n", "metric_id"]
    res = pd.concat(found, ignore_index=True)[columns] if found else pd.DataFrame(
        {c: pd.Series(dtype="string" if c not in ("value", "n") else "float64") for c in columns})
    out = tidy_metrics([grid.merge(res, on=[Col.community_id, "period", "metric_id"], how="left")])
    out["n"] = pd.to_numeric(out["n"], errors="coerce").astype("float64")
    return out


def without_inferred(data: Dataset | Tables | Mapping[str, Any]) -> Tables:
    """The tables with the inferred reply links undone (:func:`commlab.replies.drop_inferred`).

    Events without a ``reply_source`` column are left where they are (nothing is read).
    """
    import pyarrow.parquet as pq

    from commlab.replies.infer import drop_inferred

    t = as_tables(data)
    ev = t.events
    if isinstance(ev, pd.DataFrame):
        return Tables(t.communities, t.members, drop_inferred(ev))
    path = ev.path if isinstance(ev, StoredEvents) else ev
    try:
        names = pq.read_schema(path).names if isinstance(path, (str, Path)) else None
    except (OSError, pa.ArrowInvalid):
        names = None
    if names is not None and "reply_source" not in names:
        return t
    return Tables(t.communities, t.members, drop_inferred(t.frame("events")))


def wide(table: pd.DataFrame, *, period: str | None = "last", values: str = "value") -> pd.DataFrame:
    """Communities × metrics from a tidy metric table.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`commlab.analysis.compute.compute_metrics`.
    period : str or None
        ``"last"``: each community's last period; a period label; or ``None`` to keep
        ``(community_id, period)`` as the index.
    values : {"value", "n"}
        The metric values, or their group sizes (the frame
        :func:`commlab.privacy.suppress_metrics` takes as ``n``).
    """
    t = table
    if period == "last":
        last = t.groupby(Col.community_id)["period"].transform("max")
        t = t[t["period"] == last]
    elif period is not None:
        t = t[t["period"] == period]
    index = [Col.community_id] if period is not None else [Col.community_id, "period"]
    if values not in t.columns:
        t = t.assign(**{values: float("nan")})
    out = t.pivot_table(index=index, columns="metric_id", values=values, aggfunc="first", dropna=False)
    order = [m.id for m in list_metrics() if m.id in out.columns]
    out = out[order + [c for c in out.columns if c not in order]]
    out.columns.name = None
    return out


def _gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (reference used by docs; NaN when all zero)."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0 or x.sum() == 0:
        return math.nan
    i = np.arange(1, n + 1)
    return float(2 * (i * x).sum() / (n * x.sum()) - (n + 1) / n)

