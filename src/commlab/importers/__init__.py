"""Importers: platform exports -> the canonical tables (communities, members, events).

One module per source format; none imports another (what they share lives in modules named
for it: :mod:`~commlab.importers.files` and :mod:`~commlab.importers.jsonfile` read the bytes,
:mod:`~commlab.importers.times` the times, :mod:`~commlab.importers.fields` a record's fields,
:mod:`~commlab.importers.options` the options, :mod:`~commlab.importers.tables` builds the tables,
:mod:`~commlab.importers.finish` validates them and :mod:`~commlab.importers.output` writes them;
:class:`~commlab.importers.import_report.ImportReport` is the account). Each format registers a converter
``convert(source, **options) -> (Dataset, ImportReport)`` under its name, and
:func:`import_source` is the one entry point the command line and Python
callers share::

    from commlab.importers import import_source
    report = import_source("stackexchange_xml", "dumps/cardano", "data/cardano", theme="product")

The exact accepted layouts are in ``docs/IMPORTERS.md``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from commlab.data.load import Dataset
from commlab.errors import ImportFormatError, InvalidArgument, UsageError
from commlab.importers.import_report import ImportReport
from commlab.importers.output import atomic_output_dir, write_dataset_atomic, write_report_json

__all__ = [
    "FORMATS",
    "Converter",
    "Writer",
    "WRITERS",
    "register",
    "register_writer",
    "get",
    "convert",
    "import_source",
    "ImportReport",
    "ImportFormatError",
]

#: A converter reads a source and returns the validated dataset and its report.
Converter = Callable[..., tuple[Dataset, ImportReport]]

#: A streaming writer reads a source and writes the three Parquet tables into a folder, chunk by chunk.
Writer = Callable[..., ImportReport]

#: Registered formats: name -> converter.
FORMATS: dict[str, Converter] = {}

#: Formats that stream straight to Parquet with bounded memory: name -> writer.
WRITERS: dict[str, Writer] = {}


def register(name: str, func: Converter) -> Converter:
    """Register ``func`` as the converter of format ``name`` (replacing any previous one).

    Parameters
    ----------
    name : str
        Format name used on the command line (``commlab import NAME ...``).
    func : callable
        ``func(source, **options) -> (Dataset, ImportReport)``.

    Returns
    -------
    callable
        ``func``, so this can be used as a decorator factory's body.
    """
    if not name or not name.replace("_", "").isalnum():
        raise InvalidArgument(f"format names are letters, digits and '_': {name!r}")
    FORMATS[name] = func
    WRITERS.pop(name, None)  # a replaced converter must not be bypassed by the old format's writer
    return func


def register_writer(name: str, func: Writer) -> Writer:
    """Register a streaming writer for the already registered format ``name``.

    :func:`import_source` then calls ``func(source, folder, **options)`` instead of
    converting in memory: it must write ``communities.parquet``, ``members.parquet``
    and ``events.parquet`` into ``folder`` (validated, chunk by chunk) and return the
    report; :func:`import_source` moves the folder into place only on success.

    Raises
    ------
    UsageError
        If no converter is registered as ``name``.
    """
    get(name)
    WRITERS[name] = func
    return func


def get(name: str) -> Converter:
    """The converter registered as ``name``.

    Raises
    ------
    UsageError
        If no format of that name is registered (the message lists the known ones).
    """
    try:
        return FORMATS[name]
    except KeyError:
        raise UsageError(f"unknown import format {name!r}; known: {', '.join(sorted(FORMATS))}") from None


def convert(fmt: str, source: str | Path, *, pseudonym_key: str | bytes | None = None,
            **options: Any) -> tuple[Dataset, ImportReport]:
    """Convert ``source`` with the ``fmt`` converter, in memory (nothing is written).

    ``pseudonym_key`` (the key of the e-mail hashes, :func:`commlab.importers.emails.email_hash`)
    goes to the converters that take it (those that hash e-mails); the others never see it.

    Raises
    ------
    UsageError
        Unknown format, missing source, or an option the format does not accept.
    ImportFormatError
        The source is not in the expected layout (names the file and what is wrong).
    DataValidationError
        The mapped tables fail validation.
    """
    func = get(fmt)
    src = Path(source)
    if not src.exists():
        raise UsageError(f"source not found: {src}")
    if pseudonym_key is not None and "pseudonym_key" in inspect.signature(func).parameters:
        options = {**options, "pseudonym_key": pseudonym_key}
    return func(src, **options)


def import_source(fmt: str, source: str | Path, out_dir: str | Path, *, pseudonym_key: str | bytes | None = None,
                  **options: Any) -> ImportReport:
    """Convert ``source`` and write the canonical tables into ``out_dir``, all or nothing.

    The three tables are validated with the same checks as
    :func:`commlab.data.load.load_dataset`, then ``communities.parquet``,
    ``members.parquet``, ``events.parquet`` and ``import_report.json`` are
    written into a temporary folder beside ``out_dir`` and moved in place in
    one rename. On any error nothing is written. Large inputs show a tqdm
    progress bar (``progress=False`` hides it, where the format supports it).
    Formats with a streaming writer (:data:`WRITERS`: ``stackexchange_xml``)
    validate and write their tables chunk by chunk, so memory stays bounded
    whatever the size of the source.

    Parameters
    ----------
    fmt : str
        A registered format (see :data:`FORMATS`).
    source : str or Path
        The export file or folder.
    out_dir : str or Path
        Folder to create (or an earlier import's folder to replace).
    pseudonym_key : str or bytes, optional
        Key of the e-mail hashes of the formats that keep them (``discourse``, ``slack``):
        hashes match across imports made with the same key. ``None``: a random key of this
        import. ``commlab import`` passes ``$COMMLAB_PSEUDONYM_KEY``
        (:func:`commlab.settings.settings_from_env`). Never written.
    **options
        Community options (``community_id``, ``name``, ``theme``,
        ``business_model``, ``lifecycle``, ``monetization``, ``economy``,
        ``source_note``) and the format's own options (``docs/IMPORTERS.md``).

    Returns
    -------
    ImportReport
        Rows mapped per table, rows dropped and why, notes.

    Raises
    ------
    UsageError, ImportFormatError, DataValidationError
        See :func:`convert`; also :class:`ImportFormatError` when ``out_dir``
        holds unrelated files.

    Examples
    --------
    >>> import tempfile
    >>> import commlab as cl
    >>> out = tempfile.mkdtemp() + "/telegram"
    >>> report = cl.import_source("telegram", "tests/fixtures/importers/telegram/result.json", out)
    >>> report.rows_mapped
    {'communities': 1, 'members': 3, 'events': 11}
    >>> cl.load_dataset(out).communities["platform"].tolist()
    ['telegram']
    """
    writer = WRITERS.get(fmt)
    if writer is None:
        dataset, report = convert(fmt, source, pseudonym_key=pseudonym_key, **options)
        write_dataset_atomic(dataset, out_dir, report)
        return report
    src = Path(source)
    if not src.exists():
        raise UsageError(f"source not found: {src}")
    with atomic_output_dir(out_dir) as folder:
        report = writer(src, folder, **options)
        write_report_json(folder, report, out_dir)
    return report


def options_of(fmt: str) -> tuple[str, ...]:
    """The format-specific option names of ``fmt`` (its module's ``OPTIONS``)."""
    mod = inspect.getmodule(get(fmt))
    return tuple(getattr(mod, "OPTIONS", ()))


#: Built-in formats: name -> module under ``commlab.importers`` exposing ``convert``.
BUILTIN: dict[str, str] = {
    "stackexchange_xml": "stackexchange_xml",
    "se_180d": "se_csv",
    "snap": "snap",
    "telegram": "telegram",
    "slack": "slack",
    "discord": "discord",
    "discourse": "discourse",
    "wechat": "wechat",
    "qq": "qq",
    "wecom": "wecom",
    "irc": "irc",
    "mapping": "mapping",
}


def _register_builtin() -> None:
    for name, module in BUILTIN.items():
        mod = importlib.import_module(f"commlab.importers.{module}")
        register(name, mod.convert)
        if hasattr(mod, "write_parquet"):
            register_writer(name, mod.write_parquet)


_register_builtin()
