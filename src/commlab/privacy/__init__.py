"""Keeping member identities out of anything written for a report.

Three parts, each in its module: keyed pseudonyms for member ids (:mod:`commlab.privacy.pseudonyms`),
small-group suppression with a floor on k (:mod:`commlab.privacy.suppression`) and the leak scan of
files meant for sharing (:mod:`commlab.privacy.leakscan`), which reads what a person is shown of a
file (:mod:`commlab.privacy.readable`). Their public names are importable from ``commlab.privacy``.
"""

from __future__ import annotations

from commlab.privacy.leakscan import (
    COMMON_WORDS,
    EXEMPTIONS,
    MIN_ID_LENGTH,
    MIN_NAME_LENGTH,
    MIN_NUMERIC_ID_LENGTH,
    Exemption,
    given_names,
    identity_needles,
    normalize_identity,
    scan_files,
    scan_text,
    vocabulary,
)
from commlab.privacy.pseudonyms import KEY_ENV, pseudonym_key, pseudonymize
from commlab.privacy.suppression import (
    DEFAULT_K,
    MEMBER_COUNT_METRICS,
    MEMBER_SHARE_METRICS,
    MIN_K,
    SUPPRESSED,
    check_k,
    format_count,
    small_group_mask,
    small_groups,
    suppress_count,
    suppress_metrics,
    suppress_small_groups,
    suppress_table,
    suppression_note,
    without_small_groups,
)

__all__ = [
    "KEY_ENV",
    "pseudonym_key",
    "pseudonymize",
    "suppress_small_groups",
    "suppress_table",
    "suppress_metrics",
    "MEMBER_SHARE_METRICS",
    "MEMBER_COUNT_METRICS",
    "small_group_mask",
    "small_groups",
    "without_small_groups",
    "format_count",
    "suppress_count",
    "suppression_note",
    "SUPPRESSED",
    "DEFAULT_K",
    "MIN_K",
    "check_k",
    "MIN_ID_LENGTH",
    "MIN_NUMERIC_ID_LENGTH",
    "MIN_NAME_LENGTH",
    "COMMON_WORDS",
    "EXEMPTIONS",
    "Exemption",
    "normalize_identity",
    "given_names",
    "identity_needles",
    "vocabulary",
    "scan_text",
    "scan_files",
]
