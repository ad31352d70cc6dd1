"""What an import did: :class:`ImportReport`, the account written as ``import_report.json``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from commlab.fmt import tally

__all__ = ["ImportReport"]


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
