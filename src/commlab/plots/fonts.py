"""The CJK font for figures.

The project depends on the ``cvttf-notosanscjk-regular`` wheel, which ships Noto Sans CJK
(OFL licensed; every CJK glyph, simplified included). :func:`setup_fonts` registers it with
matplotlib and puts it first in the sans-serif list, so Chinese labels never fall back to
empty boxes. A system font (e.g. Debian's ``fonts-noto-cjk``) is used when present instead.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib
from matplotlib import font_manager

__all__ = ["CJK_FAMILY", "setup_fonts", "cjk_font_path"]

#: Family names tried in order; the first one matplotlib knows wins.
CJK_CANDIDATES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "SimHei",
)
CJK_FAMILY = "Noto Sans CJK TC"


def cjk_font_path() -> Path | None:
    """Path of the bundled Noto Sans CJK font file, or ``None`` if the wheel is absent."""
    spec = importlib.util.find_spec("cvttf_NotoSansCJK_Regular")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "NotoSansCJKtc-Regular.otf"
    return path if path.exists() else None


def setup_fonts() -> str | None:
    """Register a CJK font with matplotlib and make it the default sans-serif.

    Call it once before drawing (a notebook's first cell does): it changes matplotlib's global
    settings (``rcParams``), which importing :mod:`commlab.plots` does not.

    Returns
    -------
    str or None
        The family name in use, or ``None`` when no CJK font could be found.

    Examples
    --------
    >>> import matplotlib
    >>> import commlab as cl
    >>> family = cl.plots.setup_fonts()
    >>> family is None or matplotlib.rcParams["font.sans-serif"][0] == family
    True
    """
    path = cjk_font_path()
    if path is not None:
        try:
            font_manager.fontManager.addfont(str(path))
        except (OSError, RuntimeError):  # a broken file: fall back to system fonts
            pass
    known = {f.name for f in font_manager.fontManager.ttflist}
    family = next((name for name in CJK_CANDIDATES if name in known), None)
    if family is None:
        return None
    rc = matplotlib.rcParams
    rc["font.family"] = "sans-serif"
    rc["font.sans-serif"] = [family] + [f for f in rc["font.sans-serif"] if f != family]
    rc["axes.unicode_minus"] = False
    return family
