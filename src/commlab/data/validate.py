"""Validation of the three canonical tables: lazy, complete, actionable.

Per-table checks (required columns, allowed values, non-negative and finite amounts,
unique keys, missing values) are pandera schemas built from
:mod:`commlab.data.schema`; cross-table checks (members of unknown
communities, events by unknown members, reply targets that do not exist,
events before the community was created) are joins done here. Every problem
found is collected; nothing stops at the first one.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute

from commlab.data import schema as S
from commlab.data.schema import Col
from commlab.errors import Problem

if TYPE_CHECKING:
    import pandera.pandas as pa


def _pandera() -> Any:
    """``pandera.pandas``, imported on first use: ~0.8 s (it imports pyspark.pandas when pyspark is installed),
    which a notebook reading a run's validated data never needs."""
    with warnings.catch_warnings():
        # pandera imports pyspark.pandas when pyspark is installed (the optional spark extra), which warns
        # about pandas 3 on every import; that warning concerns pyspark.pandas, which commlab does not use.
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support", category=FutureWarning)
        import pandera.pandas

    return pandera.pandas

__all__ = [
    "pandera_schema", "table_problems", "cross_table_problems", "member_cross_problems", "event_cross_problems",
    "KnownPairs", "ProblemLog", "MAX_ROWS_SHOWN",
]

#: How many offending rows each problem lists.
MAX_ROWS_SHOWN = 5

#: The header is row 1, so the first data row (index 0) is row 2.
ROW_OFFSET = 2


def pandera_schema(table: S.Table) -> pa.DataFrameSchema:
    """The pandera schema of a canonical table (values only; types are coerced before)."""
    pa = _pandera()
    columns: dict[str, pa.Column] = {}
    for c in table.columns:
        checks = []
        if c.vocabulary is not None:
            checks.append(pa.Check.isin(c.vocabulary.codes, name=f"allowed {c.name}"))
        if c.dtype == "float":
            checks.append(pa.Check.ge(0, name=f"non-negative {c.name}"))
            checks.append(pa.Check(lambda v: ~np.isinf(v), name=f"finite {c.name}"))
        columns[c.name] = pa.Column(
            None, checks=checks, nullable=c.nullable, required=c.required, coerce=False,
        )
    return pa.DataFrameSchema(
        columns, unique=list(table.key) or None, strict=False, name=table.name,
    )


def _fix_for(table: S.Table, column: str, check: str) -> str:
    if check == "column_in_dataframe":
        return (
            f"add a column named '{column}' to the {table.name} file "
            f"(required columns: {', '.join(table.required)})"
        )
    if check.startswith(("allowed", "isin")):
        col = table.column(column)
        assert col.vocabulary is not None
        return f"use one of: {', '.join(col.vocabulary.codes)} (see `commlab schema`)"
    if check.startswith(("non-negative", "greater_than_or_equal_to")):
        return "amounts are money spent and cannot be negative; record refunds as a separate column or drop them"
    if check.startswith("finite"):
        return "write amounts as plain numbers such as 12.5 (1e999 and inf are not amounts)"
    if check == "not_nullable":
        return f"fill in '{column}' on these rows, or drop the rows"
    if check.startswith("multiple_fields_uniqueness") or check == "field_uniqueness":
        return f"each {' + '.join(table.key)} must appear once; remove or merge the duplicate rows"
    return ""


def _check_label(check: str, column: str) -> str:
    if check == "column_in_dataframe":
        return "missing column"
    if check == "not_nullable":
        return "missing value"
    if check.startswith("multiple_fields_uniqueness") or check == "field_uniqueness":
        return "duplicate " + column
    if check.startswith(("allowed", "isin")):
        return "unknown " + column + " value"
    if check.startswith(("non-negative", "greater_than_or_equal_to")):
        return "negative " + column
    if check.startswith("finite"):
        return "infinite " + column
    return check


