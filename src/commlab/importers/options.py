"""The options every importer takes: community metadata (with documented defaults), ``tz``, booleans.

:func:`community_row` builds the communities row from them, noting in the report which required
fields were defaulted.
"""

from __future__ import annotations

from typing import Any

from commlab.data.schema import Col
from commlab.importers.import_report import ImportReport

__all__ = ["COMMUNITY_OPTIONS", "community_row", "opt_bool", "single_community_option", "tz_option",
           "split_options"]

#: Community options every importer accepts (keyword arguments of :func:`commlab.importers.import_source`).
COMMUNITY_OPTIONS: tuple[str, ...] = (
    Col.community_id, "name", "theme", "business_model", "lifecycle", "monetization", "economy", "source_note",
)


def community_row(
    *,
    community_id: str,
    name: str,
    platform: str,
    created_at: Any,
    source: str,
    report: ImportReport,
    defaults: dict[str, str],
    options: dict[str, Any],
) -> dict[str, Any]:
    """One communities row; fields not given in ``options`` take ``defaults`` and are noted in the report.

    ``options`` may hold any of :data:`COMMUNITY_OPTIONS`; ``theme``, ``business_model``,
    ``lifecycle`` and ``monetization`` are required by the schema, so each importer passes
    documented ``defaults`` for them, and the report says which ones were defaulted so a
    person can correct them (``--theme`` ...).
    """
    row: dict[str, Any] = {
        Col.community_id: options.get(Col.community_id) or community_id,
        "name": options.get("name") or name,
        "platform": platform,
        "created_at": created_at,
        "economy": options.get("economy"),
        "source": options.get("source_note") or source,
    }
    defaulted = []
    for key in ("theme", "business_model", "lifecycle", "monetization"):
        if options.get(key):
            row[key] = options[key]
        else:
            row[key] = defaults[key]
            defaulted.append(f"{key}={defaults[key]}")
    if defaulted:
        note = f"community {row[Col.community_id]}: defaulted {', '.join(defaulted)} (not in the source; set them)"
        if note not in report.notes:
            report.notes.append(note)
    return row


def opt_bool(value: Any, name: str) -> bool | None:
    """An option given as bool or text (``true``/``false``/``yes``/``no``/``1``/``0``, from the CLI) as bool.

    ``None`` stays ``None`` (meaning "default").

    Raises
    ------
    UsageError
        For any other value.
    """
    from commlab.errors import UsageError

    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "y", "1", "on"):
        return True
    if text in ("false", "no", "n", "0", "off"):
        return False
    raise UsageError(f"option {name} must be true or false, not {value!r}")


def single_community_option(options: dict[str, Any], n: int, what: str) -> None:
    """Raise UsageError when ``community_id`` is given but the source holds ``n`` > 1 communities."""
    from commlab.errors import UsageError

    if options.get(Col.community_id) and n > 1:
        raise UsageError(f"community_id applies to a source with one community; this one has {n} {what} "
                         "(each gets its own id)")


def tz_option(options: dict[str, Any], default: str = "Asia/Shanghai") -> str:
    """The ``tz`` option (zone of naive times), checked; ``default`` when not given.

    Raises
    ------
    UsageError
        An unknown zone (``Mars/Olympus``), with the form to use.
    """
    from commlab.data.load import check_time_zone

    return check_time_zone(str(options.get("tz") or default))


def split_options(options: dict[str, Any], allowed: tuple[str, ...], fmt: str) -> dict[str, Any]:
    """Check that ``options`` holds only community options and ``allowed``; raise UsageError otherwise."""
    from commlab.errors import UsageError

    unknown = sorted(set(options) - set(COMMUNITY_OPTIONS) - set(allowed))
    if unknown:
        known = ", ".join(sorted(set(COMMUNITY_OPTIONS) | set(allowed)))
        raise UsageError(f"unknown option(s) for the {fmt} importer: {', '.join(unknown)}; known: {known}")
    return options


# --- time ---------------------------------------------------------------------------------------
