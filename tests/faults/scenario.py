"""The fault scenario every (store, fault, adapter) combination runs, counting what went wrong.

A few users each keep a session through a real adapter. The store's network then turns bad
(a :class:`~tests.faults.proxy.Fault`), the users keep reading and writing, the fault is
lifted, and they carry on — no store, pool or process is restarted. What must hold:

- every store call returns or fails within the store's timeout plus a little slack, and every
  request (a load and a write: two calls) within two timeouts plus some slack — no hang, no
  pile-up;
- during the fault every answer is 200 or 503 — never a 500, a traceback or anything else;
- once the fault is lifted every user is answered 200 again within :data:`RECOVERY` (a 503
  before then is tolerated and timed; anything else is a problem), from then on every answer
  is 200, and each session reads back;
- no write answered 200 is lost: each session holds the last acknowledged value, or a later
  one whose answer was lost in the fault (a write the server did but could not confirm);
- no record is corrupted: each loads cleanly, straight from the server, with the value a
  user wrote.

Each broken rule is recorded as a line of text, and the tests assert there are none.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from sojourn._core.codec import decode_value
from sojourn._core.ids import store_key
from sojourn.stores.base import AsyncStore
from sojourn.testing import FakeClock

from .proxy import Fault, FaultProxy
from .servers import BOUND
from .timing import TimingStore

T = TypeVar("T")

USERS = 3
ROUNDS = 2
CALL_SLACK = 0.25
"""Added to the store's timeout for one store call: thread hand-offs and scheduling on a
shared, busy machine."""
REQUEST_BOUND = 2 * BOUND + 0.5
"""A request makes at most two store calls (its load and its write), plus the adapter's
own work."""
HANG = 15.0
"""A request still unanswered after this long is a hang (and the scenario moves on)."""


@dataclass(frozen=True)
class Case:
    """A fault as the tests inject it: its name, the proxy's fault, and its latency."""

    name: str
    fault: Fault
    latency: float = 0.0


CASES = [
    # Every chunk held back longer than a whole call may take: each call must time out.
    Case("latency", Fault.LATENCY, 2 * BOUND),
    # Each round trip fits in the timeout, a call of several does not: the bound must be on
    # the call, not on each socket read.
    Case("slow", Fault.LATENCY, 0.3 * BOUND),
    Case("reset", Fault.RESET),
    Case("blackhole", Fault.BLACKHOLE),
    Case("half-open", Fault.HALF_OPEN),
]
RECOVERY = 3.0
"""How soon after the fault is lifted a user must be served again. A connection pool may be
mid-way through a reconnection attempt begun during the fault: psycopg's pool gives one up
after the store's timeout, and libpq waits at least 2 s for a connection."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    elapsed: float
    session_id: str | None


class User(Protocol):
    """One browser: it keeps its session cookie between requests."""

    async def read(self) -> Reply: ...

    async def write(self, value: str) -> Reply: ...


@dataclass
class Tally:
    """What each user's session may hold, and everything that went wrong so far."""

    problems: list[str] = field(default_factory=list)
    acked: dict[int, str] = field(default_factory=dict)
    unconfirmed: dict[int, set[str]] = field(default_factory=dict)
    slowest: float = 0.0
    slowest_call: float = 0.0
    recovery: float = 0.0
    """Seconds from lifting the fault to the last user's first 200."""

    def allowed(self, user: int) -> set[str]:
        return {self.acked[user], *self.unconfirmed.get(user, set())}


async def run(
    users: list[User],
    proxy: FaultProxy,
    case: Case,
    direct: AsyncStore,
    clock: FakeClock,
    timing: TimingStore,
) -> Tally:
    """Play the scenario; ``direct`` reaches the same data without going through the proxy,
    and ``timing`` wraps the store the users' middleware calls."""
    tally = Tally()
    try:
        await _play(tally, users, proxy, case, direct, clock)
    finally:
        for name, seconds in timing.calls:
            tally.slowest_call = max(tally.slowest_call, seconds)
            if seconds > BOUND + CALL_SLACK:
                tally.problems.append(f"a store {name} took {seconds:.2f}s, over the bound")
    return tally


async def _play(
    tally: Tally,
    users: list[User],
    proxy: FaultProxy,
    case: Case,
    direct: AsyncStore,
    clock: FakeClock,
) -> None:
    # A warmed-up app: each user has written and read its session (so the store's scripts
    # and statements are loaded on the server) before the network turns bad.
    for index, user in enumerate(users):
        await _write(tally, index, user, f"u{index}-start", faulted=False)
        await _read(tally, index, user, faulted=False, when="read before the fault")
    if len(tally.acked) != len(users):
        return  # the healthy phase failed: nothing else is meaningful
    proxy.inject(case.fault, latency=case.latency)
    for round_ in range(ROUNDS):
        await asyncio.gather(
            *(_faulted(tally, index, user, round_) for index, user in enumerate(users))
        )
    proxy.heal()
    healed = stopwatch()
    for index, user in enumerate(users):
        while True:
            served = await _read(tally, index, user, faulted=healed() < RECOVERY, when="recovery")
            if served or healed() >= RECOVERY:
                break
            await asyncio.sleep(0.05)
        tally.recovery = max(tally.recovery, healed())
        if not served:
            tally.problems.append(f"user {index}: not served again within {RECOVERY}s")
    for index, user in enumerate(users):
        await _write(tally, index, user, f"u{index}-after", faulted=False)
        await _read(tally, index, user, faulted=False, when="read after recovery")
    await _check_records(tally, users, direct, clock)


