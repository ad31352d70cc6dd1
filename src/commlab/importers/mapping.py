"""Importer for any CSV or Excel file of events, driven by a column-mapping YAML file.

The mapping file (validated: unknown keys are rejected)::

    file: 群聊记录.xlsx            # optional: the data file, in this YAML's folder (or below it)
    sheet: 0                       # Excel only: sheet index or name (default 0)
    community:                     # the community the rows belong to
      community_id: demo-group
      name: 示例社群
      theme: interest              # commlab vocabularies (`commlab schema`)
      business_model: creator
      lifecycle: startup
      monetization: none
      platform: wechat
      economy: community           # optional
      source: 运营导出, 2024-03    # optional
    columns:                       # canonical column: source column
      member_id: 用户ID
      ts: 时间
      event_type: 类型
      target_member_id: 回复对象
      display_name: 昵称           # goes to members (last non-empty value per member)
    constants:                     # canonical column: fixed value (when no column holds it)
      channel: 主群
    values:                        # value maps per canonical column
      event_type: {发言: message, 回复: reply, 购买: purchase}
    time:
      format: "%Y/%m/%d %H:%M"     # optional strptime format; default: ISO-like, parsed flexibly
      tz: Asia/Shanghai            # zone of naive times (default Asia/Shanghai)
      unit: null                   # "s" or "ms" when the time column holds Unix numbers
    unknown_values: error          # or "drop": rows whose mapped value is not in the map

Canonical columns allowed in ``columns``/``constants``: every ``events``
column of :mod:`commlab.data.schema` plus ``display_name`` and ``message_id`` (an extra events column:
rows repeating an earlier row's message id are dropped and counted); ``community_id``
may be a column when the file holds several communities (each then needs
the ``community`` fields, so only one community per file is supported
unless ``community_id`` values all equal the configured one).

Members are derived from the events: every ``member_id`` and
``target_member_id``; ``joined_at`` = first time seen (or the ``join``
event), role ``member``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from commlab.data import schema as S
from commlab.data.load import Dataset, check_time_zone
from commlab.data.schema import Col
from commlab.errors import ImportFormatError, UsageError
from commlab.importers.files import decode_text, read_bytes, read_csv_text
from commlab.importers.finish import finish
from commlab.importers.import_report import ImportReport
from commlab.importers.options import split_options
from commlab.importers.tables import drop_rows, first_of_each_id, members_from_events, note_identical_rows
from commlab.importers.times import text_to_utc, unix_to_utc

__all__ = ["convert", "read_mapped", "MappingSpec", "load_mapping", "OPTIONS"]

OPTIONS: tuple[str, ...] = ("mapping", "progress")
_TARGETS = tuple(S.EVENTS.names) + ("display_name", "message_id")


class _Community(BaseModel):
    model_config = ConfigDict(extra="forbid")
    community_id: str
    name: str | None = None
    theme: str
    business_model: str
    lifecycle: str
    monetization: str
    platform: str = "other"
    economy: str | None = None
    source: str | None = None
    created_at: str | None = None


class _Time(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: str | None = None
    tz: str = "Asia/Shanghai"
    unit: Literal["s", "ms"] | None = None

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            check_time_zone(v)
        except UsageError:
            raise ValueError(f"unknown time zone {v!r}: use an IANA name such as Asia/Shanghai or UTC") from None
        return v


class MappingSpec(BaseModel):
    """A validated column-mapping file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")
    file: str | None = None
    sheet: int | str = 0
    community: _Community
    columns: dict[str, str] = Field(default_factory=dict)
    constants: dict[str, str | float | int] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    time: _Time = Field(default_factory=_Time)
    unknown_values: Literal["error", "drop"] = "error"

    @field_validator("columns", "constants", "values")
    @classmethod
    def _known_targets(cls, v: dict) -> dict:
        unknown = sorted(set(v) - set(_TARGETS))
        if unknown:
            raise ValueError(f"unknown canonical column(s) {', '.join(unknown)}; allowed: {', '.join(_TARGETS)}")
        return v


