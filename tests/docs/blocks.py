"""Fenced code blocks read out of the Markdown pages, with the markers the tests honour.

A block is preceded, optionally, by an HTML comment that says how to treat it:

- ``<!-- fragment -->``: a deliberate excerpt; it is only compiled (syntax), never run.
- a Python block whose first line is a comment naming a file (``# app.py``) is also saved
  under that name in the page's working directory, where the page's ``console`` blocks run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ROOT", "Block", "blocks_of", "doc_pages"]

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(
    r"^(?P<indent> *)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```", re.M | re.S
)
MARKER = re.compile(r"<!--\s*([\w-]+)\s*-->\s*\n\s*$")
FILE_LINE = re.compile(r"^#\s*([\w./-]+\.py)\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its text and its marker (if any)."""

    page: Path
    line: int
    lang: str
    text: str
    marker: str | None

    @property
    def name(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f"{page}:{self.line}"

    @property
    def filename(self) -> str | None:
        """The file a Python block says it is (``# app.py`` on its first line), if any."""
        first = self.text.split("\n", 1)[0]
        match = FILE_LINE.match(first)
        return match.group(1) if match else None


def doc_pages() -> list[Path]:
    """README.md and every Markdown page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _dedent(body: str, indent: str) -> str:
    lines = body.split("\n")
    return "\n".join(line[len(indent) :] if line.startswith(indent) else line for line in lines)


def blocks_of(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()]
        marker = MARKER.search(before[-200:])
        found.append(
            Block(
                page=page,
                line=before.count("\n") + 1,
                lang=match.group("lang"),
                text=_dedent(match.group("body"), match.group("indent")),
                marker=marker.group(1) if marker else None,
            )
        )
    return found
