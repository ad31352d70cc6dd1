"""Spark engine: the same feature and metric definitions, transpiled from DuckDB SQL by sqlglot.

:class:`SparkEngine` takes a ``SparkSession`` (a local one, or one connected to a cluster)
and runs :func:`commlab.analysis.features.features_sql` and the metric registry on it. There
is no second copy of any definition: the DuckDB text is written for Spark by
:func:`commlab.engines.transpile.to_dialect`. Python metrics (the interaction network, the
high-value scores) run unchanged: their DuckDB queries are transpiled and executed by Spark,
and only their (small) results come back to the driver for the graph work.

Metrics whose SQL Spark cannot run (sqlglot cannot write it, or Spark rejects it, e.g. some
correlated subqueries) are reported, not hidden: :meth:`SparkEngine.compute_metrics` leaves
them NaN and lists them with the reason in :attr:`SparkEngine.failures_`.

Needs the optional dependencies ``pyspark`` (and Java 17+) and ``sqlglot``.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from commlab.analysis.features_sql import ROLE_FEATURE_IDS, features_sql, snapshot_features_sql
from commlab.analysis.metrics import (
    MetricContext,
    Tables,
    engine_periods,
    get_metric,
    list_metrics,
    prelude_statements,
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
from commlab.engines.duck import _sources, bind_as_of
from commlab.engines.runcache import cached_table
from commlab.engines.spark_settings import check_spark_settings, is_local_master, spark_conf
from commlab.engines.transpile import to_dialect
from commlab.errors import InvalidArgument, import_optional
from commlab.instant import as_utc

__all__ = ["SparkEngine", "local_session", "cluster_session"]


def _use_project_java() -> None:
    """Point ``JAVA_HOME`` at the JDK ``make setup`` put in the environment (``<venv>/jdk``, conda-forge's openjdk)
    when no Java is configured otherwise."""
    jdk = Path(sys.prefix) / "jdk"
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None and (jdk / "bin" / "java").exists():
        os.environ["JAVA_HOME"] = str(jdk)


def _use_driver_python() -> None:
    """Local mode: Spark's Python workers (pandas UDFs) run this interpreter, which has commlab, unless
    ``PYSPARK_PYTHON`` says otherwise (Spark's default is the ``python3`` on the PATH, often another one)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


def local_session(*, cores: int = 1, shuffle_partitions: int = 4, memory: str = "1g",
                  app_name: str = "commlab") -> Any:
    """A small local ``SparkSession`` in UTC (``local[cores]``), e.g. for tests and laptops.

    Raises
    ------
    MissingDependency
        If pyspark is not installed (also an ``ImportError``): ``pip install 'commlab[spark]'``.
    """
    SparkSession = import_optional("pyspark.sql", extra="spark", what="a Spark session").SparkSession
    _use_project_java()
    _use_driver_python()
    return (SparkSession.builder.master(f"local[{cores}]").appName(app_name)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
            .config("spark.default.parallelism", str(cores))
            .config("spark.driver.memory", memory)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.autoBroadcastJoinThreshold", _NO_BROADCAST["spark.sql.autoBroadcastJoinThreshold"])
            .config("spark.sql.adaptive.autoBroadcastJoinThreshold", "-1")
            .config("spark.driver.extraJavaOptions", _LOCAL_JVM["spark.driver.extraJavaOptions"])
            .getOrCreate())


def cluster_session(master: str, conf: Mapping[str, Any] | None = None, *, app_name: str = "commlab") -> Any:
    """A ``SparkSession`` on ``master`` with the session time zone set to UTC and ``conf`` applied.

    ``conf``'s ``spark.pyspark.python`` (the interpreter with commlab on the workers) is also exported as
    ``PYSPARK_PYTHON``: pyspark reads only the variable when the session is built outside ``spark-submit``.

    Raises
    ------
    MissingDependency
        If pyspark is not installed (also an ``ImportError``): ``pip install 'commlab[spark]'``.
    ValueError
        If ``conf`` sets a session time zone other than UTC.
    """
    SparkSession = import_optional("pyspark.sql", extra="spark", what="a Spark session").SparkSession

    _use_project_java()
    settings = {"spark.sql.session.timeZone": "UTC", "spark.ui.showConsoleProgress": "false",
                "spark.sql.execution.arrow.pyspark.enabled": "true"}
    settings.update({str(k): str(v) for k, v in (conf or {}).items()})
    if settings["spark.sql.session.timeZone"] != "UTC":
        raise InvalidArgument("spark.sql.session.timeZone must be UTC for commlab's definitions")
    if "spark.pyspark.python" in settings:
        # the Python the executors run pandas UDFs with (kcore_stability's cores): spark-submit turns this
        # setting into PYSPARK_PYTHON, a session built in a notebook's kernel reads only the variable
        os.environ["PYSPARK_PYTHON"] = settings["spark.pyspark.python"]
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _is_uri(path: str) -> bool:
    """``scheme://...`` (a Windows drive letter is no scheme)."""
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]+://", path))


#: Local sessions join by sorting, never by broadcasting a table: with ``spark.driver.memory=1g`` Spark's size
#: estimate let a broadcast of notebook 03's monthly tables at 5 M events overflow the heap (``OutOfMemoryError:
#: Java heap space`` in ``BroadcastExchange``); sort-merge joins spill to disk instead. ``conf`` may set them back.
_NO_BROADCAST = {"spark.sql.autoBroadcastJoinThreshold": "-1", "spark.sql.adaptive.autoBroadcastJoinThreshold": "-1"}

#: The JVM of a local session (driver and executor in one) on JDK 17-21 with G1: an allocation that finds the heap
#: full while another task thread is inside a JNI critical region (LZ4/Snappy (de)compressing shuffle and spill
#: blocks) waits for that region to end and a GC to run, but only twice (``GCLockerRetryAllocationCount=2``), then
#: fails with ``OutOfMemoryError: Java heap space`` although the GC would have freed the heap (JDK-8192647).
#: Notebook 03's kernel at 5 M events with a 1 g driver died so ("Retried waiting for GCLocker too often
#: allocating 2 words", then the error). The flag lets the allocation wait for the GC instead; a JVM without it
#: ignores it.
_LOCAL_JVM = {"spark.driver.extraJavaOptions": "-XX:+IgnoreUnrecognizedVMOptions -XX:+UnlockDiagnosticVMOptions "
                                                "-XX:GCLockerRetryAllocationCount=100"}

#: The period tables (one row per community and period: the ``periods`` of a call and the prelude's ``period_keys``)
#: are broadcast by a hint, the one exception to :data:`_NO_BROADCAST`. A metric joins them to the events on the
#: community alone plus a time range (``e.community_id = p.community_id AND e.ts > p.p_start AND e.ts <= p.p_end``).
#: As a sort-merge join, every such query shuffled and sorted all the events by community (spilling them with a 1 g
#: driver at 5 M events) and kept the matching events of a community in an on-heap buffer the memory manager does not
#: count; notebook 03's ``main_platform_share`` died in that stage (``OutOfMemoryError: Java heap space``). Broadcast,
#: the periods are a small hash table in each task and the events stream past it from the cache: no sort, no spill,
#: memory bounded by the number of periods. Up to :data:`_BROADCAST_PERIODS_MAX` of them (a few MB).
_PERIOD_TABLES = frozenset({"periods", "period_keys"})
_BROADCAST_PERIODS_MAX = 200_000


def _quiet_hints(spark: Any) -> None:
    """Keep the driver's log free of Spark's notes on the period tables' broadcast hint where it does not apply (the
    period table not joined, or the preserved side of an outer join: a sort-merge join then, as without the hint)."""
    try:
        jvm = spark.sparkContext._jvm
        jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
            "org.apache.spark.sql.catalyst.analysis.HintErrorLogger", jvm.org.apache.logging.log4j.Level.ERROR)
    except Exception:  # noqa: BLE001 - another logging back end: the notes stay, nothing else changes
        pass


