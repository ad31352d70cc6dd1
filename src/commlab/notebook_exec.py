"""Executing one step's notebook: papermill on a checked kernel, the kernel's output logged, one clear error.

:func:`commlab.runner.run_playbook` runs each step through :func:`execute_step`; every way a notebook
can fail (a cell's exception, a timeout, a dead kernel) becomes one
:class:`~commlab.errors.NotebookExecutionError` naming the cell as the notebook is written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import nbformat

from commlab.errors import CommlabError, NotebookExecutionError, UsageError
from commlab.plan import StepPlan

__all__ = ["DEFAULT_KERNEL", "READY_TAG", "check_kernel", "execute_step", "memory_hint", "source_cell_index",
           "running_cell"]

#: The kernelspec ``make setup`` installs into the virtualenv.
DEFAULT_KERNEL = "commlab"

#: The tag of the cell after which a notebook has stored every run table later steps read
#: (:mod:`commlab.engines.runcache`): once it succeeded, the steps that come ``after`` this one may start.
READY_TAG = "tables-stored"

#: The papermill engine :func:`execute_step` registers and runs with: papermill's own, plus ``on_ready``.
ENGINE = "commlab"


def check_kernel(kernel_name: str) -> None:
    """Raise :class:`UsageError` unless the Jupyter kernelspec ``kernel_name`` is installed."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        hint = (
            "run `make setup` (or `python -m ipykernel install --sys-prefix --name commlab`)"
            if kernel_name == DEFAULT_KERNEL else
            f"install it, or use --kernel {DEFAULT_KERNEL} after `make setup`"
        )
        raise UsageError(f"Jupyter kernel {kernel_name!r} is not installed: {hint}") from None


def source_cell_index(source: Path, executed_index: int) -> int:
    """Map a cell index of the parameterized notebook back to the notebook as written.

    papermill inserts its ``injected-parameters`` cell after the cell tagged
    ``parameters`` (or first, if there is none).
    """
    try:
        nb = nbformat.read(str(source), as_version=4)
    except Exception:  # noqa: BLE001 - best effort; the executed index is still meaningful
        return executed_index
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    injected_at = tagged[0] + 1 if tagged else 0
    return executed_index - 1 if executed_index > injected_at else executed_index


def running_cell(executed: Path) -> tuple[int, int | None]:
    """Index and execution count of the cell execution stopped in, else (-1, None).

    That is the cell papermill marked running or failed or, after a timeout
    (which papermill marks completed), the last cell that was started.
    """
    try:
        nb = nbformat.read(str(executed), as_version=4)
    except Exception:  # noqa: BLE001
        return -1, None
    last = -1
    for i, cell in enumerate(nb.cells):
        pm = cell.get("metadata", {}).get("papermill", {})
        if pm.get("status") == "running" or pm.get("exception") is True:
            return i, cell.get("execution_count")
        if pm.get("start_time"):
            last = i
    return last, (nb.cells[last].get("execution_count") if last >= 0 else None)


def memory_hint(ename: str, evalue: str, parameters: dict[str, Any]) -> str:
    """The setting to raise when a step ran out of memory, else "".

    DuckDB stops a query above its ``memory_limit`` (``OutOfMemoryException``: in a playbook run every
    DuckDB step is bounded, :data:`commlab.engines.duck.PLAYBOOK_MEMORY_LIMIT` by default); Spark's driver
    stops with ``java.lang.OutOfMemoryError``.

    Examples
    --------
    >>> memory_hint("OutOfMemoryException", "Out of Memory Error: could not allocate block",
    ...             {"engine_options": {"memory_limit": "1250MB"}})  # doctest: +ELLIPSIS
    'DuckDB ran out of its memory bound (memory_limit 1250MB): raise it for this step ...'
    >>> memory_hint("KeyError", "'members'", {})
    ''
    """
    text = f"{ename} {evalue}"
    if "OutOfMemoryException" in ename or "Out of Memory Error" in evalue:
        options = parameters.get("engine_options") or {}
        limit = options.get("memory_limit") if isinstance(options, dict) else None
        now = f" (memory_limit {limit})" if limit else ""
        return (f"DuckDB ran out of its memory bound{now}: raise it for this step in the playbook "
                "(parameters: {engine_options: {memory_limit: 4GB}}) or for every step with "
                "-p engine_options '{\"memory_limit\": \"4GB\"}'; above the bound DuckDB spills to "
                "temp_directory (docs/SCALE.md)")
    if "java.lang.OutOfMemoryError" in text:
        return ("Spark's JVM ran out of heap: raise driver_memory (spark.driver.memory) or executor_memory in the "
                "playbook's engine section (docs/SCALE.md)")
    return ""


