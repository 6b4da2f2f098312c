"""WSGI session middleware: ``from sojourn.wsgi import SessionMiddleware``."""

from ._integrations.wsgi import SessionMiddleware as SessionMiddleware
from ._integrations.wsgi import get_manager as get_manager
from ._integrations.wsgi import get_session as get_session

__all__ = ["SessionMiddleware", "get_manager", "get_session"]
