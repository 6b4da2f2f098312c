"""A long mixed-load run through real HTTP: ``make soak MINUTES=30``.

One uvicorn server per store (SQLite in a temp file, Redis on 127.0.0.1:6379 under a unique
prefix), each serving :mod:`benchmarks._soak_app`, are driven at the same time for the whole
run by a pool of concurrent clients (asyncio + httpx, one connection each). Each client is a
user with its own principal, doing a weighted mix of: create (a first write without a cookie),
read, write, login (rotation), logout, revoke (a second device logged in as the same user,
then ``revoke_all`` from the first, keeping it) and race (a write and a logout sent together).

Checked on every answer, each failure counted as an error:

- the status is 200 (``/read`` of no session answers ``None``); a ``409`` carrying
  ``Sojourn-Session: rotated`` or ``ended`` is a lost race (logout or rotation meanwhile),
  counted apart as a conflict, never an error; anything else, or a connection error, is one;
- a write answered 200 is read back by the same client (its ``n``), login keeps the data and
  issues a new ID, logout clears the cookie and the old cookie then reads an empty session, a
  revoked device's cookie reads an empty session, and the ID a race ended stays ended.

The report gives, per store, requests, errors, conflicts, requests/s, p50/p99 latency, and the
server process's RSS (``VmRSS`` of ``/proc/<pid>/status``) after a warm-up and at the end. The
exit status is 1 when there was any error or the RSS grew by more than ``--max-rss-growth``
MiB (64 by default) from the warm-up to the end. Needs no Debian package (the load generator
is Python); the Redis keys the run made are deleted afterwards.

Run: ``python -m benchmarks.soak --minutes 30`` (``--seconds`` for short runs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path

import httpx

from .e2e_bench import redis_cleanup, redis_reachable, server_flavour, uvicorn

REDIS_URL = "redis://127.0.0.1:6379/0"
COOKIE = "__Host-sid"
CONFLICT_HEADER = "sojourn-session"
CONFLICT_VALUES = frozenset({"rotated", "ended"})
ACTIONS = {
    "read": 40,
    "write": 28,
    "create": 6,
    "login": 9,
    "logout": 7,
    "revoke": 5,
    "race": 5,
}
"""The mix: relative weights of each client step."""
MAX_ERROR_SAMPLES = 20
SERVER_KEEP_ALIVE = 5  # seconds uvicorn keeps an idle connection (its default, made explicit)
KEEPALIVE_EXPIRY = 2.0  # seconds the client reuses an idle one: well inside the server's


# -- the tally -----------------------------------------------------------------------------------


@dataclass
class Tally:
    """What one store's clients saw."""

    requests: int = 0
    conflicts: int = 0
    errors: int = 0
    samples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    actions: dict[str, int] = field(default_factory=dict)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.samples) < MAX_ERROR_SAMPLES:
            self.samples.append(what)


class Unexpected(Exception):
    """An answer the soak counts as an error; the client starts over afresh."""


class Conflict(Exception):
    """A 409 with ``Sojourn-Session: rotated|ended``: a lost race, the client starts over."""


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[rank]


