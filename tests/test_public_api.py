"""The public API, ``import commlab as cl``: every name resolves, is documented with an example that runs,
and ``import commlab`` stays light (the names are imported on first use)."""

from __future__ import annotations

import doctest
import inspect
import json
import re
import subprocess
import sys

import pytest

import commlab as cl
from conftest import REPO

NAMES = [n for n in cl.__all__ if n != "__version__"]

#: Modules that ``import commlab`` must not load: they take most of a second or more each.
HEAVY = ("pandas", "numpy", "duckdb", "sklearn", "scipy", "matplotlib", "papermill", "pyarrow", "networkx",
         "pandera", "pydantic", "commlab.analysis", "commlab.data", "commlab.runner")


def test_import_commlab_loads_no_heavy_module():
    code = ("import json, sys, commlab; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pandas', 'numpy', 'duckdb', 'sklearn', 'scipy', 'matplotlib', 'papermill', 'pyarrow', 'networkx', "
            "'pandera', 'pydantic', 'commlab'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    loaded = json.loads(out.stdout)
    assert [m for m in loaded if m.startswith(HEAVY)] == [], loaded
    assert "commlab" in loaded


def test_all_is_honest_and_sorted_by_purpose():
    assert len(NAMES) == len(set(NAMES))
    assert set(NAMES) <= set(dir(cl))
    for name in NAMES:
        obj = getattr(cl, name)
        assert getattr(obj, "__name__", name) == name, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cl.nope  # noqa: B018


def test_the_names_a_notebook_needs_are_there():
    for name in ("load_dataset", "import_source", "member_features", "MemberSegmenter", "BetaGeoModel",
                 "compute_metrics", "community_graph", "compare_groups", "test_hypotheses", "run_playbook",
                 "list_metrics", "CommlabError"):
        assert name in cl.__all__, name


def _doc(name: str) -> str:
    return inspect.getdoc(getattr(cl, name)) or ""


@pytest.mark.parametrize("name", NAMES)
def test_every_name_has_a_numpydoc_docstring_with_an_example(name):
    doc = _doc(name)
    summary = doc.split("\n\n", 1)[0]
    assert summary and summary[0].isupper() and summary.rstrip().endswith((".", ")")), f"{name}: {summary!r}"
    assert re.search(r"^Examples\n--------\n", doc, flags=re.M), f"{name} has no Examples section"
    sections = re.findall(r"^(\w[\w ]*)\n-{3,}$", doc, flags=re.M)
    known = {"Parameters", "Returns", "Yields", "Raises", "Warns", "Attributes", "Methods", "See Also", "Notes",
             "References", "Examples", "Other Parameters"}
    assert set(sections) <= known, f"{name}: unknown numpydoc section(s) {set(sections) - known}"
    assert sections[-1] == "Examples", f"{name}: Examples must be the last section"
    assert ">>> " in doc.split("Examples\n--------", 1)[1]


@pytest.mark.parametrize("name", NAMES)
def test_examples_run(name, monkeypatch, tmp_path):
    """Each example runs as written, from the repository root (where ``data/samples`` is)."""
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("COMMLAB_TEST_TMP", str(tmp_path))
    obj = getattr(cl, name)
    module = sys.modules[obj.__module__] if obj.__module__ in sys.modules else None
    globs = dict(vars(module)) if module is not None else {}
    finder = doctest.DocTestFinder(recurse=False)
    tests = [t for t in finder.find(obj, name, globs=globs) if t.examples]
    assert tests, f"{name}: no example found"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for t in tests:
        runner.run(t)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} example line(s) failed (see output)"
