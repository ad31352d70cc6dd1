"""Running a playbook: papermill over each step, then manifest, summary and report.

:func:`run_playbook` is what ``commlab run`` calls. It

1. loads the playbook (confined: :mod:`commlab.playbook`) and checks that the kernel exists;
2. checks every parameter against what each notebook declares, with its range (nothing runs
   if one is unknown, wrongly typed or out of range);
3. takes the lock of the playbook on its data folder (:func:`commlab.runs.run_lock`: a second run
   of the same playbook on the same data fails at once with exit code 6, or waits with
   ``wait``), marks the runs whose process died as interrupted and removes the data folders
   killed runs left in ``TMPDIR``;
4. loads and validates the data once, into the run's data cache (:mod:`commlab.run_data`): bad
   data, ``communities`` the data lack, an ``as_of`` outside the data's range stop the run here;
   without ``--as-of``, a run on ``--data`` (or of a playbook without its own ``as_of``) analyses
   at the end of the data's last day; the run's *data source* (data folder + communities) is
   fingerprinted, and the run compares itself with the latest successful run of the playbook on
   the same data source (or the run given as ``compare_with``), never with another data set's;
5. only then creates a fresh run folder ``runs/<playbook>/<UTC stamp>-<random>/`` and
   writes ``manifest.json`` (status ``running``) with the sha256 of every input, the data
   source and range, the as-of and where it came from, and the effective k;
6. executes each step with papermill into the run folder, injecting
   ``data_dir``, ``output_dir`` (the step's own folder, also its working
   folder) and, to the steps that declare them, ``prev_output_dirs``,
   ``rules_file`` (the playbook's resolved rule set, written to
   ``rules.yaml`` in the run folder), ``previous_summary`` (the
   ``summary.json`` of the run compared with; "" for the first run) and
   ``k_min_group`` (``report.k_anonymity``, unless the playbook sets it);
   the pseudonym key (``privacy.key_env`` or ``COMMLAB_PSEUDONYM_KEY``) reaches
   the kernels through the environment only and is never written anywhere;
7. on success writes ``summary.json`` and ``report.html`` (the client part rendered
   from the steps' summaries, then the appendix: the other steps, every recommendation, the
   methods; see :mod:`commlab.report`) into a hidden staging
   folder, scans them (and every step's ``summary.json``) for raw member ids and display
   names of the input members table (:func:`commlab.privacy.scan_files`) and
   fails with :class:`~commlab.errors.PrivacyLeakError` if one is found (the
   files are moved out renamed ``*.blocked``); else prints the scanned report's client part to
   ``report.pdf`` in the staging folder with headless Chromium (without Chromium: a warning in
   the manifest, ``report_pdf: null``), moves them into the run folder
   (``report.html`` last, one rename each), moves ``runs/<playbook>/latest`` to the run and only
   then writes ``succeeded``. On failure the executed notebooks are kept, the manifest says
   ``failed`` and ``latest`` is left alone;
8. regenerates ``runs/index.html``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from commlab.atomic import atomic_write_json, atomic_write_text
from commlab.data.cache import CACHE_ENV, table_log
from commlab.data.schema import Col
from commlab.engines.runcache import declare_period_sets
from commlab.errors import (
    CommlabError,
    ParameterError,
    PrivacyLeakError,
    PublishError,
    UsageError,
)
from commlab.manifest import MANIFEST_VERSION, git_commit, input_hashes, iso, utc_now, versions
from commlab.notebook_exec import DEFAULT_KERNEL, check_kernel, execute_step
from commlab.plan import StepPlan, plan_run
from commlab.playbook import Playbook, load_playbook, with_rules_library
from commlab.privacy import KEY_ENV, identity_needles, scan_files, scan_text, vocabulary
from commlab.privacy.leakscan import Needles
from commlab.report import ReportSection, build_report
from commlab.report_pdf import PdfUnavailable, write_pdf
from commlab.report_view import report_title
from commlab.run_data import RunData, as_of_from_data, check_as_of, data_fingerprint, load_run_data
from commlab.runs import (
    STAGING,
    list_runs,
    new_run_dir,
    point_latest,
    previous_run,
    read_manifest,
    repair_abandoned,
    run_lock,
    runs_lock,
    write_index,
)
from commlab.settings import settings_from_env
from commlab.step_pool import StepStart, run_steps_at_once

__all__ = ["RunResult", "run_playbook", "check_kernel", "latest_run", "list_runs", "DEFAULT_KERNEL"]

logger = logging.getLogger(__name__)

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


#: Prefix of the temporary folders holding a run's validated data (under ``TMPDIR``); then the runner's pid.
DATA_CACHE_PREFIX = "commlab-data-"
_CACHE_PID = re.compile(r"^commlab-data-(\d+)-")
#: A folder of the older naming (no pid: its owner cannot be checked) is removed once left untouched a day.
_LEGACY_CACHE_AGE_S = 24 * 3600


def remove_abandoned_data_caches(tmp: str | Path | None = None) -> list[Path]:
    """Remove the data folders that killed runs left in ``TMPDIR`` (they hold members' display names).

    A folder ``commlab-data-<pid>-*`` whose process no longer runs is removed; one named before the
    pid was part of the name (``commlab-data-<random>``) is removed when untouched for a day.
    Folders that cannot be removed (another user's) are left.

    Returns
    -------
    list of Path
        The folders removed.
    """
    from commlab.runs import _alive

    root = Path(tmp or tempfile.gettempdir())
    removed = []
    for folder in root.glob(DATA_CACHE_PREFIX + "*"):
        if not folder.is_dir() or folder.is_symlink():
            continue
        m = _CACHE_PID.match(folder.name)
        if m is not None:
            if _alive(int(m.group(1))):
                continue
        else:
            try:
                if time.time() - folder.stat().st_mtime < _LEGACY_CACHE_AGE_S:
                    continue
            except OSError:
                continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed


@contextmanager
def _data_cache() -> Iterator[str]:
    """A temporary folder where the run validates the data once for all its notebooks (:mod:`commlab.data.cache`).

    Yields its path, or the user's folder when they set ``COMMLAB_DATA_CACHE`` (used and kept).
    The temporary folder is under the system temporary directory (``TMPDIR``), named
    ``commlab-data-<pid>-*`` and removed when the run ends, whatever its outcome; if the process
    is killed, the next run removes it (:func:`remove_abandoned_data_caches`). A run folder never
    holds a copy of the data.
    """
    if users := settings_from_env().cache_dir:
        yield str(users)
        return
    with tempfile.TemporaryDirectory(prefix=f"{DATA_CACHE_PREFIX}{os.getpid()}-") as folder:
        yield folder


def _input_tables(pb: Playbook, plans: list[StepPlan], cache: str | None = None) -> tuple[Any, Any]:
    """The raw members and communities tables of the run's data (``(None, None)`` without data).

    The canonical layout is read as text with :func:`commlab.data.io.read_raw_table`; other
    layouts (``source`` parameter) through :func:`commlab.sources.load_source`.
    """
    if pb.data is None:
        return None, None
    source = next((p.effective("source") for p in plans if "source" in p.declared), "canonical") or "canonical"
    if source != "canonical":
        from commlab.sources import load_source

        ds = load_source(pb.data, source, cache=cache)
        return ds.members, ds.communities
    from commlab.data.coerce import SHOWN_TEXT, drop_direction_controls
    from commlab.data.io import find_table_file, read_raw_table

    out = []
    for table in ("members", "communities"):
        f = find_table_file(pb.data, table)
        frame = read_raw_table(f)[0] if f is not None else None
        for col in SHOWN_TEXT.get(table, ()) if frame is not None else ():
            if col in frame.columns:  # the report shows them: as a load reads them
                frame[col] = drop_direction_controls(frame[col])
        out.append(frame)
    return out[0], out[1]


@dataclass(frozen=True)
class _ScanInputs:
    """What the privacy scan reads of the run's data: the raw members and communities tables, the words
    someone chose (:func:`_chosen_words`) and the identities searched (``None`` without data)."""

    members: Any
    communities: Any
    chosen: set[str]
    needles: Needles | None


def _scan_inputs(pb: Playbook, plans: list[StepPlan], cache: str | None = None) -> _ScanInputs:
    """:class:`_ScanInputs` of the run, the lookups built (:meth:`commlab.privacy.leakscan.Needles.prepared`)."""
    members, communities = _input_tables(pb, plans, cache)  # a converted layout (se_180d): from the cache
    if members is None:
        return _ScanInputs(None, communities, set(), None)
    chosen = _chosen_words(pb.data, communities)
    return _ScanInputs(members, communities, chosen, identity_needles(members, chosen=chosen).prepared())


def _chosen_words(data: Path | None = None, communities: Any = None) -> set[str]:
    """Words the report shows that someone chose, not the members: a display name equal to one is not searched.

    The name of the data folder, which the run record shows (the consultant chose it: a Stack
    Exchange member called 'cardano' is no leak in the report of ``data/cardano``); and the name,
    host and subject of a public Stack Exchange site as the importers wrote them (a member called
    'physics' is no leak in the report of Physics Stack Exchange;
    :func:`commlab.importers.stackexchange_site.public_site_texts`). Never other data (a member id
    or name placed in a community name is still searched) and never the kit's own texts or a
    dictionary (:data:`commlab.privacy.EXEMPTIONS` lists, per word, the few phrases of the kit
    searched around).
    """
    from commlab.importers.stackexchange_site import public_site_texts

    texts = [data.name] if data is not None else []
    return vocabulary(texts + public_site_texts(communities))


def _privacy_scan(run_dir: Path, staging: Path, plans: list[StepPlan], members: Any,
                  communities: Any = None, chosen: set[str] | frozenset[str] = frozenset(),
                  staged: list[Path] | None = None, needles: Needles | None = None) -> None:
    """Fail the run if a shareable file holds a raw member id or display name; block those files.

    Every id and name is searched (normalised, see :func:`commlab.privacy.normalize_identity`) in
    what a person is shown of the files, but for :data:`commlab.privacy.COMMON_WORDS`, the words of
    :data:`commlab.privacy.EXEMPTIONS` inside the kit's phrases listed there, and display names
    that are a word someone chose (``chosen``, from :func:`_chosen_words`). The files are
    scanned in ``staging`` (where nothing links to them) before they are moved into the run
    folder; on a leak they are moved there renamed ``*.blocked``. ``staged``: those files (default:
    every file in ``staging``); ``needles``: the members' identities searched, if prepared already.
    """
    staged = staged if staged is not None else sorted(f for f in staging.iterdir() if f.is_file())
    shareable = staged + [run_dir / p.name / "summary.json" for p in plans]
    leaks = scan_files(shareable, members, chosen=chosen, needles=needles)
    if leaks:
        for f in staged:
            os.replace(f, run_dir / (f.name + ".blocked"))
        fix = _leak_fix(members, communities, chosen)
        if not fix and any(": display_name " in leak for leak in leaks):
            fix = ("if a display name is also a word of the report's own text (a member called 'Report'), the scan "
                   "cannot tell them apart: give that member another display_name in the members table (reports "
                   "never show display names)")
        raise PrivacyLeakError(leaks, run_dir=str(run_dir), fix=fix)


def _leak_fix(members: Any, communities: Any, chosen: set[str] | frozenset[str] = frozenset()) -> str:
    """How to fix a leak the data put in the report: a member's name or id inside a community's name or source.

    The usual case on a real export ("李雷的读书会" with 李雷 a member): the report must show the community
    name, so the run cannot be published until the name is changed. "" when the names hold no identity.
    """
    if communities is None:
        return ""
    cols = [c for c in ("name", "source") if c in getattr(communities, "columns", [])]
    text = "\n".join(communities[c].dropna().astype(str).str.cat(sep="\n") for c in cols)
    if not text or not scan_text(text, identity_needles(members, chosen=chosen), kind="text"):
        return ""
    return ("a community's name or data source holds a member's name or id: change it in the communities "
            "table (columns name, source), or the member's display_name if it is not that person")


def _publish_staged(staging: Path, run_dir: Path) -> None:
    """Move the scanned files of ``staging`` into the run folder, ``report.html`` last, and remove ``staging``.

    Each move is one ``rename`` on the same file system: a kill leaves a report either absent or
    whole and scanned.
    """
    files = sorted((f for f in staging.iterdir() if f.is_file()), key=lambda f: f.name == "report.html")
    for f in files:
        os.replace(f, run_dir / f.name)
    staging.rmdir()


def _print_pdf(report: Path) -> tuple[str | None, str | None]:
    """``report.pdf`` beside the report (its client part on A4): its name, or ``None`` and why not (without
    Chromium a warning, not a failure)."""
    try:
        return write_pdf(report).name, None
    except PdfUnavailable as exc:
        logger.warning("%s", exc.one_line())
        return None, exc.one_line()


def _scan_while_printing(run_dir: Path, staging: Path, plans: list[StepPlan], scan: _ScanInputs,
                         manifest: dict[str, Any]) -> None:
    """The privacy scan of the staged files while Chromium prints ``report.pdf`` from the same ``report.html``.

    The PDF shows nothing the scan did not read: both read the one written file, and the PDF is kept only
    when the scan passed (on a leak it is deleted once printed; nothing is published either way).
    """
    staged = sorted(f for f in staging.iterdir() if f.is_file())
    with ThreadPoolExecutor(1, thread_name_prefix="commlab-pdf") as pool:
        printing = pool.submit(_print_pdf, staging / "report.html")
        try:
            if scan.members is not None:
                _privacy_scan(run_dir, staging, plans, scan.members, scan.communities, chosen=scan.chosen,
                              staged=staged, needles=scan.needles)
            else:
                manifest["warnings"].append(
                    "privacy scan skipped: the playbook has no data folder to read members from")
        except BaseException:
            wait([printing])
            for f in staging.glob("*report.pdf*"):
                f.unlink(missing_ok=True)
            raise
        name, warning = printing.result()
    manifest["report_pdf"] = name
    if warning:
        manifest["warnings"].append(warning)


def _refresh_index(runs_dir: Path) -> None:
    try:
        with runs_lock(runs_dir):
            write_index(runs_dir)
    except OSError as exc:  # the index is a convenience; never let it hide the run's own outcome
        logger.warning("could not update %s/index.html: %s", runs_dir, exc)


def _effective_k(pb: Playbook, plans: list[StepPlan]) -> int:
    """The smallest group any step shows: the lowest ``k_min_group`` a step receives (else ``report.k_anonymity``)."""
    ks = [p.parameters.get("k_min_group", pb.report.k_anonymity) for p in plans if "k_min_group" in p.declared]
    return min(int(k) for k in ks) if ks else pb.report.k_anonymity


def _data_parameters(plans: list[StepPlan]) -> tuple[str, str, list[str]]:
    """``(source, tz, communities)`` as the first step reading the data receives them."""
    from commlab.data.load import DEFAULT_TZ

    plan = next((p for p in plans if "data_dir" in p.declared), plans[0])
    source = plan.effective("source") if "source" in plan.declared else "canonical"
    tz = plan.effective("tz") if "tz" in plan.declared else DEFAULT_TZ
    communities = plan.effective("communities") if "communities" in plan.declared else []
    return str(source or "canonical"), str(tz or DEFAULT_TZ), [str(c) for c in (communities or [])]


def _resolve_as_of(pb: Playbook, plans: list[StepPlan], explicit: str | None, data: RunData | None,
                   data_given: bool, allow_stale: bool) -> tuple[str | None, str]:
    """Set the analysis instant of every step; return it and where it came from.

    ``--as-of`` (or ``-p as_of``) wins; else, on data given with ``--data`` (the playbook's own ``as_of`` belongs to
    its own data) or when the playbook sets none, the end of the data's last day
    (:func:`commlab.run_data.as_of_from_data`); else the playbook's. Every absolute ``as_of`` is
    then checked against the data's range (:func:`commlab.run_data.check_as_of`).
    """
    declared = [p for p in plans if "as_of" in p.declared]
    own = any("as_of" in p.parameters for p in declared)
    if explicit is not None:
        origin = "command line"
    elif data is not None and (data_given or not own) and (derived := as_of_from_data(data)) is not None:
        for p in declared:
            p.parameters["as_of"] = derived
        origin = "data"
    else:
        origin = "playbook" if own else "notebook default"
    if data is not None:
        for p in declared:
            check_as_of(str(p.effective("as_of")), data, where=f"{pb.label}: step {p.name!r}", allow_stale=allow_stale)
    value = next((p.effective("as_of") for p in declared), None)
    return (str(value) if value is not None else None), origin


def _comparison(runs_root: Path, pb: Playbook, fingerprint: str, compare_with: str | Path | None) -> Path | None:
    """The ``summary.json`` the run compares itself with: of ``compare_with``, else of the latest run on the same data.

    Raises
    ------
    UsageError
        If ``compare_with`` is not a run folder.
    ParameterError
        If it is a run of another playbook, did not succeed, or analysed another data source.
    """
    if compare_with is None:
        prev = previous_run(runs_root, pb.name, fingerprint)
        return prev / "summary.json" if prev is not None else None
    run = Path(compare_with).resolve()
    m = read_manifest(run)
    if m is None:
        raise UsageError(f"--compare-with: not a run folder (no readable manifest.json): {run}")
    if m.get("playbook") != pb.name:
        raise ParameterError(f"--compare-with {run} is a run of the playbook {m.get('playbook')!r}, "
                             f"not of {pb.name!r}")
    if m.get("status") != "succeeded" or not (run / "summary.json").is_file():
        raise ParameterError(f"--compare-with {run} did not succeed (status {m.get('status')!r}); "
                             "compare with a successful run")
    theirs = m.get("data_source") or {}
    if theirs.get("fingerprint") != fingerprint:
        def describe(d: dict[str, Any]) -> str:
            ids = d.get("communities") or []
            more = f" … ({len(ids)})" if len(ids) > 5 else ""
            return f"data folder {d.get('data_dir')}, communities {', '.join(map(str, ids[:5]))}{more}"
        what = describe(theirs) if theirs else "a data source it does not record (an older commlab)"
        raise ParameterError(
            f"--compare-with {run} analysed other data ({what}) than this run: comparing them would mix two "
            "data sets in one report; pick a run of the same data folder and communities, or leave "
            "--compare-with out"
        )
    return run / "summary.json"


def _playbook_to_run(path: str | Path | Playbook, *, data_dir: str | Path | None,
                     notebooks_dirs: list[str | Path] | tuple[str | Path, ...],
                     rules_library: str | Path | None) -> tuple[Playbook, bool]:
    """The playbook as this run uses it: loaded (confined), with ``--data`` and ``--rules`` applied; and
    whether ``--data`` is other data than the playbook's own (its title is then not this data's: see
    :func:`commlab.report_view.report_title`).

    Raises
    ------
    UsageError
        If ``data_dir`` is not a folder.
    """
    pb = path if isinstance(path, Playbook) else load_playbook(path, notebooks_dirs=notebooks_dirs,
                                                               data_required=data_dir is None)
    other_data = False
    if data_dir is not None:
        data = Path(data_dir).expanduser().resolve()
        if not data.is_dir():
            raise UsageError(f"data folder not found: {data}")
        other_data = pb.data is None or Path(pb.data).resolve() != data
        pb = pb.model_copy(update={"data": data})
    if rules_library is not None:
        pb = with_rules_library(pb, rules_library)
    return pb, other_data


def _clean_up_abandoned(runs_root: Path) -> list[str]:
    """Mark the runs whose process died as interrupted, remove killed runs' data caches; the runs marked."""
    with runs_lock(runs_root):
        repaired = repair_abandoned(runs_root)
    remove_abandoned_data_caches()
    return repaired


def _load_data(pb: Playbook, plans: list[StepPlan], cache: str | None) -> RunData | None:
    """The run's data, loaded and validated once into the run's data cache (None without a data folder)."""
    if pb.data is None:
        return None
    source, tz, communities = _data_parameters(plans)
    return load_run_data(pb.data, source=source, tz=tz, communities=communities, where=pb.label,
                         cache=cache, stream=settings_from_env().stream_events)


def run_playbook(
    path: str | Path | Playbook,
    *,
    runs_dir: str | Path = "runs",
    as_of: str | None = None,
    kernel_name: str = DEFAULT_KERNEL,
    timeout: float | None = 1800,
    overrides: dict[str, Any] | None = None,
    data_dir: str | Path | None = None,
    notebooks_dirs: list[str | Path] | tuple[str | Path, ...] = (),
    rules_library: str | Path | None = None,
    compare_with: str | Path | None = None,
    allow_stale_as_of: bool = False,
    wait: bool = False,
    jobs: int | None = None,
) -> RunResult:
    """Run every step of a playbook and write its report.

    Parameters
    ----------
    path : str, Path or Playbook
        The playbook file (or an already loaded playbook).
    runs_dir : str or Path, default "runs"
        Root of the run folders (relative to the current folder).
    as_of : str, optional
        ISO date or time (UTC); overrides ``as_of`` for every step. Without it, a run on
        ``data_dir`` (or of a playbook that sets no ``as_of``) analyses at the end of the data's
        last day; any absolute ``as_of`` must lie within the data's range (up to
        :data:`commlab.run_data.STALE_DAYS` days after its last event).
    kernel_name : str, default "commlab"
        Jupyter kernel to execute the notebooks with.
    timeout : float or None, default 1800
        Seconds a single cell may run; ``None`` for no limit.
    overrides : dict, optional
        Parameters set for every step that declares them (``-p KEY VALUE``);
        strings are converted to the declared type.
    data_dir : str or Path, optional
        Run on this data folder instead of the playbook's ``data`` (``--data``).
    notebooks_dirs : list of str or Path, optional
        Further folders the playbook's steps may run notebooks from (``--notebooks-dir``).
    rules_library : str or Path, optional
        A rule file replacing the playbook's ``rules.library`` (``--rules``; may lie anywhere).
    compare_with : str or Path, optional
        The run folder to compare with (``--compare-with``); it must be a successful run of the
        same playbook on the same data source. Default: the latest such run.
    allow_stale_as_of : bool, default False
        Accept an ``as_of`` outside the data's range.
    wait : bool, default False
        Wait for a run of the same playbook on the same data instead of failing with exit code 6.
    jobs : int, optional
        How many steps may run at once (1-8, ``--jobs``); default: the playbook's ``jobs``.

    Returns
    -------
    RunResult

    Raises
    ------
    UsageError
        If the playbook file, the data folder or the kernel is missing.
    PlaybookError
        If the playbook is invalid.
    ParameterError
        If a parameter is unknown to a notebook, wrongly typed or out of range, ``communities``
        names ids the data lack, ``as_of`` lies outside the data, or ``compare_with`` is another
        data source's run (all raised before a run folder is created).
    DataValidationError
        If the data are invalid (before a run folder is created).
    RunLockedError
        If a run of the same playbook on the same data is running (and ``wait`` is false).
    NotebookExecutionError
        If a cell fails or times out; the run folder keeps the executed
        notebooks and ``manifest.json`` with ``status: failed``, and
        ``latest`` is not moved.
    PrivacyLeakError
        If a shareable file names a member; nothing is published.
    PublishError
        If ``latest`` could not be moved to the run (the manifest then says ``failed``).

    Examples
    --------
    >>> import os
    >>> import commlab as cl
    >>> result = cl.run_playbook("playbooks/demo.yaml", runs_dir=os.environ.get("COMMLAB_TEST_TMP", "runs"),
    ...                          overrides={"communities": "[c01, c04]", "lang": "en"})
    >>> result.report.name
    'report.html'
    """
    pb, other_data = _playbook_to_run(path, data_dir=data_dir, notebooks_dirs=notebooks_dirs,
                                      rules_library=rules_library)
    if jobs is not None:
        if not 1 <= jobs <= 8:
            raise UsageError(f"--jobs {jobs}: run 1 to 8 steps at once")
        pb = pb.model_copy(update={"jobs": jobs})
    check_kernel(kernel_name)
    plans = plan_run(pb, as_of=as_of, overrides=overrides)
    rules = pb.rules.resolved()
    key_env, key = _pseudonym_key(pb)
    runs_root = Path(runs_dir)
    k = _effective_k(pb, plans)

    with run_lock(runs_root, pb.name, str(pb.data) if pb.data is not None else "(no data folder)",
                  wait=wait) as lock, _data_cache() as cache:
        repaired = _clean_up_abandoned(runs_root)
        # the metric period sets the steps' notebooks declare (plan.notebook_period_sets), computed in one pass
        declare_period_sets(cache, [s for plan in plans for s in plan.period_sets()])
        run_data = _load_data(pb, plans, cache)
        given = as_of if as_of is not None else (overrides or {}).get("as_of")  # --as-of or -p as_of
        effective_as_of, as_of_origin = _resolve_as_of(pb, plans, given, run_data, data_dir is not None,
                                                       allow_stale_as_of)
        fingerprint = run_data.fingerprint if run_data is not None else data_fingerprint(None, "", [])
        previous = _comparison(runs_root, pb, fingerprint, compare_with)
        return _run(pb, plans, rules, runs_root, lock=lock, cache=cache, key_env=key_env, key=key, k=k,
                    kernel_name=kernel_name, timeout=timeout, overrides=overrides, run_data=run_data,
                    fingerprint=fingerprint, as_of=(effective_as_of, as_of_origin), previous=previous,
                    repaired=repaired, other_data=other_data)


def _as_of_note(as_of: str | None, origin: str, lang: str) -> str | None:
    """The as-of as the report header states it, saying when it was taken from the data."""
    if as_of is None or origin != "data":
        return as_of
    if lang == "zh":
        return f"{as_of}（未指定分析时点：取数据最后一天结束时）"
    return f"{as_of} (no as-of given: the end of the data's last day)"


def _data_range(data: RunData | None) -> tuple[str, str] | None:
    """The data's first and last day (UTC), which the report states once."""
    if data is None or data.first is None or data.last is None:
        return None
    return f"{data.first:%Y-%m-%d}", f"{data.last:%Y-%m-%d}"


@dataclass
class _Record:
    """The run's ``manifest.json`` as the run goes: the dict, and where it is written after each change."""

    path: Path
    manifest: dict[str, Any]

    def save(self) -> None:
        """Write the manifest (atomically: a reader never sees half of it)."""
        atomic_write_json(self.path, self.manifest)

    def finish(self, status: str, error: str | None = None) -> None:
        """Mark the run ended with ``status``; a manifest that cannot be written is logged, not raised."""
        self.manifest.update(status=status, error=error, ended=iso(utc_now()))
        try:
            self.save()
        except OSError as exc:  # e.g. a full disk: the next run marks this one from its pid
            logger.error("could not write %s: %s", self.path, exc)


def _new_manifest(pb: Playbook, plans: list[StepPlan], rules: list[Any], run_dir: Path, *, started: Any,
                  lang: str, as_of: tuple[str | None, str], kernel_name: str, timeout: float | None,
                  overrides: dict[str, Any] | None, run_data: RunData | None, fingerprint: str,
                  key_env: str | None, key: str | None, k: int, previous: Path | None,
                  repaired: list[str]) -> dict[str, Any]:
    """The manifest a run starts with (status ``running``, every step ``pending``)."""
    effective_as_of, as_of_origin = as_of
    manifest: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "playbook": pb.name,
        "title": pb.title.get(lang),
        "playbook_file": str(Path(pb.source).resolve()) if pb.source else None,
        "run_id": run_dir.name,
        "status": "running",
        "as_of": effective_as_of,
        "as_of_source": as_of_origin,
        "started": iso(started),
        "ended": None,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "kernel": kernel_name,
        "jobs": pb.jobs,
        "timeout": timeout,
        "data_dir": str(pb.data) if pb.data else None,
        "data_source": run_data.manifest() if run_data is not None else {"fingerprint": fingerprint, "data_dir": None},
        "overrides": dict(overrides or {}),
        "steps": [
            {"name": p.name, "notebook": str(p.notebook), "status": "pending", "parameters": None}
            for p in plans
        ],
        "sha256": {},
        "versions": versions(),
        "git": git_commit(Path(pb.source).resolve().parent if pb.source else Path.cwd()),
        "privacy": {"key_env": key_env, "keyed": key is not None, "k_anonymity": k},
        "previous_run": previous.parent.name if previous is not None else None,
        "previous_run_dir": str(previous.parent) if previous is not None else None,
        "rules": [r.id for r in rules],
        "warnings": [] if key is not None or pb.data is None else [
            f"no pseudonym key ({KEY_ENV} or privacy.key_env): pseudonyms are stable within this run only"],
        "error": None,
    }
    if repaired:
        manifest["repaired_runs"] = repaired
    return manifest


