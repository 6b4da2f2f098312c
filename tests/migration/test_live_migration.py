"""The acceptance of issue 13: migrate while a load generator keeps sessions active.

A Starlette app (``sojourn.asgi.SessionMiddleware``, metadata tracked) first runs on the old
store alone and signs in its clients. Then it is redeployed on ``AsyncMigratingStore(new,
old)``, and while the copy walks the old store page by page (resuming from its cursor each
time), a load generator keeps clients busy through httpx's ASGI transport: writes, reads,
logins (rotations), logouts, new sessions. Afterwards the app runs on the new store alone and
every client that was not logged out still has its session — its data, its login, and, for
those the load never touched, the very deadlines and principal the old store held. None is
lost, no logged-out or pre-rotation ID works, and a second copy copies nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sojourn._core.ids import store_key
from sojourn.asgi import SessionMiddleware, get_session
from sojourn.stores.base import AsyncStore
from sojourn.stores.migrating import (
    AsyncMigratingStore,
    CopyResult,
    async_copy_sessions,
    async_verify_copy,
)
from tests.conformance.test_mysql import URL as MYSQL_URL
from tests.conformance.test_postgres import URL as POSTGRES_URL
from tests.conformance.test_redis import URL as REDIS_URL
from tests.races.harness import sojourn_route

from .pairs import pair_param

pytestmark = pytest.mark.anyio

COOKIE = "__Host-sid"
CLIENTS = 90
ACTIVE = 45  # the load touches only the first ones; the rest keep their old-store records
PAGE = 8


async def view(request: Request) -> JSONResponse:
    session = get_session(request)
    return JSONResponse(sojourn_route(request.url.path, dict(request.query_params), session))


def app_on(store: AsyncStore) -> Any:
    routes = [Route(p, view) for p in ("/read", "/write", "/login", "/logout")]
    return SessionMiddleware(Starlette(routes=routes), store=store, track_metadata=True)


@dataclass
class Client:
    """One browser: its cookie, and what its session must hold."""

    sid: str | None = None
    data: dict[str, str] = field(default_factory=dict)
    principal: str | None = None
    ended: bool = False
    touched: bool = False
    previous: list[str] = field(default_factory=list)


class Browser:
    """Requests to one app through httpx's ASGI transport, one cookie per client."""

    def __init__(self, app: Any) -> None:
        transport = httpx.ASGITransport(app=app, client=("10.9.8.7", 4000))
        self.http = httpx.AsyncClient(transport=transport, base_url="https://testserver")
        self.failures: list[str] = []

    async def get(self, client: Client, path: str, **params: str) -> dict[str, Any]:
        headers = {"user-agent": "load/1.0"}
        if client.sid:
            headers["cookie"] = f"{COOKIE}={client.sid}"
        response = await self.http.get(path, params=params, headers=headers)
        self.http.cookies.clear()  # each client's cookie is its own, sent by hand
        if response.status_code != 200:
            self.failures.append(f"{path} answered {response.status_code}: {response.text}")
            return {}
        for line in response.headers.get_list("set-cookie"):
            if line.startswith(COOKIE + "="):
                value = line.split(";", 1)[0].split("=", 1)[1]
                if client.sid and value != client.sid:
                    client.previous.append(client.sid)
                client.sid = value or None
        body: dict[str, Any] = response.json()
        return body

    async def write(self, client: Client, key: str, value: str) -> None:
        await self.get(client, "/write", k=key, v=value)
        client.data[key] = value

    async def login(self, client: Client, user: str) -> None:
        await self.get(client, "/login", user=user)
        client.principal = user

    async def check(self, client: Client, problems: list[str], label: str) -> None:
        found = await self.get(client, "/read")
        if found["data"] != client.data or found["principal"] != client.principal:
            problems.append(f"{label}: {found} instead of {client.data}, {client.principal}")

    async def aclose(self) -> None:
        await self.http.aclose()


async def load(browser: Browser, clients: list[Client], done: asyncio.Event) -> list[str]:
    """Keep the active clients busy until the copy is done (and a little after)."""
    problems: list[str] = []
    chooser = random.Random(13)
    rounds = 0
    while not done.is_set() or rounds < 150:
        rounds += 1
        active = [c for c in clients[:ACTIVE] + clients[CLIENTS:] if not c.ended]
        client = chooser.choice(active)
        client.touched = True
        roll = chooser.random()
        if roll < 0.55:
            await browser.write(client, "n", str(rounds))
        elif roll < 0.8:
            await browser.check(client, problems, "a read during the migration")
        elif roll < 0.88:
            await browser.login(client, f"user-{chooser.randrange(5)}")  # a rotation
        elif roll < 0.93:
            await browser.get(client, "/logout")
            client.ended, client.data, client.principal = True, {}, None
        else:
            fresh = Client(touched=True)
            await browser.write(fresh, "cart", "1")  # created on the new store
            clients.append(fresh)
        await asyncio.sleep(0)
    return problems


