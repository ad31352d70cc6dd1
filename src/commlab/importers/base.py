"""Shared helpers of the importers: the error, the report, validation and atomic writing.

Every importer module (one per platform export) builds three raw frames
(communities, members, events) with the canonical column names of
:mod:`commlab.data.schema`, then calls :func:`finish` which coerces them
with :func:`commlab.data.load.coerce_table`, validates them with the same
checks as :func:`commlab.data.load.load_dataset` and returns a
:class:`~commlab.data.dataset.Dataset`. Importer modules never import each
other; whatever two of them share lives here.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import reprlib
import shutil
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from commlab.data import schema as S
from commlab.data.coerce import check_table
from commlab.data.io import check_last_row, decode_bytes
from commlab.data.load import Dataset
from commlab.data.validate import cross_table_problems
from commlab.errors import DataValidationError, MalformedFile, Problem, SourceFormatError
from commlab.fmt import tally

__all__ = [
    "ImportFormatError",
    "ImportReport",
    "finish",
    "with_platform",
    "write_dataset_atomic",
    "atomic_output_dir",
    "write_report_json",
    "clean_ids",
    "open_maybe_gz",
    "read_json_file",
    "drop_rows",
    "members_from_events",
    "LARGE_INPUT_BYTES",
    "COMMUNITY_OPTIONS",
    "community_row",
    "split_options",
    "tz_option",
    "unix_to_utc",
    "LineLabels",
    "text_to_utc",
    "reply_roots",
    "ProgressReader",
    "open_with_progress",
    "decode_text",
    "read_csv_text",
    "read_bytes",
    "count_by",
    "single_community_option",
    "isin",
    "opt_bool",
    "email_hash",
    "email_hash_note",
    "preview",
    "parse_json",
    "read_capped",
    "read_zip_member",
    "MAX_INFLATED_BYTES",
    "MAX_JSON_DEPTH",
    "unix_numbers",
    "first_of_each_id",
    "note_identical_rows",
    "DUPLICATE_ID",
]

#: Inputs larger than this (bytes) show a tqdm progress bar.
LARGE_INPUT_BYTES = 20 * 1024 * 1024


class ImportFormatError(SourceFormatError):
    """A source file is not in the layout its importer expects.

    Attributes
    ----------
    file : str
        The file (or folder) at fault.
    what : str
        What is wrong with it.
    fix : str
        What to do about it (may be empty).
    record : str or None
        The record at fault, as the file shows it (``line 12``, ``row 5``, ``message 1213...``,
        ``<row> 7``), when one is.
    field : str or None
        The field, column or attribute at fault, when one is.

    The message reads ``<file>: <record>, field '<field>': <what>`` on its first line (the
    command line prints that line), then the fix.

    Examples
    --------
    >>> exc = ImportFormatError("result.json", "not a Telegram export", "export the chat as JSON", record="line 1")
    >>> exc.one_line(), exc.exit_code
    ('result.json: line 1: not a Telegram export', 3)
    """

    exit_code = 3

    def __init__(self, file: str | Path, what: str, fix: str = "", *, record: str | None = None,
                 field: str | None = None) -> None:
        self.file = str(file)
        self.what = what
        self.fix = fix
        self.record = record
        self.field = field
        where = ", ".join(x for x in (record, f"field '{field}'" if field else None) if x)
        msg = f"{self.file}: {where + ': ' if where else ''}{what}"
        if fix:
            msg += f"\n    fix: {fix}"
        super().__init__(msg)


@dataclass
class ImportReport:
    """What an import did: rows mapped per table and rows dropped, with reasons.

    Attributes
    ----------
    format : str
        Name of the importer (``"se_180d"``, ``"stackexchange_xml"``, ...).
    source : str
        The file or folder read.
    rows_read : dict
        Source part (file or record kind) to the number of records read.
    rows_mapped : dict
        Canonical table name to the number of rows written.
    dropped : dict
        Reason to the number of source records that should have become rows but were dropped
        (deleted accounts, unknown members, unparseable records).
    not_mapped : dict
        Kind to the number of source records the canonical tables have no place for
        (for example votes without a voter id); not errors.
    notes : list of str
        Mapping decisions and facts worth knowing (targets left empty, ...).
    created_at : str
        UTC time the report was made (ISO 8601).
    """

    format: str
    source: str
    rows_read: dict[str, int] = field(default_factory=dict)
    rows_mapped: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    not_mapped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    out_dir: str = ""
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def drop(self, reason: str, n: int = 1) -> None:
        """Count ``n`` source records dropped for ``reason``."""
        if n:
            self.dropped[reason] = self.dropped.get(reason, 0) + int(n)

    def skip(self, kind: str, n: int = 1) -> None:
        """Count ``n`` source records of ``kind`` that have no place in the canonical tables."""
        if n:
            self.not_mapped[kind] = self.not_mapped.get(kind, 0) + int(n)

    def read(self, part: str, n: int) -> None:
        """Count ``n`` source records read from ``part``."""
        self.rows_read[part] = self.rows_read.get(part, 0) + int(n)

    def merge(self, other: ImportReport) -> None:
        """Add the counts of ``other`` (used when several sources make one dataset)."""
        for k, v in other.rows_read.items():
            self.read(k, v)
        for k, v in other.dropped.items():
            self.drop(k, v)
        for k, v in other.not_mapped.items():
            self.skip(k, v)
        for k, v in other.rows_mapped.items():
            self.rows_mapped[k] = self.rows_mapped.get(k, 0) + v
        self.notes.extend(n for n in other.notes if n not in self.notes)

    @property
    def total_dropped(self) -> int:
        """Number of source records dropped, all reasons together."""
        return sum(self.dropped.values())

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data."""
        d = asdict(self)
        d["total_dropped"] = self.total_dropped
        return d

    def summary(self) -> str:
        """A short, human-readable account of the import."""
        mapped = ", ".join(tally(v, k) for k, v in self.rows_mapped.items())
        drop = "; ".join(f"{v} {k}" for k, v in self.dropped.items()) or "none"
        return f"{self.format} import of {self.source}: {mapped}; dropped: {drop}"

    def __repr__(self) -> str:
        return f"ImportReport({self.summary()})"


