"""Keyed pseudonyms for member ids.

Member ids are replaced by keyed pseudonyms (HMAC-SHA256): the same id and key always give
the same pseudonym, so runs can be compared, but nobody without the key can go back to the
id. The key comes from the ``COMMLAB_PSEUDONYM_KEY`` environment variable (or a caller's
configuration) and is never written out. Without a key, a random per-process key is used:
pseudonyms are then stable within one run only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

import pandas as pd

__all__ = ["KEY_ENV", "pseudonym_key", "pseudonymize"]

KEY_ENV = "COMMLAB_PSEUDONYM_KEY"
_PROCESS_KEY = secrets.token_bytes(32)


def pseudonym_key(key: str | bytes | None = None) -> bytes:
    """The key to use: ``key`` if given, else ``$COMMLAB_PSEUDONYM_KEY``, else a per-process key."""
    if key is None:
        key = os.environ.get(KEY_ENV) or None
    if key is None:
        return _PROCESS_KEY
    return key.encode("utf-8") if isinstance(key, str) else key


def pseudonymize(ids: pd.Series, key: str | bytes | None = None, *, prefix: str = "m_", length: int = 12) -> pd.Series:
    """Replace each id by a keyed pseudonym such as ``m_3f9a0c1b2d4e``.

    Parameters
    ----------
    ids : Series
        Member ids (any type; compared as text). Missing stays missing.
    key : str or bytes, optional
        Secret key; see :func:`pseudonym_key`.
    prefix : str
        Put before the hex digest, to make pseudonyms recognisable.
    length : int
        Hex characters kept (12 = 48 bits; collisions are negligible below millions of ids).

    Returns
    -------
    Series of str
    """
    k = pseudonym_key(key)
    uniq = pd.unique(ids.dropna().astype(str))
    table = {u: prefix + hmac.new(k, u.encode("utf-8"), hashlib.sha256).hexdigest()[:length] for u in uniq}
    return ids.astype("string").map(table).astype("string")


