"""The import direction of DESIGN.md §2, checked on the source (an import-linter contract).

One package per layer, in the order the code has; a module may import only its own layer
or lower ones, only ``rayapps`` imports ray, and no two modules import each other, however
indirectly (a cycle inside a package is as much a tangle as one across layers).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Lower number = lower layer; a module may import only its own layer or lower ones.
LAYERS = {
    "visrep.config": 0, "visrep.cli": 0, "visrep.distributed": 0, "visrep.hardware": 0, "visrep.scratch": 0,
    "visrep.storage": 0,
    "visrep.world": 1,
    "visrep.vlm": 2,  # the student backs the tools, so it sits below them
    "visrep.visual": 3,
    "visrep.programs": 4,
    "visrep.rewards": 5, "visrep.policy": 5,
    "visrep.selftrain": 6,
    "actors": 7,
    "rayapps": 8,
}


def _layer(module: str) -> int | None:
    for prefix, level in sorted(LAYERS.items(), key=lambda kv: -len(kv[0])):
        if module == prefix or module.startswith(prefix + "."):
            return level
    return None


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


def _edges(path: Path) -> set[str]:
    """The project modules ``path`` imports, lazily or not: ``from a import b`` is an edge to
    ``a.b`` when that is a module, else to ``a``."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = {f"{node.module}.{alias.name}" for alias in node.names}
            out |= subs & MODULES.keys()
            if subs - MODULES.keys():  # names defined in the module itself
                out.add(node.module)
    return out & MODULES.keys()


SOURCES = sorted(p for d in ("visrep", "actors", "rayapps") for p in (ROOT / d).rglob("*.py"))


def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


MODULES = {_module_of(p): p for p in SOURCES}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_layers(path: Path) -> None:
    module = _module_of(path)
    own = _layer(module)
    for line, imported in _imports(path):
        if imported == "ray" or imported.startswith("ray."):
            assert module.startswith("rayapps"), f"{path}:{line}: only rayapps may import ray"
        target = _layer(imported)
        if own is not None and target is not None:
            assert target <= own, f"{path}:{line}: {module} (layer {own}) imports {imported} (layer {target})"


def test_every_package_has_a_layer() -> None:
    packages = [f"visrep.{p.stem}" for p in (ROOT / "visrep").iterdir()
                if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and not p.stem.startswith("_"))]
    for package in packages:
        assert _layer(package) is not None, f"{package} has no layer in LAYERS"


def _graph() -> dict[str, set[str]]:
    """Module → project modules it imports (a package's ``__init__`` is its own node)."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        graph[module] = _edges(path) - {module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    """Package ``__init__`` re-exports count: a package that imports its own submodules must
    not be imported back by them."""
    assert _cycles(_graph()) == []


def test_the_cycle_check_sees_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_sandbox_knows_nothing_of_the_visual_api() -> None:
    for _, imported in _imports(ROOT / "visrep" / "programs" / "sandbox.py"):
        assert not imported.startswith("visrep.visual"), imported