def load_mapping(path: str | Path) -> MappingSpec:
    """Read and validate a mapping YAML file.

    Raises
    ------
    ImportFormatError
        Unreadable YAML, unknown keys, wrong types, missing ``member_id``/``ts``/``event_type``.
    """
    p = Path(path)
    try:
        raw = yaml.safe_load(decode_text(p.read_bytes(), str(p)))
    except OSError as exc:
        raise ImportFormatError(p, f"cannot read mapping file ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise ImportFormatError(p, f"{where}not valid YAML ({getattr(exc, 'problem', None) or exc})") from exc
    except RecursionError:
        raise ImportFormatError(p, "YAML nested too deep to read (no mapping file nests so deep)") from None
    if not isinstance(raw, dict):
        raise ImportFormatError(p, "the mapping file must be a YAML mapping (key: value)")
    try:
        spec = MappingSpec.model_validate(raw)
    except ValidationError as exc:
        msgs = "; ".join(
            f"{'.'.join(str(x) for x in e['loc']) or '(top)'}: "
            + ("unknown key" if e["type"] == "extra_forbidden" else e["msg"])
            for e in exc.errors()
        )
        raise ImportFormatError(p, f"invalid mapping: {msgs}",
                                "see docs/IMPORTERS.md, section 'mapping', for the allowed keys") from exc
    given = set(spec.columns) | set(spec.constants)
    missing = [c for c in (Col.member_id, "ts", "event_type") if c not in given]
    if missing:
        raise ImportFormatError(p, f"invalid mapping: no column or constant for {', '.join(missing)}")
    if "ts" in spec.constants:
        raise ImportFormatError(p, "invalid mapping: ts must come from a column, not a constant")
    return spec


def _read_table(path: Path, sheet: int | str) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm", ".xls"):
            try:
                return pd.read_excel(path, sheet_name=sheet, dtype=str)
            except ImportError as exc:
                raise ImportFormatError(path, "reading Excel needs openpyxl (pip install openpyxl)") from exc
        return read_csv_text(decode_text(read_bytes(path), str(path)), path)
    except ImportFormatError:
        raise
    except (ValueError, KeyError) as exc:
        raise ImportFormatError(path, f"unreadable table ({exc})") from exc
    except Exception as exc:  # noqa: BLE001 - any parser failure
        raise ImportFormatError(path, f"unreadable table ({type(exc).__name__}: {exc})") from exc


def _confined(spec_path: Path, name: str) -> Path:
    """The data file ``name`` of the mapping ``spec_path``: it must lie in the mapping's folder or below.

    A mapping file is data that can travel (mailed with an export); it must not read files
    elsewhere (``/etc/passwd``, ``../../secrets.csv``). A data file outside the folder is
    given on the command line instead, as the source, with the mapping as an option.

    Raises
    ------
    ImportFormatError
        An absolute path, or one leading (through ``..`` or a link) out of the folder.
    """
    folder = spec_path.parent.resolve()
    target = (folder / name).resolve()
    if Path(name).is_absolute() or not target.is_relative_to(folder):
        raise ImportFormatError(
            spec_path, f"the data file {name!r} lies outside the mapping's folder {folder}",
            "put the data file in the mapping's folder, or pass it on the command line: "
            f"commlab import mapping DATA_FILE -o mapping={spec_path.name} --out DIR", field="file",
        )
    return target


def convert(source: str | Path, **options: Any) -> tuple[Dataset, ImportReport]:
    """Convert a CSV/Excel file with a mapping YAML to the canonical tables.

    Parameters
    ----------
    source : str or Path
        The data file (then the option ``mapping`` names the YAML), or the
        mapping YAML itself when it has a ``file`` key.
    **options
        ``mapping`` (path of the YAML). Community fields come from the YAML.

    Returns
    -------
    dataset, report : Dataset and ImportReport

    Raises
    ------
    ImportFormatError
        Invalid mapping (unknown keys ...), a mapped column missing from the
        data, unmapped values with ``unknown_values: error``, bad times.
    """
    split_options(options, OPTIONS, "mapping")
    src = Path(source)
    if src.suffix.lower() in (".yaml", ".yml"):
        spec_path = src
        spec = load_mapping(spec_path)
        if not spec.file:
            raise ImportFormatError(spec_path, "no 'file' key: name the data file, or pass the data file as source "
                                    "and this YAML as the mapping option")
        data_path = _confined(spec_path, spec.file)
    else:
        if not options.get("mapping"):
            raise UsageError("the mapping importer needs the option mapping=<path of the mapping YAML>")
        spec_path = Path(options["mapping"])
        spec = load_mapping(spec_path)
        data_path = src
    if not data_path.is_file():
        raise ImportFormatError(data_path, "data file not found")
    raw = _read_table(data_path, spec.sheet)
    raw.columns = [str(c).strip() for c in raw.columns]
    report = ImportReport("mapping", str(data_path))
    report.read(data_path.name, len(raw))
    absent = sorted({v for v in spec.columns.values() if v not in raw.columns})
    if absent:
        raise ImportFormatError(
            data_path, f"column(s) named in {spec_path.name} not in the file: {', '.join(absent)}; "
            f"the file has: {', '.join(map(str, raw.columns))}", f"correct 'columns' in {spec_path}",
            record="line 1 (the header)",
        )
    rows = [f"row {i + 2}" for i in range(len(raw))]  # as a spreadsheet numbers them (the header is row 1)
    raw.index = pd.RangeIndex(len(raw))
    out = pd.DataFrame(index=raw.index)
    for target, col in spec.columns.items():
        out[target] = raw[col].astype("string").str.strip()
    for target, val in spec.constants.items():
        if target not in out.columns:
            out[target] = str(val)
    for target, vmap in spec.values.items():
        if target not in out.columns:
            continue
        mapped = out[target].map(lambda x, m=vmap: m.get(x, m.get(str(x))) if pd.notna(x) else None)
        unmapped = out[target].notna() & mapped.isna()
        if unmapped.any():
            vals = sorted(set(out.loc[unmapped, target].astype(str)))[:10]
            if spec.unknown_values == "error":
                first = int(unmapped.to_numpy().nonzero()[0][0])
                raise ImportFormatError(
                    data_path, f"{int(unmapped.sum())} value(s) of column {spec.columns.get(target, target)!r} have "
                    f"no entry in values.{target}: {', '.join(vals)}",
                    f"add them to values.{target} in {spec_path}, or set unknown_values: drop",
                    record=rows[out.index[first]], field=spec.columns.get(target, target),
                )
            out = drop_rows(out, unmapped, f"value of {target} not in the mapping ({', '.join(vals)})", report)
            mapped = mapped[~unmapped]
        out[target] = mapped.astype("string")
    cid = spec.community.community_id
    if Col.community_id in out.columns:
        other = out[Col.community_id].notna() & (out[Col.community_id] != cid)
        if other.any():
            first = out.index[int(other.to_numpy().nonzero()[0][0])]
            raise ImportFormatError(data_path, f"rows of community {out.loc[first, Col.community_id]!r} but "
                                    f"the mapping describes {cid!r}", "split the file per community",
                                    record=rows[first], field=spec.columns.get(Col.community_id, Col.community_id))
    out[Col.community_id] = cid
    src_col = spec.columns.get("ts", "ts")
    labels = [rows[i] for i in out.index]
    if spec.time.unit:
        out["ts"] = unix_to_utc(out["ts"], unit=spec.time.unit, file=str(data_path), what=src_col, records=labels)
    else:
        out["ts"] = text_to_utc(out["ts"], tz=spec.time.tz, file=str(data_path), what=src_col,
                                fmt=spec.time.format, records=labels)
    out = drop_rows(out, out[Col.member_id].isna(), "row without member_id", report)
    out = drop_rows(out, out["ts"].isna(), "row without a time", report)
    if "message_id" in out.columns:
        out = out[first_of_each_id(out["message_id"], report)]
    else:
        note_identical_rows(out, report, "row(s)")
    names = None
    if "display_name" in out.columns:
        dn = out.dropna(subset=["display_name"]).groupby(Col.member_id)["display_name"].last()
        names = dn.to_dict()
        out = out.drop(columns=["display_name"])
    if out.empty:
        raise ImportFormatError(data_path, "no row left to import")
    members = members_from_events(out, names=names)
    c = spec.community
    created = out["ts"].min()
    if c.created_at:
        created = text_to_utc(pd.Series([c.created_at]), tz=spec.time.tz, file=str(spec_path),
                              what="community.created_at", records=["community"]).iloc[0]
    comm = pd.DataFrame([{
        Col.community_id: cid, "name": c.name or cid, "theme": c.theme, "business_model": c.business_model,
        "lifecycle": c.lifecycle, "platform": c.platform, "monetization": c.monetization, "created_at": created,
        "economy": c.economy, "source": c.source or f"{data_path.name} mapped with {spec_path.name}",
    }])
    report.notes.append("members derived from the events: joined_at = first time seen")
    ds = finish(comm, members, out, source=str(data_path), report=report, tz=spec.time.tz,
                source_columns=dict(spec.columns), keep_event_rows=True)
    return ds, report


def read_mapped(source: str | Path, **options: Any) -> Dataset:
    """Read a CSV/Excel file with a mapping YAML into a validated :class:`Dataset` (see :func:`convert`)."""
    return convert(source, **options)[0]
