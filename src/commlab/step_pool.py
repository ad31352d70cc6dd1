"""Steps of a playbook run at once: each step's notebook in a process of its own, as the steps' ``after`` allow.

A playbook with ``jobs`` above 1 (:class:`commlab.playbook.Playbook`) runs a step as soon as the steps it
comes ``after`` have succeeded, at most ``jobs`` at a time. The runner (:func:`commlab.runner.run_playbook`)
keeps the manifest; this module only starts, watches and stops the processes:

- each step runs :func:`commlab.notebook_exec.execute_step` in a Python process of its own (papermill changes
  the working folder of its process, so two steps cannot share one), started afresh rather than forked or
  spawned by :mod:`multiprocessing` (which would import the caller's main script again), and sends back
  ``ok`` or its error on a pipe; while steps run, the process of the next step is started ahead and
  imports what it runs with (≈ 1 s), then waits for its step's arguments;
- when a step fails, the steps still running are stopped (SIGTERM, which papermill unwinds, shutting its
  kernel down; after :data:`STOP_GRACE_S` seconds the process and its kernel are killed), the steps not
  started stay ``pending``, and the failing step's error is raised;
- Ctrl-C or SIGTERM of the runner stops every running step the same way before it goes on.

A step whose notebook tags a cell :data:`~commlab.notebook_exec.READY_TAG` ("its run tables are stored")
lets the steps that come ``after`` it start once that cell succeeded, without waiting for its last cells
(figures and small tables no later step reads); from then on it no longer counts against ``jobs``. A step
reading every earlier step's folder (``prev_output_dirs``) still waits for their success. If the step
fails later, the steps started early are stopped with the others.

Of the steps ready to start, the one heading the longest chain of steps still to run starts first
(:func:`step_ranks`: by the seconds each step took in the previous run of the playbook on the same data
when the runner knows them all, else by counting steps), then playbook order.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from commlab.errors import NotebookExecutionError
from commlab.notebook_exec import execute_step
from commlab.plan import StepPlan

__all__ = ["STOP_GRACE_S", "StepStart", "run_steps_at_once", "step_needs", "step_ranks"]

logger = logging.getLogger(__name__)

#: Seconds a stopped step gets to shut its kernel down before it is killed.
STOP_GRACE_S = 30.0


@dataclass(frozen=True)
class StepStart:
    """What a step runs with, given by the runner as the step starts.

    Attributes
    ----------
    executed : Path
        Where the executed notebook is written.
    parameters : dict
        The notebook's parameters.
    cwd : Path
        The kernel's working folder (the step's output folder).
    """

    executed: Path
    parameters: dict[str, Any]
    cwd: Path


def step_needs(plans: list[StepPlan]) -> dict[str, list[str]]:
    """The steps each step waits for: its ``after``, or every earlier step.

    A step without ``after``, or one declaring ``prev_output_dirs`` (it reads every earlier step's
    folder), waits for every earlier step; names of steps not in ``plans`` are left out.

    Examples
    --------
    >>> from commlab.playbook import Step
    >>> from commlab.plan import StepPlan
    >>> plans = [StepPlan(Step(notebook="a.ipynb"), {}), StepPlan(Step(notebook="b.ipynb", after=[]), {}),
    ...          StepPlan(Step(notebook="c.ipynb", after=["a"]), {}), StepPlan(Step(notebook="d.ipynb"), {})]
    >>> step_needs(plans)
    {'a': [], 'b': [], 'c': ['a'], 'd': ['a', 'b', 'c']}
    """
    names = [p.name for p in plans]
    needs: dict[str, list[str]] = {}
    for i, plan in enumerate(plans):
        earlier = names[:i]
        after = plan.step.after
        if after is None or "prev_output_dirs" in plan.declared:
            needs[plan.name] = earlier
        else:
            needs[plan.name] = [n for n in earlier if n in after]
    return needs


def _early(plan: StepPlan) -> bool:
    """Whether ``plan`` may start once the steps it needs stored their tables (else: once they succeeded)."""
    return plan.step.after is not None and "prev_output_dirs" not in plan.declared


def step_ranks(needs: Mapping[str, list[str]], seconds: Mapping[str, float] | None = None) -> dict[str, float]:
    """Each step's longest chain to the end of the run: its own time plus the longest of the steps needing it.

    Parameters
    ----------
    needs : mapping
        :func:`step_needs`, in playbook order.
    seconds : mapping, optional
        How long each step takes (the previous run's); used only when it names every step, else each
        step counts 1.

    Examples
    --------
    >>> needs = {"a": [], "b": [], "c": ["a"], "d": ["a"]}
    >>> step_ranks(needs)
    {'a': 2.0, 'b': 1.0, 'c': 1.0, 'd': 1.0}
    >>> step_ranks(needs, {"a": 90, "b": 70, "c": 7, "d": 17})
    {'a': 107.0, 'b': 70.0, 'c': 7.0, 'd': 17.0}
    """
    known = seconds is not None and all(name in seconds for name in needs)
    rank: dict[str, float] = {}
    for name in reversed(list(needs)):  # a step needs earlier steps only
        own = float(seconds[name]) if known and seconds is not None else 1.0
        rank[name] = own + max((rank[m] for m, deps in needs.items() if name in deps), default=0.0)
    return {name: rank[name] for name in needs}


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _step_process(plan: StepPlan, start: StepStart, kernel_name: str, timeout: float | None, run_dir: Path,
                  kernel_env: dict[str, str], conn: Connection) -> None:
    """A step's process: execute the notebook, send ``("kernel", pid)`` once it runs, ``("ready", None)``
    once its cell tagged :data:`~commlab.notebook_exec.READY_TAG` succeeded, then ``("ok", None)`` or
    ``("error", exc)``."""
    try:
        execute_step(plan, start.executed, start.parameters, kernel_name=kernel_name, timeout=timeout,
                     cwd=start.cwd, run_dir=run_dir, kernel_env=kernel_env,
                     on_kernel=lambda pid: conn.send(("kernel", pid)), on_ready=lambda: conn.send(("ready", None)))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the runner
        conn.send(("error", _sendable(exc, plan, start, run_dir)))
    else:
        conn.send(("ok", None))
    finally:
        conn.close()


#: What a step's process runs: the IRI grammar skipped before the step's modules import nbformat
#: (:mod:`commlab.startup`), then :func:`_main`.
_STEP_MAIN = ("from commlab.startup import skip_iri_grammar; skip_iri_grammar(); "
              "from commlab.step_pool import _main; _main()")


def _main() -> None:
    """Entry of a step's process: its arguments pickled on stdin, the pipe's descriptor as ``argv[1]``.

    The process may be started before its step (:class:`_Spare`): it imports what a step runs with, then
    waits for its arguments; end of input (the run needs no further step) ends it quietly.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the runner, which stops the steps
    signal.signal(signal.SIGTERM, _on_sigterm)  # unwinds papermill, which shuts the kernel down
    import nbclient  # noqa: F401 - imported while the process waits for its step
    import papermill  # noqa: F401

    try:
        args = pickle.load(sys.stdin.buffer)
    except EOFError:
        return
    _step_process(*args, conn=Connection(int(sys.argv[1]), readable=False))


class _Spare:
    """A step's process started ahead of its step, its imports done while earlier steps run (≈ 1 s a step)."""

    def __init__(self) -> None:
        read, write = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _STEP_MAIN, str(write)],
                stdin=subprocess.PIPE, pass_fds=(write,),
            )
        except BaseException:
            os.close(read)
            raise
        finally:
            os.close(write)
        self.conn = Connection(read, writable=False)

    def take(self, args: tuple[Any, ...], name: str) -> tuple[subprocess.Popen[bytes], Connection]:
        """Give the process its step's arguments; the process and the end of its pipe the runner reads."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(pickle.dumps(args))
            self.process.stdin.close()
        except BrokenPipeError:  # it died at start: its pipe says so (EOF)
            pass
        logger.debug("step %s: process %d", name, self.process.pid)
        return self.process, self.conn

    def close(self) -> None:
        """End the unused process (end of its input) and close its pipe."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.close()
            self.process.wait(STOP_GRACE_S)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self.conn.close()


