"""The commlab exception tree.

One root, :class:`CommlabError`; each subclass carries the facts a user
needs to act on it and the exit code the command line returns for it.

Exit codes (documented in the README, stable for cron and Airflow):

====  ===========================================================
0     success
1     unexpected internal error (a bug: please report it)
2     usage error (bad command-line arguments or parameters)
3     bad data (the input failed validation)
4     bad playbook (the playbook file is invalid)
5     a notebook failed while executing
6     another run holds the lock for this playbook
7     the privacy scan found a member identity in a shareable file
====  ===========================================================

Where callers expect a built-in exception, a class also derives from it (``EngineNotFound`` is a
``KeyError``, ``InvalidArgument`` a ``ValueError``, ``MissingDependency`` an ``ImportError``), and the
estimators' errors and warnings derive from scikit-learn's (``NotFittedError``,
``ConvergenceWarning``), so existing ``except`` clauses and scikit-learn tooling keep working.

Warnings users should see derive from :class:`CommlabWarning`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CommlabError",
    "UsageError",
    "InvalidArgument",
    "InvalidType",
    "NotFound",
    "EngineNotFound",
    "MetricNotFound",
    "MissingDependency",
    "TranspileError",
    "DataValidationError",
    "Problem",
    "SourceFormatError",
    "ImportFormatError",
    "MalformedFile",
    "PlaybookError",
    "ParameterError",
    "NotebookExecutionError",
    "RunLockedError",
    "PrivacyLeakError",
    "PublishError",
    "import_optional",
    "NotFittedError",  # noqa: F822 (defined on first use: see __getattr__ below)
    "CommlabWarning",
    "ConvergenceWarning",  # noqa: F822
]


class CommlabError(Exception):
    """Root of every error commlab raises on purpose.

    ``exit_code`` is what the command line returns for it; :meth:`one_line` is its message there.

    Examples
    --------
    >>> import commlab as cl
    >>> try:
    ...     cl.load_dataset("no/such/folder")
    ... except cl.CommlabError as exc:
    ...     print(type(exc).__name__, exc.exit_code)
    UsageError 2
    """

    exit_code: int = 1

    def one_line(self) -> str:
        """A single line for the command line."""
        return str(self).splitlines()[0] if str(self) else type(self).__name__


class UsageError(CommlabError):
    """A wrong argument: a missing file, an unknown option value.

    Examples
    --------
    >>> import commlab as cl
    >>> try:
    ...     cl.load_dataset("no/such/folder")
    ... except cl.UsageError as exc:
    ...     print(exc.exit_code, "no/such/folder" in str(exc))
    2 True
    """

    exit_code = 2


class InvalidArgument(UsageError, ValueError):
    """A function was called with a value it cannot use (a naive ``as_of``, an unknown ``period``).

    Also a :class:`ValueError`, as Python callers expect of a bad argument value.

    Examples
    --------
    >>> import commlab as cl
    >>> try:
    ...     cl.BetaGeoModel().fit([1], [5], [3])  # recency after the end of the history
    ... except cl.InvalidArgument as exc:
    ...     print(exc)
    need frequency >= 0 and 0 <= recency <= T
    """


class InvalidType(UsageError, TypeError):
    """A function was given an object of a kind it cannot use (also a :class:`TypeError`).

    Examples
    --------
    >>> import commlab as cl
    >>> try:
    ...     cl.compute_metrics("data/samples", as_of="2024-06-30")  # a path, not a Dataset
    ... except cl.InvalidType as exc:
    ...     print(exc)
    expected a Dataset, Tables or a mapping of tables, got str
    """


class NotFound(UsageError, KeyError):
    """A name is not among the known ones (an engine, a metric, an axis, a community); also a :class:`KeyError`.

    Attributes
    ----------
    name : str
        The name asked for.
    known : tuple of str
        The names that exist.

    Examples
    --------
    >>> exc = NotFound("c99", ["c01", "c02"], kind="community")
    >>> print(exc)
    unknown community 'c99'; known: c01, c02
    >>> isinstance(exc, KeyError), exc.known
    (True, ('c01', 'c02'))
    """

    kind = "name"

    def __init__(self, name: str, known: Iterable[str], *, kind: str | None = None) -> None:
        self.name = name
        self.known = tuple(str(k) for k in known)
        self.kind = kind or type(self).kind
        super().__init__(f"unknown {self.kind} {name!r}; known: {', '.join(self.known)}")

    def __str__(self) -> str:  # KeyError's own __str__ would quote the message
        return str(self.args[0]) if self.args else ""


class EngineNotFound(NotFound):
    """No engine is registered under the name asked for (:func:`commlab.engines.get_engine`).

    Attributes
    ----------
    name : str
        The name asked for.
    known : tuple of str
        The registered engines.

    Examples
    --------
    >>> from commlab.engines import get_engine
    >>> try:
    ...     get_engine("duck")
    ... except EngineNotFound as exc:
    ...     print(exc, "|", exc.known)
    unknown engine 'duck'; known: duckdb, spark | ('duckdb', 'spark')
    """

    kind = "engine"


class MetricNotFound(NotFound):
    """No metric is registered under the id asked for (:func:`commlab.analysis.metrics.get_metric`).

    Attributes
    ----------
    name : str
        The id asked for.
    known : tuple of str
        The registered metric ids.

    Examples
    --------
    >>> from commlab.analysis.metrics import get_metric
    >>> try:
    ...     get_metric("retention_31d")
    ... except MetricNotFound as exc:
    ...     print(exc.name, "retention_30d" in exc.known)
    retention_31d True
    """

    kind = "metric"


class MissingDependency(UsageError, ImportError):
    """An optional package a feature needs is not installed; the message names the extra to install.

    Attributes
    ----------
    packages : tuple of str
        The missing import names (e.g. ``("pyspark",)``).
    extra : str
        The pip extra of commlab that installs them (``pip install 'commlab[extra]'``).

    Examples
    --------
    >>> exc = MissingDependency("engine 'spark'", ["pyspark"], "spark")
    >>> print(exc)
    engine 'spark' needs pyspark, which is not installed here: pip install 'commlab[spark]'
    """

    def __init__(self, what: str, packages: Iterable[str], extra: str, *, hint: str = "") -> None:
        self.packages = tuple(packages)
        self.extra = extra
        msg = (f"{what} needs {', '.join(self.packages)}, which is not installed here: "
               f"pip install 'commlab[{extra}]'" + (f"{hint}" if hint else ""))
        super().__init__(msg, name=self.packages[0] if self.packages else None)


class TranspileError(CommlabError, ValueError):
    """The SQL of a metric could not be written for another dialect by sqlglot; ``sql`` keeps the source text.

    Raised by :func:`commlab.engines.transpile.to_dialect`, for example when a metric registered with
    DuckDB-only syntax is run on Spark.

    Attributes
    ----------
    sql : str
        The DuckDB statement that could not be written.

    Examples
    --------
    >>> exc = TranspileError("cannot read this DuckDB SQL", "SELEC 1")
    >>> exc.sql, isinstance(exc, ValueError)
    ('SELEC 1', True)
    """

    def __init__(self, message: str, sql: str) -> None:
        super().__init__(message)
        self.sql = sql


@dataclass
class Problem:
    """One validation problem, with everything needed to fix it.

    Attributes
    ----------
    file : str
        The file (or table) the problem was found in.
    column : str
        The column at fault ("" for a whole-table problem).
    check : str
        Short name of the failed check, for example ``"unknown event_type"``.
    rows : list
        The first offending row numbers (1-based data rows, as a spreadsheet shows them
        after the header line).
    values : list
        The offending values at those rows.
    count : int
        How many rows fail in total.
    fix : str
        What to do about it.

    Examples
    --------
    >>> print(Problem("events.csv", "event_type", "unknown event_type", rows=[3], values=["like"], count=1,
    ...               fix="use one of the codes of `commlab schema`"))
    events.csv, column 'event_type': unknown event_type [1 row(s)] — row 3: 'like'
        fix: use one of the codes of `commlab schema`
    """

    file: str
    column: str
    check: str
    rows: list = field(default_factory=list)
    values: list = field(default_factory=list)
    count: int = 0
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.file}" + (f", column '{self.column}'" if self.column else "")
        first = ""
        if self.rows:
            pairs = ", ".join(
                f"row {r}: {v!r}" if i < len(self.values) else f"row {r}"
                for i, (r, v) in enumerate(zip(self.rows, self.values + [None] * len(self.rows), strict=False))
            )
            more = f" (and {self.count - len(self.rows)} more)" if self.count > len(self.rows) else ""
            first = f" — {pairs}{more}"
        elif self.values:
            first = " — " + ", ".join(repr(v) for v in self.values)
        fix = f"\n    fix: {self.fix}" if self.fix else ""
        count = f" [{self.count} row(s)]" if self.count else ""
        return f"{where}: {self.check}{count}{first}{fix}"


class DataValidationError(CommlabError):
    """The input data failed validation; :attr:`problems` lists every problem.

    Examples
    --------
    >>> exc = DataValidationError([Problem("members.csv", "member_id", "duplicate id", rows=[7], count=1)],
    ...                           source="data/client")
    >>> exc.exit_code, exc.one_line()
    (3, "1 problem(s) in data/client; first: members.csv, column 'member_id': duplicate id [1 row(s)] — row 7")
    """

    exit_code = 3

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = list(problems)
        self.source = source
        head = f"{len(self.problems)} problem(s) in {source or 'the data'}"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))

    def one_line(self) -> str:
        first = str(self.problems[0]).splitlines()[0] if self.problems else ""
        return f"{len(self.problems)} problem(s) in {self.source or 'the data'}; first: {first}"


class SourceFormatError(CommlabError):
    """A source file is not in the layout its reader expects (an export in another format, a missing part).

    Importers raise its subclass :class:`ImportFormatError`, which names the file, the record, the
    field, what is wrong and the fix.

    Examples
    --------
    >>> issubclass(ImportFormatError, SourceFormatError), ImportFormatError.exit_code
    (True, 3)
    """

    exit_code = 3


class ImportFormatError(SourceFormatError):
    """A source file is not in the layout its importer expects.

    Attributes
    ----------
    file : str
        The file (or folder) at fault.
    what : str
        What is wrong with it.
    fix : str
        What to do about it (may be empty).
    record : str or None
        The record at fault, as the file shows it (``line 12``, ``row 5``, ``message 1213...``,
        ``row element 7``), when one is.
    field : str or None
        The field, column or attribute at fault, when one is.

    The message reads ``<file>: <record>, field '<field>': <what>`` on its first line (the
    command line prints that line), then the fix.

    Examples
    --------
    >>> exc = ImportFormatError("result.json", "not a Telegram export", "export the chat as JSON", record="line 1")
    >>> exc.one_line(), exc.exit_code
    ('result.json: line 1: not a Telegram export', 3)
    """

    exit_code = 3

    def __init__(self, file: str | os.PathLike[str], what: str, fix: str = "", *, record: str | None = None,
                 field: str | None = None) -> None:
        self.file = str(file)
        self.what = what
        self.fix = fix
        self.record = record
        self.field = field
        where = ", ".join(x for x in (record, f"field '{field}'" if field else None) if x)
        msg = f"{self.file}: {where + ': ' if where else ''}{what}"
        if fix:
            msg += f"\n    fix: {fix}"
        super().__init__(msg)



class MalformedFile(SourceFormatError, ValueError):
    """A data file is not well-formed: a CSV row cut short, or with more fields than the header; also a ``ValueError``.

    Attributes
    ----------
    what : str
        What is wrong.
    file : str
        The file ("" when the caller names it).
    row : int or None
        The row, numbered as a spreadsheet shows it (the header is row 1).
    fix : str
        How to fix it.

    Examples
    --------
    >>> exc = MalformedFile("it has 2 of the header's 3 fields and no line end", file="events.csv", row=10,
    ...                     fix="export it again")
    >>> print(exc)
    events.csv, row 10: it has 2 of the header's 3 fields and no line end; fix: export it again
    >>> isinstance(exc, ValueError), exc.exit_code
    (True, 3)
    """

    def __init__(self, what: str, *, file: str = "", row: int | None = None, fix: str = "") -> None:
        self.what, self.file, self.row, self.fix = what, file, row, fix
        where = ", ".join(p for p in (file, "" if row is None else f"row {row}") if p)
        super().__init__((f"{where}: " if where else "") + what + (f"; fix: {fix}" if fix else ""))


class PlaybookError(CommlabError):
    """A playbook file is invalid (unknown key, wrong type, missing notebook).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from commlab.playbook import load_playbook
    >>> bad = Path(tempfile.mkdtemp()) / "bad.yaml"
    >>> _ = bad.write_text("name: bad", encoding="utf-8")  # no steps
    >>> try:
    ...     load_playbook(bad)
    ... except PlaybookError as exc:
    ...     print(exc.exit_code, "steps" in str(exc))
    4 True
    """

    exit_code = 4


class ParameterError(PlaybookError):
    """A parameter is unknown to a notebook or has the wrong type.

    Examples
    --------
    >>> issubclass(ParameterError, PlaybookError), ParameterError.exit_code
    (True, 4)
    """

    exit_code = 4


class NotebookExecutionError(CommlabError):
    """A notebook failed while executing.

    Attributes
    ----------
    notebook : str
        Path of the executed (failed) notebook, kept for inspection.
    cell_index : int
        Index of the failing cell (0-based; in ``source`` when that is given,
        else in ``notebook``; -1 if unknown).
    ename, evalue : str
        Exception name and value raised in the kernel.
    source : str
        The notebook as written (the one to fix), or "".
    exec_count : int or None
        Execution count of the failing cell (``In [n]`` in the executed notebook).
    run_dir : str
        The run folder holding the failed run, or "".
    hint : str
        What to change to get past the failure (e.g. the setting to raise after running out of
        memory), or "".

    Examples
    --------
    >>> exc = NotebookExecutionError("runs/demo/x/02.ipynb", 7, "KeyError", "'members'",
    ...                              source="notebooks/02_member_segments.ipynb", exec_count=8)
    >>> print(exc)
    notebooks/02_member_segments.ipynb: cell 7 (In [8]) failed: KeyError: 'members'; executed notebook kept at ...
    """

    exit_code = 5

    def __init__(
        self,
        notebook: str,
        cell_index: int,
        ename: str,
        evalue: str,
        *,
        source: str = "",
        exec_count: int | None = None,
        run_dir: str = "",
        hint: str = "",
    ) -> None:
        self.notebook = notebook
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue
        self.source = source
        self.exec_count = exec_count
        self.run_dir = run_dir
        self.hint = hint
        first = (evalue or "").strip().splitlines()[0] if (evalue or "").strip() else ""
        error = f"{ename}: {first}" if first else ename
        fix = f"; {hint}" if hint else ""
        if source:
            count = f" (In [{exec_count}])" if exec_count is not None else ""
            super().__init__(
                f"{source}: cell {cell_index}{count} failed: {error}; executed notebook kept at {notebook}{fix}"
            )
        else:
            super().__init__(f"{notebook}: cell {cell_index} failed: {error}{fix}")

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with its fields (a step run in its own process sends its failure to the runner)."""
        return (_notebook_execution_error, (self.notebook, self.cell_index, self.ename, self.evalue, self.source,
                                            self.exec_count, self.run_dir, self.hint))


