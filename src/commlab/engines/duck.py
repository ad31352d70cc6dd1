"""DuckDB engine: the feature and metric SQL over DataFrames or files on disk, with bounded memory.

:class:`DuckDBEngine` runs :func:`commlab.analysis.features.features_sql` and the metric
registry of :mod:`commlab.analysis.metrics` (SQL metrics and the Python ones that query
DuckDB) over sources that are DataFrames or Parquet/CSV files read in place with
``read_parquet``/``read_csv``; nothing is loaded whole into pandas except the (small)
communities table and the results. ``memory_limit``, ``threads`` and ``temp_directory``
are DuckDB settings: above the limit, joins, aggregates and sorts spill to ``temp_directory``.

Examples
--------
>>> eng = DuckDBEngine(memory_limit="2GB", threads=2)          # doctest: +SKIP
>>> feats = eng.member_features("data/big/events.parquet",      # doctest: +SKIP
...                             "data/big/members.parquet", as_of="2024-07-01")
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from commlab.analysis.features_sql import ROLE_FEATURE_IDS, features_sql, snapshot_features_sql, timestamptz_literal
from commlab.analysis.metrics import (
    MetricContext,
    Tables,
    engine_periods,
    get_metric,
    list_metrics,
    prelude_statements,
    resolve_as_of,
    run_metrics,
    split_prelude,
)
from commlab.data import schema as S
from commlab.data.load import Dataset
from commlab.data.schema import STAFF_ROLES, Col
from commlab.data.stored import StoredEvents
from commlab.engines.base import (
    Source,
    canonical_select,
    source_format,
    source_paths,
    tidy_features,
)
from commlab.engines.keyed_sums import keyed_features_query
from commlab.engines.runcache import (
    cached_table,
    declared_period_sets,
    run_tables,
    store_table,
    stored,
)
from commlab.errors import InvalidArgument, InvalidType
from commlab.instant import as_utc

__all__ = ["PLAYBOOK_MEMORY_LIMIT", "DuckDBEngine", "bind_as_of", "playbook_engine_options", "query_events"]


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def bind_as_of(sql: str, as_of: pd.Timestamp) -> str:
    """``sql`` with the ``$as_of`` parameter replaced by a UTC timestamp literal.

    Used where a prepared parameter is not available (``COPY ... TO``, other engines).
    """
    return sql.replace("$as_of", timestamptz_literal(as_of))



def query_events(events: Source, sql: str, *, as_of: pd.Timestamp, **frames: pd.DataFrame) -> pd.DataFrame:
    """Run ``sql`` on a fresh DuckDB connection, reading ``events`` where they are.

    Parameters
    ----------
    events : DataFrame, path(s) or StoredEvents
        Bound to ``{events}`` in ``sql`` (a registered frame, ``read_parquet``/``read_csv``, or
        the stored events of a cached data set; nothing is loaded into pandas first).
    sql : str
        The query, with ``{events}`` and the parameter ``$as_of``.
    as_of : Timestamp
        Tz-aware instant bound to ``$as_of``.
    **frames
        Further DataFrames, registered under their keyword names.
    """
    eng = DuckDBEngine()
    con = eng.connect()
    try:
        rel = eng.relation(con, events, "events")
        for name, frame in frames.items():
            con.register(name, frame)
        return con.execute(bind_as_of(sql.replace("{events}", rel), as_of)).df()
    finally:
        con.close()

class DuckDBEngine:
    """Runs commlab's SQL definitions on DuckDB.

    Parameters
    ----------
    memory_limit : str, optional
        DuckDB ``memory_limit`` (e.g. ``"2GB"``); default: DuckDB's own (80 % of RAM).
    threads : int, optional
        DuckDB ``threads``; default: one per core.
    temp_directory : str or Path, optional
        Where DuckDB spills when over ``memory_limit``; default: DuckDB's own.
    database : str, default ":memory:"
        DuckDB database file; ``":memory:"`` keeps nothing after the call.

    Attributes
    ----------
    timings_ : dict
        After :meth:`compute_metrics`: seconds spent in ``prelude`` (materialising ``roles``,
        ``ev``, ``present``) and in each metric, for profiling.
    """

    name = "duckdb"

    def __init__(self, *, memory_limit: str | None = None, threads: int | None = None,
                 temp_directory: str | Path | None = None, database: str = ":memory:") -> None:
        self.memory_limit = memory_limit
        self.threads = threads
        self.temp_directory = temp_directory
        self.database = database
        self.timings_: dict[str, float] = {}

    def __repr__(self) -> str:
        return (f"DuckDBEngine(memory_limit={self.memory_limit!r}, threads={self.threads!r}, "
                f"temp_directory={None if self.temp_directory is None else str(self.temp_directory)!r})")

    # ------------------------------------------------------------------ connection and sources
    def connect(self) -> duckdb.DuckDBPyConnection:
        """A new connection with the engine's settings and the session time zone set to UTC."""
        con = duckdb.connect(self.database)
        con.execute("SET TimeZone = 'UTC'")
        # results are sorted explicitly where order matters; dropping insertion order lets
        # DuckDB stream and spill more freely
        con.execute("SET preserve_insertion_order = false")
        try:
            con.execute("SET enable_progress_bar = false")
        except duckdb.Error:
            # inside a Jupyter kernel without ipywidgets DuckDB refuses to touch the progress
            # bar setting at all; it then shows no bar anyway
            pass
        if self.memory_limit is not None:
            con.execute(f"SET memory_limit = {_quote(self.memory_limit)}")
        if self.threads is not None:
            con.execute(f"SET threads = {int(self.threads)}")
        if self.temp_directory is not None:
            Path(self.temp_directory).mkdir(parents=True, exist_ok=True)
            con.execute(f"SET temp_directory = {_quote(str(self.temp_directory))}")
        return con

    def relation(self, con: duckdb.DuckDBPyConnection, src: Source, name: str) -> str:
        """A SQL relation reading ``src``: a registered DataFrame, ``read_parquet`` or ``read_csv``."""
        if isinstance(src, pd.DataFrame):
            con.register(f"_src_{name}", src)
            return f"_src_{name}"
        if isinstance(src, StoredEvents):
            return src.sql()
        paths = source_paths(src)
        files = "[" + ", ".join(_quote(p) for p in paths) + "]"
        if source_format(paths) == "parquet":
            return f"read_parquet({files}, union_by_name = true)"
        return f"read_csv({files}, header = true, auto_detect = true, all_varchar = true)"

    def register_tables(self, con: duckdb.DuckDBPyConnection, **sources: Source) -> dict[str, str]:
        """Create the canonical typed views ``c_<table>`` for the given sources.

        Parameters
        ----------
        con : connection
            From :meth:`connect`.
        **sources
            ``communities=``, ``members=``, ``events=``: a :data:`~commlab.engines.base.Source` each.

        Returns
        -------
        dict
            Table name -> view name.
        """
        views = {}
        for name, src in sources.items():
            table = S.TABLES[name]
            rel = self.relation(con, src, name)
            cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]
            con.execute(f"CREATE OR REPLACE TEMP VIEW c_{name} AS {canonical_select(table, rel, cols)}")
            views[name] = f"c_{name}"
        return views

    # ------------------------------------------------------------------ features
    def member_features(self, events: Source, members: Source, *, as_of: str | pd.Timestamp,
                        staff_roles: tuple[str, ...] = STAFF_ROLES, out: str | Path | None = None,
                        batches: int = 1) -> pd.DataFrame | Path:
        """Member features (:data:`commlab.analysis.features.FEATURES`) as of ``as_of``.

        Parameters
        ----------
        events, members : DataFrame or path(s)
            The canonical tables, in memory or as Parquet/CSV files.
        as_of : str or Timestamp
            The instant; a naive value is read as UTC.
        staff_roles : tuple of str
            Roles flagged ``is_staff``.
        out : str or Path, optional
            Write the result to this Parquet file with ``COPY`` (no pandas round trip) and return
            the path instead of a DataFrame; for member counts that do not fit comfortably in memory.
        batches : int, default 1
            Split the communities into this many groups and run the query once per group. Every
            feature is computed within one community, so the result is the same; the working
            set (hash tables of the group-bys and joins) shrinks about ``batches``-fold, at the
            cost of reading the events once per group. For a ``memory_limit`` the single query
            would exceed (see ``benchmarks/README.md``).

        Returns
        -------
        DataFrame or Path
            As :func:`commlab.analysis.features.member_features`.

        Raises
        ------
        ValueError
            If a required column is missing or ``as_of`` is empty.
        """
        now = as_utc(as_of)
        if batches < 1:
            raise InvalidArgument(f"batches must be >= 1, got {batches}")
        if out is None and isinstance(members, pd.DataFrame):  # computed once per run (engines.runcache)
            return cached_table("member_features", events,
                                lambda: self._member_features(events, members, now, tuple(staff_roles), None, batches),
                                inputs={"members": members},
                                params={"engine": self.name, "as_of": now, "staff_roles": list(staff_roles)})
        return self._member_features(events, members, now, tuple(staff_roles), out, batches)

    def _member_features(self, events: Source, members: Source, now: pd.Timestamp, staff_roles: tuple[str, ...],
                         out: str | Path | None, batches: int) -> pd.DataFrame | Path:
        con = self.connect()
        try:
            v = self.register_tables(con, events=events, members=members)
            keys = events.keys if isinstance(events, StoredEvents) else None
            if keys is not None:  # the stored events with their member keys, read as stored (features_sql casts)
                v["events"] = self.relation(con, events, "events")
            groups: list[list[str] | None] = [None]
            if batches > 1:
                ids = [r[0] for r in con.execute(
                    f"SELECT DISTINCT community_id FROM {v['members']} ORDER BY 1").fetchall()]
                groups = [g for g in (ids[i::batches] for i in range(batches)) if g]
            parts = []
            for i, group in enumerate(groups):
                ev, mem = v["events"], v["members"]
                if group is not None:
                    inside = ", ".join(_quote(c) for c in group)
                    for name, view in (("events", ev), ("members", mem)):
                        con.execute(f"CREATE OR REPLACE TEMP VIEW b_{name} AS "
                                    f"SELECT * FROM {view} WHERE community_id IN ({inside})")
                    ev, mem = "b_events", "b_members"
                if keys is None:
                    sql = features_sql(ev, mem, staff_roles=tuple(staff_roles))
                else:  # the sums per stored key in NumPy (engines.keyed_sums), the arithmetic in SQL
                    sql = keyed_features_query(con, ev, mem, f"read_parquet({_quote(str(keys))})", now,
                                               staff_roles=tuple(staff_roles))
                if out is not None:
                    target = Path(out)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    dest = target if group is None else target.with_name(f".{target.name}.part{i}.parquet")
                    con.execute(f"COPY ({bind_as_of(sql, now)}) TO {_quote(str(dest))} (FORMAT parquet)")
                    parts.append(dest)
                else:
                    parts.append(_to_pandas(con, sql, {"as_of": now.to_pydatetime()}))
            if out is not None:
                if len(parts) > 1:
                    files = "[" + ", ".join(_quote(str(p)) for p in parts) + "]"
                    con.execute(f"COPY (SELECT * FROM read_parquet({files}) ORDER BY community_id, member_id) "
                                f"TO {_quote(str(target))} (FORMAT parquet)")
                    for p in parts:
                        p.unlink()
                return target
        finally:
            con.close()
        res = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
        if len(parts) > 1:
            res = res.sort_values([Col.community_id, Col.member_id], kind="stable")
        return tidy_features(res)

    def snapshot_features(self, events: Source, members: Source, *, bounds: Iterable[Any],
                          staff_roles: tuple[str, ...] = STAFF_ROLES) -> pd.DataFrame:
        """The features of the rule roles (:data:`~commlab.analysis.features.ROLE_FEATURE_IDS`) at several instants.

        One query reads the events once for every instant
        (:func:`~commlab.analysis.features.snapshot_features_sql`); the values equal
        :meth:`member_features` at each instant.

        Parameters
        ----------
        events, members : DataFrame or path(s)
            The canonical tables, in memory or as Parquet/CSV files.
        bounds : iterable of str or Timestamp
            The instants, strictly increasing; naive values are read as UTC.
        staff_roles : tuple of str
            Roles flagged ``is_staff``.

        Returns
        -------
        DataFrame
            ``as_of``, ``community_id``, ``member_id`` and the role features: one row per
            instant and member who joined by it, sorted by instant, community and member.
        """
        instants = [as_utc(b) for b in bounds]
        return cached_table("snapshot_features", events,
                            lambda: self._snapshot_features(events, members, instants, tuple(staff_roles)),
                            inputs={"members": members},
                            params={"engine": self.name, "bounds": instants, "staff_roles": list(staff_roles)})

    def _snapshot_features(self, events: Source, members: Source, instants: list[pd.Timestamp],
                           staff_roles: tuple[str, ...]) -> pd.DataFrame:
        con = self.connect()
        try:
            v = self.register_tables(con, events=events, members=members)
            sql = snapshot_features_sql(v["events"], v["members"], instants, staff_roles=tuple(staff_roles))
            res = con.execute(sql).df()
        finally:
            con.close()
        out = tidy_features(res, columns=ROLE_FEATURE_IDS, keys=("k", Col.community_id, Col.member_id))
        out.insert(0, "as_of", pd.DatetimeIndex(instants)[out.pop("k").to_numpy()])
        return out

    # ------------------------------------------------------------------ metrics
    def compute_metrics(self, data: Dataset | Tables | Mapping[str, Source], *, as_of: Any,
                        window: str | None = "month", metrics: Iterable[str] | None = None,
                        start: Any = None) -> pd.DataFrame:
        """Registered community metrics, as :func:`commlab.analysis.compute.compute_metrics`.

        Same definitions and the same result; differences: sources may be CSV as well as
        Parquet/DataFrames, optional columns may be absent, and the connection carries the
        engine's memory, thread and spill settings.

        Parameters
        ----------
        data : Dataset, Tables or mapping
            ``communities``, ``members``, ``events`` (each a DataFrame or path(s)).
        as_of, window, metrics, start
            See :func:`commlab.analysis.compute.compute_metrics`.

        Returns
        -------
        DataFrame
            ``community_id, period, metric_id, value``.

        Raises
        ------
        KeyError
            If a metric id is unknown.
        ValueError
            If ``window``, ``as_of`` or a source is invalid.
        """
        srcs = _sources(data)
        chosen = [get_metric(m) for m in metrics] if metrics is not None else list_metrics()
        frames = {n: srcs[n] for n in ("communities", "members") if isinstance(srcs[n], pd.DataFrame)}
        if len(frames) < 2 or run_tables(srcs["events"]) is None:
            return self._compute_sets(srcs, chosen, [(as_of, window, start)])[0]
        # in a playbook run: keyed by each community's instant and start (however they are spelled),
        # and computed in one pass with the run's declared period sets not stored yet
        communities = frames["communities"]
        asked = (as_of, window, start)
        declared = [(as_of, d["window"], _last_days_start(d, communities, as_of))
                    for d in declared_period_sets(srcs["events"])]

        def params(request: tuple[Any, str | None, Any]) -> dict[str, Any]:
            return {"engine": self.name, **_request_key(communities, *request), "metrics": [m.id for m in chosen]}

        def one_pass() -> pd.DataFrame:
            seen = [params(asked)]
            extra = []
            for r in declared:
                p = params(r)
                if p not in seen and not stored("metrics", srcs["events"], inputs=frames, params=p):
                    extra.append(r)
                seen.append(p)
            t0 = time.perf_counter()
            parts = self._compute_sets(srcs, chosen, [asked, *extra])
            share = (time.perf_counter() - t0) / len(parts)
            for r, part in zip(extra, parts[1:], strict=True):
                store_table("metrics", srcs["events"], part, inputs=frames, params=params(r), seconds=share)
            return parts[0]

        return cached_table("metrics", srcs["events"], one_pass, inputs=frames, params=params(asked))

    def _compute_sets(self, srcs: dict[str, Source], chosen: list,
                      requests: list[tuple[Any, str | None, Any]]) -> list[pd.DataFrame]:
        """The metric tables of several ``(as_of, window, start)`` requests, computed in one pass.

        Their periods go into one ``periods`` table (each label prefixed with its request's number),
        so the prelude, the edge table and every metric query run once; each request's table is
        then the rows of its periods, in the order a call for it alone returns them.
        """
        con = self.connect()
        try:
            v = self.register_tables(con, **srcs)
            sets = [engine_periods(lambda q: con.execute(q).df(), v, as_of=a, window=w, start=st)
                    for a, w, st in requests]
            periods = sets[0] if len(sets) == 1 else _union_sets(sets)
            con.register("periods", periods)
            self.timings_ = {}
            t0 = time.perf_counter()
            created = con.execute(f"SELECT max(created_at) FROM {v['communities']}").fetchone()[0]
            eager, pending = split_prelude(prelude_statements(v, periods, created, by_segment=True))
            for stmt in eager:
                con.execute(stmt)
            self.timings_["prelude"] = time.perf_counter() - t0
            window = requests[0][1] if len(sets) == 1 else None
            ctx = MetricContext(con, Tables(**srcs), periods, window, pending=pending)  # type: ignore[arg-type]
            table = run_metrics(ctx, chosen, timings=self.timings_)
        finally:
            con.close()
        return [table] if len(sets) == 1 else _split_sets(table, len(sets))


