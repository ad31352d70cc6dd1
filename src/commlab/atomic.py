"""Atomic file writes and symlink swaps for run folders.

A reader (a browser, a scheduler, another run) sees either the old file or
the complete new one, never a half-written file: content goes to a
temporary file in the same folder, is flushed to disk, then ``os.replace``
puts it in place (an atomic rename on POSIX).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_json", "replace_symlink"]


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return ``path``.

    Parameters
    ----------
    path : str or Path
        Destination; its folder must exist.
    data : bytes
        The complete new content.

    Raises
    ------
    OSError
        As the system raised it, but always naming ``path`` (a full disk's ``write`` names no file).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if exc.filename is None or str(exc.filename) == str(tmp):
            raise type(exc)(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return ``path``."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any, *, default: Callable[[Any], Any] | None = str) -> Path:
    """Write ``obj`` as indented UTF-8 JSON (non-ASCII kept readable) atomically: the one JSON writer.

    Parameters
    ----------
    path : str or Path
        Destination; its folder must exist.
    obj : object
        What to write.
    default : callable or None, default str
        How a value JSON cannot hold is written (as :func:`json.dumps`); ``None``: such a value
        raises ``TypeError`` and nothing is written.
    """
    return atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2, default=default) + "\n")


def replace_symlink(link: str | Path, target: str | Path) -> Path:
    """Point the symlink ``link`` at ``target`` atomically.

    A temporary symlink is created beside ``link`` and renamed over it, so
    ``link`` always exists and always points at a complete target, even if
    the process dies in between.

    Parameters
    ----------
    link : str or Path
        The symlink to create or replace (for example ``runs/demo/latest``).
    target : str or Path
        What it should point at, stored as given (pass a relative path for a
        relocatable link).
    """
    link = Path(link)
    tmp = link.with_name(f".{link.name}.{secrets.token_hex(4)}.tmp")
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return link
