"""Calling a WSGI app in-process, as the benchmarks do: no server, no socket, one environ."""

from __future__ import annotations

import io
from typing import Any


def run_wsgi(app: Any, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """One in-process call: the status code, headers and body of the last response the app
    started, its body closed as a server would; ``None`` if it never started one."""
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started.append((status, list(headers)))
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if not started:
        return None
    status, headers = started[-1]
    return int(status.split()[0]), headers, body


def call_wsgi(app: Any, environ: dict[str, Any]) -> tuple[int, list[str]]:
    """:func:`run_wsgi` on a copy of ``environ`` with an empty body: the status and the
    ``name=value`` of each ``Set-Cookie``."""
    env = dict(environ)
    env["wsgi.input"] = io.BytesIO()
    answered = run_wsgi(app, env)
    assert answered is not None, "the application never started a response"
    status, headers, _ = answered
    cookies = [v.split(";", 1)[0] for k, v in headers if k.lower() == "set-cookie"]
    return status, cookies


def wsgi_environ(path: str, cookie: str | None) -> dict[str, Any]:
    from werkzeug.test import EnvironBuilder

    headers = [("Cookie", cookie)] if cookie else []
    builder = EnvironBuilder(path=path, base_url="https://testserver", headers=headers)
    try:
        return dict(builder.get_environ())
    finally:
        builder.close()