def _open_record(run_dir: Path, manifest: dict[str, Any]) -> _Record:
    """Write the first manifest into the new run folder; if that fails, remove the folder (never left empty)."""
    record = _Record(run_dir / "manifest.json", manifest)
    try:
        record.save()
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    logger.info("run folder: %s", run_dir)
    return record


def _record_inputs(pb: Playbook, plans: list[StepPlan], rules: list[Any], run_dir: Path, record: _Record) -> Path:
    """The sha256 of every input into the manifest, and the resolved rule set as ``rules.yaml``; its path."""
    record.manifest["sha256"] = input_hashes(
        playbook=pb.source, notebooks=[p.notebook for p in plans], data_dir=pb.data,
    )
    record.save()
    return atomic_write_text(run_dir / "rules.yaml", yaml.safe_dump(
        {"rules": [r.model_dump(mode="json", exclude_none=True) for r in rules]},
        allow_unicode=True, sort_keys=False,
    ))


def _step_parameters(pb: Playbook, plan: StepPlan, out_dir: Path, *, outputs: dict[str, str], rules_path: Path,
                     previous: Path | None, cache: str | None = None) -> dict[str, Any]:
    """The parameters a step's notebook gets: its own, and those the runner injects where it declares them.

    A step on the DuckDB engine gets the run's memory bound in ``engine_options`` unless it sets its own
    (:func:`commlab.engines.duck.playbook_engine_options`); the manifest records what it got.
    """
    params = dict(plan.parameters)
    if "engine_options" in plan.declared and plan.effective("engine") == "duckdb":
        from commlab.engines.duck import playbook_engine_options

        params["engine_options"] = playbook_engine_options(plan.effective("engine_options"), cache)
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
    return params


