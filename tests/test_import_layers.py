"""The package's layers point only down, and no modules import each other in a cycle.

The import graph is read from the source with :mod:`ast`: every ``import`` and ``from ... import``
anywhere in a module (at the top, inside functions, methods and ``try`` blocks), plus a string
that names a commlab module exactly (a module loaded by name, e.g. the metric registry's built-in
modules or the lazy names of ``commlab/__init__.py``). Imports under ``if TYPE_CHECKING:`` are
for type checkers only, never run, and are not counted.

Each module belongs to one layer of :data:`LAYERS` (docs/ARCHITECTURE.md draws the same
picture); a module may import its own layer or a lower one. A new module must be given a layer
here. The edges that break the rule on purpose are in :data:`EXCEPTIONS`, each with its reason;
a test fails when one is no longer needed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

#: The layers, lowest first: (name, the modules it holds, as names or ``prefix.*``). The most
#: specific entry names a module's layer (``commlab.data.schema`` is foundation, not data).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", (
        "commlab.errors", "commlab._sklearn_errors", "commlab.instant", "commlab.fmt", "commlab.i18n",
        "commlab.rules_text",
        "commlab.atomic", "commlab.outputs", "commlab.sanitize", "commlab.data.schema", "commlab.figure_outputs",
        "commlab.settings", "commlab.startup",
    )),
    ("data", ("commlab.data", "commlab.data.*", "commlab.replies", "commlab.replies.*", "commlab.privacy",
              "commlab.privacy.pseudonyms", "commlab.privacy.suppression", "commlab.privacy.leakscan",
              "commlab.privacy.readable")),
    ("importers", ("commlab.importers", "commlab.importers.*", "commlab.sources")),
    ("definitions", (
        "commlab.analysis", "commlab.analysis.daymask", "commlab.analysis.features_sql",
        "commlab.analysis.metrics", "commlab.analysis.metrics_sql", "commlab.analysis.practices",
        "commlab.analysis.metric_text", "commlab.analysis.periods",
    )),
    ("engines", ("commlab.engines", "commlab.engines.*")),
    ("analysis", ("commlab.analysis.*",)),
    ("decisions", (
        "commlab.facts", "commlab.goals", "commlab.rules", "commlab.evidence", "commlab.recommend",
        "commlab.recommend_facts", "commlab.recommend_changes", "commlab.recommend_html",
        "commlab.forecast", "commlab.forecast.*", "commlab.plots", "commlab.plots.*",
        "commlab.display", "commlab.display_health", "commlab.display_segments", "commlab.display_types",
        "commlab.nb",
    )),
    ("runs", (
        "commlab.playbook", "commlab.parameters", "commlab.plan", "commlab.run_data", "commlab.manifest",
        "commlab.runs", "commlab.report_view", "commlab.report", "commlab.report_pdf", "commlab.runner",
        "commlab.notebook_exec", "commlab.step_pool",
    )),
    ("entry", ("commlab", "commlab.cli", "commlab.__main__")),
)

#: Edges (importer, imported) allowed to break the layering or close a cycle, with the reason.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("commlab.errors", "commlab._sklearn_errors"):
        "errors re-exports NotFittedError/ConvergenceWarning lazily (PEP 562 __getattr__): the classes "
        "derive from scikit-learn's, whose import costs ~1 s that `import commlab.errors` must not pay",
    ("commlab.analysis.metrics", "commlab.analysis.metrics_sql"):
        "the metric registry loads its built-in metric modules by name on first use (_BUILTIN_MODULES, "
        "plugins that import the registry to register themselves): the registry never imports them "
        "at import time",
    ("commlab.analysis.metrics", "commlab.analysis.practices"):
        "loaded by name by the registry (as metrics_sql)",
    ("commlab.analysis.metrics", "commlab.analysis.network"):
        "loaded by name by the registry (as metrics_sql); network registers its metrics and also holds "
        "community_graph, which runs DuckDB through "
        "analysis.compute (above the engines), so the module sits in the analysis layer",
    ("commlab.analysis.metrics", "commlab.analysis.economy"):
        "loaded by name by the registry (as network); economy builds on network's measures",
    ("commlab.analysis.metrics", "commlab.analysis.highvalue"):
        "loaded by name by the registry (as network); highvalue builds on network's tie queries",
}


def _module_names(src: Path) -> dict[str, Path]:
    mods = {}
    for path in sorted(src.rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def import_graph(src: Path, package: str = "commlab") -> nx.DiGraph:
    """Module -> the package's modules it imports (edge attribute ``lines``: where).

    Parameters
    ----------
    src : Path
        The folder holding the package.
    package : str
        The top-level package whose internal imports are read.
    """
    mods = _module_names(src)

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph = nx.DiGraph()
    graph.add_nodes_from(mods)
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_lines(tree)
        here = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        targets: list[tuple[str, int]] = []
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            if isinstance(node, ast.Import):
                targets += [(a.name, node.lineno) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - node.level + 1]
                    full = ".".join(base + ([node.module] if node.module else []))
                else:
                    full = node.module or ""
                targets += [(f"{full}.{a.name}" if f"{full}.{a.name}" in mods else full, node.lineno)
                            for a in node.names]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in mods \
                    and node.value != package:
                targets.append((node.value, node.lineno))  # a module loaded by name
        for name, line in targets:
            if name != package and not name.startswith(package + "."):
                continue
            target = resolve(name)
            if target is None or target == mod:
                continue
            if graph.has_edge(mod, target):
                graph.edges[mod, target]["lines"].append(line)
            else:
                graph.add_edge(mod, target, lines=[line])
    return graph


def layer_of(module: str, layers: Iterable[tuple[str, tuple[str, ...]]] = LAYERS) -> int | None:
    """Index of ``module``'s layer: an exact name wins over the longest ``prefix.*``."""
    best: tuple[int, int] | None = None  # (specificity, layer)
    for i, (_, members) in enumerate(layers):
        for entry in members:
            if entry == module:
                score = 10_000
            elif entry.endswith(".*") and module.startswith(entry[:-1]):
                score = len(entry)
            else:
                continue
            if best is None or score > best[0]:
                best = (score, i)
    return None if best is None else best[1]