def _notebook_execution_error(notebook: str, cell_index: int, ename: str, evalue: str, source: str,
                              exec_count: int | None, run_dir: str, hint: str) -> NotebookExecutionError:
    return NotebookExecutionError(notebook, cell_index, ename, evalue, source=source, exec_count=exec_count,
                                  run_dir=run_dir, hint=hint)


class RunLockedError(CommlabError):
    """Another run of the same playbook on the same data is running; try again later (or ``--wait``).

    Examples
    --------
    >>> RunLockedError("runs/demo is locked by another run").exit_code
    6
    """

    exit_code = 6


class PublishError(CommlabError):
    """A run finished but could not be published (``latest`` could not be moved); its manifest says ``failed``.

    Examples
    --------
    >>> PublishError("runs/demo/latest could not be moved").exit_code
    1
    """

    exit_code = 1


class PrivacyLeakError(CommlabError):
    """A file meant for sharing (``report.html``, ``summary.json``) contains a member identity.

    The run is marked failed and ``latest`` is not moved. The message names the file and the kind
    of identity (member id or display name) and a masked form of it, never the identity itself.

    Attributes
    ----------
    leaks : list of str
        One masked description per leak found.
    run_dir : str
        The run folder holding the failed run.
    fix : str
        How to fix it, when the runner can tell (a member's name inside a community name), else "".

    Examples
    --------
    >>> exc = PrivacyLeakError(["report.html: member id m0…12"], run_dir="runs/demo/x")
    >>> exc.exit_code, exc.leaks
    (7, ['report.html: member id m0…12'])
    """

    exit_code = 7

    def __init__(self, leaks: list[str], *, run_dir: str = "", fix: str = "") -> None:
        self.leaks = list(leaks)
        self.run_dir = run_dir
        more = f" (and {len(self.leaks) - 3} more)" if len(self.leaks) > 3 else ""
        super().__init__(
            f"privacy scan failed: {len(self.leaks)} member identit(y/ies) found in shareable files: "
            + "; ".join(self.leaks[:3]) + more + " — the report was not published" + (f"; fix: {fix}" if fix else "")
        )


