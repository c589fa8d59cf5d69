"""Every shipped config parses and prints a complete, commented configuration."""

from __future__ import annotations

import pytest

from tests.cli_utils import REPO, run_cli

CONFIGS = sorted(p.name for p in (REPO / "configs").glob("*.yaml") if not p.name.startswith("mine"))  # mine*: mining configs


@pytest.mark.parametrize("name", CONFIGS)
def test_config_parses_and_prints(name):
    proc = run_cli(["fit", "--config", str(REPO / "configs" / name), "--print_config"], cwd=REPO)
    assert "class_path: hn_lightning.modules." in proc.stdout
    assert "\n  # " in proc.stdout or "\n    # " in proc.stdout  # commented YAML
