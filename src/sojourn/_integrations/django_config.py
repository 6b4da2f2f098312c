"""Django settings -> one store and one :class:`~sojourn.Manager` per process.

``SOJOURN_STORE`` may be a store object, a class, a factory callable, or a dotted path to any
of these; a class or factory is called once with ``SOJOURN_STORE_OPTIONS`` (a dict) as keyword
arguments. Whatever the form, the process builds one store and reuses it on every request (a
store owns a connection pool: building one per request leaks connections until the server
refuses more). The store is closed at interpreter exit, and when a test changes the
``SOJOURN_STORE*`` settings (Django's ``setting_changed`` signal, as Django does for
``CACHES``); a store object the settings hold is the application's own and is only closed at
exit.

The manager (store, engine, clock, hooks) is rebuilt when any ``SOJOURN_*`` setting changes,
so ``override_settings(SOJOURN_IDLE_TIMEOUT=...)`` takes effect in tests. ``SOJOURN_HOOKS`` is
a list of lifecycle-event hooks: callables, or dotted paths to them (see ``docs/events.md``).

``SOJOURN_METRICS`` is a metrics observer (``sojourn.metrics.prometheus.PrometheusMetrics()``)
or a dotted path to one; the manager reports to it (see ``docs/metrics.md``).
"""

from __future__ import annotations

import atexit
import inspect
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from .._core.errors import ConfigurationError
from .._core.events import EventHook
from .._core.observe import Observer
from .._core.plan import Engine
from .._core.policy import DEFAULT_IDLE_TIMEOUT, DEFAULT_LIFETIME, Policy
from .._core.shape import Shape
from .._sync.manager import Manager
from .._typed.views import shape_of
from ..stores.base import ClientSideStore, Store
from ._options import sync_hooks
from .django_codec import DJANGO_JSON

logger = logging.getLogger("sojourn")

AUTH_USER_KEY = "_auth_user_id"  # django.contrib.auth.SESSION_KEY


@dataclass(frozen=True, slots=True)
class _Built:
    setting: object  # SOJOURN_STORE as it was when the store was built
    options: Mapping[str, Any]
    store: Store
    owned: bool  # built here (a class or factory was called): closed when settings change


_lock = threading.Lock()
_current: _Built | None = None
_manager: Manager | None = None
_retired: list[Store] = []  # built here, replaced without the signal: closed at exit