def _begin_step(pb: Playbook, plan: StepPlan, i: int, run_dir: Path, record: _Record, *, outputs: dict[str, str],
                rules_path: Path, previous: Path | None, cache: str | None) -> tuple[Path, dict[str, Any]]:
    """Make a step's folder, record it ``running`` with its parameters; its folder and parameters."""
    out_dir = run_dir / plan.name
    out_dir.mkdir()
    params = _step_parameters(pb, plan, out_dir, outputs=outputs, rules_path=rules_path, previous=previous,
                              cache=cache)
    record.manifest["steps"][i].update(
        status="running", executed=str(run_dir / f"{plan.name}.ipynb"), output_dir=str(out_dir),
        kernel_log=str(run_dir / f"{plan.name}.kernel.log"),
        parameters=params, defaults=plan.defaults(), started=iso(utc_now()),
    )
    record.save()
    logger.info("step %d/%d: %s (%s)", i + 1, len(record.manifest["steps"]), plan.name, plan.notebook.name)
    return out_dir, params


def _end_step(plan: StepPlan, i: int, run_dir: Path, record: _Record, tables: list[dict[str, Any]], *,
              summary: dict[str, Any], outputs: dict[str, str]) -> None:
    """Record a step ``succeeded`` with the engine tables it computed or read; keep its summary and folder."""
    record.manifest["steps"][i].update(status="succeeded", ended=iso(utc_now()), tables=tables)
    summary[plan.name] = _read_step_summary(run_dir / plan.name, record.manifest["warnings"], plan.name)
    outputs[plan.name] = str(run_dir / plan.name)


