"""Reading an export's bytes: ``.gz`` and ZIP members with a size cap, whole files, text and CSV.

Every read names the file in its :class:`~commlab.errors.ImportFormatError`; nothing inflates past
:data:`MAX_INFLATED_BYTES` (a ZIP or gzip bomb is refused, not held).
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from pathlib import Path
from typing import IO

import pandas as pd

from commlab.data.io import check_last_row, decode_bytes
from commlab.errors import ImportFormatError, MalformedFile
from commlab.importers.progress import open_with_progress

__all__ = ["export_files", "MAX_INFLATED_BYTES", "open_maybe_gz", "read_capped", "read_zip_member", "read_bytes",
           "read_csv_text", "decode_text"]


def export_files(source: str | Path, suffix: str) -> list[Path]:
    """The files an export is read from: ``source`` itself, or the ``*<suffix>`` files of the folder ``source``.

    Parameters
    ----------
    source : str or Path
        A file, or a folder of files (one a conversation or a day).
    suffix : str
        The files' ending in a folder (``".txt"``, ``".csv"``); a file given itself may end otherwise.

    Returns
    -------
    list of Path
        In name order.

    Raises
    ------
    ImportFormatError
        A folder without such a file (naming the folder and the ending).
    """
    src = Path(source)
    files = sorted(src.glob(f"*{suffix}")) if src.is_dir() else [src]
    if not files:
        raise ImportFormatError(src, f"no {suffix} file in the folder")
    return files


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
