"""Every `# type: ignore` in the source names its error codes and says why, on the same line."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
IGNORE = re.compile(r"#\s*type:\s*ignore(?P<rest>.*)$")
# `# type: ignore[code]  # reason` (or several codes: [code, code])
CODES_AND_REASON = re.compile(r"^\[[a-z-]+(,\s*[a-z-]+)*\]\s+#\s*\S")


def bare_ignores(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = IGNORE.search(line)
            if match and not CODES_AND_REASON.match(match["rest"]):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_every_type_ignore_in_the_source_has_its_codes_and_a_reason():
    assert bare_ignores(SRC) == []


def test_an_ignore_without_a_reason_or_a_code_is_found(tmp_path):
    (tmp_path / "m.py").write_text(
        "a = f()  # type: ignore[misc]\n"
        "b = g()  # type: ignore\n"
        "c = h()  # type: ignore[misc]  # h is dynamic\n"
    )
    assert bare_ignores(tmp_path) == [
        "m.py:1: a = f()  # type: ignore[misc]",
        "m.py:2: b = g()  # type: ignore",
    ]
