"""commlab: a research and playbook kit for community operations (社群运营).

The public API, for a notebook or a script::

    import pandas as pd

    import commlab as cl

    as_of = pd.Timestamp("2024-06-30T16:00:00Z")
    ds = cl.load_dataset("data/samples")
    features = cl.member_features(ds.events, ds.members, as_of=as_of)
    metrics = cl.compute_metrics(ds, as_of=as_of, window=None)
    rfm = cl.rfm_from_events(ds.events, as_of)
    p_alive = cl.BetaGeoModel().fit(rfm).p_alive(rfm)

Every name in :data:`__all__` is documented with an example. They are imported lazily (PEP 562): ``import
commlab`` loads none of pandas, DuckDB or scikit-learn; the first use of a name imports its module.

Two documented sub-namespaces hold the report side of a notebook, loaded on first use too:

* ``cl.nb`` (:mod:`commlab.nb`): show tables with small groups suppressed and figures, the report's
  words and numbers, ``summary.json``;
* ``cl.plots`` (:mod:`commlab.plots`): the figures; ``cl.plots.setup_fonts()`` sets up the CJK font.

A notebook needs nothing else from commlab: ``import commlab as cl`` is its only commlab import.

The package is layered; imports run one way only::

    cli -> runner / report -> playbook / rules -> analysis -> data

See the README for the quick start and ``commlab --help`` for the command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_API: dict[str, str] = {
    # data in
    "Dataset": "commlab.data.dataset",
    "load_dataset": "commlab.data.load",
    "load_source": "commlab.sources",
    "import_source": "commlab.importers",
    "generate": "commlab.data.generate",
    "as_utc": "commlab.instant",
    # a first look (notebook 01)
    "community_table": "commlab.analysis.overview",
    "activity_summary": "commlab.analysis.overview",
    "daily_activity": "commlab.analysis.overview",
    "weekday_hour": "commlab.analysis.overview",
    "activity_overview": "commlab.analysis.overview",
    "Settings": "commlab.settings",
    "settings_from_env": "commlab.settings",
    # members
    "member_features": "commlab.analysis.features",
    "participation_inequality": "commlab.analysis.features",
    "RoleThresholds": "commlab.analysis.roles",
    "assign_roles": "commlab.analysis.roles",
    "buyer_flag": "commlab.analysis.roles",
    "role_counts": "commlab.analysis.roles",
    "role_transitions": "commlab.analysis.transitions",
    "MemberSegmenter": "commlab.analysis.segment",
    "segment_matrix": "commlab.analysis.segment",
    "member_segments_table": "commlab.analysis.segment",
    "compare_with_truth": "commlab.analysis.truth",
    "BetaGeoModel": "commlab.analysis.lifecycle",
    "rfm_from_events": "commlab.analysis.lifecycle",
    "member_p_alive": "commlab.analysis.lifecycle",
    "zombie_share": "commlab.analysis.lifecycle",
    # communities
    "list_metrics": "commlab.analysis.metrics",
    "compute_metrics": "commlab.analysis.compute",
    "community_graph": "commlab.analysis.network",
    "compare_groups": "commlab.analysis.compare",
    "test_hypotheses": "commlab.analysis.hypotheses",
    "get_engine": "commlab.engines",
    "community_health": "commlab.display_health",
    "compare_types": "commlab.display_types",
    # reply links in chat logs
    "infer_replies": "commlab.replies.infer",
    "drop_inferred": "commlab.replies.infer",
    "ReplyModel": "commlab.replies.model",
    "score_links": "commlab.replies.corpus",
    "read_annotation": "commlab.replies.corpus",
    "LinkScore": "commlab.replies.corpus",
    # recommendations and runs
    "build_facts": "commlab.recommend",
    "default_rules": "commlab.rules",
    "load_rules": "commlab.rules",
    "executive_summary": "commlab.recommend",
    "read_previous": "commlab.recommend",
    "early_warning": "commlab.forecast.sections",
    "run_playbook": "commlab.runner",
    # errors and warnings
    "CommlabError": "commlab.errors",
    "UsageError": "commlab.errors",
    "DataValidationError": "commlab.errors",
    "Problem": "commlab.errors",
    "PlaybookError": "commlab.errors",
    "ParameterError": "commlab.errors",
    "NotebookExecutionError": "commlab.errors",
    "RunLockedError": "commlab.errors",
    "PrivacyLeakError": "commlab.errors",
    "EngineNotFound": "commlab.errors",
    "MetricNotFound": "commlab.errors",
    "MissingDependency": "commlab.errors",
    "InvalidArgument": "commlab.errors",
    "InvalidType": "commlab.errors",
    "NotFound": "commlab.errors",
    "SourceFormatError": "commlab.errors",
    "ImportFormatError": "commlab.errors",
    "PublishError": "commlab.errors",
    "TranspileError": "commlab.errors",
    "NotFittedError": "commlab.errors",
    "CommlabWarning": "commlab.errors",
    "ConvergenceWarning": "commlab.errors",
}

__all__ = [
    "__version__",
    "Dataset",
    "load_dataset",
    "load_source",
    "import_source",
    "generate",
    "as_utc",
    "community_table",
    "activity_summary",
    "daily_activity",
    "weekday_hour",
    "activity_overview",
    "Settings",
    "settings_from_env",
    "member_features",
    "participation_inequality",
    "RoleThresholds",
    "assign_roles",
    "buyer_flag",
    "role_counts",
    "role_transitions",
    "MemberSegmenter",
    "segment_matrix",
    "member_segments_table",
    "compare_with_truth",
    "BetaGeoModel",
    "rfm_from_events",
    "member_p_alive",
    "zombie_share",
    "list_metrics",
    "compute_metrics",
    "community_graph",
    "compare_groups",
    "test_hypotheses",
    "get_engine",
    "community_health",
    "compare_types",
    "infer_replies",
    "drop_inferred",
    "ReplyModel",
    "score_links",
    "read_annotation",
    "LinkScore",
    "build_facts",
    "default_rules",
    "load_rules",
    "executive_summary",
    "read_previous",
    "early_warning",
    "run_playbook",
    "CommlabError",
    "UsageError",
    "DataValidationError",
    "Problem",
    "PlaybookError",
    "ParameterError",
    "NotebookExecutionError",
    "RunLockedError",
    "PrivacyLeakError",
    "EngineNotFound",
    "MetricNotFound",
    "MissingDependency",
    "InvalidArgument",
    "InvalidType",
    "NotFound",
    "SourceFormatError",
    "ImportFormatError",
    "PublishError",
    "TranspileError",
    "NotFittedError",
    "CommlabWarning",
    "ConvergenceWarning",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names come from __getattr__
    from commlab.analysis.compare import compare_groups
    from commlab.analysis.compute import compute_metrics
    from commlab.analysis.features import member_features, participation_inequality
    from commlab.analysis.hypotheses import test_hypotheses
    from commlab.analysis.lifecycle import BetaGeoModel, member_p_alive, rfm_from_events, zombie_share
    from commlab.analysis.metrics import list_metrics
    from commlab.analysis.network import community_graph
    from commlab.analysis.overview import (
        activity_overview,
        activity_summary,
        community_table,
        daily_activity,
        weekday_hour,
    )
    from commlab.analysis.roles import RoleThresholds, assign_roles, buyer_flag, role_counts
    from commlab.analysis.segment import MemberSegmenter, member_segments_table, segment_matrix
    from commlab.analysis.transitions import role_transitions
    from commlab.analysis.truth import compare_with_truth
    from commlab.data.generate import generate
    from commlab.data.load import Dataset, load_dataset
    from commlab.display_health import community_health
    from commlab.display_types import compare_types
    from commlab.engines import get_engine
    from commlab.errors import (
        CommlabError,
        CommlabWarning,
        ConvergenceWarning,
        DataValidationError,
        EngineNotFound,
        ImportFormatError,
        InvalidArgument,
        InvalidType,
        MetricNotFound,
        MissingDependency,
        NotebookExecutionError,
        NotFittedError,
        NotFound,
        ParameterError,
        PlaybookError,
        PrivacyLeakError,
        Problem,
        PublishError,
        RunLockedError,
        SourceFormatError,
        TranspileError,
        UsageError,
    )
    from commlab.forecast.sections import early_warning
    from commlab.importers import import_source
    from commlab.instant import as_utc
    from commlab.recommend import build_facts, executive_summary, read_previous
    from commlab.replies.corpus import LinkScore, read_annotation, score_links
    from commlab.replies.infer import drop_inferred, infer_replies
    from commlab.replies.model import ReplyModel
    from commlab.rules import default_rules, load_rules
    from commlab.runner import run_playbook
    from commlab.settings import Settings, settings_from_env
    from commlab.sources import load_source


#: The documented sub-namespaces, imported on first use like the names of :data:`__all__`.
_NAMESPACES: dict[str, str] = {
    "nb": "commlab.nb",
    "plots": "commlab.plots",
}


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562) and keep it in the module's namespace."""
    if name in _NAMESPACES:
        return importlib.import_module(_NAMESPACES[name])
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'commlab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API) | set(_NAMESPACES))