def _run_steps(pb: Playbook, plans: list[StepPlan], run_dir: Path, record: _Record, *, rules_path: Path,
               previous: Path | None, cache: str | None, key: str | None, kernel_name: str,
               timeout: float | None) -> dict[str, Any]:
    """Execute the steps in order, each into its own folder; the steps' summaries by step name.

    Each step's record in the manifest says ``running`` while it runs, then ``succeeded`` (with the
    engine tables it computed or read), or ``failed``/``interrupted`` before the error goes on.
    """
    if pb.jobs > 1 and len(plans) > 1:
        return _run_steps_at_once(pb, plans, run_dir, record, rules_path=rules_path, previous=previous, cache=cache,
                                  key=key, kernel_name=kernel_name, timeout=timeout)
    summary: dict[str, Any] = {}
    outputs: dict[str, str] = {}
    for i, plan in enumerate(plans):
        out_dir, params = _begin_step(pb, plan, i, run_dir, record, outputs=outputs, rules_path=rules_path,
                                      previous=previous, cache=cache)
        tables_at = table_log(cache)[1]  # the engine tables this step computes or reads (engines.runcache)
        try:
            with _kernel_env({KEY_ENV: key, CACHE_ENV: cache}):
                execute_step(plan, run_dir / f"{plan.name}.ipynb", params, kernel_name=kernel_name,
                             timeout=timeout, cwd=out_dir, run_dir=run_dir)
        except BaseException as exc:
            interrupted = isinstance(exc, KeyboardInterrupt | SystemExit)
            record.manifest["steps"][i].update(status="interrupted" if interrupted else "failed",
                                               ended=iso(utc_now()))
            raise
        _end_step(plan, i, run_dir, record, table_log(cache, start=tables_at)[0], summary=summary, outputs=outputs)
    return summary


