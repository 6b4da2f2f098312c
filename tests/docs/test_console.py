"""The curl-level steps of each page run against a real server process (issue 15).

A page's ``console`` blocks are shell sessions: ``$ command`` lines, each followed by the
output it must print (a ``...`` in an expected line matches any text; no expected lines means
only the exit status is checked). A command ending in ``&`` starts a server (uvicorn, werkzeug,
Django's runserver …) in the background; the next step waits until it accepts connections.
The page's Python blocks that name a file on their first line (``# app.py``) are saved under
that name first, so ``uvicorn app:app`` serves exactly the quickstart on the page. Port 8000
in the commands is replaced by a free port, and the servers are stopped at the end.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.docs.blocks import ROOT, Block, blocks_of, doc_pages

PAGES = [
    page
    for page in doc_pages()
    if any(b.lang == "console" and "$ " in b.text for b in blocks_of(page))
]
BIN = str(Path(sys.executable).parent)


def test_quickstarts_have_console_steps() -> None:
    names = {p.name for p in PAGES}
    assert {"starlette.md", "fastapi.md", "flask.md", "django.md", "wsgi.md"} <= names


def steps_of(block: Block) -> list[tuple[str, list[str]]]:
    steps: list[tuple[str, list[str]]] = []
    for line in block.text.rstrip("\n").split("\n"):
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    return steps


def matches(expected: str, actual: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, actual) is not None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, server: subprocess.Popen[bytes], command: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"server {command!r} exited {server.returncode}:\n{log.read_text()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"server {command!r} did not listen on {port} within 60 s")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_console_steps(page: Path, tmp_path: Path) -> None:
    blocks = blocks_of(page)
    for block in blocks:
        if block.lang == "python" and block.filename:
            (tmp_path / block.filename).write_text(block.text, encoding="utf-8")
    port = str(free_port())
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": ""}
    servers: list[subprocess.Popen[bytes]] = []
    try:
        for block in blocks:
            if block.lang != "console":
                continue
            for command, expected in steps_of(block):
                command = command.replace("8000", port)
                if command.endswith("&"):
                    log = tmp_path / f"server-{len(servers)}.log"
                    with log.open("w") as err:
                        server = subprocess.Popen(
                            ["bash", "-c", command[:-1]],
                            cwd=tmp_path,
                            env=env,
                            stdout=err,
                            stderr=subprocess.STDOUT,
                            start_new_session=True,
                        )
                    servers.append(server)
                    wait_for(int(port), server, command, log)
                    continue
                done = subprocess.run(
                    ["bash", "-c", command],
                    cwd=tmp_path,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                )
                where = f"{block.name}: $ {command}\n{done.stdout}{done.stderr}"
                assert done.returncode == 0, where
                if expected:
                    actual = done.stdout.rstrip("\n").split("\n")
                    assert len(actual) == len(expected), f"{where}\nexpected:\n" + "\n".join(
                        expected
                    )
                    for want, got in zip(expected, actual, strict=True):
                        assert matches(want, got), f"{where}\nexpected line: {want}"
    finally:
        for server in servers:
            stop(server)


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
