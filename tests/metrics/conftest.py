"""Fixtures of the metrics tests: the fault tests' servers, and the stores they run on."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest

from sojourn import AsyncMemoryStore
from sojourn.stores.base import AsyncStore
from sojourn.stores.redis import AsyncRedisStore
from tests.conformance.test_redis import URL, _require_redis
from tests.faults.conftest import server as server


@pytest.fixture
async def redis_store() -> AsyncIterator[AsyncRedisStore]:
    """An async Redis store on 127.0.0.1:6379 under a random prefix, its keys deleted after."""
    _require_redis()
    made = AsyncRedisStore.from_url(URL, prefix=f"sojourn-test-{secrets.token_hex(6)}:")
    yield made
    async for key in made.client.scan_iter(match=made.prefix + "*", count=1000):
        await made.client.delete(key)
    await made.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.server)])
def store(request: pytest.FixtureRequest) -> AsyncStore:
    """Each test on the async memory store and on Redis."""
    if request.param == "memory":
        return AsyncMemoryStore()
    made: AsyncStore = request.getfixturevalue("redis_store")
    return made


def names_the_extra(blocked: str, module: str, extra: str) -> bool:
    """True if, with ``blocked`` not importable, ``sojourn`` and ``sojourn.metrics`` import and
    importing ``module`` fails with a message naming ``pip install 'sojourn[extra]'``."""
    import subprocess
    import sys

    code = (
        f"import sys; sys.modules[{blocked!r}] = None\n"
        "import sojourn, sojourn.metrics, sojourn.asgi\n"
        f"try:\n    import {module}\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return f"pip install 'sojourn[{extra}]'" in result.stdout


__all__ = ["names_the_extra", "redis_store", "server", "store"]
