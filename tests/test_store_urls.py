"""open_store / open_sync_store: URL forms, lazy dispatch and clear errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import ClassVar

import pytest

from sojourn import AsyncMemoryStore, ConfigurationError, MemoryStore
from sojourn.stores.urls import open_store, open_sync_store, redact, sqlite_path


@pytest.mark.parametrize("url", ["memory://", "memory:///", "MEMORY://"])
def test_memory_urls(url: str) -> None:
    assert isinstance(open_store(url), AsyncMemoryStore)
    assert isinstance(open_sync_store(url), MemoryStore)


def test_memory_url_takes_nothing_else() -> None:
    with pytest.raises(ConfigurationError):
        open_store("memory://somewhere")


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///sessions.db", "sessions.db"),
        ("sqlite:///var/sessions.db", "var/sessions.db"),
        ("sqlite:////abs/path.db", "/abs/path.db"),
        ("sqlite:////tmp/with%20space.db", "/tmp/with space.db"),
    ],
)
def test_sqlite_paths(url: str, path: str) -> None:
    assert sqlite_path(url) == path


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///", "sqlite://host/x.db", "sqlite:///x.db?mode=ro", "sqlite:///d/"],
)
def test_malformed_sqlite_urls(url: str) -> None:
    with pytest.raises(ConfigurationError):
        sqlite_path(url)


@pytest.mark.anyio
async def test_sqlite_store_opens_the_file(tmp_path: Path) -> None:
    from sojourn.stores.sqlite import AsyncSQLiteStore, SQLiteStore

    store = open_store(f"sqlite:///{tmp_path}/a.db")
    assert isinstance(store, AsyncSQLiteStore)
    await store.delete("0" * 64)  # first use creates the file
    await store.aclose()
    assert (tmp_path / "a.db").exists()
    sync = open_sync_store(f"sqlite:///{tmp_path}/b.db")
    assert isinstance(sync, SQLiteStore)
    sync.close()


@pytest.mark.parametrize(
    "url", ["ftp://x", "sessions.db", "", "file:///tmp/x.db", "http://redis:6379"]
)
def test_unknown_schemes_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError):
        open_store(url)
    with pytest.raises(ConfigurationError):
        open_sync_store(url)


@pytest.mark.sec("SEC-55")
def test_errors_never_echo_the_url() -> None:
    with pytest.raises(ConfigurationError) as caught:
        open_store("bogus://user:hunter2@host/db")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [
        ("redis://127.0.0.1:6379/0", "sojourn.stores.redis", "redis"),
        ("postgresql://postgres@127.0.0.1/test", "sojourn.stores.postgres", "postgres"),
        ("mysql://root@127.0.0.1/test", "sojourn.stores.mysql", "mysql"),
    ],
)
def test_a_missing_store_module_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, url: str, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes the import fail
    with pytest.raises(ConfigurationError, match=rf"pip install 'sojourn\[{extra}\]'"):
        open_store(url)


class _FakeStore:
    """Stands in for a server store class, to see what ``from_url`` receives."""

    opened: ClassVar[list[str]] = []

    @classmethod
    def from_url(cls, url: str) -> _FakeStore:
        cls.opened.append(url)
        return cls()


@pytest.mark.parametrize(
    ("url", "module", "async_name", "sync_name"),
    [
        ("redis://127.0.0.1:6379/0", "sojourn.stores.redis", "AsyncRedisStore", "RedisStore"),
        ("rediss://h/1", "sojourn.stores.redis", "AsyncRedisStore", "RedisStore"),
        ("postgresql://p@h/t", "sojourn.stores.postgres", "AsyncPostgresStore", "PostgresStore"),
        ("postgres://p@h/t", "sojourn.stores.postgres", "AsyncPostgresStore", "PostgresStore"),
        ("mysql://root@h/test", "sojourn.stores.mysql", "AsyncMySQLStore", "MySQLStore"),
    ],
)
def test_server_urls_go_whole_to_from_url(
    monkeypatch: pytest.MonkeyPatch, url: str, module: str, async_name: str, sync_name: str
) -> None:
    fake = type(sys)(module)
    setattr(fake, async_name, type(async_name, (_FakeStore,), {"opened": []}))
    setattr(fake, sync_name, type(sync_name, (_FakeStore,), {"opened": []}))
    monkeypatch.setitem(sys.modules, module, fake)
    assert type(open_store(url)).__name__ == async_name
    assert type(open_sync_store(url)).__name__ == sync_name
    assert getattr(fake, async_name).opened == [url]
    assert getattr(fake, sync_name).opened == [url]


def test_a_store_class_without_from_url_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = type(sys)("sojourn.stores.redis")
    fake.AsyncRedisStore = type("AsyncRedisStore", (), {})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sojourn.stores.redis", fake)
    with pytest.raises(ConfigurationError, match="from a URL"):
        open_store("redis://h")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:secret@h:6379/0", "redis://:***@h:6379/0"),
        ("postgresql://u:secret@h/db", "postgresql://u:***@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
        ("mysql://root@h/test", "mysql://root@h/test"),
    ],
)
@pytest.mark.sec("SEC-55")
def test_redact_hides_passwords(url: str, shown: str) -> None:
    assert redact(url) == shown
