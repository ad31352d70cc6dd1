"""Which Stack Exchange site a data dump is of, and its name ("Cardano Stack Exchange").

A dump's XML files do not name their site. Three places do, tried in order:

1. the dump's folder, when it keeps the archive's name (``cardano.stackexchange.com``, as the
   quarterly dump's ``cardano.stackexchange.com.7z`` unpacks);
2. the posts themselves: answers and questions link to other questions of their own site
   (``https://cardano.stackexchange.com/questions/123``), so the host most of those links name is
   the site's (:class:`SiteLinks`; 73 of Cardano's 75 such links, 310 of Quantum Computing's 358);
3. otherwise the folder name made readable (``se_cardano_xml`` → ``Cardano Stack Exchange``).

The name is the community's display name; the community id stays the folder name, so runs on a
re-imported dump still compare with the earlier ones.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

__all__ = ["SiteLinks", "host_from_folder", "site_name", "readable_folder_name", "name_site", "public_site_texts"]

#: Domains of the Stack Exchange network's sites (most are ``<site>.stackexchange.com``).
DOMAINS: tuple[str, ...] = ("stackexchange.com", "stackoverflow.com", "superuser.com", "serverfault.com",
                            "askubuntu.com", "mathoverflow.net", "stackapps.com")
#: Sites whose name is not the host's first label capitalised.
_NAMES: dict[str, str] = {
    "stackoverflow.com": "Stack Overflow", "superuser.com": "Super User", "serverfault.com": "Server Fault",
    "askubuntu.com": "Ask Ubuntu", "mathoverflow.net": "MathOverflow", "stackapps.com": "Stack Apps",
    "math": "Mathematics Stack Exchange", "quantumcomputing": "Quantum Computing Stack Exchange",
    "tex": "TeX - LaTeX Stack Exchange", "softwareengineering": "Software Engineering Stack Exchange",
    "datascience": "Data Science Stack Exchange", "stats": "Cross Validated", "ux": "User Experience Stack Exchange",
    "gis": "Geographic Information Systems Stack Exchange", "dba": "Database Administrators Stack Exchange",
}
_DOMAIN = "|".join(re.escape(d) for d in DOMAINS)
_HOST = re.compile(rf"^((?:[a-z0-9-]+\.)*(?:{_DOMAIN}))$", re.IGNORECASE)
#: A link to a question, answer or user page of a network site (what a site's posts link to).
_LINK = re.compile(rf"https?://((?:[a-z0-9-]+\.)*(?:{_DOMAIN}))/(?:q|questions|a|users)/", re.IGNORECASE)


def host_from_folder(folder_name: str) -> str | None:
    """The site's host when the folder keeps the archive's name (``cardano.stackexchange.com``), else ``None``."""
    name = re.sub(r"\.7z$", "", folder_name.strip(), flags=re.IGNORECASE)
    m = _HOST.match(name)
    return m.group(1).lower() if m and name.lower() not in ("stackexchange.com",) else None


class SiteLinks:
    """Counts the network hosts that posts link to, until one clearly dominates.

    ``feed`` the bodies of posts as they are read; :attr:`done` turns true once the leading host
    has :attr:`enough` links and three times as many as the next (then the caller may stop
    feeding); :meth:`host` is the leading host if it holds more than half of all links seen and at
    least :attr:`minimum` of them, else ``None``.
    """

    def __init__(self, enough: int = 50, minimum: int = 3) -> None:
        self.enough = enough
        self.minimum = minimum
        self.counts: Counter[str] = Counter()
        self.done = False

    def feed(self, bodies: Iterable[object]) -> None:
        if self.done:
            return
        for body in bodies:
            if isinstance(body, str) and "://" in body:
                self.counts.update(h.lower() for h in _LINK.findall(body))
        top = self.counts.most_common(2)
        if top and top[0][1] >= self.enough and (len(top) == 1 or top[0][1] >= 3 * top[1][1]):
            self.done = True

    def host(self) -> str | None:
        top = self.counts.most_common(1)
        total = sum(self.counts.values())
        if not top or top[0][1] < self.minimum or 2 * top[0][1] <= total:
            return None
        return top[0][0]


def site_name(host: str) -> str:
    """The name of the site at ``host``: ``cardano.stackexchange.com`` → ``Cardano Stack Exchange``.

    Meta sites read ``… Meta`` (``meta.cardano.stackexchange.com`` → ``Cardano Stack Exchange Meta``);
    a language edition of Stack Overflow keeps its code (``ru.stackoverflow.com`` → ``Stack Overflow (ru)``).
    """
    host = host.lower().strip(".")
    domain = next((d for d in DOMAINS if host == d or host.endswith("." + d)), "")
    labels = host[: -len(domain)].strip(".").split(".") if domain else host.split(".")
    labels = [x for x in labels if x]
    meta = bool(labels) and labels[0] == "meta"
    labels = labels[1:] if meta else labels
    if domain == "stackexchange.com":
        label = labels[-1] if labels else ""
        name = _NAMES.get(label) or (f"{label.replace('-', ' ').title()} Stack Exchange" if label else "Stack Exchange")
    else:
        name = _NAMES.get(domain, domain)
        if labels:
            name += f" ({'.'.join(labels)})"
    return f"{name} Meta" if meta else name


def readable_folder_name(folder_name: str) -> str:
    """A site name from a folder named otherwise (``se_cardano_xml`` → ``Cardano Stack Exchange``)."""
    core = folder_name.strip().lower()
    core = re.sub(r"^(?:se|stackexchange|stack_exchange)[_\-. ]+", "", core)
    core = re.sub(r"(?:(?:^|[_\-. ]+)(?:posts|xml|dump|data|7z))+$", "", core)
    words = [w for w in re.split(r"[_\-. ]+", core) if w]
    if not words:
        return "Stack Exchange"
    if len(words) == 1 and words[0] in _NAMES:
        return site_name(f"{words[0]}.stackexchange.com")
    return " ".join(w.capitalize() for w in words) + " Stack Exchange"


def name_site(folder_name: str, links: SiteLinks | None = None) -> tuple[str, str | None]:
    """``(name, host)`` of a dump's site: from the folder, else the posts' links, else the folder made readable.

    ``host`` is ``None`` when neither the folder nor the links name one.
    """
    host = host_from_folder(folder_name) or (links.host() if links is not None else None)
    return (site_name(host), host) if host else (readable_folder_name(folder_name), None)


_SOURCE_HOST = re.compile(rf"^Stack Exchange data dump \(((?:[a-z0-9-]+\.)*(?:{_DOMAIN}))\), CC BY-SA$")
#: The source the se_180d reader (:mod:`commlab.importers.se_csv`) writes for a site of its table.
_SOURCE_180D = re.compile(r"^Stack Exchange \(([a-z0-9-]+)\), CC BY-SA — via Vranić et al\. 2023$")


def public_site_texts(communities: object) -> list[str]:
    """The public site names, hosts and subjects a communities table shows, as the importers write them.

    For a row of platform ``stackexchange`` whose ``source`` is this importer's
    ``Stack Exchange data dump (<host>), CC BY-SA`` and whose ``name`` is :func:`site_name` of
    that host: the name and the host (``Cardano Stack Exchange``, ``cardano.stackexchange.com``).
    For a site of the twelve the se_180d reader knows (:data:`commlab.importers.se_csv.SITES`),
    whose ``source`` and ``name`` are as that reader writes them: the name and the site's subject,
    its folder and community id (``Physics Stack Exchange (2010)``, ``physics``).
    They are the public site's name, not a member's, though a member may call themselves so; a
    name typed by hand (``-o name=...``) or any other row gives nothing.
    """
    cols = getattr(communities, "columns", ())
    if communities is None or not {"name", "source", "platform"} <= set(cols):
        return []
    from commlab.importers.se_csv import SITES

    out: list[str] = []
    for name, src, platform in zip(communities["name"], communities["source"], communities["platform"], strict=True):
        if str(platform) != "stackexchange":
            continue
        m = _SOURCE_HOST.match(str(src))
        if m and str(name) == site_name(m.group(1)):
            out += [str(name), m.group(1)]
        m = _SOURCE_180D.match(str(src))
        if m and m.group(1) in SITES and str(name) == SITES[m.group(1)][0]:
            out += [str(name), m.group(1)]  # the site's subject is its folder: "physics", "math"
    return out
