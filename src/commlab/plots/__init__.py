"""Figures, as ``cl.plots``. Each function takes ``ax=None`` and returns the Axes; no global ``plt`` state.

Show a figure in a notebook with :func:`commlab.nb.show` (``cl.nb.show``), which sizes it for the
report and adds its alt text. Chinese labels need a CJK font: call :func:`setup_fonts` once, at the
top of a notebook (``cl.plots.setup_fonts()``), before drawing.

The plot functions are imported on first use (PEP 562), from the module of their topic:
:mod:`~commlab.plots.overview`, :mod:`~commlab.plots.segments`, :mod:`~commlab.plots.health` and
:mod:`~commlab.plots.forecast`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from commlab.plots.fonts import CJK_FAMILY, setup_fonts

#: Public name -> the module that defines it (sorted by topic).
_API: dict[str, str] = {
    # overview (notebook 01)
    "plot_daily_activity": "commlab.plots.overview",
    "plot_weekday_hour": "commlab.plots.overview",
    # member segments (notebook 02)
    "plot_k_scores": "commlab.plots.segments",
    "plot_segment_sizes": "commlab.plots.segments",
    "plot_profile_heatmap": "commlab.plots.segments",
    "plot_projection": "commlab.plots.segments",
    "plot_crosstab": "commlab.plots.segments",
    "plot_transition_heatmap": "commlab.plots.segments",
    "plot_p_alive": "commlab.plots.segments",
    "plot_stability": "commlab.plots.segments",
    # community health and types (notebooks 03, 04)
    "plot_metric_heatmap": "commlab.plots.health",
    "plot_cohort_retention": "commlab.plots.health",
    "plot_network": "commlab.plots.health",
    "plot_network_pair": "commlab.plots.health",
    "plot_economy_index": "commlab.plots.health",
    "plot_high_value": "commlab.plots.health",
    "plot_fingerprint": "commlab.plots.health",
    # early warning (notebook 06)
    "plot_auc_by_horizon": "commlab.plots.forecast",
    "plot_calibration": "commlab.plots.forecast",
}

__all__ = [
    "CJK_FAMILY",
    "setup_fonts",
    "plot_daily_activity",
    "plot_weekday_hour",
    "plot_k_scores",
    "plot_segment_sizes",
    "plot_profile_heatmap",
    "plot_projection",
    "plot_crosstab",
    "plot_transition_heatmap",
    "plot_p_alive",
    "plot_stability",
    "plot_metric_heatmap",
    "plot_cohort_retention",
    "plot_network",
    "plot_network_pair",
    "plot_economy_index",
    "plot_high_value",
    "plot_fingerprint",
    "plot_auc_by_horizon",
    "plot_calibration",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names come from __getattr__
    from commlab.plots.forecast import plot_auc_by_horizon, plot_calibration
    from commlab.plots.health import (
        plot_cohort_retention,
        plot_economy_index,
        plot_fingerprint,
        plot_high_value,
        plot_metric_heatmap,
        plot_network,
        plot_network_pair,
    )
    from commlab.plots.overview import plot_daily_activity, plot_weekday_hour
    from commlab.plots.segments import (
        plot_crosstab,
        plot_k_scores,
        plot_p_alive,
        plot_profile_heatmap,
        plot_projection,
        plot_segment_sizes,
        plot_stability,
        plot_transition_heatmap,
    )


def __getattr__(name: str) -> Any:
    """Import a plot function on first use (PEP 562) and keep it in the package's namespace."""
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'commlab.plots' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
