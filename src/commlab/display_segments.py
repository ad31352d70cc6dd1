"""What the member-segments notebook shows of each step, as ``cl.nb.SegmentsReport``.

The analysis stays in the notebook's cells, over the public API (``cl.assign_roles``,
``cl.MemberSegmenter``, ``cl.BetaGeoModel``, ...); each ``show_*`` method shows one step's result
in the report: its sentence in the report language, its figure and its table, with every group
of fewer than ``k`` members suppressed (:func:`commlab.nb.show_table`) and said so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from commlab.analysis.features import FEATURES
from commlab.analysis.roles import ROLE, ROLE_ORDER, role_counts
from commlab.analysis.segment import MemberSegmenter, project_2d
from commlab.analysis.transitions import transition_matrix
from commlab.analysis.truth import TruthComparison
from commlab.data.schema import Col
from commlab.display import show_table, table
from commlab.fmt import count, kind_of_unit, number, percent
from commlab.i18n import t
from commlab.plots.segments import (
    plot_crosstab,
    plot_k_scores,
    plot_p_alive,
    plot_profile_heatmap,
    plot_projection,
    plot_segment_sizes,
    plot_stability,
    plot_transition_heatmap,
    tr,
)
from commlab.plots.show import show
from commlab.privacy import check_k, format_count, suppress_small_groups, suppress_table, suppression_note

__all__ = ["SegmentsReport"]

#: How the segment table is suppressed: a segment is a group of ``size`` members; its rule text
#: describes them; its number labels it.
SEGMENT_PRIVACY: dict[str, Any] = {"size": "size", "derived": ["rule", "rule_zh"], "keep": ["segment"]}
#: How the participation-inequality table is suppressed: a share of never/once posters gives a count.
INEQUALITY_PRIVACY: dict[str, Any] = {"size": "members", "shares": {"never_share": "members", "once_share": "members"}}
_SHARES = ["never_share", "once_share", "top1_share", "next9_share", "rest90_share"]


def _markdown(text: str) -> None:
    from IPython.display import Markdown, display

    display(Markdown(text))


class SegmentsReport:
    """The report of member segments in one language, groups of fewer than ``k`` members suppressed.

    Parameters
    ----------
    k : int
        Smallest group shown (at least :data:`commlab.privacy.MIN_K`).
    lang : str
        ``"zh"`` or ``"en"``.

    Examples
    --------
    >>> import pandas as pd
    >>> import commlab as cl
    >>> report = cl.nb.SegmentsReport(k=5, lang="en")
    >>> roles = pd.Series(["core"] * 3 + ["lurker"] * 40)
    >>> report.show_roles(roles, pd.Series([True] * 2 + [False] * 41))  # outside Jupyter: the reprs
    <pandas.io.formats.style.Styler object at 0x...>
    <IPython.core.display.Markdown object>
    <IPython.core.display.Markdown object>
    >>> report.roles_summary(roles)[["core", "lurker", "zombie"]].tolist()
    [nan, 40.0, 0.0]
    """

    def __init__(self, k: int, lang: str) -> None:
        self.k = check_k(k)
        self.lang = lang

    # ---- rule roles -----------------------------------------------------------------------------
    def role_table(self, roles: pd.Series) -> pd.DataFrame:
        """Members and share of each rule role, every role listed, labelled in the report language."""
        counts = role_counts(roles)
        return pd.DataFrame({
            "role": [ROLE.label(r, self.lang) for r in counts.index],
            "members": counts.to_numpy(),
            "share": (counts / len(roles)).to_numpy(),
        })

    def roles_summary(self, roles: pd.Series) -> pd.Series:
        """Members per rule role for ``summary.json``: a count below ``k`` (but above 0) is ``None``."""
        return suppress_small_groups(role_counts(roles), k=self.k)

    def show_roles(self, roles: pd.Series, is_buyer: pd.Series) -> None:
        """The rule roles' table (members, share) and the paying members' count, small counts hidden."""
        lang = self.lang
        privacy = {"counts": ["members"], "linked": {"members": ["share"]}}  # a share gives its count back
        show_table(self.role_table(roles), self.k, lang, privacy=privacy,
                   kinds={"members": "count", "share": "share"},
                   labels={"role": tr("role", lang), "members": t("members", lang), "share": t("share", lang)})
        _markdown(t("seg_buyers_line", lang).format(label=ROLE.label("buyer", lang),
                                                    n=format_count(is_buyer.sum(), self.k)))

    # ---- segments -------------------------------------------------------------------------------
    def show_k_choice(self, seg: MemberSegmenter, *, n_members: int, k_min: int, k_max: int) -> None:
        """How the number of segments was chosen (or that it was fixed), with the scores of each k tried."""
        lang, method, fixed = self.lang, seg.method, seg.n_clusters != "auto"
        key = "seg_too_few" if seg.too_few_ else "seg_choice_fixed" if fixed else "seg_choice"
        _markdown(t(key, lang).format(method=t(f"seg_method_{method}", lang), n=count(n_members), k=seg.n_clusters_,
                                      lo=k_min, hi=k_max, criterion=t(f"seg_criterion_{method}", lang)))
        if not seg.too_few_:
            show(plot_k_scores(seg.k_scores_, seg.n_clusters_, lang=lang))

    @staticmethod
    def segment_table(seg: MemberSegmenter) -> pd.DataFrame:
        """Each segment's number, names, naming rule, size and share."""
        return seg.segment_names_.join(seg.profile_[["size", "share"]], on="segment")

    def segments_summary(self, seg: MemberSegmenter) -> pd.DataFrame:
        """:meth:`segment_table` for ``summary.json``: the values of segments below ``k`` missing."""
        return suppress_small_groups(self.segment_table(seg), "size", self.k, derived=SEGMENT_PRIVACY["derived"],
                                     keep=SEGMENT_PRIVACY["keep"])

    def show_segments(self, seg: MemberSegmenter) -> None:
        """The segments' sizes (a bar chart unless there is one segment) and their names with the rule."""
        lang, zh = self.lang, self.lang == "zh"
        if not seg.too_few_:  # one segment: its bar would only show the member count
            show(plot_segment_sizes(seg.profile_, seg.segment_names_, lang=lang, k=self.k))
        name_col = "name_zh" if zh else "name_en"
        show_table(self.segment_table(seg), self.k, lang, privacy=SEGMENT_PRIVACY,
                   columns=[name_col, "rule_zh" if zh else "rule", "size", "share"],
                   kinds={"size": "count", "share": "share"},
                   labels={name_col: t("tbl_segment", lang), "rule_zh": t("tbl_rule", lang),
                           "rule": t("tbl_rule", lang), "size": t("members", lang), "share": t("share", lang)})

    def _labels(self, seg: MemberSegmenter) -> pd.Series:
        return seg.segment_names_.set_index("segment")["name_zh" if self.lang == "zh" else "name_en"]

    def show_profiles(self, seg: MemberSegmenter, X: pd.DataFrame) -> None:
        """Each segment's median member: a heatmap, then the medians in a table (segments below ``k`` hidden)."""
        lang = self.lang
        if seg.too_few_:  # a tiny community: one segment, nothing to compare
            _markdown(t("seg_one_segment", lang))
            return
        show(plot_profile_heatmap(seg.profile_, seg.segment_names_, lang=lang, k=self.k))
        units = {f.id: kind_of_unit(f.unit) for f in FEATURES}
        show_table(seg.profile_[list(X.columns)], self.k, lang, privacy={"size": seg.profile_["size"]},
                   names=self._labels(seg), kinds={c: units.get(c, "number") for c in X.columns},
                   labels={c: tr(c, lang) for c in X.columns}, index_label=t("tbl_segment", lang))

    def show_projection(self, seg: MemberSegmenter, X: pd.DataFrame, *, random_state: int | None = 0) -> None:
        """The members on the first two principal components, coloured by segment."""
        if seg.too_few_:  # a tiny community: one segment, nothing to compare
            _markdown(t("seg_one_segment", self.lang))
            return
        coords = project_2d(seg.transform(X), random_state=random_state)
        show(plot_projection(coords, seg.labels_, seg.segment_names_, lang=self.lang, random_state=random_state))

    def show_crosstab(self, seg: MemberSegmenter, member_roles: pd.Series) -> None:
        """Rule roles × segments: member counts, cells below ``k`` hidden."""
        lang = self.lang
        if seg.too_few_:  # a tiny community: one segment, nothing to compare
            _markdown(t("seg_one_segment", lang))
            return
        crosstab = pd.crosstab(member_roles.map(lambda r: ROLE.label(r, lang)),
                               pd.Series(seg.labels_).map(self._labels(seg)))
        crosstab.index.name, crosstab.columns.name = tr("role", lang), tr("segment", lang)
        show(plot_crosstab(crosstab, lang=lang, k=self.k))
        _markdown(suppression_note(suppress_table(crosstab, self.k, counts=crosstab.columns)[1], self.k, lang))

    def show_stability(self, aris: np.ndarray | None, *, n_resamples: int) -> None:
        """The adjusted Rand index of each resample against the full segmentation (``None``: one segment)."""
        if aris is None:
            _markdown(t("seg_one_segment", self.lang))
            return
        _markdown(t("seg_stability_line", self.lang).format(median=number(np.median(aris)), low=number(aris.min()),
                                                            n=n_resamples))
        show(plot_stability(aris, lang=self.lang))

    @staticmethod
    def stability_summary(aris: np.ndarray | None) -> dict[str, Any] | None:
        """The resamples' ARIs for ``summary.json`` (median, lowest, each), ``None`` without any."""
        if aris is None:
            return None
        return {"median": float(np.median(aris)), "min": float(aris.min()), "values": aris.tolist()}

    # ---- transitions ----------------------------------------------------------------------------
    def show_transitions(self, transitions: pd.DataFrame) -> None:
        """The month-over-month role matrix and the two moves that matter (ordinary → core, core → leaving)."""
        lang = self.lang
        show(plot_transition_heatmap(transition_matrix(transitions, order=list(ROLE_ORDER)), lang=lang, k=self.k))
        moves = transitions.groupby(["from_role", "to_role"])["count"].sum()
        _markdown(t("seg_moves", lang).format(
            ordinary=ROLE.label("ordinary", lang), core=ROLE.label("core", lang),
            churn=ROLE.label("churn_risk", lang), zombie=ROLE.label("zombie", lang),
            a=format_count(moves.get(("ordinary", "core"), 0), self.k),
            b=format_count(moves.get(("core", "churn_risk"), 0) + moves.get(("core", "zombie"), 0), self.k)))

    # ---- P(alive) -------------------------------------------------------------------------------
    def show_bgnbd(self, model: Any, *, period: str) -> None:
        """The BG/NBD fit: how many members, and each parameter with its standard error and interval."""
        lang = self.lang
        _markdown(t("seg_bgnbd_fit", lang).format(n=count(model.n_), period=t(f"period_{period}", lang)))
        from IPython.display import display

        display(table(model.summary().rename(index={"alpha": "α"}), "number", index_label=t("tbl_param", lang),
                      labels={"value": t("tbl_estimate", lang), "se": t("tbl_se", lang),
                              "lower_95": t("tbl_ci_low", lang), "upper_95": t("tbl_ci_high", lang)}))

    def show_zombies(self, p_alive: pd.Series, zombies: Mapping[str, float], *, never: int) -> None:
        """The share of members below the P(alive) threshold with its interval, and the P(alive) histogram.

        ``never`` is the number of members with no event at all (shown as ``<k`` when below ``k``).
        """
        lang = self.lang
        _markdown(t("seg_zombies", lang).format(
            threshold=number(zombies["threshold"]), share=percent(zombies["share"]), lower=percent(zombies["lower"]),
            upper=percent(zombies["upper"]), never=format_count(never, self.k)))
        show(plot_p_alive(p_alive, zombies["threshold"], lang=lang))

    # ---- participation inequality ---------------------------------------------------------------
    def show_inequality(self, inequality: pd.DataFrame, names: Mapping[Any, str]) -> None:
        """Per community: Gini, never/once posters' shares and the content of the top 1 %, next 9 %, rest."""
        lang = self.lang
        show_table(inequality, self.k, lang, privacy=INEQUALITY_PRIVACY, index=Col.community_id, names=names,
                   kinds={"members": "count", "gini": "number", **dict.fromkeys(_SHARES, "share")},
                   index_label=t("community", lang),
                   labels={"members": t("members", lang), "gini": t("ineq_gini", lang),
                           **{c: t("ineq_" + c.split("_")[0], lang) for c in _SHARES}})

    def inequality_summary(self, inequality: pd.DataFrame) -> pd.DataFrame:
        """The participation-inequality table for ``summary.json``, small communities' values missing."""
        return suppress_table(inequality, self.k, numeric=True, **INEQUALITY_PRIVACY)[0]

    # ---- planted truth --------------------------------------------------------------------------
    def show_truth(self, truth: TruthComparison | None) -> None:
        """The comparison with the planted roles (:func:`commlab.analysis.truth.compare_with_truth`), or "—"."""
        lang = self.lang
        if truth is None:
            _markdown("—")
            return
        _markdown(t("seg_truth_ari", lang).format(ari=number(truth.ari)))
        accuracy = truth.accuracy.rename(index=lambda r: t("tbl_all", lang) if r == "all" else ROLE.label(r, lang))
        show_table(accuracy, self.k, lang, privacy={"size": "n", "counts": ["correct"],
                                                    "linked": {"correct": ["accuracy"]}},
                   kinds={"n": "count", "correct": "count", "accuracy": "share", "precision": "share"},
                   index_label=tr("role", lang),
                   labels={"n": t("members", lang), "correct": t("tbl_correct", lang),
                           "accuracy": t("tbl_accuracy", lang), "precision": t("tbl_precision", lang)})
