"""The import graph of ``src/serendip``: the engine imports no domain, top-level packages form no cycle.

An ``ast`` walk over every module: imports at any depth (inside functions too) count for the
engine -> domain rule; module-level imports (outside functions, ``if TYPE_CHECKING`` blocks excluded)
count for cycles between top-level packages (``serendip.X`` imports ``serendip.Y`` and ``Y`` imports ``X``).
``importlib.import_module("serendip....")`` with a string literal counts as an import too.
"""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "serendip"

#: Packages that plug into the engine; the engine never imports them.
DOMAINS = ("genomics", "chem", "kg", "evidence", "screening")
#: The engine and the modules it stands on.
ENGINE = ("models", "core", "registry", "errors")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> list[str]:
    """Absolute module names a ``from ... import ...`` can load (the base and base.name each)."""
    if node.level:
        base_parts = module.split(".")
        if not is_package:
            base_parts = base_parts[:-1]
        base_parts = base_parts[:len(base_parts) - (node.level - 1)]
        base = ".".join(base_parts + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path, module: str | None = None) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every import of ``serendip`` in the file."""
    module = module or _module_name(path)
    is_package = path.name == "__init__.py"
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.If) and _is_type_checking(child):
                inner = False
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno, top) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                found.extend((name, child.lineno, top) for name in _resolve(module, child, is_package))
            elif (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                  and child.func.attr == "import_module" and child.args
                  and isinstance(child.args[0], ast.Constant) and isinstance(child.args[0].value, str)):
                found.append((child.args[0].value, child.lineno, top))
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), True)
    return [(name, line, top) for name, line, top in found if name == "serendip" or name.startswith("serendip.")]


def _top(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_the_walk_sees_the_package():
    names = {_module_name(p) for p in MODULES}
    assert {"serendip.models.pretrain.run", "serendip.genomics.corpus", "serendip.registry"} <= names


def test_the_walk_finds_every_kind_of_import(tmp_path):
    code = (
        "from typing import TYPE_CHECKING\n"
        "import serendip.core.files\n"
        "from . import data\n"
        "from ..genomics.fasta import read_sequences\n"
        "if TYPE_CHECKING:\n"
        "    from serendip.chem import x\n"
        "def f():\n"
        "    import importlib\n"
        "    from serendip.kg import graph\n"
        "    return importlib.import_module('serendip.evidence')\n")
    path = tmp_path / "mod.py"
    path.write_text(code)
    got = {(name, top) for name, _line, top in _imports(path, "serendip.models.mod")}
    assert {("serendip.core.files", True), ("serendip.models.data", True),
            ("serendip.genomics.fasta", True), ("serendip.genomics.fasta.read_sequences", True),
            ("serendip.chem", False), ("serendip.kg", False), ("serendip.evidence", False)} <= got


def test_engine_imports_no_domain():
    bad = []
    for path in MODULES:
        if _top(_module_name(path)) not in ENGINE:
            continue
        for name, line, _top_level in _imports(path):
            if _top(name) in DOMAINS:
                bad.append(f"{path.relative_to(SRC)}:{line} imports {name}")
    assert not bad, "the engine imports a domain package:\n" + "\n".join(bad)


def _package_edges() -> dict[tuple[str, str], list[str]]:
    """(package X, package Y) -> where a module of serendip.X imports serendip.Y at module level."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in MODULES:
        src = _top(_module_name(path))
        if src is None:
            continue
        for name, line, top_level in _imports(path):
            dst = _top(name)
            if top_level and dst is not None and dst != src:
                edges.setdefault((src, dst), []).append(f"{path.relative_to(SRC)}:{line}")
    return edges


def _cycles(edges: dict[tuple[str, str], list[str]]) -> list[tuple[str, str]]:
    return sorted({tuple(sorted(pair)) for pair in edges if (pair[1], pair[0]) in edges})


def test_no_cycle_between_top_level_packages():
    edges = _package_edges()
    found = _cycles(edges)
    lines = [f"serendip.{a} <-> serendip.{b}: {edges[(a, b)][0]} and {edges[(b, a)][0]}" for a, b in found]
    assert not found, "import cycles between top-level packages:\n" + "\n".join(lines)


def test_cycle_detection():
    edges = {("a", "b"): ["a.py:1"], ("b", "a"): ["b.py:1"], ("a", "c"): ["a.py:2"]}
    assert _cycles(edges) == [("a", "b")]
