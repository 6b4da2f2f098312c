"""Flask integration: ``from sojourn.flask import Sojourn``; ``Sojourn(app, store=...)``."""

from .integrations.flask import FlaskSession as FlaskSession
from .integrations.flask import Sojourn as Sojourn
from .integrations.flask import SojournSessionInterface as SojournSessionInterface
from .integrations.flask import TaggedJSONCodec as TaggedJSONCodec
from .integrations.flask import current_session as current_session
from .integrations.flask import get_manager as get_manager

__all__ = [
    "FlaskSession",
    "Sojourn",
    "SojournSessionInterface",
    "TaggedJSONCodec",
    "current_session",
    "get_manager",
]