def clean_ids(values: pd.Series) -> pd.Series:
    """Ids as trimmed text; ``"9.0"`` (a float written by pandas) becomes ``"9"``, empty becomes missing."""
    txt = values.astype("string").str.strip()
    txt = txt.mask(txt == "")
    if not txt.str.contains(".", regex=False).any():
        return txt
    return txt.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)


def isin(values: pd.Series, allowed: Any) -> pd.Series:
    """``values.isin(allowed)`` through a Python hash set (much faster than Arrow-string ``isin`` on large sets)."""
    allowed_set = {str(a) for a in allowed if a is not None and a is not pd.NA}
    out = values.astype(object).map(lambda v: v in allowed_set if isinstance(v, str) else False)
    return out.astype(bool)


def drop_rows(frame: pd.DataFrame, mask: pd.Series, reason: str, report: ImportReport) -> pd.DataFrame:
    """Return ``frame`` without the rows where ``mask`` is True, counting them in ``report``."""
    mask = mask.fillna(False).astype(bool)
    report.drop(reason, int(mask.sum()))
    return frame.loc[~mask]


def members_from_events(
    events: pd.DataFrame,
    *,
    role: str = "member",
    names: pd.Series | dict | None = None,
    roles: dict[str, str] | None = None,
    left_from_events: bool = True,
) -> pd.DataFrame:
    """A members table derived from the events: one row per (community, member) seen acting or targeted.

    ``joined_at`` is the first time the member is seen (acting or being targeted),
    since the source has no join time (join events, if any, are among the events, so
    a join counts); ``left_at`` is the last ``leave`` event not followed by a ``join``;
    ``names`` optionally maps member id to a display name and
    ``roles`` member id to a role (others get ``role``).
    """
    cols = ["community_id", "member_id", "ts"]
    acting = events[cols]
    frames = [acting]
    if "target_member_id" in events.columns:
        tgt = events.loc[events["target_member_id"].notna(), ["community_id", "target_member_id", "ts"]]
        frames.append(tgt.rename(columns={"target_member_id": "member_id"}))
    allrows = pd.concat(frames, ignore_index=True)
    first = allrows.groupby(["community_id", "member_id"], sort=True)["ts"].min().reset_index()
    first = first.rename(columns={"ts": "joined_at"})
    first["role"] = role
    if roles:
        first["role"] = first["member_id"].map(roles).fillna(role).astype("string")
    if names is not None:
        first["display_name"] = first["member_id"].map(names).astype("string")
    if left_from_events and "event_type" in events.columns and (events["event_type"] == "leave").any():
        key = ["community_id", "member_id"]
        last = lambda t: events[events["event_type"] == t].groupby(key)["ts"].max()  # noqa: E731
        left, joined = last("leave"), last("join").reindex(last("leave").index)
        left = left[joined.isna() | (left >= joined)].rename("left_at").reset_index()
        first = first.merge(left, on=key, how="left")
    return first


