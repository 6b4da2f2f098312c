"""Django client-side sessions: ``SESSION_ENGINE = "sojourn.django_cookies"``.

The session is sealed into Django's session cookie; see :mod:`sojourn._integrations.django_cookies`.
"""

from ._integrations.django_cookies import SessionStore as SessionStore
from ._integrations.django_cookies import configured_cookie_store as configured_cookie_store

__all__ = ["SessionStore", "configured_cookie_store"]
