"""Text signals of who a chat message answers: quotes, @mentions, names, words.

Language-neutral on purpose (the kit reads English IRC, Chinese WeChat/QQ/WeCom): names are
matched as whole tokens or at the start of a message, CJK text is compared by character
bigrams, Latin text by words of three letters or more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Names", "Quote", "parse_quote", "tokens", "QUESTION", "THANKS", "GREETING", "ROLE_TITLES"]

#: Chinese titles by which a group's owner or its staff are addressed (``谢谢群主``, ``老师好``): each names
#: the member holding the role when exactly one member holds it (see :meth:`Names.add_titles`).
ROLE_TITLES: dict[str, tuple[str, ...]] = {
    "owner": ("群主",),
    "staff": ("管理员", "群管", "管理"),
    "owner_or_staff": ("老师", "助教", "班主任"),
}

#: Punctuation that may follow a name used to address someone: ``bob: hi``, ``王芳，你好``.
_ADDRESS_END = ":,;>-：，；、 \t\u2005\u00a0"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9][a-z0-9_'\-.]*[a-z0-9]|[a-z0-9]")
_AT = re.compile(r"@([^\s@\u2005\u00a0,，:：;；]+)")
#: A message that asks something (Latin and CJK question marks, common Chinese question words).
QUESTION = re.compile(r"[?？]|吗|请问|怎么|如何|为什么|有没有|哪里|多少")
#: A message that thanks or welcomes someone (an answer to something, rarely a new conversation).
THANKS = re.compile(r"\b(?:thanks|thank\s*you|thx|tnx|ty|cheers|welcome)\b|谢谢|感谢|多谢|谢了|欢迎|辛苦了", re.I)
#: A message that greets the room (often a new conversation).
GREETING = re.compile(r"^\W*(?:hi|hello|hey|hiya|howdy|yo|good\s+(?:morning|afternoon|evening|night))\b"
                      r"|^\W*(?:大家好|各位好|你们好|早上好|早安|中午好|下午好|晚上好|晚安)", re.I)
_STOP = frozenset(
    "the and for you your are but not with this that have has was were will can just what how why when "
    "where who its it's i'm don't dont there their then than they them from into out about any all get got "
    "yes yeah yep nope okay ok lol thanks thank thx please one two some like know think try tried use using "
    "need want does did doing done also too here now well sure see".split()
)
# WeChat: a quoted reply shown as text. The TXT exporter of LC044/WeChatMsg writes "引用:<name>:<content>"
# (FORMATS.md 5a); the WeChat apps show a copied quote as 「<name>：<content>」 above or below a dashed rule.
_QUOTE_TXT = re.compile(r"^\s*引用\s*[:：]\s*(?P<name>[^:：\n]{1,40})\s*[:：]\s*(?P<body>.*?)\s*$", re.S | re.M)
_QUOTE_APP = re.compile(r"「(?P<name>[^：:」\n]{1,40})[：:](?P<body>.*?)」", re.S)
_RULE = re.compile(r"^\s*(?:-\s*){3,}$", re.M)


@dataclass(frozen=True)
class Quote:
    """A quoted message found in a reply's text: who was quoted and what they said."""

    name: str
    body: str
    reply: str


def parse_quote(text: str) -> Quote | None:
    """The quoted message of a WeChat quote reply written as text, or ``None``.

    Recognises ``引用:<name>:<content>`` (LC044/WeChatMsg TXT export) and ``「<name>：<content>」``
    (how WeChat shows a quote when copied), the reply's own words being the rest of the text.

    Examples
    --------
    >>> parse_quote("好的，谢谢\\n「王芳：明天几点开始？」\\n- - - - - - - - - - - - - - -")
    Quote(name='王芳', body='明天几点开始？', reply='好的，谢谢')
    """
    if not text:
        return None
    for pattern in (_QUOTE_APP, _QUOTE_TXT):
        m = pattern.search(text)
        if m:
            rest = (text[:m.start()] + "\n" + text[m.end():])
            rest = _RULE.sub("", rest).strip()
            return Quote(m.group("name").strip(), m.group("body").strip(), rest)
    return None


