"""The import direction of DESIGN.md §2, checked on the source (an import-linter contract)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Lower number = lower layer; a module may import only its own layer or lower ones.
LAYERS = {
    "visrep.config": 0, "visrep.world": 0, "visrep.distributed": 0,
    "visrep.visual": 1, "visrep.programs": 1, "visrep.vlm": 1,
    "visrep.rewards": 2, "visrep.policy": 2, "visrep.selftrain": 2,
    "actors": 3, "rayapps": 4,
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


SOURCES = sorted(p for d in ("visrep", "actors", "rayapps") for p in (ROOT / d).rglob("*.py"))


def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


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


def test_sandbox_knows_nothing_of_the_visual_api() -> None:
    for _, imported in _imports(ROOT / "visrep" / "programs" / "sandbox.py"):
        assert not imported.startswith("visrep.visual"), imported
