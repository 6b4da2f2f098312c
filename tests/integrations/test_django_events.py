"""Lifecycle events through the Django engine: ``SOJOURN_HOOKS``, and a hook that raises.

Django is configured as in :mod:`tests.integrations.test_django`; each test points
``SOJOURN_STORE`` at a fresh store and ``SOJOURN_HOOKS`` at its hooks with ``override_settings``
(the manager is rebuilt when a ``SOJOURN_*`` setting changes).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path

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

from sojourn import ConfigurationError, SessionEvent, fingerprint
from sojourn._integrations.django_config import configured_manager
from sojourn.stores.base import Store
from sojourn.testing._sync.events import Witness

from .shared import django_users
from .stores import available, record_of, store_params

COOKIE = "sessionid"
WITNESS = Witness()


def broken(event: SessionEvent) -> None:
    raise RuntimeError("a hook with a bug")


async def not_for_sync(event: SessionEvent) -> None:
    """An async hook: Django's session engine is sync and must refuse it."""


@contextlib.contextmanager
def configured(name: str, tmp_path: Path, hooks: object) -> Iterator[Store]:
    """The store named ``name`` as ``SOJOURN_STORE``, with ``hooks`` as ``SOJOURN_HOOKS``."""
    django_users()
    with (
        available()[name](tmp_path) as store,
        override_settings(SOJOURN_STORE=store, SOJOURN_HOOKS=hooks),
    ):
        yield store


def cookie_of(client: Client) -> str | None:
    morsel = client.cookies.get(COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


@pytest.mark.parametrize("name", store_params())
def test_a_raising_hook_leaves_the_django_response_intact(
    name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    WITNESS.events.clear()
    hooks = [broken, "tests.integrations.test_django_events.WITNESS"]  # a callable, a path
    with configured(name, tmp_path, hooks) as store, caplog.at_level(logging.ERROR, "sojourn"):
        client = Client()
        written = client.get("/write?user=gil", secure=True)
        assert (written.status_code, written.content) == (200, b"ok")
        first = cookie_of(client)
        assert first is not None
        assert record_of(store, first) is not None
        login = client.get("/login?user=alice", secure=True)
        assert login.status_code == 200
        second = cookie_of(client)
        assert second is not None
        assert second != first
        assert json.loads(client.get("/whoami", secure=True).content) == {"user": "alice"}
        logout = client.get("/logout", secure=True)
        assert logout.status_code == 200
        assert record_of(store, second) is None
    events = WITNESS.events
    # Django's auth.login cycles the key, then records the user: two rotations in the store.
    assert [(e.kind, e.reason) for e in events] == [
        ("created", None),
        ("rotated", "regenerate"),
        ("rotated", "login"),
        ("destroyed", "logout"),
    ]
    created, cycled, logged_in, destroyed = events
    assert created.fingerprint == fingerprint(first)
    assert cycled.fingerprint == fingerprint(first)
    assert logged_in.fingerprint == cycled.successor
    assert logged_in.successor == fingerprint(second)
    assert logged_in.principal is not None
    assert (destroyed.fingerprint, destroyed.principal) == (
        fingerprint(second),
        logged_in.principal,
    )
    failures = [r.getMessage() for r in caplog.records if "session.hook_failed" in r.message]
    assert len(failures) == 4
    assert all("RuntimeError" in f for f in failures)


def test_sojourn_hooks_refuses_an_async_hook(tmp_path: Path) -> None:
    refused = pytest.raises(ConfigurationError, match="not_for_sync is async")
    with configured("memory", tmp_path, [not_for_sync]), refused:
        configured_manager()


def test_sojourn_hooks_must_be_a_list(tmp_path: Path) -> None:
    refused = pytest.raises(ConfigurationError, match="SOJOURN_HOOKS must be a list")
    with configured("memory", tmp_path, "tests.integrations.test_django_events.WITNESS"), refused:
        configured_manager()
