"""The one bound on every store call, shared by all the stores that can stall.

A session store sits on the path of every request, so a stalled store must fail fast enough
for the adapter's 503 to beat the client's and the proxy's own timeouts, and for threads or
tasks not to pile up behind it. Each store takes a single ``timeout``: the most one call may
take, queueing, connecting, waiting for locks and round trips included. Two seconds by
default: far above a healthy call (well under a millisecond to a few), well below the point
where a user retries or a load balancer gives up.
"""

from __future__ import annotations

import math

from .._core.errors import ConfigurationError

DEFAULT_TIMEOUT = 2.0
"""Seconds one store call may take before it raises :class:`~sojourn.StoreUnavailable`."""


def check_timeout(value: object, name: str = "timeout") -> float:
    """``value`` as seconds, refusing anything that bounds nothing (zero, negative, inf, NaN).

    Raises:
        ConfigurationError: ``value`` is not a positive, finite number.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigurationError(f"{name} must be a positive, finite number of seconds")
    return float(value)


__all__ = ["DEFAULT_TIMEOUT", "check_timeout"]