def rss_kib(pid: int) -> int:
    """The resident set size of process ``pid`` in KiB, from ``/proc/<pid>/status``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def conflict(response: httpx.Response) -> bool:
    """Whether ``response`` is the expected answer to a lost race (not an error)."""
    return (
        response.status_code == 409
        and response.headers.get(CONFLICT_HEADER, "").strip().lower() in CONFLICT_VALUES
    )


# -- one client --------------------------------------------------------------------------------


class User:
    """One simulated user: its cookie, what its session must hold, and its principal."""

    def __init__(self, http: httpx.AsyncClient, tally: Tally, name: str, seed: int) -> None:
        self.http = http
        self.tally = tally
        self.principal = name
        self.random = random.Random(seed)
        self.cookie: str | None = None  # the session ID this user holds
        self.n: int | None = None  # what GET /read must answer for it
        self.logged_in = False

    async def call(
        self, method: str, path: str, cookie: str | None, *, ok: tuple[int, ...] = (200,)
    ) -> httpx.Response:
        """One request, timed and tallied; a status outside ``ok`` raises."""
        headers = {"cookie": f"{COOKIE}={cookie}"} if cookie else {}
        started = time.perf_counter()
        try:
            response = await self.http.request(method, path, headers=headers)
        except httpx.HTTPError as exc:
            self.tally.requests += 1
            raise Unexpected(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        self.tally.latencies.append(time.perf_counter() - started)
        self.tally.requests += 1
        if conflict(response):
            raise Conflict
        if response.status_code not in ok:
            raise Unexpected(f"{method} {path} answered {response.status_code}: {response.text!r}")
        return response

    @staticmethod
    def issued(response: httpx.Response) -> str | None:
        """The session cookie's value in ``response`` (``""``: cleared; ``None``: none sent)."""
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            if name.strip() == COOKIE:
                return rest.split(";", 1)[0].strip()
        return None

    def reset(self) -> None:
        self.cookie, self.n, self.logged_in = None, None, False

    async def read_back(self, cookie: str | None, expected: int | None, why: str) -> None:
        response = await self.call("GET", "/read", cookie)
        if response.text != str(expected):
            raise Unexpected(f"{why}: GET /read answered {response.text!r}, not {expected!r}")

    # -- the steps ---------------------------------------------------------------------------

    async def step(self) -> None:
        names, weights = zip(*ACTIONS.items(), strict=True)
        action = self.random.choices(names, weights)[0]
        if self.cookie is None and action not in ("create", "read"):
            action = "create"
        self.tally.actions[action] = self.tally.actions.get(action, 0) + 1
        try:
            await getattr(self, action)()
        except Conflict:
            self.tally.conflicts += 1
            self.reset()
        except Unexpected as exc:
            self.tally.error(str(exc))
            self.reset()

    async def create(self) -> None:
        response = await self.call("POST", "/write", None)
        issued = self.issued(response)
        if not issued:
            raise Unexpected("POST /write without a cookie issued no session cookie")
        self.cookie, self.n, self.logged_in = issued, 1, False

    async def read(self) -> None:
        await self.read_back(self.cookie, self.n, "read")

    async def write(self) -> None:
        response = await self.call("POST", "/write", self.cookie)
        issued = self.issued(response)
        if issued is not None:
            raise Unexpected(f"a write under a live session sent Set-Cookie {issued[:8]!r}…")
        self.n = (self.n or 0) + 1
        await self.read_back(self.cookie, self.n, "a write answered 200")

    async def login(self) -> None:
        old = self.cookie
        response = await self.call("POST", f"/login?user={self.principal}", old)
        issued = self.issued(response)
        if not issued or issued == old:
            raise Unexpected("login did not issue a new session ID")
        self.cookie, self.logged_in = issued, True
        await self.read_back(old, None, "the ID before login")
        await self.read_back(self.cookie, self.n, "the data after login")

    async def logout(self) -> None:
        old = self.cookie
        response = await self.call("POST", "/logout", old)
        if self.issued(response) != "":
            raise Unexpected("logout did not clear the session cookie")
        self.reset()
        await self.read_back(old, None, "the old cookie after logout")

    async def revoke(self) -> None:
        if not self.logged_in:
            await self.login()
        other = await self.call("POST", f"/login?user={self.principal}", None)
        device = self.issued(other)
        if not device:
            raise Unexpected("login on a second device issued no cookie")
        response = await self.call("POST", "/revoke", self.cookie)
        if not response.text.isdigit() or int(response.text) < 1:
            raise Unexpected(f"revoke_all ended {response.text!r} sessions, not at least one")
        await self.read_back(device, None, "a revoked device's cookie")
        await self.read_back(self.cookie, self.n, "the session revoke_all kept")

    async def race(self) -> None:
        old = self.cookie
        write, logout = await asyncio.gather(
            self.call("POST", "/write", old),
            self.call("POST", "/logout", old),
            return_exceptions=True,
        )
        for outcome in (write, logout):
            if isinstance(outcome, Unexpected):
                raise outcome
            if isinstance(outcome, BaseException) and not isinstance(outcome, Conflict):
                raise outcome
        self.tally.conflicts += sum(isinstance(o, Conflict) for o in (write, logout))
        self.reset()
        if isinstance(logout, httpx.Response):  # the logout won or came after: the ID is dead
            await self.read_back(old, None, "the old cookie after a logout racing a write")


