"""Migrations do not call live code: what a migration does on a fresh install is what it
did when existing installations ran it, whatever the product's code has become since.

A migration may import Django, the standard library, and deskbase's migration packages
(the frozen SQL helpers of deskbase.core.migrations._frozen, other migrations). The one
exception is the form Django's migration writer itself uses for the model state: a plain
`import deskbase.<app>.models`, whose validators, defaults and expressions the model
state references (a copy would make the autodetector see a change to every such field).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import deskbase

SRC = Path(deskbase.__file__).parent
MODEL_STATE = re.compile(r"^deskbase\.\w+\.models$")
MIGRATIONS = re.compile(r"^deskbase\.\w+\.migrations(\.\w+)?$")


def live_imports(path: Path) -> list[str]:
    """The deskbase modules a migration file imports that are not migrations."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                if not name.startswith("deskbase"):
                    continue
                if MIGRATIONS.match(name):
                    continue
                if MODEL_STATE.match(name) and alias.asname is None:
                    continue  # Django's own reference to the model state
                found.append(f"{path.name}:{node.lineno} import {name}")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: inside the migrations package
                if module and not module.startswith("_") and not module[:1].isdigit():
                    found.append(f"{path.name}:{node.lineno} from .{module} import ...")
                continue
            if module.startswith("deskbase") and not MIGRATIONS.match(module):
                found.append(f"{path.name}:{node.lineno} from {module} import ...")
    return found


def migration_files(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*/migrations/*.py") if p.name != "__init__.py")


def test_every_app_with_migrations_is_scanned():
    apps = {p.parent.parent.name for p in migration_files(SRC)}
    assert {"accounts", "organizations", "tickets", "sla", "search", "core"} <= apps


@pytest.mark.parametrize(
    "path", migration_files(SRC), ids=lambda p: f"{p.parent.parent.name}/{p.name}"
)
def test_migration_imports_no_live_code(path):
    # Given a migration module, when its imports are read, then none is live deskbase code.
    assert live_imports(path) == [], (
        "a migration calls live code, so editing that code would make fresh installs "
        "differ from upgraded ones: freeze the SQL it runs into the migration "
        "(deskbase.core.migrations._frozen)"
    )


def test_the_scan_finds_live_imports(tmp_path):
    # Given migrations calling live code in each form, then each one is reported.
    migrations = tmp_path / "app" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "0001_x.py").write_text(
        "import deskbase.accounts.models\n"
        "import deskbase.tickets.models as ticket_models\n"
        "from deskbase.dbtools import partitions\n"
        "from deskbase.core.migrations._frozen import enable_rls\n"
        "def forwards(apps, schema_editor):\n"
        "    from deskbase.core.rls import TENANT\n"
        "    import deskbase.dbtools.partitions\n"
    )
    assert [line.split(" ", 1)[1] for line in live_imports(migrations / "0001_x.py")] == [
        "import deskbase.tickets.models",
        "from deskbase.dbtools import ...",
        "from deskbase.core.rls import ...",
        "import deskbase.dbtools.partitions",
    ]
