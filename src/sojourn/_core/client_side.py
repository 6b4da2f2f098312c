"""Client-side sessions: the engine's plans carried out on a sealed record, not on a store.

With a :class:`~sojourn.stores.base.ClientSideStore` the cookie value is the sealed record
itself. Opening a session unseals the cookie instead of loading by ID; closing it runs the same
plan the engine makes for a server store (:meth:`Engine.close`) against the record in hand, then
seals the result into a new cookie. Reusing the plan keeps every rule in one place: lazy
creation, rotation at login, logout, size limits and ``Vary``.

What differs from a server store, on purpose:

- Renewal needs a new cookie, so a request that reads the session re-seals it when renewal is
  due (at most once per renewal interval), and also when the cookie was sealed with a retired
  key. Requests that never touch the session send no cookie.
- Any change needs a new cookie, so once the response headers are out, changes are refused
  (``ResponseStarted``), not saved late.
- A cookie too large for the browser raises :class:`SessionTooLarge` at commit, naming the limit
  and the size: browsers drop such cookies silently, which would lose the session.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from ..stores.base import MIN_TOKEN_CHARS, ClientSideStore, Record, Unsealed
from .cookies import MAX_COOKIE_BYTES
from .errors import ConfigurationError, ResponseStarted, SessionTooLarge
from .plan import MAX_CANDIDATES, Apply, Commit, Create, Delete, Engine, Rename
from .session import Session

Headers = tuple[tuple[str, str], ...]


def cookie_context(engine: Engine) -> str:
    """The cookie name a sealed session is bound to.

    Raises:
        ConfigurationError: the engine carries sessions in a header or query parameter; a
            client-side session belongs in a cookie (a sealed session in a URL would leak into
            logs and ``Referer`` headers).
    """
    name = getattr(engine.transport, "cookie_name", None)
    if not isinstance(name, str):
        raise ConfigurationError("a client-side store needs a cookie transport")
    return name


def open_sealed(
    engine: Engine,
    store: ClientSideStore,
    raw: Sequence[str],
    now: float,
    *,
    read_only: bool = False,
    meta: Mapping[str, str] | None = None,
) -> Session:
    """The session carried by the request's cookie values, or a fresh one.

    Several cookies that each open to a different session (cookie tossing) give no session,
    as they do with server stores.
    """
    context = cookie_context(engine)
    opened: list[Unsealed] = []
    # At most three attempts, and none for values too short to be a token: each attempt costs
    # a key derivation and a decryption per key, and a Cookie header can repeat a name 1000 times.
    candidates = [value for value in dict.fromkeys(raw) if len(value) >= MIN_TOKEN_CHARS]
    for value in candidates[:MAX_CANDIDATES]:
        unsealed = store.unseal(value, context, now)
        if unsealed is not None and all(o.record.key != unsealed.record.key for o in opened):
            opened.append(unsealed)
    if len(opened) != 1:
        session = engine.new(now, read_only=read_only, meta=meta)
        session._sealed = True
        return session
    record = opened[0].record
    renewal = engine.renewal(now)
    renew = renewal.due(record)
    if renew:
        record = renewal.apply_to(record)
    session = engine.open(record.key, record, now, read_only=read_only, meta=meta)
    session._sealed = True
    session._sealed_meta = dict(record.meta)
    session._reseal = not session.is_new and (renew or opened[0].stale_key)
    return session


def close_sealed(
    engine: Engine, store: ClientSideStore, session: Session, now: float, *, final: bool
) -> tuple[Headers, str | None]:
    """Plan and carry out the commit of a client-side session.

    Returns:
        The response headers (a ``Set-Cookie`` with the new token, or one clearing the
        cookie), and the header to add to ``Vary``.

    Raises:
        SessionTooLarge: the sealed cookie would be over 4096 bytes.
        ResponseStarted: the session changed after the response headers were sent.
    """
    plan = engine.close(session, now)
    record, touched = _result(session, plan)
    headers: Headers = plan.headers
    vary = plan.vary
    if record is not None and touched:
        if session._committed:
            raise ResponseStarted(
                "a client-side session cannot change after the response headers were sent"
            )
        headers = _issue(engine, store.seal(record, cookie_context(engine)), record, now)
        vary = engine.transport.vary
    engine.committed(session, plan, now, gone=False, final=final)
    session._reseal = False
    return headers, vary


def _result(session: Session, plan: Commit) -> tuple[Record | None, bool]:
    """The record after the plan's operations, and whether a new cookie must carry it."""
    s = session
    record: Record | None = None
    if s._key is not None:
        record = Record(
            key=s._key,
            fields=dict(s._loaded),
            principal=s._principal,
            created_at=s._created_at,
            renewed_at=s._renewed_at,
            expires_at=s._expires_at,
            authenticated_at=s._authenticated_at,
            # As with server stores, tracked metadata changes only at creation and login.
            meta=dict(s._meta if s._sealed_meta is None else s._sealed_meta),
        )
    # Renewal and re-sealing under the newest key ride only on requests that used the session:
    # a stray request (an image, a prefetch) racing a logout or login must not hand back the
    # old session in a fresh cookie.
    touched = s._reseal and s._accessed
    for op in plan.ops:
        if isinstance(op, Create):
            record, touched = op.record, True
        elif isinstance(op, Rename) and record is not None:
            record, touched = replace(record, key=op.new), True
        elif isinstance(op, Apply) and record is not None:
            record, touched = op.changes.apply_to(record), True
        elif isinstance(op, Delete) and record is not None and op.key == record.key:
            record = None
    return record, touched


def check_sealed_cookie_size(size: int, hint: str = "use a server-side store") -> None:
    """Refuse a sealed cookie whose ``Set-Cookie`` value (attributes included) is over 4096.

    Browsers drop such cookies silently, which would lose the session; shared with the Django
    engine so both name the limit the same way.

    Raises:
        SessionTooLarge: ``size`` is over the limit.
    """
    if size > MAX_COOKIE_BYTES:
        raise SessionTooLarge(
            f"the sealed session cookie would be {size} bytes with its attributes, over the "
            f"limit of {MAX_COOKIE_BYTES} bytes for one cookie: keep less in the session, or "
            f"{hint}"
        )


def _issue(engine: Engine, token: str, record: Record, now: float) -> Headers:
    max_age = engine._max_age_at(record.created_at, now)
    # Measure the whole Set-Cookie value (name, value and attributes) before rendering it.
    check_sealed_cookie_size(len(engine.transport.issue("", max_age, now)[0][1]) + len(token))
    return engine._cache(tuple(engine.transport.issue(token, max_age, now)))
