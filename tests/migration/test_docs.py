"""docs/migration.md: its Python snippets run, and the recipe says what the code does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "migration.md"


def snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("number", range(len(snippets())))
def test_every_python_snippet_runs(number: int, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(snippets()[number], f"{PAGE.name}#{number}", "exec"), {})


def test_the_recipe_has_its_five_steps_and_the_command_options() -> None:
    text = PAGE.read_text(encoding="utf-8")
    steps = re.findall(r"^### (\d)\. ", text, re.M)
    assert steps == ["1", "2", "3", "4", "5"]
    for option in ("--from", "--to", "--batch", "--verify", "--sample", "--dry-run", "--state"):
        assert option in text