def with_platform(events: pd.DataFrame, communities: pd.DataFrame) -> pd.DataFrame:
    """``events`` with ``platform`` filled, where empty, with its community's primary platform.

    Every importer's events say which platform they happened on (DOMAIN.md §4b: the main platform
    and the cross-platform view of a community on several): an export comes from one platform, so
    an event the importer did not tag is on its community's (the first value of ``platform``). A
    platform outside the vocabulary is left for validation to report on the communities table.

    Examples
    --------
    >>> ev = pd.DataFrame({"community_id": ["a", "a", "b"], "platform": [None, "wechat", None]})
    >>> com = pd.DataFrame({"community_id": ["a", "b"], "platform": ["qq", "discord;wechat"]})
    >>> with_platform(ev, com)["platform"].tolist()
    ['qq', 'wechat', 'discord']
    """
    if "platform" not in communities.columns or "community_id" not in events.columns \
            or "community_id" not in communities.columns:
        return events
    primary = communities["platform"].astype("string").str.split(r"[;；|、]").str[0].str.strip()
    primary = primary.where(primary.isin(S.PLATFORM.codes))
    by_id = pd.Series(primary.to_numpy(), index=communities["community_id"].astype(str).to_numpy())
    by_id = by_id[~by_id.index.duplicated()]
    fill = events["community_id"].astype(str).map(by_id)
    own = events["platform"].astype("string") if "platform" in events.columns else \
        pd.Series(pd.NA, index=events.index, dtype="string")
    out = events.copy()
    out["platform"] = pd.array(own.fillna(fill.astype("string")), dtype="string")
    return out


def finish(
    communities: pd.DataFrame,
    members: pd.DataFrame,
    events: pd.DataFrame,
    *,
    source: str,
    report: ImportReport,
    tz: str = "UTC",
    source_columns: dict[str, str] | None = None,
    keep_event_rows: bool = False,
) -> Dataset:
    """Coerce and validate the three tables exactly as :func:`load_dataset` does.

    Parameters
    ----------
    communities, members, events : DataFrame
        Raw tables with canonical column names (extra columns are kept).
    source : str
        The source file or folder, named in problems.
    report : ImportReport
        Filled with the number of rows mapped per table.
    tz : str, default "UTC"
        Zone in which naive times are read.
    source_columns : dict, optional
        Canonical column to the source's own name for it (a mapping file's ``columns``): problems
        then name both (``金额 (amount)``).
    keep_event_rows : bool, default False
        Number the events' rows in problems by their index (the row in the source file, counted
        from 0 for the first data row) rather than by position.

    Returns
    -------
    Dataset
        ``events`` sorted by community and time.

    Raises
    ------
    DataValidationError
        Listing every problem, when the mapped tables are not valid.
    """
    frames = {"communities": communities, "members": members, "events": with_platform(events, communities)}
    files = {name: f"{source} -> {name}" for name in frames}
    problems: list[Problem] = []
    out: dict[str, pd.DataFrame] = {}
    for name, table in S.TABLES.items():
        frame = frames[name]
        if not (name == "events" and keep_event_rows and frame.index.is_unique):
            frame = frame.reset_index(drop=True)
        coerced, found = check_table(frame, table, files[name], tz)
        problems.extend(found)
        out[name] = coerced
    problems.extend(cross_table_problems(out["communities"], out["members"], out["events"], files))
    if problems:
        for p in problems:
            if source_columns and p.file == files["events"] and p.column in source_columns:
                p.column = f"{source_columns[p.column]} ({p.column})"
        raise DataValidationError(problems, source=source)
    ev = out["events"].sort_values(["community_id", "ts"], kind="stable").reset_index(drop=True)
    ds = Dataset(out["communities"], out["members"], ev, files=files, tz=tz)
    report.rows_mapped = {name: len(getattr(ds, name)) for name in S.TABLES}
    return ds