async def drive(base: str, clients: int, deadline: float, tally: Tally, seed: int) -> None:
    """``clients`` users against ``base`` until ``deadline`` (monotonic)."""
    jar = CookieJar(DefaultCookiePolicy(allowed_domains=[]))  # the users hold cookies by hand
    # A pooled connection is reused only well inside the server's keep-alive timeout: at equal
    # timeouts (httpx's and uvicorn's default, 5 s) a request sent on a connection the server
    # is just closing fails with "Server disconnected", a race of the harness, not of the app.
    limits = httpx.Limits(
        max_connections=clients * 2,
        max_keepalive_connections=clients * 2,
        keepalive_expiry=KEEPALIVE_EXPIRY,
    )
    timeout = httpx.Timeout(10.0)
    async with httpx.AsyncClient(
        base_url=base, cookies=httpx.Cookies(jar), limits=limits, timeout=timeout
    ) as http:
        tag = secrets.token_hex(4)
        users = [User(http, tally, f"soak-{tag}-{i}", seed + i) for i in range(clients)]

        async def run(user: User) -> None:
            while time.monotonic() < deadline:
                await user.step()

        await asyncio.gather(*(run(user) for user in users))


# -- servers -----------------------------------------------------------------------------------


@dataclass
class Server:
    store: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextlib.contextmanager
def serve(store: str, spec: str, prefix: str, log: Path) -> Iterator[Server]:
    """uvicorn serving :mod:`benchmarks._soak_app` on ``spec`` on a free port, ready."""
    loop, http = server_flavour()
    env = {**os.environ, "SOJOURN_SOAK_STORE": spec, "SOJOURN_SOAK_PREFIX": prefix}
    keep_alive = ("--timeout-keep-alive", str(SERVER_KEEP_ALIVE))
    with uvicorn("benchmarks._soak_app:app", env, loop, http, log, *keep_alive) as running:
        yield Server(store, running[0], running[1], log)


# -- the run -----------------------------------------------------------------------------------


@dataclass
class Result:
    """One store's figures."""

    store: str
    tally: Tally
    seconds: float
    rss_start_kib: int
    rss_end_kib: int

    @property
    def growth_mib(self) -> float:
        return (self.rss_end_kib - self.rss_start_kib) / 1024


async def soak(servers: list[Server], seconds: float, clients: int, seed: int) -> list[Result]:
    """Warm up, note each server's RSS, drive them all for ``seconds``, note it again."""
    warm = min(10.0, max(1.0, seconds / 10))
    warmups = [Tally() for _ in servers]
    until = time.monotonic() + warm
    await asyncio.gather(
        *(drive(s.url, clients, until, t, seed) for s, t in zip(servers, warmups, strict=True))
    )
    for server, warmup in zip(servers, warmups, strict=True):
        if warmup.errors:
            print(f"  {server.store} warm-up errors: {warmup.samples[:3]}", file=sys.stderr)
    starts = [rss_kib(s.process.pid) for s in servers]
    tallies = [Tally(errors=w.errors, samples=w.samples) for w in warmups]
    started = time.monotonic()
    deadline = started + seconds
    reporter = asyncio.create_task(progress(servers, tallies, started, deadline))
    try:
        await asyncio.gather(
            *(
                drive(s.url, clients, deadline, t, seed)
                for s, t in zip(servers, tallies, strict=True)
            )
        )
    finally:
        reporter.cancel()
    elapsed = time.monotonic() - started
    return [
        Result(s.store, t, elapsed, start, rss_kib(s.process.pid))
        for s, t, start in zip(servers, tallies, starts, strict=True)
    ]


async def progress(servers: list[Server], tallies: list[Tally], started: float, end: float) -> None:
    """A line on stderr every 30 s, so a long run shows it is alive."""
    with contextlib.suppress(asyncio.CancelledError):
        while time.monotonic() < end:
            await asyncio.sleep(30)
            parts = [
                f"{s.store} {t.requests} req {t.errors} err {rss_kib(s.process.pid) // 1024} MiB"
                for s, t in zip(servers, tallies, strict=True)
            ]
            print(f"  {time.monotonic() - started:5.0f} s: " + "; ".join(parts), file=sys.stderr)


