"""Notebooks 01-04 executed in Chinese and in English read as a report in one language.

Measured on what a report shows of each executed notebook (``visible.visible_text``: markdown in
the report language, every table and sentence, every figure's alt text and drawn texts):

* zh: no English words (names of methods, products and people, upper-case abbreviations and ids
  excepted); en: no Chinese characters (community names and data-source names from the data
  excepted);
* no object reprs, column ids, file names, scientific notation or padded decimals;
* every figure has alt text (never nbconvert's default), is shown at most the report's column
  wide and draws no text under 9 px there.

Few papermill runs: each notebook once per language on a small subset (three communities in one
language, one community in the other, which also covers single-community runs). The tests of
notebooks 01-04 on their own (test_notebook_overview, test_notebook_segments,
test_notebooks_health) check the other language on their runs with :func:`assert_reads_as_report`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from commlab.plots.show import CONTENT_PX
from conftest import REPO, SAMPLES
from health_data import SAMPLES_AS_OF
from visible import (
    NBCONVERT_DEFAULT_ALT,
    chinese_chars,
    developer_output,
    english_words,
    visible_text,
    without,
)

pytestmark = pytest.mark.notebook
NOTEBOOKS = REPO / "notebooks"
SEVERAL = ["c02", "c05", "c10"]
ONE = ["c05"]
#: (notebook, language, communities) of each run.
RUNS = {
    ("01_overview", "zh"): SEVERAL, ("01_overview", "en"): ONE,
    ("02_member_segments", "zh"): ONE, ("02_member_segments", "en"): SEVERAL,
    ("03_community_health", "zh"): SEVERAL, ("03_community_health", "en"): ONE,
    ("04_compare_types", "zh"): ONE, ("04_compare_types", "en"): SEVERAL,
}


def data_strings() -> list[str]:
    """Strings the data bring into a report (community names, data sources): either language may hold them."""
    import pandas as pd

    c = pd.read_csv(SAMPLES / "communities.csv", dtype=str)
    return list(c["name"].dropna()) + list(c["source"].dropna())


def assert_reads_as_report(notebook: Path, lang: str, names: list[str] | None = None) -> dict:
    """Assert what a report shows of ``notebook`` is in ``lang`` only and reads as a report; return measurements."""
    seen = visible_text(notebook, lang)
    text = without(seen.text, (names or []) + data_strings())
    foreign = english_words(text) if lang == "zh" else chinese_chars(text)
    assert not foreign, f"{notebook.name} ({lang}) shows the other language: {sorted(set(foreign))[:20]}"
    dev = developer_output(text)
    assert not dev, f"{notebook.name} ({lang}) shows developer output: {sorted(set(dev))[:20]}"
    for fig in seen.figures:
        assert fig["alt"] and fig["alt"] != NBCONVERT_DEFAULT_ALT, fig
        assert fig["width"] and int(fig["width"]) <= CONTENT_PX and fig["scale"] == 1, fig  # shown 1:1
        assert fig["min_text_px"] >= 9.0, (notebook.name, fig["alt"], fig["min_text_px"])
    return {"characters": len(seen.text), "figures": len(seen.figures),
            "min_text_px": min((f["min_text_px"] for f in seen.figures), default=None)}


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Run each (notebook, language) once, on first use."""
    import papermill as pm

    done: dict[tuple[str, str], Path] = {}

    def run(name: str, lang: str) -> Path:
        if (name, lang) not in done:
            out = tmp_path_factory.mktemp(f"{name}-{lang}")
            params = {"output_dir": str(out), "lang": lang, "communities": RUNS[name, lang], "as_of": SAMPLES_AS_OF}
            if name == "02_member_segments":
                params.update(n_resamples=2, n_boot=2)
            pm.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(out / f"{name}.ipynb"), parameters=params,
                                kernel_name="commlab", cwd=str(NOTEBOOKS), progress_bar=False)
            done[name, lang] = out / f"{name}.ipynb"
        return done[name, lang]

    return run


@pytest.mark.parametrize(("name", "lang"), list(RUNS))
def test_notebook_reads_as_a_report_in_one_language(executed, name, lang):
    measured = assert_reads_as_report(executed(name, lang), lang)
    assert measured["characters"] > 300
    if name != "04_compare_types" or RUNS[name, lang] != ONE:
        assert measured["figures"] >= 1


def test_one_community_drops_the_comparisons_and_says_so_once(executed):
    health = visible_text(executed("03_community_health", "en"), "en").text
    assert health.count("One community only") == 1
    assert "health metrics" not in health  # no health heatmap of one row
    network = [f for f in visible_text(executed("03_community_health", "en"), "en").figures
               if f["alt"].startswith("Network diagram")]
    assert len(network) == 1 and network[0]["alt"].count("Network diagram") == 1  # the community is drawn once
    types = visible_text(executed("04_compare_types", "zh"), "zh")
    assert types.text.count("只有一个社群") == 1 and not types.figures
    assert "类型指纹" not in types.text and "行为假设检验" not in types.text
    # and with several communities the comparisons are there
    several = visible_text(executed("04_compare_types", "en"), "en")
    assert "Type fingerprints" in several.text and "Behavioural hypotheses" in several.text
    assert [f["alt"][:7] for f in several.figures] == ["Heatmap"]


def test_numbers_are_formatted_one_way(executed):
    import re

    text = visible_text(executed("01_overview", "zh"), "zh").text
    assert re.search(r"\d{1,3}(,\d{3})+", text), "counts have thousands separators"
    assert len(re.findall(r"\d+(?:\.\d)?%", text)) >= len(SEVERAL), "the 30-day active share is a percentage"
    assert not re.search(r"\b0\.\d+\b(?!%)", text), "no share written as a bare fraction"
