"""Importer for 企业微信 (WeCom) 会话内容存档 (chat archive): decrypted message JSON.

Accepted layout (``FORMATS.md`` §5d; WeCom doc "获取会话内容",
developer.work.weixin.qq.com/document/path/91774): the messages as
decrypted from ``GetChatData``'s ``encrypt_chat_msg``, one JSON object per
message, stored as

* NDJSON (one object per line, ``.jsonl``/``.ndjson``/``.json``), or
* a JSON array of objects, or an object ``{"msgs": [...]}`` / ``{"chatdata": [...]}``
  whose items are decrypted messages (still-encrypted items are rejected).

Each message: ``msgid``, ``action`` (``send``/``recall``/``switch``),
``from``, ``tolist``, ``roomid`` (empty for 1:1), ``msgtime`` (Unix **ms**,
UTC), ``msgtype`` and a body named after it (``text{content}``, ...).

Mapping
-------
* one community per ``roomid`` (``wecom-<roomid>``, or the ``community_id``
  option when there is one room); 1:1 messages (empty ``roomid``) are
  dropped and counted.
* ``action`` ``send`` -> ``message`` by ``from`` (``text`` = ``text.content``
  for text messages; extra column ``msgtype``); ``msgtype`` ``revoke`` and
  ``action`` ``recall``/``switch`` are counted as not mapped. The archive has
  no reply id (quotes arrive as text) and no join/leave records
  (``externalcontact/groupchat/get`` has ``join_time``; not read here).
* members: every sender; role ``bot`` for ids starting ``wb`` (robots),
  ``member`` for external contacts (``wm``/``wo`` prefixes), ``staff`` for
  internal userids (the enterprise's employees run the group); extra column
  ``external`` (bool). ``joined_at`` = first message (no join time in the
  archive; noted).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from commlab.data.load import Dataset
from commlab.importers.base import (
    ImportFormatError,
    ImportReport,
    community_row,
    decode_text,
    finish,
    members_from_events,
    read_bytes,
    single_community_option,
    split_options,
    unix_to_utc,
)

__all__ = ["convert", "read_wecom", "OPTIONS"]

OPTIONS: tuple[str, ...] = ("progress",)
_DEFAULTS = {"theme": "consumption", "business_model": "product_sales", "lifecycle": "mature",
             "monetization": "ecommerce"}
_KEYS = ("msgid", "action", "from", "msgtime")


def _messages(path: Path) -> list[dict]:
    text = decode_text(read_bytes(path), str(path)).strip()
    if not text:
        raise ImportFormatError(path, "empty file")
    try:
        data = json.loads(text)
        items = data
        if isinstance(data, dict):
            items = data.get("msgs", data.get("chatdata"))
            if items is None and all(k in data for k in _KEYS):
                items = [data]
    except json.JSONDecodeError:
        items = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ImportFormatError(path, f"line {n}: not valid JSON ({exc.msg})",
                                        "write one decrypted message object per line (NDJSON)") from exc
    if not isinstance(items, list):
        raise ImportFormatError(path, "expected decrypted messages: NDJSON, a JSON array, or {'msgs': [...]}")
    for i, m in enumerate(items):
        if isinstance(m, dict) and "encrypt_chat_msg" in m:
            raise ImportFormatError(path, f"item {i} is still encrypted (encrypt_chat_msg)",
                                    "decrypt with the WeCom Finance SDK (DecryptData) first")
        missing = [k for k in _KEYS if not isinstance(m, dict) or k not in m]
        if missing:
            raise ImportFormatError(path, f"item {i} lacks {', '.join(missing)}: {str(m)[:80]}")
    return items


def _role(uid: str) -> str:
    if uid.startswith("wb"):
        return "bot"
    if uid.startswith(("wm", "wo")):
        return "member"
    return "staff"


def convert(source: str | Path, **options: Any) -> tuple[Dataset, ImportReport]:
    """Convert decrypted WeCom archive messages to the canonical tables.

    Parameters
    ----------
    source : str or Path
        A ``.json``/``.jsonl``/``.ndjson`` file or a folder of them.
    **options
        Community options (``community_id`` when there is one room).

    Returns
    -------
    dataset, report : Dataset and ImportReport

    Raises
    ------
    ImportFormatError
        Not JSON/NDJSON, encrypted items, items without ``msgid``/``action``/
        ``from``/``msgtime`` (names the file).
    """
    split_options(options, OPTIONS, "wecom")
    src = Path(source)
    files = sorted(p for ext in ("*.json", "*.jsonl", "*.ndjson") for p in src.glob(ext)) if src.is_dir() else [src]
    if not files:
        raise ImportFormatError(src, "no .json/.jsonl/.ndjson file in the folder")
    report = ImportReport("wecom", str(src))
    rows = []
    for f in files:
        items = _messages(f)
        report.read(f.name, len(items))
        for m in items:
            action, mtype = m.get("action"), m.get("msgtype")
            if action != "send":
                report.skip(f"action '{action}'")
                continue
            if mtype == "revoke":
                report.skip("revoke notice (msgtype revoke)")
                continue
            if not m.get("roomid"):
                report.drop("1:1 message (no roomid)")
                continue
            body = m.get(mtype) if isinstance(m.get(mtype), dict) else {}
            rows.append({"roomid": str(m["roomid"]), "member_id": str(m["from"]), "msgtime": m["msgtime"],
                         "msgtype": mtype, "message_id": str(m["msgid"]),
                         "text": body.get("content") if mtype == "text" else None})
    if not rows:
        raise ImportFormatError(src, "no group message (action send with a roomid)")
    ev = pd.DataFrame(rows)
    ev["ts"] = unix_to_utc(ev["msgtime"], unit="ms", file=str(src), what="msgtime")
    rooms = sorted(ev["roomid"].unique())
    single_community_option(options, len(rooms), "rooms")
    ev["community_id"] = ev["roomid"].map(
        lambda r: (options.get("community_id") if len(rooms) == 1 else None) or f"wecom-{r}")
    ev["event_type"] = "message"
    ev = ev.drop(columns=["msgtime"])
    for col in ("text", "msgtype", "message_id", "roomid"):
        ev[col] = ev[col].astype("string")
    roles = {u: _role(u) for u in ev["member_id"].unique()}
    members = members_from_events(ev, roles=roles)
    members["external"] = members["member_id"].str.startswith(("wm", "wo"))
    report.notes.append("joined_at = first message (the archive has no join time); roles from id prefixes: "
                        "wb = bot, wm/wo = external member, others = staff (internal employees)")
    opts = {k: v for k, v in options.items() if k != "community_id"}
    comms = [community_row(
        community_id=cid, name=str(room), platform="wecom", created_at=part["ts"].min(),
        source="WeCom chat archive (会话内容存档)", report=report, defaults=_DEFAULTS, options=opts,
    ) for (cid, room), part in ev.groupby(["community_id", "roomid"], sort=True)]
    return finish(pd.DataFrame(comms), members, ev, source=str(src), report=report), report


def read_wecom(source: str | Path, **options: Any) -> Dataset:
    """Read decrypted WeCom archive messages into a validated :class:`Dataset` (see :func:`convert`)."""
    return convert(source, **options)[0]
