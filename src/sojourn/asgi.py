"""ASGI integration: ``from sojourn.asgi import SessionMiddleware``."""

from ._integrations.asgi import SessionMiddleware as SessionMiddleware
from ._integrations.asgi import get_manager as get_manager
from ._integrations.asgi import get_session as get_session
from .stores.threaded import ThreadedStore as ThreadedStore
from .stores.threaded import as_async_store as as_async_store

__all__ = [
    "SessionMiddleware",
    "ThreadedStore",
    "as_async_store",
    "get_manager",
    "get_session",
]
