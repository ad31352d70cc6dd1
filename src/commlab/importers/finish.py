"""The last step of every importer: coerce and validate the three tables as `load_dataset` does."""

from __future__ import annotations

import pandas as pd

from commlab.data import schema as S
from commlab.data.coerce import check_table
from commlab.data.load import Dataset
from commlab.data.schema import Col
from commlab.data.validate import cross_table_problems
from commlab.errors import DataValidationError, Problem
from commlab.importers.import_report import ImportReport

__all__ = ["with_platform", "finish"]


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
    if "platform" not in communities.columns or Col.community_id not in events.columns \
            or Col.community_id not in communities.columns:
        return events
    primary = communities["platform"].astype("string").str.split(r"[;；|、]").str[0].str.strip()
    primary = primary.where(primary.isin(S.PLATFORM.codes))
    by_id = pd.Series(primary.to_numpy(), index=communities[Col.community_id].astype(str).to_numpy())
    by_id = by_id[~by_id.index.duplicated()]
    fill = events[Col.community_id].astype(str).map(by_id)
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
    ev = out["events"].sort_values([Col.community_id, "ts"], kind="stable").reset_index(drop=True)
    ds = Dataset(out["communities"], out["members"], ev, files=files, tz=tz)
    report.rows_mapped = {name: len(getattr(ds, name)) for name in S.TABLES}
    return ds
