"""How many CPU threads the numerical libraries (scikit-learn's OpenMP, numpy's and scipy's BLAS) may use.

scikit-learn's KMeans and silhouette run OpenMP loops, and numpy/scipy call a threaded BLAS; by
default each uses one thread per core. Their idle threads wait by spinning: on a machine whose
cores other processes also use, a spinning thread takes the core the working one needs, and every
one of the many small parallel loops of a clustering (a KMeans iteration on 10,000 rows is about a
millisecond) waits for a descheduled thread. Measured on the project's 2-core machine at load 6-9
(2026-12-06): notebook 02's clustering of 100,000 members took 17.7-21.5 s with two threads (9-16 s
of CPU, mostly spinning) and 1.0-1.9 s with one, for the same labels; the BG/NBD fit 11.8 s against
2.8 s; the whole notebook at 0.5 M events, load 12, 113 s against 13.5 s.

commlab's estimators therefore run these libraries in :func:`cpu_threads` with
:data:`DEFAULT_THREADS` threads unless told otherwise (``n_threads``): one thread by default, which
also makes the last digits of a fit independent of the machine's core count (a KMeans centre sums
its members in per-thread parts). ``n_threads=-1`` uses every core the process may run on
(:func:`available_cores`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from numbers import Integral
from pathlib import Path

from commlab.errors import InvalidArgument

__all__ = ["DEFAULT_THREADS", "available_cores", "cpu_threads", "resolve_threads"]

#: Threads used when an estimator's ``n_threads`` is ``None``.
DEFAULT_THREADS = 1

_inside = threading.local()  # the limit of the enclosing cpu_threads block in this thread, if any


def available_cores() -> int:
    """The cores this process may run on: its CPU affinity, capped by a cgroup CPU quota if one is set.

    Examples
    --------
    >>> from commlab.analysis.threads import available_cores
    >>> available_cores() >= 1
    True
    """
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        n = os.cpu_count() or 1
    try:  # cgroup v2: "max 100000" or "<quota> <period>"
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


def resolve_threads(n_threads: int | None) -> int:
    """The thread count ``n_threads`` stands for: ``None`` is :data:`DEFAULT_THREADS`, ``-1`` every available core.

    Raises
    ------
    InvalidArgument
        For 0, a count below -1 or a non-integer.

    Examples
    --------
    >>> from commlab.analysis.threads import resolve_threads
    >>> resolve_threads(None), resolve_threads(3)
    (1, 3)
    """
    if n_threads is None:
        return DEFAULT_THREADS
    if isinstance(n_threads, bool) or not isinstance(n_threads, Integral) or n_threads == 0 or n_threads < -1:
        raise InvalidArgument(f"n_threads must be a positive number of threads, -1 (every available core) "
                              f"or None (the default, {DEFAULT_THREADS}); got {n_threads!r}")
    return available_cores() if n_threads == -1 else int(n_threads)


@contextmanager
def cpu_threads(n_threads: int | None = None) -> Iterator[int]:
    """Limit OpenMP and BLAS threads (scikit-learn, numpy, scipy) inside the block; yields the limit.

    Uses :func:`threadpoolctl.threadpool_limits` (about 4 ms: it lists the loaded libraries); the
    previous limits come back on exit. A block inside a block with the same limit changes nothing
    (a bootstrap's many refits pay once).

    Parameters
    ----------
    n_threads : int or None
        As :func:`resolve_threads`.

    Examples
    --------
    >>> from threadpoolctl import threadpool_info
    >>> from commlab.analysis.threads import cpu_threads
    >>> import numpy  # noqa: F401  (loads its BLAS)
    >>> with cpu_threads(1):
    ...     {p["num_threads"] for p in threadpool_info()}
    {1}
    """
    from threadpoolctl import threadpool_limits

    n = resolve_threads(n_threads)
    if getattr(_inside, "limit", None) == n:
        yield n
        return
    outer = getattr(_inside, "limit", None)
    with threadpool_limits(limits=n):
        _inside.limit = n
        try:
            yield n
        finally:
            _inside.limit = outer
