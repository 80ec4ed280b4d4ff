"""The import graph: no cycles (deferred imports included), and every import goes down the layers.

Layers, from the bottom: the base (`tidings`, `tidings.clock`, `tidings.errors`), the content core
(`tidings.content`: files -> validated model), the writer (`tidings.store`: edits and git), the
operations (`tidings.ops`), then the generator and the runner side by side (neither imports the
other), and the command line on top. Imports under `if TYPE_CHECKING:` are not imports at run time
and are left out; every other one counts, wherever it is written (a function's deferred import
closes a cycle as surely as one at the top).
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

from tidings.content.cache import PACKAGE

# What each layer may import besides itself.
ALLOWED = {
    "base": set(),
    "content": {"base"},
    "store": {"base", "content"},
    "ops": {"base", "content", "store"},
    "generator": {"base", "content", "ops", "templates"},
    "runner": {"base", "content", "store", "ops"},
    "cli": {"base", "content", "store", "ops", "generator", "runner"},
    "templates": set(),
}


def layer(module: str) -> str:
    parts = module.split(".")
    second = parts[1] if len(parts) > 1 else ""
    if second in ("content", "store", "ops", "generator", "runner", "cli"):
        return second
    if second == "site_templates":
        return "templates"
    return "base"


def modules() -> dict[str, Path]:
    found = {}
    for folder, _, names in os.walk(PACKAGE, followlinks=True):
        for name in names:
            if name.endswith(".py"):
                path = Path(folder, name)
                parts = ["tidings", *path.relative_to(PACKAGE).with_suffix("").parts]
                found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ours that `module` imports at run time."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_checking_only(node):
            for child in getattr(node, "orelse", []):
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                if f"{source}.{alias.name}" in known:
                    found.add(f"{source}.{alias.name}")
                elif source in known:
                    found.add(source)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(module)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return found


def test_the_graph_sees_every_package():
    edges = graph()
    assert {layer(m) for m in edges} == set(ALLOWED)
    assert "tidings.content.load" in edges["tidings.generator.build"]  # through the symlinked folder


def test_there_are_no_import_cycles():
    assert cycles(graph()) == []


def test_every_import_goes_down_the_layers():
    wrong = [
        f"{module} ({layer(module)}) imports {target} ({layer(target)})"
        for module, targets in sorted(graph().items())
        for target in sorted(targets)
        if layer(target) != layer(module) and layer(target) not in ALLOWED[layer(module)]
    ]
    assert wrong == []


def test_the_checker_finds_what_it_looks_for(tmp_path):
    """The two checks above are only worth something if they can fail."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import tidings.cli.main\n"
        "def later():\n    from tidings.runner import app\n"
    )
    known = {"tidings.cli.main", "tidings.runner.app"}
    assert imports_of("tidings.content.probe", probe, known) == {"tidings.runner.app"}
    assert layer("tidings.content.probe") == "content" and "runner" not in ALLOWED["content"]
