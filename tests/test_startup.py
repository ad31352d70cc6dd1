"""The processes commlab starts skip the IRI grammar jsonschema would build at import (commlab.startup)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_nbformat_still_validates_notebooks_without_the_grammar():
    got = _run("import sys\n"
               "from commlab.startup import skip_iri_grammar\n"
               "first = skip_iri_grammar()\n"
               "import nbformat\n"
               "nb = nbformat.read('notebooks/01_overview.ipynb', as_version=4)\n"
               "nbformat.validate(nb)\n"
               "bad = nbformat.v4.new_notebook(); bad.cells.append({'cell_type': 'code'})\n"
               "try:\n    nbformat.validate(bad)\nexcept nbformat.ValidationError:\n    print('refused')\n"
               "print(first, sys.modules['rfc3987_syntax'], skip_iri_grammar())")
    assert got == ["refused", "True", "None", "False"]


def test_a_process_that_imported_jsonschema_first_keeps_its_iri_checks():
    got = _run("import sys, jsonschema\n"
               "from commlab.startup import skip_iri_grammar\n"
               "print(skip_iri_grammar(), sys.modules.get('rfc3987_syntax', 'absent') is not None)")
    assert got == ["False", "True"]


def test_the_command_and_the_step_processes_skip_it_a_users_import_does_not():
    from commlab.step_pool import _STEP_MAIN

    assert _STEP_MAIN.startswith("from commlab.startup import skip_iri_grammar; skip_iri_grammar(); ")
    got = _run("import sys\n"
               "from commlab.cli import main\n"
               "main(['schema'])\n"
               "import nbformat\n"
               "print(sys.modules['rfc3987_syntax'])")
    assert got[-1] == "None"
    if importlib.util.find_spec("rfc3987_syntax") is not None:  # installed with JupyterLab's dependencies
        got = _run("import sys, commlab, commlab.nb, nbformat\nprint(sys.modules.get('rfc3987_syntax') is not None)")
        assert got == ["True"]
