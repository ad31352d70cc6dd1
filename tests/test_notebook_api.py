"""The notebooks' side of the public API: ``cl.nb`` (show, suppress, write) and ``cl.plots`` (figures).

``show_table`` is the one step that shows a table of members: it must hide exactly what
``suppress_table`` hides, display the suppressed copy as a report table and then the note.
"""

from __future__ import annotations

import IPython.display
import numpy as np
import pandas as pd
import pytest

import commlab as cl
from commlab.errors import ParameterError


@pytest.fixture
def shown_outputs(monkeypatch):
    outputs: list = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: outputs.extend(objs))
    return outputs


ROLES = pd.DataFrame({"role": ["core", "lurker", "<b>ordinary</b>"], "members": [3, 40, 0],
                      "share": [3 / 43, 40 / 43, 0.0]})


def test_show_table_displays_the_suppressed_table_then_the_note(shown_outputs):
    privacy = dict(counts=["members"], linked={"members": ["share"]})
    shown, hidden = cl.nb.show_table(ROLES, 5, "en", privacy=privacy, kinds={"members": "count", "share": "share"},
                                     labels={"role": "Role", "members": "Members", "share": "Share"})
    expected, n = cl.nb.suppress_table(ROLES, 5, **privacy)
    pd.testing.assert_frame_equal(shown, expected)
    assert hidden == n == 1  # the core row's count and its share; zero is never hidden
    styler, note = shown_outputs
    html = styler.to_html()
    assert ">&lt;5<" in html and "—" in html and ">40<" in html and ">93%<" in html
    assert "&lt;b&gt;ordinary&lt;/b&gt;" in html and "<b>ordinary" not in html  # names from data are escaped
    assert "Members" in html and "Share" in html
    assert isinstance(note, IPython.display.Markdown)
    assert note.data == cl.nb.suppression_note(1, 5, "en") and "fewer than 5 members" in note.data


def test_show_table_says_nothing_when_nothing_is_hidden_and_keeps_the_k_floor(shown_outputs):
    _, hidden = cl.nb.show_table(ROLES.iloc[1:], 5, "zh", privacy=dict(counts=["members"]))
    assert hidden == 0 and shown_outputs[1].data == ""
    with pytest.raises(ParameterError, match="at least 2"):
        cl.nb.show_table(ROLES, 1, "en", privacy=dict(counts=["members"]))


def test_show_table_indexes_renames_and_picks_columns_after_suppression(shown_outputs):
    table = pd.DataFrame({"community_id": ["c1", "c2"], "members": [4, 50], "gini": [0.3, 0.5],
                          "unused": [1, 2]})
    shown, hidden = cl.nb.show_table(table, 5, "en", privacy=dict(size="members"), index="community_id",
                                     names={"c1": "小组一", "c2": "Two"}, columns=["members", "gini"],
                                     index_label="Community")
    assert hidden == 1 and shown.loc[0, "gini"] == "—" and list(shown.columns) == list(table.columns)
    html = shown_outputs[0].to_html()
    assert "小组一" in html and "Community" in html and "unused" not in html


def test_show_table_suppresses_a_metric_table_as_suppress_metrics_does(shown_outputs):
    wide = pd.DataFrame({"members": [3.0, 80.0], "active_share_30d": [0.5, 0.05], "gini": [0.2, 0.4]},
                        index=["c1", "c2"])
    shown, hidden = cl.nb.show_table(wide, 5, "en", metrics=True)
    expected, n = cl.nb.suppress_metrics(wide, 5)
    pd.testing.assert_frame_equal(shown, expected)
    assert hidden == n == 2  # c1 (3 members) and c2's 5 % of 80 = 4 active members


def test_sub_namespaces_are_honest_and_lazy():
    assert "nb" in dir(cl) and "plots" in dir(cl)
    for space in (cl.nb, cl.plots):
        assert len(space.__all__) == len(set(space.__all__))
        for name in space.__all__:
            assert getattr(space, name) is not None, f"{space.__name__}.{name}"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cl.plots.nope  # noqa: B018


def test_data_counts_are_numbers():
    ds = cl.load_dataset(_samples(), communities=["c04"])
    counts = cl.nb.data_counts(ds)
    s = ds.data_summary()
    assert counts == {"communities": 1, "members": s.members, "events": s.events, "first": s.first, "last": s.last}
    assert all(isinstance(counts[k], int) for k in ("communities", "members", "events"))


def _samples():
    from conftest import REPO

    return REPO / "data" / "samples"


