"""Every ``pip install 'sojourn[…]'`` line in the docs names extras that pyproject.toml has."""

from __future__ import annotations

import re
import tomllib

import pytest

from tests.docs.blocks import ROOT, doc_pages

EXTRAS = set(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
)
LINES = [
    (page, match.group(1))
    for page in doc_pages()
    for match in re.finditer(r"pip install '?sojourn\[([^\]]+)\]", page.read_text())
]


def test_install_lines_are_found() -> None:
    readme = {extras for page, extras in LINES if page.name == "README.md"}
    assert {"redis", "postgres", "mysql", "flask", "django", "fastapi", "cookie"} <= readme


@pytest.mark.parametrize(("page", "extras"), LINES, ids=[f"{p.name}:{e}" for p, e in LINES])
def test_install_line_names_real_extras(page: object, extras: str) -> None:
    unknown = {e.strip() for e in extras.split(",")} - EXTRAS
    assert not unknown, f"{page}: no such extra {sorted(unknown)}"
