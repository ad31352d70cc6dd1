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
* reply links are inferred (:func:`commlab.replies.infer_replies`; quotes
  written as text, @mentions, names, then the reply model) and marked in
  ``reply_source``/``reply_confidence``; ``infer_replies=false`` leaves them out.
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
from commlab.data.schema import Col
from commlab.errors import ImportFormatError
from commlab.importers.fields import Fields, preview, record_label
from commlab.importers.files import decode_text, read_bytes
from commlab.importers.finish import finish
from commlab.importers.import_report import ImportReport
from commlab.importers.jsonfile import parse_json
from commlab.importers.options import community_row, opt_bool, single_community_option, split_options
from commlab.importers.tables import DUPLICATE_ID, members_from_events
from commlab.importers.times import unix_to_utc
from commlab.replies.infer import infer_replies, inferred_note

__all__ = ["convert", "read_wecom", "OPTIONS"]

OPTIONS: tuple[str, ...] = ("infer_replies", "progress")
_DEFAULTS = {"theme": "consumption", "business_model": "product_sales", "lifecycle": "mature",
             "monetization": "ecommerce"}
_KEYS = ("msgid", "action", "from", "msgtime")


def _messages(path: Path) -> list[tuple[dict, Fields]]:
    """The decrypted messages of ``path``, each with the :class:`Fields` that names it in errors."""
    text = decode_text(read_bytes(path), str(path)).strip()
    if not text:
        raise ImportFormatError(path, "empty file")
    labels: list[str] | None = None
    try:
        data = json.loads(text)
        items = data
        if isinstance(data, dict):
            items = data.get("msgs", data.get("chatdata"))
            if items is None and all(k in data for k in _KEYS):
                items = [data]
    except RecursionError:
        items = parse_json(text, str(path))  # raises, naming the line nested too deep
    except json.JSONDecodeError:
        items, labels = [], []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ImportFormatError(path, f"not valid JSON ({exc.msg})",
                                        "write one decrypted message object per line (NDJSON)",
                                        record=f"line {n}") from exc
            except RecursionError:
                raise ImportFormatError(path, "JSON nested too deep for Python's parser (no message nests so deep)",
                                        "the file is damaged", record=f"line {n}") from None
            labels.append(f"line {n}")
    if not isinstance(items, list):
        raise ImportFormatError(path, "expected decrypted messages: NDJSON, a JSON array, or {'msgs': [...]}")
    out = []
    for i, m in enumerate(items):
        at = labels[i] if labels is not None else f"item {i}"
        if not isinstance(m, dict):
            raise ImportFormatError(path, f"expected a message object, found {preview(m)}", record=at)
        if "encrypt_chat_msg" in m:
            raise ImportFormatError(path, f"{at} is still encrypted (encrypt_chat_msg)",
                                    "decrypt with the WeCom Finance SDK (DecryptData) first")
        f = Fields(path, f"{at} ({record_label('message', m.get('msgid'))})" if m.get("msgid") is not None else at)
        missing = [k for k in _KEYS if k not in m]
        if missing:
            raise ImportFormatError(path, f"lacks {', '.join(missing)} (every message has them)", record=f.record)
        f.id(m, "msgid", required=True)
        out.append((m, f))
    return out


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
    seen: set[str] = set()
    for path in files:
        items = _messages(path)
        report.read(path.name, len(items))
        for m, f in items:
            msgid = f.id(m, "msgid", required=True)
            assert msgid is not None
            if msgid in seen:
                report.drop(DUPLICATE_ID)
                continue
            seen.add(msgid)
            action, mtype = f.text(m, "action"), f.text(m, "msgtype")
            if action != "send":
                report.skip(f"action '{action}'")
                continue
            if mtype == "revoke":
                report.skip("revoke notice (msgtype revoke)")
                continue
            room = f.id(m, "roomid")
            if not room:
                report.drop("1:1 message (no roomid)")
                continue
            body = f.mapping(m, mtype) if mtype else {}
            rows.append({"roomid": room, Col.member_id: f.id(m, "from", required=True), "msgtime": m["msgtime"],
                         "msgtype": mtype, "message_id": msgid,
                         "text": f.text(body, "content", name=f"{mtype}.content") if mtype == "text" else None,
                         "file": str(path), "record": f.record})
    if not rows:
        raise ImportFormatError(src, "no group message (action send with a roomid) in "
                                + ", ".join(p.name for p in files[:5]))
    ev = pd.DataFrame(rows)
    ev["ts"] = pd.concat([unix_to_utc(part["msgtime"], unit="ms", file=name, what="msgtime",
                                      records=list(part["record"]))
                          for name, part in ev.groupby("file", sort=False)]).reindex(ev.index)
    ev = ev.drop(columns=["file", "record"])
    rooms = sorted(ev["roomid"].unique())
    single_community_option(options, len(rooms), "rooms")
    ev[Col.community_id] = ev["roomid"].map(
        lambda r: (options.get(Col.community_id) if len(rooms) == 1 else None) or f"wecom-{r}")
    ev["event_type"] = "message"
    ev = ev.drop(columns=["msgtime"])
    for col in ("text", "msgtype", "message_id", "roomid"):
        ev[col] = ev[col].astype("string")
    roles = {u: _role(u) for u in ev[Col.member_id].unique()}
    if opt_bool(options.get("infer_replies"), "infer_replies") is not False:  # no reply field: infer links
        ev = infer_replies(ev, roles=roles)
        report.notes.append(inferred_note(ev))
    members = members_from_events(ev, roles=roles)
    members["external"] = members[Col.member_id].str.startswith(("wm", "wo"))
    report.notes.append("joined_at = first message (the archive has no join time); roles from id prefixes: "
                        "wb = bot, wm/wo = external member, others = staff (internal employees)")
    opts = {k: v for k, v in options.items() if k != Col.community_id}
    comms = [community_row(
        community_id=cid, name=str(room), platform="wecom", created_at=part["ts"].min(),
        source="WeCom chat archive (会话内容存档)", report=report, defaults=_DEFAULTS, options=opts,
    ) for (cid, room), part in ev.groupby([Col.community_id, "roomid"], sort=True)]
    return finish(pd.DataFrame(comms), members, ev, source=str(src), report=report), report


def read_wecom(source: str | Path, **options: Any) -> Dataset:
    """Read decrypted WeCom archive messages into a validated :class:`Dataset` (see :func:`convert`)."""
    return convert(source, **options)[0]
