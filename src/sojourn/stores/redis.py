"""The Redis / Valkey store: ``RedisStore`` (sync) and ``AsyncRedisStore`` (async).

Single node, Sentinel-managed clients and Cluster alike; see ``docs/stores/redis.md``.
"""

from __future__ import annotations

try:
    import redis as _redis  # noqa: F401  (fail early, with the extra to install)
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("the Redis store needs redis-py: pip install 'sojourn[redis]'") from exc

from ._async.redis import LINGER, AsyncRedisStore
from ._sync.redis import RedisStore

__all__ = ["LINGER", "AsyncRedisStore", "RedisStore"]
