"""Flask integration: ``from sojourn.flask import Sojourn``; ``Sojourn(app, store=...)``.

Sessions beside ``flask.session``: ``Sojourn(app, store=..., name="admin", cookie=...)``, then
``sessions["admin"]`` in a view.
"""

from ._integrations.flask import FlaskSession as FlaskSession
from ._integrations.flask import Sojourn as Sojourn
from ._integrations.flask import SojournSessionInterface as SojournSessionInterface
from ._integrations.flask import TaggedJSONCodec as TaggedJSONCodec
from ._integrations.flask import current_session as current_session
from ._integrations.flask import get_manager as get_manager
from ._integrations.flask_named import NamedSession as NamedSession
from ._integrations.flask_named import named_session as named_session
from ._integrations.flask_named import sessions as sessions

__all__ = [
    "FlaskSession",
    "NamedSession",
    "Sojourn",
    "SojournSessionInterface",
    "TaggedJSONCodec",
    "current_session",
    "get_manager",
    "named_session",
    "sessions",
]
