"""Django: ``SESSION_ENGINE = "sojourn.django"`` and ``"sojourn.django.SessionMiddleware"``.

Settings and behaviour: docs/frameworks/django.md and :mod:`sojourn._integrations.django`;
sessions beside ``request.session``: ``"sojourn.django.NamedSessionsMiddleware"`` with
``SOJOURN_SESSIONS`` (docs/named-sessions.md).
"""

from ._integrations.django import SessionMiddleware as SessionMiddleware
from ._integrations.django import SessionStore as SessionStore
from ._integrations.django_codec import DJANGO_JSON as DJANGO_JSON
from ._integrations.django_config import configured_manager as configured_manager
from ._integrations.django_config import configured_store as configured_store
from ._integrations.django_named import NamedSessionsMiddleware as NamedSessionsMiddleware

__all__ = [
    "DJANGO_JSON",
    "NamedSessionsMiddleware",
    "SessionMiddleware",
    "SessionStore",
    "configured_manager",
    "configured_store",
]