def _sendable(exc: BaseException, plan: StepPlan, start: StepStart, run_dir: Path) -> BaseException:
    """``exc`` if it pickles, else a :class:`NotebookExecutionError` naming it."""
    try:
        pickle.dumps(exc)
    except Exception:  # noqa: BLE001
        return NotebookExecutionError(str(start.executed), -1, type(exc).__name__, str(exc),
                                      source=str(plan.notebook), run_dir=str(run_dir))
    return exc


@dataclass
class _Running:
    plan: StepPlan
    start: StepStart
    process: Any
    conn: Connection
    kernel: int | None = None
    ready: bool = False  # past its tagged cell: its tables are stored


def _kill_kernel(pid: int | None) -> None:
    """Kill a kernel (it leads a process group of its own) and what it started, if it still runs."""
    if pid is None:
        return
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
            return
        except (ProcessLookupError, PermissionError):
            continue


def _stop(running: dict[str, _Running], stopped: Callable[[StepPlan, str], None], status: str) -> None:
    """Stop every running step (SIGTERM, then SIGKILL with its kernel after the grace), each ``stopped``."""
    for r in running.values():
        r.process.terminate()
    for r in running.values():
        try:
            r.process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            r.process.kill()
            r.process.wait()
        while True:  # the kernel's pid may have come late
            try:
                if not r.conn.poll():
                    break
                kind, value = r.conn.recv()
            except (EOFError, OSError):
                break
            if kind == "kernel":
                r.kernel = value
        r.conn.close()
        if r.process.returncode != 0:
            _kill_kernel(r.kernel)  # a killed process left its kernel; one that unwound had shut it down
        stopped(r.plan, status)
    running.clear()