async def copy_in_pages(old: AsyncStore, new: AsyncStore, done: asyncio.Event) -> CopyResult:
    """The migration, a page at a time, resuming from its cursor as a restarted run would."""
    total = CopyResult()
    cursor: str | None = None
    try:
        while True:
            page = await async_copy_sessions(old, new, cursor=cursor, batch=PAGE, max_pages=1)
            total = total.plus(page)
            cursor = page.cursor
            if cursor is None:
                return total
            await asyncio.sleep(0.002)  # let the load in between pages
    finally:
        done.set()


def url_of(store: Any) -> str:
    """The URL ``sojourn migrate`` reaches ``store`` by (its file, table or key prefix)."""
    name = type(store).__name__
    if "SQLite" in name:
        return f"sqlite:///{store.path}?table={store.table}"
    if "Redis" in name:
        return f"{REDIS_URL}?prefix={quote(store.prefix, safe='')}"
    base = POSTGRES_URL if "Postgres" in name else MYSQL_URL
    return f"{base}?table={store.table}"


async def sojourn(*args: str) -> dict[str, Any]:
    """Run the ``sojourn`` command in a process of its own; its JSON answer."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sojourn.cli", *args, "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    answer: dict[str, Any] = json.loads(out)
    return answer


async def copy_by_command(old: AsyncStore, new: AsyncStore, done: asyncio.Event) -> CopyResult:
    """The migration as an operator runs it: ``sojourn migrate`` in another process."""
    try:
        answer = await sojourn(
            "migrate", "--from", url_of(old), "--to", url_of(new), "--batch", "4"
        )
        counts = answer["copy"]
        return CopyResult(
            counts["copied"], counts["present"], counts["markers"], counts["vanished"]
        )
    finally:
        done.set()


LIVE_PAIRS = [
    pair_param("sqlite", "redis"),
    pair_param("redis", "postgres"),
    pair_param("postgres", "mysql"),
]


@pytest.mark.parametrize("pair", LIVE_PAIRS, indirect=True)
@pytest.mark.parametrize("by", ["library", "command"])
async def test_a_live_migration_loses_no_session(
    pair: tuple[AsyncStore, AsyncStore], by: str
) -> None:
    old, new = pair
    problems: list[str] = []

    # Before the cut-over: the app on the old store alone.
    before = Browser(app_on(old))
    clients = [Client() for _ in range(CLIENTS)]
    for i, client in enumerate(clients):
        await before.write(client, "n", "0")
        if i % 3:
            await before.login(client, f"user-{i % 7}")
    await before.aclose()
    snapshot = {c.sid: await old.load(store_key(c.sid), time.time()) for c in clients if c.sid}

    # The cut-over: the app on MigratingStore while the copy runs.
    during = Browser(app_on(AsyncMigratingStore(new, old)))
    done = asyncio.Event()
    copier = copy_in_pages if by == "library" else copy_by_command
    copied, problems_during = await asyncio.gather(
        copier(old, new, done), load(during, clients, done)
    )
    problems += problems_during + during.failures
    await during.aclose()
    assert copied.seen > 0
    if by == "library":
        again = await async_copy_sessions(old, new)
        problems += [f"a second run copied {again.copied}"] if again.copied else []
        verified = await async_verify_copy(old, new, sample=40)
        problems += [f"verify: {verified}"] if not verified.ok else []
    else:
        rerun = await sojourn("migrate", "--from", url_of(old), "--to", url_of(new), "--verify")
        problems += [f"a second run copied: {rerun}"] if rerun["copy"]["copied"] else []
        problems += [f"verify: {rerun['verify']}"] if not rerun["verify"]["ok"] else []

    # The untouched sessions kept their deadlines and principal, as the old store held them.
    now = time.time()
    for client in clients[:CLIENTS]:
        if client.touched or client.sid is None:
            continue
        original, moved = snapshot[client.sid], await new.load(store_key(client.sid), now)
        if original is None or moved is None:
            problems.append("an untouched session is missing from the new store")
            continue
        same = (
            moved.principal == original.principal
            and moved.created_at == pytest.approx(original.created_at, abs=1e-6)
            and moved.expires_at == pytest.approx(original.expires_at, abs=1e-6)
            and dict(moved.meta) == dict(original.meta)
        )
        problems += [] if same else [f"an untouched session changed: {original} -> {moved}"]

    # After: the app on the new store alone.
    after = Browser(app_on(new))
    lost = 0
    for client in clients:
        for previous in client.previous:
            if await new.load(store_key(previous), now) is not None:
                problems.append("a pre-rotation or logged-out ID still works")
        if client.ended:
            continue
        before_count = len(problems)
        await after.check(client, problems, "after the switch")
        lost += len(problems) > before_count
    problems += after.failures
    await after.aclose()
    assert lost == 0, problems
    assert problems == []
    assert sum(c.touched for c in clients[:ACTIVE]) > 10  # the load really ran
