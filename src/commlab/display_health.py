"""What the community-health notebook shows, section by section, with small groups suppressed.

:func:`community_health` computes a data set's metric table once and returns a
:class:`CommunityHealth`: one ``show_*`` method per section of notebook 03 (the metric table, the
heatmap, cohort retention, the interaction network, the fan ↔ community economy, the high-value
profile), each suppressing the groups of fewer than ``k`` members before anything is shown, and
:meth:`CommunityHealth.summary` for the step's ``summary.json`` (the same suppression, values left
missing). The figures and ``summary.json`` use the numeric suppressed tables, the report tables the
display copies (``<5``, ``—``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

import pandas as pd

from commlab.analysis.compare import group_label, normalise
from commlab.analysis.economy import economy_table
from commlab.analysis.highvalue import high_value_profile
from commlab.analysis.metrics import metric_names, metric_table, wide
from commlab.analysis.network import community_graph
from commlab.analysis.retention import cohort_retention, retention_matrix
from commlab.data.dataset import Dataset
from commlab.data.schema import Col
from commlab.display import escape_md, metric_kinds, metrics_by_row
from commlab.i18n import t
from commlab.nb import heading_line, show_table
from commlab.privacy import (
    check_k,
    small_groups,
    suppress_metrics,
    suppress_table,
    suppression_note,
    without_small_groups,
)
from commlab.sources import attribution

__all__ = ["CommunityHealth", "community_health", "network_days"]

#: Suppression of the cohort-retention table: a cohort is a group of ``cohort_size`` members, ``active`` a
#: count of members and ``share`` = active / cohort_size gives the count back.
COHORT_PRIVACY: dict[str, Any] = {"size": "cohort_size", "counts": ["active"], "linked": {"active": ["share"]}}


def network_days(source: str) -> int | None:
    """How many days before the as-of the interaction network is drawn from, for a data source layout.

    Canonical data (chat groups, live communities) are drawn from their last 30 days, the network as it is
    now; a Stack Exchange site's first 180 days (``se_180d``) from all of them (a site's first month is
    too thin to draw).

    Examples
    --------
    >>> network_days("canonical"), network_days("se_180d")
    (30, None)
    """
    return 30 if source == "canonical" else None


def _show(*objects: Any) -> None:
    from IPython.display import display

    display(*objects)


def _markdown(text: str) -> None:
    from IPython.display import Markdown

    _show(Markdown(text))


class CommunityHealth:
    """A data set's community health, as notebook 03 shows it; built by :func:`community_health`.

    Each ``show_*`` method displays one section (tables, figure, the suppression note) in
    :attr:`lang`; the attributes hold the tables behind them.

    Attributes
    ----------
    data : Dataset
        The communities analysed.
    metrics : DataFrame
        Tidy metric table (:func:`commlab.analysis.compute.compute_metrics`), computed on first use
        unless given.
    values : DataFrame
        Communities × metric ids in each community's last period (:func:`commlab.analysis.metrics.wide`).
    group_n : DataFrame
        The members each value is computed over (a join cohort, the posters, ...), shaped like ``values``.
    safe : DataFrame
        ``values`` with every group of fewer than ``k`` members missing: what figures and
        ``summary.json`` use.
    sizes : Series
        Members per community.
    economy : DataFrame
        The fan ↔ community economy index, its inputs, the measured class and the declared ``economy``.
    names : dict
        Community id -> name.
    """

    def __init__(self, data: Dataset, metrics: pd.DataFrame | None = None, *, as_of: Any, k: int, lang: str = "en",
                 window: str = "month", source: str = "canonical", seed: int = 0, engine: str = "duckdb",
                 engine_options: Mapping[str, Any] | None = None) -> None:
        self.data = data
        self.as_of = as_of
        self.k = check_k(k)
        self.lang = lang
        self.window = window
        self.source = source
        self.seed = seed
        self.engine = engine
        self.engine_options = dict(engine_options or {})
        self.names = dict(zip(data.communities[Col.community_id], data.communities[Col.name], strict=True))
        if metrics is not None:
            self.metrics = metrics

    @cached_property
    def metrics(self) -> pd.DataFrame:
        """The tidy metric table, computed on first use with :attr:`engine` over :attr:`window`."""
        from commlab.engines import get_engine

        window = None if self.window == "none" else self.window
        return get_engine(self.engine, **self.engine_options).compute_metrics(self.data, as_of=self.as_of,
                                                                               window=window)

    @property
    def duckdb(self) -> Any:
        """The DuckDB engine of the sections that query DuckDB directly (cohort retention, the drawn graphs).

        With :attr:`engine` ``"duckdb"`` it carries :attr:`engine_options` (the run's ``memory_limit`` and spill
        folder in a playbook run); with another engine, DuckDB's defaults.
        """
        from commlab.engines.duck import DuckDBEngine

        return DuckDBEngine(**self.engine_options) if self.engine == "duckdb" else DuckDBEngine()

    @cached_property
    def values(self) -> pd.DataFrame:
        """Communities × metric ids in each community's last period."""
        return wide(self.metrics)

    @cached_property
    def group_n(self) -> pd.DataFrame:
        """The members each value is computed over, shaped like :attr:`values`."""
        return wide(self.metrics, values="n")

    @cached_property
    def safe(self) -> pd.DataFrame:
        """:attr:`values` with every group of fewer than ``k`` members missing."""
        return suppress_metrics(self.values, self.k, n=self.group_n, numeric=True)[0]

    @property
    def sizes(self) -> pd.Series:
        """Members per community."""
        return self.values["members"]

    @cached_property
    def economy(self) -> pd.DataFrame:
        """The economy index, its inputs, the measured class and label, and the declared ``economy``."""
        economy = economy_table(self.values, self.lang)
        economy["economy"] = self.data.communities.set_index(Col.community_id)[Col.economy].reindex(economy.index)
        return economy

    def __repr__(self) -> str:
        return (f"CommunityHealth({len(self.values)} communities, {self.values.shape[1]} metrics, k={self.k}, "
                f"{len(small_groups(self.sizes, self.k))} suppressed)")

    @property
    def several(self) -> bool:
        """More than one community (a heatmap and a comparison make sense)."""
        return len(self.data.communities) > 1

    @property
    def _economy_privacy(self) -> dict[str, Any]:
        return {"size": self.sizes, "derived": ["economy_measured", "economy_label"]}

    @cached_property
    def profile(self) -> pd.DataFrame:
        """The high-value profile (:func:`commlab.analysis.highvalue.high_value_profile`) with ``members``."""
        return high_value_profile(self.metrics).join(self.sizes)

    def show_header(self) -> None:
        """The as-of and data line, the data's attribution, and a note when there is one community only."""
        _markdown(heading_line(self.as_of, self.data, self.lang))
        _markdown(escape_md(attribution(self.data, self.lang)))
        if not self.several:
            _markdown(t("single_community_health", self.lang))

    def show_definitions(self) -> None:
        """The metric registry as a table in :attr:`lang` (the methods appendix holds the same)."""
        _show(metric_table(self.lang).style.hide(axis="index"))

    def show_metric_table(self) -> None:
        """Each community's metrics in its last period, one metric a row, small groups shown as ``<k`` / ``—``."""
        shown, hidden = suppress_metrics(self.values, self.k, n=self.group_n)
        _show(metrics_by_row(shown.drop(columns="period", errors="ignore"), self.lang, names=self.names))
        _markdown(suppression_note(hidden, self.k, self.lang))

    def show_heatmap(self) -> None:
        """Every metric min–max scaled across the communities of at least ``k`` members (green is better)."""
        from commlab.plots.health import plot_metric_heatmap
        from commlab.plots.show import show

        shown = without_small_groups(self.safe, self.sizes, self.k).dropna(axis=1, how="all")
        if len(shown) > 1:
            show(plot_metric_heatmap(normalise(shown).rename(index=self.names), values=shown.rename(index=self.names),
                                     lang=self.lang))
        elif self.several:
            _markdown(t("heatmap_too_few", self.lang))

    def show_cohort_retention(self) -> None:
        """Retention of the join cohorts of the largest community; cohorts of fewer than ``k`` members hidden."""
        from commlab.plots.health import plot_cohort_retention
        from commlab.plots.show import show

        freq = "week" if self.window == "week" else "month"
        largest = self.sizes.idxmax()
        # the cohorts of the community drawn only: the note below counts the values hidden in that figure
        cohorts = cohort_retention(self.data.subset([largest]), as_of=self.as_of, freq=freq, engine=self.duckdb)
        cohorts, hidden = suppress_table(cohorts, self.k, numeric=True, **COHORT_PRIVACY)
        matrix = retention_matrix(cohorts, largest, min_size=self.k)
        if matrix.empty:  # every cohort is below k (or the community is suppressed): nothing to draw
            _markdown(t("cohort_none", self.lang).format(name=escape_md(self.names[largest]), k=self.k))
        else:
            show(plot_cohort_retention(matrix, title=self.names[largest], lang=self.lang))
        _markdown(suppression_note(hidden, self.k, self.lang))

    def show_network(self) -> None:
        """The interaction graphs of the lowest (hub and spoke) and highest (mesh) economy index.

        Suppressed communities are never drawn; one graph when a single community is drawable. The graphs
        cover the last :func:`network_days` days of :attr:`source`.
        """
        from commlab.plots.health import plot_network_pair
        from commlab.plots.show import show

        drawable = self.safe["economy_index"].dropna()
        if drawable.empty:
            _markdown(t("network_none", self.lang))
            return
        picked = list(dict.fromkeys([drawable.idxmin(), drawable.idxmax()]))
        graphs = [(community_graph(self.data, cid, as_of=self.as_of, days=network_days(self.source),
                                   engine=self.duckdb),
                   t("network_title", self.lang).format(name=self.names[cid], index=f"{drawable[cid]:.2f}",
                                                        kind=self.economy.loc[cid, "economy_label"]))
                  for cid in picked]
        show(plot_network_pair(graphs, seed=self.seed, lang=self.lang)[0])

    def show_economy(self) -> None:
        """The economy index with its inputs, measured and declared class, then its figure (desktop and phone)."""
        from commlab.plots.health import plot_economy_index
        from commlab.plots.show import show

        lang = self.lang
        economy = self.economy  # the declared class is a label of the row, never hidden
        declared = [group_label("economy", v, lang) if isinstance(v, str) else "–" for v in economy["economy"]]
        show_table(economy.assign(economy=declared), self.k, lang, privacy=self._economy_privacy, names=self.names,
                   columns=[c for c in economy.columns if c != "economy_measured"],
                   kinds={**metric_kinds(economy.columns), "economy_label": "text", "economy": "text"},
                   labels={**metric_names(lang), "economy_label": t("tbl_measured", lang),
                           "economy": t("tbl_declared", lang)},
                   index_label=t("community", lang))
        figure = without_small_groups(self.economy, self.sizes, self.k).rename(index=self.names)
        show(plot_economy_index(figure, lang=lang), phone=plot_economy_index(figure, lang=lang, phone=True))

    def show_high_value(self) -> None:
        """The three high-value scores beside their inputs, then their figure.

        A score computed over fewer than ``k`` members (e.g. three posters) is hidden too.
        """
        from commlab.plots.health import plot_high_value
        from commlab.plots.show import show

        scores = [c for c in self.profile.columns if c != "members"]
        show_table(self.profile, self.k, self.lang, metrics=True, privacy={"n": self.group_n}, names=self.names,
                   columns=scores, kinds=metric_kinds(scores), labels=metric_names(self.lang),
                   index_label=t("community", self.lang))
        safe = suppress_metrics(self.profile, self.k, n=self.group_n, numeric=True)[0]
        show(plot_high_value(without_small_groups(safe, self.sizes, self.k).rename(index=self.names), lang=self.lang))

    def summary(self) -> dict[str, Any]:
        """The step's ``summary.json``: settings, the registry, the suppressed metric and economy tables.

        Every value of a group of fewer than ``k`` members is missing (``null``).
        """
        return {
            "as_of": self.as_of,
            "source": self.source,
            "attribution": attribution(self.data, "en"),
            "window": self.window,
            "metrics": metric_table("en")[["metric_id", "name", "unit", "higher_is_better", "source"]],
            "k_min_group": self.k,
            "suppressed_communities": small_groups(self.sizes, self.k),
            "metric_table": self.safe.reset_index(),
            "economy": suppress_table(self.economy, self.k, numeric=True, **self._economy_privacy)[0].reset_index(),
        }


