"""What the early-warning notebook shows, section by section, with small communities suppressed.

:func:`early_warning` runs the forecast (:func:`commlab.forecast.early_warning.run_early_warning`) and
returns an :class:`EarlyWarningReport`: one ``show_*`` method per section of notebook 06 (the
introduction, how well the forecast does, its calibration, the ranking with its plays) and
:meth:`EarlyWarningReport.summary` for the step's ``summary.json``, where a community of fewer than
``k`` members keeps only its id and rank.
"""

from __future__ import annotations

from typing import Any

from commlab.data.dataset import Dataset
from commlab.data.schema import Col
from commlab.display import escape_md
from commlab.forecast.early_warning import EarlyWarning, run_early_warning
from commlab.forecast.html import evaluation_html, intro_markdown, ranking_html, shuffled_markdown, small_communities
from commlab.sources import attribution

__all__ = ["EarlyWarningReport", "early_warning"]


def _show_html(text: str) -> None:
    from IPython.display import HTML, display

    display(HTML(text))


def _show_markdown(text: str) -> None:
    from IPython.display import Markdown, display

    display(Markdown(text))


class EarlyWarningReport:
    """An early-warning forecast as notebook 06 shows it; built by :func:`early_warning`.

    Attributes
    ----------
    result : EarlyWarning
        The panel, outcomes, evaluation, ranking and drivers.
    data : Dataset
        The communities analysed.
    names : dict
        Community id (a string) -> name.
    k : int
        Communities with fewer members are shown without values.
    lang : {"en", "zh"}
        Language of what is shown.
    """

    def __init__(self, result: EarlyWarning, data: Dataset, *, k: int, lang: str = "en") -> None:
        self.result = result
        self.data = data
        self.k = k
        self.lang = lang
        c = data.communities
        self.names = dict(zip(c[Col.community_id].astype(str), c[Col.name].astype(str), strict=True))

    def __repr__(self) -> str:
        return f"EarlyWarningReport({self.result!r}, k={self.k})"

    @property
    def _zh(self) -> bool:
        return self.lang == "zh"

    def show_intro(self) -> None:
        """What was forecast from what, then the data's attribution."""
        _show_markdown(intro_markdown(self.result, lang=self.lang))
        _show_markdown(escape_md(attribution(self.data, self.lang)))

    def show_evaluation(self) -> None:
        """The scores per horizon against the baseline, the shuffled-fates check and the AUC figure."""
        from commlab.plots.forecast import plot_auc_by_horizon

        ew = self.result
        if ew.evaluation is None:
            _show_markdown("没有已知结局的两类社群，无法检验预测。" if self._zh else
                           "No known outcomes of both kinds: the forecast cannot be checked.")
            return
        _show_html(evaluation_html(ew.evaluation, lang=self.lang))
        if ew.shuffled is not None:
            _show_markdown(shuffled_markdown(ew, lang=self.lang))
        plot_auc_by_horizon(ew.evaluation.scores, model=ew.settings["model"], lang=self.lang)

    def show_calibration(self) -> None:
        """Predicted against observed share that died, out of sample, at the ranking's horizon."""
        from commlab.plots.forecast import plot_calibration

        ew = self.result
        if ew.evaluation is not None and len(ew.evaluation.predictions[ew.evaluation.predictions["horizon"]
                                                                       == ew.horizon]):
            plot_calibration(ew.evaluation.predictions, horizon=ew.horizon, lang=self.lang)
        else:
            _show_markdown("没有可画的样本外预测。" if self._zh else "No out-of-sample predictions to show.")

    def show_ranking(self, top_n: int = 15) -> None:
        """The ``top_n`` communities most at risk, each with the metrics that push it and the plays."""
        if len(self.result.ranking):
            _show_html(ranking_html(self.result, self.names, lang=self.lang, top_n=top_n, k_min_group=self.k))
        else:
            _show_markdown("没有可排序的社群。" if self._zh else "No community to rank.")

    def summary(self) -> dict[str, Any]:
        """The step's ``summary.json`` (:meth:`EarlyWarning.summary`), small communities reduced to id and rank.

        ``suppressed_communities`` lists them.
        """
        hidden = small_communities(self.result.panel, self.k)
        payload = self.result.summary()
        cid = Col.community_id
        payload["ranking"] = [r if r[cid] not in hidden else {cid: r[cid], "rank": r["rank"], "suppressed": True}
                              for r in payload["ranking"]]
        payload["suppressed_communities"] = sorted(hidden)
        return payload


def early_warning(data: Dataset, *, as_of: Any, k: int, lang: str = "en", outcomes: str = "",
                  data_dir: str = ".", period: str = "month", max_periods: int = 12,
                  horizons: list[int] | tuple[int, ...] = (1, 2, 3, 6), horizon: int = 0, model: str = "logit",
                  n_repeats: int = 5, n_boot: int = 1000, n_shuffles: int = 20, top: int = 3,
                  seed: int = 0) -> EarlyWarningReport:
    """Forecast which young communities are heading for an early death, check the forecast, and say why.

    Parameters
    ----------
    data : Dataset
        The communities, each from its creation.
    as_of : str, Timestamp or ``"created+<N>d"``
        End of the data.
    k : int
        Communities with fewer members are ranked without their values.
    lang : {"en", "zh"}
        Language of what is shown and of the explanations.
    outcomes : str
        The known fates: a file in ``data_dir``, ``"column:status:closed"``, ``"rule:90:3"`` or ``"none"``
        (:func:`commlab.forecast.early_warning.resolve_outcomes`).
    data_dir : str
        Where a relative outcomes file is looked for.
    period, max_periods
        Period length (``"month"``, ``"week"``, ``"day"``) and periods per community of the panel.
    horizons, horizon
        Periods at which the forecast is evaluated, and the one the ranking forecasts at (0: the largest
        evaluated).
    model : {"logit", "hgb"}
        The forecaster.
    n_repeats, n_boot, n_shuffles
        Cross-validation repeats, bootstrap resamples, shuffles of the fates for the no-signal check.
    top : int
        Metrics explained per community.
    seed : int
        Seed of folds, bootstrap and models.

    Returns
    -------
    EarlyWarningReport
        One ``show_*`` method per section, the result as ``.result``, and ``summary()``.

    Examples
    --------
    >>> import commlab as cl
    >>> ds = cl.load_dataset("data/fates")
    >>> ew = cl.early_warning(ds, as_of="2024-02-24T16:00:00Z", k=5, outcomes="outcomes.csv", data_dir="data/fates",
    ...                       horizons=[1, 2], n_repeats=1, n_boot=50, n_shuffles=0)
    >>> ew  # doctest: +ELLIPSIS
    EarlyWarningReport(EarlyWarning(... communities in the panel, ... ranked at up to period 2), k=5)
    >>> sorted(ew.summary())[:4]
    ['evaluation', 'horizon', 'known', 'notes']
    """
    result = run_early_warning(data, as_of=as_of, outcomes=outcomes, data_dir=data_dir, period=period,
                               horizons=horizons, horizon=horizon, model=model, max_periods=max_periods,
                               n_repeats=n_repeats, n_boot=n_boot, top=top, lang=lang, random_state=seed,
                               n_shuffles=n_shuffles)
    return EarlyWarningReport(result, data, k=k, lang=lang)
