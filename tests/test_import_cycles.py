"""No import circles among the project's modules, counting imports hidden inside functions;
and imports go one way, app to app and layer to layer (see CONTRIBUTING.md).

Every .py file of the project packages (not migrations) is parsed with ``ast``; every import
statement anywhere in it is an edge, relative imports resolved, and ``from pkg import name``
counted as importing ``pkg.name`` when that is a module. Imports under ``if TYPE_CHECKING:``
are left out: they never run. A package's ``__init__`` is the package module, so importing
what it re-exports is importing the package. Any strongly connected component of more than
one module is a circle, and the test lists each.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("accounts", "reference", "submissions", "dids_portal")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def project_modules() -> dict[str, Path]:
    """Module name to file, for every project .py file outside migrations."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.relative_to(ROOT).parts:
                continue
            modules[_module_name(path)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under node, at any depth, except in ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _imports_of(other)
            continue
        yield from _imports_of(child)


def _imports_of(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    yield from _imports(node)


def _nearest(name: str, modules: dict[str, Path]) -> str | None:
    """The project module name denotes, or its nearest enclosing project module."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Each project module to the project modules it imports."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _imports(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    package_parts = name.split(".") if is_package else name.split(".")[:-1]
                    base_parts = package_parts[: len(package_parts) - (node.level - 1)]
                    base = ".".join([*base_parts, *([node.module] if node.module else [])])
                else:
                    base = node.module or ""
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    targets.append(submodule if submodule in modules else base)
            for target in targets:
                found = _nearest(target, modules)
                if found is not None and found != name:
                    graph[name].add(found)
    return graph


@functools.cache
def project_graph() -> dict[str, set[str]]:
    return import_graph(project_modules())


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def _describe(component: list[str], graph: dict[str, set[str]]) -> str:
    members = set(component)
    edges = [
        f"    {source} -> {target}"
        for source in component
        for target in sorted(graph[source] & members)
    ]
    return "\n".join([f"  circle of {len(component)}: {', '.join(component)}", *edges])


# Which part of the project may import which (besides itself). dids_portal itself is wiring
# (settings, urls, celery) and may import anything; nothing but wiring imports it.
PARTS = ("dids_portal.lib", "submissions.engine", "accounts", "reference", "submissions",
         "dids_portal")
MAY_IMPORT = {
    "dids_portal.lib": set(),
    "submissions.engine": set(),
    "accounts": {"dids_portal.lib"},
    "reference": {"accounts", "dids_portal.lib"},
    "submissions": {"submissions.engine", "reference", "accounts", "dids_portal.lib"},
    "dids_portal": set(PARTS),
}
# Within an app: a module of a layer never imports one of a layer above it.
LAYERS = ("models", "selectors", "services", "tasks")
ABOVE_SERVICES = ("tasks", "views", "api", "admin")


def _part(module: str) -> str:
    return next(p for p in PARTS if module == p or module.startswith(f"{p}."))


def _layer(module: str) -> str | None:
    if _part(module) in ("dids_portal", "dids_portal.lib", "submissions.engine"):
        return None
    names = module.split(".")[1:]
    return next((n for n in names if n in (*LAYERS, *ABOVE_SERVICES)), None)


def _layer_breaks(source: str, target: str) -> bool:
    below, above = _layer(source), _layer(target)
    if below == "selectors":
        return above in ("services", *ABOVE_SERVICES)
    if below == "services":
        return above in ABOVE_SERVICES
    if below == "models":
        return above in ("selectors", "services", *ABOVE_SERVICES)
    return False


def test_apps_import_one_way() -> None:
    graph = project_graph()
    wrong = [f"{source} -> {target}" for source, targets in sorted(graph.items())
             for target in sorted(targets)
             if _part(target) != _part(source) and _part(target) not in MAY_IMPORT[_part(source)]]
    assert not wrong, "imports against the direction of the apps:\n" + "\n".join(wrong)


def test_selectors_and_services_never_import_a_layer_above_them() -> None:
    graph = project_graph()
    wrong = [f"{source} -> {target}" for source, targets in sorted(graph.items())
             for target in sorted(targets) if _layer_breaks(source, target)]
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_the_graph_sees_imports_inside_functions_and_relative_imports() -> None:
    graph = project_graph()
    assert "submissions.engine" in graph
    assert len(graph) > 50
    # A relative import in the engine resolves to the module it names ...
    assert "submissions.engine.layout" in graph["submissions.engine.validate"]
    # ... an import inside a function counts (planting reads the rules only when asked) ...
    assert "submissions.engine.rules" in graph["submissions.engine.planting"]
    # ... and `from package import submodule` is an import of the submodule.
    assert "submissions.engine.planting_reference" in graph["submissions.engine.planting"]


def test_no_import_cycles_among_project_modules() -> None:
    graph = project_graph()
    found = cycles(graph)
    assert not found, "import circles (break each; see CONTRIBUTING.md):\n" + "\n".join(
        _describe(component, graph) for component in found
    )


def test_cycle_finder_reports_a_circle_and_not_a_chain() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_layer_check_refuses_a_selector_importing_a_service() -> None:
    assert _layer_breaks("submissions.cycle.selectors", "submissions.services")
    assert _layer_breaks("submissions.services", "submissions.tasks")
    assert _layer_breaks("accounts.services", "accounts.api.views")
    assert not _layer_breaks("submissions.tasks", "submissions.cycle.services")
    assert not _layer_breaks("submissions.views.provider", "submissions.services")