def _step_seconds(run: Path | None) -> dict[str, float]:
    """How long each step of the run folder ``run`` took, from its manifest (steps that succeeded only).

    The at-once loop starts the steps heading the longest chains first by these (:func:`commlab.step_pool.step_ranks`).
    """
    from datetime import datetime

    m = read_manifest(run) if run is not None else None
    seconds: dict[str, float] = {}
    for step in (m or {}).get("steps") or []:
        try:
            if step.get("status") == "succeeded":
                took = datetime.fromisoformat(step["ended"]) - datetime.fromisoformat(step["started"])
                seconds[str(step["name"])] = max(took.total_seconds(), 0.0)
        except (KeyError, TypeError, ValueError):
            continue
    return seconds


def _run_steps_at_once(pb: Playbook, plans: list[StepPlan], run_dir: Path, record: _Record, *, rules_path: Path,
                       previous: Path | None, cache: str | None, key: str | None, kernel_name: str,
                       timeout: float | None) -> dict[str, Any]:
    """Execute the steps ``pb.jobs`` at a time as their ``after`` allows (:mod:`commlab.step_pool`).

    The records are those of :func:`_run_steps`; a step's tables are the log entries of its kernel.
    """
    summary: dict[str, Any] = {}
    outputs: dict[str, str] = {}
    index = {p.name: i for i, p in enumerate(plans)}
    log_start = table_log(cache)[1]

    def start(plan: StepPlan) -> StepStart:
        out_dir, params = _begin_step(pb, plan, index[plan.name], run_dir, record, outputs=outputs,
                                      rules_path=rules_path, previous=previous, cache=cache)
        return StepStart(run_dir / f"{plan.name}.ipynb", params, out_dir)

    def done(plan: StepPlan, kernel: int | None) -> None:
        tables = [e for e in table_log(cache, start=log_start)[0] if kernel is not None and e.get("pid") == kernel]
        _end_step(plan, index[plan.name], run_dir, record, tables, summary=summary, outputs=outputs)
        record.save()

    def stopped(plan: StepPlan, status: str) -> None:
        record.manifest["steps"][index[plan.name]].update(status=status, ended=iso(utc_now()))
        record.save()

    kernel_env = {name: value for name, value in ((KEY_ENV, key), (CACHE_ENV, cache)) if value is not None}
    run_steps_at_once(plans, jobs=pb.jobs, start=start, done=done, stopped=stopped, kernel_name=kernel_name,
                      timeout=timeout, run_dir=run_dir, kernel_env=kernel_env,
                      seconds=_step_seconds(previous.parent if previous is not None else None))
    return {p.name: summary[p.name] for p in plans}


