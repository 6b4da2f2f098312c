"""Every Python snippet of ``docs/typed-sessions.md`` runs, and the ASGI one serves requests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

DOC = Path(__file__).resolve().parents[2] / "docs" / "typed-sessions.md"


def snippets() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)


def test_the_page_has_its_snippets() -> None:
    assert len(snippets()) == 3


@pytest.mark.parametrize("index", range(3))
def test_each_snippet_runs(index: int) -> None:
    namespace: dict[str, Any] = {"__name__": f"typed_sessions_doc_{index}"}
    exec(compile(snippets()[index], f"{DOC.name}[{index}]", "exec", dont_inherit=True), namespace)


def test_the_asgi_snippet_keeps_a_typed_cart() -> None:
    namespace: dict[str, Any] = {"__name__": "typed_sessions_doc_asgi"}
    exec(compile(snippets()[0], DOC.name, "exec", dont_inherit=True), namespace)
    with TestClient(namespace["app"], base_url="https://testserver") as client:
        assert client.get("/add?sku=1").json() == {"items": [1]}
        assert client.get("/add?sku=2").json() == {"items": [1, 2]}