def tokens(text: str, *, drop: Iterable[str] = ()) -> frozenset[str]:
    """Content tokens of ``text``: Latin words (3+ letters, no stop words) and CJK character bigrams.

    ``drop`` removes tokens (e.g. the names of members, which are addressing, not topic).
    """
    low = (text or "").lower()
    out = {w for w in _WORD.findall(low) if len(w) >= 3 and w not in _STOP}
    for run in _CJK.findall(low):
        if len(run) == 1:
            continue
        out.update(run[k:k + 2] for k in range(len(run) - 1))
    return frozenset(out.difference(drop))


class Names:
    """Known names of the members of one chat: who a name or an @mention points at.

    Parameters
    ----------
    names : iterable of (name, member id)
        Every name a member may be called by (nick, display name, member id). A name shared by
        several members points at none of them. Matching ignores case.
    """

    def __init__(self, names: Iterable[tuple[str, str]] = ()) -> None:
        self._to: dict[str, str | None] = {}
        self._longest = 0
        self._cjk: re.Pattern[str] | None = None
        for name, member in names:
            self.add(name, member)

    def add(self, name: str, member: str) -> None:
        """Let ``name`` point at ``member`` (a name already taken by someone else points at nobody)."""
        key = (name or "").strip().lower()
        if len(key) < 2:
            return
        old = self._to.get(key, member)
        self._to[key] = member if old == member else None
        self._longest = max(self._longest, len(key))
        self._cjk = None

    def add_titles(self, roles: Mapping[str, str]) -> None:
        """Let the titles of :data:`ROLE_TITLES` point at the one member holding each role.

        ``roles`` maps member id to role (``owner``, ``staff``, ...); a title whose role several
        members hold (two staff members for ``管理员``) is left out.
        """
        owners = [m for m, r in roles.items() if r == "owner"]
        staff = [m for m, r in roles.items() if r == "staff"]
        for kind, who in (("owner", owners), ("staff", staff), ("owner_or_staff", owners + staff)):
            if len(who) == 1:
                for title in ROLE_TITLES[kind]:
                    self.add(title, who[0])

    def get(self, name: str) -> str | None:
        """The member ``name`` points at, or ``None``."""
        return self._to.get((name or "").strip().lower())

    def addressed(self, text: str) -> str | None:
        """The member a message is addressed to by its start: ``@name``, ``name:``, ``name,`` or ``name``.

        A name at the very start counts when what follows is punctuation, a space, the end of the
        text or, for a name ending in a CJK character, any character (``王芳你好``).
        """
        t = (text or "").lstrip().lstrip("@").lower()
        if not t:
            return None
        first = re.split(r"[\s\u2005\u00a0]", t, maxsplit=1)[0]
        for cand in (first, first.rstrip(_ADDRESS_END), first.rstrip(_ADDRESS_END + ".!?。！？")):
            hit = self._to.get(cand)
            if hit:
                return hit
        for n in range(min(self._longest, len(t)), 1, -1):
            head = t[:n]
            hit = self._to.get(head)
            if not hit:
                continue
            nxt = t[n:n + 1]
            if not nxt or nxt in _ADDRESS_END or not nxt.isalnum() or _CJK.match(head[-1]):
                return hit
        return None

    def mentioned(self, text: str) -> set[str]:
        """Members named anywhere in a message: ``@name`` or a whole word equal to a name."""
        low = (text or "").lower()
        out = {m for m in (self._to.get(a.rstrip(".!?。！？")) for a in _AT.findall(low)) if m}
        for w in re.split(r"[\s,;:!?()\[\]<>\"'，。：；！？、]+", low):
            hit = self._to.get(w) if len(w) >= 3 else None
            if hit:
                out.add(hit)
        if _CJK.search(low):  # CJK text has no spaces: look for CJK names inside it
            if self._cjk is None:
                cjk = sorted((n for n, m in self._to.items() if m and _CJK.search(n)), key=len, reverse=True)
                self._cjk = re.compile("|".join(map(re.escape, cjk))) if cjk else re.compile(r"(?!)")
            out.update(m for m in (self._to.get(n) for n in self._cjk.findall(low)) if m)
        return out

    def __len__(self) -> int:
        return len(self._to)
