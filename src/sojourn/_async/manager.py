"""The async manager: runs the engine's plans against an async store.

This is the only code of its flavour that talks to a store on a request's behalf; it stays
short so that the twins (the async source and the sync file generated from it) are obviously
the same. Store failures become :class:`StoreUnavailable`; corrupt records are logged and
treated as no session.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from logging import INFO
from typing import Literal, ParamSpec, TypeVar

from .._core.binding import Binding
from .._core.client_side import (
    cookie_context,
    finish_sealed,
    open_unsealed,
    plan_sealed,
    sealed_candidates,
)
from .._core.errors import (
    ConfigurationError,
    CorruptSession,
    SessionEnded,
    SessionError,
    SessionExists,
    SessionGone,
    SessionRotated,
    StoreUnavailable,
    TooManySessions,
)
from .._core.events import (
    BINDING,
    CORRUPT,
    DESTROYED,
    EVICTED,
    EXPIRED,
    LOGOUT,
    PURGED,
    REVOKED,
    REVOKED_ALL,
    SEEN_ON_LOAD,
    AsyncEventHook,
    SessionEvent,
)
from .._core.ids import fingerprint_of_key, marker_key
from .._core.lifecycle import events_of, log_event, of_record, of_records
from .._core.markers import is_marker
from .._core.observe import AMBIGUOUS_COOKIE, CORRUPT_RECORD, AnomalyKind, Observer
from .._core.opening import Opened, Outcome, metadata
from .._core.plan import (
    ROTATED_BY_LOGIN,
    Apply,
    Commit,
    Create,
    Delete,
    Engine,
    Mark,
    Rename,
)
from .._core.session import Session, SessionInfo
from .._core.timing import user_meta
from .._core.transport import Headers, reads
from .._hooks import check_hooks, hook_name
from ..stores._diagnose import cause
from ..stores.base import (
    AsyncStore,
    AsyncSupportsPrincipals,
    AsyncSupportsPurge,
    AsyncSupportsSessionCap,
    AsyncSupportsTake,
    AsyncSupportsTakeExpired,
    ClientSideStore,
    Record,
)
from ..stores.observed import AsyncObservedStore

logger = logging.getLogger("sojourn.security")
store_logger = logging.getLogger("sojourn")  # where the adapters have always logged outages

CREATE_ATTEMPTS = 3
REJOINED: Literal["rejoined"] = "rejoined"

DRIVER_FAILURES = (OSError, TimeoutError)
"""Errors from a store's driver that mean it cannot be reached, not a bug."""


def store_failed(exc: BaseException) -> StoreUnavailable:
    """The one translation of a driver failure into :class:`StoreUnavailable`.

    The message carries the cause (its type and scrubbed message, see
    :func:`~sojourn.stores._diagnose.cause`), so the log line that reports it says why.
    """
    return StoreUnavailable(f"session store failed: {cause(exc)}")


_MISMATCHES = {
    "user_agent": "from another user-agent family",
    "ip": "from another IP prefix",
    "unbound": "without the binding it needs (made before binding was on)",
}


def _anomaly(metrics: Observer, kind: AnomalyKind) -> None:
    """Tell the metrics observer; one that raises is logged, and fails no request."""
    try:
        metrics.record_anomaly(kind)
    except Exception as exc:
        store_logger.error(
            "session.metrics_failed: the metrics observer raised %s on %s", type(exc).__name__, kind
        )


P = ParamSpec("P")
T = TypeVar("T")


