"""E-mail addresses kept only as a keyed hash, for matching people across sources without the address."""

from __future__ import annotations

import pandas as pd

__all__ = ["email_hash", "email_hash_note"]


def email_hash(email: object, key: str | bytes | None = None) -> str | None:
    """Keyed hash of the lower-cased, stripped e-mail, for matching people without keeping the address.

    HMAC-SHA256 with the pseudonym key of :func:`commlab.privacy.pseudonym_key` (``key``, else
    the process's random key; the importers get it as their ``pseudonym_key`` argument, which
    ``commlab import`` reads from ``$COMMLAB_PSEUDONYM_KEY``): unlike a plain sha256, nobody
    without the key can test guessed addresses against it. Hashes match across imports only
    when they were made with the same key.
    """
    import hashlib
    import hmac

    from commlab.privacy import pseudonym_key

    if email is None or email is pd.NA or (isinstance(email, float) and pd.isna(email)):
        return None
    e = str(email).strip().lower()
    if not e:
        return None
    return hmac.new(pseudonym_key(key), e.encode("utf-8"), hashlib.sha256).hexdigest()


def email_hash_note(key: str | bytes | None = None) -> str:
    """The report note saying how ``email_hash`` was keyed with ``key`` (never the key itself)."""
    from commlab.privacy import KEY_ENV

    if key:
        return (f"email_hash: HMAC-SHA256 of the e-mail keyed with ${KEY_ENV}; it matches hashes made with the "
                "same key only")
    return (f"email_hash: HMAC-SHA256 of the e-mail keyed with a random key of this import (${KEY_ENV} is not "
            f"set): it matches no other import's; set ${KEY_ENV} to match people across imports")
