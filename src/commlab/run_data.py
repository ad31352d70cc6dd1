"""The data a playbook run reads: validated before the run starts, its time range and its identity.

:func:`load_run_data` loads the run's data folder once, before any run folder exists, into the
run's data cache (:mod:`commlab.data.cache`), so the notebooks read it back instead of checking
the files again. Bad data therefore stop the run with exit code 3 and the full problem list
``commlab validate`` prints, and the parameters that depend on the data are checked against it:

* ``communities`` must name communities of the data;
* the analysis instant: without ``--as-of``, a run on a data folder given with ``--data`` (or a
  playbook without an ``as_of`` of its own) is computed at the end of the day of the data's last
  event (:func:`as_of_from_data`), and any absolute ``as_of`` must lie between the data's first
  event and :data:`STALE_DAYS` days after its last one (:func:`check_as_of`), unless the user
  allows a stale one;
* the *data source* of the run, :attr:`RunData.fingerprint`: the resolved data folder, its layout
  and the set of communities analysed. A run compares itself only with an earlier run of the same
  playbook on the same data source (files updated week by week keep their source).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from commlab.data.schema import Col
from commlab.errors import ParameterError
from commlab.instant import as_utc

__all__ = ["RunData", "STALE_DAYS", "load_run_data", "data_fingerprint", "as_of_from_data", "check_as_of",
           "parse_as_of"]

#: An ``as_of`` more than this many days after the data's last event is refused (unless allowed).
STALE_DAYS = 30


@dataclass(frozen=True)
class RunData:
    """What the runner knows of a run's data before the notebooks start.

    Attributes
    ----------
    data_dir : Path or None
        The resolved data folder (``None``: the playbook sets no data; the notebooks use their own).
    source : str
        Its layout (``canonical`` or ``se_180d``).
    tz : str
        The zone naive times were read in.
    communities : list of str
        The community ids the run analyses (all of the data's, or the ``communities`` parameter).
    first, last : Timestamp or None
        First and last event (UTC) of those communities; ``None`` without events.
    events : int
        Their number of events.
    """

    data_dir: Path | None
    source: str = "canonical"
    tz: str = ""
    communities: list[str] = field(default_factory=list)
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    events: int = 0

    @property
    def fingerprint(self) -> str:
        """The identity of the data source (:func:`data_fingerprint`)."""
        return data_fingerprint(self.data_dir, self.source, self.communities)

    def manifest(self) -> dict[str, Any]:
        """The ``data_source`` entry of ``manifest.json``."""
        stamp = lambda t: None if t is None else t.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
        return {"fingerprint": self.fingerprint, "data_dir": str(self.data_dir) if self.data_dir else None,
                "source": self.source, "tz": self.tz, "communities": list(self.communities),
                "first_event": stamp(self.first), "last_event": stamp(self.last), "events": self.events}


def data_fingerprint(data_dir: Path | None, source: str, communities: list[str]) -> str:
    """A short hash of the data folder (resolved), its layout and the sorted community ids."""
    parts = {"data_dir": str(Path(data_dir).resolve()) if data_dir else None, "source": source,
             "communities": sorted(str(c) for c in communities)}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def load_run_data(data_dir: Path, *, source: str, tz: str, communities: list[str], where: str,
                  cache: str | Path | None = None, stream: bool | None = None) -> RunData:
    """Load and validate ``data_dir`` (into the data cache ``cache`` when given).

    Parameters
    ----------
    data_dir : Path
        The data folder.
    source : str
        Its layout (:data:`commlab.sources.SOURCES`).
    tz : str
        The zone of naive times, as the notebooks read them (the cache entry is keyed by it).
    communities : list of str
        The ``communities`` parameter (empty: all).
    where : str
        Names the playbook in messages.
    cache : str or Path, optional
        The run's data cache (:mod:`commlab.data.cache`), where the notebooks find the data validated.
    stream : bool, optional
        Validate the events chunk by chunk (:func:`commlab.data.load.load_dataset`); ``None``: by size.

    Raises
    ------
    DataValidationError
        Listing every problem of every file, as ``commlab validate`` does (exit code 3).
    ParameterError
        If ``communities`` names ids the data lack (exit code 4).
    """
    from commlab.sources import load_source

    ds = load_source(data_dir, source, tz=tz, cache=cache, stream=stream)
    known = [str(c) for c in ds.communities[Col.community_id]]
    unknown = [c for c in communities if str(c) not in set(known)]
    if unknown:
        shown = ", ".join(known[:20]) + (f" … ({len(known)} in all)" if len(known) > 20 else "")
        raise ParameterError(
            f"{where}: parameter 'communities' names {', '.join(map(repr, unknown))}, not in the data {data_dir} "
            f"(its communities: {shown})"
        )
    chosen = [str(c) for c in communities] if communities else known
    n, first, last = ds.subset(chosen if communities else None)._event_stats()
    del ds  # the notebooks read the cache entry; the runner keeps only what it needs
    return RunData(Path(data_dir).resolve(), source, tz, chosen, first, last, int(n))


def parse_as_of(value: str) -> pd.Timestamp | None:
    """An absolute ``as_of`` as a UTC Timestamp (naive means UTC); ``None`` for ``created+<N>d``."""
    text = str(value).strip()
    if text.startswith("created+"):
        return None
    return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def as_of_from_data(data: RunData) -> str | None:
    """The end of the day (in the data's zone) of the last event, as an ISO UTC instant; ``None`` without events.

    The bundled samples end 2024-06-30 23:57 Asia/Shanghai: ``2024-06-30T16:00:00Z`` (midnight
    after the last day), so the last day counts whole, as the demo playbook's own ``as_of`` does.
    """
    if data.last is None:
        return None
    local = data.last.tz_convert(data.tz or "UTC")
    end = (local.normalize() + pd.Timedelta(days=1)).tz_convert("UTC")
    return end.strftime("%Y-%m-%dT%H:%M:%SZ")


def check_as_of(value: str, data: RunData, *, where: str, allow_stale: bool = False) -> None:
    """Refuse an ``as_of`` before the data's first event or more than :data:`STALE_DAYS` days after its last.

    Raises
    ------
    ParameterError
        Naming the as-of, the data range and the ways out (exit code 4); not raised for
        ``created+<N>d``, for data without events, or with ``allow_stale``.
    """
    t = parse_as_of(value)
    if t is None or data.first is None or data.last is None or allow_stale:
        return
    span = f"{data.first:%Y-%m-%d %H:%M} – {data.last:%Y-%m-%d %H:%M} UTC"
    fix = ("leave --as-of out to analyse at the end of the data, pass an --as-of inside the data, or pass "
           "--allow-stale-as-of if this is really meant")
    if t < data.first:
        raise ParameterError(f"{where}: as_of {value} is before the data's first event (the data {data.data_dir} "
                             f"span {span}): nothing would be analysed; {fix}")
    if t > data.last + timedelta(days=STALE_DAYS):
        days = (t - data.last) / pd.Timedelta(days=1)
        raise ParameterError(f"{where}: as_of {value} is {days:.1f} days after the data's last event (the data "
                             f"{data.data_dir} span {span}): every member would look inactive; {fix}")