@contextmanager
def atomic_output_dir(out_dir: str | Path) -> Iterator[Path]:
    """A temporary folder beside ``out_dir`` that replaces ``out_dir`` only if the block succeeds.

    Write the output files into the yielded folder; when the ``with`` block ends
    without an exception the folder is moved into place with one rename (an
    earlier import's folder is replaced). On any exception the temporary folder
    is removed and ``out_dir`` is left as it was: never a half-written output.

    Raises
    ------
    ImportFormatError
        If ``out_dir`` exists and is not a folder, or holds files other than a
        previous import's (checked before anything is written).
    """
    out = Path(out_dir)
    ours = {f"{t}.parquet" for t in S.TABLES} | {"import_report.json"}
    if out.exists():
        if not out.is_dir():
            raise ImportFormatError(out, "output path exists and is not a folder")
        foreign = sorted(p.name for p in out.iterdir() if p.name not in ours)
        if foreign:
            raise ImportFormatError(
                out, f"output folder is not empty ({', '.join(foreign[:5])})",
                "choose a new or empty folder; commlab only replaces its own import files",
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        yield tmp
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
            try:
                os.replace(tmp, out)
            except BaseException:
                os.replace(old, out)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_report_json(folder: str | Path, report: ImportReport, out_dir: str | Path) -> Path:
    """Write ``report`` as ``import_report.json`` into ``folder`` (recording ``out_dir`` as its destination)."""
    report.out_dir = str(out_dir)
    path = Path(folder) / "import_report.json"
    path.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def write_dataset_atomic(dataset: Dataset, out_dir: str | Path, report: ImportReport) -> Path:
    """Write the three tables as Parquet plus ``import_report.json`` into ``out_dir``, all or nothing.

    Files are written into a temporary folder beside ``out_dir`` and moved in
    place only when all of them are complete (:func:`atomic_output_dir`). An
    existing ``out_dir`` must be empty or hold only a previous import's files
    (which are replaced).

    Raises
    ------
    ImportFormatError
        If ``out_dir`` exists and holds other files.
    """
    out = Path(out_dir)
    with atomic_output_dir(out) as tmp:
        for name in S.TABLES:
            getattr(dataset, name).to_parquet(tmp / f"{name}.parquet", index=False)
        write_report_json(tmp, report, out)
    return out


def open_maybe_gz(path: str | Path) -> IO[bytes]:
    """Open ``path`` for binary reading, decompressing ``.gz`` files."""
    p = Path(path)
    if p.suffix == ".gz":
        return gzip.open(p, "rb")
    return open(p, "rb")


#: The most bytes one archive member (a file inside a ZIP) or one ``.gz`` file may inflate to
#: when an importer reads it whole. Exports are far smaller; a larger member is either a bomb or
#: a file to extract and import from the folder.
MAX_INFLATED_BYTES = 1 << 30

#: Nesting named when Python's JSON parser gives up (near 1000 levels): where it first passes this depth.
MAX_JSON_DEPTH = 200


def preview(value: Any, width: int = 80) -> str:
    """A short ``repr`` of ``value`` for messages: safe on deeply nested or huge values."""
    if isinstance(value, np.generic):
        value = value.item()
    r = reprlib.Repr()
    r.maxlevel, r.maxstring, r.maxother, r.maxlist, r.maxdict = 3, width, width, 6, 6
    text = r.repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def read_capped(fh: IO[bytes], where: str, limit: int | None = None) -> bytes:
    """All bytes of ``fh``, read in 1 MB chunks, failing once more than ``limit`` bytes came out.

    Raises
    ------
    ImportFormatError
        Past ``limit`` (default :data:`MAX_INFLATED_BYTES`), naming ``where``: nothing larger is
        ever held.
    """
    cap = MAX_INFLATED_BYTES if limit is None else limit
    parts: list[bytes] = []
    n = 0
    while chunk := fh.read(1 << 20):
        n += len(chunk)
        if n > cap:
            raise ImportFormatError(
                where, f"inflates to more than {cap / 2**20:.0f} MB (the most an importer reads whole)",
                "extract the archive and import the folder, or check that it is the export you meant",
            )
        parts.append(chunk)
    return b"".join(parts)


def read_zip_member(zf: zipfile.ZipFile, name: str, where: str, limit: int | None = None) -> bytes:
    """The bytes of ``name`` in ``zf``, streamed with a size cap (:func:`read_capped`).

    The size the archive declares is checked first, then the bytes actually inflated (a
    member can lie about its size).

    Raises
    ------
    ImportFormatError
        Missing member, damaged archive, or a member past the cap (naming ``where``).
    """
    cap = MAX_INFLATED_BYTES if limit is None else limit
    try:
        info = zf.getinfo(name)
        if info.file_size > cap:
            raise ImportFormatError(
                where, f"inflates to {info.file_size / 2**20:.0f} MB, more than {cap / 2**20:.0f} MB "
                "(the most an importer reads whole)",
                "extract the archive and import the folder, or check that it is the export you meant",
            )
        with zf.open(info) as fh:
            return read_capped(fh, where, cap)
    except (KeyError, OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as exc:
        raise ImportFormatError(where, f"cannot read the archive member ({exc})",
                                "the archive may be damaged or cut short; download it again") from exc


def _nesting_at(text: str, limit: int) -> tuple[int, int] | None:
    """Line and column where ``text`` (JSON) first nests deeper than ``limit``, if it does."""
    depth = 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        c = m.group(0)
        if c in "[{":
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, m.start()) + 1
                return line, m.start() - text.rfind("\n", 0, m.start())
        elif c in "]}":
            depth -= 1
    return None


def parse_json(raw: bytes | str, where: str) -> Any:
    """Parse JSON text (UTF-8, with or without BOM), raising :class:`ImportFormatError` naming ``where``.

    Raises
    ------
    ImportFormatError
        Not UTF-8, not valid JSON (line and column), empty, or nested deeper than
        :data:`MAX_JSON_DEPTH` (line and column of the first level too deep).
    """
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise ImportFormatError(where, f"not UTF-8 text (byte {exc.start}: {exc.reason})",
                                "export the file again as UTF-8 JSON") from exc
    if not text.strip():
        raise ImportFormatError(where, "empty file", "the export may have failed; export it again")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            where, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            "the file may be truncated; export it again",
        ) from exc
    except RecursionError:
        deep = _nesting_at(text, MAX_JSON_DEPTH)
        at = f"line {deep[0]}, column {deep[1]}: " if deep else ""
        raise ImportFormatError(where, f"{at}JSON nested too deep for Python's parser (more than "
                                f"{MAX_JSON_DEPTH} levels there; no export nests so deep)",
                                "the file is damaged or not an export") from None
    return data


