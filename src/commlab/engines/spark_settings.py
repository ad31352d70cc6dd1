"""The settings of a Spark run, checked before any session starts (no pyspark import here).

A playbook names them in its ``engine`` section (or a file it names), ``commlab run -p engine_options``
passes them, and :class:`commlab.engines.spark.SparkEngine` takes them as keyword arguments:

``master``
    ``local``, ``local[N]``, ``local[*]``, ``spark://host:7077`` (a standalone master, several hosts
    comma-separated for a standby), ``yarn``, ``k8s://https://host:port``.
``driver_memory``, ``executor_memory``
    JVM sizes: a whole number and a unit, ``512m``, ``1g``, ``8g`` (Spark's ``spark.driver.memory``,
    ``spark.executor.memory``).
``scratch``
    Where the engine stages what the executors read: the run's stored events and the small tables
    it hands to Spark. A local folder in local mode; storage every executor reads on a cluster
    (``hdfs://namenode:8020/path``, ``s3a://bucket/path``, ``abfss://...``, ``gs://...``; ``file:///path``
    for a folder every machine mounts at the same path, e.g. NFS, or a standalone cluster on one machine).
``conf``
    Further ``spark.*`` settings (``spark.sql.shuffle.partitions: 400``).

Every check raises :class:`~commlab.errors.InvalidArgument` naming the setting, the value and a
correct spelling; a playbook reports it as a :class:`~commlab.errors.PlaybookError` (exit code 4).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from commlab.errors import InvalidArgument

__all__ = ["STORAGE_SCHEMES", "check_spark_settings", "is_local_master", "spark_conf"]

_MASTER = re.compile(
    r"^(?:local(?:\[(?:\*|[1-9]\d*)(?:,[1-9]\d*)?\])?"       # local, local[2], local[*], local[2,3]
    r"|spark://[A-Za-z0-9.\-]+(?::\d{1,5})?(?:,[A-Za-z0-9.\-]+(?::\d{1,5})?)*"  # standalone (with standbys)
    r"|yarn"
    r"|k8s://https?://[A-Za-z0-9.\-]+(?::\d{1,5})?/?)$"
)
_MEMORY = re.compile(r"^[1-9]\d*[kmgt]$", re.IGNORECASE)

#: URI schemes of storage Spark's executors read (Hadoop file systems); ``file`` for local folders.
STORAGE_SCHEMES: tuple[str, ...] = ("hdfs", "s3a", "abfs", "abfss", "wasbs", "gs", "viewfs", "file")

#: ``conf`` keys a named setting sets: one spelling only (``spark.master`` always through ``master``).
_NAMED = {"spark.master": "master", "spark.driver.memory": "driver_memory",
          "spark.executor.memory": "executor_memory"}

_MASTER_FIX = "local[2], local[*], spark://host:7077, yarn or k8s://https://host:6443"


def is_local_master(master: str | None) -> bool:
    """Whether ``master`` runs Spark inside this machine's driver process (``local``, ``local[N]``)."""
    return master is None or master == "local" or master.startswith("local[")


def _check_uri(what: str, value: str) -> None:
    text = str(value).strip()
    if not text:
        raise InvalidArgument(f"{what}: empty; give a folder (local mode) or hdfs://namenode:8020/path, s3a://bucket/path")
    scheme = urlparse(text).scheme
    if len(scheme) <= 1:  # a local path (a Windows drive letter is a one-letter scheme)
        return
    if scheme in ("s3", "s3n"):
        raise InvalidArgument(f"{what}: {text!r}: Spark reads S3 through the s3a connector; write "
                              f"{'s3a' + text[len(scheme):]!r} (s3:// is DuckDB's spelling)")
    if scheme not in STORAGE_SCHEMES:
        raise InvalidArgument(f"{what}: {text!r}: unknown storage scheme {scheme!r}; use one of "
                              f"{', '.join(s + '://' for s in STORAGE_SCHEMES)} or a local folder")
    if scheme not in ("file", "hdfs", "viewfs") and not urlparse(text).netloc:  # hdfs:///x: the default FS
        raise InvalidArgument(f"{what}: {text!r} names no host or bucket; e.g. hdfs://namenode:8020/commlab/scratch, "
                              f"s3a://my-bucket/commlab/scratch")


def check_spark_settings(*, master: str | None = None, driver_memory: str | None = None,
                         executor_memory: str | None = None, scratch: str | None = None,
                         conf: Mapping[str, Any] | None = None) -> None:
    """Check Spark settings without starting Spark.

    Raises
    ------
    InvalidArgument
        For a master URL Spark does not know, a memory size without a unit or in another
        spelling (``1 GB``, ``1024``), a scratch folder on ``s3://`` (Spark writes ``s3a://``) or
        an unknown scheme, a cluster master without a scratch folder the executors can read, a
        ``conf`` key outside ``spark.*`` or one a named setting sets, a non-scalar ``conf`` value,
        or a session time zone other than UTC.
    """
    if master is not None and (not isinstance(master, str) or not _MASTER.match(master.strip())):
        raise InvalidArgument(f"engine master: {master!r} is not a Spark master URL; use {_MASTER_FIX}")
    conf = dict(conf or {})
    for key, name in _NAMED.items():
        if key in conf and (key == "spark.master" or {"master": master, "driver_memory": driver_memory,
                                                          "executor_memory": executor_memory}[name] is not None):
            raise InvalidArgument(f"engine conf: set {key!r} with the setting {name!r} only")
    driver_memory = conf.pop("spark.driver.memory", driver_memory)
    executor_memory = conf.pop("spark.executor.memory", executor_memory)
    for what, value in (("driver_memory", driver_memory), ("executor_memory", executor_memory)):
        if value is not None and (not isinstance(value, str) or not _MEMORY.match(value.strip())):
            raise InvalidArgument(f"engine {what}: {value!r} is not a JVM memory size; write a whole number and a "
                                  f"unit, e.g. 512m, 1g, 8g")
    if scratch is not None:
        _check_uri("engine scratch", str(scratch))
    if not is_local_master(master) and (scratch is None or urlparse(str(scratch)).scheme in ("", "file")
                                        and not str(scratch).startswith("file://")):
        raise InvalidArgument(
            f"engine scratch: with master {master!r} the executors run on other machines and cannot read a local "
            f"folder ({scratch!r}); set scratch to storage they read, e.g. hdfs://namenode:8020/commlab/scratch, "
            f"s3a://my-bucket/commlab/scratch, or file:///mnt/shared/commlab for a folder every machine mounts")
    for key, value in conf.items():
        if not isinstance(key, str) or not key.startswith("spark."):
            raise InvalidArgument(f"engine conf: {key!r} is not a Spark setting (they start with 'spark.')")
        if not isinstance(value, (str, int, float, bool)):
            raise InvalidArgument(f"engine conf: {key}: expected a text, number or true/false, given "
                                  f"{type(value).__name__}")
        if key == "spark.sql.session.timeZone" and str(value) != "UTC":
            raise InvalidArgument(f"engine conf: spark.sql.session.timeZone must be UTC for commlab's definitions, "
                                  f"given {value!r}")


def spark_conf(*, driver_memory: str | None = None, executor_memory: str | None = None,
               conf: Mapping[str, Any] | None = None) -> dict[str, str]:
    """``conf`` with the memory settings under their Spark keys, every value as Spark's text."""
    out = {str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in (conf or {}).items()}
    if driver_memory is not None:
        out["spark.driver.memory"] = driver_memory.strip()
    if executor_memory is not None:
        out["spark.executor.memory"] = executor_memory.strip()
    return out
