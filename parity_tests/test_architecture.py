"""The project's shape, measured from its source: layers, no import loops, small modules, typed public API.

Imports are read with `ast` (function-level imports included: a lazy import is still a
dependency), so these tests need no TensorFlow and cannot be fooled by import order.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("toolkit", "exporters", "models")
MAX_MODULE_LINES = 400

# Lowest first. A module may import modules of its own layer and of layers below it, never above.
# A module belongs to the entry with the longest matching prefix.
LAYERS = (
    ("core", ("toolkit", "toolkit.errors", "toolkit.files", "toolkit.tf_env", "toolkit.labels", "toolkit.metrics", "toolkit.registry",
              "toolkit.rows", "toolkit.model.spec", "toolkit.parity.tolerances", "toolkit.runtimes.timing")),
    ("keras side", ("toolkit.model", "models")),
    ("export", ("toolkit.export", "exporters")),
    ("runtimes", ("toolkit.runtimes", "toolkit.demo.static_server")),
    ("parity", ("toolkit.parity",)),
    ("explain", ("toolkit.explain",)),  # reads runtimes' intermediate tensors, judges them with parity's rules
    ("bench", ("toolkit.bench",)),
    ("demo", ("toolkit.demo",)),
    ("scale", ("toolkit.scale",)),  # many models' units in worker processes or on Ray
    ("api", ("toolkit.api", "toolkit.plugins", "toolkit.worker", "toolkit.scale.worker")),  # workers: entry points
    ("cli", ("toolkit.cli", "toolkit.cli_parser", "toolkit.console")),
)


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the three packages."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "node_modules" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


MODULES = module_files()


def imported_modules(name: str, path: Path) -> set[str]:
    """The project modules `name` imports anywhere in its file (resolved to the longest existing module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from package import module` depends on the module; `from module import name` on the module.
            candidates = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES else node.module
                          for alias in node.names]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in MODULES:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                found.add(candidate)
    return found


GRAPH = {name: imported_modules(name, path) for name, path in MODULES.items()}


def layer_of(module: str) -> int:
    matches = [(len(prefix), index) for index, (_, prefixes) in enumerate(LAYERS) for prefix in prefixes
               if module == prefix or module.startswith(prefix + ".")]
    assert matches, f"{module} belongs to no layer: add it to LAYERS"
    return max(matches)[1]


def import_cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in GRAPH[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in GRAPH:
        if node not in index:
            visit(node)
    return cycles


def test_there_is_no_import_loop():
    assert import_cycles() == []


def test_no_module_imports_a_higher_layer():
    upward = [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in GRAPH.items() for target in targets if layer_of(target) > layer_of(module)
    ]
    assert upward == []


def test_the_registry_imports_no_plugin():
    assert not any(t.startswith(("exporters", "toolkit.runtimes.")) for t in GRAPH["toolkit.registry"])
    # Only the loader imports the plugin packages themselves (whose modules register on import).
    importers_of_plugins = {m for m, ts in GRAPH.items() for t in ts if t in ("exporters", "toolkit.runtimes")}
    assert importers_of_plugins <= {"toolkit.plugins"}, importers_of_plugins


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_is_small(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{MODULES[module].relative_to(ROOT)} has {lines} lines"


def _untyped(function: ast.FunctionDef | ast.AsyncFunctionDef, is_method: bool) -> list[str]:
    arguments = function.args
    positional = arguments.posonlyargs + arguments.args
    if is_method and positional and positional[0].arg in ("self", "cls"):
        positional = positional[1:]
    missing = [a.arg for a in positional + arguments.kwonlyargs if a.annotation is None]
    missing += [f"*{a.arg}" for a in (arguments.vararg, arguments.kwarg) if a is not None and a.annotation is None]
    if function.returns is None and function.name != "__init__":
        missing.append("return")
    return missing


def public_functions(tree: ast.Module):
    """Module-level public functions and public methods of public classes."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            yield node.name, node, False
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                dunder = item.name.startswith("__") and item.name.endswith("__") if hasattr(item, "name") else False
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and (not item.name.startswith("_") or dunder):
                    yield f"{node.name}.{item.name}", item, True


def test_public_functions_have_type_hints():
    missing = []
    for module, path in MODULES.items():
        if not module.startswith(("toolkit", "exporters")):
            continue
        for name, function, is_method in public_functions(ast.parse(path.read_text())):
            untyped = _untyped(function, is_method)
            if untyped:
                missing.append(f"{module}.{name}: {', '.join(untyped)}")
    assert missing == []