def _write_shareable(pb: Playbook, plans: list[StepPlan], run_dir: Path, record: _Record,
                     summary: dict[str, Any], *, lang: str, as_of: tuple[str | None, str],
                     run_data: RunData | None, k: int, cache: str | None, other_data: bool = False,
                     scan: _ScanInputs | None = None) -> Path:
    """``summary.json``, ``report.html`` and ``report.pdf``: written where nothing links to them, scanned, moved in.

    Returns the published ``report.html``. ``scan``: :func:`_scan_inputs`, if read already.

    Raises
    ------
    PrivacyLeakError
        If a shareable file names a member (nothing is moved into the run folder).
    """
    manifest = record.manifest
    staging = run_dir / STAGING
    staging.mkdir()
    atomic_write_json(staging / "summary.json", summary)
    scan = scan if scan is not None else _scan_inputs(pb, plans, cache)
    communities = scan.communities
    sections = [
        ReportSection(run_dir / f"{n}.ipynb", pb.step(n).title.get(lang) if pb.step(n).title else "", step=n)
        for n in pb.report_order()
    ]
    analysed = communities
    if communities is not None and run_data is not None and run_data.communities and Col.community_id in communities:
        analysed = communities[communities[Col.community_id].astype(str).isin(run_data.communities)]
    title = report_title(pb.report.title.get(lang) if pb.report.title else None, pb.title.get(lang), analysed,
                         lang, data_given=other_data)
    build_report(
        sections, staging / "report.html", title=title, lang=lang, client=pb.report.client,
        as_of=_as_of_note(*as_of, lang), generated=iso(utc_now()),
        run_id=run_dir.name, resources_path=plans[0].notebook.parent, summary=summary,
        communities=communities, manifest=manifest, k=k, appendix=pb.report.appendix,
        data_range=_data_range(run_data), top_actions=pb.report.top_actions,
    )
    _scan_while_printing(run_dir, staging, plans, scan, manifest)
    _publish_staged(staging, run_dir)
    return run_dir / "report.html"


