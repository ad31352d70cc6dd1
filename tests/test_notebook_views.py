"""The sections of notebooks 03, 04 and 06 as package objects: ``cl.community_health``, ``cl.compare_types`` and
``cl.early_warning``.

Each ``show_*`` method must hide every group of fewer than ``k`` members before anything is shown, and each
``summary()`` must hold the same suppression with the values missing. On the small data set (five communities,
c02 has 27 members) with ``k = 30``, c02 is the small community.
"""

from __future__ import annotations

from pathlib import Path

import IPython.display
import matplotlib
import pandas as pd
import pytest

import commlab as cl
from small_data import AS_OF, write_small_data

matplotlib.use("Agg")

K = 30  # c02 has 27 members, the others 58 to 108
SMALL = "c02"


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_small_data(tmp_path_factory.mktemp("small"))


@pytest.fixture(scope="module")
def small(small_dir: Path):
    return cl.load_dataset(small_dir)


@pytest.fixture(scope="module")
def metrics(small):
    return cl.compute_metrics(small, as_of=AS_OF, window=None)


@pytest.fixture
def shown(monkeypatch) -> list:
    """What the sections display, in order (figures as their raw bundles)."""
    outputs: list = []

    def display(*objs, **kw):
        outputs.extend({"bundle": o, "metadata": kw["metadata"]} if kw.get("raw") else o for o in objs)

    monkeypatch.setattr(IPython.display, "display", display)
    return outputs


def _html(outputs: list) -> str:
    return "\n".join(o.to_html() if hasattr(o, "to_html") else str(getattr(o, "data", o)) for o in outputs)


def test_health_hides_the_small_community_in_every_table_and_in_summary_json(small, metrics, shown):
    health = cl.community_health(small, metrics, as_of=AS_OF, k=K, lang="en", window="none")
    assert health.sizes[SMALL] < K <= health.sizes.drop(SMALL).min()
    name = health.names[SMALL]

    health.show_metric_table()
    table, note = shown
    html = table.to_html()
    assert name in html and f"&lt;{K}" in html  # the community is named, its size shown as <30
    assert str(int(health.sizes[SMALL])) not in html.split(name)[1].split("</tr>")[0]
    assert isinstance(note, IPython.display.Markdown) and f"fewer than {K} members" in note.data

    shown.clear()
    health.show_economy()
    economy_table, economy_note, figure = shown
    row = economy_table.to_html().split(name)[1].split("</tr>")[0]
    assert "—" in row and f"{health.economy.loc[SMALL, 'economy_index']:.2f}" not in row
    assert f"fewer than {K} members" in economy_note.data
    drawn = figure["metadata"]["image/png"]["commlab"]["texts"]  # every text the figure draws
    assert name not in drawn and all(health.names[c] in drawn for c in health.sizes.index if c != SMALL)
    assert "(4 in all)" in figure["metadata"]["image/png"]["alt"]

    summary = health.summary()
    assert summary["suppressed_communities"] == [SMALL] and summary["k_min_group"] == K
    values = summary["metric_table"].set_index("community_id")
    assert values.loc[SMALL].isna().all() and values.drop(SMALL)["members"].notna().all()
    assert pd.isna(summary["economy"].set_index("community_id").loc[SMALL, "economy_index"])
    pd.testing.assert_series_equal(values.drop(SMALL)["members"], health.sizes.drop(SMALL), check_names=False)


def test_health_computes_its_metrics_with_the_engine_when_not_given(small, metrics):
    health = cl.community_health(small, as_of=AS_OF, k=K, window="none", engine="duckdb")
    assert "metrics" not in vars(health)  # nothing computed yet
    pd.testing.assert_frame_equal(health.values, cl.community_health(small, metrics, as_of=AS_OF, k=K).values)
    with pytest.raises(cl.ParameterError):
        cl.community_health(small, metrics, as_of=AS_OF, k=1)  # below the floor of k


def test_type_comparison_leaves_the_small_community_out(small, metrics, shown):
    types = cl.compare_types(small, metrics, axis="theme", k=K, as_of=AS_OF, lang="en", seed=0)
    assert SMALL not in set(types.kept["community_id"]) and len(types.kept) == 4 and types.comparable
    types.show_communities()
    assert shown[1].data == "**theme:** interest 1, brand 1, knowledge/learning 1, consumption 1"  # c02 left out
    assert shown[2].data.startswith("86 group(s) with fewer than 30 members left out of the comparison")
    groups = types.groups
    assert groups.query("group == 'interest'")["n"].max() == 1
    summary = types.summary()
    assert summary["suppressed_communities"] == [SMALL] and summary["comparable"] is True
    assert pd.isna(summary["metric_table"].set_index("community_id").loc[SMALL, "members"])


def test_type_comparison_of_one_type_shows_no_statistics(small, metrics, shown):
    one = small.subset(["c01", "c02"])  # both interest
    m = metrics[metrics["community_id"].isin(["c01", "c02"])]
    types = cl.compare_types(one, m, axis="theme", k=5, as_of=AS_OF, lang="en")
    assert not types.comparable
    types.show_communities()
    assert shown[-1].data.startswith("Every community has the same theme (interest)")
    shown.clear()
    types.show_fingerprint()
    types.show_groups()
    types.show_tests()
    types.show_hypotheses()
    assert shown == []
    summary = types.summary()
    assert summary["comparable"] is False and summary["differences"] is None and summary["hypotheses"] is None
    assert len(summary["groups"]) == 0


def test_early_warning_summary_keeps_only_id_and_rank_of_a_small_community(small):
    from commlab.forecast.early_warning import EarlyWarning
    from commlab.forecast.sections import EarlyWarningReport

    panel = pd.DataFrame({"community_id": ["c01", "c01", "c02"], "period": [1, 2, 1], "members": [40, 41, 3]})
    ranking = pd.DataFrame({"community_id": ["c02", "c01"], "periods": [1, 2], "horizon": [1, 1],
                            "p_die": [0.9, 0.2], "rank": [1, 2], "basis": ["forecast", "forecast"],
                            "outcome": [float("nan"), float("nan")]})
    result = EarlyWarning(panel=panel, outcomes=None, outcome_source="none", evaluation=None, horizon=1,
                          ranking=ranking, drivers=pd.DataFrame())
    payload = EarlyWarningReport(result, small, k=5, lang="en").summary()
    assert payload["ranking"][0] == {"community_id": "c02", "rank": 1, "suppressed": True}
    assert payload["ranking"][1]["p_die"] == 0.2 and payload["suppressed_communities"] == ["c02"]
