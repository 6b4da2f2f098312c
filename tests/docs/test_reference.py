"""Every public name has an entry in the API reference, and the site builds with --strict.

The reference pages are generated from each public module's ``__all__`` at build time
(``scripts/docs_reference.py``, an MkDocs hook), so a name added on any branch gets its entry
by itself; this test builds the site and reads the HTML, so a name that mkdocstrings cannot
render, or a module the hook stops finding, fails here. ``make test`` builds the site just
before pytest and points ``SOJOURN_DOCS_SITE`` at it, so the build is not done twice.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.docs.blocks import ROOT


def _load_hook() -> ModuleType:
    # loaded from its file, as MkDocs loads a hook (scripts/ is not a package)
    spec = importlib.util.spec_from_file_location(
        "docs_reference", ROOT / "scripts" / "docs_reference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HOOK = _load_hook()
MODULES: dict[str, list[str]] = HOOK.public_modules()
NAMES = [(module, name) for module, names in MODULES.items() for name in names]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = os.environ.get("SOJOURN_DOCS_SITE")
    if built:
        return Path(built)
    out = tmp_path_factory.mktemp("site")
    mkdocs = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out)]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        mkdocs, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_the_public_modules_are_found() -> None:
    expected = {
        "sojourn",
        "sojourn.asgi",
        "sojourn.wsgi",
        "sojourn.flask",
        "sojourn.django",
        "sojourn.django_cookies",
        "sojourn.fastapi",
        "sojourn.testing",
        "sojourn.stores.redis",
        "sojourn.stores.sqlite",
        "sojourn.stores.urls",
        "sojourn.metrics.prometheus",
    }
    assert expected <= set(MODULES)
    assert not [m for m in MODULES if "._" in m or m.startswith("sojourn.demo")]


def test_each_module_page_has_a_directive_per_name() -> None:
    pages = HOOK.reference_pages()
    for module, names in MODULES.items():
        text = pages[f"reference/{module}.md"]
        for name in names:
            assert f"::: {module}.{name}\n" in text


@pytest.mark.parametrize(("module", "name"), NAMES, ids=[f"{m}.{n}" for m, n in NAMES])
def test_every_public_name_has_an_entry(site: Path, module: str, name: str) -> None:
    page = site / "reference" / module / "index.html"
    assert page.is_file(), f"no reference page for {module}"
    assert f'id="{module}.{name}"' in page.read_text(encoding="utf-8"), f"{module}.{name}"


def _flatten(nav: list[object]) -> list[str]:
    out: list[str] = []
    for entry in nav:
        if isinstance(entry, str):
            out.append(entry)
        elif isinstance(entry, dict):
            for value in entry.values():
                out.extend(_flatten(value) if isinstance(value, list) else [value])
    return out


def test_the_nav_lists_every_page_once() -> None:
    docs = ROOT / "docs"
    listed = _flatten(HOOK.navigation(docs, ["reference/index.md"]))
    pages = sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*.md"))
    assert sorted(listed) == sorted([*pages, "reference/index.md"])


def test_a_new_page_joins_its_section(tmp_path: Path) -> None:
    (tmp_path / "stores").mkdir()
    for page in ("index.md", "security.md", "stores/redis.md", "stores/dynamo.md", "new.md"):
        (tmp_path / page).write_text("# x\n")
    nav = HOOK.navigation(tmp_path, [])
    assert {"Stores": ["stores/redis.md", "stores/dynamo.md"]} in nav
    assert {"Guides": ["security.md", "new.md"]} in nav


def test_sphinx_roles_become_optional_links() -> None:
    html = "see :class:<code>~sojourn.Session</code> and :meth:<code>sojourn.Manager.load()</code>"
    assert HOOK.sphinx_roles_to_links(html) == (
        'see <autoref optional identifier="sojourn.Session"><code>Session</code></autoref> and '
        '<autoref optional identifier="sojourn.Manager.load"><code>sojourn.Manager.load()</code>'
        "</autoref>"
    )