def community_health(data: Dataset, metrics: pd.DataFrame | None = None, *, as_of: Any, k: int, lang: str = "en",
                     window: str = "month", source: str = "canonical", seed: int = 0, engine: str = "duckdb",
                     engine_options: Mapping[str, Any] | None = None) -> CommunityHealth:
    """The health of each community: its metric table, heatmap, retention, network, economy and profile.

    Parameters
    ----------
    data : Dataset
        The communities (:func:`commlab.load_source` or :func:`commlab.load_dataset`).
    metrics : DataFrame, optional
        Their metrics (:func:`commlab.compute_metrics`); each community's last period is shown. Default:
        computed on first use with ``engine`` over ``window``.
    as_of : str or Timestamp
        The analysis instant (or ``"created+Nd"``).
    k : int
        Groups (communities, cohorts, members a value is computed over) of fewer than ``k`` members are
        suppressed everywhere.
    lang : {"en", "zh"}
        Language of what is shown.
    window : {"month", "week", "none"}
        The metrics' window (``"none"``: one period up to ``as_of``); weekly metrics get weekly retention
        cohorts, the others monthly ones.
    source : str
        Layout of the data (``"canonical"`` or ``"se_180d"``), for the network's time span
        (:func:`network_days`) and ``summary.json``.
    seed : int
        Seed of the network layout.
    engine : str
        Engine that computes the metrics (:func:`commlab.get_engine`): ``"duckdb"`` or ``"spark"``.
    engine_options : dict, optional
        The engine's settings, e.g. ``{"memory_limit": "4GB"}``.

    Returns
    -------
    CommunityHealth
        One ``show_*`` method per section, and ``summary()`` for ``summary.json``.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/samples", communities=["c01", "c04"])
    >>> health = cl.community_health(ds, as_of="2024-06-30T16:00:00Z", k=5, window="none")
    >>> health
    CommunityHealth(2 communities, ... metrics, k=5, 0 suppressed)
    >>> health.economy[["economy_index", "economy_label", "economy"]].round(2)  # measured, then declared
                  economy_index      economy_label    economy
    community_id
    c01                    0.79  community economy  community
    c04                    0.65  community economy  community
    >>> health.summary()["suppressed_communities"]
    []
    """
    return CommunityHealth(data, metrics, as_of=as_of, k=k, lang=lang, window=window, source=source, seed=seed,
                           engine=engine, engine_options=engine_options)