async def _faulted(tally: Tally, index: int, user: User, round_: int) -> None:
    await _write(tally, index, user, f"u{index}-fault-{round_}", faulted=True)
    await _read(tally, index, user, faulted=True, when=f"read in fault round {round_}")


async def _timed(tally: Tally, what: str, call: Callable[[], Awaitable[Reply]]) -> Reply | None:
    try:
        reply = await asyncio.wait_for(call(), HANG)
    except TimeoutError:
        tally.problems.append(f"{what}: no answer within {HANG}s (a hang)")
        return None
    tally.slowest = max(tally.slowest, reply.elapsed)
    if reply.elapsed > REQUEST_BOUND:
        tally.problems.append(
            f"{what}: answered {reply.status} after {reply.elapsed:.2f}s, over the bound"
        )
    if "Traceback" in reply.body:
        tally.problems.append(f"{what}: a traceback in the answer")
    return reply


async def _write(tally: Tally, index: int, user: User, value: str, *, faulted: bool) -> None:
    what = f"user {index} write {value}"
    reply = await _timed(tally, what, lambda: user.write(value))
    if reply is None:
        tally.unconfirmed.setdefault(index, set()).add(value)
        return
    if reply.status == 200:
        tally.acked[index] = value
        tally.unconfirmed.pop(index, None)
    elif reply.status == 503 and faulted:
        tally.unconfirmed.setdefault(index, set()).add(value)
    else:
        tally.unconfirmed.setdefault(index, set()).add(value)
        tally.problems.append(f"{what}: answered {reply.status}")


async def _read(tally: Tally, index: int, user: User, *, faulted: bool, when: str) -> bool:
    """Read the user's value and check it; True if it was served (200)."""
    what = f"user {index} {when}"
    reply = await _timed(tally, what, user.read)
    if reply is None:
        return False
    if reply.status == 503 and faulted:
        return False
    if reply.status != 200:
        tally.problems.append(f"{what}: answered {reply.status}")
        return False
    name = json.loads(reply.body).get("name")
    if name not in tally.allowed(index):
        tally.problems.append(f"{what}: read {name!r}, expected one of {tally.allowed(index)}")
        return True
    tally.acked[index] = name  # what it holds now; an unconfirmed write read back is settled
    tally.unconfirmed.pop(index, None)
    return True


async def _check_records(
    tally: Tally, users: list[User], direct: AsyncStore, clock: FakeClock
) -> None:
    for index, user in enumerate(users):
        probe = await _timed(tally, f"user {index} last read", user.read)
        if probe is None:
            continue
        if probe.session_id is None:
            tally.problems.append(f"user {index}: holds no session cookie")
            continue
        try:
            record = await direct.load(store_key(probe.session_id), clock())
        except Exception as exc:  # a corrupt record raises here: counted, not fatal
            tally.problems.append(f"user {index}: the record does not load: {exc!r}")
            continue
        if record is None:
            tally.problems.append(f"user {index}: the session is gone from the store")
            continue
        try:
            value = decode_value(record.fields["name"])
        except Exception as exc:
            tally.problems.append(f"user {index}: the stored value is corrupt: {exc!r}")
            continue
        if value != tally.acked.get(index):
            tally.problems.append(
                f"user {index}: the store holds {value!r}, acknowledged {tally.acked.get(index)!r}"
            )


def assert_clean(label: str, tally: Tally) -> None:
    """Print the run's figures and fail, listing every broken rule, if there was any."""
    figures = (
        f"slowest call {tally.slowest_call:.2f}s, request {tally.slowest:.2f}s,"
        f" served again after {tally.recovery:.2f}s"
    )
    print(f"{label}: {figures}")
    report = "\n".join(tally.problems)
    assert tally.problems == [], f"{figures}:\n{report}"


def in_daemon_thread(call: Callable[[], T]) -> Awaitable[T]:
    """Run a blocking call in a daemon thread, so a hung sync store cannot block the exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(outcome)  # type: ignore[arg-type]

    def target() -> None:
        outcome: T | None = None
        error: BaseException | None = None
        try:
            outcome = call()
        except BaseException as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(settle, outcome, error)

    threading.Thread(target=target, daemon=True).start()
    return future


def stopwatch() -> Callable[[], float]:
    began = time.monotonic()
    return lambda: time.monotonic() - began