def _seconds(value: float | int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def clock() -> float:
    """The current time from ``SOJOURN_CLOCK`` (tests inject a fake clock), else ``time.time``."""
    configured: Callable[[], float] = getattr(settings, "SOJOURN_CLOCK", None) or time.time
    return configured()


def configured_policy() -> Policy:
    """The timeouts from ``SOJOURN_IDLE_TIMEOUT`` / ``SOJOURN_LIFETIME`` (and, for remembered
    and anonymous sessions, ``SOJOURN_REMEMBER_*`` / ``SOJOURN_ANONYMOUS_*``), and periodic
    rotation from ``SOJOURN_ROTATE_EVERY``.

    Periodic rotation has no grace window under Django: Django's middleware sends the key it
    holds with every save, so a request still holding the previous ID would hand it back to a
    client that has the new one. Requests in flight with the previous ID see a fresh session,
    and their saves raise ``UpdateError`` (Django's ``SessionInterrupted``).
    """
    rotate_every = getattr(settings, "SOJOURN_ROTATE_EVERY", None)
    return Policy(
        idle_timeout=_seconds(getattr(settings, "SOJOURN_IDLE_TIMEOUT", DEFAULT_IDLE_TIMEOUT)),
        lifetime=_seconds(getattr(settings, "SOJOURN_LIFETIME", DEFAULT_LIFETIME)),
        rotate_every=None if rotate_every is None else _seconds(rotate_every),
        rotation_grace=0.0,
        remember_idle_timeout=_optional("SOJOURN_REMEMBER_IDLE_TIMEOUT"),
        remember_lifetime=_optional("SOJOURN_REMEMBER_LIFETIME"),
        anonymous_idle_timeout=_optional("SOJOURN_ANONYMOUS_IDLE_TIMEOUT"),
        anonymous_lifetime=_optional("SOJOURN_ANONYMOUS_LIFETIME"),
    )


def _optional(name: str) -> float | None:
    """The seconds of an optional timeout setting (``None`` when unset)."""
    value = getattr(settings, name, None)
    return None if value is None else _seconds(value)


def configured_shape() -> Shape | None:
    """The session's shape from ``SOJOURN_SHAPE`` (a class or a dotted path to one: a
    ``TypedDict``, dataclass, msgspec ``Struct`` or pydantic model) and ``SOJOURN_MIGRATE``
    (a function or a dotted path to one), or ``None`` when no shape is set.

    Raises:
        ConfigurationError: ``SOJOURN_MIGRATE`` without ``SOJOURN_SHAPE``, or no shape.
    """
    shape = getattr(settings, "SOJOURN_SHAPE", None)
    migrate = getattr(settings, "SOJOURN_MIGRATE", None)
    if isinstance(shape, str):
        shape = import_string(shape)
    if isinstance(migrate, str):
        migrate = import_string(migrate)
    if shape is None:
        if migrate is not None:
            raise ConfigurationError("SOJOURN_MIGRATE needs a SOJOURN_SHAPE to migrate to")
        return None
    return shape_of(shape, migrate=migrate)


def configured_hooks() -> tuple[EventHook, ...]:
    """The lifecycle-event hooks of ``SOJOURN_HOOKS``: callables or dotted paths to them.

    Raises:
        ConfigurationError: the setting is not a list, or names something that is not a plain
            callable (Django's session engine is sync: an async hook could never run).
    """
    value = getattr(settings, "SOJOURN_HOOKS", None) or ()
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ConfigurationError("SOJOURN_HOOKS must be a list of callables or dotted paths")
    hooks = [import_string(item) if isinstance(item, str) else item for item in value]
    return sync_hooks(hooks)


def _is_store(value: object) -> bool:
    return not isinstance(value, type) and callable(getattr(value, "load", None))


def _build(value: object, options: Mapping[str, Any]) -> tuple[Store, bool]:
    made = import_string(value) if isinstance(value, str) else value
    if _is_store(made):
        if options:
            raise ConfigurationError(
                "SOJOURN_STORE_OPTIONS applies to a store class or factory, not to a store object"
            )
        store: Store = made  # type: ignore[assignment]  # checked by _is_store and below
        owned = False
    elif callable(made):
        store = made(**options)
        owned = True
    else:
        raise ConfigurationError(
            "SOJOURN_STORE must be a store, a store class, a factory, or a dotted path to one"
        )
    if isinstance(store, ClientSideStore):
        raise ConfigurationError(
            "a client-side store seals sessions into the cookie: use SESSION_ENGINE = "
            '"sojourn.django_cookies" with SOJOURN_COOKIE_KEYS instead'
        )
    if not _is_store(store) or inspect.iscoroutinefunction(store.load):
        raise ConfigurationError(
            f"SOJOURN_STORE gave {type(store).__name__}: sojourn.django needs a sync store "
            "(RedisStore, not AsyncRedisStore)"
        )
    return store, owned


def configured_store() -> Store:
    """The store named by ``SOJOURN_STORE``: built once, then the same object every call.

    Raises:
        ConfigurationError: the setting is missing or names no sync store.
    """
    value = getattr(settings, "SOJOURN_STORE", None)
    options: Mapping[str, Any] = getattr(settings, "SOJOURN_STORE_OPTIONS", None) or {}
    current = _current
    if current is not None and _same(current, value, options):
        return current.store
    if value is None:
        raise ConfigurationError(
            'SESSION_ENGINE = "sojourn.django" needs SOJOURN_STORE, e.g. '
            '"sojourn.stores.memory.MemoryStore"'
        )
    return _replace(value, options)


def _same(current: _Built, value: object, options: Mapping[str, Any]) -> bool:
    same_setting = current.setting is value or (isinstance(value, str) and current.setting == value)
    return same_setting and (current.options is options or current.options == options)


def _replace(value: object, options: Mapping[str, Any]) -> Store:
    global _current, _manager
    with _lock:
        current = _current
        if current is not None and _same(current, value, options):
            return current.store  # another thread built it meanwhile
        store, owned = _build(value, options)
        if current is not None and current.owned:
            # Settings changed without the signal (assigned directly): a request in flight
            # may still hold the old store, so it is closed at exit rather than now.
            _retired.append(current.store)
        _current = _Built(value, dict(options), store, owned)
        _manager = None
        return store


def configured_manager() -> Manager:
    """The process's manager over :func:`configured_store`, with Django's value codec."""
    global _manager
    store = configured_store()
    manager = _manager
    if manager is not None and manager.store is store:
        return manager
    with _lock:
        if _manager is None or _manager.store is not store:
            engine = Engine(
                policy=configured_policy(),
                codec=DJANGO_JSON,
                shape=configured_shape(),
                **_client_options(),
            )
            # SOJOURN_CLOCK resolved once: the manager is rebuilt when a SOJOURN_* setting
            # changes, and a settings lookup per timestamp showed in profiles.
            configured: Callable[[], float] = getattr(settings, "SOJOURN_CLOCK", None) or time.time
            _manager = Manager(
                store,
                engine,
                clock=configured,
                hooks=configured_hooks(),
                metrics=configured_metrics(),
            )
        return _manager


def _client_options() -> dict[str, Any]:
    """``SOJOURN_CLEAR_SITE_DATA`` and ``SOJOURN_BINDING`` as engine options.

    Both need Sojourn's middleware: Django's own neither tells the session store who the
    client is nor sends a logout's extra headers, so with it a binding would bind every
    session to "no user agent, no address" and pass everyone.

    Raises:
        ConfigurationError: either is set and ``MIDDLEWARE`` has no
            ``sojourn.django.SessionMiddleware`` (or a subclass).
    """
    clear = getattr(settings, "SOJOURN_CLEAR_SITE_DATA", ())
    binding = getattr(settings, "SOJOURN_BINDING", None)
    if (clear or binding is not None) and not _sojourn_middleware():
        raise ConfigurationError(
            "SOJOURN_BINDING and SOJOURN_CLEAR_SITE_DATA need 'sojourn.django.SessionMiddleware'"
            " in MIDDLEWARE, in place of Django's SessionMiddleware"
        )
    return {"clear_site_data": clear, "binding": binding}


def _sojourn_middleware() -> bool:
    """Whether ``MIDDLEWARE`` holds Sojourn's session middleware (or a subclass of it)."""
    from .django import SessionMiddleware  # that module imports this one

    for path in settings.MIDDLEWARE:
        try:
            found = import_string(path)
        except ImportError:
            continue  # Django reports a broken entry itself
        if isinstance(found, type) and issubclass(found, SessionMiddleware):
            return True
    return False


def configured_metrics() -> Observer | None:
    """The observer ``SOJOURN_METRICS`` names (an object, or a dotted path to one), if any."""
    value = getattr(settings, "SOJOURN_METRICS", None)
    found: Observer | None = import_string(value) if isinstance(value, str) else value
    return found


def reset(*, close: bool) -> None:
    """Forget the built store and manager; close the store if it was built here and ``close``."""
    global _current, _manager
    with _lock:
        current, _current, _manager = _current, None, None
    if close and current is not None and current.owned:
        _close(current.store)


def _close(store: Store) -> None:
    try:
        store.close()
    except Exception:  # closing at shutdown must not mask the real exit status
        logger.warning("session store %s failed to close", type(store).__name__, exc_info=True)


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in {"SOJOURN_STORE", "SOJOURN_STORE_OPTIONS"}:
        reset(close=True)
    elif setting.startswith("SOJOURN_"):
        global _manager
        _manager = None


def _close_all() -> None:
    """At exit: the store in use (whatever its form) and any retired ones."""
    global _current
    with _lock:
        current, _current = _current, None
        stores = [*_retired, *([current.store] if current is not None else [])]
        _retired.clear()
    for store in stores:
        _close(store)


setting_changed.connect(_settings_changed, dispatch_uid="sojourn._integrations.django_config")
atexit.register(_close_all)

__all__ = [
    "AUTH_USER_KEY",
    "clock",
    "configured_hooks",
    "configured_manager",
    "configured_metrics",
    "configured_policy",
    "configured_shape",
    "configured_store",
    "reset",
]
