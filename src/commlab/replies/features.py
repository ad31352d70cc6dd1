"""Features of (message, earlier message) pairs for the reply model.

For each chat message the candidates are the message itself (it starts a conversation) and up
to :data:`WINDOW` earlier messages. Each candidate gets one row of :data:`FEATURES`: distance and
time gap, turn-taking (who spoke in between), addressing (names, @mentions, in both directions),
word overlap and whether the earlier message asked a question. The features of the message itself
("self") are separate columns, zero on the other rows, so one linear model scores both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from commlab.errors import InvalidArgument
from commlab.replies.signals import GREETING, QUESTION, THANKS, Names, tokens

__all__ = ["Chat", "FEATURES", "WINDOW", "candidate_features", "chat_features"]

#: How many earlier messages are candidates (98 % of the corpus' reply links reach at most 50 back).
WINDOW = 50

#: Feature names, in column order (the model artefact records them and is checked against them).
FEATURES: tuple[str, ...] = (
    # pair features (0 on the self row)
    "dist_1", "dist_2", "dist_3_5", "dist_6_10", "dist_11_20", "dist_gt20", "log_dist",
    "log_gap_min", "gap_lt_1min", "gap_gt_10min",
    "same_author", "my_previous", "my_previous_lt_1min", "my_last_addressed_them",
    "i_address_them", "i_address_them_last", "i_mention_them", "i_address_other",
    "they_address_me", "they_address_me_last", "they_address_other",
    "their_last", "log_their_msgs_since", "log_my_msgs_since", "log_pair_talk",
    "word_jaccard", "log_shared_words", "idf_shared", "they_ask", "they_mention_me",
    # self features (0 on the other rows)
    "self", "self_address", "self_mention", "self_log_gap_prev", "self_new_author", "self_ask",
    "self_log_len", "self_addressed_recently", "self_log_my_prev_dist", "self_thanks", "self_greet",
)
_IDX = {n: k for k, n in enumerate(FEATURES)}


@dataclass
class Chat:
    """One chat's messages in time order, with what the features need precomputed.

    Parameters
    ----------
    authors : sequence of str
        Who wrote each message.
    seconds : sequence of float
        Each message's time (any origin, in seconds; not decreasing).
    texts : sequence of str
        Each message's text ("" for images and other non-text messages).
    names : Names, optional
        Who each name points at (default: the authors' own ids).
    """

    authors: Sequence[str]
    seconds: Sequence[float]
    texts: Sequence[str]
    names: Names | None = None
    addressed: list[str | None] = field(init=False)
    mentioned: list[set[str]] = field(init=False)
    words: list[frozenset[str]] = field(init=False)
    asks: list[bool] = field(init=False)
    thanks: list[bool] = field(init=False)
    greets: list[bool] = field(init=False)
    idf: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.authors)
        if len(self.seconds) != n or len(self.texts) != n:
            raise InvalidArgument("authors, seconds and texts must have the same length")
        if self.names is None:
            self.names = Names((a, a) for a in self.authors)
        names = self.names
        texts = ["" if t is None or (isinstance(t, float) and math.isnan(t)) else str(t) for t in self.texts]
        self.texts = texts
        self.seconds = np.asarray(self.seconds, dtype="float64")
        self.addressed = [names.addressed(t) for t in texts]
        self.mentioned = [names.mentioned(t) for t in texts]
        drop = {w for t in texts for w in t.lower().split() if names.get(w.strip(":,@"))}
        self.words = [tokens(t, drop=drop) for t in texts]
        df: dict[str, int] = {}
        for ws in self.words:
            for w in ws:
                df[w] = df.get(w, 0) + 1
        # rarer shared words say more: inverse document frequency within this chat (no outside corpus)
        self.idf = {w: math.log((n + 1) / c) for w, c in df.items()}
        self.asks = [bool(QUESTION.search(t)) for t in texts]
        self.thanks = [bool(THANKS.search(t)) for t in texts]
        self.greets = [bool(GREETING.search(t)) for t in texts]

    def __len__(self) -> int:
        return len(self.authors)


def _log(x: float) -> float:
    return math.log1p(max(x, 0.0))


def candidate_features(chat: Chat, i: int, *, window: int = WINDOW, state: _State | None = None
                       ) -> tuple[list[int], np.ndarray]:
    """The candidates of message ``i`` (itself first, then earlier messages, nearest first) and their features.

    Returns
    -------
    candidates : list of int
        Message positions; ``candidates[0] == i`` (the message starts a conversation).
    X : ndarray of shape (len(candidates), len(FEATURES))
    """
    st = state or _State.upto(chat, i)
    me = chat.authors[i]
    lo = max(0, i - window)
    cands = [i] + list(range(i - 1, lo - 1, -1))
    X = np.zeros((len(cands), len(FEATURES)))
    t_i = chat.seconds[i]
    addr = chat.addressed[i]
    addr_has_msg = addr is not None and addr != me and addr in st.last
    mentioned = chat.mentioned[i] - {me}
    # self row
    s = X[0]
    prev_gap = (t_i - chat.seconds[i - 1]) / 60 if i > 0 else 1e3
    my_prev = st.last.get(me)
    s[_IDX["self"]] = 1
    s[_IDX["self_address"]] = float(addr_has_msg)
    s[_IDX["self_mention"]] = float(bool(mentioned & st.last.keys()))
    s[_IDX["self_log_gap_prev"]] = _log(prev_gap)
    seen = my_prev is not None and my_prev >= lo
    # "new here" is only known with a full window before: at the start of a log, nobody is new yet
    s[_IDX["self_new_author"]] = float(not seen and i >= window)
    s[_IDX["self_ask"]] = float(chat.asks[i])
    s[_IDX["self_log_len"]] = _log(len(chat.texts[i]))
    s[_IDX["self_addressed_recently"]] = float(any(
        chat.addressed[k] == me and chat.authors[k] != me for k in range(max(0, i - 20), i)))
    s[_IDX["self_log_my_prev_dist"]] = _log(i - my_prev if seen else (window * 2 if i >= window else i + 1))
    s[_IDX["self_thanks"]] = float(chat.thanks[i])
    s[_IDX["self_greet"]] = float(chat.greets[i])
    if len(cands) == 1:
        return cands, X
    # pair rows, vectorised where the value depends on the pair only
    P = X[1:]
    js = np.arange(i - 1, lo - 1, -1)
    d = (i - js).astype("float64")
    P[:, _IDX["dist_1"]] = d == 1
    P[:, _IDX["dist_2"]] = d == 2
    P[:, _IDX["dist_3_5"]] = (d >= 3) & (d <= 5)
    P[:, _IDX["dist_6_10"]] = (d >= 6) & (d <= 10)
    P[:, _IDX["dist_11_20"]] = (d >= 11) & (d <= 20)
    P[:, _IDX["dist_gt20"]] = d > 20
    P[:, _IDX["log_dist"]] = np.log(d)
    gap = (t_i - chat.seconds[lo:i][::-1]) / 60
    P[:, _IDX["log_gap_min"]] = np.log1p(np.maximum(gap, 0.0))
    P[:, _IDX["gap_lt_1min"]] = gap < 1
    P[:, _IDX["gap_gt_10min"]] = gap > 10
    # ... and walking back from i-1 for what depends on who spoke in between
    authors, addressed, words, asks = chat.authors, chat.addressed, chat.words, chat.asks
    wi = words[i]
    since: dict[str, int] = {}
    last_to_me = None
    n = len(js)
    theirs, mine = np.zeros(n), np.zeros(n)
    talk = np.zeros(n)
    flags = np.zeros((n, 10), dtype=bool)  # same, my_prev, addr, addr_last, mention, addr_other, they_me,
    shared_n, jacc, idf_sum = np.zeros(n), np.zeros(n), np.zeros(n)  # they_me_last, they_other, their_last
    idf = chat.idf
    they_mention = np.zeros(n, dtype=bool)
    addressed_them = np.zeros(n, dtype=bool)
    my_last_addr = addressed[my_prev] if my_prev is not None and my_prev >= lo else None
    for r in range(n):
        j = i - 1 - r
        them = authors[j]
        seen_them = since.get(them, 0)
        f = flags[r]
        if them == me:
            f[0] = True
            f[1] = seen_them == 0
        else:
            their_addr = addressed[j]
            f[2] = addr == them
            f[3] = addr == them and seen_them == 0
            f[4] = them in mentioned and addr != them
            f[5] = addr_has_msg and addr != them
            f[6] = their_addr == me
            if their_addr == me and last_to_me is None:
                last_to_me = j
                f[7] = True
            f[8] = their_addr is not None and their_addr != me
            talk[r] = st.talk.get((me, them), 0) + st.talk.get((them, me), 0)
            addressed_them[r] = my_last_addr == them
            they_mention[r] = me in chat.mentioned[j] and their_addr != me
        f[9] = seen_them == 0
        theirs[r] = seen_them
        mine[r] = since.get(me, 0)
        wj = words[j]
        if wi and wj:
            common = wi & wj
            if common:
                k = len(common)
                shared_n[r] = k
                jacc[r] = k / len(wi | wj)
                idf_sum[r] = sum(idf[w] for w in common)
        since[them] = seen_them + 1
    for col, name in enumerate(("same_author", "my_previous", "i_address_them", "i_address_them_last",
                                "i_mention_them", "i_address_other", "they_address_me", "they_address_me_last",
                                "they_address_other", "their_last")):
        P[:, _IDX[name]] = flags[:, col]
    P[:, _IDX["log_pair_talk"]] = np.log1p(talk)
    P[:, _IDX["log_their_msgs_since"]] = np.log1p(theirs)
    P[:, _IDX["log_my_msgs_since"]] = np.log1p(mine)
    P[:, _IDX["word_jaccard"]] = jacc
    P[:, _IDX["log_shared_words"]] = np.log1p(shared_n)
    P[:, _IDX["idf_shared"]] = np.log1p(idf_sum)
    P[:, _IDX["they_mention_me"]] = they_mention
    P[:, _IDX["my_last_addressed_them"]] = addressed_them
    P[:, _IDX["my_previous_lt_1min"]] = flags[:, 1] & (gap < 1)
    P[:, _IDX["they_ask"]] = np.asarray(asks[lo:i][::-1], dtype=float)
    return cands, X


class _State:
    """What is known before message ``i``: each author's last message and who addressed whom how often."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}
        self.talk: dict[tuple[str, str], int] = {}

    @classmethod
    def upto(cls, chat: Chat, i: int) -> _State:
        st = cls()
        for k in range(i):
            st.push(chat, k)
        return st

    def push(self, chat: Chat, k: int) -> None:
        a = chat.authors[k]
        self.last[a] = k
        to = chat.addressed[k]
        if to is not None and to != a:
            self.talk[(a, to)] = self.talk.get((a, to), 0) + 1


def chat_features(chat: Chat, *, window: int = WINDOW) -> list[tuple[list[int], np.ndarray]]:
    """:func:`candidate_features` of every message of ``chat``, in order (one pass)."""
    st = _State()
    out = []
    for i in range(len(chat)):
        out.append(candidate_features(chat, i, window=window, state=st))
        st.push(chat, i)
    return out
