"""Reply inference on the events table: who answered whom in chats that do not say.

Chat exports (WeChat, QQ, WeCom, IRC) record messages but rarely which message a message answers.
:func:`infer_replies` fills that in, per community (and channel), in time order:

1. explicit signals: a quoted message (WeChat quote replies), an ``@mention`` or a name at the
   start of the message (``王芳，…``, ``bob: …``) fix the member answered; the model picks which of
   that member's messages;
2. otherwise the reply model (:mod:`commlab.replies.model`, a logistic regression fitted on the
   human-annotated Ubuntu IRC corpus of Kummerfeld et al. 2019) scores the message itself (it
   starts a conversation) and each of the 50 messages before it (time gap, distance, turn-taking,
   addressing, shared words) and takes the best.

Every row it changes is marked: ``reply_source`` says how the link was found (:data:`INFERRED`),
``reply_confidence`` how sure it is, and ``original_event_type`` what the row was before. A message
that answers another member becomes a ``reply`` to that member (``target_member_id``) in the
thread of the message it answers; a message that starts a conversation becomes a ``post`` opening
a thread (so response rates are defined for chats); a message that continues its author's own
message joins that thread without a target. Rows that already have a target or a thread keep them
(``reply`` rows with a target are marked ``explicit``). :func:`drop_inferred` undoes all of it, so
every measure can be computed with or without the inferred links.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from commlab.data.schema import Col
from commlab.replies.features import WINDOW, Chat
from commlab.replies.link import link_messages
from commlab.replies.model import ReplyModel
from commlab.replies.signals import Names

__all__ = ["infer_replies", "drop_inferred", "inferred_note", "INFERRED", "REPLY_COLUMNS"]

#: ``reply_source`` values of inferred links (``explicit`` marks a link the source itself gave).
INFERRED: tuple[str, ...] = ("quote", "mention", "name", "model", "start")
#: The columns reply inference adds to the events table.
REPLY_COLUMNS: tuple[str, ...] = ("reply_source", "reply_confidence", "original_event_type")
_CONTENT = ("message", "post", "reply")


def _names(members: pd.DataFrame | Mapping[str, str] | Iterable[tuple[str, str]] | None,
           authors: Iterable[str], roles: Mapping[str, str] | None) -> Names:
    authors = set(authors)
    names = Names((a, a) for a in authors)
    if isinstance(members, pd.DataFrame) and "role" in members.columns:
        roles = {**dict(zip(members[Col.member_id].astype(str), members["role"].astype(str), strict=True)),
                 **(roles or {})}
    if roles:
        names.add_titles({m: r for m, r in roles.items() if m in authors})  # titles name members of this chat
    if members is None:
        return names
    if isinstance(members, pd.DataFrame):
        pairs: Iterable = zip(members["display_name"], members[Col.member_id], strict=True) \
            if "display_name" in members.columns else ()
    elif isinstance(members, Mapping):
        pairs = ((name, mid) for mid, name in members.items())
    else:
        pairs = members
    for name, mid in pairs:
        if pd.notna(name) and pd.notna(mid) and str(name).strip():
            names.add(str(name), str(mid))
    return names


def infer_replies(events: pd.DataFrame, *,
                  members: pd.DataFrame | Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
                  roles: Mapping[str, str] | None = None, model: ReplyModel | None = None, signals: bool = True,
                  window: int = WINDOW) -> pd.DataFrame:
    """The events with reply links inferred for chat messages that have none.

    Parameters
    ----------
    events : DataFrame
        Canonical events (``community_id, member_id, ts, event_type``; ``target_member_id``,
        ``thread_id``, ``channel``, ``text`` and ``message_id`` are used when present). Not modified.
    members : DataFrame, mapping or iterable of pairs, optional
        Names members are called by: a members table (``member_id``, ``display_name``), a mapping
        id -> name, or (name, id) pairs (several names per member). A name two members share
        points at neither. Member ids are names too.
    roles : mapping, optional
        Member id -> role (``owner``, ``staff``, ...; also read from a ``role`` column of
        ``members``): the owner is then addressed as ``群主``, a single staff member as ``管理员``,
        the only owner-or-staff member as ``老师`` (see :data:`~commlab.replies.signals.ROLE_TITLES`).
    model : ReplyModel, optional
        Default: the shipped model.
    signals : bool
        Use quotes, @mentions and names before the model (see
        :func:`~commlab.replies.link.link_messages`).
    window : int
        Earlier messages considered as the answered one.

    Returns
    -------
    DataFrame
        A copy, in the same row order, with :data:`REPLY_COLUMNS` added (and filled on the rows
        changed or marked). Rows considered: ``message`` rows with neither target nor thread, and
        ``reply`` rows without a target (a reply whose target the export lacks; it is never
        judged to start a conversation). Other rows are candidates only.

    Examples
    --------
    >>> import pandas as pd
    >>> chat = pd.DataFrame({
    ...     "community_id": "g", "member_id": ["wang", "li", "wang"], "event_type": "message",
    ...     "ts": pd.to_datetime(["2024-05-01 20:00", "2024-05-01 20:01", "2024-05-01 20:02"], utc=True),
    ...     "text": ["有人用过这个咖啡豆吗？", "@王芳 用过，偏酸", "谢谢"]})
    >>> out = infer_replies(chat, members={"wang": "王芳", "li": "李雷"})
    >>> print(out[["member_id", "event_type", "target_member_id", "reply_source"]].to_string(index=False))
    member_id event_type target_member_id reply_source
         wang       post             <NA>        start
           li      reply             wang      mention
         wang      reply               li        model
    """
    out = events.copy()
    n = len(out)
    for col in ("target_member_id", "thread_id"):
        if col not in out.columns:
            out[col] = pd.Series(pd.NA, index=out.index, dtype="string")
    source = pd.Series(pd.NA, index=out.index, dtype="string") if "reply_source" not in out.columns \
        else out["reply_source"].astype("string")
    conf = pd.Series(np.nan, index=out.index, dtype="float64") if "reply_confidence" not in out.columns \
        else out["reply_confidence"].astype("float64")
    original = pd.Series(pd.NA, index=out.index, dtype="string") if "original_event_type" not in out.columns \
        else out["original_event_type"].astype("string")
    etype = out["event_type"].astype("string")
    target = out["target_member_id"].astype("string")
    thread = out["thread_id"].astype("string")
    source = source.mask((etype == "reply") & target.notna() & source.isna(), "explicit")
    if n == 0:
        out["reply_source"], out["reply_confidence"], out["original_event_type"] = source, conf, original
        return out
    content = etype.isin(_CONTENT).to_numpy()
    todo = (((etype == "message") & target.isna() & thread.isna())
            | ((etype == "reply") & target.isna())).to_numpy() & source.isna().to_numpy()
    keys = [Col.community_id] + (["channel"] if "channel" in out.columns else [])
    pos = np.arange(n)
    frame = pd.DataFrame({"pos": pos, "ts": out["ts"].to_numpy()})
    for k in keys:
        frame[k] = out[k].astype("string").fillna("").to_numpy()
    frame = frame[content].sort_values(keys + ["ts", "pos"], kind="stable")
    texts = out["text"].astype("string").fillna("").to_numpy() if "text" in out.columns else np.full(n, "")
    mids = out["message_id"].astype("string").to_numpy() if "message_id" in out.columns else None
    authors = out[Col.member_id].astype("string").to_numpy()
    ts_ns = pd.to_datetime(out["ts"], utc=True).astype("int64").to_numpy()
    new_type, new_target, new_thread = etype.to_numpy(dtype=object), target.to_numpy(dtype=object), \
        thread.to_numpy(dtype=object)
    src_arr, conf_arr, orig_arr = source.to_numpy(dtype=object), conf.to_numpy(copy=True), \
        original.to_numpy(dtype=object)
    for _, grp in frame.groupby(keys, sort=False):
        rows = grp["pos"].to_numpy()
        if not todo[rows].any():
            continue
        chat = Chat([str(a) for a in authors[rows]], (ts_ns[rows] - ts_ns[rows[0]]) / 1e9,
                    [str(t) for t in texts[rows]], _names(members, {str(a) for a in authors[rows]}, roles))
        replies = [bool(todo[r] and etype.iat[r] == "reply") for r in rows]
        roots: list[str] = []
        for d in link_messages(chat, model=model, replies=replies, signals=signals, window=window):
            r, p = rows[d.child], rows[d.parent]
            own = new_thread[r] if pd.notna(new_thread[r]) else (
                f"~{mids[r]}" if mids is not None and pd.notna(mids[r]) else f"~{grp['pos'].iat[d.child]}")
            if not todo[r]:
                roots.append(own)
                continue
            src_arr[r], conf_arr[r] = d.source, round(d.confidence, 4)
            if d.parent == d.child:
                roots.append(own)
                new_thread[r] = own
                if etype.iat[r] == "message":
                    orig_arr[r], new_type[r] = "message", "post"
                continue
            roots.append(roots[d.parent])
            new_thread[r] = roots[d.parent]
            if authors[p] != authors[r] or etype.iat[r] == "reply":
                new_target[r] = authors[p]
                if etype.iat[r] != "reply":
                    orig_arr[r], new_type[r] = etype.iat[r], "reply"
    out["event_type"] = pd.array(new_type, dtype="string")
    if isinstance(events["event_type"].dtype, pd.CategoricalDtype):
        cats = events["event_type"].cat.categories.union(["post", "reply"])
        out["event_type"] = out["event_type"].astype(pd.CategoricalDtype(cats))
    out["target_member_id"] = pd.array(new_target, dtype="string")
    out["thread_id"] = pd.array(new_thread, dtype="string")
    out["reply_source"] = pd.array(src_arr, dtype="string")
    out["reply_confidence"] = pd.array(conf_arr, dtype="float64")
    out["original_event_type"] = pd.array(orig_arr, dtype="string")
    return out


def drop_inferred(events: pd.DataFrame) -> pd.DataFrame:
    """The events as they were before :func:`infer_replies`: inferred targets, threads and types undone.

    Rows whose ``reply_source`` is one of :data:`INFERRED` lose their target and thread and get
    their ``original_event_type`` back; their ``reply_source`` and ``reply_confidence`` are
    cleared. Explicit links stay. Events without a ``reply_source`` column are returned as they are.

    Examples
    --------
    >>> import pandas as pd
    >>> chat = pd.DataFrame({
    ...     "community_id": "g", "member_id": ["wang", "li"], "event_type": "message",
    ...     "ts": pd.to_datetime(["2024-05-01 20:00", "2024-05-01 20:01"], utc=True),
    ...     "text": ["有人用过这个咖啡豆吗？", "@王芳 用过，偏酸"]})
    >>> inferred = infer_replies(chat, members={"wang": "王芳", "li": "李雷"})
    >>> list(inferred["event_type"]), list(drop_inferred(inferred)["event_type"])
    (['post', 'reply'], ['message', 'message'])
    """
    if "reply_source" not in events.columns:
        return events
    out = events.copy()
    inferred = out["reply_source"].astype("string").isin(INFERRED).fillna(False).to_numpy(dtype=bool)
    if not inferred.any():
        return out
    out.loc[inferred, "target_member_id"] = pd.NA
    out.loc[inferred, "thread_id"] = pd.NA
    if "original_event_type" in out.columns:
        orig = out["original_event_type"].astype("string")
        back = inferred & orig.notna().to_numpy(dtype=bool)
        out.loc[back, "event_type"] = orig[back].to_numpy()
        out.loc[inferred, "original_event_type"] = pd.NA
    out.loc[inferred, "reply_source"] = pd.NA
    out.loc[inferred, "reply_confidence"] = np.nan
    return out


def inferred_note(events: pd.DataFrame) -> str:
    """One line for an import report: how many links inference added, by source."""
    src = events["reply_source"].astype("string") if "reply_source" in events.columns else pd.Series(dtype="string")
    counts = src[src.isin(INFERRED)].value_counts()
    links = int(counts.drop("start", errors="ignore").sum())
    parts = ", ".join(f"{int(counts[k])} {k}" for k in INFERRED if k in counts.index and k != "start")
    return (f"{links} reply link(s) inferred ({parts or 'none'}) and {int(counts.get('start', 0))} message(s) "
            "judged to start a conversation (-> post): the export has no reply field; see reply_source and "
            "reply_confidence (option infer_replies=false leaves them out)")