class CommlabWarning(UserWarning):
    """Root of the warnings commlab gives when a result should be read with care.

    Filter them as a group with ``warnings.simplefilter("ignore", commlab.CommlabWarning)``.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("few members", CommlabWarning)
    >>> caught[0].category.__name__
    'CommlabWarning'
    """


def import_optional(module: str, *, extra: str, what: str) -> Any:
    """Import the optional ``module``, or raise :class:`MissingDependency` naming the extra that installs it.

    Parameters
    ----------
    module : str
        The module to import (e.g. ``"pyspark.sql"``); its top-level package is named in the error.
    extra : str
        The pip extra of commlab that installs it (``"spark"``).
    what : str
        What needs it, for the message (``"the Spark engine"``).

    Returns
    -------
    module

    Raises
    ------
    MissingDependency
        When the package is not installed.

    Examples
    --------
    >>> import_optional("json", extra="none", what="this example").__name__
    'json'
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.split(".")[0]
        if exc.name is not None and exc.name.split(".")[0] != top:
            raise  # the package is there but something it imports is not: not ours to rename
        raise MissingDependency(what, [top], extra) from None


def __getattr__(name: str) -> Any:
    """``NotFittedError`` and ``ConvergenceWarning`` derive from scikit-learn's: defined on first use.

    Importing scikit-learn takes about a second, which ``import commlab.errors`` (the command line's
    start) should not pay; :mod:`commlab._sklearn_errors` holds them.
    """
    if name in ("NotFittedError", "ConvergenceWarning"):
        from commlab import _sklearn_errors

        return getattr(_sklearn_errors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
