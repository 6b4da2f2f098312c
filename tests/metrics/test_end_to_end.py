"""Issue 13's acceptance: ``/metrics`` of a Prometheus-instrumented app shows the counters moving
under load. A Starlette app with the session middleware and prometheus-client's ASGI app at
``/metrics``, driven by many concurrent clients through httpx, on memory and on Redis."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client import CollectorRegistry, make_asgi_app
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from sojourn import AsyncManager, AsyncMemoryStore
from sojourn.asgi import SessionMiddleware
from sojourn.metrics.prometheus import PrometheusMetrics
from sojourn.stores.base import AsyncStore, ClientSideStore
from sojourn.stores.cookie import CookieStore, generate_key
from tests.metrics.conftest import names_the_extra
from tests.metrics.recording import Recorder

CLIENTS = 20
ROUNDS = 5  # each client: login, then ROUNDS writes and reads, then logout


def application(store: AsyncStore, registry: CollectorRegistry) -> Starlette:
    async def login(request: Request) -> PlainTextResponse:
        request.scope["session"].login(request.query_params["user"])
        return PlainTextResponse("in")

    async def write(request: Request) -> PlainTextResponse:
        request.session["n"] = int(request.session.get("n", 0)) + 1
        return PlainTextResponse(str(request.session["n"]))

    async def read(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(request.session.get("n")))

    async def logout(request: Request) -> PlainTextResponse:
        request.scope["session"].invalidate()
        return PlainTextResponse("out")

    metrics = PrometheusMetrics(registry)
    return Starlette(
        routes=[
            Route("/login", login, methods=["POST"]),
            Route("/write", write, methods=["POST"]),
            Route("/read", read),
            Route("/logout", logout, methods=["POST"]),
            Mount("/metrics", make_asgi_app(registry)),
        ],
        middleware=[Middleware(SessionMiddleware, store=store, metrics=metrics)],
    )


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics/")
    assert response.status_code == 200
    assert "set-cookie" not in response.headers  # the scrape opened no session
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def one_user(client_app: Starlette, number: int) -> int:
    """Log in, write and read ROUNDS times, log out; how many answers were wrong."""
    transport = httpx.ASGITransport(app=client_app)
    wrong = 0
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        wrong += (await client.post("/write")).text != "1"
        wrong += (await client.post(f"/login?user=user-{number}")).text != "in"
        for n in range(2, ROUNDS + 2):
            wrong += (await client.post("/write")).text != str(n)
            wrong += (await client.get("/read")).text != str(n)
        wrong += (await client.post("/logout")).text != "out"
    return wrong


@pytest.mark.anyio
async def test_metrics_shows_the_counters_moving_under_load(store: AsyncStore) -> None:
    registry = CollectorRegistry()
    app = application(store, registry)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as scraper:
        before = await scrape(scraper)
        wrong = await asyncio.gather(*(one_user(app, n) for n in range(CLIENTS)))
        after = await scrape(scraper)
    assert sum(wrong) == 0

    def moved(name: str, **labels: str) -> float:
        key = (f"sojourn_{name}", tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert moved("sessions_created_total") == CLIENTS
    assert moved("sessions_rotated_total", kind="login") == CLIENTS
    assert moved("sessions_destroyed_total", reason="logout") == CLIENTS
    # Every request but the first write presents a cookie: one load each.
    requests_with_cookie = CLIENTS * (2 * ROUNDS + 2)
    assert moved("store_call_seconds_count", operation="load") >= requests_with_cookie
    # Each write applies its change; so does the login (the principal, after the rename).
    assert moved("store_call_seconds_count", operation="apply") == CLIENTS * (ROUNDS + 1)
    assert moved("store_call_seconds_count", operation="rename") == CLIENTS
    # With a hook listening (the metrics are one), a logout deletes through ``take``.
    assert moved("store_call_seconds_count", operation="take") >= CLIENTS
    assert moved("store_call_seconds_sum", operation="load") > 0
    errors = sum(v for (name, _), v in after.items() if name == "sojourn_store_errors_total")
    assert errors == 0


def test_without_metrics_the_manager_calls_the_store_itself() -> None:
    store = AsyncMemoryStore()
    assert AsyncManager(store)._store is store
    assert SessionMiddleware(PlainTextResponse("x"), store=store).manager._store is store


def test_with_metrics_a_client_side_store_is_not_wrapped() -> None:
    recorder = Recorder()
    sealed: ClientSideStore = CookieStore([generate_key()])
    manager = AsyncManager(sealed, metrics=recorder)
    assert manager._store is sealed
    assert recorder.watched == [sealed]


def test_importing_sojourn_needs_no_metrics_extra_and_the_module_names_it() -> None:
    assert names_the_extra("prometheus_client", "sojourn.metrics.prometheus", "prometheus")
