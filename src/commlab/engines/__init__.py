"""Engines that run commlab's single SQL definitions of features and metrics.

``duckdb`` (:class:`~commlab.engines.duck.DuckDBEngine`) runs them in process over
DataFrames or Parquet/CSV files; ``spark`` (:class:`~commlab.engines.spark.SparkEngine`, needs
the optional ``pyspark`` and ``sqlglot``) runs the same text, transpiled by sqlglot, on a Spark
session (local or a cluster). :func:`get_engine` looks one up by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from commlab.engines.duck import DuckDBEngine

__all__ = ["DuckDBEngine", "ENGINES", "register_engine", "get_engine"]


def _spark(**kwargs: Any) -> Any:
    from commlab.engines.spark import SparkEngine

    return SparkEngine(**kwargs)


#: Engine name -> factory taking the engine's keyword arguments.
ENGINES: dict[str, Callable[..., Any]] = {"duckdb": DuckDBEngine, "spark": _spark}


def register_engine(name: str, factory: Callable[..., Any]) -> None:
    """Make ``get_engine(name)`` return ``factory(**kwargs)``."""
    ENGINES[name] = factory


def get_engine(name: str = "duckdb", **kwargs: Any) -> Any:
    """A new engine called ``name`` with ``kwargs`` (e.g. ``memory_limit="2GB"``).

    Raises
    ------
    KeyError
        Naming the known engines when ``name`` is unknown.
    """
    try:
        factory = ENGINES[name]
    except KeyError:
        raise KeyError(f"unknown engine {name!r}; known: {', '.join(ENGINES)}") from None
    return factory(**kwargs)
