"""Figures as the report shows them: sized for its content column, rendered sharp, with alt text.

The report's content column is about :data:`CONTENT_PX` CSS pixels wide in a 1280 px window
(measured in headless Chromium: the notebook output area was 1,090 px; in the two-layer report the
client part is 1,092 px and an opened appendix section 1,061 px, the narrowest place a figure is
shown on a desktop). A figure inch is shown as
:data:`PX_PER_INCH` CSS pixels, so a point of text is ``PX_PER_INCH / 72`` px and
:data:`FULL_WIDTH` inches fill the column. :func:`show` renders the PNG at :data:`RENDER_SCALE`
times that (sharp on high-density screens), tells the page its CSS width, and gives it alt text,
so the browser neither enlarges nor shrinks it on a desktop: text keeps the size it was drawn at.

On a phone (a window at most :data:`PHONE_MAX_VIEWPORT` px wide) the column is about 364 px: a
figure drawn for the desktop would shrink to a third, its text to 3-4 px. The figures of the
report's client part are therefore drawn a second time for the phone (the plot functions take
``phone=True``: :data:`PHONE_WIDTH` inches, fewer ticks, legends under the plot, no text under
:data:`PHONE_MIN_FONT_PT`), and ``show(desktop, phone=phone_figure)`` puts both renderings in one
output: ``image/png`` (what Jupyter and the PDF show) and
:data:`~commlab.figure_outputs.PHONE_MIME` (what
:mod:`commlab.report` serves through ``<picture>`` to screens at most
:data:`~commlab.figure_outputs.SMALL_FIGURE_MAX_VIEWPORT` px wide: phones, and tablets, where the
desktop rendering would shrink below 9 px text).

Plot functions describe what they draw with :func:`set_alt`; :func:`show` uses that text unless
given another. :func:`drawn_texts` lists every text a figure draws with its size at display size
(the check behind "no text under 9 px" and the language checks of figures).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from commlab.errors import InvalidArgument
from commlab.figure_outputs import PHONE_MAX_VIEWPORT, PHONE_MIME

__all__ = [
    "CONTENT_PX", "PX_PER_INCH", "FULL_WIDTH", "RENDER_SCALE", "MIN_TEXT_PX", "MIN_FONT_PT",
    "PHONE_PX", "PHONE_WIDTH", "PHONE_MIN_FONT_PT", "PHONE_MIME", "PHONE_MAX_VIEWPORT",
    "DrawnText", "set_alt", "alt_text", "drawn_texts", "render", "show",
]

#: Width (CSS px) of the narrowest column a report shows figures in, in a 1280 px window.
CONTENT_PX = 1060
#: CSS pixels per figure inch (matplotlib's default figure dpi, as the report shows PNGs 1:1).
PX_PER_INCH = 100
#: Figure width (inches) that fills the content column, with room for the saved margins.
FULL_WIDTH = 10.4
#: PNG pixels per CSS pixel.
RENDER_SCALE = 2
#: Smallest text allowed at display size (CSS px).
MIN_TEXT_PX = 9.0
#: The smallest font size the plot functions use: 7 pt = 9.7 px at :data:`PX_PER_INCH`.
MIN_FONT_PT = 7.0
#: Width (CSS px) of the report's column in the narrowest phone window it is designed for (360 px,
#: less the page's margins): a phone figure at most this wide is never shrunk on such a phone.
PHONE_PX = 334
#: Figure width (inches) of a phone rendering (at most :data:`PHONE_PX` once saved).
PHONE_WIDTH = 3.3
#: The smallest font size of a phone rendering: 8 pt = 11.1 CSS px shown 1:1 (10 px still on the
#: rare window narrower than 360 px).
PHONE_MIN_FONT_PT = 8.0

_ALT = "_commlab_alt"


def _figure(fig: Figure | Axes) -> Figure:
    return fig.figure if isinstance(fig, Axes) else fig  # type: ignore[return-value]


def set_alt(fig: Figure | Axes, text: str) -> None:
    """Give the figure (of ``fig``) its alt text: what it shows, in the report's language.

    Several calls (a figure of several panels) join their texts in order.
    """
    f = _figure(fig)
    parts = [p for p in getattr(f, _ALT, []) if p != text]
    setattr(f, _ALT, [*parts, text])


def alt_text(fig: Figure | Axes) -> str:
    """The alt text given with :func:`set_alt` (empty when none)."""
    return " ".join(getattr(_figure(fig), _ALT, []))


@dataclass(frozen=True)
class DrawnText:
    """A text a figure draws: its string and its size in points."""

    text: str
    points: float

    def px(self, scale: float = 1.0) -> float:
        """Height of the font at display size (CSS px), the figure shown at ``scale`` of its natural width."""
        return self.points * PX_PER_INCH / 72 * scale


@contextmanager
def _recording() -> Iterator[dict[int, list[DrawnText]]]:
    """Record every ``draw_text`` call of the Agg renderers, per renderer, while the block runs."""
    from matplotlib.backends.backend_agg import RendererAgg

    seen: dict[int, list[DrawnText]] = {}
    original = RendererAgg.draw_text

    def record(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):  # noqa: ANN001, ANN202
        if str(s).strip():
            seen.setdefault(id(self), []).append(DrawnText(str(s), float(prop.get_size_in_points())))
        return original(self, gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    RendererAgg.draw_text = record  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        RendererAgg.draw_text = original  # type: ignore[method-assign]


def drawn_texts(fig: Figure | Axes) -> list[DrawnText]:
    """Every non-blank text the figure draws (tick labels, titles, legends, cell values), with its size.

    The texts are recorded as the figure is drawn, so ticks outside the view and hidden artists,
    which are never drawn, are not counted.
    """
    return render(fig)[2]


def _png_size(data: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def render(fig: Figure | Axes) -> tuple[bytes, int, list[DrawnText]]:
    """The figure as PNG bytes at :data:`RENDER_SCALE`, the CSS width it is shown at, and the texts it draws."""
    f = _figure(fig)
    buf = io.BytesIO()
    with _recording() as seen:
        f.savefig(buf, format="png", dpi=PX_PER_INCH * RENDER_SCALE, bbox_inches="tight", pad_inches=0.08,
                  facecolor="white")
    data = buf.getvalue()
    texts = list(seen.values())[-1] if seen else []  # the last renderer drew the saved image
    return data, round(_png_size(data)[0] / RENDER_SCALE), texts


def _measures(width: int, texts: list[DrawnText], column: int) -> dict:
    scale = min(1.0, column / width)
    return {"display_width": round(width * scale), "scale": round(scale, 4),
            "min_text_px": round(min((t.px(scale) for t in texts), default=0.0), 2),
            "texts": [t.text for t in texts]}


def show(fig: Figure | Axes, *, alt: str | None = None, phone: Figure | Axes | None = None) -> None:
    """Display the figure for the report and close it (and its phone rendering, if given).

    The output is an ``image/png`` whose metadata holds ``width`` (CSS px: the figure's natural
    size, never wider than the column on purpose), ``alt`` (the report's alt text) and
    ``commlab``: the display scale and the smallest text at display size (``min_text_px``),
    with the figure's texts, for the tests of the executed notebooks. With ``phone``, the same
    output also carries that figure as :data:`PHONE_MIME`, its metadata measured against the
    phone column (:data:`PHONE_PX`); Jupyter shows the ``image/png``.

    Parameters
    ----------
    fig : Figure or Axes
        The figure as drawn for the desktop column.
    alt : str, optional
        Alt text; default: the figure's own (:func:`set_alt`).
    phone : Figure or Axes, optional
        The same figure drawn for a phone (a plot function's ``phone=True``).

    Raises
    ------
    ValueError
        When the figure has no alt text (a plot function or the caller must describe it).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import commlab as cl
    >>> fig, ax = plt.subplots(figsize=(4, 2))
    >>> cl.nb.show(ax, alt="An empty plot.")  # outside Jupyter: the output's data
    {'image/png': '...'}
    """
    import base64

    from IPython.display import display

    f = _figure(fig)
    alt = alt or alt_text(f)
    if not alt.strip():
        plt.close(f)
        if phone is not None:
            plt.close(_figure(phone))
        raise InvalidArgument("a figure shown in a report needs alt text: pass alt= or call set_alt()")
    data, width, texts = render(f)
    plt.close(f)
    bundle = {"image/png": base64.b64encode(data).decode("ascii")}
    meta = {"image/png": {"width": width, "alt": alt, "commlab": _measures(width, texts, CONTENT_PX)}}
    if phone is not None:
        p = _figure(phone)
        p_data, p_width, p_texts = render(p)
        plt.close(p)
        bundle[PHONE_MIME] = base64.b64encode(p_data).decode("ascii")
        meta[PHONE_MIME] = {"width": p_width, "commlab": _measures(p_width, p_texts, PHONE_PX)}
    display(bundle, raw=True, metadata=meta)