def table_problems(frame: pd.DataFrame, table: S.Table, file: str) -> list[Problem]:
    """Every per-table problem of ``frame`` against ``table``, as :class:`Problem`."""
    _pandera()  # imported with its warning filtered
    from pandera.errors import SchemaErrors

    try:
        with warnings.catch_warnings():  # see _pandera: pandera may import pyspark.pandas lazily
            warnings.filterwarnings("ignore", message="PySpark does not yet fully support", category=FutureWarning)
            pandera_schema(table).validate(frame, lazy=True)
        return []
    except SchemaErrors as err:
        cases = err.failure_cases
    problems: list[Problem] = []
    cases = cases.copy()
    cases["check"] = cases["check"].astype(str)
    for (column, check), grp in cases.groupby(["column", "check"], dropna=False, sort=False):
        if check == "column_in_dataframe":
            for missing in grp["failure_case"]:
                problems.append(
                    Problem(file, str(missing), "missing column",
                            fix=_fix_for(table, str(missing), check))
                )
            continue
        column = str(column)
        if check.startswith("multiple_fields_uniqueness"):
            if not all(k in frame.columns for k in table.key):
                continue  # a key column is missing (reported above): uniqueness of the rest means nothing
            column = "+".join(table.key)
        idx = pd.to_numeric(grp["index"], errors="coerce").dropna().astype(int).drop_duplicates()
        rows = [int(i) + ROW_OFFSET for i in idx.head(MAX_ROWS_SHOWN)]
        if check.startswith("multiple_fields_uniqueness"):
            sub = frame.loc[idx.head(MAX_ROWS_SHOWN), list(table.key)]
            values = ["/".join(str(x) for x in r) for r in sub.itertuples(index=False)]
        else:
            values = [_plain(v) for v in grp["failure_case"].head(MAX_ROWS_SHOWN)]
        label = _check_label(check, column)
        if any(p.column == column and p.check == label for p in problems):
            continue  # a multi-column key is reported once, not once per column
        problems.append(
            Problem(file, column, label, rows, values, count=len(idx),
                    fix=_fix_for(table, column.split("+")[0], check))
        )
    return problems


def _plain(v: object) -> object:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    if hasattr(v, "item"):
        try:
            return v.item()  # numpy scalar -> python
        except (ValueError, AttributeError):
            pass
    return v


def _rows_problem(
    file: str, column: str, check: str, frame: pd.DataFrame, mask: pd.Series, shown: Iterable[str], fix: str
) -> Problem | None:
    if not bool(mask.any()):
        return None
    bad = frame.loc[mask]
    head = bad.head(MAX_ROWS_SHOWN)
    cols = list(shown)
    values = ["/".join(str(x) for x in r) for r in head[cols].itertuples(index=False)]
    rows = [int(i) + ROW_OFFSET for i in head.index]
    return Problem(file, column, check, rows, values, count=int(mask.sum()), fix=fix)


class KnownPairs:
    """The (``community_id``, ``member_id``) pairs of a members table, for looking events up against.

    A hash join in DuckDB (the anti-join returns only the positions of unknown pairs): a
    MultiIndex ``isin`` took 84 s on 50 M events. The distinct pairs are built once, so that the
    chunks of a large event file are each looked up against the same table. Close it (or use it
    as a context manager) when done.

    Parameters
    ----------
    known : DataFrame
        With ``community_id`` and ``member_id``; ids are compared as text.
    """

    def __init__(self, known: pd.DataFrame) -> None:
        self._con = duckdb.connect()
        self._con.register("keys", pyarrow.table({"c": _text(known[Col.community_id]),
                                                   "m": _text(known[Col.member_id])}))
        self._con.execute("CREATE TABLE known AS SELECT DISTINCT c, m FROM keys")
        self._con.unregister("keys")

    def contains(self, community: pd.Series, *members: pd.Series) -> list[pd.Series]:
        """Whether each (community, member) pair is known, for each column of ``members``.

        A pair with a missing id is not known. The columns are looked up in one join (one
        hash table of the known pairs per call).
        """
        n = len(community)
        c = _text(community)
        parts, out = [], []
        for k, member in enumerate(members):
            m = _text(member)
            present = pyarrow.compute.is_valid(m)
            out.append(np.asarray(present, dtype=bool))
            parts.append(pyarrow.table({
                "c": c.filter(present), "m": m.filter(present),
                "i": pyarrow.array(np.arange(k * n, (k + 1) * n, dtype=np.int64)).filter(present),
            }))
        known = np.concatenate(out) if out else np.zeros(0, dtype=bool)
        self._con.register("pairs", pyarrow.concat_tables(parts))
        try:
            unknown = self._con.sql("SELECT i FROM pairs ANTI JOIN known k "
                                    "ON pairs.c = k.c AND pairs.m = k.m").fetchnumpy()["i"]
        finally:
            self._con.unregister("pairs")
        known[np.asarray(unknown, dtype=np.int64)] = False
        return [pd.Series(known[k * n:(k + 1) * n], index=community.index) for k in range(len(members))]

    def close(self) -> None:
        """Release the DuckDB connection."""
        self._con.close()

    def __enter__(self) -> KnownPairs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _text(s: pd.Series) -> pyarrow.Array:
    return pyarrow.array(s.astype("string"), type=pyarrow.large_string())


class ProblemLog:
    """Problems found chunk by chunk, merged into one per file, column and check.

    Counts are added and the first :data:`MAX_ROWS_SHOWN` rows (and their values) kept, so
    that a table checked in chunks (each indexed by its rows in the file) reports what the
    whole table checked at once would: the same problems, counts, rows and values.
    """

    def __init__(self) -> None:
        self._found: dict[tuple[str, str, str], Problem] = {}

    def add(self, problems: Iterable[Problem]) -> None:
        """Merge ``problems`` (of the next chunk) into the log."""
        for p in problems:
            key = (p.file, p.column, p.check)
            if key not in self._found:
                self._found[key] = Problem(p.file, p.column, p.check, list(p.rows), list(p.values), p.count, p.fix)
                continue
            q = self._found[key]
            room = MAX_ROWS_SHOWN - len(q.rows)
            q.rows.extend(p.rows[:room])
            q.values.extend(p.values[:room])
            q.count += p.count

    @property
    def problems(self) -> list[Problem]:
        """Every problem found so far, in the order first met."""
        return list(self._found.values())


