"""FastAPI integration: ``from sojourn.fastapi import SessionDep``; needs ``sojourn[fastapi]``.

Install :class:`sojourn.asgi.SessionMiddleware` on the app, then declare ``session: SessionDep``
in a handler to receive the typed :class:`~sojourn.Session`.
"""

from ._integrations.fastapi import ManagerDep as ManagerDep
from ._integrations.fastapi import SessionDep as SessionDep
from ._integrations.fastapi import manager_dependency as manager_dependency
from ._integrations.fastapi import named_manager as named_manager
from ._integrations.fastapi import named_session as named_session
from ._integrations.fastapi import session_dependency as session_dependency

__all__ = [
    "ManagerDep",
    "SessionDep",
    "manager_dependency",
    "named_manager",
    "named_session",
    "session_dependency",
]
