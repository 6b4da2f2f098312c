"""Network faults between a sync server store and the WSGI middleware: the sync path too.

The same scenario as :mod:`tests.faults.test_asgi_faults`, through
:class:`sojourn.wsgi.SessionMiddleware` on the generated sync stores. Each request runs in a
daemon thread, so a store call that never returns is counted as a hang instead of blocking
the test run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, cast

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from sojourn.stores.base import Store
from sojourn.testing import FakeClock
from sojourn.wsgi import SessionMiddleware, get_session

from . import scenario
from .proxy import FaultProxy
from .servers import Server
from .timing import TimingStore

pytestmark = pytest.mark.server

BASE = "https://localhost"
COOKIE = "__Host-sid"


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    request = Request(environ)
    session = get_session(environ)
    body = "ok"
    if request.path == "/read":
        body = json.dumps({"name": session.get("name")})
    elif request.path == "/write":
        session["name"] = request.args["name"]
    return Response(body, mimetype="text/plain")(environ, start_response)


class WsgiUser:
    def __init__(self, wsgi_app: Any) -> None:
        self.client = Client(wsgi_app)

    def _send(self, method: str, path: str) -> scenario.Reply:
        elapsed = scenario.stopwatch()
        response = self.client.open(f"{BASE}{path}", method=method)
        cookie = self.client.get_cookie(COOKIE, domain="localhost")
        return scenario.Reply(
            response.status_code,
            response.get_data(as_text=True),
            elapsed(),
            None if cookie is None else cookie.value,
        )

    async def read(self) -> scenario.Reply:
        return await scenario.in_daemon_thread(lambda: self._send("GET", "/read"))

    async def write(self, value: str) -> scenario.Reply:
        return await scenario.in_daemon_thread(lambda: self._send("POST", f"/write?name={value}"))


@pytest.mark.anyio
@pytest.mark.parametrize("case", scenario.CASES, ids=lambda case: case.name)
async def test_a_network_fault_is_bounded_answered_503_and_recovered(
    server: Server, case: scenario.Case
) -> None:
    clock = FakeClock()
    with FaultProxy(server.port) as proxy:
        store = server.make_sync(proxy.port, server.namespace)
        direct = server.make_async(server.port, server.namespace)
        timing = TimingStore(store)
        middleware = SessionMiddleware(app, store=cast(Store, timing), clock=clock)
        users = [WsgiUser(middleware) for _ in range(scenario.USERS)]
        try:
            tally = await scenario.run(list(users), proxy, case, direct, clock, timing)
        finally:
            await scenario.in_daemon_thread(store.close)
            await direct.aclose()
    scenario.assert_clean(f"{server.name} {case.name}", tally)
