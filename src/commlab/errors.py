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
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "CommlabError",
    "UsageError",
    "DataValidationError",
    "Problem",
    "PlaybookError",
    "ParameterError",
    "NotebookExecutionError",
    "RunLockedError",
    "PrivacyLeakError",
    "PublishError",
]


class CommlabError(Exception):
    """Root of every error commlab raises on purpose."""

    exit_code: int = 1

    def one_line(self) -> str:
        """A single line for the command line."""
        return str(self).splitlines()[0] if str(self) else type(self).__name__


class UsageError(CommlabError):
    """A wrong argument: a missing file, an unknown option value."""

    exit_code = 2


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
    """The input data failed validation; :attr:`problems` lists every problem."""

    exit_code = 3

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = list(problems)
        self.source = source
        head = f"{len(self.problems)} problem(s) in {source or 'the data'}"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))

    def one_line(self) -> str:
        first = str(self.problems[0]).splitlines()[0] if self.problems else ""
        return f"{len(self.problems)} problem(s) in {self.source or 'the data'}; first: {first}"


class PlaybookError(CommlabError):
    """A playbook file is invalid (unknown key, wrong type, missing notebook)."""

    exit_code = 4


class ParameterError(PlaybookError):
    """A parameter is unknown to a notebook or has the wrong type."""

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
    ) -> None:
        self.notebook = notebook
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue
        self.source = source
        self.exec_count = exec_count
        self.run_dir = run_dir
        first = (evalue or "").strip().splitlines()[0] if (evalue or "").strip() else ""
        error = f"{ename}: {first}" if first else ename
        if source:
            count = f" (In [{exec_count}])" if exec_count is not None else ""
            super().__init__(
                f"{source}: cell {cell_index}{count} failed: {error}; executed notebook kept at {notebook}"
            )
        else:
            super().__init__(f"{notebook}: cell {cell_index} failed: {error}")


class RunLockedError(CommlabError):
    """Another run of the same playbook on the same data is running; try again later (or ``--wait``)."""

    exit_code = 6


class PublishError(CommlabError):
    """A run finished but could not be published (``latest`` could not be moved); its manifest says ``failed``."""

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
    """

    exit_code = 7

    def __init__(self, leaks: list[str], *, run_dir: str = "") -> None:
        self.leaks = list(leaks)
        self.run_dir = run_dir
        more = f" (and {len(self.leaks) - 3} more)" if len(self.leaks) > 3 else ""
        super().__init__(
            f"privacy scan failed: {len(self.leaks)} member identit(y/ies) found in shareable files: "
            + "; ".join(self.leaks[:3]) + more + " — the report was not published"
        )
