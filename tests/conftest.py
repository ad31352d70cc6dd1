"""Shared test fixtures: paths to the repo, the bundled samples and the real data beside the repo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"
SHARED_DATA = REPO.parent / "shared" / "data"


def require_shared_data(*parts: str) -> Path:
    """Path under ``../shared/data``; skip when absent, but fail under CI (``CI=true``)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        msg = f"real data not found at {path} (the shared/ folder beside the repo)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + "; under CI it must be present")
        pytest.skip(msg)
    return path


@pytest.fixture
def shared_data() -> Path:
    """The ``../shared/data`` folder (skips, or fails under CI, when absent)."""
    return require_shared_data()


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The bundled sample data folder."""
    assert (SAMPLES / "communities.csv").exists(), "data/samples is missing: run `make samples`"
    return SAMPLES


def pytest_configure(config: pytest.Config) -> None:
    """Markers declared by test modules of the engines (lead: may move into pyproject)."""
    config.addinivalue_line("markers", "spark: runs a local pyspark session (needs pyspark, sqlglot and Java 17+)")
