"""DuckDB SQL to other dialects with sqlglot, plus the few rewrites commlab's SQL needs.

The features and metrics are written once, in DuckDB SQL. :func:`to_dialect` parses that text
with sqlglot and writes it for another engine (``"spark"``, ``"trino"``, ``"bigquery"``, ...),
after the rewrites that sqlglot cannot know are safe:

* ``timezone('UTC', ts)`` becomes ``ts``: commlab sessions run in UTC (DuckDB
  ``SET TimeZone='UTC'``, Spark ``spark.sql.session.timeZone=UTC``), where the two are the same
  instant and calendar day.
* Spark only: a decimal literal such as ``1.0`` becomes ``CAST(1.0 AS DOUBLE)``. Both engines read
  it as DECIMAL, but DuckDB averages decimals in DOUBLE while Spark keeps DECIMAL and rounds
  ``avg(CASE WHEN ... THEN 1.0 ELSE 0.0 END)`` to six places.
* Spark only: ``epoch(ts)`` (seconds *with* fractions in DuckDB) becomes ``unix_micros(ts) / 1e6`` for Spark;
  sqlglot's default ``unix_timestamp`` drops the fraction, which moves events lying within a
  second of a day boundary (periods end 1 µs before the next one starts).
* Spark only: ``epoch_us(ts)`` (integer microseconds, which whole-day counts use to stay exact)
  becomes ``unix_micros(ts)``; sqlglot does not know the function.

Needs the optional dependency ``sqlglot``.
"""

from __future__ import annotations

from commlab.errors import TranspileError, import_optional  # TranspileError is still importable from here

__all__ = ["to_dialect", "TranspileError"]


def _rewrite(node, dialect: str):
    from sqlglot import exp

    if isinstance(node, exp.Anonymous) and node.name.lower() == "timezone" and len(node.expressions) == 2:
        zone, value = node.expressions
        if isinstance(zone, exp.Literal) and zone.is_string and zone.this.upper() == "UTC":
            return value
    if dialect == "spark" and isinstance(node, exp.Literal) and not node.is_string and "." in node.this:
        # DuckDB averages and divides decimals in DOUBLE; Spark keeps DECIMAL and rounds to 6 places
        return exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))
    if dialect == "spark" and isinstance(node, exp.Anonymous) and node.name.lower() == "epoch_us":
        return exp.Anonymous(this="UNIX_MICROS", expressions=node.expressions)
    if dialect == "spark" and isinstance(node, exp.TimeToUnix):
        return exp.Div(this=exp.Anonymous(this="UNIX_MICROS", expressions=[node.this]),
                       expression=exp.Literal.number("1000000.0"))
    return node


def to_dialect(sql: str, dialect: str = "spark", *, pretty: bool = False) -> list[str]:
    """Each statement of DuckDB ``sql`` written for ``dialect``.

    Parameters
    ----------
    sql : str
        DuckDB SQL (one or more statements separated by ``;``).
    dialect : str, default "spark"
        Any sqlglot dialect name.
    pretty : bool
        Indent the output.

    Returns
    -------
    list of str
        One string per statement.

    Raises
    ------
    TranspileError
        If sqlglot cannot parse or generate a statement.
    MissingDependency
        If sqlglot is not installed (also an ``ImportError``): ``pip install 'commlab[spark]'``.
    """
    sqlglot = import_optional("sqlglot", extra="spark", what="writing SQL for another dialect")
    from sqlglot.errors import SqlglotError

    try:
        trees = sqlglot.parse(sql, read="duckdb")
        return [t.transform(_rewrite, dialect).sql(dialect=dialect, pretty=pretty,
                                                   unsupported_level=sqlglot.ErrorLevel.RAISE)
                for t in trees if t is not None]
    except SqlglotError as exc:
        raise TranspileError(f"cannot write this DuckDB SQL for {dialect}: {exc}", sql) from exc
