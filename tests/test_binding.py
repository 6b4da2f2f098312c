"""Session binding through the manager, on real stores (SEC-62).

A session records its user-agent family and/or IP prefix at creation and login; every load
compares them with the request's. A session presented from elsewhere is deleted from the
store, the request gets a fresh anonymous session (whose commit clears the client's cookie),
and ``session.binding_mismatch`` is logged with the session's fingerprint, never its ID.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sojourn import (
    AsyncManager,
    AsyncMemoryStore,
    Binding,
    Changes,
    CookieSettings,
    CookieTransport,
    Engine,
    Manager,
    MemoryStore,
    fingerprint,
)
from sojourn._core.binding import BOUND_IP, BOUND_UA
from sojourn._core.events import BINDING, DESTROYED
from sojourn.binding import bind
from sojourn.stores.base import Store
from sojourn.stores.cookie import CookieStore
from sojourn.testing import FakeClock
from sojourn.testing._sync.events import Witness, assert_no_id

from .integrations.stores import (
    StoreFactory,
    available,
    postgres_store,
    record_of,
    store_params,
)

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
CHROME_NEXT = CHROME.replace("120.0", "121.0")
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
HOME = "203.0.113.9"
COOKIE = CookieSettings(name="sid", secure=False)


STORES = {**available(), "postgres": postgres_store}


@pytest.fixture(params=[*store_params(), pytest.param("postgres", marks=pytest.mark.server)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    factory: StoreFactory = STORES[request.param]
    with factory(tmp_path) as made:
        yield made


def manager(store: Store, binding: Binding | None, **options: object) -> Manager:
    engine = Engine(transport=CookieTransport(COOKIE), binding=binding)
    # The real clock: Redis keeps its own TTLs, and record_of reads at the present.
    return Manager(store, engine, **options)  # type: ignore[arg-type]


def created(m: Manager, user_agent: str | None = CHROME, ip: str | None = HOME) -> str:
    opened = m.open([], user_agent=user_agent, client_ip=ip)
    opened.session["cart"] = [1]
    outcome = m.commit(opened.session)
    assert outcome.session_id is not None
    return outcome.session_id


def cookie(session_id: str) -> list[tuple[str, str]]:
    return [("cookie", f"sid={session_id}")]


# -- the acceptance scenario -------------------------------------------------------------------


@pytest.mark.sec("SEC-62")
def test_a_bound_session_from_another_user_agent_family_ends(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    m = manager(store, bind(user_agent=True))
    session_id = created(m)
    with caplog.at_level(logging.WARNING, logger="sojourn.security"):
        opened = m.open(cookie(session_id), user_agent=FIREFOX, client_ip=HOME)
    assert opened.session.is_new
    assert "cart" not in opened.session
    assert record_of(store, session_id) is None  # ended at once, never adopted
    lines = [r.getMessage() for r in caplog.records if "binding_mismatch" in r.getMessage()]
    assert len(lines) == 1
    assert fingerprint(session_id) in lines[0]
    assert session_id not in caplog.text
    assert m.commit(opened.session).headers == ()  # its cookie names nothing any more
    # The thief's next try finds nothing either, and the owner's cookie is dead too.
    assert m.open(cookie(session_id), user_agent=CHROME, client_ip=HOME).session.is_new


def test_the_same_family_keeps_its_session_across_a_browser_update(store: Store) -> None:
    m = manager(store, bind(user_agent=True))
    session_id = created(m)
    opened = m.open(cookie(session_id), user_agent=CHROME_NEXT, client_ip="198.51.100.1")
    assert opened.session["cart"] == [1]
    assert record_of(store, session_id) is not None


def test_another_ipv4_prefix_ends_a_bound_session_and_the_same_slash_24_keeps_it(
    store: Store,
) -> None:
    m = manager(store, bind(ip=True))
    session_id = created(m, ip="203.0.113.9")
    assert m.open(cookie(session_id), client_ip="203.0.113.200").session["cart"] == [1]
    assert m.open(cookie(session_id), client_ip="203.0.114.9").session.is_new
    assert record_of(store, session_id) is None


def test_ipv6_prefixes_are_slash_56_by_default(store: Store) -> None:
    m = manager(store, bind(ip=True))
    session_id = created(m, ip="2001:db8:1234:5601::1")
    assert m.open(cookie(session_id), client_ip="2001:db8:1234:56ff::9").session["cart"] == [1]
    assert m.open(cookie(session_id), client_ip="2001:db8:1234:5700::1").session.is_new
    assert record_of(store, session_id) is None


def test_a_configured_prefix_length_is_used() -> None:
    store = MemoryStore()
    m = manager(store, bind(ip=True, ipv4_prefix=16))
    session_id = created(m, ip="203.0.113.9")
    assert m.open(cookie(session_id), client_ip="203.0.200.1").session["cart"] == [1]
    assert m.open(cookie(session_id), client_ip="203.1.113.9").session.is_new


def test_user_agent_and_ip_together_both_count() -> None:
    store = MemoryStore()
    m = manager(store, bind(user_agent=True, ip=True))
    first = created(m)
    assert m.open(cookie(first), user_agent=CHROME, client_ip="198.51.100.1").session.is_new
    second = created(m)
    assert m.open(cookie(second), user_agent=FIREFOX, client_ip=HOME).session.is_new
    third = created(m)
    assert m.open(cookie(third), user_agent=CHROME, client_ip=HOME).session["cart"] == [1]


# -- sessions from before binding, and clients without a user agent ---------------------------


def test_a_session_made_before_binding_was_turned_on_is_ended(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    session_id = created(manager(store, None))  # no marks
    m = manager(store, bind(user_agent=True))
    with caplog.at_level(logging.WARNING, logger="sojourn.security"):
        opened = m.open(cookie(session_id), user_agent=CHROME, client_ip=HOME)
    assert opened.session.is_new
    assert record_of(store, session_id) is None
    assert "made before binding was on" in caplog.text


def test_a_client_without_a_user_agent_is_bound_to_having_none() -> None:
    store = MemoryStore()
    m = manager(store, bind(user_agent=True))
    bare = created(m, user_agent=None)
    assert m.open(cookie(bare), user_agent=None, client_ip=HOME).session["cart"] == [1]
    assert m.open(cookie(bare), user_agent=CHROME, client_ip=HOME).session.is_new
    dressed = created(m, user_agent=CHROME)
    assert m.open(cookie(dressed), user_agent=None, client_ip=HOME).session.is_new  # stripping it
    assert m.open(cookie(dressed), user_agent="", client_ip=HOME).session.is_new is True


def test_a_login_binds_the_session_to_the_client_that_logged_in() -> None:
    store = MemoryStore()
    m = manager(store, bind(ip=True))
    opened = m.open([], client_ip=HOME)
    opened.session.login("alice")
    outcome = m.commit(opened.session)
    assert outcome.session_id is not None
    record = record_of(store, outcome.session_id)
    assert record is not None
    assert record.meta[BOUND_IP] == "203.0.113.0/24"
    assert record.principal == "alice"


# -- what binding must not cost or show --------------------------------------------------------


def test_binding_off_adds_no_store_call_or_header_to_translate() -> None:
    off = manager(MemoryStore(), None)
    assert off.open_at_once([]) is not None  # no coroutine, no metadata built
    assert off.request_headers == frozenset({"cookie"})
    assert off.request_meta(CHROME, HOME) is None
    on = manager(MemoryStore(), bind(user_agent=True))
    assert on.open_at_once([]) is None  # a new session needs its marks
    assert on.request_headers == frozenset({"cookie", "user-agent"})
    only_ip = manager(MemoryStore(), bind(ip=True))
    assert only_ip.request_headers == frozenset({"cookie"})


def test_marks_are_never_shown_as_user_metadata() -> None:
    store = MemoryStore()
    m = manager(store, bind(user_agent=True, ip=True), track_metadata=True)
    opened = m.open([], user_agent=CHROME, client_ip=HOME)
    opened.session.login("alice")
    outcome = m.commit(opened.session)
    assert outcome.session_id is not None
    record = record_of(store, outcome.session_id)
    assert record is not None
    assert {BOUND_UA, BOUND_IP} <= set(record.meta)
    assert opened.session.meta == {"user_agent": CHROME, "ip": HOME}
    (info,) = m.sessions_of("alice")
    assert info.meta == {"user_agent": CHROME, "ip": HOME}


def test_a_websocket_presenting_a_bound_session_from_elsewhere_ends_it_too() -> None:
    store = MemoryStore()
    m = manager(store, bind(user_agent=True))
    session_id = created(m)
    opened = m.open(cookie(session_id), user_agent=FIREFOX, client_ip=HOME, read_only=True)
    assert opened.session.is_new
    assert record_of(store, session_id) is None


def test_of_several_cookies_one_bound_elsewhere_is_ended_and_the_other_opens() -> None:
    store = MemoryStore()
    m = manager(store, bind(ip=True))
    elsewhere = created(m, ip="198.51.100.1")
    mine = created(m)
    headers = [("cookie", f"sid={elsewhere}; sid={mine}")]
    assert m.open(headers, client_ip=HOME).session["cart"] == [1]
    assert record_of(store, elsewhere) is None


def test_a_sealed_session_bound_elsewhere_opens_nothing() -> None:
    m = Manager(
        CookieStore([secrets.token_bytes(32)]),
        Engine(transport=CookieTransport(COOKIE), binding=bind(user_agent=True)),
    )
    opened = m.open([], user_agent=CHROME)
    opened.session["cart"] = [1]
    (_, value), *_ = m.commit(opened.session).headers
    token = value.split(";", 1)[0].removeprefix("sid=")
    same = m.open(cookie(token), user_agent=CHROME_NEXT)
    assert same.session["cart"] == [1]
    assert m.open(cookie(token), user_agent=FIREFOX).session.is_new


# -- the async manager (the source the sync one is generated from) ----------------------------


@pytest.mark.anyio
async def test_the_async_manager_ends_a_session_bound_elsewhere() -> None:
    store = AsyncMemoryStore()
    engine = Engine(transport=CookieTransport(COOKIE), binding=bind(user_agent=True, ip=True))
    m = AsyncManager(store, engine, clock=FakeClock(1_000_000.0))
    opened = await m.open([], user_agent=CHROME, client_ip=HOME)
    opened.session["cart"] = [1]
    session_id = (await m.commit(opened.session)).session_id
    assert session_id is not None
    kept = await m.open(cookie(session_id), user_agent=CHROME, client_ip="203.0.113.1")
    assert kept.session["cart"] == [1]
    ended = await m.open(cookie(session_id), user_agent=FIREFOX, client_ip=HOME)
    assert ended.session.is_new
    assert await store.load(m.engine.key_of(kept.session) or "", 1_000_000.0) is None


# -- lifecycle events ----------------------------------------------------------------------------


def test_a_mismatch_fires_one_destroyed_binding_event(store: Store) -> None:
    witness = Witness()
    engine = Engine(transport=CookieTransport(COOKIE), binding=bind(user_agent=True))
    m = Manager(store, engine, hooks=[witness])
    opened = m.open([], user_agent=CHROME, client_ip=HOME)
    opened.session.login("alice")
    session_id = m.commit(opened.session).session_id
    assert session_id is not None
    witness.events.clear()
    assert m.open(cookie(session_id), user_agent=FIREFOX, client_ip=HOME).session.is_new
    assert m.open(cookie(session_id), user_agent=FIREFOX, client_ip=HOME).session.is_new
    event = witness.only()  # the second request found nothing left to end
    assert (event.kind, event.reason, event.principal) == (DESTROYED, BINDING, "alice")
    assert BOUND_UA not in event.meta  # reserved entries are not the user's metadata
    assert event.fingerprint == fingerprint(session_id)
    assert_no_id(event, session_id)


def test_requests_from_elsewhere_at_once_end_the_session_once(store: Store) -> None:
    witness = Witness()
    engine = Engine(transport=CookieTransport(COOKIE), binding=bind(ip=True))
    m = Manager(store, engine, hooks=[witness])
    session_id = created(m)
    witness.events.clear()
    with ThreadPoolExecutor(8) as pool:
        fresh = list(
            pool.map(
                lambda i: m.open(cookie(session_id), client_ip=f"198.51.{i}.1").session.is_new,
                range(8),
            )
        )
    adopted = fresh.count(False)
    destroyed = [e for e in witness.events if e.kind == DESTROYED]
    assert adopted == 0
    assert len(destroyed) == 1
    assert record_of(store, session_id) is None


def test_metrics_count_a_binding_mismatch_as_a_destroyed_session() -> None:
    from prometheus_client import CollectorRegistry

    from sojourn.metrics.prometheus import PrometheusMetrics

    registry = CollectorRegistry()
    engine = Engine(transport=CookieTransport(COOKIE), binding=bind(user_agent=True))
    m = Manager(MemoryStore(), engine, metrics=PrometheusMetrics(registry))
    session_id = created(m)
    assert m.open(cookie(session_id), user_agent=FIREFOX, client_ip=HOME).session.is_new
    found = registry.get_sample_value("sojourn_sessions_destroyed_total", {"reason": "binding"})
    assert found == 1.0


def test_a_records_own_reserved_entries_survive_a_login_under_binding() -> None:
    """Reserved entries (another feature's, a rotation's) travel with the session; the
    request's metadata replaces only the entries it brings."""
    store = MemoryStore()
    m = manager(store, bind(ip=True))
    session_id = created(m)
    key = m.engine.key_of(m.open(cookie(session_id), client_ip=HOME).session)
    assert key is not None
    record = store.load(key, time.time())
    assert record is not None
    changed = Changes(time.time(), record.expires_at, meta={**record.meta, "_other": "kept"})
    assert store.apply(key, changed)
    opened = m.open(cookie(session_id), client_ip=HOME)
    opened.session.login("alice")
    issued = m.commit(opened.session).session_id
    assert issued is not None
    after = record_of(store, issued)
    assert after is not None
    assert after.meta["_other"] == "kept"
    assert after.meta[BOUND_IP] == "203.0.113.0/24"
