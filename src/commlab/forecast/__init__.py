"""Early warning: forecast which young communities will die, check the forecast honestly, and say why.

* :mod:`commlab.forecast.outcomes` — a community's fate as a label (a file, a column, or a rule on
  later activity), and panels read from files;
* :mod:`commlab.forecast.features` — level and trend features of the first *k* periods;
* :mod:`commlab.forecast.model` — :class:`CommunityForecaster` (scikit-learn);
* :mod:`commlab.forecast.evaluate` — repeated cross-validation per horizon against a baseline;
* :mod:`commlab.forecast.explain` — the metrics that push a community's risk, linked to the plays of
  the rule library (``DOMAIN.md`` §4).

The panel itself is :func:`commlab.analysis.panel.community_panel`.
"""

from commlab.forecast.evaluate import ForecastEvaluation, evaluate_forecaster
from commlab.forecast.features import horizon_features
from commlab.forecast.model import CommunityForecaster
from commlab.forecast.outcomes import (
    derive_outcomes,
    outcomes_from_column,
    read_outcomes,
    read_panel,
    trim_to_outcome_window,
)

__all__ = [
    "CommunityForecaster",
    "ForecastEvaluation",
    "evaluate_forecaster",
    "horizon_features",
    "derive_outcomes",
    "outcomes_from_column",
    "read_outcomes",
    "read_panel",
    "trim_to_outcome_window",
]