def _kernel_manager_logging_to(log: Any, env: Mapping[str, str] | None = None,
                               on_kernel: Callable[[int], None] | None = None) -> type:
    """A kernel manager class whose kernel process writes its stdout/stderr to the open file ``log``.

    Kernel-side chatter (start-up warnings, shutdown noise) then lands in the
    run folder instead of the terminal of a user or a scheduler. ``env`` is added to the environment
    the kernel starts with; ``on_kernel`` is called with the kernel's process id once it runs.
    """
    from jupyter_client.manager import AsyncKernelManager

    class _LoggedKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            kw.setdefault("stdout", log)
            kw.setdefault("stderr", log)
            if env:
                kw["env"] = {**kw.get("env", {}), **env}
            await super()._async_launch_kernel(kernel_cmd, **kw)
            pid = getattr(self.provisioner, "pid", None)
            if on_kernel is not None and pid is not None:
                on_kernel(pid)

    return _LoggedKernelManager


def _call_after_tagged_cell(nb_man: Any, on_ready: Callable[[], None]) -> None:
    """Make papermill's execution manager ``nb_man`` call ``on_ready`` once the first cell tagged
    :data:`READY_TAG` succeeded, as the cell after it starts: papermill starts the next cell only when
    the cell did not fail (its ``cell_complete`` runs after a failed or timed-out cell too). A tagged last
    cell calls nothing: the step's success says it."""
    tagged = [i for i, cell in enumerate(nb_man.nb.cells) if READY_TAG in cell.metadata.get("tags", ())]
    if not tagged:
        return
    sent = False
    cell_start = nb_man.cell_start

    def start(cell: Any, cell_index: int | None = None, **kwargs: Any) -> Any:
        nonlocal sent
        if not sent and cell_index is not None and cell_index > tagged[0]:
            sent = True
            on_ready()
        return cell_start(cell, cell_index, **kwargs)

    nb_man.cell_start = start


def _register_engine() -> None:
    """Register :data:`ENGINE` with papermill: its nbclient engine, taking an ``on_ready`` callable too."""
    from papermill.engines import NBClientEngine, papermill_engines

    class _Engine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, on_ready: Callable[[], None] | None = None,
                                     **kwargs: Any) -> Any:
            if on_ready is not None:
                _call_after_tagged_cell(nb_man, on_ready)
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    papermill_engines.register(ENGINE, _Engine)


def execute_step(plan: StepPlan, executed: Path, parameters: dict[str, Any], *, kernel_name: str,
                 timeout: float | None, cwd: Path, run_dir: Path, kernel_env: Mapping[str, str] | None = None,
                 on_kernel: Callable[[int], None] | None = None, on_ready: Callable[[], None] | None = None) -> None:
    """Execute a step's notebook with papermill into ``executed``; the kernel's output goes to its ``.kernel.log``.

    ``kernel_env`` is added to the kernel's environment (else it inherits this process's); ``on_kernel``
    is called with the kernel's process id once it runs (:mod:`commlab.step_pool` stops it with it);
    ``on_ready`` once the notebook's first cell tagged :data:`READY_TAG` succeeded (never, without one).

    Raises
    ------
    NotebookExecutionError
        If a cell fails, times out or the kernel dies: the cell named as the notebook is written
        (papermill's injected cell not counted), with the error and the run folder.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    pm_log = logging.getLogger("papermill")
    level = pm_log.level
    # Parameters are checked already (its "unknown parameter" warnings mislead) and every failure
    # becomes one NotebookExecutionError; papermill's own log lines would only repeat it.
    pm_log.setLevel(logging.CRITICAL)
    _register_engine()
    kernel_log = open(executed.with_suffix(".kernel.log"), "ab")  # noqa: SIM115 - closed in finally
    try:
        papermill.execute_notebook(
            str(plan.notebook), str(executed), parameters=parameters,
            kernel_name=kernel_name, execution_timeout=timeout, cwd=str(cwd), engine_name=ENGINE, on_ready=on_ready,
            progress_bar=False, log_output=False, request_save_on_cell_execute=True,
            kernel_manager_class=_kernel_manager_logging_to(kernel_log, kernel_env, on_kernel),
        )
    except PapermillExecutionError as exc:
        raise NotebookExecutionError(
            str(executed), source_cell_index(plan.notebook, exc.cell_index), exc.ename, exc.evalue,
            source=str(plan.notebook), exec_count=exc.exec_count, run_dir=str(run_dir),
            hint=memory_hint(exc.ename, exc.evalue, parameters),
        ) from None
    except CommlabError:
        raise
    except Exception as exc:  # noqa: BLE001 - a timeout, a dead kernel: the notebook did not finish
        index, count = running_cell(executed)
        if index >= 0:
            index = source_cell_index(plan.notebook, index)
        evalue = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        hint = ""
        if type(exc).__name__ == "CellTimeoutError":
            evalue = f"cell still running after {timeout:g} s (raise --timeout)"
        elif type(exc).__name__ == "DeadKernelError":
            hint = ("a kernel that dies mid-cell was most often killed by the system for its memory (see `dmesg`): "
                    "lower the step's engine_options memory_limit, or run on a machine with more memory")
        raise NotebookExecutionError(
            str(executed), index, type(exc).__name__, evalue,
            source=str(plan.notebook), exec_count=count, run_dir=str(run_dir), hint=hint,
        ) from exc
    finally:
        pm_log.setLevel(level)
        kernel_log.close()