def read_json_file(path: str | Path, *, member: str | None = None) -> Any:
    """Parse a JSON file (optionally ``member`` of a zip archive), raising :class:`ImportFormatError`."""
    p = Path(path)
    where = f"{p}!{member}" if member is not None else str(p)
    if member is not None:
        try:
            with zipfile.ZipFile(p) as zf:
                raw = read_zip_member(zf, member, where)
        except (OSError, zipfile.BadZipFile) as exc:
            raise ImportFormatError(p, f"cannot read file ({exc})") from exc
    else:
        raw = read_bytes(p)
    return parse_json(raw, where)


def email_hash(email: object, key: str | bytes | None = None) -> str | None:
    """Keyed hash of the lower-cased, stripped e-mail, for matching people without keeping the address.

    HMAC-SHA256 with the pseudonym key of :func:`commlab.privacy.pseudonym_key` (``key``, else
    ``$COMMLAB_PSEUDONYM_KEY``, else the process's random key): unlike a plain sha256, nobody
    without the key can test guessed addresses against it. Hashes match across imports only
    when they were made with the same key.
    """
    import hashlib
    import hmac

    from commlab.privacy import pseudonym_key

    if email is None or email is pd.NA or (isinstance(email, float) and pd.isna(email)):
        return None
    e = str(email).strip().lower()
    if not e:
        return None
    return hmac.new(pseudonym_key(key), e.encode("utf-8"), hashlib.sha256).hexdigest()


def email_hash_note() -> str:
    """The report note saying how ``email_hash`` was keyed (never the key)."""
    from commlab.privacy import KEY_ENV

    if os.environ.get(KEY_ENV):
        return (f"email_hash: HMAC-SHA256 of the e-mail keyed with ${KEY_ENV}; it matches hashes made with the "
                "same key only")
    return (f"email_hash: HMAC-SHA256 of the e-mail keyed with a random key of this import (${KEY_ENV} is not "
            f"set): it matches no other import's; set ${KEY_ENV} to match people across imports")


DUPLICATE_ID = "duplicate message id (the first is kept)"


def first_of_each_id(ids: Sequence[Any], report: ImportReport, reason: str = DUPLICATE_ID) -> np.ndarray:
    """True for the first record of each id (and records without one); the others are counted as dropped."""
    s = pd.Series(list(ids), dtype=object)
    dup = s.notna().to_numpy(bool) & s.duplicated(keep="first").to_numpy(bool)
    report.drop(reason, int(dup.sum()))
    return ~dup


def note_identical_rows(frame: pd.DataFrame, report: ImportReport, what: str) -> None:
    """Note (not drop) rows identical to an earlier one, in a format without message ids."""
    n = int(frame.astype("string").duplicated().sum())
    if n:
        report.notes.append(f"{n} {what} identical to an earlier one kept (the format has no message id to tell "
                            "a repeated export from a repeated message)")


def count_by(values: pd.Series) -> dict[str, int]:
    """Value counts as a plain dict (for reports)."""
    return {str(k): int(v) for k, v in Counter(values.dropna().astype(str)).items()}


# --- community metadata -------------------------------------------------------------------------

#: Community options every importer accepts (keyword arguments of :func:`commlab.importers.import_source`).
COMMUNITY_OPTIONS: tuple[str, ...] = (
    "community_id", "name", "theme", "business_model", "lifecycle", "monetization", "economy", "source_note",
)


def community_row(
    *,
    community_id: str,
    name: str,
    platform: str,
    created_at: Any,
    source: str,
    report: ImportReport,
    defaults: dict[str, str],
    options: dict[str, Any],
) -> dict[str, Any]:
    """One communities row; fields not given in ``options`` take ``defaults`` and are noted in the report.

    ``options`` may hold any of :data:`COMMUNITY_OPTIONS`; ``theme``, ``business_model``,
    ``lifecycle`` and ``monetization`` are required by the schema, so each importer passes
    documented ``defaults`` for them, and the report says which ones were defaulted so a
    person can correct them (``--theme`` ...).
    """
    row: dict[str, Any] = {
        "community_id": options.get("community_id") or community_id,
        "name": options.get("name") or name,
        "platform": platform,
        "created_at": created_at,
        "economy": options.get("economy"),
        "source": options.get("source_note") or source,
    }
    defaulted = []
    for key in ("theme", "business_model", "lifecycle", "monetization"):
        if options.get(key):
            row[key] = options[key]
        else:
            row[key] = defaults[key]
            defaulted.append(f"{key}={defaults[key]}")
    if defaulted:
        note = f"community {row['community_id']}: defaulted {', '.join(defaulted)} (not in the source; set them)"
        if note not in report.notes:
            report.notes.append(note)
    return row


