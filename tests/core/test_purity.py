"""The core is sans-IO: no sockets, files, clocks, threads, drivers or frameworks.

Checked two ways: statically (every import in ``sojourn/_core`` and the top-level package is
from an allow-list) and dynamically (importing ``sojourn`` loads no framework or driver).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import sojourn

CORE = Path(sojourn.__file__).parent / "_core"
ALLOWED = {
    "__future__",
    "base64",
    "binascii",
    "collections",
    "collections.abc",
    "dataclasses",
    "email.utils",
    "functools",
    "hashlib",
    "ipaddress",
    "json",
    "logging",
    "math",
    "re",
    "secrets",
    "typing",
    "urllib.parse",
}  # fmt: skip  (ipaddress: a binding's IP prefix; parsing only, no lookups)
FORBIDDEN_ANYWHERE = {"pickle", "marshal", "shelve", "dill", "jsonpickle", "yaml", "random"}


PACKAGE = Path(sojourn.__file__).parent


def module_name(path: Path) -> str:
    """``sojourn._core.plan`` for ``.../sojourn/_core/plan.py``."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved to absolute names."""
    package = module_name(path).rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            found.add(base)
    return found


def test_the_core_imports_only_pure_standard_modules_and_itself() -> None:
    files = sorted(CORE.glob("*.py"))
    assert files
    for path in files:
        outside = {m for m in imports_of(path) - ALLOWED if not m.startswith("sojourn._core")}
        assert not outside, f"{path.name} imports {sorted(outside)}"


def test_relative_imports_are_resolved_so_the_check_can_fail() -> None:
    plan = imports_of(CORE / "plan.py")
    assert "sojourn._core.records" in plan
    assert imports_of(PACKAGE / "stores" / "base.py") >= {"sojourn._core.records"}
    assert "sojourn.stores.memory" in imports_of(PACKAGE / "stores" / "threaded.py")


@pytest.mark.sec("SEC-38", "SEC-01")
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


def session_state_attributes() -> set[str]:
    """The underscore attributes ``Session.__init__`` sets: its engine state and its data."""
    source = (CORE / "session.py").read_text()
    tree = ast.parse(source)
    init = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "__init__"
    )
    found = set()
    for node in ast.walk(init):
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr.startswith("_"):
                found.add(target.attr)
    return found


def test_no_module_outside_the_core_reads_a_sessions_engine_state() -> None:
    private = session_state_attributes()
    assert {"_state", "_data"} <= private
    reaches = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if CORE in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in private
                and not (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"})
            ):
                reaches.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {ast.unparse(node)}")
    assert reaches == []


ENGINE = {"plan.py", "client_side.py", "session.py", "state.py"}


def test_only_the_engine_moves_a_sessions_state() -> None:
    # The state object has one owner: the engine plans from it and moves it; the session only
    # records requests on it. Nothing else in the core reaches it, and nothing outside the
    # core imports it.
    reaches = []
    for path in sorted(PACKAGE.rglob("*.py")):
        inside = CORE in path.parents
        if inside and path.name in ENGINE:
            continue
        if "sojourn._core.state" in imports_of(path):
            reaches.append(f"{path.relative_to(PACKAGE)} imports sojourn._core.state")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "_state":
                reaches.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {ast.unparse(node)}")
    assert reaches == []
    assert "sojourn._core.state" in imports_of(CORE / "plan.py")


def test_every_module_that_defines_public_names_declares_all() -> None:
    # One public path per thing: each module says what it exports, so a star import, the docs
    # and a reader agree on what is API and what is a helper.
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        defines = any(
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and not node.name.startswith("_")
            for node in tree.body
        )
        declares = any(
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
            for node in tree.body
        )
        if defines and not declares:
            missing.append(str(path.relative_to(PACKAGE)))
    assert missing == []
