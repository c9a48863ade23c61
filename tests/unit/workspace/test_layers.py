"""Arrows run down: the storage layer (workspace/) imports neither literature/ nor retrieval/, not even
inside a function, and no layer below imports the façade (serendip.workbench)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src" / "serendip"


def imported_modules(path: Path) -> set[str]:
    """Every module named by an import statement anywhere in ``path`` (functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for path in sorted((SRC / package).rglob("*.py")):
        for mod in sorted(imported_modules(path)):
            if any(mod == f or mod.startswith(f + ".") for f in forbidden):
                out.append(f"{path.relative_to(SRC)} imports {mod}")
    return out


def test_workspace_storage_imports_no_upper_layer():
    assert _violations("workspace", ("serendip.literature", "serendip.retrieval", "serendip.workbench",
                                     "serendip.cli", "serendip.demo")) == []


@pytest.mark.parametrize("package", ["literature", "retrieval", "workspace", "models", "datasets"])
def test_no_layer_imports_the_facade_or_the_cli(package):
    assert _violations(package, ("serendip.workbench", "serendip.demo", "serendip.cli")) == []


def test_retrieval_works_without_the_database():
    assert _violations("retrieval", ("serendip.workspace", "serendip.literature", "sqlalchemy")) == []


def test_the_walk_sees_imports_inside_functions(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from serendip.literature.record import Record\n    import serendip.retrieval\n")
    assert imported_modules(f) == {"serendip.literature.record", "serendip.retrieval"}
