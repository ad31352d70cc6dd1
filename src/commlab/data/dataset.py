"""The validated data set: :class:`Dataset` (the three tables of a data folder) and its summary.

What :func:`commlab.data.load.load_dataset` returns and the data cache (:mod:`commlab.data.cache`)
stores and reads back. It holds no reading or validation: both loading and the cache import it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from commlab.data import schema as S
from commlab.data.schema import Col
from commlab.data.stored import StoredEvents
from commlab.errors import UsageError
from commlab.fmt import tally

__all__ = ["DEFAULT_TZ", "Dataset", "DataSummary"]

#: Zone in which naive times are read unless the caller says otherwise.
DEFAULT_TZ = "Asia/Shanghai"

class Dataset:
    """The three validated tables of a data folder.

    Parameters
    ----------
    communities, members : DataFrame
        The canonical tables; times are ``datetime64[ns, UTC]``, ids are strings.
    events : DataFrame or StoredEvents
        The canonical events, in memory or in a Parquet file of validated events
        (:class:`~commlab.data.stored.StoredEvents`, as read back from the data cache), which
        is read into pandas only when :attr:`events` is first asked for.
    files : dict
        Table name to the file it was read from.
    sha256 : dict
        File path to the sha256 of its bytes (for the run manifest).
    encodings : dict
        Table name to the detected encoding.
    tz : str
        Zone naive times were read in.

    Attributes
    ----------
    events : DataFrame
        The events as a DataFrame (read from the Parquet file on first access when stored).
    events_source : DataFrame or StoredEvents
        The events as held, without reading them: what the engines and the SQL analyses take,
        so that they read a stored file in place.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c01"])
    >>> isinstance(ds, cl.Dataset), list(ds.communities["community_id"]), ds.tz
    (True, ['c01'], 'Asia/Shanghai')
    """

    def __init__(self, communities: pd.DataFrame, members: pd.DataFrame, events: pd.DataFrame | StoredEvents,
                 files: dict[str, str] | None = None, sha256: dict[str, str] | None = None,
                 encodings: dict[str, str] | None = None, tz: str = DEFAULT_TZ) -> None:
        self.communities = communities
        self.members = members
        self._events = events
        self.files = dict(files or {})
        self.sha256 = dict(sha256 or {})
        self.encodings = dict(encodings or {})
        self.tz = tz

    @property
    def events(self) -> pd.DataFrame:
        if isinstance(self._events, StoredEvents):
            self._events = self._events.read()
        return self._events

    @events.setter
    def events(self, value: pd.DataFrame | StoredEvents) -> None:
        self._events = value

    @property
    def events_source(self) -> pd.DataFrame | StoredEvents:
        return self._events

    @property
    def events_loaded(self) -> bool:
        """Whether the events are held in memory as a DataFrame."""
        return isinstance(self._events, pd.DataFrame)

    def events_of(self, communities: list[str]) -> pd.DataFrame:
        """The events of ``communities`` as a DataFrame; reads only those rows when stored."""
        if isinstance(self._events, StoredEvents):
            return self._events.read(communities)
        ev = self._events
        return ev[ev[Col.community_id].isin(list(communities))].reset_index(drop=True)

    def event_counts(self) -> pd.Series:
        """Events per community (counted in the file when stored), indexed by ``community_id``."""
        if isinstance(self._events, StoredEvents):
            return self._events.counts()
        return self._events[Col.community_id].astype(str).value_counts().rename("events")

    def _event_stats(self) -> tuple[int, pd.Timestamp | None, pd.Timestamp | None]:
        if isinstance(self._events, StoredEvents):
            return self._events.stats()
        return _time_span(self._events["ts"])

    @property
    def n_events(self) -> int:
        """Number of events (counted in the file when stored)."""
        return self._event_stats()[0] if isinstance(self._events, StoredEvents) else len(self._events)

    def __repr__(self) -> str:
        return (
            f"Dataset({len(self.communities)} communities, {len(self.members)} members, "
            f"{self.n_events} events, tz={self.tz!r})"
        )

    def subset(self, communities: list[str] | None) -> Dataset:
        """The same data restricted to ``communities`` (all when ``None`` or empty)."""
        if not communities:
            return self
        unknown = sorted(set(communities) - set(self.communities[S.COMMUNITIES.key[0]]))
        if unknown:
            raise UsageError(
                f"unknown community id(s): {', '.join(unknown)}; "
                f"known: {', '.join(self.communities[Col.community_id])}"
            )
        keep = lambda df: df[df[Col.community_id].isin(communities)].reset_index(drop=True)  # noqa: E731
        ev = self._events
        events = ev.restrict(communities) if isinstance(ev, StoredEvents) else keep(ev)
        return Dataset(
            keep(self.communities), keep(self.members), events,
            dict(self.files), dict(self.sha256), dict(self.encodings), self.tz,
        )

    def summary(self) -> str:
        """A short, human-readable description of the data."""
        return str(self.data_summary())

    def data_summary(self) -> DataSummary:
        """Rows of each table and the events' first and last time (what :meth:`summary` writes)."""
        return DataSummary(len(self.communities), len(self.members), *self._event_stats())


@dataclass(frozen=True)
class DataSummary:
    """What :func:`check_dataset` reports of a valid data folder (``str()``: :meth:`Dataset.summary`).

    Attributes
    ----------
    communities, members, events : int
        Rows of each table.
    first, last : Timestamp or None
        The first and last event time (UTC); ``None`` without events.
    """

    communities: int
    members: int
    events: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None

    def __str__(self) -> str:
        span = f", {self.first:%Y-%m-%d} → {self.last:%Y-%m-%d} (UTC)" if self.events else ""
        counts = ", ".join(tally(n, noun) for n, noun in ((self.communities, "communities"),
                                                          (self.members, "members"), (self.events, "events")))
        return counts + span


def _time_span(ts: pd.Series) -> tuple[int, pd.Timestamp | None, pd.Timestamp | None]:
    """Number of events and their first and last time (``None`` without events)."""
    return (len(ts), ts.min(), ts.max()) if len(ts) else (0, None, None)
