"""The package's house rules (#13), checked on every run: see docs/architecture.md.

The layer rule itself is import-linter's (`lint-imports` in .ci/run); these are
the rules it does not check.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "harness"
MAX_LINES = 600
LAZY_HOP = PACKAGE / "plugin" / "__init__.py"
"""The one module allowed a function-local import of the package: the plugin's hop
into the session, so that a plain `pytest` run stays light."""


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_is_longer_than_the_limit() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, f"split these by concept (limit {MAX_LINES} lines): {long}"


def test_public_functions_have_unique_names() -> None:
    where: dict[str, list[str]] = defaultdict(list)
    for path in modules():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            if is_function and not node.name.startswith("_"):
                where[node.name].append(str(path.relative_to(PACKAGE)))
    clashes = {name: paths for name, paths in where.items() if len(paths) > 1}
    assert clashes == {}, f"public functions sharing a name: {clashes}"


def test_no_function_imports_the_package_except_the_plugins_lazy_hop() -> None:
    found = []
    for path in modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                internal = (isinstance(node, ast.ImportFrom) and node.level > 0) or (
                    isinstance(node, ast.ImportFrom) and (node.module or "").startswith("harness")
                )
                internal = internal or (
                    isinstance(node, ast.Import)
                    and any(a.name.split(".")[0] == "harness" for a in node.names)
                )
                if internal:
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    allowed = [f for f in found if f.startswith(str(LAZY_HOP.relative_to(PACKAGE)) + ":")]
    assert len(allowed) <= 1
    assert sorted(set(found) - set(allowed)) == [], (
        "import these at module top (a cycle means a type or function is in the wrong room)"
    )