def _end_failed(record: _Record, runs_root: Path, exc: BaseException) -> None:
    """Mark the run ``failed`` (or ``interrupted``: Ctrl-C, a signal) with what stopped it; refresh the index."""
    if isinstance(exc, CommlabError):
        record.finish("failed", exc.one_line())
    elif isinstance(exc, KeyboardInterrupt | SystemExit):
        record.finish("interrupted", "interrupted (Ctrl-C)" if isinstance(exc, KeyboardInterrupt)
                      else f"terminated (exit code {exc.code}; 143 is SIGTERM)")
    else:
        record.finish("failed", f"{type(exc).__name__}: {exc}")
    _refresh_index(runs_root)


def _publish(pb: Playbook, run_dir: Path, report: Path, record: _Record, runs_root: Path) -> None:
    """Move ``latest`` to the run, then write ``succeeded`` and the runs index.

    Raises
    ------
    PublishError
        If ``latest`` could not be moved (the manifest then says ``failed``); an index that cannot be
        written once the run is published is only logged.
    """
    try:
        with runs_lock(runs_root):
            point_latest(run_dir)
            record.manifest.update(status="succeeded", ended=iso(utc_now()))
            record.save()
            write_index(runs_root)
    except OSError as exc:
        if record.manifest["status"] != "succeeded":
            record.finish("failed", f"not published: {runs_root / pb.name / 'latest'} could not be moved to this "
                                    f"run ({exc.strerror or exc})")
            _refresh_index(runs_root)
            raise PublishError(f"the run finished but was not published: {runs_root / pb.name / 'latest'} could "
                               f"not be moved to {run_dir} ({exc.strerror or exc}); its report is {report} "
                               "(scanned, not linked)") from exc
        logger.warning("could not update %s/index.html: %s", runs_root, exc)


