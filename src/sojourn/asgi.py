"""ASGI integration: ``from sojourn.asgi import SessionMiddleware``."""

from .integrations.asgi import SessionMiddleware as SessionMiddleware
from .integrations.asgi import ThreadedStore as ThreadedStore
from .integrations.asgi import as_async_store as as_async_store
from .integrations.asgi import get_manager as get_manager
from .integrations.asgi import get_session as get_session
