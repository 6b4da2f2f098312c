"""FastAPI integration: ``from sojourn.fastapi import SessionDep``; needs ``sojourn[fastapi]``.

Install :class:`sojourn.asgi.SessionMiddleware` on the app, then declare ``session: SessionDep``
in a handler to receive the typed :class:`~sojourn.Session`.
"""

from .integrations.fastapi import ManagerDep as ManagerDep
from .integrations.fastapi import SessionDep as SessionDep
from .integrations.fastapi import manager_dependency as manager_dependency
from .integrations.fastapi import session_dependency as session_dependency

__all__ = ["ManagerDep", "SessionDep", "manager_dependency", "session_dependency"]
