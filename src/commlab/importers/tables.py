"""Building the canonical tables from an export's records: ids, dropped and repeated rows, members, reply chains.

Each helper that drops or notes rows counts them in the :class:`~commlab.importers.import_report.ImportReport`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from commlab.data.schema import Col
from commlab.importers.import_report import ImportReport

__all__ = ["clean_ids", "isin", "drop_rows", "members_from_events", "DUPLICATE_ID", "first_of_each_id",
           "note_identical_rows", "count_by", "reply_roots"]


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
    cols = [Col.community_id, Col.member_id, "ts"]
    acting = events[cols]
    frames = [acting]
    if "target_member_id" in events.columns:
        tgt = events.loc[events["target_member_id"].notna(), [Col.community_id, "target_member_id", "ts"]]
        frames.append(tgt.rename(columns={"target_member_id": Col.member_id}))
    allrows = pd.concat(frames, ignore_index=True)
    first = allrows.groupby([Col.community_id, Col.member_id], sort=True)["ts"].min().reset_index()
    first = first.rename(columns={"ts": "joined_at"})
    first["role"] = role
    if roles:
        first["role"] = first[Col.member_id].map(roles).fillna(role).astype("string")
    if names is not None:
        first["display_name"] = first[Col.member_id].map(names).astype("string")
    if left_from_events and "event_type" in events.columns and (events["event_type"] == "leave").any():
        key = [Col.community_id, Col.member_id]
        last = lambda t: events[events["event_type"] == t].groupby(key)["ts"].max()  # noqa: E731
        left, joined = last("leave"), last("join").reindex(last("leave").index)
        left = left[joined.isna() | (left >= joined)].rename("left_at").reset_index()
        first = first.merge(left, on=key, how="left")
    return first


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
