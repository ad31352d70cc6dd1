"""Reading raw table files: encoding detection, CSV and Parquet, time zones.

CSV files exported from Chinese platforms (and from Excel on a Chinese
Windows) are often GBK or GB18030 rather than UTF-8. :func:`decode_bytes`
tries UTF-8 (with or without a byte-order mark) first and GB18030 (a superset
of GBK and GB2312) second, so the user never has to say which.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import os
import re
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from commlab.errors import MalformedFile

__all__ = [
    "ENCODINGS",
    "other_cjk_encoding",
    "decode_bytes",
    "detect_encoding",
    "read_raw_table",
    "iter_raw_chunks",
    "parse_times",
    "check_last_row",
    "to_ns_utc",
    "TIME_RANGE",
    "sha256_file",
    "data_files",
    "find_table_file",
]

#: Encodings tried, in order. UTF-8 is strict, so GBK bytes never pass as UTF-8. Text starting with a
#: UTF-16 byte-order mark (Excel's "Unicode text") is UTF-16 first.
ENCODINGS: tuple[str, ...] = ("utf-8-sig", "gb18030")
_UTF16_BOMS: tuple[bytes, ...] = (b"\xff\xfe", b"\xfe\xff")
#: Bytes of a file that is not UTF-8 looked at by charset-normalizer.
_SAMPLE = 1 << 16
#: What charset-normalizer may name for bytes that GB18030 would decode as garbage, and how to say it.
_OTHER_CJK: dict[str, str] = {
    "big5": "Big5 (Traditional Chinese)", "cp950": "Big5 (Traditional Chinese)",
    "big5hkscs": "Big5-HKSCS (Traditional Chinese)", "cp932": "Shift-JIS (Japanese)",
    "shift_jis": "Shift-JIS (Japanese)", "shift_jis_2004": "Shift-JIS (Japanese)", "euc_jp": "EUC-JP (Japanese)",
    "euc_jis_2004": "EUC-JP (Japanese)", "cp949": "EUC-KR (Korean)", "euc_kr": "EUC-KR (Korean)",
}
_GB: frozenset[str] = frozenset({"gb18030", "gbk", "gb2312", "hz"})

#: File names looked up for a table, in order of preference.
SUFFIXES: tuple[str, ...] = (".parquet", ".csv", ".csv.gz")

#: An ISO 8601 offset ending a time: ``Z``, ``+08:00`` or ``+0800``. Hours alone (``10:00:25+08``, as PostgreSQL
#: and DuckDB print a zone-aware time) are an offset only after a time: see :func:`_has_offset`.
_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
#: A time (minutes or seconds, with an optional fraction) followed by hours of an offset, at the end.
_HOURS_AFTER_TIME = re.compile(r":\d{2}(?:[.,]\d+)?\s*[+-]\d{2}$")


def decode_bytes(raw: bytes, *, name: str = "<bytes>") -> tuple[str, str]:
    """Decode ``raw`` as UTF-8 (with or without BOM), UTF-16 (with BOM) or GB18030/GBK.

    Bytes that decode only as GB18030 are checked with :func:`other_cjk_encoding`: a Big5,
    Shift-JIS or EUC-KR file is named, not read as garbage.

    Parameters
    ----------
    raw : bytes
        The file's contents.
    name : str
        File name, for the error message.

    Returns
    -------
    text, encoding : tuple of str
        The decoded text and the encoding that worked.

    Raises
    ------
    UnicodeDecodeError
        If no known encoding decodes the bytes.
    """
    if raw.startswith(_UTF16_BOMS):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise _undecodable(exc, name) from None
    last: UnicodeDecodeError | None = None
    for enc in ENCODINGS:
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError as exc:  # try the next one
            last = exc
            continue
        if enc == "gb18030":
            _check_gb18030(raw[:_SAMPLE], name)
        return text, enc
    assert last is not None
    raise _undecodable(last, name)


def _undecodable(last: UnicodeDecodeError, name: str, what: str | None = None) -> UnicodeDecodeError:
    said = f"looks like {what}, which is neither UTF-8 nor GBK/GB18030" if what else \
        "is neither UTF-8 nor GBK/GB18030"
    return UnicodeDecodeError(last.encoding, last.object, last.start, last.end,
                              f"{name} {said}; save it as UTF-8 and try again")


def other_cjk_encoding(sample: bytes) -> str | None:
    """The other CJK encoding ``sample`` (bytes GB18030 decodes) is in, or ``None`` when it may be GBK.

    GB18030 decodes nearly any byte sequence, so a Big5, Shift-JIS or EUC-KR file would be read as
    garbage. charset-normalizer is asked; the file is named as another encoding only when none of
    its candidates is a GB encoding, its best is a known CJK one, and fewer than 90 % of the
    non-ASCII characters the GB18030 reading gives are common simplified ones (GB2312): genuine
    GBK text is never refused for a guess.
    """
    from charset_normalizer import from_bytes

    names = [m.encoding for m in from_bytes(sample)]
    if not names or _GB.intersection(names) or names[0] not in _OTHER_CJK:
        return None
    wide = [c for c in sample.decode("gb18030", errors="replace") if ord(c) > 0x7F]
    common = sum(1 for c in wide if _in_gb2312(c))
    return _OTHER_CJK[names[0]] if wide and common < 0.9 * len(wide) else None


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _check_gb18030(sample: bytes, name: str) -> None:
    if what := other_cjk_encoding(sample):
        raise _undecodable(UnicodeDecodeError("gb18030", sample, 0, 1, "not GBK"), name, what)


def _open_bytes(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115 - the caller closes


def detect_encoding(path: str | Path, *, block: int = 1 << 24) -> str:
    """The encoding :func:`decode_bytes` would find for the file at ``path``, read in blocks.

    For CSV files too large to decode in memory at once (``.csv.gz`` is decompressed on the
    fly). Each encoding of :data:`ENCODINGS` is tried on the whole file, in order.

    Raises
    ------
    UnicodeDecodeError
        If no known encoding decodes the bytes (the same message as :func:`decode_bytes`).
    """
    p = Path(path)
    with _open_bytes(p) as fh:
        head = fh.read(_SAMPLE)
    if head.startswith(_UTF16_BOMS):
        return "utf-16"
    last: UnicodeDecodeError | None = None
    for enc in ENCODINGS:
        decoder = codecs.getincrementaldecoder(enc)()
        try:
            with _open_bytes(p) as fh:
                for chunk in iter(lambda fh=fh: fh.read(block), b""):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:  # try the next one
            last = exc
            continue
        if enc == "gb18030":
            _check_gb18030(head, str(p))
        return enc
    assert last is not None
    raise _undecodable(last, str(p))


#: Files whose status changed less than this many seconds ago are hashed again on every call: a file
#: rewritten within one tick of the file system's clock can keep its size and times (git's "racy" entries).
_SETTLED_S = 2.0
#: The sha256 of files already hashed by this process, by their status (:func:`_file_identity`).
_SHA256: dict[tuple, str] = {}


def _file_identity(st: os.stat_result, path: Path) -> tuple:
    """What changes when a file's bytes can have: its path, device, inode, size, modification and change times."""
    return (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes.

    A file is read once per process while it stays unchanged: a playbook run hashes the events
    for the data cache's key (:func:`commlab.data.load.load_dataset`) and again for the manifest
    (:func:`commlab.manifest.input_hashes`), which at 50 M events is a second read of 0.6 GB.
    A file is hashed again when its path, inode, size, modification or change time differ, and
    always while its status changed less than :data:`_SETTLED_S` seconds ago (a rewrite within
    one clock tick can leave them all equal).
    """
    p = Path(path).resolve()
    st = os.stat(p)
    key = _file_identity(st, p)
    if (hit := _SHA256.get(key)) is not None:
        return hit
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    if time.time() - max(st.st_mtime, st.st_ctime) > _SETTLED_S and _file_identity(os.stat(p), p) == key:
        if len(_SHA256) >= 1024:
            _SHA256.clear()
        _SHA256[key] = digest
    return digest


def data_files(root: str | Path) -> list[Path]:
    """Every file under ``root``, sorted, skipping hidden ones (``.DS_Store``, ``.ipynb_checkpoints/``)."""
    base = Path(root)
    return sorted(f for f in base.rglob("*")
                  if f.is_file() and not any(part.startswith(".") for part in f.relative_to(base).parts))


def find_table_file(data_dir: str | Path, table: str) -> Path | None:
    """Return ``data_dir/<table>.parquet|.csv|.csv.gz``, whichever exists first."""
    d = Path(data_dir)
    for suffix in SUFFIXES:
        p = d / f"{table}{suffix}"
        if p.exists():
            return p
    return None


def read_raw_table(path: str | Path) -> tuple[pd.DataFrame, str]:
    """Read a CSV or Parquet file with every CSV column as text.

    Returns
    -------
    frame, encoding : DataFrame and str
        The raw table (CSV columns are strings, empty cells are missing) and
        the detected encoding (``"parquet"`` for Parquet files).
    """
    p = Path(path)
    if p.suffix == ".parquet":
        return pq.ParquetFile(p).read().to_pandas(), "parquet"  # opened as iter_raw_chunks opens it
    raw = p.read_bytes()
    if p.suffix == ".gz":
        raw = gzip.decompress(raw)
    text, enc = decode_bytes(raw, name=str(p))
    frame = _next_csv_chunk(pd.read_csv(io.StringIO(text), iterator=True, **_CSV_OPTIONS), None, str(p))
    if frame is not None:
        check_last_row(text[-_TAIL:], len(frame.columns), len(frame), file=str(p))
    return frame, enc


#: Characters at the end of a CSV file looked at for a last row cut short.
_TAIL = 1 << 16


def check_last_row(tail: str, n_fields: int, n_rows: int, *, file: str = "") -> None:
    """Raise if the text (its last characters ``tail``) ends inside a row shorter than the header.

    A CSV cut short (a download or a copy interrupted) ends without a line end in the middle of a
    row, and pandas fills the missing fields with nothing: the row would be read as a complete
    one with empty cells. A last line that closes a quoted field spanning lines is not judged.

    Raises
    ------
    MalformedFile
        Naming the file, the row (numbered as a spreadsheet shows it) and the fields it has.
    """
    if not tail or tail.endswith(("\n", "\r")):
        return
    last = tail.rsplit("\n", 1)[-1]
    if last.count('"') % 2:
        return
    fields = next(csv.reader([last]), [])
    if fields and len(fields) < n_fields:
        exc = MalformedFile(f"the last row (row {n_rows + 1}) has {len(fields)} of the header's {n_fields} fields and "
                            "no line end", file=file, fix="the file looks cut short: copy or export it again")
        exc.row = n_rows + 1
        raise exc


#: How every CSV table is read: all columns as text, only empty cells missing, no column taken as the index.
_CSV_OPTIONS: dict = {"dtype": str, "keep_default_na": False, "na_values": [""], "index_col": False}


def _next_csv_chunk(reader: pd.io.parsers.TextFileReader, rows: int | None, file: str = "") -> pd.DataFrame | None:
    """The next ``rows`` rows of ``reader`` (all when ``None``), column names stripped; ``None`` at the end.

    Raises
    ------
    MalformedFile
        If a row has more fields than the header (pandas would otherwise take the first
        columns as an index, or drop the extra fields).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            frame = reader.read(rows)
        except StopIteration:
            return None
        except pd.errors.ParserWarning:
            raise MalformedFile("a row has more fields than the header line", file=file,
                                fix="quote values that contain commas") from None
        except pd.errors.ParserError as exc:  # a row pandas cannot split ("Expected 2 fields in line 3, saw 3")
            line = re.search(r"line (\d+)", str(exc))
            exc2 = MalformedFile(f"not a readable CSV file ({str(exc).strip()})", file=file,
                                 fix="quote values that contain commas; the file may be cut short or edited")
            exc2.row = int(line.group(1)) if line else None
            raise exc2 from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def iter_raw_chunks(path: str | Path, rows: int) -> tuple[Iterator[pd.DataFrame], str]:
    """Read a CSV or Parquet file as :func:`read_raw_table` does, ``rows`` rows at a time.

    Parameters
    ----------
    path : str or Path
        A ``.parquet``, ``.csv`` or ``.csv.gz`` file.
    rows : int
        Rows per chunk (the last may have fewer; Parquet chunks span row groups).

    Returns
    -------
    chunks, encoding : iterator of DataFrame and str
        The chunks in file order, each with a RangeIndex from 0 (the caller numbers them); a
        file without rows gives one empty chunk with its columns. And
        the encoding (``"parquet"``, or the one :func:`detect_encoding` found, which reads the
        whole file once before the first chunk).
    """
    p = Path(path)
    if p.suffix == ".parquet":
        pf = pq.ParquetFile(p)

        def parquet_chunks() -> Iterator[pd.DataFrame]:
            if pf.metadata.num_rows == 0:
                yield pf.schema_arrow.empty_table().to_pandas()
            # through a Table, so that the pandas metadata (index columns, dtypes) is applied as read_parquet does
            for batch in pf.iter_batches(batch_size=rows):
                yield pa.Table.from_batches([batch]).to_pandas()

        return parquet_chunks(), "parquet"
    enc = detect_encoding(p)

    def csv_chunks() -> Iterator[pd.DataFrame]:
        n = 0
        with pd.read_csv(p, encoding=enc, iterator=True, **_CSV_OPTIONS) as reader:
            first = True
            while (frame := _next_csv_chunk(reader, rows, str(p))) is not None and (first or len(frame)):
                first = False
                n += len(frame)
                width = len(frame.columns)
                yield frame
        if not first and p.suffix != ".gz":  # a .gz cut short fails its own end-of-stream check
            with open(p, "rb") as fh:
                fh.seek(max(0, p.stat().st_size - _TAIL))
                check_last_row(fh.read().decode(enc, errors="ignore"), width, n, file=str(p))

    return csv_chunks(), enc


#: The times a ``datetime64[ns]`` column can hold (about 1677-09-22 to 2262-04-11), in UTC.
TIME_RANGE: tuple[pd.Timestamp, pd.Timestamp] = (pd.Timestamp.min.tz_localize("UTC"),
                                                  pd.Timestamp.max.tz_localize("UTC"))


def to_ns_utc(parsed: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Zone-aware times of any resolution as ``datetime64[ns, UTC]``, and where they did not fit.

    pandas parses ``9999-12-31`` into a coarser resolution (seconds, microseconds) that holds it;
    nanoseconds, the canonical resolution, cannot, and casting would raise
    ``OutOfBoundsDatetime``. Such times become missing instead, and are marked.

    Parameters
    ----------
    parsed : Series
        Zone-aware datetimes (any unit).

    Returns
    -------
    times, out_of_range : tuple of Series
        The times in ``datetime64[ns, UTC]`` (missing where out of range) and a boolean mask,
        True where a time lay outside :data:`TIME_RANGE`.
    """
    lo, hi = TIME_RANGE
    present = parsed.notna()
    out_of_range = present & ((parsed < lo) | (parsed > hi)).fillna(False)
    if bool(out_of_range.any()):
        parsed = parsed.mask(out_of_range)
    return parsed.dt.tz_convert("UTC").astype("datetime64[ns, UTC]"), out_of_range.astype(bool)


def _has_offset(text: pd.Series) -> pd.Series:
    """Whether each (stripped) time ends with an ISO offset: :data:`_TZ_SUFFIX`, or hours after a time.

    A value ending ``±hh`` is an offset only after a time: the day of a date alone (``2024-04-16``) is no offset.
    Only the values ending ``±hh`` that lack ``:ss`` right before it are searched with a pattern (the slow part, in
    a column that has them); the rest are told apart by their last characters.
    """
    aware = text.str.contains(_TZ_SUFFIX, na=False)
    hours = ~aware & text.str[-3:].str.match(r"[+-]\d\d$", na=False)
    if hours.any():
        after_seconds = hours & text.str[-6:-3].str.match(r":\d\d$", na=False)
        other = hours & ~after_seconds
        aware |= after_seconds
        if other.any():
            aware[other] = text[other].str.contains(_HOURS_AFTER_TIME, na=False)
    return aware.astype(bool)


def _zoneless(text: pd.Series) -> pd.Series:
    """Times without an ISO offset as naive datetimes; missing where a value names a zone of its own.

    pandas reads zone names too (``UTC``, ``GMT+8``; the latter as POSIX does, 8 hours *behind* UTC, not the
    China time its writer meant): such a value is missing here, so reported as an unparseable time whose fix
    asks for an ISO offset, instead of being read in a zone nobody chose. A column mixing them with plain
    times (which pandas refuses as a whole) is read value by value.
    """
    try:
        parsed = pd.to_datetime(text, format="mixed", errors="coerce")
        if not isinstance(parsed.dtype, pd.DatetimeTZDtype):
            return parsed
    except (ValueError, TypeError):  # plain times and times with a zone name, mixed
        pass

    def one(value: str) -> pd.Timestamp:
        t = pd.to_datetime(value, errors="coerce")
        return pd.NaT if pd.isna(t) or t.tzinfo is not None else t

    return pd.to_datetime(text.map(one, na_action="ignore"), errors="coerce")


def parse_times(values: pd.Series, tz: str) -> tuple[pd.Series, pd.Series]:
    """Parse a column of times into UTC.

    A value with an explicit offset (``Z``, ``+08:00``) keeps it; a naive value
    is read in ``tz``. Datetime columns (from Parquet) are accepted as they are;
    naive ones are also read in ``tz``. A time outside :data:`TIME_RANGE` (year
    9999, year 1) is bad like an unparseable one.

    Parameters
    ----------
    values : Series
        Strings or datetimes.
    tz : str
        IANA zone for naive times, for example ``"Asia/Shanghai"``.

    Returns
    -------
    parsed, bad : tuple of Series
        ``parsed`` is ``datetime64[ns, UTC]`` (missing where empty or bad);
        ``bad`` is True where a non-empty value could not be parsed or lies outside the range.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return to_ns_utc(values)
    if pd.api.types.is_datetime64_dtype(values.dtype):
        local = values.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
        return to_ns_utc(local)
    text = values.astype("string").str.strip()
    present = text.notna() & (text != "")
    aware = present & _has_offset(text)
    naive = present & ~aware
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    outside = pd.Series(False, index=values.index)
    if aware.any():
        parsed, far = to_ns_utc(pd.to_datetime(text[aware], format="mixed", utc=True, errors="coerce"))
        out[aware], outside[aware] = parsed, far
    if naive.any():
        parsed = _zoneless(text[naive])
        local, far = to_ns_utc(parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward"))
        out[naive], outside[naive] = local, far
    bad = present & (out.isna() | outside)
    return out, bad.astype(bool)