def opt_bool(value: Any, name: str) -> bool | None:
    """An option given as bool or text (``true``/``false``/``yes``/``no``/``1``/``0``, from the CLI) as bool.

    ``None`` stays ``None`` (meaning "default").

    Raises
    ------
    UsageError
        For any other value.
    """
    from commlab.errors import UsageError

    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "y", "1", "on"):
        return True
    if text in ("false", "no", "n", "0", "off"):
        return False
    raise UsageError(f"option {name} must be true or false, not {value!r}")


def single_community_option(options: dict[str, Any], n: int, what: str) -> None:
    """Raise UsageError when ``community_id`` is given but the source holds ``n`` > 1 communities."""
    from commlab.errors import UsageError

    if options.get("community_id") and n > 1:
        raise UsageError(f"community_id applies to a source with one community; this one has {n} {what} "
                         "(each gets its own id)")


def tz_option(options: dict[str, Any], default: str = "Asia/Shanghai") -> str:
    """The ``tz`` option (zone of naive times), checked; ``default`` when not given.

    Raises
    ------
    UsageError
        An unknown zone (``Mars/Olympus``), with the form to use.
    """
    from commlab.data.load import check_time_zone

    return check_time_zone(str(options.get("tz") or default))


def split_options(options: dict[str, Any], allowed: tuple[str, ...], fmt: str) -> dict[str, Any]:
    """Check that ``options`` holds only community options and ``allowed``; raise UsageError otherwise."""
    from commlab.errors import UsageError

    unknown = sorted(set(options) - set(COMMUNITY_OPTIONS) - set(allowed))
    if unknown:
        known = ", ".join(sorted(set(COMMUNITY_OPTIONS) | set(allowed)))
        raise UsageError(f"unknown option(s) for the {fmt} importer: {', '.join(unknown)}; known: {known}")
    return options


# --- time ---------------------------------------------------------------------------------------


