"""One store per process, whatever form ``SOJOURN_STORE`` takes, counted on the servers.

Each configuration (a factory, a class, a dotted path to either, a store object; with and without
``SOJOURN_STORE_OPTIONS``) serves several hundred requests through Django's test ``Client``.
The store's connections carry a unique client name (Redis ``CLIENT SETNAME``) or
``application_name`` (PostgreSQL), so the server's own view (``CLIENT LIST``,
``pg_stat_activity``) counts exactly this store's connections: none may be opened after the
first request, and a store built from settings is closed when the settings change.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import django
import pytest
from django.conf import settings

if not settings.configured:
    from . import django_settings

    settings.configure(
        **{name: getattr(django_settings, name) for name in dir(django_settings) if name.isupper()}
    )
    django.setup()

from django.test import Client, override_settings

from sojourn import MemoryStore
from sojourn._core.errors import ConfigurationError
from sojourn.django import configured_store
from sojourn.stores.base import Store
from sojourn.stores.postgres import PostgresStore
from sojourn.stores.redis import RedisStore

from .shared import django_users
from .stores import REDIS_URL

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
REQUESTS = 300
NAME = "unset"  # this test's connection name, read by the factories below
TABLE = "unset"


@pytest.fixture(scope="module", autouse=True)
def database() -> None:
    django_users()


# -- the forms a setting can take (module-level, so dotted paths reach them) ---------------------


def redis_factory(**options: Any) -> RedisStore:
    return RedisStore.from_url(REDIS_URL, client_name=NAME, prefix=f"{NAME}:", **options)


def postgres_factory(**options: Any) -> PostgresStore:
    return PostgresStore.from_url(f"{PG_URL}?application_name={NAME}", table=TABLE, **options)


class NamedRedisStore(RedisStore):
    """A store class whose constructor needs no arguments (the class form)."""

    def __init__(self, **options: Any) -> None:
        import redis

        client = redis.Redis.from_url(REDIS_URL, client_name=NAME, socket_timeout=2)
        super().__init__(client, prefix=f"{NAME}:", **options)
        self._owns_client = True


class NamedPostgresStore(PostgresStore):
    def __init__(self, **options: Any) -> None:
        built = PostgresStore.from_url(f"{PG_URL}?application_name={NAME}", table=TABLE)
        super().__init__(built._pool, table=TABLE, owns_pool=True, **options)


REDIS_OPTIONS = {"index_slack": 60.0}
PG_OPTIONS = {"create_schema": True}
HERE = __name__


def _forms(factory: Callable[..., Store], cls: type, options: dict[str, Any]) -> list[Any]:
    return [
        pytest.param(factory, None, id="factory"),
        pytest.param(factory, options, id="factory+options"),
        pytest.param(cls, None, id="class"),
        pytest.param(cls, options, id="class+options"),
        pytest.param(f"{HERE}.{factory.__name__}", None, id="path"),
        pytest.param(f"{HERE}.{cls.__name__}", options, id="path+options"),
        pytest.param("object", None, id="object"),
    ]


# -- counting on the server ------------------------------------------------------------------------


def redis_connections(name: str) -> int:
    import redis

    with redis.Redis.from_url(REDIS_URL) as admin:
        return sum(1 for client in admin.client_list() if client.get("name") == name)


def postgres_connections(name: str) -> int:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
        ).fetchone()
    return int(row[0]) if row else 0


def eventually(count: Callable[[], int], expected: int) -> int:
    """The count once it reaches ``expected`` (servers reap closed connections asynchronously)."""
    deadline = time.monotonic() + 3
    value = count()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        value = count()
    return value


def serve(requests: int) -> None:
    client = Client()
    assert client.get("/write?user=alice", secure=True).status_code == 200
    for i in range(requests - 1):
        if i % 2:
            client.get(f"/write?n={i}", secure=True)
        else:
            body = json.loads(client.get("/read", secure=True).content)
            assert body == {"user": "alice"}  # the same store on every request


def run(
    setting: Any,
    options: dict[str, Any] | None,
    factory: Callable[..., Store],
    count: Callable[[str], int],
) -> None:
    made = factory() if setting == "object" else None
    value = made if made is not None else setting
    overrides: dict[str, Any] = {"SOJOURN_STORE": value}
    if options is not None:
        overrides["SOJOURN_STORE_OPTIONS"] = dict(options)  # a fresh dict, as settings reloads
    try:
        with override_settings(**overrides):
            first = Client()
            first.get("/write?user=alice", secure=True)
            after_first = count(NAME)
            assert after_first >= 1
            store = configured_store()
            serve(REQUESTS)
            assert configured_store() is store
            assert count(NAME) <= after_first, "new connections after the first request"
        if made is None:  # built from settings: closed when they changed
            assert eventually(lambda: count(NAME), 0) == 0
    finally:
        if made is not None:
            made.close()


@pytest.mark.server
@pytest.mark.parametrize(
    ("setting", "options"), _forms(redis_factory, NamedRedisStore, REDIS_OPTIONS)
)
def test_redis_one_store_per_process(setting: Any, options: dict[str, Any] | None) -> None:
    global NAME
    NAME = f"sojourn-django-{secrets.token_hex(4)}"
    try:
        run(setting, options, redis_factory, redis_connections)
    finally:
        import redis

        with redis.Redis.from_url(REDIS_URL) as admin:
            for key in admin.scan_iter(match=f"{NAME}:*"):
                admin.delete(key)


@pytest.mark.server
@pytest.mark.parametrize(
    ("setting", "options"), _forms(postgres_factory, NamedPostgresStore, PG_OPTIONS)
)
def test_postgres_one_store_per_process(setting: Any, options: dict[str, Any] | None) -> None:
    from tests.conformance.test_postgres import drop, new_table

    global NAME, TABLE
    NAME = f"sojourn-django-{secrets.token_hex(4)}"
    TABLE = new_table()
    drop(TABLE)
    try:
        run(setting, options, postgres_factory, postgres_connections)
    finally:
        drop(TABLE)


def memory_factory() -> MemoryStore:
    return MemoryStore()


def test_a_memory_factory_keeps_every_session() -> None:
    # Before: a fresh MemoryStore on most requests, so every read after the first lost it.
    with override_settings(SOJOURN_STORE=memory_factory):
        serve(50)
    with override_settings(SOJOURN_STORE=f"{HERE}.memory_factory", SOJOURN_STORE_OPTIONS={}):
        serve(50)


def test_options_with_a_store_object_are_refused() -> None:
    with (
        override_settings(SOJOURN_STORE=MemoryStore(), SOJOURN_STORE_OPTIONS={"x": 1}),
        pytest.raises(ConfigurationError, match="SOJOURN_STORE_OPTIONS"),
    ):
        configured_store()


def test_an_async_store_is_refused() -> None:
    from sojourn import AsyncMemoryStore

    with (
        override_settings(SOJOURN_STORE=AsyncMemoryStore()),
        pytest.raises(ConfigurationError, match="sync store"),
    ):
        configured_store()


@pytest.fixture
def no_store() -> Iterator[None]:
    with override_settings(SOJOURN_STORE=None):
        yield


def test_a_missing_setting_names_the_fix(no_store: None) -> None:
    with pytest.raises(ConfigurationError, match="SOJOURN_STORE"):
        configured_store()
