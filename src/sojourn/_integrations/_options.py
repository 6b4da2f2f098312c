"""Options shared by every adapter, turned into an :class:`Engine` in one place."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Literal

from .._core.binding import Binding
from .._core.codec import DEFAULT_LIMITS, JSON, CodecLimits, ValueCodec
from .._core.cookies import CookieSettings
from .._core.errors import ConfigurationError
from .._core.events import AsyncEventHook, EventHook
from .._core.observe import Observer
from .._core.plan import Engine
from .._core.policy import DEFAULT_IDLE_TIMEOUT, DEFAULT_LIFETIME, DEFAULT_ROTATION_GRACE, Policy
from .._core.shape import Migrate
from .._core.transport import CookieTransport, Transport
from .._hooks import check_hooks
from .._sync.manager import Manager
from .._typed.views import shape_of
from ..stores.base import ClientSideStore, Store

Seconds = float | int | timedelta
OnStoreError = Literal["fail", "anonymous"]
OnLostWrite = Literal["conflict", "ignore"]


def seconds(value: Seconds) -> float:
    """Seconds from a number or a :class:`~datetime.timedelta`."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _maybe(value: Seconds | None) -> float | None:
    return None if value is None else seconds(value)


@dataclass(frozen=True, slots=True)
class AdapterOptions:
    """What an adapter needs besides its store.

    Attributes:
        engine: the configured core.
        on_store_error: ``"fail"`` (default) answers 503 when the store is down;
            ``"anonymous"`` serves the request without a session (changes are not saved).
        track_metadata: record user agent and client IP for "your devices" pages.
        on_lost_write: ``"conflict"`` (default) answers ``409`` with ``Sojourn-Session:
            rotated|ended`` when a request's changes did not land because its session was
            rotated or ended meanwhile; ``"ignore"`` serves the application's response.
        hooks: lifecycle-event hooks for the manager (see ``docs/events.md``); an async
            adapter awaits what a hook returns, a sync one takes plain functions only.
        metrics: an observer (:mod:`sojourn.metrics`) the manager reports to; ``None``: none.
    """

    engine: Engine = field(default_factory=Engine)
    on_store_error: OnStoreError = "fail"
    track_metadata: bool = False
    on_lost_write: OnLostWrite = "conflict"
    hooks: tuple[AsyncEventHook, ...] = ()
    metrics: Observer | None = None

    def sync_hooks(self) -> tuple[EventHook, ...]:
        """The hooks for a sync manager (WSGI, Flask).

        Raises:
            ConfigurationError: a hook is a coroutine function, which a sync manager could
                only call without running it.
        """
        return sync_hooks(self.hooks)


def build_options(
    *,
    idle_timeout: Seconds = DEFAULT_IDLE_TIMEOUT,
    lifetime: Seconds = DEFAULT_LIFETIME,
    renew_interval: Seconds | None = None,
    cookie: CookieSettings | None = None,
    transport: Transport | None = None,
    limits: CodecLimits = DEFAULT_LIMITS,
    codec: ValueCodec = JSON,
    on_store_error: OnStoreError = "fail",
    track_metadata: bool = False,
    engine: Engine | None = None,
    rotate_every: Seconds | None = None,
    rotation_grace: Seconds = DEFAULT_ROTATION_GRACE,
    on_lost_write: OnLostWrite = "conflict",
    remember_idle_timeout: Seconds | None = None,
    remember_lifetime: Seconds | None = None,
    anonymous_idle_timeout: Seconds | None = None,
    anonymous_lifetime: Seconds | None = None,
    clear_site_data: str | Iterable[str] = (),
    binding: Binding | None = None,
    hooks: Sequence[AsyncEventHook] = (),
    metrics: Observer | None = None,
    shape: Any = None,
    migrate: Migrate | None = None,
) -> AdapterOptions:
    """Validate adapter keyword options and build the engine from them.

    The ``remember_*`` and ``anonymous_*`` timeouts are those of :class:`Policy`: the
    timeouts of remembered sessions (``Session.remember``) and of sessions nobody logged in to.

    ``shape`` (a ``TypedDict``, dataclass, msgspec ``Struct``, pydantic model or
    :class:`~sojourn.typed.Shape`) and ``migrate`` go into the engine, the one given too.

    Raises:
        ConfigurationError: contradictory or invalid options (an unknown ``on_store_error``
            is refused by the manager, when the adapter builds it).
    """
    # on_store_error is checked where it is used: by the manager the adapter builds.
    if engine is None:
        if cookie is not None and transport is not None:
            raise ConfigurationError("pass either cookie= or transport=, not both")
        policy = Policy(
            idle_timeout=seconds(idle_timeout),
            lifetime=seconds(lifetime),
            renew_interval=None if renew_interval is None else seconds(renew_interval),
            rotate_every=None if rotate_every is None else seconds(rotate_every),
            rotation_grace=seconds(rotation_grace),
            remember_idle_timeout=_maybe(remember_idle_timeout),
            remember_lifetime=_maybe(remember_lifetime),
            anonymous_idle_timeout=_maybe(anonymous_idle_timeout),
            anonymous_lifetime=_maybe(anonymous_lifetime),
        )
        chosen = transport or CookieTransport(cookie or CookieSettings())
        engine = Engine(
            policy=policy,
            transport=chosen,
            limits=limits,
            codec=codec,
            clear_site_data=clear_site_data,
            binding=binding,
        )
    if shape is not None:
        engine = replace(engine, shape=shape_of(shape, migrate=migrate))
    elif migrate is not None:
        raise ConfigurationError("migrate= needs a shape= to migrate to")
    if on_lost_write not in ("conflict", "ignore"):
        raise ConfigurationError("on_lost_write must be 'conflict' or 'ignore'")
    check_hooks(hooks, awaits=True)
    return AdapterOptions(
        engine, on_store_error, track_metadata, on_lost_write, tuple(hooks), metrics
    )


def sync_manager(
    store: Store | ClientSideStore, options: AdapterOptions, clock: Callable[[], float]
) -> Manager:
    """The sync manager an adapter's options describe (the named sessions of Flask and
    Django build theirs here)."""
    return Manager(
        store,
        options.engine,
        clock=clock,
        on_store_error=options.on_store_error,
        track_metadata=options.track_metadata,
        on_lost_write=options.on_lost_write,
        hooks=options.sync_hooks(),
        metrics=options.metrics,
    )


def sync_hooks(hooks: Sequence[AsyncEventHook | EventHook]) -> tuple[EventHook, ...]:
    """``hooks`` checked for a sync manager: plain callables, no coroutine functions.

    Raises:
        ConfigurationError: a hook is a coroutine function (it would never run).
    """
    check_hooks(hooks, awaits=False)
    return tuple(hooks)  # type: ignore[arg-type]  # no coroutine function: each returns None


__all__ = [
    "AdapterOptions",
    "OnLostWrite",
    "OnStoreError",
    "Seconds",
    "build_options",
    "seconds",
    "sync_hooks",
    "sync_manager",
]
