"""docs/architecture.md names every package of deskbase and the layers import-linter checks."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import deskbase

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "architecture.md").read_text()
PACKAGE = Path(deskbase.__file__).parent


def _layout_block() -> str:
    section = DOC.split("## Code layout", 1)[1]
    return section.split("```", 2)[1]


def test_the_code_layout_names_every_package_and_top_level_module():
    # Given the packages and modules directly under src/deskbase
    names = {
        path.name + "/"
        for path in PACKAGE.iterdir()
        if path.is_dir() and (path / "__init__.py").exists()
    } | {path.name for path in PACKAGE.glob("*.py") if path.name != "__init__.py"}
    # When the layout block of docs/architecture.md is read
    block = _layout_block()
    named = {
        name
        for line in block.splitlines()
        if (entry := re.match(r"  (\S.*?)\s{2,}", line))
        for name in entry.group(1).split()
    }
    # Then each of them is named there, and nothing that is gone
    assert names - named == set()
    assert named - names == set()


def test_the_layers_the_doc_states_are_the_contracts_checked():
    # Given the import-linter contracts of pyproject.toml
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    # Then every contract's source packages are named in the doc's layers section
    layers = DOC.split("## Layers", 1)[1].split("## Where a new feature goes", 1)[0]
    for contract in contracts:
        for module in contract["source_modules"]:
            assert module.removeprefix("deskbase.") in layers, module
