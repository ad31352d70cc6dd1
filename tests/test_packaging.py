"""The project's own set-up files agree with each other."""

from __future__ import annotations

import re
import tomllib

import nbformat
import pytest
import yaml

from conftest import REPO

#: pyproject name -> conda-forge name, where they differ.
CONDA_NAMES = {"duckdb": "python-duckdb"}


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower()


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    project = _pyproject()["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    wanted |= {_name(r) for r in project["optional-dependencies"]["test"]}
    wanted |= {_name(r) for r in project["optional-dependencies"]["spark"]}
    wanted = {CONDA_NAMES.get(n, n) for n in wanted}
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    assert env["channels"] == ["conda-forge"]
    conda, pip = set(), set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip |= {_name(p) for p in dep["pip"] if not p.startswith("-e")}
            assert "-e ." in dep["pip"], "environment.yml must install commlab itself with pip"
        else:
            conda.add(_name(dep))
    declared = (conda | pip) - {"python", "pip"}
    assert declared == wanted, f"only in environment.yml: {declared - wanted}; only in pyproject: {wanted - declared}"


def test_lower_bounds_agree():
    project = _pyproject()["project"]
    bounds = {CONDA_NAMES.get(_name(r), _name(r)): r.split(">=")[1] for r in project["dependencies"] if ">=" in r}
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    flat = [d for d in env["dependencies"] if isinstance(d, str)] + env["dependencies"][-1]["pip"]
    for dep in flat:
        if ">=" in dep:
            name, low = _name(dep), dep.split(">=")[1].split()[0]
            if name in bounds:
                assert bounds[name] == low, f"{name}: pyproject >= {bounds[name]}, environment.yml >= {low}"


def test_console_script_declared():
    assert _pyproject()["project"]["scripts"]["commlab"] == "commlab.cli:main"


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "commlab"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"


def test_required_top_level_layout():
    for name in ("notebooks", "playbooks", "src/commlab", "data/samples", "tests", "environment.yml",
                 "pyproject.toml", "Makefile", "README.md", ".ci/run"):
        assert (REPO / name).exists(), name


def test_licence_is_an_spdx_expression_with_its_file():
    """The current (PEP 639) form: the TOML-table form warns at build time and stops working in 2027."""
    project = _pyproject()["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] and all((REPO / f).is_file() for f in project["license-files"])
    assert "MIT License" in (REPO / "LICENSE").read_text(encoding="utf-8")


def _make(tmp_path, target: str) -> str:
    """``make -s target`` with a stand-in venv whose programs print their arguments."""
    import os
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for prog in ("jupyter", "python"):
        exe = venv / "bin" / prog
        exe.write_text(f'#!/bin/sh\necho {prog} "$@"\n', encoding="utf-8")
        exe.chmod(0o755)
    (venv / ".commlab-installed").touch()  # newer than pyproject.toml: no set-up
    env = {k: v for k, v in os.environ.items()  # not the settings of a make that runs this test
           if k not in ("PYTEST_ARGS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    out = subprocess.run(["make", "-s", target, f"VENV={venv}"], cwd=REPO, capture_output=True, text=True,
                         check=True, env=env)
    return out.stdout.strip()


def test_make_lab_passes_allow_root_only_as_root(tmp_path):
    import os

    line = _make(tmp_path, "lab")
    assert line.startswith("jupyter lab notebooks/")
    assert ("--allow-root" in line.split()) == (os.getuid() == 0)


def test_make_test_fast_leaves_out_the_slow_tests(tmp_path):
    assert _make(tmp_path, "test-fast") == "python -m pytest -n 2 --dist loadfile -m not slow"


def test_every_slow_entry_names_a_test_that_exists():
    """tests/conftest.py's SLOW list must not rot: each module exists, each test is defined in it."""
    from conftest import SLOW

    for key in SLOW:
        module, _, case = key.partition("::")
        path = REPO / "tests" / module
        assert path.is_file(), key
        if case:
            name = case.split("[", 1)[0]
            assert re.search(rf"^def {re.escape(name)}\(", path.read_text(encoding="utf-8"), flags=re.M), key