def upward_imports(graph: nx.DiGraph, layers=LAYERS, exceptions=EXCEPTIONS) -> list[str]:
    """Each import of a higher layer, as ``a (layer) -> b (layer), line N``."""
    names = [name for name, _ in layers]
    out = []
    for a, b, data in graph.edges(data=True):
        la, lb = layer_of(a, layers), layer_of(b, layers)
        if la is not None and lb is not None and lb > la and (a, b) not in exceptions:
            lines = ", ".join(map(str, sorted(set(data["lines"]))))
            out.append(f"{a} ({names[la]}) -> {b} ({names[lb]}), line {lines}")
    return sorted(out)


def import_cycles(graph: nx.DiGraph, exceptions=EXCEPTIONS) -> list[list[str]]:
    """Groups of modules that import each other (directly or through others)."""
    g = graph.copy()
    g.remove_edges_from([e for e in exceptions if g.has_edge(*e)])
    return sorted(sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1)


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    return import_graph(SRC)


def test_every_module_has_a_layer(graph):
    assert [m for m in graph.nodes if layer_of(m) is None] == []


def test_no_module_imports_a_higher_layer(graph):
    assert upward_imports(graph) == []


def test_no_import_cycle(graph):
    assert import_cycles(graph) == []


def test_every_exception_is_still_needed(graph):
    stale = [e for e in EXCEPTIONS if not graph.has_edge(*e)]
    unneeded = [e for e in EXCEPTIONS if graph.has_edge(*e)
              and layer_of(e[1]) <= layer_of(e[0]) and not nx.has_path(graph, e[1], e[0])]
    assert stale == [] and unneeded == []


def test_the_engines_and_the_data_layer_know_nothing_above_them(graph):
    """The two cycles issue 23 named: analysis <-> engines and data.load <-> data.cache."""
    for mod in ("commlab.engines.base", "commlab.engines.duck", "commlab.engines.spark"):
        assert {t for t in graph.successors(mod) if t.startswith("commlab.analysis.")} <= {
            "commlab.analysis.features_sql", "commlab.analysis.metrics"}
    assert not graph.has_edge("commlab.data.cache", "commlab.data.load")
    static = graph.copy()
    static.remove_edges_from([e for e in EXCEPTIONS if static.has_edge(*e)])
    assert not nx.has_path(static, "commlab.analysis.metrics", "commlab.engines.duck")


def _strings_outside_docstrings(tree: ast.AST) -> list[tuple[str, int]]:
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body \
                and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
            docs.add(id(node.body[0].value))
    return [(n.value, n.lineno) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def test_no_module_below_the_runs_names_a_notebook():
    """The notebooks use the package; what they ask of it they declare (their metadata), no module knows them.

    A table keyed by notebook file name in a lower layer (as ``engines.runcache`` once had) makes a renamed
    or a user's notebook silently lose what the table gave ours.
    """
    stems = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert "05_recommendations" in stems
    runs = [n for n, _ in LAYERS].index("runs")
    found = []
    for mod, path in _module_names(SRC).items():
        level = layer_of(mod)
        if level is None or level >= runs:
            continue
        for text, line in _strings_outside_docstrings(ast.parse(path.read_text(encoding="utf-8"))):
            found += [f"{mod}:{line} {stem}" for stem in stems if stem in text]
    assert found == []


def test_the_architecture_document_names_the_layers():
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    block = re.search(r"```text\n(.*?)```", text, re.S)
    assert block, "docs/ARCHITECTURE.md has no ```text block drawing the layers"
    assert [n for n, _ in LAYERS if n not in block.group(1)] == []


def test_the_checker_finds_function_level_upward_imports_and_cycles(tmp_path):
    """A small package with each fault: the checker reports it (so the tests above can fail)."""
    pkg = tmp_path / "pkg"
    (pkg / "low").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "low" / "__init__.py").write_text("")
    (pkg / "low" / "a.py").write_text("def f():\n    from pkg.high import g\n    return g\n")
    (pkg / "low" / "b.py").write_text("from . import c\n")
    (pkg / "low" / "c.py").write_text("import pkg.low.b\n")
    (pkg / "low" / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import high\n")
    (pkg / "high.py").write_text("from pkg.low import a\n\ndef g():\n    return a\n")
    layers = (("low", ("pkg", "pkg.low", "pkg.low.*")), ("high", ("pkg.high",)))
    g = import_graph(tmp_path, package="pkg")
    assert upward_imports(g, layers, {}) == ["pkg.low.a (low) -> pkg.high (high), line 2"]
    assert import_cycles(g, {}) == [["pkg.high", "pkg.low.a"], ["pkg.low.b", "pkg.low.c"]]
    assert not g.has_edge("pkg.low.d", "pkg.high")  # type checkers only
    assert import_cycles(g, {("pkg.low.a", "pkg.high"): "why", ("pkg.low.c", "pkg.low.b"): "why"}) == []