def run_steps_at_once(plans: list[StepPlan], *, jobs: int, start: Callable[[StepPlan], StepStart],
                      done: Callable[[StepPlan, int | None], None], stopped: Callable[[StepPlan, str], None],
                      kernel_name: str, timeout: float | None, run_dir: Path,
                      kernel_env: Mapping[str, str], seconds: Mapping[str, float] | None = None) -> None:
    """Run the steps, at most ``jobs`` at once, each when the steps it needs (:func:`step_needs`) succeeded
    or stored their tables (see the module's description).

    Parameters
    ----------
    plans : list of StepPlan
        The steps, in playbook order.
    jobs : int
        How many steps may run at once.
    start : callable
        Called as a step starts (in this process): prepares its folder and record, returns its
        :class:`StepStart`.
    done : callable
        Called when a step succeeded, with its kernel's process id (to find the tables it logged).
    stopped : callable
        Called for a step that failed (``"failed"``) or was stopped (``"interrupted"``).
    kernel_name, timeout, run_dir
        As for :func:`commlab.notebook_exec.execute_step`.
    kernel_env : mapping
        Environment variables for every kernel (the pseudonym key, the run's data cache).
    seconds : mapping, optional
        How long each step took in the previous run: which ready step starts first (:func:`step_ranks`).

    Raises
    ------
    NotebookExecutionError
        The first step's failure (the other running steps are stopped first).
    KeyboardInterrupt, SystemExit
        When the runner is interrupted (every running step is stopped first).
    """
    needs = step_needs(plans)
    order = {p.name: i for i, p in enumerate(plans)}
    rank = step_ranks(needs, seconds)
    todo = list(plans)
    succeeded: set[str] = set()
    stored: set[str] = set()  # running steps past their tagged cell
    running: dict[str, _Running] = {}
    spare: _Spare | None = None
    try:
        while todo or running:
            ready = sorted((p for p in todo if set(needs[p.name]) <= succeeded | (stored if _early(p) else set())),
                           key=lambda p: (-rank[p.name], order[p.name]))
            busy = sum(not r.ready for r in running.values())
            for plan in ready[:max(jobs - busy, 0)]:
                todo.remove(plan)
                given = start(plan)
                process, receive = (spare or _Spare()).take(
                    (plan, given, kernel_name, timeout, run_dir, dict(kernel_env)), plan.name)
                running[plan.name] = _Running(plan, given, process, receive)
                spare = _Spare() if todo else None
            if not running:  # nothing runs and nothing can start: cannot happen with earlier-only `after`
                raise RuntimeError(f"steps {[p.name for p in todo]} wait for steps that never ran")
            for conn in wait([r.conn for r in running.values()]):
                name = next(n for n, r in running.items() if r.conn is conn)
                r = running[name]
                try:
                    kind, value = conn.recv()
                except (EOFError, OSError):  # the process ended without a word: killed
                    r.process.wait()
                    kind, value = "error", NotebookExecutionError(
                        str(r.start.executed), -1, "StepProcessDied",
                                f"the step's process ended with exit code {r.process.returncode}",
                        source=str(r.plan.notebook), run_dir=str(run_dir),
                        hint="a process killed mid-step was most often killed by the system for its memory "
                             "(see `dmesg`): lower jobs or the step's engine_options memory_limit")
                    _kill_kernel(r.kernel)
                if kind == "kernel":
                    r.kernel = value
                    continue
                if kind == "ready":
                    r.ready = True
                    stored.add(name)
                    logger.info("step %s stored its tables: the steps after it may start", name)
                    continue
                del running[name]
                stored.discard(name)
                r.process.wait()
                r.conn.close()
                if kind == "ok":
                    succeeded.add(name)
                    done(r.plan, r.kernel)
                    continue
                stopped(r.plan, "failed")
                logger.info("step %s failed; stopping %s", name, sorted(running) or "nothing")
                _stop(running, stopped, "interrupted")
                raise value
    except BaseException:
        _stop(running, stopped, "interrupted")
        raise
    finally:
        if spare is not None:
            spare.close()
