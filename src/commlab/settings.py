"""The settings a run takes from the environment, read once at the boundary and passed down as arguments.

Three settings come from environment variables: the key of the member pseudonyms, the folder of
validated data sets (the run's data cache) and whether events are validated chunk by chunk. Only
the boundary reads them, through :func:`settings_from_env`: the command line, the runner, and a
notebook's first code cell (each notebook runs in its own kernel, which inherits the runner's
environment). Everything below takes them as arguments (``load_dataset(..., cache=, stream=)``,
``member_segments_table(..., key=)``, ``import_source(..., pseudonym_key=)``);
``tests/test_settings.py`` checks that no other module reads ``os.environ``.

The pseudonym key is a secret: :class:`Settings` never shows it (``repr``, ``str``), and the
runner passes it to the kernels through their environment only, never as a notebook parameter,
so it is written into no executed notebook, manifest or log.

Examples
--------
>>> from commlab.settings import settings_from_env
>>> s = settings_from_env({"COMMLAB_PSEUDONYM_KEY": "secret", "COMMLAB_DATA_CACHE": "/tmp/cache"})
>>> s
Settings(pseudonym_key='<set>', cache_dir=PosixPath('/tmp/cache'), stream_events=None)
>>> s.load_options()
{'cache': PosixPath('/tmp/cache'), 'stream': None}
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CACHE_ENV", "KEY_ENV", "STREAM_ENV", "Settings", "settings_from_env"]

#: Environment variable holding the key of the member pseudonyms (HMAC-SHA256); unset: a random
#: key per process (pseudonyms stable within one run only).
KEY_ENV = "COMMLAB_PSEUDONYM_KEY"
#: Environment variable naming the folder of validated data sets; unset or empty: no cache.
CACHE_ENV = "COMMLAB_DATA_CACHE"
#: Environment variable choosing whether events are validated chunk by chunk: ``always``,
#: ``never`` or ``auto`` (by the size of the file; the default).
STREAM_ENV = "COMMLAB_STREAM_EVENTS"
_STREAM = {"auto": None, "always": True, "never": False}


@dataclass(frozen=True)
class Settings:
    """What the environment says about a run, as plain values to pass on.

    Parameters
    ----------
    pseudonym_key : str, optional
        The key of the member pseudonyms; ``None``: a random per-process key. Never shown.
    cache_dir : Path, optional
        The folder of validated data sets (:mod:`commlab.data.cache`); ``None``: no cache.
    stream_events : bool, optional
        Validate events chunk by chunk (``True``), whole (``False``), or by size (``None``).

    Examples
    --------
    >>> import commlab as cl
    >>> s = cl.Settings(pseudonym_key="secret", cache_dir=None)
    >>> print(s)                        # the key is never shown
    Settings(pseudonym_key='<set>', cache_dir=None, stream_events=None)
    >>> ds = cl.load_dataset("data/samples", communities=["c01"], **s.load_options())
    """

    pseudonym_key: str | None = field(default=None, repr=False)
    cache_dir: Path | None = None
    stream_events: bool | None = None

    def __repr__(self) -> str:
        key = None if self.pseudonym_key is None else "<set>"
        return (f"Settings(pseudonym_key={key!r}, cache_dir={self.cache_dir!r}, "
                f"stream_events={self.stream_events!r})")

    __str__ = __repr__

    def load_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`commlab.data.load.load_dataset` and :func:`commlab.sources.load_source`."""
        return {"cache": self.cache_dir, "stream": self.stream_events}


def settings_from_env(environ: Mapping[str, str] | None = None, *, key_env: str | None = None) -> Settings:
    """The settings named by the environment (:data:`KEY_ENV`, :data:`CACHE_ENV`, :data:`STREAM_ENV`).

    Call it at the boundary only (the command line, the runner, a notebook's first cell) and pass
    the values on; code below never reads the environment.

    Parameters
    ----------
    environ : mapping, optional
        The environment to read; default ``os.environ``.
    key_env : str, optional
        Read the pseudonym key from this variable instead of :data:`KEY_ENV` (a playbook's
        ``privacy.key_env``).

    Returns
    -------
    Settings
        Empty values count as unset.

    Raises
    ------
    UsageError
        If :data:`STREAM_ENV` holds anything but ``auto``, ``always`` or ``never``.

    Examples
    --------
    A notebook's first cell after the parameters (in a run, the runner sets the variables):

    >>> import commlab as cl
    >>> settings = cl.settings_from_env()
    >>> ds = cl.load_dataset("data/samples", communities=["c01"], **settings.load_options())

    A mapping can stand for the environment:

    >>> cl.settings_from_env({"COMMLAB_STREAM_EVENTS": "never"}).stream_events
    False
    """
    env = os.environ if environ is None else environ
    choice = (env.get(STREAM_ENV) or "auto").strip().lower() or "auto"
    if choice not in _STREAM:
        from commlab.errors import UsageError

        raise UsageError(f"{STREAM_ENV}={choice!r}: use auto, always or never")
    cache = env.get(CACHE_ENV)
    return Settings(pseudonym_key=env.get(key_env or KEY_ENV) or None, cache_dir=Path(cache) if cache else None,
                    stream_events=_STREAM[choice])
