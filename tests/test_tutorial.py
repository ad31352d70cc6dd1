"""The tutorial notebook (notebooks/tutorial.ipynb): short, on the public API only, and it runs."""

from __future__ import annotations

import re

import nbformat
import pytest

from conftest import REPO

TUTORIAL = REPO / "notebooks" / "tutorial.ipynb"


def test_the_tutorial_is_short_and_uses_only_the_public_api():
    import commlab as cl

    nb = nbformat.read(TUTORIAL, as_version=4)
    assert len(nb.cells) < 20
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "import commlab as cl" in code
    assert not re.search(r"from commlab|import commlab\.|commlab\.\w", code), "only `cl.` names"
    used = set(re.findall(r"\bcl\.(\w+)", code))
    assert used and used <= set(cl.__all__), used - set(cl.__all__)
    assert {"load_dataset", "member_features", "MemberSegmenter", "compare_groups"} <= used


def test_the_tutorial_runs_with_papermill(tmp_path):
    papermill = pytest.importorskip("papermill")
    out = tmp_path / "tutorial.ipynb"
    papermill.execute_notebook(str(TUTORIAL), str(out), kernel_name="commlab", cwd=str(REPO / "notebooks"),
                               parameters={"communities": ["c01", "c04"]}, progress_bar=False)
    nb = nbformat.read(out, as_version=4)
    shown = "\n".join(o.get("data", {}).get("text/plain", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.outputs)
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
    assert "咖啡爱好者交流群" in shown  # the communities table
    assert "ugc_30d" in shown and "ci_low" in shown  # the segment comparison