class AsyncManager:
    """Loads and commits sessions for one application against an async store.

    Args:
        store: where sessions live; a :class:`~sojourn.stores.base.ClientSideStore` (such as
            ``CookieStore``) keeps them sealed in the cookie instead.
        engine: the configured core (timeouts, transport, limits); defaults are secure.
        clock: returns the current time in epoch seconds; tests inject a fake one.
        on_store_error: ``"fail"`` or ``"anonymous"`` (what adapters do when the store is down).
        track_metadata: record user agent and client IP for "your devices" pages.
            With the engine's ``binding``, the same two reach the manager whatever this says.
        on_lost_write: ``"conflict"`` (default): a commit whose changes did not land raises
            :class:`SessionGone`; ``"ignore"``: it is logged and the outcome says ``gone``.
        hooks: callables given each :class:`~sojourn.SessionEvent` (created, rotated,
            destroyed, expired) once the store confirmed the transition, in order, inline:
            the request waits for them (the async manager also awaits what a hook
            returns; the sync one takes plain functions only). A hook that raises is logged
            (``session.hook_failed``) and never fails the request or stops the other hooks.
            See ``docs/events.md``.
        metrics: an observer (:mod:`sojourn.metrics`) told of every store call, timed, of
            corrupt records and ambiguous cookies, and (as one more hook) of lifecycle
            events. ``None`` (default): the store is called directly, nothing is measured.
    """

    def __init__(
        self,
        store: AsyncStore | ClientSideStore,
        engine: Engine | None = None,
        *,
        clock: Callable[[], float] = time.time,
        on_store_error: str = "fail",
        track_metadata: bool = False,
        on_lost_write: str = "conflict",
        hooks: Sequence[AsyncEventHook] = (),
        metrics: Observer | None = None,
    ) -> None:
        if on_store_error not in ("fail", "anonymous"):
            raise ConfigurationError("on_store_error must be 'fail' or 'anonymous'")
        if on_lost_write not in ("conflict", "ignore"):
            raise ConfigurationError("on_lost_write must be 'conflict' or 'ignore'")
        if metrics is not None and not isinstance(metrics, Observer):
            raise ConfigurationError(
                "metrics must be an observer, such as sojourn.metrics.prometheus.PrometheusMetrics"
            )
        # "ignore": a lost write is only logged and the outcome says gone; no SessionGone.
        self._raise_lost = on_lost_write == "conflict"
        self.store = store
        self.engine = engine or Engine()
        self.clock = clock
        self.on_store_error = on_store_error
        self.track_metadata = track_metadata
        # Binding (SEC-62), decided once: None costs the request path one attribute test.
        self._binding: Binding | None = self.engine.binding
        self.needs_client = track_metadata or self._binding is not None
        """Whether :meth:`open` needs the request's user agent and client address."""
        # What an adapter must translate from a request, decided once: only the headers the
        # transport reads (and the user agent when it is tracked or bound), and the query
        # string only for a query transport. ``None``: every header.
        names, self.reads_query = reads(self.engine.transport)
        binding = self._binding
        by_agent = binding is not None and binding.user_agent_family is not None
        if names is not None and (track_metadata or by_agent):
            names = names | {"user-agent"}
        self.request_headers: frozenset[str] | None = names
        self._fail = on_store_error == "fail"
        # Periodic rotation's grace window: a load that misses looks for a successor marker.
        self._forwarding = self.engine.policy.rotate_every is not None
        # Decided once: isinstance against a runtime protocol costs ~10 µs, too much per request.
        self._sealed: ClientSideStore | None = None
        self._server_store: AsyncStore | None = None
        self._cookie_name = ""  # what sealed tokens are bound to
        self.metrics = metrics
        # What the manager calls: the store itself, or, with metrics, the store seen through
        # the observer (a sealed cookie does no I/O, so it is not wrapped).
        self._store: AsyncStore | ClientSideStore = store
        if isinstance(store, ClientSideStore):
            # Refuse a header or query transport now, not per request.
            self._cookie_name = cookie_context(self.engine)
            self._sealed = store
        else:
            server = store if metrics is None else AsyncObservedStore(store, metrics)
            self._server_store = self._store = server
        # The cap on sessions per user is the store's to enforce, with each login: refuse a
        # store that cannot, now rather than at the first login.
        self._cap_store: AsyncSupportsSessionCap | None = None
        if self.engine.max_sessions_per_user is not None:
            capping: object = self._server_store  # a sealed cookie: None, which cannot
            if not (
                isinstance(capping, AsyncSupportsSessionCap)
                and getattr(capping, "supports_session_cap", True)
            ):
                raise ConfigurationError(
                    f"max_sessions_per_user needs a store that keeps a principal index and "
                    f"can cap it; {type(store).__name__} cannot"
                )
            self._cap_store = capping
        # Lifecycle events, decided once: without hooks no event is built and no store call
        # is added (the expired record a load missed is asked for only when someone listens).
        self.hooks: tuple[AsyncEventHook, ...] = tuple(hooks)
        check_hooks(self.hooks, awaits=True)  # unasync: check_hooks(self.hooks, awaits=False)
        if metrics is not None:  # the lifecycle counters: the observer listens as a hook
            self.hooks += (metrics.record_event,)
            metrics.watch(store)
        self._take_expired = (
            self._store.take_expired
            if self.hooks and isinstance(self._store, AsyncSupportsTakeExpired)
            else None
        )
        # With hooks, a delete that can say what it removed: one ``destroyed`` per session,
        # however many requests end it at once.
        self._take = (
            self._store.take if self.hooks and isinstance(self._store, AsyncSupportsTake) else None
        )

    def open_at_once(
        self, headers: Headers, query: str = "", *, read_only: bool = False
    ) -> Session | None:
        """The request's session when opening it needs no store: the request carries nothing
        the transport reads (so no ID) and sessions live on a server store; serve it and commit
        it as one :meth:`open` returned. ``None``: call :meth:`open`. Sync, so an adapter
        spends no coroutine on a request without a session; the caller passes what it would
        pass to :meth:`open` (tracked metadata excepted: ``None`` whenever the manager tracks
        it).
        """
        if headers or query or self._sealed is not None or self.needs_client:
            return None
        return self.engine.new(self.clock(), read_only=read_only)

    def commit_at_once(self, session: Session, *, final: bool = True) -> Outcome | None:
        """The outcome of committing ``session`` when that needs no store call (untouched, a
        read, a new session left empty; see :meth:`Engine.settled`). ``None``: call
        :meth:`commit`, which plans and runs it. Sync, as :meth:`open_at_once`.
        """
        if self._sealed is not None:
            return None
        return self.engine.settle(session, self.clock(), final=final)

    async def open(
        self,
        headers: Headers,
        query: str = "",
        *,
        user_agent: str | None = None,
        client_ip: str | None = None,
        read_only: bool = False,
    ) -> Opened:
        """The session for a request, from what the request carries: the one way in.

        Args:
            headers: the request headers as ``(lower-case name, value)`` pairs (a cookie
                transport reads only ``cookie``).
            query: the raw query string (only a query transport reads it).
            user_agent: the ``User-Agent``, used only with ``track_metadata`` or a binding.
            client_ip: the client address, used only with ``track_metadata`` or a binding.
            read_only: the connection cannot save (WebSockets).

        Returns:
            The session, and what to do: serve, serve without saving, or refuse with the 503
            answer of :mod:`sojourn._core.opening` when the store is down.
        """
        # A request with nothing the transport reads carries no ID: nothing to extract.
        presented = tuple(self.engine.transport.extract(headers, query)) if headers or query else ()
        meta = self.request_meta(user_agent, client_ip) if self.needs_client else None
        if not presented and self._sealed is None:  # no ID: no store call, nothing can fail
            return Opened(self.engine.new(self.clock(), read_only=read_only, meta=meta))
        try:
            session = await self.load(presented, read_only=read_only, meta=meta)
        except StoreUnavailable as exc:
            store_logger.error(
                "session.store_error: the session store is unavailable on load: %s", cause(exc)
            )
            fresh = self.engine.new(self.clock(), read_only=read_only, meta=meta)
            return Opened(fresh, presented, refuse=self._fail, save=False)
        return Opened(session, presented)

    def request_meta(self, user_agent: str | None, client_ip: str | None) -> dict[str, str] | None:
        """The metadata a request's session is opened with (pass it to :meth:`load`): the
        tracked user agent and IP with ``track_metadata``, and the binding's marks; ``None``
        when the manager needs neither."""
        if not self.needs_client:
            return None
        meta = metadata(user_agent, client_ip) if self.track_metadata else {}
        if self._binding is not None:
            meta.update(self._binding.marks(user_agent, client_ip))
        return meta

    async def load(
        self,
        raw_ids: Sequence[str],
        *,
        read_only: bool = False,
        meta: Mapping[str, str] | None = None,
    ) -> Session:
        """The session for a request that presented ``raw_ids`` (from the transport).

        No store call happens when no candidate is a well-formed ID. Several live candidates
        (cookie tossing) give no session at all. With a binding, a session bound elsewhere
        than ``meta`` (from :meth:`request_meta`) says is ended: deleted now, and the request
        gets a fresh one.

        Raises:
            StoreUnavailable: the store is down.
        """
        now = self.clock()
        if self._sealed is not None:
            unseal, name = self._sealed.unseal, self._cookie_name
            unsealed = [unseal(token, name, now) for token in sealed_candidates(raw_ids)]
            if self._binding is not None:  # a token bound elsewhere opens nothing
                unsealed = [
                    None if u is None or self._bound_elsewhere(u.record, meta) else u
                    for u in unsealed
                ]
            if unsealed and not any(unsealed):
                logger.info(
                    "session.bad_token: %d sealed token(s) did not open "
                    "(forged, damaged, expired or revoked)",
                    len(unsealed),
                )
            return open_unsealed(self.engine, unsealed, now, read_only=read_only, meta=meta)
        engine = self.engine
        candidates = engine.candidates(raw_ids)
        if not candidates:
            return engine.new(now, read_only=read_only, meta=meta)
        load = self._server().load
        renewal = engine.renewal(now)
        live: list[tuple[str, Record]] = []
        corrupt: list[str] = []
        for session_id, key in candidates:
            try:
                record = await load(key, now, renewal)
            except CorruptSession:
                logger.warning("session.corrupt: session %s", fingerprint_of_key(key))
                if self.metrics is not None:
                    _anomaly(self.metrics, CORRUPT_RECORD)
                corrupt.append(key)
                continue
            except SessionError:
                raise
            except DRIVER_FAILURES as exc:
                raise store_failed(exc) from exc
            if record is None and self._forwarding:
                record = await self._through_marker(key, now)
                if record is not None and self._binding is not None:
                    record = await self._keep_bound(record, meta, now)
                if record is not None:
                    session = engine.open(session_id, record, now, read_only=read_only, meta=meta)
                    if not session.is_new:
                        engine.follow_marker(session)
                    return session
            if record is not None and self._binding is not None:
                record = await self._keep_bound(record, meta, now)
                if record is None and len(candidates) == 1:
                    return engine.new(now, read_only=read_only, meta=meta)
            if record is None and self._take_expired is not None:
                await self._expired_on_load(key, now)
            if record is not None:
                if len(candidates) == 1:  # the usual request: one cookie, live
                    return engine.open(session_id, record, now, read_only=read_only, meta=meta)
                live.append((session_id, record))
        ambiguous = len(live) > 1
        if ambiguous:
            logger.warning(
                "session.ambiguous_cookie: %d live session IDs in one request", len(live)
            )
            if self.metrics is not None:
                _anomaly(self.metrics, AMBIGUOUS_COOKIE)
            live = []
        if live:
            session = self.engine.open(*live[0], now, read_only=read_only, meta=meta)
        else:
            session = self.engine.new(now, read_only=read_only, meta=meta)
            if len(candidates) == 1 and not corrupt:
                self.engine.missed(session, candidates[0][1])
            if not corrupt and not ambiguous:
                logger.info(
                    "session.unknown_id: no live session for %d presented ID(s) "
                    "(unknown, expired or ended)",
                    len(candidates),
                )
        if corrupt and not live and not read_only:
            self.engine.discard(session, corrupt[0])
        return session

    def _bound_elsewhere(self, record: Record, meta: Mapping[str, str] | None) -> bool:
        """True (and logged) if ``record`` is bound to another client than ``meta`` names."""
        binding = self._binding
        found = None if binding is None else binding.mismatch(record.meta, meta or {})
        if found is None:
            return False
        logger.warning(
            "session.binding_mismatch: session %s presented %s; it is ended",
            fingerprint_of_key(record.key),
            _MISMATCHES[found],
        )
        return True

    async def _keep_bound(
        self, record: Record, meta: Mapping[str, str] | None, now: float
    ) -> Record | None:
        """``record``, or ``None`` when it is bound elsewhere: then it is deleted at once,
        whatever becomes of the request (a WebSocket, a 5xx), and never adopted (SEC-62).

        With hooks it is ``destroyed/binding``: taken where the store can, so that of several
        requests ending it at once one fires. The client's cookie is left as it is, as after a
        revocation: it names nothing any more.
        """
        if not self._bound_elsewhere(record, meta):
            return record
        try:
            if self._take is not None:
                taken = await self._take(record.key)
            else:
                await self._server().delete(record.key)
                taken = record
        except SessionError:
            raise
        except DRIVER_FAILURES as exc:
            raise store_failed(exc) from exc
        if self.hooks and taken is not None:
            await self._fire([of_record(DESTROYED, BINDING, taken, now)])
        return None

    async def commit(self, session: Session, *, final: bool = True) -> Outcome:
        """Save ``session`` and return the headers the response needs.

        A commit that finds the session gone sends no cookie. If it set or removed keys, it
        raises (its changes did not land); otherwise the outcome says ``gone``. A login whose
        session ended meanwhile becomes a fresh authenticated session.

        Args:
            final: the response headers go out with this commit; later changes that would
                need a new ID are refused.

        Raises:
            StoreUnavailable: the store is down; no header points at unsaved state.
            SessionRotated: the changes did not land: the ID was rotated under this request
                (a login or ``regenerate`` elsewhere). The session is now empty and unsaved.
            SessionEnded: the changes did not land: the session was logged out, revoked or
                expired under this request.
        """
        now = self.clock()
        if self._sealed is not None:
            sealed = plan_sealed(self.engine, session, now)
            token = None
            if sealed.record is not None:
                token = self._sealed.seal(sealed.record, self._cookie_name)
            headers, vary = finish_sealed(self.engine, session, sealed, token, now, final=final)
            if self.hooks or logger.isEnabledFor(logging.INFO):  # creation, rotation, logout
                await self._fire(events_of(sealed.plan.ops, now))
            return Outcome(headers, vary)  # the token is the cookie: there is no ID to hand on
        engine = self.engine
        for _ in range(CREATE_ATTEMPTS):
            plan = engine.close(session, now)
            if not plan.ops:  # a read, or a session untouched or left empty: no store call
                return engine.committed(session, plan, now, gone=False, final=final)
            try:
                if engine.missed_key_of(session) is not None:  # rare: the ID presented missed
                    rotated = await self._creates_for_rotated_id(session, plan, now)
                    if rotated is not None:  # its own session would replace the rotation's
                        return self._lost(session, plan, now, rotated, SessionRotated, final=final)
                missed: list[str] | None = None if self._take is None else []
                ops = plan.ops
                first = ops[0]
                failed: Apply | Rename | None
                if len(ops) == 1 and type(first) is Apply and first.cap is None:
                    # The usual write, one change set, run here (failures are translated
                    # below, as _run translates them).
                    landed = await self._server().apply(first.key, first.changes)
                    failed = None if landed else first
                else:
                    failed = await self._run(plan, missed)
                if failed is None:
                    if plan.ends is None and not self.hooks and not logger.isEnabledFor(INFO):
                        # The usual write: no logout to check, no event to fire.
                        return engine.committed(session, plan, now, gone=False, final=final)
                    return await self._landed(session, plan, now, missed, final=final)
                if isinstance(failed, Rename) and engine.restart_login(session, plan):
                    continue  # a login never fails silently: a fresh authenticated session
                fate = await self._fate(session, failed, now)
            except SessionExists:
                continue  # a 256-bit ID collided: plan again with a fresh one
            except SessionError:
                raise
            except DRIVER_FAILURES as exc:
                raise store_failed(exc) from exc
            if fate == REJOINED:
                continue  # another request rotated it first: commit to its successor
            if fate is None:  # forwarded to the successor of a periodic rotation: it landed
                plan = plan._replace(headers=())  # the client holds (or gets) the new ID
                outcome = engine.committed(session, plan, now, gone=False, final=final)
                return outcome._replace(previous=True)
            key = failed.key if isinstance(failed, Apply) else failed.old
            return self._lost(session, plan, now, key, fate, final=final)
        raise StoreUnavailable("could not create a session with a fresh ID")

    async def _landed(
        self, session: Session, plan: Commit, now: float, missed: list[str] | None, *, final: bool
    ) -> Outcome:
        """Finish a commit whose operations all ran. A logout whose session a login had moved
        away meanwhile clears nothing: the client holds the login's ID.

        ``missed``: the keys whose delete removed nothing (known only with hooks, from a store
        that can take): no event for them."""
        moved = plan.ends is not None and not await self._ending(plan.ends, now, missed)
        if self.hooks or logger.isEnabledFor(logging.INFO):
            skip = [*(missed or ()), *((plan.ends,) if moved and plan.ends else ())]
            await self._fire(events_of(plan.ops, now, skip=skip))
        if moved:
            plan = plan._replace(headers=())
        outcome = self.engine.committed(session, plan, now, gone=False, final=final)
        return outcome._replace(gone=True) if moved else outcome

    def _lost(
        self,
        session: Session,
        plan: Commit,
        now: float,
        key: str,
        fate: type[SessionGone],
        *,
        final: bool,
    ) -> Outcome:
        """Finish a commit that found the session behind ``key`` gone: nothing is sent, and
        changes that did not land are logged and, unless told to ignore them, raised."""
        outcome = self.engine.committed(session, plan, now, gone=True, final=final)
        if plan.writes:
            logger.warning(
                "session.lost_write: session %s was %s under a request; its changes were not saved",
                fingerprint_of_key(key),
                fate.reason,
            )
            if self._raise_lost:
                raise fate("the session changed under this request; its changes were lost")
        return outcome

    async def _creates_for_rotated_id(
        self, session: Session, plan: Commit, now: float
    ) -> str | None:
        """The key of the ID ``session`` stands in for, if ``plan`` would create a session for
        a request that presented an ID rotated lately (``None`` otherwise): that request's new
        cookie would replace the one the rotation handed out."""
        missed = self.engine.missed_key_of(session)
        if missed is None or not any(isinstance(op, Create) for op in plan.ops):
            return None
        return missed if await self._rotated(missed, now) else None

    async def _fate(
        self, session: Session, failed: Apply | Rename, now: float
    ) -> type[SessionGone] | Literal["rejoined"] | None:
        """What became of the session an operation found gone: rotated or ended.

        Within the grace window of a periodic rotation, a late change set is forwarded to the
        successor (``None``: it landed there), and a request that was itself about to rotate
        periodically follows the successor instead (``"rejoined"``: plan the commit again).
        """
        key = failed.key if isinstance(failed, Apply) else failed.old
        store, engine = self._server(), self.engine
        marker = await store.load(marker_key(key), now)
        found = engine.successor(marker)
        if found is None:
            return SessionEnded
        if marker is not None and engine.forwards(marker, now):
            if isinstance(failed, Rename):
                if engine.rejoin(session, found[1]):
                    return REJOINED
            elif await store.apply(found[1], failed.changes):
                return None
            else:
                return SessionEnded  # the successor is gone too: a logout or revocation
        return SessionRotated

    async def _rotated(self, key: str, now: float) -> bool:
        """True if the ID behind ``key`` was rotated lately (its successor marker is there):
        the client holds, or is about to receive, the new ID, and a session created now for
        the old one would replace that cookie."""
        return self.engine.successor(await self._server().load(marker_key(key), now)) is not None

    async def _ending(self, key: str, now: float, missed: list[str] | None) -> bool:
        """A logout of ``key`` ran: True if its clearing headers should go out. False when a
        login had moved the session away (a new authentication, whose cookie the client holds
        and which is not this request's to end); after a ``regenerate`` or a periodic rotation
        the successor is the same session, and is logged out too (and it, not the moved-away
        ``key`` in ``missed``, is what this logout ended)."""
        store = self._server()
        found = self.engine.successor(await store.load(marker_key(key), now))
        if found is None:
            return True
        if found[0] != ROTATED_BY_LOGIN:
            if missed is None or self._take is None:
                await store.delete(found[1])
            elif await self._take(found[1]) is not None and key in missed:
                missed.remove(key)
            return True
        return False

    async def _through_marker(self, key: str, now: float) -> Record | None:
        """The session a missing ``key`` was periodically rotated into, while its grace window
        lasts (``None`` otherwise): requests already in flight with the previous ID."""
        store = self._server()
        marker = await store.load(marker_key(key), now)
        if marker is None or not self.engine.forwards(marker, now):
            return None
        found = self.engine.successor(marker)
        return None if found is None else await store.load(found[1], now, self.engine.renewal(now))

    # -- by ID, for framework APIs that name sessions (Django's exists/delete/clear_expired) --

    async def exists(self, session_id: str) -> bool:
        """True if a live session has this ID. Renews nothing; a malformed ID is ``False``.

        Raises:
            StoreUnavailable: the store is down.
        """
        now = self.clock()
        for found, key in self.engine.candidates([session_id])[:1]:
            try:
                record = await self._call(self._server().load, key, now)
            except CorruptSession:
                return False
            return not self.engine.open(found, record, now).is_new
        return False

    async def was_rotated(self, session_id: str) -> bool:
        """True if ``session_id`` was rotated lately (a login, ``regenerate`` or periodic
        rotation, within the last :data:`~sojourn._core.plan.MARKER_SECONDS` or the grace
        window): its client holds, or is about to receive, the new ID, so a response must not
        delete or replace the cookie on its behalf. A malformed ID is ``False``.

        Raises:
            StoreUnavailable: the store is down.
        """
        for _, key in self.engine.candidates([session_id])[:1]:
            return await self._call(self._rotated, key, self.clock())
        return False

    async def delete(self, session_id: str) -> None:
        """End the session with this ID whether or not a request holds it; idempotent.

        A malformed ID costs no store call.

        Raises:
            StoreUnavailable: the store is down.
        """
        for _, key in self.engine.candidates([session_id])[:1]:
            if not self.hooks:
                await self._call(self._server().delete, key)
                return
            now = self.clock()
            if self._take is not None:  # one call, and one event however many end it at once
                taken = await self._call(self._take, key)
                if taken is not None:
                    await self._fire([of_record(DESTROYED, LOGOUT, taken, now)])
                return
            try:  # who it was, for the event (a round trip only when someone listens)
                record = await self._call(self._server().load, key, now)
                event = None if record is None else of_record(DESTROYED, LOGOUT, record, now)
            except CorruptSession:
                event = SessionEvent(DESTROYED, fingerprint_of_key(key), None, CORRUPT, now)
            await self._call(self._server().delete, key)
            if event is not None:
                await self._fire([event])

    async def purge(self) -> int:
        """Delete expired records where the store needs a job for it; how many went.

        ``0`` for stores that expire records themselves (Redis TTLs) or keep nothing. With
        hooks, each removed session is an ``expired`` event (reason ``purge``), fired once
        the purge is done (and before a store failure that cut it short is raised).

        Raises:
            StoreUnavailable: the store is down.
        """
        if not isinstance(self._store, AsyncSupportsPurge):
            return 0
        now = self.clock()
        if not self.hooks:
            return await self._call(self._store.purge_expired, now)
        removed: list[Record] = []
        try:
            return await self._call(self._store.purge_expired, now, on_expired=removed.append)
        finally:
            sessions = [r for r in removed if not is_marker(r)]  # a marker is no session
            await self._fire(of_records(EXPIRED, PURGED, sessions, now))

    async def _expired_on_load(self, key: str, now: float) -> None:
        """A load of ``key`` missed: if the store still held it past its deadline, take it
        (atomically, so of two requests presenting it one fires) and fire ``expired/load``."""
        take = self._take_expired
        if take is None:
            return
        try:
            record = await take(key, now)
        except SessionError:
            raise
        except DRIVER_FAILURES as exc:
            raise store_failed(exc) from exc
        if record is not None:
            await self._fire([of_record(EXPIRED, SEEN_ON_LOAD, record, now)])

    async def _fire(self, events: Sequence[SessionEvent]) -> None:
        """Give each event to every hook, in order. A hook that raises is logged and skipped:
        an event is news about a transition that already happened, never a reason to fail
        the request that made it."""
        for event in events:
            log_event(event)
            for hook in self.hooks:
                try:
                    result = hook(event)  # unasync: hook(event)
                    if inspect.isawaitable(result):  # unasync: delete
                        await result  # unasync: delete
                except Exception as exc:
                    store_logger.error(
                        "session.hook_failed: hook %s raised %s on a %s event",
                        hook_name(hook),
                        type(exc).__name__,
                        event.kind,
                    )

    async def _run(self, plan: Commit, missed: list[str] | None = None) -> Apply | Rename | None:
        """Run a plan's operations; the one that found the session gone, if any.

        With ``missed`` (a list, given only with hooks and a store that can take), deletes
        take their record and note the keys under which there was nothing."""
        store = self._server()
        try:
            for op in plan.ops:  # the usual first: a write is one Apply
                if isinstance(op, Apply):
                    if op.cap is not None:  # a login under a cap: counted with it
                        evicted = await self._capping().apply_capped(op.key, op.changes, op.cap)
                        if evicted is None:
                            return op
                        await self._evicted(evicted, op.changes.now)
                    elif not await store.apply(op.key, op.changes):
                        return op
                elif isinstance(op, Create):
                    if op.cap is not None:
                        evicted = await self._capping().create_capped(op.record, op.cap)
                        await self._evicted(evicted, op.record.renewed_at)
                    else:
                        await store.create(op.record)
                elif isinstance(op, Rename):
                    if not await store.rename(op.old, op.new, op.now):
                        return op
                elif isinstance(op, Delete):
                    if missed is None or self._take is None:
                        await store.delete(op.key)
                    elif await self._take(op.key) is None:
                        missed.append(op.key)
                elif isinstance(op, Mark):
                    # An existing marker (an earlier rotation from the same key) is kept.
                    with suppress(SessionExists):
                        await store.create(op.record)
        except TooManySessions:
            await self._unmark(plan)
            raise
        except SessionError:
            raise
        except DRIVER_FAILURES as exc:  # translated once per plan, not per operation
            raise store_failed(exc) from exc
        return None

    async def _unmark(self, plan: Commit) -> None:
        """A refused login: the store moved the session back under its previous key, so the
        successor marker this plan left there would misdirect requests; remove it."""
        for op in plan.ops:
            if isinstance(op, Mark):
                await self._server().delete(op.record.key)

    def _capping(self) -> AsyncSupportsSessionCap:
        if self._cap_store is None:
            raise ConfigurationError("max_sessions_per_user needs a store that can cap sessions")
        return self._cap_store

    async def _evicted(self, records: list[Record], now: float) -> None:
        """Sessions a login's cap pushed out: the store deleted them with the login, so each
        is ``destroyed`` with reason ``evicted`` now (to the hooks and the security log),
        whatever the rest of the plan does."""
        if records and (self.hooks or logger.isEnabledFor(logging.INFO)):
            await self._fire(of_records(DESTROYED, EVICTED, records, now))

    def _server(self) -> AsyncStore:
        if self._server_store is None:
            raise TypeError(f"{type(self.store).__name__} keeps nothing on the server")
        return self._server_store

    async def _call(
        self,
        operation: Callable[P, Awaitable[T]],  # unasync: operation: Callable[P, T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run one store operation, translating stray driver errors (see :func:`store_failed`).

        The request path (``load``, ``_run``) translates the same way inline, without this
        wrapper's coroutine.
        """
        try:
            return await operation(*args, **kwargs)
        except SessionError:
            raise
        except DRIVER_FAILURES as exc:
            raise store_failed(exc) from exc

    # -- the principal index ------------------------------------------------------------------

    def _index(self) -> AsyncSupportsPrincipals:
        if not isinstance(self._store, AsyncSupportsPrincipals):
            raise TypeError(f"{type(self.store).__name__} keeps no per-user index")
        return self._store

    async def sessions_of(
        self, principal: str, *, current: Session | None = None
    ) -> list[SessionInfo]:
        """The live sessions of ``principal``, oldest first, without IDs or data."""
        records = await self._call(self._index().sessions_of, principal, self.clock())
        current_key = self.engine.key_of(current) if current is not None else None
        return [
            SessionInfo(
                fingerprint=fingerprint_of_key(r.key),
                principal=r.principal,
                created_at=r.created_at,
                last_seen_at=r.renewed_at,
                expires_at=r.expires_at,
                authenticated_at=r.authenticated_at,
                meta=user_meta(r.meta),  # never the reserved timing entries
                current=r.key == current_key,
            )
            for r in records
        ]

    async def revoke(self, principal: str, fingerprint: str) -> bool:
        """End the session of ``principal`` labelled ``fingerprint``; False if none matched."""
        now = self.clock()
        records = await self._call(self._index().sessions_of, principal, now)
        for record in records:
            if fingerprint_of_key(record.key) == fingerprint:
                if self._take is None:
                    await self._call(self._server().delete, record.key)
                    ended: Record | None = record
                else:  # None: another request ended it first, and reports it
                    ended = await self._call(self._take, record.key)
                logger.info("session.revoked: session %s of one principal", fingerprint)
                if self.hooks and ended is not None:
                    await self._fire([of_record(DESTROYED, REVOKED, ended, now)])
                return True
        return False

    async def revoke_all(self, principal: str, *, keep: Session | None = None) -> int:
        """End every session of ``principal``, except ``keep`` (the current one) if given."""
        keep_key = self.engine.key_of(keep) if keep is not None else None
        index = self._index()
        now = self.clock()
        # With hooks, who is about to be signed out is listed first: the index deletes in one
        # step and says only how many went.
        listed = await self._call(index.sessions_of, principal, now) if self.hooks else []
        count = await self._call(index.delete_sessions_of, principal, keep=keep_key)
        logger.info("session.revoked_all: %d sessions of one principal", count)
        if listed:
            ended = [r for r in listed if r.key != keep_key]
            await self._fire(of_records(DESTROYED, REVOKED_ALL, ended, now))
        return count


__all__ = [
    "CREATE_ATTEMPTS",
    "DRIVER_FAILURES",
    "AsyncManager",
    "store_failed",
]
