"""Engines that run commlab's single SQL definitions of features and metrics.

``duckdb`` (:class:`~commlab.engines.duck.DuckDBEngine`) runs them in process over
DataFrames or Parquet/CSV files; ``spark`` (:class:`~commlab.engines.spark.SparkEngine`, needs
the optional ``pyspark`` and ``sqlglot``) runs the same text, transpiled by sqlglot, on a Spark
session (local or a cluster). :func:`get_engine` looks one up by name.
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from commlab.engines.duck import DuckDBEngine
from commlab.errors import EngineNotFound, InvalidArgument, MissingDependency

__all__ = ["DuckDBEngine", "ENGINES", "REQUIREMENTS", "register_engine", "get_engine", "check_engine",
           "require_engine_packages"]


def _spark(**kwargs: Any) -> Any:
    from commlab.engines.spark import SparkEngine

    return SparkEngine(**kwargs)


#: Engine name -> factory taking the engine's keyword arguments.
ENGINES: dict[str, Callable[..., Any]] = {"duckdb": DuckDBEngine, "spark": _spark}


#: Engine name -> (modules it needs beyond the core install, the pip extra that installs them).
REQUIREMENTS: dict[str, tuple[tuple[str, ...], str]] = {"spark": (("pyspark", "sqlglot"), "spark")}


def _engine_class(name: str) -> Any:
    if name == "spark":
        from commlab.engines.spark import SparkEngine

        return SparkEngine
    return ENGINES[name] if inspect.isclass(ENGINES[name]) else None


def check_engine(name: str, options: Mapping[str, Any] | None = None) -> None:
    """Check that ``get_engine(name, **options)`` can work here, without starting the engine.

    Run when a playbook is planned, so a scheduled run with a misspelt engine, a missing optional
    package or an unknown option stops before any notebook runs (not at the cell that needs it).

    Raises
    ------
    EngineNotFound
        Naming the known engines (also a ``KeyError``).
    MissingDependency
        Naming the missing packages and the extra that installs them (also an ``ImportError``).
    InvalidArgument
        Naming the unknown options and the accepted ones, or a value the engine's ``check_options``
        refuses (also a ``ValueError``).
    """
    if name not in ENGINES:
        raise EngineNotFound(name, ENGINES)
    require_engine_packages(name)
    cls = _engine_class(name)
    if cls is None or not options:
        return
    params = inspect.signature(cls.__init__).parameters
    accepted = [p for p, v in params.items() if p != "self" and v.kind in (v.KEYWORD_ONLY, v.POSITIONAL_OR_KEYWORD)]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        close = difflib.get_close_matches(unknown[0], accepted, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InvalidArgument(f"engine_options {', '.join(map(repr, unknown))} not accepted by the {name!r} engine"
                              f"{hint}; accepted: {', '.join(accepted)}")
    check_options = getattr(cls, "check_options", None)  # the values, e.g. SparkEngine's master URL and memory
    if check_options is not None:
        check_options(**options)


def require_engine_packages(name: str) -> None:
    """Raise :class:`~commlab.errors.MissingDependency` when an optional package engine ``name`` needs is missing.

    Raises
    ------
    MissingDependency
        Naming the missing packages and ``pip install 'commlab[extra]'``.
    """
    modules, extra = REQUIREMENTS.get(name, ((), ""))
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependency(f"engine {name!r}", missing, extra,
                                hint=" (make setup installs it), or use engine: duckdb")


def register_engine(name: str, factory: Callable[..., Any]) -> None:
    """Make ``get_engine(name)`` return ``factory(**kwargs)``."""
    ENGINES[name] = factory


def get_engine(name: str = "duckdb", **kwargs: Any) -> Any:
    """A new engine called ``name`` with ``kwargs`` (e.g. ``memory_limit="2GB"``).

    Raises
    ------
    EngineNotFound
        Naming the known engines when ``name`` is unknown (also a ``KeyError``).
    MissingDependency
        When the engine needs an optional package that is not installed (``pip install 'commlab[spark]'``).

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c04"])
    >>> engine = cl.get_engine("duckdb", memory_limit="2GB")
    >>> features = engine.member_features(ds.events_source, ds.members, as_of="2024-06-30T16:00:00Z")
    >>> len(features) == len(ds.members)
    True
    """
    try:
        factory = ENGINES[name]
    except KeyError:
        raise EngineNotFound(name, ENGINES) from None
    require_engine_packages(name)
    return factory(**kwargs)
