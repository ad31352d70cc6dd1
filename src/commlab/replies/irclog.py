"""IRC text logs: one line per message or channel event, parsed into records.

Accepted line layouts (one file may mix them)::

    [07:35] <eepberries> int256: was this using gparted or gpart?    # Ubuntu IRC logs (the corpus)
    [10:00]  * ActionParsnip gives quibbler a spoon                  # /me action
    === mrak_ is now known as mrak                                   # system line, no time
    === ogra thinks MrBurns is a good name                           # old-style action (2004-2005 logs)
    [2024-03-01 18:01:05] <nick> text                                # dated bracket time
    18:01 <@nick> text                                               # irssi (mode prefixes dropped)
    18:01 -!- nick [~u@host] has joined #chan                        # irssi system line
    2024-03-01 18:01:05\tnick\ttext                                  # WeeChat (tab separated)
    2024-03-01 18:01:05\t-->\tnick (~u@host) has joined #chan        # WeeChat join/quit

Each line, blank ones included, has its 0-based **line number** as its message id
(the numbering of the Kummerfeld et al. 2019 corpus, whose annotations refer to it).
A line with no time takes the time of the line before it (or of the first timed line
after it, at the top of a file). Times without a date take the date from the ``date``
argument or from a ``YYYY-MM-DD`` in the file name, and a time more than six hours
earlier than the one before it starts the next day (a log crossing midnight).

This module only reads text into records; :mod:`commlab.importers.irc` turns them
into the canonical tables and :mod:`commlab.replies.evaluate` scores reply inference
on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date as Date
from datetime import datetime, timedelta

from commlab.errors import SourceFormatError

__all__ = ["LogLine", "IrcLogError", "parse_irc_log", "date_from_name", "KINDS"]

#: Kinds of parsed lines: a message, a /me action, a join, a leave (part or quit), a nick
#: change, another system line, a blank line, a line of no known layout.
KINDS: tuple[str, ...] = ("message", "action", "join", "leave", "nick", "system", "blank", "unknown")

_TIME = r"(?:(?P<date>\d{4}-\d{2}-\d{2})[ T])?(?P<time>\d{1,2}:\d{2}(?::\d{2})?)"
_BRACKET_MSG = re.compile(r"^\[" + _TIME + r"\]\s+<(?P<nick>[^>]*)>\s?(?P<text>.*)$")
_BRACKET_ACT = re.compile(r"^\[" + _TIME + r"\]\s+\*\s+(?P<nick>\S+)\s?(?P<text>.*)$")
_BRACKET_SYS = re.compile(r"^\[" + _TIME + r"\]\s+(?:===|-!-|\*\*\*|-->|<--|--)\s+(?P<text>.*)$")
_BARE_MSG = re.compile(r"^" + _TIME + r"\s+<(?P<nick>[^>]*)>\s?(?P<text>.*)$")
_BARE_ACT = re.compile(r"^" + _TIME + r"\s+\*\s+(?P<nick>\S+)\s?(?P<text>.*)$")
_BARE_SYS = re.compile(r"^" + _TIME + r"\s+(?:===|-!-|\*\*\*)\s+(?P<text>.*)$")
_WEECHAT = re.compile(r"^" + _TIME + r"\t(?P<nick>[^\t]*)\t(?P<text>.*)$")
_UNTIMED_SYS = re.compile(r"^(?:===|-!-|\*\*\*)\s+(?P<text>.*)$")
_NAME_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_MODES = "@+%&~!"
_JOIN = re.compile(r"^(?P<nick>\S+)\s+(?:\[[^\]]*\]\s+|\([^)]*\)\s+)?has joined\b")
_LEAVE = re.compile(r"^(?P<nick>\S+)\s+(?:\[[^\]]*\]\s+|\([^)]*\)\s+)?has (?:left|quit)\b")
_NICK = re.compile(r"^(?P<nick>\S+)\s+is now known as\s+(?P<new>\S+)")
_DAY_BACK = timedelta(hours=6)
#: First tokens of ``===`` lines that are channel events, not a nick: ``mode/#chan``, ``..[topic/#chan:x]``.
_NOT_NICK = re.compile(r"[/\[\]:]|^\.\.")


class IrcLogError(SourceFormatError):
    """An IRC log (or its annotation) is not in a layout the kit reads.

    Attributes
    ----------
    file : str
        The file at fault.
    what : str
        What is wrong, with the first offending line numbers.
    fix : str
        What to do about it.
    """

    exit_code = 3

    def __init__(self, file: str, what: str, fix: str = "") -> None:
        self.file, self.what, self.fix = str(file), what, fix
        super().__init__(f"{self.file}: {what}" + (f"\n    fix: {fix}" if fix else ""))


@dataclass(frozen=True)
class LogLine:
    """One line of an IRC log.

    Attributes
    ----------
    index : int
        0-based line number in the file: the message id.
    kind : str
        One of :data:`KINDS`.
    nick : str or None
        Who spoke or acted (for a nick change, the old nick).
    text : str
        The message text (for system lines, the whole line after its marker).
    ts : datetime or None
        The line's time (naive, in the log's zone), ``None`` when the log has no date and none was given.
    new_nick : str or None
        The new nick of a nick change.
    """

    index: int
    kind: str
    nick: str | None
    text: str
    ts: datetime | None
    new_nick: str | None = None

    @property
    def is_content(self) -> bool:
        """Whether the line is something a member said (a message or an action)."""
        return self.kind in ("message", "action")


def date_from_name(name: str) -> Date | None:
    """The ``YYYY-MM-DD`` date in a file name (``2009-02-23_10.raw.txt`` -> 2009-02-23), or ``None``."""
    m = _NAME_DATE.search(name)
    if not m:
        return None
    try:
        return Date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _system(text: str, *, old_actions: bool = False) -> tuple[str, str | None, str | None]:
    """(kind, nick, new nick) of a system line; ``old_actions``: ``=== nick does x`` is an action."""
    if m := _JOIN.match(text):
        return "join", m.group("nick"), None
    if m := _LEAVE.match(text):
        return "leave", m.group("nick"), None
    if m := _NICK.match(text):
        return "nick", m.group("nick"), m.group("new")
    first = text.split(" ", 1)[0]
    if old_actions and first and not _NOT_NICK.search(first):
        return "action", first, None
    return "system", None, None


def _split(line: str) -> tuple[str, str | None, str | None, str | None, str, str | None]:
    """(kind, date, time, nick, text, new_nick) of one line."""
    if not line.strip():
        return "blank", None, None, None, "", None
    for pattern, kind in ((_BRACKET_MSG, "message"), (_BRACKET_ACT, "action"), (_BARE_MSG, "message"),
                          (_BARE_ACT, "action")):
        if m := pattern.match(line):
            return kind, m.group("date"), m.group("time"), m.group("nick").lstrip(_MODES), m.group("text"), None
    for pattern in (_BRACKET_SYS, _BARE_SYS):
        if m := pattern.match(line):
            kind, nick, new = _system(m.group("text"), old_actions=line.lstrip("[0123456789:- T]").startswith("==="))
            return kind, m.group("date"), m.group("time"), nick, m.group("text"), new
    if m := _WEECHAT.match(line):
        nick, text = m.group("nick").strip(), m.group("text")
        if nick in ("-->", "<--", "--", "=!="):
            kind, who, new = _system(text)
            return kind, m.group("date"), m.group("time"), who, text, new
        if nick == "*":
            who, _, rest = text.partition(" ")
            return "action", m.group("date"), m.group("time"), who, rest, None
        return "message", m.group("date"), m.group("time"), nick.lstrip(_MODES), text, None
    if m := _UNTIMED_SYS.match(line):
        kind, nick, new = _system(m.group("text"), old_actions=line.startswith("==="))
        return kind, None, None, nick, m.group("text"), new
    return "unknown", None, None, None, line, None


def _clock(day: Date, time: str) -> datetime | None:
    """``time`` (hh:mm[:ss]) on ``day``, or ``None`` when it is not a time of day."""
    parts = [int(p) for p in time.split(":")]
    h, mi, s = (parts + [0])[:3]
    if h > 23 or mi > 59 or s > 59:
        return None
    return datetime(day.year, day.month, day.day, h, mi, s)


def parse_irc_log(text: str, *, name: str = "<log>", day: Date | None = None) -> list[LogLine]:
    """Parse the text of an IRC log into one :class:`LogLine` per line.

    Parameters
    ----------
    text : str
        The whole log.
    name : str
        The file name, named in errors and searched for a ``YYYY-MM-DD`` date.
    day : date, optional
        The date of the first line when the lines carry none (default: from ``name``).

    Returns
    -------
    list of LogLine
        One per line, in file order (``index`` = line number from 0).

    Raises
    ------
    IrcLogError
        When no line is a message, or a time is not a time of day (names the first lines).
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    day = day or date_from_name(name)
    parsed = [_split(line.rstrip("\r")) for line in lines]
    if not any(p[0] in ("message", "action") for p in parsed):
        raise IrcLogError(name, "no message line found",
                          "expected lines such as '[hh:mm] <nick> text', 'hh:mm <nick> text' or WeeChat "
                          "'YYYY-MM-DD hh:mm:ss<TAB>nick<TAB>text'")
    out: list[LogLine] = []
    prev: datetime | None = None
    bad: list[int] = []
    for i, (kind, dtext, ttext, nick, body, new) in enumerate(parsed):
        ts = None
        if ttext is not None:
            try:
                d = Date.fromisoformat(dtext) if dtext else (prev.date() if prev is not None else day)
            except ValueError:  # 2024-13-45: reported with the bad times
                d, ttext = None, "99:99"
            if _clock(Date(2000, 1, 1), ttext) is None:
                bad.append(i)
            elif d is not None:
                ts = _clock(d, ttext)
                if ts is not None and not dtext and prev is not None and ts < prev - _DAY_BACK:
                    ts += timedelta(days=1)
        if ts is None:
            ts = prev
        else:
            prev = ts
        out.append(LogLine(i, kind, nick, body, ts, new))
    if bad:
        raise IrcLogError(name, f"{len(bad)} line(s) with a date or time that does not exist, e.g. line(s) "
                          + ", ".join(str(i + 1) for i in bad[:5]),
                          "dates are YYYY-MM-DD, times hh:mm or hh:mm:ss, 24-hour")
    first = next((x.ts for x in out if x.ts is not None), None)
    return [x if x.ts is not None else LogLine(x.index, x.kind, x.nick, x.text, first, x.new_nick) for x in out]
