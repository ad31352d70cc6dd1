"""Community goals (issue 26.4, DOMAIN.md §4b): declared in the data model, each with its scorecard."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from commlab.analysis.metrics import list_metrics
from commlab.data.load import load_dataset
from commlab.errors import DataValidationError
from commlab.goals import DEFAULT_METRICS, GOAL_METRICS, goal_of, goals_markdown, scorecard_metrics

REPO = Path(__file__).resolve().parents[1]


def test_every_goal_metric_is_registered_and_read_in_its_registered_direction() -> None:
    registry = {m.id: m for m in list_metrics()}
    for goal, metrics in [*GOAL_METRICS.items(), ("", DEFAULT_METRICS)]:
        assert len(metrics) >= 4 and len({m.metric for m in metrics}) == len(metrics), goal
        for m in metrics:
            assert m.metric in registry, (goal, m.metric)
            registered = registry[m.metric].direction
            assert registered is None or registered == m.higher_is_better, (goal, m.metric)
            assert "[" in m.why_zh and "[" in m.why_en  # the article behind the choice


def test_goals_differ_and_missing_goal_is_the_default() -> None:
    firsts = {goal: metrics[0].metric for goal, metrics in GOAL_METRICS.items()}
    assert len(set(firsts.values())) == len(firsts)  # each goal leads with its own measure
    assert scorecard_metrics(None) == scorecard_metrics("") == scorecard_metrics(pd.NA) == DEFAULT_METRICS
    with pytest.raises(KeyError, match="unknown goal"):
        scorecard_metrics("growth")


def test_goals_doc_matches_the_mapping() -> None:
    assert (REPO / "docs" / "GOALS.md").read_text(encoding="utf-8") == goals_markdown(), \
        "regenerate docs/GOALS.md (see its header)"


def _copy_samples(tmp_path: Path, samples_dir: Path) -> Path:
    for f in ("communities.csv", "members.csv", "events.parquet"):
        shutil.copy(samples_dir / f, tmp_path / f)
    return tmp_path


def test_goal_is_optional_validated_and_read(tmp_path: Path, samples_dir: Path) -> None:
    d = _copy_samples(tmp_path, samples_dir)
    communities = pd.read_csv(d / "communities.csv", dtype=str)
    communities["goal"] = ["service"] + [""] * (len(communities) - 1)
    communities.to_csv(d / "communities.csv", index=False)
    ds = load_dataset(d)
    goals = goal_of(ds.communities)
    assert goals["c01"] == "service" and goals.iloc[1:].isna().all()
    communities.loc[1, "goal"] = "growth"
    communities.to_csv(d / "communities.csv", index=False)
    with pytest.raises(DataValidationError) as err:
        load_dataset(d)
    msg = str(err.value)
    assert "communities.csv" in msg and "'goal'" in msg and "row 3" in msg and "retention, conversion" in msg
    # without the column at all every community has no goal
    assert goal_of(pd.DataFrame({"community_id": ["a"]})).isna().all()
