"""The first look at a data set: who is there, how active, when.

Every function takes the analysis instant ``as_of`` explicitly (tz-aware, UTC);
events after it are ignored.
"""

from __future__ import annotations

import pandas as pd

from commlab.data import schema as S
from commlab.data.load import Dataset
from commlab.i18n import t

__all__ = [
    "to_utc",
    "community_table",
    "activity_summary",
    "daily_activity",
    "weekday_hour",
]

STAFF_ROLES: tuple[str, ...] = ("owner", "staff", "bot")


def to_utc(when: str | pd.Timestamp) -> pd.Timestamp:
    """Parse ``when`` as an instant; a naive value is taken as UTC.

    Raises
    ------
    ValueError
        If ``when`` is empty or cannot be parsed.
    """
    if when is None or (isinstance(when, str) and not when.strip()):
        raise ValueError("as_of is required: pass an explicit date such as '2024-06-30'")
    ts = pd.Timestamp(when)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def community_table(ds: Dataset, lang: str = "en") -> pd.DataFrame:
    """The communities with their type labels in ``lang``, one row each."""
    c = ds.communities
    out = pd.DataFrame({t("community_id", lang): c["community_id"], t("name", lang): c["name"]})
    for col in ("theme", "business_model", "lifecycle", "platform", "monetization", "economy"):
        vocab = S.VOCABULARIES[col]
        out[t(col, lang)] = [vocab.label(v, lang) if pd.notna(v) else "" for v in c[col]]
    out[t("created_at", lang)] = c["created_at"].dt.strftime("%Y-%m-%d")
    return out


def _until(events: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    return events[events["ts"] <= as_of]


def activity_summary(ds: Dataset, *, as_of: str | pd.Timestamp) -> pd.DataFrame:
    """Per community: members, staff, active members (7/30 days), events per member.

    Members are those who joined by ``as_of`` and had not left; staff and bots are
    counted apart and excluded from the member figures. A member is active in a
    window when they have any event other than ``join``/``leave`` in it.

    Returns
    -------
    DataFrame
        Indexed by ``community_id`` with columns ``members``, ``staff``, ``active_7d``,
        ``active_30d``, ``active_share_30d``, ``events``, ``events_per_member``,
        ``content_per_member``.
    """
    now = to_utc(as_of)
    m = ds.members
    present = (m["joined_at"] <= now) & (m["left_at"].isna() | (m["left_at"] > now))
    m = m[present]
    is_staff = m["role"].isin(STAFF_ROLES)
    members = m[~is_staff].groupby("community_id").size()
    staff = m[is_staff].groupby("community_id").size()
    ev = _until(ds.events, now)
    ev = ev[~ev["event_type"].isin(["join", "leave"])]
    key = ev["community_id"] + "\x1f" + ev["member_id"]
    staff_keys = set(m.loc[is_staff, "community_id"] + "\x1f" + m.loc[is_staff, "member_id"])
    member_keys = set(m.loc[~is_staff, "community_id"] + "\x1f" + m.loc[~is_staff, "member_id"])
    ev = ev[key.isin(member_keys) & ~key.isin(staff_keys)]

    def active(days: int) -> pd.Series:
        w = ev[ev["ts"] > now - pd.Timedelta(days=days)]
        return w.groupby("community_id")["member_id"].nunique()

    ids = pd.Index(ds.communities["community_id"], name="community_id")
    out = pd.DataFrame(index=ids)
    out["members"] = members.reindex(ids, fill_value=0)
    out["staff"] = staff.reindex(ids, fill_value=0)
    out["active_7d"] = active(7).reindex(ids, fill_value=0)
    out["active_30d"] = active(30).reindex(ids, fill_value=0)
    denom = out["members"].where(out["members"] > 0)
    out["active_share_30d"] = out["active_30d"] / denom
    out["events"] = ev.groupby("community_id").size().reindex(ids, fill_value=0)
    out["events_per_member"] = out["events"] / denom
    content = ev[ev["event_type"].isin(S.CONTENT_EVENTS)].groupby("community_id").size()
    out["content_per_member"] = content.reindex(ids, fill_value=0) / denom
    return out


def daily_activity(ds: Dataset, *, as_of: str | pd.Timestamp, tz: str | None = None) -> pd.DataFrame:
    """Events and active members per community and local calendar day.

    Returns a tidy frame: ``community_id``, ``date``, ``events``, ``active_members``.
    """
    now = to_utc(as_of)
    ev = _until(ds.events, now)
    ev = ev[~ev["event_type"].isin(["join", "leave"])]
    day = ev["ts"].dt.tz_convert(tz or ds.tz).dt.tz_localize(None).dt.normalize()
    g = ev.assign(date=day).groupby(["community_id", "date"])
    out = g.agg(events=("member_id", "size"), active_members=("member_id", "nunique")).reset_index()
    return out


def weekday_hour(ds: Dataset, *, as_of: str | pd.Timestamp, tz: str | None = None) -> pd.DataFrame:
    """Event counts by local weekday (rows 0 = Monday) and hour (columns 0–23)."""
    now = to_utc(as_of)
    ev = _until(ds.events, now)
    ev = ev[~ev["event_type"].isin(["join", "leave"])]
    local = ev["ts"].dt.tz_convert(tz or ds.tz)
    table = pd.crosstab(local.dt.weekday, local.dt.hour)
    return table.reindex(index=range(7), columns=range(24), fill_value=0)
