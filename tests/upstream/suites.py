"""Fetch the test suites of the installed Flask and Django, to run them against our adapters.

Their wheels ship no tests, so this downloads the source distribution of exactly the installed
version from the package index (``pip download --no-binary``) and unpacks only the test
directories we run into ``.venv/upstream/<name>-<version>/tests``. Nothing fetched is
committed. ``make upstream`` (which ``make test`` runs first) calls this; the tests here find
the suites through :func:`suite_dir`.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".venv" / "upstream"

# distribution -> the members of its sdist's tests/ we unpack
SUITES: dict[str, tuple[str, ...]] = {
    "flask": ("tests/",),
    "django": ("tests/sessions_tests/", "tests/messages_tests/", "tests/auth_tests/"),
}


def suite_dir(distribution: str) -> Path:
    """Where the installed ``distribution``'s tests are (or will be) unpacked."""
    version = importlib.metadata.version(distribution)
    return CACHE / f"{distribution}-{version}"


def fetch(distribution: str) -> Path:
    """Download and unpack the test suite of the installed ``distribution``; idempotent."""
    target = suite_dir(distribution)
    if (target / ".complete").exists():
        return target
    version = importlib.metadata.version(distribution)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary", ":all:", f"{distribution}=={version}", "-d", tmp],
            check=True,
        )  # fmt: skip
        archive = next(Path(tmp).glob("*.tar.gz"))
        with tarfile.open(archive) as tar:
            top = tar.getnames()[0].split("/")[0]
            wanted = [
                m
                for m in tar.getmembers()
                if any(m.name.startswith(f"{top}/{p}") for p in SUITES[distribution])
            ]
            for member in wanted:
                member.name = member.name[len(top) + 1 :]
            target.mkdir(parents=True, exist_ok=True)
            tar.extractall(target, members=wanted, filter="data")
    (target / ".complete").write_text(version)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=sorted(SUITES))
    for name in parser.parse_args().names:
        print(f"{name}: {fetch(name)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