def cross_table_problems(
    communities: pd.DataFrame,
    members: pd.DataFrame,
    events: pd.DataFrame,
    files: dict[str, str],
) -> list[Problem]:
    """Problems that need two tables to see.

    The frames must already carry their required columns (with parsed times);
    checks whose columns are missing are skipped, since the missing column is
    already reported. The members' checks (:func:`member_cross_problems`), then the
    events' (:func:`event_cross_problems`).
    """
    return member_cross_problems(communities, members, files) + event_cross_problems(
        communities, members, events, files
    )


def _has(df: pd.DataFrame, *cols: str) -> bool:
    return all(c in df.columns for c in cols)


def member_cross_problems(communities: pd.DataFrame, members: pd.DataFrame, files: dict[str, str]) -> list[Problem]:
    """Members of communities that are not in the communities table."""
    if not (_has(communities, Col.community_id) and _has(members, Col.community_id)):
        return []
    known = set(communities[Col.community_id].dropna())
    mask = members[Col.community_id].notna() & ~members[Col.community_id].isin(known)
    found = _rows_problem(
        files["members"], Col.community_id, "member of an unknown community", members, mask, [Col.community_id],
        f"add the community to {files['communities']} or correct the id",
    )
    return [] if found is None else [found]


def event_cross_problems(
    communities: pd.DataFrame,
    members: pd.DataFrame,
    events: pd.DataFrame,
    files: dict[str, str],
    *,
    known: KnownPairs | None = None,
) -> list[Problem]:
    """Problems of ``events`` (all of them, or one chunk indexed by its rows) against the other two tables.

    Events in unknown communities, by members not in the members table, with reply targets
    that do not exist, and before their community was created.

    Parameters
    ----------
    communities, members, events : DataFrame
        Coerced tables.
    files : dict
        Table name to the file named in problems.
    known : KnownPairs, optional
        The members' pairs, built once by a caller checking many chunks; built here otherwise.
    """
    out: list[Problem | None] = []
    cf, mf, ef = files["communities"], files["members"], files["events"]

    if _has(communities, Col.community_id) and _has(events, Col.community_id):
        ids = set(communities[Col.community_id].dropna())
        mask = events[Col.community_id].notna() & ~events[Col.community_id].isin(ids)
        out.append(_rows_problem(
            ef, Col.community_id, "event in an unknown community", events, mask, [Col.community_id],
            f"add the community to {cf} or correct the id",
        ))
    if _has(members, Col.community_id, Col.member_id) and _has(events, Col.community_id, Col.member_id):
        pairs = known if known is not None else KnownPairs(members[[Col.community_id, Col.member_id]])
        try:
            targets = events["target_member_id"] if "target_member_id" in events.columns else None
            if targets is not None and not bool(targets.notna().any()):
                targets = None
            looked_up = pairs.contains(events[Col.community_id], events[Col.member_id],
                                       *([] if targets is None else [targets]))
            mask = ~looked_up[0] & events[Col.member_id].notna()
            out.append(_rows_problem(
                ef, Col.member_id, "event by a member not in the members table", events, mask,
                [Col.community_id, Col.member_id],
                f"add these members to {mf} (with joined_at and role) or drop their events",
            ))
            if targets is not None:
                mask = targets.notna() & ~looked_up[1]
                out.append(_rows_problem(
                    ef, "target_member_id", "reply/mention target that does not exist", events, mask,
                    [Col.community_id, "target_member_id"],
                    f"the target must be a member of the same community in {mf}; correct it or leave it empty",
                ))
        finally:
            if known is None:
                pairs.close()
    if _has(communities, Col.community_id, "created_at") and _has(events, Col.community_id, "ts"):
        created = communities.drop_duplicates(Col.community_id).set_index(Col.community_id)["created_at"]
        # each event's community creation time through integer codes (Series.map on 50 M string ids
        # built Python strings: 15 s and 2.4 GB)
        codes, ids = pd.factorize(events[Col.community_id])
        c_at = pd.Series(pd.DatetimeIndex(created.reindex(ids)).take(codes, allow_fill=True, fill_value=pd.NaT),
                         index=events.index)
        mask = events["ts"].notna() & c_at.notna() & (events["ts"] < c_at)
        out.append(_rows_problem(
            ef, "ts", "event before the community was created", events, mask, [Col.community_id, "ts"],
            f"check the time zone and created_at in {cf}: created_at must not be later than the first event",
        ))
    return [p for p in out if p is not None]