@pytest.mark.parametrize("module", ["commlab.nb", "commlab.display_segments", "commlab.analysis.truth"])
def test_the_notebook_helpers_examples_run(module, monkeypatch):
    """The helpers written for the notebooks (show_table, heading_line, source_line, data_counts,
    SegmentsReport, compare_with_truth) each carry an example; they run as written from the repository root."""
    import doctest
    import importlib

    from conftest import REPO

    monkeypatch.chdir(REPO)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(importlib.import_module(module), optionflags=flags)
    assert result.attempted > 0 and result.failed == 0, result


def test_the_truth_comparison_is_none_on_real_data_and_reads_the_planted_roles(tmp_path):
    features = pd.DataFrame({"community_id": ["c"] * 6, "member_id": [f"m{i}" for i in range(6)],
                             "is_staff": [True, False, False, False, False, False]})
    roles = pd.Series(["staff", "core", "core", "lurker", "lurker", "lurker"])
    labels = np.array([0, 0, 1, 1, 1])
    assert cl.compare_with_truth(tmp_path, features, roles, labels) is None
    (tmp_path / "truth").mkdir()
    planted = ["bot", "core", "core", "core", "lurker", "lurker"]
    (tmp_path / "truth" / "member_roles.csv").write_text(
        "community_id,member_id,planted_role\n" + "".join(f"c,m{i},{r}\n" for i, r in enumerate(planted)))
    truth = cl.compare_with_truth(tmp_path, features, roles, labels)
    # the planted bot counts as staff; m3 planted core, ruled lurker
    assert truth.accuracy.loc["all", "n"] == 6 and truth.accuracy.loc["all", "correct"] == 5
    assert truth.accuracy.loc["core", "accuracy"] == pytest.approx(2 / 3)
    # the segments {m1, m2} | {m3, m4, m5} against the planted {m1, m2, m3} | {m4, m5}: staff left out
    assert truth.ari == pytest.approx(1 / 6)
    d = truth.to_dict()
    assert set(d) == {"ari_clusters_vs_planted", "rule_role_accuracy", "rule_role_accuracy_all"}
    assert d["rule_role_accuracy_all"] == pytest.approx(5 / 6)


def _sub_namespace_names() -> list[str]:
    return [f"{space.__name__.rpartition('.')[2]}.{n}" for space in (cl.nb, cl.plots) for n in space.__all__
            if callable(getattr(space, n))]


SECTIONS = {"Parameters", "Returns", "Yields", "Raises", "Warns", "Attributes", "Methods", "See Also", "Notes",
            "References", "Examples", "Other Parameters"}


@pytest.mark.parametrize("dotted", _sub_namespace_names())
def test_every_cl_nb_and_cl_plots_name_has_a_numpydoc_docstring_with_an_example_that_runs(dotted, monkeypatch):
    """As test_public_api does for cl.__all__: summary sentence, known sections, Examples last; run from the
    repository root."""
    import doctest
    import inspect
    import re
    import sys

    from conftest import REPO

    space, name = dotted.split(".")
    obj = getattr(getattr(cl, space), name)
    doc = inspect.getdoc(obj) or ""
    summary = doc.split("\n\n", 1)[0]
    assert summary and summary[0].isupper() and summary.rstrip().endswith((".", ")")), f"{dotted}: {summary!r}"
    sections = re.findall(r"^(\w[\w ]*)\n-{3,}$", doc, flags=re.M)
    assert set(sections) <= SECTIONS and sections and sections[-1] == "Examples", f"{dotted}: {sections}"
    monkeypatch.chdir(REPO)
    module = sys.modules[obj.__module__]
    tests = [t for t in doctest.DocTestFinder(recurse=False).find(obj, name, globs=dict(vars(module))) if t.examples]
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for t in tests:
        runner.run(t)
    result = runner.summarize(verbose=False)
    assert tests and result.failed == 0, f"{dotted}: {result.failed} of {result.attempted} example line(s) failed"


def test_importing_the_figures_changes_no_matplotlib_setting_and_setup_fonts_does():
    """Issue 23 (6): ``import commlab.plots`` changed matplotlib's rcParams for the whole process; now only an
    explicit ``cl.plots.setup_fonts()`` does (every notebook that draws calls it: test_notebooks_public_api)."""
    import subprocess
    import sys

    from conftest import REPO

    code = ("import json, matplotlib; before = dict(matplotlib.rcParams); import commlab as cl; "
            "cl.plots.plot_k_scores; import commlab.plots.segments; "
            "changed = sorted(k for k, v in matplotlib.rcParams.items() if before.get(k) != v); "
            "family = cl.plots.setup_fonts(); "
            "print(json.dumps([changed, family, matplotlib.rcParams['font.sans-serif'][0]]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    import json

    changed, family, first = json.loads(out.stdout.strip().splitlines()[-1])
    assert changed == []
    assert family is not None and first == family  # the bundled Noto Sans CJK (a dependency) is always found
