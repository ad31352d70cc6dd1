"""Mixed community types (issue 26.3, DOMAIN.md §2: "上述分类并非泾渭分明"): several values per axis,
primary first; comparisons count a mixed community by its primary type or in each of its types."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from commlab.analysis.compare import by_type, compare_groups
from commlab.data.load import load_dataset
from commlab.errors import DataValidationError


def _samples_with(tmp_path: Path, samples_dir: Path, themes: dict[int, str]) -> Path:
    for f in ("communities.csv", "members.csv", "events.parquet"):
        shutil.copy(samples_dir / f, tmp_path / f)
    c = pd.read_csv(tmp_path / "communities.csv", dtype=str)
    for row, value in themes.items():
        c.loc[row, "theme"] = value
    c.to_csv(tmp_path / "communities.csv", index=False)
    return tmp_path


def test_several_values_primary_first(tmp_path: Path, samples_dir: Path) -> None:
    d = _samples_with(tmp_path, samples_dir, {0: "brand；interest", 1: " knowledge | interest|interest"})
    c = load_dataset(d).communities.set_index("community_id")
    assert (c.loc["c01", "theme"], c.loc["c01", "theme_all"]) == ("brand", "brand;interest")
    assert (c.loc["c02", "theme"], c.loc["c02", "theme_all"]) == ("knowledge", "knowledge;interest")
    assert c.loc["c03", "theme_all"] == c.loc["c03", "theme"]  # one type: the same
    single = c.drop(index=["c10", "c12"])  # the two samples on two platforms
    assert (single["platform_all"] == single["platform"]).all()
    assert (c.loc["c10", "platform"], c.loc["c10", "platform_all"]) == ("discord", "discord;wechat")


def test_an_unknown_secondary_value_is_named(tmp_path: Path, samples_dir: Path) -> None:
    d = _samples_with(tmp_path, samples_dir, {2: "brand;sports"})
    with pytest.raises(DataValidationError) as err:
        load_dataset(d)
    msg = str(err.value)
    assert "communities.csv" in msg and "'theme'" in msg and "row 4" in msg and "'brand;sports'" in msg
    assert "primary first" in msg


def test_comparison_counts_mixed_communities_as_asked() -> None:
    t = pd.DataFrame({"community_id": ["a", "b", "c"], "theme": ["brand", "interest", "interest"],
                      "theme_all": ["brand;interest", "interest", "interest;brand"], "x": [1.0, 2.0, 4.0]})
    primary = compare_groups(t, "theme", metrics=["x"], n_boot=50)
    each = compare_groups(t, "theme", metrics=["x"], n_boot=50, mixed="each")
    assert dict(zip(primary["group"], primary["n"], strict=True)) == {"brand": 1, "interest": 2}
    assert dict(zip(each["group"], each["n"], strict=True)) == {"brand": 2, "interest": 3}
    assert dict(zip(each["group"], each["median"], strict=True)) == {"brand": 2.5, "interest": 2.0}
    assert set(primary["mixed"]) == {"primary"} and set(each["mixed"]) == {"each"}
    assert by_type(t.drop(columns="theme_all"), "theme", "each").equals(t.drop(columns="theme_all"))
    with pytest.raises(ValueError, match="mixed must be one of"):
        by_type(t, "theme", "all")