@dataclass
class _SparkContext(MetricContext):
    """A :class:`MetricContext` whose queries are transpiled and run by Spark."""

    create: Callable[[str], None] | None = None
    dialect = "spark"

    def execute(self, stmt: str) -> None:  # noqa: D401 - same contract as the parent
        assert self.create is not None
        self.create(stmt)

    def query(self, sql: str, **params: Any) -> pd.DataFrame:  # noqa: D401 - same contract as the parent
        if params:
            raise NotImplementedError("parameters are not supported by the Spark engine")
        self.ensure(sql)
        (stmt,) = to_dialect(sql, "spark")
        return self.con.sql(stmt).toPandas()

    def arrow(self, sql: str) -> pa.Table:  # noqa: D401 - same contract as the parent
        return pa.Table.from_pandas(self.query(sql), preserve_index=False)

    def per_group(self, sql: str, keys: list[str], fn: Callable[[pd.DataFrame], pd.DataFrame],
                  schema: str) -> pd.DataFrame:
        """``fn`` per group run by Spark's Python workers (``applyInPandas``): only its results are collected."""
        self.ensure(sql)
        (stmt,) = to_dialect(sql, "spark")
        return self.con.sql(stmt).groupBy(*keys).applyInPandas(fn, schema=schema).toPandas()


