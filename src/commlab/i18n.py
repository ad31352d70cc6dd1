"""User-facing text in Chinese and English.

Labels of data vocabularies live in :mod:`commlab.data.schema`; this module holds the
other words figures, tables and reports use. ``t("members", "zh")`` returns ``"成员数"``.
"""

from __future__ import annotations

__all__ = ["LANGS", "t", "check_lang"]

LANGS: tuple[str, ...] = ("zh", "en")

TEXT: dict[str, tuple[str, str]] = {
    # key: (zh, en)
    "community": ("社群", "community"),
    "community_id": ("社群ID", "community id"),
    "name": ("名称", "name"),
    "members": ("成员数", "members"),
    "staff": ("管理员/官方账号", "staff / official accounts"),
    "active_7d": ("7日活跃成员", "active members (7 days)"),
    "active_30d": ("30日活跃成员", "active members (30 days)"),
    "active_share_30d": ("30日活跃率", "30-day active share"),
    "events": ("事件数", "events"),
    "events_per_member": ("人均事件数", "events per member"),
    "content_per_member": ("人均发言数", "content per member"),
    "first_event": ("首个事件", "first event"),
    "last_event": ("最后事件", "last event"),
    "date": ("日期", "date"),
    "daily_activity": ("每日活跃度(事件数)", "Daily activity (events)"),
    "daily_active_members": ("每日活跃成员数", "Daily active members"),
    "weekday_hour": ("星期 × 小时 活跃热力图 (本地时间)", "Weekday × hour activity (local time)"),
    "hour": ("小时", "hour"),
    "weekday": ("星期", "weekday"),
    "weekdays": ("一,二,三,四,五,六,日", "Mon,Tue,Wed,Thu,Fri,Sat,Sun"),
    "count": ("数量", "count"),
    "share": ("占比", "share"),
    "as_of": ("分析时点", "as of"),
    "theme": ("主题类型", "theme"),
    "business_model": ("商业模式", "business model"),
    "lifecycle": ("生命周期", "lifecycle"),
    "platform": ("平台", "platform"),
    "monetization": ("变现模式", "monetization"),
    "economy": ("经济形态", "economy"),
    "created_at": ("建群时间", "created"),
}


def check_lang(lang: str) -> str:
    """Return ``lang`` if supported, else raise ``ValueError`` naming the choices."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGS)}")
    return lang


def t(key: str, lang: str = "en") -> str:
    """The text for ``key`` in ``lang``; the key itself when unknown."""
    zh, en = TEXT.get(key, (key, key))
    return zh if check_lang(lang) == "zh" else en
