"""Timeouts as pure arithmetic over timestamps (seconds since the epoch, as floats).

A session dies at ``min(created_at + lifetime, renewed_at + idle_timeout)``. Activity slides the
idle deadline ("renewal"), but a request that only reads renews at most once per
``renew_interval``, so most reads cost no write. The deadline is enforced here, on every load,
whatever the store's own expiry did: a store may lack TTLs or keep legacy records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ConfigurationError

DEFAULT_IDLE_TIMEOUT = 30 * 60.0  # Spring Session's default, and OWASP's upper bound for low risk
DEFAULT_LIFETIME = 24 * 60 * 60.0  # alexedwards/scs's default absolute cap
DEFAULT_ROTATION_GRACE = 30.0  # SEC-23's upper bound: long enough for requests in flight


@dataclass(frozen=True, slots=True)
class Policy:
    """When sessions end and how often reads renew them.

    Attributes:
        idle_timeout: seconds of inactivity after which a session ends (sliding).
        lifetime: seconds after creation (or login) after which a session ends regardless.
        renew_interval: the least time between two renewals by read-only requests; ``None``
            means a tenth of ``idle_timeout`` (at most 60 s). A session may therefore end up to
            this much earlier than ``idle_timeout`` after its last read, never later.
        rotate_every: the age after which a stored session's ID is replaced at its next commit
            (periodic rotation, SEC-23); ``None``: only logins and ``regenerate()`` rotate.
        rotation_grace: seconds during which the previous ID of a periodically rotated session
            still serves requests already in flight (never after a logout or revocation of
            the session, and never for an ID replaced by a login).
        remember_idle_timeout: the idle timeout of a remembered session
            (``Session.remember(True)``); ``None``: ``idle_timeout``.
        remember_lifetime: the absolute lifetime of a remembered session, whose cookie is
            persistent up to it; ``None``: ``lifetime``.
        anonymous_idle_timeout: the idle timeout of a session nobody logged in to (a cart
            should not hold server memory for hours); ``None``: ``idle_timeout``.
        anonymous_lifetime: the absolute lifetime of such a session; ``None``: ``lifetime``.
            (A class's idle timeout left out is ``idle_timeout``, cut to the class's lifetime.)

    Each session's own timeouts are those of its class (remembered, signed in, anonymous),
    shortened by ``Session.set_timeouts``; they are stored with the session (see
    :mod:`sojourn._core.timing`), and enforced on every load.
    """

    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    lifetime: float = DEFAULT_LIFETIME
    renew_interval: float | None = None
    rotate_every: float | None = None
    rotation_grace: float = DEFAULT_ROTATION_GRACE
    remember_idle_timeout: float | None = None
    remember_lifetime: float | None = None
    anonymous_idle_timeout: float | None = None
    anonymous_lifetime: float | None = None
    _interval: float = field(default=0.0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.idle_timeout <= 0 or self.lifetime <= 0:
            raise ConfigurationError("idle_timeout and lifetime must be positive")
        if self.idle_timeout > self.lifetime:
            raise ConfigurationError("idle_timeout cannot exceed lifetime")
        if self.renew_interval is not None and not 0 <= self.renew_interval < self.idle_timeout:
            raise ConfigurationError("renew_interval must be in [0, idle_timeout)")
        if self.rotate_every is not None and self.rotate_every <= 0:
            raise ConfigurationError("rotate_every must be positive (or None for no rotation)")
        if not 0 <= self.rotation_grace <= 300:
            raise ConfigurationError("rotation_grace must be between 0 and 300 seconds")
        for idle, lifetime, what in (
            (self.remember_idle_timeout, self.remember_lifetime, "remember"),
            (self.anonymous_idle_timeout, self.anonymous_lifetime, "anonymous"),
        ):
            if (idle is not None and idle <= 0) or (lifetime is not None and lifetime <= 0):
                raise ConfigurationError(
                    f"{what}_idle_timeout and {what}_lifetime must be positive"
                )
            # Left out, the class's idle timeout is the ordinary one, cut to its lifetime.
            if idle is not None and idle > (lifetime or self.lifetime):
                raise ConfigurationError(f"{what}_idle_timeout cannot exceed {what}_lifetime")
        interval = self.renew_interval
        if interval is None:
            interval = min(60.0, self.idle_timeout / 10)
        object.__setattr__(self, "_interval", interval)  # asked on every read: decided once

    @property
    def effective_renew_interval(self) -> float:
        """The renewal interval in force (see ``renew_interval``)."""
        return self._interval

    def terms(
        self,
        signed_in: bool,
        remember: bool | None = None,
        idle_cap: float | None = None,
        lifetime_cap: float | None = None,
    ) -> tuple[float, float]:
        """A session's own ``(idle timeout, lifetime)``: its class's (remembered, signed in
        or anonymous), shortened by the caps of ``Session.set_timeouts`` (never lengthened),
        the idle timeout never past the lifetime."""
        if remember:
            idle = self.remember_idle_timeout or self.idle_timeout
            lifetime = self.remember_lifetime or self.lifetime
        elif not signed_in:
            idle = self.anonymous_idle_timeout or self.idle_timeout
            lifetime = self.anonymous_lifetime or self.lifetime
        else:
            idle, lifetime = self.idle_timeout, self.lifetime
        if lifetime_cap is not None and lifetime_cap < lifetime:
            lifetime = lifetime_cap
        if idle_cap is not None and idle_cap < idle:
            idle = idle_cap
        return min(idle, lifetime), lifetime

    def deadline(self, created_at: float, renewed_at: float) -> float:
        """The instant a session created and last renewed at these times ends."""
        return min(created_at + self.lifetime, renewed_at + self.idle_timeout)

    def is_alive(self, created_at: float, renewed_at: float, expires_at: float, now: float) -> bool:
        """True if the session is within its stored deadline *and* this policy's deadline."""
        return now < min(expires_at, self.deadline(created_at, renewed_at))

    def renewal_due(self, created_at: float, renewed_at: float, now: float) -> bool:
        """True if a read at ``now`` should slide the idle deadline forward."""
        if now - renewed_at < self._interval:
            return False
        return self.deadline(created_at, now) > self.deadline(created_at, renewed_at)


__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_LIFETIME",
    "DEFAULT_ROTATION_GRACE",
    "Policy",
]
