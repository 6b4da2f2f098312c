"""Helpers shared by several integration test modules (not fixtures themselves)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

from sojourn import AsyncMemoryStore
from sojourn.stores.base import AsyncStore
from sojourn.stores.sqlite import AsyncSQLiteStore


@contextlib.contextmanager
def async_memory_store(tmp_path: Path) -> Iterator[AsyncStore]:
    yield AsyncMemoryStore()


@contextlib.contextmanager
def async_sqlite_store(tmp_path: Path) -> Iterator[AsyncStore]:
    store = AsyncSQLiteStore(tmp_path / "sessions.db")
    yield store
    asyncio.run(store.aclose())


ASYNC_STORES = {"memory": async_memory_store, "sqlite": async_sqlite_store}
"""Embedded async stores for framework tests driven by sync test clients."""


def django_users() -> None:
    """Create Django's tables and the test user once per module that needs them."""
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("migrate", verbosity=0, run_syncdb=True)
    if not User.objects.filter(username="alice").exists():
        User.objects.create_user("alice", password="secret-password")
