"""The layer contract: dependencies inside :mod:`interestgraph` flow one way, and no private name crosses a module.

Every module of the package is parsed (not imported) and every import is collected: module level and inside
functions, ``import x`` and ``from x import y``, absolute and relative, and ``TYPE_CHECKING`` blocks too. Each module
belongs to a layer; a module may import its own layer and the layers below it, never one above:

    base utilities (errors, progress, artifacts, device, distributed, ops, _offline, the package __init__)
    → data → interests → encoder → graph → paths → train → evaluate → {model, baselines} → recommend → viz → cli

``model`` and ``baselines`` are peers: neither imports the other. ``spark`` sits above ``paths`` (it may import
graph, the item–item sums' contract in paths, and what is below them) and only ``cli`` imports it.
``interestgraph.__main__`` (``python -m interestgraph``) is the entry point above ``cli``.

A ``_private`` name (not a ``__dunder__``) imported from another module is a violation too, as is importing a
``_private`` module from outside the package that holds it: what is shared is made public and documented. And no
modules may import each other, even inside one layer (a cycle, e.g. the graph builder and the graph class each
importing the other): what both need goes into a third module.

When this test fails it lists every offending import with its file and line. Fix the import (move the code to the
lower layer it belongs to, or make the shared name public); there is no list of tolerated exceptions.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "interestgraph"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

#: Layers from the bottom up; a module may import its own layer and any layer listed before it.
#: Layers in one tuple are peers that may not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("base",),
    ("data",),
    ("interests",),
    ("encoder",),
    ("graph",),
    ("paths",),
    ("spark",),
    ("train",),
    ("evaluate",),
    ("model", "baselines"),
    ("recommend",),
    ("viz",),
    ("cli",),
    ("entry",),
)
#: Top-level modules and packages that are base utilities (they import no layer).
BASE = frozenset({"errors", "progress", "artifacts", "device", "distributed", "ops", "_offline", "__init__"})
#: Layers that may import ``spark`` (it sits above paths but is a side branch only the CLI uses).
SPARK_USERS = frozenset({"spark", "cli", "entry"})


#: The one import cycle still waiting for a branch: ``cli/evaluate_verb.py`` imports the verb helpers from
#: ``cli.app`` (which imports every verb module); the ``linear`` branch, which owns that file, imports them from
#: ``cli.verb`` instead. Listed exactly; delete the entry when that branch is merged
#: (test_pending_cycles_still_occur then says it is gone). Nothing else may be added here.
PENDING_CYCLES: frozenset[frozenset[str]] = frozenset()


@dataclass(frozen=True)
class Import:
    """One imported name: ``source`` (module) imports ``name`` from ``target`` (module), at ``path:line``."""

    source: str
    target: str
    name: str | None
    path: str
    line: int


def module_name(path: Path, root: Path = ROOT) -> str:
    """``interestgraph/graph/build.py`` → ``interestgraph.graph.build``; a package's ``__init__`` is the package."""
    parts = (root.name, *path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(source: str, is_package: bool, level: int, module: str | None) -> str:
    """The absolute module of a relative import ``from <level dots><module> import ...`` in ``source``."""
    package = source.split(".") if is_package else source.split(".")[:-1]
    base = package[: len(package) - (level - 1)] if level > 1 else package
    return ".".join(base + ([module] if module else []))


def collect_imports(path: Path, root: Path = ROOT) -> list[Import]:
    """Every import of the package's own modules in the file at ``path`` (at any depth of the syntax tree)."""
    source = module_name(path, root)
    is_package = path.name == "__init__.py"
    shown = str(path.relative_to(root.parent))
    found: list[Import] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [Import(source, a.name, None, shown, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(source, is_package, node.level, node.module) if node.level else node.module or ""
            found += [Import(source, target, a.name, shown, node.lineno) for a in node.names]
        elif (  # importlib.import_module("<name>"[, __name__]) with a literal name
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            name = node.args[0].value
            level = len(name) - len(name.lstrip("."))
            anchor = node.args[1] if len(node.args) > 1 else None  # the package a relative name is relative to
            anchor = anchor.value if isinstance(anchor, ast.Constant) else source  # __name__: this module
            target = _resolve(anchor, True, level, name.lstrip(".") or None) if level else name
            found.append(Import(source, target, None, shown, node.lineno))
    return [i for i in found if i.target == PACKAGE or i.target.startswith(PACKAGE + ".")]


def package_imports(root: Path = ROOT) -> list[Import]:
    """:func:`collect_imports` over every module of the package."""
    return [i for path in sorted(root.rglob("*.py")) for i in collect_imports(path, root)]


def layer_of(module: str) -> str:
    """The layer of a module: its top-level subpackage, ``base`` for the base utilities, ``entry`` for __main__."""
    parts = module.split(".")
    if len(parts) == 1:
        return "base"
    top = parts[1]
    if top == "__main__":
        return "entry"
    if top in BASE:
        return "base"
    return top


RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _private_parts(module: str) -> list[int]:
    parts = module.split(".")
    return [k for k, p in enumerate(parts) if p.startswith("_") and not p.startswith("__")]


def violations(imports: list[Import]) -> dict[str, list[Import]]:
    """Every violation, keyed ``"source -> target"`` (layer) or ``"source -> target:name"`` (private name)."""
    found: dict[str, list[Import]] = {}
    for imp in imports:
        src, dst = layer_of(imp.source), layer_of(imp.target)
        if src not in RANK or dst not in RANK:
            raise AssertionError(
                f"{imp.path}:{imp.line}: {imp.source} -> {imp.target}: a layer this test does not know "
                f"({src if src not in RANK else dst}); add it to LAYERS"
            )
        upward = RANK[dst] > RANK[src] or (RANK[dst] == RANK[src] and dst != src)
        if upward or (dst == "spark" and src not in SPARK_USERS):
            found.setdefault(f"{imp.source} -> {imp.target}", []).append(imp)
        private_name = imp.name is not None and imp.name.startswith("_") and not imp.name.startswith("__")
        if private_name and imp.target != imp.source:
            found.setdefault(f"{imp.source} -> {imp.target}:{imp.name}", []).append(imp)
        # a _private module may be imported only from inside the package that holds it
        for k in _private_parts(imp.target):
            holder = ".".join(imp.target.split(".")[:k])
            if not (imp.source == holder or imp.source.startswith(holder + ".")):
                found.setdefault(f"{imp.source} -> {imp.target}", []).append(imp)
    return found


def describe(key: str, imports: list[Import]) -> str:
    """One readable line per violation: where it is, what it imports and why that is not allowed."""
    first = imports[0]
    where = ", ".join(f"{i.path}:{i.line}" for i in imports)
    if ":" in key.rsplit(" -> ", 1)[1]:
        why = f"private name {first.name!r} imported from another module (make it public)"
    elif any(_private_parts(first.target)):
        why = "a private module imported from outside its package"
    elif layer_of(first.target) == "spark" and layer_of(first.source) not in SPARK_USERS:
        why = f"{layer_of(first.source)} imports spark (only cli may)"
    else:
        why = f"layer {layer_of(first.source)} imports the higher layer {layer_of(first.target)}"
    return f"  {key}  [{why}]  at {where}"


def unexpected(imports: list[Import]) -> list[str]:
    """The readable lines of every violation."""
    return [describe(key, found) for key, found in sorted(violations(imports).items())]


def import_cycles(imports: list[Import], modules: set[str]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module in the graph of ``imports``.

    ``from package import name`` is an edge to ``package.name`` when that is a module (importing a submodule from its
    package), else to ``package``.
    """
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for imp in imports:
        target = f"{imp.target}.{imp.name}" if imp.name and f"{imp.target}.{imp.name}" in modules else imp.target
        if target in modules and target != imp.source:
            graph[imp.source].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph):  # Tarjan's algorithm, iterative (no recursion limit)
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(frozenset(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return sorted(found, key=sorted)


def package_modules(root: Path = ROOT) -> set[str]:
    return {module_name(path, root) for path in root.rglob("*.py")}


# ---------------------------------------------------------------------------------------------------- the contract
@functools.cache
def _scanned() -> tuple[list[Import], set[str]]:
    """The package's imports and modules, parsed once for all the tests below."""
    return package_imports(), package_modules()


def test_no_module_imports_a_higher_layer_or_a_private_name():
    imports, _ = _scanned()
    assert len(imports) > 300  # the scan sees the package (about 600 imports today)
    bad = unexpected(imports)
    assert not bad, "imports against the layer contract (see tests/test_layers.py):\n" + "\n".join(bad)


def test_no_import_cycles():
    cycles = [c for c in import_cycles(*_scanned()) if c not in PENDING_CYCLES]
    assert not cycles, "modules that import each other (move what both need into a third module):\n" + "\n".join(
        "  " + " <-> ".join(sorted(c)) for c in cycles
    )


def test_pending_cycles_still_occur():
    gone = PENDING_CYCLES - set(import_cycles(*_scanned()))
    assert not gone, "PENDING_CYCLES lists cycles that are gone; delete them:\n" + "\n".join(
        "  " + ", ".join(sorted(c)) for c in gone
    )


def test_the_cycle_finder_sees_a_loop_through_a_function_level_import():
    modules = {"interestgraph.a", "interestgraph.b", "interestgraph.c", "interestgraph.d", "interestgraph.pkg"}
    modules.add("interestgraph.pkg.sub")
    fake = [
        _imp("interestgraph.a", "interestgraph.b", "x"),
        _imp("interestgraph.b", "interestgraph.c", "y"),
        _imp("interestgraph.c", "interestgraph.a", "z"),  # a → b → c → a
        _imp("interestgraph.d", "interestgraph.a", "x"),  # into the loop, not part of it
        _imp("interestgraph.pkg", "interestgraph.pkg", "sub"),  # a package importing its submodule
        _imp("interestgraph.pkg.sub", "interestgraph.d", "w"),
    ]
    assert import_cycles(fake, modules) == [frozenset({"interestgraph.a", "interestgraph.b", "interestgraph.c"})]
    fake.append(_imp("interestgraph.a", "interestgraph.pkg", "sub"))
    fake.append(_imp("interestgraph.d", "interestgraph.pkg.sub", "v"))
    assert import_cycles(fake, modules) == [
        frozenset({"interestgraph.a", "interestgraph.b", "interestgraph.c", "interestgraph.d", "interestgraph.pkg.sub"})
    ]


# ---------------------------------------------------------------------------------------------- the checker itself
def _imp(source: str, target: str, name: str | None = None) -> Import:
    return Import(source, target, name, "fake.py", 1)


def test_the_checker_reports_a_fake_upward_edge_and_a_fake_private_name():
    fake = [
        _imp("interestgraph.data.schema", "interestgraph.graph.build", "GraphConfig"),  # data → graph
        _imp("interestgraph.graph.forget", "interestgraph.model.encoding", "checked_encoder"),  # graph → model
        _imp("interestgraph.model.model", "interestgraph.baselines", "ItemKNN"),  # peers
        _imp("interestgraph.graph.build", "interestgraph.spark", "build_interest_graph_spark"),  # only cli uses spark
        _imp("interestgraph.ops.knn", "interestgraph.progress", "progress"),  # base → base: fine
        _imp("interestgraph.recommend.topk", "interestgraph.ops", "mask_seen"),  # downward: fine
        _imp("interestgraph.cli.app", "interestgraph.spark"),  # cli may use spark
        _imp("interestgraph.__main__", "interestgraph.cli", "main"),  # the entry point is above cli
        _imp("interestgraph.spark.build", "interestgraph.data.splits", "_part_column"),  # private name
        _imp("interestgraph.recommend.topk", "interestgraph.baselines._bpr", "BPRModel"),  # private module
        _imp("interestgraph.baselines", "interestgraph.baselines._bpr", "BPRModel"),  # its own package: fine
    ]
    bad = unexpected(fake)
    assert len(bad) == 6, bad
    text = "\n".join(bad)
    assert "interestgraph.data.schema -> interestgraph.graph.build  [layer data imports the higher layer graph]" in text
    assert "interestgraph.graph.forget -> interestgraph.model.encoding" in text
    assert "[layer model imports the higher layer baselines]" in text
    assert "[graph imports spark (only cli may)]" in text
    assert "interestgraph.spark.build -> interestgraph.data.splits:_part_column  [private name '_part_column'" in text
    assert "interestgraph.recommend.topk -> interestgraph.baselines._bpr  [a private module" in text
    assert "at fake.py:1" in text


def test_the_scan_resolves_relative_function_level_and_dynamic_imports(tmp_path):
    root = tmp_path / PACKAGE
    (root / "graph").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "graph" / "__init__.py").write_text("from .build import f\n")
    (root / "graph" / "build.py").write_text(
        "import interestgraph.data\n"
        "def f():\n"
        "    from ..model.encoding import _digest\n"
        "    from . import knn\n"
        "    import importlib\n"
        "    return importlib.import_module('.cli', 'interestgraph')\n"
        "if False:\n"
        "    from interestgraph.viz import page\n"
        "import numpy\n"
    )
    found = {(i.source, i.target, i.name) for i in package_imports(root)}
    assert found == {
        ("interestgraph.graph", "interestgraph.graph.build", "f"),
        ("interestgraph.graph.build", "interestgraph.data", None),
        ("interestgraph.graph.build", "interestgraph.model.encoding", "_digest"),
        ("interestgraph.graph.build", "interestgraph.graph", "knn"),
        ("interestgraph.graph.build", "interestgraph.cli", None),
        ("interestgraph.graph.build", "interestgraph.viz", "page"),
    }
