"""Reply-link annotations in the format of Kummerfeld et al. (2019), and their scoring.

An annotation file has one link per line, ``i j -``: message ``j`` replies to message ``i``
(``i <= j``; ``i == j`` means ``j`` starts a conversation), message numbers being 0-based line
numbers of the raw log. A line may carry a ``file:`` prefix. Read exactly as the corpus'
``tools/evaluation/graph-eval.py`` reads it: the largest number on a line is the replying
message, every other number a message it replies to, and a line with only one message is a
self-link.

Scoring (the paper's link precision / recall / F1): the set of predicted (child, parent) links
against the set of gold links, self-links included, summed over files before dividing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from commlab.data.io import decode_bytes
from commlab.replies.irclog import IrcLogError

__all__ = ["Link", "LinkScore", "read_annotation", "parse_annotation", "format_annotation", "score_links",
           "find_pairs", "read_text"]

#: A link: (child, parent) message numbers; ``child == parent`` starts a conversation.
Link = tuple[int, int]

_NUM = re.compile(r"^\d+$")


@dataclass(frozen=True)
class LinkScore:
    """Link precision, recall and F1 of predicted reply links against gold ones.

    Attributes
    ----------
    gold, predicted, matched : int
        Numbers of gold links, predicted links and predicted links that are gold.

    Examples
    --------
    >>> score = LinkScore(gold=4, predicted=5, matched=3)
    >>> round(score.precision, 2), round(score.recall, 2), round(score.f1, 3)
    (0.6, 0.75, 0.667)
    """

    gold: int
    predicted: int
    matched: int

    @property
    def precision(self) -> float:
        """matched / predicted (0 when nothing is predicted)."""
        return self.matched / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        """matched / gold (0 when there is no gold link)."""
        return self.matched / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall (0 when nothing matches)."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if self.matched else 0.0

    def __add__(self, other: LinkScore) -> LinkScore:
        return LinkScore(self.gold + other.gold, self.predicted + other.predicted, self.matched + other.matched)

    def as_dict(self, digits: int = 4) -> dict[str, float | int]:
        """Counts and the three rates (rounded to ``digits``), for JSON."""
        return {**asdict(self), "precision": round(self.precision, digits), "recall": round(self.recall, digits),
                "f1": round(self.f1, digits)}

    def __str__(self) -> str:
        return (f"P {self.precision:.3f}  R {self.recall:.3f}  F1 {self.f1:.3f}  "
                f"(gold {self.gold}, predicted {self.predicted}, matched {self.matched})")


def read_text(path: str | Path) -> str:
    """The text of ``path`` (``.gz`` decompressed; UTF-8, UTF-16 or GB18030)."""
    import gzip

    p = Path(path)
    try:
        raw = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
    except (OSError, EOFError) as exc:
        raise IrcLogError(str(p), f"cannot read ({type(exc).__name__}: {exc})") from exc
    try:
        return decode_bytes(raw, name=str(p))[0]
    except Exception as exc:  # noqa: BLE001 - decode errors of any kind: name the file
        raise IrcLogError(str(p), f"not text ({exc})", "save the file as UTF-8") from exc


def parse_annotation(text: str, *, name: str = "<annotation>") -> set[Link]:
    """The set of (child, parent) links of an annotation text.

    Raises
    ------
    IrcLogError
        On a line that holds something other than message numbers and ``-`` (names the first lines).
    """
    links: set[Link] = set()
    bad: list[int] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if ":" in line:
            line = line.split(":")[1]
        tokens = [t for t in line.split() if t != "-"]
        if not tokens or not all(_NUM.match(t) for t in tokens):
            bad.append(n)
            continue
        nums = [int(t) for t in tokens]
        child = max(nums)
        nums.remove(child)
        if not nums or (len(nums) == 1 and nums[0] == child):
            links.add((child, child))
        else:
            links.update((child, p) for p in nums)
    if bad:
        raise IrcLogError(name, f"{len(bad)} line(s) are not 'parent child -' links, e.g. line(s) "
                          + ", ".join(map(str, bad[:5])),
                          "each line holds two message numbers (0-based line numbers of the raw log) and '-'")
    return links


def read_annotation(path: str | Path) -> set[Link]:
    """The links of an annotation file (``.gz`` accepted); see :func:`parse_annotation`.

    Each line holds ``parent child -`` (0-based line numbers of the raw log), as in the Ubuntu IRC
    corpus of Kummerfeld et al. (2019); a message linked to itself starts a conversation.

    Parameters
    ----------
    path : str or Path
        The annotation file.

    Returns
    -------
    set of (int, int)
        ``(child, parent)`` links.

    Raises
    ------
    IrcLogError
        If the file cannot be read or a line holds something other than message numbers.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "chat.annotation.txt")
    >>> _ = open(path, "w", encoding="utf-8").write("0 0 -\\n0 1 -\\n1 2 -\\n")
    >>> sorted(read_annotation(path))
    [(0, 0), (1, 0), (2, 1)]
    """
    return parse_annotation(read_text(path), name=str(path))


def format_annotation(links: Iterable[Link]) -> str:
    """Links as annotation text, ``parent child -`` per line, sorted by child then parent."""
    return "".join(f"{p} {c} -\n" for c, p in sorted(links))


def score_links(predicted: Iterable[Link] | Mapping[str, Iterable[Link]],
                gold: Iterable[Link] | Mapping[str, Iterable[Link]]) -> LinkScore:
    """Link precision, recall and F1 (the corpus' ``graph-eval.py``), self-links included.

    Parameters
    ----------
    predicted, gold : set of (child, parent), or mapping file -> set
        With mappings, the counts are summed over the files of ``gold``; a file missing from
        ``predicted`` counts its gold links as missed.

    Returns
    -------
    LinkScore

    Examples
    --------
    >>> print(score_links({(1, 0), (2, 1)}, gold={(1, 0), (2, 2)}))
    P 0.500  R 0.500  F1 0.500  (gold 2, predicted 2, matched 1)
    """
    if isinstance(gold, Mapping):
        pred = predicted if isinstance(predicted, Mapping) else {}
        total = LinkScore(0, 0, 0)
        for key, g in gold.items():
            total = total + score_links(pred.get(key, ()), g)
        return total
    p, g = set(predicted), set(gold)  # type: ignore[arg-type]
    return LinkScore(len(g), len(p), len(p & g))


def find_pairs(folder: str | Path) -> list[tuple[Path, Path]]:
    """The (raw log, annotation) pairs of a folder: ``X.raw.txt[.gz]`` with ``X.annotation.txt[.gz]``.

    Raises
    ------
    IrcLogError
        When the folder holds no pair, or an annotation without its raw log.
    """
    root = Path(folder)
    raws = {p.name.split(".raw.")[0]: p for p in sorted(root.glob("*.raw.txt*"))}
    anns = {p.name.split(".annotation.")[0]: p for p in sorted(root.glob("*.annotation.txt*"))}
    orphans = sorted(set(anns) - set(raws))
    if orphans:
        raise IrcLogError(str(root), f"annotation(s) without a raw log: {', '.join(orphans[:5])}",
                          "put X.raw.txt beside each X.annotation.txt")
    pairs = [(raws[k], anns[k]) for k in sorted(anns)]
    if not pairs:
        raise IrcLogError(str(root), "no X.raw.txt / X.annotation.txt pair (optionally .gz) in the folder")
    return pairs
