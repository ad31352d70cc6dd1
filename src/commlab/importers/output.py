"""Writing an import's folder all or nothing: the three Parquet tables and ``import_report.json``."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from commlab.data import schema as S
from commlab.data.load import Dataset
from commlab.errors import ImportFormatError
from commlab.importers.import_report import ImportReport

__all__ = ["atomic_output_dir", "write_report_json", "write_dataset_atomic"]


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
