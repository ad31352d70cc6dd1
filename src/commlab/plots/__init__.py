"""Figures. Each function takes ``ax=None`` and returns the Axes; no global ``plt`` state.

Importing this package registers the bundled CJK font with matplotlib, so Chinese
labels render without any manual step.
"""

from commlab.plots.fonts import CJK_FAMILY, setup_fonts

setup_fonts()

__all__ = ["CJK_FAMILY", "setup_fonts"]
