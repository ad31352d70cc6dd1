"""A folder of validated data sets, so that the notebooks of one run read and check the data once.

A playbook run executes several notebooks, each in its own kernel, and each loads the same data
folder with :func:`commlab.data.load_dataset`. For a large event log, reading, coercing,
validating and sorting it is most of a notebook's start-up (about 16 s at 5 M events). When
a load is given a cache folder (``load_dataset(..., cache=)``: the runner names a temporary folder
for the duration of a run in :data:`CACHE_ENV`, removes it afterwards, and each notebook passes
``settings_from_env().cache_dir`` on), the first load writes the validated tables there as Parquet,
and the later loads of the same files read them back instead. The events are not read back whole:
the data set holds them as a :class:`~commlab.data.stored.StoredEvents`, which the engines read
in place and which is read into pandas only where a DataFrame is asked for.

An entry is keyed by the sha256 of the three input files, the time zone and the loader's
version, so a changed file is never served from the cache. Writing an entry is atomic (a
temporary folder renamed into place); a failure to write or read one is only logged, and the
data are then loaded the normal way.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from commlab.data.dataset import Dataset
from commlab.data.stored import KEYS_FILE, StoredEvents
from commlab.errors import InvalidArgument
from commlab.settings import CACHE_ENV  # re-exported: the variable the boundary reads the folder from

__all__ = ["CACHE_ENV", "TABLES_DIR", "TABLES_LOG", "cache_dir", "cache_key", "layout_key", "read_cached",
           "table_log", "write_cached"]

logger = logging.getLogger(__name__)

#: Bumped whenever loading or validation changes what a loaded data set holds (3: the events stored with
#: integer member keys, :data:`commlab.data.stored.KEYS_FILE`).
CACHE_VERSION = 3
_TABLES = ("communities", "members", "events")
#: Sub-folder of the cache holding the tables the engines compute once per run (:mod:`commlab.engines.runcache`).
TABLES_DIR = "tables"
#: The log of their lookups in that folder, one JSON object a line.
TABLES_LOG = "log.jsonl"


def cache_dir(cache: str | Path | None = None) -> Path | None:
    """The cache folder ``cache`` as a Path; ``None`` (or empty): no cache.

    The environment is not read here: the boundary passes the folder on
    (:func:`commlab.settings.settings_from_env`).
    """
    return Path(cache) if cache else None


def cache_key(files: dict[str, str], sha256: dict[str, str], tz: str) -> str:
    """The entry name for these input files (their names and contents) read in ``tz``."""
    return _digest({"tz": tz, "files": {t: [Path(files[t]).name, sha256[files[t]]] for t in _TABLES}})


def layout_key(layout: str, sha256: dict[str, str]) -> str:
    """The entry name for a folder read by an importer (``layout``), from every file's sha256.

    Parameters
    ----------
    layout : str
        The reader, e.g. ``"se_180d"``.
    sha256 : dict
        Path of each file relative to the folder -> its sha256.
    """
    return _digest({"layout": layout, "files": sha256})


def _digest(parts: dict) -> str:
    """A 32-hex entry name for ``parts`` and the cache version."""
    return hashlib.sha256(json.dumps({"version": CACHE_VERSION, **parts}, sort_keys=True).encode()).hexdigest()[:32]


def read_cached(folder: Path, key: str) -> Dataset | None:
    """The data set stored under ``key``, or ``None`` when there is none (or it cannot be read)."""
    entry = folder / key
    if not (entry / "dataset.json").is_file():
        return None
    try:
        meta = json.loads((entry / "dataset.json").read_text(encoding="utf-8"))
        frames = {t: pd.read_parquet(entry / f"{t}.parquet") for t in ("communities", "members")}
        events = entry / "events.parquet"
        # the events stay in the file: check its footer and columns now, read its rows when needed
        names = set(pq.ParquetFile(events).schema_arrow.names)
        if missing := sorted(set(meta["event_columns"]) - names):
            raise InvalidArgument(f"events.parquet lacks {', '.join(missing)}")
    except Exception as exc:  # noqa: BLE001 - any unreadable entry: load the files instead
        logger.warning("data cache entry %s unreadable (%s: %s); loading the files", entry, type(exc).__name__, exc)
        return None
    return Dataset(frames["communities"], frames["members"], StoredEvents(events, cache=folder),
                   meta["files"], meta["sha256"], meta["encodings"], meta["tz"])


def write_cached(folder: Path, key: str, ds: Dataset, *, events_file: Path | None = None) -> Path | None:
    """Store ``ds`` under ``key`` (atomically); returns the entry, or ``None`` if it could not be written.

    Parameters
    ----------
    folder : Path
        The cache folder.
    key : str
        The entry name (:func:`cache_key`).
    ds : Dataset
        The validated data set.
    events_file : Path, optional
        Its events already validated and ordered in a Parquet file on the same file system
        (:mod:`commlab.data.streamed`): moved into the entry instead of writing ``ds.events``
        (which is then never read), with their member keys (:data:`~commlab.data.stored.KEYS_FILE`
        beside it) when the import assigned them. Moved back if the entry cannot be completed.
    """
    entry = folder / key
    if entry.exists():
        return entry
    tmp = folder / f".tmp-{key}-{uuid.uuid4().hex[:8]}"
    moved = False
    keys: Path | None = None
    try:
        tmp.mkdir(parents=True)
        for t in ("communities", "members"):
            getattr(ds, t).to_parquet(tmp / f"{t}.parquet", index=False)
        if events_file is None:
            ds.events.to_parquet(tmp / "events.parquet", index=False)
            columns = [str(c) for c in ds.events.columns]
        else:
            columns = pq.read_schema(events_file).names
        meta = {"files": ds.files, "sha256": ds.sha256, "encodings": ds.encodings, "tz": ds.tz,
                "event_columns": columns}
        (tmp / "dataset.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        keys = None if events_file is None else events_file.with_name(KEYS_FILE)
        if keys is not None and keys.is_file():
            os.replace(keys, tmp / KEYS_FILE)
        if events_file is not None:
            os.replace(events_file, tmp / "events.parquet")
            moved = True
        os.replace(tmp, entry)
        return entry
    except Exception as exc:  # noqa: BLE001 - e.g. an extra column pyarrow cannot store: no cache
        logger.warning("data set not cached in %s (%s: %s)", folder, type(exc).__name__, exc)
        if keys is not None and (tmp / KEYS_FILE).is_file():
            os.replace(tmp / KEYS_FILE, keys)
        if moved:
            os.replace(tmp / "events.parquet", events_file)
        return entry if (entry / "dataset.json").is_file() else None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def table_log(folder: str | Path | None = None, *, start: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The lookups logged by the engines (:mod:`commlab.engines.runcache`) from byte ``start`` on.

    Returns the entries and the offset after them.

    Parameters
    ----------
    folder : str or Path, optional
        The data cache folder; ``None``: no cache (nothing logged).
    start : int
        Byte offset in the log (the value an earlier call returned), to read one step's lookups.
    """
    base = cache_dir(folder)
    log = base / TABLES_DIR / TABLES_LOG if base is not None else None
    if log is None or not log.is_file():
        return [], start
    with open(log, "rb") as fh:
        fh.seek(start)
        data = fh.read()
    entries = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries, start + len(data)
