"""Reading raw table files: encoding detection, CSV and Parquet, time zones.

CSV files exported from Chinese platforms (and from Excel on a Chinese
Windows) are often GBK or GB18030 rather than UTF-8. :func:`decode_bytes`
tries UTF-8 (with or without a byte-order mark) first and GB18030 (a superset
of GBK and GB2312) second, so the user never has to say which.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pandas as pd

__all__ = [
    "ENCODINGS",
    "decode_bytes",
    "read_raw_table",
    "parse_times",
    "sha256_file",
    "data_files",
    "find_table_file",
]

#: Encodings tried, in order. UTF-8 is strict, so GBK bytes never pass as UTF-8.
ENCODINGS: tuple[str, ...] = ("utf-8-sig", "gb18030")

#: File names looked up for a table, in order of preference.
SUFFIXES: tuple[str, ...] = (".parquet", ".csv", ".csv.gz")

_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


def decode_bytes(raw: bytes, *, name: str = "<bytes>") -> tuple[str, str]:
    """Decode ``raw`` as UTF-8 (with or without BOM) or GB18030/GBK.

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
    last: UnicodeDecodeError | None = None
    for enc in ENCODINGS:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError as exc:  # try the next one
            last = exc
    assert last is not None
    raise UnicodeDecodeError(
        last.encoding, last.object, last.start, last.end,
        f"{name} is neither UTF-8 nor GBK/GB18030; save it as UTF-8 and try again",
    )


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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
        return pd.read_parquet(p), "parquet"
    raw = p.read_bytes()
    if p.suffix == ".gz":
        import gzip

        raw = gzip.decompress(raw)
    text, enc = decode_bytes(raw, name=str(p))
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, enc


def parse_times(values: pd.Series, tz: str) -> tuple[pd.Series, pd.Series]:
    """Parse a column of times into UTC.

    A value with an explicit offset (``Z``, ``+08:00``) keeps it; a naive value
    is read in ``tz``. Datetime columns (from Parquet) are accepted as they are;
    naive ones are also read in ``tz``.

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
        ``bad`` is True where a non-empty value could not be parsed.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        out = values.dt.tz_convert("UTC")
        return out.astype("datetime64[ns, UTC]"), pd.Series(False, index=values.index)
    if pd.api.types.is_datetime64_dtype(values.dtype):
        out = values.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")
        return out.astype("datetime64[ns, UTC]"), pd.Series(False, index=values.index)
    text = values.astype("string").str.strip()
    present = text.notna() & (text != "")
    aware = present & text.str.contains(_TZ_SUFFIX, na=False)
    naive = present & ~aware
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    if aware.any():
        out[aware] = pd.to_datetime(text[aware], format="mixed", utc=True, errors="coerce")
    if naive.any():
        parsed = pd.to_datetime(text[naive], format="mixed", errors="coerce")
        local = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
        out[naive] = local.dt.tz_convert("UTC")
    bad = present & out.isna()
    return out, bad
