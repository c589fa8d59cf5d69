"""The reports read files and render: the package imports none of the code that runs mining, experiments,
training or the commands (they call into it, never the reverse), and its templates ship as package data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_import_layers import PACKAGE, imported_packages

ALLOWED = {"reports", "io", "errors", "verifier"}
"""What the reports may import: their own modules, file I/O, the user-error class, and the verifier's step
splitter and field mapping (the verifier imports nothing of the pipelines)."""


def test_reports_import_only_files_and_the_verifier():
    wrong = {str(p.relative_to(PACKAGE)): sorted(imported_packages(p) - ALLOWED)
             for p in sorted((PACKAGE / "reports").rglob("*.py")) if imported_packages(p) - ALLOWED}
    assert not wrong, wrong
    verifier = set().union(*(imported_packages(p) for p in (PACKAGE / "verifier").rglob("*.py")))
    assert "reports" not in verifier and not verifier & {"mining", "experiments", "commands", "modules", "callbacks"}


def test_templates_are_package_data():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

    globs = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["hn_lightning"]
    templates = sorted(p.relative_to(PACKAGE).as_posix() for p in (PACKAGE / "reports" / "templates").iterdir())
    assert {"base.html.j2", "report.css", "report.js"} <= {Path(t).name for t in templates}
    assert all(any(Path(t).match(g) for g in globs) for t in templates), (templates, globs)
