"""The package's imports run one way: losses <- data <- models <- modules <- callbacks <- commands/cli/experiments,
and no module of the package imports, directly or through others, a module that imports it back.

An ast scan of every module (function-level imports included), so a convenience import that runs against
the layers, or closes a circle, fails here rather than growing into a tangle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "hn_lightning"
LAYERS = {"losses": 0, "data": 1, "models": 2, "modules": 3, "callbacks": 4, "commands": 5, "cli": 5, "experiments": 5}
"""Rank of each layer: a layer may import its own rank and lower, never higher (``cli`` runs LightningCLI
for the commands that train, and dispatches to them: one layer; ``experiments`` trains its cells through
``cli.lightning_main`` and evaluates them through the ``eval`` command, and ``commands.experiment`` is its
command line: the same layer)."""


def module_name(path: Path, package: Path = PACKAGE) -> str:
    """``hn_lightning.a.b`` for ``a/b.py`` and for ``a/b/__init__.py``."""
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path, package: Path = PACKAGE) -> set[str]:
    """Dotted names ``path`` imports, anywhere in the file (relative imports resolved); ``from m import x``
    gives ``m.x``, the module ``m.x`` or the name ``x`` of ``m`` (:func:`import_graph` tells them apart)."""
    own_package = list(path.relative_to(package.parent).parts[:-1])  # the package a relative import starts from
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = own_package[: len(own_package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.update(f"{module}.{a.name}".lstrip(".") for a in node.names)
    return found


def imported_packages(path: Path, package: Path = PACKAGE) -> set[str]:
    """Top-level ``hn_lightning`` subpackages that ``path`` imports (absolute and relative imports)."""
    return {parts[1] for parts in (n.split(".") for n in imported_names(path, package))
            if parts[0] == package.name and len(parts) > 1}


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """``{module: the package's modules it imports}``. An imported name counts as the longest module it
    names (``from hn_lightning.a import b``: the module ``a.b`` if there is one, else ``a``'s ``__init__``).
    The ``__init__`` of an imported module's packages runs first too, but that is not an edge: a package
    that re-exports its modules would otherwise be a circle with each of them."""
    modules = {module_name(p, package): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in imported_names(path, package):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan): every set of modules that
    import each other, directly or through others."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
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
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return circles


def layer_of(path: Path, package: Path = PACKAGE) -> str:
    return path.relative_to(package).parts[0].removesuffix(".py")


def test_imports_never_run_up_the_layers():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        src = layer_of(path)
        if src not in LAYERS:
            continue
        for target in imported_packages(path) - {src}:
            if target in LAYERS and LAYERS[target] > LAYERS[src]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)} ({src}) imports hn_lightning.{target}")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_no_import_circle_between_modules():
    graph = import_graph()
    assert "hn_lightning.experiments.runner" in graph["hn_lightning.commands.experiment"]  # the scan sees imports
    circles = import_circles(graph)
    assert not circles, "modules that import each other (directly or through others):\n" + "\n".join(
        " <-> ".join(c) for c in circles)


def test_losses_import_nothing_else_of_the_package():
    for path in sorted((PACKAGE / "losses").rglob("*.py")):
        assert imported_packages(path) <= {"losses"}, path


def test_the_scan_sees_a_function_level_import(tmp_path):
    """The scan is not blind to imports inside functions."""
    fake = tmp_path / "hn_lightning"
    (fake / "data").mkdir(parents=True)
    (fake / "data" / "x.py").write_text("def f():\n    from hn_lightning.modules.dpo import DPOModule\n    from ..models import y\n")
    assert imported_packages(fake / "data" / "x.py", fake) == {"modules", "models"}


def test_the_circle_scan_finds_a_circle_and_only_circles(tmp_path):
    """A circle closed by a function-level relative import through a third module is found; a package
    ``__init__`` that re-exports a module importing its siblings by absolute name is not a circle."""
    fake = tmp_path / "hn_lightning"
    (fake / "exp").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "exp" / "__init__.py").write_text("from hn_lightning.exp.cells import run\n")
    (fake / "exp" / "cells.py").write_text("from hn_lightning.exp.split import cut\nfrom hn_lightning.exp.layout import Layout\n")
    (fake / "exp" / "split.py").write_text("import json\n\n\ndef cut():\n    from .mining import mine\n")
    (fake / "exp" / "mining.py").write_text("from hn_lightning.exp import cells\n")
    (fake / "exp" / "layout.py").write_text("from pathlib import Path\n")
    graph = import_graph(fake)
    assert graph["hn_lightning.exp.split"] == {"hn_lightning.exp.mining"}
    assert graph["hn_lightning.exp.mining"] == {"hn_lightning.exp.cells"}
    assert graph["hn_lightning.exp"] == {"hn_lightning.exp.cells"}
    assert import_circles(graph) == [["hn_lightning.exp.cells", "hn_lightning.exp.mining", "hn_lightning.exp.split"]]
    (fake / "exp" / "split.py").write_text("import json\n")  # the circle opened
    assert import_circles(import_graph(fake)) == []
