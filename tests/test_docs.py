"""`make docs`: the API reference builds in strict mode (a broken reference fails it) and holds every public
name, every metric of the registry and the data model."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import commlab as cl
from conftest import REPO


def _build(config: Path, site: Path) -> subprocess.CompletedProcess:
    pytest.importorskip("mkdocstrings")
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)


def _copy_config(tmp_path: Path) -> Path:
    """mkdocs.yml and docs/site copied into tmp_path, the paths made absolute."""
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    shutil.copytree(REPO / "docs" / "site", tmp_path / "pages")
    config["docs_dir"] = str(tmp_path / "pages")
    config["hooks"] = [str(REPO / h) for h in config["hooks"]]
    for plugin in config["plugins"]:
        if isinstance(plugin, dict) and "mkdocstrings" in plugin:
            plugin["mkdocstrings"]["handlers"]["python"]["paths"] = [str(REPO / "src")]
    path = tmp_path / "mkdocs.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def test_the_reference_builds_strictly_with_every_name_metric_and_table(tmp_path):
    out = _build(REPO / "mkdocs.yml", tmp_path / "site")
    assert out.returncode == 0, out.stderr[-3000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    errors = (tmp_path / "site" / "errors" / "index.html").read_text(encoding="utf-8")
    for name in cl.__all__:
        if name == "__version__":
            continue
        module = "commlab._sklearn_errors" if name in ("NotFittedError", "ConvergenceWarning") else cl._API[name]
        assert f'id="{module}.{name}"' in api + errors, name
    for space in (cl.nb, cl.plots):  # the documented sub-namespaces, each name where it is defined
        for name in space.__all__:
            obj = getattr(space, name)
            assert not callable(obj) or f'id="{obj.__module__}.{name}"' in api, f"{space.__name__}.{name}"
    metrics = (tmp_path / "site" / "metrics" / "index.html").read_text(encoding="utf-8")
    assert all(f"<code>{m.id}</code>" in metrics for m in cl.list_metrics())
    model = (tmp_path / "site" / "data-model" / "index.html").read_text(encoding="utf-8")
    assert "member_id" in model and "event_type" in model


def test_a_broken_reference_fails_the_build(tmp_path):
    config = _copy_config(tmp_path)
    assert _build(config, tmp_path / "ok").returncode == 0
    index = tmp_path / "pages" / "index.md"
    index.write_text(index.read_text(encoding="utf-8") + "\nSee [the guide](no-such-page.md).\n", encoding="utf-8")
    out = _build(config, tmp_path / "broken")
    assert out.returncode != 0 and "no-such-page.md" in out.stderr
