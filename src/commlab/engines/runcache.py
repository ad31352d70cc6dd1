"""Tables an engine computes once per playbook run, kept as Parquet in the run's data cache.

A playbook run executes its notebooks in separate kernels, and several of them ask an engine for
the same expensive table (the member features at the analysis instant, the community metrics of
the same periods). During a run the notebooks load the data through the run's data cache
(:mod:`commlab.data.cache`) and get the validated events back as a
:class:`~commlab.data.stored.StoredEvents` that knows its cache folder (``events.cache``). When an
engine is asked for a table over such events,
:func:`cached_table` looks it up in ``<cache>/tables/`` under a key made of

* the kind of table (``member_features``, ``metrics``, ...) and :data:`TABLES_VERSION`;
* the identity of the inputs: the cache entry of the events (itself keyed by the sha256 of the data
  files and the time zone, :func:`commlab.data.cache.cache_key`) with their community restriction,
  and a hash of the content of every in-memory table passed along (members, communities);
* the parameters (instant, window, metric ids, staff roles, ...).

The first call computes the table and writes it (atomically: a temporary file renamed into place);
later calls with the same key, in this notebook or a later one, read the Parquet file instead. Every
lookup is appended to ``<cache>/tables/log.jsonl`` (``computed`` or ``read``, the seconds it took,
the rows), which the runner copies into each step's record of ``manifest.json`` (``tables``).
Outside a run (no cache folder, events in a DataFrame or in files of the user's) nothing is cached.
A table that cannot be written or read back is only logged: the caller then gets the computed one.

**Period sets computed in one pass.** The notebooks of one playbook ask for the community metrics of
different periods (the demo's notebook 03 the calendar months, 04 one period up to the instant, 05 the
last 30 days). Each notebook declares the sets it asks for in its own metadata
(``metadata.commlab.period_sets``, read and resolved against the step's parameters by
:func:`commlab.plan.notebook_period_sets`); at the start of a run the runner declares the sets of all
its steps here (:func:`declare_period_sets`). This module knows no notebook: it keeps what it is told. The first
metric request of the run that is not yet stored then computes the sets declared and not stored
together with its own in one engine pass (one prelude, one edge table) and stores each under the key a
request for it alone has (:func:`store_table`, logged ``computed (with another request)``), so the
later steps read theirs. A request outside the declared sets is computed alone, as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from commlab.data.cache import TABLES_DIR, TABLES_LOG, table_log
from commlab.data.stored import StoredEvents

__all__ = ["PERIOD_SETS_FILE", "TABLES_DIR", "TABLES_VERSION", "cached_table", "declare_period_sets",
           "declared_period_sets", "frame_digest", "period_set", "run_tables", "store_table", "stored", "table_log"]

logger = logging.getLogger(__name__)

#: Bumped whenever a cached table's definition changes in a way its parameters do not show.
TABLES_VERSION = 3
#: The run's declared metric period sets, in the tables folder (:func:`declare_period_sets`).
PERIOD_SETS_FILE = "period_sets.json"


def run_tables(events: Any) -> Path | None:
    """The folder of the run's tables when ``events`` are stored events of a data cache, else ``None``."""
    if not isinstance(events, StoredEvents) or events.cache is None:
        return None
    folder = events.cache
    try:
        events.path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return None
    return folder / TABLES_DIR


def frame_digest(frame: pd.DataFrame) -> str:
    """A sha256 of a DataFrame's columns, dtypes and values (row order included, index ignored)."""
    h = hashlib.sha256(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, pd.DataFrame):
        return {"frame": frame_digest(value)}
    if isinstance(value, pd.Series):
        return {"series": {str(k): _jsonable(v) for k, v in value.items()}}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def _key(kind: str, events: StoredEvents, inputs: Mapping[str, Any], params: Mapping[str, Any]) -> str:
    folder = events.cache
    where = str(events.path.resolve().relative_to(folder.resolve())) if folder is not None else str(events.path)
    parts = {"version": TABLES_VERSION, "kind": kind, "events": [where, events.communities],
             "inputs": _jsonable(dict(inputs)), "params": _jsonable(dict(params))}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


def _log(folder: Path, entry: dict[str, Any]) -> None:
    try:
        with open(folder / TABLES_LOG, "a", encoding="utf-8") as fh:  # one short line per append
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
    except OSError as exc:
        logger.warning("run table log not written in %s: %s", folder, exc)


