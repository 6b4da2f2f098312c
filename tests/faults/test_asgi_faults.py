"""Network faults between a server store and the ASGI middleware: bounded, 503, recovered.

Each test points an async store at a :class:`~tests.faults.proxy.FaultProxy` in front of the
real server, drives users through :class:`sojourn.asgi.SessionMiddleware`, and plays
:func:`tests.faults.scenario.run`, which counts every broken rule; the test asserts none.
"""

from __future__ import annotations

from typing import cast

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sojourn.asgi import SessionMiddleware
from sojourn.stores.base import AsyncStore
from sojourn.testing import FakeClock

from . import scenario
from .proxy import FaultProxy
from .servers import Server
from .timing import TimingStore

pytestmark = pytest.mark.server

COOKIE = "__Host-sid"


async def read(request: Request) -> Response:
    return JSONResponse({"name": request.session.get("name")})


async def write(request: Request) -> Response:
    request.session["name"] = request.query_params["name"]
    return PlainTextResponse("ok")


def make_app(store: AsyncStore, clock: FakeClock) -> Starlette:
    app = Starlette(routes=[Route("/read", read), Route("/write", write, methods=["POST"])])
    app.add_middleware(SessionMiddleware, store=store, clock=clock)
    return app


class AsgiUser:
    def __init__(self, app: Starlette) -> None:
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://testserver"
        )

    async def _send(self, method: str, path: str) -> scenario.Reply:
        elapsed = scenario.stopwatch()
        response = await self.client.request(method, path)
        return scenario.Reply(
            response.status_code, response.text, elapsed(), self.client.cookies.get(COOKIE)
        )

    async def read(self) -> scenario.Reply:
        return await self._send("GET", "/read")

    async def write(self, value: str) -> scenario.Reply:
        return await self._send("POST", f"/write?name={value}")


@pytest.mark.anyio
@pytest.mark.parametrize("case", scenario.CASES, ids=lambda case: case.name)
async def test_a_network_fault_is_bounded_answered_503_and_recovered(
    server: Server, case: scenario.Case
) -> None:
    clock = FakeClock()
    with FaultProxy(server.port) as proxy:
        store = server.make_async(proxy.port, server.namespace)
        direct = server.make_async(server.port, server.namespace)
        timing = TimingStore(store)
        users = [AsgiUser(make_app(cast(AsyncStore, timing), clock)) for _ in range(scenario.USERS)]
        try:
            tally = await scenario.run(list(users), proxy, case, direct, clock, timing)
        finally:
            for user in users:
                await user.client.aclose()
            await store.aclose()
            await direct.aclose()
    scenario.assert_clean(f"{server.name} {case.name}", tally)
