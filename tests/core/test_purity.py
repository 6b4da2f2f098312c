"""The core is sans-IO: no sockets, files, clocks, threads, drivers or frameworks.

Checked two ways: statically (every import in ``sojourn/_core`` and the top-level package is
from an allow-list) and dynamically (importing ``sojourn`` loads no framework or driver).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import sojourn

CORE = Path(sojourn.__file__).parent / "_core"
ALLOWED = {
    "__future__", "base64", "binascii", "collections", "collections.abc", "dataclasses",
    "email.utils", "functools", "hashlib", "json", "logging", "math", "re", "secrets", "typing",
    "urllib.parse",
}  # fmt: skip
FORBIDDEN_ANYWHERE = {"pickle", "marshal", "shelve", "dill", "jsonpickle", "yaml", "random"}


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_the_core_imports_only_pure_standard_modules() -> None:
    files = sorted(CORE.glob("*.py"))
    assert files
    for path in files:
        outside = imports_of(path) - ALLOWED
        assert not outside, f"{path.name} imports {sorted(outside)}"


def test_no_code_executing_serializer_or_random_anywhere() -> None:
    for path in sorted(Path(sojourn.__file__).parent.rglob("*.py")):
        bad = {name.split(".")[0] for name in imports_of(path)} & FORBIDDEN_ANYWHERE
        assert not bad, f"{path} imports {sorted(bad)}"


def test_importing_sojourn_loads_no_framework_or_driver() -> None:
    code = (
        "import sys, sojourn, sojourn.testing;"
        "bad = {'starlette','flask','django','redis','psycopg','pymysql','aiomysql',"
        "'cryptography','click','asyncio.base_events_x'} & {m.split('.')[0] for m in sys.modules};"
        "print(sorted(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