def report(results: list[Result], max_growth: float) -> list[str]:
    """Print the table; return the reasons the run failed (none: it passed)."""
    print(
        f"{'store':<8} {'requests':>9} {'errors':>7} {'conflicts':>9} {'req/s':>7} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'RSS start':>10} {'RSS end':>9} {'growth':>8}"
    )
    failures: list[str] = []
    for r in results:
        t = r.tally
        latencies = sorted(t.latencies)
        print(
            f"{r.store:<8} {t.requests:>9} {t.errors:>7} {t.conflicts:>9} "
            f"{t.requests / r.seconds:>7.0f} {percentile(latencies, 0.50) * 1000:>7.2f} "
            f"{percentile(latencies, 0.99) * 1000:>7.2f} {r.rss_start_kib / 1024:>7.1f} MiB "
            f"{r.rss_end_kib / 1024:>5.1f} MiB {r.growth_mib:>+7.1f}"
        )
        if t.errors:
            failures.append(f"{r.store}: {t.errors} errors")
            for sample in t.samples:
                print(f"  {r.store} error: {sample}")
        if r.growth_mib > max_growth:
            failures.append(f"{r.store}: RSS grew {r.growth_mib:.1f} MiB (> {max_growth:g})")
        if t.requests == 0:
            failures.append(f"{r.store}: no request was made")
    mix = ", ".join(f"{k} {sum(r.tally.actions.get(k, 0) for r in results)}" for k in ACTIONS)
    print(f"steps: {mix}")
    return failures


def run(
    seconds: float,
    *,
    clients: int = 8,
    stores: tuple[str, ...] = ("sqlite", "redis"),
    max_growth: float = 64.0,
    seed: int = 0,
) -> list[str]:
    """The whole soak; returns the failure reasons (an empty list: it passed)."""
    loop, http = server_flavour()
    print(
        f"soak: {seconds:g} s per store, {clients} clients each, stores {', '.join(stores)}, "
        f"uvicorn --loop {loop} --http {http}, RSS growth limit {max_growth:g} MiB"
    )
    prefix = f"sojourn-soak-{secrets.token_hex(6)}:"
    if "redis" in stores and not redis_reachable(REDIS_URL):
        return [f"Redis is not reachable at {REDIS_URL}"]
    with tempfile.TemporaryDirectory(prefix="sojourn-soak-") as tmp, contextlib.ExitStack() as st:
        specs = {"sqlite": f"sqlite:{Path(tmp) / 'sessions.db'}", "redis": f"redis:{REDIS_URL}"}
        try:
            servers = [
                st.enter_context(serve(name, specs[name], prefix, Path(tmp) / f"{name}.log"))
                for name in stores
            ]
            results = asyncio.run(soak(servers, seconds, clients, seed))
            failures = report(results, max_growth)
            for server in servers:
                lines = server.log.read_text(errors="replace").strip().splitlines()
                if lines:
                    print(f"  {server.store} server log (last lines):")
                    print("    " + "\n    ".join(lines[-10:]))
                crashes = [line for line in lines if "Traceback" in line or "Exception" in line]
                if crashes:  # whatever the last lines are, a server-side error is never hidden
                    failures.append(f"{server.store}: {len(crashes)} errors in the server log")
                    print(f"  {server.store} server errors: {crashes[:3]}")
        finally:
            if "redis" in stores:
                redis_cleanup(REDIS_URL, prefix)
    print("soak: " + ("FAIL: " + "; ".join(failures) if failures else "PASS"))
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, default=None, help="run length (default 2)")
    length.add_argument("--seconds", type=float, default=None, help="run length in seconds")
    parser.add_argument("--clients", type=int, default=8, help="concurrent users per store")
    parser.add_argument(
        "--stores", default="sqlite,redis", help="comma-separated: sqlite, redis (default both)"
    )
    parser.add_argument(
        "--max-rss-growth", type=float, default=64.0, help="MiB of RSS growth that fails the run"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else (args.minutes or 2.0) * 60
    stores = tuple(name.strip() for name in args.stores.split(",") if name.strip())
    unknown = set(stores) - {"sqlite", "redis"}
    if unknown or not stores:
        parser.error(f"unknown stores: {', '.join(sorted(unknown)) or '(none)'}")
    failures = run(
        seconds,
        clients=args.clients,
        stores=stores,
        max_growth=args.max_rss_growth,
        seed=args.seed,
    )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
