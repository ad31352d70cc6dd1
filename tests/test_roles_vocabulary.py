"""One role vocabulary: the staff and replying roles are defined once, in commlab.data.schema."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from commlab.data import schema as S

SRC = Path(__file__).resolve().parents[1] / "src" / "commlab"


def test_the_roles_are_codes_of_the_member_role_vocabulary():
    codes = {term.code for term in S.MEMBER_ROLE.terms}
    assert set(S.STAFF_ROLES) <= codes and set(S.REPLYING_ROLES) <= set(S.STAFF_ROLES)
    assert "bot" in S.STAFF_ROLES and "bot" not in S.REPLYING_ROLES


@pytest.mark.parametrize("module", ["commlab.analysis.metrics", "commlab.analysis.features",
                                    "commlab.analysis.features_sql", "commlab.analysis.overview",
                                    "commlab.analysis.signals", "commlab.recommend", "commlab.analysis.panel"])
def test_every_module_uses_the_schemas_tuple(module):
    mod = importlib.import_module(module)
    for name in ("STAFF_ROLES", "REPLYING_ROLES"):
        if hasattr(mod, name):
            assert getattr(mod, name) is getattr(S, name), f"{module}.{name}"


def test_no_module_spells_the_staff_roles_out():
    pattern = re.compile(r"""\(\s*["']owner["'],\s*["']staff["'],\s*["']bot["']\s*\)""")
    found = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if pattern.search(p.read_text(encoding="utf-8"))]
    # only the schema (the sample generator spells them out no more since the samples were regenerated)
    assert sorted(found) == ["data/schema.py"]
