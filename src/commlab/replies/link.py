"""Message-level reply links of one chat: explicit signals first, then the model.

:func:`link_messages` decides, for every message of a :class:`~commlab.replies.features.Chat`,
which earlier message it answers (or that it starts a conversation), how that was found and
with what confidence. :mod:`commlab.replies.infer` applies it to the events table and
:mod:`commlab.replies.evaluate` to the IRC corpus, so both score the same procedure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from commlab.replies.features import WINDOW, Chat, _State, candidate_features
from commlab.replies.model import ReplyModel, default_model
from commlab.replies.signals import parse_quote

__all__ = ["Decision", "link_messages", "SOURCES"]

#: How a link was found: the platform's own reply field, a quoted message, an @mention, a name at
#: the start of the message, the model (a chosen earlier message), or the model judging that the
#: message starts a conversation.
SOURCES: tuple[str, ...] = ("explicit", "quote", "mention", "name", "model", "start")


@dataclass(frozen=True)
class Decision:
    """What message ``child`` answers: ``parent`` (== ``child`` when it starts a conversation)."""

    child: int
    parent: int
    source: str
    confidence: float


def _norm(text: str) -> str:
    return "".join((text or "").split()).lower()


def _quoted(chat: Chat, i: int, lo: int) -> tuple[int, float] | None:
    q = parse_quote(chat.texts[i])
    if q is None:
        return None
    who = chat.names.get(q.name) if chat.names is not None else None
    body = _norm(q.body)
    by_name = None
    for j in range(i - 1, lo - 1, -1):
        if who is not None and chat.authors[j] != who:
            continue
        text = _norm(chat.texts[j])
        if body and text and (body in text or text in body):
            return j, 1.0
        if by_name is None and who is not None:
            by_name = j
    return (by_name, 0.0) if by_name is not None else None


def link_messages(chat: Chat, *, model: ReplyModel | None = None, replies: Sequence[bool] | None = None,
                  signals: bool = True, window: int = WINDOW) -> list[Decision]:
    """The reply link of every message of ``chat``.

    Parameters
    ----------
    chat : Chat
        The messages, in time order.
    model : ReplyModel, optional
        Default: the shipped model.
    replies : sequence of bool, optional
        Messages known to be replies whose target is unknown (a WeChat quote without the quoted
        text): they never start a conversation.
    signals : bool
        Use the explicit signals (quotes, @mentions, names) before the model; ``False`` lets the
        model decide everything (its features still see names and mentions).
    window : int
        How many earlier messages are candidates.

    Returns
    -------
    list of Decision
        One per message, in order. The confidence of a quote found by its text is 1; of a quote
        found by its author only, an @mention or a name, the precision the signal had on the
        training corpus; of a model decision, the softmax share of the chosen candidate.
    """
    model = model or default_model()
    prec = model.signal_precision
    st = _State()
    out: list[Decision] = []
    for i in range(len(chat)):
        lo = max(0, i - window)
        me = chat.authors[i]
        decision = None
        if signals:
            hit = _quoted(chat, i, lo)
            if hit is not None:
                j, conf = hit
                decision = Decision(i, j, "quote", conf or prec.get("name", 0.5))
            else:
                to = chat.addressed[i]
                j = st.last.get(to) if to is not None and to != me else None
                if j is not None and j >= lo:
                    src = "mention" if chat.texts[i].lstrip().startswith("@") else "name"
                    cands, X = candidate_features(chat, i, window=window, state=st)
                    keep = [r for r, c in enumerate(cands) if r > 0 and chat.authors[c] == to]
                    best, conf = model.choose(X[keep], allow_self=True, first_is_self=False)
                    decision = Decision(i, cands[keep[best]], src, prec.get(src, prec.get("name", 0.5)))
        if decision is None:
            cands, X = candidate_features(chat, i, window=window, state=st)
            known_reply = replies is not None and replies[i]
            if known_reply:  # a reply the export marks (a quote) answers someone else, when anyone is there
                others = [0] + [r for r, c in enumerate(cands) if r > 0 and chat.authors[c] != me]
                if len(others) > 1:
                    cands, X = [cands[r] for r in others], X[others]
            best, conf = model.choose(X, allow_self=not known_reply or len(cands) == 1)
            parent = cands[best]
            decision = Decision(i, parent, "start" if parent == i else "model", conf)
        out.append(decision)
        st.push(chat, i)
    return out
