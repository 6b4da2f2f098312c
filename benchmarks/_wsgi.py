"""Calling a WSGI app in-process, as the benchmarks do: no server, no socket, one environ."""

from __future__ import annotations

import io
from typing import Any


def call_wsgi(app: Any, environ: dict[str, Any]) -> tuple[int, list[str]]:
    env = dict(environ)
    env["wsgi.input"] = io.BytesIO()
    status: list[str] = []
    headers: list[tuple[str, str]] = []

    def start_response(s: str, h: list[tuple[str, str]], exc_info: Any = None) -> Any:
        status.append(s)
        headers.extend(h)
        return lambda data: None

    body = app(env, start_response)
    for _ in body:
        pass
    if hasattr(body, "close"):
        body.close()
    cookies = [v.split(";", 1)[0] for k, v in headers if k.lower() == "set-cookie"]
    return int(status[0].split()[0]), cookies


def wsgi_environ(path: str, cookie: str | None) -> dict[str, Any]:
    from werkzeug.test import EnvironBuilder

    headers = [("Cookie", cookie)] if cookie else []
    builder = EnvironBuilder(path=path, base_url="https://testserver", headers=headers)
    try:
        return dict(builder.get_environ())
    finally:
        builder.close()
