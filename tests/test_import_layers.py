"""The package's imports run one way: losses <- data <- models <- modules <- callbacks <- commands/cli.

An ast scan of every module (function-level imports included), so a convenience import that runs against
the layers fails here rather than growing into a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "hn_lightning"
LAYERS = {"losses": 0, "data": 1, "models": 2, "modules": 3, "callbacks": 4, "commands": 5, "cli": 5}
"""Rank of each layer: a layer may import its own rank and lower, never higher (``cli`` runs LightningCLI
for the commands that train, and dispatches to them: one layer)."""


def imported_packages(path: Path) -> set[str]:
    """Top-level ``hn_lightning`` subpackages that ``path`` imports (absolute and relative imports)."""
    own = path.relative_to(PACKAGE).parts
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module's package
                base = list(own[:-1])[: len(own) - node.level] if node.level > 1 else list(own[:-1])
                names = [".".join(["hn_lightning", *base, *(node.module or "").split(".")]).rstrip(".")]
            elif node.module:
                names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "hn_lightning" and len(parts) > 1:
                found.add(parts[1])
    return found


def layer_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


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


def test_losses_import_nothing_else_of_the_package():
    for path in sorted((PACKAGE / "losses").rglob("*.py")):
        assert imported_packages(path) <= {"losses"}, path


def test_the_scan_sees_a_function_level_import(tmp_path):
    """The scan is not blind to imports inside functions."""
    global PACKAGE
    fake = tmp_path / "hn_lightning"
    (fake / "data").mkdir(parents=True)
    (fake / "data" / "x.py").write_text("def f():\n    from hn_lightning.modules.dpo import DPOModule\n    from ..models import y\n")
    PACKAGE, real = fake, PACKAGE
    try:
        assert imported_packages(fake / "data" / "x.py") == {"modules", "models"}
    finally:
        PACKAGE = real
