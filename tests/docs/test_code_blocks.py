"""Every Python block in README.md and docs/ runs as written (issue 15).

Each block runs on its own, in a fresh interpreter and an empty directory (so a block that
leans on an earlier one's names fails), and the app it defines answers ``GET /`` through its
framework's test client (``_run_block.py``); a block saved as ``app.py`` (its first line
says ``# app.py``) is a page's quickstart, whose ``/`` must answer 200. Blocks marked
``<!-- fragment -->`` are only compiled. Server-backed stores in a block are only
constructed, which connects to nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sojourn.stores.cookie import generate_key
from tests.docs.blocks import ROOT, Block, blocks_of, doc_pages

PYTHON_BLOCKS = [b for page in doc_pages() for b in blocks_of(page) if b.lang == "python"]
QUICKSTART_PAGES = [
    ROOT / "README.md",
    *(p for p in sorted((ROOT / "docs" / "frameworks").glob("*.md")) if p.name != "migrating.md"),
]


def test_blocks_are_found() -> None:
    # the extraction itself can fail silently: pin that it sees the quickstarts
    pages = {b.page.name for b in PYTHON_BLOCKS}
    assert {"README.md", "flask.md", "django.md", "starlette.md", "wsgi.md"} <= pages
    assert len(PYTHON_BLOCKS) >= 20


@pytest.mark.parametrize("page", QUICKSTART_PAGES, ids=lambda p: p.name)
def test_each_quickstart_is_an_app(page: Path) -> None:
    # the quickstart is the page's "# app.py" block: run below with GET / required to be 200
    apps = [b for b in blocks_of(page) if b.lang == "python" and b.filename == "app.py"]
    assert len(apps) == 1, f"{page.name}: one '# app.py' quickstart block, found {len(apps)}"


def test_fragments_are_rare() -> None:
    fragments = [b.name for b in PYTHON_BLOCKS if b.marker == "fragment"]
    assert len(fragments) <= len(PYTHON_BLOCKS) // 4, fragments


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.name)
def test_python_block_runs(block: Block, tmp_path: Path) -> None:
    if block.marker == "fragment":
        compile(block.text, block.name, "exec")
        return
    script = tmp_path / (block.filename or "block.py")
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(block.text, encoding="utf-8")
    args = [sys.executable, "-m", "tests.docs._run_block", str(script)]
    if block.filename == "app.py":  # a complete app: its "/" route must answer
        args.append("--root-200")
    key = generate_key()  # what the CookieStore blocks read from the environment
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SESSION_KEYS": key, "SESSION_KEY": key}
    done = subprocess.run(
        args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{block.name}:\n{block.text}\n{done.stdout}{done.stderr}"