def cached_table(kind: str, events: Any, compute: Callable[[], pd.DataFrame], *,
                 inputs: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None,
                 keep: Callable[[], bool] | None = None) -> pd.DataFrame:
    """``compute()``, or the table an earlier call of the run computed with the same inputs and parameters.

    Parameters
    ----------
    kind : str
        What the table is (``"member_features"``, ``"metrics"``, ...): part of the key and of the log.
    events : Any
        The events the table is computed from; only :class:`~commlab.data.stored.StoredEvents` of the
        run's data cache make the table cacheable.
    compute : callable
        Computes the table (a DataFrame).
    inputs : mapping, optional
        The other tables it reads (DataFrames are keyed by a hash of their content).
    params : mapping, optional
        Everything else the result depends on (plain values, Timestamps, Series).
    keep : callable, optional
        Asked after computing: a false answer leaves the table unstored (e.g. an engine that
        could not compute some of its metrics, so a later ask tries and reports them again).

    Returns
    -------
    DataFrame
        Equal to ``compute()`` (dtypes included: the Parquet file keeps pandas' metadata).
    """
    folder = run_tables(events)
    if folder is None:
        return compute()
    t0 = time.perf_counter()
    key = _key(kind, events, inputs or {}, params or {})
    path = folder / f"{kind}-{key}.parquet"
    if path.is_file():
        try:
            table = pd.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - an unreadable file: compute the table again
            logger.warning("run table %s unreadable (%s: %s); computing it", path, type(exc).__name__, exc)
        else:
            _log(folder, {"kind": kind, "key": key, "status": "read", "rows": len(table), "pid": os.getpid(),
                          "seconds": round(time.perf_counter() - t0, 3)})
            return table
    table = compute()
    seconds = time.perf_counter() - t0
    if keep is not None and not keep():
        _log(folder, {"kind": kind, "key": key, "status": "computed, not kept", "rows": len(table),
                      "pid": os.getpid(), "seconds": round(seconds, 3)})
        return table
    _write(folder, path, key, table)
    _log(folder, {"kind": kind, "key": key, "status": "computed", "rows": len(table), "pid": os.getpid(),
                  "seconds": round(seconds, 3)})
    return table


def _write(folder: Path, path: Path, key: str, table: pd.DataFrame) -> None:
    tmp = folder / f".tmp-{key}-{uuid.uuid4().hex[:8]}.parquet"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        table.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except Exception as exc:  # noqa: BLE001 - e.g. a full disk: the caller still gets its table
        logger.warning("run table %s not written (%s: %s)", path, type(exc).__name__, exc)
        tmp.unlink(missing_ok=True)


def stored(kind: str, events: Any, *, inputs: Mapping[str, Any] | None = None,
           params: Mapping[str, Any] | None = None) -> bool:
    """Whether the run already holds the table :func:`cached_table` would read for these arguments."""
    folder = run_tables(events)
    if folder is None:
        return False
    return (folder / f"{kind}-{_key(kind, events, inputs or {}, params or {})}.parquet").is_file()


def store_table(kind: str, events: Any, table: pd.DataFrame, *, inputs: Mapping[str, Any] | None = None,
                params: Mapping[str, Any] | None = None, seconds: float = 0.0) -> None:
    """Keep ``table``, computed along with another request, under the key a request for it alone has.

    A later :func:`cached_table` call with these ``inputs`` and ``params`` reads it. Logged with the
    status ``computed (with another request)``; ``seconds`` is the share of the pass it stands for.
    Outside a run nothing is stored.
    """
    folder = run_tables(events)
    if folder is None:
        return
    key = _key(kind, events, inputs or {}, params or {})
    _write(folder, folder / f"{kind}-{key}.parquet", key, table)
    _log(folder, {"kind": kind, "key": key, "status": "computed (with another request)", "rows": len(table),
                  "pid": os.getpid(), "seconds": round(seconds, 3)})


# --------------------------------------------------------------------------- period sets


def period_set(window: Any = None, last_days: Any = None) -> dict[str, Any]:
    """One metric period set as the run declares it: ``{"window": str | None, "last_days": int | None}``.

    ``window`` ``"month"``/``"week"``: the calendar periods up to the instant; ``None`` (or ``"none"``):
    one period up to it, starting ``last_days`` days before it when given, else at the start of the data.

    Examples
    --------
    >>> period_set("none", 30), period_set("month")
    ({'window': None, 'last_days': 30}, {'window': 'month', 'last_days': None})
    """
    if window is not None and str(window).strip().lower() in ("none", "all", ""):
        window = None
    return {"window": None if window is None else str(window),
            "last_days": None if last_days is None else int(last_days)}


def declare_period_sets(folder: str | Path, sets: list[Mapping[str, Any]]) -> None:
    """Declare the metric period sets of the run whose data cache is ``folder`` (see the module docstring)."""
    path = Path(folder) / TABLES_DIR / PERIOD_SETS_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        unique = []
        for s in sets:
            one = period_set(s.get("window"), s.get("last_days"))
            if one not in unique:
                unique.append(one)
        path.write_text(json.dumps(unique), encoding="utf-8")
    except OSError as exc:
        logger.warning("period sets not declared in %s: %s", path, exc)


def declared_period_sets(events: Any) -> list[dict[str, Any]]:
    """The period sets declared for the run holding ``events`` (empty outside a run or without a declaration)."""
    folder = run_tables(events)
    if folder is None or not (folder / PERIOD_SETS_FILE).is_file():
        return []
    try:
        sets = json.loads((folder / PERIOD_SETS_FILE).read_text(encoding="utf-8"))
        return [period_set(s.get("window"), s.get("last_days")) for s in sets]
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        logger.warning("period sets in %s unreadable: %s", folder, exc)
        return []
