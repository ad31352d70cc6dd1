"""How a figure travels from a notebook output to the report: the names both sides agree on.

:func:`commlab.plots.show.show` writes a figure as one notebook output: ``image/png`` drawn for
the desktop column and, for the figures of the report's client part, :data:`PHONE_MIME`, the
same figure drawn for a phone. :mod:`commlab.report` serves the phone rendering to windows at
most :data:`PHONE_MAX_VIEWPORT` CSS px wide (``<picture>`` with a ``screen`` media query, so
printing, and so ``report.pdf``, always takes the desktop one). Kept apart from both so that the
report does not import matplotlib.
"""

from __future__ import annotations

__all__ = ["PHONE_MIME", "PHONE_MAX_VIEWPORT", "PHONE_MEDIA"]

#: The MIME type of a figure's phone rendering inside a notebook output (base64 PNG, as ``image/png``).
PHONE_MIME = "image/x.commlab-phone+png"
#: Windows up to this width (CSS px) get the phone rendering; the report's phone layout starts here too.
PHONE_MAX_VIEWPORT = 640
#: The media query of the phone rendering's ``<source>``: screens only, so print takes the desktop one.
PHONE_MEDIA = f"screen and (max-width: {PHONE_MAX_VIEWPORT}px)"