class SparkEngine:
    """Runs commlab's SQL definitions on a Spark session.

    Parameters
    ----------
    spark : SparkSession, optional
        Default: :func:`cluster_session` with ``master``/``conf`` when ``master`` is given, else
        :func:`local_session`. Its ``spark.sql.session.timeZone`` must be ``UTC``.
    scratch : str or Path, optional
        Where in-memory DataFrames are written as Parquet for Spark to read (default: a
        temporary folder). On a cluster this must be storage the executors can read.
        A URI (``hdfs://``, ``s3a://``, ...) is written through Spark's Hadoop file system: the run's
        stored events are copied there once (named by the file's size and time) and read from there.
    master : str, optional
        Spark master URL (``"local[2]"``, ``"spark://host:7077"``, ``"yarn"``, ``"k8s://..."``);
        plain values, so a playbook can name them (its ``engine`` section, or
        ``engine_options: {master: ..., conf: {...}}``). A cluster master needs ``scratch`` on
        storage the executors read.
    conf : mapping, optional
        Extra Spark settings (``spark.*``) for the session built from ``master``.
    driver_memory, executor_memory : str, optional
        JVM sizes (``"1g"``, ``"512m"``) for ``spark.driver.memory`` / ``spark.executor.memory``.

    Raises
    ------
    InvalidArgument
        For settings :func:`commlab.engines.spark_settings.check_spark_settings` refuses.

    Attributes
    ----------
    failures_ : dict
        After :meth:`compute_metrics`: metric id -> why Spark could not compute it.
    staged_ : list of str
        The files copied to (or found already on) a ``scratch`` URI for the executors.
    """

    name = "spark"

    def __init__(self, spark: Any = None, *, scratch: str | Path | None = None, master: str | None = None,
                 conf: Mapping[str, Any] | None = None, driver_memory: str | None = None,
                 executor_memory: str | None = None) -> None:
        self.check_options(spark=spark, scratch=scratch, master=master, conf=conf, driver_memory=driver_memory,
                           executor_memory=executor_memory)  # a session handed in is the caller's
        self.spark = spark
        self.scratch = scratch
        self.master = master
        self.conf = spark_conf(driver_memory=driver_memory, executor_memory=executor_memory, conf=conf)
        self.failures_: dict[str, str] = {}
        self.staged_: list[str] = []
        self._cached: list[Any] = []
        self._local: Path | None = None
        self._broadcast_periods = False

    @staticmethod
    def check_options(*, spark: Any = None, scratch: str | Path | None = None, master: str | None = None,
                      conf: Mapping[str, Any] | None = None, driver_memory: str | None = None,
                      executor_memory: str | None = None) -> None:
        """Check ``engine_options`` for this engine without starting Spark (when a playbook is planned).

        Raises
        ------
        InvalidArgument
            As :func:`commlab.engines.spark_settings.check_spark_settings`.
        """
        if spark is None:
            check_spark_settings(master=master, driver_memory=driver_memory, executor_memory=executor_memory,
                                 scratch=None if scratch is None else str(scratch), conf=conf)

    def __repr__(self) -> str:
        master = None if self.spark is None else self.spark.sparkContext.master
        return f"SparkEngine(master={master!r}, failures={len(self.failures_)})"

    def session(self) -> Any:
        """The Spark session (created with :func:`local_session` on first use)."""
        if self.spark is None:
            if self.master is None and not self.conf:
                self.spark = local_session()
            else:
                conf = dict(self.conf)
                if is_local_master(self.master):  # Spark's 200 shuffle partitions are for clusters
                    _use_driver_python()
                    conf = {"spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false", **_NO_BROADCAST,
                            **_LOCAL_JVM, **conf}
                self.spark = cluster_session(self.master or "local[1]", conf)
            _quiet_hints(self.spark)
        tz = self.spark.conf.get("spark.sql.session.timeZone")
        if tz != "UTC":
            raise InvalidArgument(f"spark.sql.session.timeZone must be UTC, is {tz!r}")
        return self.spark

    # ------------------------------------------------------------------ sources
    def _scratch(self) -> Path:
        """A local folder for files to write (``scratch`` itself, or a temporary folder when it is a URI:
        ``file:///...`` included, which goes through Hadoop's file system like ``hdfs://``)."""
        if self.scratch is not None and not _is_uri(str(self.scratch)):
            path = Path(str(self.scratch))
            path.mkdir(parents=True, exist_ok=True)
            return path
        if self._local is None:
            self._local = Path(tempfile.mkdtemp(prefix="commlab-spark-"))
        return self._local

    def _publish(self, local: Path, name: str | None = None) -> str:
        """Where Spark reads the local file ``local``: itself, or its copy under a ``scratch`` URI.

        The copy goes through Spark's Hadoop file system (``FileSystem.copyFromLocalFile``), so it
        works for every scheme the session can write (``hdfs://``, ``s3a://`` with ``hadoop-aws``).
        """
        if self.scratch is None or not _is_uri(str(self.scratch)):
            return str(local)
        jvm = self.session()._jvm
        target = jvm.org.apache.hadoop.fs.Path(f"{str(self.scratch).rstrip('/')}/{name or local.name}")
        fs = target.getFileSystem(self.session()._jsc.hadoopConfiguration())
        fs.copyFromLocalFile(False, True, jvm.org.apache.hadoop.fs.Path(str(local.resolve())), target)
        self.staged_.append(str(target.toString()))
        return str(target.toString())

    def _published(self, name: str) -> str | None:
        """The URI of ``name`` under a ``scratch`` URI when it is there already (staged by an earlier engine)."""
        if self.scratch is None or not _is_uri(str(self.scratch)):
            return None
        target = self.session()._jvm.org.apache.hadoop.fs.Path(f"{str(self.scratch).rstrip('/')}/{name}")
        if not target.getFileSystem(self.session()._jsc.hadoopConfiguration()).exists(target):
            return None
        self.staged_.append(str(target.toString()))
        return str(target.toString())

    def _frame(self, pdf: pd.DataFrame, name: str) -> Any:
        """A pandas frame as a Spark DataFrame (through Parquet, microsecond timestamps).

        Each call writes a new file: Spark's cache matches plans by file path, so reusing a
        path would serve the previous call's cached tables.
        """
        path = self._scratch() / f"{name}-{uuid.uuid4().hex}.parquet"
        pdf.to_parquet(path, index=False, coerce_timestamps="us", allow_truncated_timestamps=True)
        return self.session().read.parquet(self._publish(path))

    def _stored(self, events: StoredEvents, name: str) -> Any:
        """Stored events (a data cache entry) as a Spark DataFrame, never read into pandas on the driver.

        Spark reads the file itself when its times are in micro- or milliseconds (as the streamed
        import writes them); a file with nanosecond times, which Spark's Parquet reader refuses
        (``TIMESTAMP(NANOS,true)``), is first copied to ``scratch`` in microseconds by DuckDB, which
        streams it (bounded memory, no DataFrame). The community restriction becomes a filter Spark
        pushes down to the file.
        """
        import pyarrow.parquet as pq

        stat = Path(events.path).stat()  # on a scratch URI: one copy per stored file, named by its size and time
        staged = f"events-{stat.st_size}-{stat.st_mtime_ns}.parquet"
        where = self._published(staged)
        if where is None:
            schema = pq.read_schema(events.path)
            nanos = [f.name for f in schema if getattr(f.type, "unit", None) == "ns"]
            path = Path(events.path)
            if nanos:
                import duckdb

                path = self._scratch() / f"{name}-{uuid.uuid4().hex}.parquet"
                con = duckdb.connect()
                try:
                    con.execute("SET TimeZone = 'UTC'")
                    micros = ", ".join(f'CAST("{c}" AS TIMESTAMPTZ) AS "{c}"' for c in nanos)
                    con.execute(f"COPY (SELECT * REPLACE ({micros}) FROM "
                                f"read_parquet('{str(events.path).replace(chr(39), chr(39) * 2)}')) "
                                f"TO '{str(path).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)")
                finally:
                    con.close()
            where = self._publish(path, staged)
        df = self.session().read.parquet(where)
        if events.communities is not None:
            df = df.where(df[Col.community_id].isin(list(events.communities)))
        return df

    def register_tables(self, **sources: Source) -> dict[str, str]:
        """Temp views ``c_<table>`` of every canonical column, typed, NULL where absent."""
        spark = self.session()
        views = {}
        for name, src in sources.items():
            if isinstance(src, pd.DataFrame):
                df = self._frame(src, f"src_{name}")
            elif isinstance(src, StoredEvents):
                df = self._stored(src, f"src_{name}")
            else:
                paths = source_paths(src)
                if source_format(paths) == "parquet":
                    df = spark.read.parquet(*paths)
                else:
                    df = spark.read.option("header", True).csv(paths)
            df.createOrReplaceTempView(f"_src_{name}")
            (sel,) = to_dialect(canonical_select(S.TABLES[name], f"_src_{name}", df.columns), "spark")
            spark.sql(sel).createOrReplaceTempView(f"c_{name}")
            views[name] = f"c_{name}"
        return views

    # ------------------------------------------------------------------ features
    def features_sql(self, *, as_of: str | pd.Timestamp, staff_roles: tuple[str, ...] = STAFF_ROLES) -> str:
        """The Spark SQL text of the member features over the views ``c_events``/``c_members``."""
        sql = bind_as_of(features_sql("c_events", "c_members", staff_roles=tuple(staff_roles)), as_utc(as_of))
        (stmt,) = to_dialect(sql, "spark")
        return stmt

    def member_features(self, events: Source, members: Source, *, as_of: str | pd.Timestamp,
                        staff_roles: tuple[str, ...] = STAFF_ROLES, out: str | None = None) -> pd.DataFrame | str:
        """Member features computed by Spark (see :meth:`commlab.engines.duck.DuckDBEngine.member_features`).

        ``out``: write Parquet there with Spark (any URI Spark can write, e.g. ``s3a://``) and
        return it instead of collecting a DataFrame on the driver.
        """
        if out is None and isinstance(members, pd.DataFrame):  # computed once per run (engines.runcache)
            return cached_table("member_features", events,
                                lambda: self._member_features(events, members, as_of, staff_roles, None),
                                inputs={"members": members}, params={"engine": self.name, "as_of": as_utc(as_of),
                                                                     "staff_roles": list(staff_roles)})
        return self._member_features(events, members, as_of, staff_roles, out)

    def _member_features(self, events: Source, members: Source, as_of: str | pd.Timestamp,
                         staff_roles: tuple[str, ...], out: str | None) -> pd.DataFrame | str:
        self.register_tables(events=events, members=members)
        df = self.session().sql(self.features_sql(as_of=as_of, staff_roles=staff_roles))
        if out is not None:
            df.write.mode("overwrite").parquet(str(out))
            return str(out)
        return tidy_features(df.toPandas())

    def snapshot_features(self, events: Source, members: Source, *, bounds: Iterable[Any],
                          staff_roles: tuple[str, ...] = STAFF_ROLES) -> pd.DataFrame:
        """The role features at several instants in one Spark query (see
        :meth:`commlab.engines.duck.DuckDBEngine.snapshot_features`: the same SQL, transpiled).

        One row per instant and member comes back (aggregates: notebook 02's month-over-month roles), and the
        events are read once instead of once per instant.
        """
        instants = [as_utc(b) for b in bounds]
        return cached_table("snapshot_features", events,
                            lambda: self._snapshot_features(events, members, instants, tuple(staff_roles)),
                            inputs={"members": members},
                            params={"engine": self.name, "bounds": instants, "staff_roles": list(staff_roles)})

    def _snapshot_features(self, events: Source, members: Source, instants: list[pd.Timestamp],
                           staff_roles: tuple[str, ...]) -> pd.DataFrame:
        v = self.register_tables(events=events, members=members)
        (stmt,) = to_dialect(snapshot_features_sql(v["events"], v["members"], instants, staff_roles=staff_roles),
                             "spark")
        res = self.session().sql(stmt).toPandas()
        out = tidy_features(res, columns=ROLE_FEATURE_IDS, keys=("k", S.Col.community_id, S.Col.member_id))
        out.insert(0, "as_of", pd.DatetimeIndex(instants)[out.pop("k").to_numpy()])
        return out

    # ------------------------------------------------------------------ metrics
    def compute_metrics(self, data: Dataset | Tables | Mapping[str, Source], *, as_of: Any,
                        window: str | None = "month", metrics: Iterable[str] | None = None,
                        start: Any = None) -> pd.DataFrame:
        """Registered community metrics computed by Spark; those it cannot run are NaN and listed in ``failures_``.

        Parameters and result as :func:`commlab.analysis.compute.compute_metrics`.
        """
        srcs = _sources(data)
        chosen = [get_metric(m) for m in metrics] if metrics is not None else list_metrics()
        frames = {n: srcs[n] for n in ("communities", "members") if isinstance(srcs[n], pd.DataFrame)}
        self.failures_ = {}
        if len(frames) < 2:
            return self._warn_failures(self._compute_metrics(srcs, chosen, as_of=as_of, window=window, start=start))
        # computed once per run (engines.runcache); a table with failures is not kept, so they are reported again
        table = cached_table("metrics", srcs["events"],
                             lambda: self._compute_metrics(srcs, chosen, as_of=as_of, window=window, start=start),
                             inputs=frames, params={"engine": self.name, "as_of": as_of, "window": window,
                                                    "metrics": [m.id for m in chosen], "start": start},
                             keep=lambda: not self.failures_)
        return self._warn_failures(table)

    def _warn_failures(self, table: pd.DataFrame) -> pd.DataFrame:
        """``table``, after a :class:`~commlab.errors.CommlabWarning` naming the metrics Spark could not compute
        (left empty): a notebook's output shows it, instead of an empty column nobody explains."""
        if self.failures_:
            import warnings

            from commlab.errors import CommlabWarning

            listed = "; ".join(f"{k} ({v[:160]})" for k, v in sorted(self.failures_.items()))
            warnings.warn(CommlabWarning(f"Spark could not compute {len(self.failures_)} metric(s), left empty: "
                                         f"{listed}"), stacklevel=3)
        return table

    def _compute_metrics(self, srcs: dict[str, Source], chosen: list, *, as_of: Any, window: str | None,
                         start: Any) -> pd.DataFrame:
        spark = self.session()
        v = self.register_tables(**srcs)
        periods = engine_periods(lambda q: spark.sql(q).toPandas(), v, as_of=as_of, window=window, start=start)
        self._broadcast_periods = len(periods) <= _BROADCAST_PERIODS_MAX
        self._period_view("periods", self._frame(periods, "periods"))
        eager, pending = split_prelude(prelude_statements(v))
        for stmt in eager:
            self._create(stmt)
        ctx = _SparkContext(spark, Tables(**srcs), periods, window, pending=pending,  # type: ignore[arg-type]
                            create=self._create)
        self.failures_ = {}

        def failed(metric: Any, exc: Exception) -> None:
            self.failures_[metric.id] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"

        try:
            return run_metrics(ctx, chosen, on_error=failed)
        finally:
            for df in self._cached:
                df.unpersist()
            self._cached = []

    def _create(self, stmt: str) -> None:
        """Run one ``CREATE ... {VIEW|TABLE} name AS SELECT`` of the prelude as a (cached) temp view."""
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(stmt, read="duckdb")
        if not isinstance(tree, exp.Create):
            raise InvalidArgument(f"unexpected prelude statement: {stmt.strip()[:80]}")
        name = tree.this.name
        (select,) = to_dialect(tree.expression.sql("duckdb"), "spark")
        df = self.session().sql(select)
        # ev (the events with the staff flags) is a view for DuckDB, which reads a stored file in place; Spark
        # keeps caching it, as every metric reads it
        if str(tree.args.get("kind", "")).upper() == "TABLE" or name == "ev":
            df = df.cache()
            self._cached.append(df)
        if name in _PERIOD_TABLES:
            self._period_view(name, df)
        else:
            df.createOrReplaceTempView(name)

    def _period_view(self, name: str, df: Any) -> None:
        """The temp view ``name`` of a period table, broadcast to the joins that read it (see :data:`_PERIOD_TABLES`)
        when the call's periods are few enough."""
        if self._broadcast_periods:
            from pyspark.sql.functions import broadcast

            df = broadcast(df)
        df.createOrReplaceTempView(name)

