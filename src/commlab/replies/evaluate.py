"""Scoring reply inference on IRC logs annotated as in Kummerfeld et al. (2019).

The kit's inference (:func:`~commlab.replies.link.link_messages`) and the paper's two simple
rules are run on a raw log and scored against its annotation with the paper's link precision,
recall and F1 (:func:`~commlab.replies.corpus.score_links`):

* ``previous``: every message replies to the message before it;
* ``name``: a message whose first word (or that word without a trailing ``:`` or ``,``) is the
  nick of someone who spoke earlier replies to that person's last message, any other message
  to the message before it.

Lines that are not messages (joins, quits, nick changes) are conversation starts for every method,
as in the annotation. Only messages from the first annotated one on are scored (line 1000 in the
corpus: the lines before are context).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from commlab.errors import InvalidArgument, UsageError
from commlab.replies.corpus import Link, LinkScore, find_pairs, read_annotation, read_text, score_links
from commlab.replies.features import Chat
from commlab.replies.irclog import IrcLogError, LogLine, parse_irc_log
from commlab.replies.link import link_messages
from commlab.replies.model import ReplyModel
from commlab.replies.signals import Names

__all__ = ["METHODS", "PairScore", "corpus_chat", "predict_links", "score_pair", "score_pairs", "pairs_of",
           "report_text", "report_json"]

#: The methods :func:`predict_links` knows: the kit's inference and the paper's two rules.
METHODS: tuple[str, ...] = ("kit", "previous", "name")


@dataclass(frozen=True)
class PairScore:
    """The score of each method on one (raw log, annotation) pair."""

    raw: str
    annotation: str
    first: int
    scores: dict[str, LinkScore]


def corpus_chat(lines: Sequence[LogLine]) -> tuple[Chat, list[int]]:
    """The messages of a parsed log as a :class:`Chat`, and the line number of each message.

    Names: every nick seen (speaking, joining or changing nick) points at itself.
    """
    msgs = [ln for ln in lines if ln.is_content]
    names = Names()
    for ln in lines:
        for nick in (ln.nick, ln.new_nick):
            if nick:
                names.add(nick, nick)
    origin = next((ln.ts for ln in msgs if ln.ts is not None), None)
    seconds = [((ln.ts - origin).total_seconds() if ln.ts is not None and origin is not None else 0.0)
               for ln in msgs]
    chat = Chat([ln.nick or "" for ln in msgs], seconds, [ln.text for ln in msgs], names)
    return chat, [ln.index for ln in msgs]


def _previous(lines: Sequence[LogLine], first: int) -> set[Link]:
    out: set[Link] = set()
    last = None
    for ln in lines:
        if ln.index >= first:
            out.add((ln.index, last if ln.is_content and last is not None else ln.index))
        if ln.is_content:
            last = ln.index
    return out


def _name(lines: Sequence[LogLine], first: int) -> set[Link]:
    out: set[Link] = set()
    last: dict[str, int] = {}
    prev = None
    for ln in lines:
        if ln.index >= first:
            if not ln.is_content:
                out.add((ln.index, ln.index))
            else:
                words = ln.text.split()
                head = words[0] if words else ""
                target = last.get(head, last.get(head.rstrip(":,")))
                out.add((ln.index, target if target is not None else (prev if prev is not None else ln.index)))
        if ln.is_content:
            last[ln.nick or ""] = ln.index
            prev = ln.index
    return out


def predict_links(lines: Sequence[LogLine], *, method: str = "kit", first: int = 0,
                  model: ReplyModel | None = None, signals: bool = True) -> set[Link]:
    """Predicted (child, parent) links of the lines from ``first`` on.

    Parameters
    ----------
    lines : sequence of LogLine
        A parsed log (:func:`~commlab.replies.irclog.parse_irc_log`).
    method : {"kit", "previous", "name"}
    first : int
        First line to predict a link for (earlier lines are context).
    model : ReplyModel, optional
        For ``kit``; default: the shipped model.
    signals : bool
        For ``kit``: explicit signals before the model (see :func:`~commlab.replies.link.link_messages`).

    Raises
    ------
    InvalidArgument
        If ``method`` is unknown (also a ValueError).
    """
    if method == "previous":
        return _previous(lines, first)
    if method == "name":
        return _name(lines, first)
    if method != "kit":
        raise InvalidArgument(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    chat, line_of = corpus_chat(lines)
    out = {(ln.index, ln.index) for ln in lines if ln.index >= first and not ln.is_content}
    for d in link_messages(chat, model=model, signals=signals):
        child = line_of[d.child]
        if child >= first:
            out.add((child, line_of[d.parent]))
    return out


def score_pair(raw: str | Path, annotation: str | Path, *, first: int | None = None,
               methods: Sequence[str] = METHODS, model: ReplyModel | None = None) -> PairScore:
    """Score each method on one raw log against its annotation.

    Parameters
    ----------
    raw, annotation : path
        The log (``.gz`` accepted) and its annotation (``parent child -`` per line).
    first : int, optional
        First line scored; default: the first annotated message.

    Raises
    ------
    IrcLogError
        Unreadable files, or an annotation naming lines the log does not have.
    """
    lines = parse_irc_log(read_text(raw), name=Path(raw).name)
    gold = read_annotation(annotation)
    if not gold:
        raise IrcLogError(str(annotation), "no link in the annotation")
    beyond = sorted(c for c, _ in gold if c >= len(lines))
    if beyond:
        raise IrcLogError(str(annotation), f"links to line {beyond[0]}, but {Path(raw).name} has {len(lines)} lines",
                          "pair each annotation with the raw log it was made on")
    start = min(c for c, _ in gold) if first is None else first
    scores = {m: score_links(predict_links(lines, method=m, first=start, model=model), gold) for m in methods}
    return PairScore(str(raw), str(annotation), start, scores)


def pairs_of(raw: str | Path, annotation: str | Path | None = None) -> list[tuple[Path, Path]]:
    """The (raw, annotation) pairs named: one pair of files, or a folder of ``X.raw.txt``/``X.annotation.txt``.

    Raises
    ------
    UsageError
        If a file is missing, or a folder is given with an annotation file.
    IrcLogError
        If the folder holds no pair.
    """
    r = Path(raw)
    if r.is_dir():
        if annotation is not None:
            raise UsageError(f"{r}: a folder of pairs takes no separate annotation file")
        return find_pairs(r)
    if annotation is None:
        raise UsageError(f"{r}: an annotation file is needed with a raw log file")
    for p in (r, Path(annotation)):
        if not p.is_file():
            raise UsageError(f"file not found: {p}")
    return [(r, Path(annotation))]


def score_pairs(pairs: Sequence[tuple[Path, Path]], *, methods: Sequence[str] = METHODS,
                model: ReplyModel | None = None) -> tuple[list[PairScore], dict[str, LinkScore]]:
    """:func:`score_pair` of each pair, and the totals per method (counts summed over the files)."""
    per = [score_pair(r, a, methods=methods, model=model) for r, a in pairs]
    totals = {m: sum((p.scores[m] for p in per), LinkScore(0, 0, 0)) for m in methods}
    return per, totals


_LABELS = {"kit": "commlab inference", "previous": "rule: previous message",
           "name": "rule: name at start, else previous"}


def report_text(per: Sequence[PairScore], totals: dict[str, LinkScore]) -> str:
    """A plain-text table: per file the F1 of each method, then the totals with precision and recall."""
    methods = list(totals)
    out = []
    if len(per) > 1:
        out.append("file".ljust(28) + "".join(f"{m:>10}" for m in methods) + "   (F1)")
        for p in per:
            name = Path(p.raw).name.split(".raw")[0]
            out.append(name[:27].ljust(28) + "".join(f"{p.scores[m].f1:>10.3f}" for m in methods))
        out.append("")
    out.append(f"{'method':<40}{'precision':>10}{'recall':>10}{'F1':>8}{'gold':>7}{'pred':>7}{'match':>7}")
    for m, s in totals.items():
        out.append(f"{_LABELS.get(m, m):<40}{s.precision:>10.3f}{s.recall:>10.3f}{s.f1:>8.3f}"
                   f"{s.gold:>7}{s.predicted:>7}{s.matched:>7}")
    return "\n".join(out)


def report_json(per: Sequence[PairScore], totals: dict[str, LinkScore]) -> dict:
    """The scores as JSON-ready data: totals per method and per file."""
    return {
        "scoring": "link precision/recall/F1 over (child, parent) links, self-links included "
                   "(Kummerfeld et al. 2019, graph-eval.py)",
        "totals": {m: s.as_dict() for m, s in totals.items()},
        "files": [{"raw": p.raw, "annotation": p.annotation, "first_scored_line": p.first,
                   "scores": {m: s.as_dict() for m, s in p.scores.items()}} for p in per],
    }
