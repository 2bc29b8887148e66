"""The package's floors: each module imports only from its own floor or the floors below, and no
imports go round in a circle. Read with `ast` from the source (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "fake_stripe"

# Lowest first. A module's floor is its folder (or, at the top of the package, its own name).
FLOORS: list[set[str]] = [
    {"core"},
    {"wire"},
    {"resources"},
    {"financial_connections"},
    {"payments"},
    {"webhooks", "spec"},
    {"control", "stripejs", "generic"},
    {"state", "edge"},
    {"app"},
    {"cli", "http_server", "inprocess", "sdk", "pytest_plugin", "__init__"},
]
LEVEL = {name: level for level, names in enumerate(FLOORS) for name in names}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def floor_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def imports_of(path: Path) -> set[str]:
    """Every `fake_stripe` module this file imports (type-checking-only imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("fake_stripe"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("fake_stripe"):
                target = node.module
            else:
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                is_module = (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(".py")
                is_package = PACKAGE.parent / candidate.replace(".", "/") / "__init__.py"
                found.add(candidate if is_module.exists() or is_package.exists() else target)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.update(_named(node.value))
    return {m for m in found if m != here}


def _named(text: str) -> set[str]:
    """A module imported later by name (`fake_stripe.payments.ach:settle_due`, or the routes
    table's `resources.customers:create`), if `text` names one."""
    name = text.split(":")[0] if text.count(":") == 1 else text
    if not name.replace(".", "").replace("_", "").isalnum() or "." not in name:
        return set()
    name = name if name.startswith("fake_stripe.") else f"fake_stripe.{name}"
    path = PACKAGE.parent / name.replace(".", "/")
    return {name} if path.with_suffix(".py").exists() or (path / "__init__.py").exists() else set()


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
GRAPH = {name: imports_of(path) for name, path in MODULES.items()}


def test_every_module_has_a_floor() -> None:
    assert {floor_of(m) for m in MODULES} <= set(LEVEL), "a new folder needs a floor in FLOORS"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_imports_nothing_from_a_higher_floor(module: str) -> None:
    mine = LEVEL[floor_of(module)]
    upward = sorted(m for m in GRAPH[module] if LEVEL[floor_of(m)] > mine)
    assert not upward, f"{module} (floor {mine}) imports from higher floors: {upward}"


def test_fake_stripe_imports_neither_scenarios_nor_client() -> None:
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] in ("scenarios", "client") for n in names), name


def test_no_import_circles() -> None:
    # Between packages' __init__ files and their modules, an edge to a package means its
    # __init__; every __init__ here is empty but the top one, so the graph is module to module.
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH.get(node, ())):
            if nxt not in GRAPH:
                continue
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)


def test_the_walker_sees_relative_and_absolute_imports() -> None:
    """The checks above are only as good as the import walk: it must find both kinds."""
    assert "fake_stripe.core.errors" in GRAPH["fake_stripe.core.params"]
    assert "fake_stripe.core.context" in GRAPH["fake_stripe.wire"]
    assert "fake_stripe.core.clock" in GRAPH["fake_stripe.state"]
    # modules imported later, named in a string
    assert "fake_stripe.financial_connections.schedule" in GRAPH["fake_stripe.state"]
    assert "fake_stripe.resources.customers" in GRAPH["fake_stripe.app"]
    assert "fake_stripe.app" in GRAPH["fake_stripe.cli.serve"]  # a function-level import
