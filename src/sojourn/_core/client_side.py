"""Client-side sessions: the engine's plans carried out on a sealed record, not on a store.

With a client-side store (``CookieStore``) the cookie value is the sealed record itself.
Opening a session unseals the cookie instead of loading by ID; closing it runs the same plan the
engine makes for a server store (:meth:`Engine.close`) against the record in hand, then seals
the result into a new cookie. Reusing the plan keeps every rule in one place: lazy creation,
rotation at login, logout, size limits and ``Vary``.

Everything here is pure: the manager calls the store's ``unseal`` on
:func:`sealed_candidates` and hands the results to :func:`open_unsealed`; on commit it seals
what :func:`plan_sealed` names and passes the token to :func:`finish_sealed`. So the store's
cryptography and its accept hook run in the manager, never in the core.

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
from dataclasses import dataclass, replace

from .cookies import MAX_COOKIE_BYTES
from .errors import ConfigurationError, ResponseStarted, SessionTooLarge
from .plan import MAX_CANDIDATES, Apply, Commit, Create, Delete, Engine, Rename
from .records import MIN_TOKEN_CHARS, Record, Unsealed
from .session import Session
from .state import SessionState

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


def sealed_candidates(raw: Sequence[str]) -> list[str]:
    """The cookie values worth an unseal attempt: distinct, long enough, at most three.

    Each attempt costs a key derivation and a decryption per key, and a ``Cookie`` header can
    repeat a name a thousand times; values too short to be a token cost no cryptography.
    """
    candidates = [value for value in dict.fromkeys(raw) if len(value) >= MIN_TOKEN_CHARS]
    return candidates[:MAX_CANDIDATES]


def open_unsealed(
    engine: Engine,
    unsealed: Sequence[Unsealed | None],
    now: float,
    *,
    read_only: bool = False,
    meta: Mapping[str, str] | None = None,
) -> Session:
    """The session carried by what the store unsealed from :func:`sealed_candidates`.

    Several cookies that each open to a different session (cookie tossing) give no session,
    as they do with server stores; so do none.
    """
    opened: list[Unsealed] = []
    for item in unsealed:
        if item is not None and all(o.record.key != item.record.key for o in opened):
            opened.append(item)
    if len(opened) != 1:
        session = engine.new(now, read_only=read_only, meta=meta)
        session._state.sealed = True
        return session
    record = opened[0].record
    renewal = engine.renewal(now)
    renew = renewal.due(record)
    if renew:
        record = renewal.apply_to(record)
    session = engine.open(record.key, record, now, read_only=read_only, meta=meta)
    state = session._state
    state.sealed = True
    state.sealed_meta = dict(record.meta)
    state.reseal = not session.is_new and (renew or opened[0].stale_key)
    return session


@dataclass(frozen=True, slots=True)
class SealedCommit:
    """A client-side commit, planned: what the manager must seal, if anything.

    Attributes:
        plan: the engine's plan, run against the record in hand instead of a store.
        record: the record to seal into a new cookie, or ``None`` when no new cookie is due.
    """

    plan: Commit
    record: Record | None


def plan_sealed(engine: Engine, session: Session, now: float) -> SealedCommit:
    """Plan the commit of a client-side session; the manager seals ``record`` if it is set.

    Raises:
        ResponseStarted: the session changed after the response headers were sent.
    """
    plan = engine.close(session, now)
    record, touched = _result(session, plan)
    if record is None or not touched:
        return SealedCommit(plan, None)
    if session._state.committed:
        raise ResponseStarted(
            "a client-side session cannot change after the response headers were sent"
        )
    return SealedCommit(plan, record)


def finish_sealed(
    engine: Engine,
    session: Session,
    sealed: SealedCommit,
    token: str | None,
    now: float,
    *,
    final: bool,
) -> tuple[Headers, str | None]:
    """The response headers once the manager sealed ``sealed.record`` into ``token``.

    Returns:
        The headers (a ``Set-Cookie`` with the new token, or one clearing the cookie), and the
        header to add to ``Vary``.

    Raises:
        SessionTooLarge: the sealed cookie would be over 4096 bytes.
    """
    headers: Headers = sealed.plan.headers
    vary = sealed.plan.vary
    if sealed.record is not None and token is not None:
        headers = _issue(engine, token, session._state, now)
        vary = engine.transport.vary
    engine.committed(session, sealed.plan, now, gone=False, final=final)
    session._state.reseal = False
    return headers, vary


def _result(session: Session, plan: Commit) -> tuple[Record | None, bool]:
    """The record after the plan's operations, and whether a new cookie must carry it."""
    s = session._state
    record: Record | None = None
    if s.key is not None:
        record = s.record(
            s.key,
            s.loaded,
            renewed_at=s.renewed_at,
            expires_at=s.expires_at,
            # As with server stores, tracked metadata changes only at creation and login.
            meta=s.sealed_meta,
        )
    # Renewal and re-sealing under the newest key ride only on requests that used the session:
    # a stray request (an image, a prefetch) racing a logout or login must not hand back the
    # old session in a fresh cookie.
    touched = s.reseal and s.accessed
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


def _issue(engine: Engine, token: str, state: SessionState, now: float) -> Headers:
    # Measure the whole Set-Cookie value (name, value and attributes) before rendering it.
    check_sealed_cookie_size(len(engine.issue(state, "", now)[0][1]) + len(token))
    return engine._cache(engine.issue(state, token, now))


__all__ = [
    "Headers",
    "SealedCommit",
    "check_sealed_cookie_size",
    "cookie_context",
    "finish_sealed",
    "open_unsealed",
    "plan_sealed",
    "sealed_candidates",
]
