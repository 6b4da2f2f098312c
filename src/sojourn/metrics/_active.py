"""How many sessions are live: the store's ``count``, asked on scrape and cached.

``count`` walks the store (a Redis ``SCAN``, a SQL ``COUNT``), so it is never run per request:
a scrape asks for the value, and the store is counted again only once the last count is older
than the interval. Scrapes call in synchronously (a Prometheus collector, an OpenTelemetry
gauge callback), which decides how each flavour of store is counted:

- a sync store is counted right there, in the scraping thread, one scrape at a time (a scrape
  that arrives while another is counting is given the last value); so is the sync store under
  an async view of one (``AsyncMemoryStore``, ``ThreadedStore``: their ``sync``);
- an async store can only be counted on the event loop it belongs to. A scrape made on that
  loop (prometheus-client's ASGI app mounted in the application) schedules the count there
  and reports the last value; the new one is reported from the next scrape on. A scrape from
  another thread schedules it on the loop seen last. Until a count has finished the gauge has
  no value, rather than a made-up zero. To count from elsewhere, give the observer a separate
  sync store over the same data (``count_store=RedisStore(...)``).

A count that fails is logged (``session.metrics_count_failed``) and the last value kept; it
is tried again after the interval, so a store that is down is not hammered by scrapes.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future

from .._core.errors import ConfigurationError

logger = logging.getLogger("sojourn")

DEFAULT_COUNT_EVERY = 30.0
"""Seconds a count of live sessions is reused before the store is counted again."""


class ActiveSessions:
    """The number of live sessions in one store, counted at most once per interval.

    Args:
        every: seconds a count is reused.
        store: the store to count; ``None``: the first store :meth:`watch` is given.
        clock: monotonic seconds (tests inject a fake one).

    Raises:
        ConfigurationError: ``every`` is not a positive finite number.
    """

    def __init__(
        self,
        every: float = DEFAULT_COUNT_EVERY,
        store: object | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, (int, float)):
            raise ConfigurationError("count_every must be a number of seconds")
        if not math.isfinite(every) or every <= 0:
            raise ConfigurationError("count_every must be a positive, finite number of seconds")
        self.every = float(every)
        self._store = store
        self._clock = clock
        self._value: int | None = None
        self._counted_at = -math.inf
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: asyncio.Future[None] | Future[None] | None = None  # a count in flight

    def watch(self, store: object) -> None:
        """Count ``store`` unless a store was chosen already (the first one given wins: an
        adapter that builds several managers over one store hands it over several times)."""
        if self._store is None:
            under = getattr(store, "sync", None)  # an async view of a sync store: count that
            sync_count = getattr(under, "count", None)
            plain = sync_count is not None and not inspect.iscoroutinefunction(sync_count)
            self._store = under if plain else store

    def value(self) -> int | None:
        """The last count, refreshed first if it is older than the interval (see the module
        docstring for async stores). ``None``: no count yet, or the store cannot count."""
        count = getattr(self._store, "count", None)
        if count is None or self._clock() - self._counted_at < self.every:
            return self._value
        if inspect.iscoroutinefunction(count):
            self._schedule(count)
        elif self._lock.acquire(blocking=False):  # another scrape counting: take the last value
            try:
                self._counted(self._guarded(count))
            finally:
                self._lock.release()
        return self._value

    def _counted(self, value: int | None) -> None:
        self._counted_at = self._clock()  # a failure waits out the interval too
        if value is not None:
            self._value = value

    def _guarded(self, count: Callable[[float], int]) -> int | None:
        try:
            return int(count(time.time()))
        except Exception as exc:  # a scrape must not fail because the store is down
            _failed(exc)
            return None

    def _schedule(self, count: Callable[[float], Awaitable[int]]) -> None:
        if self._pending is not None and not self._pending.done():
            return
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # a scrape from a thread without a loop: the loop seen last
            loop = None
        if loop is not None:
            self._loop = loop
            self._pending = loop.create_task(self._refresh(count))
            return
        known = self._loop
        if known is not None and not known.is_closed():
            self._pending = asyncio.run_coroutine_threadsafe(self._refresh(count), known)

    async def _refresh(self, count: Callable[[float], Awaitable[int]]) -> None:
        try:
            value: int | None = int(await count(time.time()))
        except Exception as exc:
            _failed(exc)
            value = None
        self._counted(value)


def _failed(exc: BaseException) -> None:
    logger.warning(
        "session.metrics_count_failed: counting live sessions failed: %s", type(exc).__name__
    )


__all__ = ["DEFAULT_COUNT_EVERY", "ActiveSessions"]
