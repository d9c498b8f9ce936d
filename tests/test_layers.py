"""The layer rule of docs/architecture.md, checked on the source: no module imports a layer
above its own, and no import cycles among modules, counting imports inside functions.

Every module of kit/ is parsed with `ast` (nothing is imported), every ``import`` statement is
found wherever it is (module level, functions, methods, try blocks), and resolved to the kit
module it names. ``from kit.x import name`` points at ``kit.x.name`` when that is a module, else
at ``kit.x``. Imports under ``if TYPE_CHECKING:`` count for the layer rule (a dependency even if
only for types) but not for cycles (they never run).

Layers, bottom to top (DESIGN.md, docs/architecture.md; tables sits above nodes because every
table backend registers itself in ``kit.nodes.table``'s backend registry):
    kit.errors < kit.auth < kit.cache < kit.io < kit.ngff < kit.nodes < kit.tables < kit.render
    < kit.widgets < kit (the package root) and kit.api
kit.cli, kit.demo and kit.relay sit beside the layers: they may import anything; only they
import them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent / "kit"

LAYERS = ["kit.errors", "kit.auth", "kit.cache", "kit.io", "kit.ngff", "kit.nodes", "kit.tables",
          "kit.render", "kit.widgets"]
TOP = {"kit", "kit.api", "kit._version"}
BESIDE = ("kit.cli", "kit.demo", "kit.relay")

# Accepted violations (none today). The test fails on any violation NOT listed here, and (in
# test_known_violations_are_still_real) on a listed one that is gone, so the lists only shrink.
# Layer entries are (importer, imported); cycle entries are one import edge on a cycle.
KNOWN_LAYER_VIOLATIONS: set[tuple[str, str]] = set()
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(KIT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(KIT.rglob("*.py"))}


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


Found = Iterator[tuple[ast.Import | ast.ImportFrom, bool]]


def _import_nodes(tree: ast.AST) -> Found:
    """Every import statement anywhere in the tree, with whether it is type-checking only."""
    def walk(node: ast.AST, typing_only: bool) -> Found:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, typing_only
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    yield from walk(ast.Module(body=[stmt], type_ignores=[]), True)
                for stmt in child.orelse:
                    yield from walk(ast.Module(body=[stmt], type_ignores=[]), typing_only)
            else:
                yield from walk(child, typing_only)
    yield from walk(tree, False)


def _known_prefix(name: str) -> str | None:
    """The longest kit module that `name` is or lies in (`kit.io.http.HttpStore` -> kit.io.http)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def imports_of(module: str, source: str | None = None) -> list[tuple[str, int, bool]]:
    """(imported kit module, line, type-checking only) for every import in `module` (its file,
    or ``source`` given as its text)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text() if source is None else source, filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node, typing_only in _import_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source
                       for alias in node.names]
        for target in targets:
            resolved = _known_prefix(target)
            if resolved is not None and resolved != module:
                found.append((resolved, node.lineno, typing_only))
    return found


def layer_of(module: str) -> str:
    if module in TOP:
        return "top"
    if module.startswith(BESIDE):
        return "beside"
    for layer in LAYERS:
        if module == layer or module.startswith(layer + "."):
            return layer
    raise AssertionError(f"{module} belongs to no layer: add its package to LAYERS")


def _allowed(src: str, dst: str) -> bool:
    a, b = layer_of(src), layer_of(dst)
    if a == "beside":
        return True
    if b == "beside":
        return False
    if b == "top":
        return a == "top"
    if a == "top":
        return True
    return LAYERS.index(b) <= LAYERS.index(a)


def layer_violations() -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for module in MODULES:
        for target, line, _ in imports_of(module):
            if not _allowed(module, target):
                found.setdefault((module, target), []).append(
                    f"{MODULES[module].relative_to(KIT.parent)}:{line}")
    return found


def import_graph() -> dict[str, set[str]]:
    return {m: {t for t, _, typing_only in imports_of(m) if not typing_only} for m in MODULES}


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components of more than one module (the import cycles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def cycle_edges() -> set[tuple[str, str]]:
    graph = import_graph()
    edges = set()
    for component in strongly_connected(graph):
        for src in component:
            edges |= {(src, dst) for dst in graph[src] if dst in component}
    return edges


# -- the checker checks itself, so a broken resolver cannot pass the rule vacuously --

SAMPLE = """
from kit.io.location import Location
from .image import Image
if TYPE_CHECKING:
    from kit.render.spec import RenderSpec

class Table:
    def label(self):
        try:
            from kit.nodes.hcs import Plate
        except ImportError:
            pass
"""


def test_the_checker_sees_imports_inside_functions_and_relative_ones():
    found = {t: typing_only for t, _, typing_only in imports_of("kit.nodes.table", SAMPLE)}
    assert found == {"kit.io.location": False,  # module level, absolute
                     "kit.nodes.image": False,  # relative
                     "kit.render.spec": True,  # type-checking only
                     "kit.nodes.hcs": False}  # inside a method, in a try block
    assert {t for t, _, _ in imports_of("kit.ngff.parse")} >= {"kit.ngff.models",
                                                               "kit.ngff.version"}  # the real file


def test_the_checker_finds_an_upward_import_and_a_cycle():
    assert not _allowed("kit.ngff.parse", "kit.nodes.image")
    assert not _allowed("kit.io.http", "kit")
    assert not _allowed("kit.render.preview", "kit.cli")
    assert _allowed("kit.cli", "kit.widgets.browser") and _allowed("kit", "kit.widgets")
    assert _allowed("kit.tables.csv", "kit.nodes.table")
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_every_module_has_a_layer():
    assert len(MODULES) > 50
    for module in MODULES:
        layer_of(module)


def test_no_module_imports_a_layer_above_its_own():
    new = {edge: where for edge, where in layer_violations().items()
           if edge not in KNOWN_LAYER_VIOLATIONS}
    assert not new, "upward imports (importer -> imported: where):\n" + "\n".join(
        f"  {a} -> {b}: {', '.join(w)}" for (a, b), w in sorted(new.items()))


def test_no_import_cycles():
    new = cycle_edges() - KNOWN_CYCLE_EDGES
    assert not new, "imports on a cycle (importer -> imported):\n" + "\n".join(
        f"  {a} -> {b}" for a, b in sorted(new))


def test_known_violations_are_still_real():
    """A fixed violation must leave the KNOWN_* lists, so they only ever shrink."""
    stale = (KNOWN_LAYER_VIOLATIONS - set(layer_violations())) | (KNOWN_CYCLE_EDGES - cycle_edges())
    assert not stale, f"fixed, remove from KNOWN_*: {sorted(stale)}"
