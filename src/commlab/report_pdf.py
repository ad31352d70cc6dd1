"""``report.pdf``: the client part of ``report.html`` printed to A4 by headless Chromium.

The report's print stylesheet (``templates/report/report.css``) does the layout: A4 pages, the
client part only (the appendix is left to the HTML), each section from a new page, colours kept.
Chromium embeds the fonts it used (Noto Sans CJK for Chinese), so the PDF reads the same
everywhere. The page is the very ``report.html`` the privacy scan has read: the PDF shows nothing
that file does not.

Chromium is the system's (Debian's ``chromium``; ``chromium-browser``, ``google-chrome`` are also
looked for on ``PATH``), run with ``--print-to-pdf``: no browser download, no network (the page's
Content-Security-Policy forbids any load but ``data:`` images, and Chromium's background
services are switched off). Where it is missing or fails, :func:`write_pdf` raises
:class:`PdfUnavailable`, which the runner turns into a warning in the manifest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from commlab.errors import CommlabError

__all__ = ["PdfUnavailable", "find_chromium", "write_pdf", "CHROMIUM_NAMES"]

#: Executables looked for on ``PATH``, in this order.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = ["--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
          "--no-pdf-header-footer",
          # the page loads in a desktop-wide window, so each <picture> picks the desktop rendering of a
          # figure before printing (Chromium's default 800 px window is a tablet, which gets the phone one)
          "--window-size=1280,1024"]


class PdfUnavailable(CommlabError):
    """``report.pdf`` could not be written (no Chromium, or Chromium failed); the run goes on without it."""

    exit_code = 1


def find_chromium() -> str | None:
    """Path of a Chromium (or Chrome) executable on ``PATH``, else ``None``."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def write_pdf(report_html: str | Path, pdf: str | Path | None = None, *, timeout: float = 180) -> Path:
    """Print ``report_html`` (its client part, by its print stylesheet) to ``pdf`` on A4.

    Parameters
    ----------
    report_html : str or Path
        The written (and scanned) ``report.html``.
    pdf : str or Path, optional
        Where to write; default ``report.pdf`` beside ``report_html``. Written under a temporary
        name and renamed, so a reader never sees half a PDF.
    timeout : float, default 180
        Seconds Chromium may take.

    Returns
    -------
    Path
        The PDF written.

    Raises
    ------
    PdfUnavailable
        If no Chromium is installed, or it fails, times out or writes nothing.
    """
    html = Path(report_html).resolve()
    out = Path(pdf) if pdf is not None else html.with_suffix(".pdf")
    chromium = find_chromium()
    if chromium is None:
        raise PdfUnavailable(
            "Chromium is not installed, so report.pdf was not written; install Debian's `chromium` "
            "and `fonts-noto-cjk` (`make browser` as root) and run again")
    with tempfile.TemporaryDirectory(prefix="commlab-pdf-") as profile:
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        flags = [*_FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={tmp}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            flags.append("--no-sandbox")  # Chromium refuses to start its sandbox as root
        try:
            proc = subprocess.run([chromium, *flags, html.as_uri()], capture_output=True, text=True,
                                  timeout=timeout, check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            tmp.unlink(missing_ok=True)
            raise PdfUnavailable(f"Chromium did not print {html.name} within {timeout:g} s; "
                                 "report.pdf was not written") from None
        except OSError as exc:
            raise PdfUnavailable(f"could not start Chromium ({chromium}): {exc}; report.pdf was not written") from None
        if proc.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
            tmp.unlink(missing_ok=True)
            last = next((ln for ln in reversed(proc.stderr.splitlines()) if ln.strip()), "")
            raise PdfUnavailable(f"Chromium failed to print {html.name} (exit {proc.returncode}"
                                 f"{': ' + last.strip() if last else ''}); report.pdf was not written")
        os.replace(tmp, out)
    return out
