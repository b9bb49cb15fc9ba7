"""The package's modules import each other without a cycle, counting the imports inside functions too (a lazy
import only hides a cycle until the day both modules need each other at import time)."""

import ast
import graphlib
from pathlib import Path

import pytest
from conftest import REPO

PACKAGE = REPO / "src" / "fairforget"


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, package_dir: Path = PACKAGE) -> set[str]:
    """The fairforget modules `path` imports anywhere in its body (from-imports of a submodule count as it)."""
    name = module_name(path, package_dir)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("fairforget"):
                found.add(target)
                found |= {f"{target}.{a.name}" for a in node.names if exists(f"{target}.{a.name}", package_dir)}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("fairforget")}
    return found - {name}


def exists(module: str, package_dir: Path = PACKAGE) -> bool:
    path = package_dir.parent / module.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_no_import_cycle_in_the_package():
    graph = {module_name(p): imported_modules(p) for p in PACKAGE.rglob("*.py")}
    assert "fairforget.methods.wise_ft" in graph and graph["fairforget.training"]  # the walk found the package
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle


def test_the_cycle_check_sees_a_lazy_import(tmp_path):
    package = tmp_path / "fairforget"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from . import b\n")
    (package / "b.py").write_text("from .a import f\n")
    graph = {module_name(p, package): imported_modules(p, package) for p in package.glob("*.py")}
    assert graph["fairforget.a"] == {"fairforget", "fairforget.b"} and graph["fairforget.b"] == {"fairforget.a"}
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter(graph).prepare()
