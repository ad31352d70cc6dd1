"""Running a playbook: papermill over each step, then manifest, summary and report.

:func:`run_playbook` is what ``commlab run`` calls. It

1. loads the playbook and checks that the kernel exists;
2. checks every parameter against what each notebook declares (nothing runs
   if one is unknown or wrongly typed);
3. creates a fresh run folder ``runs/<playbook>/<UTC stamp>-<random>/`` and
   writes ``manifest.json`` (status ``running``) with the sha256 of every input;
4. executes each step with papermill into the run folder, injecting
   ``data_dir``, ``output_dir`` (the step's own folder, also its working
   folder) and, to the steps that declare them, ``prev_output_dirs``,
   ``rules_file`` (the playbook's resolved rule set, written to
   ``rules.yaml`` in the run folder), ``previous_summary`` (the
   ``summary.json`` of the previous successful run of the playbook, found
   through ``latest`` *before* the run starts; "" for the first run) and
   ``k_min_group`` (``report.k_anonymity``, unless the playbook sets it);
   the pseudonym key (``privacy.key_env`` or ``COMMLAB_PSEUDONYM_KEY``) reaches
   the kernels through the environment only and is never written anywhere;
5. on success writes ``summary.json`` and ``report.html`` (executive summary
   step first, then the other sections, then the methods appendix), scans
   both (and every step's ``summary.json``) for raw member ids and display
   names of the input members table (:func:`commlab.privacy.scan_files`) and
   fails with :class:`~commlab.errors.PrivacyLeakError` if one is found (the
   files are renamed ``*.blocked``); else writes the final manifest and
   atomically moves ``runs/<playbook>/latest`` to the run. On failure the
   executed notebooks are kept, the manifest says ``failed`` and ``latest``
   is left alone;
6. regenerates ``runs/index.html``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import yaml

from commlab.atomic import atomic_write_json, atomic_write_text
from commlab.data.cache import CACHE_ENV
from commlab.errors import CommlabError, NotebookExecutionError, PrivacyLeakError, UsageError
from commlab.manifest import MANIFEST_VERSION, git_commit, input_hashes, iso, utc_now, versions
from commlab.plan import StepPlan, plan_run
from commlab.playbook import Playbook, load_playbook
from commlab.privacy import KEY_ENV, scan_files, vocabulary
from commlab.report import ReportSection, build_report, methods_appendix
from commlab.runs import list_runs, new_run_dir, point_latest, runs_lock, write_index

__all__ = ["RunResult", "run_playbook", "check_kernel", "latest_run", "list_runs", "DEFAULT_KERNEL"]

logger = logging.getLogger(__name__)

#: The kernelspec ``make setup`` installs into the virtualenv.
DEFAULT_KERNEL = "commlab"


@dataclass
class RunResult:
    """What a successful run produced.

    Attributes
    ----------
    playbook : Playbook
        The playbook that ran.
    run_dir : Path
        The run folder.
    report : Path
        ``report.html`` in the run folder.
    manifest : dict
        Content of ``manifest.json``.
    summary : dict
        Content of ``summary.json``: step name to the step's own summary.
    """

    playbook: Playbook
    run_dir: Path
    report: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """``"succeeded"`` (failed runs raise instead of returning)."""
        return str(self.manifest.get("status", ""))

    def __repr__(self) -> str:
        return f"RunResult({self.playbook.name!r}, run_dir={str(self.run_dir)!r}, status={self.status!r})"


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


def _source_cell_index(source: Path, executed_index: int) -> int:
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


def _running_cell(executed: Path) -> tuple[int, int | None]:
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


def _kernel_manager_logging_to(log: Any) -> type:
    """A kernel manager class whose kernel process writes its stdout/stderr to the open file ``log``.

    Kernel-side chatter (start-up warnings, shutdown noise) then lands in the
    run folder instead of the terminal of a user or a scheduler.
    """
    from jupyter_client.manager import AsyncKernelManager

    class _LoggedKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            kw.setdefault("stdout", log)
            kw.setdefault("stderr", log)
            await super()._async_launch_kernel(kernel_cmd, **kw)

    return _LoggedKernelManager


def _execute(plan: StepPlan, executed: Path, parameters: dict[str, Any], *, kernel_name: str,
             timeout: float | None, cwd: Path, run_dir: Path) -> None:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    pm_log = logging.getLogger("papermill")
    level = pm_log.level
    # Parameters are checked already (its "unknown parameter" warnings mislead) and every failure
    # becomes one NotebookExecutionError; papermill's own log lines would only repeat it.
    pm_log.setLevel(logging.CRITICAL)
    kernel_log = open(executed.with_suffix(".kernel.log"), "ab")  # noqa: SIM115 - closed in finally
    try:
        papermill.execute_notebook(
            str(plan.notebook), str(executed), parameters=parameters,
            kernel_name=kernel_name, execution_timeout=timeout, cwd=str(cwd),
            progress_bar=False, log_output=False, request_save_on_cell_execute=True,
            kernel_manager_class=_kernel_manager_logging_to(kernel_log),
        )
    except PapermillExecutionError as exc:
        raise NotebookExecutionError(
            str(executed), _source_cell_index(plan.notebook, exc.cell_index), exc.ename, exc.evalue,
            source=str(plan.notebook), exec_count=exc.exec_count, run_dir=str(run_dir),
        ) from None
    except CommlabError:
        raise
    except Exception as exc:  # noqa: BLE001 - a timeout, a dead kernel: the notebook did not finish
        index, count = _running_cell(executed)
        if index >= 0:
            index = _source_cell_index(plan.notebook, index)
        evalue = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        if type(exc).__name__ == "CellTimeoutError":
            evalue = f"cell still running after {timeout:g} s (raise --timeout)"
        raise NotebookExecutionError(
            str(executed), index, type(exc).__name__, evalue,
            source=str(plan.notebook), exec_count=count, run_dir=str(run_dir),
        ) from exc
    finally:
        pm_log.setLevel(level)
        kernel_log.close()


def _read_step_summary(out_dir: Path, warnings: list[str], step: str) -> Any:
    f = out_dir / "summary.json"
    if not f.is_file():
        warnings.append(f"step {step!r} wrote no summary.json into its output_dir")
        return None
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except ValueError as exc:
        warnings.append(f"step {step!r}: summary.json is not valid JSON ({exc})")
        return None


def _pseudonym_key(pb: Playbook) -> tuple[str | None, str | None]:
    """``(name of the variable, key)`` from ``privacy.key_env`` or ``COMMLAB_PSEUDONYM_KEY``.

    Raises
    ------
    UsageError
        If the playbook names a variable that is not set (a scheduled run must not silently
        fall back to pseudonyms that change from run to run).
    """
    name = pb.privacy.key_env
    if name:
        value = os.environ.get(name)
        if not value:
            raise UsageError(
                f"{pb.label}: privacy.key_env names the environment variable {name!r}, which is not set; "
                "export it (the pseudonym key) before running"
            )
        return name, value
    value = os.environ.get(KEY_ENV)
    return (KEY_ENV, value) if value else (None, None)


@contextmanager
def _kernel_env(values: dict[str, str | None]) -> Iterator[None]:
    """Set environment variables for the kernels (they inherit the environment), restored afterwards.

    ``None`` values are left alone.
    """
    before = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is not None:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in values.items():
            if value is None:
                continue
            if before[name] is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = before[name]


@contextmanager
def _data_cache() -> Iterator[str | None]:
    """A temporary folder where the run's notebooks share the validated data (:mod:`commlab.data.cache`).

    Yields its path, or ``None`` when the user already set ``COMMLAB_DATA_CACHE`` (their folder
    is used and kept). The temporary folder is under the system temporary directory (``TMPDIR``)
    and is removed when the steps end, whatever their outcome: a run folder never holds a copy
    of the data.
    """
    if os.environ.get(CACHE_ENV):
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="commlab-data-") as folder:
        yield folder


def _previous_summary(runs_root: Path, playbook: str) -> Path | None:
    """``summary.json`` of the run ``latest`` points at now (resolved, so a concurrent run cannot move it)."""
    prev = latest_run(runs_root, playbook)
    if prev is None:
        return None
    f = prev / "summary.json"
    return f if f.is_file() else None


def _input_tables(pb: Playbook, plans: list[StepPlan]) -> tuple[Any, Any]:
    """The raw members and communities tables of the run's data (``(None, None)`` without data).

    The canonical layout is read as text with :func:`commlab.data.io.read_raw_table`; other
    layouts (``source`` parameter) through :func:`commlab.sources.load_source`.
    """
    if pb.data is None:
        return None, None
    source = next((p.effective("source") for p in plans if "source" in p.declared), "canonical") or "canonical"
    if source != "canonical":
        from commlab.sources import load_source

        ds = load_source(pb.data, source)
        return ds.members, ds.communities
    from commlab.data.io import find_table_file, read_raw_table

    out = []
    for table in ("members", "communities"):
        f = find_table_file(pb.data, table)
        out.append(read_raw_table(f)[0] if f is not None else None)
    return out[0], out[1]


def _report_words(plans: list[StepPlan], rules: list[Any]) -> set[str]:
    """The kit's own report texts: a display name equal to one of their words is not searched.

    The zh/en catalogue, the metric and rule texts, the data model's labels, the notebooks' texts
    and the report templates. Never the data (a member id or name placed in a community name is
    still searched) and never the package's code (its generator's name pools hold common names).
    """
    from commlab.data.schema import describe_tables
    from commlab.i18n import TEXT
    from commlab.recommend import fact_definitions
    from commlab.rules_text import catalogue_texts

    texts: list[str] = [describe_tables()]
    texts += [v for pair in TEXT.values() for v in pair]
    texts += catalogue_texts()  # the rules' and the executive summary's words
    texts += fact_definitions().astype(str).to_numpy().ravel().tolist()
    texts += [f.read_text(encoding="utf-8", errors="replace")
              for f in (Path(__file__).parent / "templates").rglob("*") if f.is_file()]
    for r in rules:
        texts += [r.title.zh, r.title.en, r.action.zh, r.action.en, r.rationale.zh, r.rationale.en, r.practice]
    for p in plans:
        try:
            texts += [c.source for c in nbformat.read(str(p.notebook), as_version=4).cells]
        except Exception:  # noqa: BLE001 - the notebooks ran; an unreadable one only narrows the list
            continue
    return vocabulary(texts)


def _privacy_scan(run_dir: Path, plans: list[StepPlan], members: Any, ignore: set[str]) -> None:
    """Fail the run if a shareable file holds a raw member id or display name; block those files.

    Every id and name is searched (normalised, see :func:`commlab.privacy.normalize_identity`)
    but for :data:`commlab.privacy.COMMON_WORDS` and display names that are an English word or a
    word of the kit's own report texts (``ignore``, from :func:`_report_words`).
    """
    shareable = [run_dir / "report.html", run_dir / "summary.json"] + [run_dir / p.name / "summary.json"
                                                                        for p in plans]
    leaks = scan_files(shareable, members, ignore=ignore)
    if leaks:
        for f in (run_dir / "report.html", run_dir / "summary.json"):
            if f.is_file():
                f.rename(f.with_name(f.name + ".blocked"))
        raise PrivacyLeakError(leaks, run_dir=str(run_dir))


def _refresh_index(runs_dir: Path) -> None:
    try:
        with runs_lock(runs_dir):
            write_index(runs_dir)
    except OSError as exc:  # the index is a convenience; never let it hide the run's own outcome
        logger.warning("could not update %s/index.html: %s", runs_dir, exc)


def run_playbook(
    path: str | Path | Playbook,
    *,
    runs_dir: str | Path = "runs",
    as_of: str | None = None,
    kernel_name: str = DEFAULT_KERNEL,
    timeout: float | None = 1800,
    overrides: dict[str, Any] | None = None,
) -> RunResult:
    """Run every step of a playbook and write its report.

    Parameters
    ----------
    path : str, Path or Playbook
        The playbook file (or an already loaded playbook).
    runs_dir : str or Path, default "runs"
        Root of the run folders (relative to the current folder).
    as_of : str, optional
        ISO date or time (UTC); overrides ``as_of`` for every step.
    kernel_name : str, default "commlab"
        Jupyter kernel to execute the notebooks with.
    timeout : float or None, default 1800
        Seconds a single cell may run; ``None`` for no limit.
    overrides : dict, optional
        Parameters set for every step that declares them (``-p KEY VALUE``);
        strings are converted to the declared type.

    Returns
    -------
    RunResult

    Raises
    ------
    UsageError
        If the playbook file or the kernel is missing.
    PlaybookError
        If the playbook is invalid.
    ParameterError
        If a parameter is unknown to a notebook or wrongly typed (raised
        before any cell runs and before a run folder is created).
    NotebookExecutionError
        If a cell fails or times out; the run folder keeps the executed
        notebooks and ``manifest.json`` with ``status: failed``, and
        ``latest`` is not moved.
    """
    pb = path if isinstance(path, Playbook) else load_playbook(path)
    check_kernel(kernel_name)
    plans = plan_run(pb, as_of=as_of, overrides=overrides)
    rules = pb.rules.resolved()
    key_env, key = _pseudonym_key(pb)

    runs_root = Path(runs_dir)
    previous = _previous_summary(runs_root, pb.name)
    started = utc_now()
    run_dir = new_run_dir(runs_root, pb.name, started).resolve()
    effective_as_of = as_of if as_of is not None else next(
        (p.effective("as_of") for p in plans if "as_of" in p.declared), None,
    )
    # `-p lang en` turns the whole run to English: the notebooks and the report around them
    lang = str((overrides or {}).get("lang") or pb.report.lang)
    lang = lang if lang in ("zh", "en") else pb.report.lang
    manifest: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "playbook": pb.name,
        "title": pb.title.get(lang),
        "playbook_file": str(Path(pb.source).resolve()) if pb.source else None,
        "run_id": run_dir.name,
        "status": "running",
        "as_of": effective_as_of,
        "started": iso(started),
        "ended": None,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "kernel": kernel_name,
        "timeout": timeout,
        "data_dir": str(pb.data) if pb.data else None,
        "overrides": dict(overrides or {}),
        "steps": [
            {"name": p.name, "notebook": str(p.notebook), "status": "pending", "parameters": None}
            for p in plans
        ],
        "sha256": {},
        "versions": versions(),
        "git": git_commit(Path(pb.source).resolve().parent if pb.source else Path.cwd()),
        "privacy": {"key_env": key_env, "keyed": key is not None, "k_anonymity": pb.report.k_anonymity},
        "previous_run": previous.parent.name if previous is not None else None,
        "rules": [r.id for r in rules],
        "warnings": [] if key is not None or pb.data is None else [
            f"no pseudonym key ({KEY_ENV} or privacy.key_env): pseudonyms are stable within this run only"],
        "error": None,
    }
    mpath = run_dir / "manifest.json"
    atomic_write_json(mpath, manifest)
    logger.info("run folder: %s", run_dir)

    def finish(status: str, error: str | None = None) -> None:
        manifest["status"] = status
        manifest["error"] = error
        manifest["ended"] = iso(utc_now())
        atomic_write_json(mpath, manifest)

    try:
        manifest["sha256"] = input_hashes(
            playbook=pb.source, notebooks=[p.notebook for p in plans], data_dir=pb.data,
        )
        atomic_write_json(mpath, manifest)
        rules_path = atomic_write_text(run_dir / "rules.yaml", yaml.safe_dump(
            {"rules": [r.model_dump(mode="json", exclude_none=True) for r in rules]},
            allow_unicode=True, sort_keys=False,
        ))
        summary: dict[str, Any] = {}
        outputs: dict[str, str] = {}
        with _data_cache() as cache:  # the notebooks validate the data once per run
            for i, plan in enumerate(plans):
                out_dir = run_dir / plan.name
                out_dir.mkdir()
                params = dict(plan.parameters)
                params["output_dir"] = str(out_dir)
                if pb.data is not None:
                    params["data_dir"] = str(pb.data)
                if "prev_output_dirs" in plan.declared:
                    params["prev_output_dirs"] = dict(outputs)
                if "rules_file" in plan.declared:
                    params["rules_file"] = str(rules_path)
                if "previous_summary" in plan.declared:
                    params["previous_summary"] = str(previous) if previous is not None else ""
                if "k_min_group" in plan.declared and "k_min_group" not in params:
                    params["k_min_group"] = pb.report.k_anonymity
                record = manifest["steps"][i]
                record.update(
                    status="running", executed=str(run_dir / f"{plan.name}.ipynb"), output_dir=str(out_dir),
                    kernel_log=str(run_dir / f"{plan.name}.kernel.log"),
                    parameters=params, defaults=plan.defaults(), started=iso(utc_now()),
                )
                atomic_write_json(mpath, manifest)
                logger.info("step %d/%d: %s (%s)", i + 1, len(plans), plan.name, plan.notebook.name)
                try:
                    with _kernel_env({KEY_ENV: key, CACHE_ENV: cache}):
                        _execute(plan, run_dir / f"{plan.name}.ipynb", params, kernel_name=kernel_name,
                                 timeout=timeout, cwd=out_dir, run_dir=run_dir)
                except BaseException as exc:
                    interrupted = isinstance(exc, KeyboardInterrupt | SystemExit)
                    record.update(status="interrupted" if interrupted else "failed", ended=iso(utc_now()))
                    raise
                record.update(status="succeeded", ended=iso(utc_now()))
                summary[plan.name] = _read_step_summary(out_dir, manifest["warnings"], plan.name)
                outputs[plan.name] = str(out_dir)
        atomic_write_json(run_dir / "summary.json", summary)

        members, communities = _input_tables(pb, plans)
        sections = [
            ReportSection(run_dir / f"{n}.ipynb", pb.step(n).title.get(lang) if pb.step(n).title else "")
            for n in pb.report_order()
        ]
        title = (pb.report.title or pb.title).get(lang)
        appendix = (methods_appendix(manifest, communities, lang=lang, k=pb.report.k_anonymity)
                    if pb.report.appendix else "")
        report = build_report(
            sections, run_dir / "report.html", title=title, lang=lang, client=pb.report.client,
            as_of=effective_as_of, generated=iso(utc_now()), run_id=run_dir.name,
            resources_path=plans[0].notebook.parent, appendix=appendix,
        )
        if members is not None:
            _privacy_scan(run_dir, plans, members, _report_words(plans, rules))
        else:
            manifest["warnings"].append("privacy scan skipped: the playbook has no data folder to read members from")
        finish("succeeded")
    except CommlabError as exc:
        finish("failed", exc.one_line())
        _refresh_index(runs_root)
        raise
    except (KeyboardInterrupt, SystemExit) as exc:
        finish("interrupted", "interrupted (Ctrl-C)" if isinstance(exc, KeyboardInterrupt)
               else f"terminated (exit code {exc.code}; 143 is SIGTERM)")
        _refresh_index(runs_root)
        raise
    except BaseException as exc:
        finish("failed", f"{type(exc).__name__}: {exc}")
        _refresh_index(runs_root)
        raise

    with runs_lock(runs_root):
        point_latest(run_dir)
        write_index(runs_root)
    return RunResult(pb, run_dir, report, manifest, summary)


def latest_run(runs_dir: str | Path, playbook: str) -> Path | None:
    """The folder ``runs_dir/playbook/latest`` points at, or ``None``."""
    link = Path(runs_dir) / playbook / "latest"
    return link.resolve() if link.is_symlink() else None

