"""Colours told apart: one per community in figures that colour communities."""

from __future__ import annotations

import colorsys

from matplotlib import colormaps
from matplotlib.colors import to_hex, to_rgb

__all__ = ["community_colors", "colour_distance"]


def community_colors(n: int) -> list[str]:
    """``n`` distinct colours (hex): matplotlib's ``tab10`` up to 10, ``tab20`` (dark shades first) up to 20,
    then evenly spaced hues at alternating lightness."""
    if n <= 10:
        return [to_hex(c) for c in colormaps["tab10"].colors[:n]]
    if n <= 20:
        tab20 = colormaps["tab20"].colors
        return [to_hex(c) for c in (list(tab20[0::2]) + list(tab20[1::2]))[:n]]
    return [to_hex(colorsys.hls_to_rgb(i / n, 0.38 if i % 2 else 0.6, 0.75)) for i in range(n)]


def colour_distance(a: str, b: str) -> float:
    """Euclidean distance of two colours in CIE L*a*b* (ΔE 1976); below about 10 two lines look alike."""
    def lab(c: str) -> tuple[float, float, float]:
        rgb = [((v + 0.055) / 1.055) ** 2.4 if v > 0.04045 else v / 12.92 for v in to_rgb(c)]
        x = (0.4124 * rgb[0] + 0.3576 * rgb[1] + 0.1805 * rgb[2]) / 0.95047
        y = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
        z = (0.0193 * rgb[0] + 0.1192 * rgb[1] + 0.9505 * rgb[2]) / 1.08883
        f = [v ** (1 / 3) if v > 216 / 24389 else (24389 / 27 * v + 16) / 116 for v in (x, y, z)]
        return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])

    la, lb = lab(a), lab(b)
    return sum((p - q) ** 2 for p, q in zip(la, lb, strict=True)) ** 0.5
