"""A progress bar over the bytes an importer reads (shown for inputs past :data:`LARGE_INPUT_BYTES`)."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import IO

__all__ = ["LARGE_INPUT_BYTES", "ProgressReader", "open_with_progress"]

#: Inputs larger than this (bytes) show a tqdm progress bar.
LARGE_INPUT_BYTES = 20 * 1024 * 1024


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