def _run(pb: Playbook, plans: list[StepPlan], rules: list[Any], runs_root: Path, *, lock: Any, cache: str | None,
         key_env: str | None, key: str | None, k: int, kernel_name: str, timeout: float | None,
         overrides: dict[str, Any] | None, run_data: RunData | None, fingerprint: str,
         as_of: tuple[str | None, str], previous: Path | None, repaired: list[str],
         other_data: bool = False) -> RunResult:
    """The run itself, once every check passed: run folder, steps, report, scan, publication."""
    started = utc_now()
    # `-p lang en` turns the whole run to English: the notebooks and the report around them
    lang = str((overrides or {}).get("lang") or pb.report.lang)
    run_dir = new_run_dir(runs_root, pb.name, started).resolve()
    lock.holder(run_dir.name, started=iso(started))
    record = _open_record(run_dir, _new_manifest(
        pb, plans, rules, run_dir, started=started, lang=lang, as_of=as_of, kernel_name=kernel_name,
        timeout=timeout, overrides=overrides, run_data=run_data, fingerprint=fingerprint, key_env=key_env, key=key,
        k=k, previous=previous, repaired=repaired))
    try:
        rules_path = _record_inputs(pb, plans, rules, run_dir, record)
        # what the privacy scan searches for is prepared while the steps run (the runner waits meanwhile)
        with ThreadPoolExecutor(1, thread_name_prefix="commlab-scan") as pool:
            scan = pool.submit(_scan_inputs, pb, plans, cache)
            summary = _run_steps(pb, plans, run_dir, record, rules_path=rules_path, previous=previous, cache=cache,
                                 key=key, kernel_name=kernel_name, timeout=timeout)
            report = _write_shareable(pb, plans, run_dir, record, summary, lang=lang, as_of=as_of,
                                      run_data=run_data, k=k, cache=cache, other_data=other_data, scan=scan.result())
        record.manifest["status"] = "publishing"
        record.save()
    except BaseException as exc:
        _end_failed(record, runs_root, exc)
        raise
    _publish(pb, run_dir, report, record, runs_root)
    return RunResult(pb, run_dir, report, record.manifest, summary)


def latest_run(runs_dir: str | Path, playbook: str) -> Path | None:
    """The folder ``runs_dir/playbook/latest`` points at, or ``None``."""
    link = Path(runs_dir) / playbook / "latest"
    return link.resolve() if link.is_symlink() else None

