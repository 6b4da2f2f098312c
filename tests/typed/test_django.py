"""Typed sessions under Django: ``SOJOURN_SHAPE`` and ``SOJOURN_MIGRATE`` (classes, functions
or dotted paths). A record of an old shape is a fresh session with a log line, never a 500."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import django
import pytest
from django.conf import settings

if not settings.configured:
    from ..integrations import django_settings

    settings.configure(
        **{name: getattr(django_settings, name) for name in dir(django_settings) if name.isupper()}
    )
    django.setup()

from django.test import Client, override_settings

from sojourn import ConfigurationError, MemoryStore
from sojourn._integrations.django_config import configured_manager
from sojourn.typed import ShapeError

from .django_shapes import Visitor

COOKIE = "sessionid"


@pytest.fixture
def store() -> Iterator[MemoryStore]:
    made = MemoryStore()
    with override_settings(SOJOURN_STORE=made):
        yield made


def stored_by_old_code() -> str:
    client = Client()
    client.get("/write?user=alice", secure=True)  # before the deploy: a name
    value: str = client.cookies[COOKIE].value
    return value


def test_an_old_shape_is_a_fresh_session_with_a_log_line(
    store: MemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    session_id = stored_by_old_code()
    with override_settings(SOJOURN_SHAPE=Visitor):
        client = Client()
        client.cookies[COOKIE] = session_id
        with caplog.at_level(logging.WARNING, logger="sojourn.security"):
            response = client.get("/read", secure=True)
    assert response.status_code == 200
    assert response.json() == {"user": None}
    lines = [r.getMessage() for r in caplog.records if "shape_mismatch" in r.getMessage()]
    assert len(lines) == 1
    assert "Visitor" in lines[0]
    assert session_id not in lines[0]


def test_migrate_by_dotted_path(store: MemoryStore) -> None:
    session_id = stored_by_old_code()
    with override_settings(
        SOJOURN_SHAPE="tests.typed.django_shapes.Visitor",
        SOJOURN_MIGRATE="tests.typed.django_shapes.migrate",
    ):
        client = Client()
        client.cookies[COOKIE] = session_id
        response = client.get("/read", secure=True)
        assert response.json() == {"user": 5}
        assert client.get("/read", secure=True).json() == {"user": 5}


def test_a_wrong_typed_write_raises_a_clear_error(store: MemoryStore) -> None:
    with override_settings(SOJOURN_SHAPE=Visitor):
        client = Client(raise_request_exception=True)
        with pytest.raises(ShapeError, match=r"'user' must be int \(Visitor\)"):
            client.get("/write?user=alice", secure=True)


def test_migrate_without_a_shape_is_refused(store: MemoryStore) -> None:
    with (
        override_settings(SOJOURN_MIGRATE="tests.typed.django_shapes.migrate"),
        pytest.raises(ConfigurationError, match="needs a SOJOURN_SHAPE"),
    ):
        configured_manager()


def test_no_shape_is_untyped(store: MemoryStore) -> None:
    assert configured_manager().engine.shape is None
