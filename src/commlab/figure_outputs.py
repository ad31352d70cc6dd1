"""How a figure travels from a notebook output to the report: the names both sides agree on.

:func:`commlab.plots.show.show` writes a figure as one notebook output: ``image/png`` drawn for
the desktop column and, for the figures of the report's client part, :data:`PHONE_MIME`, the
same figure drawn for a phone. :mod:`commlab.report` serves the phone rendering to windows at
most :data:`SMALL_FIGURE_MAX_VIEWPORT` CSS px wide (``<picture>`` with a ``screen`` media query, so
printing, and so ``report.pdf``, always takes the desktop one): phones, and tablets, on which the
desktop rendering would shrink below 9 px text. Kept apart from both so that the report does not
import matplotlib.
"""

from __future__ import annotations

__all__ = ["PHONE_MIME", "PHONE_MAX_VIEWPORT", "SMALL_FIGURE_MAX_VIEWPORT", "PHONE_MEDIA"]

#: The MIME type of a figure's phone rendering inside a notebook output (base64 PNG, as ``image/png``).
PHONE_MIME = "image/x.commlab-phone+png"
#: Windows up to this width (CSS px) get the report's phone layout (tables as cards, one column).
PHONE_MAX_VIEWPORT = 640
#: Windows up to this width (CSS px) get the phone rendering of a figure. A desktop figure is drawn
#: 1:1 for a column of 1,040 px or more (``commlab.plots.show.FULL_WIDTH`` inches at 100 px) with
#: text of at least 7 pt (9.7 px); in a narrower window it shrinks with the column (the window less
#: 48 px of margins): at 1,010 px its text would read 9.0 px, at 800 px 7.0 px, at 641 px 5.5 px.
#: Up to 1,024 px (a tablet held sideways) the phone rendering is shown instead, 1:1 (11 px text).
SMALL_FIGURE_MAX_VIEWPORT = 1024
#: The media query of the phone rendering's ``<source>``: screens only, so print takes the desktop one.
PHONE_MEDIA = f"screen and (max-width: {SMALL_FIGURE_MAX_VIEWPORT}px)"
