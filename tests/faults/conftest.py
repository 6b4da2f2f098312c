"""The server each fault test runs against: one per store with a socket, its data removed after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .servers import SERVERS, Server


@pytest.fixture(params=sorted(SERVERS))
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    made = SERVERS[request.param]()
    made.require()
    yield made
    made.cleanup(made.namespace)
