"""Loading a data folder into one validated :class:`Dataset`.

A data folder holds ``communities``, ``members`` and ``events``, each as
``.parquet``, ``.csv`` or ``.csv.gz``. :func:`load_dataset` reads all three,
coerces types (ids to text, times to UTC, amounts to numbers), validates
them lazily and either returns a complete :class:`Dataset` or raises one
:class:`~commlab.errors.DataValidationError` listing every problem. Nothing
is half-loaded.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from commlab.data import schema as S
from commlab.data.cache import cache_dir, cache_key, read_cached, write_cached
from commlab.data.coerce import check_table, coerce_table, empty_table
from commlab.data.dataset import DEFAULT_TZ, Dataset, DataSummary, _time_span
from commlab.data.io import find_table_file, read_raw_table, sha256_file
from commlab.data.schema import Col
from commlab.data.stored import KEYS_FILE, StoredEvents, TemporaryFolder
from commlab.data.streamed import CHUNK_ROWS, StreamedEvents, stream_events
from commlab.data.validate import cross_table_problems, member_cross_problems
from commlab.errors import CommlabError, DataValidationError, MalformedFile, Problem, UsageError
from commlab.settings import STREAM_ENV  # re-exported: the variable the boundary reads the choice from

__all__ = ["Dataset", "DataSummary", "check_dataset", "load_dataset", "coerce_table", "DEFAULT_TZ", "STREAM_ENV"]

#: Environment variable choosing when events are streamed: ``auto`` (default), ``always`` or ``never``.
#: ``auto`` streams Parquet event files with at least this many rows ...
STREAM_MIN_ROWS = 5_000_000
#: ... and CSV event files of at least this many bytes (about 5 M events).
STREAM_MIN_BYTES = 512 * 2**20


def _by_community_and_time(events: pd.DataFrame) -> pd.DataFrame:
    """``events`` in (``community_id``, ``ts``) order, ties kept in file order, with a new RangeIndex.

    The order is computed on integers (community codes and epoch nanoseconds: two stable
    passes, the second a radix sort of small codes) rather than by sorting the id strings, and
    events already in that order are not copied. Otherwise the columns are moved one at a time,
    each original released once its reordered copy exists, so the table is never held twice
    (moving two at a time in threads was measured: 10 s faster at 50 M events, 1.1 GB higher
    peak); columns with no value are not reordered. When reordered, ``events`` is emptied (the
    caller must not use it afterwards). Requires validated events (no missing ``community_id``
    or ``ts``).
    """
    codes, uniques = pd.factorize(events[Col.community_id], sort=True)
    ts = pd.DatetimeIndex(events["ts"]).asi8
    same_community = codes[1:] == codes[:-1]
    if bool(np.all((codes[1:] > codes[:-1]) | (same_community & (ts[1:] >= ts[:-1])))):
        return events.reset_index(drop=True)
    small = codes.astype(np.uint16) if len(uniques) < 2**16 else codes
    order = np.argsort(ts, kind="stable")
    order = order[np.argsort(small[order], kind="stable")]
    del codes, ts, same_community, small
    moved: dict[str, object] = {}
    for name in list(events.columns):
        column = events.pop(name).array
        # a column with no value (an optional column the file lacks) is the same in any order
        moved[name] = column if bool(column.isna().all()) else column.take(order)
    return pd.DataFrame(moved, copy=False)


def check_time_zone(tz: str) -> str:
    """``tz`` if it names a time zone.

    Raises
    ------
    UsageError
        If it does not (with the form to use instead).
    """
    try:
        pd.Timestamp("2020-01-01").tz_localize(tz)
    except Exception as exc:  # noqa: BLE001 - any failure means an unknown zone
        raise UsageError(f"unknown time zone {tz!r}: use an IANA name such as Asia/Shanghai or UTC") from exc
    return tz


def load_dataset(data_dir: str | Path, *, tz: str = DEFAULT_TZ, communities: list[str] | None = None,
                 cache: str | Path | None = None, stream: bool | None = None,
                 chunk_rows: int = CHUNK_ROWS) -> Dataset:
    """Read and validate the three tables of ``data_dir``.

    Parameters
    ----------
    data_dir : str or Path
        Folder holding ``communities``, ``members`` and ``events`` as
        ``.parquet``, ``.csv`` or ``.csv.gz``. CSV may be UTF-8 (with or
        without BOM) or GBK/GB18030.
    tz : str, default "Asia/Shanghai"
        Zone in which naive times are read. Stored times are UTC.
    communities : list of str, optional
        Keep only these community ids (after validating everything).
    cache : str or Path, optional
        Folder of validated data sets (:mod:`commlab.data.cache`); default none. ``commlab run``
        names one for its notebooks in ``COMMLAB_DATA_CACHE``, which a notebook reads with
        :func:`commlab.settings.settings_from_env` and passes on (``**settings.load_options()``).
        Files already loaded and validated there, unchanged (same sha256) and read in the same
        ``tz``, are read back instead of being validated again.
    stream : bool, optional
        Validate the events chunk by chunk into an ordered Parquet file
        (:mod:`commlab.data.streamed`) instead of loading them whole into pandas: the same
        checks, problems and order, with memory bounded by ``chunk_rows`` (50 M events: 8.3 GB
        whole). The data set then holds its events as
        :class:`~commlab.data.stored.StoredEvents`, in the cache entry, or without a cache in a
        temporary folder removed once nothing refers to those events (or at exit). Default
        ``None``: stream Parquet files of at least :data:`STREAM_MIN_ROWS` rows and CSV files of
        at least :data:`STREAM_MIN_BYTES` bytes (a quarter of that gzipped).
    chunk_rows : int, default :data:`commlab.data.streamed.CHUNK_ROWS`
        Rows per chunk when streaming.

    Returns
    -------
    Dataset

    Raises
    ------
    UsageError
        If ``data_dir`` does not exist or ``tz`` is not a known zone.
    DataValidationError
        Listing every problem found in every file.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c01", "c04"])
    >>> ds.communities["community_id"].tolist(), len(ds.members), len(ds.events)
    (['c01', 'c04'], 2808, 106779)
    """
    d, paths = _data_files(data_dir, tz)
    sha = {str(p): sha256_file(p) for p in paths.values() if p is not None}
    folder = cache_dir(cache)
    key = None
    if folder is not None and all(p is not None for p in paths.values()):
        key = cache_key({n: str(p) for n, p in paths.items()}, sha, tz)
        hit = read_cached(folder, key)
        if hit is not None:
            return hit.subset(communities)

    streamed = _streams(paths["events"], stream)
    frames, files, encodings, problems = _read_tables(d, paths, tz, skip_events=streamed)
    if not streamed:
        events = _by_community_and_time(_whole_events_checked(d, frames, files, problems))
        ds = Dataset(frames["communities"], frames["members"], events, files, sha, encodings, tz)
        if key is not None:
            write_cached(folder, key, ds)
        return ds.subset(communities)
    return _load_streamed(d, paths["events"], frames, files, sha, encodings, problems,
                          tz=tz, folder=folder, key=key, chunk_rows=chunk_rows).subset(communities)


def check_dataset(data_dir: str | Path, *, tz: str = DEFAULT_TZ, stream: bool | None = None,
                  chunk_rows: int = CHUNK_ROWS) -> DataSummary:
    """Validate the three tables of ``data_dir`` as :func:`load_dataset` does, keeping only a summary.

    The same reading, checks and errors, without what a load needs afterwards: the events are
    not ordered, and when checked chunk by chunk (``stream``, as in :func:`load_dataset`) they are
    not written anywhere, so a large file needs neither the time nor the disk space of its ordered
    copy. ``commlab validate`` uses it.

    Parameters
    ----------
    data_dir, tz, stream, chunk_rows
        As :func:`load_dataset`.

    Returns
    -------
    DataSummary

    Raises
    ------
    UsageError
        If ``data_dir`` does not exist or ``tz`` is not a known zone.
    DataValidationError
        Listing every problem found in every file.
    """
    d, paths = _data_files(data_dir, tz)
    streamed = _streams(paths["events"], stream)
    frames, files, encodings, problems = _read_tables(d, paths, tz, skip_events=streamed)
    if not streamed:
        stats = _time_span(_whole_events_checked(d, frames, files, problems)["ts"])
    else:
        work = Path(tempfile.mkdtemp(prefix="commlab-check-"))
        try:
            got = _stream_checked(d, paths["events"], frames, files, encodings, problems, tz=tz, work=work,
                                  chunk_rows=chunk_rows, write=False)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        stats = (got.rows, got.first, got.last)  # first/last are None without events
    return DataSummary(len(frames["communities"]), len(frames["members"]), *stats)


def _whole_events_checked(d: Path, frames: dict[str, pd.DataFrame], files: dict[str, str],
                          problems: list[Problem]) -> pd.DataFrame:
    """The events of ``frames`` (taken out of it), after the cross-table checks; any problem raises."""
    problems.extend(cross_table_problems(frames["communities"], frames["members"], frames["events"], files))
    if problems:
        raise DataValidationError(problems, source=str(d))
    return frames.pop("events")


def _data_files(data_dir: str | Path, tz: str) -> tuple[Path, dict[str, Path | None]]:
    """The data folder and its table files (``None`` where missing), after checking folder and zone."""
    d = Path(data_dir)
    if not d.is_dir():
        raise UsageError(f"data folder not found: {d}")
    check_time_zone(tz)
    return d, {name: find_table_file(d, name) for name in S.TABLES}


def _read_tables(d: Path, paths: dict[str, Path | None], tz: str, *, skip_events: bool
                 ) -> tuple[dict[str, pd.DataFrame], dict[str, str], dict[str, str], list[Problem]]:
    """Read, coerce and check each table (not the events when ``skip_events``: they are streamed).

    Returns the coerced tables (an empty stand-in where a file is missing or unreadable), the
    file of each table, the encodings read and the per-table problems.
    """
    problems: list[Problem] = []
    frames: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    encodings: dict[str, str] = {}
    for name, table in S.TABLES.items():
        path = paths[name]
        if path is None:
            problems.append(Problem(str(d / f"{name}.csv"), "", "missing file",
                                    fix=f"add {name}.csv or {name}.parquet to {d}"))
            frames[name] = empty_table(table)
            files[name] = str(d / f"{name}.csv")
            continue
        files[name] = str(path)
        if name == "events" and skip_events:
            continue  # checked against the other two tables chunk by chunk, after them
        try:
            raw, enc = read_raw_table(path)
        except Exception as exc:  # noqa: BLE001 - a corrupt file of any kind
            problems.append(_unreadable(path, exc))
            frames[name] = empty_table(table)
            continue
        encodings[name] = enc
        coerced, found = check_table(raw, table, str(path), tz)
        del raw  # the coerced columns replace the raw ones: do not hold both
        problems.extend(found)
        frames[name] = coerced
    return frames, files, encodings, problems


def _unreadable(path: Path, exc: Exception) -> Problem:
    """The problem of a file that could not be read at all."""
    if isinstance(exc, UnicodeDecodeError):
        return Problem(str(path), "", "unknown text encoding", fix=exc.reason)
    return Problem(str(path), "", f"unreadable file ({type(exc).__name__}: {exc})",
                   fix="check that the file is a complete CSV or Parquet file")


def _streams(events: Path | None, stream: bool | None) -> bool:
    """Whether to validate the events chunk by chunk (:mod:`commlab.data.streamed`)."""
    if events is None:
        return False
    if stream is None:
        if events.suffix == ".parquet":
            try:
                return pq.ParquetFile(events).metadata.num_rows >= STREAM_MIN_ROWS
            except Exception:  # noqa: BLE001 - not readable as Parquet: the normal path reports it
                return False
        limit = STREAM_MIN_BYTES // 4 if events.suffix == ".gz" else STREAM_MIN_BYTES
        return events.stat().st_size >= limit
    return bool(stream)


def _stream_checked(d: Path, path: Path, frames: dict[str, pd.DataFrame], files: dict[str, str],
                    encodings: dict[str, str], problems: list[Problem], *, tz: str, work: Path, chunk_rows: int,
                    write: bool) -> StreamedEvents:
    """Check the events at ``path`` chunk by chunk (writing them ordered to ``work`` when ``write``).

    ``problems`` holds the other tables' problems; the events' own and the cross-table ones are
    added in the order a whole load lists them, and any problem raises.
    """
    try:
        got = stream_events(path, communities=frames["communities"], members=frames["members"], files=files,
                            tz=tz, work_dir=work, chunk_rows=chunk_rows, write=write and not problems)
    except MalformedFile as exc:  # a CSV the reader cannot split: a problem of the file
        problems.append(_unreadable(path, exc))
        got = None
    except CommlabError:
        raise  # the events could not be written: not a problem of the file
    except Exception as exc:  # noqa: BLE001 - a corrupt file of any kind
        problems.append(_unreadable(path, exc))
        got = None
    if got is not None:
        encodings["events"] = got.encoding
        problems.extend(got.problems)
    problems.extend(member_cross_problems(frames["communities"], frames["members"], files))
    if got is not None:
        problems.extend(got.cross_problems)
    if problems:
        raise DataValidationError(problems, source=str(d))
    assert got is not None
    return got


def _load_streamed(d: Path, path: Path, frames: dict[str, pd.DataFrame], files: dict[str, str],
                   sha: dict[str, str], encodings: dict[str, str], problems: list[Problem], *, tz: str,
                   folder: Path | None, key: str | None, chunk_rows: int) -> Dataset:
    """Validate the events at ``path`` chunk by chunk; the data set holds them in a Parquet file.

    With a cache folder the ordered events go into its entry (:func:`write_cached`), where a
    later load of the same files finds them; without one
    (or when the entry cannot be written) they stay in a temporary folder, removed when no
    :class:`StoredEvents` refers to it any more (:class:`~commlab.data.stored.TemporaryFolder`).
    """
    work = _work_folder(folder)
    try:
        got = _stream_checked(d, path, frames, files, encodings, problems, tz=tz, work=work,
                              chunk_rows=chunk_rows, write=True)
        assert got.path is not None
        ds = Dataset(frames["communities"], frames["members"], StoredEvents(got.path), files, sha, encodings, tz)
        entry = write_cached(folder, key, ds, events_file=got.path) if folder is not None and key else None
        if entry is not None:  # the events now live in the entry (communities and members are in hand)
            ds.events = StoredEvents(entry / "events.parquet", cache=folder)
            return ds
        # removed with the last StoredEvents that refers to it (or at exit), not kept for the session
        keep = TemporaryFolder(tempfile.mkdtemp(prefix="commlab-events-"))
        shutil.move(got.path, keep.path / "events.parquet")  # the work folder may be on another file system
        if (keys := got.path.with_name(KEYS_FILE)).is_file():  # the member keys stay beside the events
            shutil.move(keys, keep.path / KEYS_FILE)
        return Dataset(frames["communities"], frames["members"], StoredEvents(keep.path / "events.parquet", owner=keep),
                       files, sha, encodings, tz)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _work_folder(folder: Path | None) -> Path:
    """A new folder to stream the events in: in the cache folder (the result moves into an entry), else temporary."""
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix=".stream-", dir=folder))
        except OSError:
            pass
    return Path(tempfile.mkdtemp(prefix="commlab-stream-"))
