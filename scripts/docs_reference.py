"""The API reference pages, generated from ``__all__`` at every ``mkdocs build``, and the nav.

An MkDocs hook (``hooks:`` in ``mkdocs.yml``): before the navigation is built it adds one page
per public module, ``reference/<module>.md``, holding one mkdocstrings directive per name in the
module's ``__all__``, and an index of the modules. Nothing is written to ``docs/``, so a name
another branch adds to an ``__all__`` gets its entry on the next build without anyone
regenerating a file, and a name whose object cannot be documented fails the ``--strict`` build.

The navigation is built here too (``on_config``): the known pages in a reading order, and every
other page under ``docs/`` appended to its section by itself, so a page another branch adds is
listed without an edit to ``mkdocs.yml`` (and ``--strict`` never fails on an omitted file).

The docstrings cross-reference in Sphinx's roles (``:class:`~sojourn.Session```), which
Markdown leaves as text; ``on_page_content`` turns each into an mkdocs-autorefs link (marked
optional, so a name with no entry stays plain code instead of failing the build).

Public modules are found without importing anything (``ast`` on the source), so the site builds
with only the ``docs`` extra installed: every module under ``src/sojourn`` whose dotted path has
no part starting with ``_``, except the demo application, which is a program rather than an API
(its page is ``demo.md``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

__all__ = ["EXCLUDED", "SECTIONS", "navigation", "on_config", "on_files", "public_modules"]
__all__ += ["on_page_content", "reference_pages", "sphinx_roles_to_links"]

SOURCE = Path(__file__).resolve().parent.parent / "src"
EXCLUDED = ("sojourn.demo",)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _dunder_all(path: Path) -> list[str] | None:
    """The literal ``__all__`` of a module's source, or None when it defines none."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == "__all__":
            return [str(name) for name in ast.literal_eval(value)]
    return None


def public_modules(source: Path = SOURCE) -> dict[str, list[str]]:
    """Each public module's dotted name mapped to its ``__all__``, sorted by module name."""
    found: dict[str, list[str]] = {}
    for path in sorted((source / "sojourn").rglob("*.py")):
        name = _module_name(path)
        if any(part.startswith("_") for part in name.split(".")):
            continue
        if any(name == ex or name.startswith(ex + ".") for ex in EXCLUDED):
            continue
        names = _dunder_all(path)
        if names:
            found[name] = names
    return dict(sorted(found.items()))


def _module_page(module: str, names: list[str]) -> str:
    lines = [
        f"# `{module}`",
        "",
        f"::: {module}",
        "    options:",
        "      members: false",
        "      show_root_heading: false",
        "      show_root_toc_entry: false",
        "",
    ]
    for name in names:
        lines += [
            f"::: {module}.{name}",
            "    options:",
            "      show_root_heading: true",
            "      show_root_full_path: false",
            "      heading_level: 2",
            "",
        ]
    return "\n".join(lines)


def _index_page(modules: dict[str, list[str]]) -> str:
    lines = [
        "# API reference",
        "",
        "One page per public module, with an entry for every name in its `__all__`, generated",
        "from the docstrings at each build. Anything not listed here is private.",
        "",
        "| module | names |",
        "| --- | --- |",
    ]
    for module, names in modules.items():
        lines.append(f"| [`{module}`]({module}.md) | {len(names)} |")
    return "\n".join(lines) + "\n"


def reference_pages(source: Path = SOURCE) -> dict[str, str]:
    """The generated pages: path under the docs directory mapped to Markdown text."""
    modules = public_modules(source)
    pages = {"reference/index.md": _index_page(modules)}
    for module, names in modules.items():
        pages[f"reference/{module}.md"] = _module_page(module, names)
    return pages


# (section title, the directory it takes unknown pages from, its known pages in order)
SECTIONS: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    (
        "Frameworks",
        "frameworks",
        tuple(f"frameworks/{name}.md" for name in ("starlette", "fastapi", "litestar", "quart"))
        + tuple(f"frameworks/{name}.md" for name in ("flask", "django", "wsgi")),
    ),
    (
        "Stores",
        "stores",
        ("stores/redis.md", "stores/sql.md", "stores/cookie.md", "stores/urls.md"),
    ),
    ("Guides", "", ("security.md", "rotation.md", "lifecycle.md", "typed-sessions.md")),
    ("Operations", None, ("operations.md", "events.md", "metrics.md", "demo.md", "benchmarks.md")),
    ("Migrating", None, ("frameworks/migrating.md", "migration.md")),
)


def navigation(docs: Path, generated: list[str]) -> list[Any]:
    """The nav: Home, each section's known pages that exist, then every page not yet listed."""
    pages = sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*.md"))
    listed = {"index.md"}
    nav: list[Any] = [{"Home": "index.md"}] if "index.md" in pages else []
    for _, _, known in SECTIONS:
        listed.update(known)
    for title, directory, known in SECTIONS:
        entries = [page for page in known if page in pages]
        if directory is not None:
            entries += [
                page
                for page in pages
                if page not in listed and (page.rpartition("/")[0] == directory)
            ]
        listed.update(entries)
        if entries:
            nav.append({title: entries})
    rest = [page for page in pages if page not in listed]
    if rest:
        nav.append({"More": rest})
    nav.append({"API reference": generated})
    return nav


def on_config(config: Any) -> Any:
    """MkDocs hook: the navigation, from the files under docs/ and the generated reference."""
    config["nav"] = navigation(Path(config["docs_dir"]), list(reference_pages()))
    return config


def on_files(files: Any, config: Any) -> Any:
    """MkDocs hook: add the generated reference pages to the site's files."""
    from mkdocs.structure.files import File

    for path, text in reference_pages().items():
        files.append(File.generated(config, path, content=text))
    return files


SPHINX_ROLE = re.compile(
    r":(?:py:)?(?:class|func|meth|attr|data|exc|mod|obj|const):<code>(~?)([\w.]+)(\(\))?</code>"
)


def _role_link(match: re.Match[str]) -> str:
    short, target, call = match.group(1), match.group(2), match.group(3) or ""
    shown = target.rsplit(".", 1)[-1] if short else target
    return f'<autoref optional identifier="{target}"><code>{shown}{call}</code></autoref>'


def sphinx_roles_to_links(html: str) -> str:
    """Each ``:class:`X``` left in rendered HTML as a link to X's entry (plain code if none)."""
    return SPHINX_ROLE.sub(_role_link, html)


def on_page_content(html: str, **kwargs: Any) -> str:
    """MkDocs hook: the Sphinx roles of the docstrings become cross-reference links."""
    return sphinx_roles_to_links(html)
