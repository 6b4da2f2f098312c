"""The fault tests' server fixture (one per store with a socket), for the error-kind tests."""

from tests.faults.conftest import server as server

__all__ = ["server"]