#: Seconds per unit of a Unix time.
_UNIT_SECONDS = {"s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
#: Unix seconds a ``datetime64[ns]`` can hold, a second inside pandas' limits on either side.
_UNIX_RANGE = (pd.Timestamp.min.value / 1e9 + 1, pd.Timestamp.max.value / 1e9 - 1)
_NUMBER = r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$"


class LineLabels(Sequence[str]):
    """``line <n>`` labels of records, made on demand from their 0-based line indexes (for :func:`unix_to_utc`)."""

    def __init__(self, indexes: Sequence[int]) -> None:
        self._indexes = indexes

    def __len__(self) -> int:
        return len(self._indexes)

    def __getitem__(self, i: int) -> str:  # type: ignore[override]
        return f"line {self._indexes[i] + 1}"


def _label(records: Sequence[str] | None, i: int) -> str:
    return records[i] if records is not None else f"value {i + 1}"


def _first_bad(values: pd.Series, bad: pd.Series | np.ndarray, records: Sequence[str] | None) -> tuple[str, str]:
    """The record label and a preview of the first bad value, and how many more there are."""
    where = np.flatnonzero(np.asarray(bad, dtype=bool))
    i = int(where[0])
    more = f" (and {len(where) - 1} more)" if len(where) > 1 else ""
    return _label(records, i), f"{preview(values.iloc[i])}{more}"


def unix_numbers(values: pd.Series | Sequence[Any] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numbers (or numeric text) as float64, and where a present value is not a number.

    Booleans, objects and lists are not numbers; missing values (``None``, NaN, empty text) give
    NaN without being bad. Integers too large for a float give infinity.
    """
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        return values.astype("float64"), np.zeros(len(values), bool)
    s = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values.astype(object)
    s = s.reset_index(drop=True)
    num = np.full(len(s), np.nan)
    bad = np.zeros(len(s), bool)
    kinds = s.map(type)
    is_text = kinds.map(lambda k: issubclass(k, str)).to_numpy(bool)
    if is_text.any():
        txt = s[is_text].astype("string")
        ok = txt.str.match(_NUMBER).fillna(False).to_numpy(bool)
        empty = (txt.str.strip() == "").fillna(True).to_numpy(bool)
        idx = np.flatnonzero(is_text)
        num[idx[ok]] = pd.to_numeric(txt[ok]).to_numpy("float64")
        bad[idx[~ok & ~empty]] = True
    for i in np.flatnonzero(~is_text):
        v = s.iloc[i]
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            continue
        if isinstance(v, bool | np.bool_) or not isinstance(v, int | float | np.integer | np.floating):
            bad[i] = True
            continue
        try:
            num[i] = float(v)
        except OverflowError:  # an int beyond any float
            num[i] = np.inf if v > 0 else -np.inf
    return num, bad


def unix_to_utc(values: pd.Series | Sequence[Any] | np.ndarray, *, unit: str = "s", file: str = "?",
                what: str = "time", records: Sequence[str] | None = None) -> pd.Series:
    """Unix times (numbers or numeric strings) as ``datetime64[ns, UTC]``; raise naming the first bad record.

    Parameters
    ----------
    values : Series, sequence or array
        The times, in ``unit`` since 1970-01-01 UTC; missing values stay missing.
    unit : {"s", "ms", "us", "ns"}
        Unit of the numbers.
    file : str
        The file named in the error.
    what : str
        The field (column, attribute) named in the error.
    records : sequence of str, optional
        A label per value naming its record (``message 7``, ``line 12``); by default
        ``value <n>``.

    Raises
    ------
    ImportFormatError
        A value is not a number, or is a time no datetime can hold (before 1678 or after 2261,
        10**30, infinity), naming the file, the record and the field.
    """
    index = values.index if isinstance(values, pd.Series) else None
    s = values if isinstance(values, np.ndarray) else pd.Series(values, dtype=object) \
        if not isinstance(values, pd.Series) else values.reset_index(drop=True)
    num, bad = unix_numbers(s)
    shown = pd.Series(s) if isinstance(s, np.ndarray) else s
    if bad.any():
        record, first = _first_bad(shown, bad, records)
        raise ImportFormatError(file, f"not a Unix time: {first}", "the export may be damaged; export it again",
                                record=record, field=what)
    secs = num * _UNIT_SECONDS[unit]
    lo, hi = _UNIX_RANGE
    far = ~np.isnan(secs) & ~((secs >= lo) & (secs <= hi))
    if far.any():
        record, first = _first_bad(shown, far, records)
        raise ImportFormatError(
            file, f"Unix time {first} lies outside the years 1678-2261 that a time can hold",
            f"Unix times here are {'seconds' if unit == 's' else unit} since 1970; this value is damaged "
            "or in another unit", record=record, field=what,
        )
    out = pd.Series(pd.to_datetime(num, unit=unit, utc=True)).astype("datetime64[ns, UTC]")
    return out if index is None else out.set_axis(index)


def text_to_utc(values: pd.Series | list[Any], *, tz: str, file: str = "?", what: str = "time",
                fmt: str | None = None, records: Sequence[str] | None = None) -> pd.Series:
    """Time strings as ``datetime64[ns, UTC]``: offsets kept, naive times read in ``tz``; raise on bad values.

    Raises
    ------
    ImportFormatError
        A value that is not text, cannot be parsed, or lies outside the years 1678-2261, naming
        the file, the first bad record (``records``, as :func:`unix_to_utc`) and the field.
    """
    from commlab.data.io import parse_times, to_ns_utc

    index = values.index if isinstance(values, pd.Series) else None
    raw = pd.Series(values, dtype=object).reset_index(drop=True) if not isinstance(values, pd.Series) \
        else values.reset_index(drop=True)
    not_text = raw.map(lambda v: not (v is None or v is pd.NA or isinstance(v, str)
                                      or (isinstance(v, float) and np.isnan(v)))).to_numpy(bool) \
        if raw.dtype == object else np.zeros(len(raw), bool)
    if not_text.any():
        record, first = _first_bad(raw, not_text, records)
        raise ImportFormatError(file, f"not a time (text expected): {first}", "the export may be damaged",
                                record=record, field=what)
    s = raw.astype("string")
    if fmt:
        parsed = pd.to_datetime(s, format=fmt, errors="coerce")
        if parsed.dt.tz is None:
            parsed = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
        out, far = to_ns_utc(parsed)
        bad = (s.notna() & parsed.isna()) | far
    else:
        s = s.str.replace(r"\s+UTC$", "+00:00", regex=True)
        out, bad = parse_times(s, tz)
    if bad.any():
        record, first = _first_bad(s, bad, records)
        raise ImportFormatError(
            file, f"unparseable or out-of-range time: {first}",
            "use ISO 8601 times between the years 1678 and 2261 (2024-03-01 18:00:00 or 2024-03-01T10:00:00Z)"
            + (f" or the format {fmt}" if fmt else ""), record=record, field=what,
        )
    return out if index is None else out.set_axis(index)


# --- threads ------------------------------------------------------------------------------------


def reply_roots(ids: list[str], parents: list[str | None]) -> dict[str, str]:
    """Root of each message's reply chain, for messages that belong to a chain (root included).

    ``parents[i]`` is the id ``ids[i]`` replies to (``None`` if none). Chains are followed
    while the parent is known; a message that replies to an unknown message is its own root.
    Messages in no chain (neither replying nor replied to) are absent from the result.
    """
    parent = {i: p for i, p in zip(ids, parents, strict=True) if p is not None}
    replied = set(parent.values())
    known = set(ids)
    roots: dict[str, str] = {}
    for i in ids:
        if i not in parent and i not in replied:
            continue
        cur, seen = i, {i}
        while cur in parent and parent[cur] in known and parent[cur] not in seen:
            cur = parent[cur]
            seen.add(cur)
        roots[i] = cur
    return roots


# --- progress -----------------------------------------------------------------------------------


class ProgressReader:
    """A binary file wrapper that advances a tqdm bar by the bytes read (bar only for large inputs).

    Parameters
    ----------
    fh : binary file
        The (possibly decompressing) stream to read.
    total : int
        Size on disk of the underlying file, in bytes.
    desc : str
        Label of the bar.
    raw : binary file, optional
        The file object on disk, whose position measures progress (for gzip input,
        where bytes read from ``fh`` are decompressed bytes).
    """

    def __init__(self, fh: IO[bytes], total: int, desc: str, raw: IO[bytes] | None = None,
                 show: bool | None = None) -> None:
        from tqdm.auto import tqdm

        self._fh = fh
        self._raw = raw
        self._pos = 0
        show = total >= LARGE_INPUT_BYTES if show is None else show
        self._bar = tqdm(total=total, desc=desc, unit="B", unit_scale=True, disable=not show, leave=False)

    def read(self, n: int = -1) -> bytes:
        data = self._fh.read(n)
        pos = self._raw.tell() if self._raw is not None else self._pos + len(data)
        if pos > self._pos:
            self._bar.update(pos - self._pos)
            self._pos = pos
        return data

    def close(self) -> None:
        self._bar.close()
        self._fh.close()
        if self._raw is not None:
            self._raw.close()

    def __enter__(self) -> ProgressReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_with_progress(path: str | Path, desc: str | None = None, show: bool | None = None) -> ProgressReader:
    """Open ``path`` (``.gz`` decompressed) for binary reading with a progress bar on large files."""
    p = Path(path)
    size = p.stat().st_size
    raw = open(p, "rb")
    fh: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb") if p.suffix == ".gz" else raw
    return ProgressReader(fh, size, desc or p.name, raw=raw if p.suffix == ".gz" else None, show=show)


def read_bytes(path: str | Path, show: bool | None = None) -> bytes:
    """All bytes of ``path`` (``.gz`` decompressed), read in 1 MB chunks with a progress bar on large files.

    Raises
    ------
    ImportFormatError
        The file cannot be read, is named ``.gz`` but is not gzip data or is cut short, or
        inflates past :data:`MAX_INFLATED_BYTES` (naming the file).
    """
    p = Path(path)
    try:
        with open_with_progress(p, show=show) as fh:
            return read_capped(fh, str(p)) if p.suffix == ".gz" else b"".join(iter(lambda: fh.read(1 << 20), b""))
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ImportFormatError(p, f"not a complete gzip file ({exc})",
                                "download the file again, or remove the .gz from a name of a file that is not "
                                "compressed") from exc
    except OSError as exc:
        raise ImportFormatError(p, f"cannot read the file ({exc.strerror or exc})") from exc


def read_csv_text(text: str, where: str | Path) -> pd.DataFrame:
    """A CSV export's text as a table of strings (empty cells missing, column names stripped).

    Raises
    ------
    ImportFormatError
        An empty file, a row pandas cannot split (quote left open, too many fields), or a last
        row cut short: fewer fields than the header and no line end after it, the mark of a
        truncated file (naming the file and the line).
    """
    if not text.strip():
        raise ImportFormatError(where, "empty file", "the export may have failed; export it again")
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""], index_col=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise ImportFormatError(where, f"not a readable CSV file ({str(exc).strip()})",
                                "the file may be cut short or edited; export it again") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    try:
        check_last_row(text[-(1 << 16):], len(frame.columns), len(frame))
    except MalformedFile as exc:
        raise ImportFormatError(where, exc.what, "export the file again", record=f"line {text.count(chr(10)) + 1}",
                                ) from None
    return frame


def decode_text(raw: bytes, name: str) -> str:
    """Decode bytes as :func:`commlab.data.io.decode_bytes` does; raise ImportFormatError otherwise.

    UTF-8 (BOM or not), UTF-16 (with BOM) or GB18030; a Big5, Shift-JIS or EUC-KR file is named.
    """
    try:
        return decode_bytes(raw, name=name)[0]
    except UnicodeDecodeError as exc:
        said = exc.reason.removeprefix(f"{name} ").split("; ")[0]
        raise ImportFormatError(name, f"text {said}", "save the file as UTF-8") from None
