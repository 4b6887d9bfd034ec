"""Imports go strictly down (docs/architecture.md): the sans-I/O layers load no I/O or YAML,
and no module of the package imports, even for type checking, one that imports it back."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sipfault"

# Each pure layer and the packages it may load (besides the package root and its version).
PURE_LAYERS = {
    "sip": ("sip",),
    "model": ("sip", "model"),
    "core": ("sip", "model", "core"),
    "fax": ("sip", "model", "fax"),
    "media": ("sip", "model", "core", "fax", "media"),
}
FORBIDDEN = ("asyncio", "socket", "ssl", "time", "yaml", "selectors", "threading")
ROOT_MODULES = {"sipfault", "sipfault.version"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules_of(layer: str) -> list[str]:
    return sorted(module_name(path) for path in (PACKAGE / layer).rglob("*.py"))


def imported_names(path: Path) -> set[str]:
    """Every module an import statement in ``path`` names, at any depth (TYPE_CHECKING too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def loaded_by(module: str) -> list[str]:
    """What importing ``module`` adds to a fresh interpreter's ``sys.modules``."""
    code = (
        "import sys, json; before = set(sys.modules); "
        f"import {module}; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=PACKAGE.parent, check=True)
    return list(json.loads(result.stdout))


@pytest.mark.parametrize("layer", sorted(PURE_LAYERS))
def test_a_pure_layer_loads_no_io_and_nothing_above_it(layer: str) -> None:
    allowed = PURE_LAYERS[layer]
    # One interpreter per layer, importing every module of it, keeps the test quick.
    loaded = loaded_by(", ".join(modules_of(layer)))
    io = sorted({name.split(".")[0] for name in loaded} & set(FORBIDDEN))
    assert not io, f"importing sipfault.{layer} loads {io}"
    above = [
        name for name in loaded
        if name.startswith("sipfault") and name not in ROOT_MODULES
        and name.split(".")[1] not in allowed
    ]
    assert not above, f"importing sipfault.{layer} loads modules above it: {above}"


@pytest.mark.parametrize("module", ["sipfault.sip.parser", "sipfault.core.uas"])
def test_the_modules_the_issue_names_load_alone(module: str) -> None:
    loaded = loaded_by(module)
    assert not {name.split(".")[0] for name in loaded} & set(FORBIDDEN)
    assert "sipfault.api" not in loaded and "sipfault.scenario" not in loaded


@pytest.mark.parametrize("layer", sorted(PURE_LAYERS))
def test_no_pure_module_names_io_in_its_imports(layer: str) -> None:
    for path in (PACKAGE / layer).rglob("*.py"):
        named = {name.split(".")[0] for name in imported_names(path)}
        assert not named & set(FORBIDDEN), f"{path.name} imports {named & set(FORBIDDEN)}"


def _import_graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {target for target in imported_names(path)
                       if target in modules and target != name}
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
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_cycle() -> None:
    assert _cycles(_import_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


def test_public_names_load_lazily() -> None:
    assert "asyncio" not in loaded_by("sipfault")
    code = "import sipfault; print(sipfault.Server.__module__, sipfault.Controller.__module__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=PACKAGE.parent, check=True)
    assert result.stdout.split() == ["sipfault.api.server", "sipfault.testing.controller"]
