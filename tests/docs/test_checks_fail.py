"""The docs checks fail when a page is wrong: a block that raises, an output that differs, a
command that fails, a server that does not start, a quickstart whose ``/`` is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs import test_code_blocks as code_blocks
from tests.docs import test_console as console
from tests.docs.blocks import Block, blocks_of

# called through their modules: imported by name, pytest would collect them here again
run_block = code_blocks.test_python_block_runs
run_console = console.test_console_steps
matches = console.matches

FENCE = "```"


def page(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "page.md"
    path.write_text(f"# A page\n\n{body}\n", encoding="utf-8")
    return path


def python_block(tmp_path: Path, code: str, marker: str = "") -> Block:
    [block] = blocks_of(page(tmp_path, f"{marker}\n{FENCE}python\n{code}{FENCE}"))
    return block


def test_a_block_that_raises_fails(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="NameError"):
        run_block(python_block(tmp_path, "authenticate()\n"), tmp_path)


def test_a_fragment_is_compiled_not_run(tmp_path: Path) -> None:
    block = python_block(tmp_path, "authenticate()\n", "<!-- fragment -->")
    assert block.marker == "fragment"
    run_block(block, tmp_path)  # would raise NameError if run
    (tmp_path / "b").mkdir()
    broken = python_block(tmp_path / "b", "def (:\n", "<!-- fragment -->")
    with pytest.raises(SyntaxError):
        run_block(broken, tmp_path)


def test_a_quickstart_without_a_root_route_fails(tmp_path: Path) -> None:
    code = (
        "# app.py\nfrom starlette.applications import Starlette\n"
        "from sojourn import AsyncMemoryStore\nfrom sojourn.asgi import SessionMiddleware\n"
        "app = SessionMiddleware(Starlette(), store=AsyncMemoryStore())\n"
    )
    with pytest.raises(AssertionError, match="GET / -> 404"):
        run_block(python_block(tmp_path, code), tmp_path)


@pytest.mark.parametrize(
    ("session", "error"),
    [
        ("$ echo hello\nbye", AssertionError),
        ("$ echo hello\nhello\nagain", AssertionError),
        ("$ false", AssertionError),
        ("$ exit 3 &", pytest.fail.Exception),
    ],
)
def test_a_wrong_console_step_fails(tmp_path: Path, session: str, error: type) -> None:
    with pytest.raises(error):
        run_console(page(tmp_path, f"{FENCE}console\n{session}\n{FENCE}"), tmp_path)


def test_console_steps_pass_as_written(tmp_path: Path) -> None:
    run_console(page(tmp_path, f"{FENCE}console\n$ echo hello world\nhello ...\n{FENCE}"), tmp_path)


def test_the_wildcard_matches_any_text_only_where_it_stands() -> None:
    assert matches('["..."]', '["3f2a9c01"]')
    assert not matches('["..."]', '["a", "b"] extra')
    assert not matches("{a}", "{b}")
