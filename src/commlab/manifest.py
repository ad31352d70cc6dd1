"""What a run records about itself: inputs, versions, code, times.

``manifest.json`` in every run folder lets anyone tell exactly what produced
a report: the sha256 of every input file, the versions of the libraries,
the git commit of the working tree and the resolved parameters of each step.
"""

from __future__ import annotations

import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from commlab.data.io import data_files, sha256_file

__all__ = ["MANIFEST_VERSION", "TRACKED_PACKAGES", "utc_now", "iso", "input_hashes", "versions", "git_commit"]

#: Bumped when the layout of ``manifest.json`` changes incompatibly.
MANIFEST_VERSION = 1

#: Distributions whose versions every manifest records.
TRACKED_PACKAGES: tuple[str, ...] = (
    "commlab", "pandas", "numpy", "scikit-learn", "papermill", "nbconvert", "duckdb",
)


def utc_now() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)


def iso(t: datetime) -> str:
    """``t`` as ISO 8601 in UTC with a ``Z``, to the second."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def input_hashes(*, playbook: Path | None, notebooks: list[Path], data_dir: Path | None) -> dict[str, str]:
    """sha256 of every input file: the playbook, the notebooks, every file under ``data_dir``.

    Returns
    -------
    dict of str to str
        Absolute path to hex sha256, sorted by path. Hidden files in the data
        folder (``.DS_Store``, ``.ipynb_checkpoints``) are skipped.
    """
    files: set[Path] = set()
    if playbook is not None:
        files.add(Path(playbook).resolve())
    files.update(Path(n).resolve() for n in notebooks)
    if data_dir is not None:
        files.update(data_files(Path(data_dir).resolve()))
    return {str(f): sha256_file(f) for f in sorted(files)}


def versions() -> dict[str, str | None]:
    """Versions of Python and of :data:`TRACKED_PACKAGES` (``None`` if not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(folder: str | Path) -> dict[str, str | bool | None]:
    """The git commit checked out in the working tree holding ``folder``.

    Returns
    -------
    dict
        ``{"commit": sha or None, "dirty": bool or None}``; both ``None`` when
        ``folder`` is not in a git repository or git is not installed.
    """
    def git(*args: str) -> str | None:
        try:
            res = subprocess.run(
                ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=20, check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return res.stdout.strip() if res.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}