def _to_pandas(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """The result of ``sql`` as a DataFrame, handed over as Arrow.

    Arrow buffers become pandas columns without building a Python object per value (ids arrive as
    pandas' Arrow-backed strings); ``DataFrame`` conversion (``.df()``) is about twice as slow on a
    features table, and four times on its 128-bit integer sums.
    """
    return con.sql(sql, params=params).to_arrow_table().to_pandas()


def _request_key(communities: pd.DataFrame, as_of: Any, window: str | None, start: Any) -> dict[str, Any]:
    """A metric request's periods as plain values: each community's instant and start, and the window."""
    ends = resolve_as_of(as_of, communities)
    if start is None:
        starts: dict[str, Any] | None = None
    elif isinstance(start, pd.Series | Mapping):
        starts = {str(k): (None if pd.isna(v) else as_utc(v, name="start").isoformat()) for k, v in dict(start).items()}
    else:
        starts = dict.fromkeys(ends.index.astype(str), as_utc(start, name="start").isoformat())
    return {"as_of": {str(k): v.isoformat() for k, v in ends.items()}, "window": window, "start": starts}


#: Separates a period set's number from its period label in a one-pass union (never in a label).
_SET_MARK = "\x1f"


def _last_days_start(spec: Mapping[str, Any], communities: pd.DataFrame, as_of: Any) -> Any:
    """The ``start`` of a declared period set: ``last_days`` before each community's instant, or ``None``."""
    if spec.get("last_days") is None:
        return None
    return resolve_as_of(as_of, communities) - pd.Timedelta(days=int(spec["last_days"]))


def _union_sets(sets: list[pd.DataFrame]) -> pd.DataFrame:
    """Several period sets as one ``periods`` table, each label prefixed with its set's number."""
    out = pd.concat([p.assign(period=str(i) + _SET_MARK + p["period"].astype(str)) for i, p in enumerate(sets)],
                    ignore_index=True)
    out["period"] = out["period"].astype("string")
    return out


def _split_sets(table: pd.DataFrame, n: int) -> list[pd.DataFrame]:
    """The metric tables of the sets of :func:`_union_sets`, each as a request for that set alone returns it."""
    mark = table["period"].astype(str).str.split(_SET_MARK, n=1, expand=True)
    parts = []
    for i in range(n):
        part = table[(mark[0] == str(i)).to_numpy()].copy()
        part["period"] = mark.loc[part.index, 1].astype("string")
        parts.append(part.reset_index(drop=True))
    return parts


def _sources(data: Dataset | Tables | Mapping[str, Source]) -> dict[str, Source]:
    if isinstance(data, Dataset):  # stored events are read in place, not through pandas
        return {"communities": data.communities, "members": data.members, "events": data.events_source}
    if isinstance(data, Tables):
        return {"communities": data.communities, "members": data.members, "events": data.events}
    if isinstance(data, Mapping):
        missing = [n for n in ("communities", "members", "events") if n not in data]
        if missing:
            raise InvalidType(f"tables missing: {', '.join(missing)}")
        return {n: data[n] for n in ("communities", "members", "events")}
    raise InvalidType(f"expected a Dataset, Tables or a mapping of tables, got {type(data).__name__}")


#: DuckDB's ``memory_limit`` in a playbook run when the step's ``engine_options`` set none (DuckDB's own default
#: is 80 % of the machine's memory: at 50 M events notebook 03's kernel grew to 14.8 GB). Above it DuckDB spills
#: joins, aggregates, sorts and the temporary tables of a metric pass to ``temp_directory``; with the kernel's
#: own memory (pandas tables, a batch of network edges, see :data:`commlab.analysis.network.BATCH_EDGES`)
#: the notebook process stays under 3 GB at 50 M events: measured quiet, the demo playbook's largest process
#: 2,801 MiB with 1250MB (392 s), 3,074 MiB with 1500MB (388 s); with 1GB notebook 02's role transitions ran out
#: of memory. ``benchmarks/README.md`` has the figures.
PLAYBOOK_MEMORY_LIMIT = "1250MB"
#: The spill folder's name inside the run's data cache.
PLAYBOOK_SPILL_DIR = "duckdb-spill"


def playbook_engine_options(options: Mapping[str, Any] | None, cache: str | Path | None) -> dict[str, Any]:
    """A playbook step's DuckDB ``engine_options`` with the run's defaults where the step sets none.

    Parameters
    ----------
    options : mapping, optional
        What the playbook (or ``-p engine_options ...``) passes; its settings win.
    cache : str or Path, optional
        The run's data cache folder: DuckDB spills into its :data:`PLAYBOOK_SPILL_DIR` (removed with it).

    Returns
    -------
    dict
        ``memory_limit`` (:data:`PLAYBOOK_MEMORY_LIMIT`) and ``temp_directory`` added unless given.

    Examples
    --------
    >>> playbook_engine_options({}, "/tmp/run-cache")
    {'memory_limit': '1250MB', 'temp_directory': '/tmp/run-cache/duckdb-spill'}
    >>> playbook_engine_options({"memory_limit": "4GB"}, None)
    {'memory_limit': '4GB'}
    """
    out = dict(options or {})
    out.setdefault("memory_limit", PLAYBOOK_MEMORY_LIMIT)
    if cache is not None:
        out.setdefault("temp_directory", str(Path(cache) / PLAYBOOK_SPILL_DIR))
    return out
