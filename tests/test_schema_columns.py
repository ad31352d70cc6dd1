"""Column names come from ``commlab.data.schema.Col``, not string literals scattered around.

``Col`` holds exactly the columns of the three tables. :func:`column_literals` counts, with
:mod:`ast`, the string literals equal to a core column name left in ``src/commlab`` outside the
schema; SQL text is never counted (a literal is counted only when the whole string is the name,
so ``"SELECT community_id ..."`` is not), nor are docstrings. :data:`CEILING` holds the counts
left: a change may lower them (then lower the ceiling), never raise them.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from commlab.data.schema import TABLES, Col

SRC = Path(__file__).resolve().parents[1] / "src"

#: The core column names whose literals are counted.
CORE = ("community_id", "member_id")
#: Literals left outside the schema (before the move to ``Col``: community_id 602, member_id 217). The one
#: left is in i18n.py, which stays importable without pandas (schema imports it).
CEILING = {"community_id": 1, "member_id": 0}


def column_literals(src: Path, names: tuple[str, ...] = CORE, package: str = "commlab") -> Counter:
    """``(module path, name) -> count`` of the string literals equal to one of ``names``."""
    found: Counter = Counter()
    for path in sorted((src / package).rglob("*.py")):
        rel = path.relative_to(src / package).as_posix()
        if rel == "data/schema.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = set()
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and body \
                    and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                skip.add(id(body[0].value))  # a docstring
            if isinstance(node, ast.JoinedStr):
                skip.update(id(v) for v in node.values)  # f-string text: SQL or a message
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names \
                    and id(node) not in skip:
                found[(rel, node.value)] += 1
    return found


def _totals(found: Counter) -> dict[str, int]:
    totals = dict.fromkeys(CORE, 0)
    for (_, name), n in found.items():
        totals[name] += n
    return totals


def test_col_names_exactly_the_columns_of_the_tables():
    attrs = {k: v for k, v in vars(Col).items() if not k.startswith("_")}
    assert all(k == v for k, v in attrs.items()), {k: v for k, v in attrs.items() if k != v}
    assert set(attrs) == {c.name for t in TABLES.values() for c in t.columns}


def test_column_literals_only_go_down():
    totals = _totals(column_literals(SRC))
    over = {n: (totals[n], CEILING[n]) for n in CORE if totals[n] > CEILING[n]}
    assert over == {}, (f"new string literals of column names (count, ceiling): {over}; use "
                        "commlab.data.schema.Col (e.g. Col.community_id)")
    assert totals == CEILING, f"fewer literals than the ceiling: lower CEILING to {totals}"


def test_the_count_sees_literals_and_not_sql_or_docstrings(tmp_path):
    pkg = tmp_path / "fake"
    (pkg / "data").mkdir(parents=True)
    (pkg / "data" / "schema.py").write_text('A = "community_id"\n', encoding="utf-8")
    (pkg / "m.py").write_text(
        '"""Module about "community_id"."""\n'
        'def f(df, con, t):\n'
        '    """community_id"""\n'
        '    x = df["community_id"], df[\'member_id\'], {"member_id": 1}\n'
        '    con.sql("SELECT community_id, member_id FROM events")\n'
        '    return con.sql(f"SELECT community_id FROM {t}"), f"{t}community_id"\n',
        encoding="utf-8")
    assert column_literals(tmp_path, package="fake") == Counter({("m.py", "community_id"): 1,
                                                                ("m.py", "member_id"): 2})
