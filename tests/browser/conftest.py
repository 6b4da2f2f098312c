"""A real browser against a real demo server: Debian's Chromium, driven by Playwright.

The browser is the one Debian packages (``/usr/bin/chromium``, installed by ``make test``'s
``browser`` step); Playwright's own browser downloads are never used. One browser serves the
whole module; each test gets a fresh context (its own cookie jar) and a fresh demo server.
A failing test leaves a screenshot of every page it had open under ``test-artifacts/``.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from sojourn import AsyncMemoryStore
from sojourn.demo import create_app
from tests.conftest import require_server

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


ServerFactory = Callable[..., str]


@pytest.fixture
def serve() -> Iterator[ServerFactory]:
    """Start demos (``create_app`` options as keywords) on free loopback ports; stopped after.

    A fresh memory store per server, so one test's sessions never show in another's pages.
    """
    import uvicorn

    running: list[tuple[uvicorn.Server, threading.Thread, socket.socket]] = []

    def start(**options: Any) -> str:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        app = create_app(AsyncMemoryStore(), **options)
        instance = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        running.append((instance, thread, sock))
        deadline = time.monotonic() + 10
        while not instance.started:
            assert time.monotonic() < deadline, "the demo server did not start"
            time.sleep(0.02)
        return f"http://127.0.0.1:{port}"

    yield start
    for instance, thread, sock in running:
        instance.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def server(serve: ServerFactory) -> str:
    """The demo with its default timeouts."""
    return serve()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, with a fresh temporary profile (Playwright makes one)."""
    if not CHROMIUM.exists():
        require_server("Chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=FLAGS, headless=True
        )
        yield instance
        instance.close()


@pytest.fixture
def context(browser: Browser, request: pytest.FixtureRequest) -> Iterator[BrowserContext]:
    """A fresh browser context per test; screenshots of its pages if the test failed."""
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    context.set_default_timeout(10_000)
    yield context
    if request.node.stash.get(_FAILED, False):
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        for index, page in enumerate(context.pages):
            page.screenshot(path=str(ARTIFACTS / f"{name}-{index}.png"), full_page=True)
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()
