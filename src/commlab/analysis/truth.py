"""How well the rule roles and the segments find the roles planted in synthetic data.

``commlab generate`` writes ``truth/member_roles.csv`` beside the tables it generates: the role
each member was generated with. :func:`compare_with_truth` measures the rule roles against it
(accuracy and precision per role) and the segments (adjusted Rand index); on real data there is
no truth file and it returns ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from commlab.analysis.roles import role_accuracy
from commlab.data.schema import Col

__all__ = ["TRUTH_FILE", "TruthComparison", "compare_with_truth"]

#: Where the planted roles sit, relative to the data folder.
TRUTH_FILE = Path("truth") / "member_roles.csv"
_KEYS = [Col.community_id, Col.member_id]


@dataclass(frozen=True)
class TruthComparison:
    """The rule roles and the segments against the planted roles.

    Attributes
    ----------
    ari : float
        Adjusted Rand index of the segments (non-staff members) against the planted roles.
    accuracy : DataFrame
        Per planted role (and ``all``): ``n``, ``correct``, ``accuracy``, ``precision``
        (:func:`commlab.analysis.roles.role_accuracy`).
    """

    ari: float
    accuracy: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """The comparison for ``summary.json``."""
        return {"ari_clusters_vs_planted": self.ari,
                "rule_role_accuracy": self.accuracy["accuracy"].to_dict(),
                "rule_role_accuracy_all": float(self.accuracy.loc["all", "accuracy"])}


def compare_with_truth(data_dir: str | Path, features: pd.DataFrame, roles: pd.Series,
                       segments: np.ndarray) -> TruthComparison | None:
    """Compare the rule roles and the segments with the roles planted in synthetic data.

    Parameters
    ----------
    data_dir : str or Path
        The data folder; its ``truth/member_roles.csv`` (``community_id``, ``member_id``,
        ``planted_role``) is read when it exists.
    features : DataFrame
        One row per member (:func:`commlab.analysis.features.member_features`), with ``is_staff``.
    roles : Series
        The rule role of each row of ``features`` (:func:`commlab.analysis.roles.assign_roles`).
    segments : array of int
        The segment of each non-staff member, in the order of ``features`` without its staff rows
        (``MemberSegmenter.labels_``).

    Returns
    -------
    TruthComparison or None
        ``None`` when the data folder has no planted roles (real data). A planted ``bot`` counts
        as ``staff``, as the rule roles count it.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c04"])
    >>> feats = cl.member_features(ds.events, ds.members, as_of="2024-06-30T16:00:00Z")
    >>> roles = cl.assign_roles(feats)
    >>> members = feats[~feats["is_staff"]].reset_index(drop=True)
    >>> seg = cl.MemberSegmenter(random_state=0).fit(cl.segment_matrix(members), profile_features=members)
    >>> truth = cl.compare_with_truth("data/samples", feats, roles, seg.labels_)
    >>> 0 < truth.ari < 1, int(truth.accuracy.loc["all", "n"]) == len(feats)
    (True, True)
    >>> cl.compare_with_truth("data/no-such-folder", feats, roles, seg.labels_) is None
    True
    """
    path = Path(data_dir) / TRUTH_FILE
    if not path.exists():
        return None
    truth = pd.read_csv(path, dtype={Col.community_id: str, Col.member_id: str, "planted_role": str})
    planted = features[_KEYS].merge(truth, how="left", on=_KEYS)
    planted_role = planted["planted_role"].replace({"bot": "staff"})
    accuracy = role_accuracy(roles, planted_role)
    planted_members = planted_role[~features["is_staff"]].reset_index(drop=True)
    return TruthComparison(ari=adjusted_rand_score(planted_members, segments), accuracy=accuracy)
